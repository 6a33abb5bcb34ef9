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
from typing import Any

from leakwatch.api import API_VERSION
from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.attribution import UNKNOWN, read_version
from leakwatch.core.conditions import DEGRADED, ConditionUpdate, merge_conditions
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

    def selects(self, pod: PodInfo) -> bool:
        return self.spec is not None and pod.namespace == self.namespace and self.spec.selector.matches(pod.labels)


class Accountant:
    def __init__(self, status: StatusWriter, events: EventPoster, clock: Clock = lambda: datetime.now(UTC)) -> None:
        self.status = status
        self.events = events
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
                    namespace, name, uid, generation, parsed,
                    Ledger.from_status(status.get("ledger")), list(status.get("conditions", [])),
                )  # fmt: skip
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
            **ledger_status(watched.ledger, self.clock()),
        }
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
            owner = ObjectRef(_owner_api_version(pod.owner.kind), pod.owner.kind, pod.namespace, pod.owner.name,
                              pod.owner.uid)  # fmt: skip
        else:
            owner = ObjectRef("v1", "Pod", watched.namespace, kill.pod_name, kill.pod_uid)
        self.events.post(owner, key=key, reason="OOMKilled", message=message)
        self.events.post(
            ObjectRef(API_VERSION, "LeakWatch", watched.namespace, watched.name, watched.uid),
            key=key,
            reason="OOMKilled",
            message=f"{kill.workload}: {message}",
        )

    def snapshot(self) -> list[tuple[str, str, Ledger]]:
        with self.lock:
            return [(w.namespace, w.name, w.ledger) for w in self.watched.values()]


def _owner_api_version(kind: str) -> str:
    return "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
