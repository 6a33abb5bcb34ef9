"""The leak story on a local real cluster, as one object: used by the demo and the end-to-end tests.

A control plane with kube-controller-manager (all controllers) and kube-scheduler; a node; a real
Prometheus scraping the node and the operator; optionally the Helm chart (CRDs, RBAC, the Jooby
advisory) with the operator then running as the chart's ServiceAccount; and `checkout-api` as a
real Deployment. The node is one of two:

- `real`: a kubelet with containerd on this machine (`leakwatch_dev.node.RealNode`). checkout-api
  is the Netty workload (`tests/workloads/netty-post`, the jooby#3453 bug class) as a real image
  per release under POST load on loopback: 1.4.0 flat, 1.5.0 leaking until the kernel OOM-kills
  it, 1.5.1 the fix. Memory is what cAdvisor measures; OOMKills are the kubelet's.
- `stand-in`: kwok and the kubelet/cAdvisor stand-in (`leakwatch_dev.kubelet`), whose memory
  follows a script per version (Jooby 3.0.10 flat, 3.1.2 leaking) and whose pods can claim to have
  started days ago: for decision tests that need history a real process cannot have in minutes.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from kubernetes import client, config

from leakwatch.api import GROUP, VERSION
from leakwatch_dev import trivy
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.kubelet import CUSTOM_STATUS, FakeKubelet, VersionBehaviour, fake_node
from leakwatch_dev.loadgen import PostLoad
from leakwatch_dev.node import RealNode, image_boms, loopback_pod_spec
from leakwatch_dev.operator import OperatorProcess
from leakwatch_dev.prometheus import PrometheusServer

REPO = Path(__file__).resolve().parents[2]
APP = "checkout-api"

JOOBY_BEHAVIOURS = {
    "3.0.10": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    # 100 MiB per real minute is 50 MiB/h of story at the default time scale: the Jooby leak's pace.
    "3.1.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=100),
    "3.1.4": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    "3.2.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
}


def jooby_app_bom(jooby: str, netty: str) -> dict[str, Any]:
    """The CycloneDX SBOM of a Jooby app's image, as trivy lists a Maven app's jars, for the stand-in
    story (io.jooby:jooby-netty is not served by Maven Central here, so no real Jooby app is built)."""
    purls = [
        f"pkg:maven/io.jooby/jooby@{jooby}",
        f"pkg:maven/io.jooby/jooby-netty@{jooby}",
        f"pkg:maven/io.netty/netty-codec-http@{netty}",
        f"pkg:maven/io.netty/netty-buffer@{netty}",
        "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.2",
        "pkg:maven/org.slf4j/slf4j-api@2.0.16",
    ]
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "components": [{"type": "library", "purl": purl} for purl in purls],
    }


# checkout-api's app versions (image tags) -> (Jooby, Netty) inside: the flat release, the leaking one.
JOOBY_APP_RELEASES = {"2025.06.1": ("3.0.10", "4.1.111.Final"), "2025.07.3": ("3.1.2", "4.1.115.Final")}

NETTY_RELEASES = ("1.4.0", "1.5.0", "1.5.1")
HTTP_PORT, METRICS_PORT = 18080, 19400  # hostNetwork: the pod binds these on 127.0.0.1
# The JVM as bench/jvm_leak.py runs it: a fixed small heap, NMT on, and Netty's direct buffers
# allocated through ByteBuffer.allocateDirect under a generous MaxDirectMemorySize, so it is the
# kernel (container limit) and not the JVM that stops the leak.
JVM_OPTIONS = (
    "-Xms64m -Xmx64m -XX:+AlwaysPreTouch -XX:+UseSerialGC -XX:NativeMemoryTracking=summary "
    "-XX:MaxDirectMemorySize=2g -Dio.netty.maxDirectMemory=0 -Dio.netty.leakDetection.level=disabled"
)


@dataclass
class StoryConfig:
    node: Literal["real", "stand-in"] = "stand-in"
    namespace: str = "shop"
    replicas: int = 2
    behaviours: dict[str, VersionBehaviour] = field(default_factory=lambda: dict(JOOBY_BEHAVIOURS))
    # stand-in: how long ago a version's pods claim to have started, in the operator's stretched
    # clock (time_scale), so the recommendation says "flat for 6.0 days"
    backdate_seconds: dict[str, float] = field(default_factory=lambda: {"3.0.10": 6 * 86400})
    time_scale: float = 120.0  # one second of memory data stands for two minutes of story
    analysis_interval_seconds: float = 2.0
    window: str = "4m"
    step: str = "5s"
    helm_chart: bool = False  # install the chart and run the operator with its ServiceAccount
    memory_limit: str = "512Mi"
    post_rate: float = 200.0  # real node: POSTs per second to checkout-api while it runs
    # False: the story starts no operator of its own; the test runs its own, configured by
    # operator_env() (e.g. two replicas with kopf peering, each as its own ServiceAccount).
    operator: bool = True
    apiserver_args: tuple[str, ...] = ()  # more kube-apiserver flags, e.g. an audit policy
    # version -> the CycloneDX SBOM of its image: with any, SbomReports are written for each active
    # ReplicaSet (leakwatch_dev.trivy, as trivy-operator would) and the operator reads them.
    sboms: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def jooby_app(cls, **overrides: Any) -> StoryConfig:
        """The stand-in story as a real cluster tells it: app versions are image tags and Jooby is a
        component inside each, known from the SbomReports written for their ReplicaSets."""
        flat, leaking = JOOBY_APP_RELEASES
        defaults: dict[str, Any] = {
            "behaviours": {
                flat: VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
                leaking: VersionBehaviour(base_mib=250, growth_mib_per_minute=100),
            },
            "backdate_seconds": {flat: 6 * 86400},
            "sboms": {app: jooby_app_bom(*inside) for app, inside in JOOBY_APP_RELEASES.items()},
        }
        return cls(**{**defaults, **overrides})

    @classmethod
    def real_node(cls, **overrides: Any) -> StoryConfig:
        """The Netty service on a real node: one replica (hostNetwork ports are per node), replaced
        on rollout (Recreate, for the same reason). 384 MiB leaves the leaking JVM about 3 minutes
        under 200 POST/s: LeakWatch needs about one of them, also on a busy machine."""
        defaults: dict[str, Any] = {
            "node": "real",
            "replicas": 1,
            "memory_limit": "384Mi",
            "backdate_seconds": {},
            # The leak is one of real memory, but Medium sensitivity wants 3-4 hours of growth: the
            # operator stretches what it reads by this factor (LEAKWATCH_TIME_SCALE), so that it
            # calls the leak within a minute of the three the JVM takes to reach its limit. Every
            # rate, duration and time-to-OOM it reports is in that one stretched clock.
            "time_scale": 240.0,
        }
        return cls(**{**defaults, **overrides})


def netty_boms() -> dict[str, dict[str, Any]]:
    """Release -> the SBOM cyclonedx-maven-plugin wrote when its image was built."""
    boms = image_boms()
    return {v: boms[ref] for v in NETTY_RELEASES if (ref := f"localhost/lw/netty-post:{v}") in boms}


def image(cfg: StoryConfig, version: str) -> str:
    if cfg.node == "real":
        return str(netty_container(version, cfg.memory_limit)["image"])
    return f"registry.local/shop/{APP}:{version}"


def deployment(cfg: StoryConfig, version: str) -> dict[str, Any]:
    if cfg.node == "real":
        return real_deployment(cfg, version)
    replicas = cfg.replicas
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
                            "image": image(cfg, version),
                            "resources": {"limits": {"memory": cfg.memory_limit}},
                        }
                    ]
                },
            },
        },
    }


def netty_container(release: str, memory_limit: str) -> dict[str, Any]:
    """The Netty workload's container on a real node; Prometheus finds it by its `metrics` port."""
    return {
        "name": "app",
        "image": f"localhost/lw/netty-post:{release}",
        "imagePullPolicy": "Never",  # imported into the node's containerd; there is no registry
        "args": [str(HTTP_PORT), str(METRICS_PORT)],
        "env": [{"name": "JAVA_TOOL_OPTIONS", "value": JVM_OPTIONS}],
        "ports": [{"name": "http", "containerPort": HTTP_PORT}, {"name": "metrics", "containerPort": METRICS_PORT}],
        "resources": {"limits": {"memory": memory_limit}, "requests": {"memory": memory_limit, "cpu": "100m"}},
        "readinessProbe": {"tcpSocket": {"port": HTTP_PORT, "host": "127.0.0.1"}, "periodSeconds": 1},
    }


