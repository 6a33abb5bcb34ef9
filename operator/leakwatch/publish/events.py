"""Kubernetes Events for what LeakWatch finds. Each Event has a name derived from what it reports,
so posting it again (after a retry or an operator restart) is a harmless 409, never a duplicate."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from collections import deque
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

log = logging.getLogger(__name__)
K = TypeVar("K", bound=Hashable)
COMPONENT = "leakwatch"
# An API server that restarts answers 5xx or refuses connections for a few seconds, and 429
# "storage is (re)initializing" for each resource until its watch cache is filled, Events' later
# than LeakWatches' on a loaded machine; an OOMKill's Event is posted right after its status write,
# so it must outlast that: about half a minute in all. Names make retries safe.
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str | None = None


class EventBudget(Generic[K]):
    """At most `per_minute` announcements per key (one LeakWatch) in any 60 s; the rest are held
    back as a count, told in one summary once the burst had `settle_seconds` to gather and no
    summary went out in the last minute. client-go's event recorder does the same with its spam
    filter and "(combined from similar events)"; without it one pod in a crash loop, or a
    restartCount patched to millions, floods the namespace. Pure: time is passed in."""

    def __init__(self, per_minute: int = 10, settle_seconds: float = 5.0) -> None:
        self.per_minute = per_minute
        self.settle_seconds = settle_seconds
        self._spent: dict[K, deque[float]] = {}
        self._held: dict[K, tuple[int, float]] = {}  # count, when the first was held back
        self._last_summary: dict[K, float] = {}

    def take(self, key: K, now: float, count: int = 1) -> bool:
        """True if one more announcement (standing for `count` happenings) may go out now; else
        it is held back."""
        spent = self._spent.setdefault(key, deque())
        while spent and spent[0] <= now - 60:
            spent.popleft()
        if len(spent) < self.per_minute:
            spent.append(now)
            return True
        held, since = self._held.get(key, (0, now))
        self._held[key] = (held + count, since)
        return False

    def due(self, now: float) -> dict[K, int]:
        """The held-back counts whose summary may go out now (reset as they are handed out)."""
        ready = {
            key: held
            for key, (held, since) in self._held.items()
            if now - since >= self.settle_seconds and now - self._last_summary.get(key, float("-inf")) >= 60
        }
        for key in ready:
            del self._held[key]
            self._last_summary[key] = now
        return ready

    def forget(self, key: K) -> None:
        for book in (self._spent, self._held, self._last_summary):
            book.pop(key, None)


def event_name(subject: ObjectRef, key: str) -> str:
    digest = hashlib.sha256(f"{subject.kind}/{subject.name}/{key}".encode()).hexdigest()[:16]
    return f"{subject.name[:200]}.{digest}"


class EventPoster:
    def __init__(self, api: client.CoreV1Api) -> None:
        self.api = api
        self.instance = socket.gethostname()

    def post(self, subject: ObjectRef, *, key: str, reason: str, message: str, warning: bool = True) -> bool:
        """Post one Event about `subject`; `key` identifies what it reports. False if it existed."""
        now = datetime.now(UTC)
        body = client.CoreV1Event(
            metadata=client.V1ObjectMeta(name=event_name(subject, key), namespace=subject.namespace),
            involved_object=client.V1ObjectReference(
                api_version=subject.api_version,
                kind=subject.kind,
                namespace=subject.namespace,
                name=subject.name,
                uid=subject.uid,
            ),
            reason=reason,
            message=message[:1024],
            type="Warning" if warning else "Normal",
            source=client.V1EventSource(component=COMPONENT),
            reporting_component=f"leakwatch.io/{COMPONENT}",
            reporting_instance=self.instance,
            first_timestamp=now,
            last_timestamp=now,
            count=1,
        )
        for delay in (*RETRY_DELAYS_SECONDS, None):
            try:
                self.api.create_namespaced_event(subject.namespace, body)
                return True
            except ApiException as err:
                if err.status == 409:
                    return False
                problem = f"{err.status} {err.reason}"
                if err.status not in TRANSIENT_STATUSES:
                    delay = None
            except HTTPError as err:  # connection refused or reset: the API server is away
                problem = str(err)
            if delay is None:
                log.warning("could not post event %s on %s/%s: %s", reason, subject.kind, subject.name, problem)
                return False
            time.sleep(delay)
        return False
