"""Synthetic memory series whose truth is known, for the unit tests of the analysis."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from leakwatch.core.analysis import Samples

MIB = float(2**20)
GIB = 1024 * MIB
STEP = 60.0
START = 1_767_571_200.0

Floor = Callable[[np.ndarray], np.ndarray]  # hours since start -> bytes


def memory(
    hours: float,
    floor: Floor,
    *,
    seed: int = 0,
    sawtooth: float = 30 * MIB,
    sawtooth_minutes: int = 12,
    noise: float = 3 * MIB,
    start: float = START,
) -> Samples:
    """One sample a minute: the floor, a GC sawtooth climbing `sawtooth` bytes per cycle, and noise."""
    rng = np.random.default_rng(seed)
    minutes = np.arange(int(hours * 60), dtype=float)
    cycle = (minutes % sawtooth_minutes) / sawtooth_minutes
    values = floor(minutes / 60) + sawtooth * cycle + rng.normal(0, noise, len(minutes))
    return Samples(start + minutes * STEP, values)


def linear(base: float, per_hour: float) -> Floor:
    return lambda h: base + per_hour * h


def flat(level: float) -> Floor:
    return lambda h: np.full_like(h, level)
