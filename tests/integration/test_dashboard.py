"""The chart's Grafana dashboard against real data: every variable, panel and annotation query of
helm/leakwatch/files/dashboards/leakwatch.json runs against a real Prometheus that scrapes the real
operator's /metrics and the memory a kubelet/cAdvisor stand-in reports for a Deployment rolled from
3.0.10 to the leaky 3.1.2 (the story of test_recommend.py, shortened), after a Prometheus outage
that makes the operator's analysis fail. A query that errors or finds nothing fails the test.

Grafana is not needed to run the queries: leakwatch_dev.grafana resolves the variables and runs
the targets as Grafana's Prometheus data source does (the same code draws the dashboard pictures
of the README), with the `$__interval` and `$__rate_interval` Grafana would pick for this scrape
interval and time range.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from helpers import OperatorProcess, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch.core.components import COMPONENTS_ANNOTATION
from leakwatch_dev import grafana
from leakwatch_dev.cluster import ControlPlane, binary_dirs, find_binary
from leakwatch_dev.dashboard import VERDICT_CODES
from leakwatch_dev.kubelet import CUSTOM_STATUS, FakeKubelet, VersionBehaviour, fake_node
from leakwatch_dev.prometheus import PrometheusServer

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus2]

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = grafana.DASHBOARD
NS, APP, JOB = "shop", "checkout-api", "leakwatch"
BEHAVIOURS = {
    "3.0.10": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    "3.1.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=300),  # OOMKilled at 512Mi after ~50 s
}
# One second of memory data stands for ten minutes: a 3.1.2 run then grows for the three hours that
# Medium sensitivity wants before it projects a time to OOM well before the run is OOMKilled.
TIME_SCALE = "600"
STEP = 5  # seconds: the range queries' step, i.e. Grafana's $__interval here
RATE_INTERVAL = 20  # seconds: Grafana's $__rate_interval: at least four scrape intervals, more than $__interval
Doc = dict[str, Any]


def deployment(version: str) -> Doc:
    container = {
        "name": "app",
        "image": f"registry.local/shop/{APP}:{version}",
        "resources": {"limits": {"memory": "512Mi"}},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {
                    "labels": {"app": APP},
                    # What the app's pipeline stamps: the components inside this version (here, the
                    # version is Jooby's, as in the first stretch's story).
                    "annotations": {
                        **CUSTOM_STATUS,
                        COMPONENTS_ANNOTATION: f"pkg:maven/io.jooby/jooby-netty@{version}",
                    },
                },
                "spec": {"containers": [container]},
            },
        },
    }


@dataclass
class Scenario:
    prometheus: grafana.Prometheus
    start: float


def exported(operator: OperatorProcess, name: str) -> list[Sample]:
    """The operator's own /metrics samples of one name."""
    families = text_string_to_metric_families(operator.get("/metrics"))
    return [s for family in families for s in family.samples if s.name == name]


