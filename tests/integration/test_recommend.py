"""The whole story on a real control plane with Deployments: kube-controller-manager makes the
ReplicaSets and pods, kube-scheduler places them on a kwok node, a stand-in kubelet reports their
memory to a real Prometheus and writes OOMKills, and the real operator recommends what to do."""

from __future__ import annotations

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

from helpers import OperatorProcess, wait_for
from leakwatch.dev.cluster import ControlPlane
from leakwatch.dev.kubelet import CUSTOM_STATUS, FakeKubelet, VersionBehaviour, fake_node
from leakwatch.dev.prometheus import PrometheusServer

pytestmark = pytest.mark.cluster
GROUP, VERSION = "leakwatch.io", "v1alpha1"
REPO = Path(__file__).resolve().parents[2]
NS = "shop"
BEHAVIOURS = {
    "3.0.10": VersionBehaviour(base_mib=250, growth_mib_per_minute=0),
    "3.1.2": VersionBehaviour(base_mib=250, growth_mib_per_minute=300),  # OOM at 512Mi in under a minute
}


def deployment(version: str, **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "checkout-api", "annotations": annotations},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "checkout-api"}},
            "template": {
                "metadata": {"labels": {"app": "checkout-api"}, "annotations": CUSTOM_STATUS},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": f"registry.local/shop/checkout-api:{version}",
                            "resources": {"limits": {"memory": "512Mi"}},
                        }
                    ]
                },
            },
        },
    }


@dataclass
class Story:
    cp: ControlPlane
    apps: client.AppsV1Api
    core: client.CoreV1Api
    custom: client.CustomObjectsApi
    kubelet: FakeKubelet
    operator: OperatorProcess

    def leakwatch(self) -> dict[str, Any]:
        obj: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, NS, "leakwatches", "checkout-api"
        )
        return obj

    def recommendation(self) -> dict[str, Any]:
        return dict(self.leakwatch().get("status", {}).get("recommendation") or {})

    def roll_to(self, version: str) -> None:
        self.apps.patch_namespaced_deployment(
            "checkout-api",
            NS,
            {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [{"name": "app", "image": f"registry.local/shop/checkout-api:{version}"}]
                        }
                    }
                }
            },
        )

    def events(self, kind: str) -> list[Any]:
        return [e for e in self.core.list_namespaced_event(NS).items if e.involved_object.kind == kind]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    with ControlPlane(components=("controller-manager", "scheduler", "kwok"), controllers="*") as cp:
        api = config.new_client_from_config(str(cp.kubeconfig))
        core, apps, custom = client.CoreV1Api(api), client.AppsV1Api(api), client.CustomObjectsApi(api)
        kubectl = [str(cp.binary("kubectl")), "--kubeconfig", str(cp.kubeconfig)]
        subprocess.run([*kubectl, "apply", "--server-side", "-f", str(REPO / "crds")], check=True, capture_output=True)
        subprocess.run(
            [
                *kubectl,
                "wait",
                "--for=condition=Established",
                "crd/leakwatches.leakwatch.io",
                "crd/leakadvisories.leakwatch.io",
            ],
            check=True,
            capture_output=True,
        )
        core.create_node(fake_node())
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        wait_for(lambda: core.list_namespaced_service_account(NS).items, what="the default ServiceAccount")
        kubelet = FakeKubelet(core, BEHAVIOURS, NS, backdate_seconds={"3.0.10": 6 * 86400})
        kubelet.start()
        prometheus = PrometheusServer(tmp_path_factory.mktemp("prom"), scrape_configs=[kubelet.scrape_config("1s")])
        prometheus.start()
        operator = OperatorProcess(cp, tmp_path_factory.mktemp("operator"), [NS])
        operator.extra_env = {
            "LEAKWATCH_PROMETHEUS_URL": prometheus.url,
            "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "2",
            "LEAKWATCH_TIME_SCALE": "120",
        }
        operator.start()
        custom.create_namespaced_custom_object(
            GROUP,
            VERSION,
            NS,
            "leakwatches",
            {
                "apiVersion": f"{GROUP}/{VERSION}",
                "kind": "LeakWatch",
                "metadata": {"name": "checkout-api"},
                "spec": {
                    "selector": {"matchLabels": {"app": "checkout-api"}},
                    "version": {"source": "ImageTag", "framework": "io.jooby:jooby-netty"},
                    "memory": {"window": "4m", "step": "5s"},
                    "oom": {"threshold": 2, "window": "1h"},
                },
            },
        )
        apps.create_namespaced_deployment(NS, deployment("3.0.10"))
        try:
            yield Story(cp, apps, core, custom, kubelet, operator)
        finally:
            operator.stop()
            kubelet.stop()
            prometheus.stop()


