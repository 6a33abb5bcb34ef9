"""Generate the signals corpus: labelled traces that carry every memory signal the operator can read.

Each trace is one workload: the working set (`bytes`) of each pod, and per pod the cAdvisor split
(`signals.rss`, `signals.file`) and, for JVM and Go services, the runtime's own heap
(`signals.jvm_committed/used/cap` or `signals.go_committed/used/cap`), aligned with `t`. Many traces
show deploy histories: 2-4 versions, each a new pod-template hash. See README.md for the shapes.

    python tests/corpus_signals/generate.py                       # rewrite traces/ at seed 1
    python tests/corpus_signals/generate.py --seed 5 --out /tmp/s5

Written from the trace format and a list of production shapes only (not from the detector).
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KiB = 1024
MiB = 1 << 20
GiB = 1 << 30
PAGE = 4096
HOUR = 3600.0
DAY = 86400.0
ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # Kubernetes' rand.SafeEncodeString alphabet
LIMITS_MIB = (256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096, 6144, 8192)
SAMPLE_BUDGET = 5800  # samples per trace (all pods) above which a longer scrape step is used
NONLEAK_CEILING = 0.95  # a no-leak's working set is scaled under this fraction of the limit
Model = Callable[[np.random.Generator, np.ndarray, np.ndarray], dict]


# --------------------------------------------------------------------------------------------------
# small numerical helpers (sequential filters are plain loops: the series are a few thousand long)


def dts(tr: np.ndarray) -> np.ndarray:
    return np.diff(tr, prepend=max(tr[0] - 30.0, 0.0)) if len(tr) else tr


def ar1(rng: np.random.Generator, tr: np.ndarray, tau: float, sd: float) -> np.ndarray:
    """Ornstein-Uhlenbeck process sampled at tr (stationary start)."""
    a = np.exp(-dts(tr) / tau)
    z = rng.standard_normal(len(tr)) * sd * np.sqrt(1.0 - a * a)
    out = np.empty(len(tr))
    y = rng.standard_normal() * sd
    for i in range(len(tr)):
        y = a[i] * y + z[i]
        out[i] = y
    return out


def lag_up(x: np.ndarray, tr: np.ndarray, tau: float) -> np.ndarray:
    """Follows rises of x with a first-order lag (pages touched over minutes), drops at once."""
    a = np.exp(-dts(tr) / tau)
    out = np.empty(len(x))
    y = x[0] * (1.0 - a[0]) if len(x) else 0.0
    for i in range(len(x)):
        y = y + (x[i] - y) * (1.0 - a[i]) if x[i] > y else x[i]
        out[i] = y
    return out


def decay_max(x: np.ndarray, tr: np.ndarray, tau: float) -> np.ndarray:
    """Jumps up with x, relaxes down towards it with time constant tau (a scavenger, a decay)."""
    a = np.exp(-dts(tr) / tau)
    out = np.empty(len(x))
    y = x[0] if len(x) else 0.0
    for i in range(len(x)):
        y = x[i] if x[i] >= y else x[i] + (y - x[i]) * a[i]
        out[i] = y
    return out


def softsat(s: np.ndarray, k: float) -> np.ndarray:
    """~s for s << 1, ~1 for s >> 1, with a knee whose sharpness is k (near-linear, then flat)."""
    s = np.maximum(s, 0.0)
    return s / (1.0 + s**k) ** (1.0 / k)


def cycle_frac(rng: np.random.Generator, tr: np.ndarray, period: np.ndarray | float) -> np.ndarray:
    """Position in [0, 1) within a collection cycle whose (jittered) period may vary with time."""
    jitter = np.exp(0.25 * rng.standard_normal(len(tr)))
    phase = rng.random() + np.cumsum(dts(tr) / np.maximum(period, 1.0) * jitter)
    return phase - np.floor(phase)


def inflight(rng: np.random.Generator, load: np.ndarray, mean_n: float, size: float, alpha: float, cap: float):
    """Request buffers in flight at a scrape: a Poisson number of Pareto-sized allocations."""
    n = rng.poisson(np.maximum(mean_n * load, 0.0))
    sizes = size * (1.0 + rng.pareto(alpha, int(n.sum())))
    out = np.bincount(np.repeat(np.arange(len(n)), n), weights=sizes, minlength=len(n))
    return np.minimum(out, cap)


def poisson_steps(rng: np.random.Generator, expected: np.ndarray) -> np.ndarray:
    """Count of events of an inhomogeneous Poisson process whose expected count so far is `expected`."""
    top = float(expected[-1]) if len(expected) else 0.0
    arrivals = np.cumsum(rng.exponential(1.0, int(top * 1.3 + 20 * np.sqrt(top + 1) + 20)))
    return np.searchsorted(arrivals, expected, side="right").astype(float)


class Traffic:
    """Daily traffic in [night, ~1.15]: a night trough, a morning ramp, a busy day, an evening decline."""

    HOURS = (0.0, 3.5, 6.0, 9.0, 12.0, 13.5, 17.0, 19.5, 22.0, 24.0)
    SHAPE = (0.08, 0.0, 0.12, 0.8, 1.0, 0.9, 0.95, 0.6, 0.25, 0.08)

    def __init__(self, rng: np.random.Generator, t0: float, tz: float):
        self.t0, self.tz = t0, tz
        self.night = rng.uniform(0.08, 0.3)
        self.shift = rng.uniform(-1.0, 1.0) * HOUR
        self.fac = rng.uniform(0.85, 1.15, 14)
        self.grid = np.arange(t0 - DAY, t0 + 10 * DAY, 60.0)
        self.cumgrid = np.concatenate([[0.0], np.cumsum(self._level(self.grid[:-1]) * 60.0)])

    def local(self, ta: np.ndarray) -> np.ndarray:
        return ta + self.tz + self.shift

    def _level(self, ta: np.ndarray) -> np.ndarray:
        loc = self.local(ta)
        h = (loc / HOUR) % 24.0
        day = np.clip(((loc - self.t0) // DAY).astype(int) + 1, 0, len(self.fac) - 1)
        base = np.interp(h, self.HOURS, self.SHAPE)
        return (self.night + (1.0 - self.night) * base) * self.fac[day]

    def __call__(self, ta: np.ndarray) -> np.ndarray:
        return self._level(ta)

    def cum(self, ta: np.ndarray) -> np.ndarray:
        """Integral of traffic (seconds at full load) from the grid start."""
        return np.interp(ta, self.grid, self.cumgrid)

    def per_day(self) -> float:
        return float(self.cumgrid[int(DAY / 60)])


# --------------------------------------------------------------------------------------------------
# process models: each returns the components of one container run at times tr (since its start)


def jvm(
    limit: float,
    *,
    xmx: float,
    live: Callable,
    xms: float | None = None,
    gc: str = "g1",
    occ: float = 0.6,
    nonheap: float,
    code_tau: float = 2 * HOUR,
    uncommit: float = 0.0,
    pretouch: bool = False,
    native: Callable | None = None,
    jar: float = 24 * MiB,
    files: Callable | None = None,
    load: Callable | None = None,
    young_s: tuple[float, float] = (8.0, 90.0),
) -> Model:
    """A JVM: committed heap expanding in steps as the live set needs it, a young-gen sawtooth of
    `used`, non-heap (metaspace over minutes, code cache over hours, threads, GC structures, malloc)."""
    xms = limit / 64 if xms is None else xms

    def model(rng, tr, ta):
        n = len(tr)
        lv = live(rng, tr, ta)
        traffic = load(ta) if load else np.ones(n)
        if pretouch:
            committed = np.full(n, xmx)
        else:
            # G1 expands in many small steps, Parallel in a few big ones
            g1 = gc == "g1"
            sizes = rng.uniform(0.025, 0.08, 80) * xmx if g1 else rng.uniform(0.12, 0.35, 20) * xmx
            levels = np.unique(np.minimum(xms + np.concatenate([[0.0], np.cumsum(sizes)]), xmx))
            need = (lv / occ + 0.04 * xmx) * (1 - np.exp(-tr / 600.0))  # from -Xms, expanding at collections
            # G1 shrinks the heap after periodic collections when the live set falls; otherwise it keeps it
            need = decay_max(need, tr, uncommit * HOUR) if uncommit > 0 else np.maximum.accumulate(need)
            committed = levels[np.minimum(np.searchsorted(levels, need), len(levels) - 1)]
            if uncommit > 0:  # G1 periodic collections give memory back; it regrows over an hour or so
                events = np.cumsum(rng.exponential(uncommit * HOUR, 64)) + rng.uniform(1, 3) * HOUR
                dip = np.zeros(n)
                for ev in events[events < tr[-1]]:
                    depth = rng.uniform(0.06, 0.22)
                    regrow = rng.uniform(0.3, 1.5) * HOUR
                    after = tr >= ev
                    frac = np.exp(-(tr[after] - ev) / regrow)
                    dip[after] = np.maximum(dip[after], depth * np.floor(frac * 8) / 8)
                quantum = 0.02 * xmx
                committed = committed - np.floor(dip * (committed - xms) / quantum) * quantum
            committed = np.maximum(committed, np.minimum(lv / 0.92, xmx))
        committed = np.floor(np.minimum(committed, xmx) / MiB) * MiB
        touched = committed if pretouch else lag_up(committed, tr, rng.uniform(60, 300))
        period = rng.uniform(*young_s) / np.maximum(traffic, 0.05)
        frac = cycle_frac(rng, tr, period)
        floor = lv.copy()
        if gc == "parallel":  # old-gen garbage piles up between full collections
            old = cycle_frac(rng, tr, rng.uniform(1.0, 4.0) * HOUR)
            floor = floor + old * np.maximum(0.85 * committed - lv, 0) * rng.uniform(0.3, 0.6)
        top = 0.94 * committed
        used = np.minimum(floor + frac * np.maximum(top - floor, 0.0), committed)
        boot = 1.0 - np.exp(-tr / rng.uniform(8, 40))
        meta = 0.4 * nonheap * (1 - np.exp(-tr / rng.uniform(120, 900)))
        code = 0.25 * nonheap * (0.3 + 0.7 * (1 - np.exp(-tr / code_tau)))
        other = 0.35 * nonheap * boot + 0.025 * committed
        anon = touched + meta + code + other
        anon = anon + inflight(rng, traffic, rng.uniform(4, 30), 48 * KiB, rng.uniform(1.3, 2.2), 0.02 * limit)
        if native is not None:
            anon = anon + native(rng, tr, ta)
        active = jar * boot * (1 + ar1(rng, tr, 7200.0, 0.01))
        inactive = np.full(n, 0.3 * jar) + rng.uniform(0, 4 * MiB)
        if files is not None:
            fa, fi = files(rng, tr, ta)
            active, inactive = active + fa, inactive + fi
        return {"anon": anon, "active": active, "inactive": inactive, "committed": committed, "used": used, "cap": xmx}

    return model


def gomodel(
    limit: float,
    *,
    live: Callable,
    gogc: float = 100.0,
    memlimit: float = 0.0,
    base: float = 14 * MiB,
    cgo: Callable | None = None,
    load: Callable | None = None,
    scav_tau: float = 1800.0,
    gc_s: tuple[float, float] = (5.0, 60.0),
    text: float = 14 * MiB,
) -> Model:
    """A Go service: heap goal = live * (1 + GOGC/100), held under GOMEMLIMIT; heap_alloc a sawtooth
    from the live heap to the goal; sys - released follows the goal up at once and down slowly."""

    def model(rng, tr, ta):
        n = len(tr)
        lv = live(rng, tr, ta)
        traffic = load(ta) if load else np.ones(n)
        goal = lv * (1.0 + gogc / 100.0) + 4 * MiB
        overhead = base + 0.03 * goal
        if memlimit > 0:
            goal = np.maximum(np.minimum(goal, (memlimit - overhead) / 1.03), lv * 1.02 + MiB)
        period = rng.uniform(*gc_s) * (goal - lv) / np.maximum(lv * gogc / 100.0, 4 * MiB) / np.maximum(traffic, 0.05)
        frac = cycle_frac(rng, tr, np.maximum(period, 1.0))
        used = lv + frac * (goal - lv)
        heap = decay_max(goal * 1.03, tr, scav_tau)
        boot = 1.0 - np.exp(-tr / rng.uniform(2, 10))
        committed = (heap + overhead) * boot
        used = np.minimum(used * boot, committed)
        anon = committed + inflight(rng, traffic, rng.uniform(2, 20), 16 * KiB, rng.uniform(1.4, 2.4), 0.015 * limit)
        if cgo is not None:
            anon = anon + cgo(rng, tr, ta)
        active = text * boot * (1 + ar1(rng, tr, 7200.0, 0.01))
        inactive = np.full(n, 0.2 * text) + rng.uniform(0, 3 * MiB)
        cap = memlimit if memlimit > 0 else 0.0
        return {"anon": anon, "active": active, "inactive": inactive, "committed": committed, "used": used, "cap": cap}

    return model


def native(limit: float, *, anon: Callable, files: Callable | None = None, text: float = 8 * MiB, load=None) -> Model:
    """A process with no runtime metrics (C, Python, Node, a JVM without Micrometer): cAdvisor only."""

    def model(rng, tr, ta):
        n = len(tr)
        traffic = load(ta) if load else np.ones(n)
        boot = 1.0 - np.exp(-tr / rng.uniform(2, 20))
        a = anon(rng, tr, ta) * boot
        a = a + inflight(rng, traffic, rng.uniform(2, 25), 24 * KiB, rng.uniform(1.3, 2.3), 0.015 * limit)
        active = text * boot * (1 + ar1(rng, tr, 7200.0, 0.01))
        inactive = np.full(n, 0.5 * text)
        if files is not None:
            fa, fi = files(rng, tr, ta)
            active, inactive = active + fa, inactive + fi
        return {"anon": a, "active": active, "inactive": inactive}

    return model


# --------------------------------------------------------------------------------------------------
# trace assembly


@dataclass
class Pod:
    name: str
    start: float
    stop: float
    model: Model
    leaking: bool = False
    cadvisor: bool = True  # rss and file scraped
    runtime: str | None = None  # "jvm" | "go": the runtime's signals exported
    report: float = 30.0  # seconds after a container start before the runtime's metrics appear


@dataclass
class Spec:
    pattern: str
    label: str
    description: str
    limit: int
    hours: float
    step: int
    t0: float
    pods: list[Pod]
    onset: float | None = None
    end_before_oom: tuple[float, float] | None = None  # hours before the first OOM at which the data stops
    ext_hours: float = 60.0
    outages: int = 0
    notes: list[str] = field(default_factory=list)


class Env:
    """What a pattern needs to lay out a trace: start time, time zone, step, pod names."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.t0 = float(1_811_000_000 - 1_811_000_000 % 60 + 60 * int(rng.integers(0, 1440)))
        self.tz = float(rng.choice([-8, -5, -3, 0, 1, 2, 5.5, 8, 9])) * HOUR
        self.traffic = Traffic(rng, self.t0, self.tz)

    def start_at_local(self, lo_h: float, hi_h: float) -> None:
        """Move t0 so the first container starts between lo_h and hi_h local time (hi may pass 24)."""
        want = self.rng.uniform(lo_h, hi_h) % 24.0
        now = (self.traffic.local(np.array([self.t0]))[0] / HOUR) % 24.0
        self.t0 += round(((want - now) % 24.0) * 60.0) * 60.0
        self.traffic = Traffic(self.rng, self.t0, self.tz)

    def step(self, hours: float, concurrent: int) -> int:
        choices = [s for s in (15, 30, 60) if hours * HOUR / s * concurrent <= SAMPLE_BUDGET] or [60]
        return int(self.rng.choice(choices))

    def hash(self) -> str:
        return "".join(self.rng.choice(list(ALPHABET), 10))

    def name(self, template: str) -> str:
        return f"app-{template}-" + "".join(self.rng.choice(list(ALPHABET), 5))

    def versions(
        self, deploys: list[float], replicas: int, factories: list[Callable[[int], Model]], **pod_kw
    ) -> list[list[Pod]]:
        """A Deployment's history: version v starts at deploys[v] (hours after t0) with `replicas` pods
        rolled one after another; each old pod ends when its replacement is ready."""
        out: list[list[Pod]] = []
        for v, at in enumerate(deploys):
            template = self.hash()
            pods = []
            for r in range(replicas):
                start = self.t0 + at * HOUR + (r * self.rng.uniform(40, 150) if v else self.rng.uniform(0, 20))
                kw = {k: (val[v] if isinstance(val, list) else val) for k, val in pod_kw.items()}
                pods.append(Pod(self.name(template), start, np.inf, factories[v](r), **kw))
            if out:
                for old, new in zip(out[-1], pods, strict=False):
                    old.stop = new.start + self.rng.uniform(25, 120)  # ready, then the old pod ends
            out.append(pods)
        return out


