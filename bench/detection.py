"""Detection benchmark: replay each labelled trace as a stream and score LeakWatch against two
plain alerting rules on the same traces.

    .venv/bin/python bench/detection.py [--corpus [NAME=]DIR ...] [--json] [--window HOURS] [--sensitivity Medium]

`--corpus` may be given several times (NAME=DIR, or a bare DIR named by its path); the corpora are
scored one after the other and then printed side by side, with each one's gap in precision and
recall to the development corpus (the one named `dev`, else the first). Without `--corpus` it scores
dev=tests/corpus/traces, test=tests/corpus_test/traces, holdout=tests/corpus_holdout/traces and
signals=tests/corpus_signals/traces (three held-out corpora from three more generators, the last
with RSS, page cache and runtime signals) and recorded=tests/corpus/recorded (if it loads).

Every `--every` simulated minutes each detector sees only the samples scraped so far (LeakWatch
within its sliding analysis window) and says alert or not, with its time-to-OOM estimate. Scoring,
per trace (see bench/README.md):

- a no-leak trace with any alert is a false positive;
- on a leak trace, an alert before the true onset is a false positive too; the first alert at or
  after the onset and before the true OOM is a true positive; none in time is a miss;
- detection delay = (first alert - onset) / (OOM - onset);
- time-to-OOM error = |predicted - (OOM - first alert)| / (OOM - first alert).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.analysis import (
    RuntimePod,
    Samples,
    VersionVerdict,
    against_rss,
    against_runtime,
    runtime_evidence,
    runtime_may_change,
    verdict_for_version,
)
from leakwatch.core.assess import container_runs, grown_by_pod
from leakwatch.core.promql import RuntimeQueries, Scope, runtime_queries
from leakwatch.core.same_age import ContainerRun, against_same_age

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO / "tests" / "corpus" / "traces"
DEFAULT_CORPORA = (
    ("dev", DEFAULT_CORPUS),
    ("test", REPO / "tests" / "corpus_test" / "traces"),
    ("holdout", REPO / "tests" / "corpus_holdout" / "traces"),
    ("signals", REPO / "tests" / "corpus_signals" / "traces"),
    ("recorded", REPO / "tests" / "corpus" / "recorded"),
)
SUSPECTED = "leakwatch Suspected+"  # the first Suspected or Leaking verdict: no alert, shown in status
STATIC = "static >90% of limit"  # the rule everyone already has
LATE_DELAY = 0.5  # reporting only: a detection after half the onset-to-OOM time is listed as late
HOUR = 3600.0
OOM_THRESHOLD = 2  # the operator's default oom.threshold

# Issue 17's targets, for every corpus LeakWatch was not tuned on (the development corpus meets them too).
TARGETS = {"precision": 0.95, "recall": 0.95, "median_delay": 0.30, "p90_delay": 0.60, "median_tto_error": 0.20}


@dataclass(frozen=True)
class Trace:
    name: str
    pattern: str
    label: str
    limit_bytes: float
    onset: float | None
    oom: float | None
    pods: list[Samples]
    # Each pod's RSS where the trace recorded it (`signals.rss`): the operator reads it when the
    # working set grows, to tell page cache from a leak; one entry per pod of `pods`, None for a pod
    # that did not record it.
    rss: list[Samples | None] = field(default_factory=list)
    # Each pod's runtime memory where the trace recorded it (`signals.jvm_*` or `signals.go_*`):
    # committed, used and cap, read as the operator reads Micrometer's or client_golang's metrics;
    # one entry per pod of `pods`, in their order, None for a pod that did not record them.
    runtime: str | None = None  # "jvm" | "go"
    runtime_pods: list[tuple[Samples, Samples, Samples] | None] = field(default_factory=list)

    @property
    def leak(self) -> bool:
        return self.label == "leak"

    @property
    def start(self) -> float:
        return min(float(p.t[0]) for p in self.pods if len(p))

    @property
    def end(self) -> float:
        return max(float(p.t[-1]) for p in self.pods if len(p))


def load_corpus(directory: Path) -> list[Trace]:
    traces = []
    for path in sorted(directory.glob("*.json.gz")):
        with gzip.open(path, "rt") as handle:
            doc = json.load(handle)
        recorded = [p for p in doc["pods"] if len(p["t"])]
        pods = [Samples(np.array(p["t"], dtype=float), np.array(p["bytes"], dtype=float)) for p in recorded]
        rss = [
            Samples(np.array(p["t"], dtype=float), np.array(p["signals"]["rss"], dtype=float))
            if "rss" in p.get("signals", {})
            else None
            for p in recorded
        ]
        runtime = next(
            (kind for kind in RUNTIMES if any(f"{kind}_cap" in p.get("signals", {}) for p in recorded)), None
        )
        runtime_pods = [
            (
                _reported(p["t"], p["signals"][f"{runtime}_committed"]),
                _reported(p["t"], p["signals"][f"{runtime}_used"]),
                _reported(p["t"], p["signals"][f"{runtime}_cap"]),
            )
            if runtime and f"{runtime}_cap" in p.get("signals", {})
            else None
            for p in recorded
        ]
        traces.append(
            Trace(
                name=doc["name"],
                pattern=doc["pattern"],
                label=doc["label"],
                limit_bytes=float(doc["limit_bytes"]),
                onset=doc.get("onset_time"),
                oom=doc.get("oom_time"),
                pods=pods,
                rss=rss,
                runtime=runtime,
                runtime_pods=runtime_pods,
            )
        )
    if not traces:
        raise SystemExit(f"no *.json.gz traces in {directory}")
    return traces


# What each runtime's recorded signals are, in the operator's words and with its kind of cap, taken
# from the queries the operator sends (the JVM's first, then Go's).
RUNTIMES: dict[str, RuntimeQueries] = dict(
    zip(("jvm", "go"), runtime_queries(MemorySpec(), Scope("bench", ["bench"])), strict=True)
)


def _reported(t: list[int], values: list[int]) -> Samples:
    """A recorded runtime signal without the samples before the runtime first reported (zeros)."""
    times, read = np.array(t, dtype=float), np.array(values, dtype=float)
    return Samples(times[read > 0], read[read > 0])


@dataclass(frozen=True)
class Alert:
    time_to_oom_seconds: float | None


# A detector looks at a trace as of `now` and alerts (with its time-to-OOM estimate) or not.
Detector = Callable[[Trace, float], Alert | None]
VerdictOf = Callable[[Trace, float], VersionVerdict]


def static_threshold(fraction: float = 0.9) -> Detector:
    """`container_memory_working_set_bytes > 0.9 * limit` on the newest sample of any pod."""

    def detect(trace: Trace, now: float) -> Alert | None:
        for pod in trace.pods:
            i = int(np.searchsorted(pod.t, now, side="right")) - 1
            if i >= 0 and now - pod.t[i] <= 300 and pod.v[i] > fraction * trace.limit_bytes:
                return Alert(None)
        return None

    return detect


def predict_linear(range_seconds: float = HOUR, ahead_seconds: float = 4 * HOUR) -> Detector:
    """`predict_linear(mem[1h], 4*3600) > limit`: Prometheus fits a least-squares line to the
    samples in the range (x relative to the evaluation time) and extrapolates it `ahead` seconds."""

    def detect(trace: Trace, now: float) -> Alert | None:
        for pod in trace.pods:
            recent = pod.between(now - range_seconds, now)
            if len(recent) < 2:
                continue
            slope, intercept = np.polyfit(recent.t - now, recent.v, 1)
            if intercept + slope * ahead_seconds > trace.limit_bytes:
                tto = max(0.0, (trace.limit_bytes - intercept) / slope) if slope > 0 else None
                return Alert(tto)
        return None

    return detect


def oom_kills(trace: Trace, now: float, window_seconds: float) -> list[float]:
    """When the trace's containers were OOMKilled within the window up to `now`: a sample at the
    limit is a kill (the corpus format's convention), as the kubelet reports it to the operator."""
    kills: list[float] = []
    for pod in trace.pods:
        seen = pod.between(now - window_seconds, now)
        kills.extend(float(t) for t in seen.t[seen.v >= trace.limit_bytes])
    return sorted(kills)


def leakwatch_verdicts(
    window_seconds: float,
    sensitivity: str,
    max_gap_seconds: float,
    *,
    kills_as_evidence: bool = True,
    same_age: bool = True,
) -> VerdictOf:
    """What the operator does each cycle: split each pod's window into container runs, analyse each
    run, and combine them into one verdict for the version with its OOMKills in the window (none
    before the first OOM, the only time a detection counts in the main score; they matter for OOM
    loops), read beside RSS where the trace has it, as the operator reads it for growing versions.
    Remembered, so both levels' replays analyse once.

    `kills_as_evidence=False` is the operator before it read a killed run's repetition: OOMKills
    count only when they reach `oom.threshold` (the baseline of the OOM-loop table); `same_age=False`
    the operator before it read earlier containers at the same age (the redeploy table's)."""
    seen_before: dict[tuple[str, float], VersionVerdict] = {}

    def verdict_of(trace: Trace, now: float) -> VersionVerdict:
        found = seen_before.get((trace.name, now))
        if found is not None:
            return found

        def runs_of(pods: Sequence[Samples | None]) -> list[ContainerRun]:
            return [
                run
                for index, pod in enumerate(pods)
                if pod is not None
                for run in container_runs(
                    pod.between(now - window_seconds, now),
                    version=trace.name,
                    pod=str(index),
                    limit_bytes=trace.limit_bytes,
                    sensitivity=sensitivity,
                    window_start=now - window_seconds,
                    max_gap_seconds=max_gap_seconds,
                )
            ]

        runs = runs_of(trace.pods)
        pod_seconds = sum(run.samples.span_seconds for run in runs)
        segments = [run.analysis for run in runs]
        kills = len(oom_kills(trace, now, window_seconds))
        verdict = verdict_for_version(
            trace.name,
            segments,
            oom_kills=kills if kills_as_evidence or kills >= OOM_THRESHOLD else 0,
            pod_hours=pod_seconds / HOUR,
            oom_threshold=OOM_THRESHOLD,
        )
        if same_age:
            verdict = against_same_age(verdict, runs, runs)
        if any(pod is not None for pod in trace.rss):
            verdict = against_rss(verdict, [run.analysis for run in runs_of(trace.rss)])
        if trace.runtime and runtime_may_change(verdict, segments):
            pods = []
            grown = grown_by_pod(runs)
            for index, signals in enumerate(trace.runtime_pods):
                if signals is None:
                    continue
                committed, used, cap = signals
                seen_cap = cap.between(now - window_seconds, now)  # as of now: never a later value
                if len(seen_cap):
                    pods.append(
                        RuntimePod(
                            committed.between(now - window_seconds, now),
                            used.between(now - window_seconds, now),
                            seen_cap.v[-1],
                            grown.get(str(index), []),
                            trace.limit_bytes,
                        )
                    )
            evidence = runtime_evidence(
                RUNTIMES[trace.runtime].cap,
                pods,
                sensitivity=sensitivity,
            )
            verdict = against_runtime(verdict, evidence)
        seen_before[(trace.name, now)] = verdict
        return verdict

    return verdict_of


def leakwatch(verdict_of: VerdictOf, levels: tuple[str, ...] = ("Leaking",)) -> Detector:
    """An alert when LeakWatch's verdict is one of `levels`: Leaking alone is what alerts; with
    Suspected it is what status and the dashboard show first."""

    def detect(trace: Trace, now: float) -> Alert | None:
        verdict = verdict_of(trace, now)
        return Alert(verdict.time_to_oom_seconds) if verdict.verdict in levels else None

    return detect


@dataclass
class TraceResult:
    name: str
    pattern: str
    label: str
    outcome: str  # "TP" | "FN" | "FP" | "TN"
    false_alarm_at_hours: float | None = None  # first alert that was wrong (no leak, or before onset)
    detected_at_hours: float | None = None  # since the trace start
    delay_fraction: float | None = None
    tto_predicted_hours: float | None = None
    tto_true_hours: float | None = None
    tto_error: float | None = None


def replay(trace: Trace, detector: Detector, every_seconds: float) -> TraceResult:
    start = trace.start
    false_alarm: float | None = None
    detection: tuple[float, Alert] | None = None
    now = start + every_seconds
    while now <= trace.end + 1e-9:
        alert = detector(trace, now)
        if alert is not None:
            wrong = not trace.leak or (trace.onset is not None and now < trace.onset)
            if wrong:
                false_alarm = now if false_alarm is None else false_alarm
                if not trace.leak:
                    break
            elif trace.oom is not None and now < trace.oom:
                detection = (now, alert)
                break
        if trace.oom is not None and now >= trace.oom:
            break
        now += every_seconds

    result = TraceResult(trace.name, trace.pattern, trace.label, "TN")
    if false_alarm is not None:
        result.false_alarm_at_hours = (false_alarm - start) / HOUR
    if not trace.leak:
        result.outcome = "FP" if false_alarm is not None else "TN"
        return result
    if detection is None:
        result.outcome = "FN"
        return result
    assert trace.onset is not None and trace.oom is not None
    at, alert = detection
    result.outcome = "TP"
    result.detected_at_hours = (at - start) / HOUR
    result.delay_fraction = (at - trace.onset) / (trace.oom - trace.onset)
    true_tto = trace.oom - at
    result.tto_true_hours = true_tto / HOUR
    if alert.time_to_oom_seconds is not None:
        result.tto_predicted_hours = alert.time_to_oom_seconds / HOUR
        result.tto_error = abs(alert.time_to_oom_seconds - true_tto) / true_tto
    return result


@dataclass
class Score:
    detector: str
    traces: int
    leaks: int
    true_positives: int
    false_positives: int  # alarms on no-leak traces plus alarms before the onset on leak traces
    misses: int
    precision: float
    recall: float
    median_delay: float | None
    p90_delay: float | None
    median_tto_error: float | None
    seconds: float
    results: list[TraceResult] = field(default_factory=list)


def median(values: Sequence[float | None], q: float = 50) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.percentile(present, q)) if present else None


