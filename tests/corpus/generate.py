"""Generate the labelled corpus of container memory traces in tests/corpus/traces/.

Every trace is drawn from a fixed seed, so running this again writes byte-identical files:

    .venv/bin/python tests/corpus/generate.py                      # rewrite tests/corpus/traces/
    .venv/bin/python tests/corpus/generate.py --seed 2 --out /tmp/holdout   # a fresh corpus to check tuning

The format is documented in tests/corpus/README.md. The generator models what a working-set series
looks like at a 1-minute scrape interval: a floor (what the process really holds), a GC sawtooth on
top of it, slow wander (AR(1)), scrape noise, occasional missing scrapes, and restarts. A container
whose sample reaches its limit is OOMKilled: the series drops to the start-up level and, for leaks,
grows again.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

STEP_SECONDS = 60
MINUTES_PER_HOUR = 60
MiB = 2**20
# 2026-01-05 00:00:00 UTC, a Monday: daily cycles line up with hours of the day.
EPOCH = 1_767_571_200
LIMITS_MIB = (512, 768, 1024, 1536, 2048, 4096)
DEFAULT_OUT = Path(__file__).resolve().parent / "traces"
FORMAT_VERSION = 1

Rng = np.random.Generator
FloatArray = npt.NDArray[np.float64]


@dataclass
class PodSeries:
    name: str
    minutes: list[FloatArray] = field(default_factory=list)  # minute index of each sample
    values: list[FloatArray] = field(default_factory=list)  # bytes

    def extend(self, minutes: FloatArray, values: FloatArray) -> None:
        self.minutes.append(minutes)
        self.values.append(values)


@dataclass
class Trace:
    name: str
    pattern: str
    label: str  # "leak" | "no-leak"
    seed: int
    limit_bytes: int
    description: str
    pods: list[PodSeries]
    onset_minute: float | None = None
    oom_minute: float | None = None
    leaking_pods: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        def unix(minute: float | None) -> int | None:
            return None if minute is None else EPOCH + round(minute * STEP_SECONDS)

        pods = []
        for pod in self.pods:
            minutes = np.concatenate(pod.minutes) if pod.minutes else np.empty(0)
            values = np.concatenate(pod.values) if pod.values else np.empty(0)
            order = np.argsort(minutes, kind="stable")
            pods.append(
                {
                    "name": pod.name,
                    "t": [EPOCH + int(m) * STEP_SECONDS for m in minutes[order]],
                    "bytes": [round(float(v)) for v in values[order]],
                }
            )
        return {
            "format": FORMAT_VERSION,
            "name": self.name,
            "pattern": self.pattern,
            "label": self.label,
            "description": self.description,
            "seed": self.seed,
            "step_seconds": STEP_SECONDS,
            "limit_bytes": self.limit_bytes,
            "onset_time": unix(self.onset_minute),
            "oom_time": unix(self.oom_minute),
            "leaking_pods": self.leaking_pods,
            "pods": pods,
        }


# --- building blocks -------------------------------------------------------------------------


def gc_sawtooth(rng: Rng, n: int, amplitude: float, period_minutes: tuple[float, float]) -> FloatArray:
    """Allocation climbs linearly until a collection drops it back; cycle lengths jitter."""
    offset = int(rng.integers(0, int(period_minutes[1]) + 1))  # a random phase at the start
    cycles = []
    covered = 0
    while covered < n + offset:
        period = max(2, round(rng.uniform(*period_minutes)))
        cycles.append(np.arange(period) / period)
        covered += period
    return amplitude * np.concatenate(cycles)[offset : offset + n]


def wander(rng: Rng, n: int, std: float, persistence: float = 0.97) -> FloatArray:
    """Slow AR(1) drift around zero, the way a live heap breathes with traffic."""
    innovations = rng.normal(0.0, std * math.sqrt(1 - persistence**2), n)
    out = np.empty(n)
    level = rng.normal(0.0, std)
    for i in range(n):
        level = persistence * level + innovations[i]
        out[i] = level
    return out


def scrape_noise(rng: Rng, n: int, std: float) -> FloatArray:
    return rng.normal(0.0, std, n)


def warm_up(minutes: FloatArray, amount: float, tau_minutes: float) -> FloatArray:
    return amount * (1.0 - np.exp(-minutes / tau_minutes))


def drop_scrapes(rng: Rng, minutes: FloatArray, values: FloatArray, rate: float) -> tuple[FloatArray, FloatArray]:
    """Lose isolated scrapes (and now and then a few in a row), as a busy Prometheus does."""
    keep = rng.random(len(minutes)) >= rate
    for start in np.flatnonzero(rng.random(len(minutes)) < rate / 20):
        keep[start : start + int(rng.integers(2, 6))] = False
    keep[0] = keep[-1] = True
    return minutes[keep], values[keep]


@dataclass
class Life:
    """One run of a container: from its start to its end or its OOMKill."""

    minutes: FloatArray
    values: FloatArray
    oom_minute: float | None


def run_container(
    start: int,
    end: int,
    floor: Callable[[FloatArray], FloatArray],
    extras: FloatArray,
    limit: float,
) -> Life:
    """Sample a container from minute `start` to `end` (exclusive); stop at the first sample that
    reaches the limit, where the kernel would OOMKill it. `floor` gets minutes since start."""
    minutes = np.arange(start, end, dtype=float)
    values = floor(minutes - start) + extras[: len(minutes)]
    values = np.maximum(values, 0.02 * limit)
    over = np.flatnonzero(values >= limit)
    if len(over):
        stop = int(over[0])
        values = values[: stop + 1].copy()
        values[stop] = limit
        return Life(minutes[: stop + 1], values, float(minutes[stop]))
    return Life(minutes, values, None)


def noisy_extras(rng: Rng, n: int, limit: float, *, saw: float, period: tuple[float, float]) -> FloatArray:
    return (
        gc_sawtooth(rng, n, saw, period)
        + wander(rng, n, rng.uniform(0.002, 0.008) * limit)
        + scrape_noise(rng, n, rng.uniform(0.001, 0.004) * limit)
    )


def pick_limit(rng: Rng) -> int:
    return int(rng.choice(LIMITS_MIB)) * MiB


def run_leaking_pod(
    rng: Rng,
    pod: PodSeries,
    *,
    start: int,
    end: int,
    limit: float,
    base: float,
    leak: Callable[[FloatArray], FloatArray],
    saw: float,
    period: tuple[float, float],
    warm: float = 0.0,
) -> float | None:
    """Run lives of a leaking container until `end`, restarting after each OOMKill. Returns the
    first OOM minute. `leak` gets minutes since the container started."""
    first_oom: float | None = None
    life_start = start
    while life_start < end:
        extras = noisy_extras(rng, end - life_start, limit, saw=saw, period=period)
        tau = rng.uniform(5, 20)

        def floor(m: FloatArray, tau: float = tau) -> FloatArray:
            return base + warm_up(m, warm, tau) + leak(m)

        life = run_container(life_start, end, floor, extras, limit)
        pod.extend(life.minutes, life.values)
        if life.oom_minute is None:
            break
        first_oom = life.oom_minute if first_oom is None else first_oom
        life_start = int(life.oom_minute) + int(rng.integers(1, 3))  # the restart takes a scrape or two
    return first_oom


def finish_leak(rng: Rng, trace: Trace, oom: float | None, *, tail_hours: tuple[float, float] = (0.5, 2.0)) -> Trace:
    """Cut the trace shortly after the first OOMKill (or just before it, now and then, to keep
    scorers honest about OOMs that lie past the end of the data)."""
    if oom is None:
        raise ValueError(f"{trace.name}: the leak never reached its limit; widen the trace")
    trace.oom_minute = oom
    ends_before_oom = rng.random() < 0.15
    cut = oom - rng.uniform(5, 45) if ends_before_oom else oom + rng.uniform(*tail_hours) * MINUTES_PER_HOUR
    for pod in trace.pods:
        minutes = np.concatenate(pod.minutes)
        values = np.concatenate(pod.values)
        keep = minutes <= cut
        kept_minutes, kept_values = drop_scrapes(rng, minutes[keep], values[keep], rate=0.003)
        pod.minutes, pod.values = [kept_minutes], [kept_values]
    return trace


def finish_stable(rng: Rng, trace: Trace) -> Trace:
    for pod in trace.pods:
        minutes = np.concatenate(pod.minutes)
        values = np.concatenate(pod.values)
        kept_minutes, kept_values = drop_scrapes(rng, minutes, values, rate=0.003)
        pod.minutes, pod.values = [kept_minutes], [kept_values]
    return trace


def hours(h: float) -> int:
    return round(h * MINUTES_PER_HOUR)


def linear_leak(rate_per_minute: float, onset: float = 0.0) -> Callable[[FloatArray], FloatArray]:
    def leak(m: FloatArray) -> FloatArray:
        return rate_per_minute * np.maximum(m - onset, 0.0)

    return leak


def rate_to_oom(headroom: float, hours_to_oom: float) -> float:
    return headroom / (hours_to_oom * MINUTES_PER_HOUR)


# --- leaks -------------------------------------------------------------------------------------


def steady_leak(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    base = rng.uniform(0.22, 0.45) * limit
    saw = rng.uniform(0.02, 0.08) * limit
    warm = rng.uniform(0.0, 0.12) * limit if rng.random() < 0.5 else 0.0
    hours_to_oom = rng.uniform(8, 36)
    rate = rate_to_oom(limit - base - warm - saw, hours_to_oom)
    pod = PodSeries("app-0")
    trace = Trace(name, "steady_leak", "leak", seed, limit, "", [pod], onset_minute=0.0, leaking_pods=[pod.name])
    oom = run_leaking_pod(
        rng, pod, start=0, end=hours(hours_to_oom * 1.6 + 4), limit=limit, base=base,
        leak=linear_leak(rate), saw=saw, period=(3, 20), warm=warm,
    )  # fmt: skip
    trace.description = f"leaks {rate * 60 / MiB:.1f} MiB/h from container start, limit {limit // MiB} MiB"
    return finish_leak(rng, trace, oom)


def slow_leak(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    base = rng.uniform(0.38, 0.55) * limit
    saw = rng.uniform(0.02, 0.06) * limit
    rate = rng.uniform(0.008, 0.019) * limit / MINUTES_PER_HOUR
    pod = PodSeries("app-0")
    trace = Trace(name, "slow_leak", "leak", seed, limit, "", [pod], onset_minute=0.0, leaking_pods=[pod.name])
    expected_hours = (limit - base - saw) / rate / MINUTES_PER_HOUR
    oom = run_leaking_pod(
        rng, pod, start=0, end=hours(expected_hours * 1.4 + 4), limit=limit, base=base,
        leak=linear_leak(rate), saw=saw, period=(3, 20),
    )  # fmt: skip
    trace.description = f"leaks {rate * 60 / limit:.2%} of the limit per hour ({rate * 60 / MiB:.1f} MiB/h)"
    return finish_leak(rng, trace, oom)


def sawtooth_leak(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    base = rng.uniform(0.25, 0.4) * limit
    saw = rng.uniform(0.2, 0.35) * base  # a collection drops at most ~26% of the peak: under the 30% reset rule
    hours_to_oom = rng.uniform(10, 36)
    rate = rate_to_oom(limit - base - saw, hours_to_oom)
    pod = PodSeries("app-0")
    trace = Trace(name, "sawtooth_leak", "leak", seed, limit, "", [pod], onset_minute=0.0, leaking_pods=[pod.name])
    oom = run_leaking_pod(
        rng, pod, start=0, end=hours(hours_to_oom * 1.6 + 4), limit=limit, base=base,
        leak=linear_leak(rate), saw=saw, period=(8, 40),
    )  # fmt: skip
    trace.description = f"floor rises {rate * 60 / MiB:.1f} MiB/h under a GC sawtooth of {saw / MiB:.0f} MiB"
    return finish_leak(rng, trace, oom)


def stepwise_leak(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    base = rng.uniform(0.25, 0.45) * limit
    saw = rng.uniform(0.02, 0.06) * limit
    hours_to_oom = rng.uniform(10, 40)
    # At least ~8 bursts before the OOM: three giant steps would be a different story (spikes that stay).
    mean_gap = rng.uniform(30, min(120, hours_to_oom * MINUTES_PER_HOUR / 8))
    horizon = hours(hours_to_oom * 2 + 4)
    burst_minutes = np.cumsum(rng.exponential(mean_gap, size=int(horizon / mean_gap * 2) + 10))
    burst_minutes = burst_minutes[burst_minutes < horizon]
    mean_size = (limit - base - saw) / (hours(hours_to_oom) / mean_gap)
    sizes = rng.gamma(2.0, mean_size / 2.0, size=len(burst_minutes))
    ramps = rng.uniform(1, 6, size=len(burst_minutes))

    def leak(m: FloatArray) -> FloatArray:
        grown = np.zeros_like(m)
        for at, size, ramp in zip(burst_minutes, sizes, ramps, strict=True):
            grown += size * np.clip((m - at) / ramp, 0.0, 1.0)
        return grown

    pod = PodSeries("app-0")
    trace = Trace(name, "stepwise_leak", "leak", seed, limit, "", [pod], onset_minute=0.0, leaking_pods=[pod.name])
    oom = run_leaking_pod(
        rng, pod, start=0, end=horizon, limit=limit, base=base, leak=leak, saw=saw, period=(3, 20)
    )  # fmt: skip
    trace.description = f"leaks in bursts of ~{mean_size / MiB:.0f} MiB every ~{mean_gap:.0f} min"
    return finish_leak(rng, trace, oom)


def rollout_leak(rng: Rng, name: str, seed: int) -> Trace:
    """Flat until a rollout; then the new version leaks. Even variants replace the pod at the rollout
    (a new pod name, as a Deployment does); odd ones keep the container and switch on the leaking code
    path (a feature flag or a traffic shift), so the change point lies inside one series."""
    limit = pick_limit(rng)
    base = rng.uniform(0.25, 0.45) * limit
    saw = rng.uniform(0.02, 0.08) * limit
    flat_hours = rng.uniform(4, 16)
    onset = hours(flat_hours)
    hours_to_oom = rng.uniform(8, 30)
    rate = rate_to_oom(limit - base - saw, hours_to_oom)
    end = onset + hours(hours_to_oom * 1.6 + 4)
    replaced = seed % 2 == 0
    old = PodSeries("app-v1-0")
    if replaced:
        new = PodSeries("app-v2-0")
        extras = noisy_extras(rng, onset, limit, saw=saw, period=(3, 20))
        life = run_container(0, onset, lambda m: base + warm_up(m, 0.05 * limit, 15), extras, limit)
        old.extend(life.minutes, life.values)
        oom = run_leaking_pod(
            rng, new, start=onset, end=end, limit=limit, base=base * 0.8,
            leak=linear_leak(rate), saw=saw, period=(3, 20), warm=0.2 * base,
        )  # fmt: skip
        pods, leaking = [old, new], new.name
    else:
        oom = run_leaking_pod(
            rng, old, start=0, end=end, limit=limit, base=base,
            leak=linear_leak(rate, onset=onset), saw=saw, period=(3, 20),
        )  # fmt: skip
        pods, leaking = [old], old.name
    trace = Trace(
        name, "rollout_leak", "leak", seed, limit, "", pods, onset_minute=float(onset), leaking_pods=[leaking]
    )
    how = "a new pod" if replaced else "the same container"
    trace.description = f"flat for {flat_hours:.1f} h, then {how} leaks {rate * 60 / MiB:.1f} MiB/h"
    return finish_leak(rng, trace, oom)


def one_pod_of_many(rng: Rng, name: str, seed: int) -> Trace:
    """One replica leaks (it alone gets the requests that hit the leaking path); the others stay flat."""
    limit = pick_limit(rng)
    replicas = int(rng.integers(3, 7))
    leaky = int(rng.integers(0, replicas))
    onset = 0 if rng.random() < 0.5 else hours(rng.uniform(2, 8))
    hours_to_oom = rng.uniform(10, 30)
    end = onset + hours(hours_to_oom * 1.6 + 4)
    pods = [PodSeries(f"app-{i}") for i in range(replicas)]
    oom: float | None = None
    for i, pod in enumerate(pods):
        base = rng.uniform(0.25, 0.45) * limit
        saw = rng.uniform(0.02, 0.15) * base
        if i == leaky:
            rate = rate_to_oom(limit - base - saw, hours_to_oom)
            oom = run_leaking_pod(
                rng, pod, start=0, end=end, limit=limit, base=base,
                leak=linear_leak(rate, onset=onset), saw=saw, period=(3, 30),
            )  # fmt: skip
        else:
            extras = noisy_extras(rng, end, limit, saw=saw, period=(3, 30))

            def steady(m: FloatArray, base: float = base) -> FloatArray:
                return base + warm_up(m, 0.05 * limit, 15)

            life = run_container(0, end, steady, extras, limit)
            pod.extend(life.minutes, life.values)
    trace = Trace(
        name, "one_pod_of_many", "leak", seed, limit, "", pods,
        onset_minute=float(onset), leaking_pods=[pods[leaky].name],
    )  # fmt: skip
    trace.description = f"{pods[leaky].name} of {replicas} replicas leaks; the others are flat"
    return finish_leak(rng, trace, oom)


# --- not leaks ---------------------------------------------------------------------------------


def stable_pod(rng: Rng, end: int, limit: float, floor: Callable[[FloatArray], FloatArray], saw: float) -> PodSeries:
    pod = PodSeries("app-0")
    extras = noisy_extras(rng, end, limit, saw=saw, period=(3, 40))
    life = run_container(0, end, floor, extras, limit)
    if life.oom_minute is not None:
        raise ValueError("a stable trace reached its limit; adjust its parameters")
    pod.extend(life.minutes, life.values)
    return pod


def flat_sawtooth(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    level = rng.uniform(0.3, 0.78) * limit
    saw = min(rng.uniform(0.05, 0.3) * level, 0.93 * limit - level)
    end = hours(rng.uniform(24, 48))
    pod = stable_pod(rng, end, limit, lambda m: level + warm_up(m, 0.04 * limit, 10), saw)
    trace = Trace(name, "flat_sawtooth", "no-leak", seed, limit, "", [pod])
    trace.description = f"flat at {level / limit:.0%} of the limit with a {saw / MiB:.0f} MiB GC sawtooth"
    return finish_stable(rng, trace)


def warmup_plateau(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    start = rng.uniform(0.08, 0.25) * limit
    plateau = rng.uniform(0.4, 0.82) * limit
    tau = rng.uniform(10, 60)
    saw = rng.uniform(0.02, 0.08) * limit
    end = hours(rng.uniform(18, 30))
    pod = stable_pod(rng, end, limit, lambda m: start + warm_up(m, plateau - start, tau), saw)
    trace = Trace(name, "warmup_plateau", "no-leak", seed, limit, "", [pod])
    trace.description = f"warms up from {start / limit:.0%} to {plateau / limit:.0%} of the limit (tau {tau:.0f} min)"
    return finish_stable(rng, trace)


def cache_fill(rng: Rng, name: str, seed: int) -> Trace:
    """An LRU cache filling to its size cap: distinct keys grow like Heaps' law (t^beta), so the
    fill decelerates, then stops dead at the cap."""
    limit = pick_limit(rng)
    start = rng.uniform(0.2, 0.35) * limit
    cap = rng.uniform(0.5, 0.8) * limit
    fill_hours = rng.uniform(1, 6)
    beta = rng.uniform(0.3, 0.55)
    saw = rng.uniform(0.02, 0.06) * limit
    end = hours(rng.uniform(24, 40))

    def floor(m: FloatArray) -> FloatArray:
        return start + (cap - start) * np.minimum(1.0, m / hours(fill_hours)) ** beta

    pod = stable_pod(rng, end, limit, floor, saw)
    trace = Trace(name, "cache_fill", "no-leak", seed, limit, "", [pod])
    trace.description = f"cache fills to {cap / limit:.0%} of the limit in {fill_hours:.1f} h (beta {beta:.2f})"
    return finish_stable(rng, trace)


def daily_cycle(rng: Rng, name: str, seed: int) -> Trace:
    """Working set follows traffic: a morning ramp, a busy day, an evening decline, a quiet night."""
    limit = pick_limit(rng)
    night = rng.uniform(0.3, 0.55) * limit
    swing = rng.uniform(0.08, 0.2) * limit
    ramp_up = rng.uniform(2, 4)
    ramp_down = rng.uniform(3, 5)
    day_start = rng.uniform(6, 8)
    day_end = rng.uniform(17, 19)
    offset = rng.uniform(0, 24)
    saw = rng.uniform(0.02, 0.06) * limit
    end = hours(rng.uniform(48, 72))

    def smooth(x: FloatArray) -> FloatArray:
        x = np.clip(x, 0.0, 1.0)
        return 0.5 - 0.5 * np.cos(np.pi * x)

    def floor(m: FloatArray) -> FloatArray:
        hour = (m / MINUTES_PER_HOUR + offset) % 24
        up = smooth((hour - day_start) / ramp_up)
        down = smooth((hour - day_end) / ramp_down)
        return night + swing * (up - down)

    pod = stable_pod(rng, end, limit, floor, saw)
    trace = Trace(name, "daily_cycle", "no-leak", seed, limit, "", [pod])
    trace.description = f"swings {swing / MiB:.0f} MiB with traffic: {ramp_up:.1f} h up, {ramp_down:.1f} h down"
    return finish_stable(rng, trace)


def spike_recovery(rng: Rng, name: str, seed: int) -> Trace:
    limit = pick_limit(rng)
    level = rng.uniform(0.3, 0.5) * limit
    saw = rng.uniform(0.02, 0.06) * limit
    end = hours(rng.uniform(24, 36))
    spikes = [
        (rng.uniform(1, end - 240), rng.uniform(0.15, 0.3) * limit, rng.uniform(5, 40), rng.uniform(0, 60),
         rng.uniform(30, 180))
        for _ in range(int(rng.integers(1, 4)))
    ]  # fmt: skip

    def floor(m: FloatArray) -> FloatArray:
        extra = np.zeros_like(m)
        for at, height, rise, hold, decay in spikes:
            up = np.clip((m - at) / rise, 0.0, 1.0)
            after = np.maximum(m - at - rise - hold, 0.0)
            extra = np.maximum(extra, height * up * np.exp(-after / (decay / 3)))
        return level + extra

    pod = stable_pod(rng, end, limit, floor, saw)
    trace = Trace(name, "spike_recovery", "no-leak", seed, limit, "", [pod])
    trace.description = f"{len(spikes)} traffic spike(s) of up to {max(s[1] for s in spikes) / limit:.0%} of the limit"
    return finish_stable(rng, trace)


def restart_resets(rng: Rng, name: str, seed: int) -> Trace:
    """Frequent restarts (deploys, evictions, liveness failures): each run warms up to the same level."""
    limit = pick_limit(rng)
    start = rng.uniform(0.12, 0.25) * limit
    plateau = rng.uniform(0.4, 0.7) * limit
    saw = rng.uniform(0.02, 0.06) * limit
    end = hours(rng.uniform(24, 48))
    pod = PodSeries("app-0")
    life_start = 0
    while life_start < end:
        life_end = min(end, life_start + hours(rng.uniform(2, 8)))
        tau = rng.uniform(10, 40)
        extras = noisy_extras(rng, life_end - life_start, limit, saw=saw, period=(3, 30))

        def warming(m: FloatArray, tau: float = tau) -> FloatArray:
            return start + warm_up(m, plateau - start, tau)

        life = run_container(life_start, life_end, warming, extras, limit)
        pod.extend(life.minutes, life.values)
        life_start = life_end + int(rng.integers(1, 3))
    trace = Trace(name, "restart_resets", "no-leak", seed, limit, "", [pod])
    trace.description = f"restarts every 2-8 h, warming up to {plateau / limit:.0%} of the limit each time"
    return finish_stable(rng, trace)


def converging_growth(rng: Rng, name: str, seed: int) -> Trace:
    """Allocator fragmentation: RSS creeps up and converges to an asymptote below the limit."""
    limit = pick_limit(rng)
    base = rng.uniform(0.3, 0.45) * limit
    growth = rng.uniform(0.08, 0.25) * limit
    tau_hours = rng.uniform(2, 12)
    saw = rng.uniform(0.02, 0.06) * limit
    end = hours(rng.uniform(36, 48))
    pod = stable_pod(rng, end, limit, lambda m: base + warm_up(m, growth, tau_hours * MINUTES_PER_HOUR), saw)
    trace = Trace(name, "converging_growth", "no-leak", seed, limit, "", [pod])
    trace.description = f"grows {growth / MiB:.0f} MiB converging with tau {tau_hours:.1f} h"
    return finish_stable(rng, trace)


PATTERNS: dict[str, tuple[Callable[[Rng, str, int], Trace], int]] = {
    "steady_leak": (steady_leak, 6),
    "slow_leak": (slow_leak, 6),
    "sawtooth_leak": (sawtooth_leak, 6),
    "stepwise_leak": (stepwise_leak, 6),
    "rollout_leak": (rollout_leak, 6),
    "one_pod_of_many": (one_pod_of_many, 6),
    "flat_sawtooth": (flat_sawtooth, 5),
    "warmup_plateau": (warmup_plateau, 5),
    "cache_fill": (cache_fill, 5),
    "daily_cycle": (daily_cycle, 5),
    "spike_recovery": (spike_recovery, 5),
    "restart_resets": (restart_resets, 5),
    "converging_growth": (converging_growth, 5),
}


def generate(out: Path, corpus_seed: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json.gz"):
        old.unlink()
    written = []
    for pattern_index, (pattern, (make, variants)) in enumerate(PATTERNS.items()):
        for variant in range(variants):
            seed = corpus_seed * 10_000 + pattern_index * 100 + variant
            name = f"{pattern}-{variant:02d}"
            trace = make(np.random.default_rng(seed), name, seed)
            path = out / f"{name}.json.gz"
            payload = json.dumps(trace.to_json(), separators=(",", ":")).encode()
            # mtime=0 keeps the gzip bytes identical from run to run.
            with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
                gz.write(payload)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="directory for the .json.gz traces")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1 is the committed corpus)")
    args = parser.parse_args()
    written = generate(args.out, args.seed)
    total = sum(p.stat().st_size for p in written)
    print(f"wrote {len(written)} traces to {args.out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
