"""Framework components from SBOMs, alone: package URLs to OSV package names, bounded readings of
hostile reports, advisories matched through a component, and the diff between two app versions."""

from __future__ import annotations

import json
from pathlib import Path

from helpers import JOOBY_ADVISORY
from leakwatch.core.components import (
    MAX_COMPONENTS,
    Component,
    VersionComponents,
    component_diff,
    components_condition,
    covered,
    framework_in,
    from_purl,
    pod_components,
    read_annotation,
    read_cyclonedx,
    read_purls,
)
from leakwatch.core.oom import MAX_VERSIONS_WITH_COMPONENTS, Ledger, VersionRecord
from leakwatch.core.pods import ContainerSpec, OwnerRef, PodInfo
from leakwatch.sample.sboms import image_components

FIXTURES = Path(__file__).parent.parent / "fixtures"  # real SBOMs, as tests/workloads/netty-post builds them

JOOBY = JOOBY_ADVISORY
ADVISORIES = [("jooby-3453", JOOBY)]


def bom(*purls: str, nested: tuple[str, ...] = ()) -> dict[str, object]:
    """A CycloneDX 1.5 BOM as cyclonedx-maven-plugin writes it (the fields LeakWatch reads)."""
    components: list[dict[str, object]] = [{"type": "library", "purl": p} for p in purls]
    if nested:
        components.append({"type": "library", "name": "fat", "components": [{"purl": p} for p in nested]})
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "components": components}


def test_package_urls_become_the_names_advisories_use() -> None:
    assert from_purl("pkg:maven/io.jooby/jooby-netty@3.1.2") == Component("Maven", "io.jooby:jooby-netty", "3.1.2")
    assert from_purl("pkg:npm/%40angular/core@17.0.1") == Component("npm", "@angular/core", "17.0.1")
    assert from_purl("pkg:golang/github.com/prometheus/client_golang@v1.20.0") == Component(
        "Go", "github.com/prometheus/client_golang", "v1.20.0"
    )
    assert from_purl("pkg:pypi/Requests@2.32.0") == Component("PyPI", "requests", "2.32.0")  # PyPI names normalise
    for bad in ("", "maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/jooby-netty@3.1.2", "pkg:maven/io.jooby/jooby-netty",
                "pkg:deb/debian/curl@7.88.1", "pkg:maven/" + "a" * 600 + "/b@1", "pkg:%%%/x@1"):  # fmt: skip
        assert from_purl(bad) is None, bad


def test_a_bom_reads_nested_components_once_and_counts_what_it_cannot_read() -> None:
    reading = read_cyclonedx(
        bom(
            "pkg:maven/io.jooby/jooby-netty@3.1.2",
            "pkg:maven/io.netty/netty-codec-http@4.1.115.Final",
            "pkg:maven/io.jooby/jooby-netty@3.1.2",  # listed twice
            "not a purl",
            nested=("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.2",),
        )
    )
    assert {str(c) for c in reading.components} == {
        "io.jooby:jooby-netty 3.1.2",
        "io.netty:netty-codec-http 4.1.115.Final",
        "com.fasterxml.jackson.core:jackson-databind 2.17.2",
    }
    assert reading.unreadable == 2  # the bad purl and the nesting entry without one
    assert reading.problem == "2 entries had no usable package URL"


def test_a_hostile_report_is_bounded_and_never_raises() -> None:
    huge = read_purls(f"pkg:maven/org.example/lib{i}@1.0.{i}" for i in range(10_000))
    assert len(huge.components) == MAX_COMPONENTS and huge.dropped == 10_000 - MAX_COMPONENTS
    assert huge.problem is not None and "dropped" in huge.problem
    for junk in (None, [], "bom", {"components": "x"}, {"components": [1, None, {"purl": 7}]}):
        assert read_cyclonedx(junk).components == frozenset()
    deep: dict[str, object] = {"purl": "pkg:maven/a/b@1"}
    for _ in range(100):
        deep = {"components": [deep]}
    assert read_cyclonedx({"components": [deep]}).components == frozenset()  # nesting past MAX_DEPTH is not read


