"""Whether and how to roll a Deployment back automatically: pure, the clock passed in.

Mirrors `kubectl rollout undo --to-revision`: the target is the ReplicaSet whose pod template
runs the target version; its template (without the pod-template-hash label) becomes the
Deployment's. `GUARDS`, tried in order, may each refuse with a (reason, message): never on a
workload that Argo CD or Flux owns unless the LeakWatch allows it, never while paused, never twice
within the cooldown, never on a recommendation younger than `action.actAfter`, never mid-rollout,
never without a revision that runs the target.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from leakwatch.api.common import parse_duration
from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.attribution import read_version
from leakwatch.core.conditions import rfc3339
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


@dataclass(frozen=True)
class RollbackInput:
    """Everything the guards and the plan need, read from the API server once."""

    deployment: dict[str, Any]
    replicasets: list[dict[str, Any]]  # those the Deployment owns
    spec: LeakWatchSpec
    target_version: str
    last_action: datetime | None  # when LeakWatch last rolled this workload back
    cooldown: timedelta
    recommended_since: datetime  # when the recommendation to roll back to the target was first made

    @property
    def name(self) -> str:
        return str(self.deployment["metadata"]["name"])

    @cached_property
    def target_replicaset(self) -> dict[str, Any] | None:
        """The newest revision whose pod template runs the target version."""
        candidates = [
            rs
            for rs in self.replicasets
            if template_version((rs.get("spec") or {}).get("template") or {}, self.spec) == self.target_version
        ]
        if not candidates:
            return None
        return max(candidates, key=lambda rs: int(_revision(rs) or "0"))  # a ReplicaSet without one is the oldest


# (CamelCase reason, message): why LeakWatch does not roll back, for status.lastAction and its Event.
Refusal = tuple[str, str]
Guard = Callable[[RollbackInput, datetime], Refusal | None]


def managed_by_gitops(given: RollbackInput, now: datetime) -> Refusal | None:
    """Argo CD or Flux owns the Deployment and the LeakWatch does not allow acting on it."""
    meta = given.deployment["metadata"]
    markers = {**(meta.get("labels") or {}), **(meta.get("annotations") or {})}
    managed_by = next((m for m in GITOPS_MARKERS if m in markers), None)
    if managed_by is None or given.spec.action.allow_git_ops:
        return None
    return (
        "ManagedByGitOps",
        f"{given.name} is managed by GitOps ({managed_by}); roll back in Git, or set "
        "spec.action.allowGitOps to let LeakWatch do it",
    )


def workload_paused(given: RollbackInput, now: datetime) -> Refusal | None:
    """Someone paused the Deployment: leave it as they left it."""
    if not (given.deployment.get("spec") or {}).get("paused"):
        return None
    return "WorkloadPaused", f"{given.name} is paused; LeakWatch does not roll back a paused Deployment"


def rollout_in_progress(given: RollbackInput, now: datetime) -> Refusal | None:
    """The Deployment has not settled: its controller has not seen the latest spec or not all
    replicas are updated."""
    meta, dspec = given.deployment["metadata"], given.deployment.get("spec") or {}
    status = given.deployment.get("status") or {}
    replicas = dspec.get("replicas", 1)
    settled = (
        status.get("observedGeneration", 0) >= meta.get("generation", 0)
        and status.get("updatedReplicas", 0) == replicas
        and status.get("replicas", 0) == replicas
    )
    if settled:
        return None
    return "RolloutInProgress", f"{given.name} is mid-rollout; waiting for it to settle"


def cooldown_active(given: RollbackInput, now: datetime) -> Refusal | None:
    """LeakWatch acted on the workload less than a cooldown ago."""
    last = given.last_action
    if last is None or now - last >= given.cooldown:
        return None
    until = (last + given.cooldown).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        "CooldownActive",
        f"{given.name} was acted on at {last:%Y-%m-%dT%H:%M:%SZ}; the cooldown lasts until {until}",
    )


def recommendation_too_new(given: RollbackInput, now: datetime) -> Refusal | None:
    """The recommendation has stood for less than action.actAfter: a verdict of one analysis, which
    the next may take back, is no reason to change a workload."""
    ready = given.recommended_since + parse_duration(given.spec.action.act_after)
    if now >= ready:
        return None
    return (
        "RecommendationTooNew",
        f"the rollback of {given.name} to version {given.target_version} is recommended since "
        f"{rfc3339(given.recommended_since)}; Auto mode acts on it if it still stands at {rfc3339(ready)} "
        f"(action.actAfter {given.spec.action.act_after})",
    )


def no_target_revision(given: RollbackInput, now: datetime) -> Refusal | None:
    """No ReplicaSet of the Deployment runs the target version: there is no template to restore."""
    if given.target_replicaset is not None:
        return None
    return "NoTargetRevision", f"no ReplicaSet of {given.name} runs version {given.target_version}"


# Tried in order; the first refusal wins. The lasting refusal comes first: a workload that GitOps owns
# is reported as such even while it is paused or mid-rollout, or its owners would wait for a rollback
# that never comes; a cooldown, which outlasts a rollout, before the rollout (LeakWatch's own
# rollback is one: "mid-rollout" would promise an action the cooldown then refuses); a
# recommendation too new to act on before the rollout too, since it names when LeakWatch will act.
# The target revision is looked for last, once the Deployment is settled.
GUARDS: tuple[Guard, ...] = (
    managed_by_gitops,
    workload_paused,
    cooldown_active,
    recommendation_too_new,
    rollout_in_progress,
    no_target_revision,
)


def first_refusal(guards: tuple[Guard, ...], given: RollbackInput, now: datetime) -> Refusal | None:
    """The refusal of the first guard that refuses; None if all allow the rollback."""
    for guard in guards:
        refusal = guard(given, now)
        if refusal is not None:
            return refusal
    return None


def plan_rollback(
    *,
    deployment: dict[str, Any],
    replicasets: list[dict[str, Any]],
    spec: LeakWatchSpec,
    target_version: str,
    last_action: datetime | None,
    now: datetime,
    cooldown: timedelta,
    recommended_since: datetime,
) -> RollbackPlan:
    given = RollbackInput(deployment, replicasets, spec, target_version, last_action, cooldown, recommended_since)
    refusal = first_refusal(GUARDS, given, now)
    if refusal is not None:
        return RollbackPlan(False, *refusal)
    target = given.target_replicaset
    assert target is not None  # no_target_revision let it through
    revision = _revision(target)
    template = copy.deepcopy(target["spec"]["template"])
    # As `kubectl rollout undo` does: the Deployment controller sets its own hash label.
    (template.get("metadata") or {}).get("labels", {}).pop("pod-template-hash", None)
    if spec.action.dry_run:
        return RollbackPlan(
            False,
            "DryRun",
            f"dry run: would roll {given.name} back to revision {revision} (version {target_version})",
            revision,
            template,
        )
    return RollbackPlan(
        True,
        "AutoRollback",
        f"rolled {given.name} back to revision {revision} (version {target_version})",
        revision,
        template,
    )


def _revision(replicaset: dict[str, Any]) -> str | None:
    revision = (replicaset["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
    return None if revision is None else str(revision)
