"""OOMKill accounting and version attribution on a real API server.

Pods are created through the API server and their status is written through the status
subresource exactly as a kubelet writes it. The operator is a real process; it is SIGKILLed and
restarted mid-way to show that the ledger kept in the cluster neither loses nor double-counts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from helpers import OperatorProcess, deployment_pod, kubelet_status, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch.api.leakwatch import MAX_STORED_PODS
from leakwatch_dev.cluster import ControlPlane

pytestmark = pytest.mark.cluster
WATCHED, OTHER = "lw-oom-a", "lw-oom-b"


@pytest.fixture(scope="module")
def oom_operator(
    control_plane: ControlPlane, core_v1: client.CoreV1Api, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    for name in (WATCHED, OTHER):
        core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    process = OperatorProcess(control_plane, tmp_path_factory.mktemp("oom-operator"), [WATCHED, OTHER])
    process.start()
    yield process
    process.stop()


class Scenario:
    """One LeakWatch over one app's pods, with helpers to act as the kubelet and read results."""

    def __init__(
        self,
        core: client.CoreV1Api,
        custom: client.CustomObjectsApi,
        operator: OperatorProcess,
        *,
        create: bool = True,
        **spec: Any,
    ) -> None:
        self.core, self.custom, self.operator = core, custom, operator
        self.app = f"app-{uuid.uuid4().hex[:6]}"
        self.name = self.app
        self.started: dict[str, str] = {}  # pod -> status.startTime
        self.spec = spec
        if create:
            self.create_leakwatch()

    def create_leakwatch(self) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "LeakWatch",
            "metadata": {"name": self.name},
            "spec": {"selector": {"matchLabels": {"app": self.app}}, **self.spec},
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, WATCHED, "leakwatches", body)
        wait_for(lambda: self.status().get("observedGeneration") == 1, what="the operator to take the LeakWatch")

    def pod(self, name: str, version: str, namespace: str = WATCHED, **kw: Any) -> str:
        body = deployment_pod(f"{self.app}-{name}", version, app=self.app, **kw)
        created = self.core.create_namespaced_pod(namespace, body).metadata
        self.started[name] = created.creation_timestamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        return str(created.uid)

    def kubelet(self, name: str, namespace: str = WATCHED, **status: Any) -> None:
        status.setdefault("started", self.started.get(name))
        self.core.patch_namespaced_pod_status(f"{self.app}-{name}", namespace, kubelet_status(**status))

    def delete(self, name: str) -> None:
        self.core.delete_namespaced_pod(f"{self.app}-{name}", WATCHED, grace_period_seconds=0)

    def status(self) -> dict[str, Any]:
        obj = self.custom.get_namespaced_custom_object(GROUP, VERSION, WATCHED, "leakwatches", self.name)
        return dict(obj.get("status", {}))

    def kills(self) -> dict[str, tuple[int, int]]:
        return {v["version"]: (v["oomKills"], v["oomKillsInferred"]) for v in self.status().get("versions", [])}

    def wait_kills(self, expected: dict[str, tuple[int, int]]) -> None:
        wait_for(lambda: self.kills() == expected, what=f"OOMKills {expected}, have {self.kills()}")

    def metric(self) -> dict[tuple[str, str], float]:
        found = {}
        for family in text_string_to_metric_families(self.operator.get("/metrics")):
            for sample in family.samples:
                if sample.name == "leakwatch_oom_kills_total" and sample.labels["leakwatch"] == self.name:
                    found[(sample.labels["version"], sample.labels["workload"])] = sample.value
        return found

    def metric_in_window(self) -> dict[str, float]:
        found = {}
        for family in text_string_to_metric_families(self.operator.get("/metrics")):
            for sample in family.samples:
                if sample.name == "leakwatch_oom_kills_in_window" and sample.labels["leakwatch"] == self.name:
                    found[sample.labels["version"]] = sample.value
        return found

    def events(self, kind: str) -> list[Any]:
        items = self.core.list_namespaced_event(WATCHED).items
        return [
            e
            for e in items
            if e.involved_object.kind == kind and e.reason == "OOMKilled" and (self.app in e.involved_object.name)
        ]

    def rows(self) -> dict[str, dict[str, Any]]:
        return {v["version"]: v for v in self.status().get("versions", [])}


