"""Held-out test corpus: labelled container-memory traces drawn from production shapes that the
development corpus (tests/corpus) does not contain, with other scrape steps and noise models.

    .venv/bin/python tests/corpus_test/generate.py                            # rewrite traces/ (seed 1)
    .venv/bin/python tests/corpus_test/generate.py --seed 2 --out /tmp/test2  # a fresh draw

This generator was written from the trace format alone (tests/corpus/README.md), without looking at
the detector, its thresholds or the development generator, so that scoring on it says something
about traces the detector was not tuned on. See README.md next to this file.

Output is byte-identical for a seed: numpy's Generator seeded per trace, gzip with mtime 0, compact
JSON with a fixed key order.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "traces"
FORMAT = 1
T0 = 1772668800  # 2026-03-05 00:00:00 UTC; "local time" of the daily patterns is UTC
DAY = 86400.0
HOUR = 3600.0
MINUTE = 60.0
MIB = 1 << 20
PAGE = 4096
LIMITS_MIB = (384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192)
NOISE_KINDS = ("student_t", "laplace_spikes", "ou_slow", "multiplicative", "hugepage_quantized")
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# A life model: (seconds since the container started, absolute time) -> bytes, noiseless.
Model = Callable[[np.ndarray, np.ndarray], np.ndarray]


# ---------------------------------------------------------------------------------------------
# building blocks


def draw_limit(rng: np.random.Generator) -> int:
    return int(rng.choice(LIMITS_MIB)) * MIB


def draw_step(rng: np.random.Generator, choices: Sequence[int]) -> int:
    return int(rng.choice(np.asarray(choices)))


def pod_name(rng: np.random.Generator, app: str, template: str | None = None) -> str:
    def word(n: int) -> str:
        return "".join(ALPHABET[int(i)] for i in rng.integers(0, len(ALPHABET), n))

    return f"{app}-{template or word(10)}-{word(5)}"


def template_hash(rng: np.random.Generator) -> str:
    return "".join(ALPHABET[int(i)] for i in rng.integers(0, len(ALPHABET), 10))


def day_start(rng: np.random.Generator, hour_lo: float = 0.0, hour_hi: float = 24.0) -> float:
    return T0 + DAY * int(rng.integers(0, 21)) + rng.uniform(hour_lo, hour_hi) * HOUR


def sawtooth(
    rng: np.random.Generator, horizon: float, amp: float, period_lo: float, period_hi: float
) -> Callable[[np.ndarray], np.ndarray]:
    """Allocation rising linearly over each cycle and dropping at its end: amp * phase, with
    jittered periods and per-cycle amplitudes (0.6-1.0 of amp) and a random phase at age 0."""
    n = int(horizon / period_lo) + 4
    periods = rng.uniform(period_lo, period_hi, n)
    edges = np.concatenate([[-rng.uniform(0, periods[0])], np.cumsum(periods)])
    edges[1:] += edges[0]
    amps = amp * rng.uniform(0.6, 1.0, n)

    def f(age: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(edges, age, side="right") - 1, 0, n - 1)
        phase = np.clip((age - edges[k]) / (edges[k + 1] - edges[k]), 0.0, 1.0)
        return amps[k] * phase

    return f


def tabulated(values: np.ndarray, dt: float) -> Callable[[np.ndarray], np.ndarray]:
    """A precomputed path on a dt grid from 0, read by linear interpolation (held at the ends)."""
    grid = np.arange(len(values)) * dt

    def f(x: np.ndarray) -> np.ndarray:
        return np.interp(x, grid, values)

    return f


def ou_path(rng: np.random.Generator, n: int, dt: float, tau: float, sd: float) -> np.ndarray:
    a = math.exp(-dt / tau)
    shocks = rng.normal(0.0, sd * math.sqrt(1 - a * a), n)
    out = np.empty(n)
    x = rng.normal(0.0, sd)
    for i in range(n):
        x = a * x + shocks[i]
        out[i] = x
    return out


def burst_counter(
    rng: np.random.Generator, t_from: float, t_to: float, mean_gap: float, mean_size: float, shape: float
) -> Callable[[np.ndarray], np.ndarray]:
    """C(t): total size of the bursts at or before absolute time t. Bursts arrive as a Poisson
    process (mean gap), gamma-sized (mean size, shape)."""
    n = int((t_to - t_from) / mean_gap * 1.5) + 20
    times = t_from + np.cumsum(rng.exponential(mean_gap, n))
    sizes = rng.gamma(shape, mean_size / shape, n)
    cum = np.concatenate([[0.0], np.cumsum(sizes)])

    def c(t: np.ndarray) -> np.ndarray:
        return cum[np.searchsorted(times, t, side="right")]

    return c


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


@dataclass(frozen=True)
class Day:
    ramp_start: float  # absolute times
    ramp_len: float
    release_start: float
    release_len: float
    amp: float  # fraction of the limit
    chunks: np.ndarray  # release times (fractions of the release) of discrete drops
    chunk_share: float  # share of the amplitude released in chunks


def draw_days(
    rng: np.random.Generator,
    first_midnight: float,
    days: int,
    amp: float,
    ramp_hours: tuple[float, float],
    ramp_start_hours: tuple[float, float] = (5.5, 7.5),
    release_start_hours: tuple[float, float] = (22.5, 23.6),
    release_hours: tuple[float, float] = (1.5, 3.5),
) -> list[Day]:
    out = []
    for d in range(days):
        midnight = first_midnight + d * DAY
        n_chunks = int(rng.integers(2, 5))
        out.append(
            Day(
                ramp_start=midnight + rng.uniform(*ramp_start_hours) * HOUR,
                ramp_len=rng.uniform(*ramp_hours) * HOUR,
                release_start=midnight + rng.uniform(*release_start_hours) * HOUR,
                release_len=rng.uniform(*release_hours) * HOUR,
                amp=amp * rng.uniform(0.8, 1.1),
                chunks=np.sort(rng.uniform(0.1, 0.9, n_chunks)),
                chunk_share=rng.uniform(0.2, 0.5),
            )
        )
    return out


def daily_state(days: list[Day], t: np.ndarray, since: np.ndarray, wiggle: float, phase: float) -> np.ndarray:
    """Per-day state built up during each day's ramp, held (with an intra-day wiggle) and released
    gradually around midnight, partly smoothly and partly in a few small chunks. A container has
    no state from before its start (`since`): one started during a ramp builds the day's state in
    what is left of the ramp (at least an hour), one started after the release begins has none."""
    out = np.zeros_like(t, dtype=float)
    for day in days:
        alive = since < day.release_start
        ramp_end = day.ramp_start + day.ramp_len
        begin = np.maximum(day.ramp_start, since)
        up = smoothstep((t - begin) / np.maximum(ramp_end - begin, HOUR))
        x = (t - day.release_start) / day.release_len
        smooth = np.clip(x, 0.0, 1.0)
        chunked = (x[:, None] >= day.chunks[None, :]).mean(axis=1)
        released = (1 - day.chunk_share) * smooth + day.chunk_share * chunked
        hours = (t - day.ramp_start) / HOUR
        wig = 1 + wiggle * np.sin(2 * np.pi * hours / 7.0 + phase)
        out += np.where(alive, day.amp * up * (1 - released) * wig, 0.0)
    return out


# ---------------------------------------------------------------------------------------------
# noise, scrape loss and one pod's container lives


@dataclass
class Noise:
    add: np.ndarray
    rel: np.ndarray
    quantum: int
    text: str


def draw_noise(rng: np.random.Generator, kind: str, n: int, step: int, limit: float) -> Noise:
    add = np.zeros(n)
    rel = np.zeros(n)
    quantum = PAGE
    if kind == "student_t":
        df = rng.uniform(2.2, 4.0)
        scale = rng.uniform(0.0008, 0.003)
        add = np.clip(scale * limit * rng.standard_t(df, n), -0.04 * limit, 0.04 * limit)
        text = f"Student-t scrape noise (df {df:.1f}, scale {scale:.2%} of the limit)"
    elif kind == "laplace_spikes":
        scale = rng.uniform(0.0005, 0.0025)
        rate = rng.uniform(0.0005, 0.003)
        spikes = (rng.random(n) < rate) * np.minimum(rng.exponential(0.02 * limit, n), 0.06 * limit)
        add = rng.laplace(0.0, scale * limit, n) + spikes
        text = f"Laplace noise ({scale:.2%}) with one-scrape allocation spikes (rate {rate:.2%}, mean 2%)"
    elif kind == "ou_slow":
        tau = rng.uniform(1.0, 4.0) * HOUR
        sd = rng.uniform(0.003, 0.01)
        add = ou_path(rng, n, step, tau, sd * limit) + rng.standard_t(3.0, n) * 0.0006 * limit
        add = np.clip(add, -0.05 * limit, 0.05 * limit)
        text = f"slow OU wander (tau {tau / HOUR:.1f} h, sd {sd:.2%}) plus t(3) scrape noise"
    elif kind == "multiplicative":
        sigma = rng.uniform(0.002, 0.006)
        rel = np.clip(rng.normal(0.0, sigma, n) + rng.standard_t(2.5, n) * sigma * 0.3, -0.04, 0.04)
        text = f"multiplicative noise ({sigma:.2%} of the value, t(2.5) tails)"
    elif kind == "hugepage_quantized":
        quantum = 2 * MIB
        scale = rng.uniform(0.0005, 0.002)
        add = np.clip(scale * limit * rng.standard_t(3.0, n), -0.03 * limit, 0.03 * limit)
        text = f"working set in 2 MiB huge pages, t(3) noise ({scale:.2%})"
    else:
        raise ValueError(kind)
    return Noise(add, rel, quantum, text)


def draw_keep(rng: np.random.Generator, n: int, step: int, long_gaps: int) -> np.ndarray:
    """Scrapes that Prometheus got: a few lone misses, bursts of 2-5 about twice a day, and
    `long_gaps` outages of 10-30 minutes."""
    keep = rng.random(n) >= rng.uniform(0.001, 0.006)
    for _ in range(int(rng.poisson(n * step / (12 * HOUR)))):
        i = int(rng.integers(0, n))
        keep[i : i + int(rng.integers(2, 6))] = False
    for _ in range(long_gaps):
        k = math.ceil(rng.uniform(10, 30) * MINUTE / step)
        i = int(rng.integers(int(0.05 * n), max(int(0.95 * n) - k, int(0.05 * n) + 1)))
        keep[i : i + k] = False
    keep[0] = True
    return keep


@dataclass
class Pod:
    name: str
    t: np.ndarray  # int seconds
    v: np.ndarray  # int bytes
    ooms: list[int]
    leaking: bool


def simulate_pod(
    rng: np.random.Generator,
    name: str,
    container_start: float,
    end: float,
    step: int,
    limit: int,
    model: Model,
    leaking: bool,
    noise_kind: str,
    long_gaps: int = 0,
) -> tuple[Pod, str]:
    """Scrape one pod from its container start to `end` on a step-aligned grid. A leaking pod is
    OOMKilled at the first sample that reaches the limit (that sample reads exactly the limit) and
    the restarted container's first sample comes one to three scrapes later; a non-leaking pod is
    held under 99% of the limit (reclaim) and its model must stay under 98.5%."""
    first = (math.floor(container_start / step) + 1) * step
    t = np.arange(first, math.floor(end / step) * step + 1, step, dtype=np.int64)
    n = len(t)
    noise = draw_noise(rng, noise_kind, n, step, limit)
    keep = draw_keep(rng, n, step, long_gaps)
    v = np.full(n, np.nan)
    ooms: list[int] = []
    i = 0
    start = container_start
    while i < n:
        tt = t[i:].astype(float)
        m = model(tt - start, tt)
        if not leaking and np.any(m >= 0.985 * limit):
            raise AssertionError(f"{name}: a non-leaking model reaches {m.max() / limit:.3f} of the limit")
        val = m * (1 + noise.rel[i:]) + noise.add[i:]
        if not leaking:
            v[i:] = np.minimum(val, 0.99 * limit)
            break
        hits = np.nonzero(val >= limit)[0]
        if not hits.size:
            v[i:] = val
            break
        j = i + int(hits[0])
        v[i:j] = val[: j - i]
        v[j] = limit
        keep[j] = True
        ooms.append(int(t[j]))
        nxt = j + 1 + int(rng.integers(0, 3))
        if nxt >= n:
            break
        start = t[j] + (t[nxt] - t[j]) * rng.uniform(0.2, 0.9)
        i = nxt
    present = keep & ~np.isnan(v)
    vv = v[present]
    oom_mask = vv >= limit
    q = noise.quantum
    out = np.floor(np.maximum(vv, 8 * MIB) / q) * q
    out = np.minimum(out, limit - PAGE)
    out[oom_mask] = limit
    return Pod(name, t[present], out.astype(np.int64), ooms, leaking), noise.text


# ---------------------------------------------------------------------------------------------
# a trace


@dataclass
class Trace:
    pattern: str
    label: str
    step: int
    limit: int
    description: str
    pods: list[Pod]
    onset: float | None = None
    end: float | None = None  # data end; pods are cut there
    noise_text: str = ""
    notes: list[str] = field(default_factory=list)

    def finish(self) -> tuple[int | None, list[Pod]]:
        oom = None
        if self.label == "leak":
            ooms = [o for p in self.pods if p.leaking for o in p.ooms]
            if not ooms:
                raise AssertionError(f"{self.pattern}: a leak without an OOM in its horizon")
            oom = min(ooms)
        pods = []
        for p in self.pods:
            keep = p.t <= (self.end if self.end is not None else math.inf)
            if keep.any():
                pods.append(
                    Pod(p.name, p.t[keep], p.v[keep], [o for o in p.ooms if o <= (self.end or math.inf)], p.leaking)
                )
        return oom, pods


def leak_end(
    rng: np.random.Generator, oom: float, before: bool, hours_before=(0.3, 1.5), hours_after=(1.0, 5.0)
) -> float:
    return oom - rng.uniform(*hours_before) * HOUR if before else oom + rng.uniform(*hours_after) * HOUR


def first_oom(pods: list[Pod]) -> float:
    ooms = [o for p in pods if p.leaking for o in p.ooms]
    if not ooms:
        raise AssertionError("a leak without an OOM in its horizon")
    return float(min(ooms))


def noise_kind(rng: np.random.Generator, exclude: Sequence[str] = ()) -> str:
    kinds = [k for k in NOISE_KINDS if k not in exclude]
    return str(kinds[int(rng.integers(0, len(kinds)))])


def gaps(rng: np.random.Generator) -> int:
    """Most traces have no long outage; about a third have one or two."""
    return int(rng.choice([0, 0, 0, 0, 1, 1, 2]))


# ---------------------------------------------------------------------------------------------
# no-leak patterns


def jvm_heap_cap(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    g1 = variant % 2 == 0
    cap = rng.uniform(0.50, 0.72)
    nonheap = rng.uniform(0.06, min(0.15, 0.86 - cap))
    meta = rng.uniform(0.01, 0.02)
    tau_meta = rng.uniform(0.5, 2.0) * HOUR
    xms = rng.uniform(0.10, 0.30) * cap
    t_cap = rng.uniform(2.0, 14.0) * HOUR
    k = int(rng.integers(4, 10)) if g1 else int(rng.integers(2, 5))
    times = np.concatenate([np.sort(t_cap * rng.uniform(0, 1, k - 1) ** 1.5), [t_cap]])
    sizes = rng.dirichlet(np.ones(k)) * (cap - xms)
    tau_touch = rng.uniform(2.0, 10.0) * MINUTE
    duration = rng.uniform(20.0, 40.0) * HOUR
    if g1:
        saw = sawtooth(rng, duration, rng.uniform(0.005, 0.02) * limit, 60, 360)
        n_shrink = int(duration / (6 * HOUR)) + 1
        shrink_at = t_cap + np.cumsum(rng.uniform(4.0, 10.0, n_shrink)) * HOUR
        shrink_depth = rng.uniform(0.05, 0.15, n_shrink) * cap
        regrow = rng.uniform(15.0, 45.0) * MINUTE

        def extra(age: np.ndarray) -> np.ndarray:
            dips = np.zeros_like(age)
            for at, depth in zip(shrink_at, shrink_depth, strict=True):
                since = age - at
                dips -= np.where(since >= 0, depth * np.exp(-np.maximum(since, 0) / regrow), 0.0)
            return saw(age) + dips * limit

        gc = (
            f"G1-like: {k} expansions, young GC sawtooth, periodic uncommit dips of 5-15% of the heap "
            f"regrowing in {regrow / MINUTE:.0f} min"
        )
    else:
        saw = sawtooth(rng, duration, rng.uniform(0.01, 0.03) * limit, 20, 90)
        n_seg = int(duration / (0.5 * HOUR)) + 2
        seg_edges = np.cumsum(rng.uniform(0.5, 2.0, n_seg)) * HOUR
        seg_level = rng.choice([-1.0, 0.0, 1.0], n_seg) * rng.uniform(0.02, 0.03) * limit

        def extra(age: np.ndarray) -> np.ndarray:
            k2 = np.clip(np.searchsorted(seg_edges, age), 0, n_seg - 1)
            resize = np.where(age > t_cap, seg_level[k2], 0.0)
            return saw(age) + resize

        gc = f"Parallel-like: {k} large expansions, fast young sawtooth, adaptive young-gen resizing of +-2-3%"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        since = np.maximum(age[:, None] - times[None, :], 0.0)
        touched = np.where(age[:, None] >= times[None, :], 1 - np.exp(-since / tau_touch), 0.0)
        heap = xms + (sizes[None, :] * touched).sum(axis=1)
        return (nonheap + meta * (1 - np.exp(-age / tau_meta)) + heap) * limit + extra(age)

    start = day_start(rng)
    kind = noise_kind(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "orders"), start, start + duration, step, limit, model, False, kind, gaps(rng)
    )
    desc = (
        f"JVM committed heap from {xms:.0%} to its cap {cap:.0%} of the limit in steps over {t_cap / HOUR:.1f} h, "
        f"then flat; non-heap {nonheap:.0%}+{meta:.0%}; {gc}; {ntext}"
    )
    return Trace("jvm_heap_cap", "no-leak", step, limit, desc, [pod])


def fragmentation_slow(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60))
    base = rng.uniform(0.22, 0.38)
    rise = rng.uniform(0.15, min(0.32, 0.70 - base))
    t90 = rng.uniform(24.0, 48.0) * HOUR
    s0 = rng.uniform(0.05, 0.12)
    tau_w = rng.uniform(5.0, 20.0) * MINUTE
    duration = rng.uniform(48.0, 72.0) * HOUR
    saw = sawtooth(rng, duration, rng.uniform(0.01, 0.04) * limit, 3 * MINUTE, 20 * MINUTE)
    if variant % 3 == 2:
        beta = rng.uniform(0.5, 0.7)
        tau = t90 / math.log(10) ** (1 / beta)

        def g(age: np.ndarray) -> np.ndarray:
            return 1 - np.exp(-((np.maximum(age, 0) / tau) ** beta))

        shape = f"stretched exponential (beta {beta:.2f})"
    else:
        alpha = rng.uniform(0.8, 1.5)
        tau = t90 / (10 ** (1 / alpha) - 1)

        def g(age: np.ndarray) -> np.ndarray:
            return 1 - (1 + np.maximum(age, 0) / tau) ** -alpha

        shape = f"power-law decay (alpha {alpha:.2f})"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (s0 + (base - s0) * (1 - np.exp(-age / tau_w)) + rise * g(age)) * limit + saw(age)

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "search"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"allocator fragmentation: {base:.0%} of the limit plus {rise:.0%} converging by {shape}, "
        f"90% of it after {t90 / HOUR:.0f} h (asymptote {base + rise:.0%}); {ntext}"
    )
    return Trace("fragmentation_slow", "no-leak", step, limit, desc, [pod])


def heap_to_target(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    s0 = rng.uniform(0.12, 0.25)
    target = rng.uniform(0.45, 0.68)
    ramp = rng.uniform(8.0, 10.0) * HOUR
    gamma = rng.uniform(0.6, 1.0)
    duration = rng.uniform(24.0, 36.0) * HOUR
    rel_amp = rng.uniform(0.03, 0.08)
    saw = sawtooth(rng, duration, 1.0, 2 * MINUTE, 15 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        level = s0 + (target - s0) * np.clip(age / ramp, 0, 1) ** gamma
        return level * limit * (1 - rel_amp + rel_amp * saw(age))

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "ledger"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"heap grows from {s0:.0%} to its target {target:.0%} of the limit over {ramp / HOUR:.1f} h "
        f"(shape t^{gamma:.2f}), then flat under a GC sawtooth of {rel_amp:.0%}; {ntext}"
    )
    return Trace("heap_to_target", "no-leak", step, limit, desc, [pod])


def page_cache(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    anon = rng.uniform(0.15, 0.35)
    ceiling = rng.uniform(0.92, 0.965)
    t_fill = rng.uniform(3.0, 12.0) * HOUR
    chunk = rng.uniform(0.01, 0.035)
    duration = rng.uniform(24.0, 48.0) * HOUR
    dt = 5 * MINUTE
    n = int(duration / dt) + 4
    shape = rng.uniform(0.5, 2.0)
    burst = rng.gamma(shape, 1 / shape, n)
    if variant % 3 == 2:
        hours = np.arange(n) * dt / HOUR
        burst *= 0.4 + 0.6 * (np.sin(2 * np.pi * hours / 24.0 + rng.uniform(0, 2 * np.pi)) > -0.3)
    rate = (ceiling - anon) / t_fill  # per second, as a fraction of the limit
    written = np.concatenate([[0.0], np.cumsum(burst[:-1])]) * rate * dt
    writes = tabulated(written, dt)
    tau_a = rng.uniform(2.0, 10.0) * MINUTE

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        a = anon * (1 - 0.5 * np.exp(-age / tau_a))
        total = a + writes(age)
        held = np.where(total < ceiling, total, ceiling - chunk + np.mod(total - ceiling, chunk))
        return held * limit

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "exporter"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"a process writing files: anon {anon:.0%}, page cache in the working set climbs to {ceiling:.1%} of the limit "
        f"in about {t_fill / HOUR:.1f} h (gamma-bursty writes{', daily rhythm' if variant % 3 == 2 else ''}), "
        f"then the kernel reclaims in chunks of {chunk:.1%}; {ntext}"
    )
    return Trace("page_cache", "no-leak", step, limit, desc, [pod])


def daily_traffic(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60))
    base = rng.uniform(0.25, 0.40)
    amp = rng.uniform(0.15, 0.28)
    days = int(rng.integers(2, 5))
    start = day_start(rng, 0.5, 4.0)
    midnight = math.floor((start - T0) / DAY) * DAY + T0
    plan = draw_days(rng, midnight, days + 1, amp, (5.0, 9.0))
    duration = days * DAY + rng.uniform(-4.0, 4.0) * HOUR
    wiggle = rng.uniform(0.03, 0.08)
    phase = rng.uniform(0, 2 * np.pi)
    tau_w = rng.uniform(3.0, 15.0) * MINUTE
    saw = sawtooth(rng, duration, rng.uniform(0.01, 0.03) * limit, 2 * MINUTE, 12 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        level = base * (1 - 0.6 * np.exp(-age / tau_w)) + daily_state(plan, t, t - age, wiggle, phase)
        return level * limit + saw(age)

    pod, ntext = simulate_pod(
        rng, pod_name(rng, "storefront"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    hh = (start - midnight) / HOUR
    desc = (
        f"started at {int(hh):02d}:{int(hh % 1 * 60):02d}, {days} days of traffic: {base:.0%} of the limit "
        f"plus per-day state of about {amp:.0%} built over a 5-9 h morning ramp and released gradually "
        f"around midnight; {ntext}"
    )
    return Trace("daily_traffic", "no-leak", step, limit, desc, [pod])


def go_gomemlimit(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30))
    soft = rng.uniform(0.72, 0.86)
    l0 = rng.uniform(0.08, 0.15)
    l1 = rng.uniform(0.45, 0.62)
    tau = rng.uniform(1.0, 4.0) * HOUR
    runtime = rng.uniform(0.02, 0.04)
    keep_frac = rng.uniform(0.05, 0.15)
    duration = rng.uniform(18.0, 36.0) * HOUR
    saw = sawtooth(rng, duration, 1.0, 1 * MINUTE, 5 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        live = l0 + (l1 - l0) * (1 - np.exp(-age / tau))
        goal = np.minimum(2 * live, soft)
        heap = goal - keep_frac * (goal - live) * (1 - saw(age))
        return (heap + runtime * (1 - np.exp(-age / (10 * MINUTE)))) * limit

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "gateway"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"Go with GOGC=100 and GOMEMLIMIT at {soft:.0%} of the limit: live heap {l0:.0%} -> {l1:.0%} "
        f"(tau {tau / HOUR:.1f} h), the heap goal reaches the soft limit and GC holds it there; {ntext}"
    )
    return Trace("go_gomemlimit", "no-leak", step, limit, desc, [pod])


def python_arenas(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60))
    duration = rng.uniform(36.0, 60.0) * HOUR
    interp = rng.uniform(0.04, 0.08)
    d0 = rng.uniform(0.15, 0.25)
    cap = rng.uniform(0.55, 0.70)
    arena = rng.uniform(0.004, 0.012)
    dt = MINUTE
    n = int(duration / dt) + 4
    load = ou_path(rng, n, dt, rng.uniform(30, 90) * MINUTE, rng.uniform(0.03, 0.06))
    burst_rate = rng.uniform(1.0, 4.0) / HOUR * dt
    alpha = rng.uniform(1.5, 2.5)
    burst_scale = rng.uniform(0.01, 0.02)
    bursts = (rng.random(n) < burst_rate) * (rng.pareto(alpha, n) + 1) * burst_scale
    demand = np.minimum(d0 + np.maximum(load, -d0 / 2) + bursts, cap)
    held = np.ceil(np.maximum.accumulate(demand) / arena) * arena
    arenas = tabulated(held, dt)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (interp + arenas(age)) * limit

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "worker"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"Python service: pymalloc arenas ({arena:.1%} of the limit each) grow to the highest demand so far and are "
        f"never returned; demand {d0:.0%} of the limit + OU load + Pareto(alpha {alpha:.1f}) bursts, "
        f"ends at {interp + held[-1]:.0%}; {ntext}"
    )
    return Trace("python_arenas", "no-leak", step, limit, desc, [pod])


def scrape_gaps_flat(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    level = rng.uniform(0.30, 0.70)
    duration = rng.uniform(24.0, 48.0) * HOUR
    dt = MINUTE
    wander = ou_path(rng, int(duration / dt) + 4, dt, rng.uniform(20, 60) * MINUTE, rng.uniform(0.005, 0.015))
    path = tabulated(wander, dt)
    saw = sawtooth(rng, duration, rng.uniform(0.0, 0.05) * limit, 5 * MINUTE, 40 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (level * (1 - 0.4 * np.exp(-age / (5 * MINUTE))) + path(age)) * limit + saw(age)

    n_gaps = int(rng.integers(4, 9))
    kind = str(rng.choice(["student_t", "laplace_spikes"]))
    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "billing"), start, start + duration, step, limit, model, False, kind, n_gaps
    )
    desc = f"flat at {level:.0%} of the limit with OU wander, {n_gaps} scrape outages of 10-30 min; {ntext}"
    return Trace("scrape_gaps_flat", "no-leak", step, limit, desc, [pod])


def lucky_walk(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    level = rng.uniform(0.30, 0.48)
    duration = rng.uniform(30.0, 44.0) * HOUR
    a1 = rng.uniform(3.0, 10.0) * HOUR
    up = rng.uniform(6.0, 12.0) * HOUR
    down = rng.uniform(8.0, 16.0) * HOUR
    height = rng.uniform(0.10, 0.18)
    anchors_t = np.array([0.0, a1, a1 + up, a1 + up + down, max(duration, a1 + up + down) + HOUR])
    anchors_v = np.array([0.0, rng.uniform(-0.01, 0.02), height, rng.uniform(-0.02, 0.03), rng.uniform(-0.02, 0.02)])
    sigma = rng.uniform(0.004, 0.008)  # per sqrt(hour)
    dt = MINUTE
    grid = np.arange(0.0, anchors_t[-1] + dt, dt)
    path = np.interp(grid, anchors_t, anchors_v)
    for lo, hi in itertools.pairwise(anchors_t):
        sel = (grid >= lo) & (grid <= hi)
        m = int(sel.sum())
        walk = np.concatenate([[0.0], np.cumsum(rng.normal(0, sigma * math.sqrt(dt / HOUR), m - 1))])
        frac = (grid[sel] - lo) / (hi - lo)
        path[sel] += walk - frac * walk[-1]
    walk_f = tabulated(path, dt)
    saw = sawtooth(rng, duration, rng.uniform(0.01, 0.03) * limit, 3 * MINUTE, 25 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (level * (1 - 0.5 * np.exp(-age / (8 * MINUTE))) + walk_f(age)) * limit + saw(age)

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "profile"), start, start + duration, step, limit, model, False, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"flat at {level:.0%} of the limit, but its random walk ({sigma:.1%}/sqrt(h)) happens to climb {height:.0%} "
        f"over {up / HOUR:.1f} h from {a1 / HOUR:.1f} h and wander back over {down / HOUR:.1f} h; {ntext}"
    )
    return Trace("lucky_walk", "no-leak", step, limit, desc, [pod])


# ---------------------------------------------------------------------------------------------
# leak patterns


def fast_oom_cycle(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30))
    s = rng.uniform(0.15, 0.35)
    run = rng.uniform(2.0, 4.0) * HOUR
    rate = (1 - s) / run * rng.uniform(1.0, 1.04)
    tau = rng.uniform(1.0, 3.0) * MINUTE
    duration = rng.uniform(10.0, 20.0) * HOUR
    saw = sawtooth(rng, duration, rng.uniform(0.01, 0.03) * limit, 1 * MINUTE, 5 * MINUTE)

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (s * (1 - 0.5 * np.exp(-age / tau)) + rate * age) * limit + saw(age)

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "thumbnailer"), start, start + duration, step, limit, model, True, noise_kind(rng), gaps(rng)
    )
    desc = (
        f"fast leak from {s:.0%} of the limit at {rate * HOUR:.1%} of it per hour: OOMKilled about every "
        f"{run / HOUR:.1f} h, {len(pod.ooms)} times, each run growing the same way; {ntext}"
    )
    return Trace("fast_oom_cycle", "leak", step, limit, desc, [pod], onset=start, end=start + duration)


def jvm_warmup_native_leak(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    s0 = rng.uniform(0.05, 0.15)
    w = rng.uniform(0.35, 0.55)
    tau = rng.uniform(3.0, 15.0) * MINUTE
    t_oom = rng.uniform(16.0, 48.0) * HOUR
    rate = (1 - w - 0.01) / t_oom
    horizon = t_oom * 1.6 + 6 * HOUR
    saw = sawtooth(rng, horizon, rng.uniform(0.01, 0.02) * limit, 2 * MINUTE, 10 * MINUTE)
    if variant % 3 == 0:
        chunk = float(np.clip(round(0.03 * limit / MIB), 8, 64)) * MIB / limit
        n = int(horizon * rate / chunk) + 20
        step_times = np.cumsum(rng.gamma(4.0, chunk / rate / 4.0, n))

        def leak(age: np.ndarray) -> np.ndarray:
            return chunk * np.searchsorted(step_times, age, side="right")

        how = f"native memory in glibc arenas of {chunk * limit / MIB:.0f} MiB"
    else:

        def leak(age: np.ndarray) -> np.ndarray:
            return rate * age

        how = "native memory growing linearly"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (w - (w - s0) * np.exp(-age / tau) + leak(age)) * limit + saw(age)

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "pricing"), start, start + horizon, step, limit, model, True, noise_kind(rng), gaps(rng)
    )
    oom = first_oom([pod])
    end = leak_end(rng, oom, before=variant % 3 == 2)
    desc = (
        f"JVM warm-up from {s0:.0%} to {w:.0%} of the limit (tau {tau / MINUTE:.0f} min), then {how} at "
        f"{rate * HOUR:.2%} of the limit per hour from the start: OOM {(oom - start) / HOUR:.1f} h in"
        f"{' (after the end of the data)' if end < oom else ''}; {ntext}"
    )
    return Trace("jvm_warmup_native_leak", "leak", step, limit, desc, [pod], onset=start, end=end)


def accelerating_leak(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    base = rng.uniform(0.25, 0.45)
    t_oom = rng.uniform(10.0, 30.0) * HOUR
    tau_w = rng.uniform(2.0, 10.0) * MINUTE
    horizon = t_oom * 1.5 + 6 * HOUR
    saw = sawtooth(rng, horizon, rng.uniform(0.02, 0.06) * limit, 4 * MINUTE, 30 * MINUTE)
    if variant % 3 == 2:
        tau = rng.uniform(4.0, 10.0) * HOUR
        c = (1 - base) / math.expm1(t_oom / tau)

        def growth(age: np.ndarray) -> np.ndarray:
            return c * np.expm1(age / tau)

        shape = f"exponentially (tau {tau / HOUR:.1f} h)"
    else:
        p = rng.uniform(1.6, 2.5)

        def growth(age: np.ndarray) -> np.ndarray:
            return (1 - base) * (age / t_oom) ** p

        shape = f"like t^{p:.1f}"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (base * (1 - 0.5 * np.exp(-age / tau_w)) + growth(age)) * limit + saw(age)

    start = day_start(rng)
    pod, ntext = simulate_pod(
        rng, pod_name(rng, "indexer"), start, start + horizon, step, limit, model, True, noise_kind(rng), gaps(rng)
    )
    oom = first_oom([pod])
    end = leak_end(rng, oom, before=False)
    desc = (
        f"growth accelerating {shape} from {base:.0%} of the limit: "
        f"OOM {(oom - start) / HOUR:.1f} h after the start; {ntext}"
    )
    return Trace("accelerating_leak", "leak", step, limit, desc, [pod], onset=start, end=end)


def slow_leak_days(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60))
    base = rng.uniform(0.30, 0.50)
    t_oom = rng.uniform(72.0, 100.0) * HOUR if variant % 2 == 0 else rng.uniform(60.0, 96.0) * HOUR
    horizon = t_oom * 1.3 + 6 * HOUR
    start = day_start(rng)
    saw = sawtooth(rng, horizon, rng.uniform(0.01, 0.04) * limit, 5 * MINUTE, 30 * MINUTE)
    tau_w = rng.uniform(5.0, 20.0) * MINUTE
    if variant % 2 == 1:
        dt = 5 * MINUTE
        grid = start - HOUR + np.arange(int((horizon + 2 * HOUR) / dt)) * dt
        phase = rng.uniform(0, 2 * np.pi)
        traffic = np.maximum(0.15, 1 + 0.85 * np.sin(2 * np.pi * (grid - T0) / DAY + phase))
        cum = np.concatenate([[0.0], np.cumsum(traffic[:-1])]) * dt
        rate = (1 - base - 0.01) / (t_oom * float(traffic.mean()))

        def leak(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            return rate * (np.interp(t, grid, cum) - np.interp(t - age, grid, cum))

        how = f"with traffic (a daily rhythm, {rate * HOUR:.2%} of the limit per hour on average)"
    else:
        rate = (1 - base - 0.01) / t_oom

        def leak(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            return rate * age

        how = f"linearly at {rate * HOUR:.2%} of the limit per hour"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (base * (1 - 0.6 * np.exp(-age / tau_w)) + leak(age, t)) * limit + saw(age)

    pod, ntext = simulate_pod(
        rng, pod_name(rng, "reports"), start, start + horizon, step, limit, model, True, noise_kind(rng), gaps(rng)
    )
    oom = first_oom([pod])
    before = variant % 2 == 1
    end = leak_end(rng, oom, before=before, hours_before=(2.0, 10.0), hours_after=(1.0, 6.0))
    desc = (
        f"slow leak over days from {base:.0%} of the limit, {how}: OOM {(oom - start) / HOUR:.0f} h in"
        f"{' (after the end of the data)' if end < oom else ''}; {ntext}"
    )
    return Trace("slow_leak_days", "leak", step, limit, desc, [pod], onset=start, end=end)


def rollout_regression(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (15, 30, 60))
    t_r = rng.uniform(6.0, 20.0) * HOUR
    t_oom = rng.uniform(10.0, 30.0) * HOUR
    start = day_start(rng)
    rollout = start + t_r
    horizon = t_r + t_oom * 1.5 + 6 * HOUR
    level = rng.uniform(0.30, 0.50)
    kind = noise_kind(rng)
    old_hash, new_hash = template_hash(rng), template_hash(rng)
    n_old = 3
    pods: list[Pod] = []
    texts = []
    tau_w = rng.uniform(3.0, 10.0) * MINUTE

    def flat(lvl: float) -> Model:
        saw = sawtooth(rng, horizon, rng.uniform(0.02, 0.06) * limit, 5 * MINUTE, 30 * MINUTE)

        def m(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            return lvl * (1 - 0.5 * np.exp(-age / tau_w)) * limit + saw(age)

        return m

    def linear_leak(lvl: float, rate: float) -> Model:
        base = flat(lvl)

        def m(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            return base(age, t) + rate * age * limit

        return m

    if variant % 3 == 0:  # rolling update: every pod replaced by a leaking one
        n = int(rng.integers(2, 4))
        rate = (1 - level - 0.03) / t_oom
        new_start = rollout
        onset = rollout
        for _ in range(n):
            lvl = level + rng.uniform(-0.03, 0.03)
            p, _ = simulate_pod(
                rng,
                pod_name(rng, "cart", old_hash),
                start + rng.uniform(0, 60),
                new_start + rng.uniform(1, 3) * MINUTE,
                step,
                limit,
                flat(lvl),
                False,
                kind,
                gaps(rng),
            )
            pods.append(p)
            q, nt = simulate_pod(
                rng,
                pod_name(rng, "cart", new_hash),
                new_start,
                start + horizon,
                step,
                limit,
                linear_leak(lvl, rate * rng.uniform(0.95, 1.05)),
                True,
                kind,
                gaps(rng),
            )
            pods.append(q)
            texts.append(nt)
            new_start += rng.uniform(2.0, 6.0) * MINUTE
        how = f"a rolling update replaces {n} pods with a version leaking {rate * HOUR:.1%} of the limit per hour"
    elif variant % 3 == 1:  # in place: a feature flag turns on a stepwise leak in the running containers
        n = 2
        mean_gap = rng.uniform(10.0, 40.0) * MINUTE
        rate = (1 - level - 0.03) / t_oom
        onset = rollout
        for _ in range(n):
            lvl = level + rng.uniform(-0.03, 0.03)
            bursts = burst_counter(
                rng, rollout, start + horizon, mean_gap, rate * mean_gap * rng.uniform(0.95, 1.05), 1.5
            )
            base = flat(lvl)

            def m(age: np.ndarray, t: np.ndarray, base: Model = base, bursts=bursts) -> np.ndarray:
                since = np.maximum(t - age, rollout)
                return base(age, t) + (bursts(t) - bursts(since)) * limit

            p, nt = simulate_pod(
                rng,
                pod_name(rng, "cart", old_hash),
                start + rng.uniform(0, 60),
                start + horizon,
                step,
                limit,
                m,
                True,
                kind,
                gaps(rng),
            )
            pods.append(p)
            texts.append(nt)
        how = (
            f"a feature flag turns on a stepwise leak (bursts every ~{mean_gap / MINUTE:.0f} min, "
            f"{rate * HOUR:.1%} of the limit per hour) in both running containers"
        )
    else:  # canary: one new pod next to the old ones
        rate = (1 - level - 0.03) / t_oom
        for _ in range(n_old):
            p, _ = simulate_pod(
                rng,
                pod_name(rng, "cart", old_hash),
                start + rng.uniform(0, 60),
                start + horizon,
                step,
                limit,
                flat(level + rng.uniform(-0.03, 0.03)),
                False,
                kind,
                gaps(rng),
            )
            pods.append(p)
        q, nt = simulate_pod(
            rng,
            pod_name(rng, "cart", new_hash),
            rollout,
            start + horizon,
            step,
            limit,
            linear_leak(level, rate),
            True,
            kind,
            gaps(rng),
        )
        pods.append(q)
        texts.append(nt)
        onset = rollout
        how = f"a canary of the new version next to {n_old} old pods leaks {rate * HOUR:.1%} of the limit per hour"
    oom = first_oom(pods)
    end = leak_end(rng, oom, before=False)
    desc = (
        f"flat at {level:.0%} of the limit for {t_r / HOUR:.1f} h, then {how}: "
        f"OOM {(oom - onset) / HOUR:.1f} h after; {texts[0]}"
    )
    return Trace("rollout_regression", "leak", step, limit, desc, pods, onset=onset, end=end)


def daily_cycle_leak(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60))
    base = rng.uniform(0.20, 0.32)
    amp = rng.uniform(0.10, 0.20)
    t_oom = rng.uniform(36.0, 80.0) * HOUR
    rate = (1 - base - amp) / t_oom
    horizon = t_oom * 1.5 + 12 * HOUR
    start = day_start(rng)
    midnight = math.floor((start - T0) / DAY) * DAY + T0
    days = int(horizon / DAY) + 3
    tau_w = rng.uniform(3.0, 15.0) * MINUTE
    saw = sawtooth(rng, horizon, rng.uniform(0.01, 0.03) * limit, 2 * MINUTE, 12 * MINUTE)
    if variant % 3 == 1:
        peak = rng.uniform(13.0, 17.0)

        def cycle(t: np.ndarray, since: np.ndarray) -> np.ndarray:
            return amp * 0.5 * (1 + np.cos(2 * np.pi * ((t - T0) / HOUR - peak) / 24.0))

        shape = f"a smooth daily cycle of {amp:.0%} peaking at {peak:.0f}:00"
    else:
        plan = draw_days(rng, midnight - DAY, days + 1, amp, (3.0, 7.0), ramp_start_hours=(6.0, 9.0))
        phase = rng.uniform(0, 2 * np.pi)

        def cycle(t: np.ndarray, since: np.ndarray) -> np.ndarray:
            return daily_state(plan, t, since, 0.05, phase)

        shape = f"a daily cycle of {amp:.0%} (morning ramp, held, released around midnight)"

    def model(age: np.ndarray, t: np.ndarray) -> np.ndarray:
        return (base * (1 - 0.5 * np.exp(-age / tau_w)) + cycle(t, t - age) + rate * age) * limit + saw(age)

    pod, ntext = simulate_pod(
        rng, pod_name(rng, "feed"), start, start + horizon, step, limit, model, True, noise_kind(rng), gaps(rng)
    )
    oom = first_oom([pod])
    end = leak_end(rng, oom, before=variant % 3 == 2, hours_before=(1.0, 6.0))
    desc = (
        f"{shape} on {base:.0%} of the limit plus a linear leak of {rate * HOUR:.2%} of it per hour: "
        f"OOM {(oom - start) / HOUR:.0f} h in{' (after the end of the data)' if end < oom else ''}; {ntext}"
    )
    return Trace("daily_cycle_leak", "leak", step, limit, desc, [pod], onset=start, end=end)


def one_replica_leak(rng: np.random.Generator, variant: int) -> Trace:
    limit = draw_limit(rng)
    step = draw_step(rng, (30, 60)) if variant % 3 == 2 else draw_step(rng, (15, 30, 60))
    n = int(rng.integers(3, 6))
    who = int(rng.integers(0, n))
    level = rng.uniform(0.30, 0.50)
    start = day_start(rng)
    tmpl = template_hash(rng)
    kind = noise_kind(rng)
    tau_w = rng.uniform(3.0, 10.0) * MINUTE
    phase = 0.0
    if variant % 3 == 0:
        t_oom = rng.uniform(12.0, 36.0) * HOUR
        onset = start
        horizon = t_oom * 1.5 + 6 * HOUR
        rate = (1 - level - 0.04) / t_oom
        how = f"replica {who} leaks {rate * HOUR:.1%} of the limit per hour from its start"

        def leak(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            return rate * age

        amp = 0.0
    elif variant % 3 == 1:
        t_lead = rng.uniform(3.0, 10.0) * HOUR
        t_oom = rng.uniform(10.0, 30.0) * HOUR
        onset = start + t_lead
        horizon = t_lead + t_oom * 1.5 + 6 * HOUR
        rate = (1 - level - 0.04) / t_oom
        mean_gap = rng.uniform(5.0, 15.0) * MINUTE
        bursts = burst_counter(rng, onset, start + horizon, mean_gap, rate * mean_gap, 3.0)
        how = (
            f"replica {who} becomes leader after {t_lead / HOUR:.1f} h and its job leaks ~{rate * HOUR:.1%} "
            f"of the limit per hour in steps every ~{mean_gap / MINUTE:.0f} min"
        )

        def leak(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            since = np.maximum(t - age, onset)
            return bursts(t) - bursts(since)

        amp = 0.0
    else:
        t_oom = rng.uniform(40.0, 70.0) * HOUR
        onset = start
        horizon = t_oom * 1.5 + 6 * HOUR
        amp = rng.uniform(0.08, 0.15)
        phase = rng.uniform(0, 2 * np.pi)
        rate = (1 - level - amp - 0.02) / t_oom
        how = (
            f"all replicas follow traffic ({amp:.0%} daily swing); replica {who} leaks with it, "
            f"{rate * HOUR:.2%} of the limit per hour on average"
        )

        def leak(age: np.ndarray, t: np.ndarray) -> np.ndarray:
            # integral of rate * (1 + sin(w t + phase)) over the container's life
            w = 2 * np.pi / DAY
            a, b = (t - age - T0), (t - T0)
            return rate * (age - (np.cos(w * b + phase) - np.cos(w * a + phase)) / w)

    pods: list[Pod] = []
    for i in range(n):
        lvl = level + rng.uniform(-0.04, 0.04)
        saw = sawtooth(rng, horizon, rng.uniform(0.02, 0.05) * limit, 3 * MINUTE, 20 * MINUTE)
        ph = rng.uniform(-0.2, 0.2)

        def m(
            age: np.ndarray, t: np.ndarray, lvl: float = lvl, saw=saw, ph: float = ph, leaks: bool = i == who
        ) -> np.ndarray:
            daily = amp * 0.5 * (1 + np.sin(2 * np.pi * (t - T0) / DAY + phase + ph)) if amp else 0.0
            out = (lvl * (1 - 0.5 * np.exp(-age / tau_w)) + daily) * limit + saw(age)
            return out + (leak(age, t) * limit if leaks else 0.0)

        name = pod_name(rng, "session", tmpl)
        container_start = start + rng.uniform(0, 90)
        if i == who and variant % 3 != 1:
            onset = container_start  # leaks from its own container start
        p, nt = simulate_pod(
            rng,
            name,
            container_start,
            start + horizon,
            step,
            limit,
            m,
            i == who,
            kind,
            gaps(rng),
        )
        pods.append(p)
    oom = first_oom(pods)
    end = leak_end(rng, oom, before=variant % 3 == 2, hours_before=(1.0, 6.0))
    desc = (
        f"{n} replicas at about {level:.0%} of the limit; {how}: OOM {(oom - onset) / HOUR:.1f} h after the onset"
        f"{' (after the end of the data)' if end < oom else ''}; {nt}"
    )
    return Trace("one_replica_leak", "leak", step, limit, desc, pods, onset=onset, end=end)


PATTERNS: tuple[tuple[str, Callable[[np.random.Generator, int], Trace], int], ...] = (
    ("jvm_heap_cap", jvm_heap_cap, 4),
    ("fragmentation_slow", fragmentation_slow, 3),
    ("heap_to_target", heap_to_target, 2),
    ("page_cache", page_cache, 3),
    ("daily_traffic", daily_traffic, 3),
    ("go_gomemlimit", go_gomemlimit, 2),
    ("python_arenas", python_arenas, 2),
    ("scrape_gaps_flat", scrape_gaps_flat, 2),
    ("lucky_walk", lucky_walk, 2),
    ("fast_oom_cycle", fast_oom_cycle, 3),
    ("jvm_warmup_native_leak", jvm_warmup_native_leak, 3),
    ("accelerating_leak", accelerating_leak, 3),
    ("slow_leak_days", slow_leak_days, 2),
    ("rollout_regression", rollout_regression, 3),
    ("daily_cycle_leak", daily_cycle_leak, 3),
    ("one_replica_leak", one_replica_leak, 3),
)


# ---------------------------------------------------------------------------------------------
# output


def trace_seed(seed: int, pattern_index: int, variant: int) -> int:
    return seed * 100_000 + 7_000 + pattern_index * 100 + variant


def build(seed: int, pattern_index: int, variant: int) -> dict[str, object]:
    name, fn, _ = PATTERNS[pattern_index]
    s = trace_seed(seed, pattern_index, variant)
    trace = fn(np.random.default_rng(s), variant)
    assert trace.pattern == name
    oom, pods = trace.finish()
    check(trace, oom, pods)
    return {
        "format": FORMAT,
        "name": f"{name}-{variant:02d}",
        "pattern": name,
        "label": trace.label,
        "description": trace.description,
        "seed": s,
        "step_seconds": trace.step,
        "limit_bytes": trace.limit,
        "onset_time": None if trace.onset is None else math.floor(trace.onset),
        "oom_time": oom,
        "leaking_pods": [p.name for p in pods if p.leaking] if trace.label == "leak" else [],
        "pods": [{"name": p.name, "t": p.t.tolist(), "bytes": p.v.tolist()} for p in pods],
    }


def check(trace: Trace, oom: int | None, pods: list[Pod]) -> None:
    for p in pods:
        assert len(p.t) > 10, p.name
        assert np.all(np.diff(p.t) > 0), p.name
        assert np.all(np.diff(p.t) % trace.step == 0), p.name
        assert p.v.max() <= trace.limit and p.v.min() > 0, p.name
        if not p.leaking:
            assert p.v.max() < trace.limit, p.name
        for at in np.nonzero(p.v == trace.limit)[0]:
            assert at + 1 == len(p.v) or p.v[at + 1] < 0.7 * trace.limit, f"{p.name}: no restart after an OOM"
    if trace.label == "leak":
        assert oom is not None and trace.onset is not None and trace.onset < oom
        assert any(p.leaking for p in pods)
    else:
        assert oom is None and trace.onset is None


def write(doc: dict[str, object], out: Path) -> Path:
    path = out / f"{doc['name']}.json.gz"
    data = json.dumps(doc, separators=(",", ":")).encode()
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return path


def generate(seed: int, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json.gz"):
        old.unlink()
    paths = []
    for index, (_, _, variants) in enumerate(PATTERNS):
        for variant in range(variants):
            paths.append(write(build(seed, index, variant), out))
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    paths = generate(args.seed, args.out)
    size = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} traces ({size / 1e6:.2f} MB) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
