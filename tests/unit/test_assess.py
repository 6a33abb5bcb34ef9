"""From series + ledger to per-version verdicts, pure."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leakwatch.api.leakwatch import LeakWatchSpec, OOMSpec
from leakwatch.core.analysis import Samples, VersionVerdict, human_duration
from leakwatch.core.assess import (
    LabelledSeries,
    LeakSummary,
    Reading,
    RuntimeSeries,
    assess,
    check_against_rss,
    check_against_runtime,
    grown_by_pod,
    summarise,
    versions_to_check_against_rss,
    versions_to_check_against_runtime,
)
from leakwatch.core.decide import gather_facts
from leakwatch.core.oom import Ledger
from leakwatch.core.pods import ContainerSpec, ContainerState, PodInfo, Termination
from leakwatch.core.promql import Scope, runtime_queries

MiB = 2**20
NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
SPEC = LeakWatchSpec.model_validate({"selector": {"matchLabels": {"app": "a"}}, "memory": {"window": "6h"}})


def series(
    pod: str,
    per_hour: float,
    namespace: str = "shop",
    hours: float = 6,
    *,
    container: str = "app",
    every_seconds: float = 60.0,
) -> LabelledSeries:
    t = np.arange(NOW.timestamp() - hours * 3600, NOW.timestamp(), every_seconds)
    v = 300 * MiB + per_hour * (t - t[0]) / 3600 + np.random.default_rng(7).normal(0, 1 * MiB, t.size)
    return LabelledSeries({"namespace": namespace, "pod": pod, "container": container}, Samples(t, v))


def spec_with(memory: dict[str, str] | None = None, **fields: object) -> LeakWatchSpec:
    """SPEC (memory.window 6h) with some fields set, e.g. memory={"sensitivity": "High"}."""
    return LeakWatchSpec.model_validate(
        {"selector": {"matchLabels": {"app": "a"}}, "memory": {"window": "6h", **(memory or {})}, **fields}
    )


def pod(name: str) -> PodInfo:
    return PodInfo(
        "shop",
        name,
        f"uid-{name}",
        containers=(ContainerSpec("app", memory_limit_bytes=1024 * MiB),),
        statuses=(ContainerState("app"),),
        started_at="2026-11-25T05:00:00Z",
    )


def ledger() -> Ledger:
    book = Ledger()
    book.observe(pod("old-0"), version="3.0.10", workload="a", containers=[], now=NOW - timedelta(hours=6))
    book.forget("uid-old-0", NOW - timedelta(hours=3))  # gone, but its series is still in the window
    book.observe(pod("new-0"), version="3.1.2", workload="a", containers=[], now=NOW)
    return book


def test_series_are_attributed_through_the_ledger_also_for_gone_pods() -> None:
    result = assess([series("old-0", 0), series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    assert result.verdicts["3.1.2"].verdict == "Leaking"
    assert result.verdicts["3.0.10"].verdict == "Stable"
    assert result.series_used == 2 and result.series_dropped == 0
    summary, condition = summarise(result, running_versions={"3.1.2"})
    assert summary == LeakSummary("Leaking", "3.1.2")
    assert condition.status == "True" and "version 3.1.2" in condition.message


def test_series_of_other_namespaces_or_unknown_pods_are_never_judged() -> None:
    hostile = [series("new-0", 500 * MiB, namespace="elsewhere"), series("stranger-0", 500 * MiB)]
    result = assess([series("new-0", 0), *hostile], Reading("shop", SPEC, ledger(), NOW))
    assert result.series_dropped == 2
    assert result.verdicts["3.1.2"].verdict == "Stable"
    summary, condition = summarise(result, running_versions={"3.1.2"})
    assert summary.verdict == "Stable" and condition.status == "False"


def test_no_data_is_insufficient_not_stable() -> None:
    result = assess([], Reading("shop", SPEC, ledger(), NOW))
    summary, condition = summarise(result, running_versions={"3.1.2"})
    assert summary.verdict == "InsufficientData"
    assert condition.status == "Unknown"


def test_a_stretched_clock_stretches_pod_hours_and_durations_like_the_series() -> None:
    """One clock: with time_scale 240, four real hours of a version read as 40 days, as its rate
    does; the wall-clock times (a rollout's date) stay true."""
    book = ledger()
    _, plain = gather_facts(book, {}, NOW)
    _, scaled = gather_facts(book, {}, NOW, time_scale=240)
    old_plain, old_scaled = (next(f for f in facts if f.version == "3.0.10") for facts in (plain, scaled))
    assert old_scaled.pod_hours == 240 * old_plain.pod_hours > 0
    assert (
        old_scaled.seen_for_seconds == 240 * old_plain.seen_for_seconds == 240 * 4 * 3600
    )  # started 05:00, gone 09:00
    assert (old_scaled.first_seen, old_scaled.last_seen) == (old_plain.first_seen, old_plain.last_seen)


def test_durations_read_as_words() -> None:
    assert [human_duration(s) for s in (60, 150, 3 * 3600, 6 * 86400)] == [
        "1 minute",
        "2 minutes",
        "3.0 hours",
        "6.0 days",
    ]


def test_a_window_too_short_to_ever_show_a_leak_gives_insufficient_data_not_stable() -> None:
    """Medium wants 3 hours of growth: a 2-hour window of flat memory has not shown there is none."""
    short = LeakWatchSpec.model_validate({"selector": {"matchLabels": {"app": "a"}}, "memory": {"window": "2h"}})
    result = assess([series("new-0", 0, hours=2)], Reading("shop", short, ledger(), NOW))
    verdict = result.verdicts["3.1.2"]
    assert verdict.verdict == "InsufficientData"
    assert verdict.evidence == [
        "memory.window 2h is shorter than the 3.0 hours of growth Medium sensitivity needs to call a leak: widen it"
    ]
    stretched = assess([series("new-0", 0, hours=2)], Reading("shop", short, ledger(), NOW, 2))
    assert stretched.verdicts["3.1.2"].verdict == "Stable"  # 2 h read as 4 h: long enough


def test_oom_threshold_counts_only_the_oomkills_inside_oom_window() -> None:
    """Two OOMKills reach the default threshold of 2; with oom.window 1h, kills from three hours ago
    are no evidence, and the flat memory makes the version Stable."""
    book = ledger()
    for restarts, hours_ago in ((1, 3.0), (2, 2.9)):
        at = NOW - timedelta(hours=hours_ago)
        killed = replace(
            pod("new-0"),
            statuses=(ContainerState("app", restarts, Termination("OOMKilled", at.strftime("%Y-%m-%dT%H:%M:%SZ"))),),
        )
        book.observe(killed, version="3.1.2", workload="a", containers=[], now=at, oom_window_seconds=86400)
    flat = [series("new-0", 0)]
    wide = assess(flat, Reading("shop", SPEC, book, NOW))
    narrow_spec = SPEC.model_copy(update={"oom": OOMSpec(window="1h")})
    narrow = assess(flat, Reading("shop", narrow_spec, book, NOW))
    assert wide.verdicts["3.1.2"].verdict == "Leaking"
    assert narrow.verdicts["3.1.2"].verdict == "Stable"


def kill(book: Ledger, restarts: int, at: datetime) -> None:
    """new-0's app container was OOMKilled at `at` (its `restarts`-th restart), seen then."""
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    killed = replace(pod("new-0"), statuses=(ContainerState("app", restarts, Termination("OOMKilled", stamp)),))
    book.observe(killed, version="3.1.2", workload="a", containers=[], now=at, oom_window_seconds=86400)


# --- each spec field changes the verdict: these fail when the field is ignored ----------------------


def test_memory_sensitivity_high_calls_a_young_leak_that_low_does_not() -> None:
    """Three hours of a 40 MiB/h leak: enough growth for High (2 h), not for Low, which needs 5 h here
    (15 h to the limit, extrapolated 3x at most) and only suspects it; Medium, the default, needs 3 h."""
    young = [series("new-0", 40 * MiB, hours=3)]
    judged = {
        level: assess(young, Reading("shop", spec_with(memory={"sensitivity": level}), ledger(), NOW))
        for level in ("High", "Low")
    }
    assert judged["High"].verdicts["3.1.2"].verdict == "Leaking"
    low = judged["Low"].verdicts["3.1.2"]
    assert low.verdict == "Suspected"
    assert "for 3.0 hours so far: a leak is called after 5.0 hours of it" in low.evidence[0], low.evidence
    summary, condition = summarise(judged["Low"], running_versions={"3.1.2"})
    assert summary == LeakSummary("Suspected", "3.1.2")
    assert (condition.status, condition.reason) == ("True", "GrowthSuspected")
    assert condition.message.endswith("(no alert or recommendation before then)")


def test_memory_sensitivity_sets_the_shortest_window_that_can_say_stable() -> None:
    """A 3-hour window spans the 2 hours of growth High needs, not the 4 hours Low needs."""
    flat = [series("new-0", 0, hours=3)]
    high = spec_with(memory={"window": "3h", "sensitivity": "High"})
    low = spec_with(memory={"window": "3h", "sensitivity": "Low"})
    assert assess(flat, Reading("shop", high, ledger(), NOW)).verdicts["3.1.2"].verdict == "Stable"
    verdict = assess(flat, Reading("shop", low, ledger(), NOW)).verdicts["3.1.2"]
    assert verdict.verdict == "InsufficientData"
    assert verdict.evidence == [
        "memory.window 3h is shorter than the 4.0 hours of growth Low sensitivity needs to call a leak: widen it"
    ]


def test_memory_step_sets_the_gap_that_splits_a_series() -> None:
    """Samples five minutes apart are one run at memory.step 5m; at 1m every gap is three steps or
    more, a scrape outage, and each sample is a run of its own."""
    leak = [series("new-0", 50 * MiB, every_seconds=300.0)]
    five = assess(leak, Reading("shop", spec_with(memory={"step": "5m"}), ledger(), NOW))
    one = assess(leak, Reading("shop", spec_with(memory={"step": "1m"}), ledger(), NOW))
    assert five.verdicts["3.1.2"].verdict == "Leaking"
    assert one.verdicts["3.1.2"].verdict == "InsufficientData"


def test_oom_threshold_three_needs_three_oomkills_in_the_window() -> None:
    """Flat memory, so only OOMKills can make the version leak: two of them are below a threshold of
    3 (and would reach the default of 2), three reach it."""
    strict = spec_with(oom={"threshold": 3})
    flat = [series("new-0", 0)]
    book = ledger()
    for restarts in (1, 2):
        kill(book, restarts, NOW - timedelta(hours=3 - restarts))
    two = assess(flat, Reading("shop", strict, book, NOW))
    assert two.verdicts["3.1.2"].verdict == "Stable"
    assert summarise(two, running_versions={"3.1.2"})[0] == LeakSummary("Stable", None)
    kill(book, 3, NOW - timedelta(minutes=30))
    three = assess(flat, Reading("shop", strict, book, NOW))
    assert three.verdicts["3.1.2"].verdict == "Leaking"
    assert summarise(three, running_versions={"3.1.2"})[0] == LeakSummary("Leaking", "3.1.2")


def test_containers_leaves_a_growing_sidecar_out_of_the_verdict() -> None:
    """The sidecar grows 50 MiB/h, the app is flat: watching only the app container, the version is
    Stable; watching every container, the sidecar makes it Leaking."""
    book = Ledger()
    two_containers = replace(
        pod("new-0"),
        containers=(
            ContainerSpec("app", memory_limit_bytes=1024 * MiB),
            ContainerSpec("sidecar", memory_limit_bytes=1024 * MiB),
        ),
        statuses=(ContainerState("app"), ContainerState("sidecar")),
    )
    book.observe(two_containers, version="3.1.2", workload="a", containers=[], now=NOW)
    found = [series("new-0", 0), series("new-0", 50 * MiB, container="sidecar")]
    app_only = assess(found, Reading("shop", spec_with(containers=["app"]), book, NOW))
    assert app_only.verdicts["3.1.2"].verdict == "Stable"
    assert (app_only.series_used, app_only.series_dropped) == (1, 1)
    every = assess(found, Reading("shop", spec_with(), book, NOW))
    assert every.verdicts["3.1.2"].verdict == "Leaking"


# --- working set against RSS: page cache is not a leak ------------------------------------------------


def checked(working_set_per_hour: float, rss: list[LabelledSeries], spec: LeakWatchSpec = SPEC) -> VersionVerdict:
    judged = assess([series("new-0", working_set_per_hour)], Reading("shop", spec, ledger(), NOW))
    assert judged.verdicts["3.1.2"].verdict == "Leaking"
    return check_against_rss(judged, rss, Reading("shop", spec, ledger(), NOW)).verdicts["3.1.2"]


def test_working_set_growth_that_rss_does_not_share_is_page_cache_and_only_suspected() -> None:
    verdict = checked(50 * MiB, [series("new-0", 0)])
    assert verdict.verdict == "Suspected" and verdict.time_to_oom_seconds is None
    assert verdict.growth_bytes_per_second is not None  # the working set's growth is still shown
    assert "the growth is page cache, which the kernel reclaims before it OOMKills, or tmpfs" in verdict.evidence[-1]
    assert verdict.evidence[-1].startswith("RSS grows 0.0 MiB/h of that")


def test_working_set_growth_that_rss_shares_stays_leaking() -> None:
    assert checked(50 * MiB, [series("new-0", 50 * MiB)]).verdict == "Leaking"
    assert checked(50 * MiB, [series("new-0", 20 * MiB)]).verdict == "Leaking"  # a leak beside some cache


def test_without_rss_series_a_version_keeps_its_working_set_verdict() -> None:
    assert checked(50 * MiB, []).verdict == "Leaking"
    assert checked(50 * MiB, [series("new-0", 0, namespace="elsewhere")]).verdict == "Leaking"


def test_only_working_set_growth_short_of_oomkills_is_checked() -> None:
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    assert versions_to_check_against_rss(judged, SPEC) == ["3.1.2"]
    assert versions_to_check_against_rss(judged, spec_with(memory={"signal": "RSS"})) == []
    killed = ledger()
    kill(killed, 1, NOW - timedelta(hours=1))
    kill(killed, 2, NOW - timedelta(minutes=30))
    by_kills = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, killed, NOW))
    assert by_kills.verdicts["3.1.2"].by_oom_kills
    assert versions_to_check_against_rss(by_kills, SPEC) == []


