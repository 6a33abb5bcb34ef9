"""The accountant's publishing, with in-memory sinks for status and Events: a pod event that
changes nothing writes nothing, a re-list costs one write per LeakWatch, Events follow the status
that counts them, and a failed write keeps its Events for the retry."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from helpers import wait_for
from leakwatch.api.leakwatch import AutoAction, LeakWatchStatus
from leakwatch.core.components import COMPONENTS_ANNOTATION
from leakwatch.core.oom import Ledger
from leakwatch.core.pods import ContainerState, OwnerRef, PodInfo, Termination
from leakwatch.publish.collector import LeakWatchCollector
from leakwatch.publish.events import EventBudget, ObjectRef
from leakwatch.watch.accountant import OOM_EVENTS_PER_MINUTE, Accountant

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = {"selector": {"matchLabels": {"app": "checkout-api"}}}


class Journal:
    """Status writes and Events, in the order they happened."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: list[tuple[str, str, Any]] = []
        self.messages: list[str] = []
        self.patched: list[dict[str, Any]] = []  # every status written, whole
        self.failing = False

    def patch(self, namespace: str, name: str, typed: LeakWatchStatus) -> bool:
        if self.failing:
            raise ConnectionError("API server away")
        status = typed.model_dump(mode="json", by_alias=True, exclude_unset=True)  # as StatusWriter sends it
        with self.lock:
            self.entries.append(("status", name, status["oomKills"]))
            self.patched.append(status)
        return True

    def post(self, subject: ObjectRef, *, key: str, reason: str, message: str, warning: bool = True) -> bool:
        with self.lock:
            self.entries.append(("event", subject.kind, key))
            self.messages.append(message)
        return True

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.entries]


def pod(name: str, restarts: int = 0, oom_at: str | None = None) -> PodInfo:
    last = Termination("OOMKilled", oom_at, 137) if oom_at else None
    return PodInfo(
        namespace="shop",
        name=f"checkout-api-5d8f9-{name}",
        uid=f"uid-{name}",
        labels={"app": "checkout-api", "pod-template-hash": "5d8f9"},
        owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "rs-uid"),
        statuses=(ContainerState("app", restarts, last),),
        started_at="2026-11-25T10:00:00Z",
    )


@pytest.fixture
def journal() -> Journal:
    return Journal()


@pytest.fixture
def accountant(journal: Journal) -> Accountant:
    made = Accountant(journal, journal, clock=lambda: NOW)
    made.apply_spec("shop", "checkout-api", "lw-uid", 1, SPEC, {})
    assert made.flush()
    journal.entries.clear()
    return made


def test_a_listing_of_many_pods_costs_one_status_write(accountant: Accountant, journal: Journal) -> None:
    for i in range(200):
        accountant.on_pod(pod(str(i)))
    assert accountant.flush()
    assert journal.entries == [("status", "checkout-api", 0)]


def test_a_pod_event_that_changes_nothing_writes_nothing(accountant: Accountant, journal: Journal) -> None:
    accountant.on_pod(pod("a"))
    assert accountant.flush()
    journal.entries.clear()
    accountant.on_pod(pod("a"))  # a re-list, a watch replay, a label change elsewhere
    assert accountant.flush()
    assert journal.entries == []


def test_events_follow_the_status_that_counts_the_oomkill(accountant: Accountant, journal: Journal) -> None:
    accountant.on_pod(pod("a"))
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert journal.entries == []  # nothing is written from the pod watch's thread
    assert accountant.flush()
    accountant.stop()  # waits for the Event posters
    assert journal.kinds() == ["status", "event", "event"]
    assert journal.entries[0] == ("status", "checkout-api", 1)
    assert {kind for _, kind, _ in journal.entries[1:]} == {"ReplicaSet", "LeakWatch"}


def test_a_failed_write_keeps_its_events_for_the_retry(accountant: Accountant, journal: Journal) -> None:
    accountant.on_pod(pod("a"))
    journal.failing = True
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert not accountant.flush()
    assert journal.entries == []  # no Event for a count the cluster does not hold yet
    journal.failing = False
    assert accountant.flush()
    accountant.stop()
    assert journal.kinds() == ["status", "event", "event"]
    assert journal.entries[0] == ("status", "checkout-api", 1)


def test_the_publisher_thread_writes_without_being_asked(accountant: Accountant, journal: Journal) -> None:
    accountant.start()
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    wait_for(lambda: journal.kinds() == ["status", "event", "event"], timeout=5, what="status, then two Events")
    accountant.stop()


