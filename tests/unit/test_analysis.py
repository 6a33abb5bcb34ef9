"""The pure leak-detection functions, on synthetic series whose truth is known."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from leakwatch.core.analysis import (
    HOUR,
    Samples,
    SegmentAnalysis,
    analyse_segment,
    daily_cycle,
    lower_envelope,
    onset_of_growth,
    split_segments,
    verdict_for_version,
)
from series import GIB, MIB, START, STEP, flat, linear, memory

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "corpus"


def analysed(samples: Samples, limit: float | None = GIB, sensitivity: str = "Medium") -> SegmentAnalysis:
    return analyse_segment(samples, limit_bytes=limit, sensitivity=sensitivity)


# --- analyse_segment ---------------------------------------------------------------------------


def test_steady_leak_is_leaking_with_the_true_slope_and_time_to_limit() -> None:
    rate = 40 * MIB  # per hour
    samples = memory(8, linear(300 * MIB, rate), sawtooth=30 * MIB)
    result = analysed(samples)

    assert result.leaking
    assert not result.plateaued
    assert result.slope_bytes_per_second * HOUR == pytest.approx(rate, rel=0.10)
    assert result.slope_low < result.slope_bytes_per_second < result.slope_high
    assert result.kendall_tau > 0.8 and result.p_value < 1e-6
    # The kernel kills the container when a sawtooth peak, not the floor, reaches the limit.
    floor_at_end = 300 * MIB + rate * (samples.t[-1] - START) / HOUR
    true_seconds = (GIB - floor_at_end - 30 * MIB) / rate * HOUR
    assert result.time_to_limit_seconds == pytest.approx(true_seconds, rel=0.20)
    assert 0.5 < result.confidence <= 1.0


def test_flat_memory_under_a_big_gc_sawtooth_is_stable() -> None:
    samples = memory(12, flat(400 * MIB), sawtooth=150 * MIB, sawtooth_minutes=25)
    assert len(split_segments(samples, max_gap_seconds=600)) == 1  # a collection is not a restart
    result = analysed(samples)

    assert not result.leaking
    assert abs(result.slope_bytes_per_second * HOUR) < 2 * MIB
    assert result.time_to_limit_seconds is None

    verdict = verdict_for_version("1.0.0", [result], oom_kills=0, pod_hours=12, oom_threshold=2)
    assert verdict.verdict == "Stable"
    assert verdict.time_to_oom_seconds is None


def test_lower_envelope_follows_the_floor_not_the_sawtooth_peaks() -> None:
    samples = memory(6, flat(400 * MIB), sawtooth=150 * MIB, sawtooth_minutes=5, noise=MIB)
    envelope = lower_envelope(samples)
    assert 20 <= len(envelope) <= 48
    assert np.all(np.abs(envelope.v - 400 * MIB) < 10 * MIB)
    assert np.all(np.diff(envelope.t) > 0)


def test_warm_up_then_plateau_is_not_leaking() -> None:
    warm_up = lambda h: 150 * MIB + 450 * MIB * (1 - np.exp(-h / 0.5))  # noqa: E731
    for hours in (2, 3, 6, 12):
        assert not analysed(memory(hours, warm_up)).leaking, f"after {hours} h"


def test_a_leak_under_a_start_up_warm_up_is_measured_after_it_and_not_read_as_levelling_off() -> None:
    # A JVM: class loading, JIT and pools add 350 MiB within half an hour (tau 10 min), while native
    # memory leaks 30 MiB/h from the start. The warm-up's bend is not the leak's.
    warm_up_and_leak = lambda h: 300 * MIB + 350 * MIB * (1 - np.exp(-h / (10 / 60))) + 30 * MIB * h  # noqa: E731
    for hours in (3, 6, 10):
        result = analysed(memory(hours, warm_up_and_leak), limit=2 * GIB)
        assert not result.plateaued, f"after {hours} h"
        assert result.start < result.growth_start <= result.start + HOUR, f"after {hours} h"
        assert result.slope_bytes_per_second * HOUR == pytest.approx(30 * MIB, rel=0.15), f"after {hours} h"
    # 35 h from its limit, it is called once a quarter of that (max_extrapolation 4) is behind it.
    assert result.leaking
    true_seconds = (2 * GIB - (650 * MIB + 30 * MIB * 10) - 30 * MIB) / (30 * MIB) * HOUR
    assert result.time_to_limit_seconds == pytest.approx(true_seconds, rel=0.10)


def daily_state(h: np.ndarray) -> np.ndarray:
    """Per-day state built over a morning ramp (06:00-14:00) and released before midnight."""
    return np.interp(h % 24, [0, 6, 14, 22, 24], [0, 0, 1, 1, 0]) * 300 * MIB


@pytest.mark.parametrize("per_hour", [4, 8])
def test_a_leak_under_a_daily_cycle_is_judged_once_the_cycle_is_taken_out(per_hour: float) -> None:
    """Two and a half days of a leak under a daily swing larger than a day's leak: the floor rises
    and falls each day, too unevenly to be called; the run without its cycle rises on a line."""
    seg = memory(60, lambda h: 800 * MIB + daily_state(h) + per_hour * MIB * h, sawtooth=0)
    cycle = daily_cycle(seg)
    # The state's daily mean is 13/24 of it: the cycle peaks 11/24 of 300 MiB above that.
    assert cycle is not None and cycle.peak_bytes == pytest.approx(300 * MIB * 11 / 24, rel=0.1)

    result = analyse_segment(seg, limit_bytes=2 * GIB)
    assert result.leaking and result.kendall_tau > 0.9
    assert result.slope_bytes_per_second * HOUR / MIB == pytest.approx(per_hour, rel=0.05)
    # The limit is reached at a daily peak: 800 MiB + 300 MiB + the leak.
    reaches_at = (2 * GIB - 1100 * MIB) / (per_hour * MIB)
    assert result.time_to_limit_seconds is not None
    assert result.time_to_limit_seconds / HOUR == pytest.approx(reaches_at - 60, rel=0.1)
    verdict = verdict_for_version("1.0", [result], oom_kills=0, pod_hours=60, oom_threshold=2)
    assert "on the lower envelope once a daily cycle of up to 3" in verdict.evidence[0]  # 300-odd MiB


def test_a_daily_cycle_alone_is_not_growth_and_needs_two_days_to_be_seen() -> None:
    flat_days = memory(60, lambda h: 800 * MIB + daily_state(h), sawtooth=0)
    result = analyse_segment(flat_days, limit_bytes=2 * GIB)
    assert not result.leaking and not result.suspected
    assert daily_cycle(memory(47, lambda h: 800 * MIB + daily_state(h))) is None


@pytest.mark.parametrize(("fill_hours", "seen_hours"), [(8, 10), (8, 12), (10, 12)])
def test_the_time_to_the_limit_counts_from_where_the_floor_is_not_from_one_straight_line(
    fill_hours: float, seen_hours: float
) -> None:
    """A heap or cache filling 300 MiB/h, then flat: one straight line through the run sits above
    its end and below its middle. Counted from that line, the fill was 0.6-2.6 h from the limit,
    not 2.6-5.1, and one that had stopped 4 h before was not levelling off."""
    fill = lambda h: 300 * MIB + 300 * MIB * np.minimum(h, fill_hours)  # noqa: E731
    result = analysed(memory(seen_hours, fill, sawtooth=30 * MIB), limit=4 * GIB)
    floor_now = fill(np.array(seen_hours))
    from_the_floor = (4 * GIB - floor_now - 30 * MIB) / result.slope_bytes_per_second
    assert result.time_to_limit_seconds is not None
    assert result.time_to_limit_seconds == pytest.approx(from_the_floor, rel=0.25)
    if seen_hours - fill_hours >= 4:
        assert result.plateaued and not result.leaking


def test_a_fill_that_takes_hours_to_slow_down_is_not_a_warm_up() -> None:
    # Heap or cache filling towards a cap with a 2 h time constant: judged as a whole, it levels off.
    for hours in (3, 6, 9, 12):
        result = analysed(memory(hours, lambda h: 300 * MIB + 900 * MIB * (1 - np.exp(-h / 2))), limit=2 * GIB)
        assert result.growth_start == result.start, f"after {hours} h"
        assert result.plateaued and not result.leaking, f"after {hours} h"


def test_a_leak_that_reaches_its_limit_before_it_could_be_called_is_called_once_half_seen() -> None:
    # 250 MiB/h from 300 MiB in a 1 GiB container: the OOMKill comes 2.8 h in, before the 3 h of
    # growth a call needs. Once half of that is seen, it is called rather than left to the kernel.
    leak = linear(300 * MIB, 250 * MIB)
    early = analysed(memory(1.25, leak), limit=GIB)
    assert not early.leaking and not early.suspected  # under half of the span: too little to go on
    for hours in (1.75, 2.0, 2.5):
        result = analysed(memory(hours, leak), limit=GIB)
        assert result.leaking, f"after {hours} h"
        assert result.end - result.growth_start < result.needed_growth_seconds  # called before the span
        true_seconds = (GIB - 30 * MIB - leak(np.array(hours))) / (250 * MIB) * HOUR
        assert result.time_to_limit_seconds == pytest.approx(true_seconds, rel=0.15, abs=300), f"after {hours} h"


def test_a_cache_filling_like_heaps_law_is_not_a_warm_up() -> None:
    # Distinct keys grow like t^0.4 until the cache reaches its size cap at 8 h: steep at first and
    # slower after, but never linear, so no part of it is a leak's steady growth.
    cache = lambda h: 200 * MIB + 700 * MIB * np.power(np.minimum(h, 8) / 8, 0.4)  # noqa: E731
    for hours in (3, 5, 8):
        result = analysed(memory(hours, cache), limit=1.5 * GIB)
        assert result.growth_start == result.start, f"after {hours} h"
        assert not result.leaking, f"after {hours} h"


def test_growth_that_converges_below_the_limit_is_plateaued_not_leaking() -> None:
    # Allocator fragmentation: +250 MiB converging with a 3 h time constant, seen for 9 h.
    fragmentation = lambda h: 350 * MIB + 250 * MIB * (1 - np.exp(-h / 3))  # noqa: E731
    result = analysed(memory(9, fragmentation))
    assert result.slope_bytes_per_second > 0 and result.p_value < 0.001  # it does grow...
    assert result.plateaued  # ...but levels off
    assert not result.leaking


def test_a_single_step_is_not_a_leak() -> None:
    # A morning traffic ramp: flat, a 2-hour rise of 150 MiB, flat again.
    ramp = lambda h: 400 * MIB + 150 * MIB * np.clip((h - 5) / 2, 0, 1)  # noqa: E731
    result = analysed(memory(12, ramp))
    assert result.slope_bytes_per_second > 0
    assert not result.leaking


def test_growth_must_last_longer_for_a_long_extrapolation() -> None:
    # The same slow leak (about 16 h from the limit) is not trusted after 2 hours, and is after 6.
    slow = linear(700 * MIB, 15 * MIB)
    assert not analysed(memory(2, slow)).leaking
    assert analysed(memory(6, slow)).leaking


def test_high_sensitivity_flags_a_young_leak_that_low_does_not() -> None:
    young = memory(3, linear(300 * MIB, 40 * MIB))
    assert analysed(young, sensitivity="High").leaking
    assert not analysed(young, sensitivity="Low").leaking


def test_without_a_limit_a_leak_is_still_found_but_has_no_time_to_limit() -> None:
    result = analysed(memory(8, linear(300 * MIB, 60 * MIB)), limit=None)
    assert result.leaking
    assert result.time_to_limit_seconds is None


def test_growth_after_a_flat_stretch_is_measured_from_its_onset() -> None:
    rollout = 8.0
    leak = lambda h: 300 * MIB + 50 * MIB * np.maximum(h - rollout, 0)  # noqa: E731
    result = analysed(memory(14, leak))
    assert result.leaking
    assert result.slope_bytes_per_second * HOUR == pytest.approx(50 * MIB, rel=0.10)
    assert abs(result.growth_start - (START + rollout * HOUR)) < 0.5 * HOUR


def test_too_few_samples_say_nothing() -> None:
    result = analysed(memory(0.1, linear(300 * MIB, 500 * MIB)))
    assert not result.leaking
    assert result.confidence == 0.0
    assert not result.analysable


def test_unknown_sensitivity_is_refused() -> None:
    with pytest.raises(ValueError, match="sensitivity must be one of Low, Medium, High"):
        analysed(memory(3, flat(400 * MIB)), sensitivity="Paranoid")


# --- split_segments ----------------------------------------------------------------------------


def test_segments_split_on_restarts_and_on_gaps_but_not_on_small_drops() -> None:
    t = START + np.arange(100, dtype=np.float64) * STEP
    v = np.full(100, 500 * MIB)
    v[30:] = 200 * MIB  # restart: -60%
    v[50:] = 160 * MIB  # a collection: -20%, same run
    v[80:] = 100 * MIB  # restart: -37.5%
    t[60:] += 1200  # a 21-minute scrape gap
    segments = split_segments(Samples(t, v), max_gap_seconds=600)

    assert [len(s) for s in segments] == [30, 30, 20, 20]
    assert segments[1].t[0] == t[30] and segments[2].t[0] == t[60] and segments[3].t[0] == t[80]
    assert split_segments(Samples(np.empty(0), np.empty(0)), max_gap_seconds=600) == []


def test_between_keeps_both_ends_as_a_range_query_does() -> None:
    samples = Samples(START + np.arange(10, dtype=np.float64) * STEP, np.arange(10, dtype=np.float64))
    assert samples.between(START + 2 * STEP, START + 5 * STEP).v.tolist() == [2, 3, 4, 5]
    assert samples.between(START + 2.5 * STEP, START + 3.5 * STEP).v.tolist() == [3]
    assert len(samples.between(START + 20 * STEP, START + 30 * STEP)) == 0
    assert samples.since(START + 8 * STEP).v.tolist() == [8, 9]


def test_the_reset_fraction_is_configurable() -> None:
    v = np.array([100.0, 100.0, 75.0, 75.0]) * MIB
    samples = Samples(START + np.arange(4, dtype=np.float64) * STEP, v)
    assert len(split_segments(samples, max_gap_seconds=600)) == 1
    assert len(split_segments(samples, max_gap_seconds=600, reset_drop_fraction=0.2)) == 2


def test_a_restarting_flat_pod_is_stable_once_split() -> None:
    runs = [memory(4, lambda h: 200 * MIB + 300 * MIB * (1 - np.exp(-h / 0.4)), seed=i) for i in range(4)]
    t = np.concatenate([r.t + i * 4 * HOUR + i * STEP for i, r in enumerate(runs)])
    v = np.concatenate([r.v for r in runs])
    segments = split_segments(Samples(t, v), max_gap_seconds=600)
    assert len(segments) == 4
    analyses = [analysed(s) for s in segments]
    assert not any(a.leaking for a in analyses)
    verdict = verdict_for_version("2.0.0", analyses, oom_kills=0, pod_hours=16, oom_threshold=2)
    assert verdict.verdict == "Stable"


# --- verdict_for_version -----------------------------------------------------------------------


def test_a_leaking_version_gets_a_verdict_with_human_evidence() -> None:
    pods = [analysed(memory(8, linear(300 * MIB, 50 * MIB), seed=i)) for i in range(3)]
    verdict = verdict_for_version("3.1.2", pods, oom_kills=0, pod_hours=24, oom_threshold=2)

    assert verdict.verdict == "Leaking"
    assert verdict.growth_bytes_per_second is not None
    assert verdict.growth_bytes_per_second * HOUR == pytest.approx(50 * MIB, rel=0.10)
    assert verdict.time_to_oom_seconds == min(p.time_to_limit_seconds or np.inf for p in pods)
    assert verdict.confidence > 0.9
    assert "3 of 3 container runs grow" in verdict.evidence[0]
    assert "MiB/h on the lower envelope" in verdict.evidence[0]
    assert "p<0.001" in verdict.evidence[0]
    assert "hours" in verdict.evidence[1]


def test_a_leak_on_one_pod_of_many_is_caught() -> None:
    quiet = [analysed(memory(10, flat(400 * MIB), seed=i)) for i in range(5)]
    leaky = analysed(memory(10, linear(300 * MIB, 40 * MIB), seed=99))
    verdict = verdict_for_version("3.1.2", [*quiet, leaky], oom_kills=0, pod_hours=60, oom_threshold=2)

    assert verdict.verdict == "Leaking"
    assert verdict.evidence[0].startswith("1 of 6 container runs grow")
    assert verdict.time_to_oom_seconds == leaky.time_to_limit_seconds


def test_oom_kills_alone_make_a_version_leak() -> None:
    flat_runs = [analysed(memory(6, flat(400 * MIB), seed=i)) for i in range(2)]
    verdict = verdict_for_version("3.1.2", flat_runs, oom_kills=3, pod_hours=12, oom_threshold=2)
    assert verdict.verdict == "Leaking"
    assert any("3 OOMKills in 12.0 pod-hours (threshold 2)" in e for e in verdict.evidence)
    assert verdict.confidence >= 0.9

    # Without any memory data at all, too.
    assert verdict_for_version("3.1.2", [], oom_kills=2, pod_hours=1, oom_threshold=2).verdict == "Leaking"

    below = verdict_for_version("3.1.2", flat_runs, oom_kills=1, pod_hours=12, oom_threshold=2)
    assert below.verdict == "Stable"
    assert any("1 OOMKill in" in e for e in below.evidence)


def test_a_leak_that_oom_kills_before_it_can_be_called_is_caught_by_its_next_run() -> None:
    # 500 MiB/h from 300 MiB reaches the 1 GiB limit in 1.4 h: under half the 3 h a call needs, too
    # short even to be Suspected, and an OOMKill is one below the threshold. The next run grows the
    # same way: Leaking, before the next kill.
    killed = analysed(memory(1.4, linear(300 * MIB, 500 * MIB), seed=1))
    again = analysed(memory(1.0, linear(300 * MIB, 500 * MIB), seed=2, start=killed.end + STEP))
    assert not killed.leaking and not again.leaking

    verdict = verdict_for_version("3.1.2", [killed, again], oom_kills=1, pod_hours=2.4, oom_threshold=2)

    assert verdict.verdict == "Leaking" and verdict.by_oom_kills
    assert "2 of 2 container runs grow the same way" in verdict.evidence[-2]
    assert "after an OOMKill" in verdict.evidence[-2]
    assert verdict.time_to_oom_seconds == again.time_to_limit_seconds
    # From 800 MiB at 500 MiB/h, a sawtooth peak of 30 MiB above the floor: 0.39 h to the limit.
    assert verdict.time_to_oom_seconds is not None and 0.25 * HOUR < verdict.time_to_oom_seconds < 0.55 * HOUR
    # Without the kill the same runs are only growth too short to call.
    assert verdict_for_version("3.1.2", [killed, again], oom_kills=0, pod_hours=2.4, oom_threshold=2).verdict != (
        "Leaking"
    )


def test_runs_that_do_not_repeat_a_killed_run_are_not_called_on_one_oom_kill() -> None:
    killed = analysed(memory(1.4, linear(300 * MIB, 500 * MIB), seed=1))
    slower = analysed(memory(1.0, linear(300 * MIB, 120 * MIB), seed=2, start=killed.end + STEP))
    beside = analysed(memory(1.0, linear(300 * MIB, 500 * MIB), seed=3, start=killed.start + 0.3 * HOUR))

    for runs in ([killed, slower], [killed, beside], [killed]):
        verdict = verdict_for_version("3.1.2", runs, oom_kills=1, pod_hours=2.4, oom_threshold=2)
        # A quarter of the slope is another growth; a replica growing beside the killed run is no restart.
        assert verdict.verdict != "Leaking", [s.slope_bytes_per_second * HOUR / MIB for s in runs]


def test_a_short_series_is_insufficient_data() -> None:
    short = analysed(memory(0.3, linear(300 * MIB, 200 * MIB)))
    verdict = verdict_for_version("4.0.0", [short], oom_kills=0, pod_hours=0.3, oom_threshold=2)
    assert verdict.verdict == "InsufficientData"
    assert verdict.growth_bytes_per_second is None and verdict.time_to_oom_seconds is None
    assert "only 17 minutes of memory observed in one run; need 30 minutes" in verdict.evidence[-1]
    assert verdict_for_version("4.0.0", [], oom_kills=0, pod_hours=0, oom_threshold=2).verdict == "InsufficientData"


# --- onset_of_growth ---------------------------------------------------------------------------


@pytest.mark.parametrize(("rollout_hours", "seed"), [(4.0, 1), (9.5, 2), (15.0, 3)])
def test_onset_of_growth_is_near_the_rollout(rollout_hours: float, seed: int) -> None:
    leak = lambda h: 300 * MIB + 45 * MIB * np.maximum(h - rollout_hours, 0)  # noqa: E731
    onset = onset_of_growth(memory(rollout_hours + 8, leak, seed=seed))
    assert onset is not None
    assert abs(onset - (START + rollout_hours * HOUR)) < 0.5 * HOUR


def test_onset_of_growth_is_the_start_for_a_leak_from_the_start_and_none_without_growth() -> None:
    assert onset_of_growth(memory(10, linear(300 * MIB, 40 * MIB))) == START
    assert onset_of_growth(memory(10, flat(400 * MIB))) is None


# --- the corpus and the benchmark --------------------------------------------------------------


def test_the_committed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(CORPUS / "generate.py"), "--out", str(tmp_path)], check=True, timeout=120)
    committed = sorted(p.name for p in (CORPUS / "traces").glob("*.json.gz"))
    assert committed == sorted(p.name for p in tmp_path.glob("*.json.gz"))
    for name in committed:
        assert (CORPUS / "traces" / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_every_corpus_trace_follows_the_documented_format() -> None:
    traces = sorted((CORPUS / "traces").glob("*.json.gz"))
    assert len(traces) >= 60
    for path in traces:
        with gzip.open(path, "rt") as handle:
            doc = json.load(handle)
        assert doc["format"] == 1 and doc["label"] in {"leak", "no-leak"}, path.name
        assert doc["limit_bytes"] > 0 and doc["pods"], path.name
        for pod in doc["pods"]:
            assert len(pod["t"]) == len(pod["bytes"]) > 0
            assert all(b > a for a, b in zip(pod["t"], pod["t"][1:], strict=False))
            assert max(pod["bytes"]) <= doc["limit_bytes"]
        if doc["label"] == "leak":
            assert doc["leaking_pods"] and doc["onset_time"] < doc["oom_time"], path.name
        else:
            assert doc["onset_time"] is None and doc["oom_time"] is None, path.name


def bench_json(corpus: Path) -> dict[str, Any]:
    """What bench/detection.py prints with --json for the traces in `corpus`."""
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "detection.py"), "--corpus", str(corpus), "--json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    doc: dict[str, Any] = json.loads(run.stdout)
    return doc


def bench_scores(corpus: Path) -> dict[str, Any]:
    """bench/detection.py's JSON scores on the traces in `corpus`, by detector."""
    return {s["detector"]: s for s in bench_json(corpus)["scores"]}


