"""The framework components inside an app version, read from an SBOM, and what changed between two
versions: pure.

An app version (the image tag that is rolled out and rolled back) carries hundreds of components;
the one a leak is in (io.jooby:jooby-netty 3.1.2) is rarely the app's own version. SBOMs name each
component by its package URL (purl); advisories name packages as OSV does (Maven "group:artifact",
PyPI and npm names, Go module paths). This module turns the first into the second, bounds what it
keeps, and diffs two versions' component sets with the advisory-covered changes first.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from packageurl import PackageURL

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.leakwatch import MAX_COMPONENTS_PER_VERSION
from leakwatch.core.conditions import ConditionUpdate
from leakwatch.core.pods import PodInfo
from leakwatch.core.versions import AdvisoryMatch, matches

# One app version's components: a JVM service has a few hundred; more than this is a report that
# lists files, or a hostile one. Beyond it the rest are dropped and the reading says so. The set is
# kept in LeakWatch.status for the last few versions, so this bounds the status too.
MAX_COMPONENTS = MAX_COMPONENTS_PER_VERSION
MAX_PURL_LENGTH = 512
MAX_DEPTH = 8  # CycloneDX nests components (a fat jar's shaded libraries); deeper is not read

# purl type -> the OSV ecosystem advisories use
ECOSYSTEMS = {"maven": "Maven", "pypi": "PyPI", "npm": "npm", "golang": "Go"}
PURL_TYPES = {ecosystem: purl_type for purl_type, ecosystem in ECOSYSTEMS.items()}

# A pipeline that knows what it built stamps the package URLs on the pod (whitespace or comma separated).
COMPONENTS_ANNOTATION = "leakwatch.io/components"


@dataclass(frozen=True, order=True)
class Component:
    ecosystem: str  # Maven, PyPI, npm, Go
    package: str  # as OSV and LeakAdvisory name it, e.g. io.jooby:jooby-netty
    version: str

    def __str__(self) -> str:
        return f"{self.package} {self.version}"

    @property
    def purl(self) -> str:
        """Its package URL again, without the qualifiers (type=jar) that do not name it."""
        separator = ":" if self.ecosystem == "Maven" else "/"
        namespace, _, name = self.package.rpartition(separator)
        return PackageURL(PURL_TYPES[self.ecosystem], namespace or None, name, self.version).to_string()


@dataclass(frozen=True)
class ComponentReading:
    components: frozenset[Component]
    unreadable: int = 0  # entries without a usable purl and version, or of an ecosystem not known here
    dropped: int = 0  # readable entries beyond MAX_COMPONENTS

    @property
    def problem(self) -> str | None:
        """Why the set may be incomplete, for a condition; None when it is whole."""
        parts = []
        if self.dropped:
            parts.append(f"{self.dropped} components beyond the {MAX_COMPONENTS} kept were dropped")
        if self.unreadable:
            parts.append(f"{self.unreadable} entries had no usable package URL")
        return "; ".join(parts) or None


def from_purl(text: str) -> Component | None:
    """The component a package URL names; None if it is malformed, has no version, or is of an
    ecosystem advisories here cannot name."""
    if not text or len(text) > MAX_PURL_LENGTH:
        return None
    try:
        purl = PackageURL.from_string(text)
    except ValueError:
        return None
    ecosystem = ECOSYSTEMS.get(purl.type)
    if ecosystem is None or not purl.version or not purl.name:
        return None
    if ecosystem == "Maven":
        if not purl.namespace:
            return None
        package = f"{purl.namespace}:{purl.name}"
    elif purl.namespace:  # an npm scope, a Go module's host and path
        package = f"{purl.namespace}/{purl.name}"
    else:
        package = purl.name
    return Component(ecosystem, package, purl.version)


def _entries(components: object, depth: int = 0) -> Iterator[Mapping[str, Any]]:
    if depth > MAX_DEPTH or not isinstance(components, list):
        return
    for entry in components:
        if isinstance(entry, Mapping):
            yield entry
            yield from _entries(entry.get("components"), depth + 1)


def read_cyclonedx(bom: object) -> ComponentReading:
    """The components of a CycloneDX BOM (JSON, as trivy-operator's SbomReport and
    cyclonedx-maven-plugin write it), bounded; anything that is not one reads as empty."""
    if not isinstance(bom, Mapping):
        return ComponentReading(frozenset())
    found: set[Component] = set()
    unreadable = dropped = 0
    for entry in _entries(bom.get("components")):
        purl = entry.get("purl")
        component = from_purl(purl) if isinstance(purl, str) else None
        if component is None:
            unreadable += 1
        elif component in found:
            continue
        elif len(found) >= MAX_COMPONENTS:
            dropped += 1
        else:
            found.add(component)
    return ComponentReading(frozenset(found), unreadable, dropped)


def read_purls(purls: Iterable[str]) -> ComponentReading:
    """Components from a list of package URLs (a pod annotation a pipeline stamps), bounded."""
    return read_cyclonedx({"components": [{"purl": purl} for purl in purls]})


@functools.lru_cache(maxsize=64)  # every event of a pod carries the same text: parse it once
def read_annotation(text: str) -> ComponentReading:
    """The components a pod's COMPONENTS_ANNOTATION lists (the API server bounds its size)."""
    return read_purls(text.replace(",", " ").split())


