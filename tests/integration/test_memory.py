"""Memory sampling and leak detection end to end, on a real Prometheus and a real API server.

Six hours of memory history are backfilled into Debian's Prometheus with promtool; pods with the
same names exist in the API server, so the operator attributes each series to its version. The
operator (a real process) queries Prometheus, judges each version, and survives an outage.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from helpers import OperatorProcess, deployment_pod, kubelet_status, memory_trace, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.promql import Scope, memory_query, quote
from leakwatch.sample.prometheus import PrometheusClient, PrometheusError
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.prometheus import PrometheusServer, openmetrics

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus2]
MiB = 2**20
LIMIT = 1024 * MiB
LEAK_PER_HOUR = 50 * MiB
HOURS = 6
NOW = time.time()


def trace(rng: np.random.Generator, leak_per_hour: float) -> list[tuple[float, float]]:
    return memory_trace(rng, leak_per_hour, end=NOW, hours=HOURS)


@dataclass
class World:
    namespace: str
    prometheus: PrometheusServer
    operator: OperatorProcess
    custom: client.CustomObjectsApi

    def status(self, leakwatch: str = "checkout-api") -> dict[str, Any]:
        obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.namespace, "leakwatches", leakwatch)
        return dict(obj.get("status", {}))

    def versions(self, leakwatch: str = "checkout-api") -> dict[str, dict[str, Any]]:
        return {v["version"]: v for v in self.status(leakwatch).get("versions", [])}

    def condition(self, kind: str) -> dict[str, Any]:
        return next((c for c in self.status().get("conditions", []) if c["type"] == kind), {})


@pytest.fixture(scope="module")
def world(
    control_plane: ControlPlane,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    namespace = f"mem-{uuid.uuid4().hex[:6]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - (HOURS + 1) * 3600))
    # 3.2.0 writes files: its working set grows as the page cache fills, its RSS stays flat.
    # 3.3.0 is a JVM whose heap grows to its max (-Xmx 600 MiB), 400 MiB short of the limit; 3.4.0
    # is Go, its collector using the room up to GOMEMLIMIT (640 MiB). 3.5.0 is the JVM again, but its
    # live objects grow with the heap: a heap leak that ends in OutOfMemoryError at 600 MiB.
    pods = {
        "checkout-api-leaky-0": "3.1.2",
        "checkout-api-flat-0": "3.0.10",
        "checkout-api-cache-0": "3.2.0",
        "checkout-api-heap-0": "3.3.0",
        "checkout-api-go-0": "3.4.0",
        "checkout-api-heapleak-0": "3.5.0",
    }
    for name, version in pods.items():
        core_v1.create_namespaced_pod(
            namespace, deployment_pod(name, version, limit="1Gi", rs_hash=version.replace(".", ""))
        )
        core_v1.patch_namespaced_pod_status(name, namespace, kubelet_status(0, started=started))

    rng = np.random.default_rng(20261125)
    labels = lambda ns, pod: (("namespace", ns), ("pod", pod), ("container", "app"))  # noqa: E731
    history = {
        ("container_memory_working_set_bytes", labels(namespace, "checkout-api-leaky-0")): trace(rng, LEAK_PER_HOUR),
        ("container_memory_working_set_bytes", labels(namespace, "checkout-api-flat-0")): trace(rng, 0),
        ("container_memory_working_set_bytes", labels(namespace, "checkout-api-cache-0")): trace(rng, LEAK_PER_HOUR),
        ("container_memory_rss", labels(namespace, "checkout-api-cache-0")): trace(rng, 0),
        # The same pod name in another namespace, leaking ten times as fast: must never be seen.
        ("container_memory_working_set_bytes", labels("elsewhere", "checkout-api-flat-0")): trace(
            rng, 10 * LEAK_PER_HOUR
        ),
    }
    # JVM signals for the flat pod: RSS 500 MiB, committed heap 200 MiB, NMT "Other" 77 MiB.
    flat = (("namespace", namespace), ("pod", "checkout-api-flat-0"))
    constant = lambda mib: [(t, mib * MiB) for t in np.arange(NOW - 3600, NOW, 15.0).tolist()]  # noqa: E731
    history.update(
        {
            ("container_memory_rss", (*flat, ("container", "app"))): constant(500),
            ("jvm_memory_committed_bytes", (*flat, ("area", "heap"), ("id", "G1 Eden Space"))): constant(120),
            ("jvm_memory_committed_bytes", (*flat, ("area", "heap"), ("id", "G1 Old Gen"))): constant(80),
            ("jvm_memory_committed_bytes", (*flat, ("area", "nonheap"), ("id", "Metaspace"))): constant(50),
            ("jvm_native_memory_committed_bytes", (*flat, ("pool", "Other"))): constant(77),
            ("jvm_native_memory_committed_bytes", (*flat, ("pool", "Code"))): constant(10),
        }
    )
    # The heap pod, as Micrometer reports G1: one series per pool, max -1 where a pool has none.
    # Old Gen commits 45 MiB more each hour up to 420 MiB (of 600); its live objects stay 140 MiB.
    heap = (("namespace", namespace), ("pod", "checkout-api-heap-0"), ("area", "heap"))
    seconds = np.arange(NOW - HOURS * 3600, NOW, 15.0)
    hours = (seconds - seconds[0]) / 3600
    over = lambda values: list(zip(seconds.tolist(), np.broadcast_to(values, seconds.shape).tolist(), strict=True))  # noqa: E731
    history.update(
        {
            ("container_memory_working_set_bytes", labels(namespace, "checkout-api-heap-0")): trace(rng, LEAK_PER_HOUR),
            ("jvm_memory_committed_bytes", (*heap, ("id", "G1 Eden Space"))): over(100.0 * MiB),
            ("jvm_memory_committed_bytes", (*heap, ("id", "G1 Old Gen"))): over((150 + 45 * hours) * MiB),
            ("jvm_memory_used_bytes", (*heap, ("id", "G1 Eden Space"))): over(90 * MiB * ((seconds % 120) / 120)),
            ("jvm_memory_used_bytes", (*heap, ("id", "G1 Old Gen"))): over(140.0 * MiB),
            ("jvm_memory_max_bytes", (*heap, ("id", "G1 Eden Space"))): over(-1.0),
            ("jvm_memory_max_bytes", (*heap, ("id", "G1 Old Gen"))): over(600.0 * MiB),
        }
    )
    heap_leak = (("namespace", namespace), ("pod", "checkout-api-heapleak-0"), ("area", "heap"))
    history.update(
        {
            ("container_memory_working_set_bytes", labels(namespace, "checkout-api-heapleak-0")): trace(
                rng, LEAK_PER_HOUR
            ),
            ("jvm_memory_committed_bytes", (*heap_leak, ("id", "G1 Eden Space"))): over(100.0 * MiB),
            ("jvm_memory_committed_bytes", (*heap_leak, ("id", "G1 Old Gen"))): over((150 + 45 * hours) * MiB),
            ("jvm_memory_used_bytes", (*heap_leak, ("id", "G1 Eden Space"))): over(90 * MiB * ((seconds % 120) / 120)),
            ("jvm_memory_used_bytes", (*heap_leak, ("id", "G1 Old Gen"))): over((140 + 40 * hours) * MiB),
            ("jvm_memory_max_bytes", (*heap_leak, ("id", "G1 Eden Space"))): over(-1.0),
            ("jvm_memory_max_bytes", (*heap_leak, ("id", "G1 Old Gen"))): over(600.0 * MiB),
        }
    )
    # The Go pod, as client_golang reports it: what the runtime manages (sys - released) grows
    # 48 MiB/h, the live heap stays 80 MiB, GOMEMLIMIT is 640 MiB.
    go = (("namespace", namespace), ("pod", "checkout-api-go-0"))
    history.update(
        {
            ("container_memory_working_set_bytes", labels(namespace, "checkout-api-go-0")): trace(rng, LEAK_PER_HOUR),
            ("go_memstats_sys_bytes", go): over((200 + 48 * hours) * MiB),
            ("go_memstats_heap_released_bytes", go): over(20.0 * MiB),
            ("go_memstats_heap_alloc_bytes", go): over((80 + 100 * ((seconds % 120) / 120)) * MiB),
            ("go_gc_gomemlimit_bytes", go): over(640.0 * MiB),
        }
    )
    # Another workload, under its own LeakWatch: a Go service whose working set rises for 2 h and is
    # then held at its GOMEMLIMIT (420 MiB) by the collector, while its live heap (the floor of
    # heap_alloc) keeps growing 50 MiB/h from 100 MiB: a leak the working set alone reads as levelled off.
    core_v1.create_namespaced_pod(namespace, deployment_pod("sessions-0", "2.0.0", app="sessions", limit="1Gi"))
    core_v1.patch_namespaced_pod_status("sessions-0", namespace, kubelet_status(0, started=started))
    sessions = (("namespace", namespace), ("pod", "sessions-0"))
    held = np.minimum(hours, 2.0)
    history.update(
        {
            ("container_memory_working_set_bytes", (*sessions, ("container", "app"))): over(
                (300 + 60 * held + rng.normal(0, 1, seconds.size)) * MiB
            ),
            ("go_memstats_sys_bytes", sessions): over((290 + 60 * held) * MiB),
            ("go_memstats_heap_released_bytes", sessions): over(20.0 * MiB),
            ("go_memstats_heap_alloc_bytes", sessions): over((100 + 50 * hours + 60 * ((seconds % 120) / 120)) * MiB),
            ("go_gc_gomemlimit_bytes", sessions): over(420.0 * MiB),
        }
    )
    prometheus = PrometheusServer(tmp_path_factory.mktemp("prometheus"))
    prometheus.backfill(openmetrics(history))
    prometheus.start()

    for app in ("checkout-api", "sessions"):
        custom_objects.create_namespaced_custom_object(
            GROUP,
            VERSION,
            namespace,
            "leakwatches",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "LeakWatch",
                "metadata": {"name": app},
                "spec": {
                    "selector": {"matchLabels": {"app": app}},
                    "memory": {"window": f"{HOURS}h", "step": "1m"},
                },
            },
        )
    operator = OperatorProcess(control_plane, tmp_path_factory.mktemp("mem-operator"), [namespace])
    operator.extra_env = {"LEAKWATCH_PROMETHEUS_URL": prometheus.url, "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "1"}
    operator.start()
    yield World(namespace, prometheus, operator, custom_objects)
    operator.stop()
    prometheus.stop()


def test_leaking_version_is_found_with_its_rate_and_time_to_oom(world: World) -> None:
    versions = wait_for(
        lambda: (v := world.versions()) and v.get("3.1.2", {}).get("verdict") == "Leaking" and v,
        timeout=60,
        what="3.1.2 to be judged Leaking",
    )
    leaky, flat = versions["3.1.2"], versions["3.0.10"]
    assert leaky["growthBytesPerSecond"] * 3600 == pytest.approx(LEAK_PER_HOUR, rel=0.10)
    floor_at_end = 300 * MiB + LEAK_PER_HOUR * HOURS
    true_time_to_oom = (LIMIT - floor_at_end) / LEAK_PER_HOUR * 3600
    assert leaky["timeToOOMSeconds"] == pytest.approx(true_time_to_oom, rel=0.20)
    assert any("MiB/h" in line for line in leaky["evidence"])
    assert flat["verdict"] == "Stable"
    status = world.status()
    assert status["verdict"] == "Leaking"
    assert status["suspectVersion"] == "3.1.2"
    assert world.condition("LeakSuspected")["status"] == "True"
    assert world.condition("Degraded")["status"] == "False"
    metrics = world.operator.get("/metrics")
    assert 'leakwatch_version_verdict{leakwatch="checkout-api",namespace="' in metrics
    assert "leakwatch_memory_growth_bytes_per_second" in metrics


def test_working_set_growth_that_rss_does_not_share_is_only_suspected(world: World) -> None:
    """The same growth in the working set as 3.1.2's, but RSS flat: page cache, which the kernel
    reclaims before it OOMKills. Shown as Suspected, with no time to OOM, and not the suspect."""
    cache = wait_for(
        lambda: world.versions().get("3.2.0", {}).get("verdict") == "Suspected" and world.versions()["3.2.0"],
        timeout=60,
        what="3.2.0 to be judged Suspected",
    )
    assert cache["growthBytesPerSecond"] * 3600 == pytest.approx(LEAK_PER_HOUR, rel=0.10)
    assert "timeToOOMSeconds" not in cache or cache["timeToOOMSeconds"] is None
    assert "the growth is page cache, which the kernel reclaims before it OOMKills, or tmpfs" in cache["evidence"][-1]
    assert world.versions()["3.1.2"]["verdict"] == "Leaking"  # its RSS is not exported here: no check
    assert world.status()["suspectVersion"] == "3.1.2"


def test_working_set_growth_that_is_a_runtime_filling_to_its_cap_is_only_suspected(world: World) -> None:
    """The same growth again, but the committed JVM heap (3.3.0), or what the Go runtime manages
    (3.4.0), grows with it towards a cap it will reach far short of the limit, while the live objects
    stay flat: a runtime filling to its cap, not a leak. When the live objects grow too under the
    JVM's hard max (3.5.0), the growth ends in OutOfMemoryError, not in an OOMKill."""
    heap = wait_for(
        lambda: world.versions().get("3.3.0", {}).get("verdict") == "Suspected" and world.versions()["3.3.0"],
        timeout=60,
        what="3.3.0 to be judged Suspected",
    )
    assert "timeToOOMSeconds" not in heap or heap["timeToOOMSeconds"] is None
    assert heap["evidence"][-1].startswith("the committed JVM heap grows 45.0 MiB/h of that, with ")
    assert "to its max of 600 MiB" in heap["evidence"][-1]
    go = wait_for(
        lambda: world.versions().get("3.4.0", {}).get("verdict") == "Suspected" and world.versions()["3.4.0"],
        timeout=60,
        what="3.4.0 to be judged Suspected",
    )
    assert go["evidence"][-1].startswith("the memory the Go runtime manages grows 48.0 MiB/h of that, with ")
    assert "to its GOMEMLIMIT of 640 MiB" in go["evidence"][-1]
    # Live objects kept: a heap leak, but one the JVM's max stops short of the limit.
    leak = wait_for(
        lambda: world.versions().get("3.5.0", {}).get("verdict") == "Suspected" and world.versions()["3.5.0"],
        timeout=60,
        what="3.5.0 to be judged Suspected",
    )
    assert "and its floor after GC grows too" in leak["evidence"][-1]
    assert "OutOfMemoryError at that max" in leak["evidence"][-1]
    # 3.1.2 grows the same way with no runtime metrics: still Leaking, and still the suspect.
    assert world.versions()["3.1.2"]["verdict"] == "Leaking"
    assert world.status()["suspectVersion"] == "3.1.2"