def test_the_benchmark_scores_a_small_corpus(tmp_path: Path) -> None:
    for name in ("steady_leak-00", "flat_sawtooth-00", "warmup_plateau-00"):
        shutil.copy(CORPUS / "traces" / f"{name}.json.gz", tmp_path)
    scores = bench_scores(tmp_path)
    leakwatch = scores["leakwatch"]
    assert (leakwatch["true_positives"], leakwatch["false_positives"], leakwatch["misses"]) == (1, 0, 0)
    assert 0 < leakwatch["median_delay"] < 0.5
    assert scores["predict_linear 1h->4h"]["false_positives"] >= 1  # the baseline is really run
    # The early level's first word comes no later than the alerting one's, on the same verdicts.
    suspected = scores["leakwatch Suspected+"]
    assert suspected["true_positives"] == 1 and suspected["median_delay"] <= leakwatch["median_delay"]


def test_the_benchmark_reads_a_recorded_traces_rss_as_the_operator_does(tmp_path: Path) -> None:
    """Page cache recorded from a real process writing files: its working set grows, its RSS does not.
    Read beside its RSS it is Suspected (shown) and never Leaking (alerted)."""
    for path in (CORPUS / "recorded").glob("pagecache-writer-real-*.json.gz"):
        shutil.copy(path, tmp_path)
    scores = bench_scores(tmp_path)
    assert scores["leakwatch"]["traces"] == 1
    assert scores["leakwatch"]["false_positives"] == 0
    assert scores["leakwatch Suspected+"]["false_positives"] == 1


