"""An alert from the operator to a receiver: the real operator's /metrics, scraped by a real
Prometheus (3 by default, 2.42 in make test's second pass) that evaluates the chart's rules, which
sends to a real Alertmanager (0.35, from its Go module) running the routing in the chart README,
which posts to a webhook in this test.

History is backfilled as in test_memory.py (3.1.2 leaks, 3.0.10 is flat); the pods exist in the
API server; the OOMKills are written through the status subresource as a kubelet writes them. The
`for:` durations and the OOM window are shortened through the chart's values, and Alertmanager's
group timings in the routing: time is compressed, the rules and the routes are the shipped ones.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from kubernetes import client

from helpers import CHART, Helm, OperatorProcess, deployment_pod, kubelet_status, memory_trace, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.alertmanager import AlertmanagerServer, amtool
from leakwatch_dev.cluster import ControlPlane, free_port
from leakwatch_dev.prometheus import PrometheusServer, openmetrics

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus2]
MiB = 2**20
HOURS = 6
NOW = time.time()
WORKLOAD_ALERTS = {
    "LeakWatchOOMKillsIncreasing",
    "LeakWatchLeakSuspected",
    "LeakWatchTimeToOOMLow",
    "LeakWatchRecommendationPending",
}


def chart_routing() -> dict[str, Any]:
    """The Alertmanager configuration in the chart README, as written there."""
    text = (CHART / "README.md").read_text()
    block = re.search(r"<!-- alertmanager-example[^>]*-->\n```yaml\n(.*?)```", text, re.DOTALL)
    assert block, "the chart README has no alertmanager-example block"
    found: dict[str, Any] = yaml.safe_load(block.group(1))
    return found


@dataclass
class Receiver:
    """A webhook receiver on loopback that keeps every notification Alertmanager posts."""

    port: int = field(default_factory=free_port)
    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        posts = self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                posts.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def alerts(self, status: str) -> dict[str, dict[str, Any]]:
        """The last notified alert of each name with this status, as the receiver got it."""
        found: dict[str, dict[str, Any]] = {}
        for path, payload in self.posts:
            for alert in payload["alerts"]:
                if alert["status"] == status:
                    found[alert["labels"]["alertname"]] = {**alert, "receiver_path": path}
        return found


def test_the_routing_example_passes_amtool(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(chart_routing()))
    check = subprocess.run([str(amtool()), "check-config", str(config)], capture_output=True, text=True)
    assert check.returncode == 0 and "SUCCESS" in check.stdout, check.stdout + check.stderr


@dataclass
class Stack:
    namespace: str
    core: client.CoreV1Api
    receiver: Receiver
    prometheus: PrometheusServer
    operator: OperatorProcess

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(url, timeout=5) as response:
            found: list[dict[str, Any]] = json.load(response)["data"]["result"]
        return found

    def diagnose(self) -> str:
        """What Prometheus and the operator say, for a failure message."""
        with urllib.request.urlopen(f"{self.prometheus.url}/api/v1/alerts", timeout=5) as response:
            alerts = json.load(response)["data"]["alerts"]
        with urllib.request.urlopen(f"{self.prometheus.url}/api/v1/targets", timeout=5) as response:
            targets = [(t["health"], t["lastError"]) for t in json.load(response)["data"]["activeTargets"]]
        metrics = [line for line in self.operator.get("/metrics").splitlines() if line.startswith("leakwatch_")]
        states = [(a["labels"]["alertname"], a["state"]) for a in alerts]
        return f"alerts {states}; targets {targets}; metrics {metrics[:40]}"


@pytest.fixture(scope="module")
def stack(
    helm: Helm,
    control_plane: ControlPlane,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    namespace = f"alerts-{uuid.uuid4().hex[:6]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - (HOURS + 1) * 3600))
    for name, version in {"checkout-api-leaky-0": "3.1.2", "checkout-api-flat-0": "3.0.10"}.items():
        body = deployment_pod(name, version, limit="1Gi", rs_hash=version.replace(".", ""))
        core_v1.create_namespaced_pod(namespace, body)
        core_v1.patch_namespaced_pod_status(name, namespace, kubelet_status(0, started=started))
    rng = np.random.default_rng(20261204)
    labels = lambda pod: (("namespace", namespace), ("pod", pod), ("container", "app"))  # noqa: E731
    history = {
        ("container_memory_working_set_bytes", labels("checkout-api-leaky-0")): memory_trace(
            rng, 50 * MiB, end=NOW, hours=HOURS
        ),
        ("container_memory_working_set_bytes", labels("checkout-api-flat-0")): memory_trace(
            rng, 0, end=NOW, hours=HOURS
        ),
    }

    workdir = tmp_path_factory.mktemp("alerting")
    # The chart's rules with time compressed through its values; nothing else changed.
    short = [f"prometheusRule.{alert}.for=3s" for alert in ("oomKillsIncreasing", "leakSuspected", "timeToOOMLow")]
    short += ["prometheusRule.recommendationPending.for=3s", "prometheusRule.oomKillsIncreasing.window=40s"]
    short += ["prometheusRule.timeToOOMLow.thresholdSeconds=864000"]  # a 50 MiB/h leak in 1 GiB: hours away
    args = ["--set", "prometheusRule.enabled=true"] + [a for s in short for a in ("--set", s)]
    (rule,) = [d for d in helm.template(*args) if d["kind"] == "PrometheusRule"]
    rules = workdir / "leakwatch.rules.yaml"
    rules.write_text(yaml.safe_dump(rule["spec"], sort_keys=False))
    # The operator target as the chart's ServiceMonitor labels it, so LeakWatchOperatorDown is quiet.
    down = next(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"] if r["alert"] == "LeakWatchOperatorDown")
    job, release_ns = re.search(r'job="([^"]+)", namespace="([^"]+)"', down).groups()  # type: ignore[union-attr]

    receiver = Receiver()
    routing = chart_routing()
    routing["route"].update(group_wait="1s", group_interval="2s", repeat_interval="1h")
    for route in routing["route"].get("routes", []):
        route.update(group_wait="1s", group_interval="2s")
    for team in routing["receivers"]:
        for hook in team.get("webhook_configs", []):
            hook["url"] = f"http://127.0.0.1:{receiver.port}/{team['name']}"

    operator = OperatorProcess(control_plane, workdir, [namespace])
    target = {"targets": [f"127.0.0.1:{operator.metrics_port}"], "labels": {"namespace": release_ns}}
    with AlertmanagerServer(routing, workdir / "alertmanager") as alertmanager:
        prometheus = PrometheusServer(
            workdir / "prometheus",
            scrape_configs=[{"job_name": job, "static_configs": [target], "honor_labels": True}],
            rule_files=[rules],
            interval="1s",
            alertmanagers=[alertmanager.address],
        )
        prometheus.backfill(openmetrics(history))
        with prometheus:
            custom_objects.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "leakwatches",
                {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LeakWatch", "metadata": {"name": "checkout-api"},
                 "spec": {"selector": {"matchLabels": {"app": "checkout-api"}},
                          "memory": {"window": f"{HOURS}h", "step": "1m"}}},
            )  # fmt: skip
            operator.extra_env = {
                "LEAKWATCH_PROMETHEUS_URL": prometheus.url,
                "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "1",
            }
            operator.start()
            try:
                yield Stack(namespace, core_v1, receiver, prometheus, operator)
            finally:
                operator.stop()
                receiver.server.shutdown()


def test_each_workload_alert_reaches_the_receiver_firing_then_resolved(stack: Stack) -> None:
    # The counter is exported at 0 before its first OOMKill, as in a real cluster where a version runs
    # for a while before it is killed; the alert counts growth above the window's lowest value.
    zero = f'leakwatch_oom_kills_total{{namespace="{stack.namespace}", version="3.1.2"}} == 0'
    wait_for(lambda: stack.query(zero), timeout=60, what="the OOMKill counter scraped at 0")
    # Two OOMKills of 3.1.2 after the LeakWatch exists: an OOM trend.
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - (HOURS + 1) * 3600))
    for restarts in (1, 2):
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = kubelet_status(restarts, at, started=started)
        stack.core.patch_namespaced_pod_status("checkout-api-leaky-0", stack.namespace, status)
        time.sleep(1.1)
    try:
        firing = wait_for(lambda: (f := stack.receiver.alerts("firing")).keys() >= WORKLOAD_ALERTS and f, timeout=120)
    except pytest.fail.Exception:
        pytest.fail(f"not every workload alert reached the receiver firing: {stack.diagnose()}")
    for name in WORKLOAD_ALERTS:
        alert = firing[name]
        assert alert["receiver_path"] == "/workload-owners", (name, alert["receiver_path"])
        labels, notes = alert["labels"], alert["annotations"]
        assert labels["namespace"] == stack.namespace and labels["workload"] == "checkout-api", labels
        version = labels.get("version") or labels.get("from_version")
        assert version == "3.1.2", (name, labels)
        assert notes["summary"].startswith(f"{stack.namespace}/checkout-api"), notes
        assert "kubectl" in notes["runbook"] and notes["description"], notes
    assert firing["LeakWatchRecommendationPending"]["labels"]["to_version"] == "3.0.10"
    assert "LeakWatchOperatorDown" not in stack.receiver.alerts("firing")

    # The fix: 3.1.2 is rolled back, only 3.0.10 runs. Every workload alert resolves.
    stack.core.delete_namespaced_pod("checkout-api-leaky-0", stack.namespace, grace_period_seconds=0)
    try:
        resolved = wait_for(
            lambda: (r := stack.receiver.alerts("resolved")).keys() >= WORKLOAD_ALERTS and r, timeout=180
        )
    except pytest.fail.Exception:
        pytest.fail(
            f"not every workload alert resolved: {sorted(stack.receiver.alerts('resolved'))}, {stack.diagnose()}"
        )
    for name in sorted(WORKLOAD_ALERTS):
        alert = resolved[name]
        assert alert["labels"] == firing[name]["labels"] and alert["endsAt"] > firing[name]["startsAt"], name
        print(f"\n{name} firing: {json.dumps({k: firing[name][k] for k in ('labels', 'annotations')})}")
        print(f"{name} resolved at {alert['endsAt']}")
