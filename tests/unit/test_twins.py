"""bench/twins.py: the latest hour up to which a no-leak's working set is a linear leak's, on
series whose answer is known in closed form."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))  # twins.py imports detection.py as a sibling, as when run

import twins  # noqa: E402
from leakwatch.core.analysis import Samples  # noqa: E402

MiB = 2**20
HOUR = 3600.0
LIMIT = 1024 * MiB
STEP = 60.0


def run_of(hours: float, level: np.ndarray | None = None, *, noise_mib: float = 4.0, seed: int = 7) -> Samples:
    t = np.arange(0.0, hours * HOUR, STEP)
    base = np.full(t.size, 200.0 * MiB) if level is None else level(t / HOUR)
    spikes = np.random.default_rng(seed).exponential(noise_mib * MiB, t.size)  # requests in flight: above the floor
    return Samples(t, base + spikes)


def test_a_straight_climb_is_its_own_twin_at_the_delay_a_leak_on_that_line_would_have() -> None:
    # 200 MiB + 20 MiB/h reaches 1024 MiB at 41.2 h; 10 h of it is a leak at 10 / 41.2 = 0.24 of its way.
    twin = twins.latest_twin(twins.Run(run_of(10, lambda h: (200 + 20 * h) * MiB)), LIMIT)
    assert twin is not None
    assert twin.prefix_hours == pytest.approx(10, abs=0.2)
    assert twin.twin_oom_hours == pytest.approx(41.2, rel=0.03)
    assert twin.delay == pytest.approx(10 / 41.2, rel=0.04)


def test_a_fill_that_bends_is_a_twin_only_until_it_bends() -> None:
    # 60 MiB/h for 5 h, then flat at 500 MiB: a leak on that line reaches the limit at 13.7 h, so it
    # is at 5 / 13.7 = 0.36 of its way when the fill stops; prefixes well past the bend slow down at
    # their end and are no leak's.
    fill = run_of(12, lambda h: (200 + 60 * np.minimum(h, 5.0)) * MiB)
    twin = twins.latest_twin(twins.Run(fill), LIMIT)
    assert twin is not None
    assert 5.0 <= twin.prefix_hours <= 6.5
    assert twin.delay == pytest.approx(0.36, abs=0.05)


def test_a_fill_that_bends_within_three_hours_and_flat_memory_have_no_twin() -> None:
    quick = run_of(12, lambda h: (200 + 300 * (1 - np.exp(-h / 0.7))) * MiB)
    assert twins.latest_twin(twins.Run(quick), LIMIT) is None
    assert twins.latest_twin(twins.Run(run_of(12)), LIMIT) is None


def test_rss_that_stays_flat_or_a_heap_stopping_short_of_the_limit_tells_a_twin_apart() -> None:
    """With the operator's rules: a working set growing 20 MiB/h over flat RSS is page cache, and one
    whose JVM heap carries the growth towards a max of 400 MiB (its room is short of the working set's
    to the limit) stops at that max. A heap max past the limit leaves the twin."""
    climb = run_of(10, lambda h: (200 + 20 * h) * MiB)
    assert twins.latest_twin(twins.Run(climb, rss=Samples(climb.t, np.full(climb.t.size, 150.0 * MiB))), LIMIT) is None
    assert twins.latest_twin(twins.Run(climb, rss=climb), LIMIT) is not None
    heap = Samples(climb.t, (100 + 20 * climb.t / HOUR) * MiB)
    assert twins.latest_twin(twins.Run(climb, heap_committed=heap, heap_max_bytes=400 * MiB), LIMIT) is None
    assert twins.latest_twin(twins.Run(climb, heap_committed=heap, heap_max_bytes=2048 * MiB), LIMIT) is not None


def write_trace(directory: Path, name: str, label: str, pods: list[Samples]) -> None:
    doc = {
        "format": 1,
        "name": name,
        "pattern": name.rsplit("-", 1)[0],
        "label": label,
        "description": "",
        "seed": 0,
        "step_seconds": STEP,
        "limit_bytes": LIMIT,
        "onset_time": 0 if label == "leak" else None,
        "oom_time": 40 * HOUR if label == "leak" else None,
        "leaking_pods": ["p"] if label == "leak" else [],
        "pods": [
            {"name": "p" if i == 0 else f"q{i}", "t": pod.t.astype(int).tolist(), "bytes": pod.v.astype(int).tolist()}
            for i, pod in enumerate(pods)
        ],
    }
    with gzip.open(directory / f"{name}.json.gz", "wt") as handle:
        json.dump(doc, handle)


def test_the_ceiling_counts_the_no_leaks_whose_twin_is_past_each_delay(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_trace(tmp_path, "leak-00", "leak", [run_of(20, lambda h: (200 + 20 * h) * MiB)])
    write_trace(tmp_path, "fill-00", "no-leak", [run_of(12, lambda h: (200 + 60 * np.minimum(h, 5.0)) * MiB)])
    write_trace(tmp_path, "flat-00", "no-leak", [run_of(12)])
    # A restart ends a run: two 5 h climbs of 40 MiB/h from 200 MiB are twins at 5 / 20.6 = 0.24 at most.
    first = run_of(5, lambda h: (200 + 40 * h) * MiB)
    again = Samples(first.t + 5 * HOUR, first.v)
    write_trace(
        tmp_path,
        "restarts-00",
        "no-leak",
        [Samples(np.concatenate((first.t, again.t)), np.concatenate((first.v, again.v)))],
    )
    assert twins.main(["--corpus", f"c={tmp_path}", "--delays", "0.15,0.3,0.5", "--traces"]) == 0
    out = capsys.readouterr().out
    # At 0.15 the fill and the restarted climbs are twins (1 leak / (1 + 2)); at 0.3 the fill alone; at 0.5 none.
    assert "c              1        3        2,  0.33            1,  0.50            0,  1.00" in out
    assert "c/flat-00: no 3 h prefix is a linear leak's" in out
