"""Prometheus metrics read at scrape time from what the accountant holds (client_python's custom
collector pattern): the OOM counters are the ledger's own totals, so an operator restart resumes
them where the cluster-stored ledger left them instead of resetting to zero."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leakwatch.api.terms import VERDICTS

if TYPE_CHECKING:
    from leakwatch.watch.accountant import Accountant

VERSION_LABELS = ["namespace", "leakwatch", "workload", "version"]


class LeakWatchCollector(Collector):
    def __init__(self, accountant: Accountant) -> None:
        self.accountant = accountant

    def collect(self) -> Iterator[Metric]:
        now = self.accountant.clock()  # the clock the ledger counted with
        kills = CounterMetricFamily(
            "leakwatch_oom_kills",
            "OOMKills of watched containers, each counted once (inferred ones included).",
            labels=["namespace", "leakwatch", "workload", "container", "version"],
        )
        kills_in_window = GaugeMetricFamily(
            "leakwatch_oom_kills_in_window",
            "OOMKills within the LeakWatch's oom.window: what oom.threshold is compared with.",
            labels=["namespace", "leakwatch", "workload", "container", "version"],
        )
        pod_seconds = CounterMetricFamily(
            "leakwatch_observed_pod_seconds", "Pod-seconds observed per version.", labels=VERSION_LABELS
        )
        growth = GaugeMetricFamily(
            "leakwatch_memory_growth_bytes_per_second",
            "Robust growth rate of the memory lower envelope, per version.",
            labels=VERSION_LABELS,
        )
        time_to_oom = GaugeMetricFamily(
            "leakwatch_time_to_oom_seconds",
            "Projected time until the memory limit, per version.",
            labels=VERSION_LABELS,
        )
        verdict = GaugeMetricFamily(
            "leakwatch_version_verdict", "1 for the current verdict of a version.", labels=[*VERSION_LABELS, "verdict"]
        )
        last_success = GaugeMetricFamily(
            "leakwatch_last_successful_analysis_timestamp_seconds",
            "Unix time of the last analysis that completed.",
            labels=["namespace", "leakwatch"],
        )
        recommendation = GaugeMetricFamily(
            "leakwatch_recommendation_info",
            "1 for each LeakWatch's current recommendation.",
            labels=["namespace", "leakwatch", "workload", "action", "from_version", "to_version"],
        )
        with self.accountant.lock:
            # Only what this replica owns: a paused replica's copies would count every OOMKill twice.
            everyone = sorted(
                (w for w in self.accountant.watched.values() if w.active), key=lambda w: (w.namespace, w.name)
            )
            for watched in everyone:
                ns, name, ledger = watched.namespace, watched.name, watched.ledger
                # Each OOMKill in one LeakWatch's counter, where selectors overlap (core/overlap.py).
                in_window = ledger.exported_window_counts(now, watched.oom_window_seconds)
                for (workload, container, version), count in sorted(ledger.exported_counts().items()):
                    labels = [ns, name, workload, container, version]
                    kills.add_metric(labels, count)
                    kills_in_window.add_metric(labels, in_window.get((workload, container, version), 0))
                running = {pod.version for pod in ledger.pods.values()}
                for version, record in sorted(ledger.versions.items()):
                    labels = [ns, name, record.workload or name, version]
                    pod_seconds.add_metric(labels, ledger.pod_seconds(version, now))
                    row = watched.analysis.get(version)
                    # A version that no longer runs keeps its verdict in status and its past in
                    # Prometheus; exported on, it would hold its alerts firing after the fix.
                    if row is None or version not in running:
                        continue
                    if row.get("growthBytesPerHour") is not None:
                        growth.add_metric(labels, row["growthBytesPerHour"] / 3600)
                    if row.get("timeToOOMSeconds") is not None:
                        time_to_oom.add_metric(labels, row["timeToOOMSeconds"])
                    for state in VERDICTS:
                        verdict.add_metric([*labels, state], 1.0 if row.get("verdict") == state else 0.0)
                rec = watched.recommendation
                if rec is not None:
                    recommendation.add_metric(
                        [
                            ns,
                            name,
                            str(rec.get("workload") or name),
                            str(rec.get("action")),
                            str(rec.get("fromVersion") or ""),
                            str(rec.get("toVersion") or ""),
                        ],
                        1.0,
                    )
                if watched.last_analysis is not None:
                    last_success.add_metric([ns, name], watched.last_analysis.timestamp())
        yield from (kills, kills_in_window, pod_seconds, growth, time_to_oom, verdict, recommendation, last_success)
