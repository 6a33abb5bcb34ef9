"""Version order and OSV range matching, per ecosystem, through `univers` (Maven's ordering is
not string order: 3.1.10 > 3.1.4, 3.2.2-SNAPSHOT < 3.2.2).

As in OSV, a range's `type` decides the order its events are read in: ECOSYSTEM ranges order
versions as the package's ecosystem does, SEMVER ranges by SemVer 2.0 precedence whatever the
ecosystem (Maven puts 1.0.0-sp1 after 1.0.0, SemVer before it: a pre-release)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from univers.versions import GolangVersion, MavenVersion, PypiVersion, SemverVersion, Version

from leakwatch.api.advisory import Affected, AffectedRange, LeakAdvisorySpec

ECOSYSTEMS: dict[str, type[Version]] = {
    "Maven": MavenVersion,
    "PyPI": PypiVersion,
    "npm": SemverVersion,
    "Go": GolangVersion,
    "SemVer": SemverVersion,
}


def parse(ecosystem: str, text: str) -> Any | None:
    """A comparable version, or None when `text` is not a version of that ecosystem."""
    try:
        return ECOSYSTEMS[ecosystem](text.removeprefix("v") if ecosystem != "Go" else text)
    except Exception:  # univers raises several types for "not a version"
        return None


def range_order(events: AffectedRange, ecosystem: str) -> str:
    """The ecosystem whose order a range is read in: SemVer for a SEMVER range."""
    return "SemVer" if events.type == "SEMVER" else ecosystem


def _in_range(version: str, events: AffectedRange, ecosystem: str) -> bool:
    """OSV's evaluation: walk the events in version order; introduced opens, fixed closes.
    A version that is not a version in the range's order is not in the range."""
    order = range_order(events, ecosystem)
    parsed = parse(order, version)
    if parsed is None:
        return False
    ordered = []
    for event in events.events:
        bound = event.introduced or event.fixed or event.last_affected or event.limit
        key = None if bound == "0" else parse(order, bound or "")
        if bound != "0" and key is None:
            continue
        ordered.append((key, event))
    ordered.sort(key=lambda pair: (pair[0] is not None, pair[0] or 0))  # "0" (all earlier) first
    affected = False
    for key, event in ordered:
        if event.introduced is not None:
            affected = affected or key is None or parsed >= key
        elif key is not None:
            # fixed and limit close the range at their version; lastAffected just after it
            closes = parsed > key if event.last_affected is not None else parsed >= key
            affected = affected and not closes
    return affected


@dataclass(frozen=True)
class AdvisoryMatch:
    advisory: str  # the LeakAdvisory's name
    alias: str  # how people know it, e.g. jooby#3453
    summary: str
    fixed: list[str]  # fixed versions of the ranges that contain the version
    all_fixed: list[str]  # every fixed version the advisory names for the package (other lines too)


def fixes_if_affected(affected: Affected, version: str) -> list[str] | None:
    """None when `version` is not affected; else the fixed versions of the ranges containing it.
    Each range reads `version` in its own order; `versions` lists exact strings, as in OSV."""
    fixed: list[str] = []
    hit = version in affected.versions
    for events in affected.ranges:
        if _in_range(version, events, affected.package.ecosystem):
            hit = True
            fixed += [e.fixed for e in events.events if e.fixed]
    return fixed if hit else None


def matches(advisories: Iterable[tuple[str, LeakAdvisorySpec]], package: str, version: str) -> list[AdvisoryMatch]:
    """Advisories (name, spec) that say `version` of `package` leaks."""
    found = []
    for name, spec in advisories:
        for affected in spec.affected:
            if affected.package.name != package:
                continue
            fixed = fixes_if_affected(affected, version)
            if fixed is not None:
                alias = spec.aliases[0] if spec.aliases else name
                every = [e.fixed for r in affected.ranges for e in r.events if e.fixed]
                found.append(AdvisoryMatch(name, alias, spec.summary, fixed, every))
    return found


def nearest_fix(ecosystem: str, current: str, fixed: Iterable[str]) -> str | None:
    """The lowest fixed version above `current`, preferring its own release line (same major.minor)."""
    base = parse(ecosystem, current)
    if base is None:
        return None
    candidates = sorted(
        (key, text) for text in set(fixed) if (key := parse(ecosystem, text)) is not None and key > base
    )
    line = ".".join(current.split(".")[:2]) + "."
    same_line = [text for _, text in candidates if text.startswith(line)]
    if same_line:
        return same_line[0]
    return candidates[0][1] if candidates else None


def newest(ecosystem: str, versions: Iterable[str]) -> str | None:
    parsed = [(key, text) for text in set(versions) if (key := parse(ecosystem, text)) is not None]
    return max(parsed)[1] if parsed else None


def package_ecosystem(advisories: Iterable[tuple[str, LeakAdvisorySpec]], package: str) -> str:
    for _, spec in advisories:
        for affected in spec.affected:
            if affected.package.name == package:
                return affected.package.ecosystem
    return "Maven"
