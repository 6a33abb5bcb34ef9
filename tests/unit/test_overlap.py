"""Which of several LeakWatches sharing pods counts their OOMKills in metrics and may act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leakwatch.core.overlap import Claim, Overlap, auto_actor, exports_kills_of, overlap_condition, overlaps

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def claim(name: str, pods: str, *, age_hours: float = 0, auto: bool = False, workload: str = "checkout-api") -> Claim:
    return Claim(name, T0 - timedelta(hours=age_hours), frozenset(pods), frozenset([workload]), auto)


def test_leakwatches_without_shared_pods_do_not_overlap() -> None:
    found = overlaps([claim("a", "12"), claim("b", "34")])
    assert found == {"a": Overlap(), "b": Overlap()}


def test_shared_pods_name_each_other_and_the_oldest_comes_first() -> None:
    found = overlaps([claim("young", "123", age_hours=1), claim("old", "34", age_hours=5), claim("alone", "9")])
    assert found["young"] == Overlap(("old",), 1, "old")
    assert found["old"] == Overlap(("young",), 1, "old")
    assert found["alone"] == Overlap()


def test_equal_ages_are_ordered_by_name_and_unknown_creation_last() -> None:
    found = overlaps([claim("b", "1"), claim("a", "1"), Claim("0-new", None, frozenset("1"), frozenset())])
    assert {name: o.first for name, o in found.items()} == {"a": "a", "b": "a", "0-new": "a"}
    assert found["a"].shared_with == ("b", "0-new")


def test_one_auto_actor_per_workload_whatever_the_order() -> None:
    claims = [
        claim("recommend-only", "1", age_hours=9),
        claim("auto-young", "1", age_hours=1, auto=True),
        claim("auto-old", "1", age_hours=3, auto=True),
        claim("other-app", "7", age_hours=20, auto=True, workload="cart"),
    ]
    assert auto_actor(claims, "checkout-api") == "auto-old"
    assert auto_actor(reversed(claims), "checkout-api") == "auto-old"
    assert auto_actor(claims, "cart") == "other-app"
    assert auto_actor(claims, "nobody") is None


def test_the_oldest_selector_of_a_pod_exports_its_oomkills() -> None:
    old, young = (T0 - timedelta(hours=5), "young-but-a"), (T0, "a-young")
    assert exports_kills_of("young-but-a", [young, old])
    assert not exports_kills_of("a-young", [young, old])
    # Equal ages go by name, an unknown creation time comes last, and nobody selecting means nobody.
    assert exports_kills_of("a", [(T0, "b"), (T0, "a"), (None, "0")])
    assert not exports_kills_of("a", [])


def test_the_condition_says_who_counts() -> None:
    found = overlaps([claim("young", "12", age_hours=1), claim("old", "2", age_hours=5)])
    young, old = overlap_condition("young", found["young"]), overlap_condition("old", found["old"])
    assert (young.status, young.reason) == ("True", "SharedPods")
    assert "also selected by LeakWatch old" in young.message and "under old (the oldest" in young.message
    assert "under this one" in old.message
    none = overlap_condition("alone", Overlap())
    assert (none.status, none.reason) == ("False", "NoSharedPods")