def simulate(rng: np.random.Generator, pod: Pod, times: np.ndarray, lost: np.ndarray, limit: float, end: float) -> dict:
    """Run a pod's containers over its scrape times (`lost` ones are not kept): OOMKills and restarts."""
    n = len(times)
    cols = {k: np.zeros(n) for k in ("rss", "file", "active", "kern", "committed", "used", "cap")}
    keep = ~lost
    kills: list[float] = []
    kill_idx: list[int] = []
    run_starts = [0]
    i, run_start = 0, pod.start
    margin = 0.006 * limit
    while i < n:
        ta = times[i:]
        tr = ta - run_start
        c = pod.model(rng, tr, ta)
        m = len(tr)
        kern = (0.004 * limit + 2 * MiB) * (1 - np.exp(-tr / 20)) + np.abs(ar1(rng, tr, 1800.0, 0.0012 * limit))
        anon = np.maximum(c["anon"], 0.0)
        active = np.maximum(c["active"], 0.0)
        inactive = np.maximum(c["inactive"], 0.0)
        k = None
        if pod.leaking:
            hit = np.nonzero((anon + kern + np.minimum(active, 0.01 * limit) >= limit) & keep[i:])[0]
            k = int(hit[0]) if len(hit) else None
        # the kernel reclaims page cache when the cgroup is full: the inactive list first
        file = active + inactive
        room = np.maximum(limit - anon - kern - margin, 0.0)
        squeezed = np.minimum(file, room)
        active = np.where(file > room, np.minimum(active, 0.9 * squeezed), active)
        file = squeezed
        last = m if k is None else k + 1
        sl = slice(i, i + last)
        cols["rss"][sl] = anon[:last]
        cols["file"][sl] = file[:last]
        cols["active"][sl] = active[:last]
        cols["kern"][sl] = kern[:last]
        if "committed" in c:
            reported = tr[:last] >= pod.report
            for key in ("committed", "used", "cap"):
                val = np.broadcast_to(np.asarray(c[key], float), (m,))[:last]
                cols[key][sl] = np.where(reported, val, 0.0)
        if k is None:
            break
        j = i + k
        kills.append(float(times[j]))
        kill_idx.append(j)
        cols["rss"][j] = min(anon[k], limit - kern[k])
        cols["file"][j] = limit - cols["rss"][j] - kern[k]
        cols["active"][j] = cols["file"][j]
        if times[j] > end:
            keep[j + 1 :] = False
            break
        skip = int(rng.integers(0, 3))  # the restarted container's first scrape is 1-3 scrapes on
        keep[j + 1 : j + 1 + skip] = False
        nxt = j + 1 + skip
        if nxt < n:
            keep[nxt] = True  # the restarted container's first scrape is always there
            run_start = times[j] + rng.uniform(0.15, 0.85) * (times[nxt] - times[j])
            run_starts.append(nxt)
        i = nxt
    return {"cols": cols, "keep": keep, "kills": kills, "kill_idx": kill_idx, "run_starts": run_starts}


