"""Prometheus metrics read at scrape time from snapshots of the LeakWatches (client_python's custom
collector pattern): the OOM counters are the ledger's own totals, so an operator restart resumes
them where the cluster-stored ledger left them instead of resetting to zero. A scrape holds no
lock: it reads snapshots."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from leakwatch.api.terms import VERDICTS
from leakwatch.core.components import framework_in
from leakwatch.core.state import LeakWatchState

VERSION_LABELS = ["namespace", "leakwatch", "workload", "version"]


class LeakWatchCollector(Collector):
    def __init__(self, states: Callable[[], list[LeakWatchState]], clock: Callable[[], datetime]) -> None:
        """`states`: the LeakWatches this replica owns (a paused replica's copies would count every
        OOMKill twice); `clock`: the one the ledger counted with."""
        self.states = states
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
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
        framework = GaugeMetricFamily(
            "leakwatch_version_framework_info",
            "1 for each app version whose spec.version.framework component is known from its SBOM.",
            labels=[*VERSION_LABELS, "framework"],
        )
        recommendation = GaugeMetricFamily(
            "leakwatch_recommendation_info",
            "1 for each LeakWatch's current recommendation.",
            labels=["namespace", "leakwatch", "workload", "action", "from_version", "to_version", "component"],
        )
        for state in self.states():
            ns, name, ledger = state.namespace, state.name, state.ledger
            # Each OOMKill in one LeakWatch's counter, where selectors overlap (core/overlap.py).
            in_window = ledger.exported_window_counts(now, state.oom_window_seconds)
            for (workload, container, version), count in sorted(ledger.exported_counts().items()):
                labels = [ns, name, workload, container, version]
                kills.add_metric(labels, count)
                kills_in_window.add_metric(labels, in_window.get((workload, container, version), 0))
            running = state.running_versions()
            package = state.spec.version.framework if state.spec is not None else None
            for version, record in sorted(ledger.versions.items()):
                labels = [ns, name, record.workload or name, version]
                pod_seconds.add_metric(labels, ledger.pod_seconds(version, now))
                inside = framework_in(record.components, package)
                if inside is not None:
                    framework.add_metric([*labels, inside], 1.0)
                found = state.verdicts.get(version)
                # A version that no longer runs keeps its verdict in status and its past in
                # Prometheus; exported on, it would hold its alerts firing after the fix.
                if found is None or version not in running:
                    continue
                if found.growth_bytes_per_second is not None:
                    growth.add_metric(labels, found.growth_bytes_per_second)
                if found.time_to_oom_seconds is not None:
                    time_to_oom.add_metric(labels, found.time_to_oom_seconds)
                for each in VERDICTS:
                    verdict.add_metric([*labels, each], 1.0 if found.verdict == each else 0.0)
            rec = state.recommendation
            if rec is not None:
                recommendation.add_metric(
                    [
                        ns,
                        name,
                        rec.workload or name,
                        rec.action,
                        rec.from_version or "",
                        rec.to_version or "",
                        rec.component or "",
                    ],
                    1.0,
                )
            if state.last_analysis is not None:
                last_success.add_metric([ns, name], state.last_analysis.timestamp())
        yield from (
            kills,
            kills_in_window,
            pod_seconds,
            growth,
            time_to_oom,
            verdict,
            framework,
            recommendation,
            last_success,
        )
