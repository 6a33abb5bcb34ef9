from __future__ import annotations

import pytest

from helpers import JOOBY_ADVISORY
from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.core.versions import matches, nearest_fix, parse

JOOBY = JOOBY_ADVISORY
ADVISORIES = [("jooby-3453", JOOBY)]


@pytest.mark.parametrize(
    ("version", "leaks"),
    [
        ("3.0.10", False),
        ("3.1.1", False),  # untested, not claimed
        ("3.1.2", True),
        ("3.1.3", True),
        ("3.1.4", False),
        ("3.1.10", False),  # string order would say 3.1.10 < 3.1.4
        ("3.2.0", True),
        ("3.2.1", True),
        ("3.2.2", False),
        ("3.3.0", False),
        ("not-a-version", False),
    ],
)
def test_jooby_ranges(version: str, leaks: bool) -> None:
    assert bool(matches(ADVISORIES, "io.jooby:jooby-netty", version)) is leaks


def test_other_packages_never_match() -> None:
    assert matches(ADVISORIES, "io.jooby:jooby-jetty", "3.1.2") == []


def test_match_names_the_fix_and_alias() -> None:
    [hit] = matches(ADVISORIES, "io.jooby:jooby-netty", "3.1.2")
    assert hit.alias == "jooby#3453" and hit.fixed == ["3.1.4"]


def test_nearest_fix_prefers_the_same_line() -> None:
    assert nearest_fix("Maven", "3.1.2", ["3.1.4", "3.2.2"]) == "3.1.4"
    assert nearest_fix("Maven", "3.2.1", ["3.1.4", "3.2.2"]) == "3.2.2"
    assert nearest_fix("Maven", "3.1.9", ["3.1.10", "3.2.2"]) == "3.1.10"
    assert nearest_fix("Maven", "3.3.0", ["3.1.4", "3.2.2"]) is None


def test_introduced_zero_means_all_earlier_versions() -> None:
    spec = LeakAdvisorySpec.model_validate(
        {
            "summary": "s",
            "affected": [{"package": {"name": "p"}, "ranges": [{"events": [{"introduced": "0"}, {"fixed": "2.0"}]}]}],
        }
    )
    assert matches([("a", spec)], "p", "1.5")
    assert not matches([("a", spec)], "p", "2.0")


def test_maven_order() -> None:
    assert parse("Maven", "3.2.2-SNAPSHOT") < parse("Maven", "3.2.2") < parse("Maven", "3.10.0")


def advisory(ecosystem: str, range_type: str, events: list[dict[str, str]]) -> LeakAdvisorySpec:
    return LeakAdvisorySpec.model_validate(
        {
            "summary": "s",
            "affected": [
                {"package": {"ecosystem": ecosystem, "name": "p"}, "ranges": [{"type": range_type, "events": events}]}
            ],
        }
    )


@pytest.mark.parametrize(
    ("ecosystem", "events", "version", "in_ecosystem_order", "in_semver_order"),
    [
        # Maven puts a service pack after its release; SemVer reads -sp1 as a pre-release, before it.
        ("Maven", [{"introduced": "0"}, {"fixed": "1.0.0"}], "1.0.0-sp1", False, True),
        ("Maven", [{"introduced": "1.0.0"}, {"fixed": "1.1.0"}], "1.0.0-sp1", True, False),
        # PEP 440 reads 1.0.0-1 as the post-release 1.0.0.post1; SemVer as a pre-release of 1.0.0.
        ("PyPI", [{"introduced": "0"}, {"fixed": "1.0.0"}], "1.0.0-1", False, True),
        ("PyPI", [{"introduced": "1.0.0"}, {"fixed": "1.1.0"}], "1.0.0-1", True, False),
        # Not a PEP 440 version at all, but a SemVer one: only a SEMVER range can hold it.
        ("PyPI", [{"introduced": "0"}, {"fixed": "1.0.0"}], "1.0.0-sp1", False, True),
    ],
)
def test_range_type_semver_orders_by_semver_whatever_the_ecosystem(
    ecosystem: str, events: list[dict[str, str]], version: str, in_ecosystem_order: bool, in_semver_order: bool
) -> None:
    by_ecosystem = advisory(ecosystem, "ECOSYSTEM", events)
    by_semver = advisory(ecosystem, "SEMVER", events)
    assert bool(matches([("a", by_ecosystem)], "p", version)) is in_ecosystem_order
    assert bool(matches([("a", by_semver)], "p", version)) is in_semver_order


def test_range_type_defaults_to_the_ecosystem_order() -> None:
    spec = LeakAdvisorySpec.model_validate(
        {
            "summary": "s",
            "affected": [
                {"package": {"name": "p"}, "ranges": [{"events": [{"introduced": "1.0.0"}, {"fixed": "1.1.0"}]}]}
            ],
        }
    )
    assert spec.affected[0].ranges[0].type == "ECOSYSTEM"
    assert matches([("a", spec)], "p", "1.0.0-sp1")  # Maven: after 1.0.0


def test_explicit_versions_match_as_exact_strings() -> None:
    spec = LeakAdvisorySpec.model_validate(
        {"summary": "s", "affected": [{"package": {"ecosystem": "PyPI", "name": "p"}, "versions": ["1.0.0-sp1"]}]}
    )
    assert matches([("a", spec)], "p", "1.0.0-sp1")
    assert not matches([("a", spec)], "p", "1.0.0")
