"""The API models: defaults, and validation errors a person understands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.common import LabelSelector, parse_duration
from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.api.patterns import UserRegexError, compile_user_regex, extract

MINIMAL = {"selector": {"matchLabels": {"app": "checkout-api"}}}


def spec(**overrides: object) -> dict[str, object]:
    return {**MINIMAL, **overrides}


def test_minimal_spec_gets_documented_defaults() -> None:
    parsed = LeakWatchSpec.model_validate(MINIMAL)
    assert parsed.version.source == "ImageTag"
    assert parsed.memory.source == "Prometheus"
    assert parsed.memory.signal == "WorkingSet"
    assert parsed.memory.window == "24h"
    assert parsed.memory.jvm.nmt_category == "Other"
    assert parsed.oom.threshold == 2
    assert parsed.action.mode == "Recommend"
    assert parsed.containers == []


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"selector": {}}, "selector must name at least one label"),
        ({"selector": {"matchLabels": {"app": "bad value!"}}}, "label values must be at most 63 characters"),
        ({"selector": {"matchLabels": {"-bad": "x"}}}, "label keys must be valid Kubernetes label names"),
        (
            {"selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}},
            "In and NotIn need at least one value",
        ),
        ({"memory": {"window": "-1h"}}, "must be a positive duration"),
        ({"memory": {"window": "0h"}}, "must be a positive duration"),
        ({"memory": {"window": "5m", "step": "1m"}}, "must span at least 10 steps"),
        ({"memory": {"window": "30d", "step": "30s"}}, "at most 50,000 steps"),
        ({"memory": {"source": "Graphite"}}, "Input should be 'Prometheus'"),
        ({"memory": {"source": "MetricsAPI"}}, "Input should be 'Prometheus'"),  # it would hold no history
        ({"memory": {"signal": "Custom"}}, "memory.query is required"),
        ({"version": {"regex": "("}}, "not a valid RE2 regular expression"),
        ({"version": {"regex": "(a)(b)"}}, "use at most one"),
        ({"version": {"source": "Label"}}, "version.key is required"),
        ({"action": {"mode": "Auto"}}, "needs action.cooldown"),
        ({"oom": {"threshold": 0}}, "greater than or equal to 1"),
        ({"unknownField": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_specs_are_refused_with_a_clear_message(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as err:
        LeakWatchSpec.model_validate(spec(**overrides))
    assert message in str(err.value)


def test_auto_with_cooldown_is_accepted() -> None:
    parsed = LeakWatchSpec.model_validate(spec(action={"mode": "Auto", "cooldown": "1h"}))
    assert parsed.action.cooldown == "1h"


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("6h", 21600), ("7d", 604800)])
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "-1h", "0m", "1.5h", "1h30m", "10y", "h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="positive duration"):
        parse_duration(text)


def test_selector_matches_and_renders_as_a_query() -> None:
    selector = LabelSelector.model_validate(
        {
            "matchLabels": {"app": "checkout-api"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["web", "api"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches({"app": "checkout-api", "tier": "api"})
    assert not selector.matches({"app": "checkout-api", "tier": "db"})
    assert not selector.matches({"app": "checkout-api", "tier": "api", "canary": "yes"})
    assert not selector.matches({"tier": "api"})
    assert selector.to_query() == "app=checkout-api,tier in (web,api),!canary"


def test_version_regex_takes_the_capture_group_and_is_bounded() -> None:
    assert extract(r":(\d+\.\d+\.\d+)$", "registry/checkout-api:3.1.2") == "3.1.2"
    assert extract(r"v\d+", "app-v12-x") == "v12"
    assert extract(r"^(\d+)$", "latest") is None
    with pytest.raises(UserRegexError, match="at most 256"):
        compile_user_regex("a" * 257)
    # A pattern that backtracks catastrophically in Python's re runs in linear time on RE2.
    assert extract(r"^(a+)+$", "a" * 1000 + "!") is None


JOOBY = {
    "summary": "Netty direct buffers leak on every POST",
    "aliases": ["jooby#3453"],
    "affected": [
        {
            "package": {"ecosystem": "Maven", "name": "io.jooby:jooby-netty"},
            "ranges": [
                {"type": "ECOSYSTEM", "events": [{"introduced": "3.1.2"}, {"fixed": "3.1.4"}]},
                {"type": "ECOSYSTEM", "events": [{"introduced": "3.2.0"}, {"fixed": "3.2.2"}]},
            ],
        }
    ],
    "knownGood": ["3.0.10"],
}


def test_advisory_in_osv_shape() -> None:
    advisory = LeakAdvisorySpec.model_validate(JOOBY)
    assert advisory.affected[0].ranges[0].events[1].fixed == "3.1.4"
    assert advisory.known_good == ["3.0.10"]
    with pytest.raises(ValidationError):
        LeakAdvisorySpec.model_validate({**JOOBY, "affected": []})