# --- the JVM heap beside the working set -------------------------------------------------------


# As the operator describes them (core/promql.runtime_queries): the JVM's heap, then Go's runtime.
JVM_HEAP, GO_RUNTIME = (queries.cap for queries in runtime_queries(SPEC.memory, Scope("shop", ["new-0"])))


def heap_level(pod: str, mib: float, namespace: str = "shop") -> LabelledSeries:
    t = np.arange(NOW.timestamp() - 6 * 3600, NOW.timestamp(), 60.0)
    return LabelledSeries({"namespace": namespace, "pod": pod}, Samples(t, np.full(t.size, mib * MiB)))


def heap_checked(committed_per_hour: float, used_floor_per_hour: float, max_mib: float) -> VersionVerdict:
    """3.1.2's working set grows 50 MiB/h from 300 MiB (600 MiB now, limit 1 GiB) beside its heap:
    committed from 300 MiB at `committed_per_hour`, the floor after GC at `used_floor_per_hour`."""
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    assert judged.verdicts["3.1.2"].verdict == "Leaking"
    heap = RuntimeSeries(
        JVM_HEAP,
        committed=[series("new-0", committed_per_hour, container="")],
        used_floor=[series("new-0", used_floor_per_hour, container="")],
        maximum=[heap_level("new-0", max_mib)],
    )
    return check_against_runtime(judged, heap, Reading("shop", SPEC, ledger(), NOW)).verdicts["3.1.2"]


