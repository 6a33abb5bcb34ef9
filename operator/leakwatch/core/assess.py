"""From memory series and the ledger to one verdict per version: pure, the clock passed in.

Series are attributed to versions by the pod they belong to (the ledger remembers which version
every pod ran, also for pods that are gone), cut into segments at restarts, analysed one by one,
and combined per version with that version's OOMKills; a version called on its growth is then read
beside the workload's other containers at the same container age (`same_age`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from leakwatch.api.common import parse_duration
from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.api.terms import Verdict
from leakwatch.core.analysis import (
    THRESHOLDS,
    RuntimeCap,
    RuntimeEvidence,
    RuntimePod,
    Samples,
    VersionVerdict,
    against_rss,
    against_runtime,
    analyse_segment,
    called_on_growth,
    called_runs,
    human_duration,
    runtime_evidence,
    runtime_may_change,
    split_segments,
    verdict_for_version,
)
from leakwatch.core.conditions import LEAK_SUSPECTED, ConditionUpdate
from leakwatch.core.oom import Ledger
from leakwatch.core.same_age import ContainerRun, against_same_age, born_in_window


@dataclass(frozen=True)
class LabelledSeries:
    labels: dict[str, str]
    samples: Samples


@dataclass(frozen=True)
class Reading:
    """What one analysis reads its series against: whose they are (namespace, spec, the ledger of
    pods and versions) and when. `time_scale` > 1 stretches the series back from `now` (a demo that
    plays hours in minutes is judged as hours); rates and times-to-OOM then come out in that time."""

    namespace: str
    spec: LeakWatchSpec
    ledger: Ledger
    now: datetime
    time_scale: float = 1.0

    @property
    def window_seconds(self) -> float:
        """memory.window, in the series' (stretched) time."""
        return parse_duration(self.spec.memory.window).total_seconds() * self.time_scale

    @property
    def max_gap_seconds(self) -> float:
        """A gap longer than three steps cuts a series into runs."""
        return 3 * parse_duration(self.spec.memory.step).total_seconds() * self.time_scale


@dataclass
class Assessment:
    verdicts: dict[str, VersionVerdict]
    series_used: int = 0
    series_dropped: int = 0  # outside the namespace or of unknown pods
    notes: list[str] = field(default_factory=list)
    runs: dict[str, list[ContainerRun]] = field(default_factory=dict)  # what each version was judged on


@dataclass(frozen=True)
class LeakSummary:
    """The LeakWatch-level verdict: the running versions decide; the suspect is the likeliest leaker."""

    verdict: Verdict
    suspect_version: str | None


def assess(series: Sequence[LabelledSeries], reading: Reading) -> Assessment:
    """One verdict per version of the series read."""
    spec, ledger, now = reading.spec, reading.ledger, reading.now
    runs, used, dropped = _runs_by_version(series, reading)
    every_run = [run for found in runs.values() for run in found]
    verdicts = {}
    # A window shorter than the growth the sensitivity needs can never show a leak: "Stable" from
    # it would be a promise it cannot keep.
    needed = THRESHOLDS[spec.memory.sensitivity].min_growth_seconds
    for version, found in runs.items():
        # oom.window is wall-clock time, like the memory window's PromQL range.
        kills = ledger.oom_kills_in_window(version, now, parse_duration(spec.oom.window).total_seconds())
        verdict = verdict_for_version(
            version,
            [run.analysis for run in found],
            oom_kills=kills,
            pod_hours=ledger.pod_seconds(version, now) * reading.time_scale / 3600,
            oom_threshold=spec.oom.threshold,
            # A short window (a demo, a fast-cycling service) must be able to say Stable too.
            min_observed_seconds=min(1800.0, reading.window_seconds / 4),
        )
        verdicts[version] = against_same_age(verdict, found, every_run)
        if verdicts[version].verdict == "Stable" and reading.window_seconds < needed:
            verdicts[version] = VersionVerdict(
                version,
                "InsufficientData",
                None,
                None,
                0.0,
                [
                    f"memory.window {spec.memory.window} is shorter than the {human_duration(needed)} of growth "
                    f"{spec.memory.sensitivity} sensitivity needs to call a leak: widen it",
                ],
            )
    return Assessment(verdicts, used, dropped, runs=runs)


def versions_to_check_against_rss(assessment: Assessment, spec: LeakWatchSpec) -> list[str]:
    """Versions judged Leaking or Suspected on the working set's growth alone (not on OOMKills)."""
    if spec.memory.signal != "WorkingSet":
        return []
    return sorted(version for version, verdict in assessment.verdicts.items() if called_on_growth(verdict))