def test_a_live_heap_growing_under_a_soft_gomemlimit_is_leaking_while_the_working_set_is_held(world: World) -> None:
    """The working set of 2.0.0 stops at GOMEMLIMIT and alone reads as a fill that levelled off; the
    operator reads the Go runtime of a version whose memory grew, finds its floor after GC growing
    towards the limit, and calls it Leaking: GOMEMLIMIT is soft, the live heap passes it."""
    leaking = wait_for(
        lambda: (
            world.versions("sessions").get("2.0.0", {}).get("verdict") == "Leaking"
            and world.versions("sessions")["2.0.0"]
        ),
        timeout=60,
        what="2.0.0 to be judged Leaking on its live heap",
    )
    assert "towards the memory limit: its GOMEMLIMIT of 420 MiB is soft" in leaking["evidence"][-2]
    assert leaking["growthBytesPerSecond"] * 3600 == pytest.approx(50 * MiB, rel=0.10)
    # The live heap is at 400 MiB of 1 GiB and grows 50 MiB/h: about 12.5 h to the limit.
    assert leaking["timeToOOMSeconds"] / 3600 == pytest.approx(12.5, rel=0.15)
    assert world.status("sessions")["verdict"] == "Leaking"


def test_prometheus_outage_degrades_without_flipping_verdicts(world: World) -> None:
    before = wait_for(
        lambda: world.versions().get("3.1.2", {}).get("verdict") == "Leaking" and world.versions(),
        timeout=60,
        what="a first verdict",
    )
    world.prometheus.stop()
    try:
        degraded = wait_for(
            lambda: world.condition("Degraded").get("status") == "True" and world.condition("Degraded"),
            timeout=60,
            what="Degraded while Prometheus is down",
        )
        assert degraded["reason"] == "PrometheusUnavailable"
        assert "Prometheus at http://127.0.0.1" in degraded["message"]
        time.sleep(3)  # several analysis cycles without data
        during = world.versions()
        assert {v: r["verdict"] for v, r in during.items()} == {v: r["verdict"] for v, r in before.items()}
        assert world.status()["suspectVersion"] == "3.1.2"
    finally:
        world.prometheus.start()
    wait_for(lambda: world.condition("Degraded").get("status") == "False", timeout=60, what="recovery")
    assert world.versions()["3.1.2"]["verdict"] == "Leaking"


