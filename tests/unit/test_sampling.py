"""How a long window is cut into range queries Prometheus will answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from leakwatch.sample.prometheus import CHUNK_POINTS, CHUNK_SAMPLES, PROMETHEUS_MAX_POINTS, chunks, points_per_chunk


@given(
    points=st.integers(min_value=1, max_value=60_000),
    step=st.sampled_from([1.0, 10.0, 15.0, 60.0, 3600.0]),
    per_chunk=st.integers(min_value=1, max_value=CHUNK_POINTS),
    start=st.floats(min_value=1.6e9, max_value=1.8e9, allow_nan=False),
)
def test_chunks_cover_every_grid_point_once(points: int, step: float, per_chunk: int, start: float) -> None:
    end = start + (points - 1) * step
    cut = list(chunks(start, end, step, per_chunk))
    assert cut[0].end == end  # the newest first
    covered = [round((c.start - start) / step) + k for c in cut for k in range(c.points(step))]
    assert sorted(covered) == list(range(points))
    assert all(c.points(step) <= per_chunk for c in cut)


def test_an_end_off_the_grid_is_not_read_past() -> None:
    assert [(c.start, c.end) for c in chunks(0, 95, 10, 4)] == [(60, 90), (20, 50), (0, 10)]


def test_chunk_size_follows_the_series_count() -> None:
    assert points_per_chunk(1) == CHUNK_POINTS < PROMETHEUS_MAX_POINTS
    assert points_per_chunk(1_000) == 250  # 1,000 series share one response of CHUNK_SAMPLES
    for series in (1, 7, 1_000, 5_000):
        assert points_per_chunk(series) * series <= CHUNK_SAMPLES  # one response stays within its budget
    assert points_per_chunk(10**9) == 1