def check_against_rss(assessment: Assessment, rss: Sequence[LabelledSeries], reading: Reading) -> Assessment:
    """The verdicts, with working-set growth that RSS does not share called Suspected, not Leaking:
    a cache the kernel will reclaim is no reason to page anyone or roll back. A version without RSS
    series (no cAdvisor RSS, a Custom exporter) keeps its verdict."""
    runs, _, _ = _runs_by_version(rss, reading)
    verdicts = dict(assessment.verdicts)
    for version in versions_to_check_against_rss(assessment, reading.spec):
        verdicts[version] = against_rss(verdicts[version], [run.analysis for run in runs.get(version, [])])
    return replace(assessment, verdicts=verdicts)


def versions_to_check_against_runtime(assessment: Assessment, spec: LeakWatchSpec) -> list[str]:
    """Versions, on a signal that holds a runtime's memory, whose verdict the runtime's memory can
    change (`runtime_may_change`)."""
    if spec.memory.signal not in ("WorkingSet", "RSS"):
        return []
    return sorted(
        version
        for version, verdict in assessment.verdicts.items()
        if runtime_may_change(verdict, [run.analysis for run in assessment.runs.get(version, [])])
    )


@dataclass(frozen=True)
class RuntimeSeries:
    """One runtime's memory in the growing versions' pods, per pod (core/promql.runtime_queries)."""

    cap: RuntimeCap
    committed: Sequence[LabelledSeries]
    used_floor: Sequence[LabelledSeries]
    maximum: Sequence[LabelledSeries]


def check_against_runtime(assessment: Assessment, runtime: RuntimeSeries, reading: Reading) -> Assessment:
    """The verdicts, with working-set growth that is a runtime filling to a cap below the memory
    limit called Suspected, not Leaking, and a live heap leaking under a soft cap called Leaking
    (`against_runtime`). A version whose pods export no such metrics keeps its verdict."""

    def by_version(found: Sequence[LabelledSeries]) -> dict[str, list[_PodSeries]]:
        grouped, _, _ = _series_by_version(found, reading)
        return grouped

    committed, used_floor, maximum = (
        by_version(runtime.committed),
        by_version(runtime.used_floor),
        by_version(runtime.maximum),
    )
    verdicts = dict(assessment.verdicts)
    for version in versions_to_check_against_runtime(assessment, reading.spec):
        evidence = _runtime_evidence(
            runtime,
            committed.get(version, []),
            used_floor.get(version, []),
            maximum.get(version, []),
            grown_by_pod(assessment.runs.get(version, [])),
            reading,
        )
        verdicts[version] = against_runtime(verdicts[version], evidence)
    return replace(assessment, verdicts=verdicts)


def _runtime_evidence(
    runtime: RuntimeSeries,
    committed: list[_PodSeries],
    used_floor: list[_PodSeries],
    maximum: list[_PodSeries],
    grown: dict[str, list[tuple[float, float]]],
    reading: Reading,
) -> RuntimeEvidence | None:
    """The three signals and the working set's growth matched by pod."""
    cap_of = {found.pod: float(found.samples.v[-1]) for found in maximum if len(found.samples)}
    floor_of = {found.pod: found.samples for found in used_floor}
    pods = [
        RuntimePod(found.samples, floor_of[found.pod], cap_of[found.pod], grown.get(found.pod, []), found.limit)
        for found in committed
        if found.pod in cap_of and found.pod in floor_of
    ]
    return runtime_evidence(
        runtime.cap,
        pods,
        sensitivity=reading.spec.memory.sensitivity,
    )


@dataclass(frozen=True)
class _PodSeries:
    pod: str
    limit: float | None  # the container's memory limit
    samples: Samples  # stretched by the time scale


def _series_by_version(
    series: Sequence[LabelledSeries], reading: Reading
) -> tuple[dict[str, list[_PodSeries]], int, int]:
    """Each series attributed to its pod's version: (series per version, used, dropped as not this
    LeakWatch's)."""
    spec, ledger, now, time_scale = reading.spec, reading.ledger, reading.now, reading.time_scale
    pods = ledger.pod_versions(since=now - parse_duration(spec.memory.window))
    by_version: dict[str, list[_PodSeries]] = {version: [] for version in ledger.versions}
    used = dropped = 0
    for item in series:
        pod, container = item.labels.get("pod", ""), item.labels.get("container", "")
        if item.labels.get("namespace") != reading.namespace or pod not in pods:
            dropped += 1  # never judge on data that is not this LeakWatch's
            continue
        if spec.containers and container and container not in spec.containers:
            dropped += 1
            continue
        version, limits = pods[pod]
        limit = limits.get(container) or (next(iter(limits.values())) if len(limits) == 1 else None)
        used += 1
        samples = item.samples
        if time_scale != 1.0:
            samples = Samples(now.timestamp() - (now.timestamp() - samples.t) * time_scale, samples.v)
        by_version.setdefault(version, []).append(_PodSeries(pod, limit, samples))
    return by_version, used, dropped