def test_a_heap_filling_to_a_max_below_the_limit_is_only_suspected() -> None:
    # Committed heap 300 -> 570 MiB with a max of 700 MiB: at most 130 MiB more, the limit is 424 MiB away.
    verdict = heap_checked(45 * MiB, 0, max_mib=700)
    assert verdict.verdict == "Suspected" and verdict.time_to_oom_seconds is None
    assert verdict.evidence[-1].startswith("the committed JVM heap grows 45.0 MiB/h of that, with ")
    left = re.search(r"with (\d+) MiB left", verdict.evidence[-1])
    assert left is not None and abs(int(left.group(1)) - 130) <= 2
    assert "max of 700 MiB" in verdict.evidence[-1] and "filling to its cap" in verdict.evidence[-1]


def test_growth_outside_the_heap_or_past_the_room_to_the_limit_stays_leaking() -> None:
    assert heap_checked(0, 0, max_mib=700).verdict == "Leaking"  # direct buffers: the Netty story
    # A heap max above what the limit leaves (-Xmx too big for the container) ends in an OOMKill,
    # whether the heap fills or its live objects leak.
    assert heap_checked(45 * MiB, 0, max_mib=2048).verdict == "Leaking"
    assert heap_checked(45 * MiB, 45 * MiB, max_mib=2048).verdict == "Leaking"