def pages(x: np.ndarray) -> np.ndarray:
    return (np.floor(np.maximum(x, 0.0) / PAGE) * PAGE).astype(np.int64)


def render(spec: Spec, seed: int, rng: np.random.Generator, name: str) -> dict:
    limit = float(spec.limit)
    step = spec.step
    leak = spec.label == "leak"
    data_end = spec.t0 + spec.hours * HOUR
    horizon = data_end + (spec.ext_hours * HOUR if leak else 0.0)
    grid = spec.t0 + step * np.arange(int((horizon - spec.t0) / step) + 2)
    # scrape loss: shared outages (Prometheus down) and each pod's lone misses and short bursts
    shared = np.ones(len(grid), bool)
    for _ in range(spec.outages):
        at = spec.t0 + rng.uniform(1.0, spec.hours - 1.0) * HOUR
        shared &= ~((grid >= at) & (grid < at + rng.uniform(600, 1800)))
    miss = rng.uniform(0.0005, 0.004)
    stale = rng.uniform(0.03, 0.1) if step == 15 else 0.0
    sims = []
    for pod in spec.pods:
        lost = rng.random(len(grid)) < miss
        for at in rng.uniform(spec.t0, horizon, rng.poisson(spec.hours / 24 * 1.5)):
            lost |= (grid >= at) & (grid < at + step * rng.integers(2, 6))
        sel = (grid > pod.start) & (grid <= min(pod.stop, horizon))
        times = grid[sel]
        sims.append(simulate(rng, pod, times, (lost | ~shared)[sel], limit, data_end) | {"times": times})
    oom = None
    if leak:
        kills = [k for p, s in zip(spec.pods, sims, strict=True) if p.leaking for k in s["kills"]]
        if not kills:
            raise RuntimeError(f"{name}: the leak never reached the limit")
        oom = int(min(kills))
        if spec.end_before_oom:
            gap = rng.uniform(*spec.end_before_oom) * HOUR
            if oom - gap >= spec.t0 + 24 * HOUR:
                data_end = min(oom - gap, spec.t0 + 72 * HOUR)
    pods_out = []
    for pod, sim in zip(spec.pods, sims, strict=True):
        times, cols, keep = sim["times"], sim["cols"], sim["keep"].copy()
        keep &= times <= data_end
        if not leak or not pod.leaking:
            total = cols["rss"] + cols["active"] + cols["kern"]
            scale = np.minimum(1.0, NONLEAK_CEILING * limit / np.maximum(total, 1.0))
            for key in ("rss", "file", "active", "kern", "committed", "used"):
                cols[key] = cols[key] * scale
        # page-granular values, keeping working set = rss + active file + kernel
        rss_p, file_p, ker_p = pages(cols["rss"]), pages(cols["file"]), pages(cols["kern"])
        act_p = np.minimum(pages(cols["active"]), file_p)
        ws_p = rss_p + act_p + ker_p
        for j in sim["kill_idx"]:
            ws_p[j] = int(limit)
            file_p[j] = int(limit) - rss_p[j] - ker_p[j]
        # cAdvisor's housekeeping can return the same values two scrapes in a row at 15 s
        if stale > 0:
            rep = rng.random(len(times)) < stale
            rep[0] = False
            for j in sim["kill_idx"]:
                rep[j : j + 2] = False
            for j in sim["run_starts"]:
                rep[j : j + 2] = False
            for j in np.nonzero(rep)[0]:
                ws_p[j], rss_p[j], file_p[j] = ws_p[j - 1], rss_p[j - 1], file_p[j - 1]
        idx = np.nonzero(keep)[0]
        if len(idx) < 12:
            continue
        entry: dict = {"name": pod.name, "t": [int(x) for x in times[idx]], "bytes": [int(x) for x in ws_p[idx]]}
        signals: dict = {}
        if pod.cadvisor:
            signals["rss"] = [int(x) for x in rss_p[idx]]
            signals["file"] = [int(x) for x in file_p[idx]]
        if pod.runtime:
            com = np.floor(cols["committed"] / PAGE) * PAGE
            used = np.minimum(np.floor(cols["used"] / PAGE) * PAGE, com)
            signals[f"{pod.runtime}_committed"] = [int(x) for x in com[idx]]
            signals[f"{pod.runtime}_used"] = [int(x) for x in used[idx]]
            signals[f"{pod.runtime}_cap"] = [int(x) for x in np.floor(cols["cap"][idx])]
        entry["signals"] = signals
        pods_out.append(entry)
    names = {p["name"] for p in pods_out}
    leaking = [p.name for p in spec.pods if p.leaking and p.name in names]
    description = spec.description
    if leak:
        assert spec.onset is not None and oom is not None
        when = (oom - spec.onset) / HOUR
        tail = "after the data ends" if oom > data_end else "in the data"
        description += f"; first OOMKill {when:.1f} h after onset ({tail})"
    return {
        "format": 1,
        "name": name,
        "pattern": spec.pattern,
        "label": spec.label,
        "description": description,
        "seed": seed,
        "step_seconds": step,
        "limit_bytes": int(limit),
        "onset_time": int(spec.onset) if leak else None,
        "oom_time": oom,
        "leaking_pods": leaking,
        "pods": pods_out,
    }


# --------------------------------------------------------------------------------------------------
# shapes


def limit_between(rng: np.random.Generator, lo_mib: int, hi_mib: int) -> int:
    return int(rng.choice([m for m in LIMITS_MIB if lo_mib <= m <= hi_mib])) * MiB


def live_fill(lo: float, hi: float, fill_h: float, k: float, wobble: float = 0.02) -> Callable:
    """A live set filling near-linearly from lo to a bound hi over ~fill_h hours, then flat."""

    def f(rng, tr, ta):
        s = softsat(tr / (fill_h * HOUR), k)
        return (lo + (hi - lo) * s) * (1.0 + ar1(rng, tr, 1800.0, wobble))

    return f


def flat_live(level: float, warm_min: float = 20.0, wobble: float = 0.02) -> Callable:
    def f(rng, tr, ta):
        return level * (1 - np.exp(-tr / (warm_min * 60))) * (1.0 + ar1(rng, tr, 1800.0, wobble)) + 2 * MiB

    return f