def grown_by_pod(runs: Sequence[ContainerRun]) -> dict[str, list[tuple[float, float]]]:
    """Where each pod's working set grew as its version's verdict reads it (`called_runs`): from
    the start of the growth analysed to the run's end."""
    called = called_runs([run.analysis for run in runs])
    grown: dict[str, list[tuple[float, float]]] = {}
    for run in runs:
        if run.analysis in called:
            grown.setdefault(run.pod, []).append((run.analysis.growth_start, run.analysis.end))
    return grown


def _runs_by_version(
    series: Sequence[LabelledSeries], reading: Reading
) -> tuple[dict[str, list[ContainerRun]], int, int]:
    """Each series attributed to its pod's version, cut into runs and analysed, with its container's
    start where the window shows it: (runs per version, series used, series dropped as not this
    LeakWatch's)."""
    by_version, used, dropped = _series_by_version(series, reading)
    window_start = reading.now.timestamp() - reading.window_seconds
    runs = {
        version: [
            run
            for found in pods
            for run in container_runs(
                found.samples,
                version=version,
                pod=found.pod,
                limit_bytes=found.limit,
                sensitivity=reading.spec.memory.sensitivity,
                window_start=window_start,
                max_gap_seconds=reading.max_gap_seconds,
            )
        ]
        for version, pods in by_version.items()
    }
    return runs, used, dropped


def container_runs(
    samples: Samples,
    *,
    version: str,
    pod: str,
    limit_bytes: float | None,
    sensitivity: str,
    window_start: float,
    max_gap_seconds: float,
) -> list[ContainerRun]:
    """One pod's series over the window cut into its container's runs, each analysed, with its
    container's start where the window shows it. bench/detection.py reads its traces through this
    too, so that what it scores is what the operator does."""
    return [
        ContainerRun(
            run,
            analyse_segment(run, limit_bytes=limit_bytes, sensitivity=sensitivity),
            version,
            born_in_window(i, run, window_start, max_gap_seconds),
            pod,
        )
        for i, run in enumerate(split_segments(samples, max_gap_seconds=max_gap_seconds))
    ]


def summarise(assessment: Assessment, running_versions: set[str]) -> tuple[LeakSummary, ConditionUpdate]:
    """The LeakWatch-level verdict (the running versions decide), its suspect, and LeakSuspected."""
    leaking = [v for v in assessment.verdicts.values() if v.verdict == "Leaking"]
    current = [v for v in assessment.verdicts.values() if v.version in running_versions] or list(
        assessment.verdicts.values()
    )
    current_leaking = [v for v in current if v.verdict == "Leaking"]
    current_suspected = [v for v in current if v.verdict == "Suspected"]
    suspect = max(current_leaking or leaking or current_suspected, key=lambda v: v.confidence, default=None)
    verdict: Verdict
    if current_leaking:
        verdict = "Leaking"
    elif current_suspected:
        verdict = "Suspected"
    elif current and all(v.verdict == "Stable" for v in current):
        verdict = "Stable"
    else:
        verdict = "InsufficientData"
    summary = LeakSummary(verdict, suspect.version if suspect else None)
    if suspect is not None and suspect.verdict == "Suspected":
        condition = ConditionUpdate(
            LEAK_SUSPECTED,
            "True",
            "GrowthSuspected",
            f"version {suspect.version}: " + "; ".join(suspect.evidence) + " (no alert or recommendation before then)",
        )
    elif suspect is not None:
        condition = ConditionUpdate(
            LEAK_SUSPECTED, "True", "LeakDetected", f"version {suspect.version}: " + "; ".join(suspect.evidence)
        )
    elif verdict == "Stable":
        condition = ConditionUpdate(LEAK_SUSPECTED, "False", "MemoryStable", "no version shows a leak")
    else:
        condition = ConditionUpdate(LEAK_SUSPECTED, "Unknown", "InsufficientData", "not enough memory data yet")
    return summary, condition