def test_a_live_set_growing_under_a_heap_max_below_the_limit_is_only_suspected() -> None:
    """Live objects kept, or a cache filling: either way the JVM stops at its max, so this growth
    ends in OutOfMemoryError (a leak) or a full cache, never in an OOMKill."""
    verdict = heap_checked(45 * MiB, 45 * MiB, max_mib=700)
    assert verdict.verdict == "Suspected" and verdict.time_to_oom_seconds is None
    assert "and its floor after GC grows too" in verdict.evidence[-1]
    assert "OutOfMemoryError at that max" in verdict.evidence[-1]


def heap_series(
    pod: str, start_hours_ago: float, end_hours_ago: float, from_mib: float, per_hour: float
) -> LabelledSeries:
    """A committed heap from `from_mib`, growing `per_hour`, scraped every minute over those hours."""
    t = np.arange(NOW.timestamp() - start_hours_ago * 3600, NOW.timestamp() - end_hours_ago * 3600, 60.0)
    return LabelledSeries({"namespace": "shop", "pod": pod}, Samples(t, from_mib * MiB + per_hour * (t - t[0]) / 3600))


def test_a_scrape_gap_does_not_cut_the_heaps_growth_in_two() -> None:
    """The heap grew 45 MiB/h for 5 h, then 20 minutes went unscraped, then it held for 40 minutes
    before its next expansion: one run growing about as fast as the working set, not a 45 MiB/h run
    and a flat one whose median (22 MiB/h) is under half the working set's 50 MiB/h."""
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    before_gap = heap_series("new-0", 6, 1, 300, 45 * MiB)
    held = heap_series("new-0", 40 / 60, 0, 525, 0)
    committed = LabelledSeries(
        before_gap.labels,
        Samples(
            np.concatenate((before_gap.samples.t, held.samples.t)),
            np.concatenate((before_gap.samples.v, held.samples.v)),
        ),
    )
    heap = RuntimeSeries(JVM_HEAP, [committed], [series("new-0", 45 * MiB, container="")], [heap_level("new-0", 700)])
    verdict = check_against_runtime(judged, heap, Reading("shop", SPEC, ledger(), NOW)).verdicts["3.1.2"]
    assert verdict.verdict == "Suspected"
    assert "with 175 MiB left to its max of 700 MiB" in verdict.evidence[-1]