def jvm_sizes(rng: np.random.Generator, limit: float, heap: tuple[float, float], nh: tuple[float, float]):
    nonheap = rng.uniform(*nh) * limit
    xmx = min(rng.uniform(*heap), 0.9 - nonheap / limit - 0.06) * limit
    return float(np.floor(xmx / MiB) * MiB), nonheap


def g1_heap_expansion(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 1024, 4096) if v < 2 else limit_between(rng, 6144, 8192)
    xmx, nonheap = jvm_sizes(rng, limit, (0.5, 0.66), (0.12, 0.2))
    occ = rng.uniform(0.55, 0.7)
    fill = rng.uniform(3, 8) if v < 2 else rng.uniform(9, 14)
    hours = rng.uniform(30, 48)
    hi = xmx * occ * rng.uniform(1.0, 1.08)
    uncommit = rng.uniform(1.5, 4.0) if v != 1 else 0.0
    replicas = 2 if v == 1 else 1
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=live_fill(0.03 * xmx, hi, fill * rng.uniform(0.9, 1.1), rng.uniform(3, 8)),
        occ=occ,
        nonheap=nonheap,
        uncommit=uncommit,
        load=env.traffic,
    )
    pods = env.versions([0.0], replicas, [f], runtime="jvm", report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM G1, MaxRAMPercentage {xmx / limit:.0%}: the live set (a cache warming) grows to "
        f"{hi / limit:.0%} of the limit over ~{fill:.1f} h and the committed heap expands in steps to -Xmx; "
        f"non-heap {nonheap / limit:.0%}"
        + (f"; periodic uncommit every ~{uncommit:.1f} h" if uncommit else "")
        + (f"; {replicas} replicas" if replicas > 1 else "")
    )
    return Spec("g1_heap_expansion", "no-leak", desc, limit, hours, env.step(hours, replicas), env.t0, pods)


