"""Kubernetes Events for what LeakWatch finds. Each Event has a name derived from what it reports,
so posting it again (after a retry or an operator restart) is a harmless 409, never a duplicate."""

from __future__ import annotations

import hashlib
import logging
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

log = logging.getLogger(__name__)
COMPONENT = "leakwatch"
# An API server that restarts answers 5xx or refuses connections for a few seconds; an OOMKill's
# Event is posted right after its status write, so it must outlast that. Names make retries safe.
RETRY_DELAYS_SECONDS = (0.5, 1.0, 2.0, 4.0)
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class ObjectRef:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str | None = None


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
