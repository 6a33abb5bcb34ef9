"""How precise can any detector be at a given delay, reading the working set alone? A bound, per corpus.

    .venv/bin/python bench/twins.py [--corpus [NAME=]DIR ...] [--delays 0.3,0.5,0.6,0.84] [--scores FILE] [--traces]

A memory trace that is not a leak still has, up to some hour, the working set of a leak: its
*twin*, a container that started at the same level and grew on the same line, with the same noise,
and kept growing to its limit. Until the trace leaves that line, nothing in its working set tells the
two apart; a detector that has to call the twin by a fraction `d` of its onset-to-OOM time has to
call the trace too, if the trace is still on the line then.

For each no-leak trace this finds its latest twin:

- each container run (a pod's samples between restarts) as its floor: the minimum of each 10
  minutes, so request spikes do not count;
- each prefix of the run from 3 h on (LeakWatch's shortest growth at Medium), every 30 min and the
  whole run: the least-squares line through its floor. The prefix is a linear leak's when the line
  rises, explains most of the floor's variance (R^2 >= 0.8) and the prefix is not slowing down (the
  slope over its last third is at least 3/4 of the slope over all of it);
- the twin's delay at the prefix's end: (end - start) / (twin's OOM - start), where the twin's OOM
  is when the line reaches the limit.

The trace's twin delay is the largest over its prefixes. A detector that calls every leak that grows
from its container's start on a line by delay `d` raises a false alarm on every no-leak whose twin
delay is at least `d`, reading the working set alone. So, with
`L` leaks and `F(d)` such no-leaks in a corpus, its precision is at most L / (L + F(d)), even if it
finds every leak and nothing else fools it. The bound uses no detector: it is a property of the
corpus.

With `--signals`, a prefix is no twin when the trace's other signals tell it from a leak, by the
rules the operator reads them with: RSS growing less than a quarter as fast as the working set (page
cache, which the kernel reclaims before it OOMKills), or a JVM whose committed heap carries at least
half the growth with less room left to its max than the working set has to the limit (the heap stops
at its max; a heap leak ends in OutOfMemoryError). Go's GOMEMLIMIT is soft and tells nothing here.
Corpora without those signals get the same bound either way.

`--scores` (the JSON of `bench/detection.py --json`) marks each of LeakWatch's false alarms as
forced at the delay target (its twin delay is at least 0.30) or not: the ones that are not are where
a better detector could still gain.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detection import DEFAULT_CORPORA, HOUR, TARGETS, Trace, load_corpus, parse_corpus
from leakwatch.core.analysis import (
    RSS_SHARE_OF_A_LEAK,
    RUNTIME_SHARE_OF_GROWTH,
    Samples,
    floor_slope,
    split_segments,
)

FLOOR_SECONDS = 600.0  # a floor point per 10 min
SHORTEST_PREFIX_SECONDS = 3 * HOUR  # LeakWatch's growth at Medium: no detector here calls sooner
PREFIX_STEP_SECONDS = 1800.0
MIN_R2 = 0.8  # the line explains most of the floor's variance
MIN_TAIL_SLOPE = 0.75  # the last third grows at least this fraction as fast as the whole prefix
NO_GAP_CUT = 6 * HOUR  # a scrape gap does not end a twin: the twin has the same gap


@dataclass(frozen=True)
class Twin:
    delay: float  # the twin's delay at the prefix's end
    prefix_hours: float
    twin_oom_hours: float  # from the run's start
    level_fraction: float  # the line's level at the prefix's end, of the limit
    r2: float
    tail_slope_ratio: float


def floor_of(run: Samples) -> Samples:
    """The minimum of each 10-minute bin with at least two samples, at the bin's mean time. Unlike
    the operator's `lower_envelope`, whose buckets end at the newest sample, the bins start at the
    run's first sample, where every prefix starts: a prefix never loses its first minutes to a
    partial bin."""
    bins = np.floor((run.t - run.t[0]) / FLOOR_SECONDS).astype(np.intp)
    starts = np.flatnonzero(np.concatenate(([True], bins[1:] != bins[:-1])))
    counts = np.diff(np.concatenate((starts, [len(run.t)])))
    times = np.add.reduceat(run.t, starts) / counts
    minima = np.minimum.reduceat(run.v, starts)
    keep = counts >= 2
    return Samples(times[keep], minima[keep])


@dataclass(frozen=True)
class Run:
    """One container run's working set, with what the operator reads beside it, at the same times."""

    working_set: Samples
    rss: Samples | None = None
    heap_committed: Samples | None = None  # a JVM's, where it reports one (zeros before it first did are dropped)
    heap_max_bytes: float | None = None