def parallel_heap_fill(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 768, 3072)
    xmx, nonheap = jvm_sizes(rng, limit, (0.5, 0.65), (0.12, 0.2))
    occ = rng.uniform(0.45, 0.6)
    fill = rng.uniform(3, 8)
    hours = rng.uniform(24, 25) if v == 0 else rng.uniform(28, 44)
    hi = xmx * occ * rng.uniform(1.0, 1.05)
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=live_fill(0.04 * xmx, hi, fill, rng.uniform(2, 5)),
        gc="parallel",
        occ=occ,
        nonheap=nonheap,
        load=env.traffic,
        young_s=(4.0, 40.0),
    )
    runtime = "jvm" if v == 0 else None
    pods = env.versions([0.0], 1, [f], runtime=runtime, report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM ParallelGC, -Xmx {xmx / limit:.0%} of the limit: live set to {hi / limit:.0%} over ~{fill:.1f} h, "
        "the heap expanding in 2-4 big steps, old-gen garbage between full collections"
        + ("" if runtime else "; no Micrometer: cAdvisor signals only")
    )
    return Spec("parallel_heap_fill", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def jvm_cache_warm(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 4096, 8192)
    xmx, nonheap = jvm_sizes(rng, limit, (0.6, 0.72), (0.08, 0.13))
    occ = rng.uniform(0.6, 0.75)
    ttl = rng.uniform(8, 14)
    hi = xmx * occ * rng.uniform(0.98, 1.04)
    hours = rng.uniform(30, 50)
    replicas = 1 if v == 0 else 3

    def live(rng, tr, ta):
        # entries written at a steady rate and expiring after the TTL: linear, then flat
        s = np.clip(tr / (ttl * HOUR), 0, 1)
        return (0.03 * xmx + (hi - 0.03 * xmx) * s) * (1 + ar1(rng, tr, 3600.0, 0.01))

    f = lambda r: jvm(limit, xmx=xmx, live=live, occ=occ, nonheap=nonheap, load=env.traffic)  # noqa: E731
    pods = env.versions([0.0], replicas, [f], runtime="jvm", report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM G1 with a large heap (-Xmx {xmx / limit:.0%} of a {limit / GiB:.0f} GiB limit): a cache whose "
        f"entries expire after {ttl:.1f} h, so the live set grows linearly to {hi / limit:.0%} and holds"
        + (f"; {replicas} replicas" if replicas > 1 else "")
    )
    return Spec("jvm_cache_warm", "no-leak", desc, limit, hours, env.step(hours, replicas), env.t0, pods)


def jvm_nonheap_warm(env: Env, v: int) -> Spec:
    rng = env.rng
    hours = rng.uniform(30, 56)
    if v == 0:
        limit = limit_between(rng, 768, 1536)
        xmx = float(np.floor(rng.uniform(0.35, 0.48) * limit / MiB) * MiB)
        code_cap = min(rng.uniform(0.15, 0.24) * limit, 240 * MiB)
        fill = rng.uniform(6, 12)

        def extra(rng, tr, ta):
            return code_cap * softsat(tr / (fill * HOUR), rng.uniform(3, 6))

        what = f"JIT code cache growing to {code_cap / MiB:.0f} MiB ({code_cap / limit:.0%}) over ~{fill:.0f} h"
    else:
        env.start_at_local(22, 27)
        limit = limit_between(rng, 1024, 2048)
        xmx = float(np.floor(rng.uniform(0.3, 0.4) * limit / MiB) * MiB)
        nmax = int(rng.integers(200, 400))
        per = rng.uniform(0.22, 0.3) * limit / nmax
        traffic = env.traffic

        def extra(rng, tr, ta):
            want = np.minimum(nmax * traffic(ta) * np.exp(0.15 * rng.standard_normal(len(ta))), nmax)
            return np.maximum.accumulate(np.floor(want)) * per

        what = (
            f"a thread pool growing to the busiest hour's concurrency (up to {nmax} threads, {per / MiB:.1f} MiB each)"
        )
    nonheap = 0.1 * limit
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        xms=xmx,
        pretouch=True,
        live=flat_live(0.35 * xmx),
        nonheap=nonheap,
        native=extra,
        load=env.traffic,
    )
    pods = env.versions([0.0], 1, [f], runtime="jvm", report=float(rng.uniform(15, 50)))[0]
    desc = f"JVM with -Xms=-Xmx {xmx / limit:.0%} pre-touched (the heap is flat); outside the heap, {what}, then flat"
    return Spec("jvm_nonheap_warm", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def go_memlimit_fill(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 512, 4096)
    memlimit = float(np.floor(rng.uniform(0.7, 0.85) * limit / MiB) * MiB)
    gogc = 100.0 if v == 0 else float(rng.choice([150, 200]))
    room = memlimit - 14 * MiB
    hi = room * rng.uniform(0.55, 0.66) / (1 + gogc / 100) * 2
    hi = min(hi, 0.8 * room)
    fill = rng.uniform(4, 12)
    hours = rng.uniform(26, 44)
    replicas = 1 if v == 0 else 2
    f = lambda r: gomodel(  # noqa: E731
        limit,
        live=live_fill(0.02 * limit, hi, fill, rng.uniform(3, 8)),
        gogc=gogc,
        memlimit=memlimit,
        load=env.traffic,
    )
    pods = env.versions([0.0], replicas, [f], runtime="go", report=float(rng.uniform(3, 20)))[0]
    desc = (
        f"Go, GOGC={gogc:.0f}, GOMEMLIMIT {memlimit / limit:.0%} of the limit: the live heap grows to "
        f"{hi / limit:.0%} over ~{fill:.0f} h, the heap goal reaches the soft limit and GC holds it there"
        + (f"; {replicas} replicas" if replicas > 1 else "")
    )
    return Spec("go_memlimit_fill", "no-leak", desc, limit, hours, env.step(hours, replicas), env.t0, pods)


def go_cache_entries(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 384, 2048)
    gogc = 100.0 if v == 0 else 50.0
    target = rng.uniform(0.55, 0.8) * limit
    hi = (target - 30 * MiB) / (1 + gogc / 100) / 1.06
    fill = rng.uniform(5, 14)
    hours = rng.uniform(24, 25)
    traffic = env.traffic

    def live(rng, tr, ta):
        # entries are inserted with traffic until the entry cap
        c = traffic.cum(ta) - traffic.cum(ta[0] - tr[0])
        s = softsat(c / (fill * HOUR * 0.6), rng.uniform(6, 12))
        return (4 * MiB + hi * s) * (1 + ar1(rng, tr, 900.0, 0.01))

    f = lambda r: gomodel(limit, live=live, gogc=gogc, load=traffic)  # noqa: E731
    pods = env.versions([0.0], 1, [f], runtime="go", report=float(rng.uniform(3, 20)))[0]
    desc = (
        f"Go, GOGC={gogc:.0f}, no GOMEMLIMIT (go_cap 0): a cache filling with traffic to its entry cap, "
        f"{hi / MiB:.0f} MiB of live data (~{target / limit:.0%} of the limit in the working set) "
        f"after ~{fill:.0f} h of traffic, then flat"
    )
    return Spec("go_cache_entries", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def writer_files(limit: float, rss_level: float, target: float, fill_h: float) -> Callable:
    """Page cache of a process writing and re-reading files: the active part climbs to `target`
    of the limit in the working set and the kernel holds it there; the inactive part fills the rest."""

    def files(rng, tr, ta):
        a_top = target * limit - rss_level - 0.012 * limit
        s = softsat(tr / (fill_h * HOUR), rng.uniform(6, 14))
        jag = 1.0 - 0.025 * cycle_frac(rng, tr, rng.uniform(8, 30) * 60)  # reclaim in chunks
        active = a_top * s * jag
        inactive = np.minimum(tr / (rng.uniform(1, 4) * HOUR), 1.0) * limit
        return active, inactive

    return files


def log_page_cache(env: Env, v: int) -> Spec:
    rng = env.rng
    hours = rng.uniform(26, 48)
    target = rng.uniform(0.82, 0.91)
    fill = rng.uniform(6, 14)
    if v == 0:
        limit = limit_between(rng, 512, 2048)
        level = rng.uniform(0.06, 0.15) * limit
        f = lambda r: native(  # noqa: E731
            limit, anon=flat_live(level, 2.0), files=writer_files(limit, level, target, fill), load=env.traffic
        )
        pods = env.versions([0.0], 1, [f])[0]
        desc = f"a C proxy writing access logs and serving files: RSS flat at {level / limit:.0%}"
    else:
        limit = limit_between(rng, 1024, 4096)
        xmx = float(np.floor(rng.uniform(0.22, 0.32) * limit / MiB) * MiB)
        level = xmx + 0.12 * limit
        f = lambda r: jvm(  # noqa: E731
            limit,
            xmx=xmx,
            xms=xmx,
            pretouch=True,
            live=flat_live(0.4 * xmx),
            nonheap=0.1 * limit,
            files=writer_files(limit, level, target, fill),
            load=env.traffic,
        )
        pods = env.versions([0.0], 2, [f], runtime="jvm", report=float(rng.uniform(15, 50)))[0]
        pods[1].cadvisor = False
        desc = (
            f"a JVM writing log segments (-Xms=-Xmx {xmx / limit:.0%}, pre-touched: heap flat), 2 replicas; the second "
            "pod's rss/file are not scraped"
        )
    desc += f"; active page cache climbs the working set to ~{target:.0%} of the limit over ~{fill:.0f} h and holds"
    return Spec("log_page_cache", "no-leak", desc, limit, hours, env.step(hours, len(pods)), env.t0, pods)


def allocator_hwm(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 256, 1536)
    traffic = env.traffic
    if v == 0:
        env.start_at_local(23, 29)
        traffic = env.traffic
        base = rng.uniform(0.1, 0.2) * limit
        amp = rng.uniform(0.4, 0.6) * limit
        hours = rng.uniform(36, 60)

        def anon(rng, tr, ta):
            demand = base + amp * traffic(ta) / 1.15 * (1 + 0.08 * rng.standard_normal(len(ta)))
            hwm = np.maximum.accumulate(demand)
            trim = 1.0 - 0.03 * (cycle_frac(rng, tr, 6 * HOUR) < 0.05)
            return hwm * trim

        desc = (
            f"CPython (pymalloc arenas + glibc): RSS at the high-water mark of demand, {base / limit:.0%} plus up to "
            f"{amp / limit:.0%} with traffic; started at night, so the first morning climbs for hours, later days "
            "add only small records"
        )
    else:
        base = rng.uniform(0.08, 0.15) * limit
        conns = rng.uniform(0.45, 0.65) * limit
        fill = rng.uniform(5, 12)
        hours = rng.uniform(26, 40)
        tau = rng.uniform(2, 6) * HOUR

        def anon(rng, tr, ta):
            demand = base + conns * softsat(tr / (fill * HOUR), 5.0) * (0.85 + 0.15 * traffic(ta))
            return decay_max(demand, tr, tau)

        desc = (
            f"a C service on jemalloc: a connection pool opening up to {conns / limit:.0%} of the limit in buffers "
            f"over ~{fill:.0f} h, dirty pages retained (decay ~{tau / HOUR:.0f} h)"
        )
    f = lambda r: native(limit, anon=anon, load=traffic)  # noqa: E731
    pods = env.versions([0.0], 1, [f])[0]
    return Spec("allocator_hwm", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def redeploy_fill(env: Env, v: int) -> Spec:
    rng = env.rng
    nver = int(rng.integers(2, 5))
    gaps = rng.uniform(8, 20, nver - 1) if nver > 2 else rng.uniform(14, 30, 1)
    deploys = [0.0, *np.cumsum(gaps).tolist()]
    hours = min(max(deploys[-1] + rng.uniform(12, 24), 30.0), 72.0)
    fill = rng.uniform(5, 11)
    if v == 0:
        limit = limit_between(rng, 1024, 4096)
        xmx, nonheap = jvm_sizes(rng, limit, (0.55, 0.66), (0.12, 0.18))
        occ = rng.uniform(0.55, 0.7)
        hi = xmx * occ * 1.03

        def fac(r):
            return jvm(
                limit,
                xmx=xmx,
                live=live_fill(0.03 * xmx, hi, fill, 4.0),
                occ=occ,
                nonheap=nonheap,
                uncommit=2.5,
                load=env.traffic,
            )

        replicas, kw = 1, {"runtime": "jvm", "report": float(rng.uniform(20, 90))}
        what = f"JVM G1 filling its heap to -Xmx ({xmx / limit:.0%}) over ~{fill:.0f} h"
    elif v == 1:
        limit = limit_between(rng, 512, 2048)
        memlimit = float(np.floor(rng.uniform(0.72, 0.85) * limit / MiB) * MiB)
        hi = (memlimit - 14 * MiB) * 0.33

        def fac(r):
            return gomodel(limit, live=live_fill(0.02 * limit, hi, fill, 5.0), memlimit=memlimit, load=env.traffic)

        replicas, kw = 2, {"runtime": "go", "report": float(rng.uniform(3, 15))}
        what = f"Go growing to GOMEMLIMIT ({memlimit / limit:.0%}) over ~{fill:.0f} h"
    else:
        limit = limit_between(rng, 512, 2048)
        base = rng.uniform(0.08, 0.14) * limit
        old = rng.uniform(0.45, 0.62) * limit

        def anon(rng, tr, ta):
            s = softsat(tr / (fill * HOUR), 4.0)
            garbage = 0.12 * old * s * cycle_frac(rng, tr, rng.uniform(10, 40) * 60)
            return base + old * s + garbage

        def fac(r):
            return native(limit, anon=anon, text=30 * MiB, load=env.traffic)

        replicas, kw = 2, {}
        what = f"Node.js old space filling towards max-old-space-size ({old / limit:.0%}) over ~{fill:.0f} h"
    pods = [p for ver in env.versions(deploys, replicas, [fac] * nver, **kw) for p in ver]
    desc = f"{nver} versions deployed {', '.join(f'{d:.1f}' for d in deploys[1:])} h in; each: {what}, then flat"
    return Spec("redeploy_fill", "no-leak", desc, limit, hours, env.step(hours, replicas), env.t0, pods)


def daily_state(env: Env, v: int) -> Spec:
    rng = env.rng
    env.start_at_local(20, 27)
    traffic = env.traffic
    limit = limit_between(rng, 512, 3072)
    hours = rng.uniform(48, 72)
    state = rng.uniform(0.14, 0.26) * limit
    release = rng.uniform(0.0, 2.0)
    rel_h = rng.uniform(0.5, 1.5)
    per_day = traffic.per_day()

    def day(rng, tr, ta):
        # state built since the last release, and yesterday's still being released; none before the start
        origin = ta[0] - tr[0]
        loc = traffic.local(ta) - release * HOUR
        mark = ta - (loc % DAY)
        built = traffic.cum(ta) - traffic.cum(np.maximum(mark, origin))
        prev = np.maximum(traffic.cum(mark) - traffic.cum(np.maximum(mark - DAY, origin)), 0.0)
        fading = prev * np.clip(1.0 - (ta - mark) / (rel_h * HOUR), 0.0, 1.0)
        return state * (built + fading) / per_day

    if v == 0:
        base = rng.uniform(0.05, 0.12) * limit

        def live(rng, tr, ta):
            return base + day(rng, tr, ta) * (1 + ar1(rng, tr, 1200.0, 0.01))

        f = lambda r: gomodel(limit, live=live, load=traffic, scav_tau=rng.uniform(900, 3600))  # noqa: E731
        kw = {"runtime": "go", "report": float(rng.uniform(3, 15))}
        what = "Go (no GOMEMLIMIT), the scavenger returning the freed heap over the next hour"
    else:
        xmx, nonheap = jvm_sizes(rng, limit if limit >= GiB else 1.0 * GiB, (0.55, 0.65), (0.12, 0.18))
        limit = max(limit, GiB)
        state = min(state, 0.25 * xmx)
        base = 0.12 * xmx
        occ = 0.7

        def live(rng, tr, ta):
            return base + day(rng, tr, ta)

        f = lambda r: jvm(limit, xmx=xmx, live=live, occ=occ, nonheap=nonheap, uncommit=1.0, load=traffic)  # noqa: E731
        kw = {"runtime": "jvm", "report": float(rng.uniform(20, 60))}
        what = "JVM G1 with periodic uncommit, the committed heap following the live set down at night in steps"
    pods = env.versions([0.0], 1, [f], **kw)[0]
    desc = (
        f"per-day state of ~{state / limit:.0%} of the limit built with the day's traffic and released "
        f"{release:.1f} h after midnight over ~{rel_h:.1f} h; started in the evening; {what}"
    )
    return Spec("daily_state", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def random_wander(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 384, 2048)
    hours = rng.uniform(30, 60)
    tau = rng.uniform(6, 16) * HOUR
    sd = rng.uniform(0.05, 0.08) * limit
    base = rng.uniform(0.3, 0.42) * limit

    def walk(rng, tr, ta):
        return np.clip(base + ar1(rng, tr, tau, sd), 0.1 * limit, 0.7 * limit)

    if v == 0:
        f = lambda r: native(limit, anon=walk, load=env.traffic)  # noqa: E731
        kw: dict = {}
        what = "a Python worker (cAdvisor only)"
    else:

        def live(rng, tr, ta):
            return walk(rng, tr, ta) / 2.15

        f = lambda r: gomodel(limit, live=live, load=env.traffic, scav_tau=2400.0)  # noqa: E731
        kw = {"runtime": "go", "report": float(rng.uniform(3, 15))}
        what = "a Go queue consumer whose backlog wanders (no GOMEMLIMIT)"
    pods = env.versions([0.0], 1, [f], **kw)[0]
    desc = (
        f"{what}: memory wanders around {base / limit:.0%} of the limit (tau {tau / HOUR:.0f} h, sd {sd / limit:.0%})"
    )
    return Spec("random_wander", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


def memory_spool(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 512, 2048)
    hours = rng.uniform(24, 25)
    level = rng.uniform(0.08, 0.15) * limit
    cap = rng.uniform(0.5, 0.68) * limit
    fill = rng.uniform(5, 12)

    def files(rng, tr, ta):
        s = softsat(tr / (fill * HOUR), rng.uniform(8, 16))
        shmem = cap * s * (1 - 0.02 * cycle_frac(rng, tr, 600.0))
        return shmem, np.full(len(tr), 4 * MiB)

    f = lambda r: native(limit, anon=flat_live(level, 3.0), files=files, load=env.traffic)  # noqa: E731
    pods = env.versions([0.0], 1, [f])[0]
    desc = (
        f"a spool in a memory-backed emptyDir (tmpfs: in `file` and in the working set, not reclaimable) "
        f"filling to its size cap of {cap / limit:.0%} over ~{fill:.0f} h while the consumer lags; RSS flat"
    )
    return Spec("memory_spool", "no-leak", desc, limit, hours, env.step(hours, 1), env.t0, pods)


# ---- leaks


def rate_for(env: Env, start: float, oom_h: float, need: float) -> float:
    """Bytes per second at full traffic such that `need` bytes leak in oom_h hours from `start`."""
    span = env.traffic.cum(np.array([start + oom_h * HOUR]))[0] - env.traffic.cum(np.array([start]))[0]
    return need / max(span, 1.0)


def traffic_leak(env: Env, rate: float, chunk: float = 0.0, start: float | None = None) -> Callable:
    """A leak proportional to traffic since the container start (or since `start`), in chunks or smooth."""
    traffic = env.traffic

    def f(rng, tr, ta):
        origin = ta[0] - tr[0] if start is None else start
        c = np.maximum(traffic.cum(ta) - traffic.cum(np.array([origin]))[0], 0.0)
        if chunk > 0:
            return poisson_steps(rng, rate * c / chunk) * chunk
        return rate * c * (1 + ar1(rng, tr, 3600.0, 0.01))

    return f


def jvm_direct_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 768, 3072)
    xmx, nonheap = jvm_sizes(rng, limit, (0.25, 0.38), (0.12, 0.18))
    base = xmx + nonheap + 0.05 * limit
    oom_h = rng.uniform(10, 20) if v == 0 else rng.uniform(30, 42)
    chunk = float(rng.choice([4, 16])) * MiB
    rate = rate_for(env, env.t0, oom_h, limit - base)
    hours = rng.uniform(36, 48) if v == 0 else oom_h
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=live_fill(0.05 * xmx, 0.4 * xmx, 1.5, 3.0),
        nonheap=nonheap,
        native=traffic_leak(env, rate, chunk),
        load=env.traffic,
    )
    pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM G1 (-Xmx {xmx / limit:.0%}, heap full and flat after warm-up) leaking pooled direct buffers in "
        f"{chunk / MiB:.0f} MiB chunks with traffic from the start"
    )
    gap = (1.0, 6.0) if v == 1 else None
    if gap:
        desc += "; the data ends before the OOM"
    return Spec(
        "jvm_direct_leak",
        "leak",
        desc,
        limit,
        hours,
        env.step(hours, 1),
        env.t0,
        pods,
        onset=pods[0].start,
        end_before_oom=gap,
        ext_hours=30.0,
    )


def jvm_thread_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 1024, 3072)
    xmx, nonheap = jvm_sizes(rng, limit, (0.3, 0.45), (0.1, 0.15))
    per = rng.uniform(1.0, 1.6) * MiB
    oom_h = rng.uniform(20, 45)
    base = xmx + nonheap + 0.04 * limit
    rate = rate_for(env, env.t0, oom_h, limit - base)
    hours = rng.uniform(48, 72)
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=flat_live(0.3 * xmx),
        gc="parallel",
        occ=0.5,
        nonheap=nonheap,
        native=traffic_leak(env, rate, per),
        load=env.traffic,
    )
    pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM ParallelGC (-Xmx {xmx / limit:.0%}, heap flat): a thread leak, one executor thread per failed "
        f"batch never shut down, {per / MiB:.1f} MiB resident each, at a rate following traffic"
    )
    return Spec("jvm_thread_leak", "leak", desc, limit, hours, env.step(hours, 1), env.t0, pods, onset=pods[0].start)


