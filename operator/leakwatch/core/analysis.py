"""Leak detection on container memory series: pure functions of the samples, no I/O, no clock.

The path from samples to a verdict:

1. `split_segments` cuts a pod's series at restarts and scrape gaps: a leak is growth within one run
   of a container, and a restart's drop must not read as a trend.
2. `analyse_segment` takes the lower envelope (the minimum per time bucket), so a GC sawtooth, whose
   peaks come and go, cannot pass for growth: only a rising floor does. It fits a Theil-Sen line
   and tests it with Kendall's tau, both from SciPy. Growth that started inside the segment (a
   rollout, a feature flag) is located with `ruptures` so that the slope describes the growth and
   not the flat before it; growth after a start-up warm-up is measured after it, so that the
   warm-up's bend is not read as the leak levelling off. Growth that slows down (warm-up, cache
   fill, converging fragmentation) is "plateaued", not a leak; so is a single step (a traffic ramp,
   a held spike), whose floor rises in one half of the span only. A segment is only called leaking
   once the growth has lasted long enough for its extrapolation to the limit to be believable:
   predicting 20 hours ahead from one hour of data is how warm-ups and converging growth turn into
   false alarms; or, once half of that is seen, when at its rate it reaches the limit first.
3. `verdict_for_version` combines the segments of every pod of one version with its OOMKills. A leak
   fast enough to OOMKill before its growth has lasted long enough to be called is caught by its
   repetition instead: after an OOMKill, a second run growing the way the killed one did is a leak.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

import numpy as np
import numpy.typing as npt
import ruptures  # type: ignore[import-untyped]
from scipy import optimize, stats
from statsmodels.tsa.seasonal import STL  # type: ignore[import-untyped]

from leakwatch.api.terms import Sensitivity, Verdict

FloatArray = npt.NDArray[np.float64]

MIB: Final = float(2**20)
HOUR: Final = 3600.0

# Below these a segment is too short to say anything about its trend.
MIN_SEGMENT_SAMPLES: Final = 10
MIN_ENVELOPE_BUCKETS: Final = 6
# About four dozen buckets: enough for Kendall's tau to reach p < 0.001 on a real trend, few enough
# that each bucket spans several GC cycles, and Theil-Sen (quadratic in the points) stays cheap.
ENVELOPE_BUCKETS: Final = 48
MIN_BUCKET_SECONDS: Final = 300.0
# The container is OOMKilled when a peak, not the floor, reaches the limit.
PEAK_QUANTILE: Final = 0.99
SLOPE_CONFIDENCE: Final = 0.95
# Growth "starts" at a change point only when the slope before it was at most this share of after.
FLAT_BEFORE_ONSET_RATIO: Final = 0.3
# Each half of the growth must rise at least this share of the whole's slope.
UNEVEN_GROWTH_RATIO: Final = 0.5
# A fitted bend whose decay time is many times the observed span is a straight line plus noise.
MAX_DECAY_OVER_SPAN: Final = 2.5
# Growth that passes every test but has lasted only this share of the span a Leaking call needs is
# Suspected: an early word in status and on the dashboard, wrong more often, never an alert.
SUSPECTED_SHARE_OF_SPAN: Final = 0.5
# After an OOMKill, runs that grow like a leak, each for at least this long and at slopes within
# this factor of each other, are one leak restarting with its container, not bad luck.
MIN_REPEATED_RUN_SECONDS: Final = 1800.0
REPEATED_RUNS_SLOPE_RATIO: Final = 2.0
# A warm-up is over after three of its time constants (95% of its rise), and must be over within this
# share of the run for what follows it to be analysed on its own.
WARM_UP_TIME_CONSTANTS: Final = 3.0
WARM_UP_SHARE_OF_SPAN: Final = 0.5
# Start-up (class loading, JIT, pools and heap sized to the first traffic) settles within minutes to
# an hour; a rise that takes longer to slow down is a fill towards a cap, judged as a whole.
MAX_WARM_UP_TIME_CONSTANT: Final = HOUR
# Warm-up plus a line must beat every simpler reading (a line, an exponential levelling off, a power
# law slowing down as a cache fills by Heaps' law) by this much BIC ("very strong" evidence on Kass
# and Raftery's scale): a fill must not pass for a warm-up, because cutting its steep start off
# hides the bend that shows it levelling off.
DECISIVE_BIC: Final = 10.0
# Traffic repeats every day. With two whole days in a run, the daily cycle is estimated (STL, on the
# floor of each of DAILY_CYCLE_BINS bins a day) and taken out before the trend is judged: a morning
# ramp is then part of the cycle, not growth, and a leak's slope is not measured across one. Half-hour
# bins resolve a morning ramp and keep STL cheap on a 14-day window (1 day: 48 points); the floors
# are already robust to spikes, so STL's robust iterations, 6x the time, are not needed.
DAY: Final = 24 * HOUR
MIN_DAYS_FOR_DAILY_CYCLE: Final = 2.0
DAILY_CYCLE_BINS: Final = 48


@dataclass(frozen=True)
class DetectionThresholds:
    """What one sensitivity level asks of a growing segment before it is called leaking."""

    significance: float  # one-sided Kendall p-value below which the growth is real
    # How monotone the floor must be. One step, however big, gives a tau of at most 0.5 (only the
    # pairs across it agree); a leak keeps rising and gives more.
    min_tau: float
    min_growth_seconds: float  # growth must have lasted at least this long
    # Growth that sets in after a flat stretch is also what a morning traffic ramp looks like: it
    # has to outlast one.
    min_growth_after_change_seconds: float
    # Extrapolate at most this many times the observed growth span: a segment that would reach its
    # limit in 20 h needs 20 h / max_extrapolation of growth behind it.
    max_extrapolation: float


THRESHOLDS: Final[dict[str, DetectionThresholds]] = {
    "Low": DetectionThresholds(
        significance=0.001,
        min_tau=0.7,
        min_growth_seconds=4 * HOUR,
        min_growth_after_change_seconds=6 * HOUR,
        max_extrapolation=3.0,
    ),
    "Medium": DetectionThresholds(
        significance=0.001,
        min_tau=0.6,
        min_growth_seconds=3 * HOUR,
        min_growth_after_change_seconds=4 * HOUR,
        max_extrapolation=4.0,
    ),
    "High": DetectionThresholds(
        significance=0.01,
        min_tau=0.5,
        min_growth_seconds=2 * HOUR,
        min_growth_after_change_seconds=3 * HOUR,
        max_extrapolation=6.0,
    ),
}


@dataclass(frozen=True)
class Samples:
    """One container's memory series, time-ordered: `t` in unix seconds, `v` in bytes."""

    t: FloatArray
    v: FloatArray

    def __post_init__(self) -> None:
        t = np.asarray(self.t, dtype=np.float64)
        v = np.asarray(self.v, dtype=np.float64)
        if t.ndim != 1 or t.shape != v.shape:
            raise ValueError(f"t and v must be 1-D arrays of one length, got shapes {t.shape} and {v.shape}")
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "v", v)

    def __len__(self) -> int:
        return len(self.t)

    @property
    def span_seconds(self) -> float:
        return float(self.t[-1] - self.t[0]) if len(self.t) else 0.0

    def since(self, start: float) -> Samples:
        return self.between(start, math.inf)

    def between(self, start: float, end: float) -> Samples:
        """The samples from `start` to `end`, both included, as a range query returns them."""
        lo, hi = int(np.searchsorted(self.t, start, side="left")), int(np.searchsorted(self.t, end, side="right"))
        return Samples(self.t[lo:hi], self.v[lo:hi])