def leakwatch_status(custom: client.CustomObjectsApi) -> Doc:
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", APP)
    return dict(obj.get("status") or {})


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """3.0.10 runs and is judged Stable; 3.1.2 rolls out, leaks, gets a Rollback recommendation and
    is OOMKilled; then Prometheus is down for a few seconds, so analyses fail and are counted."""
    workdir = tmp_path_factory.mktemp("dashboard")
    with ControlPlane(components=("controller-manager", "scheduler", "kwok"), controllers="*") as cp:
        started = time.time()
        api = config.new_client_from_config(str(cp.kubeconfig))
        core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
        cp.install_crds()
        core.create_node(fake_node())
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        wait_for(lambda: core.list_namespaced_service_account(NS).items, what="the default ServiceAccount")
        kubelet = FakeKubelet(core, BEHAVIOURS, NS, backdate_seconds={"3.0.10": 6 * 86400 / float(TIME_SCALE)})
        operator = OperatorProcess(cp, workdir, [NS])
        operator_scrape = {
            "job_name": JOB,
            "honor_labels": True,  # as the chart's ServiceMonitor: keep the LeakWatch's own namespace label
            "scrape_interval": "1s",
            "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}],
        }
        server = PrometheusServer(workdir / "prometheus", scrape_configs=[kubelet.scrape_config("1s"), operator_scrape])
        operator.extra_env = {
            "LEAKWATCH_PROMETHEUS_URL": server.url,
            "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "2",
            "LEAKWATCH_TIME_SCALE": TIME_SCALE,
        }
        kubelet.start()
        server.start()
        operator.start()
        try:
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                NS,
                "leakwatches",
                {
                    "apiVersion": f"{GROUP}/{VERSION}",
                    "kind": "LeakWatch",
                    "metadata": {"name": APP},
                    "spec": {
                        "selector": {"matchLabels": {"app": APP}},
                        "version": {"source": "ImageTag", "framework": "io.jooby:jooby-netty"},
                        "memory": {"window": "4m", "step": "1s"},
                        "oom": {"threshold": 2, "window": "1h"},
                    },
                },
            )
            apps.create_namespaced_deployment(NS, deployment("3.0.10"))
            wait_for(
                lambda: (
                    {v["version"]: v.get("verdict") for v in leakwatch_status(custom).get("versions", [])}.get("3.0.10")
                    == "Stable"
                ),
                timeout=120,
                what="3.0.10 judged Stable",
            )
            # A version's verdict is exported only while it runs: let Prometheus scrape Stable for
            # two $__interval steps before 3.0.10 is replaced, or the verdict panel may never see it.
            stable = f'sum_over_time(leakwatch_version_verdict{{version="3.0.10", verdict="Stable"}}[1m]) >= {2 * STEP}'
            wait_for(
                lambda: grafana.Prometheus(server.url).api("query", query=stable)["result"],
                timeout=30,
                what="3.0.10's Stable verdict scraped",
            )
            apps.patch_namespaced_deployment(APP, NS, deployment("3.1.2"))
            wait_for(
                lambda: (leakwatch_status(custom).get("recommendation") or {}).get("action") == "Rollback",
                timeout=120,
                what="a Rollback recommendation for 3.1.2",
            )
            wait_for(
                lambda: grafana.Prometheus(server.url).api(
                    "query", query='sum(leakwatch_oom_kills_total{version="3.1.2"}) >= 2'
                )["result"],
                timeout=120,
                what="3.1.2 OOMKilled and counted",
            )
            # Prometheus down: the operator's analyses fail and count it; then back, same port and data.
            server.stop()
            wait_for(
                lambda: any(s.value >= 1 for s in exported(operator, "leakwatch_analysis_errors_total")),
                timeout=30,
                what="an analysis error while Prometheus is down",
            )
            server.start()
            prometheus = grafana.Prometheus(server.url)
            # Enough samples of the new error series for several $__interval steps to see two.
            wait_for(
                lambda: prometheus.api("query", query="count_over_time(leakwatch_analysis_errors_total[1m]) >= 12")[
                    "result"
                ],
                timeout=30,
                what="the analysis errors scraped",
            )
            print(f"scenario ready after {time.time() - started:.0f}s")
            yield Scenario(prometheus, start=started)
        finally:
            operator.stop()
            kubelet.stop()
            server.stop()


@pytest.fixture(scope="module")
def board() -> Doc:
    return grafana.load(DASHBOARD)


@pytest.fixture(scope="module")
def resolved(scenario: Scenario, board: Doc) -> grafana.View:
    """The dashboard opened on the scenario's time range (a variable that finds nothing fails)."""
    return grafana.View.open(
        scenario.prometheus, board, scenario.start, time.time(), interval=STEP, rate_interval=RATE_INTERVAL
    )


def test_variables_find_the_story(resolved: grafana.View) -> None:
    assert resolved.variables == {"namespace": [NS], "leakwatch": [APP], "workload": [APP], "job": [JOB]}


def panel_targets(board: Doc) -> list[tuple[str, grafana.Target]]:
    return [(p.title, t) for row in grafana.rows(board) for p in row.panels for t in p.targets]