def jvm_class_native_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 1024, 3072)
    xmx, nonheap = jvm_sizes(rng, limit, (0.35, 0.5), (0.12, 0.16))
    oom_h = rng.uniform(10, 36)
    base = xmx + nonheap + 0.05 * limit
    hours = rng.uniform(32, 48)
    if v == 0:
        every = rng.uniform(20, 90) * 60
        per = (limit - base) / (oom_h * HOUR / every)

        def leak(rng, tr, ta):
            return poisson_steps(rng, tr / every) * per * (1 + 0.2 * rng.random())

        uncommit = 0.0
        what = (
            f"a class-loader leak: templates recompiled every ~{every / 60:.0f} min leave their loader behind, "
            f"metaspace +{per / MiB:.0f} MiB each"
        )
    else:
        rate = rate_for(env, env.t0, oom_h, limit - base)
        leak = traffic_leak(env, rate)
        uncommit = rng.uniform(1.0, 2.5)
        what = "a native-library leak (Inflaters never ended: zlib buffers in malloc) with traffic, G1 uncommit dips"
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=live_fill(0.05 * xmx, 0.45 * xmx, 2.0, 3.0),
        nonheap=nonheap,
        native=leak,
        uncommit=uncommit,
        load=env.traffic,
    )
    pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
    desc = f"JVM G1 (-Xmx {xmx / limit:.0%}, the heap capped): {what}"
    return Spec(
        "jvm_class_native_leak", "leak", desc, limit, hours, env.step(hours, 1), env.t0, pods, onset=pods[0].start
    )


