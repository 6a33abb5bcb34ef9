"""The LeakWatch state this process holds, with its indexes, behind one lock.

Everything that changes a LeakWatch's state (pod events, specs, analyses, actions) changes it
here under the lock and briefly; everything that reads it from another thread (the analyser,
the status publishers, the metrics collector) takes an immutable snapshot (core/state.py) and
works on that without the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.common import parse_duration
from leakwatch.api.leakwatch import AutoAction, LeakWatchSpec, Recommendation
from leakwatch.core.analysis import VersionVerdict
from leakwatch.core.assess import LeakSummary
from leakwatch.core.attribution import VersionReading
from leakwatch.core.oom import Ledger
from leakwatch.core.overlap import Claim, Overlap
from leakwatch.core.pods import PodInfo
from leakwatch.core.state import LeakWatchState, oom_window_seconds

Key = tuple[str, str]  # (namespace, name) of a LeakWatch


@dataclass
class Watched:
    """One LeakWatch's mutable state; only touched under the store's lock."""

    namespace: str
    name: str
    uid: str
    generation: int
    spec: LeakWatchSpec | None
    ledger: Ledger
    conditions: list[dict[str, object]]
    # pod uid -> its version reading, kept only when the version is unknown or was shortened
    version_notes: dict[str, VersionReading] = field(default_factory=dict)
    # The last successful analysis; kept as it is while Prometheus is unreachable, so missing data
    # never flips a verdict.
    verdicts: dict[str, VersionVerdict] = field(default_factory=dict)
    summary: LeakSummary | None = None
    last_analysis: datetime | None = None
    recommendation: Recommendation | None = None
    last_action: AutoAction | None = None
    created_at: datetime | None = None  # pods that ran before it bring history, not new OOMKills
    overlap: Overlap = field(default_factory=Overlap)  # other LeakWatches selecting its pods
    # Components: whether a source was read for it (SbomReports enabled), and why it could not be.
    components_read: bool = False
    components_unavailable: str | None = None
    # Whether this replica may write for it: status, Events, metrics, Auto actions. With kopf
    # peering only while its ownership daemon runs; a paused replica keeps counting in memory
    # and writes nothing.
    active: bool = True
    # Bumped by every change a reader could see (the accountant publishes each one): snapshots
    # are taken again only after a change, so a scrape of unchanged LeakWatches copies nothing.
    revision: int = 0
    _snapshot: LeakWatchState | None = field(default=None, repr=False, compare=False)
    _snapshot_revision: int = field(default=-1, repr=False, compare=False)

    def changed(self) -> None:
        self.revision += 1

    @property
    def key(self) -> Key:
        return (self.namespace, self.name)

    @property
    def oom_window_seconds(self) -> float:
        return oom_window_seconds(self.spec)

    @property
    def retention_seconds(self) -> float:
        """How long a gone pod is remembered: the longest window that still reads it."""
        if self.spec is None:
            return self.oom_window_seconds
        return max(parse_duration(self.spec.memory.window).total_seconds(), self.oom_window_seconds)

    def selects(self, pod: PodInfo) -> bool:
        return self.spec is not None and pod.namespace == self.namespace and self.spec.selector.matches(pod.labels)

    def claim(self) -> Claim:
        pods = self.ledger.pods
        auto = self.spec is not None and self.spec.action.mode == "Auto"
        return Claim(self.name, self.created_at, frozenset(pods), frozenset(p.workload for p in pods.values()), auto)

    def snapshot(self) -> LeakWatchState:
        """A copy that stays as it is while this record changes, for readers in other threads;
        the same one until the record changes."""
        if self._snapshot is None or self._snapshot_revision != self.revision:
            self._snapshot, self._snapshot_revision = self.view(copy_ledger=True), self.revision
        return self._snapshot

    def view(self, copy_ledger: bool = False) -> LeakWatchState:
        """The state as it is, for a pure function called under the store's lock: the ledger is
        shared, not copied (those functions do not read it)."""
        return LeakWatchState(
            namespace=self.namespace,
            name=self.name,
            uid=self.uid,
            generation=self.generation,
            spec=self.spec,  # pydantic models are never changed in place: a new spec is a new object
            ledger=self.ledger.copy() if copy_ledger else self.ledger,
            conditions=tuple(dict(c) for c in self.conditions),
            verdicts=dict(self.verdicts),
            summary=self.summary,
            last_analysis=self.last_analysis,
            recommendation=self.recommendation,
            last_action=self.last_action,
        )


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._watched: dict[Key, Watched] = {}
        self._watched_in: dict[str, dict[str, Watched]] = {}  # namespace -> name -> Watched
        self._pods_in: dict[str, dict[str, PodInfo]] = {}  # namespace -> uid -> pod
        self._synced: set[str | None] = set()  # namespaces whose pods were listed completely (None = all)
        self._advisories: dict[str, LeakAdvisorySpec] = {}

    # --- LeakWatches (caller holds the lock) -------------------------------------------------------------
    def get(self, key: Key, uid: str | None = None) -> Watched | None:
        """The LeakWatch under `key`; None if there is none, or (given `uid`) it was replaced."""
        watched = self._watched.get(key)
        return watched if watched is not None and (uid is None or watched.uid == uid) else None

    def add(self, watched: Watched) -> None:
        self._watched[watched.key] = watched
        self._watched_in.setdefault(watched.namespace, {})[watched.name] = watched

    def drop(self, key: Key) -> None:
        self._watched.pop(key, None)
        self._watched_in.get(key[0], {}).pop(key[1], None)

    def all(self) -> Iterator[Watched]:
        return iter(list(self._watched.values()))

    def watching(self, namespace: str) -> list[Watched]:
        """The LeakWatches of `namespace` with a usable spec."""
        return [w for w in self._watched_in.get(namespace, {}).values() if w.spec is not None]

    # --- pods (caller holds the lock) --------------------------------------------------------------------
    def put_pod(self, pod: PodInfo) -> None:
        in_namespace = self._pods_in.setdefault(pod.namespace, {})
        if pod.deleted:
            in_namespace.pop(pod.uid, None)
        else:
            in_namespace[pod.uid] = pod

    def pods(self, namespace: str) -> dict[str, PodInfo]:
        return self._pods_in.get(namespace, {})

    def mark_synced(self, namespace: str | None) -> None:
        self._synced.add(namespace)

    def is_synced(self, namespace: str) -> bool:
        return None in self._synced or namespace in self._synced

    # --- advisories, snapshots (take the lock themselves) ----------------------------------------------
    def set_advisory(self, name: str, spec: LeakAdvisorySpec | None) -> None:
        with self.lock:
            if spec is None:
                self._advisories.pop(name, None)
            else:
                self._advisories[name] = spec

    def advisories(self) -> list[tuple[str, LeakAdvisorySpec]]:
        with self.lock:
            return sorted(self._advisories.items())

    def snapshots(self) -> list[LeakWatchState]:
        """The LeakWatches this replica writes for, as they are now, in a stable order."""
        with self.lock:
            return [w.snapshot() for _, w in sorted(self._watched.items()) if w.active]

    def counts(self) -> tuple[int, int]:
        """(LeakWatches with a usable spec, all LeakWatches)."""
        with self.lock:
            return sum(w.spec is not None for w in self._watched.values()), len(self._watched)