@pytest.fixture
def scenario(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> Scenario:
    return Scenario(core_v1, custom_objects, oom_operator)


def test_one_oomkill_is_counted_published_and_announced(scenario: Scenario) -> None:
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=0)
    scenario.kubelet("a", restarts=1, last_oom_at="2026-11-25T01:00:00Z")
    scenario.wait_kills({"3.1.2": (1, 0)})
    assert scenario.status()["oomKills"] == 1
    assert wait_for(lambda: scenario.metric()) == {("3.1.2", scenario.app): 1.0}
    owner_events = wait_for(lambda: scenario.events("ReplicaSet"), what="an Event on the pod's owner")
    assert "was OOMKilled at 2026-11-25T01:00:00Z" in owner_events[0].message
    assert wait_for(lambda: scenario.events("LeakWatch"), what="an Event on the LeakWatch")
    # The kubelet writes the same status again (e.g. a readiness flip): nothing new.
    scenario.kubelet("a", restarts=1, last_oom_at="2026-11-25T01:00:00Z")
    scenario.pod("marker", "3.1.2")  # a later event the operator must process after the replay
    wait_for(lambda: scenario.status()["versions"][0]["pods"] == 2, what="the marker pod")
    assert scenario.kills() == {"3.1.2": (1, 0)}
    assert len(scenario.events("ReplicaSet")) == 1


def test_three_oomkills_in_a_row(scenario: Scenario) -> None:
    scenario.pod("a", "3.1.2")
    for n in (1, 2, 3):
        scenario.kubelet("a", restarts=n, last_oom_at=f"2026-11-25T0{n}:00:00Z")
    scenario.wait_kills({"3.1.2": (3, 0)})
    assert wait_for(lambda: scenario.metric()) == {("3.1.2", scenario.app): 3.0}


def test_restarts_while_the_operator_is_down_are_counted_exactly(scenario: Scenario) -> None:
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=1, last_oom_at="2026-11-25T01:00:00Z")
    scenario.wait_kills({"3.1.2": (1, 0)})

    scenario.operator.kill()
    scenario.kubelet("a", restarts=2, last_oom_at="2026-11-25T02:00:00Z")
    scenario.kubelet("a", restarts=3, last_oom_at="2026-11-25T03:00:00Z")
    scenario.operator.start()

    # Only the last termination is visible: one observed, one inferred from the restartCount jump.
    scenario.wait_kills({"3.1.2": (3, 1)})
    assert wait_for(lambda: scenario.metric()) == {("3.1.2", scenario.app): 3.0}
    # A second restart with nothing new changes nothing.
    scenario.operator.kill()
    scenario.operator.start()
    scenario.pod("marker", "3.1.2")
    wait_for(lambda: scenario.status()["versions"][0]["pods"] == 2, what="the marker pod")
    assert scenario.kills() == {"3.1.2": (3, 1)}


def test_a_pod_deleted_after_an_oomkill_keeps_its_count(scenario: Scenario) -> None:
    scenario.pod("a", "3.1.2")
    # It ran for an hour before the LeakWatch existed; the OOMKill came after, so it counts.
    scenario.kubelet("a", restarts=1, last_oom_at=rfc3339_ago(seconds=1), started=rfc3339_ago(hours=1))
    scenario.wait_kills({"3.1.2": (1, 0)})
    scenario.delete("a")
    wait_for(lambda: not scenario.status()["ledger"]["pods"], what="the pod to leave the ledger")
    assert scenario.kills() == {"3.1.2": (1, 0)}
    assert scenario.status()["versions"][0]["podSeconds"] > 0  # its lifetime stays counted
    assert scenario.metric() == {("3.1.2", scenario.app): 1.0}


