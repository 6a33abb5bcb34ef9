"""Growth read beside other containers of the workload at the same container age."""

from __future__ import annotations

import numpy as np

from leakwatch.core.analysis import HOUR, Samples, analyse_segment, verdict_for_version
from leakwatch.core.same_age import ContainerRun, against_same_age, born_in_window, twin_of
from series import GIB, MIB, START, Floor, linear, memory

WINDOW = 24 * HOUR


def fill(base: float, per_hour: float, hours: float) -> Floor:
    """Grows at `per_hour` for `hours` from its start, then stays: a heap committed up to its max."""
    return lambda h: base + per_hour * np.minimum(h, hours)


def warm_up_then(base: float, jump: float, then: Floor) -> Floor:
    """A start-up jump over the first minutes, then `then`."""
    return lambda h: base + jump * np.minimum(h * 6, 1.0) + then(h) - then(np.zeros_like(h))


def run_of(samples: Samples, version: str, *, now: float) -> ContainerRun:
    return ContainerRun(
        samples,
        analyse_segment(samples, limit_bytes=GIB),
        version,
        born_in_window(0, samples, now - WINDOW, 180.0),
        pod=f"{version}-0",
    )


def judged(new: ContainerRun, *others: ContainerRun) -> tuple[str, list[str]]:
    verdict = verdict_for_version(new.version, [new.analysis], oom_kills=0, pod_hours=10.0, oom_threshold=2)
    judged = against_same_age(verdict, [new], [new, *others])
    return judged.verdict, judged.evidence


def test_a_fill_the_previous_version_did_at_the_same_age_and_stopped_is_only_suspected() -> None:
    # 1.0.0 was deployed 14 h ago and filled 40 MiB/h for 9 h, then stayed; 1.1.0, deployed 6 h
    # ago, does the same: on its own curve a leak reaching its limit in about 15 h.
    now = START + 20 * HOUR
    old = memory(14, fill(300 * MIB, 40 * MIB, 9), seed=1, start=START)
    new = memory(6, fill(300 * MIB, 40 * MIB, 9), seed=2, start=now - 6 * HOUR)
    alone = run_of(new, "1.1.0", now=now)
    assert alone.analysis.leaking

    verdict, evidence = judged(alone, run_of(old, "1.0.0", now=now))

    assert verdict == "Suspected"
    assert "version 1.0.0 grew" in evidence[-1] and "at the same container age" in evidence[-1]


def test_a_leak_is_kept_when_the_previous_version_was_flat_after_its_warm_up() -> None:
    # The Jooby story: both versions jump at start-up; only the new one keeps growing.
    now = START + 20 * HOUR
    old = memory(14, warm_up_then(250 * MIB, 100 * MIB, linear(0, 0)), seed=3, start=START)
    new = memory(6, warm_up_then(250 * MIB, 100 * MIB, linear(0, 40 * MIB)), seed=4, start=now - 6 * HOUR)
    leak = run_of(new, "1.1.0", now=now)
    assert leak.analysis.leaking

    assert judged(leak, run_of(old, "1.0.0", now=now))[0] == "Leaking"


def test_a_leak_is_kept_when_an_older_replica_kept_growing() -> None:
    now = START + 20 * HOUR
    older = memory(14, linear(300 * MIB, 40 * MIB), seed=5, start=START)
    newer = memory(6, linear(300 * MIB, 40 * MIB), seed=6, start=now - 6 * HOUR)
    leak = run_of(newer, "1.1.0", now=now)

    assert judged(leak, run_of(older, "1.1.0", now=now))[0] == "Leaking"


def test_a_fill_is_kept_when_the_earlier_container_was_not_seen_for_long_enough_after_that_age() -> None:
    # The earlier container was replaced 8 h after its start: whether it stops after 6 h of age is
    # seen for 2 h only, less than the 6 h this one has grown.
    now = START + 20 * HOUR
    old = memory(8, fill(300 * MIB, 40 * MIB, 6.5), seed=7, start=START + 4 * HOUR)
    new = memory(6, fill(300 * MIB, 40 * MIB, 9), seed=8, start=now - 6 * HOUR)
    alone = run_of(new, "1.1.0", now=now)

    assert judged(alone, run_of(old, "1.0.0", now=now))[0] == "Leaking"


def test_ages_are_known_only_for_a_pods_first_run_that_starts_inside_the_window() -> None:
    now = START + 30 * HOUR
    at_the_edge = memory(24, linear(300 * MIB, 0), start=now - WINDOW)
    inside = memory(6, linear(300 * MIB, 0), start=now - 6 * HOUR)

    assert born_in_window(0, at_the_edge, now - WINDOW, 180.0) is None
    assert born_in_window(0, inside, now - WINDOW, 180.0) == inside.t[0]
    assert born_in_window(1, inside, now - WINDOW, 180.0) is None  # after a restart or a scrape gap


def test_a_run_of_unknown_age_has_no_twin() -> None:
    now = START + 20 * HOUR
    old = run_of(memory(14, fill(300 * MIB, 40 * MIB, 9), seed=1, start=START), "1.0.0", now=now)
    new = memory(6, fill(300 * MIB, 40 * MIB, 9), seed=2, start=now - 6 * HOUR)
    unknown = ContainerRun(new, analyse_segment(new, limit_bytes=GIB), "1.1.0", None, pod="1.1.0-0")

    assert twin_of(unknown, [old]) is None
    assert twin_of(run_of(new, "1.1.0", now=now), [old]) is not None


def test_a_fill_much_faster_than_the_growth_is_no_twin() -> None:
    # 1.0.0 filled 100 MiB/h for 5 h at start-up; 1.1.0 leaks 30 MiB/h: the old fill says nothing
    # about when the new growth stops.
    now = START + 20 * HOUR
    old = memory(14, fill(300 * MIB, 100 * MIB, 5), seed=9, start=START)
    new = memory(6, linear(300 * MIB, 30 * MIB), seed=10, start=now - 6 * HOUR)
    leak = run_of(new, "1.1.0", now=now)
    assert leak.analysis.leaking

    assert twin_of(leak, [run_of(old, "1.0.0", now=now)]) is None