def test_hostile_label_values_never_widen_a_query(world: World) -> None:
    prometheus = PrometheusClient(world.prometheus.url)
    end = NOW
    pods = ["checkout-api-leaky-0", "checkout-api-flat-0"]
    ok = prometheus.range_query(memory_query(MemorySpec(), Scope(world.namespace, pods)), end - 3600, end, 60)
    assert {s.labels["pod"] for s in ok} == set(pods)

    # A pod "name" that is a regex matching everything selects nothing once escaped...
    assert prometheus.range_query(memory_query(MemorySpec(), Scope(world.namespace, [".*"])), end - 3600, end, 60) == []
    # ...while the same value unescaped would have matched every pod: the escaping is what holds.
    raw = f'container_memory_working_set_bytes{{namespace={quote(world.namespace)}, pod=~".*"}}'
    assert len(prometheus.range_query(raw, end - 3600, end, 60)) == 7  # every pod of the namespace, sessions-0 too

    # A value that tries to close the string and add an `or` clause is only a strange label value.
    hostile = 'x"} or container_memory_working_set_bytes{pod=~".*'
    spec = MemorySpec(signal="NMTCategory", jvm={"nmtCategory": hostile})
    assert prometheus.range_query(memory_query(spec, Scope(world.namespace, pods)), end - 3600, end, 60) == []
    backslashes = MemorySpec(signal="NMTCategory", jvm={"nmtCategory": 'Other\\"} or vector(1) #'})
    assert prometheus.range_query(memory_query(backslashes, Scope(world.namespace, pods)), end - 3600, end, 60) == []


