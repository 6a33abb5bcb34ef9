#!/usr/bin/env python3
"""Write the third held-out corpus: synthetic container-memory traces in production shapes.

Written from the trace format (tests/corpus/README.md, format 1) and production shapes only, without
reading the detector, its tests or the other corpora's generators. Every trace is drawn from its own
numpy seed, so one seed always gives the same bytes; `--seed N` draws the same shapes with new
parameters.

    python tests/corpus_holdout/generate.py                           # rewrite traces/ (seed 1)
    python tests/corpus_holdout/generate.py --seed 7 --out /tmp/h7     # a fresh draw
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
from scipy.signal import lfilter
from scipy.special import expit

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
HOUR = 3600.0
DAY = 86400.0
EPOCH = 1_735_689_600  # 2025-01-01T00:00:00Z
SAFE = "bcdfghjklmnpqrstvwxz2456789"  # the alphabet Kubernetes uses for generated names
LIMITS_MIB = (256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192, 12288, 16384)
TIMEZONES = (-8.0, -7.0, -6.0, -5.0, -4.0, -3.0, 0.0, 1.0, 2.0, 3.0, 5.5, 8.0, 9.0)
NOISE_KINDS = ("contaminated", "bursts", "pink", "regime", "skewed")
SAMPLE_BUDGET = 15_000  # samples per trace, so the corpus stays small
OOM_HORIZON = 8 * DAY  # leaks that end before their OOM are simulated this far past the data's end

Model = Callable[[np.ndarray, float], np.ndarray]  # (absolute times, container start) -> bytes


# ----------------------------------------------------------------------------------------------
# small building blocks


def u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


def warm(r: np.ndarray, tau: float) -> np.ndarray:
    """1 - exp(-r/tau) for r >= 0, else 0."""
    return -np.expm1(-np.maximum(r, 0.0) / tau)


def smoothmin1(x: np.ndarray, k: float) -> np.ndarray:
    """min(x, 1) with a rounded knee of width ~k."""
    return x - k * np.logaddexp(0.0, (x - 1.0) / k)


def mib(x: float) -> str:
    return f"{x / GiB:.1f} GiB" if x >= GiB else f"{x / MiB:.0f} MiB"


def pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def ar1(rng: np.random.Generator, n: int, res: float, tau: float, sd: float) -> np.ndarray:
    """An AR(1) (discretised Ornstein-Uhlenbeck) path with stationary start."""
    a = math.exp(-res / tau)
    x = rng.normal(0.0, sd * math.sqrt(1 - a * a), n)
    y0 = rng.normal(0.0, sd)
    y, _ = lfilter([1.0], [1.0, -a], x, zi=[a * y0])
    return np.asarray(y)


class Field:
    """A random function of absolute time, drawn once on a grid, so models stay deterministic."""

    def __init__(self, lo: float, res: float, values: np.ndarray, smooth: bool = True):
        self.lo, self.res, self.values, self.smooth = lo, res, values, smooth
        self.grid = lo + res * np.arange(len(values))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        if self.smooth:
            return np.interp(t, self.grid, self.values)
        idx = np.clip(((t - self.lo) // self.res).astype(np.int64), 0, len(self.values) - 1)
        return self.values[idx]


def ou_field(rng: np.random.Generator, lo: float, hi: float, tau: float, sd: float, res: float = 60.0) -> Field:
    n = int((hi - lo) / res) + 2
    return Field(lo, res, ar1(rng, n, res, tau, sd))


def white_field(rng: np.random.Generator, lo: float, hi: float, res: float) -> Field:
    n = int((hi - lo) / res) + 2
    return Field(lo, res, rng.random(n), smooth=False)


@dataclass
class Traffic:
    """Requests per second relative to the daily peak, in the service's local time."""

    tz: float
    night: float
    morning: float  # local hour of the middle of the morning ramp
    morning_w: float  # logistic width (h): the ramp takes ~5.9 widths
    evening: float
    evening_w: float
    lunch: float
    weekend: float

    @classmethod
    def draw(cls, rng: np.random.Generator, tz: float | None = None, ramp_hours: tuple[float, float] = (3.0, 6.0)):
        return cls(
            tz=float(rng.choice(TIMEZONES)) if tz is None else tz,
            night=u(rng, 0.12, 0.35),
            morning=u(rng, 8.0, 10.5),
            morning_w=u(rng, *ramp_hours) / 5.9,
            evening=u(rng, 18.5, 21.5),
            evening_w=u(rng, 0.6, 1.2),
            lunch=u(rng, 0.0, 0.12),
            weekend=u(rng, 0.55, 0.9),
        )

    def __call__(self, t: np.ndarray) -> np.ndarray:
        hl = np.asarray(t, dtype=float) / HOUR + self.tz
        h = np.mod(hl, 24.0)
        weekday = np.mod(np.floor(hl / 24.0) + 3.0, 7.0)  # 1970-01-01 was a Thursday; 0 = Monday
        day = expit((h - self.morning) / self.morning_w) - expit((h - self.evening) / self.evening_w)
        day = np.clip(day, 0.0, 1.0) + self.lunch * np.exp(-(((h - 12.8) / 1.3) ** 2))
        factor = np.where(weekday >= 5, self.weekend, 1.0)
        return (self.night + (1.0 - self.night) * day * factor) / (1.0 + self.lunch)

    def local_midnights(self, lo: float, hi: float) -> np.ndarray:
        first = math.floor((lo / HOUR + self.tz) / 24.0) * 24.0 - self.tz
        return np.arange(first * HOUR, hi + DAY, DAY)


class Cumulative:
    """The integral of a rate function of time (e.g. traffic-hours), interpolated."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, res: float = 60.0):
        self.grid = np.arange(lo, hi + 2 * res, res)
        self.values = np.concatenate([[0.0], np.cumsum(fn(self.grid[:-1]) * res / HOUR)])

    def __call__(self, t: np.ndarray | float) -> np.ndarray:
        return np.interp(t, self.grid, self.values)


def cycle_phase(rng: np.random.Generator, lo: float, hi: float, mean: float, cv: float) -> Callable:
    """Phase (0..1) within irregular cycles (GC periods, eviction rounds) of mean length `mean`."""
    n = int((hi - lo) / mean * 1.3) + 16
    shape = 1.0 / (cv * cv)
    bounds = lo - rng.uniform(0.0, mean) + np.concatenate([[0.0], np.cumsum(rng.gamma(shape, mean / shape, n))])
    while bounds[-1] < hi:
        bounds = np.concatenate([bounds, bounds[-1] + np.cumsum(rng.gamma(shape, mean / shape, n))])

    def phase(t: np.ndarray) -> np.ndarray:
        k = np.clip(np.searchsorted(bounds, t, side="right") - 1, 0, len(bounds) - 2)
        return (t - bounds[k]) / (bounds[k + 1] - bounds[k])

    return phase


def step_sum(r: np.ndarray, at: np.ndarray, sizes: np.ndarray, tau: float) -> np.ndarray:
    """Steps of `sizes` at times `at` (relative), each reached exponentially with time constant tau."""
    if len(at) == 0:
        return np.zeros_like(r)
    out = np.zeros_like(r)
    for a, s in zip(at, sizes, strict=True):
        out += s * warm(r - a, tau)
    return out


def hwm(fn: Callable[[np.ndarray, float], np.ndarray], res: float = 20.0) -> Model:
    """The running maximum since the container start of a demand function (memory never returned)."""

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        g = np.arange(t0, float(np.max(t)) + 2 * res, res)
        return np.interp(t, g, np.maximum.accumulate(fn(g, t0)))

    return model


# ----------------------------------------------------------------------------------------------
# trace specification and the machinery shared by all patterns


@dataclass
class Pod:
    name: str
    start: float  # container start (unix seconds)
    end: float  # pod deleted (or the data's end)
    model: Model
    leaks: bool = False


@dataclass
class Spec:
    label: str
    description: str
    step: int
    limit: int
    start: float
    end: float  # the data's end
    pods: list[Pod]
    onset: float | None = None
    noise: str | None = None  # None: drawn
    noise_scale: float = 1.0
    outages: int | None = None  # None: drawn (about a third of the traces get 1-3)
    outage_minutes: tuple[float, float] = (5.0, 40.0)
    end_before: float | None = None  # the data stops this long (s) before the first OOM


class Names:
    def __init__(self, rng: np.random.Generator, app: str):
        self.rng, self.app = rng, app

    def hash(self) -> str:
        return "".join(self.rng.choice(list(SAFE), size=int(self.rng.integers(9, 11))))

    def pods(self, template: str, n: int) -> list[str]:
        return [f"{self.app}-{template}-{''.join(self.rng.choice(list(SAFE), size=5))}" for _ in range(n)]


def draw_limit(rng: np.random.Generator, lo_mib: int, hi_mib: int) -> int:
    options = [m for m in LIMITS_MIB if lo_mib <= m <= hi_mib]
    return int(rng.choice(options)) * MiB


def draw_step(rng: np.random.Generator, hours: float, pods: float) -> int:
    step = int(rng.choice([15, 30, 60], p=[0.3, 0.35, 0.35]))
    while step < 60 and hours * HOUR / step * pods > SAMPLE_BUDGET:
        step *= 2
    return step


def draw_start(rng: np.random.Generator, tz: float | None = None, local_hour: float | None = None) -> float:
    day = EPOCH + int(rng.integers(0, 330)) * DAY
    if local_hour is None:
        return day + int(rng.integers(0, int(DAY)))
    return day + round((local_hour - (tz or 0.0)) * HOUR)


def make_noise(
    rng: np.random.Generator, kind: str, n: int, step: int, limit: int, scale: float
) -> tuple[np.ndarray, np.ndarray, str]:
    """Scrape-to-scrape noise: (additive bytes, multiplicative fraction, words)."""
    s = limit * scale
    mult = np.zeros(n)
    if kind == "contaminated":
        sd, p, wide = u(rng, 0.0008, 0.0025), u(rng, 0.01, 0.04), u(rng, 4.0, 8.0)
        x = rng.normal(0.0, sd * s, n)
        x[rng.random(n) < p] *= wide
        return x, mult, f"contaminated Gaussian: sd {pct(sd * scale)} of the limit, {pct(p)} of scrapes x{wide:.1f}"
    if kind == "bursts":
        rate, size, tau = u(rng, 0.5, 3.0), u(rng, 0.004, 0.015), u(rng, 60.0, 300.0)
        k = rng.poisson(rate * step / HOUR, n).astype(float)
        impulses = k * rng.lognormal(math.log(size * s), 0.7, n)
        x = lfilter([1.0], [1.0, -math.exp(-step / tau)], impulses) + rng.normal(0.0, 0.0006 * s, n)
        return (
            np.asarray(x),
            mult,
            f"allocation bursts {rate:.1f}/h of ~{pct(size * scale)} of the limit decaying over {tau / 60:.1f} min",
        )
    if kind == "pink":
        f = u(rng, 0.6, 1.4)
        x = (
            ar1(rng, n, step, 300.0, 0.0012 * f * s)
            + ar1(rng, n, step, HOUR, 0.0025 * f * s)
            + ar1(rng, n, step, 6 * HOUR, 0.004 * f * s)
            + rng.normal(0.0, 0.0004 * s, n)
        )
        return x, mult, f"1/f-like wander (AR(1) at 5 min, 1 h, 6 h; x{f * scale:.2f})"
    if kind == "regime":
        quiet, busy = u(rng, 90.0, 240.0) * 60, u(rng, 20.0, 60.0) * 60
        sd_q, sd_b, offset = u(rng, 0.0003, 0.0008), u(rng, 0.003, 0.005), u(rng, 0.005, 0.015)
        state = np.zeros(n)
        i, on = int(rng.integers(0, max(1, int(quiet / step)))), True
        while i < n:
            d = max(1, int(rng.exponential(busy if on else quiet) / step))
            if on:
                state[i : i + d] = 1.0
            i, on = i + d, not on
        a = math.exp(-step / 180.0)
        level = lfilter([1 - a], [1.0, -a], state * offset * s)
        x = np.asarray(level) + rng.normal(0.0, 1.0, n) * np.where(state > 0, sd_b, sd_q) * s
        return x, mult, f"quiet/busy regimes ({quiet / 60:.0f}/{busy / 60:.0f} min, busy +{pct(offset * scale)})"
    if kind == "skewed":
        c = u(rng, 0.002, 0.006) * scale
        mult = c * (rng.gumbel(0.0, 1.0, n) - 0.5772)
        return rng.normal(0.0, 0.0003 * s, n), mult, f"right-skewed (Gumbel) noise of {pct(c)} of the level"
    raise ValueError(kind)


def loss_mask(rng: np.random.Generator, n: int, step: int) -> tuple[np.ndarray, str]:
    """Gilbert-Elliott scrape loss: lone misses, and now and then a bad spell of a few scrapes."""
    lone, per_day, spell, inside = u(rng, 0.0005, 0.005), u(rng, 0.5, 4.0), u(rng, 3.0, 10.0), u(rng, 0.7, 0.9)
    lost = rng.random(n) < lone
    for _ in range(int(rng.poisson(per_day * n * step / DAY))):
        s, length = int(rng.integers(0, n)), int(rng.geometric(1.0 / spell))
        seg = lost[s : s + length]
        seg |= rng.random(len(seg)) < inside
    return lost, f"{pct(lone)} lone misses, {per_day:.1f} bad spells/day (~{spell:.0f} scrapes, {pct(inside)} lost)"


def soft_cap(v: np.ndarray, limit: int) -> np.ndarray:
    """Keep a non-leak's rare extremes under 97.8% of the limit without a flat top."""
    a, c = 0.955 * limit, 0.978 * limit
    return np.where(v > a, a + (c - a) * np.tanh((v - a) / (c - a)), v)