def test_an_oomkill_is_written_before_other_pending_announcements(accountant: Accountant, journal: Journal) -> None:
    accountant.apply_spec("shop", "other-api", "lw-uid-2", 1, {"selector": {"matchLabels": {"app": "other"}}}, {})
    accountant.flush()
    journal.entries.clear()
    # An analyser pass just announced something for another LeakWatch, before the OOMKill arrived.
    entry = AutoAction(reason="DryRun", workload="other", message="would roll back", to_version="1", time="t")
    accountant.record_action("shop", "other-api", "lw-uid-2", entry)
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert accountant.flush()
    accountant.stop()
    assert [(kind, name) for kind, name, _ in journal.entries if kind == "status"] == [
        ("status", "checkout-api"),
        ("status", "other-api"),
    ]


def test_oomkill_events_beyond_the_budget_become_one_summary(journal: Journal) -> None:
    clock = [NOW]
    accountant = Accountant(journal, journal, clock=lambda: clock[0])
    accountant.apply_spec("shop", "checkout-api", "lw-uid", 1, SPEC, {})
    for i in range(50):  # fifty pods OOMKilled in the same minute
        accountant.on_pod(pod(str(i), restarts=1, oom_at="2026-11-25T11:59:00Z"))
    assert accountant.flush()
    clock[0] = NOW + timedelta(seconds=6)  # the burst has settled
    assert accountant.flush()
    kills = [key for kind, _, key in journal.entries if kind == "event" and not key.startswith("oom-summary/")]
    summaries = [key for kind, _, key in journal.entries if kind == "event" and key.startswith("oom-summary/")]
    assert len(kills) == 2 * OOM_EVENTS_PER_MINUTE  # the owner's and the LeakWatch's, per kill
    assert len(summaries) == 1
    assert journal.messages[-1].startswith(f"{50 - OOM_EVENTS_PER_MINUTE} more OOMKills were counted")
    watched = accountant.store.get(("shop", "checkout-api"))
    assert watched is not None and watched.ledger.oom_kills("unknown")[0] == 50  # all counted

    # A minute later the budget is back.
    clock[0] = NOW + timedelta(seconds=67)
    journal.entries.clear()
    accountant.on_pod(pod("late", restarts=1, oom_at="2026-11-25T12:01:00Z"))
    assert accountant.flush()
    assert [kind for what, kind, _ in journal.entries if what == "event"] == ["ReplicaSet", "LeakWatch"]


def test_the_budget_admits_per_minute_and_sums_what_it_holds_back() -> None:
    budget = EventBudget(per_minute=2, settle_seconds=5)
    assert [budget.take("lw", t) for t in (0, 1, 2)] == [True, True, False]
    budget.take("lw", 3, count=5)
    assert budget.due(4) == {}  # the burst is still gathering
    assert budget.due(7) == {"lw": 6}
    assert not budget.take("lw", 8)
    assert budget.due(30) == {}  # one summary a minute
    assert budget.due(67) == {"lw": 1}
    assert budget.take("lw", 61) and budget.take("other", 61)


def test_a_replica_that_does_not_own_a_leakwatch_writes_nothing_for_it(journal: Journal) -> None:
    standby = Accountant(journal, journal, clock=lambda: NOW, active_by_default=False)
    standby.apply_spec("shop", "checkout-api", "lw-uid", 1, SPEC, {})
    standby.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert standby.flush()
    assert journal.entries == [] and standby.states() == []
    assert not standby.is_active("shop", "checkout-api", "lw-uid")


def test_taking_ownership_starts_from_the_status_in_the_cluster(journal: Journal) -> None:
    replica = Accountant(journal, journal, clock=lambda: NOW, active_by_default=False)
    replica.apply_spec("shop", "checkout-api", "lw-uid", 1, SPEC, {})
    replica.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))  # counted in memory only
    # Meanwhile the active replica counted that kill and wrote it; this one now takes over.
    active = Accountant(journal, journal, clock=lambda: NOW)
    active.apply_spec("shop", "checkout-api", "lw-uid", 1, SPEC, {})
    active.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert active.flush()
    written = journal.patched[-1]
    journal.entries.clear()
    replica.apply_spec("shop", "checkout-api", "lw-uid", 2, SPEC, written, activate=True)
    replica.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    assert replica.flush()
    assert journal.kinds() == ["status"] and journal.entries[0][2] == 1  # the kill once, no Event again
    assert replica.is_active("shop", "checkout-api", "lw-uid")


def test_losing_ownership_drops_pending_writes(accountant: Accountant, journal: Journal) -> None:
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    accountant.deactivate("shop", "checkout-api", "lw-uid")
    assert accountant.flush()
    assert journal.entries == []
    accountant.on_pod(pod("a", restarts=2, oom_at="2026-11-25T11:30:00Z"))
    assert accountant.flush()
    assert journal.entries == []