def test_rollout_of_the_leaky_version_gets_a_rollback_then_an_upgrade_with_the_advisory(story: Story) -> None:
    # 3.0.10 runs flat for a while (its pods say they started six days ago).
    wait_for(lambda: len(story.kubelet.pods) == 2, timeout=60, what="two 3.0.10 pods running")
    wait_for(
        lambda: (
            {v["version"]: v.get("verdict") for v in story.leakwatch().get("status", {}).get("versions", [])}.get(
                "3.0.10"
            )
            == "Stable"
        ),
        timeout=180,
        what="3.0.10 judged Stable",
    )
    replicasets = story.apps.list_namespaced_replica_set(NS).items
    assert len(replicasets) == 1

    story.roll_to("3.1.2")
    rec = wait_for(
        lambda: (r := story.recommendation()).get("action") == "Rollback" and r,
        timeout=240,
        what="a Rollback recommendation",
    )
    assert (rec["fromVersion"], rec["toVersion"]) == ("3.1.2", "3.0.10")
    assert "roll back to 3.0.10" in rec["summary"]
    assert len(story.apps.list_namespaced_replica_set(NS).items) == 2  # real ReplicaSets, one per version
    status = story.leakwatch()["status"]
    assert status["verdict"] == "Leaking" and status["suspectVersion"] == "3.1.2"
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["RollbackRecommended"]["status"] == "True"
    wait_for(
        lambda: any(e.reason == "RollbackRecommended" for e in story.events("Deployment")),
        what="an Event on the Deployment",
    )
    info = [
        s.labels
        for family in text_string_to_metric_families(story.operator.get("/metrics"))
        for s in family.samples
        if s.name == "leakwatch_recommendation_info" and s.value == 1
    ]
    assert info == [
        {
            "namespace": NS,
            "leakwatch": "checkout-api",
            "workload": "checkout-api",
            "action": "Rollback",
            "from_version": "3.1.2",
            "to_version": "3.0.10",
        }
    ]

    advisory = yaml.safe_load((REPO / "examples" / "jooby-3453.leakadvisory.yaml").read_text())
    story.custom.create_cluster_custom_object(GROUP, VERSION, "leakadvisories", advisory)
    rec = wait_for(
        lambda: (r := story.recommendation()).get("action") == "Upgrade" and r,
        timeout=60,
        what="an Upgrade recommendation once the advisory is known",
    )
    assert rec["toVersion"] == "3.1.4"
    assert "fixes jooby#3453" in rec["summary"] and "or roll back to 3.0.10" in rec["summary"]
    # A recommendation is announced when it changes, not on every cycle.
    time.sleep(5)
    upgrades = [e for e in story.events("LeakWatch") if e.reason == "UpgradeRecommended"]
    assert len(upgrades) == 1


def image(story: Story) -> str:
    deployment = story.apps.read_namespaced_deployment("checkout-api", NS)
    return str(deployment.spec.template.spec.containers[0].image).rsplit(":", 1)[1]


def last_action(story: Story) -> dict[str, Any]:
    return dict(story.leakwatch().get("status", {}).get("lastAction") or {})


def test_auto_rollback_waits_for_a_paused_workload_acts_once_and_honours_cooldown_and_gitops(story: Story) -> None:
    assert image(story) == "3.1.2"
    story.apps.patch_namespaced_deployment("checkout-api", NS, {"spec": {"paused": True}})
    story.custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "leakwatches", "checkout-api", {"spec": {"action": {"mode": "Auto", "cooldown": "1h"}}}
    )
    wait_for(lambda: last_action(story).get("reason") == "WorkloadPaused", timeout=60, what="a paused skip")
    assert image(story) == "3.1.2"
    wait_for(
        lambda: any(e.reason == "AutoRollbackWorkloadPaused" for e in story.events("Deployment")),
        what="the skip announced on the Deployment",
    )

    story.apps.patch_namespaced_deployment("checkout-api", NS, {"spec": {"paused": False}})
    done = wait_for(
        lambda: (a := last_action(story)).get("reason") == "AutoRollback" and a,
        timeout=90,
        what="the automatic rollback",
    )
    assert (done["fromVersion"], done["toVersion"]) == ("3.1.2", "3.0.10")
    assert image(story) == "3.0.10"
    wait_for(lambda: [e for e in story.events("Deployment") if e.reason == "AutoRollback"], what="its Event")

    # Someone deploys the leaky version again within the cooldown: LeakWatch does not act twice.
    wait_for(
        lambda: all(p.version == "3.0.10" for p in story.kubelet.pods.values()), timeout=90, what="3.0.10 running again"
    )
    story.roll_to("3.1.2")
    skipped = wait_for(
        lambda: (a := last_action(story)).get("reason") == "CooldownActive" and a, timeout=120, what="a cooldown skip"
    )
    assert skipped["actedAt"] == done["actedAt"]
    assert image(story) == "3.1.2"

    # Managed by Argo CD: skipped even once the cooldown is over, unless allowed.
    story.apps.patch_namespaced_deployment(
        "checkout-api",
        NS,
        {"metadata": {"annotations": {"argocd.argoproj.io/tracking-id": "shop:apps/Deployment:shop/checkout-api"}}},
    )
    story.custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "leakwatches", "checkout-api", {"spec": {"action": {"cooldown": "1s"}}}
    )
    wait_for(lambda: last_action(story).get("reason") == "ManagedByGitOps", timeout=60, what="a GitOps skip")
    time.sleep(5)
    assert image(story) == "3.1.2"
    rollbacks = [e for e in story.events("Deployment") if e.reason == "AutoRollback"]
    assert len(rollbacks) == 1
    print(
        "\n".join(
            f"{e.type:8} {e.reason:28} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
            for e in sorted(story.core.list_namespaced_event(NS).items, key=lambda e: e.metadata.creation_timestamp)
            if e.reason.startswith("Auto") or e.reason.endswith("Recommended")
        )
    )