@dataclass(frozen=True)
class SegmentAnalysis:
    start: float
    end: float
    n: int
    slope_bytes_per_second: float  # Theil-Sen on the lower envelope of the growth part
    slope_low: float  # 95% confidence interval of that slope
    slope_high: float
    kendall_tau: float
    p_value: float  # one-sided: the floor rises
    plateaued: bool  # it grew, and the growth is levelling off
    time_to_limit_seconds: float | None  # from `end`; None without a limit or significant growth
    confidence: float  # 0..1, in the `leaking` call as made (leak or not)
    leaking: bool
    growth_start: float = math.nan  # where the analysed growth begins (segment start, or a change point)
    suspected: bool = False  # leaking but for the length of the growth: SUSPECTED_SHARE_OF_SPAN of it is there
    needed_growth_seconds: float = math.inf  # how long the growth must last to be called leaking
    # Significant, monotone, even and not levelling off, however long it has lasted so far.
    shaped_like_a_leak: bool = False
    daily_swing_bytes: float = 0.0  # the daily cycle taken out before judging (peak to trough), if any

    @property
    def duration_seconds(self) -> float:
        return self.end - self.start

    @property
    def analysable(self) -> bool:
        return self.n >= MIN_SEGMENT_SAMPLES and not math.isnan(self.growth_start)


@dataclass(frozen=True)
class VersionVerdict:
    version: str
    verdict: Verdict
    growth_bytes_per_second: float | None
    time_to_oom_seconds: float | None
    confidence: float
    evidence: list[str]
    # Called Leaking with OOMKills as evidence: they reached the threshold, or a killed run repeats.
    by_oom_kills: bool = False


# --- segments ----------------------------------------------------------------------------------


def split_segments(samples: Samples, *, max_gap_seconds: float, reset_drop_fraction: float = 0.3) -> list[Samples]:
    """Cut at restarts and counter resets (a drop of more than `reset_drop_fraction` of the previous
    value from one sample to the next) and at gaps longer than `max_gap_seconds`."""
    if len(samples) == 0:
        return []
    t, v = samples.t, samples.v
    gap = np.diff(t) > max_gap_seconds
    reset = v[1:] < v[:-1] * (1.0 - reset_drop_fraction)
    cuts = np.flatnonzero(gap | reset) + 1
    bounds = np.concatenate(([0], cuts, [len(t)]))
    return [Samples(t[a:b], v[a:b]) for a, b in itertools.pairwise(bounds)]


def lower_envelope(samples: Samples, *, buckets: int = ENVELOPE_BUCKETS) -> Samples:
    """The minimum of each time bucket, at the bucket's mean time. Buckets are anchored at the last
    sample, so the newest bucket is always full; an oldest bucket with under half the usual number
    of samples is dropped, as its minimum would sit too high."""
    if len(samples) == 0:
        return samples
    width = max(MIN_BUCKET_SECONDS, samples.span_seconds / buckets)
    t, v = samples.t, samples.v
    bucket = np.floor((t[-1] - t) / width).astype(np.intp)  # counted back from the newest sample
    starts = np.flatnonzero(np.concatenate(([True], bucket[1:] != bucket[:-1])))
    counts = np.diff(np.concatenate((starts, [len(t)])))
    minima = np.minimum.reduceat(v, starts)
    centres = np.add.reduceat(t, starts) / counts
    keep = counts >= 0.5 * np.median(counts)
    return Samples(centres[keep], minima[keep])


# --- trend -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Trend:
    slope: float
    level_at_end: float  # the fitted line at the last envelope point's time reference
    low: float
    high: float
    tau: float
    p_value: float


def _trend(envelope: Samples, end: float) -> _Trend:
    x = envelope.t - end  # seconds before the end: the intercept is the level at the end
    fit = stats.theilslopes(envelope.v, x, alpha=SLOPE_CONFIDENCE)
    kendall = stats.kendalltau(x, envelope.v, alternative="greater")
    tau, p_value = float(kendall.statistic), float(kendall.pvalue)
    if not math.isfinite(tau):  # a constant series has no ranks to correlate
        tau, p_value = 0.0, 1.0
    return _Trend(
        slope=float(fit.slope),
        level_at_end=float(fit.intercept),
        low=float(fit.low_slope),
        high=float(fit.high_slope),
        tau=tau,
        p_value=p_value,
    )


def floor_slope(samples: Samples) -> float | None:
    """How fast the floor of a series rises (Theil-Sen on its lower envelope), bytes per second;
    None when too short to say."""
    envelope = lower_envelope(samples)
    if len(envelope) < MIN_ENVELOPE_BUCKETS:
        return None
    return _slope(envelope)[0]


def _slope(envelope: Samples) -> tuple[float, float]:
    """Theil-Sen slope and the top of its confidence interval."""
    fit = stats.theilslopes(envelope.v, envelope.t - envelope.t[-1], alpha=SLOPE_CONFIDENCE)
    return float(fit.slope), float(fit.high_slope)


