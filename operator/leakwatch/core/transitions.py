"""What an analysis or an Auto action changes in a LeakWatch, and what to announce: pure.

(state, outcome, now) -> the next values of the fields they own, and the Events to post once the
status that explains them is written. The accountant applies them under its lock; everything
here can be tested without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leakwatch.api.leakwatch import AutoAction, Recommendation
from leakwatch.api.terms import ConditionStatus
from leakwatch.core.analysis import VersionVerdict
from leakwatch.core.assess import LeakSummary
from leakwatch.core.conditions import DEGRADED, ROLLBACK_RECOMMENDED, ConditionUpdate, merge_conditions, rfc3339
from leakwatch.core.decide import Decision, recommendation_status
from leakwatch.core.state import LeakWatchState

# The fields of status.lastAction that make an Auto action news (an Event); the time alone does not.
ACTION_FIELDS = ("reason", "from_version", "to_version", "revision", "acted_at")


@dataclass(frozen=True)
class AnalysisOutcome:
    verdicts: Mapping[str, VersionVerdict]
    summary: LeakSummary
    leak: ConditionUpdate  # LeakSuspected
    decision: Decision
    workload: str


@dataclass(frozen=True)
class Notice:
    """An Event about the LeakWatch, also posted on `workload`'s Deployment when there is one."""

    key: str  # the same key is posted once
    reason: str
    message: str
    workload: str
    warning: bool = True


@dataclass(frozen=True)
class AfterAnalysis:
    verdicts: Mapping[str, VersionVerdict]
    summary: LeakSummary
    recommendation: Recommendation
    conditions: list[dict[str, Any]]
    notices: tuple[Notice, ...]


def after_analysis(state: LeakWatchState, outcome: AnalysisOutcome, now: datetime) -> AfterAnalysis:
    """The recommendation keeps its `since` while what it says stays the same; a new one that asks
    for something is announced."""
    decision, previous = outcome.decision, state.recommendation
    same = previous is not None and (previous.action, previous.from_version, previous.to_version) == (
        decision.action,
        decision.from_version,
        decision.to_version,
    )
    since = previous.since if same and previous is not None and previous.since else rfc3339(now)
    recommendation = recommendation_status(decision, outcome.workload, since)
    # True when it names a version to deploy, whatever the action is called.
    recommended: ConditionStatus = "True" if decision.to_version is not None else "False"
    conditions = merge_conditions(
        state.conditions,
        [
            outcome.leak,
            ConditionUpdate(DEGRADED, "False", "AsExpected", "memory analysis succeeded"),
            ConditionUpdate(ROLLBACK_RECOMMENDED, recommended, decision.reason, decision.summary),
        ],
        generation=state.generation,
        now=now,
    )
    notices: tuple[Notice, ...] = ()
    if not same and decision.action != "None":
        notices = (
            Notice(
                key=f"recommendation/{decision.action}/{decision.from_version}/{decision.to_version}",
                reason=f"{decision.action}Recommended",
                message=recommendation.summary,
                workload=outcome.workload,
            ),
        )
    return AfterAnalysis(outcome.verdicts, outcome.summary, recommendation, conditions, notices)


def after_failed_analysis(state: LeakWatchState, reason: str, message: str, now: datetime) -> list[dict[str, Any]]:
    """Degraded says why; every verdict and the recommendation stay exactly as they were, so
    missing data never flips one."""
    return merge_conditions(
        state.conditions, [ConditionUpdate(DEGRADED, "True", reason, message)], generation=state.generation, now=now
    )


def after_action(previous: AutoAction | None, entry: AutoAction) -> tuple[Notice, ...]:
    """An Auto action is announced once per distinct outcome (a refusal repeated each cycle is not news)."""
    if previous is not None and all(getattr(previous, f) == getattr(entry, f) for f in ACTION_FIELDS):
        return ()
    reason = "AutoRollback" if entry.reason == "AutoRollback" else f"AutoRollback{entry.reason}"
    return (
        Notice(
            key="action/" + "/".join(str(getattr(entry, f)) for f in ACTION_FIELDS),
            reason=reason,
            message=entry.message,
            workload=entry.workload,
            warning=entry.reason not in ("AutoRollback", "DryRun"),
        ),
    )