@dataclass
class Built:
    name: str
    t: list[int]
    v: list[int]
    kills: list[int] = field(default_factory=list)


def simulate(spec: Spec, rng: np.random.Generator) -> tuple[list[Built], int | None, str]:
    raw = bool(rng.random() < 0.5)  # raw samples (per-target scrape offset) or a step-aligned export
    gran = 64 * KiB if rng.random() < 0.2 else 4 * KiB  # arm64 nodes with 64 KiB pages
    kind = spec.noise or str(rng.choice(NOISE_KINDS))
    n_out = spec.outages if spec.outages is not None else (int(rng.integers(1, 4)) if rng.random() < 0.33 else 0)
    outages = []
    for _ in range(n_out):
        at = u(rng, spec.start + 0.05 * (spec.end - spec.start), spec.end - 0.05 * (spec.end - spec.start))
        outages.append((at, at + 60 * u(rng, *spec.outage_minutes)))
    words = ""
    sims = []
    first_kill: int | None = None
    for pod in spec.pods:
        offset = int(rng.integers(0, spec.step)) if raw else 0
        extend = pod.leaks and spec.label == "leak" and pod.end >= spec.end
        sim_end = spec.end + OOM_HORIZON if extend else min(pod.end, spec.end)
        k0 = math.floor((pod.start - offset) / spec.step) + 1
        times = (offset + spec.step * np.arange(k0, math.ceil((sim_end - offset) / spec.step))).astype(np.int64)
        if raw:  # a scrape now and then lands a second early or late
            jitter = rng.integers(-1, 2, len(times)) * (rng.random(len(times)) < 0.05)
            times = times + jitter
            times = times[times > pod.start]
        n = len(times)
        add, mult, noise_words = make_noise(rng, kind, n, spec.step, spec.limit, spec.noise_scale)
        lost, loss_words = loss_mask(rng, n, spec.step)
        words = words or f"noise: {noise_words}; loss: {loss_words} (first pod)"
        tf = times.astype(float)
        vals = np.zeros(n)
        kill = np.zeros(n, dtype=bool)
        keep = np.ones(n, dtype=bool)
        n_data = int(np.searchsorted(tf, min(pod.end, spec.end), side="left"))
        i, run_start = 0, float(pod.start)
        while i < n:
            if i >= n_data and (kill.any() or not extend):
                break
            hi = n_data if i < n_data else n
            v = pod.model(tf[i:hi], run_start) * (1.0 + mult[i:hi]) + add[i:hi]
            over = np.nonzero(v >= spec.limit)[0] if pod.leaks else np.array([], dtype=int)
            if len(over) == 0:
                vals[i:hi] = v
                i = hi
                continue
            j = i + int(over[0])
            vals[i:j] = v[: j - i]
            vals[j] = spec.limit
            kill[j] = True
            run_start = tf[j] + u(rng, 3.0, 40.0)  # the kubelet starts the container again
            k = j + 1 + int(rng.integers(0, 2))
            while k < n and tf[k] <= run_start:
                k += 1
            keep[j + 1 : k] = False
            i = k
        if not pod.leaks:
            vals = soft_cap(vals, spec.limit)
        vals = np.maximum(vals, 0.004 * spec.limit)
        vals = np.where(kill, spec.limit, np.floor(vals / gran) * gran)
        keep &= ~lost | kill
        for a, b in outages:
            keep &= ~((tf >= a) & (tf < b)) | kill
        keep[0] = True
        kills = times[kill].tolist()
        if pod.leaks and kills:
            first_kill = kills[0] if first_kill is None else min(first_kill, kills[0])
        sims.append((pod, times, vals, keep, kills))
    end = spec.end
    if spec.end_before is not None and first_kill is not None:
        end = min(end, first_kill - spec.end_before)
    built: list[Built] = []
    for pod, times, vals, keep, kills in sims:
        keep &= times < min(pod.end, end)
        built.append(Built(pod.name, times[keep].tolist(), vals[keep].astype(np.int64).tolist(), kills))
    if outages:
        spans = ", ".join(f"{(b - a) / 60:.0f} min" for a, b in outages)
        words += f"; {len(outages)} scrape outage(s): {spans}"
    words += "; raw scrape timestamps" if raw else "; step-aligned export"
    if gran > 4 * KiB:
        words += "; 64 KiB pages"
    return built, first_kill, words


def write_trace(
    out: Path, pattern: str, variant: int, seed: int, spec: Spec, rng: np.random.Generator
) -> tuple[str, int]:
    built, oom, words = simulate(spec, rng)
    name = f"{pattern}-{variant:02d}"
    if spec.label == "leak":
        if oom is None:
            raise RuntimeError(f"{name}: the leak never reached its limit")
        leaking = [b.name for b, p in zip(built, spec.pods, strict=True) if p.leaks]
    else:
        leaking = []
        if any(b.kills for b in built):
            raise RuntimeError(f"{name}: a non-leak was killed")
    last = max((b.t[-1] for b in built if b.t), default=0)
    description = f"{spec.description}; step {spec.step} s, limit {mib(spec.limit)}; {words}"
    if oom is not None and oom > last and spec.end_before is None:
        description += "; the data ends before the first OOM"
    doc = {
        "format": 1,
        "name": name,
        "pattern": pattern,
        "label": spec.label,
        "description": description,
        "seed": seed,
        "step_seconds": spec.step,
        "limit_bytes": spec.limit,
        "onset_time": None if spec.onset is None else round(spec.onset),
        "oom_time": oom if spec.label == "leak" else None,
        "leaking_pods": leaking,
        "pods": [{"name": b.name, "t": b.t, "bytes": b.v} for b in built if b.t],
    }
    data = json.dumps(doc, separators=(",", ":")).encode()
    path = out / f"{name}.json.gz"
    path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    return name, path.stat().st_size


# ----------------------------------------------------------------------------------------------
# runtimes


