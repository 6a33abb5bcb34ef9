"""OOMKill accounting: every OOMKill of a watched container counted exactly once.

A kubelet reports a container's latest termination in `lastState.terminated` and bumps
`restartCount`; a container that does not restart keeps it in `state.terminated`. We remember,
per pod UID and container, the restart count we have accounted for and the finish times of the
OOMKills already counted. Seeing the same status again (a re-list, a restart of the operator, a
watch replay) then changes nothing, and a restart count that jumped by more than one while we
were not looking shows restarts whose termination we never saw: when the one we do see is an
OOMKill, the missing ones are counted as OOMKills too, and marked inferred.

The ledger is plain data, serialised into the LeakWatch's status, so it survives the operator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from leakwatch.api.leakwatch import MAX_STORED_PODS
from leakwatch.core.components import Component, ComponentReading, read_purls
from leakwatch.core.conditions import ConditionUpdate, from_rfc3339, rfc3339
from leakwatch.core.pods import ContainerState, PodInfo

OOM_KILLED = "OOMKilled"
LEDGER_COMPLETE = "LedgerComplete"
REMEMBERED_FINISH_TIMES = 8  # enough to recognise any replay; older ones are below the restart count
REMEMBERED_PAST_PODS = 256  # gone pods whose memory series may still be in the analysis window
OOM_WINDOW_BUCKETS = 256  # per (workload, container, version): the resolution of oom.window counts
MIN_BUCKET_SECONDS = 60
# Versions one LeakWatch keeps: every one is a status row, a ledger entry and metric series, and a
# pipeline that deploys each commit would otherwise grow the status past etcd's object size limit.
# The oldest that no longer run go first; their OOMKills stay in the all-time total.
MAX_VERSIONS = 64
# Versions whose component sets are kept (the newest by last seen, running ones always): enough to
# diff a leaking release against the flat one before it, and bounded, since they live in status.
MAX_VERSIONS_WITH_COMPONENTS = 8


@dataclass(frozen=True)
class OOMKill:
    pod_uid: str
    pod_name: str
    container: str
    version: str
    workload: str
    finished_at: str | None  # None for inferred OOMKills: their times were never seen
    inferred: bool
    restart_count: int  # the container's restartCount when it was counted (tells inferred ones apart)
    count: int = 1  # inferred OOMKills of one restartCount jump are one record


@dataclass(slots=True)  # per pod and container
class ContainerRecord:
    restart_count: int = 0
    counted: list[str] = field(default_factory=list)

    def remember(self, finished_at: str) -> None:
        self.counted = [*self.counted, finished_at][-REMEMBERED_FINISH_TIMES:]


def account_container(record: ContainerRecord, state: ContainerState) -> tuple[int, int]:
    """Update `record` from one observed container status; return (observed, inferred) new OOMKills."""
    observed = inferred = 0
    restarts = max(0, state.restart_count - record.restart_count)
    last = state.last_terminated
    if last is not None and last.reason == OOM_KILLED:
        if last.finished_at not in record.counted:
            observed += 1
            record.remember(last.finished_at)
            inferred += max(0, restarts - 1)
        elif restarts > 0:
            # Counted earlier from state.terminated, before the kubelet restarted the container:
            # that restart is accounted for, any further ones were never seen.
            inferred += restarts - 1
    current = state.current_terminated
    if current is not None and current.reason == OOM_KILLED and current.finished_at not in record.counted:
        observed += 1
        record.remember(current.finished_at)
    record.restart_count = max(record.restart_count, state.restart_count)
    return observed, inferred


@dataclass(slots=True)  # per pod and LeakWatch
class PodRecord:
    uid: str
    name: str
    version: str
    workload: str
    started_at: str | None
    containers: dict[str, ContainerRecord] = field(default_factory=dict)
    limits: dict[str, float] = field(default_factory=dict)  # container -> memory limit, bytes


@dataclass(frozen=True)
class PastPod:
    """A pod that is gone, kept so its memory series can still be attributed to its version."""

    name: str
    version: str
    ended_at: str
    limits: dict[str, float]


@dataclass
class VersionRecord:
    version: str
    workload: str
    first_seen: str
    last_seen: str
    pods: int = 0
    closed_pod_seconds: float = 0.0  # lifetimes of pods that are gone
    components: frozenset[Component] = frozenset()  # inside this app version, as its SBOM says
    components_source: str = ""  # where they were read: SbomReport or the pod annotation
    components_problem: str = ""  # why the set may be incomplete


def bucket_seconds(window_seconds: float) -> int:
    return max(MIN_BUCKET_SECONDS, math.ceil(window_seconds / OOM_WINDOW_BUCKETS))


def _bucketed(
    recent: dict[int, int], count: int, *, at: datetime, now: datetime, window_seconds: float
) -> dict[int, int]:
    """`recent` with `count` OOMKills added at `at`, buckets older than the window dropped."""
    width = bucket_seconds(window_seconds)
    start = int(at.timestamp()) // width * width
    added = {**recent, start: recent.get(start, 0) + count}
    oldest = now.timestamp() - window_seconds - width
    kept = sorted((s, c) for s, c in added.items() if s >= oldest)
    # A window shortened or lengthened mixes bucket widths; the newest buckets win.
    return dict(kept[-2 * OOM_WINDOW_BUCKETS :])


def _in_window(recent: dict[int, int], now: datetime, window_seconds: float) -> int:
    """OOMKills of the last `window_seconds`, counting the bucket the window's start falls in."""
    since = now.timestamp() - window_seconds - bucket_seconds(window_seconds)
    return sum(count for start, count in recent.items() if start > since)