def score(name: str, traces: list[Trace], detector: Detector, every_seconds: float) -> Score:
    began = time.process_time()
    results = [replay(trace, detector, every_seconds) for trace in traces]
    spent = time.process_time() - began
    tp = sum(r.outcome == "TP" for r in results)
    fp = sum(r.false_alarm_at_hours is not None for r in results)
    leaks = sum(t.leak for t in traces)
    delays = [r.delay_fraction for r in results]
    return Score(
        detector=name,
        traces=len(traces),
        leaks=leaks,
        true_positives=tp,
        false_positives=fp,
        misses=leaks - tp,
        precision=tp / (tp + fp) if tp + fp else math.nan,
        recall=tp / leaks if leaks else math.nan,
        median_delay=median(delays),
        p90_delay=median(delays, 90),
        median_tto_error=median([r.tto_error for r in results]),
        seconds=spent,
        results=results,
    )


def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else pattern.format(value)


def print_tables(scores: list[Score], settings: dict[str, object]) -> None:
    print("settings: " + ", ".join(f"{k}={v}" for k, v in settings.items()))
    header = f"{'detector':<24}{'precision':>10}{'recall':>8}{'TP':>5}{'FP':>5}{'FN':>5}"
    header += f"{'delay p50':>11}{'delay p90':>11}{'TTO err p50':>13}{'cpu s':>8}"
    print(header)
    print("-" * len(header))
    for s in scores:
        print(
            f"{s.detector:<24}{fmt(s.precision):>10}{fmt(s.recall):>8}{s.true_positives:>5}{s.false_positives:>5}"
            f"{s.misses:>5}{fmt(s.median_delay):>11}{fmt(s.p90_delay):>11}"
            f"{fmt(s.median_tto_error, '{:.0%}'):>13}{s.seconds:>8.1f}"
        )
    print()
    patterns = sorted({r.pattern for r in scores[0].results}, key=lambda p: (scores[0].results[0].label, p))
    print("per pattern: detected/leaks or false alarms/traces, with median delay for leaks")
    print(f"{'pattern':<24}" + "".join(f"{s.detector:>24}" for s in scores))
    for pattern in patterns:
        cells = []
        for s in scores:
            rows = [r for r in s.results if r.pattern == pattern]
            if rows[0].label == "leak":
                hit = sum(r.outcome == "TP" for r in rows)
                delay = median([r.delay_fraction for r in rows])
                early = sum(r.false_alarm_at_hours is not None for r in rows)
                cell = f"{hit}/{len(rows)} d={fmt(delay)}" + (f" +{early}FP" if early else "")
            else:
                cell = f"{sum(r.outcome == 'FP' for r in rows)}/{len(rows)} FP"
            cells.append(f"{cell:>24}")
        print(f"{pattern:<24}" + "".join(cells))
    lw, others = scores[0], [s for s in scores[1:] if s.detector != SUSPECTED]
    print()
    print("targets for LeakWatch:")
    static = next(s for s in others if s.detector == STATIC)
    checks = [
        (f"precision >= {TARGETS['precision']:.2f}", lw.precision >= TARGETS["precision"]),
        (f"recall >= {TARGETS['recall']:.2f}", lw.recall >= TARGETS["recall"]),
        (f"median delay <= {TARGETS['median_delay']:.2f}", _at_most(lw.median_delay, TARGETS["median_delay"])),
        (f"p90 delay <= {TARGETS['p90_delay']:.2f}", _at_most(lw.p90_delay, TARGETS["p90_delay"])),
        (
            f"median TTO error <= {TARGETS['median_tto_error']:.0%}",
            _at_most(lw.median_tto_error, TARGETS["median_tto_error"]),
        ),
        ("precision better than both baselines", all(lw.precision > o.precision for o in others)),
        (
            "median delay earlier than the static rule's",
            static.median_delay is None or (lw.median_delay or math.inf) < static.median_delay,
        ),
    ]
    for text, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")