@pytest.mark.parametrize(("signal", "mib"), [("RSS", 500), ("JVMNative", 300), ("NMTCategory", 77)])
def test_each_signal_reads_the_bytes_it_names(world: World, signal: str, mib: float) -> None:
    prometheus = PrometheusClient(world.prometheus.url)
    query = memory_query(MemorySpec(signal=signal), Scope(world.namespace, ["checkout-api-flat-0"]))
    found = prometheus.range_query(query, NOW - 1800, NOW - 60, 60)
    assert len(found) == 1
    assert found[0].labels["pod"] == "checkout-api-flat-0"
    assert set(found[0].samples.v.tolist()) == {mib * MiB}


def test_unreachable_prometheus_raises_a_clear_error() -> None:
    from leakwatch_dev.cluster import free_port

    with pytest.raises(PrometheusError, match=r"Prometheus at http://127\.0\.0\.1:\d+ failed: ConnectError"):
        PrometheusClient(f"http://127.0.0.1:{free_port()}", timeout_seconds=2, attempts=2).range_query(
            "up", NOW - 60, NOW, 15
        )


FORGED = (
    'label_replace(label_replace(label_replace(container_memory_working_set_bytes{namespace="elsewhere", '
    'pod="checkout-api-flat-0"}, "namespace", "NS", "", ""), "pod", "checkout-api-leaky-0", "", ""), '
    '"container", "app", "", "") or container_memory_working_set_bytes{{namespace}, container!=""}'
)


