"""Two replicas of one operator sharing one kopf peering, on a real API server whose audit log
says who wrote what. Each replica runs as its own ServiceAccount, so every write is attributed.

kopf pauses the lower-priority replica: its own watch streams stop and its daemons are stopped.
LeakWatch's threads (pod watch, publishers, analyser) are not kopf's, so what keeps a paused
replica silent is the ownership daemon: while it does not run, the replica writes no status,
posts no Event, exports no OOM counter and takes no Auto action.

The Auto rollback test runs the same two replicas on the leak story's cluster (test_recommend.py's:
a real Deployment whose ReplicaSets kube-controller-manager makes, pods on a kwok node whose memory a
stand-in kubelet serves to a real Prometheus), with the audit log added to its API server.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

from helpers import OperatorProcess, deployment_pod, kubelet_status, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import REPO_ROOT, ControlPlane
from leakwatch_dev.story import APP, LocalStory, StoryConfig

pytestmark = pytest.mark.cluster
NS, PEERING = "ha", "leakwatch"
OPERATORS = "leakwatch-system"
WRITES = {"create", "update", "patch", "delete"}
KOPF_CRDS = REPO_ROOT / "helm" / "leakwatch" / "crds" / "kopf"


class Audited:
    def __init__(self, cp: ControlPlane, log: Path) -> None:
        self.cp, self.log = cp, log
        api = config.new_client_from_config(str(cp.kubeconfig))
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)

    def writes(self, account: str, since: datetime, until: datetime | None = None) -> Counter[str]:
        """What ServiceAccount `account` wrote since `since` (and before `until`), by verb and resource."""
        found: Counter[str] = Counter()
        user = f"system:serviceaccount:{OPERATORS}:{account}"
        text = self.log.read_text()
        # The API server may be writing the last line as this reads: take only complete ones.
        for line in text[: text.rfind("\n") + 1].splitlines():
            entry = json.loads(line)
            if entry.get("user", {}).get("username") != user or entry.get("verb") not in WRITES:
                continue
            if entry.get("stage") != "ResponseComplete":
                continue
            when = datetime.fromisoformat(entry["requestReceivedTimestamp"].replace("Z", "+00:00"))
            ref = entry.get("objectRef", {})
            resource = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            if until is not None and when >= until:
                continue
            if when >= since and resource != "kopfpeerings":  # peering keep-alives are how they agree
                found[f"{entry['verb']} {resource}"] += 1
        return found

    def status(self) -> dict[str, Any]:
        obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", "checkout-api")
        return dict(obj.get("status") or {})

    def kubelet(self, restarts: int, started: str) -> None:
        """The pod's container after `restarts` OOMKills, the last one now."""
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = kubelet_status(restarts, now if restarts else None, started=started)
        self.core.patch_namespaced_pod_status("checkout-api-0", NS, status)


def audit_args(workdir: Path) -> tuple[tuple[str, ...], Path]:
    """kube-apiserver flags that log who wrote what (the operators' ServiceAccounts only), and the log."""
    policy = workdir / "audit-policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "audit.k8s.io/v1",
                "kind": "Policy",
                "omitStages": ["RequestReceived"],
                "rules": [
                    {"level": "Metadata", "userGroups": [f"system:serviceaccounts:{OPERATORS}"]},
                    {"level": "None"},
                ],
            }
        )
    )
    log = workdir / "audit.log"
    return (f"--audit-policy-file={policy}", f"--audit-log-path={log}", "--audit-log-maxsize=0"), log


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    workdir = tmp_path_factory.mktemp("ha")
    args, log = audit_args(workdir)
    with ControlPlane(workdir=workdir / "cp", apiserver_args=args) as cp:
        cp.install_crds()
        cp.install_crds(KOPF_CRDS)
        yield Audited(cp, log)