def _at_most(value: float | None, bound: float) -> bool:
    return value is not None and value <= bound


def leakwatch_errors(lw: Score) -> list[str]:
    """Every trace LeakWatch got wrong or late, one line each (reporting only)."""
    lines = []
    width = max((len(r.name) for r in lw.results), default=0) + 2  # recorded traces' names run long
    for r in lw.results:
        if r.outcome == "FP":
            lines.append(f"{r.name:<{width}}{r.pattern:<26}false positive at {r.false_alarm_at_hours:.1f} h")
        elif r.false_alarm_at_hours is not None:
            then = "then " + ("detected" if r.outcome == "TP" else "missed")
            lines.append(
                f"{r.name:<{width}}{r.pattern:<26}false positive before the onset at "
                f"{r.false_alarm_at_hours:.1f} h ({then})"
            )
        elif r.outcome == "FN":
            lines.append(f"{r.name:<{width}}{r.pattern:<26}miss")
        elif r.delay_fraction is not None and r.delay_fraction > LATE_DELAY:
            lines.append(
                f"{r.name:<{width}}{r.pattern:<26}late: delay {r.delay_fraction:.2f} at {r.detected_at_hours:.1f} h, "
                f"{r.tto_true_hours:.1f} h before the OOM"
            )
    return lines