@pytest.mark.parametrize(
    ("name", "query", "reason", "said"),
    [
        # another namespace's leaking series, renamed into ours: refused on the syntax tree
        ("forged", FORGED, "QueryRefused", "label, which says whose data it is"),
        # {namespace} only in a comment: the selector reads every namespace
        ("commented", "container_memory_working_set_bytes # {namespace}", "QueryRefused", "has no {namespace}"),
        # the flat pod's memory passed off as the leaky pod's: the label to write in parentheses,
        # written by count_values, or copied across a join
        (
            "parenthesised",
            'label_replace(container_memory_working_set_bytes{{namespace}, pod="checkout-api-flat-0"}, ("pod"), '
            '"checkout-api-leaky-0", "", "")',
            "QueryRefused",
            'label_replace(..., "pod", ...): writes the pod label',
        ),
        (
            "counted",
            'count_values("pod", container_memory_working_set_bytes{{namespace}, container!=""})',
            "QueryRefused",
            'count_values("pod", ...): writes the pod label',
        ),
        (
            "joined",
            'container_memory_working_set_bytes{{namespace}, container!=""} * on(container) group_left(pod) '
            'container_memory_working_set_bytes{{namespace}, pod="checkout-api-flat-0"}',
            "QueryRefused",
            "group_left(pod): copies the pod label",
        ),
        # passes our checks, fails in Prometheus, whose error text lists the series it matched
        (
            "failing",
            "container_memory_working_set_bytes{{namespace}} + on() container_memory_working_set_bytes{{namespace}}",
            "QueryRejected",
            "HTTP 422 (execution)",
        ),
    ],
)
def test_hostile_custom_queries_are_refused_and_leave_no_foreign_data(
    world: World, name: str, query: str, reason: str, said: str
) -> None:
    query = query.replace('"NS"', quote(world.namespace))
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": "checkout-api"}},
            "memory": {"window": f"{HOURS}h", "step": "1m", "signal": "Custom", "query": query},
        },
    }
    world.custom.create_namespaced_custom_object(GROUP, VERSION, world.namespace, "leakwatches", body)

    def status() -> dict[str, Any]:
        obj = world.custom.get_namespaced_custom_object(GROUP, VERSION, world.namespace, "leakwatches", name)
        return dict(obj.get("status") or {})

    def degraded() -> dict[str, Any]:
        return next((c for c in status().get("conditions", []) if c["type"] == "Degraded"), {})

    condition = wait_for(lambda: degraded().get("status") == "True" and degraded(), timeout=60, what="Degraded")
    assert condition["reason"] == reason and said in condition["message"], condition
    time.sleep(3)  # more analysis cycles: none may publish a verdict from the query
    final = status()
    assert final.get("verdict") in (None, "InsufficientData"), final
    assert not any("growthBytesPerSecond" in v or v.get("verdict") == "Leaking" for v in final.get("versions", []))
    message = degraded()["message"]
    assert "elsewhere" not in str(final.get("conditions"))
    if reason == "QueryRejected":  # Prometheus's words would list the matched series, labels and all
        assert "checkout-api-" not in message and "__name__" not in message, message
    published = [
        sample
        for family in text_string_to_metric_families(world.operator.get("/metrics"))
        if family.name in ("leakwatch_memory_growth_bytes_per_second", "leakwatch_version_verdict")
        for sample in family.samples
        if sample.labels.get("leakwatch") == name
    ]
    assert published == [], published
