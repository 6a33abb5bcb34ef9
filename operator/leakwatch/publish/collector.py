"""Prometheus metrics read at scrape time from what the accountant holds (client_python's custom
collector pattern): the OOM counters are the ledger's own totals, so an operator restart resumes
them where the cluster-stored ledger left them instead of resetting to zero."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from leakwatch.core.oom import Ledger

LedgerSnapshot = Callable[[], list[tuple[str, str, Ledger]]]  # (namespace, leakwatch, ledger)


class LedgerCollector(Collector):
    def __init__(self, snapshot: LedgerSnapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        kills = CounterMetricFamily(
            "leakwatch_oom_kills",
            "OOMKills of watched containers, each counted once (inferred ones included).",
            labels=["namespace", "leakwatch", "workload", "container", "version"],
        )
        pod_seconds = CounterMetricFamily(
            "leakwatch_observed_pod_seconds",
            "Pod-seconds observed per version.",
            labels=["namespace", "leakwatch", "workload", "version"],
        )
        for namespace, name, ledger in self.snapshot():
            for (workload, container, version), total in sorted(ledger.ooms.items()):
                kills.add_metric([namespace, name, workload, container, version], total.kills)
            for version, record in sorted(ledger.versions.items()):
                pod_seconds.add_metric(
                    [namespace, name, record.workload or name, version], ledger.pod_seconds(version, now)
                )
        yield kills
        yield pod_seconds
