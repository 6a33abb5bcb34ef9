"""Recorded traces: what Prometheus scraped from a real node, in the detection corpus's format
(tests/corpus/README.md), so `bench/detection.py --corpus DIR` scores real processes the same way
it scores synthetic ones.

A real node restarts a container in the same pod with a new cgroup, so cAdvisor gives one series
per container life (a new `id`); the corpus has one series per pod with the restarted container's
samples following the OOMKill. The lives of a pod are joined here. Times are stretched by the
time scale the operator read them with, so a trace shows the hours the operator believed in.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leakwatch.sample.prometheus import PrometheusClient

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Recording:
    name: str
    pattern: str
    label: str  # "leak" | "no-leak"
    description: str
    limit_bytes: int
    onset_time: float | None
    oom_time: float | None  # the first OOMKill, from the pod status
    leaking_pods: list[str]


def pod_series(
    prometheus: PrometheusClient, query: str, start: float, end: float, step: float
) -> dict[str, np.ndarray]:
    """pod -> (n, 2) array of (time, bytes), every container life of that pod in time order."""
    lives = [
        (series.labels["pod"], np.column_stack([series.samples.t, series.samples.v]))
        for series in prometheus.range_query(query, start, end, step)
    ]
    return join_lives(lives)


def join_lives(lives: list[tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    by_pod: dict[str, list[np.ndarray]] = defaultdict(list)
    for pod, samples in lives:
        by_pod[pod].append(samples)
    joined = {}
    for pod, parts in by_pod.items():
        parts.sort(key=lambda part: float(part[0, 0]))  # by when each life began
        samples = np.concatenate(parts)
        order = np.argsort(samples[:, 0], kind="stable")  # ties: the earlier life first
        samples = samples[order]
        # Where two lives share a timestamp (the dead one's last scrape), the newer life is the pod's.
        newest = np.append(samples[1:, 0] != samples[:-1, 0], True)
        joined[pod] = samples[newest]
    return joined


def aligned(signal: np.ndarray, t: np.ndarray) -> np.ndarray:
    """A signal's (time, value) samples read at the working set's times `t`: the latest value at or
    before each, or its first before it began. Both come from one range query grid, so nearly every
    time matches exactly; a scrape one of them missed takes the value before it."""
    index = np.clip(np.searchsorted(signal[:, 0], t, side="right") - 1, 0, len(signal) - 1)
    values: np.ndarray = signal[index, 1]
    return values


def trace_document(
    recording: Recording,
    pods: dict[str, np.ndarray],
    step_seconds: float,
    origin: float,
    time_scale: float,
    signals: dict[str, dict[str, np.ndarray]] | None = None,
) -> dict[str, object]:
    """The corpus document. `signals` (name -> pod -> (time, value) samples, as `pod_series` gives
    them) go into each pod's `signals`, read at its working set's times; a pod a signal lacks has none."""

    def stretched(moment: float | None) -> int | None:
        return None if moment is None else round(origin + (moment - origin) * time_scale)

    def pod_entry(pod: str, samples: np.ndarray) -> dict[str, object]:
        entry: dict[str, object] = {
            "name": pod,
            "t": [stretched(float(t)) for t in samples[:, 0]],
            # The kernel kills on cgroup usage, which the working set trails by a little: the
            # corpus's convention is that a value never passes the limit.
            "bytes": [min(round(float(v)), limit) for v in samples[:, 1]],
        }
        found = {name: by_pod[pod] for name, by_pod in (signals or {}).items() if len(by_pod.get(pod, ()))}
        if found:
            entry["signals"] = {
                name: [max(0, round(float(v))) for v in aligned(series, samples[:, 0])]
                for name, series in found.items()
            }
        return entry

    limit = recording.limit_bytes
    return {
        "format": FORMAT_VERSION,
        "name": recording.name,
        "pattern": recording.pattern,
        "label": recording.label,
        "description": recording.description,
        "seed": 0,  # recorded, not drawn
        "step_seconds": round(step_seconds * time_scale),
        "limit_bytes": limit,
        "onset_time": stretched(recording.onset_time),
        "oom_time": stretched(recording.oom_time),
        "leaking_pods": recording.leaking_pods,
        "pods": [
            pod_entry(pod, samples) for pod, samples in sorted(pods.items(), key=lambda item: float(item[1][0, 0]))
        ],
    }


def write_trace(directory: Path, document: dict[str, object]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{document['name']}.json.gz"
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        gz.write(json.dumps(document, separators=(",", ":")).encode())
    return path


# The demo's container, as cAdvisor reports it: the trace's `bytes`.
WORKING_SET = 'container_memory_working_set_bytes{{namespace="{ns}", container="app"}}'
# What the real node gives beside the working set, as the corpus's signals: cAdvisor's RSS (what
# bench/detection.py reads beside it, as the operator does) and the JVM's own accounts of where
# its memory is (NMT's "Other" holds the direct buffers, the heap is fixed at -Xmx64m).
SIGNALS = {
    "rss": 'container_memory_rss{{namespace="{ns}", container="app"}}',
    "nmt_other": 'jvm_native_memory_committed_bytes{{namespace="{ns}", pool="Other"}}',
    "jvm_heap_committed": 'jvm_memory_committed_bytes{{namespace="{ns}", area="heap"}}',
    "direct_buffers": 'jvm_buffer_pool_used_bytes{{namespace="{ns}", pool="direct"}}',
}


def record_trace(
    directory: Path,
    prometheus: PrometheusClient,
    ns: str,
    recording: Recording,
    start: float,
    end: float,
    time_scale: float,
    pods: set[str] | None = None,
) -> Path | None:
    """Write the working set of the story's pods between `start` and `end` (all, or only `pods`),
    with every signal Prometheus has for them, as one corpus trace."""
    lives = pod_series(prometheus, WORKING_SET.format(ns=ns), start, end, 1)
    found = {pod: samples for pod, samples in lives.items() if pods is None or pod in pods}
    if not found:
        return None
    signals = {name: pod_series(prometheus, q.format(ns=ns), start, end, 1) for name, q in SIGNALS.items()}
    return write_trace(directory, trace_document(recording, found, 1, start, time_scale, signals))