def test_version_change_midway_attributes_each_oomkill_to_its_version(scenario: Scenario) -> None:
    scenario.pod("old", "3.0.10", rs_hash="aaaaa")
    scenario.kubelet("old", restarts=0)
    wait_for(lambda: "3.0.10" in scenario.kills(), what="3.0.10 in the timeline")
    scenario.delete("old")
    scenario.pod("new", "3.1.2", rs_hash="bbbbb")
    scenario.kubelet("new", restarts=1, last_oom_at="2026-11-25T05:00:00Z")
    scenario.kubelet("new", restarts=2, last_oom_at="2026-11-25T06:00:00Z")
    scenario.wait_kills({"3.0.10": (0, 0), "3.1.2": (2, 0)})
    versions = [v["version"] for v in scenario.status()["versions"]]
    assert versions == ["3.0.10", "3.1.2"]  # in rollout order


def test_pods_of_other_namespaces_are_never_counted(scenario: Scenario) -> None:
    # The same selector in the other namespace: its LeakWatch counting the pod there is the proof
    # that the operator saw it (each namespace has its own pod watch, in no order with the other's).
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": scenario.name},
        "spec": {"selector": {"matchLabels": {"app": scenario.app}}},
    }
    scenario.custom.create_namespaced_custom_object(GROUP, VERSION, OTHER, "leakwatches", body)

    def other_pods() -> list[str]:
        obj = scenario.custom.get_namespaced_custom_object(GROUP, VERSION, OTHER, "leakwatches", scenario.name)
        return [p["name"] for p in obj.get("status", {}).get("ledger", {}).get("pods", [])]

    scenario.pod("elsewhere", "3.1.2", namespace=OTHER)
    scenario.kubelet("elsewhere", namespace=OTHER, restarts=5, last_oom_at="2026-11-25T01:00:00Z")
    wait_for(
        lambda: other_pods() == [f"{scenario.app}-elsewhere"], what="the other namespace's LeakWatch to see its pod"
    )
    scenario.pod("here", "3.0.10")
    wait_for(lambda: "3.0.10" in scenario.kills(), what="the pod of the LeakWatch's namespace")
    assert scenario.kills() == {"3.0.10": (0, 0)}
    assert [p["name"] for p in scenario.status()["ledger"]["pods"]] == [f"{scenario.app}-here"]


def test_non_restarting_container_oomkill(scenario: Scenario) -> None:
    scenario.pod("job", "3.1.2")
    scenario.kubelet("job", restarts=0, terminated_oom_at="2026-11-25T01:00:00Z")
    scenario.wait_kills({"3.1.2": (1, 0)})


def test_pod_without_a_version_is_unknown_with_a_warning_condition(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    scenario = Scenario(
        core_v1, custom_objects, oom_operator, version={"source": "Label", "key": "version", "regex": r"^v(\d+)$"}
    )
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=1, last_oom_at="2026-11-25T01:00:00Z")
    scenario.wait_kills({"unknown": (1, 0)})
    conditions = {c["type"]: c for c in scenario.status()["conditions"]}
    assert conditions["VersionsResolved"]["status"] == "False"
    assert conditions["VersionsResolved"]["reason"] == "VersionUnknown"
    assert "has no label version" in conditions["VersionsResolved"]["message"]
    assert conditions["Ready"]["status"] == "True"
    assert wait_for(lambda: scenario.metric()) == {("unknown", scenario.app): 1.0}