def print_errors(lw: Score) -> None:
    errors = leakwatch_errors(lw)
    print()
    print(f"LeakWatch errors ({len(errors)}; late = delay > {LATE_DELAY:.2f}):")
    for line in errors or ["none"]:
        print("  " + line)


def print_corpus(name: str, directory: Path, scores: list[Score], settings: dict[str, object]) -> None:
    leaks = scores[0].leaks
    title = f"corpus {name}: {directory} ({scores[0].traces} traces, {leaks} leaks)"
    print("=" * len(title))
    print(title)
    print("=" * len(title))
    print_tables(scores, settings)
    print_errors(scores[0])
    print()


def gap(value: float, reference: float) -> str:
    if math.isnan(value) or math.isnan(reference):
        return "n/a"
    return f"{reference:.2f} -> {value:.2f} ({value - reference:+.2f})"


def reference_corpus(names: Sequence[str]) -> str:
    return "dev" if "dev" in names else names[0]


def print_side_by_side(corpora: list[tuple[str, Path, list[Score]]]) -> None:
    print("side by side")
    header = f"{'corpus':<10}{'detector':<24}{'traces':>7}{'leaks':>6}{'precision':>10}{'recall':>8}"
    header += f"{'TP':>5}{'FP':>5}{'FN':>5}{'delay p50':>11}{'delay p90':>11}{'TTO err p50':>13}"
    print(header)
    print("-" * len(header))
    for i in range(len(corpora[0][2])):
        for name, _, scores in corpora:
            s = scores[i]
            print(
                f"{name:<10}{s.detector:<24}{s.traces:>7}{s.leaks:>6}{fmt(s.precision):>10}{fmt(s.recall):>8}"
                f"{s.true_positives:>5}{s.false_positives:>5}{s.misses:>5}{fmt(s.median_delay):>11}"
                f"{fmt(s.p90_delay):>11}{fmt(s.median_tto_error, '{:.0%}'):>13}"
            )
        print()
    ref = reference_corpus([name for name, _, _ in corpora])
    scores_ref = next(scores for name, _, scores in corpora if name == ref)
    print(f"gap to {ref} (the development corpus): {ref} -> other (other - {ref})")
    print(f"{'detector':<24}{'corpus':<10}{'precision':>24}{'recall':>24}")
    for i, s_ref in enumerate(scores_ref):
        for name, _, scores in corpora:
            if name == ref:
                continue
            s = scores[i]
            print(f"{s.detector:<24}{name:<10}{gap(s.precision, s_ref.precision):>24}{gap(s.recall, s_ref.recall):>24}")


