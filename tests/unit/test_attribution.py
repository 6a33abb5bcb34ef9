from __future__ import annotations

import pytest

from leakwatch.api.leakwatch import VersionSource
from leakwatch.core.attribution import UNKNOWN, image_tag, read_version
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


def test_watched_containers_choose_the_default_container() -> None:
    reading = read_version(POD, VersionSource.model_validate({"source": "ImageTag"}), ["proxy"])
    assert reading.version == UNKNOWN