def with_replica() -> Reading:
    """The ledger with a second pod of 3.1.2, new-1 (its series say when it started)."""
    book = ledger()
    book.observe(pod("new-1"), version="3.1.2", workload="a", containers=[], now=NOW)
    return Reading("shop", SPEC, book, NOW)


def test_the_heap_room_is_the_pod_nearest_its_max_and_a_pod_just_started_lends_none() -> None:
    """new-0's heap (300 -> 570 MiB of 700) leaves 130 MiB, short of the 424 MiB its working set has to
    the limit. A replica started a minute ago has nearly all of its max free, and one started 2 h ago
    most of it: neither shows that new-0's memory can reach the limit, and new-0's, at its max, is where
    the version's tops out."""
    reading = with_replica()
    judged = assess([series("new-0", 50 * MiB)], reading)
    for started_hours_ago in (2 / 60, 2):
        heap = RuntimeSeries(
            JVM_HEAP,
            committed=[
                series("new-0", 45 * MiB, container=""),
                heap_series("new-1", started_hours_ago, 0, 60, 45 * MiB),
            ],
            used_floor=[series("new-0", 0, container=""), heap_series("new-1", started_hours_ago, 0, 40, 0)],
            maximum=[heap_level("new-0", 700), heap_level("new-1", 700)],
        )
        verdict = check_against_runtime(judged, heap, reading).verdicts["3.1.2"]
        assert verdict.verdict == "Suspected", started_hours_ago
        left = re.search(r"with (\d+) MiB left", verdict.evidence[-1])
        assert left is not None and abs(int(left.group(1)) - 130) <= 2