@dataclass
class LoopResult:
    """A leak that OOMKills again and again: how many kills each detector lets through first."""

    name: str
    kills: int  # in the whole trace
    kills_before: dict[str, int | None]  # per detector; None: never alerted while the trace lasts


def oom_loops(traces: list[Trace], detectors: list[tuple[str, Detector]], every_seconds: float) -> list[LoopResult]:
    """Replay every leak trace that OOMKills more than once to its end (the main score stops at the
    first kill) and count the kills before each detector's first alert at or after the onset."""
    results = []
    for trace in traces:
        kills = oom_kills(trace, trace.end, math.inf)
        if not trace.leak or trace.onset is None or len(kills) < 2:
            continue
        before: dict[str, int | None] = {}
        for label, detector in detectors:
            now = max(trace.start, trace.onset) + every_seconds
            before[label] = None
            while now <= trace.end + 1e-9:
                if detector(trace, now) is not None:
                    before[label] = sum(k <= now for k in kills)
                    break
                now += every_seconds
        results.append(LoopResult(trace.name, len(kills), before))
    return results


def print_oom_loops(corpora: list[tuple[str, list[LoopResult]]]) -> None:
    rows = [(name, r) for name, results in corpora for r in results]
    if not rows:
        return
    labels = list(rows[0][1].kills_before)
    print()
    print("OOM loops: leaks that OOMKill again and again, replayed to the end; OOMKills before each detector's")
    print("first alert (- : none while the trace lasts)")
    print(f"{'corpus':<10}{'trace':<44}{'kills':>6}" + "".join(f"{label:>26}" for label in labels))
    for name, r in rows:
        cells = "".join(f"{fmt_kills(r.kills_before[label]):>26}" for label in labels)
        print(f"{name:<10}{r.name[:43]:<44}{r.kills:>6}{cells}")
    for label in labels:
        counts = [r.kills_before[label] for _, r in rows]
        caught = [c for c in counts if c is not None]
        typical = fmt(median([float(c) for c in caught]), "{:.1f}")
        first = sum(c == 0 for c in caught)
        print(
            f"  {label}: median {typical} OOMKills before the alert, {first} of {len(counts)} alerted before the "
            f"first, {len(counts) - len(caught)} never"
        )