def told_apart(run: Run, start: float, end: float, slope: float, headroom: float) -> bool:
    """Whether RSS or the JVM's heap, over the prefix [start, end], shows growth no leak would have,
    measured as the operator measures it: the floor's slope (`floor_slope`)."""
    rss = floor_slope(run.rss.between(start, end)) if run.rss is not None else None
    if rss is not None and rss * HOUR < RSS_SHARE_OF_A_LEAK * slope:
        return True
    if run.heap_committed is None or run.heap_max_bytes is None:
        return False
    heap = run.heap_committed.between(start, end)
    grows = floor_slope(heap)
    if grows is None:  # too short to say; an empty stretch is too
        return False
    room = run.heap_max_bytes - float(heap.v[-1])
    return grows * HOUR >= RUNTIME_SHARE_OF_GROWTH * slope and room < headroom


def latest_twin(run: Run, limit_bytes: float) -> Twin | None:
    """The twin with the largest delay among the run's prefixes that are a linear leak's, or None."""
    samples = run.working_set
    if len(samples) < 2:
        return None
    floor = floor_of(samples)
    t, v = floor.t, floor.v
    if len(t) < 2:
        return None
    start = float(samples.t[0])
    best: Twin | None = None
    ends = np.arange(start + SHORTEST_PREFIX_SECONDS, float(t[-1]), PREFIX_STEP_SECONDS)
    for end in [*ends, float(t[-1])] if len(ends) else []:  # every 30 min, and the whole run
        inside = t <= end
        hours, floor = (t[inside] - start) / HOUR, v[inside]
        if len(hours) < 12 or floor.var() == 0:
            continue
        slope, intercept = np.polyfit(hours, floor, 1)
        if slope <= 0:
            continue
        r2 = 1.0 - float((floor - (intercept + slope * hours)).var() / floor.var())
        tail = hours >= hours[-1] * 2 / 3
        tail_ratio = float(np.polyfit(hours[tail], floor[tail], 1)[0] / slope)
        level = intercept + slope * hours[-1]
        if r2 < MIN_R2 or tail_ratio < MIN_TAIL_SLOPE or level >= limit_bytes:
            continue
        if told_apart(run, start, float(samples.t[-1]) if end == t[-1] else end, slope, limit_bytes - level):
            continue
        oom_hours = hours[-1] + (limit_bytes - level) / slope
        twin = Twin(
            float(hours[-1] / oom_hours), float(hours[-1]), float(oom_hours), float(level / limit_bytes), r2, tail_ratio
        )
        if best is None or twin.delay > best.delay:
            best = twin
    return best


def container_runs(trace: Trace, *, signals: bool) -> list[Run]:
    """The trace's pods cut into container runs at restarts (a scrape gap does not end a twin: the
    twin has the same gap); with `signals`, each with its pod's RSS and JVM heap over the run."""
    runs = []
    for index, pod in enumerate(trace.pods):
        rss = trace.rss[index] if signals and trace.rss else None
        runtime = trace.runtime_pods[index] if signals and trace.runtime == "jvm" and trace.runtime_pods else None
        for part in split_segments(pod, max_gap_seconds=NO_GAP_CUT):
            first, last = float(part.t[0]), float(part.t[-1])
            heap = caps = None
            if runtime is not None:
                committed, _, cap = runtime
                heap, caps = committed.between(first, last), cap.between(first, last)
            runs.append(
                Run(
                    part,
                    rss.between(first, last) if rss is not None else None,
                    heap if heap is not None and len(heap) else None,
                    float(caps.v[-1]) if caps is not None and len(caps) else None,
                )
            )
    return runs


