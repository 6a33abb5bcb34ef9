"""`make demo`'s recorded traces, written from a real Prometheus: promtool backfills what cAdvisor
and the JVM exporter would have scraped from the real node (two container lives of one pod, an
OOMKill between them, and the next release's pod), and `record_trace` reads it back the way the
demo does. The demo itself needs a real node and 11 minutes; this checks its recording alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from corpus_format import check_trace, load_trace
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev.prometheus import PrometheusServer, openmetrics
from leakwatch_dev.traces import Recording, record_trace

pytestmark = pytest.mark.prometheus2
MiB = 2**20
NS = "demo"
LIMIT = 256 * MiB
# Two minutes of one-second scrapes, ending a minute ago (Prometheus answers up to now).
T0 = float(int(time.time()) - 180)
KILL = T0 + 60  # the leaking pod's first container is OOM-killed here and restarts a second later
FIXED = T0 + 90  # the fixed release's pod starts


def _series(metric: str, pod: str, life: str, times: np.ndarray, values: np.ndarray, **labels: str) -> dict:
    key = (metric, (("namespace", NS), ("pod", pod), ("id", life), *labels.items()))
    return {key: list(zip(times.tolist(), np.round(values).tolist(), strict=True))}


def _history() -> dict:
    """The leaking pod's first container climbs from 100 MiB to the limit at KILL (the scrape the
    kernel killed it at); its restart climbs again; the fixed pod is flat at 120 MiB."""
    climb = (LIMIT - 100 * MiB) / (KILL - T0)
    history: dict = {}
    for pod, life, times, base, per_second in (
        ("api-leaky", "c1", np.arange(T0, KILL + 1), 100 * MiB, climb),
        ("api-leaky", "c2", np.arange(KILL + 1, T0 + 121), 100 * MiB, climb),
        ("api-fixed", "c3", np.arange(FIXED, T0 + 121), 120 * MiB, 0.0),
    ):
        grown = per_second * (times - times[0])
        history |= _series("container_memory_working_set_bytes", pod, life, times, base + grown, container="app")
        history |= _series("container_memory_rss", pod, life, times, base - 30 * MiB + grown, container="app")
        history |= _series("jvm_native_memory_committed_bytes", pod, life, times, 8 * MiB + grown, pool="Other")
        history |= _series("jvm_memory_committed_bytes", pod, life, times, np.full(times.size, 62 * MiB), area="heap")
    return history


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusClient]:
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus-record"))
    server.backfill(openmetrics(_history()))
    with server:
        yield PrometheusClient(server.url)


def _recording(name: str, label: str, leaking: list[str]) -> Recording:
    return Recording(
        name, "recorded", label, "backfilled", LIMIT, T0 if leaking else None, KILL if leaking else None, leaking
    )


def test_the_leak_trace_joins_a_pods_lives_and_carries_each_signal_at_its_times(
    prometheus: PrometheusClient, tmp_path: Path
) -> None:
    path = record_trace(
        tmp_path, prometheus, NS, _recording("leak-real-x", "leak", ["api-leaky"]), T0, FIXED - 1, time_scale=10
    )
    assert path is not None
    doc = load_trace(path)
    check_trace(doc, path)
    (pod,) = doc["pods"]  # the fixed pod had not started yet
    assert pod["name"] == "api-leaky"
    t, working_set = np.array(pod["t"]), np.array(pod["bytes"])
    assert t[0] == T0 and len(t) == FIXED - T0 and np.all(np.diff(t) == 10)  # one-second steps, stretched tenfold
    at_kill = int(KILL - T0)
    # The scrape the container was killed at reads the limit, and is the trace's only such sample;
    # the restarted container follows it in the same series, from its own start.
    assert doc["oom_time"] == t[at_kill] == T0 + 600 and working_set[at_kill] == LIMIT
    assert working_set[at_kill + 1] == 100 * MiB
    assert np.all(np.diff(working_set[: at_kill + 1]) > 0) and np.all(np.diff(working_set[at_kill + 1 :]) > 0)
    signals = pod["signals"]
    assert set(signals) == {"rss", "nmt_other", "jvm_heap_committed"}  # no direct-buffer series was scraped
    assert np.all(np.array(signals["rss"]) == working_set - 30 * MiB)
    assert signals["nmt_other"][at_kill] == LIMIT - 92 * MiB and signals["nmt_other"][at_kill + 1] == 8 * MiB
    assert set(signals["jvm_heap_committed"]) == {62 * MiB}


def test_the_fixed_trace_holds_only_the_pods_asked_for(prometheus: PrometheusClient, tmp_path: Path) -> None:
    path = record_trace(
        tmp_path,
        prometheus,
        NS,
        _recording("fixed-real-x", "no-leak", []),
        FIXED,
        T0 + 120,
        time_scale=10,
        pods={"api-fixed"},
    )
    assert path is not None
    doc = load_trace(path)
    check_trace(doc, path)
    assert [pod["name"] for pod in doc["pods"]] == ["api-fixed"]
    assert set(doc["pods"][0]["bytes"]) == {120 * MiB}


def test_no_trace_is_written_for_pods_prometheus_never_saw(prometheus: PrometheusClient, tmp_path: Path) -> None:
    recording = _recording("none-real-x", "no-leak", [])
    assert record_trace(tmp_path, prometheus, NS, recording, T0, T0 + 120, 10, pods={"api-other"}) is None
    assert not list(tmp_path.iterdir())