def jvm_nonheap(rng: np.random.Generator, limit: int) -> tuple[Model, str, float]:
    """JVM memory outside the heap: boot, metaspace (class loading), JIT code cache (slow, capped)."""
    boot, meta, tm = u(rng, 0.04, 0.07) * limit, u(rng, 0.025, 0.06) * limit, u(rng, 180.0, 1200.0)
    code, tc = u(rng, 0.012, 0.035) * limit, u(rng, 600.0, 2400.0)
    norm = math.log1p(48 * HOUR / tc)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        return boot + meta * warm(r, tm) + np.minimum(code, code * np.log1p(np.maximum(r, 0) / tc) / norm)

    total = (boot + meta + code) / limit
    return model, f"non-heap {pct(total)} (metaspace over {tm / 60:.0f} min, code cache over hours)", total


def shrink_dips(rng: np.random.Generator, count: int, lo: float, hi: float, depth: tuple[float, float]) -> Model:
    """Heap shrinks (uncommit after a marking cycle or a full GC) that regrow over tens of minutes."""
    dips = [(u(rng, lo, hi), u(rng, *depth), u(rng, 300.0, 1800.0), u(rng, 900.0, 4800.0)) for _ in range(count)]

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        out = np.zeros_like(r)
        for at, d, hold, tau in dips:
            out += d * expit((r - at) / 40.0) * np.exp(-np.maximum(r - at - hold, 0.0) / tau)
        return out

    return model


def jvm_g1_steps(rng: np.random.Generator, limit: int, heap: float) -> tuple[Model, str]:
    """G1 from -Xms (1/64 of the limit) expanding in uneven steps to the max heap, touched over minutes."""
    xms = limit / 64
    n, tcap, touch = int(rng.integers(6, 15)), u(rng, 1.5, 9.0) * HOUR, u(rng, 120.0, 720.0)
    at = np.sort(rng.beta(0.7, 1.6, n)) * tcap
    at[-1] = tcap
    sizes = rng.dirichlet(np.full(n, 1.5)) * (heap - xms)
    dips = shrink_dips(rng, int(rng.integers(0, 3)), tcap + HOUR, tcap + 30 * HOUR, (0.04 * heap, 0.09 * heap))

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        return xms + step_sum(r, at, sizes, touch) - dips(t, t0)

    return model, f"G1, {n} heap expansions over {tcap / HOUR:.1f} h (touched over {touch / 60:.0f} min)"


def jvm_g1_touch(rng: np.random.Generator, limit: int, heap: float, lo: float, hi: float) -> tuple[Model, str]:
    """G1 with -Xms = -Xmx and no pre-touch: resident heap is the high-water of eden + old + humongous."""
    ihop, live = u(rng, 0.35, 0.55) * heap, u(rng, 0.12, 0.25) * heap
    tl, eden, te = u(rng, 0.5, 3.0) * HOUR, u(rng, 0.2, 0.4) * heap, u(rng, 1.0, 5.0) * HOUR
    period = u(rng, 20.0, 120.0) * 60
    phase = cycle_phase(rng, lo, hi + OOM_HORIZON, period, 0.35)
    rate = u(rng, 0.1, 0.6)
    hum_at = np.sort(rng.uniform(lo, hi + OOM_HORIZON, int(rng.poisson(rate * (hi + OOM_HORIZON - lo) / HOUR))))
    hum = rng.uniform(0.02, 0.06, len(hum_at)) * heap
    hum_len = rng.uniform(60.0, 600.0, len(hum_at))

    def demand(g: np.ndarray, t0: float) -> np.ndarray:
        r = g - t0
        lv = live * warm(r, tl)
        old = lv + phase(g) * np.maximum(ihop - lv, 0.0) * warm(r, tl)
        d = old + eden * warm(r, te)
        for a, s, ln in zip(hum_at, hum, hum_len, strict=True):
            d += np.where((g >= a) & (g < a + ln), s, 0.0)
        return np.minimum(d, heap)

    model = hwm(demand)
    return model, f"G1 with Xms=Xmx, no pre-touch: IHOP {pct(ihop / heap)}, old cycles ~{period / 60:.0f} min"


def jvm_parallel(rng: np.random.Generator, limit: int, heap: float, lo: float, hi: float) -> tuple[Model, str]:
    """ParallelGC: young gen touched in minutes; old gen fills by promotion, expands at full GCs."""
    young, ty = heap / 3, u(rng, 120.0, 900.0)
    old_max = heap - young
    live_f, tl = u(rng, 0.2, 0.4) * old_max, u(rng, 0.5, 2.0) * HOUR
    cap0, factor = u(rng, 0.08, 0.2) * old_max, u(rng, 1.2, 1.7)
    full_period = u(rng, 40.0, 180.0) * 60
    promo = (old_max - live_f) / full_period
    dips = shrink_dips(rng, int(rng.integers(0, 5)), 2 * HOUR, 40 * HOUR, (0.01 * limit, 0.03 * limit))
    jitter = rng.uniform(0.7, 1.3, 4096)

    def old_used(g: np.ndarray, t0: float) -> np.ndarray:
        xs, ys = [0.0], [0.0]
        r_end = float(g[-1] - t0)
        cap, used, now, k = cap0, 0.0, 0.0, 0
        while now < r_end:
            dt = max((cap - used) / (promo * jitter[k % len(jitter)]), 30.0)
            now += dt
            xs.append(now)
            ys.append(cap)
            lv = live_f * float(warm(np.array([now]), tl)[0])
            used = lv
            xs.append(now + 1.0)
            ys.append(used)
            cap = min(old_max, max(cap * factor, lv * 1.3))
            k += 1
        return np.interp(g - t0, xs, ys)

    touched = hwm(old_used)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return young * warm(t - t0, ty) + touched(t, t0) - dips(t, t0)

    return model, f"ParallelGC, old gen grows by promotion (full GC every ~{full_period / 60:.0f} min at size)"


def jvm(rng: np.random.Generator, limit: int, kind: str, lo: float, hi: float) -> tuple[Model, str, float]:
    nonheap, nh_words, nh_total = jvm_nonheap(rng, limit)
    share = u(rng, 0.55, 0.72) if kind != "parallel" else u(rng, 0.5, 0.7)
    share = min(share, 0.9 - nh_total)
    heap = share * limit
    if kind == "g1":
        heap_model, words = jvm_g1_steps(rng, limit, heap)
    elif kind == "g1-touch":
        heap_model, words = jvm_g1_touch(rng, limit, heap, lo, hi)
    else:
        heap_model, words = jvm_parallel(rng, limit, heap, lo, hi)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return nonheap(t, t0) + heap_model(t, t0)

    return model, f"{words}; MaxRAMPercentage {100 * share:.0f}; {nh_words}", share + nh_total


# ----------------------------------------------------------------------------------------------
# no-leak patterns


