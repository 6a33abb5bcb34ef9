"""The mission's story told the way a real cluster tells it: app versions are image tags
(checkout-api 2025.06.1, 2025.07.3) and Jooby is one component inside each, known only from the
SBOM reports written for each real ReplicaSet. The advisory names io.jooby:jooby-netty, never an
app version; LeakWatch matches it through the component and shows what changed inside the app."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from helpers import wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.story import JOOBY_APP_RELEASES, LocalStory, StoryConfig

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]
REPO = Path(__file__).resolve().parents[2]
FLAT, LEAKING = JOOBY_APP_RELEASES


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStory]:
    with LocalStory(tmp_path_factory.mktemp("story"), StoryConfig.jooby_app()) as local:
        advisory = yaml.safe_load((REPO / "examples" / "jooby-3453.leakadvisory.yaml").read_text())
        local.custom.create_cluster_custom_object(GROUP, VERSION, "leakadvisories", advisory)
        local.deploy(FLAT)
        yield local


def ledger_versions(story: LocalStory) -> dict[str, dict[str, Any]]:
    return {v["version"]: v for v in story.status().get("ledger", {}).get("versions", [])}


def test_the_advisory_is_matched_through_the_component_and_the_diff_is_in_status_and_events(
    story: LocalStory,
) -> None:
    wait_for(
        lambda: {v["version"]: v.get("verdict") for v in story.status().get("versions", [])}.get(FLAT) == "Stable",
        timeout=180,
        what=f"{FLAT} judged Stable",
    )
    flat = wait_for(lambda: ledger_versions(story).get(FLAT, {}).get("components"), 60, f"{FLAT}'s components")
    assert "pkg:maven/io.jooby/jooby-netty@3.0.10" in flat

    story.roll_to(LEAKING)
    rec = wait_for(
        lambda: (r := story.recommendation()).get("fromVersion") == LEAKING and r.get("componentChanges") and r,
        timeout=240,
        what=f"a recommendation for {LEAKING} with what changed inside it",
    )
    # No app version with a fixed jooby-netty has run: roll back now, upgrade the component in the next build.
    assert (rec["action"], rec["toVersion"], rec["component"]) == ("Rollback", FLAT, "io.jooby:jooby-netty 3.1.2")
    summary = rec["summary"]
    assert summary.startswith(f"checkout-api: {LEAKING} (io.jooby:jooby-netty 3.1.2) leaks"), summary
    assert "then upgrade io.jooby:jooby-netty to 3.1.4 (fixes jooby#3453)" in summary, summary
    assert f"changed since {FLAT}: io.jooby:jooby-netty 3.0.10 → 3.1.2 (jooby#3453)" in summary, summary
    assert rec["changedFrom"] == FLAT
    assert rec["componentChanges"][0] == {
        "package": "io.jooby:jooby-netty",
        "fromVersion": "3.0.10",
        "toVersion": "3.1.2",
        "advisories": ["jooby#3453"],
    }
    assert {c["package"] for c in rec["componentChanges"]} == {
        "io.jooby:jooby",
        "io.jooby:jooby-netty",
        "io.netty:netty-buffer",
        "io.netty:netty-codec-http",
    }
    assert (
        f"{LEAKING} is covered by jooby#3453: Netty direct buffers leak on every POST (jooby#3453)" in rec["evidence"]
    ), rec

    events = wait_for(
        lambda: [e for e in story.events("LeakWatch") if e.reason == "RollbackRecommended"],
        what="the recommendation's Event",
    )
    assert "io.jooby:jooby-netty 3.0.10 → 3.1.2 (jooby#3453)" in events[-1].message
    info = [
        s.labels
        for family in text_string_to_metric_families(story.operator.get("/metrics"))
        for s in family.samples
        if s.name == "leakwatch_recommendation_info" and s.value == 1
    ]
    assert [i["component"] for i in info] == ["io.jooby:jooby-netty 3.1.2"]
    # Each app version's row, and a metric, name the framework found inside it.
    rows = {v["version"]: v.get("framework") for v in story.status()["versions"]}
    assert rows == {FLAT: "io.jooby:jooby-netty 3.0.10", LEAKING: "io.jooby:jooby-netty 3.1.2"}
    inside = {
        s.labels["version"]: s.labels["framework"]
        for family in text_string_to_metric_families(story.operator.get("/metrics"))
        for s in family.samples
        if s.name == "leakwatch_version_framework_info"
    }
    assert inside == rows

    # trivy-operator deletes the report of the inactive ReplicaSet; LeakWatch kept the flat version's set.
    wait_for(
        lambda: (
            len(
                story.custom.list_namespaced_custom_object("aquasecurity.github.io", "v1alpha1", "shop", "sbomreports")[
                    "items"
                ]
            )
            == 1
        ),
        # The old ReplicaSet goes inactive only once the rollout has scaled it to zero, after the new
        # pods are ready, and the stand-in trivy notices it at its next pass: a CI run on a busy
        # machine took more than 60 s.
        timeout=180,
        what="the old ReplicaSet's report deleted",
    )
    assert "pkg:maven/io.jooby/jooby-netty@3.0.10" in ledger_versions(story)[FLAT]["components"]
