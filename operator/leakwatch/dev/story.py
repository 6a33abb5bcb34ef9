"""The Jooby story on a local real cluster, as one object: used by the demo and the end-to-end tests.

A control plane with kube-controller-manager (all controllers), kube-scheduler and kwok; a kwok
node; the kubelet/cAdvisor stand-in; Debian's Prometheus scraping the stand-in and the operator;
optionally the Helm chart (CRDs, RBAC, the Jooby advisory) with the operator then running as the
chart's ServiceAccount; and `checkout-api` as a real Deployment whose versions leak or not as the
scenario says.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubernetes import client, config

from leakwatch.api import GROUP, VERSION
from leakwatch.dev.cluster import ControlPlane
from leakwatch.dev.kubelet import CUSTOM_STATUS, FakeKubelet, VersionBehaviour, fake_node
from leakwatch.dev.operator import OperatorProcess
from leakwatch.dev.prometheus import PrometheusServer

REPO = Path(__file__).resolve().parents[3]
APP = "checkout-api"

JOOBY_BEHAVIOURS = {
    "3.0.10": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    # 100 MiB per real minute is 50 MiB/h of story at the default time scale: the Jooby leak's pace.
    "3.1.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=100),
    "3.1.4": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    "3.2.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
}


@dataclass
class StoryConfig:
    namespace: str = "shop"
    replicas: int = 2
    behaviours: dict[str, VersionBehaviour] = field(default_factory=lambda: dict(JOOBY_BEHAVIOURS))
    backdate_seconds: dict[str, float] = field(default_factory=lambda: {"3.0.10": 6 * 86400})
    time_scale: float = 120.0  # one second of memory data stands for two minutes of story
    analysis_interval_seconds: float = 2.0
    window: str = "4m"
    step: str = "5s"
    helm_chart: bool = False  # install the chart and run the operator with its ServiceAccount


def deployment(version: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}, "annotations": CUSTOM_STATUS},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.local/shop/{APP}:{version}",
                            "resources": {"limits": {"memory": "512Mi"}},
                        }
                    ]
                },
            },
        },
    }


def leakwatch(cfg: StoryConfig) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": APP},
        "spec": {
            "selector": {"matchLabels": {"app": APP}},
            "containers": ["app"],
            "version": {"source": "ImageTag", "container": "app", "framework": "io.jooby:jooby-netty"},
            "memory": {"window": cfg.window, "step": cfg.step},
            "oom": {"threshold": 2, "window": "1h"},
        },
    }


class LocalStory(contextlib.ExitStack):
    def __init__(self, workdir: Path, cfg: StoryConfig | None = None) -> None:
        super().__init__()
        self.workdir = workdir
        self.cfg = cfg or StoryConfig()

    # --- setting up ----------------------------------------------------------------------------
    def __enter__(self) -> LocalStory:
        super().__enter__()
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _start(self) -> None:
        cfg = self.cfg
        self.cp = self.enter_context(
            ControlPlane(components=("controller-manager", "scheduler", "kwok"), controllers="*")
        )
        api = config.new_client_from_config(str(self.cp.kubeconfig))
        self.core, self.apps = client.CoreV1Api(api), client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=cfg.namespace)))
        operator_kubeconfig = None
        if cfg.helm_chart:
            operator_kubeconfig = self._install_chart()
        else:
            self.cp.install_crds()
        node: Any = fake_node()  # the client takes plain dicts as well as its models
        self.core.create_node(node)
        self.wait(lambda: self.core.list_namespaced_service_account(cfg.namespace).items, 60, "a ServiceAccount")

        self.kubelet = FakeKubelet(self.core, cfg.behaviours, cfg.namespace, backdate_seconds=cfg.backdate_seconds)
        self.kubelet.start()
        self.callback(self.kubelet.stop)
        self.operator = OperatorProcess(self.cp, self.workdir, [cfg.namespace], kubeconfig=operator_kubeconfig)
        self.prometheus = PrometheusServer(
            self.workdir / "prometheus",
            scrape_configs=[
                self.kubelet.scrape_config("1s"),
                {
                    "job_name": "leakwatch",
                    "honor_labels": True,
                    "scrape_interval": "2s",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.operator.metrics_port}"]}],
                },
            ],
        )
        self.prometheus.start()
        self.callback(self.prometheus.stop)
        self.operator.extra_env = {
            "LEAKWATCH_PROMETHEUS_URL": self.prometheus.url,
            "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": str(cfg.analysis_interval_seconds),
            "LEAKWATCH_TIME_SCALE": str(cfg.time_scale),
        }
        self.operator.start()
        self.callback(self.operator.stop)
        self.custom.create_namespaced_custom_object(GROUP, VERSION, cfg.namespace, "leakwatches", leakwatch(cfg))

    def _install_chart(self) -> Path:
        """helm install the chart; return a kubeconfig for its ServiceAccount."""
        helm = str(self.cp.binary("helm"))
        subprocess.run(
            [
                helm,
                "install",
                "leakwatch",
                str(REPO / "helm" / "leakwatch"),
                "--namespace",
                "leakwatch-system",
                "--create-namespace",
                "--kubeconfig",
                str(self.cp.kubeconfig),
                "--set",
                "replicas=0",
                "--set",
                f"watchNamespaces={{{self.cfg.namespace}}}",
                "--wait=false",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        self.wait(
            lambda: self.core.list_namespaced_service_account("leakwatch-system").items, 60, "the chart's account"
        )
        return self.cp.service_account_kubeconfig("leakwatch-system", "leakwatch")

    # --- acting ------------------------------------------------------------------------------------
    def kubectl(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.cp.binary("kubectl")), "--kubeconfig", str(self.cp.kubeconfig), *args],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
        return done.stdout

    def deploy(self, version: str) -> None:
        body: Any = deployment(version, self.cfg.replicas)
        self.apps.create_namespaced_deployment(self.cfg.namespace, body)

    def roll_to(self, version: str) -> None:
        containers = [{"name": "app", "image": f"registry.local/shop/{APP}:{version}"}]
        self.apps.patch_namespaced_deployment(
            APP, self.cfg.namespace, {"spec": {"template": {"spec": {"containers": containers}}}}
        )

    def leakwatch(self) -> dict[str, Any]:
        obj: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, self.cfg.namespace, "leakwatches", APP)
        return dict(obj)

    def status(self) -> dict[str, Any]:
        return dict(self.leakwatch().get("status") or {})

    def recommendation(self) -> dict[str, Any]:
        return dict(self.status().get("recommendation") or {})

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(self.cfg.namespace).items if e.involved_object.kind == kind]

    @staticmethod
    def wait(predicate: Any, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = predicate()
            if found:
                return found
            time.sleep(0.5)
        raise TimeoutError(f"timed out after {timeout}s waiting for {what}")

    def dump(self) -> str:
        return json.dumps({k: v for k, v in self.status().items() if k != "ledger"}, indent=1)