def test_the_benchmark_counts_the_oom_kills_of_a_loop_before_each_alert(tmp_path: Path) -> None:
    """A leak that reaches its limit in under 1.5 h (too soon to be called, even as it outruns the
    wait), restarts and leaks again, three times: the main score stops at the first kill, the
    OOM-loop table replays to the end."""
    t: list[float] = []
    v: list[float] = []
    start = START
    for run in range(3):
        samples = memory(2, linear(300 * MIB, 500 * MIB), seed=run, start=start)
        below = samples.v < GIB
        killed_at = int(np.argmin(below))  # the first sample at or over the limit: the kill
        t += [float(x) for x in samples.t[:killed_at]] + [float(samples.t[killed_at])]
        v += [float(x) for x in samples.v[:killed_at]] + [GIB]
        start = float(samples.t[killed_at]) + 2 * STEP
    doc = {
        "format": 1,
        "name": "oom-loop",
        "pattern": "oom-loop",
        "label": "leak",
        "description": "250 MiB/h from 300 MiB to a 1 GiB limit, three times",
        "seed": 0,
        "step_seconds": STEP,
        "limit_bytes": GIB,
        "onset_time": START,
        "oom_time": next(x for x, y in zip(t, v, strict=True) if y >= GIB),
        "leaking_pods": ["loop-0"],
        "pods": [{"name": "loop-0", "t": t, "bytes": v}],
    }
    with gzip.open(tmp_path / "oom-loop.json.gz", "wt") as handle:
        json.dump(doc, handle)

    (loop,) = bench_json(tmp_path)["oom_loops"]

    assert loop["kills"] == 3
    assert loop["kills_before"]["leakwatch"] == 1  # the second run grows like the killed one
    assert loop["kills_before"]["leakwatch, kills>=2 only"] == 2  # oom.threshold's default
    assert loop["kills_before"]["static >90% of limit"] == 0