def peering(audited: Audited) -> None:
    """The operators' namespace and the KopfPeering the replicas of NS agree through."""
    audited.core.create_namespace({"metadata": {"name": OPERATORS}})
    audited.custom.create_namespaced_custom_object(
        "kopf.dev", "v1", NS, "kopfpeerings", {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering",
                                               "metadata": {"name": PEERING}}
    )  # fmt: skip


def replica(
    audited: Audited, name: str, priority: int, log_dir: Path, settings: dict[str, str] | None = None
) -> OperatorProcess:
    """A replica that runs as ServiceAccount `name` (cluster-admin: the audit log, not RBAC, is what
    these tests look at) and peers through PEERING with `priority`."""
    api = config.new_client_from_config(str(audited.cp.kubeconfig))
    client.CoreV1Api(api).create_namespaced_service_account(OPERATORS, {"metadata": {"name": name}})
    client.RbacAuthorizationV1Api(api).create_cluster_role_binding(
        {
            "metadata": {"name": f"{name}-admin"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": OPERATORS}],
        }
    )
    log_dir.mkdir()
    return OperatorProcess(
        audited.cp,
        log_dir,
        [NS],
        kubeconfig=audited.cp.service_account_kubeconfig(OPERATORS, name),
        env={
            **(settings or {}),
            "LEAKWATCH_PEERING_NAME": PEERING,
            "LEAKWATCH_PEERING_PRIORITY": str(priority),
            "POD_ID": name,
        },
    )


def oom_counter(process: OperatorProcess) -> float | None:
    samples = [
        s.value
        for family in text_string_to_metric_families(process.get("/metrics"))
        for s in family.samples
        if s.name == "leakwatch_oom_kills_total"
    ]
    return sum(samples) if samples else None


def owns(process: OperatorProcess) -> bool:
    log = process.text()
    return log.rfind("this replica owns LeakWatch") > log.rfind("this replica no longer owns LeakWatch")


def test_only_the_active_replica_writes_and_the_next_one_starts_from_the_current_spec(
    audited: Audited, tmp_path: Path
) -> None:
    core, custom = audited.core, audited.custom
    core.create_namespace({"metadata": {"name": NS}})
    peering(audited)
    wait_for(
        lambda: core.list_namespaced_service_account(NS, field_selector="metadata.name=default").items,
        what="the default ServiceAccount",
    )
    custom.create_namespaced_custom_object(
        GROUP, VERSION, NS, "leakwatches", {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LeakWatch",
                                           "metadata": {"name": "checkout-api"},
                                           "spec": {"selector": {"matchLabels": {"app": "checkout-api"}}}}
    )  # fmt: skip
    time.sleep(1.1)  # the pod starts after the LeakWatch exists, so its OOMKills are new, not history
    started = core.create_namespaced_pod(NS, deployment_pod("checkout-api-0", "3.1.2")).metadata.creation_timestamp
    started_at = started.strftime("%Y-%m-%dT%H:%M:%SZ")
    audited.kubelet(0, started_at)

    low = replica(audited, "leakwatch-b", 100, tmp_path / "b")
    high = replica(audited, "leakwatch-a", 200, tmp_path / "a")
    try:
        low.start()
        audited.kubelet(1, started_at)
        wait_for(lambda: audited.status().get("oomKills") == 1, timeout=60, what="the first replica to count")

        # A higher-priority replica joins: the first pauses and stops writing.
        high.start()
        wait_for(lambda: "Pausing operations in favour of" in low.text(), timeout=60, what="kopf to pause it")
        wait_for(lambda: owns(high) and not owns(low), timeout=60, what="ownership to move to the new replica")
        handover = datetime.now(UTC)
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, NS, "leakwatches", "checkout-api", {"spec": {"oom": {"threshold": 3}}}
        )
        audited.kubelet(2, started_at)
        wait_for(
            lambda: (s := audited.status()).get("oomKills") == 2 and s.get("observedGeneration") == 2,
            timeout=60,
            what="the active replica to count and take the new spec",
        )
        time.sleep(5)  # the paused one's threads keep running: give them time to misbehave
        assert oom_counter(low) is None  # a paused replica exports no copy of the counters
        assert oom_counter(high) == 2
        assert audited.writes("leakwatch-b", handover) == Counter(), "the paused replica wrote"
        active = audited.writes("leakwatch-a", handover)
        assert active["patch leakwatches/status"] >= 1 and active["create events"] >= 1, active

        # The active one dies. The spec changes while nobody owns it; the survivor takes over
        # with that spec (kopf re-lists on resume) and counts on from the status in the cluster.
        high.kill()
        died = datetime.now(UTC)
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, NS, "leakwatches", "checkout-api", {"spec": {"oom": {"threshold": 4}}}
        )
        audited.kubelet(3, started_at)
        wait_for(
            lambda: (s := audited.status()).get("oomKills") == 3 and s.get("observedGeneration") == 3,
            timeout=150,
            what="the survivor to take over with the current spec",
        )
        took = (datetime.now(UTC) - died).total_seconds()
        assert owns(low)
        assert wait_for(lambda: oom_counter(low)) == 3
        assert [v["oomKills"] for v in audited.status()["versions"]] == [3]  # none counted twice
        oom_events = [e for e in core.list_namespaced_event(NS).items if e.reason == "OOMKilled"]
        announced = Counter(e.message for e in oom_events if e.involved_object.kind == "LeakWatch")
        assert all(n == 1 for n in announced.values()) and len(announced) == 3, announced
        print(f"\nHA: the survivor owned the LeakWatch {took:.1f} s after the active replica was SIGKILLed")
    finally:
        high.stop()
        low.stop()