def jvm_heap_leak_xmx(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 1024, 4096)
    nonheap = rng.uniform(0.1, 0.16) * limit
    xmx = float(np.floor(rng.uniform(0.95, 1.25) * limit / MiB) * MiB)
    occ = rng.uniform(0.6, 0.72)
    l0 = 0.08 * limit
    if v == 0:
        oom_h = rng.uniform(5, 12)
        hours = rng.uniform(30, 40)
        slope = ((limit - nonheap - 0.06 * limit) * occ - l0) / (oom_h * HOUR)

        def live(rng, tr, ta):
            return (l0 * (1 - np.exp(-tr / 900.0)) + slope * tr) * (1 + ar1(rng, tr, 1800.0, 0.01))

        what = f"linearly (OOM ~{oom_h:.0f} h after each start), again after every restart"
    else:
        env.start_at_local(0, 4)
        oom_h = rng.uniform(30, 55)
        hours = rng.uniform(60, 72)
        rate = rate_for(env, env.t0, oom_h, (limit - nonheap - 0.06 * limit) * occ - l0)
        grow = traffic_leak(env, rate)

        def live(rng, tr, ta):
            return l0 * (1 - np.exp(-tr / 900.0)) + grow(rng, tr, ta)

        what = "with traffic (sessions never expired): by day, barely at night, over days"
    f = lambda r: jvm(limit, xmx=xmx, live=live, occ=occ, nonheap=nonheap, load=env.traffic)  # noqa: E731
    pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM G1 with -Xmx {xmx / limit:.0%} of the container limit (more than it can hold with non-heap): "
        f"the live set after GC grows {what}; the container is OOMKilled before the JVM runs out of heap"
    )
    return Spec(
        "jvm_heap_leak_xmx",
        "leak",
        desc,
        limit,
        hours,
        env.step(hours, 1),
        env.t0,
        pods,
        onset=pods[0].start,
        ext_hours=80.0,
    )


def go_heap_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 384, 2048)
    gogc = 100.0
    oom_h = rng.uniform(10, 36)
    hours = rng.uniform(30, 48)
    l0 = rng.uniform(0.03, 0.08) * limit
    need = (limit * 0.97 - 40 * MiB) / 2.1 - l0
    if v == 0:
        slope = need / (oom_h * HOUR)

        def live(rng, tr, ta):
            return l0 + slope * tr * (1 + ar1(rng, tr, 3600.0, 0.02))

        memlimit = 0.0
        what = "leaked goroutines (each with its buffers) at a steady rate, no GOMEMLIMIT"
    else:
        grow = traffic_leak(env, rate_for(env, env.t0, oom_h, need))

        def live(rng, tr, ta):
            return l0 * (1 - np.exp(-tr / 900.0)) + grow(rng, tr, ta)

        memlimit = float(np.floor(rng.uniform(1.1, 1.4) * limit / MiB) * MiB)
        what = f"a map never pruned, growing with traffic; GOMEMLIMIT {memlimit / limit:.0%} of the limit (above it)"
    f = lambda r: gomodel(limit, live=live, gogc=gogc, memlimit=memlimit, load=env.traffic)  # noqa: E731
    pods = env.versions([0.0], 1, [f], runtime="go", leaking=True, report=float(rng.uniform(3, 15)))[0]
    desc = f"Go, GOGC=100: the live heap grows from {l0 / limit:.0%} of the limit: {what}"
    return Spec("go_heap_leak", "leak", desc, limit, hours, env.step(hours, 1), env.t0, pods, onset=pods[0].start)


def cgo_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 512, 2048)
    hi = rng.uniform(0.1, 0.2) * limit
    if v == 0:
        memlimit = 0.0
        oom_h = rng.uniform(12, 36)
        hours = rng.uniform(30, 48)
    else:
        memlimit = float(np.floor(rng.uniform(0.7, 0.8) * limit / MiB) * MiB)
        oom_h = rng.uniform(5, 10)
        hours = rng.uniform(28, 36)
    base = 2.2 * hi + 40 * MiB
    leak = traffic_leak(env, rate_for(env, env.t0, oom_h, limit - base))
    f = lambda r: gomodel(  # noqa: E731
        limit, live=live_fill(0.02 * limit, hi, 1.0, 3.0), memlimit=memlimit, cgo=leak, load=env.traffic
    )
    pods = env.versions([0.0], 1, [f], runtime="go", leaking=True, report=float(rng.uniform(3, 15)))[0]
    desc = (
        "Go with a cgo library (a C client) leaking malloc'd buffers with traffic: the Go heap stays bounded "
        f"({hi / limit:.0%} live), the growth is outside the runtime"
        + (f"; GOMEMLIMIT {memlimit / limit:.0%}, which does not see it; OOMKilled repeatedly" if memlimit else "")
    )
    return Spec("cgo_leak", "leak", desc, limit, hours, env.step(hours, 1), env.t0, pods, onset=pods[0].start)


def version_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    if v == 0:
        limit = limit_between(rng, 1024, 3072)
        xmx, nonheap = jvm_sizes(rng, limit, (0.35, 0.5), (0.12, 0.16))
        at = rng.uniform(8, 20)
        oom_h = rng.uniform(10, 28)
        hours = min(at + rng.uniform(22, 36), 72.0)
        base = xmx + nonheap + 0.05 * limit
        rate = rate_for(env, env.t0 + at * HOUR, oom_h, limit - base)

        def fac(r, leaking):
            return jvm(
                limit,
                xmx=xmx,
                live=live_fill(0.05 * xmx, 0.5 * xmx, 2.0, 3.0),
                nonheap=nonheap,
                native=traffic_leak(env, rate) if leaking else None,
                load=env.traffic,
            )

        vers = env.versions(
            [0.0, at],
            2,
            [lambda r: fac(r, False), lambda r: fac(r, True)],
            runtime="jvm",
            leaking=[False, True],
            report=float(rng.uniform(15, 50)),
        )
        pods = vers[0] + vers[1]
        onset = vers[1][0].start
        desc = (
            f"JVM G1, 2 replicas: flat, then a rolling update {at:.1f} h in to a version leaking native memory "
            "(both new pods)"
        )
        concurrent = 2
    elif v == 1:
        limit = limit_between(rng, 512, 2048)
        at = rng.uniform(6, 18)
        oom_h = rng.uniform(8, 28)
        hours = min(at + rng.uniform(22, 34), 72.0)
        hi = rng.uniform(0.15, 0.25) * limit
        memlimit = float(np.floor(0.8 * limit / MiB) * MiB)
        need = (0.97 * limit - 40 * MiB) / 2.1 - hi
        slope = need / (oom_h * HOUR)

        def leaky(rng, tr, ta):
            return hi * softsat(tr / 1800.0, 3.0) + slope * tr

        old = env.versions(
            [0.0],
            2,
            [lambda r: gomodel(limit, live=flat_live(hi), memlimit=memlimit, load=env.traffic)],
            runtime="go",
            report=float(rng.uniform(3, 15)),
        )[0]
        canary = Pod(
            env.name(env.hash()),
            env.t0 + at * HOUR,
            np.inf,
            gomodel(limit, live=leaky, memlimit=1.3 * limit, load=env.traffic),
            leaking=True,
            runtime="go",
            report=float(rng.uniform(3, 15)),
        )
        pods = [*old, canary]
        onset = canary.start
        desc = (
            f"Go, 2 replicas with GOMEMLIMIT 80%; {at:.1f} h in a canary of a new version starts next to them "
            "with GOMEMLIMIT set above the limit and leaks heap; the old pods stay flat"
        )
        concurrent = 3
    else:
        limit = limit_between(rng, 256, 1024)
        d1, d2 = rng.uniform(6, 14), rng.uniform(6, 14)
        at = d1 + d2
        oom_h = rng.uniform(3, 8)
        hours = min(at + rng.uniform(14, 30), 72.0)
        level = rng.uniform(0.2, 0.35) * limit
        slope = (limit - level - 0.06 * limit) / (oom_h * HOUR)

        def flat_py(r):
            return native(limit, anon=flat_live(level, 10.0), load=env.traffic)

        def leak_py(r):
            return native(
                limit, anon=lambda rng, tr, ta: flat_live(level, 10.0)(rng, tr, ta) + slope * tr, load=env.traffic
            )

        vers = env.versions([0.0, d1, at], 1, [flat_py, flat_py, leak_py], leaking=[False, False, True])
        pods = [p for ver in vers for p in ver]
        onset = vers[2][0].start
        desc = (
            f"a Python service (cAdvisor only), 3 versions ({d1:.1f} h and {at:.1f} h in); the third leaks "
            "fast and is OOMKilled again and again"
        )
        concurrent = 1
    return Spec("version_leak", "leak", desc, limit, hours, env.step(hours, concurrent), env.t0, pods, onset=onset)


