from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leakwatch.core.conditions import ConditionUpdate, merge_conditions

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_transition_time_changes_only_when_status_changes() -> None:
    first = merge_conditions([], [ConditionUpdate("Ready", "True", "Watching", "a")], generation=1, now=T0)
    assert first == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Watching",
            "message": "a",
            "observedGeneration": 1,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
    ]
    later = T0 + timedelta(hours=1)
    same = merge_conditions(first, [ConditionUpdate("Ready", "True", "Watching", "b")], generation=2, now=later)
    assert same[0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
    assert same[0]["message"] == "b" and same[0]["observedGeneration"] == 2
    flipped = merge_conditions(same, [ConditionUpdate("Ready", "False", "InvalidSpec", "c")], generation=3, now=later)
    assert flipped[0]["lastTransitionTime"] == "2026-01-01T01:00:00Z"


def test_other_conditions_are_kept_in_order() -> None:
    existing = [
        {"type": "Ready", "status": "True", "reason": "Watching", "lastTransitionTime": "x"},
        {"type": "Degraded", "status": "False", "reason": "AsExpected", "lastTransitionTime": "y"},
    ]
    merged = merge_conditions(
        existing, [ConditionUpdate("Degraded", "True", "PrometheusDown", "m")], generation=1, now=T0
    )
    assert [c["type"] for c in merged] == ["Ready", "Degraded"]
    assert merged[0] == existing[0]
    assert merged[1]["status"] == "True"