def _change_point_onset(envelope: Samples, min_piece: int) -> float | None:
    """Where a flat stretch turns into growth: the best single break of a two-piece linear fit
    (ruptures, exact dynamic programming), kept only when the slope before it is small next to the
    slope after it. The onset is where the two Theil-Sen lines cross, near the break."""
    n = len(envelope)
    if n < 2 * min_piece:
        return None
    hours = (envelope.t - envelope.t[0]) / HOUR
    signal = np.column_stack((envelope.v, hours, np.ones(n)))
    breaks = ruptures.Dynp(model="linear", min_size=min_piece, jump=1).fit(signal).predict(n_bkps=1)
    split = int(breaks[0])
    before = Samples(envelope.t[:split], envelope.v[:split])
    after = Samples(envelope.t[split:], envelope.v[split:])
    before_fit = stats.theilslopes(before.v, before.t - before.t[-1])
    after_fit = stats.theilslopes(after.v, after.t - before.t[-1])
    slope_before, slope_after = float(before_fit.slope), float(after_fit.slope)
    if slope_after <= 0 or slope_before >= FLAT_BEFORE_ONSET_RATIO * slope_after:
        return None
    crossing = (float(before_fit.intercept) - float(after_fit.intercept)) / (slope_after - slope_before)
    return float(np.clip(before.t[-1] + crossing, before.t[-1], after.t[0]))


def onset_of_growth(samples: Samples, *, sensitivity: Sensitivity = "Medium") -> float | None:
    """When the floor of one series (one segment: no restarts inside) began to rise: None when it
    does not rise significantly, the first sample's time when it rose all along, else the change
    point between a flat stretch and growth (to tell which version was running when growth began)."""
    thresholds = _thresholds(sensitivity)
    if len(samples) < MIN_SEGMENT_SAMPLES:
        return None
    envelope = lower_envelope(samples)
    if len(envelope) < MIN_ENVELOPE_BUCKETS:
        return None
    whole = _trend(envelope, samples.t[-1])
    if whole.slope <= 0 or whole.p_value >= thresholds.significance:
        return None
    onset = _change_point_onset(envelope, min_piece=max(4, len(envelope) // 8))
    return float(samples.t[0]) if onset is None else onset


# --- one segment -------------------------------------------------------------------------------


def _thresholds(sensitivity: str) -> DetectionThresholds:
    try:
        return THRESHOLDS[sensitivity]
    except KeyError:
        raise ValueError(f"sensitivity must be one of {', '.join(THRESHOLDS)}, got {sensitivity!r}") from None


def _not_enough(seg: Samples) -> SegmentAnalysis:
    return SegmentAnalysis(
        start=float(seg.t[0]) if len(seg) else math.nan,
        end=float(seg.t[-1]) if len(seg) else math.nan,
        n=len(seg),
        slope_bytes_per_second=0.0,
        slope_low=0.0,
        slope_high=0.0,
        kendall_tau=0.0,
        p_value=1.0,
        plateaued=False,
        time_to_limit_seconds=None,
        confidence=0.0,
        leaking=False,
    )


def _evenly_grown(envelope: Samples, slope: float) -> bool:
    """A leak's floor rises in both halves of the span. One step (a traffic ramp, a spike that was
    held, a cache warmed by one batch) leaves one half flat while the whole still has a slope."""
    half = len(envelope) // 2
    if half < 3:
        return True
    early, _ = _slope(Samples(envelope.t[:half], envelope.v[:half]))
    recent, _ = _slope(Samples(envelope.t[half:], envelope.v[half:]))
    return min(early, recent) >= UNEVEN_GROWTH_RATIO * slope


def _saturating(x: FloatArray, floor: float, rise: float, rate: float) -> FloatArray:
    return floor + rise * (1.0 - np.exp(-rate * x))


def _warm_up_then_linear(x: FloatArray, floor: float, rise: float, rate: float, slope: float) -> FloatArray:
    return floor + rise * (1.0 - np.exp(-rate * x)) + slope * x


def _slowing_power(x: FloatArray, floor: float, rise: float, exponent: float) -> FloatArray:
    return floor + rise * np.power(x, exponent)


def _bic(residuals: FloatArray, parameters: int) -> float:
    n = len(residuals)
    return n * math.log(max(float(np.mean(residuals**2)), 1e-12)) + parameters * math.log(n)


@dataclass(frozen=True)
class _Shape:
    """An envelope in the units its curve fits are well conditioned in (Levenberg-Marquardt with
    SciPy's curve_fit): hours since its first point, and its rise as a share of its whole range."""

    hours: FloatArray
    rise: FloatArray
    scale: float  # bytes per unit of `rise`

    @classmethod
    def of(cls, envelope: Samples) -> _Shape | None:
        """None when too short or too flat for a curve to say more than a line."""
        hours = (envelope.t - envelope.t[0]) / HOUR
        scale = float(np.ptp(envelope.v))
        if len(envelope) < 2 * MIN_ENVELOPE_BUCKETS or scale <= 0 or hours[-1] <= 0:
            return None
        return cls(hours, (envelope.v - envelope.v[0]) / scale, scale)

    @functools.cached_property
    def levelling(self) -> tuple[float, float, float] | None:
        """`floor + rise * (1 - exp(-rate * hours))` fitted, shared by the tests that ask whether the
        growth levels off; None when the fit does not converge."""
        guess = (0.0, 2.0 * max(float(self.rise[-1]), 0.1), 1.0 / float(self.hours[-1]))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optimize.OptimizeWarning)  # no covariance needed
                params, _ = optimize.curve_fit(_saturating, self.hours, self.rise, p0=guess, maxfev=2000)
        except (RuntimeError, ValueError):
            return None
        floor, rise, rate = (float(p) for p in params)
        return floor, rise, rate


def _remaining_rise(shape: _Shape | None) -> float:
    """Bytes still to come if the growth converges, by the fit of `floor + rise * (1 - exp(-rate * t))`.
    Warm-up, cache fill and allocator fragmentation slow down like this; on a leak the fit finds no
    bend, or one so slow that the limit comes first. inf: no convergence seen.

    No significance test: a bend found by chance on a leak only postpones its detection by a cycle,
    while a converging series must be spared at every cycle, long before its bend is significant."""
    if shape is None or shape.levelling is None:
        return math.inf
    _, rise, rate = shape.levelling
    span = float(shape.hours[-1])
    if not (rise > 0 and rate > 0) or 1.0 / rate > MAX_DECAY_OVER_SPAN * span:
        return math.inf
    return rise * math.exp(-rate * span) * shape.scale


def _warm_up_end(envelope: Samples, shape: _Shape) -> float | None:
    """Where a start-up warm-up (a fast rise with a time constant of an hour at most) hands over to
    steady growth: the growth a leak adds after it. A warm-up followed by a leak is neither a line
    (the warm-up bends it) nor a curve levelling off (the leak keeps rising): it is both, and the
    slope that says how fast the leak grows, how evenly, and when it reaches the limit is the one
    after the warm-up. None unless a warm-up plus a line fits decisively better (BIC) than a line,
    an exponential levelling off and a power law slowing down."""
    x, y = shape.hours, shape.rise
    if shape.levelling is None:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)
            slowing, _ = optimize.curve_fit(
                _slowing_power, x, y, p0=(0.0, 1.0, 0.5), bounds=((-np.inf, 0.0, 0.05), (np.inf, np.inf, 1.0))
            )
            both, _ = optimize.curve_fit(
                _warm_up_then_linear, x, y, p0=(0.0, 0.5, 8.0 / float(x[-1]), 0.5 / float(x[-1])), maxfev=4000
            )
    except (RuntimeError, ValueError):
        return None
    line_bic = _bic(y - np.polyval(np.polyfit(x, y, 1), x), 2)
    levelling_bic = _bic(y - _saturating(x, *shape.levelling), 3)
    slowing_bic = _bic(y - _slowing_power(x, *slowing), 3)
    both_bic = _bic(y - _warm_up_then_linear(x, *both), 4)
    _, rise, rate, slope = (float(p) for p in both)
    simpler = min(line_bic, levelling_bic, slowing_bic)
    if not (rise > 0 and rate > 0 and slope > 0) or both_bic > simpler - DECISIVE_BIC:
        return None
    if 1.0 / rate > MAX_WARM_UP_TIME_CONSTANT / HOUR:
        return None  # rising for hours before it slows is a fill, not a start-up
    settled = WARM_UP_TIME_CONSTANTS / rate  # hours after the start
    if settled > WARM_UP_SHARE_OF_SPAN * float(x[-1]):
        return None
    return float(envelope.t[0]) + settled * HOUR