def test_every_panel_query_returns_data(resolved: grafana.View, board: Doc) -> None:
    empty = []
    found: dict[str, list[grafana.Series]] = {}
    for title, target in panel_targets(board):
        series = resolved.run(target)
        found[f"{title}/{target.ref}"] = series
        if not series:
            empty.append(f"{title} ({target.ref}): {target.expr}")
    assert not empty, "queries that found nothing:\n" + "\n".join(empty)

    def labels(key: str, name: str) -> set[str]:
        return {s.labels.get(name, "") for s in found[key]}

    def peak(key: str, **match: str) -> float:
        return max(
            value for s in found[key] if all(s.labels.get(k) == v for k, v in match.items()) for _, value in s.points
        )

    # The memory of both versions' pods, found by name (two pods each, none of another workload).
    pods = labels("Working-set memory per pod/A", "pod")
    assert len(pods) >= 4 and all(p.startswith(f"{APP}-") for p in pods), pods
    # Pod-seconds per second is the number of pods: 3.1.2 has run two pods for a minute by now.
    assert labels("Pods running per version/A", "version") == {"3.0.10", "3.1.2"}
    assert 1.5 <= peak("Pods running per version/A", version="3.1.2") <= 2.5
    code = {verdict: number for number, (verdict, _) in VERDICT_CODES.items()}
    assert peak("Verdict per version/A", version="3.0.10") == code["Stable"]
    assert peak("Verdict per version/A", version="3.1.2") == code["Leaking"]
    assert peak("Memory growth rate per version/A", version="3.1.2") > 0
    assert "3.1.2" in labels("Time to OOM per version/A", "version")
    # Both pods were OOMKilled: two kills, in one bar or in two (the counter exists at 0 from the
    # pods' first sight, so increase() sees the first kill too; bars are increases over their step).
    bars = [v for s in found["OOMKills by version/A"] if s.labels.get("version") == "3.1.2" for _, v in s.points]
    assert sum(bars) >= 1.8, bars
    assert peak("OOMKills in the time range/A", version="3.1.2") >= 2
    (recommendation,) = found["Current recommendations/A"]
    assert {k: recommendation.labels[k] for k in ("action", "from_version", "to_version")} == {
        "action": "Rollback",
        "from_version": "3.1.2",
        "to_version": "3.0.10",
    }
    assert recommendation.labels["component"] == "io.jooby:jooby-netty 3.1.2"
    inside = {s.labels["version"]: s.labels["framework"] for s in found["Framework inside each app version/A"]}
    assert inside == {"3.0.10": "io.jooby:jooby-netty 3.0.10", "3.1.2": "io.jooby:jooby-netty 3.1.2"}
    assert peak("Operator up/A") == 1
    assert labels("Analysis errors by reason/A", "reason") == {"PrometheusUnavailable"}
    assert peak("Analysis errors by reason/A") >= 1
    assert labels("Prometheus queries by result/A", "result") == {"ok", "error"}


def test_annotations_mark_the_rollout_and_the_leak(resolved: grafana.View, board: Doc) -> None:
    annotations = {a["name"]: a for a in board["annotations"]["list"]}
    marked = {}
    for name, annotation in annotations.items():
        step = grafana.seconds(annotation["step"])
        series = resolved.run(grafana.Target.of(annotation), step=step, align_to_end=True)
        marked[name] = {s.labels["version"] for s in series}
    assert marked == {"Rollouts": {"3.0.10", "3.1.2"}, "Leaks": {"3.1.2"}}


def test_chart_ships_the_dashboard_to_the_grafana_sidecar(tmp_path: Path) -> None:
    helm = find_binary("helm", binary_dirs())
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(tmp_path),
        "HELM_CONFIG_HOME": str(tmp_path),
        "HELM_DATA_HOME": str(tmp_path),
    }
    out = subprocess.run(
        [str(helm), "template", "leakwatch", str(REPO / "helm" / "leakwatch"), "--set", "dashboards.enabled=true"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    ).stdout
    (configmap,) = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "ConfigMap"]
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert configmap["data"] == {"leakwatch.json": DASHBOARD.read_text()}
