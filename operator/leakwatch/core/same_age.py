"""A version's growth read beside other containers of the workload at the same container age: pure.

Every container of a workload goes through the same first hours: a JVM commits heap towards its
max, a cache warms to its cap, allocator arenas settle, traffic ramps up after a deploy at the same
hour of the day. On one curve that growth is a leak until it stops. Beside an earlier container
(of the previous version, or an older replica) that grew as fast at the same ages and then stopped
short of its limit, it is what this workload does at that age, and the same stop is the likeliest
future: Suspected, not Leaking. A leak has no such twin: the previous version was flat at that age
(the regression is new), or its own older replica kept growing or was OOMKilled.

Ages are known only for runs whose container start was seen: a pod's first run that begins inside
the window, not at its edge or after a scrape gap. Runs after a restart are left out: a cut at a
drop cannot be told from a counter reset here, and an OOMKilled run never stopped growing anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from leakwatch.core.analysis import (
    HOUR,
    Samples,
    SegmentAnalysis,
    VersionVerdict,
    called_on_growth,
    floor_slope,
    human_duration,
    mib_per_hour,
    only_suspected,
)

# The earlier container grew at a slope within this factor of this one's over the same ages, and in
# the later half of them too (a warm-up over in minutes does not count: it is flat by then; a fill
# much faster than this growth says little about it) ...
SAME_AGE_SLOPE_RATIO = 2.0
# ... and then stopped: its floor grew at most this share of it over its own last hours, as many as
# this one has grown but at least as many as growth must last to be called a leak (at Medium), all
# after those ages.
STOPPED_SHARE = 0.25
MIN_STOPPED_SECONDS = 3 * HOUR


@dataclass(frozen=True)
class ContainerRun:
    """One run of a pod's container and its analysis; `born` is its container's start when that was seen."""

    samples: Samples
    analysis: SegmentAnalysis
    version: str
    born: float | None
    pod: str


@dataclass(frozen=True)
class Twin:
    """An earlier container that grew like this one at the same ages, then stopped."""

    run: ContainerRun
    growth_bytes_per_second: float  # over the same ages
    last_bytes_per_second: float  # its floor's slope over its last hours
    last_seconds: float  # how many
    lived_seconds: float  # its age at its end


def born_in_window(index: int, run: Samples, window_start: float, max_gap_seconds: float) -> float | None:
    """When the container of a pod's run `index` (0: its first in the window) started, if that was
    seen: a first run that begins more than a scrape gap after the window's start is the pod's first
    (its series would reach back to the edge otherwise). None for the others."""
    if index != 0 or not len(run) or float(run.t[0]) <= window_start + max_gap_seconds:
        return None
    return float(run.t[0])


def twin_of(run: ContainerRun, others: Sequence[ContainerRun]) -> Twin | None:
    """The first of `others` that grew within 2x as fast as `run` over the ages `run` has grown (and
    in their later half), then stopped: a quarter of that over its last hours (as many as `run`
    has grown, at least 3, all older than those ages), without being called leaking itself. None
    when `run`'s age is unknown or no other container did that."""
    growth = run.analysis.slope_bytes_per_second
    if run.born is None or growth <= 0:
        return None
    first_age, last_age = run.analysis.growth_start - run.born, run.analysis.end - run.born
    span = last_age - first_age
    for other in others:
        if other is run or other.born is None or other.analysis.leaking or other.analysis.suspected:
            continue
        lived = float(other.samples.t[-1]) - other.born
        last_seconds = min(span, lived - last_age)
        if last_seconds < min(span, MIN_STOPPED_SECONDS):
            continue  # not seen for long enough after those ages: whether it stops is unknown
        at = other.born
        same_ages = floor_slope(other.samples.between(at + first_age, at + last_age))
        later_half = floor_slope(other.samples.between(at + first_age + span / 2, at + last_age))
        last = floor_slope(other.samples.between(at + lived - last_seconds, at + lived))
        if same_ages is None or later_half is None or last is None:
            continue
        alike = all(
            growth / SAME_AGE_SLOPE_RATIO <= slope <= growth * SAME_AGE_SLOPE_RATIO for slope in (same_ages, later_half)
        )
        if alike and last <= STOPPED_SHARE * growth:
            return Twin(other, same_ages, last, last_seconds, lived)
    return None


def against_same_age(
    verdict: VersionVerdict, runs: Sequence[ContainerRun], others: Sequence[ContainerRun]
) -> VersionVerdict:
    """A working-set verdict of Leaking or Suspected, read beside `others` (every run of the workload
    whose start was seen, this version's included): when each run it was called on has a twin that
    grew the same at the same ages and then stopped, the growth is start-up, Suspected and not
    Leaking. A run of unknown age, or one without a twin, keeps the verdict."""
    if not called_on_growth(verdict):
        return verdict
    called = [run for run in runs if run.analysis.leaking or run.analysis.suspected]
    twins = [twin_of(run, others) for run in called]
    if not called or any(twin is None for twin in twins):
        return verdict
    run, twin = called[0], twins[0]
    assert run.born is not None and twin is not None
    first_age = run.analysis.growth_start - run.born
    whose = (
        "an older container of this version" if twin.run.version == verdict.version else f"version {twin.run.version}"
    )
    return only_suspected(
        verdict,
        f"{whose} grew {mib_per_hour(twin.growth_bytes_per_second)} at the same container age "
        f"({human_duration(first_age)} to {human_duration(run.analysis.end - run.born)}), then "
        f"{mib_per_hour(max(twin.last_bytes_per_second, 0.0))} in its last {human_duration(twin.last_seconds)} "
        f"(to {human_duration(twin.lived_seconds)} of age): growth this workload stops, Suspected, not Leaking, "
        "until it outgrows that or OOMKills reach oom.threshold",
    )
