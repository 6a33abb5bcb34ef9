"""Kubernetes-style conditions, kept as plain data: set one, keep lastTransitionTime unless the
status really changed (API conventions), and never lose the others."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leakwatch.api.terms import ConditionStatus

Status = ConditionStatus

READY = "Ready"
DEGRADED = "Degraded"
LEAK_SUSPECTED = "LeakSuspected"
ROLLBACK_RECOMMENDED = "RollbackRecommended"


@dataclass(frozen=True)
class ConditionUpdate:
    type: str
    status: Status
    reason: str
    message: str


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.lru_cache(maxsize=65536)  # the same start times are read at every scrape and status write
def from_rfc3339(stamp: str) -> datetime:
    """A time written by `rfc3339` (or the API server), timezone-aware."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def merge_conditions(
    existing: Iterable[Mapping[str, Any]],
    updates: Iterable[ConditionUpdate],
    *,
    generation: int,
    now: datetime,
) -> list[dict[str, Any]]:
    """The condition list after applying `updates`, in a stable order (existing first)."""
    merged: dict[str, dict[str, Any]] = {c["type"]: dict(c) for c in existing if "type" in c}
    for update in updates:
        previous = merged.get(update.type, {})
        since = previous.get("lastTransitionTime") if previous.get("status") == update.status else None
        merged[update.type] = {
            "type": update.type,
            "status": update.status,
            "reason": update.reason,
            "message": update.message,
            "observedGeneration": generation,
            "lastTransitionTime": since or rfc3339(now),
        }
    return list(merged.values())