def oom_kills_of(operator: OperatorProcess, workload: str) -> dict[str, float]:
    """leakwatch_oom_kills_total of one workload, per LeakWatch that publishes it."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(operator.get("/metrics")):
        for sample in family.samples:
            if sample.name == "leakwatch_oom_kills_total" and sample.labels["workload"] == workload:
                found[sample.labels["leakwatch"]] = found.get(sample.labels["leakwatch"], 0) + sample.value
    return found


def test_two_leakwatches_on_one_pod_count_its_oomkill_once_in_metrics(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    first = Scenario(core_v1, custom_objects, oom_operator)
    second = Scenario(core_v1, custom_objects, oom_operator, create=False)
    second.app, second.name = first.app, f"{first.app}-second"
    time.sleep(1.1)  # creationTimestamp counts seconds: the first must be the older
    second.create_leakwatch()
    first.pod("a", "3.1.2")
    first.kubelet("a", restarts=1, last_oom_at=rfc3339_ago(seconds=0))
    first.wait_kills({"3.1.2": (1, 0)})
    second.wait_kills({"3.1.2": (1, 0)})  # each status counts what its threshold judges

    def overlapping(scenario: Scenario) -> dict[str, Any]:
        return next(c for c in scenario.status()["conditions"] if c["type"] == "Overlapping")

    wait_for(lambda: overlapping(second)["status"] == "True", what="the overlap reported")
    # Both counters exist; the kill is in the first's, so the sum counts it once.
    assert wait_for(lambda: oom_kills_of(oom_operator, first.app)) == {first.name: 1.0, second.name: 0.0}
    for scenario in (first, second):
        condition = overlapping(scenario)
        assert (condition["status"], condition["reason"]) == ("True", "SharedPods")
        assert condition["message"].startswith("1 of its pods are also selected by LeakWatch")
    assert f"under {first.name} (the oldest" in overlapping(second)["message"]

    # The first goes, and its counter with it: a counter never takes over another's past. The second
    # overlaps nobody now and counts the next OOMKill.
    custom_objects.delete_namespaced_custom_object(GROUP, VERSION, WATCHED, "leakwatches", first.name)
    wait_for(lambda: overlapping(second)["status"] == "False", what="the overlap to end")
    assert wait_for(lambda: oom_kills_of(oom_operator, first.app)) == {second.name: 0.0}
    time.sleep(1.1)  # finishedAt counts seconds: a second OOMKill in the same second would be a replay
    first.kubelet("a", restarts=2, last_oom_at=rfc3339_ago(seconds=0))
    second.wait_kills({"3.1.2": (2, 0)})
    wait_for(lambda: oom_kills_of(oom_operator, first.app) == {second.name: 1.0}, what="the second to count it")


def test_leakwatches_overlapping_in_part_count_every_oomkill_once_in_metrics(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    """The older selects pod a, the younger selects a and b: a's kill is in the older's counter,
    b's in the younger's; with one counter per (workload, container, version) b's would be lost."""
    wider = Scenario(core_v1, custom_objects, oom_operator, create=False)
    canary = {"matchLabels": {"app": wider.app, "pod-template-hash": "c4nary"}}  # one ReplicaSet's pods
    older = Scenario(core_v1, custom_objects, oom_operator, create=False, selector=canary)
    older.app, older.name = wider.app, f"{wider.app}-canary"
    older.create_leakwatch()
    time.sleep(1.1)  # creationTimestamp counts seconds: the canary's must be the older
    wider.create_leakwatch()
    wider.pod("a", "3.1.2", rs_hash="c4nary")
    wider.pod("b", "3.1.2")
    wider.kubelet("a", restarts=1, last_oom_at=rfc3339_ago(seconds=0))
    wider.kubelet("b", restarts=1, last_oom_at=rfc3339_ago(seconds=0))
    wider.wait_kills({"3.1.2": (2, 0)})
    older.wait_kills({"3.1.2": (1, 0)})
    assert wait_for(lambda: oom_kills_of(oom_operator, wider.app) == {older.name: 1.0, wider.name: 1.0} or None)