def test_an_advisory_matches_through_a_component_not_the_app_version() -> None:
    app_2025_07_3 = read_purls(
        ["pkg:maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/io.netty/netty-buffer@4.1.115.Final"]
    )
    (hit,) = covered(app_2025_07_3.components, ADVISORIES)
    assert hit.component == Component("Maven", "io.jooby:jooby-netty", "3.1.2")
    assert [(m.alias, m.fixed) for m in hit.advisories] == [("jooby#3453", ["3.1.4"])]
    fixed = read_purls(["pkg:maven/io.jooby/jooby-netty@3.1.4"])
    assert covered(fixed.components, ADVISORIES) == []


def test_the_diff_puts_the_advisory_covered_change_first() -> None:
    flat = read_purls(["pkg:maven/io.jooby/jooby-netty@3.0.10", "pkg:maven/io.netty/netty-codec-http@4.1.111.Final",
                       "pkg:maven/org.slf4j/slf4j-api@2.0.13", "pkg:maven/com.example/gone@1.0"])  # fmt: skip
    leaking = read_purls(["pkg:maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/io.netty/netty-codec-http@4.1.115.Final",
                          "pkg:maven/org.slf4j/slf4j-api@2.0.13", "pkg:maven/com.example/new@2.0"])  # fmt: skip
    changes = component_diff(flat.components, leaking.components, ADVISORIES)
    assert [str(c) for c in changes] == [
        "io.jooby:jooby-netty 3.0.10 → 3.1.2 (jooby#3453)",
        "com.example:gone 1.0 → (removed)",
        "com.example:new (none) → 2.0",
        "io.netty:netty-codec-http 4.1.111.Final → 4.1.115.Final",
    ]
    assert component_diff(flat.components, flat.components, ADVISORIES) == []


def test_a_component_turns_back_into_the_package_url_it_came_from() -> None:
    for purl in (
        "pkg:maven/io.jooby/jooby-netty@3.1.2",
        "pkg:npm/%40angular/core@17.0.1",
        "pkg:golang/github.com/prometheus/client_golang@v1.20.0",
        "pkg:pypi/requests@2.32.0",
    ):
        component = from_purl(purl)
        assert component is not None and component.purl == purl
    assert from_purl("pkg:maven/io.netty/netty-buffer@4.1.115.Final?type=jar") == from_purl(
        "pkg:maven/io.netty/netty-buffer@4.1.115.Final"
    )


def test_the_pod_annotation_takes_commas_or_whitespace() -> None:
    reading = read_annotation(
        "pkg:maven/io.jooby/jooby-netty@3.1.2,\n pkg:maven/io.netty/netty-buffer@4.1.115.Final  junk"
    )
    assert sorted(str(c) for c in reading.components) == [
        "io.jooby:jooby-netty 3.1.2",
        "io.netty:netty-buffer 4.1.115.Final",
    ]
    assert reading.unreadable == 1


def test_the_ledger_keeps_component_sets_for_the_newest_versions_and_round_trips_them() -> None:
    book = Ledger()
    for day in range(MAX_VERSIONS_WITH_COMPONENTS + 3):
        seen = f"2025-07-{day + 1:02d}T00:00:00Z"
        book.versions[f"v{day}"] = VersionRecord(f"v{day}", "checkout-api", seen, seen)
        assert book.record_components(
            f"v{day}", read_purls([f"pkg:maven/io.jooby/jooby-netty@3.{day}.0"]), "Annotation"
        )
    newest = f"v{MAX_VERSIONS_WITH_COMPONENTS + 2}"
    assert not book.record_components(
        newest, read_purls([f"pkg:maven/io.jooby/jooby-netty@3.{newest[1:]}.0"]), "Annotation"
    )
    assert not book.record_components("v0", read_purls(["pkg:maven/io.jooby/jooby-netty@3.0.0"]), "Annotation")
    kept = [v for v, r in book.versions.items() if r.components]
    assert kept == [f"v{day}" for day in range(3, MAX_VERSIONS_WITH_COMPONENTS + 3)]  # the oldest lost theirs
    again = Ledger.from_status(book.to_status())
    assert {v: r.components for v, r in again.versions.items()} == {v: r.components for v, r in book.versions.items()}
    assert again.versions["v5"].components_source == "Annotation"
    stored = book.to_status()["versions"][5]
    assert stored["components"] == ["pkg:maven/io.jooby/jooby-netty@3.5.0"]