@dataclass(frozen=True)
class DailyCycle:
    """The part of a run's floor that repeats every day, as a function of the time of day."""

    bin_seconds: float
    first_bin_start: float
    shape: FloatArray  # one day of the cycle, a value per bin, from the first bin's time of day

    def at(self, t: FloatArray) -> FloatArray:
        position = ((t - self.first_bin_start) / self.bin_seconds - 0.5) % len(self.shape)
        cyclic = np.concatenate((self.shape, self.shape[:1]))
        return np.interp(position, np.arange(len(cyclic), dtype=np.float64), cyclic)

    @property
    def peak_bytes(self) -> float:
        """How far above the daily mean the cycle peaks: a leak reaches the limit at that hour first."""
        return float(self.shape.max())

    @property
    def swing_bytes(self) -> float:
        return float(self.shape.max() - self.shape.min())


def daily_cycle(seg: Samples) -> DailyCycle | None:
    """The daily cycle of a run spanning MIN_DAYS_FOR_DAILY_CYCLE days or more, from STL on the floor
    of each bin, missing bins interpolated; None for a shorter run."""
    if seg.span_seconds < MIN_DAYS_FOR_DAILY_CYCLE * DAY:
        return None
    width = DAY / DAILY_CYCLE_BINS
    index = np.floor((seg.t - seg.t[0]) / width).astype(np.intp)
    floors = np.full(int(index[-1]) + 1, np.nan)
    np.fmin.at(floors, index, seg.v)
    seen = np.flatnonzero(~np.isnan(floors))
    floors = np.interp(np.arange(len(floors)), seen, floors[seen])
    seasonal = np.asarray(STL(floors, period=DAILY_CYCLE_BINS).fit().seasonal, dtype=np.float64)
    # STL lets the cycle change slowly; the newest day's is the one that comes next.
    first_bin = len(seasonal) - DAILY_CYCLE_BINS
    return DailyCycle(width, float(seg.t[0]) + first_bin * width, seasonal[first_bin:])