def jvm_committed_heap(rng: np.random.Generator, variant: int) -> Spec:
    kind = ("g1", "g1-touch", "parallel")[variant % 3]
    hours = u(rng, 20.0, 72.0)
    limit = draw_limit(rng, 1024, 16384)
    step = draw_step(rng, hours, 1)
    start = draw_start(rng)
    model, words, _ = jvm(rng, limit, kind, start, start + hours * HOUR)
    name = Names(rng, str(rng.choice(["ledger", "pricing", "catalog-svc"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, start + hours * HOUR, model)
    return Spec(
        "no-leak",
        f"JVM committed heap up to its cap, then flat: {words}; {hours:.0f} h",
        step,
        limit,
        start,
        start + hours * HOUR,
        [pod],
    )


def malloc_fragmentation(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 40.0, 90.0)
    limit = draw_limit(rng, 512, 8192)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    cum = Cumulative(tr, start - HOUR, end + OOM_HORIZON)
    base, load, tb = u(rng, 0.25, 0.42) * limit, u(rng, 0.04, 0.1) * limit, u(rng, 300.0, 1800.0)
    if variant % 2 == 0:
        frag, t90, hill = u(rng, 0.15, 0.3) * limit, u(rng, 24.0, 48.0) * HOUR, u(rng, 1.2, 1.8)
        half = float(cum(start + t90) - cum(start)) / 9.0 ** (1 / hill)

        def extra(t: np.ndarray, t0: float) -> np.ndarray:
            x = ((cum(t) - cum(t0)) / half) ** hill
            return frag * x / (x + 1)

        words = (
            f"glibc fragmentation +{pct(frag / limit)} of the limit, Hill-type (n {hill:.1f}) in served traffic, "
            f"90% after ~{t90 / HOUR:.0f} h"
        )
    else:
        cores = int(rng.choice([2, 4, 8]))
        arenas = 8 * cores
        per_arena = u(rng, 0.08, 0.15) * limit / arenas
        conc = ou_field(rng, start - HOUR, end + OOM_HORIZON, 1200.0, 0.12)
        frag, a1, tau1, tau2 = u(rng, 0.06, 0.14) * limit, u(rng, 0.3, 0.6), u(rng, 1.5, 4.0), u(rng, 8.0, 16.0)

        def threads(g: np.ndarray, t0: float) -> np.ndarray:
            return arenas * (0.25 + 0.55 * tr(g) + conc(g))

        peak = hwm(threads, 30.0)

        def extra(t: np.ndarray, t0: float) -> np.ndarray:
            count = np.clip(np.floor(peak(t, t0)), 1, arenas)
            r = t - t0
            return per_arena * count + frag * (a1 * warm(r, tau1 * HOUR) + (1 - a1) * warm(r, tau2 * HOUR))

        words = (
            f"glibc per-thread arenas (up to {arenas}, {mib(per_arena)} each) added at record concurrency, "
            f"plus fragmentation +{pct(frag / limit)} (tau {tau1:.1f} h and {tau2:.0f} h)"
        )

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return base * (0.35 + 0.65 * warm(t - t0, tb)) + load * tr(t) + extra(t, t0)

    name = Names(rng, str(rng.choice(["imgproxy", "renderer", "geo-index"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    return Spec("no-leak", f"{words}; base {pct(base / limit)}; {hours:.0f} h", step, limit, start, end, [pod])


def heap_warm_target(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 18.0, 48.0)
    limit = draw_limit(rng, 512, 8192)
    step = draw_step(rng, hours, 1)
    start = draw_start(rng)
    end = start + hours * HOUR
    target, base = u(rng, 0.4, 0.65) * limit, u(rng, 0.08, 0.15) * limit
    t95 = u(rng, 6.0, 12.0) * HOUR
    gc_amp, gc_period = u(rng, 0.02, 0.05) * limit, u(rng, 2.0, 15.0) * 60
    phase = cycle_phase(rng, start, end, gc_period, 0.3)
    if variant % 2 == 0:
        tr = Traffic.draw(rng)
        cum = Cumulative(lambda x: 0.5 + 0.5 * tr(x), start - HOUR, end)
        u95 = float(cum(start + t95) - cum(start))
        mid = u95 * u(rng, 0.35, 0.55)
        w = (u95 - mid) / math.log(19.0)
        f0 = float(expit(-mid / w))

        def grow(t: np.ndarray, t0: float) -> np.ndarray:
            return (expit((cum(t) - cum(t0) - mid) / w) - f0) / (1 - f0)

        words = f"lazily loaded index: logistic in served requests to {pct(target / limit)}, 95% at ~{t95 / HOUR:.1f} h"
    else:
        knee = u(rng, 0.03, 0.08)

        def grow(t: np.ndarray, t0: float) -> np.ndarray:
            return np.maximum(smoothmin1((t - t0) / t95, knee), 0.0)

        words = f".NET server GC: gen2 grows ~linearly to {pct(target / limit)} in {t95 / HOUR:.1f} h, then holds"

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return base * (0.5 + 0.5 * warm(t - t0, 300.0)) + target * grow(t, t0) + gc_amp * phase(t)

    name = Names(rng, str(rng.choice(["search-api", "inventory", "quotes"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    words += f"; young-gen sawtooth {pct(gc_amp / limit)} every ~{gc_period / 60:.0f} min"
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod])


def page_cache_reclaim(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 24.0, 72.0)
    limit = draw_limit(rng, 512, 8192)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    anon, mark, over = u(rng, 0.15, 0.35) * limit, u(rng, 0.86, 0.93) * limit, u(rng, 0.002, 0.008) * limit
    fill = u(rng, 4.0, 16.0) * HOUR
    chunk_lo, chunk_hi = u(rng, 0.012, 0.025), u(rng, 0.03, 0.06)
    sim_seed = int(rng.integers(0, 2**32))
    res = 30.0
    if variant % 2 == 0:
        rotate_hour, every = u(rng, 0.0, 3.0), 0.0
        words = (
            f"log/file writer: page cache fills to the reclaim mark {pct(mark / limit)} in ~{fill / HOUR:.0f} h, "
            f"reclaimed in chunks of {pct(chunk_lo)}-{pct(chunk_hi)}; rotated logs deleted daily at {rotate_hour:.1f} h"
        )
    else:
        rotate_hour = -1.0
        every = u(rng, 1.5, 3.0) * HOUR
        words = (
            f"TSDB-like compactions every {every / HOUR:.1f} h write blocks into the page cache up to "
            f"{pct(mark / limit)}; reclaimed in chunks of {pct(chunk_lo)}-{pct(chunk_hi)}"
        )

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = np.random.default_rng(sim_seed)
        g = np.arange(t0, float(np.max(t)) + 2 * res, res)
        traffic = tr(g)
        rate = (mark - anon) / fill / float(np.mean(tr(np.arange(t0, t0 + DAY, 600.0))))
        cache = np.empty(len(g))
        c, next_compact, burst_left, burst = 0.0, t0 + u(r, 0.2, 1.0) * HOUR, 0.0, 0.0
        last_rotate_day = math.floor((t0 / HOUR + tr.tz) / 24)
        for i, now in enumerate(g):
            if variant % 2 == 0:
                c += rate * traffic[i] * res * r.uniform(0.6, 1.4)
                day = math.floor((now / HOUR + tr.tz) / 24)
                if day > last_rotate_day and np.mod(now / HOUR + tr.tz, 24) >= rotate_hour:
                    last_rotate_day = day
                    c -= min(c * r.uniform(0.1, 0.3), 0.08 * limit)
            else:
                c += 0.15 * rate * res
                if now >= next_compact:
                    burst_left, burst = r.uniform(300.0, 900.0), r.uniform(0.02, 0.05) * limit
                    next_compact = now + every * r.uniform(0.9, 1.1)
                if burst_left > 0:
                    c += burst * res / 900.0
                    burst_left -= res
            if anon + c > mark + over * r.random():
                c -= r.uniform(chunk_lo, chunk_hi) * limit
            c = max(c, 0.0)
            cache[i] = c
        return anon * (0.4 + 0.6 * warm(g - t0, 600.0)) + cache

    def at(t: np.ndarray, t0: float) -> np.ndarray:
        g = np.arange(t0, float(np.max(t)) + 2 * res, res)
        return np.interp(t, g, model(t, t0))

    name = Names(rng, str(rng.choice(["log-shipper", "tsdb", "exporter"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, at)
    words += f"; anon {pct(anon / limit)}"
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod], noise_scale=0.4)


def daily_state(
    rng: np.random.Generator, tr: Traffic, lo: float, hi: float, size: float, chunked: bool
) -> tuple[Model, str]:
    """Per-day state built with the day's traffic and released gradually around midnight."""
    cum = Cumulative(tr, lo - DAY, hi + DAY)
    mids = tr.local_midnights(lo - DAY, hi)
    days = []
    for m in mids[:-1]:
        s = size * u(rng, 0.85, 1.15)
        rel_at, window = m + DAY + u(rng, -0.5, 1.5) * HOUR, u(rng, 1.0, 4.0) * HOUR
        if chunked:
            k = int(rng.integers(6, 13))
            chunk_at = rel_at + np.sort(rng.uniform(0.0, window, k))
            chunk_len = rng.uniform(180.0, 600.0, k)
        else:
            chunk_at, chunk_len = np.array([]), np.array([])
        days.append((m, s, rel_at, window, chunk_at, chunk_len))

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        out = np.zeros_like(t)
        for m, s, rel_at, window, chunk_at, chunk_len in days:
            if m + DAY < t0 - DAY or m > float(np.max(t)):
                continue
            total = float(cum(m + DAY) - cum(m))
            frac = np.clip((cum(np.minimum(t, m + DAY)) - cum(max(m, t0))) / total, 0.0, 1.0)
            frac = np.where(t < max(m, t0), 0.0, frac)
            if len(chunk_at):
                rel = np.zeros_like(t)
                for a, ln in zip(chunk_at, chunk_len, strict=True):
                    rel += expit((t - a - ln / 2) / (ln / 6)) / len(chunk_at)
            else:
                x = np.clip((t - rel_at) / window, 0.0, 1.0)
                rel = x * x * (3 - 2 * x)
            out += s * frac * (1.0 - rel)
        return out

    how = "partitions evicted one by one" if chunked else "keys expiring with jittered TTLs"
    return model, f"per-day state (x0.85-1.15 a day) released around midnight over 1-4 h ({how})"


def night_start_traffic(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 60.0, 96.0)
    limit = draw_limit(rng, 512, 8192)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng, ramp_hours=(5.0, 9.0))
    local = u(rng, 21.0, 27.0) % 24
    start = draw_start(rng, tr.tz, local)
    end = start + hours * HOUR
    base, busy, tb = u(rng, 0.25, 0.42) * limit, u(rng, 0.1, 0.2) * limit, u(rng, 600.0, 1800.0)
    size = u(rng, 0.08, 0.2)
    state, state_words = daily_state(rng, tr, start, end + OOM_HORIZON, size * limit, variant % 2 == 0)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return base * (0.3 + 0.7 * warm(t - t0, tb)) + busy * tr(t) + state(t, t0)

    name = Names(rng, str(rng.choice(["checkout", "sessions", "feed-api"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    words = (
        f"started at {local:04.1f} h local (UTC{tr.tz:+.1f}); morning ramp of ~{5.9 * tr.morning_w:.1f} h "
        f"around {tr.morning:.1f} h; in-flight {pct(busy / limit)}; {pct(size)} of {state_words}; "
        f"base {pct(base / limit)}"
    )
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod])


def go_soft_limit(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 24.0, 72.0)
    limit = draw_limit(rng, 256, 8192)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    memlimit, other = u(rng, 0.8, 0.9) * limit, u(rng, 0.01, 0.03) * limit
    alias = white_field(rng, start - HOUR, end + OOM_HORIZON, 5.0)
    res = 30.0
    if variant % 2 == 0:
        gogc = int(rng.choice([50, 75, 100, 150, 200]))
        peak_goal = memlimit * u(rng, 1.1, 1.4)
        live_peak = min(peak_goal / (1 + gogc / 100), 0.7 * memlimit)
        share_c, tc = u(rng, 0.3, 0.6), u(rng, 0.5, 3.0) * HOUR
        down = u(rng, 600.0, 1800.0)

        def target(g: np.ndarray, t0: float) -> np.ndarray:
            live = live_peak * (0.15 + share_c * warm(g - t0, tc) + (0.85 - share_c) * tr(g))
            goal = live * (1 + gogc / 100) * 1.05
            return np.minimum(goal, memlimit * 0.985), live

        def model(t: np.ndarray, t0: float) -> np.ndarray:
            g = np.arange(t0, float(np.max(t)) + 2 * res, res)
            tgt, _ = target(g, t0)
            held = np.empty_like(tgt)  # the scavenger returns memory slowly; growth is immediate
            h, a = float(tgt[0]), math.exp(-res / down)
            for i, x in enumerate(tgt):
                h = x if x > h else a * h + (1 - a) * x
                held[i] = h
            rss = np.interp(t, g, held)
            _, live = target(t, t0)
            return other + rss - 0.05 * alias(t) * np.maximum(rss - live, 0.0)

        words = (
            f"Go, GOGC={gogc}, GOMEMLIMIT {pct(memlimit / limit)} of the limit; live heap peaks at "
            f"{pct(live_peak / limit)}, so the heap goal reaches the soft limit at busy hours"
        )
    else:
        fill = u(rng, 1.0, 5.0) * HOUR
        live = u(rng, 0.1, 0.25) * limit
        cum = Cumulative(tr, start - HOUR, end + OOM_HORIZON)
        rate = (memlimit - live) / float(cum(start + fill) - cum(start))

        def model(t: np.ndarray, t0: float) -> np.ndarray:
            heap = np.minimum(live * warm(t - t0, 300.0) + rate * (cum(t) - cum(t0)), memlimit * 0.98)
            full = heap >= memlimit * 0.98
            return other + heap - np.where(full, 0.02 * alias(t) * (memlimit - live), 0.0)

        words = (
            f"Go, GOGC=off with GOMEMLIMIT {pct(memlimit / limit)}: the heap grows with allocation for "
            f"~{fill / HOUR:.1f} h up to the soft limit, then GC holds it there"
        )
    name = Names(rng, str(rng.choice(["gateway", "ingest", "resolver"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod], noise_scale=0.6)


def python_arena_hwm(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 30.0, 72.0)
    limit = draw_limit(rng, 256, 4096)
    step = draw_step(rng, hours, 1)
    start = draw_start(rng)
    end = start + hours * HOUR
    base = u(rng, 0.1, 0.22) * limit
    if variant % 2 == 0:
        tr = Traffic.draw(rng)
        load, retain = u(rng, 0.25, 0.42) * limit, u(rng, 0.88, 0.98)
        wob = ou_field(rng, start - HOUR, end + OOM_HORIZON, 900.0, 0.08)
        rate = u(rng, 0.3, 1.5)
        b_at = np.sort(rng.uniform(start, end + OOM_HORIZON, int(rng.poisson(rate * (hours + 150)))))
        b_size = np.minimum(rng.pareto(2.2, len(b_at)) * 0.03 * limit, 0.08 * limit)
        b_len = rng.uniform(30.0, 300.0, len(b_at))

        def demand(g: np.ndarray, t0: float) -> np.ndarray:
            d = load * tr(g) * (1 + wob(g))
            for a, s, ln in zip(b_at, b_size, b_len, strict=True):
                d += np.where((g >= a) & (g < a + ln), s, 0.0)
            return d

        peak = hwm(demand)

        def model(t: np.ndarray, t0: float) -> np.ndarray:
            p = peak(t, t0)
            return base + p - (1 - retain) * (p - demand(t, t0))

        words = (
            f"asyncio service: pymalloc arenas grow to the highest demand seen (traffic {pct(load / limit)} "
            f"plus Pareto bursts {rate:.1f}/h) and {pct(retain)} is never returned"
        )
    else:
        rate, cap = u(rng, 5.0, 30.0), u(rng, 0.35, 0.6) * limit
        sigma = u(rng, 0.6, 1.0)
        t_at = np.sort(rng.uniform(start, end + OOM_HORIZON, int(rng.poisson(rate * (hours + 150)))))
        sizes = np.minimum(rng.lognormal(math.log(cap / 6), sigma, len(t_at)), cap)

        def model(t: np.ndarray, t0: float) -> np.ndarray:
            k = np.searchsorted(t_at, t, side="right")
            first = int(np.searchsorted(t_at, t0, side="right"))
            record = np.maximum.accumulate(np.concatenate([[0.0], sizes[first:]]))
            return base + record[np.clip(k - first, 0, len(record) - 1)]

        words = (
            f"Celery worker: {rate:.0f} tasks/h of lognormal size (sigma {sigma:.1f}, capped at "
            f"{pct(cap / limit)}); arenas grow at each record task and are never returned"
        )
    name = Names(rng, str(rng.choice(["reports", "etl-worker", "notify"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    return Spec("no-leak", f"{words}; base {pct(base / limit)}; {hours:.0f} h", step, limit, start, end, [pod])


def lru_cache_cap(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 24.0, 60.0)
    limit = draw_limit(rng, 512, 16384)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    cum = Cumulative(tr, start - HOUR, end + OOM_HORIZON)
    base = u(rng, 0.08, 0.2) * limit
    churn = ou_field(rng, start - HOUR, end + OOM_HORIZON, 2 * HOUR, 0.006 * limit)
    t_full = u(rng, 2.0, 10.0) * HOUR if variant % 2 == 0 else u(rng, 4.0, 14.0) * HOUR
    req = float(cum(start + t_full) - cum(start))
    if variant % 2 == 0:
        cap, ratio = u(rng, 0.35, 0.65) * limit, u(rng, 1.3, 4.0)
        keys = cap * ratio
        scale = -keys * math.log(1 - 1 / ratio) / req  # distinct keys seen reach the cap at t_full

        def fill(t: np.ndarray, t0: float) -> np.ndarray:
            seen = keys * -np.expm1(-(cum(t) - cum(t0)) * scale / keys)
            return np.minimum(seen, cap)

        words = (
            f"Caffeine-like LRU capped at {pct(cap / limit)}: distinct keys (uniform over {ratio:.1f}x the cap) "
            f"fill it in ~{t_full / HOUR:.1f} h"
        )
    else:
        frag = u(rng, 1.06, 1.15)
        cap = min(u(rng, 0.5, 0.72), (0.88 - base / limit) / frag) * limit
        phase = cycle_phase(rng, start, end + OOM_HORIZON, u(rng, 30.0, 180.0), 0.5)

        def fill(t: np.ndarray, t0: float) -> np.ndarray:
            used = np.minimum(cap * (cum(t) - cum(t0)) / req, cap)
            ratio = 1.02 + (frag - 1.02) * warm(t - t0, 12 * HOUR)
            evict = np.where(used >= cap, 0.004 * limit * phase(t), 0.0)
            return (used - evict) * ratio

        words = (
            f"Redis-like maxmemory {pct(cap / limit)} with allkeys-lru: writes fill it in ~{t_full / HOUR:.1f} h, "
            f"allocator fragmentation ratio rising to {frag:.2f}"
        )

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        f = fill(t, t0)
        return base * (0.5 + 0.5 * warm(t - t0, 600.0)) + f + churn(t) * (f / limit)

    name = Names(rng, str(rng.choice(["profile-cache", "session-store", "edge-cache"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    return Spec("no-leak", f"{words}; base {pct(base / limit)}; {hours:.0f} h", step, limit, start, end, [pod])


def flat_scrape_outages(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 24.0, 60.0)
    limit = draw_limit(rng, 256, 8192)
    npods = 1 if variant % 2 == 0 else int(rng.integers(2, 4))
    step = draw_step(rng, hours, npods)
    start = draw_start(rng)
    end = start + hours * HOUR
    names = Names(rng, str(rng.choice(["auth", "billing-api", "mailer"])))
    pods = []
    level = u(rng, 0.3, 0.65) * limit
    for i, pname in enumerate(names.pods(names.hash(), npods)):
        lv = level * u(rng, 0.93, 1.07)
        if variant % 2 == 0:

            def model(t: np.ndarray, t0: float, lv: float = lv) -> np.ndarray:
                return lv * (0.4 + 0.6 * warm(t - t0, 900.0))

            words = f"flat at {pct(level / limit)} of the limit"
        else:
            amp, period = u(rng, 0.03, 0.1) * limit, u(rng, 20.0, 90.0) * 60
            phase = cycle_phase(rng, start, end, period, 0.3)

            def model(t: np.ndarray, t0: float, lv: float = lv, amp: float = amp, phase=phase) -> np.ndarray:
                return lv * (0.4 + 0.6 * warm(t - t0, 900.0)) + amp * phase(t) * warm(t - t0, 1800.0)

            words = f"{npods} pods flat at {pct(level / limit)} under old-gen sawtooth of 3-10% (20-90 min)"
        pods.append(Pod(pname, start + 40 * i, end, model))
    return Spec(
        "no-leak",
        f"{words}, shared scrape outages of 10-30 min; {hours:.0f} h",
        step,
        limit,
        start,
        end,
        pods,
        outages=int(rng.integers(4, 11)),
        outage_minutes=(10.0, 30.0),
    )


def excursion(rng: np.random.Generator, lo: float, hi: float) -> tuple[Field, str]:
    """Up over 4-12 h and back over 5-14 h, along jagged monotone paths (gamma increments)."""
    at, rise, fall = u(rng, 3.0, 20.0) * HOUR, u(rng, 4.0, 12.0) * HOUR, u(rng, 5.0, 14.0) * HOUR
    res, shape = 300.0, u(rng, 0.3, 0.7)
    up = np.cumsum(rng.gamma(shape, 1.0, int(rise / res)))
    down = np.cumsum(rng.gamma(shape, 1.0, int(fall / res)))
    path = np.concatenate([np.zeros(int(at / res)), up / up[-1], 1 - down / down[-1]])
    path = np.concatenate([path, np.zeros(int((hi - lo) / res) + 2)])
    return Field(lo, res, path), f"up from {at / HOUR:.0f} h over {rise / HOUR:.1f} h, back over {fall / HOUR:.1f} h"


def flat_wander_excursion(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 30.0, 60.0)
    limit = draw_limit(rng, 256, 8192)
    npods = 1 if variant % 2 == 0 else 2
    step = draw_step(rng, hours, npods)
    start = draw_start(rng)
    end = start + hours * HOUR
    level, amp = u(rng, 0.3, 0.6) * limit, u(rng, 0.06, 0.14) * limit
    shared, words = excursion(rng, start, end + OOM_HORIZON)
    names = Names(rng, str(rng.choice(["matcher", "ranker", "ws-hub"])))
    pods = []
    for i, pname in enumerate(names.pods(names.hash(), npods)):
        wander = ou_field(rng, start - HOUR, end + OOM_HORIZON, u(rng, 1.0, 3.0) * HOUR, u(rng, 0.008, 0.015) * limit)
        share = 1.0 if i == 0 else u(rng, 0.6, 1.0)

        def model(t: np.ndarray, t0: float, wander=wander, share: float = share) -> np.ndarray:
            return level * (0.5 + 0.5 * warm(t - t0, 600.0)) + amp * share * shared(t) + wander(t)

        pods.append(Pod(pname, start + 25 * i, end, model))
    desc = f"flat at {pct(level / limit)} whose wander climbs {pct(amp / limit)} of the limit ({words})"
    if npods > 1:
        desc += "; both replicas follow the same excursion (a shared load anomaly)"
    return Spec("no-leak", f"{desc}; {hours:.0f} h", step, limit, start, end, pods)


def node_old_space(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 24.0, 72.0)
    limit = draw_limit(rng, 512, 4096)
    step = draw_step(rng, hours, 1)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    max_old, base = u(rng, 0.5, 0.68) * limit, u(rng, 0.08, 0.14) * limit
    ext = u(rng, 0.02, 0.06) * limit
    live_f, tl = u(rng, 0.18, 0.32) * limit, u(rng, 0.5, 3.0) * HOUR
    factor = max(u(rng, 1.4, 2.2), 1.05 * max_old / live_f) if variant % 2 == 0 else u(rng, 1.3, 2.0)
    period = u(rng, 10.0, 60.0) * 60
    promo = (min(max_old, live_f * factor) - live_f) / period
    release = u(rng, 120.0, 600.0)
    sim_seed = int(rng.integers(0, 2**32))
    reducer = variant % 2 == 1

    def old(g: np.ndarray, t0: float) -> np.ndarray:
        r = np.random.default_rng(sim_seed)
        res = g[1] - g[0]
        traffic = tr(g) if reducer else np.ones(len(g))
        live = live_f * (0.25 + 0.75 * warm(g - t0, tl))
        out = np.empty(len(g))
        used, limit_now, slack = live[0], 0.06 * limit, 0.0
        for i in range(len(g)):
            used += promo * traffic[i] * res * r.uniform(0.5, 1.5)
            slack *= math.exp(-res / release)
            if used >= limit_now:
                slack += used - live[i]
                used = live[i]
                f = factor if not (reducer and traffic[i] < 0.35) else 1.1  # the memory reducer at idle
                limit_now = min(max_old, live[i] * f)
            out[i] = used + 0.4 * slack
        return out

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        g = np.arange(t0, float(np.max(t)) + 40.0, 20.0)
        return base * (0.5 + 0.5 * warm(t - t0, 120.0)) + ext * tr(t) + np.interp(t, g, old(g, t0))

    words = (
        f"Node.js: V8 old space (max-old-space-size {pct(max_old / limit)}) grows by promotion between "
        f"mark-compacts; live {pct(live_f / limit)}, heap growing factor {factor:.1f}, pages released over "
        f"{release / 60:.0f} min"
    )
    if reducer:
        words += "; promotion follows traffic and the memory reducer shrinks the heap at night"
    name = Names(rng, str(rng.choice(["web-frontend", "bff", "graphql"])))
    pod = Pod(name.pods(name.hash(), 1)[0], start, end, model)
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod])


def deploy_restarts(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 20.0, 48.0)
    limit = draw_limit(rng, 256, 6144)
    replicas = 2 if variant % 2 == 0 else 1
    step = draw_step(rng, hours, replicas)
    start = draw_start(rng)
    end = start + hours * HOUR
    level, first, tw = u(rng, 0.35, 0.65) * limit, u(rng, 0.1, 0.3), u(rng, 20.0, 90.0) * 60
    jit, jit_tau = u(rng, 0.02, 0.06) * limit, u(rng, 2.0, 6.0) * HOUR

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        return level * (first + (1 - first) * warm(r, tw)) + jit * np.log1p(np.maximum(r, 0) / jit_tau)

    names = Names(rng, str(rng.choice(["orders", "cart", "api"])))
    pods, now, deploys = [], start, 0
    current = [(n, start + 30 * i) for i, n in enumerate(names.pods(names.hash(), replicas))]
    while True:
        nxt = now + u(rng, 1.5, 6.0) * HOUR
        if nxt >= end - 0.5 * HOUR:
            pods += [Pod(n, s, end, model) for n, s in current]
            break
        deploys += 1
        new = []
        for i, n in enumerate(names.pods(names.hash(), replicas)):
            s = nxt + i * u(rng, 40.0, 120.0)
            gap = u(rng, 20.0, 90.0) if replicas == 1 else u(rng, 30.0, 120.0)  # Recreate vs RollingUpdate
            old_name, old_start = current[i]
            pods.append(Pod(old_name, old_start, s + gap if replicas > 1 else s, model))
            new.append((n, s + (gap if replicas == 1 else 0.0)))
        current, now = new, nxt
    words = (
        f"{'rolling' if replicas > 1 else 'Recreate'} deploys of {replicas} replica(s) every 1.5-6 h ({deploys} "
        f"deploys); each run warms up to {pct(level / limit)} (from {pct(first)} of it, tau {tw / 60:.0f} min)"
    )
    return Spec("no-leak", f"{words}; {hours:.0f} h", step, limit, start, end, pods)


# ----------------------------------------------------------------------------------------------
# leak patterns


def oom_loop(rng: np.random.Generator, variant: int) -> Spec:
    hours = u(rng, 14.0, 36.0)
    limit = draw_limit(rng, 256, 4096)
    replicas = 2 if variant == 2 else 1
    step = draw_step(rng, hours, replicas)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    end = start + hours * HOUR
    level, tw = u(rng, 0.2, 0.5), u(rng, 5.0, 20.0) * 60
    run = u(rng, 2.0, 2.9) * HOUR if variant == 1 else u(rng, 2.0, 3.7) * HOUR
    rate = (1 - level) * limit / run  # bytes/s at full traffic
    lo_traffic = u(rng, 0.75, 0.85)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        warm_part = level * limit * (0.3 + 0.7 * warm(r, tw))
        if variant == 1:  # the leak follows traffic, which never drops below lo_traffic here
            speed = lo_traffic + (1 - lo_traffic) * tr(t)
            return warm_part + rate * np.maximum(r, 0) * speed
        return warm_part + rate * np.maximum(r, 0)

    names = Names(rng, str(rng.choice(["pdf-render", "thumbnailer", "scraper"])))
    pods = [
        Pod(n, start + i * u(rng, 900.0, 3600.0), end, model, leaks=True)
        for i, n in enumerate(names.pods(names.hash(), replicas))
    ]
    words = (
        f"leaks {pct(rate * HOUR / limit)} of the limit per hour from {pct(level)} (warm-up {tw / 60:.0f} min): "
        f"OOMKilled every ~{run / HOUR:.1f} h, again and again"
    )
    if variant == 1:
        words += f" (leak rate follows traffic, {pct(lo_traffic)}-100%, so runs last {run / HOUR:.1f}-<4 h)"
    if replicas > 1:
        words += "; two replicas, out of phase"
    return Spec("leak", f"{words}; {hours:.0f} h", step, limit, start, end, pods, onset=start)


def jvm_offheap_leak(rng: np.random.Generator, variant: int) -> Spec:
    kind = ("g1", "parallel", "g1")[variant % 3]
    early = variant == 2
    t_oom = u(rng, 20.0 if early else 12.0, 60.0) * HOUR
    before = u(rng, 0.5, 6.0)
    hours = min(t_oom / HOUR + (12.0 if early else u(rng, 2.0, 20.0)), 96.0)
    limit = draw_limit(rng, 1024, 16384)
    step = draw_step(rng, hours, 1)
    start = draw_start(rng)
    end = start + hours * HOUR
    base, words, total = jvm(rng, limit, kind, start, end)
    rate = (1 - total * 0.97) * limit / t_oom
    if variant == 1:
        chunk = u(rng, 1.0, 16.0) * MiB
        every = chunk / rate
        at = np.sort(rng.uniform(0.0, 8 * DAY, int(8 * DAY / every)))

        def leak(r: np.ndarray) -> np.ndarray:
            return chunk * np.searchsorted(at, r, side="right")

        leak_words = f"direct buffers leaked in {mib(chunk)} chunks (~{rate * HOUR / MiB:.1f} MiB/h)"
    else:

        def leak(r: np.ndarray) -> np.ndarray:
            return rate * np.maximum(r, 0)

        leak_words = f"native (off-heap) leak {rate * HOUR / MiB:.1f} MiB/h ({pct(rate * HOUR / limit)} per hour)"

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return base(t, t0) + leak(t - t0)

    names = Names(rng, str(rng.choice(["stream-proc", "kafka-bridge", "grpc-proxy"])))
    pod = Pod(names.pods(names.hash(), 1)[0], start, end, model, leaks=True)
    desc = f"JVM warm-up ({words}) plus a {leak_words} from the start; OOM ~{t_oom / HOUR:.0f} h in"
    if early:
        desc += f"; the data ends {before:.1f} h before the OOM"
        return Spec("leak", desc, step, limit, start, end, [pod], onset=start, end_before=before * HOUR)
    return Spec("leak", f"{desc}; {hours:.0f} h", step, limit, start, end, [pod], onset=start)


def accelerating_growth(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 512, 8192)
    start = draw_start(rng)
    level, tw = u(rng, 0.25, 0.42), u(rng, 10.0, 40.0) * 60
    tr = Traffic.draw(rng)
    if variant % 2 == 0:
        p, t_oom = u(rng, 1.3, 1.8), u(rng, 14.0, 40.0) * HOUR
        a = (1 - level) * limit / t_oom**p

        def leak(t: np.ndarray, t0: float) -> np.ndarray:
            return a * np.maximum(t - t0, 0) ** p

        words = f"grows like t^{p:.2f} from {pct(level)} (listeners re-registered per event), OOM ~{t_oom / HOUR:.0f} h"
    else:
        t_oom = u(rng, 24.0, 60.0) * HOUR
        cum = Cumulative(lambda x: tr(x) * np.maximum(x - start, 0) / HOUR, start - HOUR, start + t_oom + 8 * DAY)
        k = (1 - level) * limit / float(cum(start + t_oom) - cum(start))

        def leak(t: np.ndarray, t0: float) -> np.ndarray:
            # the leak per request grows with the connections accumulated since the start
            c2 = Cumulative(lambda x: tr(x) * np.maximum(x - t0, 0) / HOUR, t0 - 60, float(np.max(t)) + 120)
            return k * c2(t) if t0 > start + 1 else k * (cum(t) - cum(t0))

        words = (
            f"leak per request grows with accumulated connections (~quadratic, with daily ripples) from {pct(level)}"
        )
    hours = min(t_oom / HOUR + u(rng, 3.0, 16.0), 96.0)
    step = draw_step(rng, hours, 1)
    end = start + hours * HOUR

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return level * limit * (0.4 + 0.6 * warm(t - t0, tw)) + leak(t, t0)

    names = Names(rng, str(rng.choice(["events", "notifier", "webhook-relay"])))
    pod = Pod(names.pods(names.hash(), 1)[0], start, end, model, leaks=True)
    return Spec("leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod], onset=start)


def multi_day_leak(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 512, 16384)
    start = draw_start(rng)
    amp, period = u(rng, 0.06, 0.12) * limit, u(rng, 40.0, 150.0) * 60
    if variant % 2 == 0:
        t_oom = u(rng, 56.0, 84.0) * HOUR
        level = u(rng, 0.3, 0.4)
        hours = min(t_oom / HOUR + u(rng, 4.0, 12.0), 96.0)
        rate = ((1 - level) * limit - amp) / t_oom
        words = (
            f"slow leak {pct(rate * HOUR / limit)} of the limit per hour from {pct(level)}: OOM ~{t_oom / HOUR:.0f} h"
        )
    else:
        level, rate = u(rng, 0.3, 0.4), u(rng, 0.003, 0.0045) * limit / HOUR
        hours = u(rng, 72.0, 96.0)
        words = (
            f"slow leak {pct(rate * HOUR / limit)} of the limit per hour from {pct(level)}; "
            "the data ends long before the OOM"
        )
    step = draw_step(rng, hours, 1)
    end = start + hours * HOUR
    phase = cycle_phase(rng, start, end + OOM_HORIZON, period, 0.4)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        return level * limit * (0.3 + 0.7 * warm(r, 1200.0)) + rate * np.maximum(r, 0) + amp * phase(t)

    names = Names(rng, str(rng.choice(["crm-sync", "scheduler", "audit"])))
    pod = Pod(names.pods(names.hash(), 1)[0], start, end, model, leaks=True)
    words += f"; under an old-gen sawtooth of {pct(amp / limit)} every ~{period / 60:.0f} min"
    return Spec("leak", f"{words}; {hours:.0f} h", step, limit, start, end, [pod], onset=start)


def flat_then(level: float, limit: int, tw: float) -> Model:
    def model(t: np.ndarray, t0: float) -> np.ndarray:
        return level * limit * (0.35 + 0.65 * warm(t - t0, tw))

    return model


def rollout_regression(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 256, 8192)
    start = draw_start(rng)
    flat_h = u(rng, 6.0, 30.0)
    level, tw = u(rng, 0.25, 0.5), u(rng, 5.0, 30.0) * 60
    t_oom = u(rng, 8.0, 30.0) * HOUR
    rate = (1 - level) * limit / t_oom
    old_model = flat_then(level, limit, tw)
    names = Names(rng, str(rng.choice(["payments", "recommender", "user-svc"])))
    rollout = start + flat_h * HOUR

    def leaky(t: np.ndarray, t0: float) -> np.ndarray:
        return old_model(t, t0) + rate * np.maximum(t - t0, 0)

    if variant == 0:
        replicas = int(rng.integers(2, 4))
        hours = flat_h + t_oom / HOUR + u(rng, 2.0, 12.0)
        old = names.pods(names.hash(), replicas)
        new = names.pods(names.hash(), replicas)
        pods = []
        for i in range(replicas):
            s = rollout + i * u(rng, 60.0, 180.0)
            pods.append(Pod(old[i], start + 20 * i, s + u(rng, 20.0, 60.0), old_model))
            pods.append(Pod(new[i], s, start + hours * HOUR, leaky, leaks=True))
        words = f"{replicas} replicas flat for {flat_h:.1f} h, then a rolling update (new pod names) leaks"
        onset = rollout
    elif variant == 1:
        hours = flat_h + t_oom / HOUR + u(rng, 2.0, 12.0)
        size = u(rng, 0.004, 0.015) * limit
        every = size / rate
        at = np.sort(rng.uniform(rollout, rollout + 10 * DAY, int(10 * DAY / every)))

        def flagged(t: np.ndarray, t0: float) -> np.ndarray:
            first = np.searchsorted(at, max(t0, rollout), side="right")
            return old_model(t, t0) + size * np.maximum(np.searchsorted(at, t, side="right") - first, 0)

        pods = [Pod(names.pods(names.hash(), 1)[0], start, start + hours * HOUR, flagged, leaks=True)]
        words = (
            f"flat for {flat_h:.1f} h, then a feature flag turns on a stepwise leak inside the running "
            f"container ({pct(size / limit)} steps)"
        )
        onset = rollout
    else:
        replicas = 2
        back = u(rng, 0.5, 3.0) * HOUR
        hours = flat_h + t_oom / HOUR + back / HOUR + u(rng, 6.0, 20.0)
        old_hash = names.hash()
        old, new, again = names.pods(old_hash, replicas), names.pods(names.hash(), replicas), names.pods(old_hash, 2)
        rollback = rollout + t_oom + back
        pods = []
        for i in range(replicas):
            s = rollout + i * u(rng, 60.0, 180.0)
            pods.append(Pod(old[i], start + 20 * i, s + 30.0, old_model))
            pods.append(Pod(new[i], s, rollback + i * 90.0 + 40.0, leaky, leaks=True))
            pods.append(Pod(again[i], rollback + i * 90.0, start + hours * HOUR, old_model))
        words = (
            f"2 replicas flat for {flat_h:.1f} h; a new version leaks until it is rolled back "
            f"{back / HOUR:.1f} h after the expected OOM (the old template's hash comes back)"
        )
        onset = rollout
    step = draw_step(rng, hours, 1.5 if variant != 1 else 1)
    end = start + hours * HOUR
    words += f"; the leak is {pct(rate * HOUR / limit)} of the limit per hour, OOM ~{t_oom / HOUR:.0f} h after"
    return Spec("leak", f"{words}; {hours:.0f} h", step, limit, start, end, pods, onset=onset)


def traffic_cycle_leak(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 512, 8192)
    tr = Traffic.draw(rng, ramp_hours=(3.0, 8.0))
    start = draw_start(rng, tr.tz, u(rng, 0.0, 24.0))
    t_oom = u(rng, 36.0, 80.0) * HOUR
    base, busy, tb = u(rng, 0.22, 0.35), u(rng, 0.1, 0.2), u(rng, 600.0, 1800.0)
    cum = Cumulative(tr, start - HOUR, start + t_oom + 2 * OOM_HORIZON)
    if variant % 2 == 0:
        k = (1 - base - busy * 0.5) * limit / float(cum(start + t_oom) - cum(start))

        def leak(t: np.ndarray, t0: float) -> np.ndarray:
            return k * (cum(t) - cum(t0))

        state = None
        words = f"a leak per request (so it grows in the day and stalls at night) on a daily cycle of {pct(busy)}"
    else:
        size = u(rng, 0.06, 0.14)
        state, sw = daily_state(rng, tr, start, start + t_oom + OOM_HORIZON, size * limit, bool(rng.random() < 0.5))
        rate = (1 - base - busy - size) * limit / t_oom

        def leak(t: np.ndarray, t0: float) -> np.ndarray:
            return rate * np.maximum(t - t0, 0)

        words = f"a constant leak {pct(rate * HOUR / limit)}/h on a daily cycle of {pct(busy)} and {pct(size)} of {sw}"

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        m = limit * (base * (0.3 + 0.7 * warm(t - t0, tb)) + busy * tr(t)) + leak(t, t0)
        return m + (state(t, t0) if state is not None else 0.0)

    hours = min(t_oom / HOUR + u(rng, 2.0, 16.0), 96.0)
    step = draw_step(rng, hours, 1)
    end = start + hours * HOUR
    names = Names(rng, str(rng.choice(["storefront", "chat", "media-api"])))
    pod = Pod(names.pods(names.hash(), 1)[0], start, end, model, leaks=True)
    return Spec(
        "leak", f"{words}; OOM ~{t_oom / HOUR:.0f} h in; {hours:.0f} h", step, limit, start, end, [pod], onset=start
    )


def single_replica_leak(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 256, 8192)
    start = draw_start(rng)
    replicas = (int(rng.integers(4, 7)), 3, 5)[variant % 3]
    level, tw = u(rng, 0.25, 0.5), u(rng, 5.0, 30.0) * 60
    tr = Traffic.draw(rng)
    busy = u(rng, 0.05, 0.12) if variant == 2 else 0.0
    names = Names(rng, str(rng.choice(["consumer", "matchmaker", "ws-gateway"])))
    pod_names = names.pods(names.hash(), replicas)
    who = int(rng.integers(0, replicas))
    if variant == 0:
        t_oom = u(rng, 6.0, 20.0) * HOUR
        hours = min(u(rng, 24.0, 48.0), 96.0)
        rate = (1 - level - busy) * limit / t_oom
        onset_rel, size = 0.0, 0.0
        words = (
            f"{replicas} replicas; one leaks {pct(rate * HOUR / limit)}/h from its start and is OOMKilled "
            f"every ~{t_oom / HOUR:.0f} h"
        )
    elif variant == 1:
        onset_rel, t_oom = u(rng, 2.0, 10.0) * HOUR, u(rng, 8.0, 24.0) * HOUR
        hours = onset_rel / HOUR + t_oom / HOUR + u(rng, 2.0, 10.0)
        rate = (1 - level) * limit / t_oom
        size = u(rng, 0.005, 0.02) * limit
        words = (
            f"{replicas} replicas; after a rebalance {onset_rel / HOUR:.1f} h in, one takes a poisoned partition and "
            f"leaks in steps of {pct(size / limit)} (~{pct(rate * HOUR / limit)}/h)"
        )
    else:
        t_oom = u(rng, 50.0, 110.0) * HOUR
        hours, before = min(t_oom / HOUR + 12.0, 96.0), u(rng, 4.0, 30.0)
        rate = (1 - level - busy) * limit / t_oom
        onset_rel, size = 0.0, 0.0
        words = (
            f"{replicas} replicas following a daily cycle of {pct(busy)}; one leaks {pct(rate * HOUR / limit)}/h "
            f"from its start; the data ends {before:.0f} h before its OOM (or at 96 h)"
        )
    step = draw_step(rng, hours, replicas)
    end = start + hours * HOUR
    at = np.sort(rng.uniform(0.0, 12 * DAY, int(12 * DAY * rate / size))) if size else np.array([])
    pods = []
    for i, pname in enumerate(pod_names):
        s = start + i * u(rng, 15.0, 90.0)
        lv = level * u(rng, 0.93, 1.07)

        def flat(t: np.ndarray, t0: float, lv: float = lv) -> np.ndarray:
            return limit * (lv * (0.35 + 0.65 * warm(t - t0, tw)) + busy * tr(t))

        if i != who:
            pods.append(Pod(pname, s, end, flat))
            continue
        onset_abs = s + onset_rel

        def leaky(t: np.ndarray, t0: float, flat=flat, onset_abs: float = onset_abs) -> np.ndarray:
            since = max(t0, onset_abs)
            if size:
                first = np.searchsorted(at, since - start, side="right")
                return flat(t, t0) + size * np.maximum(np.searchsorted(at, t - start, side="right") - first, 0)
            return flat(t, t0) + rate * np.maximum(t - since, 0)

        pods.append(Pod(pname, s, end, leaky, leaks=True))
        onset = onset_abs
    if variant == 2:
        return Spec("leak", words, step, limit, start, end, pods, onset=onset, end_before=before * HOUR)
    return Spec("leak", f"{words}; {hours:.0f} h", step, limit, start, end, pods, onset=onset)


def burst_step_leak(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 256, 8192)
    tr = Traffic.draw(rng)
    start = draw_start(rng)
    level, tw = u(rng, 0.25, 0.45), u(rng, 5.0, 30.0) * 60
    t_oom = u(rng, 10.0, 48.0) * HOUR
    need = (1 - level) * limit
    horizon = t_oom + 2 * OOM_HORIZON
    if variant == 0:
        rate_h = u(rng, 0.5, 3.0)
        at = np.sort(rng.uniform(0.0, horizon, int(rng.poisson(rate_h * horizon / HOUR))))
        sizes = rng.lognormal(0.0, 0.8, len(at))
        scale = need / float(np.sum(sizes[at < t_oom]))
        words = f"steps at Poisson times ({rate_h:.1f}/h) of lognormal size (sigma 0.8): requests that leak"
    elif variant == 1:
        every = u(rng, 10.0, 60.0) * 60
        at = np.arange(0.0, horizon, every) + rng.uniform(0.0, 120.0, math.ceil(horizon / every))
        sizes = rng.uniform(0.7, 1.3, len(at))
        scale = need / float(np.sum(sizes[at < t_oom]))
        words = f"a cron job every {every / 60:.0f} min leaks a little each run (steps of ~{pct(scale / limit)})"
    else:
        mean_rate = u(rng, 1.0, 4.0)
        grid = np.arange(start, start + horizon, 60.0)
        w = tr(grid) ** 3
        k = rng.poisson(mean_rate * w / float(np.mean(w)) / 60.0)
        at = np.repeat(grid - start, k) + rng.uniform(0.0, 60.0, int(np.sum(k)))
        at.sort()
        sizes = rng.lognormal(0.0, 0.5, len(at))
        scale = need / float(np.sum(sizes[at < t_oom]))
        words = f"leaky bursts during business hours only (~{mean_rate:.1f}/h on average), flat at night"
    cum_sizes = np.concatenate([[0.0], np.cumsum(sizes * scale)])
    spread = u(rng, 20.0, 90.0)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        first = int(np.searchsorted(at, t0 - start, side="right"))
        r = t - start
        k = np.searchsorted(at, r, side="right")
        grown = cum_sizes[k] - cum_sizes[first]
        # the newest step is still being allocated for a few tens of seconds
        last = np.clip(k - 1, 0, len(at) - 1)
        partial = np.where(k > first, np.clip((r - at[last]) / spread, 0.0, 1.0), 1.0)
        grown -= (1 - partial) * (cum_sizes[last + 1] - cum_sizes[last]) * (k > first)
        return level * limit * (0.35 + 0.65 * warm(t - t0, tw)) + grown

    hours = min(t_oom / HOUR + u(rng, 1.0, 20.0), 96.0)
    step = draw_step(rng, hours, 1)
    end = start + hours * HOUR
    names = Names(rng, str(rng.choice(["uploader", "bulk-api", "xml-import"])))
    pod = Pod(names.pods(names.hash(), 1)[0], start, end, model, leaks=True)
    return Spec(
        "leak",
        f"{words}; from {pct(level)}, OOM ~{t_oom / HOUR:.0f} h in; {hours:.0f} h",
        step,
        limit,
        start,
        end,
        [pod],
        onset=start,
    )


def unfinished_leak(rng: np.random.Generator, variant: int) -> Spec:
    limit = draw_limit(rng, 512, 16384)
    start = draw_start(rng)
    level, tw = u(rng, 0.25, 0.45), u(rng, 5.0, 30.0) * 60
    t_oom = u(rng, 22.0, 60.0) * HOUR
    before = u(rng, 0.25, 3.0) if variant % 2 == 0 else u(rng, 2.0, 10.0)
    hours = min(t_oom / HOUR + 12.0, 96.0)
    npods = 1 if variant % 2 == 0 else 2
    step = draw_step(rng, hours, npods)
    end = start + hours * HOUR
    amp = 0.0 if variant % 2 == 0 else u(rng, 0.08, 0.15) * limit
    rate = ((1 - level) * limit - amp) / t_oom
    phase = cycle_phase(rng, start, end + OOM_HORIZON, u(rng, 5.0, 30.0) * 60, 0.3)

    def model(t: np.ndarray, t0: float) -> np.ndarray:
        r = t - t0
        return level * limit * (0.35 + 0.65 * warm(r, tw)) + rate * np.maximum(r, 0) + amp * phase(t)

    names = Names(rng, str(rng.choice(["indexer", "cdc", "relay"])))
    pods = [Pod(n, start + 40 * i, end, model, leaks=True) for i, n in enumerate(names.pods(names.hash(), npods))]
    words = f"linear leak {pct(rate * HOUR / limit)}/h from {pct(level)}"
    if amp:
        words += f" under a GC sawtooth of {pct(amp / limit)}; {npods} replicas, both leaking"
    words += f"; the data stops {before:.1f} h before the first OOM (the node was drained)"
    return Spec("leak", words, step, limit, start, end, pods, onset=start, end_before=before * HOUR)


PATTERNS: list[tuple[str, int, Callable[[np.random.Generator, int], Spec]]] = [
    ("jvm_committed_heap", 3, jvm_committed_heap),
    ("malloc_fragmentation", 2, malloc_fragmentation),
    ("heap_warm_target", 2, heap_warm_target),
    ("page_cache_reclaim", 2, page_cache_reclaim),
    ("night_start_traffic", 2, night_start_traffic),
    ("go_soft_limit", 2, go_soft_limit),
    ("python_arena_hwm", 2, python_arena_hwm),
    ("lru_cache_cap", 2, lru_cache_cap),
    ("flat_scrape_outages", 2, flat_scrape_outages),
    ("flat_wander_excursion", 2, flat_wander_excursion),
    ("node_old_space", 2, node_old_space),
    ("deploy_restarts", 2, deploy_restarts),
    ("oom_loop", 3, oom_loop),
    ("jvm_offheap_leak", 3, jvm_offheap_leak),
    ("accelerating_growth", 2, accelerating_growth),
    ("multi_day_leak", 2, multi_day_leak),
    ("rollout_regression", 3, rollout_regression),
    ("traffic_cycle_leak", 2, traffic_cycle_leak),
    ("single_replica_leak", 3, single_replica_leak),
    ("burst_step_leak", 3, burst_step_leak),
    ("unfinished_leak", 2, unfinished_leak),
]


def generate(seed: int, out: Path) -> list[tuple[str, int]]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json.gz"):
        old.unlink()
    written = []
    for p_index, (pattern, variants, fn) in enumerate(PATTERNS):
        for variant in range(variants):
            trace_seed = seed * 10_000 + p_index * 100 + variant
            rng = np.random.default_rng(trace_seed)
            spec = fn(rng, variant)
            written.append(write_trace(out, pattern, variant, trace_seed, spec, rng))
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1, help="base seed (1 writes the committed corpus)")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "traces")
    args = parser.parse_args()
    written = generate(args.seed, args.out)
    total = sum(size for _, size in written)
    print(f"{len(written)} traces, {total / 1e6:.2f} MB in {args.out}")


if __name__ == "__main__":
    main()
