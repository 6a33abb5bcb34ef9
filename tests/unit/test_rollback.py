"""The Auto-rollback plan, pure: every guard, and the template it restores."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.rollback import plan_rollback

NOW = datetime(2026, 11, 25, 12, tzinfo=UTC)


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
    )
    assert result.reason == "NoTargetRevision"