def real_deployment(cfg: StoryConfig, version: str) -> dict[str, Any]:
    container = netty_container(version, cfg.memory_limit)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP},
        "spec": {
            "replicas": cfg.replicas,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": APP}},
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": loopback_pod_spec([container], grace_seconds=2),
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
            "version": {"source": "ImageTag", "container": "app", "framework": framework(cfg)},
            "memory": {"window": cfg.window, "step": cfg.step},
            "oom": {"threshold": 2, "window": "1h"},
        },
    }


def framework(cfg: StoryConfig) -> str:
    return "io.leakwatch:netty-post" if cfg.node == "real" else "io.jooby:jooby-netty"


class LocalStory(contextlib.ExitStack):
    operator: OperatorProcess  # the story's own operator: only with StoryConfig.operator

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
        components = ("controller-manager", "scheduler") + (("kwok",) if cfg.node == "stand-in" else ())
        self.cp = self.enter_context(
            ControlPlane(components=components, controllers="*", apiserver_args=cfg.apiserver_args)
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
        if cfg.sboms:
            self.cp.install_crds(trivy.CRD_DIR)
            reporter = trivy.SbomReporter(api, cfg.namespace, {image(cfg, v): bom for v, bom in cfg.sboms.items()})
            reporter.start()
            self.callback(reporter.stop)
        self.wait(lambda: self.core.list_namespaced_service_account(cfg.namespace).items, 60, "a ServiceAccount")
        scrapes = self._start_real_node() if cfg.node == "real" else self._start_stand_in()
        if cfg.operator:
            self.operator = OperatorProcess(self.cp, self.workdir, [cfg.namespace], kubeconfig=operator_kubeconfig)
            scrapes.append(
                {
                    "job_name": "leakwatch",
                    "honor_labels": True,
                    "scrape_interval": "2s",
                    "static_configs": [{"targets": [f"127.0.0.1:{self.operator.metrics_port}"]}],
                }
            )
        self.prometheus = PrometheusServer(
            self.workdir / "prometheus",
            scrape_configs=scrapes,
            line="3" if cfg.node == "real" else None,  # pod discovery needs kubernetes_sd_configs
        )
        self.prometheus.start()
        self.callback(self.prometheus.stop)
        if cfg.operator:
            self.operator.extra_env = self.operator_env()
            self.operator.start()
            self.callback(self.operator.stop)
        self.custom.create_namespaced_custom_object(GROUP, VERSION, cfg.namespace, "leakwatches", leakwatch(cfg))

    def operator_env(self) -> dict[str, str]:
        """The settings the story's operator runs with (its Prometheus, interval and clock), for an
        operator a test starts itself."""
        return {
            "LEAKWATCH_PROMETHEUS_URL": self.prometheus.url,
            "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": str(self.cfg.analysis_interval_seconds),
            "LEAKWATCH_TIME_SCALE": str(self.cfg.time_scale),
            **({"LEAKWATCH_SBOM_REPORTS": "true"} if self.cfg.sboms else {}),
        }

    def _start_stand_in(self) -> list[dict[str, Any]]:
        node: Any = fake_node()  # the client takes plain dicts as well as its models
        self.core.create_node(node)
        self.kubelet = FakeKubelet(
            self.core,
            self.cfg.behaviours,
            self.cfg.namespace,
            backdate_seconds={v: story / self.cfg.time_scale for v, story in self.cfg.backdate_seconds.items()},
        )
        self.kubelet.start()
        self.callback(self.kubelet.stop)
        return [self.kubelet.scrape_config("1s")]

    def _start_real_node(self) -> list[dict[str, Any]]:
        images = tuple(f"localhost/lw/{name}" for name in ("pause:1", *(f"netty-post:{v}" for v in NETTY_RELEASES)))
        self.node = self.enter_context(RealNode(self.cp, images=images))
        # POSTs for as long as the story runs; while a pod restarts they fail and are retried.
        self.load = PostLoad(HTTP_PORT, rate=self.cfg.post_rate, seconds=3600)
        self.load.start()
        self.callback(self.load.stop)
        return self.node.prometheus_scrape_configs(self.workdir / "scrape", interval="2s")

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
                "--set",
                f"components.sbomReports.enabled={str(bool(self.cfg.sboms)).lower()}",
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
        body: Any = deployment(self.cfg, version)
        self.apps.create_namespaced_deployment(self.cfg.namespace, body)

    def roll_to(self, version: str) -> None:
        containers = [{"name": "app", "image": image(self.cfg, version)}]
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