@dataclass
class OOMTotal:
    kills: int = 0
    inferred: int = 0
    recent: dict[int, int] = field(default_factory=dict)  # bucket start, unix seconds -> OOMKills in it
    # Of `kills`, those this LeakWatch counts in metrics: kills of pods it was the first (oldest) of
    # the LeakWatches selecting them when they were counted. Decided once, at counting, so every
    # OOMKill is in exactly one LeakWatch's counter however selectors overlap.
    exported: int = 0
    exported_recent: dict[int, int] = field(default_factory=dict)

    def add(
        self, count: int, *, inferred: bool, at: datetime, now: datetime, window_seconds: float, exported: bool = True
    ) -> None:
        self.kills += count
        self.inferred += count if inferred else 0
        self.recent = _bucketed(self.recent, count, at=at, now=now, window_seconds=window_seconds)
        if exported:
            self.exported += count
            self.exported_recent = _bucketed(self.exported_recent, count, at=at, now=now, window_seconds=window_seconds)

    def in_window(self, now: datetime, window_seconds: float) -> int:
        return _in_window(self.recent, now, window_seconds)

    def exported_in_window(self, now: datetime, window_seconds: float) -> int:
        return _in_window(self.exported_recent, now, window_seconds)


def _time_or(ts: str | None, fallback: datetime) -> datetime:
    """The kubelet's finish time, or `fallback` when there is none or it is not RFC 3339."""
    if ts is None:
        return fallback
    try:
        return from_rfc3339(ts)
    except ValueError:
        return fallback


def _seconds_between(start: str | None, end: datetime) -> float:
    if start is None:
        return 0.0
    return max(0.0, (end - from_rfc3339(start)).total_seconds())