def write_trace(
    directory: Path,
    name: str,
    label: str,
    t: list[float],
    v: list[float],
    *,
    earlier: Samples | None = None,
    **signals: list[float],
) -> None:
    """A one-pod trace in the corpus format, with `signals` beside the working set, and the
    `earlier` pod it replaced, if any."""
    pods: list[dict[str, Any]] = []
    if earlier is not None:
        pods.append(
            {"name": f"{name}-earlier", "t": [float(x) for x in earlier.t], "bytes": [float(x) for x in earlier.v]}
        )
    pods.append({"name": f"{name}-0", "t": t, "bytes": v, "signals": signals})
    doc = {
        "format": 1,
        "name": name,
        "pattern": name,
        "label": label,
        "description": name,
        "seed": 0,
        "step_seconds": STEP,
        "limit_bytes": GIB,
        "onset_time": None,
        "oom_time": None,
        "leaking_pods": [],
        "pods": pods,
    }
    with gzip.open(directory / f"{name}.json.gz", "wt") as handle:
        json.dump(doc, handle)


def test_the_benchmark_reads_a_runtime_beside_the_working_set_as_the_operator_does(tmp_path: Path) -> None:
    """A JVM whose committed heap grows with its working set towards a 600 MiB max, its live set flat:
    without the heap it is a false alarm; read beside it (as `check_against_runtime` reads
    Micrometer's metrics) it is Suspected, shown and never alerted."""
    samples = memory(10, linear(300 * MIB, 30 * MIB), seed=3)
    t, v = [float(x) for x in samples.t], [float(x) for x in samples.v]
    hours = (samples.t - START) / HOUR
    committed = [float(x) for x in (250 + 28 * hours) * MIB]
    used = [float(x) for x in (140 + 60 * ((samples.t % 600) / 600)) * MIB]
    write_trace(
        tmp_path, "heap-fill", "no-leak", t, v, jvm_committed=committed, jvm_used=used, jvm_cap=[600.0 * MIB] * len(t)
    )
    bare = tmp_path / "bare"
    bare.mkdir()
    write_trace(bare, "heap-fill", "no-leak", t, v)

    assert bench_scores(bare)["leakwatch"]["false_positives"] == 1  # the working set alone reads as a leak
    scores = bench_scores(tmp_path)
    assert scores["leakwatch"]["false_positives"] == 0
    assert scores["leakwatch Suspected+"]["false_positives"] == 1


