"""Ties the shared pod watch to the LeakWatches: attributes each selected pod to a version,
counts its OOMKills in the LeakWatch's ledger (in the store), applies analyses and Auto actions
(core/transitions.py), and has the publishers write status, then Events.

It is the one writer of LeakWatch status in this process: the kopf handlers hand their spec over
to it rather than patching status themselves, so no two writers replace each other's lists.
Status is written before Events are posted: a crash in between loses at most an Event, never
counts an OOMKill twice.

Writes are coalesced (watch/queue.py): a change marks its LeakWatch and a few publisher threads
write the marked LeakWatches' status, each rendered from a snapshot outside the lock, then post
the Events that waited on it. A pod event that changes nothing a LeakWatch stores writes nothing,
so a re-list of 10,000 pods costs one write per LeakWatch, not one per pod, and the pod watch
never waits on the API server.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ValidationError

from leakwatch.api import API_VERSION
from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.leakwatch import AutoAction, LeakWatchStatus, Recommendation
from leakwatch.core.attribution import read_version, versions_condition
from leakwatch.core.components import (
    COMPONENTS_ANNOTATION,
    ComponentReading,
    ImageComponents,
    VersionComponents,
    components_condition,
    pod_components,
    read_annotation,
)
from leakwatch.core.conditions import DEGRADED, ConditionUpdate, from_rfc3339, merge_conditions
from leakwatch.core.oom import LEDGER_COMPLETE, Ledger, OOMKill, ledger_condition
from leakwatch.core.overlap import auto_actor, exports_kills_of, overlap_condition, overlaps
from leakwatch.core.pods import PodInfo
from leakwatch.core.state import LeakWatchState
from leakwatch.core.transitions import AnalysisOutcome, Notice, after_action, after_analysis, after_failed_analysis
from leakwatch.core.validation import parse_spec
from leakwatch.publish.events import EventBudget, ObjectRef
from leakwatch.publish.status import render_status
from leakwatch.watch.queue import Announcement, KeyedQueue, Work
from leakwatch.watch.store import Key, Store, Watched

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]
OOM_EVENTS_PER_MINUTE = 10  # per LeakWatch; the rest are told in one summary Event a minute
M = TypeVar("M", bound=BaseModel)


class WorkloadLookup(Protocol):
    def deployment_uid(self, namespace: str, name: str) -> str | None: ...


class StatusSink(Protocol):
    """publish/status.py's StatusWriter: False when the LeakWatch is gone."""

    def patch(self, namespace: str, name: str, status: LeakWatchStatus) -> bool: ...


class EventSink(Protocol):
    """publish/events.py's EventPoster."""

    def post(self, subject: ObjectRef, *, key: str, reason: str, message: str, warning: bool = True) -> bool: ...


