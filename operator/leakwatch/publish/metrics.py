"""The operator's own Prometheus metrics, on their own registry so tests can read them alone."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, start_http_server

from leakwatch import __version__

REGISTRY = CollectorRegistry(auto_describe=True)

BUILD_INFO = Info("leakwatch_build", "LeakWatch build information.", registry=REGISTRY)
BUILD_INFO.info({"version": __version__})

LEAKWATCHES = Gauge(
    "leakwatch_leakwatches",
    "LeakWatch objects this operator handles, by whether their spec is usable.",
    ["ready"],
    registry=REGISTRY,
)
RECONCILES = Counter(
    "leakwatch_reconciles_total",
    "LeakWatch reconciliations, by result.",
    ["result"],
    registry=REGISTRY,
)


PROMETHEUS_QUERIES = Counter(
    "leakwatch_prometheus_queries",
    "Prometheus HTTP API calls, by result.",
    ["result"],
    registry=REGISTRY,
)
PROMETHEUS_QUERY_DURATION = Histogram(
    "leakwatch_prometheus_query_duration_seconds",
    "Wall time of one Prometheus HTTP API call, retries included.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
ANALYSIS_CYCLE_DURATION = Histogram(
    "leakwatch_analysis_cycle_duration_seconds",
    "One pass of the analyser over every LeakWatch this operator handles.",
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
ANALYSIS_DURATION = Histogram(
    "leakwatch_analysis_duration_seconds",
    "One analysis cycle of one LeakWatch: sampling and analysis.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
ANALYSIS_ERRORS = Counter(
    "leakwatch_analysis_errors",
    "Analysis cycles that failed, by reason.",
    ["reason"],
    registry=REGISTRY,
)


class PrometheusQueryStats:
    """The Prometheus client's calls, as leakwatch_prometheus_queries and its duration histogram."""

    def attempt(self, ok: bool) -> None:
        PROMETHEUS_QUERIES.labels(result="ok" if ok else "error").inc()

    def call(self, seconds: float) -> None:
        PROMETHEUS_QUERY_DURATION.observe(seconds)


def serve(port: int, address: str) -> None:
    """Serve /metrics in a daemon thread (prometheus_client's own server)."""
    start_http_server(port, addr=address, registry=REGISTRY)
