"""Range queries against the Prometheus HTTP API, turned into typed series.

Timeouts on every call, a bounded number of retries with backoff, and a `PrometheusError` that
says what failed: the analyser turns it into a Degraded condition and keeps its last verdicts
rather than judging on missing data.

A long window is read in chunks on one step grid: Prometheus answers at most 11,000 points per
series, and one response of 300 pods x 7 days would take the operator past its memory limit
while it parses. The newest chunk goes first and tells how many series the query has; the rest
are sized so one response holds at most `CHUNK_SAMPLES` samples, and a query whose whole window
would hold more than `MAX_SAMPLES` is refused before the rest is read.

What is kept between chunks is float64 arrays, 16 bytes a point. Parsed JSON holds a point as a
list, a float and a string, about 200 bytes: kept until the end, 300 pods x 7d x 1m (3.02M points)
peaked at 584 MiB, past the chart's 512 MiB limit; as arrays it peaks at 58 MiB
(tests/unit/test_prometheus_reader.py measures it). Each series becomes arrays the moment the JSON
parser has read it (`_compact`), so even one response never holds more than one series' points as
Python objects; what one response adds while it is read is its bytes and their decoded text.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import httpx
import numpy as np

from leakwatch.core.analysis import FloatArray, Samples

log = logging.getLogger(__name__)

PROMETHEUS_MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
CHUNK_POINTS = 10_000  # points per series in one chunk, below Prometheus's limit
FIRST_CHUNK_POINTS = 360  # the newest chunk, read first to learn the query's series count
CHUNK_SAMPLES = 250_000  # samples in one response: about 8 MB of JSON
MAX_SAMPLES = 4_000_000  # series x points one query may read: 64 MB as float64 pairs
MAX_SERIES = 5_000
MAX_RESPONSE_BYTES = 32 * 2**20
QUERY_TIMEOUT_SECONDS = 20  # Prometheus stops evaluating after this; our HTTP timeout is longer

FailureReason = Literal[
    "PrometheusUnavailable", "PrometheusAccessDenied", "QueryRejected", "QueryTooLarge", "QueryTimeout"
]
# 4xx answers that say nothing about the query: a wrong URL (404), a server or proxy that is busy
# (408, 429), or a query Prometheus cancelled, as it does while shutting down (499, "canceled"):
# the same query may be answered later.
NOT_ABOUT_THE_QUERY = frozenset({404, 408, 429, 499})
Labels = tuple[tuple[str, str], ...]


class PrometheusError(RuntimeError):
    """Prometheus could not be asked, did not answer, refused the query, or the answer would be
    too large: `reason` becomes the Degraded condition's reason and the message its text."""

    def __init__(self, message: str, *, reason: FailureReason = "PrometheusUnavailable") -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    samples: Samples


class MetricsSource(Protocol):
    def range_query(self, query: str, start: float, end: float, step_seconds: float) -> list[Series]: ...


@dataclass(frozen=True)
class _Part:
    """One series' points from one response, as arrays in the order Prometheus sent them."""

    labels: Labels
    t: FloatArray
    v: FloatArray


@dataclass(frozen=True)
class Chunk:
    start: float
    end: float

    def points(self, step: float) -> int:
        return grid_points(self.start, self.end, step)


def grid_points(start: float, end: float, step: float) -> int:
    """Points of the grid start + k*step that lie in [start, end], as Prometheus answers them."""
    return math.floor((end - start) / step + 1e-9) + 1


def chunks(start: float, end: float, step: float, points_per_chunk: int) -> Iterator[Chunk]:
    """The window [start, end] on the grid start + k*step, newest chunk first, each holding at
    most `points_per_chunk` points and none sharing a point with another."""
    last = grid_points(start, end, step) - 1
    while last >= 0:
        first = max(0, last - points_per_chunk + 1)
        yield Chunk(start + first * step, start + last * step)
        last = first - 1


