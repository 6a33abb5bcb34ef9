"""What an analysis or an Auto action changes, alone: (state, outcome, now) in, the next fields and
the Events to announce out; no lock, no sinks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leakwatch.api.leakwatch import AutoAction
from leakwatch.core.assess import LeakSummary
from leakwatch.core.conditions import DEGRADED, LEAK_SUSPECTED, ROLLBACK_RECOMMENDED, ConditionUpdate
from leakwatch.core.decide import DecisionInput, VersionFacts, decide
from leakwatch.core.oom import Ledger
from leakwatch.core.state import LeakWatchState
from leakwatch.core.transitions import AnalysisOutcome, after_action, after_analysis, after_failed_analysis

T0 = datetime(2026, 12, 6, 12, tzinfo=UTC)
MiB = 2**20


def facts(version: str, verdict: str, *, running: bool, days_before: float, days_long: float) -> VersionFacts:
    first = T0 - timedelta(days=days_before)
    growth = 52 * MiB / 3600 if verdict == "Leaking" else 0.0
    return VersionFacts(
        version, verdict, 0.95, growth, 3 * 3600, 0, 10, first, first + timedelta(days=days_long), running
    )


OLD = facts("3.0.10", "Stable", running=False, days_before=6, days_long=6)
NEW = facts("3.1.2", "Leaking", running=True, days_before=0, days_long=0.2)
ROLLBACK = decide(DecisionInput("checkout-api", [OLD, NEW]))
NOTHING = decide(DecisionInput("checkout-api", [facts("3.1.2", "Stable", running=True, days_before=1, days_long=1)]))
LEAK = ConditionUpdate(LEAK_SUSPECTED, "True", "LeakDetected", "version 3.1.2 grows")


def state(**changes: object) -> LeakWatchState:
    base = LeakWatchState("shop", "checkout-api", "lw-uid", 3, None, Ledger(), ())
    return LeakWatchState(**{**base.__dict__, **changes})


def outcome(decision: object = ROLLBACK) -> AnalysisOutcome:
    return AnalysisOutcome({}, LeakSummary("Leaking", "3.1.2"), LEAK, decision, "checkout-api")  # type: ignore[arg-type]


def test_a_new_recommendation_is_announced_once_and_keeps_its_since_while_it_stands() -> None:
    first = after_analysis(state(), outcome(), T0)
    assert ROLLBACK.action == "Rollback" and first.recommendation.to_version == "3.0.10"
    assert first.recommendation.since == "2026-12-06T12:00:00Z"
    assert [(n.reason, n.workload) for n in first.notices] == [("RollbackRecommended", "checkout-api")]
    assert first.notices[0].message == first.recommendation.summary
    later = T0 + timedelta(hours=2)
    again = after_analysis(
        state(recommendation=first.recommendation, conditions=tuple(first.conditions)), outcome(), later
    )
    assert again.notices == ()  # the same recommendation is not news
    assert again.recommendation.since == "2026-12-06T12:00:00Z"
    rollback_recommended = {c["type"]: c for c in again.conditions}[ROLLBACK_RECOMMENDED]
    assert rollback_recommended["status"] == "True"
    assert rollback_recommended["lastTransitionTime"] == "2026-12-06T12:00:00Z"  # unchanged status keeps it
    assert rollback_recommended["observedGeneration"] == 3


def test_nothing_to_do_is_recorded_but_not_announced_and_the_condition_turns_false() -> None:
    first = after_analysis(state(), outcome(), T0)
    calm = after_analysis(state(recommendation=first.recommendation, conditions=tuple(first.conditions)),
                          outcome(NOTHING), T0 + timedelta(hours=1))  # fmt: skip
    assert NOTHING.action == "None" and calm.notices == ()
    assert calm.recommendation.action == "None" and calm.recommendation.since == "2026-12-06T13:00:00Z"
    conditions = {c["type"]: c["status"] for c in calm.conditions}
    assert conditions[ROLLBACK_RECOMMENDED] == "False" and conditions[DEGRADED] == "False"


def test_a_failed_analysis_says_why_in_degraded_and_touches_nothing_else() -> None:
    first = after_analysis(state(), outcome(), T0)
    conditions = after_failed_analysis(
        state(conditions=tuple(first.conditions)), "PrometheusUnavailable", "connection refused", T0
    )
    by_type = {c["type"]: c for c in conditions}
    assert (by_type[DEGRADED]["status"], by_type[DEGRADED]["reason"]) == ("True", "PrometheusUnavailable")
    assert by_type[ROLLBACK_RECOMMENDED] == {c["type"]: c for c in first.conditions}[ROLLBACK_RECOMMENDED]
    assert by_type[LEAK_SUSPECTED]["status"] == "True"


def test_an_auto_action_is_announced_once_per_distinct_outcome() -> None:
    acted = AutoAction(reason="AutoRollback", message="rolled back", workload="checkout-api", from_version="3.1.2",
                       to_version="3.0.10", revision="1", time="t1", acted_at="t1")  # fmt: skip
    (notice,) = after_action(None, acted)
    assert (notice.reason, notice.warning) == ("AutoRollback", False)
    assert after_action(acted, acted.model_copy(update={"time": "t2"})) == ()  # only the time moved
    cooling = acted.model_copy(update={"reason": "CooldownActive", "message": "cooldown", "time": "t3"})
    (refusal,) = after_action(acted, cooling)
    assert (refusal.reason, refusal.warning) == ("AutoRollbackCooldownActive", True)
    assert after_action(cooling, cooling.model_copy(update={"time": "t4"})) == ()  # refused again: not news
