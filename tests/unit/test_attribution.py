from __future__ import annotations

import pytest

from leakwatch.api.leakwatch import VersionSource
from leakwatch.core.attribution import (
    MAX_VERSION_LENGTH,
    UNKNOWN,
    VersionReading,
    image_tag,
    read_version,
    versions_condition,
)
from leakwatch.core.pods import ContainerSpec, PodInfo

POD = PodInfo(
    namespace="shop",
    name="checkout-api-1",
    uid="u1",
    labels={"app": "checkout-api", "app.kubernetes.io/version": "3.1.2"},
    annotations={"build": "jooby-3.0.10+abc"},
    containers=(
        ContainerSpec("app", "registry.local:5000/shop/checkout-api:3.1.2", (("JOOBY_VERSION", "3.1.2"),)),
        ContainerSpec("proxy", "envoy@sha256:abcd"),
    ),
)


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("registry.local:5000/shop/checkout-api:3.1.2", "3.1.2"),
        ("checkout-api", None),
        ("registry.local:5000/checkout-api", None),
        ("envoy:v1.30@sha256:abcd", "v1.30"),
        ("envoy@sha256:abcd", None),
    ],
)
def test_image_tag(image: str, tag: str | None) -> None:
    assert image_tag(image) == tag


@pytest.mark.parametrize(
    ("source", "version"),
    [
        ({"source": "ImageTag"}, "3.1.2"),
        ({"source": "ImageTag", "container": "app"}, "3.1.2"),
        ({"source": "Label", "key": "app.kubernetes.io/version"}, "3.1.2"),
        ({"source": "Annotation", "key": "build", "regex": r"jooby-(\d+\.\d+\.\d+)"}, "3.0.10"),
        ({"source": "Env", "key": "JOOBY_VERSION", "container": "app"}, "3.1.2"),
    ],
)
def test_read_version(source: dict[str, str], version: str) -> None:
    assert read_version(POD, VersionSource.model_validate(source), []).version == version


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ({"source": "Label", "key": "version"}, "has no label version"),
        ({"source": "ImageTag", "container": "proxy"}, "has no image tag of container proxy"),
        ({"source": "ImageTag", "container": "missing"}, "has no container missing"),
        ({"source": "Annotation", "key": "build", "regex": r"^(\d+)$"}, "does not match"),
    ],
)
def test_missing_versions_are_unknown_with_a_reason(source: dict[str, str], problem: str) -> None:
    reading = read_version(POD, VersionSource.model_validate(source), [])
    assert reading.version == UNKNOWN
    assert reading.problem is not None and problem in reading.problem


@pytest.mark.parametrize(
    ("watched", "version", "problem"),
    [
        (["proxy"], UNKNOWN, "has no image tag of container proxy"),  # proxy's image is pinned by digest
        (["app"], "3.1.2", None),
        ([], "3.1.2", None),  # none watched: the pod's first container
    ],
)
def test_watched_containers_choose_the_default_container(watched: list[str], version: str, problem: str | None) -> None:
    reading = read_version(POD, VersionSource.model_validate({"source": "ImageTag"}), watched)
    assert reading.version == version
    assert (
        (reading.problem is None) if problem is None else (reading.problem is not None and problem in reading.problem)
    )


def _annotated(version: str) -> PodInfo:
    return PodInfo(namespace="shop", name="p", uid="u", annotations={"v": version})


BY_ANNOTATION = VersionSource.model_validate({"source": "Annotation", "key": "v"})


def test_long_versions_sharing_a_prefix_stay_distinct_and_bounded() -> None:
    # Image tags may be 128 characters; a cut at 64 would merge these two and their OOMKills.
    first, second = "2025.07.3-" + "a" * 60, "2025.07.3-" + "a" * 59 + "b"
    readings = [read_version(_annotated(v), BY_ANNOTATION, []) for v in (first, second)]
    assert readings[0].version != readings[1].version
    for reading, read in zip(readings, (first, second), strict=True):
        assert len(reading.version) == MAX_VERSION_LENGTH
        assert reading.version.startswith("2025.07.3-aaaa") and reading.shortened_from == read
    assert read_version(_annotated(first), BY_ANNOTATION, []).version == readings[0].version  # stable


def test_a_version_that_fits_is_kept_as_read() -> None:
    version = "v" * MAX_VERSION_LENGTH
    assert read_version(_annotated(version), BY_ANNOTATION, []) == VersionReading(version)


@pytest.mark.parametrize("hidden", ["\n", "\r", "\t", "\u202e", "\u2066", "\u200b", "\x00", "\x7f", "\u2028"])
def test_versions_with_unprintable_characters_are_refused(hidden: str) -> None:
    reading = read_version(_annotated(f"3.1{hidden}.2"), BY_ANNOTATION, [])
    assert reading.version == UNKNOWN
    assert reading.problem is not None and f"U+{ord(hidden):04X}" in reading.problem
    assert hidden not in reading.problem


def test_versions_resolved_names_the_first_problem_and_counts_the_rest() -> None:
    assert versions_condition([]).reason == "AllVersionsKnown"
    unknown = VersionReading(UNKNOWN, problem="pod a has no annotation version")
    condition = versions_condition([unknown, VersionReading(UNKNOWN, problem="pod b too"), VersionReading("1.0")])
    assert (condition.status, condition.reason) == ("False", "VersionUnknown")
    assert condition.message == f"pod a has no annotation version (and 1 more pods); counted as version {UNKNOWN}"
    long = "9" * (MAX_VERSION_LENGTH + 40)
    shortened = versions_condition([VersionReading("999~abc", shortened_from=long)])
    assert (shortened.status, shortened.reason) == ("True", "VersionsShortened")
    assert f"{len(long)}-character version" in shortened.message and "'999~abc'" in shortened.message