# --- Auto mode: one rollback across two replicas -------------------------------------------------------
@pytest.fixture
def leak_story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStory, Audited]]:
    """test_recommend.py's story (checkout-api as a real Deployment, a real Prometheus, Jooby 3.0.10
    flat and 3.1.2 leaking) in NS, with the audit log on and no operator of its own: the test runs
    the replicas."""
    workdir = tmp_path_factory.mktemp("ha-story")
    args, log = audit_args(workdir)
    with LocalStory(workdir, StoryConfig(namespace=NS, operator=False, apiserver_args=args)) as story:
        story.cp.install_crds(KOPF_CRDS)
        yield story, Audited(story.cp, log)


def last_action(audited: Audited) -> dict[str, Any]:
    return dict(audited.status().get("lastAction") or {})


def verdicts(audited: Audited) -> dict[str, str]:
    return {v["version"]: v.get("verdict", "") for v in audited.status().get("versions", [])}


def image(story: LocalStory) -> str:
    deployment = story.apps.read_namespaced_deployment(APP, NS)
    return str(deployment.spec.template.spec.containers[0].image).rsplit(":", 1)[1]


def only_version_running(story: LocalStory, version: str) -> bool:
    """The Deployment's pods as the API server has them: as many as its replicas, all running
    `version`, none on its way out."""
    pods = [
        p
        for p in story.core.list_namespaced_pod(NS, label_selector=f"app={APP}").items
        if p.metadata.deletion_timestamp is None
    ]
    return len(pods) == story.cfg.replicas and all(
        p.status.phase == "Running" and str(p.spec.containers[0].image).rsplit(":", 1)[-1] == version for p in pods
    )


def cooldown_events(story: LocalStory) -> dict[str, str]:
    """The Events that say Auto mode held back for the cooldown: message by the kind they are about."""
    return {
        e.involved_object.kind: e.message
        for e in story.core.list_namespaced_event(NS).items
        if e.reason == "AutoRollbackCooldownActive"
    }


