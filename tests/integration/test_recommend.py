"""The whole story on a real control plane with Deployments: kube-controller-manager makes the
ReplicaSets and pods, kube-scheduler places them on a kwok node, a stand-in kubelet reports their
memory to a real Prometheus and writes OOMKills, and the real operator recommends what to do."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from helpers import wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.story import LocalStory

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]
NS = "shop"
TWIN = "checkout-api-twin"  # a second LeakWatch on the same pods, created after the first


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStory]:
    with LocalStory(tmp_path_factory.mktemp("story")) as local:
        local.deploy("3.0.10")
        twin = {**local.leakwatch(), "metadata": {"name": TWIN}}
        twin.pop("status", None)
        time.sleep(1.1)  # creationTimestamp counts seconds: the twin must be the younger
        local.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", twin)
        yield local


def test_rollout_of_the_leaky_version_gets_a_rollback_then_an_upgrade_with_the_advisory(story: LocalStory) -> None:
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
        if s.name == "leakwatch_recommendation_info" and s.value == 1 and s.labels["leakwatch"] != TWIN
    ]
    assert info == [
        {
            "namespace": NS,
            "leakwatch": "checkout-api",
            "workload": "checkout-api",
            "action": "Rollback",
            "from_version": "3.1.2",
            "to_version": "3.0.10",
            "component": "",  # nothing is known of what runs inside 3.1.2: no SBOM in this story
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
    upgrades = [
        e for e in story.events("LeakWatch") if e.reason == "UpgradeRecommended" and e.involved_object.name != TWIN
    ]
    assert len(upgrades) == 1


def image(story: LocalStory) -> str:
    deployment = story.apps.read_namespaced_deployment("checkout-api", NS)
    return str(deployment.spec.template.spec.containers[0].image).rsplit(":", 1)[1]


def last_action(story: LocalStory, name: str = "checkout-api") -> dict[str, Any]:
    obj: Any = story.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", name)
    return dict(obj.get("status", {}).get("lastAction") or {})


def test_auto_rollback_waits_for_a_paused_workload_acts_once_and_honours_cooldown_and_gitops(story: LocalStory) -> None:
    assert image(story) == "3.1.2"
    story.apps.patch_namespaced_deployment("checkout-api", NS, {"spec": {"paused": True}})
    auto = {"mode": "Auto", "cooldown": "1h", "actAfter": "1h"}
    for name in ("checkout-api", TWIN):  # two Auto LeakWatches on one Deployment: only the first acts
        story.custom.patch_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", name, {"spec": {"action": auto}})
    wait_for(lambda: last_action(story).get("reason") == "WorkloadPaused", timeout=60, what="a paused skip")
    twin = wait_for(
        lambda: (a := last_action(story, TWIN)).get("reason") == "AnotherLeakWatchActs" and a,
        timeout=60,
        what="the twin to stand aside",
    )
    assert (
        twin["message"] == "LeakWatch checkout-api also selects checkout-api in Auto mode and came first: only it acts"
    )
    assert image(story) == "3.1.2"
    wait_for(
        lambda: any(e.reason == "AutoRollbackWorkloadPaused" for e in story.events("Deployment")),
        what="the skip announced on the Deployment",
    )

    # Resumed, it waits until the recommendation has stood for action.actAfter (1 h, which it has not).
    story.apps.patch_namespaced_deployment("checkout-api", NS, {"spec": {"paused": False}})
    since = story.recommendation()["since"]
    waiting = wait_for(
        lambda: (a := last_action(story)).get("reason") == "RecommendationTooNew" and a,
        timeout=60,
        what="a wait for the recommendation to stand",
    )
    assert f"is recommended since {since}; Auto mode acts on it if it still stands at " in waiting["message"]
    assert image(story) == "3.1.2"
    story.custom.patch_namespaced_custom_object(
        GROUP, VERSION, NS, "leakwatches", "checkout-api", {"spec": {"action": {"actAfter": "1s"}}}
    )
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
    assert last_action(story, TWIN)["reason"] == "AnotherLeakWatchActs"  # its own cooldown never started

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

    # SIGKILL the operator and start it again: the same recommendation since the same moment, the
    # same last action, and no Event posted twice.
    before, acted = story.recommendation(), last_action(story)

    def decisions() -> int:  # not OOMKilled Events: the stand-in keeps killing 3.1.2
        return len([e for e in story.core.list_namespaced_event(NS).items
                    if e.reason.endswith("Recommended") or e.reason.startswith("AutoRollback")])  # fmt: skip

    events_before = decisions()
    story.operator.kill()
    story.operator.start()
    wait_for(lambda: story.status().get("lastAnalysisTime", "") > acted["time"], timeout=60, what="a fresh analysis")
    time.sleep(5)
    after = story.recommendation()
    assert (after["action"], after["toVersion"], after["since"]) == (
        before["action"],
        before["toVersion"],
        before["since"],
    )
    assert (last_action(story)["reason"], last_action(story)["actedAt"]) == (acted["reason"], acted["actedAt"])
    assert decisions() == events_before
    print(
        "\n".join(
            f"{e.type:8} {e.reason:28} {e.involved_object.kind}/{e.involved_object.name}: {e.message}"
            for e in sorted(story.core.list_namespaced_event(NS).items, key=lambda e: e.metadata.creation_timestamp)
            if e.reason.startswith("Auto") or e.reason.endswith("Recommended")
        )
    )