def trace_twin(trace: Trace, *, signals: bool) -> Twin | None:
    """The latest twin over the trace's container runs."""
    twins = [
        twin
        for run in container_runs(trace, signals=signals)
        if (twin := latest_twin(run, trace.limit_bytes)) is not None
    ]
    return max(twins, key=lambda twin: twin.delay, default=None)


def ceiling(leaks: int, forced: int) -> float:
    return leaks / (leaks + forced) if leaks + forced else 1.0


def leakwatch_false_alarms(path: Path | None) -> dict[str, set[str]]:
    """corpus name -> trace names LeakWatch's Leaking alerted on wrongly, from detection.py's JSON."""
    if path is None:
        return {}
    doc = json.loads(path.read_text())
    corpora = doc.get("corpora") or [{"name": "", "scores": doc["scores"]}]  # one corpus: no name
    found: dict[str, set[str]] = {}
    for corpus in corpora:
        leakwatch = next(s for s in corpus["scores"] if s["detector"] == "leakwatch")
        found[corpus["name"]] = {r["name"] for r in leakwatch["results"] if r["false_alarm_at_hours"] is not None}
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", action="append", type=parse_corpus, help="[NAME=]DIR; repeatable")
    parser.add_argument("--delays", default="0.3,0.5,0.6,0.84", help="delays to bound precision at")
    parser.add_argument("--scores", type=Path, help="bench/detection.py --json output, to mark LeakWatch's errors")
    parser.add_argument("--traces", action="store_true", help="list every no-leak trace's twin")
    parser.add_argument("--signals", action="store_true", help="no twin where RSS or the JVM heap tells it apart")
    args = parser.parse_args(argv)
    delays = [float(d) for d in args.delays.split(",")]
    corpora = args.corpus or [(name, path) for name, path in DEFAULT_CORPORA if path.is_dir()]
    alarms = leakwatch_false_alarms(args.scores)
    target = TARGETS["median_delay"]

    header = f"{'corpus':10s} {'leaks':>5s} {'no-leaks':>8s}  " + "  ".join(
        f"{f'd>={d:.2f}: F, P max':>17s}" for d in delays
    )
    print("No-leak traces whose working set is a linear leak's up to delay d (F), and the precision")
    print("ceiling L / (L + F) of a detector that calls such leaks by d (bench/twins.py):\n")
    print(header)
    print("-" * len(header))
    listings = []
    for name, directory in corpora:
        traces = load_corpus(directory)
        leaks = sum(trace.leak for trace in traces)
        twins = {trace.name: trace_twin(trace, signals=args.signals) for trace in traces if not trace.leak}
        cells = []
        for d in delays:
            forced = sum(twin is not None and twin.delay >= d for twin in twins.values())
            cells.append(f"{forced:>7d}, {ceiling(leaks, forced):>5.2f}    ")
        print(f"{name:10s} {leaks:>5d} {len(twins):>8d}  " + "  ".join(cells))
        wrong = alarms.get(name, alarms.get(""))
        if wrong is not None:
            forced = {n for n in wrong if (twin := twins.get(n)) is not None and twin.delay >= target}
            listings.append(
                f"{name}: LeakWatch's {len(wrong)} false alarms on no-leaks, {len(forced)} forced at delay "
                f"{target:.2f}; not forced: {', '.join(sorted(wrong - forced)) or 'none'}"
            )
        if args.traces:
            for trace_name, twin in sorted(twins.items()):
                mark = "" if wrong is None else (" LeakWatch alerted" if trace_name in wrong else "")
                if twin is None:
                    listings.append(f"  {name}/{trace_name}: no 3 h prefix is a linear leak's{mark}")
                else:
                    listings.append(
                        f"  {name}/{trace_name}: twin delay {twin.delay:.2f} after {twin.prefix_hours:.1f} h "
                        f"(its OOM at {twin.twin_oom_hours:.1f} h, line at {twin.level_fraction:.0%} of the limit, "
                        f"R^2 {twin.r2:.2f}, last third's slope {twin.tail_slope_ratio:.2f}x){mark}"
                    )
    print()
    for line in listings:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