def moment(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_an_auto_rollback_happens_once_across_two_replicas_within_a_cooldown(
    leak_story: tuple[LocalStory, Audited], tmp_path: Path
) -> None:
    story, audited = leak_story
    begun = datetime.now(UTC)
    peering(audited)
    audited.custom.patch_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        "leakwatches",
        APP,
        {"spec": {"action": {"mode": "Auto", "cooldown": "1h", "actAfter": "1s"}}},  # act on the first Leaking
    )
    story.deploy("3.0.10")
    a = replica(audited, "leakwatch-a", 200, tmp_path / "a", story.operator_env())
    b = replica(audited, "leakwatch-b", 100, tmp_path / "b", story.operator_env())
    try:
        # B owns the LeakWatch first, then pauses for A: it keeps what it saw of it (Auto mode, no
        # action of its own, the pods its pod watch goes on reporting) in memory while A acts.
        b.start()
        wait_for(lambda: owns(b), timeout=60, what="B to own the LeakWatch")
        a.start()
        wait_for(lambda: "Pausing operations in favour of" in b.text(), timeout=60, what="kopf to pause B")
        wait_for(lambda: owns(a) and not owns(b), timeout=60, what="ownership to move to A")
        paused = datetime.now(UTC)

        wait_for(lambda: verdicts(audited).get("3.0.10") == "Stable", timeout=180, what="3.0.10 judged Stable")
        story.roll_to("3.1.2")
        done = wait_for(
            lambda: (x := last_action(audited)).get("reason") == "AutoRollback" and x,
            timeout=240,
            what="A's automatic rollback",
        )
        assert (done["fromVersion"], done["toVersion"]) == ("3.1.2", "3.0.10")
        assert image(story) == "3.0.10"
        assert audited.writes("leakwatch-a", begun)["patch deployments"] == 1

        # A dies before anyone deploys 3.1.2 again, so nothing it remembers can have seen that; B
        # takes over with the LeakWatch as the cluster has it, where status.lastAction.actedAt is
        # the one thing that says a rollback happened within the hour.
        wait_for(lambda: only_version_running(story, "3.0.10"), timeout=90, what="3.0.10 running again")
        a.kill()
        died = datetime.now(UTC)
        assert audited.writes("leakwatch-b", paused, until=died) == Counter(), "the paused replica wrote"
        story.roll_to("3.1.2")  # as a person would, 3.1.2's leak being news to them
        wait_for(lambda: owns(b), timeout=150, what="B to take over")
        decided = wait_for(
            lambda: (
                (x := last_action(audited)).get("time")
                and moment(x["time"]) > died
                and x.get("reason") != "RolloutInProgress"
                and x
            ),
            timeout=120,
            what="B's decision on 3.1.2",
        )
        assert decided["reason"] == "CooldownActive", decided  # a replica counting from memory rolls back
        assert (decided["fromVersion"], decided["toVersion"]) == ("3.1.2", "3.0.10")
        assert decided["actedAt"] == done["actedAt"]  # the cooldown counts from A's rollback
        until = (moment(done["actedAt"]) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert decided["message"] == f"{APP} was acted on at {done['actedAt']}; the cooldown lasts until {until}"
        # B goes on deciding (a lastAction.time later by a few analysis intervals), and the same way.
        later = moment(decided["time"]) + timedelta(seconds=3 * story.cfg.analysis_interval_seconds)
        wait_for(lambda: moment(last_action(audited)["time"]) >= later, timeout=60, what="B to decide again")
        assert last_action(audited)["reason"] == "CooldownActive"
        assert image(story) == "3.1.2"
        said = wait_for(
            lambda: (found := cooldown_events(story)).keys() >= {"LeakWatch", "Deployment"} and found,
            what="the cooldown announced on the LeakWatch and the Deployment",
        )
        assert set(said.values()) == {decided["message"]}, said

        survivor = audited.writes("leakwatch-b", died)
        assert survivor["patch leakwatches/status"] >= 1, survivor  # the CooldownActive above is B's
        writes = audited.writes("leakwatch-a", begun) + audited.writes("leakwatch-b", begun)
        assert writes["patch deployments"] == 1, writes  # A's rollback, and nothing from B ever
    finally:
        a.stop()
        b.stop()