@dataclass
class Ledger:
    """Everything one LeakWatch has counted: per-pod progress, per-version timeline, OOM totals."""

    pods: dict[str, PodRecord] = field(default_factory=dict)
    versions: dict[str, VersionRecord] = field(default_factory=dict)
    ooms: dict[tuple[str, str, str], OOMTotal] = field(default_factory=dict)  # (workload, container, version)
    past: list[PastPod] = field(default_factory=list)  # oldest first, bounded
    retired_oom_kills: int = 0  # OOMKills of versions dropped for MAX_VERSIONS
    # Read from a status that left live pods out (more than MAX_STORED_PODS): a pod missing here
    # that started before this time may be one of them, seen and counted before. Everything it
    # shows up to then is taken as history, as for a pod older than the LeakWatch, so none of its
    # OOMKills is counted twice; inferred ones from restarts missed while the operator was down
    # are lost for it. The time is the kubelet's (the latest start or counted OOMKill among the
    # pods left out), the clock its finishedAt stamps are compared with.
    unstored_before: str | None = None

    def observe(
        self,
        pod: PodInfo,
        *,
        version: str,
        workload: str,
        containers: list[str],
        now: datetime,
        oom_window_seconds: float = 86400.0,
        watching_since: datetime | None = None,
        exports: bool = True,
    ) -> list[OOMKill]:
        """Account for one pod as it is now; return the OOMKills not counted before.

        `watching_since` is when the LeakWatch was created: a pod first seen that started before it
        brings restarts and OOMKills that are history, taken as the baseline. `exports`: this
        LeakWatch is the one whose metrics count this pod's OOMKills (core/overlap.py)."""
        record = self.pods.get(pod.uid)
        if record is None:
            record = PodRecord(pod.uid, pod.name, version, workload, pod.started_at)
            self.pods[pod.uid] = record
            started = _time_or(pod.started_at, now)
            seen = self._version(version, workload, pod.started_at or rfc3339(now))
            if self.unstored_before is not None and started < from_rfc3339(self.unstored_before):
                # Maybe one the stored ledger left out: counted among its version's pods already.
                watching_since = max(watching_since or started, from_rfc3339(self.unstored_before))
            else:
                seen.pods += 1
            if watching_since is not None and started < watching_since:
                record.containers = {
                    state.name: _baseline(state, watching_since)
                    for state in pod.statuses
                    if not containers or state.name in containers
                }
        if record.started_at is None and pod.started_at is not None:
            # First seen before the kubelet reported its start: the version ran since then.
            record.started_at = pod.started_at
            seen = self._version(record.version, record.workload, pod.started_at)
            seen.first_seen = min(seen.first_seen, pod.started_at, key=from_rfc3339)
        record.limits = {c.name: c.memory_limit_bytes for c in pod.containers if c.memory_limit_bytes}
        self._version(record.version, record.workload, rfc3339(now)).last_seen = rfc3339(now)
        kills: list[OOMKill] = []
        for state in pod.statuses:
            if containers and state.name not in containers:
                continue
            container = record.containers.setdefault(state.name, ContainerRecord())
            observed, inferred = account_container(container, state)
            if not (observed or inferred):
                continue
            total = self.ooms.setdefault((record.workload, state.name, record.version), OOMTotal())
            oom_states = [t for t in (state.last_terminated, state.current_terminated) if t and t.reason == OOM_KILLED]
            stamp = oom_states[-1].finished_at if oom_states else None
            rc = container.restart_count
            who = (pod.uid, pod.name, state.name, record.version, record.workload)
            if observed:
                at = _time_or(stamp, now)
                total.add(observed, inferred=False, at=at, now=now, window_seconds=oom_window_seconds, exported=exports)
                kills += [OOMKill(*who, finished_at=stamp, inferred=False, restart_count=rc)] * observed
            if inferred:
                # They happened between the last look and now; counted as of now, the latest they can be.
                total.add(inferred, inferred=True, at=now, now=now, window_seconds=oom_window_seconds, exported=exports)
                kills.append(OOMKill(*who, finished_at=None, inferred=True, restart_count=rc - 1, count=inferred))
        return kills

    def forget(self, uid: str, now: datetime, keep_past_seconds: float = math.inf) -> None:
        """A pod is gone: fold its lifetime into its version and drop its progress record. It stays
        among the past pods (its memory series can still be attributed) for `keep_past_seconds`,
        the longest window that reads it, and among the REMEMBERED_PAST_PODS newest at most."""
        record = self.pods.pop(uid, None)
        if record is None:
            return
        version = self._version(record.version, record.workload, rfc3339(now))
        version.closed_pod_seconds += _seconds_between(record.started_at, now)
        version.last_seen = rfc3339(now)
        oldest = now.timestamp() - keep_past_seconds
        kept = [p for p in self.past if from_rfc3339(p.ended_at).timestamp() >= oldest]
        self.past = [*kept, PastPod(record.name, record.version, rfc3339(now), record.limits)][-REMEMBERED_PAST_PODS:]

    def oom_counts(self) -> dict[tuple[str, str, str], int]:
        """OOMKills per (workload, container, version), and 0 for every running container never
        killed: a counter that exists before its first OOMKill lets `increase()` see that one too."""
        counts = {(p.workload, name, p.version): 0 for p in self.pods.values() for name in p.containers}
        counts.update({key: total.kills for key, total in self.ooms.items()})
        return counts

    def exported_counts(self) -> dict[tuple[str, str, str], int]:
        """What this LeakWatch's counter publishes: `oom_counts()` less the OOMKills another
        LeakWatch's counter holds."""
        counts = dict.fromkeys(self.oom_counts(), 0)
        counts.update({key: total.exported for key, total in self.ooms.items()})
        return counts

    def exported_window_counts(self, now: datetime, window_seconds: float) -> dict[tuple[str, str, str], int]:
        counts = dict.fromkeys(self.oom_counts(), 0)
        counts.update({key: total.exported_in_window(now, window_seconds) for key, total in self.ooms.items()})
        return counts

    def pod_progress(self, uid: str) -> tuple[object, ...] | None:
        """What the stored ledger holds for one pod: equal before and after `observe` means the
        status need not be written again for it."""
        record = self.pods.get(uid)
        if record is None:
            return None
        containers = tuple((n, c.restart_count, tuple(c.counted)) for n, c in sorted(record.containers.items()))
        return record.version, record.workload, record.started_at, tuple(sorted(record.limits.items())), containers

    def pod_versions(self, since: datetime) -> dict[str, tuple[str, dict[str, float]]]:
        """Pod name -> (version, memory limits) for every pod that ran after `since`."""
        known = {p.name: (p.version, p.limits) for p in self.past if from_rfc3339(p.ended_at) >= since}
        known.update({p.name: (p.version, p.limits) for p in self.pods.values()})
        return known

    def pod_seconds(self, version: str, now: datetime) -> float:
        record = self.versions.get(version)
        closed = record.closed_pod_seconds if record else 0.0
        live = sum(_seconds_between(p.started_at, now) for p in self.pods.values() if p.version == version)
        return closed + live

    def last_seen(self, version: str, now: datetime) -> str:
        """Now for a version that still runs, else when its last pod was last seen."""
        if any(p.version == version for p in self.pods.values()):
            return rfc3339(now)
        record = self.versions.get(version)
        return record.last_seen if record else rfc3339(now)

    def oom_kills(self, version: str) -> tuple[int, int]:
        totals = [t for (_, _, v), t in self.ooms.items() if v == version]
        return sum(t.kills for t in totals), sum(t.inferred for t in totals)

    def oom_kills_in_window(self, version: str, now: datetime, window_seconds: float) -> int:
        return sum(t.in_window(now, window_seconds) for (_, _, v), t in self.ooms.items() if v == version)

    def oom_window_counts(self, now: datetime, window_seconds: float) -> dict[tuple[str, str, str], int]:
        """OOMKills within the window per (workload, container, version), 0 where there were none."""
        counts = dict.fromkeys(self.oom_counts(), 0)
        counts.update({key: total.in_window(now, window_seconds) for key, total in self.ooms.items()})
        return counts

    def total_oom_kills(self) -> int:
        return self.retired_oom_kills + sum(total.kills for total in self.ooms.values())

    def _version(self, version: str, workload: str, seen: str) -> VersionRecord:
        record = self.versions.get(version)
        if record is None:
            record = VersionRecord(version, workload, first_seen=seen, last_seen=seen)
            self.versions[version] = record
            self._retire_old_versions(keep=version)
        return record

    def _retire_old_versions(self, keep: str | None = None) -> None:
        excess = len(self.versions) - MAX_VERSIONS
        if excess <= 0:
            return
        running = {p.version for p in self.pods.values()} | {keep}
        idle = sorted(
            (v for v in self.versions.values() if v.version not in running), key=lambda v: from_rfc3339(v.last_seen)
        )
        for record in idle[:excess]:
            del self.versions[record.version]
            for key in [key for key in self.ooms if key[2] == record.version]:
                self.retired_oom_kills += self.ooms.pop(key).kills

    def record_components(self, version: str, reading: ComponentReading, source: str) -> bool:
        """Keep what runs inside `version` while it runs (trivy-operator deletes the reports of
        inactive ReplicaSets); True if that changed anything. Only the newest versions keep sets."""
        record = self.versions.get(version)
        if record is None or not reading.components:
            return False
        problem = reading.problem or ""
        if (record.components, record.components_source, record.components_problem) == (
            reading.components,
            source,
            problem,
        ):
            return False
        record.components, record.components_source, record.components_problem = reading.components, source, problem
        running = {p.version for p in self.pods.values()}
        with_sets = sorted(
            (v for v in self.versions.values() if v.components),
            key=lambda v: (v.version in running, from_rfc3339(v.last_seen)),
            reverse=True,
        )
        for old in with_sets[MAX_VERSIONS_WITH_COMPONENTS:]:
            old.components, old.components_source, old.components_problem = frozenset(), "", ""
        return bool(record.components)  # False when `version` is itself too old to keep a set

    def copy(self) -> Ledger:
        """An independent copy, for readers in other threads (analysis, status, metrics): the
        ledger itself goes on changing under the store's lock. The records are copied; the lists
        and dicts inside them (finish times, limits, OOM buckets) are shared, because the ledger
        only ever replaces them whole, never changes one in place."""
        return Ledger(
            pods={
                uid: replace(p, containers={n: replace(c) for n, c in p.containers.items()})
                for uid, p in self.pods.items()
            },
            versions={v: replace(r) for v, r in self.versions.items()},
            ooms={k: replace(t) for k, t in self.ooms.items()},
            past=list(self.past),  # PastPods are frozen
            retired_oom_kills=self.retired_oom_kills,
            unstored_before=self.unstored_before,
        )

    def stored_pods(self) -> list[PodRecord]:
        """The live pods whose records go into the status, MAX_STORED_PODS at most: first those with
        something a re-list cannot give back (restarts accounted, OOMKills counted), then the
        newest. The oldest quiet pods are left out, which keeps `unstored_before` early."""

        def keep_first(p: PodRecord) -> tuple[bool, float]:
            quiet = not any(c.restart_count or c.counted for c in p.containers.values())
            return quiet, -_time_or(p.started_at, datetime.max.replace(tzinfo=UTC)).timestamp()

        if len(self.pods) <= MAX_STORED_PODS:
            return list(self.pods.values())
        kept = {p.uid for p in sorted(self.pods.values(), key=keep_first)[:MAX_STORED_PODS]}
        return [p for p in self.pods.values() if p.uid in kept]

    def relisted(self) -> bool:
        """Every live pod has been observed since the ledger was read: none of those the stored
        ledger left out is still missing from it. True if that changes what the status says."""
        changed, self.unstored_before = self.unstored_before is not None, None
        return changed

    def _unstored_before(self, stored: list[PodRecord]) -> str | None:
        """What `unstored_before` must say in the status being written: left-out pods now, and
        those left out of the status this ledger was read from that have not been seen again."""
        kept = {p.uid for p in stored}
        stamps = [
            stamp
            for p in self.pods.values()
            if p.uid not in kept
            for stamp in (p.started_at, *(t for c in p.containers.values() for t in c.counted))
            if stamp is not None
        ]
        if not stamps:
            return self.unstored_before
        # A second past the latest stamp: they are whole seconds, and history is what came before.
        latest = rfc3339(max(from_rfc3339(t) for t in stamps) + timedelta(seconds=1))
        return max(latest, self.unstored_before or latest, key=from_rfc3339)

    # --- persistence: the ledger lives in LeakWatch.status.ledger ------------------------------------
    def to_status(self) -> dict[str, Any]:
        stored = self.stored_pods()
        unstored_before = self._unstored_before(stored)
        return {
            "pods": [
                {
                    "uid": p.uid,
                    "name": p.name,
                    "version": p.version,
                    "workload": p.workload,
                    **({"startedAt": p.started_at} if p.started_at else {}),
                    "containers": [
                        {"name": n, "restartCount": c.restart_count, "countedOOMKills": list(c.counted)}
                        for n, c in sorted(p.containers.items())
                    ],
                    **({"limits": dict(sorted(p.limits.items()))} if p.limits else {}),
                }
                for p in stored
            ],
            **({"unstoredPods": len(self.pods) - len(stored)} if len(stored) < len(self.pods) else {}),
            **({"unstoredBefore": unstored_before} if unstored_before is not None else {}),
            "past": [
                {
                    "name": p.name,
                    "version": p.version,
                    "endedAt": p.ended_at,
                    **({"limits": p.limits} if p.limits else {}),
                }
                for p in self.past
            ],
            "versions": [
                {
                    "version": v.version,
                    "workload": v.workload,
                    "firstSeen": v.first_seen,
                    "lastSeen": v.last_seen,
                    "pods": v.pods,
                    "closedPodSeconds": round(v.closed_pod_seconds, 3),
                    **(
                        {
                            "components": sorted(c.purl for c in v.components),
                            "componentsSource": v.components_source,
                        }
                        if v.components
                        else {}
                    ),
                    **({"componentsProblem": v.components_problem} if v.components_problem else {}),
                }
                for v in self.versions.values()
            ],
            "oomKills": [
                {
                    "workload": w,
                    "container": c,
                    "version": v,
                    "count": t.kills,
                    "inferred": t.inferred,
                    **({"recent": _buckets(t.recent)} if t.recent else {}),
                    "exported": t.exported,
                    **({"exportedRecent": _buckets(t.exported_recent)} if t.exported_recent else {}),
                }
                for (w, c, v), t in sorted(self.ooms.items())
            ],
            **({"retiredOOMKills": self.retired_oom_kills} if self.retired_oom_kills else {}),
        }

    @classmethod
    def from_status(cls, data: dict[str, Any] | None) -> Ledger:
        ledger = cls()
        if not data:
            return ledger
        for p in data.get("pods", []):
            ledger.pods[p["uid"]] = PodRecord(
                p["uid"],
                p["name"],
                p["version"],
                p["workload"],
                p.get("startedAt"),
                {
                    c["name"]: ContainerRecord(int(c.get("restartCount", 0)), list(c.get("countedOOMKills", [])))
                    for c in p.get("containers", [])
                },
                {k: float(v) for k, v in (p.get("limits") or {}).items()},
            )
        for past in data.get("past", []):
            limits = {k: float(v) for k, v in (past.get("limits") or {}).items()}
            ledger.past.append(PastPod(past["name"], past["version"], past["endedAt"], limits))
        for v in data.get("versions", []):
            ledger.versions[v["version"]] = VersionRecord(
                v["version"],
                v.get("workload", ""),
                v["firstSeen"],
                v["lastSeen"],
                int(v.get("pods", 0)),
                float(v.get("closedPodSeconds", 0)),
                read_purls(v.get("components") or []).components,
                v.get("componentsSource", ""),
                v.get("componentsProblem", ""),
            )
        ledger.retired_oom_kills = int(data.get("retiredOOMKills", 0))
        ledger.unstored_before = data.get("unstoredBefore")
        for o in data.get("oomKills", []):
            recent = _unbuckets(o.get("recent", []))
            # A ledger written before `exported` existed published its whole count.
            exported = int(o["exported"]) if "exported" in o else int(o.get("count", 0))
            ledger.ooms[(o["workload"], o["container"], o["version"])] = OOMTotal(
                int(o.get("count", 0)),
                int(o.get("inferred", 0)),
                recent,
                exported,
                _unbuckets(o.get("exportedRecent", [])) if "exported" in o else dict(recent),
            )
        ledger._retire_old_versions()  # one written before MAX_VERSIONS existed
        return ledger