def test_the_hours_the_working_set_grew_are_those_of_the_runs_the_verdict_reads() -> None:
    """new-0 leaks for 6 h, new-1 grew for 2 h (too short to be called), old-0 sat flat: the verdict
    reads new-0's growth, so its hours are the ones a runtime is weighed over."""
    reading = with_replica()
    judged = assess([series("new-0", 50 * MiB), series("new-1", 60 * MiB, hours=2), series("old-0", 0)], reading)
    grown = grown_by_pod(judged.runs["3.1.2"])
    assert list(grown) == ["new-0"]
    [(start, end)] = grown["new-0"]
    assert end == pytest.approx(NOW.timestamp() - 60) and NOW.timestamp() - start == pytest.approx(6 * 3600, abs=900)
    assert grown_by_pod(judged.runs["3.0.10"]) == {}  # nothing grew


def test_the_heap_is_weighed_where_the_working_set_grew_not_where_it_sat_at_its_max() -> None:
    """new-0's working set grows 50 MiB/h and its heap 45 MiB/h, to a max of 700 MiB; new-1's working
    set and heap sit still, its heap at 650 MiB. The heap's median over both pods (22 MiB/h) is under
    half the working set's growth; over the hours and the pod the working set grew in it is 45 MiB/h,
    and the room to the max is short of the limit: a heap filling to its max."""
    reading = with_replica()
    judged = assess([series("new-0", 50 * MiB), series("new-1", 0)], reading)
    assert judged.verdicts["3.1.2"].verdict == "Leaking"
    heap = RuntimeSeries(
        JVM_HEAP,
        committed=[series("new-0", 45 * MiB, container=""), heap_series("new-1", 6, 0, 650, 0)],
        used_floor=[series("new-0", 0, container=""), heap_series("new-1", 6, 0, 400, 0)],
        maximum=[heap_level("new-0", 700), heap_level("new-1", 700)],
    )
    verdict = check_against_runtime(judged, heap, reading).verdicts["3.1.2"]
    assert verdict.verdict == "Suspected" and verdict.time_to_oom_seconds is None
    growth = re.search(r"the committed JVM heap grows ([\d.]+) MiB/h", verdict.evidence[-1])
    assert growth is not None and abs(float(growth.group(1)) - 45) <= 2
    assert "with 50 MiB left to its max of 700 MiB" in verdict.evidence[-1]


def test_a_replica_warming_its_heap_does_not_explain_growth_outside_another_pods_heap() -> None:
    """The Netty story beside a replica: new-0's working set grows 50 MiB/h for 6 h with its heap flat
    (direct buffers), while new-1, started 2 h ago, commits heap at 60 MiB/h. The heap's median over both
    (30 MiB/h) is over half the working set's growth, but none of it is where the working set grew."""
    reading = with_replica()
    judged = assess([series("new-0", 50 * MiB), series("new-1", 60 * MiB, hours=2)], reading)
    assert judged.verdicts["3.1.2"].verdict == "Leaking"
    assert judged.verdicts["3.1.2"].evidence[0].startswith("1 of 2 container runs grow")
    heap = RuntimeSeries(
        JVM_HEAP,
        committed=[series("new-0", 0, container=""), heap_series("new-1", 2, 0, 60, 60 * MiB)],
        used_floor=[series("new-0", 0, container=""), heap_series("new-1", 2, 0, 40, 0)],
        maximum=[heap_level("new-0", 700), heap_level("new-1", 700)],
    )
    assert check_against_runtime(judged, heap, reading).verdicts["3.1.2"].verdict == "Leaking"


def test_without_all_three_heap_signals_a_version_keeps_its_verdict() -> None:
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    committed, used, maximum = (
        [series("new-0", 45 * MiB, container="")],
        [series("new-0", 0)],
        [heap_level("new-0", 700)],
    )
    for heap in (
        RuntimeSeries(JVM_HEAP, committed, [], maximum),  # without the floor after GC a heap leak would pass for a fill
        RuntimeSeries(JVM_HEAP, [], used, maximum),
        RuntimeSeries(JVM_HEAP, committed, used, []),
        RuntimeSeries(JVM_HEAP, committed, used, [heap_level("new-0", 700, namespace="elsewhere")]),
    ):
        checked = check_against_runtime(judged, heap, Reading("shop", SPEC, ledger(), NOW))
        assert checked.verdicts["3.1.2"].verdict == "Leaking"
    assert versions_to_check_against_runtime(judged, SPEC) == ["3.1.2"]
    assert versions_to_check_against_runtime(judged, spec_with(memory={"signal": "RSS"})) == ["3.1.2"]
    assert versions_to_check_against_runtime(judged, spec_with(memory={"signal": "JVMNative"})) == []
    # Growth RSS already explained as page cache has no time to OOM left to weigh a cap against.
    explained = check_against_rss(judged, [series("new-0", 0)], Reading("shop", SPEC, ledger(), NOW))
    assert explained.verdicts["3.1.2"].verdict == "Suspected"
    assert versions_to_check_against_runtime(explained, SPEC) == []


