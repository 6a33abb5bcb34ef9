"""The recommendation: from per-version verdicts, OOM history, the rollout timeline and matching
advisories to one action and one line of words. Pure: the inputs are gathered elsewhere once.

`decide` runs `RULES`, an ordered tuple of small rules, each `DecisionInput -> Decision | None`;
the first rule that returns a Decision wins. A rule states facts (action, reason, versions, what
was passed over and why); `describe` and `evidence_lines` word every Decision in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import cached_property
from typing import Literal, assert_never

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.leakwatch import ComponentChangeStatus, Recommendation
from leakwatch.api.terms import Action, Verdict
from leakwatch.core.analysis import VersionVerdict, human_duration, mib_per_hour
from leakwatch.core.attribution import UNKNOWN
from leakwatch.core.components import Component, ComponentChange, component_diff
from leakwatch.core.conditions import from_rfc3339
from leakwatch.core.oom import Ledger
from leakwatch.core.versions import AdvisoryMatch, matches, nearest_fix, newest, package_ecosystem, parse

# CamelCase, for the RollbackRecommended condition; one per rule, so `describe` can word each.
Reason = Literal[
    "UnknownVersion", "FixedVersionAvailable", "StableVersionAvailable", "NoSafeTarget", "NothingRunning", "NoLeak"
]


@dataclass(frozen=True)
class VersionFacts:
    version: str
    verdict: Verdict
    confidence: float
    growth_bytes_per_second: float | None
    time_to_oom_seconds: float | None
    oom_kills: int
    pod_hours: float
    first_seen: datetime  # wall-clock, as the ledger saw it
    last_seen: datetime
    running: bool
    time_scale: float = 1.0  # a demo's stretched clock: durations are read in it, like the rates
    components: frozenset[Component] = frozenset()  # what ran inside this app version, from its SBOM

    @property
    def seen_for_seconds(self) -> float:
        return (self.last_seen - self.first_seen).total_seconds() * self.time_scale


@dataclass(frozen=True)
class FixOffer:
    """An upgrade for the leaking version: the nearest fixed version on its own release line.

    When an advisory covers a component inside the app version (`component` is set), `version` is
    an app version that has run with a fixed component, or None when none has: then the advice is
    to upgrade the component itself, to `component_version`."""

    version: str | None
    fixes: tuple[str, ...]  # aliases of the advisories it fixes, e.g. jooby#3453
    newest_line: str | None  # the newest fixed version on any line, offered as well when it differs
    component: str | None = None  # the covered package inside the app version, e.g. io.jooby:jooby-netty
    component_version: str | None = None  # its nearest fixed version


# Why an earlier version is no rollback target: LeakWatch saw it leak, or an advisory covers it.
Unsafe = Literal["leaked", "covered"]


@dataclass(frozen=True)
class PassedOver:
    """An earlier version the rollback search skipped, and why."""

    version: str
    why: Unsafe


@dataclass(frozen=True)
class RollbackSearch:
    """The most recent earlier version safe to roll back to, and the ones skipped on the way."""

    target: VersionFacts | None
    passed_over: tuple[PassedOver, ...]


@dataclass(frozen=True)
class DecisionInput:
    """Everything a decision needs, gathered once. The cached properties below derive what several
    rules share (the leaking version, the fix, the rollback target) so that each is computed once."""

    workload: str
    versions: list[VersionFacts]
    package: str | None = None  # spec.version.framework: advisories are matched only when set
    advisories: list[tuple[str, LeakAdvisorySpec]] = field(default_factory=list)
    min_stable_pod_hours: float = 1.0

    @cached_property
    def current(self) -> VersionFacts | None:
        """The version that matters: the newest running one."""
        running = sorted((v for v in self.versions if v.running), key=lambda v: v.first_seen)
        return running[-1] if running else None

    @cached_property
    def leaking(self) -> VersionFacts | None:
        """The current version if it leaks: every rule but the fallback is about one."""
        current = self.current
        return current if current is not None and current.verdict == "Leaking" else None

    @cached_property
    def relevant_advisories(self) -> list[tuple[str, LeakAdvisorySpec]]:
        # Without spec.version.framework there is no package to match advisories against.
        return self.advisories if self.package else []

    @cached_property
    def ecosystem(self) -> str:
        """How the package's versions are ordered (Maven, PyPI, npm, Go), as its advisories say."""
        return package_ecosystem(self.relevant_advisories, self.package or "")

    @cached_property
    def leaked(self) -> frozenset[str]:
        """Every version LeakWatch judged Leaking: never a target, whatever an advisory says."""
        return frozenset(v.version for v in self.versions if v.verdict == "Leaking")

    @cached_property
    def by_version(self) -> dict[str, VersionFacts]:
        return {v.version: v for v in self.versions}

    def component_coverage(self, version: str) -> list[tuple[Component, AdvisoryMatch]]:
        """The components inside app `version` that an advisory says leak, whichever package it names."""
        facts = self.by_version.get(version)
        if facts is None:
            return []
        return [(c, hit) for c in sorted(facts.components) for hit in matches(self.advisories, c.package, c.version)]

    def covered(self, version: str) -> bool:
        """Whether an advisory says `version` leaks: as the framework's own version, or through a
        component inside it."""
        if self.package and matches(self.relevant_advisories, self.package, version):
            return True
        return bool(self.component_coverage(version))

    def safe(self, version: str) -> bool:
        """Neither seen leaking nor covered by an advisory: a version LeakWatch may recommend."""
        return version not in self.leaked and not self.covered(version)

    @cached_property
    def coverage(self) -> tuple[AdvisoryMatch, ...]:
        """The advisories that cover the leaking version, directly or through a component."""
        if self.leaking is None:
            return ()
        direct = matches(self.relevant_advisories, self.package, self.leaking.version) if self.package else []
        return (*direct, *(hit for _, hit in self.component_coverage(self.leaking.version)))

    @cached_property
    def fix(self) -> FixOffer | None:
        """The nearest safe fixed version of the advisories covering the leaking version. When several
        advisories cover it, only those fixed by that same version count: one upgrade fixes them."""
        if self.leaking is None:
            return None
        if self.package and matches(self.relevant_advisories, self.package, self.leaking.version):
            return self._framework_fix(self.leaking)
        return self._component_fix(self.leaking)

    def _component_fix(self, leaking: VersionFacts) -> FixOffer | None:
        """For a component an advisory covers: an app version that has run with a fixed component (the
        newest such), else the component's own nearest fix."""
        for component, hit in self.component_coverage(leaking.version):
            target = nearest_fix(component.ecosystem, component.version, hit.fixed)
            if target is None:
                continue
            carriers = [
                v
                for v in self.versions
                if v.version not in (leaking.version, UNKNOWN)
                and self.safe(v.version)
                and _carries_at_least(v.components, component, target)
            ]
            newest_carrier = max(carriers, key=lambda v: v.last_seen, default=None)
            return FixOffer(
                newest_carrier.version if newest_carrier else None,
                (hit.alias,),
                None,
                component=component.package,
                component_version=target,
            )
        return None

    def _framework_fix(self, leaking: VersionFacts) -> FixOffer | None:
        assert self.package is not None
        upgrade: str | None = None
        fixing: list[str] = []
        other_fixes: list[str] = []
        for hit in matches(self.relevant_advisories, self.package, leaking.version):
            target = nearest_fix(self.ecosystem, leaking.version, hit.fixed)
            if target and self.safe(target) and (upgrade is None or target == upgrade):
                upgrade, fixing = target, [*fixing, hit.alias]
                other_fixes += [v for v in hit.all_fixed if self.safe(v)]
        if upgrade is None:
            return None
        return FixOffer(upgrade, tuple(fixing), newest(self.ecosystem, other_fixes))

    def named_component(self, version: str) -> Component | None:
        """The component to name beside an app version: the one an advisory covers, else the one of
        spec.version.framework's package."""
        covered = self.component_coverage(version)
        if covered:
            return covered[0][0]
        facts = self.by_version.get(version)
        if facts is None or not self.package:
            return None
        return next((c for c in sorted(facts.components) if c.package == self.package), None)

    @cached_property
    def last_flat(self) -> VersionFacts | None:
        """The version to diff the leaking one against: the rollback target, else the most recent
        earlier version LeakWatch saw Stable; only one whose components are known."""
        leaking = self.leaking
        if leaking is None or not leaking.components:
            return None
        target = self.rollback_search.target
        if target is not None and target.components:
            return target
        flat = [
            v
            for v in self.versions
            if v.verdict == "Stable" and v.components and v.first_seen <= leaking.first_seen and v != leaking
        ]
        return max(flat, key=lambda v: v.last_seen, default=None)

    @cached_property
    def changes(self) -> tuple[ComponentChange, ...]:
        """What changed inside the app from the last flat version to the leaking one."""
        if self.leaking is None or self.last_flat is None:
            return ()
        return tuple(component_diff(self.last_flat.components, self.leaking.components, self.advisories))

    @cached_property
    def rollback_search(self) -> RollbackSearch:
        """The most recent earlier version that was Stable for long enough, or that an advisory lists
        as known good, and that neither leaked nor is covered."""
        leaking = self.leaking
        if leaking is None:
            return RollbackSearch(None, ())
        known_good = {v for _, spec in self.relevant_advisories for v in spec.known_good}
        earlier = sorted(
            (
                v
                for v in self.versions
                if v.version not in (leaking.version, UNKNOWN) and v.first_seen <= leaking.first_seen
            ),
            key=lambda v: v.last_seen,
            reverse=True,
        )
        passed_over: list[PassedOver] = []
        for candidate in earlier:
            if candidate.version in self.leaked or self.covered(candidate.version):
                why: Unsafe = "leaked" if candidate.version in self.leaked else "covered"
                passed_over.append(PassedOver(candidate.version, why))
                continue
            stable_long = candidate.verdict == "Stable" and candidate.pod_hours >= self.min_stable_pod_hours
            if stable_long or candidate.version in known_good:
                return RollbackSearch(candidate, tuple(passed_over))
        return RollbackSearch(None, tuple(passed_over))


