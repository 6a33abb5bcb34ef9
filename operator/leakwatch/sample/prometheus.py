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
    """Prometheus could not be asked, did not answer, or refused the query: the reason goes into
    Degraded. `rejected` tells a query Prometheus will never run (HTTP 400/422) from an outage."""

    def __init__(self, message: str, *, rejected: bool = False) -> None:
        super().__init__(message)
        self.rejected = rejected


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
                retryable = response.status_code not in (400, 422)  # a bad query stays bad
                # Prometheus's error text can list the series a query touched, labels and all:
                # it goes to our log, never into a status that the LeakWatch's readers see.
                log.warning("Prometheus answered HTTP %s: %s", response.status_code, payload.get("error", ""))
                reason = f"HTTP {response.status_code} ({payload.get('errorType') or 'no error type'})"
            except (httpx.HTTPError, ValueError) as err:
                reason = f"{type(err).__name__}: {err}"
            metrics.PROMETHEUS_QUERIES.labels(result="error").inc()
            if not retryable:
                break
            if attempt < self.attempts:
                time.sleep(delay)
                delay *= 2
        if not retryable:
            raise PrometheusError(
                f"Prometheus at {self.base_url} rejected the query: {reason}; its error text is in the operator's "
                "log, not here, because it can quote series",
                rejected=True,
            )
        raise PrometheusError(f"Prometheus at {self.base_url} failed: {reason.strip()}")
