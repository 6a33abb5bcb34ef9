"""kopf handlers: thin. LeakWatch specs go to the accountant, which owns status; pods come from
one lean shared watch (sample/pods.py) rather than kopf's per-object machinery."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import kopf
from kubernetes import client
from pydantic import ValidationError

from leakwatch.api import GROUP
from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.config import Settings
from leakwatch.core.validation import describe_validation_error
from leakwatch.publish import metrics
from leakwatch.publish.actions import executors
from leakwatch.publish.collector import LeakWatchCollector
from leakwatch.publish.events import EventPoster
from leakwatch.publish.status import StatusWriter
from leakwatch.sample.kube import api_client
from leakwatch.sample.pods import PodWatch
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch.sample.sboms import SbomReports
from leakwatch.sample.workloads import Workloads
from leakwatch.watch.accountant import Accountant
from leakwatch.watch.analyser import Analyser

log = logging.getLogger(__name__)


@kopf.on.startup()
def start(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    # Handler progress and diff-base live in our own annotations, never in status: the status
    # schema is structural, and kopf's own keys there would be pruned.
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # our own Events are posted explicitly
    settings.networking.request_timeout = 30
    settings.watching.server_timeout = 300

    config = Settings()
    api = api_client()
    core = client.CoreV1Api(api)
    accountant = Accountant(
        StatusWriter(client.CustomObjectsApi(api)),
        EventPoster(core),
        workloads=Workloads(client.AppsV1Api(api)),
        active_by_default=config.peering_name is None,  # with peering: only while owning (own_while_active)
    )
    accountant.start()
    metrics.REGISTRY.register(LeakWatchCollector(accountant.states, accountant.clock))
    namespaces: list[str | None] = list(config.namespaces) or [None]
    watches = [PodWatch(core, namespace, accountant.on_pod, accountant.on_synced) for namespace in namespaces]
    for watch in watches:
        watch.start()
    analyser = Analyser(
        accountant,
        PrometheusClient(config.prometheus_url, stats=metrics.PrometheusQueryStats()),
        config.analysis_interval_seconds,
        config.time_scale,
        executors(api),
        SbomReports(client.CustomObjectsApi(api)) if config.sbom_reports else None,
    )
    analyser.start()
    memo.accountant = accountant
    memo.pod_watches = watches
    memo.analyser = analyser


@kopf.on.cleanup()
async def stop(memo: kopf.Memo, **_: Any) -> None:
    for watch in memo.get("pod_watches", []):
        watch.stop()
    if "analyser" in memo:
        memo.analyser.stop()
    if "accountant" in memo:
        await asyncio.to_thread(memo.accountant.stop)


@kopf.on.resume(GROUP, "leakwatches")
@kopf.on.create(GROUP, "leakwatches")
@kopf.on.update(GROUP, "leakwatches")
async def reconcile_spec(
    spec: kopf.Spec, status: kopf.Status, meta: kopf.Meta, uid: str, memo: kopf.Memo, **_: Any
) -> None:
    accountant: Accountant = memo.accountant
    usable = await asyncio.to_thread(
        accountant.apply_spec,
        meta["namespace"],
        meta["name"],
        uid,
        int(meta.get("generation") or 0),
        dict(spec),
        dict(status),
        meta.get("creationTimestamp"),
    )
    metrics.RECONCILES.labels(result="ok" if usable else "invalid").inc()
    _publish_ready_gauge(accountant)


async def own_while_active(
    spec: kopf.Spec,
    status: kopf.Status,
    meta: kopf.Meta,
    uid: str,
    memo: kopf.Memo,
    stopped: kopf.DaemonStopped,
    **_: Any,
) -> None:
    """While this daemon runs, this replica owns the LeakWatch: writes its status and Events,
    publishes its metrics, may act in Auto mode. kopf stops daemons when peering pauses the
    replica, on deletion and on shutdown, and starts them again on resume with the object as it
    is then, so the new owner starts from the current spec and status (counts, cooldown) rather
    than from what it last saw. Registered only with peering (register_ownership)."""
    accountant: Accountant = memo.accountant
    namespace, name = meta["namespace"], meta["name"]
    # kopf cancels a daemon soon after signalling it to stop (once `cancellation_backoff` is over),
    # and a cancelled await of to_thread() may never start its thread. So taking and giving up
    # ownership run as tasks of their own, shielded, in that order: however the daemon is stopped,
    # a replica that took ownership gives it up, or it would go on writing beside the new owner.
    taking = asyncio.ensure_future(
        asyncio.to_thread(
            accountant.apply_spec,
            namespace,
            name,
            uid,
            int(meta.get("generation") or 0),
            dict(spec),
            dict(status),
            meta.get("creationTimestamp"),
            True,
        )
    )

    async def give_up() -> None:
        with contextlib.suppress(Exception):
            await taking
        await asyncio.to_thread(accountant.deactivate, namespace, name, uid)

    try:
        await asyncio.shield(taking)
        log.info("this replica owns LeakWatch %s/%s", namespace, name)
        await stopped.wait()
    finally:
        exiting = stopped.reason is not None and bool(stopped.reason & kopf.DaemonStoppingReason.OPERATOR_EXITING)
        if not exiting:  # else still ours until the process ends: the cleanup handler writes what is pending
            log.info("this replica no longer owns LeakWatch %s/%s (%s)", namespace, name, stopped.reason)
            await asyncio.shield(give_up())


def register_ownership() -> None:
    """With kopf peering, each LeakWatch is owned through a kopf daemon. A daemon puts kopf's
    finalizer on the LeakWatch, so standalone (one replica, nothing to pause) goes without."""
    kopf.daemon(GROUP, "leakwatches", id="ownership", cancellation_backoff=5, cancellation_timeout=30)(own_while_active)


@kopf.on.event(GROUP, "leakadvisories")
def follow_advisory(
    type: str | None, spec: kopf.Spec, name: str, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    # An event handler, not create/update: those store kopf's state on the object, and the operator
    # only ever needs to read advisories (its RBAC grants no more).
    parsed = None
    if type != "DELETED":
        try:
            parsed = LeakAdvisorySpec.model_validate(dict(spec))
        except ValidationError as err:  # the schema refuses most of this; say what is left
            logger.warning("LeakAdvisory %s is ignored: %s", name, describe_validation_error(err))
    memo.accountant.set_advisory(name, parsed)


@kopf.on.event(GROUP, "leakwatches")
def forget_deleted(type: str | None, meta: kopf.Meta, uid: str, memo: kopf.Memo, **_: Any) -> None:
    # The watch event, not @kopf.on.delete(optional=True): without a finalizer kopf calls no
    # deletion handler for an object that is already gone, and its metrics would stay published.
    if type == "DELETED" and "accountant" in memo:
        memo.accountant.forget(meta["namespace"], meta["name"], uid)
        _publish_ready_gauge(memo.accountant)


def _publish_ready_gauge(accountant: Accountant) -> None:
    ready, total = accountant.store.counts()
    metrics.LEAKWATCHES.labels(ready="true").set(ready)
    metrics.LEAKWATCHES.labels(ready="false").set(total - ready)