def test_long_versions_are_never_merged_into_one(scenario: Scenario) -> None:
    # Two 70-character image tags that differ only after character 64: cut, they would be one
    # version holding both kills.
    first, second = "2025.07.3-" + "a" * 59 + "1", "2025.07.3-" + "a" * 59 + "2"
    scenario.pod("a", first, rs_hash="aaaaa")
    scenario.pod("b", second, rs_hash="bbbbb")
    scenario.kubelet("a", restarts=1, last_oom_at="2026-11-25T01:00:00Z")
    scenario.kubelet("b", restarts=1, last_oom_at="2026-11-25T02:00:00Z")
    wait_for(
        lambda: sorted(scenario.kills().values()) == [(1, 0), (1, 0)], what=f"two versions, have {scenario.kills()}"
    )
    kept = sorted(scenario.kills())
    assert all(len(v) == 64 and v.startswith("2025.07.3-aaa") for v in kept) and kept[0] != kept[1]
    assert sorted(wait_for(lambda: scenario.metric())) == [(v, scenario.app) for v in kept]
    condition = {c["type"]: c for c in scenario.status()["conditions"]}["VersionsResolved"]
    assert (condition["status"], condition["reason"]) == ("True", "VersionsShortened")
    assert "70-character version" in condition["message"] and kept[0] in condition["message"]


