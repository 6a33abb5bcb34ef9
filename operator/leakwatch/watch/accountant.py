"""Ties the shared pod watch to the LeakWatches: attributes each selected pod to a version,
counts its OOMKills in the LeakWatch's ledger, and publishes status, Events and metrics.

It is the one writer of LeakWatch status in this process: the kopf handlers hand their spec over
to it rather than patching status themselves, so no two writers replace each other's lists.
Status is written before Events are posted: a crash in between loses at most an Event, never
counts an OOMKill twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from leakwatch.api import API_VERSION
from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.attribution import UNKNOWN, read_version
from leakwatch.core.conditions import DEGRADED, ROLLBACK_RECOMMENDED, ConditionUpdate, merge_conditions, rfc3339
from leakwatch.core.decide import Decision, recommendation_status
from leakwatch.core.oom import Ledger, OOMKill
from leakwatch.core.pods import PodInfo
from leakwatch.core.summary import ledger_status
from leakwatch.core.validation import parse_spec
from leakwatch.publish.events import EventPoster, ObjectRef
from leakwatch.publish.status import StatusWriter

log = logging.getLogger(__name__)
VERSIONS_RESOLVED = "VersionsResolved"
Clock = Callable[[], datetime]


@dataclass
class Watched:
    namespace: str
    name: str
    uid: str
    generation: int
    spec: LeakWatchSpec | None
    ledger: Ledger
    conditions: list[dict[str, Any]]
    version_problems: dict[str, str] = field(default_factory=dict)  # pod uid -> why its version is unknown
    # The last successful analysis; kept as it is while Prometheus is unreachable, so missing data
    # never flips a verdict.
    analysis: dict[str, dict[str, Any]] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    last_analysis: datetime | None = None
    recommendation: dict[str, Any] | None = None
    last_action: dict[str, Any] | None = None

    def selects(self, pod: PodInfo) -> bool:
        return self.spec is not None and pod.namespace == self.namespace and self.spec.selector.matches(pod.labels)


@dataclass(frozen=True)
class AnalysisOutcome:
    rows: dict[str, dict[str, Any]]  # per-version status fields
    fields: dict[str, Any]  # verdict, suspectVersion
    leak: ConditionUpdate  # LeakSuspected
    decision: Decision
    workload: str


class WorkloadLookup(Protocol):
    def deployment_uid(self, namespace: str, name: str) -> str | None: ...


class Accountant:
    def __init__(
        self,
        status: StatusWriter,
        events: EventPoster,
        clock: Clock = lambda: datetime.now(UTC),
        workloads: WorkloadLookup | None = None,
    ) -> None:
        self.status = status
        self.events = events
        self.workloads = workloads
        self.advisories: dict[str, LeakAdvisorySpec] = {}
        self.clock = clock
        self.lock = threading.RLock()
        self.watched: dict[tuple[str, str], Watched] = {}
        self.pods: dict[str, PodInfo] = {}
        self.synced: set[str | None] = set()  # namespaces whose pods were listed completely (None = all)

    # --- LeakWatch lifecycle (from kopf handlers) ----------------------------------------------------
    def apply_spec(
        self, namespace: str, name: str, uid: str, generation: int, spec: dict[str, Any], status: dict[str, Any]
    ) -> bool:
        """Take a LeakWatch's (new) spec, account for its pods, write its status; True if the spec is usable."""
        parsed, ready = parse_spec(spec)
        with self.lock:
            watched = self.watched.get((namespace, name))
            if watched is None or watched.uid != uid:
                watched = Watched(
                    namespace,
                    name,
                    uid,
                    generation,
                    parsed,
                    Ledger.from_status(status.get("ledger")),
                    list(status.get("conditions", [])),
                    recommendation=status.get("recommendation"),
                    last_action=status.get("lastAction"),
                )
                self.watched[(namespace, name)] = watched
            watched.spec, watched.generation = parsed, generation
            updates = [ready]
            if not any(c.get("type") == DEGRADED for c in watched.conditions):
                updates.append(ConditionUpdate(DEGRADED, "False", "AsExpected", "no faults seen"))
            self._set_conditions(watched, updates)
            kills: list[OOMKill] = []
            if parsed is not None:
                for pod in [p for p in self.pods.values() if p.namespace == namespace]:
                    kills += self._account(watched, pod)
                if self._is_synced(namespace):
                    self._prune(watched)
            self._publish(watched, kills)
            return parsed is not None

    def record_analysis(
        self,
        namespace: str,
        name: str,
        uid: str,
        outcome: AnalysisOutcome | str,
    ) -> None:
        """Store an analysis and its recommendation or, given a string, the reason it failed:
        Degraded, with the previous verdicts and recommendation left exactly as they were."""
        with self.lock:
            watched = self.watched.get((namespace, name))
            if watched is None or watched.uid != uid:
                return  # deleted (or replaced) while it was being analysed: keep nothing
            if isinstance(outcome, str):
                self._set_conditions(watched, [ConditionUpdate(DEGRADED, "True", "PrometheusUnavailable", outcome)])
                self._publish(watched, [])
                return
            watched.analysis, watched.summary = outcome.rows, outcome.fields
            watched.last_analysis = self.clock()
            changed = self._recommend(watched, outcome)
            self._set_conditions(
                watched,
                [outcome.leak, ConditionUpdate(DEGRADED, "False", "AsExpected", "memory analysis succeeded")],
            )
            self._publish(watched, [])
            if changed:
                self._announce_recommendation(watched, outcome.workload)

    def _recommend(self, watched: Watched, outcome: AnalysisOutcome) -> bool:
        """Keep the recommendation (and its `since`) unless what it says changed; True if it did."""
        decision = outcome.decision
        previous = watched.recommendation or {}
        same = (previous.get("action"), previous.get("fromVersion"), previous.get("toVersion")) == (
            decision.action,
            decision.from_version,
            decision.to_version,
        )
        since = str(previous["since"]) if same and previous.get("since") else rfc3339(self.clock())
        watched.recommendation = recommendation_status(decision, outcome.workload, since)
        recommended = decision.action in ("Upgrade", "Rollback")
        condition = ConditionUpdate(
            ROLLBACK_RECOMMENDED, "True" if recommended else "False", decision.reason, decision.summary
        )
        self._set_conditions(watched, [condition])
        return not same and decision.action != "None"

    def _announce_recommendation(self, watched: Watched, workload: str) -> None:
        rec = watched.recommendation or {}
        key = f"recommendation/{rec.get('action')}/{rec.get('fromVersion')}/{rec.get('toVersion')}"
        reason = f"{rec.get('action')}Recommended"
        self.events.post(
            ObjectRef(API_VERSION, "LeakWatch", watched.namespace, watched.name, watched.uid),
            key=key,
            reason=reason,
            message=str(rec.get("summary")),
        )
        deployment = self.workloads.deployment_uid(watched.namespace, workload) if self.workloads else None
        if deployment is not None:
            self.events.post(
                ObjectRef("apps/v1", "Deployment", watched.namespace, workload, deployment),
                key=key,
                reason=reason,
                message=str(rec.get("summary")),
            )

    def record_action(self, namespace: str, name: str, uid: str, entry: dict[str, Any]) -> None:
        """Store what Auto mode did or why it did not; announce it once per distinct outcome."""
        with self.lock:
            watched = self.watched.get((namespace, name))
            if watched is None or watched.uid != uid:
                return
            previous = watched.last_action or {}
            fields = ("reason", "fromVersion", "toVersion", "revision", "actedAt")
            news = any(previous.get(f) != entry.get(f) for f in fields)
            watched.last_action = {k: v for k, v in entry.items() if v is not None}
            self._publish(watched, [])
            if not news:
                return
            key = "action/" + "/".join(str(entry.get(f)) for f in fields)
            reason = "AutoRollback" if entry["reason"] == "AutoRollback" else f"AutoRollback{entry['reason']}"
            subjects = [ObjectRef(API_VERSION, "LeakWatch", namespace, name, uid)]
            deployment = self.workloads.deployment_uid(namespace, entry["workload"]) if self.workloads else None
            if deployment is not None:
                subjects.append(ObjectRef("apps/v1", "Deployment", namespace, entry["workload"], deployment))
            for subject in subjects:
                self.events.post(
                    subject,
                    key=key,
                    reason=reason,
                    message=entry["message"],
                    warning=entry["reason"] not in ("AutoRollback", "DryRun"),
                )

    def set_advisory(self, name: str, spec: LeakAdvisorySpec | None) -> None:
        with self.lock:
            if spec is None:
                self.advisories.pop(name, None)
            else:
                self.advisories[name] = spec

    def forget(self, namespace: str, name: str) -> None:
        with self.lock:
            self.watched.pop((namespace, name), None)

    # --- pods (from the pod watch threads) -----------------------------------------------------------
    def on_pod(self, pod: PodInfo) -> None:
        with self.lock:
            if pod.deleted:
                self.pods.pop(pod.uid, None)
            else:
                self.pods[pod.uid] = pod
            for watched in self._watching(pod.namespace):
                if pod.uid in watched.ledger.pods or watched.selects(pod):
                    kills = self._account(watched, pod)
                    self._publish(watched, kills)

    def on_synced(self, namespace: str | None, uids: set[str]) -> None:
        with self.lock:
            self.synced.add(namespace)
            for watched in list(self.watched.values()):
                if (namespace is None or watched.namespace == namespace) and self._prune(watched):
                    self._publish(watched, [])

    # --- internals ------------------------------------------------------------------------------------
    def _is_synced(self, namespace: str) -> bool:
        return None in self.synced or namespace in self.synced

    def _watching(self, namespace: str) -> list[Watched]:
        return [w for w in self.watched.values() if w.namespace == namespace and w.spec is not None]

    def _prune(self, watched: Watched) -> bool:
        """Pods deleted while nobody watched: fold them into their version's pod-hours."""
        gone = [uid for uid in watched.ledger.pods if uid not in self.pods]
        for uid in gone:
            watched.ledger.forget(uid, self.clock())
            watched.version_problems.pop(uid, None)
        return bool(gone)

    def _account(self, watched: Watched, pod: PodInfo) -> list[OOMKill]:
        assert watched.spec is not None
        if pod.deleted or not watched.selects(pod):
            # Gone, or relabelled out of the selector: its lifetime so far still counts.
            watched.ledger.forget(pod.uid, self.clock())
            watched.version_problems.pop(pod.uid, None)
            return []
        reading = read_version(pod, watched.spec.version, watched.spec.containers)
        if reading.problem:
            watched.version_problems[pod.uid] = reading.problem
        else:
            watched.version_problems.pop(pod.uid, None)
        return watched.ledger.observe(
            pod,
            version=reading.version,
            workload=pod.workload or watched.name,
            containers=watched.spec.containers,
            now=self.clock(),
        )

    def _set_conditions(self, watched: Watched, updates: list[ConditionUpdate]) -> None:
        watched.conditions = merge_conditions(
            watched.conditions, updates, generation=watched.generation, now=self.clock()
        )

    def _version_condition(self, watched: Watched) -> ConditionUpdate:
        problems = watched.version_problems
        if not problems:
            return ConditionUpdate(VERSIONS_RESOLVED, "True", "AllVersionsKnown", "every watched pod has a version")
        first = next(iter(problems.values()))
        more = f" (and {len(problems) - 1} more pods)" if len(problems) > 1 else ""
        return ConditionUpdate(
            VERSIONS_RESOLVED, "False", "VersionUnknown", f"{first}{more}; counted as version {UNKNOWN}"
        )

    def _publish(self, watched: Watched, kills: list[OOMKill]) -> None:
        if watched.spec is not None:
            self._set_conditions(watched, [self._version_condition(watched)])
        status = {
            "observedGeneration": watched.generation,
            "conditions": watched.conditions,
            **ledger_status(watched.ledger, self.clock(), watched.analysis),
            **watched.summary,
        }
        if watched.last_analysis is not None:
            status["lastAnalysisTime"] = rfc3339(watched.last_analysis)
        if watched.recommendation is not None:
            status["recommendation"] = watched.recommendation
        if watched.last_action is not None:
            status["lastAction"] = watched.last_action
        if not self.status.patch(watched.namespace, watched.name, status):
            self.watched.pop((watched.namespace, watched.name), None)  # deleted under us: keep nothing
            return
        for kill in kills:
            self._announce(watched, kill)

    def _announce(self, watched: Watched, kill: OOMKill) -> None:
        pod = self.pods.get(kill.pod_uid)
        when = f"at {kill.finished_at}" if kill.finished_at else "while LeakWatch was not watching (inferred)"
        message = f"container {kill.container} of pod {kill.pod_name} (version {kill.version}) was OOMKilled {when}"
        key = f"{kill.pod_uid}/{kill.container}/{kill.finished_at or f'inferred-{kill.restart_count}'}"
        if pod is not None and pod.owner is not None:
            owner = ObjectRef(
                _owner_api_version(pod.owner.kind), pod.owner.kind, pod.namespace, pod.owner.name, pod.owner.uid
            )
        else:
            owner = ObjectRef("v1", "Pod", watched.namespace, kill.pod_name, kill.pod_uid)
        self.events.post(owner, key=key, reason="OOMKilled", message=message)
        self.events.post(
            ObjectRef(API_VERSION, "LeakWatch", watched.namespace, watched.name, watched.uid),
            key=key,
            reason="OOMKilled",
            message=f"{kill.workload}: {message}",
        )

    def snapshot(self) -> list[Watched]:
        """The watched LeakWatches, for readers in other threads (metrics, the analyser)."""
        with self.lock:
            return list(self.watched.values())


def _owner_api_version(kind: str) -> str:
    return "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