def test_go_memory_filling_to_a_gomemlimit_below_the_limit_is_only_suspected() -> None:
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    go = RuntimeSeries(
        GO_RUNTIME,
        committed=[series("new-0", 48 * MiB, container="")],
        used_floor=[series("new-0", 0, container="")],
        maximum=[heap_level("new-0", 640)],
    )
    checked = check_against_runtime(judged, go, Reading("shop", SPEC, ledger(), NOW))
    verdict = checked.verdicts["3.1.2"]
    assert verdict.verdict == "Suspected"
    assert verdict.evidence[-1].startswith("the memory the Go runtime manages grows 48.0 MiB/h of that, with ")
    assert "to its GOMEMLIMIT of 640 MiB" in verdict.evidence[-1]
    # A cgo leak grows outside what the runtime manages: Leaking stays.
    cgo = replace(go, committed=[series("new-0", 0, container="")])
    after_cgo = check_against_runtime(judged, cgo, Reading("shop", SPEC, ledger(), NOW))
    assert after_cgo.verdicts["3.1.2"].verdict == "Leaking"
    # GOMEMLIMIT is soft: a live heap that grows passes it and the container is OOMKilled.
    live_leak = replace(go, used_floor=[series("new-0", 48 * MiB, container="")])
    after_live_leak = check_against_runtime(judged, live_leak, Reading("shop", SPEC, ledger(), NOW))
    assert after_live_leak.verdicts["3.1.2"].verdict == "Leaking"


def test_a_live_heap_that_halves_at_each_collection_is_not_read_as_restarts() -> None:
    """Go's heap objects sampled once a step swing between the live set and twice it (GOGC=100): a
    fall of 40% or more at every other step, which the working set's split would take for restarts."""
    judged = assess([series("new-0", 50 * MiB)], Reading("shop", SPEC, ledger(), NOW))
    t = np.arange(NOW.timestamp() - 6 * 3600, NOW.timestamp(), 60.0)
    swinging = np.where(np.arange(t.size) % 2 == 0, 80 * MiB, 140 * MiB)
    go = RuntimeSeries(
        GO_RUNTIME,
        committed=[series("new-0", 48 * MiB, container="")],
        used_floor=[LabelledSeries({"namespace": "shop", "pod": "new-0"}, Samples(t, swinging))],
        maximum=[heap_level("new-0", 640)],
    )
    checked = check_against_runtime(judged, go, Reading("shop", SPEC, ledger(), NOW))
    assert checked.verdicts["3.1.2"].verdict == "Suspected"


def filling(pod: str, start: datetime, end: datetime, per_hour: float, for_hours: float) -> LabelledSeries:
    t = np.arange(start.timestamp(), end.timestamp(), 60.0)
    hours = (t - t[0]) / 3600
    v = 300 * MiB + per_hour * np.minimum(hours, for_hours) + np.random.default_rng(3).normal(0, 1 * MiB, t.size)
    return LabelledSeries({"namespace": "shop", "pod": pod, "container": "app"}, Samples(t, v))


def test_growth_the_previous_version_had_at_the_same_container_age_and_stopped_is_only_suspected() -> None:
    # 3.0.10 ran 14 h and filled for its first 9; 3.1.2, deployed 6 h ago, fills the same way.
    book = Ledger()
    book.observe(pod("old-0"), version="3.0.10", workload="a", containers=[], now=NOW - timedelta(hours=20))
    book.forget("uid-old-0", NOW - timedelta(hours=6))
    book.observe(pod("new-0"), version="3.1.2", workload="a", containers=[], now=NOW)
    deployed = NOW - timedelta(hours=6)
    new = filling("new-0", deployed, NOW, 40 * MiB, 9)
    spec = spec_with({"window": "24h"})

    def judged(old: LabelledSeries) -> VersionVerdict:
        return assess([old, new], Reading("shop", spec, book, NOW)).verdicts["3.1.2"]

    same = judged(filling("old-0", NOW - timedelta(hours=20), deployed, 40 * MiB, 9))
    assert same.verdict == "Suspected" and same.time_to_oom_seconds is None
    assert "version 3.0.10 grew 4" in same.evidence[-1]
    assert (
        "at the same container age (0 minutes to 6.0 hours), then 0.4 MiB/h in its last 6.0 hours "
        "(to 14.0 hours of age)" in same.evidence[-1]
    )
    assert judged(filling("old-0", NOW - timedelta(hours=20), deployed, 0, 0)).verdict == "Leaking"


