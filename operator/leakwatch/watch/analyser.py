"""The analysis loop: every interval, for each LeakWatch, one bounded set of Prometheus queries
(one range query for its pods; for the versions whose memory grows, one for their RSS; for those
and for versions Stable after growth, one for each runtime's cap (JVM heap, Go), and two more for a
runtime whose cap they export), then the pure assessment, then the accountant publishes it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from leakwatch.api.common import parse_duration
from leakwatch.core.assess import (
    LabelledSeries,
    Reading,
    RuntimeSeries,
    assess,
    check_against_rss,
    check_against_runtime,
    summarise,
    versions_to_check_against_rss,
    versions_to_check_against_runtime,
)
from leakwatch.core.conditions import from_rfc3339
from leakwatch.core.decide import DecisionInput, decide, gather_facts
from leakwatch.core.promql import Scope, memory_query, runtime_queries
from leakwatch.core.query_guard import QueryRefused
from leakwatch.core.state import LeakWatchState
from leakwatch.core.transitions import AnalysisOutcome
from leakwatch.publish import metrics
from leakwatch.publish.actions import Executor
from leakwatch.sample.prometheus import MetricsSource, PrometheusError
from leakwatch.sample.sboms import ComponentSource, ComponentsUnavailable
from leakwatch.watch.accountant import Accountant

log = logging.getLogger(__name__)


class Analyser:
    def __init__(
        self,
        accountant: Accountant,
        source: MetricsSource,
        interval_seconds: float,
        time_scale: float = 1.0,
        executors: Sequence[Executor] = (),
        components: ComponentSource | None = None,
    ) -> None:
        """`executors`: what Auto mode may carry out (publish/actions.py); none, and it acts on nothing.
        `components`: where the components inside running images are read (SbomReports), if anywhere."""
        self.accountant = accountant
        self.components = components
        self.executors = tuple(executors)
        self.time_scale = time_scale
        self.source = source
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="analyser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        log.info("analysing every %gs", self.interval)
        while not self._stop.wait(self.interval):
            with metrics.ANALYSIS_CYCLE_DURATION.time():
                self._cycle()

    def _cycle(self) -> None:
        if self.components is not None:
            self._read_components({state.namespace for state in self.accountant.states()})
        for state in self.accountant.states():
            if self._stop.is_set():
                return
            if state.spec is None:
                continue
            try:
                self.analyse(state)
            except Exception:  # one LeakWatch's bad day must not stop the others' analysis
                metrics.ANALYSIS_ERRORS.labels(reason="InternalError").inc()
                log.exception("analysis of %s/%s failed", state.namespace, state.name)

    def _read_components(self, namespaces: set[str]) -> None:
        """Before the analyses: what each namespace's running versions are made of. Unreadable
        reports leave the versions with what was kept before, and say why in the log and metrics."""
        assert self.components is not None
        for namespace in sorted(namespaces):
            try:
                reports = self.components.read(namespace)
            except ComponentsUnavailable as err:
                metrics.ANALYSIS_ERRORS.labels(reason="ComponentsUnavailable").inc()
                log.warning("%s", err)
                self.accountant.record_components(namespace, str(err))
                continue
            self.accountant.record_components(namespace, reports)

    def analyse(self, state: LeakWatchState) -> None:
        """Analyse one snapshot, holding no lock: the accountant goes on counting meanwhile, and
        takes the outcome only if the LeakWatch is still the one that was analysed."""
        assert state.spec is not None
        spec, now = state.spec, datetime.now(UTC)
        window = parse_duration(spec.memory.window)
        versions = state.ledger.pod_versions(since=now - window)
        pods = sorted(versions)
        if not pods:
            return
        started = time.perf_counter()
        try:
            query = memory_query(spec.memory, Scope(state.namespace, pods))
        except QueryRefused as refused:
            metrics.ANALYSIS_ERRORS.labels(reason="QueryRefused").inc()
            self.accountant.record_analysis(state.namespace, state.name, state.uid, str(refused), "QueryRefused")
            return
        step = parse_duration(spec.memory.step).total_seconds()

        def read(query: str) -> list[LabelledSeries]:
            found = self.source.range_query(
                query, start=(now - window).timestamp(), end=now.timestamp(), step_seconds=step
            )
            return [LabelledSeries(s.labels, s.samples) for s in found]

        reading = Reading(state.namespace, spec, state.ledger, now, self.time_scale)

        def pods_of(chosen: list[str]) -> Scope:
            return Scope(state.namespace, sorted(pod for pod, (version, _) in versions.items() if version in chosen))

        try:
            assessment = assess(read(query), reading)
            # More queries only for versions whose memory grows: is it RSS or page cache?
            to_check = versions_to_check_against_rss(assessment, spec)
            if to_check:
                rss_query = memory_query(spec.memory.model_copy(update={"signal": "RSS"}), pods_of(to_check))
                rss = read(rss_query)
                assessment = check_against_rss(assessment, rss, reading)
            # ...and is it a runtime (a JVM heap, Go) filling to its cap, or a live heap leaking while a
            # soft cap holds the working set? Pods without its metrics cost one query that answers nothing.
            to_check = versions_to_check_against_runtime(assessment, spec)
            for runtime in runtime_queries(spec.memory, pods_of(to_check)) if to_check else []:
                maximum = read(runtime.maximum)
                if maximum:
                    found = RuntimeSeries(
                        runtime.cap,
                        read(runtime.committed),
                        read(runtime.used_floor),
                        maximum,
                    )
                    assessment = check_against_runtime(assessment, found, reading)
        except PrometheusError as err:  # no verdict from half the evidence
            metrics.ANALYSIS_ERRORS.labels(reason=err.reason).inc()
            log.warning("analysis of %s/%s: %s", state.namespace, state.name, err)
            self.accountant.record_analysis(state.namespace, state.name, state.uid, str(err), err.reason)
            return
        workload, facts = gather_facts(state.ledger, assessment.verdicts, now, self.time_scale)
        summary, leak = summarise(assessment, state.running_versions())
        workload = workload or state.name
        decision = decide(DecisionInput(workload, facts, spec.version.framework, self.accountant.advisories()))
        metrics.ANALYSIS_DURATION.observe(time.perf_counter() - started)
        recommendation = self.accountant.record_analysis(
            state.namespace,
            state.name,
            state.uid,
            AnalysisOutcome(assessment.verdicts, summary, leak, decision, workload),
        )
        # Ownership can move while Prometheus answers: act only if this replica still owns it.
        if spec.action.mode != "Auto" or not self.accountant.is_active(state.namespace, state.name, state.uid):
            return
        if recommendation is None or recommendation.since is None:
            return  # deleted while it was analysed
        actor = self.accountant.auto_actor(state.namespace, workload)
        for executor in self.executors:
            entry = executor.attempt(
                namespace=state.namespace,
                workload=workload,
                decision=decision,
                spec=spec,
                previous=state.last_action,
                recommended_since=from_rfc3339(recommendation.since),
                acts_instead=actor if actor != state.name else None,
            )
            if entry is not None:  # it was this executor's decision: acted on, or refused and why
                self.accountant.record_action(state.namespace, state.name, state.uid, entry)
                return