@dataclass(frozen=True)
class Decision:
    """What to do about the workload, as facts. `summary` and `evidence` are worded from these facts
    by `describe` and `evidence_lines`, never by the rules."""

    action: Action
    reason: Reason
    workload: str
    from_version: str | None = None
    to_version: str | None = None
    confidence: float = 0.0
    leaking: VersionFacts | None = None  # the leaking version, for the words about its leak
    fix: FixOffer | None = None
    rollback_target: VersionFacts | None = None  # also when Upgrade leads: the summary offers both
    covered_by: tuple[AdvisoryMatch, ...] = ()
    passed_over: tuple[PassedOver, ...] = ()
    component: Component | None = None  # named beside the leaking app version
    changed_from: str | None = None  # the last flat version `changes` are counted from
    changes: tuple[ComponentChange, ...] = ()

    @property
    def rollback_to(self) -> str | None:
        return self.rollback_target.version if self.rollback_target is not None else None

    @property
    def summary(self) -> str:
        return describe(self)

    @property
    def evidence(self) -> list[str]:
        return evidence_lines(self)


Rule = Callable[[DecisionInput], Decision | None]


def unknown_version(given: DecisionInput) -> Decision | None:
    """An unknown version leaks: no target can be judged against it, so investigate."""
    leaking = given.leaking
    if leaking is None or leaking.version != UNKNOWN:
        return None
    return Decision(
        "Investigate",
        "UnknownVersion",
        given.workload,
        from_version=UNKNOWN,
        confidence=leaking.confidence,
        leaking=leaking,
    )