@dataclass(frozen=True)
class ImageComponents:
    """What one SbomReport says: the components of one container of a ReplicaSet's pods. The
    ReplicaSet is named by uid (the report's owner) or, for a report without one, by name."""

    replicaset_uid: str | None
    replicaset: str
    container: str
    reading: ComponentReading


def pod_components(
    pod: PodInfo, reports: Iterable[ImageComponents], containers: Iterable[str] = ()
) -> ComponentReading | None:
    """The components of `pod`'s containers (those a LeakWatch watches, or all) from the reports of
    its ReplicaSet; None when no report describes it."""
    owner = pod.owner
    if owner is None or owner.kind != "ReplicaSet":
        return None
    wanted = set(containers) or {c.name for c in pod.containers}
    found = [
        r.reading
        for r in reports
        if r.container in wanted
        and (r.replicaset_uid == owner.uid if r.replicaset_uid is not None else r.replicaset == owner.name)
    ]
    if not found:
        return None
    union = frozenset().union(*(r.components for r in found))
    kept = frozenset(sorted(union)[:MAX_COMPONENTS])
    return ComponentReading(
        kept, sum(r.unreadable for r in found), sum(r.dropped for r in found) + len(union) - len(kept)
    )


def framework_in(components: Iterable[Component], package: str | None) -> str | None:
    """`package` with its version(s) inside an app version, as a status row and a metric name it."""
    versions = sorted({c.version for c in components if package and c.package == package})
    return f"{package} {', '.join(versions)}" if versions else None


COMPONENTS_RESOLVED = "ComponentsResolved"


@dataclass(frozen=True)
class VersionComponents:
    """What is known of one running app version's components, for the condition."""

    version: str
    count: int
    problem: str = ""


def components_condition(running: Iterable[VersionComponents], unavailable: str | None) -> ConditionUpdate:
    """ComponentsResolved: whether each running app version's components are known, and if not, why.
    A version without them is still judged, by its app version alone."""
    versions = sorted(running, key=lambda v: v.version)
    if unavailable:
        return ConditionUpdate(
            COMPONENTS_RESOLVED,
            "False",
            "ReportsUnavailable",
            f"{unavailable}; each version keeps the components read before, or is judged by its app version alone",
        )
    missing = [v.version for v in versions if not v.count]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        return ConditionUpdate(
            COMPONENTS_RESOLVED,
            "False",
            "NoComponents",
            f"no SbomReport or {COMPONENTS_ANNOTATION} annotation describes {', '.join(missing[:3])}{more}: "
            "judged by the app version alone",
        )
    partial = [v for v in versions if v.problem]
    if partial:
        return ConditionUpdate(
            COMPONENTS_RESOLVED, "True", "ComponentsIncomplete", f"{partial[0].version}: {partial[0].problem}"
        )
    known = ", ".join(f"{v.version} ({v.count})" for v in versions[:5])
    return ConditionUpdate(COMPONENTS_RESOLVED, "True", "ComponentsKnown", f"components known for {known}")


@dataclass(frozen=True)
class CoveredComponent:
    component: Component
    advisories: tuple[AdvisoryMatch, ...]


def covered(
    components: Iterable[Component], advisories: Iterable[tuple[str, LeakAdvisorySpec]]
) -> list[CoveredComponent]:
    """The components an advisory says leak, in a stable order."""
    known = list(advisories)
    found = []
    for component in sorted(components):
        hits = matches(known, component.package, component.version)
        if hits:
            found.append(CoveredComponent(component, tuple(hits)))
    return found


@dataclass(frozen=True)
class ComponentChange:
    ecosystem: str
    package: str
    before: str | None  # None: added in the later version
    after: str | None  # None: removed
    advisories: tuple[str, ...] = ()  # aliases of advisories covering `after`

    def __str__(self) -> str:
        before, after = self.before or "(none)", self.after or "(removed)"
        covered_by = f" ({', '.join(self.advisories)})" if self.advisories else ""
        return f"{self.package} {before} → {after}{covered_by}"


def component_diff(
    earlier: Iterable[Component],
    later: Iterable[Component],
    advisories: Iterable[tuple[str, LeakAdvisorySpec]] = (),
) -> list[ComponentChange]:
    """What changed from `earlier` (the last version that was flat) to `later` (the one that leaks):
    changes to a version an advisory covers first, then by package. A package present in several
    versions (two jars of one artifact) is compared by its set of versions."""
    known = list(advisories)

    def by_package(components: Iterable[Component]) -> dict[tuple[str, str], str]:
        grouped: dict[tuple[str, str], list[str]] = {}
        for c in components:
            grouped.setdefault((c.ecosystem, c.package), []).append(c.version)
        return {key: ", ".join(sorted(versions)) for key, versions in grouped.items()}

    before, after = by_package(earlier), by_package(later)
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if before.get(key) == after.get(key):
            continue
        ecosystem, package = key
        new = after.get(key)
        hits = matches(known, package, new) if new is not None and ", " not in new else []
        changes.append(ComponentChange(ecosystem, package, before.get(key), new, tuple(m.alias for m in hits)))
    return sorted(changes, key=lambda change: (not change.advisories, change.package))
