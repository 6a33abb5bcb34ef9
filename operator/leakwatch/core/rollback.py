"""Whether and how to roll a Deployment back automatically: pure, the clock passed in.

Mirrors `kubectl rollout undo --to-revision`: the target is the ReplicaSet whose pod template
runs the target version; its template (without the pod-template-hash label) becomes the
Deployment's. Never while paused or mid-rollout, never twice within the cooldown, never on a
workload that Argo CD or Flux owns unless the LeakWatch allows it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.attribution import read_version
from leakwatch.core.pods import PodInfo, container_specs

# Labels and annotations that Argo CD and Flux put on what they manage.
GITOPS_MARKERS = (
    "argocd.argoproj.io/instance",
    "argocd.argoproj.io/tracking-id",
    "kustomize.toolkit.fluxcd.io/name",
    "helm.toolkit.fluxcd.io/name",
)


@dataclass(frozen=True)
class RollbackPlan:
    act: bool
    reason: str  # CamelCase: AutoRollback, DryRun, WorkloadPaused, RolloutInProgress, ...
    message: str
    revision: str | None = None
    template: dict[str, Any] | None = None


def template_version(template: dict[str, Any], spec: LeakWatchSpec) -> str:
    meta, pod_spec = template.get("metadata") or {}, template.get("spec") or {}
    pod = PodInfo(
        namespace="",
        name="template",
        uid="",
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        containers=tuple(container_specs(pod_spec.get("containers"))),
    )
    return read_version(pod, spec.version, spec.containers).version


def plan_rollback(
    *,
    deployment: dict[str, Any],
    replicasets: list[dict[str, Any]],
    spec: LeakWatchSpec,
    target_version: str,
    last_action: datetime | None,
    now: datetime,
    cooldown: timedelta,
) -> RollbackPlan:
    meta, dspec, status = deployment["metadata"], deployment.get("spec") or {}, deployment.get("status") or {}
    name = meta["name"]
    markers = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    managed_by = next((m for m in GITOPS_MARKERS if m in markers), None)
    if managed_by and not spec.action.allow_git_ops:
        return RollbackPlan(
            False,
            "ManagedByGitOps",
            f"{name} is managed by GitOps ({managed_by}); roll back in Git, or set "
            "spec.action.allowGitOps to let LeakWatch do it",
        )
    if dspec.get("paused"):
        return RollbackPlan(
            False, "WorkloadPaused", f"{name} is paused; LeakWatch does not roll back a paused Deployment"
        )
    replicas = dspec.get("replicas", 1)
    settled = (
        status.get("observedGeneration", 0) >= meta.get("generation", 0)
        and status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
    )
    if not settled:
        return RollbackPlan(False, "RolloutInProgress", f"{name} is mid-rollout; waiting for it to settle")
    if last_action is not None and now - last_action < cooldown:
        until = (last_action + cooldown).strftime("%Y-%m-%dT%H:%M:%SZ")
        return RollbackPlan(
            False,
            "CooldownActive",
            f"{name} was acted on at {last_action:%Y-%m-%dT%H:%M:%SZ}; the cooldown lasts until {until}",
        )
    candidates = [
        rs
        for rs in replicasets
        if template_version((rs.get("spec") or {}).get("template") or {}, spec) == target_version
    ]
    if not candidates:
        return RollbackPlan(False, "NoTargetRevision", f"no ReplicaSet of {name} runs version {target_version}")
    newest = max(
        candidates,
        key=lambda rs: int((rs["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0")),
    )
    revision = (newest["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
    template = copy.deepcopy(newest["spec"]["template"])
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    if spec.action.dry_run:
        return RollbackPlan(
            False,
            "DryRun",
            f"dry run: would roll {name} back to revision {revision} (version {target_version})",
            revision,
            template,
        )
    return RollbackPlan(
        True,
        "AutoRollback",
        f"rolled {name} back to revision {revision} (version {target_version})",
        revision,
        template,
    )