def fixed_version_available(given: DecisionInput) -> Decision | None:
    """An advisory covers the leaking version and names a safe fix: upgrade (offering a rollback too).
    A fix that only a new build would bring (no app version with it has run) leads only when there is
    nothing to roll back to: a rollback is minutes, a rebuild is not."""
    leaking, fix = given.leaking, given.fix
    if leaking is None or fix is None:
        return None
    if fix.version is None and given.rollback_search.target is not None:
        return None
    return Decision(
        "Upgrade",
        "FixedVersionAvailable",
        given.workload,
        from_version=leaking.version,
        to_version=fix.version,
        confidence=leaking.confidence,
        leaking=leaking,
        fix=fix,
        rollback_target=given.rollback_search.target,
        covered_by=given.coverage,
        passed_over=given.rollback_search.passed_over,
    )


def stable_version_available(given: DecisionInput) -> Decision | None:
    """An earlier version was stable long enough (or is known good) and is safe: roll back to it."""
    leaking, target = given.leaking, given.rollback_search.target
    if leaking is None or target is None:
        return None
    # Known good by an advisory alone, without LeakWatch's own Stable verdict: trusted a little less.
    confidence = leaking.confidence * (target.confidence if target.verdict == "Stable" else 0.9)
    return Decision(
        "Rollback",
        "StableVersionAvailable",
        given.workload,
        from_version=leaking.version,
        to_version=target.version,
        confidence=confidence,
        leaking=leaking,
        fix=given.fix,  # a component upgrade that needs a new build, offered after the rollback
        rollback_target=target,
        covered_by=given.coverage,
        passed_over=given.rollback_search.passed_over,
    )