def points_per_chunk(series: int) -> int:
    return max(1, min(CHUNK_POINTS, CHUNK_SAMPLES // max(series, 1)))


class QueryStats(Protocol):
    """Where the client reports its own calls (publish/metrics.py exports them)."""

    def attempt(self, ok: bool) -> None: ...

    def call(self, seconds: float) -> None: ...


class _Unreported:
    def attempt(self, ok: bool) -> None:
        pass

    def call(self, seconds: float) -> None:
        pass


class PrometheusClient:
    def __init__(
        self,
        base_url: str,
        timeout_seconds: float = 30.0,
        attempts: int = 3,
        transport: httpx.BaseTransport | None = None,  # tests hand in an httpx.MockTransport
        stats: QueryStats | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.stats = stats or _Unreported()
        self.http = httpx.Client(timeout=timeout_seconds, transport=transport or httpx.HTTPTransport(retries=1))

    def range_query(self, query: str, start: float, end: float, step_seconds: float) -> list[Series]:
        total_points = grid_points(start, end, step_seconds)
        collected: dict[Labels, list[_Part]] = {}
        read = 0

        def take(chunk: Chunk) -> None:
            nonlocal read
            for part in self._range(query, chunk, step_seconds):
                collected.setdefault(part.labels, []).append(part)
                read += len(part.t)
            self._check_size(len(collected), read, total_points)

        newest = next(chunks(start, end, step_seconds, FIRST_CHUNK_POINTS))
        take(newest)
        if newest.start > start:  # the rest, sized now that the series count is known
            for chunk in chunks(start, newest.start - step_seconds, step_seconds, points_per_chunk(len(collected))):
                take(chunk)
        # Popped as they are joined, so the parts and the joined series are never all held at once.
        return [_series(labels, collected.pop(labels)) for labels in list(collected)]

    def _check_size(self, series: int, read: int, total_points: int) -> None:
        if series > MAX_SERIES:
            raise PrometheusError(
                f"the query returned {series} series, more than the {MAX_SERIES} one LeakWatch may read: "
                "narrow the selector or split the workload over several LeakWatches",
                reason="QueryTooLarge",
            )
        expected = max(read, series * total_points)
        if expected > MAX_SAMPLES:
            raise PrometheusError(
                f"the window would read about {expected:,} samples ({series} series x {total_points:,} points), "
                f"more than the {MAX_SAMPLES:,} one LeakWatch may read: raise memory.step, shorten memory.window "
                "or narrow the selector",
                reason="QueryTooLarge",
            )

    def _range(self, query: str, chunk: Chunk, step: float) -> list[_Part]:
        form = {
            "query": query,
            "start": f"{chunk.start:.3f}",
            "end": f"{chunk.end:.3f}",
            "step": f"{step:g}",
            "timeout": f"{QUERY_TIMEOUT_SECONDS:g}",  # seconds, as Prometheus reads a bare number
        }
        body = self._post("/api/v1/query_range", form)
        # A series of native histograms only has no float samples to analyse: it is not a part.
        return [item for item in body["data"]["result"] if isinstance(item, _Part)]

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return self._post_with_retries(path, form)
        finally:
            self.stats.call(time.perf_counter() - started)

    def _post_with_retries(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        delay = 0.5
        reason = ""
        failure: FailureReason = "PrometheusUnavailable"
        for attempt in range(1, self.attempts + 1):
            try:
                status, body = self._read(path, form)
                if status == 200:
                    payload: dict[str, Any] = json.loads(body, object_hook=_compact)
                    if payload.get("status") == "success":
                        self.stats.attempt(ok=True)
                        return payload
                else:
                    payload = _error_payload(body)
                # Prometheus's error text can list the series a query touched, labels and all:
                # it goes to our log, never into a status that the LeakWatch's readers see.
                log.warning("Prometheus answered HTTP %s: %s", status, payload.get("error", ""))
                reason = f"HTTP {status} ({payload.get('errorType') or 'no error type'})"
                failure = failure_reason(status, payload.get("errorType"), str(payload.get("error", "")))
            except (httpx.HTTPError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
            self.stats.attempt(ok=False)
            if failure != "PrometheusUnavailable":  # asking again would get the same answer
                break
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
        if failure == "PrometheusAccessDenied":
            raise PrometheusError(
                f"Prometheus at {self.base_url} denied the operator access: {reason}. Prometheus is up; whatever "
                "answers at that URL (an authenticating proxy, say) does not let the operator's identity query it",
                reason=failure,
            )
        if failure == "QueryRejected":
            raise PrometheusError(
                f"Prometheus at {self.base_url} rejected the query: {reason}; its error text is in the operator's "
                "log, not here, because it can quote series",
                reason=failure,
            )
        if failure == "QueryTimeout":
            raise PrometheusError(
                f"Prometheus at {self.base_url} gave up on the query after {QUERY_TIMEOUT_SECONDS}s: narrow the "
                "selector, shorten memory.window or raise memory.step",
                reason=failure,
            )
        raise PrometheusError(f"Prometheus at {self.base_url} failed: {reason.strip()}")

    def _read(self, path: str, form: dict[str, str]) -> tuple[int, bytearray]:
        """POST (a query naming many pods can be longer than a URL should be) and read at most
        MAX_RESPONSE_BYTES of the answer, into one buffer rather than parts joined at the end."""
        with self.http.stream("POST", self.base_url + path, data=form) as response:
            body = bytearray()
            for part in response.iter_bytes():
                if len(body) + len(part) > MAX_RESPONSE_BYTES:
                    raise PrometheusError(
                        f"Prometheus's answer exceeded {MAX_RESPONSE_BYTES // 2**20} MiB: narrow the selector or "
                        "raise memory.step",
                        reason="QueryTooLarge",
                    )
                body += part
            return response.status_code, body


# How Prometheus says its own `timeout` ran out, besides errorType "timeout" (HTTP 503): a deadline
# hit while the query is still being parsed or prepared is HTTP 400 bad_data "invalid parameter
# \"query\": context deadline exceeded" on Prometheus 3 (seen on 3.16; 2.42 answers 503 there).
DEADLINE_WORDS = ("context deadline exceeded", "query timed out")


def failure_reason(status: int, error_type: object, error: str = "") -> FailureReason:
    """Why an answer other than 200 failed. A 4xx is about the request, which stays as it is, so it
    is not retried; 401/403 are about who asks, not what; the rest of 4xx are about the query.
    `error` is Prometheus's text: read for what kind of failure it is, never quoted."""
    if status in (401, 403):
        return "PrometheusAccessDenied"
    if error_type == "timeout" or any(words in error for words in DEADLINE_WORDS):
        return "QueryTimeout"
    if 400 <= status < 500 and status not in NOT_ABOUT_THE_QUERY:
        return "QueryRejected"
    return "PrometheusUnavailable"


def _error_payload(body: bytearray) -> dict[str, Any]:
    """Prometheus's JSON error, or nothing when a proxy in front of it answered in HTML or text:
    the status alone then says what kind of failure it was."""
    try:
        payload = json.loads(body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _compact(obj: dict[str, Any]) -> Any:
    """`json.loads` object hook: a range-query result becomes a `_Part` as soon as the parser has
    read it, so its points are Python lists only until then; every other object stays as it is.
    A label value is always a string, so a `metric` with a label named `values` is no result."""
    values, metric = obj.get("values"), obj.get("metric")
    if not isinstance(values, list) or not isinstance(metric, dict):
        return obj
    try:
        t = np.fromiter((point[0] for point in values), dtype=np.float64, count=len(values))
        v = np.fromiter((float(point[1]) for point in values), dtype=np.float64, count=len(values))
    except (TypeError, IndexError) as err:  # as a parse failure: an answer we cannot read
        raise ValueError(f"a sample in Prometheus's answer is not a [time, value] pair: {err}") from None
    return _Part(tuple(sorted(metric.items())), t, v)


def _series(labels: Labels, parts: list[_Part]) -> Series:
    t = np.concatenate([part.t for part in parts])
    v = np.concatenate([part.v for part in parts])
    order = np.argsort(t, kind="stable")  # chunks arrive newest first
    return Series(labels=dict(labels), samples=Samples(t=t[order], v=v[order]))
