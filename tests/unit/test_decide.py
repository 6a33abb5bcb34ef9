"""The recommendation, decided purely from gathered facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.core.decide import DecisionInput, VersionFacts, decide

MiB = 2**20
T0 = datetime(2025, 7, 1, 10, tzinfo=UTC)
JOOBY = LeakAdvisorySpec.model_validate(
    {
        "summary": "Netty direct buffers leak on every POST",
        "aliases": ["jooby#3453"],
        "affected": [
            {
                "package": {"name": "io.jooby:jooby-netty"},
                "ranges": [
                    {"events": [{"introduced": "3.1.2"}, {"fixed": "3.1.4"}]},
                    {"events": [{"introduced": "3.2.0"}, {"fixed": "3.2.2"}]},
                ],
            }
        ],
        "knownGood": ["3.0.10"],
    }
)


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