def rfc3339_ago(**ago: float) -> str:
    return (datetime.now(UTC) - timedelta(**ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_oom_window_bounds_the_count_the_threshold_sees(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    """oom.window 1h: a kill three hours ago stays in the all-time counter but not in the window;
    with the field ignored (all-time counts) the window would say 2."""
    scenario = Scenario(core_v1, custom_objects, oom_operator, oom={"window": "1h"})
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=1, last_oom_at=rfc3339_ago(hours=3))
    scenario.kubelet("a", restarts=2, last_oom_at=rfc3339_ago(minutes=1))
    scenario.wait_kills({"3.1.2": (2, 0)})
    assert scenario.rows()["3.1.2"]["oomKillsInWindow"] == 1
    assert wait_for(lambda: scenario.metric_in_window()) == {"3.1.2": 1.0}
    assert scenario.metric() == {("3.1.2", scenario.app): 2.0}  # the _total counter stays all-time


def test_restarts_from_before_the_leakwatch_existed_are_history(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    """A pod that restarted 300 times before anyone watched it: nothing to count or announce, until
    it is OOMKilled again."""
    scenario = Scenario(core_v1, custom_objects, oom_operator, create=False)
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=300, last_oom_at=rfc3339_ago(minutes=30), started=rfc3339_ago(hours=2))
    scenario.create_leakwatch()
    wait_for(lambda: scenario.rows().get("3.1.2", {}).get("pods") == 1, what="the pod in the timeline")
    scenario.pod("marker", "3.1.2")  # a later event, processed after the pod with history
    wait_for(lambda: scenario.rows()["3.1.2"]["pods"] == 2, what="the marker pod")
    assert scenario.kills() == {"3.1.2": (0, 0)}
    assert scenario.events("ReplicaSet") == [] and scenario.events("LeakWatch") == []

    scenario.kubelet("a", restarts=301, last_oom_at=rfc3339_ago(seconds=1), started=rfc3339_ago(hours=2))
    scenario.wait_kills({"3.1.2": (1, 0)})
    assert len(wait_for(lambda: scenario.events("ReplicaSet"), what="the new OOMKill's Event")) == 1


def test_a_restart_count_in_the_millions_is_counted_in_one_record(scenario: Scenario) -> None:
    scenario.pod("a", "3.1.2")
    scenario.kubelet("a", restarts=1, last_oom_at=rfc3339_ago(minutes=2))
    scenario.wait_kills({"3.1.2": (1, 0)})
    scenario.kubelet("a", restarts=3_000_000, last_oom_at=rfc3339_ago(seconds=1))
    scenario.wait_kills({"3.1.2": (3_000_000, 2_999_998)})
    events = wait_for(lambda: e if len(e := scenario.events("ReplicaSet")) == 3 else None, what="three Events")
    assert any("2999998 times while LeakWatch was not watching" in e.message for e in events)
    assert len(str(scenario.status()["ledger"])) < 4000
    scenario.pod("marker", "3.1.2")
    wait_for(lambda: scenario.rows()["3.1.2"]["pods"] == 2, what="the marker pod")
    assert len(scenario.events("ReplicaSet")) == 3


def test_oomkill_events_are_budgeted_per_leakwatch(scenario: Scenario) -> None:
    """Thirty pods OOMKilled at once: every kill is counted, ten are announced one by one, the rest
    in one summary Event on the LeakWatch."""
    pods = [f"p{i}" for i in range(30)]
    for name in pods:
        scenario.pod(name, "3.1.2")
    for name in pods:
        scenario.kubelet(name, restarts=1, last_oom_at=rfc3339_ago(seconds=5))
    scenario.wait_kills({"3.1.2": (30, 0)})

    def held_back() -> int:
        summaries = [e.message for e in scenario.events("LeakWatch") if "not announced one by one" in e.message]
        return sum(int(message.split()[0]) for message in summaries)

    # A burst gathers for a few seconds into one summary; kills held back after it wait a minute.
    wait_for(lambda: held_back() == 20, timeout=90, what=f"summaries of 20 held-back kills, have {held_back()}")
    assert len(scenario.events("ReplicaSet")) == 10
    assert len([e for e in scenario.events("LeakWatch") if "not announced" not in e.message]) == 10


def test_more_pods_than_the_status_holds_are_counted_exactly_across_restarts(
    core_v1: client.CoreV1Api, custom_objects: client.CustomObjectsApi, oom_operator: OperatorProcess
) -> None:
    """One LeakWatch over MAX_STORED_PODS + 40 pods: the status keeps 2,000 of them (those with
    OOMKills first), the API server takes it, and a condition says what the rest cost. Pods left
    out and pods kept are OOMKilled while the operator is down: after the restart each kill is
    counted once, and another restart changes nothing, pod counts included."""
    scenario = Scenario(core_v1, custom_objects, oom_operator)
    names = [f"p{n:04}" for n in range(MAX_STORED_PODS + 40)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda name: scenario.pod(name, "3.1.2"), names))
        list(pool.map(lambda name: scenario.kubelet(name, restarts=0), names))
    try:
        first_kill = rfc3339_ago(seconds=0)
        for name in names[:3]:
            scenario.kubelet(name, restarts=1, last_oom_at=first_kill)
        scenario.wait_kills({"3.1.2": (3, 0)})

        def complete() -> dict[str, Any] | None:
            found = {c["type"]: c for c in scenario.status().get("conditions", [])}.get("LedgerComplete")
            return found if found and found["status"] == "False" else None

        condition = wait_for(complete, timeout=60, what="the LedgerComplete condition")
        assert condition["reason"] == "TooManyPods" and f"{len(names):,} live pods" in condition["message"]
        stored_object = custom_objects.get_namespaced_custom_object(
            GROUP, VERSION, WATCHED, "leakwatches", scenario.name
        )
        ledger = stored_object["status"]["ledger"]
        assert len(ledger["pods"]) == MAX_STORED_PODS and ledger["unstoredPods"] == 40
        assert len(json.dumps(stored_object)) < 1024 * 1024
        stored = {p["name"].removeprefix(f"{scenario.app}-") for p in ledger["pods"]}
        assert set(names[:3]) <= stored
        left_out = sorted(set(names) - stored)[:5]
        kept_quiet = sorted(stored - set(names[:3]))[:5]

        scenario.operator.kill()
        for name in names[:3]:  # the kubelet says again what was counted
            scenario.kubelet(name, restarts=1, last_oom_at=first_kill)
        for name in left_out + kept_quiet:
            scenario.kubelet(name, restarts=1, last_oom_at=rfc3339_ago(seconds=1))
        scenario.operator.start()
        wait_for(
            lambda: scenario.kills() == {"3.1.2": (13, 0)},
            timeout=60,
            what=f"13 OOMKills after the restart (before it: {scenario.kills()})",
        )

        scenario.operator.kill()
        scenario.operator.start()
        scenario.pod("marker", "3.1.2")
        wait_for(lambda: scenario.rows()["3.1.2"]["pods"] == len(names) + 1, what="the marker pod")
        assert scenario.kills() == {"3.1.2": (13, 0)}
    finally:
        core_v1.delete_collection_namespaced_pod(WATCHED, label_selector=f"app={scenario.app}", grace_period_seconds=0)
