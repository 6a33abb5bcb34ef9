"""LeakWatch status: rendered from a snapshot in one place, written through the status subresource.

`render_status` is the only builder of LeakWatchStatus: pure, from the state and the clock, in
base units the way core computed them. The models forbid unknown fields, so a misspelt field
fails here instead of being pruned silently by the API server's schema.

JSON merge patches carry no resourceVersion, so they never conflict; they replace lists whole,
which is why one writer per LeakWatch (the accountant's publisher, one per key at a time) owns
the complete value of every list it writes. Transient failures are retried with backoff; a
LeakWatch that is gone is not an error.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from leakwatch.api import GROUP, VERSION
from leakwatch.api.common import Condition
from leakwatch.api.leakwatch import LeakWatchStatus, VersionStats
from leakwatch.api.leakwatch import Ledger as LedgerStatus
from leakwatch.core.components import framework_in
from leakwatch.core.conditions import rfc3339
from leakwatch.core.state import LeakWatchState

log = logging.getLogger(__name__)
RETRIED_STATUSES = {409, 429, 500, 502, 503, 504}


class StatusWriter:
    def __init__(self, api: client.CustomObjectsApi, attempts: int = 5) -> None:
        self.api = api
        self.attempts = attempts

    def patch(self, namespace: str, name: str, status: LeakWatchStatus) -> bool:
        """Merge `status` into the LeakWatch's status; False when the LeakWatch no longer exists.
        What was set is written, a None as null, which a merge patch reads as "remove"; what was
        left unset (no analysis yet) keeps the value the cluster has."""
        body = {"status": status.model_dump(mode="json", by_alias=True, exclude_unset=True)}
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                self.api.patch_namespaced_custom_object_status(GROUP, VERSION, namespace, "leakwatches", name, body)
                return True
            except ApiException as err:
                if err.status == 404:
                    return False
                if err.status not in RETRIED_STATUSES or attempt == self.attempts:
                    raise
                log.info("status patch of %s/%s got %s; retry %d", namespace, name, err.status, attempt)
            except OSError:
                if attempt == self.attempts:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 5)
        return False


def render_status(state: LeakWatchState, now: datetime) -> LeakWatchStatus:
    """The LeakWatch's status as `state` has it at `now`."""
    ledger = state.ledger
    status = LeakWatchStatus(
        observed_generation=state.generation,
        conditions=[Condition.model_validate(c) for c in state.conditions],
        ledger=LedgerStatus.model_validate(ledger.to_status()),
        oom_kills=ledger.total_oom_kills(),
        versions=version_rows(state, now),
    )
    if state.summary is not None:
        status.verdict = state.summary.verdict
        status.suspect_version = state.summary.suspect_version
    if state.last_analysis is not None:
        status.last_analysis_time = rfc3339(state.last_analysis)
    if state.recommendation is not None:
        status.recommendation = state.recommendation
    if state.last_action is not None:
        status.last_action = state.last_action
    return status


def version_rows(state: LeakWatchState, now: datetime) -> list[VersionStats]:
    """One row per version, in the order they were rolled out (first seen)."""
    ledger, rows = state.ledger, []
    framework = state.spec.version.framework if state.spec is not None else None
    for record in sorted(ledger.versions.values(), key=lambda r: (r.first_seen, r.version)):
        kills, inferred = ledger.oom_kills(record.version)
        verdict = state.verdicts.get(record.version)
        growth = verdict.growth_bytes_per_second if verdict else None
        time_to_oom = verdict.time_to_oom_seconds if verdict else None
        rows.append(
            VersionStats(
                version=record.version,
                pods=record.pods,
                pod_seconds=round(ledger.pod_seconds(record.version, now), 1),
                oom_kills=kills,
                oom_kills_inferred=inferred,
                oom_kills_in_window=ledger.oom_kills_in_window(record.version, now, state.oom_window_seconds),
                first_seen=record.first_seen,
                last_seen=ledger.last_seen(record.version, now),
                verdict=verdict.verdict if verdict else "InsufficientData",
                confidence=round(verdict.confidence, 3) if verdict else 0.0,
                growth_bytes_per_second=None if growth is None else round(growth, 3),
                time_to_oom_seconds=None if time_to_oom is None else round(time_to_oom, 1),
                evidence=list(verdict.evidence) if verdict else [],
                framework=framework_in(record.components, framework),
            )
        )
    return rows