def test_the_benchmark_reads_an_earlier_container_at_the_same_age_as_the_operator_does(tmp_path: Path) -> None:
    """A heap filling for 9 h after each deploy, then flat: 5 h into the second container, its growth
    alone reads as a leak; beside the first container (as `assess` reads it) it is Suspected."""
    spec = importlib.util.spec_from_file_location("detection", REPO / "bench" / "detection.py")
    assert spec is not None and spec.loader is not None
    detection = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = detection  # its dataclasses look their module up
    spec.loader.exec_module(detection)
    fill = lambda h: 300 * MIB + 40 * MIB * np.minimum(h, 9)  # noqa: E731
    earlier = memory(14, fill, seed=1)
    later = memory(10, fill, seed=2, start=START + 14 * HOUR)
    t, v = [float(x) for x in later.t], [float(x) for x in later.v]
    write_trace(tmp_path, "refill", "no-leak", t, v, earlier=earlier)
    alone = tmp_path / "alone"
    alone.mkdir()
    write_trace(alone, "refill-alone", "no-leak", t, v)
    verdict_of = detection.leakwatch_verdicts(24 * HOUR, "Medium", 600.0)
    at = START + 19 * HOUR

    assert verdict_of(detection.load_corpus(alone)[0], at).verdict == "Leaking"
    beside = verdict_of(detection.load_corpus(tmp_path)[0], at)
    assert beside.verdict == "Suspected"
    assert "an older container of this version grew 39.9 MiB/h at the same container age" in beside.evidence[-1]

    # Replayed to its end, the redeploy table: the first life alerts, the second only without the first beside it.
    trace = detection.load_corpus(tmp_path)[0]
    assert detection.container_lives(trace) == [(START, START + 14 * HOUR), (START + 14 * HOUR, trace.end)]
    without = detection.leakwatch_verdicts(24 * HOUR, "Medium", 600.0, same_age=False)
    detectors = [("with", detection.leakwatch(verdict_of)), ("without", detection.leakwatch(without))]
    [lives] = detection.redeploys([trace], detectors, 1800.0)
    assert lives.alerted == {"with": [True, False], "without": [True, True]}
