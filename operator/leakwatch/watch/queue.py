"""A keyed, coalescing work queue: the publishers' to-do list of LeakWatch status writes.

Marking a key that is already queued adds nothing but its announcements, so a burst of pod
events for one LeakWatch costs one write. A key handed to a worker is not handed out again
until that worker is done with it, so two writes of one LeakWatch never race and an older status
never lands after a newer one. Keys with urgent work (OOMKills to announce) go first, then keys
with any announcements, then the rest in the order they were marked.

The model is prometheus-operator's reconcile and status queues (client-go's workqueue), keyed
by namespace/name.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
Announcement = Callable[[], object]  # an Event to post once the status that explains it is written


@dataclass
class Work(Generic[K]):
    key: K
    announcements: list[Announcement] = field(default_factory=list)
    urgent: bool = False


class KeyedQueue(Generic[K]):
    def __init__(self) -> None:
        self._ready = threading.Condition()
        self._pending: dict[K, Work[K]] = {}  # insertion-ordered: the rest go first come, first served
        self._in_flight: set[K] = set()
        self._closed = False

    def put(self, key: K, announcements: Sequence[Announcement] = (), urgent: bool = False) -> None:
        with self._ready:
            work = self._pending.setdefault(key, Work(key))
            work.announcements += announcements
            work.urgent |= urgent
            self._ready.notify()

    def take(self, timeout: float | None = None) -> Work[K] | None:
        """The next work whose key no worker holds, now held by the caller until `done`; None after
        `timeout` seconds with nothing to take, or once the queue is closed."""
        with self._ready:
            self._ready.wait_for(lambda: self._closed or self._next() is not None, timeout)
            key = self._next()
            if key is None or self._closed:
                return None
            self._in_flight.add(key)
            return self._pending.pop(key)

    def take_nowait(self, skip: frozenset[K] | set[K] = frozenset()) -> Work[K] | None:
        with self._ready:
            key = self._next(skip)
            if key is None:
                return None
            self._in_flight.add(key)
            return self._pending.pop(key)

    def done(self, work: Work[K], failed: bool = False) -> None:
        """Release the key. A failed work is queued again, ahead of what was marked meanwhile, with
        its announcements first (they are older)."""
        with self._ready:
            self._in_flight.discard(work.key)
            if failed:
                newer = self._pending.pop(work.key, None)
                work.announcements += newer.announcements if newer else []
                work.urgent |= bool(newer and newer.urgent)
                self._pending = {work.key: work, **self._pending}
            self._ready.notify_all()  # a worker may wait for this key

    def discard(self, key: K) -> None:
        """Drop pending work of `key` (its object is gone or no longer ours); work in flight finishes."""
        with self._ready:
            self._pending.pop(key, None)

    def close(self) -> None:
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def __len__(self) -> int:
        with self._ready:
            return len(self._pending)

    def _next(self, skip: frozenset[K] | set[K] = frozenset()) -> K | None:
        def free(work: Work[K]) -> bool:
            return work.key not in self._in_flight and work.key not in skip

        for wanted in (lambda w: w.urgent, lambda w: bool(w.announcements), lambda w: True):
            for work in self._pending.values():
                if wanted(work) and free(work):
                    return work.key
        return None
