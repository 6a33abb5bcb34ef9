"""The analysis loop: every interval, for each LeakWatch, one bounded set of Prometheus queries
(one range query for its pods), then the pure assessment, then the accountant publishes it."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from leakwatch.api.common import parse_duration
from leakwatch.core.assess import LabelledSeries, assess, summarise
from leakwatch.core.decide import DecisionInput, decide, gather_facts
from leakwatch.core.promql import Scope, memory_query
from leakwatch.core.query_guard import QueryRefused
from leakwatch.publish import metrics
from leakwatch.publish.rollback import Rollbacks
from leakwatch.sample.prometheus import MetricsSource, PrometheusError
from leakwatch.watch.accountant import Accountant, AnalysisOutcome, Watched

log = logging.getLogger(__name__)


class Analyser:
    def __init__(
        self,
        accountant: Accountant,
        source: MetricsSource,
        interval_seconds: float,
        time_scale: float = 1.0,
        rollbacks: Rollbacks | None = None,
    ) -> None:
        self.accountant = accountant
        self.rollbacks = rollbacks
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
        for watched in self.accountant.snapshot():
            if self._stop.is_set():
                return
            if watched.spec is None:
                continue
            try:
                self.analyse(watched)
            except Exception:  # one LeakWatch's bad day must not stop the others' analysis
                metrics.ANALYSIS_ERRORS.labels(reason="InternalError").inc()
                log.exception("analysis of %s/%s failed", watched.namespace, watched.name)

    def analyse(self, watched: Watched) -> None:
        assert watched.spec is not None
        spec, now = watched.spec, datetime.now(UTC)
        window = parse_duration(spec.memory.window)
        with self.accountant.lock:
            pods = sorted(watched.ledger.pod_versions(since=now - window))
        if not pods:
            return
        started = time.perf_counter()
        try:
            query = memory_query(spec.memory, Scope(watched.namespace, pods))
        except QueryRefused as refused:
            metrics.ANALYSIS_ERRORS.labels(reason="QueryRefused").inc()
            self.accountant.record_analysis(watched.namespace, watched.name, watched.uid, str(refused), "QueryRefused")
            return
        try:
            found = self.source.range_query(
                query,
                start=(now - window).timestamp(),
                end=now.timestamp(),
                step_seconds=parse_duration(spec.memory.step).total_seconds(),
            )
        except PrometheusError as err:
            metrics.ANALYSIS_ERRORS.labels(reason=err.reason).inc()
            log.warning("analysis of %s/%s: %s", watched.namespace, watched.name, err)
            self.accountant.record_analysis(watched.namespace, watched.name, watched.uid, str(err), err.reason)
            return
        series = [LabelledSeries(s.labels, s.samples) for s in found]
        with self.accountant.lock:
            assessment = assess(
                series,
                namespace=watched.namespace,
                spec=spec,
                ledger=watched.ledger,
                now=now,
                time_scale=self.time_scale,
            )
            running = {p.version for p in watched.ledger.pods.values()}
            workload, facts = gather_facts(watched.ledger, assessment.verdicts, now, self.time_scale)
            advisories = sorted(self.accountant.advisories.items())
        fields, leak = summarise(assessment, running)
        workload = workload or watched.name
        decision = decide(DecisionInput(workload, facts, spec.version.framework, advisories))
        metrics.ANALYSIS_DURATION.observe(time.perf_counter() - started)
        self.accountant.record_analysis(
            watched.namespace,
            watched.name,
            watched.uid,
            AnalysisOutcome(assessment.status_rows(), fields, leak, decision, workload),
        )
        # Ownership can move while Prometheus answers: act only if this replica still owns it.
        if self.rollbacks is not None and self.accountant.is_active(watched.namespace, watched.name, watched.uid):
            actor = self.accountant.auto_actor(watched.namespace, workload)
            entry = self.rollbacks.attempt(
                namespace=watched.namespace,
                workload=workload,
                decision=decision,
                spec=spec,
                previous=watched.last_action,
                acts_instead=actor if actor != watched.name else None,
            )
            if entry is not None:
                self.accountant.record_action(watched.namespace, watched.name, watched.uid, entry)