def anon_under_cache(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 512, 2048)
    level = rng.uniform(0.12, 0.2) * limit
    oom_h = rng.uniform(20, 48)
    hours = rng.uniform(36, 60)
    slope = (limit - level) / (oom_h * HOUR)
    share = rng.uniform(0.35, 0.55)

    def files(rng, tr, ta):
        active = share * limit * softsat(tr / (rng.uniform(1, 3) * HOUR), 4.0)
        active = active * (1 + ar1(rng, tr, 1200.0, 0.06))
        return active, np.full(len(tr), limit)

    def anon(rng, tr, ta):
        return level + slope * tr

    f = lambda r: native(limit, anon=anon, files=files, load=env.traffic)  # noqa: E731
    replicas = 1 if v == 0 else 2
    pods = env.versions([0.0], replicas, [f], leaking=True)[0]
    if v == 1:
        pods[1].cadvisor = False
    desc = (
        f"a service writing and re-reading files (active page cache ~{share:.0%} of the limit, noisy, reclaimed "
        f"as anonymous memory grows) leaking anonymous memory from {level / limit:.0%} at a steady rate"
        + ("; 2 replicas, the second pod's rss/file not scraped" if v == 1 else "")
    )
    return Spec(
        "anon_under_cache",
        "leak",
        desc,
        limit,
        hours,
        env.step(hours, replicas),
        env.t0,
        pods,
        onset=min(p.start for p in pods),
    )


def oom_restart_loop(env: Env, v: int) -> Spec:
    rng = env.rng
    limit = limit_between(rng, 256, 1536)
    hours = rng.uniform(24, 25) if v == 0 else rng.uniform(28, 36)
    oom_h = rng.uniform(3, 8) if v == 0 else rng.uniform(4, 10)
    if v == 0:
        level = rng.uniform(0.15, 0.25) * limit
        slope = (limit - level) / (oom_h * HOUR)
        f = lambda r: native(  # noqa: E731
            limit,
            anon=lambda rng, tr, ta: flat_live(level, 5.0)(rng, tr, ta) + slope * tr,
            text=30 * MiB,
            load=env.traffic,
        )
        pods = env.versions([0.0], 1, [f], leaking=True)[0]
        desc = f"Node.js (cAdvisor only) leaking ~{slope * HOUR / limit:.0%} of the limit per hour from each start"
    else:
        l0 = rng.uniform(0.04, 0.08) * limit
        slope = ((0.97 * limit - 40 * MiB) / 2.1 - l0) / (oom_h * HOUR)
        f = lambda r: gomodel(  # noqa: E731
            limit, live=lambda rng, tr, ta: l0 + slope * tr * (1 + ar1(rng, tr, 1800.0, 0.02)), load=env.traffic
        )
        pods = env.versions([0.0], 2, [f], runtime="go", leaking=True, report=float(rng.uniform(3, 15)))[0]
        pods[1].start += rng.uniform(0.3, 0.7) * oom_h * HOUR  # the second replica out of phase
        desc = (
            f"Go (no GOMEMLIMIT), 2 replicas started {(pods[1].start - pods[0].start) / HOUR:.1f} h apart, both leaking"
        )
    desc += f"; OOMKilled about every {oom_h:.1f} h, restarted, and again"
    return Spec(
        "oom_restart_loop",
        "leak",
        desc,
        limit,
        hours,
        env.step(hours, len(pods)),
        env.t0,
        pods,
        onset=pods[0].start,
        ext_hours=12.0,
    )


def slow_multi_day(env: Env, v: int) -> Spec:
    rng = env.rng
    if v == 0:
        limit = limit_between(rng, 1024, 4096)
        xmx, nonheap = jvm_sizes(rng, limit, (0.45, 0.55), (0.12, 0.16))
        oom_h = rng.uniform(45, 75)
        hours = rng.uniform(60, 72)
        base = xmx + nonheap + 0.05 * limit
        rate = rate_for(env, env.t0, oom_h, limit - base)
        f = lambda r: jvm(  # noqa: E731
            limit,
            xmx=xmx,
            live=live_fill(0.05 * xmx, 0.55 * xmx, 5.0, 3.0),
            nonheap=nonheap,
            native=traffic_leak(env, rate),
            uncommit=3.0,
            load=env.traffic,
        )
        pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
        desc = (
            f"JVM G1 warming its heap to -Xmx ({xmx / limit:.0%}) over ~5 h, and a slow native leak with "
            "traffic from the start"
        )
        gap = None
    else:
        limit = limit_between(rng, 384, 1536)
        level = rng.uniform(0.3, 0.45) * limit
        oom_h = rng.uniform(55, 80)
        hours = 72.0
        slope = (limit - level - 0.04 * limit) / (oom_h * HOUR)
        f = lambda r: native(  # noqa: E731
            limit, anon=lambda rng, tr, ta: flat_live(level, 30.0)(rng, tr, ta) + slope * tr, load=env.traffic
        )
        pods = env.versions([0.0], 1, [f], leaking=True)[0]
        rate = slope * HOUR / limit
        desc = f"a Python service (cAdvisor only) leaking {rate:.2%} of the limit per hour from {level / limit:.0%}"
        gap = (10.0, 30.0)
        desc += "; the data ends long before the OOM"
    return Spec(
        "slow_multi_day",
        "leak",
        desc,
        limit,
        hours,
        env.step(72, 1),
        env.t0,
        pods,
        onset=pods[0].start,
        end_before_oom=gap,
        ext_hours=60.0,
    )


def traffic_heap_leak(env: Env, v: int) -> Spec:
    rng = env.rng
    env.start_at_local(21, 26)
    limit = limit_between(rng, 1024, 4096)
    nonheap = rng.uniform(0.1, 0.14) * limit
    xmx = float(np.floor(rng.uniform(0.85, 0.95) * limit / MiB) * MiB)
    occ = rng.uniform(0.65, 0.75)
    oom_h = rng.uniform(30, 55)
    hours = rng.uniform(56, 72)
    l0 = 0.1 * limit
    grow = traffic_leak(env, rate_for(env, env.t0, oom_h, (limit - nonheap - 0.04 * limit) * occ - l0))
    f = lambda r: jvm(  # noqa: E731
        limit,
        xmx=xmx,
        live=lambda rng, tr, ta: l0 * (1 - np.exp(-tr / 900.0)) + grow(rng, tr, ta),
        occ=occ,
        nonheap=nonheap,
        uncommit=2.0,
        load=env.traffic,
    )
    pods = env.versions([0.0], 1, [f], runtime="jvm", leaking=True, report=float(rng.uniform(15, 50)))[0]
    desc = (
        f"JVM G1, -Xmx {xmx / limit:.0%} of the limit: sessions retained forever, the live set grows with "
        "traffic (by day, barely at night); started in the evening"
    )
    return Spec(
        "traffic_heap_leak",
        "leak",
        desc,
        limit,
        hours,
        env.step(hours, 1),
        env.t0,
        pods,
        onset=pods[0].start,
        ext_hours=60.0,
    )


PATTERNS: list[tuple[Callable[[Env, int], Spec], int]] = [
    (g1_heap_expansion, 3),
    (parallel_heap_fill, 2),
    (jvm_cache_warm, 2),
    (jvm_nonheap_warm, 2),
    (go_memlimit_fill, 2),
    (go_cache_entries, 2),
    (log_page_cache, 2),
    (allocator_hwm, 2),
    (redeploy_fill, 3),
    (daily_state, 2),
    (random_wander, 2),
    (memory_spool, 1),
    (jvm_direct_leak, 2),
    (jvm_thread_leak, 1),
    (jvm_class_native_leak, 2),
    (jvm_heap_leak_xmx, 2),
    (go_heap_leak, 2),
    (cgo_leak, 2),
    (version_leak, 3),
    (anon_under_cache, 2),
    (oom_restart_loop, 2),
    (slow_multi_day, 2),
    (traffic_heap_leak, 1),
]


def build(seed: int, index: int, variant: int) -> dict:
    fn, _ = PATTERNS[index]
    trace_seed = seed * 100_000 + index * 100 + variant
    rng = np.random.default_rng(trace_seed)
    env = Env(rng)
    spec = fn(env, variant)
    spec.outages = int(rng.integers(1, 4)) if rng.random() < 0.3 else 0
    name = f"{fn.__name__}-{variant:02d}"
    return render(spec, trace_seed, rng, name)


def write(doc: dict, path: Path) -> None:
    raw = json.dumps(doc, separators=(",", ":")).encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    path.write_bytes(buf.getvalue())


def generate(seed: int, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json.gz"):
        old.unlink()
    written = []
    for index, (_, variants) in enumerate(PATTERNS):
        for variant in range(variants):
            doc = build(seed, index, variant)
            path = out / f"{doc['name']}.json.gz"
            write(doc, path)
            written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "traces")
    args = parser.parse_args()
    paths = generate(args.seed, args.out)
    print(f"wrote {len(paths)} traces to {args.out}")


if __name__ == "__main__":
    main()
