"""OOM accounting, pure: each OOMKill counted once, replays change nothing, gaps are inferred."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from leakwatch.core.oom import (
    MAX_STORED_PODS,
    MAX_VERSIONS,
    OOM_WINDOW_BUCKETS,
    REMEMBERED_PAST_PODS,
    ContainerRecord,
    Ledger,
    account_container,
    ledger_condition,
)
from leakwatch.core.pods import ContainerState, OwnerRef, PodInfo, Termination
from leakwatch.core.state import LeakWatchState
from leakwatch.publish.status import render_status

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def oom(at: str) -> Termination:
    return Termination("OOMKilled", at, 137)


def state(restarts: int, last: Termination | None = None, current: Termination | None = None) -> ContainerState:
    return ContainerState("app", restarts, last, current)


def test_one_oomkill_is_counted_once_however_often_it_is_seen() -> None:
    record = ContainerRecord()
    assert account_container(record, state(1, oom("t1"))) == (1, 0)
    assert account_container(record, state(1, oom("t1"))) == (0, 0)  # re-list / replay
    assert record.restart_count == 1


def test_three_oomkills_in_a_row() -> None:
    record = ContainerRecord()
    seen = [account_container(record, state(n, oom(f"t{n}"))) for n in (1, 2, 3)]
    assert seen == [(1, 0), (1, 0), (1, 0)]


def test_restarts_missed_while_away_are_inferred_when_the_last_was_an_oomkill() -> None:
    record = ContainerRecord()
    account_container(record, state(1, oom("t1")))
    # Two more restarts while the operator was down: only the last termination is visible.
    assert account_container(record, state(3, oom("t3"))) == (1, 1)
    assert account_container(record, state(3, oom("t3"))) == (0, 0)


def test_missed_restarts_are_not_called_oomkills_when_the_visible_one_was_not() -> None:
    record = ContainerRecord()
    assert account_container(record, state(3, Termination("Error", "t3", 1))) == (0, 0)
    assert record.restart_count == 3


def test_terminated_without_restart_then_restarted_counts_once() -> None:
    record = ContainerRecord()
    assert account_container(record, state(0, current=oom("t1"))) == (1, 0)  # restartPolicy Never, or not yet restarted
    assert account_container(record, state(1, last=oom("t1"))) == (0, 0)  # the kubelet restarted it


def test_first_sight_of_a_pod_with_history_infers_its_earlier_restarts() -> None:
    record = ContainerRecord()
    assert account_container(record, state(4, oom("t4"))) == (1, 3)


def pod(
    uid: str, version: str, restarts: int, last: Termination | None = None, started: str = "2026-01-01T00:00:00Z"
) -> PodInfo:
    return PodInfo(
        namespace="shop",
        name=f"checkout-api-5d8f9-{uid}",
        uid=uid,
        labels={"app": "checkout-api", "pod-template-hash": "5d8f9"},
        owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "rs-uid"),
        statuses=(ContainerState("app", restarts, last), ContainerState("sidecar", 0)),
        started_at=started,
    )


def test_ledger_totals_per_version_and_survive_a_round_trip_through_status() -> None:
    ledger = Ledger()
    now = T0 + timedelta(hours=2)
    kills = ledger.observe(
        pod("a", "3.1.2", 1, oom("t1")), version="3.1.2", workload="checkout-api", containers=[], now=now
    )
    assert [(k.container, k.version, k.workload, k.inferred) for k in kills] == [
        ("app", "3.1.2", "checkout-api", False)
    ]
    ledger.observe(pod("b", "3.0.10", 0), version="3.0.10", workload="checkout-api", containers=[], now=now)

    restored = Ledger.from_status(ledger.to_status())
    assert restored.to_status() == ledger.to_status()
    # The same status again after a restart of the operator: nothing new.
    assert (
        restored.observe(
            pod("a", "3.1.2", 1, oom("t1")), version="3.1.2", workload="checkout-api", containers=[], now=now
        )
        == []
    )
    again = restored.observe(
        pod("a", "3.1.2", 3, oom("t3")), version="3.1.2", workload="checkout-api", containers=[], now=now
    )
    assert [k.inferred for k in again] == [False, True]
    assert restored.oom_kills("3.1.2") == (3, 1)
    assert restored.oom_kills("3.0.10") == (0, 0)
    assert restored.pod_seconds("3.1.2", now) == 7200


def test_deleted_pods_keep_their_counts_and_pod_hours() -> None:
    ledger = Ledger()
    start = T0
    ledger.observe(pod("a", "3.1.2", 1, oom("t1")), version="3.1.2", workload="w", containers=[], now=start)
    ledger.forget("a", start + timedelta(hours=1))
    assert ledger.pods == {}
    assert ledger.oom_kills("3.1.2") == (1, 0)
    assert ledger.pod_seconds("3.1.2", start + timedelta(hours=5)) == 3600
    assert ledger.versions["3.1.2"].pods == 1


def test_container_filter() -> None:
    both = PodInfo(
        namespace="shop",
        name="checkout-api-5d8f9-a",
        uid="a",
        owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "rs-uid"),
        statuses=(ContainerState("app", 1, oom("t1")), ContainerState("sidecar", 1, oom("t2"))),
        started_at="2026-01-01T00:00:00Z",
    )
    only_sidecar = Ledger().observe(both, version="1", workload="w", containers=["sidecar"], now=T0)
    assert [k.container for k in only_sidecar] == ["sidecar"]  # its kill counted, app's not
    assert sorted(k.container for k in Ledger().observe(both, version="1", workload="w", containers=[], now=T0)) == [
        "app",
        "sidecar",
    ]


def test_workload_of_a_deployment_pod_drops_the_template_hash() -> None:
    assert pod("a", "1", 0).workload == "checkout-api"
    assert pod("a", "1", 0).workload_kind == "Deployment"


def test_oom_counts_start_at_zero_for_running_containers_and_keep_gone_ones() -> None:
    ledger = Ledger()
    ledger.observe(pod("a", "3.1.2", 0), version="3.1.2", workload="checkout-api", containers=["app"], now=T0)
    ledger.observe(pod("b", "3.0.10", 2, oom("t2")), version="3.0.10", workload="checkout-api", containers=[], now=T0)
    ledger.forget("b", T0 + timedelta(hours=1))
    assert ledger.oom_counts() == {("checkout-api", "app", "3.1.2"): 0, ("checkout-api", "app", "3.0.10"): 2}


def test_pod_progress_changes_only_with_what_the_stored_ledger_holds() -> None:
    ledger = Ledger()
    ledger.observe(pod("a", "3.1.2", 0), version="3.1.2", workload="w", containers=[], now=T0)
    seen = ledger.pod_progress("a")
    ledger.observe(pod("a", "3.1.2", 0), version="3.1.2", workload="w", containers=[], now=T0 + timedelta(minutes=5))
    assert ledger.pod_progress("a") == seen  # the same status later: nothing to write
    ledger.observe(pod("a", "3.1.2", 1, oom("t1")), version="3.1.2", workload="w", containers=[], now=T0)
    assert ledger.pod_progress("a") != seen
    assert ledger.pod_progress("gone") is None


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_oom_window_counts_only_the_kills_inside_it_and_survives_a_round_trip() -> None:
    ledger, hour = Ledger(), 3600.0
    for n, hours in enumerate((0, 5, 9), start=1):
        at = T0 + timedelta(hours=hours)
        ledger.observe(
            pod("a", "3.1.2", n, oom(stamp(at))),
            version="3.1.2",
            workload="w",
            containers=[],
            now=at,
            oom_window_seconds=2 * hour,
        )
    now = T0 + timedelta(hours=10)
    assert ledger.oom_kills("3.1.2") == (3, 0)  # the counter stays all-time
    assert ledger.oom_kills_in_window("3.1.2", now, 2 * hour) == 1
    # Buckets older than the window are pruned when a kill is added: widening it later brings none back.
    assert ledger.oom_kills_in_window("3.1.2", now, 6 * hour) == 1
    assert Ledger.from_status(ledger.to_status()).oom_kills_in_window("3.1.2", now, 2 * hour) == 1
    assert ledger.oom_window_counts(now + timedelta(hours=3), 2 * hour)[("w", "app", "3.1.2")] == 0


def test_a_restart_count_in_the_millions_is_one_inferred_record() -> None:
    ledger = Ledger()
    ledger.observe(pod("a", "1", 1, oom(stamp(T0))), version="1", workload="w", containers=[], now=T0)
    later = T0 + timedelta(minutes=5)
    kills = ledger.observe(
        pod("a", "1", 3_000_000, oom(stamp(later))), version="1", workload="w", containers=[], now=later
    )
    assert [(k.inferred, k.count) for k in kills] == [(False, 1), (True, 2_999_998)]
    assert ledger.oom_kills("1") == (3_000_000, 2_999_998)
    assert len(ledger.ooms[("w", "app", "1")].recent) <= 2
    assert len(str(ledger.to_status())) < 2000


def test_buckets_stay_bounded_however_many_kills_a_week_brings() -> None:
    ledger, day = Ledger(), 86400.0
    for n in range(1, 2017):  # one OOMKill every 5 minutes for a week
        at = T0 + timedelta(minutes=5 * n)
        ledger.observe(
            pod("a", "1", n, oom(stamp(at))), version="1", workload="w", containers=[], now=at, oom_window_seconds=day
        )
    total = ledger.ooms[("w", "app", "1")]
    assert len(total.recent) <= OOM_WINDOW_BUCKETS + 1
    now = T0 + timedelta(minutes=5 * 2016)
    assert abs(ledger.oom_kills_in_window("1", now, day) - 288) <= 2  # a day's kills, to one bucket's width


def test_restarts_from_before_the_leakwatch_existed_are_history() -> None:
    created = T0 + timedelta(days=1)
    ledger = Ledger()
    before = pod("a", "1", 300, oom(stamp(created - timedelta(hours=1))))
    kills = ledger.observe(before, version="1", workload="w", containers=[], now=created, watching_since=created)
    assert kills == [] and ledger.oom_kills("1") == (0, 0)
    after = created + timedelta(minutes=10)
    kills = ledger.observe(
        pod("a", "1", 301, oom(stamp(after))),
        version="1",
        workload="w",
        containers=[],
        now=after,
        watching_since=created,
    )
    assert [(k.inferred, k.count) for k in kills] == [(False, 1)]


def test_an_oomkill_after_the_leakwatch_was_created_but_before_it_looked_is_counted() -> None:
    created = T0 + timedelta(days=1)
    killed = created + timedelta(minutes=1)
    kills = Ledger().observe(
        pod("a", "1", 7, oom(stamp(killed))),
        version="1",
        workload="w",
        containers=[],
        now=created + timedelta(minutes=30),
        watching_since=created,
    )
    assert [(k.finished_at, k.inferred) for k in kills] == [(stamp(killed), False)]


def test_pods_started_after_the_leakwatch_keep_their_inferred_restarts() -> None:
    created = T0 - timedelta(hours=1)  # the pod helper starts pods at T0
    kills = Ledger().observe(
        pod("a", "1", 4, oom(stamp(T0 + timedelta(hours=1)))),
        version="1",
        workload="w",
        containers=[],
        now=T0 + timedelta(hours=2),
        watching_since=created,
    )
    assert [(k.inferred, k.count) for k in kills] == [(False, 1), (True, 3)]


def test_a_version_a_deploy_keeps_at_most_max_versions_and_every_oomkill_in_the_total() -> None:
    """A pipeline that deploys each commit: 100 versions, each OOMKilled once, one pod at a time.
    The oldest idle versions go; the running one stays; the all-time count loses nothing."""
    ledger = Ledger()
    for n in range(100):
        at = T0 + timedelta(hours=n)
        ledger.observe(pod(f"p{n}", f"1.0.{n}", 1, oom("t")), version=f"1.0.{n}", workload="w", containers=[], now=at)
        if n < 99:
            ledger.forget(f"p{n}", at + timedelta(minutes=30))
    assert len(ledger.versions) == MAX_VERSIONS
    assert "1.0.99" in ledger.versions and "1.0.0" not in ledger.versions and "1.0.36" in ledger.versions
    assert {v for _, _, v in ledger.ooms} == set(ledger.versions)
    state = LeakWatchState("shop", "checkout-api", "lw-uid", 1, None, ledger, ())
    status = render_status(state, T0 + timedelta(hours=100))
    assert status.oom_kills == 100 and len(status.versions) == MAX_VERSIONS
    assert status.ledger is not None
    restored = Ledger.from_status(status.ledger.model_dump(mode="json", by_alias=True, exclude_unset=True))
    assert restored.total_oom_kills() == 100 and restored.versions.keys() == ledger.versions.keys()


def test_gone_pods_are_remembered_for_the_retention_and_at_most_the_newest_few() -> None:
    """A gone pod is kept while a window may still read its memory series, never longer, and a
    churning workload keeps only the newest REMEMBERED_PAST_PODS of them."""
    ledger = Ledger()
    day = 86400.0
    for n in range(3):  # three pods, one gone per day
        ledger.observe(pod(f"p{n}", "1.0.0", 0), version="1.0.0", workload="w", containers=[], now=T0)
        ledger.forget(f"p{n}", T0 + timedelta(days=n), keep_past_seconds=1.5 * day)
    assert [p.name for p in ledger.past] == ["checkout-api-5d8f9-p1", "checkout-api-5d8f9-p2"]  # p0 ended 2 days ago
    since = T0 + timedelta(days=2) - timedelta(days=1.5)
    assert set(ledger.pod_versions(since=since)) == {"checkout-api-5d8f9-p1", "checkout-api-5d8f9-p2"}
    for n in range(3, 3 + REMEMBERED_PAST_PODS + 10):  # churn within the retention
        ledger.observe(pod(f"p{n}", "1.0.0", 0), version="1.0.0", workload="w", containers=[], now=T0)
        ledger.forget(f"p{n}", T0 + timedelta(days=2, seconds=n), keep_past_seconds=1.5 * day)
    assert len(ledger.past) == REMEMBERED_PAST_PODS
    assert ledger.past[-1].name == f"checkout-api-5d8f9-p{2 + REMEMBERED_PAST_PODS + 10}"
    assert ledger.versions["1.0.0"].pods == 3 + REMEMBERED_PAST_PODS + 10  # every pod still counted


def stamp_at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_ten_thousand_live_pods_keep_the_status_inside_etcds_limit() -> None:
    """A LeakWatch over 10,000 live pods, 300 of them OOMKilled: the status keeps 2,000 records,
    those that were OOMKilled first, and stays far below etcd's 1.5 MiB object limit."""
    ledger, now = Ledger(), T0 + timedelta(days=2)
    for n in range(10_000):
        started = T0 + timedelta(seconds=10 * n)
        last = oom(stamp_at(started + timedelta(hours=1))) if n % 33 == 0 else None
        p = pod(f"p{n:05}", "3.1.2", 1 if last else 0, last, started=stamp_at(started))
        ledger.observe(p, version="3.1.2", workload="checkout-api", containers=[], now=now)
    state = LeakWatchState("shop", "checkout-api", "lw-uid", 1, None, ledger, ())
    status = render_status(state, now)
    assert status.ledger is not None and len(status.ledger.pods) == MAX_STORED_PODS
    assert status.ledger.unstored_pods == 10_000 - MAX_STORED_PODS
    stored = {p.uid for p in status.ledger.pods}
    assert {f"p{n:05}" for n in range(0, 10_000, 33)} <= stored  # every pod with an OOMKill counted
    assert "p09999" in stored and "p00001" not in stored  # then the newest
    size = len(json.dumps(status.model_dump(mode="json", by_alias=True, exclude_unset=True)))
    assert size < 1024 * 1024, f"{size:,} bytes"
    assert ledger_condition(ledger).status == "False" and "8,000" in ledger_condition(ledger).message


