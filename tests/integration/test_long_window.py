"""Long windows on a real Prometheus: 14 days of 1-minute history, backfilled with promtool, read
in chunks below Prometheus's 11,000-points-per-series limit, and a slow leak under a daily traffic
cycle that only a long window can call judged by the operator from it, with the cycle taken out.
Past the sample cap the query is refused, with a condition that says so, before the rest of the
window is read."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from kubernetes import client

from helpers import OperatorProcess, deployment_pod, kubelet_status, wait_for
from leakwatch.api import API_VERSION, GROUP, VERSION
from leakwatch.publish import metrics
from leakwatch.sample import prometheus as sampler
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.prometheus import PrometheusServer, openmetrics

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus2]
MiB = 2**20
DAYS = 14
STEP = 60.0
LEAK_PER_HOUR = 3 * MiB  # 1 GiB over the two weeks: invisible at a glance in any one day
DAILY_SWING = 150 * MiB  # traffic by day (a half sine), twice what the leak adds in a day
LIMIT = 2048 * MiB
NOW = float(int(time.time() // STEP * STEP))
START = NOW - DAYS * 86400


def _trace(rng: np.random.Generator, namespace: str, pod: str, leak_per_hour: float) -> dict[Any, Any]:
    t = np.arange(START - 3600, NOW + STEP, STEP)
    hours = (t - t[0]) / 3600
    by_day = DAILY_SWING * np.clip(np.sin(2 * np.pi * (t % 86400) / 86400), 0, None)
    values = 300 * MiB + leak_per_hour * hours + by_day + 30 * MiB * ((t % 900) / 900) + rng.normal(0, MiB, t.size)
    labels = (("namespace", namespace), ("pod", pod), ("container", "app"))
    return {("container_memory_working_set_bytes", labels): list(zip(t.tolist(), values.tolist(), strict=True))}


@pytest.fixture(scope="module")
def namespace(core_v1: client.CoreV1Api) -> str:
    name = f"long-{uuid.uuid4().hex[:6]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


@pytest.fixture(scope="module")
def prometheus(namespace: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    rng = np.random.default_rng(20261204)
    history = {
        **_trace(rng, namespace, "ledger-api-slow-0", LEAK_PER_HOUR),
        **_trace(rng, namespace, "ledger-api-flat-0", 0.0),
    }
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus-long"))
    server.backfill(openmetrics(history))
    server.start()
    yield server
    server.stop()


def counted(prometheus: PrometheusServer) -> sampler.PrometheusClient:
    """A client that reports its calls to the operator's metrics, as the operator's own does."""
    return sampler.PrometheusClient(prometheus.url, stats=metrics.PrometheusQueryStats())


def _queries_made(result: str | None = None) -> float:
    """leakwatch_prometheus_queries_total, all results or only `result` ("ok" or "error")."""
    return sum(
        s.value
        for family in metrics.REGISTRY.collect()
        if family.name == "leakwatch_prometheus_queries"
        for s in family.samples
        if s.name.endswith("_total") and result in (None, s.labels["result"])
    )


def test_fourteen_days_at_one_minute_are_read_whole_in_chunks(prometheus: PrometheusServer, namespace: str) -> None:
    client_ = counted(prometheus)
    before = _queries_made()
    found = client_.range_query(f'container_memory_working_set_bytes{{namespace="{namespace}"}}', START, NOW, STEP)
    points = DAYS * 86400 // int(STEP) + 1
    assert points > sampler.PROMETHEUS_MAX_POINTS  # one query could not have answered it
    assert sorted(s.labels["pod"] for s in found) == ["ledger-api-flat-0", "ledger-api-slow-0"]
    for series in found:
        assert len(series.samples) == points
        assert np.all(np.diff(series.samples.t) == STEP), "chunks overlap or leave a gap"
        assert series.samples.t[0] == START and series.samples.t[-1] == NOW
    assert _queries_made() - before >= 3  # the newest chunk, then the rest in at least two


def test_a_window_past_the_sample_cap_is_refused_after_one_chunk(
    prometheus: PrometheusServer, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sampler, "MAX_SAMPLES", 20_000)  # 2 series x 20,161 points is over it
    before = _queries_made()
    with pytest.raises(sampler.PrometheusError, match=r"2 series x 20,161 points") as refused:
        counted(prometheus).range_query(
            f'container_memory_working_set_bytes{{namespace="{namespace}"}}', START, NOW, STEP
        )
    assert refused.value.reason == "QueryTooLarge"
    assert _queries_made() - before == 1


def test_a_query_past_the_time_limit_is_a_timeout_not_an_outage(
    prometheus: PrometheusServer, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Prometheus's own `timeout` stops the evaluation; a microsecond is over before it starts.
    monkeypatch.setattr(sampler, "QUERY_TIMEOUT_SECONDS", 1e-6)
    before = _queries_made("error")
    with pytest.raises(sampler.PrometheusError, match="gave up on the query after 1e-06s") as refused:
        counted(prometheus).range_query(
            f'container_memory_working_set_bytes{{namespace="{namespace}"}}', START, NOW, STEP
        )
    assert refused.value.reason == "QueryTimeout"
    # A query that ran out of time is not retried as if Prometheus were away. Only the failures are
    # counted: Prometheus checks its deadline between stages, so a chunk before the one refused can
    # still answer inside a microsecond (CI once saw that: one chunk answered, the next timed out).
    assert _queries_made("error") - before == 1


def test_a_slow_leak_is_called_from_a_fourteen_day_window(
    control_plane: ControlPlane,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    prometheus: PrometheusServer,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(START - 3600))
    for name, version in {"ledger-api-slow-0": "2.0.0", "ledger-api-flat-0": "1.9.0"}.items():
        pod = deployment_pod(name, version, app="ledger-api", limit="2Gi", rs_hash=version.replace(".", ""))
        core_v1.create_namespaced_pod(namespace, pod)
        core_v1.patch_namespaced_pod_status(name, namespace, kubelet_status(0, started=started))
    custom_objects.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "leakwatches",
        {
            "apiVersion": API_VERSION,
            "kind": "LeakWatch",
            "metadata": {"name": "ledger-api"},
            "spec": {"selector": {"matchLabels": {"app": "ledger-api"}}, "memory": {"window": "14d", "step": "1m"}},
        },
    )
    operator = OperatorProcess(control_plane, tmp_path_factory.mktemp("long-operator"), [namespace])
    operator.extra_env = {"LEAKWATCH_PROMETHEUS_URL": prometheus.url, "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "2"}
    operator.start()
    try:

        def versions() -> dict[str, dict[str, Any]]:
            obj = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", "ledger-api")
            return {v["version"]: v for v in obj.get("status", {}).get("versions", [])}

        found = wait_for(
            lambda: (v := versions()) and v.get("2.0.0", {}).get("verdict") == "Leaking" and v,
            timeout=90,
            what="2.0.0 judged Leaking from 14 days of history",
        )
    finally:
        operator.stop()
    slow, flat = found["2.0.0"], found["1.9.0"]
    assert slow["growthBytesPerSecond"] * 3600 == pytest.approx(LEAK_PER_HOUR, rel=0.15)
    assert "once a daily cycle of up to 1" in slow["evidence"][0]  # 150-odd MiB: traffic, not growth
    # The limit is reached at a day's peak.
    floor_now = 300 * MiB + LEAK_PER_HOUR * (DAYS * 24 + 1)
    to_peak = (LIMIT - floor_now - DAILY_SWING) / LEAK_PER_HOUR * 3600
    assert slow["timeToOOMSeconds"] == pytest.approx(to_peak, rel=0.25)
    assert flat["verdict"] == "Stable"