def no_safe_target(given: DecisionInput) -> Decision | None:
    """A leak with neither a fix nor a safe earlier version: investigate."""
    leaking = given.leaking
    if leaking is None:
        return None
    return Decision(
        "Investigate",
        "NoSafeTarget",
        given.workload,
        from_version=leaking.version,
        confidence=leaking.confidence,
        leaking=leaking,
        covered_by=given.coverage,
        passed_over=given.rollback_search.passed_over,
    )


def nothing_to_do(given: DecisionInput) -> Decision:
    """The fallback when no leak rule applied: nothing runs, or the current version does not leak."""
    if given.current is None:
        return Decision("None", "NothingRunning", given.workload)
    return Decision("None", "NoLeak", given.workload, from_version=given.current.version)


# The order is the precedence: the first rule that returns a Decision wins. An unknown version comes
# first (an earlier stable version would otherwise pass for its rollback target); a fix leads over a
# rollback, which the Upgrade summary still offers; any other leak is investigated. Only when nothing
# leaks is there nothing to do, so the last rule needs no condition and always decides.
RULES: tuple[Rule, ...] = (
    unknown_version,
    fixed_version_available,
    stable_version_available,
    no_safe_target,
    nothing_to_do,
)


def first_decision(rules: tuple[Rule, ...], given: DecisionInput) -> Decision:
    """The Decision of the first rule that applies."""
    for rule in rules:
        decision = rule(given)
        if decision is not None:
            return decision
    raise ValueError("no rule decided: a chain of rules must end with one that always returns a Decision")


def decide(given: DecisionInput) -> Decision:
    """What to recommend for the workload, with the components inside the leaking app version and
    what changed in them since the last flat one (the same whichever rule decided)."""
    decision = first_decision(RULES, given)
    if decision.leaking is None:
        return decision
    return replace(
        decision,
        component=given.named_component(decision.leaking.version),
        changed_from=given.last_flat.version if given.last_flat is not None else None,
        changes=given.changes,
    )