def analyse_segment(seg: Samples, *, limit_bytes: float | None, sensitivity: str = "Medium") -> SegmentAnalysis:
    """Is this run of a container leaking? `seg` must hold no restart (see `split_segments`)."""
    thresholds = _thresholds(sensitivity)
    if len(seg) < MIN_SEGMENT_SAMPLES:
        return _not_enough(seg)
    cycle = daily_cycle(seg)
    if cycle is not None:
        # Judged without the cycle; the limit is reached at the cycle's daily peak.
        seg = Samples(seg.t, seg.v - cycle.at(seg.t))
        if limit_bytes is not None:
            limit_bytes -= cycle.peak_bytes
    end = float(seg.t[-1])
    envelope = lower_envelope(seg)
    if len(envelope) < MIN_ENVELOPE_BUCKETS:
        return _not_enough(seg)

    growth_start = float(seg.t[0])
    whole = _trend(envelope, end)
    grows = whole.slope > 0 and whole.p_value < thresholds.significance
    if grows and seg.span_seconds >= 2 * thresholds.min_growth_seconds:
        onset = _change_point_onset(envelope, min_piece=max(4, len(envelope) // 8))
        if onset is not None:
            growth_start = onset
    # Curve fits of the whole run, when growth is not already located at a change point.
    whole_shape = _Shape.of(envelope) if grows and growth_start == seg.t[0] else None
    warmed_up = _warm_up_end(envelope, whole_shape) if whole_shape is not None else None
    if warmed_up is not None:
        growth_start = warmed_up
    growth = seg.since(growth_start) if growth_start > seg.t[0] else seg
    growth_envelope = lower_envelope(growth) if growth is not seg else envelope
    if len(growth_envelope) < MIN_ENVELOPE_BUCKETS:
        growth, growth_envelope, growth_start = seg, envelope, float(seg.t[0])
    trend = _trend(growth_envelope, end) if growth is not seg else whole

    significant = trend.slope > 0 and trend.low > 0 and trend.p_value < thresholds.significance
    significant = significant and trend.tau >= thresholds.min_tau
    evenly_grown = _evenly_grown(growth_envelope, trend.slope) if trend.slope > 0 else True

    # The peak at the end is a spike above where the floor is now. Both are measured from the
    # floor itself, not from the fitted line: a run that bends (levelling off, or speeding up) sits
    # off one straight line at its end and in its middle, and a fill that slows would count both,
    # reaching the limit at once on paper while hundreds of MiB short of it.
    line = trend.level_at_end + trend.slope * (growth_envelope.t - end)
    newest = max(3, len(growth_envelope) // 12)
    floor_now = trend.level_at_end + float(np.median((growth_envelope.v - line)[-newest:]))
    local_floor = np.interp(growth.t, growth_envelope.t, growth_envelope.v)
    peak_excursion = max(0.0, float(np.quantile(growth.v - local_floor, PEAK_QUANTILE)))
    peak_at_end = floor_now + peak_excursion
    plateaued = False
    if trend.slope > 0 and trend.p_value < thresholds.significance:
        # Converging: the growth still to come stops short of the limit (or, without a limit, adds
        # less than has already been added).
        shape = whole_shape if whole_shape is not None and growth_envelope is envelope else _Shape.of(growth_envelope)
        remaining = _remaining_rise(shape)
        if limit_bytes is not None:
            plateaued = peak_at_end + remaining < limit_bytes
        else:
            plateaued = remaining < trend.slope * (end - growth_start)
    time_to_limit: float | None = None
    if limit_bytes is not None and trend.slope > 0 and trend.p_value < thresholds.significance:
        time_to_limit = max(0.0, (limit_bytes - peak_at_end) / trend.slope)

    # Without a limit, the horizon that must be believable is the time to double the floor.
    if time_to_limit is not None:
        horizon = time_to_limit
    elif trend.slope > 0:
        horizon = max(trend.level_at_end, 0.0) / trend.slope
    else:
        horizon = math.inf
    growth_span = end - growth_start
    changed = growth_start > seg.t[0] and warmed_up is None  # a warm-up is not a change of behaviour
    min_span = thresholds.min_growth_after_change_seconds if changed else thresholds.min_growth_seconds
    required_span = max(min_span, horizon / thresholds.max_extrapolation)
    shaped_like_a_leak = significant and evenly_grown and not plateaued
    long_enough = growth_span >= required_span
    half_seen = growth_span >= SUSPECTED_SHARE_OF_SPAN * required_span
    # Growth that will reach the limit before it has lasted long enough to be called: waiting for
    # the rest of the span would only let the OOMKill come first.
    outruns_the_wait = half_seen and time_to_limit is not None and time_to_limit < required_span - growth_span
    leaking = shaped_like_a_leak and (long_enough or outruns_the_wait)
    suspected = shaped_like_a_leak and not leaking and half_seen

    # Evidence for a leak: monotone growth, seen for long enough next to what it predicts.
    history = min(1.0, growth_span / required_span) if math.isfinite(required_span) else 0.0
    leak_score = max(0.0, trend.tau) * history * (1.0 - trend.p_value)
    if plateaued or not evenly_grown:
        leak_score *= 0.5
    confidence = leak_score if leaking else 1.0 - leak_score

    return SegmentAnalysis(
        start=float(seg.t[0]),
        end=end,
        n=len(seg),
        slope_bytes_per_second=trend.slope,
        slope_low=trend.low,
        slope_high=trend.high,
        kendall_tau=trend.tau,
        p_value=trend.p_value,
        plateaued=plateaued,
        time_to_limit_seconds=time_to_limit,
        confidence=float(np.clip(confidence, 0.0, 1.0)),
        leaking=leaking,
        growth_start=growth_start,
        suspected=suspected,
        needed_growth_seconds=required_span,
        shaped_like_a_leak=shaped_like_a_leak,
        daily_swing_bytes=cycle.swing_bytes if cycle is not None else 0.0,
    )


# --- one version -------------------------------------------------------------------------------


def mib_per_hour(bytes_per_second: float) -> str:
    return f"{bytes_per_second * HOUR / MIB:.1f} MiB/h"


def human_duration(seconds: float) -> str:
    if seconds < 2 * HOUR:
        minutes = round(seconds / 60)
        return f"{minutes} minute" + ("" if minutes == 1 else "s")
    if seconds < 72 * HOUR:
        return f"{seconds / HOUR:.1f} hours"
    return f"{seconds / (24 * HOUR):.1f} days"


def _p_text(p_value: float) -> str:
    return "p<0.001" if p_value < 0.001 else f"p={p_value:.3f}"


def _without_daily_cycle(runs: Sequence[SegmentAnalysis]) -> str:
    swing = max((run.daily_swing_bytes for run in runs), default=0.0)
    return f" once a daily cycle of up to {swing / MIB:.0f} MiB is taken out" if swing else ""


def _runs(count: int) -> str:
    return f"{count} container run" + ("" if count == 1 else "s")


def verdict_for_version(
    version: str,
    segments: Sequence[SegmentAnalysis],
    *,
    oom_kills: int,
    pod_hours: float,
    oom_threshold: int,
    min_observed_seconds: float = 1800,
) -> VersionVerdict:
    """One verdict from every analysed segment (each pod's runs) of one version and its OOMKills.
    Any one leaking run makes the version leak: a leak may hit only the replica that gets the
    requests taking the leaking path. OOMKills at or above the threshold are enough on their own."""
    analysable = [s for s in segments if s.analysable]
    leaking = [s for s in analysable if s.leaking]
    longest = max((s.duration_seconds for s in segments), default=0.0)
    evidence: list[str] = []

    growth: float | None = None
    time_to_oom: float | None = None
    confidence = 0.0
    if leaking:
        growth = float(np.median([s.slope_bytes_per_second for s in leaking]))
        median_tau = float(np.median([s.kendall_tau for s in leaking]))
        worst_p = max(s.p_value for s in leaking)
        evidence.append(
            f"{len(leaking)} of {_runs(len(analysable))} grow {mib_per_hour(growth)} on the lower envelope"
            f"{_without_daily_cycle(leaking)} (tau {median_tau:.2f}, {_p_text(worst_p)})"
        )
        limits = [s.time_to_limit_seconds for s in leaking if s.time_to_limit_seconds is not None]
        if limits:
            time_to_oom = min(limits)
            evidence.append(f"at that rate the first reaches its memory limit in {human_duration(time_to_oom)}")
        confidence = 1.0 - float(np.prod([1.0 - s.confidence for s in leaking]))

    oom_evidence = oom_kills >= oom_threshold
    if oom_kills:
        evidence.append(
            f"{oom_kills} OOMKill{'s' if oom_kills != 1 else ''} in {pod_hours:.1f} pod-hours "
            f"(threshold {oom_threshold})"
        )
    if oom_evidence:
        # Each kill past the threshold leaves less room for bad luck (a one-off spike, a noisy neighbour).
        oom_confidence = 1.0 - 0.1 * oom_threshold / oom_kills
        return VersionVerdict(
            version, "Leaking", growth, time_to_oom, max(confidence, oom_confidence), evidence, by_oom_kills=True
        )

    repeated = _repeated_runs(analysable) if oom_kills else []
    if repeated and not leaking:
        return _leaking_again(version, repeated, len(analysable), evidence)

    if longest < min_observed_seconds:
        evidence.append(
            f"only {human_duration(longest)} of memory observed in one run; need {human_duration(min_observed_seconds)}"
        )
        return VersionVerdict(version, "InsufficientData", None, None, 0.0, evidence)

    if leaking:
        return VersionVerdict(version, "Leaking", growth, time_to_oom, confidence, evidence)

    suspected = [s for s in analysable if s.suspected]
    if suspected:
        return _suspected(version, suspected, len(analysable), evidence)

    if not analysable:
        evidence.append("no container run long enough to analyse")
        return VersionVerdict(version, "InsufficientData", None, None, 0.0, evidence)
    levelled = [s for s in analysable if s.plateaued]
    median_growth = float(np.median([s.slope_bytes_per_second for s in analysable]))
    evidence.append(
        f"no leak in {_runs(len(analysable))} (median growth {mib_per_hour(median_growth)} on the lower envelope"
        f"{_without_daily_cycle(analysable)})"
    )
    if levelled:
        evidence.append(f"{len(levelled)} grew and then levelled off (warm-up, cache fill or fragmentation)")
    weights = np.array([s.duration_seconds for s in analysable])
    stable_confidence = float(np.average([s.confidence for s in analysable], weights=weights))
    return VersionVerdict(version, "Stable", median_growth, None, stable_confidence, evidence)


def _repeated_runs(analysable: Sequence[SegmentAnalysis]) -> list[SegmentAnalysis]:
    """The runs that grow the way the latest one does, when one of them ended before it began (a
    restart, not a replica beside it); else none. Runs of a leak that OOMKills every few hours are
    each too short to be called on their own, but they repeat: same shape, same slope, another kill."""
    grown = [
        s
        for s in analysable
        if s.shaped_like_a_leak and s.slope_bytes_per_second > 0 and s.end - s.growth_start >= MIN_REPEATED_RUN_SECONDS
    ]
    if not grown:
        return []
    latest = max(grown, key=lambda s: s.end)
    alike = [
        s
        for s in grown
        if max(s.slope_bytes_per_second, latest.slope_bytes_per_second)
        <= REPEATED_RUNS_SLOPE_RATIO * min(s.slope_bytes_per_second, latest.slope_bytes_per_second)
    ]
    restarted = any(s.end <= latest.start for s in alike)
    return alike if restarted else []


def _leaking_again(
    version: str, repeated: Sequence[SegmentAnalysis], analysable: int, evidence: list[str]
) -> VersionVerdict:
    """A version OOMKilled before, whose runs keep growing the same way: Leaking before the next kill."""
    growth = float(np.median([s.slope_bytes_per_second for s in repeated]))
    slowest = min(s.slope_bytes_per_second for s in repeated)
    fastest = max(s.slope_bytes_per_second for s in repeated)
    evidence.append(
        f"{len(repeated)} of {_runs(analysable)} grow the same way ({mib_per_hour(slowest)} to "
        f"{mib_per_hour(fastest)} on the lower envelope) after an OOMKill: each run is shorter than a leak "
        "needs to be called on its own, but the growth comes back with every restart"
    )
    latest = max(repeated, key=lambda s: s.end)
    time_to_oom = latest.time_to_limit_seconds
    if time_to_oom is not None:
        evidence.append(f"at that rate the latest run reaches its memory limit in {human_duration(time_to_oom)}")
    # How monotone the runs are is how sure the call is; the OOMKill before them is why it is made.
    confidence = float(np.median([max(0.0, s.kendall_tau) for s in repeated]))
    return VersionVerdict(version, "Leaking", growth, time_to_oom, confidence, evidence, by_oom_kills=True)


def _suspected(
    version: str, suspected: Sequence[SegmentAnalysis], analysable: int, evidence: list[str]
) -> VersionVerdict:
    """Growth shaped like a leak that has not yet lasted long enough to be called one."""
    growth = float(np.median([s.slope_bytes_per_second for s in suspected]))
    tau = float(np.median([s.kendall_tau for s in suspected]))
    longest = max(suspected, key=lambda s: s.end - s.growth_start)
    evidence.append(
        f"{len(suspected)} of {_runs(analysable)} grow {mib_per_hour(growth)} on the lower envelope (tau {tau:.2f}) "
        f"for {human_duration(longest.end - longest.growth_start)} so far: a leak is called after "
        f"{human_duration(longest.needed_growth_seconds)} of it"
    )
    limits = [s.time_to_limit_seconds for s in suspected if s.time_to_limit_seconds is not None]
    time_to_oom = min(limits) if limits else None
    if time_to_oom is not None:
        evidence.append(f"at that rate the first would reach its memory limit in {human_duration(time_to_oom)}")
    # A segment's confidence is in the call it made, here "not leaking (yet)": the leak's share is the rest.
    confidence = 1.0 - float(np.median([s.confidence for s in suspected]))
    return VersionVerdict(version, "Suspected", growth, time_to_oom, confidence, evidence)


def called_runs(segments: Sequence[SegmentAnalysis]) -> list[SegmentAnalysis]:
    """The runs a verdict on growth reads its growth from: the leaking ones, else the suspected."""
    analysable = [s for s in segments if s.analysable]
    return [s for s in analysable if s.leaking] or [s for s in analysable if s.suspected]


def only_suspected(verdict: VersionVerdict, why: str) -> VersionVerdict:
    """Growth that more evidence explains: shown as Suspected, with no time to OOM to alert on."""
    return replace(verdict, verdict="Suspected", time_to_oom_seconds=None, evidence=[*verdict.evidence, why])


# The working set counts the page cache of the files a container writes and reads, which the kernel
# reclaims before it OOMKills; RSS (anonymous memory) does not. Growth that RSS does not share, by
# at least this part, is that cache (or tmpfs, which does not get reclaimed, but then OOMKills,
# which are counted, make the version Leaking anyway).
RSS_SHARE_OF_A_LEAK: Final = 0.25


def called_on_growth(verdict: VersionVerdict) -> bool:
    """Leaking or Suspected on its memory's growth alone (OOMKills did not call it): what RSS can overturn."""
    called = verdict.verdict in ("Leaking", "Suspected") and not verdict.by_oom_kills
    return called and bool(verdict.growth_bytes_per_second)


def against_rss(verdict: VersionVerdict, rss_runs: Sequence[SegmentAnalysis]) -> VersionVerdict:
    """A working-set verdict of Leaking or Suspected, read beside the same pods' RSS runs: growth RSS
    does not share is page cache, Suspected and not Leaking, since a cache the kernel will reclaim is
    no reason to page anyone or roll back. Without RSS runs to read, the verdict stands."""
    runs = [run for run in rss_runs if run.analysable]
    if not called_on_growth(verdict) or not runs or any(run.leaking or run.suspected for run in runs):
        return verdict
    rss_growth = float(np.median([run.slope_bytes_per_second for run in runs]))
    if rss_growth >= RSS_SHARE_OF_A_LEAK * (verdict.growth_bytes_per_second or 0.0):
        return verdict
    return only_suspected(
        verdict,
        f"RSS grows {mib_per_hour(max(rss_growth, 0.0))} of that: the growth is page cache, which the kernel "
        "reclaims before it OOMKills, or tmpfs (a memory-backed emptyDir), which it cannot, and whose OOMKills "
        "would count; Suspected, not Leaking, until RSS grows too or OOMKills reach oom.threshold",
    )


# A language runtime takes memory as it needs it, up to a cap: a JVM commits heap up to its max
# (-Xmx, MaxRAMPercentage), Go's collector lets the heap grow up to GOMEMLIMIT. A working set that
# grows because the runtime's memory does stops at that cap. When the cap is below the memory limit,
# the growth cannot OOMKill the container: with a flat floor of what is in use after GC (the live
# set) it is the runtime filling to its cap. A growing live set is a fill or a heap leak, which
# nothing tells apart for hours; under a hard cap (the JVM's max) a heap leak ends in
# OutOfMemoryError at that cap, not in an OOMKill, but GOMEMLIMIT is soft: a live heap passes it.
# At least this share of the working set's growth must be the runtime's.
RUNTIME_SHARE_OF_GROWTH: Final = 0.5
# A runtime's used memory falls by half at a collection (GOGC=100 lets the heap double before one),
# which split_segments's default would take for a restart; a new process starts from next to nothing.
RUNTIME_RESTART_DROP: Final = 0.9


@dataclass(frozen=True)
class RuntimeCap:
    """A language runtime's memory and the cap it stops at, as the evidence names them."""

    managed: str  # what the runtime's memory is, in words: "committed JVM heap"
    name: str  # the cap's name: "max", "GOMEMLIMIT"
    hard: bool  # the runtime never takes more (the JVM's max), or only GCs harder (GOMEMLIMIT)


@dataclass(frozen=True)
class RuntimeEvidence:
    """One version's runtime memory (a JVM heap, the Go runtime), from its own metrics."""

    cap: RuntimeCap
    committed_growth_bytes_per_second: float  # median over the spans its working set grew
    room_bytes: float  # the least any of its pods can still take: cap minus committed, now
    cap_bytes: float  # the largest cap among its pods
    live_set_grows: bool  # a run's floor after GC grows like a leak towards the cap
    # Under a soft cap, the runs whose floor after GC is itself called leaking against the container's
    # memory limit: what the runtime holds live will reach the limit, wherever the cap holds the rest.
    live_leaks: Sequence[SegmentAnalysis] = ()


@dataclass(frozen=True)
class RuntimePod:
    """One pod's runtime memory over the window: what it has taken, the floor of what is in use,
    the cap it stops at (its latest value), and the spans (start, end) over which the pod's working
    set grew as the verdict reads it (`called_runs`): the runtime's growth is weighed over those."""

    committed: Samples
    used_floor: Samples
    cap_bytes: float
    grown: Sequence[tuple[float, float]]
    limit_bytes: float | None = None  # the container's memory limit, where known


def _lives(runtime_series: Samples) -> list[Samples]:
    """A runtime's series cut where its process restarted, and nowhere else."""
    return split_segments(runtime_series, max_gap_seconds=math.inf, reset_drop_fraction=RUNTIME_RESTART_DROP)


def runtime_evidence(
    cap: RuntimeCap,
    pods: Sequence[RuntimePod],
    *,
    sensitivity: str,
) -> RuntimeEvidence | None:
    """One version's runtime memory from its pods', or None when no pod has all three signals to
    read over the spans its working set grew: without the floor after GC a leak of live objects
    would pass for a fill.

    The runtime's growth is its floor's slope over the hours the same pod's working set grew (as
    the verdict reads them), and nowhere else. A heap that filled in a container's first hours
    explains the working set's growth in those hours, not a later life's or another replica's,
    which may grow outside the heap (the Netty story); and a life whose heap sat flat at its max
    does not make another life's fill look slower. The live set is read per life: a runtime's series
    are cut only where its process restarted (a scrape gap does not reset a heap). The room is the
    least any pod has left: the pods of one version share a cap, the one nearest it is the one whose
    memory is nearest the limit, and its memory at that cap is where the version's tops out (a
    replica just started has all of its cap free, and says nothing about the one filling)."""
    growth: list[float] = []
    rooms: list[float] = []
    live: list[SegmentAnalysis] = []
    live_leaks: list[SegmentAnalysis] = []
    for pod in pods:
        if not len(pod.committed) or not len(pod.used_floor):
            continue
        slopes = [floor_slope(pod.committed.between(start, end)) for start, end in pod.grown]
        growth += [slope for slope in slopes if slope is not None]
        rooms.append(pod.cap_bytes - float(pod.committed.v[-1]))
        lives = _lives(pod.used_floor)
        live += [analyse_segment(run, limit_bytes=pod.cap_bytes, sensitivity=sensitivity) for run in lives]
        if not cap.hard and pod.limit_bytes is not None:
            # The live heap is the floor: what rises above it between collections is garbage, which
            # the collector frees before the limit (it runs harder as the heap nears its soft cap).
            floors = (lower_envelope(run) for run in lives)
            to_the_limit = (analyse_segment(f, limit_bytes=pod.limit_bytes, sensitivity=sensitivity) for f in floors)
            live_leaks += [run for run in to_the_limit if run.leaking]
    if not any(run.analysable for run in live) or not (growth or live_leaks):
        return None
    return RuntimeEvidence(
        cap=cap,
        committed_growth_bytes_per_second=float(np.median(growth)) if growth else 0.0,
        room_bytes=max(0.0, min(rooms)),
        cap_bytes=max(pod.cap_bytes for pod in pods),
        live_set_grows=any(run.leaking or run.suspected for run in live),
        live_leaks=live_leaks,
    )


def runtime_may_change(verdict: VersionVerdict, segments: Sequence[SegmentAnalysis]) -> bool:
    """Whether a runtime's memory can change this verdict, so is worth its queries: Leaking or
    Suspected on growth alone and still with a time to OOM (one that RSS or an earlier container
    already explained has none left, and a cap can only be weighed against it), or Stable after
    growth, levelled off or uneven (a working set held at a soft cap while the live heap grows levels
    off). A version whose memory never grew is not read."""
    growing = called_on_growth(verdict) and verdict.time_to_oom_seconds is not None
    grew = any(s.plateaued or s.time_to_limit_seconds is not None for s in segments)  # significantly, at some point
    return growing or (verdict.verdict == "Stable" and grew)


def against_runtime(verdict: VersionVerdict, evidence: RuntimeEvidence | None) -> VersionVerdict:
    """A version's verdict read beside its runtime's memory: a live heap leaking under a soft cap
    (`against_live_heap`), else growth that is the runtime filling to its cap (`against_runtime_cap`)."""
    called = against_live_heap(verdict, evidence)
    return called if called is not verdict else against_runtime_cap(verdict, evidence)


def against_live_heap(verdict: VersionVerdict, evidence: RuntimeEvidence | None) -> VersionVerdict:
    """A verdict that is not Leaking, when the runtime's floor after GC grows like a leak towards the
    memory limit under a soft cap: Leaking. Go's collector holds the heap at GOMEMLIMIT by running
    more often, so the working set stops rising there and reads as levelled off while the live heap
    keeps growing; once the live heap passes the soft limit, nothing holds it short of an OOMKill."""
    if evidence is None or not evidence.live_leaks or evidence.cap.hard or verdict.verdict == "Leaking":
        return verdict
    leaks = evidence.live_leaks
    growth = float(np.median([run.slope_bytes_per_second for run in leaks]))
    tau = float(np.median([run.kendall_tau for run in leaks]))
    limits = [run.time_to_limit_seconds for run in leaks if run.time_to_limit_seconds is not None]
    time_to_oom = min(limits) if limits else None
    cap = evidence.cap
    evidence_text = [
        *verdict.evidence,
        f"but the floor after GC of the {cap.managed} grows {mib_per_hour(growth)} (tau {tau:.2f}) in "
        f"{_runs(len(leaks))} towards the memory limit: its {cap.name} of {evidence.cap_bytes / MIB:.0f} MiB is "
        "soft, the collector holds the working set there by running more often, not the live heap",
    ]
    if time_to_oom is not None:
        evidence_text.append(f"at that rate the live heap reaches the memory limit in {human_duration(time_to_oom)}")
    confidence = 1.0 - float(np.prod([1.0 - run.confidence for run in leaks]))
    return VersionVerdict(verdict.version, "Leaking", growth, time_to_oom, confidence, evidence_text)


def against_runtime_cap(verdict: VersionVerdict, evidence: RuntimeEvidence | None) -> VersionVerdict:
    """A working-set verdict of Leaking or Suspected, read beside the runtime's memory: growth that
    is the runtime's, with too little room left under its cap to reach the memory limit, is Suspected
    and not Leaking when the live set is flat (the runtime filling to its cap) or when the cap is hard
    (a heap leak, if it is one, ends in OutOfMemoryError). Growth outside the runtime (direct buffers,
    threads, a native library, cgo), a live set growing past a soft cap, or a cap above the room to
    the limit keeps the verdict; so does a version without runtime metrics."""
    if (
        evidence is None
        or (evidence.live_set_grows and not evidence.cap.hard)
        or not called_on_growth(verdict)
        or verdict.time_to_oom_seconds is None
    ):
        return verdict
    growth = verdict.growth_bytes_per_second or 0.0
    headroom = growth * verdict.time_to_oom_seconds  # what the working set can still add before the limit
    cap = evidence.cap
    if evidence.committed_growth_bytes_per_second < RUNTIME_SHARE_OF_GROWTH * growth or evidence.room_bytes >= headroom:
        return verdict
    taken = (
        f"the {cap.managed} grows {mib_per_hour(evidence.committed_growth_bytes_per_second)} of that, with "
        f"{evidence.room_bytes / MIB:.0f} MiB left to its {cap.name} of {evidence.cap_bytes / MIB:.0f} MiB"
    )
    short = f"{(headroom - evidence.room_bytes) / MIB:.0f} MiB short of the memory limit"
    if evidence.live_set_grows:
        return only_suspected(
            verdict,
            f"{taken}, and its floor after GC grows too: a cache filling or a heap leak, which would end in "
            f"OutOfMemoryError at that {cap.name}, {short}, not in an OOMKill; Suspected, not Leaking, "
            "until memory outside it grows or OOMKills reach oom.threshold",
        )
    return only_suspected(
        verdict,
        f"{taken}, and its floor after GC does not grow: the runtime is filling to its cap, {short}; "
        "Suspected, not Leaking, until memory outside it grows or OOMKills reach oom.threshold",
    )