class Accountant:
    def __init__(
        self,
        status: StatusSink,
        events: EventSink,
        clock: Clock = lambda: datetime.now(UTC),
        workloads: WorkloadLookup | None = None,
        publishers: int = 4,
        active_by_default: bool = True,
    ) -> None:
        """`active_by_default` False: a LeakWatch is written for only between `apply_spec(...,
        activate=True)` and `deactivate()` (kopf peering: while this replica owns it)."""
        self.active_by_default = active_by_default
        self.status = status
        self.events = events
        self.workloads = workloads
        self.clock = clock
        self.store = Store()
        self._lock = self.store.lock
        self._queue: KeyedQueue[Key] = KeyedQueue()  # LeakWatches whose status is to be written
        self._stop = threading.Event()
        self._oom_events: EventBudget[Key] = EventBudget(OOM_EVENTS_PER_MINUTE)
        # A few writers, so one slow write does not hold up the rest; never two for one LeakWatch.
        self._publishers = [
            threading.Thread(target=self._run, name=f"status-publisher-{i}", daemon=True) for i in range(publishers)
        ]

    # --- the publishers ----------------------------------------------------------------------------------
    def start(self) -> None:
        for publisher in self._publishers:
            publisher.start()

    def stop(self) -> None:
        """Stop the publishers after writing what is pending (a graceful shutdown loses nothing)."""
        self._stop.set()
        self._queue.close()
        for publisher in self._publishers:
            if publisher.is_alive():
                publisher.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            # Wake at least every 5 s to post the Events the budget held back.
            work = self._queue.take(timeout=5)
            if work is None:
                self._announce_held_back()
                continue
            if self._publish_one(work):
                backoff = 0.5
                self._announce_held_back()
            else:  # the API server is away: the write stays pending
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30)

    def flush(self) -> bool:
        """Write every pending status now, in this thread; False if a write failed (it stays pending)."""
        tried: set[Key] = set()
        ok = True
        while (work := self._queue.take_nowait(skip=tried)) is not None:
            tried.add(work.key)
            ok = self._publish_one(work) and ok
        self._announce_held_back()
        return ok

    def _publish_one(self, work: Work[Key]) -> bool:
        """Write one LeakWatch's status, then post the Events that waited for it; False if the write
        failed (it stays pending, with its Events)."""
        with self._lock:
            watched = self.store.get(work.key)
            if watched is None or not watched.active:
                self._queue.done(work)
                return True
            self._refresh_conditions(watched)
            state = watched.snapshot()
        status = render_status(state, self.clock())
        try:
            alive = self.status.patch(watched.namespace, watched.name, status)
        except Exception as err:  # retried inside already; keep it for the next round
            log.warning("status of %s/%s not written: %s; will retry", watched.namespace, watched.name, err)
            self._queue.done(work, failed=True)
            return False
        if not alive:
            with self._lock:
                if self.store.get(work.key) is watched:
                    self._drop(work.key)  # deleted under us: keep nothing
        self._queue.done(work)
        if alive:
            for announce in work.announcements:
                _logged(announce)
        return True

    # --- LeakWatch lifecycle (from kopf handlers) ----------------------------------------------------
    def apply_spec(
        self,
        namespace: str,
        name: str,
        uid: str,
        generation: int,
        spec: dict[str, Any],
        status: dict[str, Any],
        created: str | None = None,
        activate: bool = False,
    ) -> bool:
        """Take a LeakWatch's (new) spec, account for its pods, write its status; True if the spec is usable.
        `created` is its metadata.creationTimestamp. `activate`: this replica owns it from now on,
        so it is taken as the cluster has it (another replica may have counted and acted meanwhile),
        not as this replica last saw it."""
        parsed, ready = parse_spec(spec)
        with self._lock:
            watched = self.store.get((namespace, name))
            if watched is not None and activate and not watched.active:
                self._drop((namespace, name))
                watched = None
            if watched is None or watched.uid != uid:
                watched = Watched(
                    namespace,
                    name,
                    uid,
                    generation,
                    parsed,
                    Ledger.from_status(status.get("ledger")),
                    list(status.get("conditions", [])),
                    recommendation=_read(Recommendation, status.get("recommendation")),
                    last_action=_read(AutoAction, status.get("lastAction")),
                    created_at=_parse_time(created),
                    active=activate or self.active_by_default,
                )
                self.store.add(watched)
            watched.spec, watched.generation = parsed, generation
            updates = [ready]
            if not any(c.get("type") == DEGRADED for c in watched.conditions):
                updates.append(ConditionUpdate(DEGRADED, "False", "AsExpected", "no faults seen"))
            self._set_conditions(watched, updates)
            kills: list[OOMKill] = []
            if parsed is not None:
                for pod in list(self.store.pods(namespace).values()):
                    kills += self._account(watched, pod)
                if self.store.is_synced(namespace):
                    self._prune(watched)
            self._publish(watched, kills)
            self._refresh_overlaps(namespace)
            return parsed is not None

    def record_analysis(
        self,
        namespace: str,
        name: str,
        uid: str,
        outcome: AnalysisOutcome | str,
        failure_reason: str = "PrometheusUnavailable",
    ) -> Recommendation | None:
        """Store an analysis and its recommendation or, given a string, why it failed (Degraded with
        `failure_reason`), with the previous verdicts and recommendation left exactly as they were.
        The recommendation stored, with the time it was first made; None when nothing was stored."""
        with self._lock:
            watched = self.store.get((namespace, name), uid)
            if watched is None:
                return None  # deleted (or replaced) while it was being analysed: keep nothing
            now = self.clock()
            if isinstance(outcome, str):
                watched.conditions = after_failed_analysis(watched.view(), failure_reason, outcome, now)
                self._publish(watched)
                return None
            after = after_analysis(watched.view(), outcome, now)
            watched.verdicts, watched.summary, watched.last_analysis = dict(after.verdicts), after.summary, now
            watched.recommendation, watched.conditions = after.recommendation, after.conditions
            self._publish(watched, later=[functools.partial(self._post, watched, n) for n in after.notices])
            return after.recommendation

    def record_action(self, namespace: str, name: str, uid: str, entry: AutoAction) -> None:
        """Store what Auto mode did or why it did not; announce it once per distinct outcome."""
        with self._lock:
            watched = self.store.get((namespace, name), uid)
            if watched is None:
                return
            notices = after_action(watched.last_action, entry)
            watched.last_action = entry
            self._publish(watched, later=[functools.partial(self._post, watched, n) for n in notices])

    def _post(self, watched: Watched, notice: Notice) -> None:
        """A Notice as Events: on the LeakWatch, and on its workload's Deployment when there is one."""
        subjects = [ObjectRef(API_VERSION, "LeakWatch", watched.namespace, watched.name, watched.uid)]
        deployment = self.workloads.deployment_uid(watched.namespace, notice.workload) if self.workloads else None
        if deployment is not None:
            subjects.append(ObjectRef("apps/v1", "Deployment", watched.namespace, notice.workload, deployment))
        for subject in subjects:
            self.events.post(
                subject, key=notice.key, reason=notice.reason, message=notice.message, warning=notice.warning
            )

    def set_advisory(self, name: str, spec: LeakAdvisorySpec | None) -> None:
        self.store.set_advisory(name, spec)

    def deactivate(self, namespace: str, name: str, uid: str) -> None:
        """This replica no longer owns the LeakWatch (paused, shutting down): write nothing more for
        it, pending writes included; whoever owns it next starts from its status in the cluster."""
        with self._lock:
            watched = self.store.get((namespace, name), uid)
            if watched is None:
                return
            watched.active = False
            key = (namespace, name)
            self._queue.discard(key)
            self._oom_events.forget(key)

    def is_active(self, namespace: str, name: str, uid: str) -> bool:
        with self._lock:
            watched = self.store.get((namespace, name), uid)
            return watched is not None and watched.active

    def forget(self, namespace: str, name: str, uid: str) -> None:
        with self._lock:
            watched = self.store.get((namespace, name), uid)
            if watched is not None:  # not a new LeakWatch of the same name
                self._drop((namespace, name))
                self._refresh_overlaps(namespace)

    def auto_actor(self, namespace: str, workload: str) -> str | None:
        """The one LeakWatch of `namespace` whose Auto mode may act on `workload`."""
        with self._lock:
            return auto_actor((w.claim() for w in self.store.watching(namespace)), workload)

    def record_components(self, namespace: str, reports: Sequence[ImageComponents] | str) -> None:
        """Keep, for each version running in `namespace`, the components its SbomReports list; or,
        given why they could not be read, say so and keep what was read before."""
        with self._lock:
            pods = self.store.pods(namespace)
            for watched in self.store.watching(namespace):
                if watched.spec is None:
                    continue
                unavailable = reports if isinstance(reports, str) else None
                if (watched.components_read, watched.components_unavailable) != (True, unavailable):
                    watched.components_read, watched.components_unavailable = True, unavailable
                    self._publish(watched)
                if isinstance(reports, str):
                    continue
                readings: dict[str, ComponentReading] = {}
                for uid, record in watched.ledger.pods.items():
                    pod = pods.get(uid)
                    reading = pod_components(pod, reports, watched.spec.containers) if pod is not None else None
                    if reading is not None and reading.components:
                        readings.setdefault(record.version, reading)
                changed = [watched.ledger.record_components(v, r, "SbomReport") for v, r in readings.items()]
                if any(changed):
                    self._publish(watched)

    # --- pods (from the pod watch threads) -----------------------------------------------------------
    def on_pod(self, pod: PodInfo) -> None:
        with self._lock:
            self.store.put_pod(pod)
            joined_or_left = False
            for watched in self.store.watching(pod.namespace):
                if pod.uid in watched.ledger.pods or watched.selects(pod):
                    was_member = pod.uid in watched.ledger.pods
                    before = watched.ledger.pod_progress(pod.uid), watched.version_notes.get(pod.uid)
                    kills = self._account(watched, pod)
                    after = watched.ledger.pod_progress(pod.uid), watched.version_notes.get(pod.uid)
                    joined_or_left |= was_member != (pod.uid in watched.ledger.pods)
                    if kills or before != after:
                        self._publish(watched, kills)
            if joined_or_left:
                self._refresh_overlaps(pod.namespace)

    def on_synced(self, namespace: str | None, uids: set[str]) -> None:
        with self._lock:
            self.store.mark_synced(namespace)
            pruned = set()
            for watched in self.store.all():
                if (namespace is None or watched.namespace == namespace) and self._prune(watched):
                    self._publish(watched)
                    pruned.add(watched.namespace)
            for where in pruned:
                self._refresh_overlaps(where)

    # --- internals ------------------------------------------------------------------------------------
    def _drop(self, key: Key) -> None:
        self.store.drop(key)
        self._queue.discard(key)
        self._oom_events.forget(key)

    def _prune(self, watched: Watched) -> bool:
        """After a complete listing: pods deleted while nobody watched are folded into their
        version's pod-hours, and every live pod has been seen again (when a spec let them be)."""
        relisted = watched.spec is not None and watched.ledger.relisted()
        alive = self.store.pods(watched.namespace)
        gone = [uid for uid in watched.ledger.pods if uid not in alive]
        for uid in gone:
            watched.ledger.forget(uid, self.clock(), watched.retention_seconds)
            watched.version_notes.pop(uid, None)
        return bool(gone) or relisted

    def _account(self, watched: Watched, pod: PodInfo) -> list[OOMKill]:
        assert watched.spec is not None
        if pod.deleted or not watched.selects(pod):
            # Gone, or relabelled out of the selector: its lifetime so far still counts.
            watched.ledger.forget(pod.uid, self.clock(), watched.retention_seconds)
            watched.version_notes.pop(pod.uid, None)
            return []
        reading = read_version(pod, watched.spec.version, watched.spec.containers)
        if reading.problem or reading.shortened_from:
            watched.version_notes[pod.uid] = reading
        else:
            watched.version_notes.pop(pod.uid, None)
        kills = watched.ledger.observe(
            pod,
            version=reading.version,
            workload=pod.workload or watched.name,
            containers=watched.spec.containers,
            now=self.clock(),
            oom_window_seconds=watched.oom_window_seconds,
            watching_since=watched.created_at,
            exports=exports_kills_of(
                watched.name, ((w.created_at, w.name) for w in self.store.watching(pod.namespace) if w.selects(pod))
            ),
        )
        stamped = pod.annotations.get(COMPONENTS_ANNOTATION)
        version = watched.ledger.versions.get(reading.version)
        # An SbomReport, when there is one, describes the image itself: it outranks the annotation.
        if (
            stamped
            and version is not None
            and version.components_source != "SbomReport"
            and watched.ledger.record_components(reading.version, read_annotation(stamped), "Annotation")
        ):
            self._publish(watched)
        return kills

    def _refresh_overlaps(self, namespace: str) -> None:
        """Recompute which LeakWatches of `namespace` share pods; republish those whose overlap changed."""
        watching = self.store.watching(namespace)
        found = overlaps(w.claim() for w in watching)
        for watched in watching:
            if found[watched.name] != watched.overlap:
                watched.overlap = found[watched.name]
                self._publish(watched)

    def _set_conditions(self, watched: Watched, updates: list[ConditionUpdate]) -> None:
        watched.conditions = merge_conditions(
            watched.conditions, updates, generation=watched.generation, now=self.clock()
        )
        watched.changed()

    def _publish(self, watched: Watched, kills: Sequence[OOMKill] = (), later: Sequence[Announcement] = ()) -> None:
        """Mark the status for writing; the kills' Events (and `later`) follow once it is written.
        Every change a reader could see is published, so this is also where snapshots go stale."""
        watched.changed()
        if not watched.active:
            return
        announcements = [functools.partial(self._announce, watched, kill) for kill in kills]
        self._queue.put((watched.namespace, watched.name), [*announcements, *later], urgent=bool(kills))

    def _refresh_conditions(self, watched: Watched) -> None:
        """The conditions that follow from the pods as they are: versions read, selectors shared."""
        if watched.spec is not None:
            self._set_conditions(
                watched,
                [
                    versions_condition(watched.version_notes.values()),
                    overlap_condition(watched.name, watched.overlap),
                    *self._components_condition(watched),
                    *self._ledger_condition(watched),
                ],
            )

    def _ledger_condition(self, watched: Watched) -> list[ConditionUpdate]:
        """LedgerComplete, from the first time the status cannot hold every live pod."""
        update = ledger_condition(watched.ledger)
        said = any(c.get("type") == LEDGER_COMPLETE for c in watched.conditions)
        return [update] if said or update.status == "False" else []

    def _components_condition(self, watched: Watched) -> list[ConditionUpdate]:
        """ComponentsResolved, once components are read for it (SbomReports) or found (annotation)."""
        versions = watched.ledger.versions
        running = {p.version for p in watched.ledger.pods.values()}
        if not watched.components_read and not any(versions[v].components for v in running if v in versions):
            return []
        known = [
            VersionComponents(v, len(versions[v].components), versions[v].components_problem)
            for v in sorted(running)
            if v in versions
        ]
        return [components_condition(known, watched.components_unavailable)]

    def _announce(self, watched: Watched, kill: OOMKill) -> None:
        with self._lock:
            if not self._oom_events.take((watched.namespace, watched.name), self.clock().timestamp(), kill.count):
                return  # counted in status; told in the next summary Event
        pod = self.store.pods(watched.namespace).get(kill.pod_uid)
        if kill.inferred:
            times = "once" if kill.count == 1 else f"{kill.count} times"
            when = f"{times} while LeakWatch was not watching (inferred from its restartCount)"
        else:
            when = f"at {kill.finished_at}"
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

    def _announce_held_back(self) -> None:
        """One Event per LeakWatch for the OOMKills its Event budget held back."""
        with self._lock:
            now = self.clock()
            due = [(self.store.get(key), n) for key, n in self._oom_events.due(now.timestamp()).items()]
        for watched, held in due:
            if watched is None or not watched.active:
                continue
            kills = "OOMKill was" if held == 1 else "OOMKills were"
            message = (
                f"{held} more {kills} counted but not announced one by one: at most {OOM_EVENTS_PER_MINUTE} "
                "OOMKill Events per LeakWatch per minute. status.versions holds every count."
            )
            _logged(
                functools.partial(
                    self.events.post,
                    ObjectRef(API_VERSION, "LeakWatch", watched.namespace, watched.name, watched.uid),
                    key=f"oom-summary/{now.timestamp():.0f}",
                    reason="OOMKilled",
                    message=message,
                )
            )

    def states(self) -> list[LeakWatchState]:
        """Snapshots of the LeakWatches this replica writes for, for readers in other threads (the
        analyser, the metrics collector): they work on them without holding the lock."""
        return self.store.snapshots()

    def advisories(self) -> list[tuple[str, LeakAdvisorySpec]]:
        return self.store.advisories()


def _logged(announce: Announcement) -> None:
    try:
        announce()
    except Exception:  # the status holds what the Event would say; losing an Event loses no count
        log.exception("an Event was not posted")


def _read(model: type[M], stored: object) -> M | None:
    """A status field as an earlier operator wrote it; one it cannot read is left to be rewritten."""
    if stored is None:
        return None
    try:
        return model.model_validate(stored, extra="ignore")
    except ValidationError as err:
        log.warning("status field of type %s not readable, replaced on the next write: %s", model.__name__, err)
        return None


def _parse_time(ts: str | None) -> datetime | None:
    try:
        return from_rfc3339(ts) if ts else None
    except ValueError:
        return None


def _owner_api_version(kind: str) -> str:
    return "batch/v1" if kind in ("Job", "CronJob") else "apps/v1"
