"""End to end on a real node: kubelet + containerd + runc, and the kernel's OOM killer.

Nothing here writes a pod status: containers run in real memory cgroups, the kernel kills them
over their limit, and the kubelet reports it. Prometheus scrapes the kubelet's cAdvisor endpoint
with a bearer token, and pods with a `metrics` port through Kubernetes service discovery, as a
kube-prometheus-stack user's Prometheus does. The operator is a real process, SIGKILLed mid-way.

Needs root and a memory cgroup (`leakwatch_dev.node.missing_requirements`); skipped with the
reason otherwise. One module-scoped node; about four minutes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

from helpers import OperatorProcess, real_node_marks, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.promql import Scope, memory_query
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.loadgen import PostLoad
from leakwatch_dev.node import RealNode, loopback_pod_spec
from leakwatch_dev.prometheus import PrometheusServer
from leakwatch_dev.story import HTTP_PORT, netty_container

pytestmark = real_node_marks()
OOM_NS, CRASH_NS, JVM_NS = "rn-oom", "rn-crash", "rn-jvm"


@dataclass
class Node:
    cp: ControlPlane
    node: RealNode
    prometheus: PrometheusServer
    operator: OperatorProcess
    core: client.CoreV1Api
    apps: client.AppsV1Api
    custom: client.CustomObjectsApi


@pytest.fixture(scope="module")
def real(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    workdir = tmp_path_factory.mktemp("real-node")
    with (
        ControlPlane(components=("controller-manager", "scheduler"), controllers="*") as cp,
        RealNode(cp) as node,
    ):
        cp.install_crds()
        api = config.new_client_from_config(str(cp.kubeconfig))
        core = client.CoreV1Api(api)
        for ns in (OOM_NS, CRASH_NS, JVM_NS):
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=ns)))
        operator = OperatorProcess(cp, workdir, [OOM_NS, CRASH_NS, JVM_NS])
        with PrometheusServer(
            workdir / "prometheus",
            scrape_configs=[
                *node.prometheus_scrape_configs(workdir / "scrape"),
                {
                    "job_name": "leakwatch",
                    "honor_labels": True,
                    "scrape_interval": "2s",
                    "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}],
                },
            ],
            interval="2s",
            line="3",  # Debian's 2.42 is built without kubernetes_sd_configs
        ) as prometheus:
            operator.extra_env = {
                "LEAKWATCH_PROMETHEUS_URL": prometheus.url,
                "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "5",
            }
            operator.start()
            try:
                yield Node(cp, node, prometheus, operator, core, client.AppsV1Api(api), client.CustomObjectsApi(api))
            finally:
                operator.stop()


def memhog(name: str, version: str, limit: str, **env: str) -> dict[str, Any]:
    """A Deployment of the static memory workload; the version is a label, as many teams stamp it."""
    labels = {"app": name, "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": labels},
                "spec": loopback_pod_spec(
                    [
                        {
                            "name": "app",
                            "image": "localhost/lw/memhog:1",
                            "imagePullPolicy": "Never",
                            "env": [{"name": k, "value": v} for k, v in env.items()],
                            "resources": {"limits": {"memory": limit}, "requests": {"memory": limit, "cpu": "10m"}},
                        }
                    ]
                ),
            },
        },
    }


def watch(real: Node, namespace: str, app: str) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": app},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "containers": ["app"],
            "version": {"source": "Label", "key": "app.kubernetes.io/version"},
        },
    }
    real.custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", body)


def status(real: Node, namespace: str, name: str) -> dict[str, Any]:
    obj = real.custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", name)
    return dict(obj.get("status") or {})


def kills_by_version(real: Node, namespace: str, name: str) -> dict[str, int]:
    return {v["version"]: v["oomKills"] for v in status(real, namespace, name).get("versions", [])}


def container_statuses(real: Node, namespace: str, app: str) -> list[Any]:
    pods = real.core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [c for pod in pods for c in pod.status.container_statuses or []]


def metric_total(real: Node, namespace: str, name: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(real.operator.get("/metrics")):
        for sample in family.samples:
            if (
                sample.name == "leakwatch_oom_kills_total"
                and sample.labels.get("namespace") == namespace
                and sample.labels.get("leakwatch") == name
            ):
                total += sample.value
    return total


def test_every_kernel_oomkill_is_counted_once_across_an_operator_sigkill(real: Node) -> None:
    app = "hog"
    watch(real, OOM_NS, app)
    # 4 MiB every 50 ms against a 48 MiB limit: the kernel kills it within a second of each start;
    # the kubelet's back-off (10, 20, 40 s) spaces the kills out.
    real.apps.create_namespaced_deployment(OOM_NS, memhog(app, "2.0.0", "48Mi", STEP_KIB="4096", INTERVAL_MS="50"))

    def restarts() -> int:
        return sum(c.restart_count for c in container_statuses(real, OOM_NS, app))

    wait_for(lambda: restarts() >= 2, timeout=120, what="two kernel OOMKills")
    last = container_statuses(real, OOM_NS, app)[0].last_state.terminated
    assert (last.reason, last.exit_code) == ("OOMKilled", 137)  # the kubelet's words, not ours
    wait_for(lambda: kills_by_version(real, OOM_NS, app).get("2.0.0", 0) >= 2, timeout=30, what="the first kills")

    real.operator.kill()  # SIGKILL: whatever it had not written is lost
    seen_while_down = restarts()
    wait_for(lambda: restarts() > seen_while_down, timeout=90, what="an OOMKill while the operator is down")
    real.operator.start()

    wait_for(lambda: restarts() >= 4, timeout=150, what="a fourth OOMKill")
    # CrashLoopBackOff between kills is a waiting state, not a kill: the counts must match exactly.
    wait_for(
        lambda: kills_by_version(real, OOM_NS, app) == {"2.0.0": restarts()},
        timeout=30,
        what="status to count every restart once",
    )
    # The hog is still being killed: each count is compared with the kubelet's at one moment.
    wait_for(lambda: status(real, OOM_NS, app)["oomKills"] == restarts(), timeout=30, what="the status total")
    wait_for(lambda: metric_total(real, OOM_NS, app) == restarts(), timeout=30, what="the metric to match the kills")

    def oom_events() -> list[str]:
        events = real.core.list_namespaced_event(OOM_NS, field_selector=f"involvedObject.name={app}").items
        return [e.message for e in events if e.involved_object.kind == "LeakWatch" and e.reason == "OOMKilled"]

    def announced() -> int:
        """OOMKills the Events tell of: one each, or the N of one inferred record ("N times while...")."""
        told = (re.search(r"OOMKilled (\d+) times while", message) for message in oom_events())
        return sum(int(found.group(1)) if found else 1 for found in told)

    # An OOMKill's Event follows the status write that counts it, so it may land a moment later, and
    # the hog goes on being killed meanwhile: the Events must tell of every kill once, at some moment.
    wait_for(lambda: announced() == restarts(), timeout=60, what=f"one Event per OOMKill, have {oom_events()}")


def test_a_crash_that_is_not_an_oom_kill_is_not_counted(real: Node) -> None:
    app = "crasher"
    watch(real, CRASH_NS, app)
    real.apps.create_namespaced_deployment(
        CRASH_NS, memhog(app, "1.0.0", "64Mi", STEP_KIB="1024", INTERVAL_MS="100", EXIT_AFTER_MS="500", EXIT_CODE="3")
    )
    wait_for(
        lambda: sum(c.restart_count for c in container_statuses(real, CRASH_NS, app)) >= 2,
        timeout=90,
        what="two crash restarts",
    )
    last = container_statuses(real, CRASH_NS, app)[0].last_state.terminated
    assert (last.reason, last.exit_code) == ("Error", 3)
    wait_for(lambda: "1.0.0" in kills_by_version(real, CRASH_NS, app), timeout=30, what="the version to be seen")
    time.sleep(5)  # the operator had every pod event by now; give it time to miscount
    assert kills_by_version(real, CRASH_NS, app) == {"1.0.0": 0}
    assert status(real, CRASH_NS, app).get("oomKills", 0) == 0


def test_real_cadvisor_series_and_jvm_signals_reach_leakwatch_queries(real: Node) -> None:
    """The leaking Netty release on the node under POST load: cAdvisor's real label set, the pod-level
    and pause series beside the container's, and the JVM's NMT and heap metrics through discovery;
    LeakWatch's own queries pick exactly one series per container and see the native growth."""
    name = "netty"
    real.core.create_namespaced_pod(JVM_NS, netty_pod(name, "1.5.0"))
    wait_for(lambda: pod_running(real, JVM_NS, name), timeout=90, what="the JVM pod to run")
    prom = PrometheusClient(real.prometheus.url)
    wait_for(
        lambda: prom.range_query(f'app_info{{namespace="{JVM_NS}"}}', time.time() - 10, time.time(), 2),
        timeout=60,
        what="the JVM scraped through pod discovery",
    )
    started = time.time()
    load = PostLoad(HTTP_PORT, rate=150, seconds=180)
    load.start()
    scope = Scope(JVM_NS, [name])
    signals = ("WorkingSet", "RSS", "JVMNative", "NMTCategory")

    def query(signal: str) -> list[Any]:
        return prom.range_query(memory_query(MemorySpec(signal=signal, step="2s"), scope), started, time.time(), 2)

    def growth_mib(signal: str) -> float:
        found = query(signal)
        if len(found) != 1 or len(found[0].samples.v) < 10:
            return 0.0  # not enough yet; which series there are is checked below
        series = found[0].samples.v
        return float(series[-5:].min() - series[:5].max()) / 2**20

    try:
        # Pooled direct memory grows in whole chunks; how soon 16 MiB show depends on how busy the
        # machine is, so wait for it (and fail after 3 minutes of load) rather than assume a time.
        wait_for(
            lambda: all(growth_mib(signal) > 16 for signal in signals),
            timeout=170,
            interval=4,
            what="every memory signal to grow 16 MiB under load: " + ", ".join(signals),
        )
    finally:
        load.stop()
    assert load.stats.ok > 0.9 * load.stats.sent, load.stats
    for signal in signals:  # exactly one series per container: not the pod cgroup, not pause
        found = query(signal)
        assert [(s.labels["pod"], s.labels.get("container", "app")) for s in found] == [(name, "app")], signal

    raw = prom.range_query(
        f'container_memory_working_set_bytes{{namespace="{JVM_NS}", pod="{name}"}}', started, time.time(), 2
    )
    by_container = {s.labels.get("container", ""): s.labels for s in raw}
    assert "app" in by_container and "" in by_container, by_container  # container and pod cgroup
    assert {"namespace", "pod", "container", "image", "id", "name"} <= set(by_container["app"]), by_container["app"]
    assert by_container["app"]["image"] == "localhost/lw/netty-post:1.5.0"


def pod_running(real: Node, namespace: str, name: str) -> bool:
    pod = real.core.read_namespaced_pod(name, namespace)
    return bool(pod.status.phase == "Running" and all(c.ready for c in pod.status.container_statuses or []))


def netty_pod(name: str, release: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": loopback_pod_spec([netty_container(release, "512Mi")]),
    }