def _carries_at_least(components: frozenset[Component], covered: Component, fixed: str) -> bool:
    """Whether a set holds `covered`'s package at `fixed` or later."""
    floor = parse(covered.ecosystem, fixed)
    if floor is None:
        return False
    for c in components:
        if c.package == covered.package and (key := parse(c.ecosystem, c.version)) is not None and key >= floor:
            return True
    return False


# --- Wording: every sentence a Decision shows is written here, from its facts. ---

PASSED_OVER_WORDS: dict[Unsafe, str] = {
    "leaked": "leaked",
    "covered": "is covered by an advisory",
}


def describe(decision: Decision) -> str:
    """The decision's one line, for status.recommendation and the RollbackRecommended condition."""
    workload, leaking, target = decision.workload, decision.leaking, decision.rollback_target
    match decision.reason:
        case "NothingRunning":
            return f"{workload}: no pods running"
        case "NoLeak":
            return f"{workload}: {decision.from_version} shows no leak"
        case "UnknownVersion":
            return f"{workload}: pods of an unknown version leak; set spec.version so LeakWatch can tell versions apart"
        case "FixedVersionAvailable":
            assert leaking is not None and decision.fix is not None  # fixed_version_available sets both
            tail = f"; {_target_words(target)}" if target is not None else ""
            tail += f"; {_upgrade_words(decision.fix)}"
            if target is not None:
                tail += f" or roll back to {target.version}"
            return f"{workload}: {_leak_words(decision)}{tail}{_change_words(decision)}."
        case "StableVersionAvailable":
            assert leaking is not None and target is not None  # stable_version_available sets both
            then = f", then {_upgrade_words(decision.fix)}" if decision.fix is not None else ""
            return (
                f"{workload}: {_leak_words(decision)}; {_target_words(target)}; roll back to {target.version}{then}"
                f"{_change_words(decision)}."
            )
        case "NoSafeTarget":
            assert leaking is not None  # no_safe_target sets it
            return (
                f"{workload}: {_leak_words(decision)}; no earlier version was stable long enough and no fix is known; "
                f"investigate{_change_words(decision)}."
            )
        case _:
            assert_never(decision.reason)


# The summary names the first changes; evidence lists up to this many, the recommendation all (bounded).
CHANGES_IN_SUMMARY = 2
CHANGES_IN_EVIDENCE = 8
MAX_CHANGES_IN_STATUS = 32


def evidence_lines(decision: Decision) -> list[str]:
    """What the decision rests on: the leak, the advisories covering it, the earlier versions passed
    over, the rollback target and what changed inside the app since the last flat version."""
    leaking, target = decision.leaking, decision.rollback_target
    if leaking is None:
        return []
    lines = [f"{leaking.version}: {line}" for line in _evidence_of(leaking)]
    lines += [f"{leaking.version} is covered by {hit.alias}: {hit.summary}" for hit in decision.covered_by]
    lines += [f"{p.version} is no target: it {PASSED_OVER_WORDS[p.why]}" for p in decision.passed_over]
    if target is not None:
        lines.append(f"{_target_words(target)} ({target.pod_hours:.1f} pod-hours, {target.oom_kills} OOMKills)")
    shown = decision.changes[:CHANGES_IN_EVIDENCE]
    lines += [f"changed since {decision.changed_from}: {change}" for change in shown]
    if len(decision.changes) > len(shown):
        lines.append(f"and {len(decision.changes) - len(shown)} more changed components")
    return lines


def _upgrade_words(fix: FixOffer) -> str:
    fixes = ", ".join(fix.fixes)
    if fix.component is not None and fix.version is None:
        return f"upgrade {fix.component} to {fix.component_version} (fixes {fixes})"
    if fix.component is not None:
        return f"upgrade to {fix.version}, which runs {fix.component} {fix.component_version} or later (fixes {fixes})"
    also = f"; {fix.newest_line} on the newest line" if fix.newest_line and fix.newest_line != fix.version else ""
    return f"upgrade to {fix.version} (fixes {fixes}{also})"


