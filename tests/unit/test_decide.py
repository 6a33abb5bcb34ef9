"""The recommendation, decided purely from gathered facts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from helpers import JOOBY_ADVISORY
from leakwatch.core.components import read_purls
from leakwatch.core.decide import (
    RULES,
    DecisionInput,
    VersionFacts,
    decide,
    first_decision,
    fixed_version_available,
    no_safe_target,
    nothing_to_do,
    recommendation_status,
    stable_version_available,
    unknown_version,
)

MiB = 2**20
T0 = datetime(2025, 7, 1, 10, tzinfo=UTC)
JOOBY = JOOBY_ADVISORY


def facts(
    version: str,
    verdict: str,
    *,
    days_before: float,
    days_long: float,
    running: bool = False,
    ooms: int = 0,
    growth_mib_h: float | None = None,
    tto_h: float | None = None,
) -> VersionFacts:
    first = T0 - timedelta(days=days_before)
    return VersionFacts(
        version,
        verdict,
        0.95,
        None if growth_mib_h is None else growth_mib_h * MiB / 3600,
        None if tto_h is None else tto_h * 3600,
        ooms,
        days_long * 24 * 3,
        first,
        first + timedelta(days=days_long),
        running,
    )


OLD = facts("3.0.10", "Stable", days_before=6, days_long=6)
NEW = facts("3.1.2", "Leaking", days_before=0, days_long=0.2, running=True, ooms=7, growth_mib_h=52, tto_h=3)


def test_the_jooby_story_recommends_the_fix_and_offers_the_rollback() -> None:
    decision = decide(DecisionInput("checkout-api", [OLD, NEW], "io.jooby:jooby-netty", [("jooby-3453", JOOBY)]))
    assert decision.action == "Upgrade"
    assert (decision.from_version, decision.to_version, decision.rollback_to) == ("3.1.2", "3.1.4", "3.0.10")
    assert decision.summary == (
        "checkout-api: 3.1.2 leaks 52.0 MiB/h (OOM in ~3.0 hours, 7 OOMKills since rollout on 2025-07-01 10:00); "
        "3.0.10 was flat for 6.0 days; upgrade to 3.1.4 (fixes jooby#3453; 3.2.2 on the newest line) "
        "or roll back to 3.0.10."
    )


def test_on_the_32_line_the_fix_is_322() -> None:
    new = facts("3.2.1", "Leaking", days_before=0, days_long=0.2, running=True, growth_mib_h=52)
    decision = decide(DecisionInput("checkout-api", [OLD, new], "io.jooby:jooby-netty", [("jooby-3453", JOOBY)]))
    assert decision.to_version == "3.2.2"


def test_without_the_advisory_roll_back_to_the_last_stable_version() -> None:
    decision = decide(DecisionInput("checkout-api", [OLD, NEW]))
    assert decision.action == "Rollback"
    assert decision.to_version == "3.0.10"
    assert decision.summary.endswith("3.0.10 was flat for 6.0 days; roll back to 3.0.10.")


def test_never_roll_back_to_a_version_that_leaked_or_is_covered() -> None:
    oldest = facts("3.0.10", "Stable", days_before=10, days_long=6)  # the most recent safe one
    leaky_old = facts("3.1.3", "Leaking", days_before=3, days_long=2)
    covered_old = facts("3.2.0", "Stable", days_before=2, days_long=1.5)
    decision = decide(
        DecisionInput("w", [oldest, leaky_old, covered_old, NEW], "io.jooby:jooby-netty", [("jooby-3453", JOOBY)])
    )
    assert decision.rollback_to == "3.0.10"
    assert any("3.1.3 is no target: it leaked" in e for e in decision.evidence)
    assert any("3.2.0 is no target: it is covered" in e for e in decision.evidence)


@pytest.mark.parametrize(
    "versions",
    [
        pytest.param([NEW], id="single-version"),
        pytest.param([facts("3.0.10", "Stable", days_before=1, days_long=0.01), NEW], id="stable-too-briefly"),
        pytest.param([facts("unknown", "Leaking", days_before=0, days_long=1, running=True)], id="unknown-version"),
    ],
)
def test_no_safe_target_means_investigate(versions: list[VersionFacts]) -> None:
    decision = decide(DecisionInput("w", versions))
    assert decision.action == "Investigate"
    assert decision.to_version is None


def test_nothing_to_do_when_the_running_version_is_stable() -> None:
    assert (
        decide(DecisionInput("w", [OLD, facts("3.1.2", "Stable", days_before=0, days_long=1, running=True)])).action
        == "None"
    )


# --- Each rule alone, then the order of RULES where two rules would both decide. ---

JOOBY_ADVISORIES = [("jooby-3453", JOOBY)]
LEAKY_FIX = facts("3.1.4", "Leaking", days_before=1, days_long=0.9)  # the advisory's fix, seen leaking here
KNOWN_GOOD_ONLY = facts("3.0.10", "InsufficientData", days_before=6, days_long=5)  # never judged, listed known good
UNKNOWN_LEAK = facts("unknown", "Leaking", days_before=0, days_long=1, running=True)
NO_ADVISORY = DecisionInput("checkout-api", [OLD, NEW])
JOOBY_STORY = DecisionInput("checkout-api", [OLD, NEW], "io.jooby:jooby-netty", JOOBY_ADVISORIES)
NEW_LEAK_WORDS = "3.1.2 leaks 52.0 MiB/h (OOM in ~3.0 hours, 7 OOMKills since rollout on 2025-07-01 10:00)"


def test_unknown_version_applies_to_a_leaking_unknown_version_only() -> None:
    decision = unknown_version(DecisionInput("w", [UNKNOWN_LEAK]))
    assert decision is not None
    assert (decision.action, decision.reason, decision.from_version) == ("Investigate", "UnknownVersion", "unknown")
    assert decision.summary == (
        "w: pods of an unknown version leak; set spec.version so LeakWatch can tell versions apart"
    )
    assert decision.evidence == ["unknown: 72.0 pod-hours observed, 0 OOMKills"]
    assert unknown_version(NO_ADVISORY) is None


def test_fixed_version_available_needs_an_advisory_with_a_fix_that_is_safe() -> None:
    decision = fixed_version_available(JOOBY_STORY)
    assert decision is not None
    assert (decision.action, decision.reason, decision.to_version) == ("Upgrade", "FixedVersionAvailable", "3.1.4")
    assert "3.1.2 is covered by jooby#3453: Netty direct buffers leak on every POST" in decision.evidence
    assert fixed_version_available(NO_ADVISORY) is None
    assert fixed_version_available(DecisionInput("checkout-api", [OLD, NEW], None, JOOBY_ADVISORIES)) is None
    leaky_fix = DecisionInput("checkout-api", [OLD, LEAKY_FIX, NEW], "io.jooby:jooby-netty", JOOBY_ADVISORIES)
    assert fixed_version_available(leaky_fix) is None


def test_stable_version_available_rolls_back_to_the_last_version_stable_long_enough() -> None:
    decision = stable_version_available(NO_ADVISORY)
    assert decision is not None
    assert (decision.action, decision.reason) == ("Rollback", "StableVersionAvailable")
    assert (decision.from_version, decision.to_version, decision.rollback_to) == ("3.1.2", "3.0.10", "3.0.10")
    assert decision.confidence == pytest.approx(0.95 * 0.95)
    assert decision.summary == f"checkout-api: {NEW_LEAK_WORDS}; 3.0.10 was flat for 6.0 days; roll back to 3.0.10."
    assert decision.evidence == [
        "3.1.2: 14.4 pod-hours observed, 7 OOMKills",
        "3.1.2: grows 52.0 MiB/h",
        "3.0.10 was flat for 6.0 days (432.0 pod-hours, 0 OOMKills)",
    ]
    briefly = facts("3.0.10", "Stable", days_before=1, days_long=0.01)
    assert stable_version_available(DecisionInput("w", [briefly, NEW])) is None


def test_stable_version_available_trusts_a_known_good_version_a_little_less() -> None:
    given = DecisionInput("checkout-api", [KNOWN_GOOD_ONLY, LEAKY_FIX, NEW], "io.jooby:jooby-netty", JOOBY_ADVISORIES)
    decision = stable_version_available(given)
    assert decision is not None and decision.to_version == "3.0.10"
    assert decision.confidence == pytest.approx(0.95 * 0.9)
    assert decision.summary == f"checkout-api: {NEW_LEAK_WORDS}; 3.0.10 is known good; roll back to 3.0.10."
    assert decision.evidence[2:] == [
        "3.1.2 is covered by jooby#3453: Netty direct buffers leak on every POST",
        "3.1.4 is no target: it leaked",
        "3.0.10 is known good (360.0 pod-hours, 0 OOMKills)",
    ]


def test_no_safe_target_applies_to_any_leak() -> None:
    decision = no_safe_target(DecisionInput("w", [NEW]))
    assert decision is not None
    assert (decision.action, decision.reason, decision.from_version, decision.to_version) == (
        "Investigate",
        "NoSafeTarget",
        "3.1.2",
        None,
    )
    assert decision.summary == (
        f"w: {NEW_LEAK_WORDS}; no earlier version was stable long enough and no fix is known; investigate."
    )
    assert no_safe_target(DecisionInput("w", [OLD])) is None  # not running
    assert (
        no_safe_target(DecisionInput("w", [facts("3.1.2", "Stable", days_before=0, days_long=1, running=True)])) is None
    )


def test_nothing_to_do_always_decides() -> None:
    nothing = nothing_to_do(DecisionInput("w", [OLD]))
    assert (nothing.action, nothing.reason, nothing.summary) == ("None", "NothingRunning", "w: no pods running")
    stable = facts("3.1.2", "Stable", days_before=0, days_long=1, running=True)
    no_leak = nothing_to_do(DecisionInput("w", [OLD, stable]))
    assert (no_leak.action, no_leak.reason, no_leak.from_version) == ("None", "NoLeak", "3.1.2")
    assert no_leak.summary == "w: 3.1.2 shows no leak" and no_leak.evidence == []


def test_the_newest_running_version_is_the_one_judged() -> None:
    older_running_leak = facts("3.1.2", "Leaking", days_before=1, days_long=1, running=True)
    newest_stable = facts("3.1.4", "Stable", days_before=0, days_long=0.5, running=True)
    assert decide(DecisionInput("w", [OLD, older_running_leak, newest_stable])).reason == "NoLeak"


def test_an_upgrade_leads_over_a_rollback() -> None:
    # Both rules apply to the jooby story; the fix comes first in RULES and the rollback is offered.
    assert stable_version_available(JOOBY_STORY) is not None
    decision = decide(JOOBY_STORY)
    assert decision.reason == "FixedVersionAvailable" and decision.rollback_to == "3.0.10"
    assert RULES.index(fixed_version_available) < RULES.index(stable_version_available)


def test_an_unknown_version_is_never_rolled_back() -> None:
    # An earlier stable version would pass for a rollback target of pods whose version is unknown.
    given = DecisionInput("w", [OLD, UNKNOWN_LEAK])
    assert stable_version_available(given) is not None
    assert decide(given).reason == "UnknownVersion"
    assert RULES.index(unknown_version) < RULES.index(stable_version_available)


def test_a_leak_with_a_target_is_not_left_to_investigation() -> None:
    # no_safe_target applies to every leak, so it must come after the rules that find a target.
    assert no_safe_target(NO_ADVISORY) is not None
    assert decide(NO_ADVISORY).reason == "StableVersionAvailable"
    assert RULES.index(no_safe_target) > max(
        RULES.index(r) for r in (fixed_version_available, stable_version_available)
    )


def test_nothing_to_do_comes_last_because_it_applies_to_everything() -> None:
    assert nothing_to_do(DecisionInput("w", [NEW])).action == "None"  # wrong for a leak: only a fallback
    assert RULES[-1] is nothing_to_do
    assert decide(DecisionInput("w", [NEW])).action == "Investigate"


def test_a_chain_without_a_fallback_is_an_error_not_a_silent_none() -> None:
    with pytest.raises(ValueError, match="no rule decided"):
        first_decision((unknown_version,), NO_ADVISORY)
    assert first_decision(RULES, NO_ADVISORY) == decide(NO_ADVISORY)


# --- App versions whose components are known (from an SBOM): the advisory matched through a
# component, the upgrade target among app versions that ran, and the diff from the flat one.

ADVISORIES = [("jooby-3453", JOOBY_ADVISORY)]


def with_components(version: VersionFacts, app: str, *purls: str) -> VersionFacts:
    return replace(version, version=app, components=read_purls(purls).components)


FLAT = with_components(
    OLD,
    "2025.06.1",
    "pkg:maven/io.jooby/jooby-netty@3.0.10",
    "pkg:maven/io.netty/netty-codec-http@4.1.111.Final",
    "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.17.1",
)
LEAKING = with_components(
    NEW,
    "2025.07.3",
    "pkg:maven/io.jooby/jooby-netty@3.1.2",
    "pkg:maven/io.netty/netty-codec-http@4.1.115.Final",
    "pkg:maven/com.fasterxml.jackson.core/jackson-core@2.17.1",
)


def test_an_advisory_matches_the_app_version_through_a_component_without_spec_framework() -> None:
    decision = decide(DecisionInput("checkout-api", [FLAT, LEAKING], None, ADVISORIES))
    # No app version with a fixed jooby-netty has run: the fix needs a new build, so the rollback leads.
    assert (decision.action, decision.from_version, decision.to_version) == ("Rollback", "2025.07.3", "2025.06.1")
    assert [hit.alias for hit in decision.covered_by] == ["jooby#3453"]
    assert decision.summary == (
        "checkout-api: 2025.07.3 (io.jooby:jooby-netty 3.1.2) leaks 52.0 MiB/h (OOM in ~3.0 hours, 7 OOMKills "
        "since rollout on 2025-07-01 10:00); 2025.06.1 was flat for 6.0 days; roll back to 2025.06.1, then upgrade "
        "io.jooby:jooby-netty to 3.1.4 (fixes jooby#3453); changed since 2025.06.1: "
        "io.jooby:jooby-netty 3.0.10 → 3.1.2 (jooby#3453), io.netty:netty-codec-http 4.1.111.Final → 4.1.115.Final."
    )
    assert "changed since 2025.06.1: io.jooby:jooby-netty 3.0.10 → 3.1.2 (jooby#3453)" in decision.evidence
    status = recommendation_status(decision, "checkout-api", "2025-07-01T10:00:00Z")
    assert (status.component, status.changed_from) == ("io.jooby:jooby-netty 3.1.2", "2025.06.1")
    assert [c.model_dump(by_alias=True, exclude_defaults=True) for c in status.component_changes] == [
        {
            "package": "io.jooby:jooby-netty",
            "fromVersion": "3.0.10",
            "toVersion": "3.1.2",
            "advisories": ["jooby#3453"],
        },
        {"package": "io.netty:netty-codec-http", "fromVersion": "4.1.111.Final", "toVersion": "4.1.115.Final"},
    ]
    assert not any("jackson" in line for line in decision.evidence)  # unchanged components are not news


def test_an_app_version_that_ran_with_a_fixed_component_is_the_upgrade_target() -> None:
    canary = with_components(
        facts("x", "InsufficientData", days_before=1, days_long=0.1),
        "2025.07.4",
        "pkg:maven/io.jooby/jooby-netty@3.1.4",
    )
    decision = decide(DecisionInput("checkout-api", [FLAT, canary, LEAKING], None, ADVISORIES))
    assert (decision.action, decision.to_version, decision.rollback_to) == ("Upgrade", "2025.07.4", "2025.06.1")
    assert "upgrade to 2025.07.4, which runs io.jooby:jooby-netty 3.1.4 or later (fixes jooby#3453)" in decision.summary


def test_an_earlier_app_version_with_a_covered_component_is_no_rollback_target() -> None:
    covered_old = with_components(FLAT, "2025.06.9", "pkg:maven/io.jooby/jooby-netty@3.1.3")
    decision = decide(DecisionInput("checkout-api", [covered_old, LEAKING], None, ADVISORIES))
    assert decision.rollback_to is None
    assert [(p.version, p.why) for p in decision.passed_over] == [("2025.06.9", "covered")]
    # Nothing to roll back to: the component upgrade leads, naming no app version to deploy.
    assert (decision.action, decision.to_version) == ("Upgrade", None)
    assert "upgrade io.jooby:jooby-netty to 3.1.4 (fixes jooby#3453)" in decision.summary


def test_spec_framework_names_the_component_when_no_advisory_covers_it() -> None:
    decision = decide(DecisionInput("checkout-api", [FLAT, LEAKING], "io.netty:netty-codec-http", []))
    assert decision.action == "Rollback"
    assert decision.summary.startswith("checkout-api: 2025.07.3 (io.netty:netty-codec-http 4.1.115.Final) leaks")
    # Without an advisory the changes are listed by package.
    assert [str(c) for c in decision.changes] == [
        "io.jooby:jooby-netty 3.0.10 → 3.1.2",
        "io.netty:netty-codec-http 4.1.111.Final → 4.1.115.Final",
    ]


def test_versions_without_components_decide_as_before() -> None:
    with_sets = decide(DecisionInput("checkout-api", [OLD, NEW], "io.jooby:jooby-netty", ADVISORIES))
    assert with_sets.component is None and with_sets.changes == () and with_sets.changed_from is None
    assert with_sets.to_version == "3.1.4"


def test_the_summary_names_two_changes_and_counts_the_rest() -> None:
    many = with_components(
        LEAKING,
        "2025.07.3",
        *[f"pkg:maven/org.example/lib{i}@1.0" for i in range(20)],
        "pkg:maven/io.jooby/jooby-netty@3.1.2",
    )
    decision = decide(DecisionInput("checkout-api", [FLAT, many], None, ADVISORIES))
    assert decision.summary.endswith("and 21 more.")  # 20 added, jooby-netty changed, 2 removed: 23
    assert decision.changes[0].package == "io.jooby:jooby-netty"  # the advisory-covered change first
    assert decision.evidence[-1] == "and 15 more changed components"