def ledger_condition(ledger: Ledger) -> ConditionUpdate:
    """LedgerComplete: whether the status holds every live pod's accounting, and what it costs if not."""
    live, stored = len(ledger.pods), len(ledger.stored_pods())
    if stored == live:
        return ConditionUpdate(
            LEDGER_COMPLETE,
            "True",
            "AllPodsStored",
            f"the status holds the OOMKill accounting of all {live:,} live pods",
        )
    return ConditionUpdate(
        LEDGER_COMPLETE,
        "False",
        "TooManyPods",
        f"{live:,} live pods, and the status holds the OOMKill accounting of {stored:,} at most (those that "
        f"restarted first): if the operator restarts, the OOMKills of the other {live - stored:,} while it was down "
        "may be missed (never counted twice), with the pod-hours of those deleted meanwhile; split the selector "
        "over several LeakWatches",
    )


def _buckets(recent: dict[int, int]) -> list[dict[str, Any]]:
    return [{"start": _unix_rfc3339(b), "count": n} for b, n in sorted(recent.items())]


def _unbuckets(stored: list[dict[str, Any]]) -> dict[int, int]:
    return {int(from_rfc3339(b["start"]).timestamp()): int(b["count"]) for b in stored}


def _baseline(state: ContainerState, watching_since: datetime) -> ContainerRecord:
    """A container's record as if it had been watched all along up to `watching_since`: its restarts
    so far are accounted for, and so is every OOMKill it shows that finished before then."""
    before = [
        t.finished_at
        for t in (state.last_terminated, state.current_terminated)
        if t is not None and t.reason == OOM_KILLED and _time_or(t.finished_at, watching_since) < watching_since
    ]
    return ContainerRecord(state.restart_count, before[-REMEMBERED_FINISH_TIMES:])


def _unix_rfc3339(seconds: int) -> str:
    return rfc3339(datetime.fromtimestamp(seconds, UTC))