def test_a_real_sbom_of_the_netty_workload_reads_whole() -> None:
    """The SBOM cyclonedx-maven-plugin wrote for netty-post 1.5.0 (tests/workloads/netty-post)."""
    reading = read_cyclonedx(json.loads((FIXTURES / "netty-post-1.5.0.bom.json").read_text()))
    assert reading.problem is None
    assert Component("Maven", "io.netty:netty-codec-http", "4.1.115.Final") in reading.components
    assert len(reading.components) == 20


def report(namespace: str = "shop", **labels: object) -> dict[str, object]:
    return {
        "metadata": {
            "namespace": namespace,
            "labels": {
                "trivy-operator.resource.kind": "ReplicaSet",
                "trivy-operator.resource.name": "checkout-api-5d8f9",
                "trivy-operator.resource.namespace": namespace,
                "trivy-operator.container.name": "app",
                **labels,
            },
            "ownerReferences": [{"kind": "ReplicaSet", "name": "checkout-api-5d8f9", "uid": "rs-uid"}],
        },
        "report": {"components": bom("pkg:maven/io.jooby/jooby-netty@3.1.2")},
    }


POD = PodInfo(
    "shop",
    "checkout-api-5d8f9-abcde",
    "pod-uid",
    owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "rs-uid"),
    containers=(ContainerSpec("app"), ContainerSpec("sidecar")),
)


def test_a_report_is_matched_to_the_pods_of_its_replicaset_and_container() -> None:
    found = image_components(report(), "shop")
    assert found is not None and (found.replicaset_uid, found.container) == ("rs-uid", "app")
    reading = pod_components(POD, [found])
    assert reading is not None and [str(c) for c in reading.components] == ["io.jooby:jooby-netty 3.1.2"]
    assert pod_components(POD, [found], containers=["sidecar"]) is None  # the LeakWatch watches another container
    other_rs = PodInfo("shop", "p", "u", owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "another-uid"))
    assert pod_components(other_rs, [found]) is None  # same name, another ReplicaSet (recreated): not it


def test_reports_that_are_not_about_this_namespace_or_not_reports_are_not_believed() -> None:
    assert image_components(report(**{"trivy-operator.resource.namespace": "payments"}), "shop") is None
    assert image_components(report(namespace="payments"), "shop") is None
    assert image_components(report(**{"trivy-operator.container.name": 7}), "shop") is None
    for junk in ([], "text", {"metadata": "x"}, {"metadata": {"labels": None}}):
        assert image_components(junk, "shop") is None
    broken = report()
    broken["report"] = {"components": "not a BOM"}
    found = image_components(broken, "shop")
    assert found is not None and not found.reading.components  # read as empty: the version keeps what it had


def test_components_resolved_says_what_is_missing_and_why() -> None:
    known = components_condition([VersionComponents("2025.07.3", 20)], None)
    assert (known.status, known.reason, known.message) == (
        "True",
        "ComponentsKnown",
        "components known for 2025.07.3 (20)",
    )
    missing = components_condition([VersionComponents("2025.07.3", 20), VersionComponents("2025.07.4", 0)], None)
    assert (missing.status, missing.reason) == ("False", "NoComponents")
    assert "2025.07.4" in missing.message and "app version alone" in missing.message
    partial = components_condition(
        [VersionComponents("2025.07.3", 512, "9488 components beyond the 512 kept were dropped")], None
    )
    assert (partial.status, partial.reason) == ("True", "ComponentsIncomplete")
    away = components_condition([VersionComponents("2025.07.3", 20)], "cannot list SbomReports in shop: 403 Forbidden")
    assert (away.status, away.reason) == ("False", "ReportsUnavailable")
    assert away.message.startswith("cannot list SbomReports in shop: 403 Forbidden; each version keeps")


def test_the_framework_inside_an_app_version_is_named_with_every_version_of_it() -> None:
    inside = read_purls(["pkg:maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/io.netty/netty-buffer@4.1.115.Final"])
    assert framework_in(inside.components, "io.jooby:jooby-netty") == "io.jooby:jooby-netty 3.1.2"
    assert framework_in(inside.components, "io.jooby:jooby") is None
    assert framework_in(inside.components, None) is None
    two = read_purls(["pkg:maven/io.jooby/jooby-netty@3.1.2", "pkg:maven/io.jooby/jooby-netty@3.0.10"])
    assert framework_in(two.components, "io.jooby:jooby-netty") == "io.jooby:jooby-netty 3.0.10, 3.1.2"