@dataclass
class LivesResult:
    """A workload without a leak, redeployed: in which of its container lives each detector alerted."""

    name: str
    alerted: dict[str, list[bool]]  # per detector, one per life, oldest first


# Pods that start within this of each other are one rollout's replicas: one container life.
SAME_ROLLOUT_SECONDS = HOUR


def container_lives(trace: Trace) -> list[tuple[float, float]]:
    """From each rollout's first pod start to the next one's (the last to the trace's end)."""
    rollouts: list[float] = []
    for started in sorted(float(pod.t[0]) for pod in trace.pods):
        if not rollouts or started - rollouts[-1] > SAME_ROLLOUT_SECONDS:
            rollouts.append(started)
    return list(zip(rollouts, [*rollouts[1:], trace.end], strict=True))


def redeploys(traces: list[Trace], detectors: list[tuple[str, Detector]], every_seconds: float) -> list[LivesResult]:
    """Replay every no-leak trace with more than one container life to its end (the main score stops
    at the first false alarm) and say in which lives each detector alerted: a fill that every deploy
    repeats is a false alarm per deploy unless the earlier life is read beside the new one."""
    results = []
    for trace in traces:
        lives = container_lives(trace)
        if trace.leak or len(lives) < 2:
            continue
        alerted: dict[str, list[bool]] = {}
        for label, detector in detectors:
            alerted[label] = [
                any(
                    detector(trace, now) is not None
                    for now in np.arange(begin + every_seconds, end + 1e-9, every_seconds)
                )
                for begin, end in lives
            ]
        results.append(LivesResult(trace.name, alerted))
    return results


