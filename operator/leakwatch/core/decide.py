"""The recommendation: from per-version verdicts, OOM history, the rollout timeline and matching
advisories to one action and one line of words. Pure: the inputs are gathered elsewhere once.

Rules, in order:
- the version that matters is the newest running one; if it does not leak, there is nothing to do;
- an unknown version gets `Investigate`: no target can be judged against it;
- an advisory that covers it and names a fix gives `Upgrade` to the nearest fixed version on the
  same release line, unless that version is itself covered or was seen leaking;
- the most recent earlier version that was `Stable` for long enough (or is listed known-good by
  an advisory) and is not itself covered or leaking gives `Rollback`; with both, the summary
  offers both and Upgrade leads;
- a leak with no safe target is `Investigate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.core.analysis import VersionVerdict, human_duration, mib_per_hour
from leakwatch.core.attribution import UNKNOWN
from leakwatch.core.oom import Ledger
from leakwatch.core.versions import matches, nearest_fix, newest, package_ecosystem

Action = Literal["Upgrade", "Rollback", "Investigate", "None"]


@dataclass(frozen=True)
class VersionFacts:
    version: str
    verdict: str  # Leaking | Stable | InsufficientData
    confidence: float
    growth_bytes_per_second: float | None
    time_to_oom_seconds: float | None
    oom_kills: int
    pod_hours: float
    first_seen: datetime  # wall-clock, as the ledger saw it
    last_seen: datetime
    running: bool
    time_scale: float = 1.0  # a demo's stretched clock: durations are read in it, like the rates

    @property
    def seen_for_seconds(self) -> float:
        return (self.last_seen - self.first_seen).total_seconds() * self.time_scale


@dataclass(frozen=True)
class DecisionInput:
    workload: str
    versions: list[VersionFacts]
    package: str | None = None  # spec.version.framework: advisories are matched only when set
    advisories: list[tuple[str, LeakAdvisorySpec]] = field(default_factory=list)
    min_stable_pod_hours: float = 1.0


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # CamelCase, for the RollbackRecommended condition
    summary: str
    from_version: str | None = None
    to_version: str | None = None
    rollback_to: str | None = None  # a rollback target, also when Upgrade leads
    confidence: float = 0.0
    evidence: list[str] = field(default_factory=list)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def _leak_words(v: VersionFacts) -> str:
    parts = []
    if v.time_to_oom_seconds is not None:
        parts.append(f"OOM in ~{human_duration(v.time_to_oom_seconds)}")
    if v.oom_kills:
        parts.append(f"{v.oom_kills} OOMKill{'s' if v.oom_kills != 1 else ''} since rollout on {_when(v.first_seen)}")
    rate = f" {mib_per_hour(v.growth_bytes_per_second)}" if v.growth_bytes_per_second else ""
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"{v.version} leaks{rate}{detail}"


def decide(given: DecisionInput) -> Decision:
    running = sorted((v for v in given.versions if v.running), key=lambda v: v.first_seen)
    if not running:
        return Decision("None", "NothingRunning", f"{given.workload}: no pods running")
    current = running[-1]
    if current.verdict != "Leaking":
        return Decision("None", "NoLeak", f"{given.workload}: {current.version} shows no leak", current.version)

    package = given.package
    advisories = given.advisories if package else []
    ecosystem = package_ecosystem(advisories, package or "")

    def covered(version: str) -> bool:
        return bool(package) and bool(matches(advisories, package or "", version))

    leaked = {v.version for v in given.versions if v.verdict == "Leaking"}
    evidence = [f"{current.version}: {line}" for line in _evidence_of(current)]
    words = _leak_words(current)
    if current.version == UNKNOWN:
        return Decision(
            "Investigate",
            "UnknownVersion",
            f"{given.workload}: pods of an unknown version leak; set spec.version so LeakWatch can tell versions apart",
            UNKNOWN,
            confidence=current.confidence,
            evidence=evidence,
        )

    upgrade: str | None = None
    fixing: list[str] = []
    other_fixes: list[str] = []
    for hit in matches(advisories, package or "", current.version) if package else []:
        evidence.append(f"{current.version} is covered by {hit.alias}: {hit.summary}")
        target = nearest_fix(ecosystem, current.version, hit.fixed)
        if target and not covered(target) and target not in leaked and (upgrade is None or target == upgrade):
            upgrade, fixing = target, [*fixing, hit.alias]
            other_fixes += [v for v in hit.all_fixed if not covered(v) and v not in leaked]
    newer_line = newest(ecosystem, other_fixes)

    known_good = {v for _, spec in advisories for v in spec.known_good}
    earlier = sorted(
        (
            v
            for v in given.versions
            if v.version not in (current.version, UNKNOWN) and v.first_seen <= current.first_seen
        ),
        key=lambda v: v.last_seen,
        reverse=True,
    )
    rollback: VersionFacts | None = None
    flat = ""
    for candidate in earlier:
        if candidate.version in leaked or covered(candidate.version):
            why = "leaked" if candidate.version in leaked else "is covered by an advisory"
            evidence.append(f"{candidate.version} is no target: it {why}")
            continue
        stable_long = candidate.verdict == "Stable" and candidate.pod_hours >= given.min_stable_pod_hours
        if stable_long or candidate.version in known_good:
            rollback = candidate
            break
    if rollback is not None:
        span = human_duration(rollback.seen_for_seconds)
        flat = (
            f"{rollback.version} was flat for {span}"
            if rollback.verdict == "Stable"
            else f"{rollback.version} is known good"
        )
        evidence.append(f"{flat} ({rollback.pod_hours:.1f} pod-hours, {rollback.oom_kills} OOMKills)")

    if upgrade is not None:
        tail = f"; {flat}" if rollback else ""
        also = f"; {newer_line} on the newest line" if newer_line and newer_line != upgrade else ""
        tail += f"; upgrade to {upgrade} (fixes {', '.join(fixing)}{also})"
        if rollback is not None:
            tail += f" or roll back to {rollback.version}"
        return Decision(
            "Upgrade",
            "FixedVersionAvailable",
            f"{given.workload}: {words}{tail}.",
            current.version,
            upgrade,
            rollback.version if rollback else None,
            current.confidence,
            evidence,
        )
    if rollback is not None:
        confidence = current.confidence * (rollback.confidence if rollback.verdict == "Stable" else 0.9)
        return Decision(
            "Rollback",
            "StableVersionAvailable",
            f"{given.workload}: {words}; {flat}; roll back to {rollback.version}.",
            current.version,
            rollback.version,
            rollback.version,
            confidence,
            evidence,
        )
    return Decision(
        "Investigate",
        "NoSafeTarget",
        f"{given.workload}: {words}; no earlier version was stable long enough and no fix is known; investigate.",
        current.version,
        confidence=current.confidence,
        evidence=evidence,
    )


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

    def seen(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

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
                first_seen=seen(record.first_seen),
                last_seen=seen(ledger.last_seen(version, now)),
                running=version in running,
                time_scale=time_scale,
            )
        )
    workload = next((r.workload for r in ledger.versions.values() if r.workload), None)
    return workload, facts


def recommendation_status(decision: Decision, workload: str, since: str) -> dict[str, object]:
    """The decision as LeakWatch.status.recommendation."""
    return {
        "action": decision.action,
        "workload": workload,
        "fromVersion": decision.from_version,
        "toVersion": decision.to_version,
        "confidence": round(decision.confidence, 3),
        "summary": decision.summary,
        "evidence": decision.evidence,
        "since": since,
    }
