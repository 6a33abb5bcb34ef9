"""Framework components from SBOMs, alone: package URLs to OSV package names, bounded readings of
hostile reports, advisories matched through a component, and the diff between two app versions."""

from __future__ import annotations

from helpers import JOOBY_ADVISORY
from leakwatch.core.components import (
    MAX_COMPONENTS,
    Component,
    component_diff,
    covered,
    from_purl,
    read_cyclonedx,
    read_purls,
)

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