def test_leakwatches_overlapping_in_part_count_each_oomkill_once_in_metrics(journal: Journal) -> None:
    """`older` selects pod a only, `wider` (younger) selects a and b: a's kill is counted by older's
    counter, b's by wider's, and both statuses count what each selects."""
    accountant = Accountant(journal, journal, clock=lambda: NOW)
    accountant.apply_spec("shop", "older", "uid-1", 1, {"selector": {"matchLabels": {"canary": "yes"}}}, {},
                          created="2026-11-20T00:00:00Z")  # fmt: skip
    accountant.apply_spec("shop", "wider", "uid-2", 1, SPEC, {}, created="2026-11-24T00:00:00Z")
    canary = pod("a", restarts=1, oom_at="2026-11-25T11:59:00Z")
    canary = replace(canary, labels={**canary.labels, "canary": "yes"})
    accountant.on_pod(canary)
    accountant.on_pod(pod("b", restarts=1, oom_at="2026-11-25T11:58:00Z"))
    assert accountant.flush()
    registry = CollectorRegistry()
    registry.register(LeakWatchCollector(accountant.states, accountant.clock))

    def kills(leakwatch: str, metric: str = "leakwatch_oom_kills_total") -> float | None:
        labels = {"namespace": "shop", "leakwatch": leakwatch, "workload": "checkout-api", "container": "app"}
        return registry.get_sample_value(metric, {**labels, "version": "unknown"})

    assert (kills("older"), kills("wider")) == (1.0, 1.0)
    assert (kills("older", "leakwatch_oom_kills_in_window"), kills("wider", "leakwatch_oom_kills_in_window")) == (1, 1)
    assert {s["oomKills"] for s in journal.patched if s} >= {1, 2}  # statuses: older 1, wider 2
    # Restored from the status it wrote, the split stays as it was counted.
    stored = next(s for s in reversed(journal.patched) if s["oomKills"] == 2)["ledger"]
    assert Ledger.from_status(stored).exported_counts() == {("checkout-api", "app", "unknown"): 1}


def test_snapshots_are_copies_taken_again_only_after_a_change(accountant: Accountant) -> None:
    accountant.on_pod(pod("a"))
    (first,) = accountant.states()
    assert accountant.states()[0] is first  # nothing changed: a scrape copies nothing
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))
    (second,) = accountant.states()
    assert second is not first
    assert first.ledger.total_oom_kills() == 0 and second.ledger.total_oom_kills() == 1  # the old one stayed as it was
    accountant.on_pod(pod("a", restarts=1, oom_at="2026-11-25T11:00:00Z"))  # a replay changes nothing
    assert accountant.states()[0] is second


def test_components_stamped_on_a_pod_are_kept_with_its_version_in_status(
    accountant: Accountant, journal: Journal
) -> None:
    stamped = replace(
        pod("a"),
        annotations={
            COMPONENTS_ANNOTATION: "pkg:maven/io.jooby/jooby-netty@3.1.2 pkg:maven/io.netty/netty-buffer@4.1.115.Final"
        },
    )
    accountant.on_pod(stamped)
    assert accountant.flush()
    versions = journal.patched[-1]["ledger"]["versions"]
    assert [(v["components"], v["componentsSource"]) for v in versions] == [
        (["pkg:maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/io.netty/netty-buffer@4.1.115.Final"], "Annotation")
    ]
    journal.entries.clear()
    accountant.on_pod(stamped)  # the same set again is no news
    assert accountant.flush()
    assert journal.entries == []


def test_a_leakwatch_over_more_pods_than_its_status_holds_says_so_and_what_it_costs(
    accountant: Accountant, journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("leakwatch.core.oom.MAX_STORED_PODS", 3)
    for name in "abcd":
        accountant.on_pod(pod(name))
    assert accountant.flush()
    written = journal.patched[-1]
    condition = {c["type"]: c for c in written["conditions"]}["LedgerComplete"]
    assert (condition["status"], condition["reason"]) == ("False", "TooManyPods")
    assert "4 live pods" in condition["message"] and "the other 1 " in condition["message"]
    assert len(written["ledger"]["pods"]) == 3 and written["ledger"]["unstoredPods"] == 1
    accountant.on_pod(replace(pod("d"), deleted=True))
    accountant.on_synced("shop", {"uid-a", "uid-b", "uid-c"})
    assert accountant.flush()
    written = journal.patched[-1]
    condition = {c["type"]: c for c in written["conditions"]}["LedgerComplete"]
    assert (condition["status"], condition["reason"]) == ("True", "AllPodsStored")
    assert "unstoredPods" not in written["ledger"] and "unstoredBefore" not in written["ledger"]


def test_a_leakwatch_within_the_limit_has_no_ledger_condition(accountant: Accountant, journal: Journal) -> None:
    accountant.on_pod(pod("a"))
    assert accountant.flush()
    assert "LedgerComplete" not in {c["type"] for c in journal.patched[-1]["conditions"]}
