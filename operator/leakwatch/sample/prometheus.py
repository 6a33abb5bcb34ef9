"""Range queries against the Prometheus HTTP API, turned into typed series.

Timeouts on every call, a bounded number of retries with backoff, and a `PrometheusError` that
says what failed: the analyser turns it into a Degraded condition and keeps its last verdicts
rather than judging on missing data.

A long window is read in chunks on one step grid: Prometheus answers at most 11,000 points per
series, and one response of 300 pods x 7 days would take the operator past its memory limit
while it parses. The newest chunk goes first and tells how many series the query has; the rest
are sized so one response holds at most `CHUNK_SAMPLES` samples, and a query whose whole window
would hold more than `MAX_SAMPLES` is refused before the rest is read.
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

from leakwatch.core.analysis import Samples
from leakwatch.publish import metrics

log = logging.getLogger(__name__)

PROMETHEUS_MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series
CHUNK_POINTS = 10_000  # points per series in one chunk, below Prometheus's limit
FIRST_CHUNK_POINTS = 360  # the newest chunk, read first to learn the query's series count
CHUNK_SAMPLES = 250_000  # samples in one response: about 8 MB of JSON, 50 MB while parsed
MAX_SAMPLES = 4_000_000  # series x points one query may read: 64 MB as float64 pairs
MAX_SERIES = 5_000
MAX_RESPONSE_BYTES = 32 * 2**20
QUERY_TIMEOUT_SECONDS = 20  # Prometheus stops evaluating after this; our HTTP timeout is longer

FailureReason = Literal["PrometheusUnavailable", "QueryRejected", "QueryTooLarge", "QueryTimeout"]


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


class PrometheusClient:
    def __init__(self, base_url: str, timeout_seconds: float = 30.0, attempts: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.http = httpx.Client(timeout=timeout_seconds, transport=httpx.HTTPTransport(retries=1))

    def range_query(self, query: str, start: float, end: float, step_seconds: float) -> list[Series]:
        total_points = grid_points(start, end, step_seconds)
        collected: dict[tuple[tuple[str, str], ...], list[list[Any]]] = {}
        read = 0

        def take(chunk: Chunk) -> None:
            nonlocal read
            for item in self._range(query, chunk, step_seconds):
                collected.setdefault(tuple(sorted(item.get("metric", {}).items())), []).append(item["values"])
                read += len(item["values"])
            self._check_size(len(collected), read, total_points)

        newest = next(chunks(start, end, step_seconds, FIRST_CHUNK_POINTS))
        take(newest)
        if newest.start > start:  # the rest, sized now that the series count is known
            for chunk in chunks(start, newest.start - step_seconds, step_seconds, points_per_chunk(len(collected))):
                take(chunk)
        return [_series(dict(labels), parts) for labels, parts in collected.items()]

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

    def _range(self, query: str, chunk: Chunk, step: float) -> list[dict[str, Any]]:
        form = {
            "query": query,
            "start": f"{chunk.start:.3f}",
            "end": f"{chunk.end:.3f}",
            "step": f"{step:g}",
            "timeout": f"{QUERY_TIMEOUT_SECONDS:g}",  # seconds, as Prometheus reads a bare number
        }
        body = self._post("/api/v1/query_range", form)
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        with metrics.PROMETHEUS_QUERY_DURATION.time():
            return self._post_with_retries(path, form)

    def _post_with_retries(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        delay = 0.5
        reason = ""
        failure: FailureReason = "PrometheusUnavailable"
        for attempt in range(1, self.attempts + 1):
            try:
                status, payload = self._read(path, form)
                if status == 200 and payload.get("status") == "success":
                    metrics.PROMETHEUS_QUERIES.labels(result="ok").inc()
                    return payload
                # Prometheus's error text can list the series a query touched, labels and all:
                # it goes to our log, never into a status that the LeakWatch's readers see.
                log.warning("Prometheus answered HTTP %s: %s", status, payload.get("error", ""))
                reason = f"HTTP {status} ({payload.get('errorType') or 'no error type'})"
                if status in (400, 422):  # a bad query stays bad
                    failure = "QueryRejected"
                elif payload.get("errorType") == "timeout":
                    failure = "QueryTimeout"
            except (httpx.HTTPError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
            metrics.PROMETHEUS_QUERIES.labels(result="error").inc()
            if failure != "PrometheusUnavailable":
                break
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
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

    def _read(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        """POST (a query naming many pods can be longer than a URL should be) and read at most
        MAX_RESPONSE_BYTES of the answer."""
        with self.http.stream("POST", self.base_url + path, data=form) as response:
            parts, size = [], 0
            for part in response.iter_bytes():
                size += len(part)
                if size > MAX_RESPONSE_BYTES:
                    raise PrometheusError(
                        f"Prometheus's answer exceeded {MAX_RESPONSE_BYTES // 2**20} MiB: narrow the selector or "
                        "raise memory.step",
                        reason="QueryTooLarge",
                    )
                parts.append(part)
            payload: dict[str, Any] = json.loads(b"".join(parts))
            return response.status_code, payload


def _series(labels: dict[str, str], parts: list[list[Any]]) -> Series:
    points = [p for part in parts for p in part]
    t = np.array([float(ts) for ts, _ in points], dtype=np.float64)
    v = np.array([float(value) for _, value in points], dtype=np.float64)
    order = np.argsort(t, kind="stable")  # chunks arrive newest first
    return Series(labels=labels, samples=Samples(t=t[order], v=v[order]))