# --- a live heap leaking under a soft cap ---------------------------------------------------------


def shaped(pod: str, mib_at_hour: object, *, container: str = "app") -> LabelledSeries:
    """A 6 h series whose level in MiB is `mib_at_hour(hours since its start)`, with 1 MiB of noise."""
    t = np.arange(NOW.timestamp() - 6 * 3600, NOW.timestamp(), 60.0)
    hours = (t - t[0]) / 3600
    level = np.asarray(mib_at_hour(hours), dtype=np.float64)  # type: ignore[operator]
    noise = np.random.default_rng(11).normal(0, 1, t.size)
    return LabelledSeries({"namespace": "shop", "pod": pod, "container": container}, Samples(t, (level + noise) * MiB))


def held_at_gomemlimit(live_per_hour: float, *, runtime: int = 1) -> tuple[VersionVerdict, VersionVerdict, list[str]]:
    """3.1.2's working set rises 60 MiB/h for 2 h and is then held at 420 MiB, under a GOMEMLIMIT of
    420 MiB (limit 1 GiB), while its live heap grows from 100 MiB at `live_per_hour`: its verdict
    before and after the runtime is read, and the versions whose runtime is read. `runtime` 0 reads
    the JVM's heap (a hard max) instead of Go's."""
    working_set = shaped("new-0", lambda h: 300 + 60 * np.minimum(h, 2.0))
    judged = assess([working_set], Reading("shop", SPEC, ledger(), NOW))
    runtime_memory = RuntimeSeries(
        (JVM_HEAP, GO_RUNTIME)[runtime],
        committed=[shaped("new-0", lambda h: 290 + 60 * np.minimum(h, 2.0), container="")],
        used_floor=[shaped("new-0", lambda h: 100 + live_per_hour * h, container="")],
        maximum=[heap_level("new-0", 420)],
    )
    checked = check_against_runtime(judged, runtime_memory, Reading("shop", SPEC, ledger(), NOW))
    return judged.verdicts["3.1.2"], checked.verdicts["3.1.2"], versions_to_check_against_runtime(judged, SPEC)


def test_a_live_heap_growing_past_a_soft_gomemlimit_is_leaking_while_the_working_set_is_held() -> None:
    before, after, read = held_at_gomemlimit(50)
    assert before.verdict == "Stable" and read == ["3.1.2"]  # it grew, so its runtime is read
    assert after.verdict == "Leaking" and not after.by_oom_kills
    assert after.growth_bytes_per_second is not None and abs(after.growth_bytes_per_second * 3600 / MiB - 50) < 3
    # The live heap is at 400 MiB of the 1 GiB limit: about 12.5 h to go at 50 MiB/h.
    assert after.time_to_oom_seconds is not None and abs(after.time_to_oom_seconds / 3600 - 12.5) < 1
    assert "towards the memory limit: its GOMEMLIMIT of 420 MiB is soft" in after.evidence[-2]
    assert after.evidence[-1].startswith("at that rate the live heap reaches the memory limit in ")


def test_a_working_set_held_at_gomemlimit_with_a_flat_live_heap_stays_stable() -> None:
    before, after, _ = held_at_gomemlimit(0)
    assert before.verdict == after.verdict == "Stable"
    assert after == before


def test_a_live_heap_growing_under_the_jvms_hard_max_is_not_called_on_it() -> None:
    # The JVM never takes more heap than its max: a growing live set ends in OutOfMemoryError there.
    before, after, _ = held_at_gomemlimit(50, runtime=0)
    assert before.verdict == after.verdict == "Stable"


def test_a_version_whose_memory_never_grew_costs_no_runtime_query() -> None:
    judged = assess([series("new-0", 0)], Reading("shop", SPEC, ledger(), NOW))
    assert judged.verdicts["3.1.2"].verdict == "Stable"
    assert versions_to_check_against_runtime(judged, SPEC) == []
