"""Range queries against the Prometheus HTTP API, turned into typed series.

Timeouts on every call, a bounded number of retries with backoff, and a `PrometheusError` that
says what failed: the analyser turns it into a Degraded condition and keeps its last verdicts
rather than judging on missing data.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
import numpy as np

from leakwatch.core.analysis import Samples
from leakwatch.publish import metrics

log = logging.getLogger(__name__)


class PrometheusError(RuntimeError):
    """Prometheus could not be asked or did not answer: the reason goes into Degraded."""


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    samples: Samples


class MetricsSource(Protocol):
    def range_query(self, query: str, start: float, end: float, step_seconds: float) -> list[Series]: ...


class PrometheusClient:
    def __init__(self, base_url: str, timeout_seconds: float = 30.0, attempts: int = 3) -> None:
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.http = httpx.Client(timeout=timeout_seconds, transport=httpx.HTTPTransport(retries=1))

    def range_query(self, query: str, start: float, end: float, step_seconds: float) -> list[Series]:
        form = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_seconds:g}"}
        body = self._post("/api/v1/query_range", form)
        return [
            Series(
                labels=dict(item.get("metric", {})),
                samples=Samples(
                    t=np.array([float(t) for t, _ in item["values"]], dtype=np.float64),
                    v=np.array([float(v) for _, v in item["values"]], dtype=np.float64),
                ),
            )
            for item in body["data"]["result"]
        ]

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        with metrics.PROMETHEUS_QUERY_DURATION.time():
            return self._post_with_retries(path, form)

    def _post_with_retries(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        delay = 0.5
        reason = ""
        for attempt in range(1, self.attempts + 1):
            retryable = True
            try:
                # POST: a query naming many pods can be longer than a URL should be.
                response = self.http.post(self.base_url + path, data=form)
                payload: dict[str, Any] = response.json()
                if response.status_code == 200 and payload.get("status") == "success":
                    metrics.PROMETHEUS_QUERIES.labels(result="ok").inc()
                    return payload
                reason = f"HTTP {response.status_code}: {payload.get('errorType', '')} {payload.get('error', '')}"
                retryable = response.status_code not in (400, 422)  # a bad query stays bad
            except (httpx.HTTPError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
            metrics.PROMETHEUS_QUERIES.labels(result="error").inc()
            if not retryable:
                break
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
        raise PrometheusError(f"Prometheus at {self.base_url} failed: {reason.strip()}")
