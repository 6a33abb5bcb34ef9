"""Auto mode: roll a Deployment back to its last good revision, as `kubectl rollout undo
--to-revision` does, when the pure plan says so; record every attempt in status and Events."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from leakwatch.api.common import parse_duration
from leakwatch.api.leakwatch import AutoAction, LeakWatchSpec
from leakwatch.core.conditions import from_rfc3339, rfc3339
from leakwatch.core.decide import Decision
from leakwatch.core.rollback import plan_rollback

log = logging.getLogger(__name__)


class Rollbacks:
    def __init__(self, apps: client.AppsV1Api) -> None:
        self.apps = apps

    def _json(self, response: Any) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(response.data)
        return data

    def attempt(
        self,
        *,
        namespace: str,
        workload: str,
        decision: Decision,
        spec: LeakWatchSpec,
        previous: AutoAction | None,
        recommended_since: datetime,
        acts_instead: str | None = None,
    ) -> AutoAction | None:
        """Roll back if the plan allows; return the status.lastAction entry (None: nothing to do).
        `acts_instead` names the LeakWatch in Auto mode that came first to this workload: one actor
        per workload, or two cooldowns would let two LeakWatches act."""
        if spec.action.mode != "Auto" or not decision.rollback_to or not spec.action.cooldown:
            return None
        now = datetime.now(UTC)
        acted_at = previous.acted_at if previous is not None else None

        def entry(reason: str, message: str, revision: str | None = None, acted: str | None = acted_at) -> AutoAction:
            return AutoAction(
                reason=reason,
                message=message,
                workload=workload,
                from_version=decision.from_version,
                to_version=decision.rollback_to,
                revision=revision,
                time=rfc3339(now),
                acted_at=acted,
            )

        if acts_instead is not None:
            message = f"LeakWatch {acts_instead} also selects {workload} in Auto mode and came first: only it acts"
            return entry("AnotherLeakWatchActs", message)
        try:
            deployment = self._json(self.apps.read_namespaced_deployment(workload, namespace, _preload_content=False))
            owned = self._json(self.apps.list_namespaced_replica_set(namespace, _preload_content=False))["items"]
        except ApiException as err:
            return entry("NoDeployment", f"cannot read Deployment {workload}: {err.reason}")
        uid = deployment["metadata"]["uid"]
        replicasets = [
            rs for rs in owned if any(o.get("uid") == uid for o in rs["metadata"].get("ownerReferences") or [])
        ]
        plan = plan_rollback(
            deployment=deployment,
            replicasets=replicasets,
            spec=spec,
            target_version=decision.rollback_to,
            last_action=from_rfc3339(acted_at) if acted_at else None,
            now=now,
            cooldown=parse_duration(spec.action.cooldown),
            recommended_since=recommended_since,
        )
        outcome = entry(plan.reason, plan.message, plan.revision)
        if plan.act and plan.template is not None:
            try:
                self.apps.patch_namespaced_deployment(
                    workload, namespace, [{"op": "replace", "path": "/spec/template", "value": plan.template}]
                )
                outcome = entry(plan.reason, plan.message, plan.revision, acted=rfc3339(now))
            except ApiException as err:
                outcome = entry("RollbackFailed", f"patching Deployment {workload} failed: {err.reason}", plan.revision)
        log.info("auto rollback of %s/%s: %s", namespace, workload, outcome.message)
        return outcome
