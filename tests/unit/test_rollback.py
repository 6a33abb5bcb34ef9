"""The Auto-rollback plan, pure: every guard, and the template it restores."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.rollback import (
    GUARDS,
    RollbackInput,
    cooldown_active,
    first_refusal,
    managed_by_gitops,
    no_target_revision,
    plan_rollback,
    recommendation_too_new,
    rollout_in_progress,
    workload_paused,
)

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)
RECOMMENDED = NOW - timedelta(hours=1)  # the recommendation has stood past action.actAfter (15m)


def spec(**action: Any) -> LeakWatchSpec:
    return LeakWatchSpec.model_validate(
        {"selector": {"matchLabels": {"app": "a"}}, "action": {"mode": "Auto", "cooldown": "1h", **action}}
    )


def template(version: str, template_hash: str | None = None) -> dict[str, Any]:
    labels = {"app": "a", **({"pod-template-hash": template_hash} if template_hash else {})}
    return {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "app", "image": f"r/a:{version}"}]}}


DEPLOYMENT = {
    "metadata": {"name": "a", "generation": 3, "annotations": {}},
    "spec": {"replicas": 2, "template": template("3.1.2")},
    "status": {"observedGeneration": 3, "replicas": 2, "updatedReplicas": 2},
}
REPLICASETS = [
    {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "1"}},
        "spec": {"template": template("3.0.10", "h1")},
    },
    {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "2"}},
        "spec": {"template": template("3.1.2", "h2")},
    },
]


def plan(deployment: dict[str, Any] = DEPLOYMENT, last: datetime | None = None, **action: Any):  # type: ignore[no-untyped-def]
    return plan_rollback(
        deployment=deployment,
        replicasets=REPLICASETS,
        spec=spec(**action),
        target_version="3.0.10",
        last_action=last,
        now=NOW,
        cooldown=timedelta(hours=1),
        recommended_since=RECOMMENDED,
    )


def changed(**parts: Any) -> dict[str, Any]:
    deployment = copy.deepcopy(DEPLOYMENT)
    for section, values in parts.items():
        deployment[section].update(values)
    return deployment


def test_rolls_back_to_the_target_revisions_template_without_its_hash() -> None:
    result = plan()
    assert result.act and result.reason == "AutoRollback" and result.revision == "1"
    assert result.template == template("3.0.10")


@pytest.mark.parametrize(
    ("deployment", "reason"),
    [
        (changed(spec={"paused": True}), "WorkloadPaused"),
        (changed(status={"updatedReplicas": 1}), "RolloutInProgress"),
        (changed(status={"observedGeneration": 2}), "RolloutInProgress"),
        (changed(metadata={"annotations": {"argocd.argoproj.io/tracking-id": "x"}}), "ManagedByGitOps"),
        (changed(metadata={"labels": {"kustomize.toolkit.fluxcd.io/name": "x"}}), "ManagedByGitOps"),
    ],
)
def test_guards(deployment: dict[str, Any], reason: str) -> None:
    result = plan(deployment)
    assert not result.act and result.reason == reason


def test_gitops_can_be_allowed() -> None:
    assert plan(changed(metadata={"annotations": {"argocd.argoproj.io/instance": "x"}}), allowGitOps=True).act


def test_cooldown() -> None:
    assert plan(last=NOW - timedelta(minutes=30)).reason == "CooldownActive"
    assert plan(last=NOW - timedelta(minutes=61)).act


def test_dry_run_changes_nothing_but_says_what_it_would_do() -> None:
    result = plan(dryRun=True)
    assert not result.act and result.reason == "DryRun" and "would roll a back to revision 1" in result.message


def test_no_revision_runs_the_target() -> None:
    result = plan_rollback(
        deployment=DEPLOYMENT,
        replicasets=REPLICASETS[1:],
        spec=spec(),
        target_version="3.0.10",
        last_action=None,
        now=NOW,
        cooldown=timedelta(hours=1),
        recommended_since=RECOMMENDED,
    )
    assert result.reason == "NoTargetRevision"


# --- Each guard alone, then the order of GUARDS where two would refuse. ---


def given(
    deployment: dict[str, Any] = DEPLOYMENT,
    replicasets: list[dict[str, Any]] = REPLICASETS,
    last: datetime | None = None,
    since: datetime = RECOMMENDED,
    **action: Any,
) -> RollbackInput:
    return RollbackInput(deployment, replicasets, spec(**action), "3.0.10", last, timedelta(hours=1), since)


def test_managed_by_gitops_refuses_argo_cd_and_flux_unless_allowed() -> None:
    argo = changed(metadata={"annotations": {"argocd.argoproj.io/instance": "shop"}})
    assert managed_by_gitops(given(argo), NOW) == (
        "ManagedByGitOps",
        "a is managed by GitOps (argocd.argoproj.io/instance); roll back in Git, or set "
        "spec.action.allowGitOps to let LeakWatch do it",
    )
    flux = changed(metadata={"labels": {"helm.toolkit.fluxcd.io/name": "shop"}})
    assert managed_by_gitops(given(flux), NOW) is not None
    assert managed_by_gitops(given(argo, allowGitOps=True), NOW) is None
    assert managed_by_gitops(given(), NOW) is None


def test_workload_paused_refuses_a_paused_deployment() -> None:
    assert workload_paused(given(changed(spec={"paused": True})), NOW) == (
        "WorkloadPaused",
        "a is paused; LeakWatch does not roll back a paused Deployment",
    )
    assert workload_paused(given(changed(spec={"paused": False})), NOW) is None


@pytest.mark.parametrize(
    "status",
    [{"observedGeneration": 2}, {"updatedReplicas": 1}, {"replicas": 3}],
    ids=["spec-not-observed", "not-all-updated", "old-pods-left"],
)
def test_rollout_in_progress_refuses_until_the_deployment_settles(status: dict[str, int]) -> None:
    assert rollout_in_progress(given(changed(status=status)), NOW) == (
        "RolloutInProgress",
        "a is mid-rollout; waiting for it to settle",
    )


def test_rollout_in_progress_lets_a_settled_deployment_through() -> None:
    assert rollout_in_progress(given(), NOW) is None


def test_cooldown_active_refuses_within_the_cooldown_only() -> None:
    assert cooldown_active(given(last=NOW - timedelta(minutes=30)), NOW) == (
        "CooldownActive",
        "a was acted on at 2026-11-25T11:30:00Z; the cooldown lasts until 2026-11-25T12:30:00Z",
    )
    assert cooldown_active(given(last=NOW - timedelta(hours=1)), NOW) is None  # the cooldown is over at its end
    assert cooldown_active(given(last=None), NOW) is None


def test_recommendation_too_new_waits_for_action_act_after() -> None:
    just_made = NOW - timedelta(minutes=5)
    assert recommendation_too_new(given(since=just_made), NOW) == (
        "RecommendationTooNew",
        "the rollback of a to version 3.0.10 is recommended since 2026-11-25T11:55:00Z; Auto mode acts on it "
        "if it still stands at 2026-11-25T12:10:00Z (action.actAfter 15m)",
    )
    assert recommendation_too_new(given(since=NOW - timedelta(minutes=15)), NOW) is None  # stood for actAfter
    assert recommendation_too_new(given(since=just_made, actAfter="1m"), NOW) is None
    assert recommendation_too_new(given(since=just_made, actAfter="1h"), NOW) is not None


def test_a_recommendation_too_new_is_reported_before_a_rollout_and_after_a_cooldown() -> None:
    # It says when LeakWatch will act; a rollout in progress then is looked at when that time comes.
    just_made = NOW - timedelta(minutes=5)
    mid_rollout = changed(status={"updatedReplicas": 1})
    too_new = first_refusal(GUARDS, given(mid_rollout, since=just_made), NOW)
    assert too_new is not None and too_new[0] == "RecommendationTooNew"
    cooling = first_refusal(GUARDS, given(last=NOW - timedelta(minutes=30), since=just_made), NOW)
    assert cooling is not None and cooling[0] == "CooldownActive"


def test_no_target_revision_refuses_without_a_replicaset_running_the_target() -> None:
    assert no_target_revision(given(replicasets=REPLICASETS[1:]), NOW) == (
        "NoTargetRevision",
        "no ReplicaSet of a runs version 3.0.10",
    )
    assert no_target_revision(given(), NOW) is None


def test_the_newest_revision_running_the_target_is_restored() -> None:
    rerun = {
        "metadata": {"annotations": {"deployment.kubernetes.io/revision": "3"}},
        "spec": {"template": template("3.0.10", "h3")},
    }
    assert (
        plan_rollback(
            deployment=DEPLOYMENT,
            replicasets=[*REPLICASETS, rerun],
            spec=spec(),
            target_version="3.0.10",
            last_action=None,
            now=NOW,
            cooldown=timedelta(hours=1),
            recommended_since=RECOMMENDED,
        ).revision
        == "3"
    )


def test_a_gitops_workload_is_reported_as_such_while_paused_or_mid_rollout() -> None:
    # Three guards refuse at once: the lasting refusal comes first, so its owners do not wait in vain.
    both = changed(
        metadata={"annotations": {"argocd.argoproj.io/instance": "shop"}},
        spec={"paused": True},
        status={"updatedReplicas": 1},
    )
    assert workload_paused(given(both), NOW) is not None and rollout_in_progress(given(both), NOW) is not None
    assert plan(both).reason == "ManagedByGitOps"
    assert GUARDS[0] is managed_by_gitops


def test_a_paused_deployment_is_reported_paused_not_mid_rollout() -> None:
    # Paused mid-rollout, it stays unsettled until someone resumes it: say what they must do.
    paused_mid_rollout = changed(spec={"paused": True}, status={"updatedReplicas": 1})
    assert plan(paused_mid_rollout).reason == "WorkloadPaused"
    assert GUARDS.index(workload_paused) < GUARDS.index(rollout_in_progress)


def test_the_target_revision_is_looked_for_only_once_nothing_else_refuses() -> None:
    unsettled_without_target = given(changed(status={"updatedReplicas": 1}), replicasets=REPLICASETS[1:])
    assert first_refusal(GUARDS, unsettled_without_target, NOW) == (
        "RolloutInProgress",
        "a is mid-rollout; waiting for it to settle",
    )
    assert GUARDS[-1] is no_target_revision


def test_no_refusal_when_every_guard_allows() -> None:
    assert first_refusal(GUARDS, given(), NOW) is None


def test_right_after_its_own_rollback_the_cooldown_is_named_not_the_rollout() -> None:
    """LeakWatch's rollback is itself a rollout: until the cooldown ends, that is what stops the next."""
    unsettled = changed(status={"updatedReplicas": 1})
    assert plan(unsettled, last=NOW - timedelta(minutes=1)).reason == "CooldownActive"
    assert plan(unsettled, last=NOW - timedelta(hours=2)).reason == "RolloutInProgress"