def _change_words(decision: Decision) -> str:
    if not decision.changes:
        return ""
    shown = ", ".join(str(change) for change in decision.changes[:CHANGES_IN_SUMMARY])
    more = len(decision.changes) - CHANGES_IN_SUMMARY
    return f"; changed since {decision.changed_from}: {shown}" + (f" and {more} more" if more > 0 else "")


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _leak_words(decision: Decision) -> str:
    v = decision.leaking
    assert v is not None
    parts = []
    if v.time_to_oom_seconds is not None:
        parts.append(f"OOM in ~{human_duration(v.time_to_oom_seconds)}")
    if v.oom_kills:
        parts.append(f"{v.oom_kills} OOMKill{'s' if v.oom_kills != 1 else ''} since rollout on {_when(v.first_seen)}")
    rate = f" {mib_per_hour(v.growth_bytes_per_second)}" if v.growth_bytes_per_second else ""
    detail = f" ({', '.join(parts)})" if parts else ""
    inside = f" ({decision.component})" if decision.component is not None else ""
    return f"{v.version}{inside} leaks{rate}{detail}"


def _target_words(target: VersionFacts) -> str:
    if target.verdict == "Stable":
        return f"{target.version} was flat for {human_duration(target.seen_for_seconds)}"
    return f"{target.version} is known good"


def _evidence_of(v: VersionFacts) -> list[str]:
    lines = [f"{v.pod_hours:.1f} pod-hours observed, {v.oom_kills} OOMKills"]
    if v.growth_bytes_per_second:
        lines.append(f"grows {mib_per_hour(v.growth_bytes_per_second)}")
    return lines


def gather_facts(
    ledger: Ledger, verdicts: dict[str, VersionVerdict], now: datetime, time_scale: float = 1.0
) -> tuple[str | None, list[VersionFacts]]:
    """The decision's inputs from the ledger (timeline, OOMs, pod-hours) and the verdicts:
    the workload's name and one VersionFacts per version. With `time_scale` > 1, pod-hours and
    durations are stretched like the memory series, so that they and the rates are in one clock."""
    running = {p.version for p in ledger.pods.values()}

    facts = []
    for version, record in ledger.versions.items():
        verdict = verdicts.get(version)
        kills, _ = ledger.oom_kills(version)
        facts.append(
            VersionFacts(
                version=version,
                verdict=verdict.verdict if verdict else "InsufficientData",
                confidence=verdict.confidence if verdict else 0.0,
                growth_bytes_per_second=verdict.growth_bytes_per_second if verdict else None,
                time_to_oom_seconds=verdict.time_to_oom_seconds if verdict else None,
                oom_kills=kills,
                pod_hours=ledger.pod_seconds(version, now) * time_scale / 3600,
                first_seen=from_rfc3339(record.first_seen),
                last_seen=from_rfc3339(ledger.last_seen(version, now)),
                running=version in running,
                time_scale=time_scale,
                components=record.components,
            )
        )
    workload = next((r.workload for r in ledger.versions.values() if r.workload), None)
    return workload, facts


def recommendation_status(decision: Decision, workload: str, since: str) -> Recommendation:
    """The decision as LeakWatch.status.recommendation."""
    return Recommendation(
        action=decision.action,
        workload=workload,
        from_version=decision.from_version,
        to_version=decision.to_version,
        confidence=round(decision.confidence, 3),
        summary=decision.summary,
        evidence=decision.evidence,
        since=since,
        component=str(decision.component) if decision.component is not None else None,
        changed_from=decision.changed_from,
        component_changes=[
            ComponentChangeStatus(
                package=c.package, from_version=c.before, to_version=c.after, advisories=list(c.advisories)
            )
            for c in decision.changes[:MAX_CHANGES_IN_STATUS]
        ],
    )
