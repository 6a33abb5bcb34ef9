"""kopf handlers for LeakWatch objects. Each one gathers its inputs, asks core/ what the status
should be, and writes it; running it twice on the same object writes the same thing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kopf

from leakwatch.api import GROUP
from leakwatch.core.conditions import DEGRADED, ConditionUpdate, merge_conditions
from leakwatch.core.validation import parse_spec
from leakwatch.publish import metrics

_ready_by_uid: dict[str, bool] = {}


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    # Handler progress and diff-base live in our own annotations, never in status: the status
    # schema is structural, and kopf's own keys there would be pruned.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = 20  # INFO and above become Kubernetes Events
    settings.networking.request_timeout = 30
    settings.watching.server_timeout = 300


def _publish_ready_gauge() -> None:
    ready = sum(_ready_by_uid.values())
    metrics.LEAKWATCHES.labels(ready="true").set(ready)
    metrics.LEAKWATCHES.labels(ready="false").set(len(_ready_by_uid) - ready)


@kopf.on.resume(GROUP, "leakwatches")
@kopf.on.create(GROUP, "leakwatches")
@kopf.on.update(GROUP, "leakwatches")
def reconcile_spec(
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    uid: str,
    patch: kopf.Patch,
    **_: Any,
) -> None:
    parsed, ready = parse_spec(dict(spec))
    updates = [ready]
    if not any(c.get("type") == DEGRADED for c in status.get("conditions", [])):
        updates.append(ConditionUpdate(DEGRADED, "False", "AsExpected", "no faults seen"))
    generation = int(meta.get("generation") or 0)
    patch.status["conditions"] = merge_conditions(
        status.get("conditions", []), updates, generation=generation, now=datetime.now(UTC)
    )
    patch.status["observedGeneration"] = generation
    _ready_by_uid[uid] = parsed is not None
    _publish_ready_gauge()
    metrics.RECONCILES.labels(result="ok" if parsed is not None else "invalid").inc()


@kopf.on.delete(GROUP, "leakwatches", optional=True)
def forget(uid: str, **_: Any) -> None:
    _ready_by_uid.pop(uid, None)
    _publish_ready_gauge()