def test_an_operator_restart_over_the_pod_limit_counts_no_oomkill_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Eight OOMKilled pods, five stored: after a restart the three left out are seen again with the
    same OOMKill showing, which is not counted again, and their next OOMKill is counted once."""
    monkeypatch.setattr("leakwatch.core.oom.MAX_STORED_PODS", 5)
    ledger, now = Ledger(), T0 + timedelta(hours=3)
    first = {n: oom(stamp_at(T0 + timedelta(hours=1, minutes=n))) for n in range(8)}
    for n, kill in first.items():
        ledger.observe(pod(f"p{n}", "3.1.2", 1, kill), version="3.1.2", workload="w", containers=[], now=now)
    assert ledger.oom_kills("3.1.2") == (8, 0)
    stored = ledger.to_status()
    assert len(stored["pods"]) == 5 and stored["unstoredPods"] == 3
    assert stored["unstoredBefore"] == "2026-01-01T01:07:01Z"  # after the last OOMKill of those left out

    restored = Ledger.from_status(json.loads(json.dumps(stored)))
    for n, kill in first.items():  # the re-list after the restart: nothing new
        assert (
            restored.observe(pod(f"p{n}", "3.1.2", 1, kill), version="3.1.2", workload="w", containers=[], now=now)
            == []
        )
    assert restored.oom_kills("3.1.2") == (8, 0)
    assert restored.versions["3.1.2"].pods == 8  # the pods left out were counted when first seen
    later = now + timedelta(hours=1)
    for n in range(8):
        kill = oom(stamp_at(later - timedelta(minutes=n)))
        kills = restored.observe(
            pod(f"p{n}", "3.1.2", 2, kill), version="3.1.2", workload="w", containers=[], now=later
        )
        assert [(k.inferred, k.count) for k in kills] == [(False, 1)]
    assert restored.oom_kills("3.1.2") == (16, 0)


def test_the_time_before_which_pods_were_left_out_is_kept_until_every_pod_is_seen_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A status written before the re-list finished still says which pods may be missing; once every
    live pod is seen again, and all fit, it says nothing."""
    monkeypatch.setattr("leakwatch.core.oom.MAX_STORED_PODS", 2)
    ledger, now = Ledger(), T0 + timedelta(hours=1)
    for n in range(3):
        ledger.observe(pod(f"p{n}", "1", 0), version="1", workload="w", containers=[], now=now)
    restored = Ledger.from_status(ledger.to_status())
    assert restored.unstored_before == "2026-01-01T00:00:01Z"  # a second after the start of the one left out
    restored.forget("p1", now)  # deleted: the status now holds every pod it knows of
    assert restored.to_status()["unstoredBefore"] == "2026-01-01T00:00:01Z"
    assert "unstoredPods" not in restored.to_status()
    assert restored.relisted() and not restored.relisted()
    assert "unstoredBefore" not in restored.to_status()
    assert ledger_condition(restored).status == "True"


def test_a_new_pod_after_a_restart_over_the_limit_keeps_its_whole_history() -> None:
    """Only pods that started before the pods left out can be one of them: a pod started later is new."""
    ledger = Ledger(unstored_before="2026-01-01T00:30:00Z")
    kills = ledger.observe(
        pod("new", "1", 3, oom("2026-01-01T02:00:00Z"), started="2026-01-01T01:00:00Z"),
        version="1",
        workload="w",
        containers=[],
        now=T0 + timedelta(hours=3),
    )
    assert [(k.inferred, k.count) for k in kills] == [(False, 1), (True, 2)]
    assert ledger.versions["1"].pods == 1