def print_redeploys(corpora: list[tuple[str, list[LivesResult]]]) -> None:
    rows = [(name, r) for name, results in corpora for r in results]
    if not rows:
        return
    labels = list(rows[0][1].alerted)
    print()
    print("Redeployed workloads without a leak, replayed to the end: the container lives (a rollout's pods,")
    print("oldest first) in which each detector alerted (A) or not (-)")
    print(f"{'corpus':<10}{'trace':<44}" + "".join(f"{label:>26}" for label in labels))
    for name, r in rows:
        cells = "".join(f"{''.join('A' if a else '-' for a in r.alerted[label]):>26}" for label in labels)
        print(f"{name[:9]:<10}{r.name[:43]:<44}{cells}")
    for label in labels:
        later = [a for _, r in rows for a in r.alerted[label][1:]]
        first = [r.alerted[label][0] for _, r in rows]
        print(
            f"  {label}: alerted in {sum(first)} of {len(first)} first lives and {sum(later)} of {len(later)} "
            "later ones"
        )


def fmt_kills(count: int | None) -> str:
    return "-" if count is None else str(count)


def parse_corpus(value: str) -> tuple[str, Path]:
    """NAME=DIR, or a bare DIR (named by its path, as before)."""
    name, sep, rest = value.partition("=")
    if sep and name and "/" not in name:
        return name, Path(rest)
    return value, Path(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--corpus",
        type=parse_corpus,
        action="append",
        metavar="[NAME=]DIR",
        help="directory of *.json.gz traces, optionally named; repeat to score corpora side by side "
        "(default: dev, test and recorded, see above)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--window", type=float, default=24.0, help="LeakWatch analysis window, hours")
    parser.add_argument("--every", type=float, default=10.0, help="evaluation interval, simulated minutes")
    parser.add_argument("--sensitivity", default="Medium", choices=["Low", "Medium", "High"])
    parser.add_argument(
        "--max-gap", type=float, default=10.0, help="a scrape gap longer than this splits a run, minutes"
    )
    args = parser.parse_args(argv)

    if args.corpus:
        wanted = [(name, directory, True) for name, directory in args.corpus]
    else:
        wanted = [(name, directory, name != "recorded") for name, directory in DEFAULT_CORPORA]
    loaded: list[tuple[str, Path, list[Trace]]] = []
    for name, directory, required in wanted:
        try:
            loaded.append((name, directory, load_corpus(directory)))
        except (SystemExit, OSError, KeyError, ValueError) as error:
            if required:
                raise
            print(f"(skipping corpus {name} at {directory}: it does not load: {error})", file=sys.stderr)
    every = args.every * 60
    common: dict[str, object] = {
        "every_minutes": args.every,
        "leakwatch_window_hours": args.window,
        "sensitivity": args.sensitivity,
        "max_gap_minutes": args.max_gap,
    }
    began = time.monotonic()
    scored: list[tuple[str, Path, list[Score]]] = []
    loops: list[tuple[str, list[LoopResult]]] = []
    lives: list[tuple[str, list[LivesResult]]] = []
    for name, directory, traces in loaded:
        verdicts = leakwatch_verdicts(args.window * HOUR, args.sensitivity, args.max_gap * 60)
        detectors: list[tuple[str, Detector]] = [
            ("leakwatch", leakwatch(verdicts)),
            (STATIC, static_threshold(0.9)),
            ("predict_linear 1h->4h", predict_linear(HOUR, 4 * HOUR)),
            (SUSPECTED, leakwatch(verdicts, ("Suspected", "Leaking"))),
        ]
        scored.append((name, directory, [score(label, traces, detector, every) for label, detector in detectors]))
        threshold_only = leakwatch_verdicts(
            args.window * HOUR, args.sensitivity, args.max_gap * 60, kills_as_evidence=False
        )
        loop_detectors = [
            ("leakwatch", leakwatch(verdicts)),
            (f"leakwatch, kills>={OOM_THRESHOLD} only", leakwatch(threshold_only)),
            (STATIC, static_threshold(0.9)),
        ]
        loops.append((name, oom_loops(traces, loop_detectors, every)))
        without_same_age = leakwatch_verdicts(args.window * HOUR, args.sensitivity, args.max_gap * 60, same_age=False)
        lives_detectors = [
            ("leakwatch", leakwatch(verdicts)),
            ("leakwatch, no same-age", leakwatch(without_same_age)),
            (STATIC, static_threshold(0.9)),
        ]
        lives.append((name, redeploys(traces, lives_detectors, every)))
    wall = time.monotonic() - began

    def settings_for(name: str, directory: Path, scores: list[Score]) -> dict[str, object]:
        return {"corpus": str(directory) if len(scored) == 1 else f"{name}={directory}", "traces": scores[0].traces}

    if args.json:
        if len(scored) == 1:
            name, directory, scores = scored[0]
            settings = settings_for(name, directory, scores) | common
            doc: dict[str, object] = {
                "settings": settings,
                "targets": TARGETS,
                "scores": [asdict(s) for s in scores],
                "oom_loops": [asdict(r) for r in loops[0][1]],
                "redeploys": [asdict(r) for r in lives[0][1]],
            }
        else:
            ref = reference_corpus([name for name, _, _ in scored])
            ref_scores = next(scores for name, _, scores in scored if name == ref)
            doc = {
                "settings": common,
                "targets": TARGETS,
                "reference": ref,
                "corpora": [
                    {
                        "name": name,
                        "dir": str(directory),
                        "scores": [asdict(s) for s in scores],
                        "oom_loops": [asdict(r) for r in corpus_loops],
                        "redeploys": [asdict(r) for r in corpus_lives],
                        "gap": [
                            {
                                "detector": s.detector,
                                "precision": s.precision - r.precision,
                                "recall": s.recall - r.recall,
                            }
                            for s, r in zip(scores, ref_scores, strict=True)
                        ],
                    }
                    for (name, directory, scores), (_, corpus_loops), (_, corpus_lives) in zip(
                        scored, loops, lives, strict=True
                    )
                ],
                "wall_seconds": wall,
            }
        json.dump(doc, sys.stdout, indent=1)
        print()
    elif len(scored) == 1:
        name, directory, scores = scored[0]
        print_tables(scores, settings_for(name, directory, scores) | common)
        print_errors(scores[0])
        print_oom_loops(loops)
        print_redeploys(lives)
    else:
        for name, directory, scores in scored:
            print_corpus(name, directory, scores, settings_for(name, directory, scores) | common)
        print_side_by_side(scored)
        print_oom_loops(loops)
        print_redeploys(lives)
        print()
        print(f"wall time {wall:.0f} s for {len(scored)} corpora")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
