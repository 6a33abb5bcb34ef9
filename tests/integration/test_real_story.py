"""The demo's story as a test, on a real node: the Netty service under POST load, 1.4.0 flat, then
1.5.0 leaking pooled direct buffers until the kernel OOM-kills it. LeakWatch must call the leak
and recommend the fix before the first OOMKill, then count each kernel OOMKill once against 1.5.0.
About five minutes; skipped where this machine cannot run a real node."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from helpers import real_node_marks, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev.story import APP, LocalStory, StoryConfig

pytestmark = real_node_marks()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStory]:
    with LocalStory(tmp_path_factory.mktemp("real-story"), StoryConfig.real_node()) as local:
        advisory = yaml.safe_load((REPO / "examples" / "netty-post.leakadvisory.yaml").read_text())
        local.custom.create_cluster_custom_object(GROUP, VERSION, "leakadvisories", advisory)
        yield local


def restarts(story: LocalStory, image: str) -> int:
    pods = story.core.list_namespaced_pod(story.cfg.namespace, label_selector=f"app={APP}").items
    return sum(c.restart_count for p in pods for c in p.status.container_statuses or [] if c.image == image)


def kills_by_version(story: LocalStory) -> dict[str, int]:
    return {v["version"]: v["oomKills"] for v in story.status().get("versions", [])}


def verdicts(story: LocalStory) -> dict[str, str]:
    return {v["version"]: v.get("verdict", "") for v in story.status().get("versions", [])}


def test_the_leak_is_called_before_the_kernel_kills_it_and_every_kill_is_counted(story: LocalStory) -> None:
    story.deploy("1.4.0")
    wait_for(lambda: verdicts(story).get("1.4.0") == "Stable", timeout=150, what="1.4.0 judged Stable")
    assert story.status().get("oomKills", 0) == 0

    story.roll_to("1.5.0")
    rec = wait_for(
        lambda: (r := story.recommendation()).get("action") == "Upgrade" and r,
        timeout=240,
        what="an Upgrade recommendation",
    )
    kills_at_recommendation = story.status().get("oomKills", 0)
    assert (rec["fromVersion"], rec["toVersion"]) == ("1.5.0", "1.5.1"), rec
    assert "or roll back to 1.4.0" in rec["summary"], rec["summary"]
    assert story.status()["suspectVersion"] == "1.5.0"
    assert kills_at_recommendation == 0, "LeakWatch spoke only after the kernel had already killed 1.5.0"
    stats = {v["version"]: v for v in story.status()["versions"]}["1.5.0"]
    assert stats.get("timeToOOMSeconds", 0) > 0, stats

    image = "localhost/lw/netty-post:1.5.0"
    wait_for(lambda: restarts(story, image) >= 1, timeout=420, what="the kernel to OOM-kill 1.5.0")
    pod = story.core.list_namespaced_pod(story.cfg.namespace, label_selector=f"app={APP}").items[0]
    last = pod.status.container_statuses[0].last_state.terminated
    assert (last.reason, last.exit_code) == ("OOMKilled", 137)
    wait_for(
        lambda: kills_by_version(story).get("1.5.0") == restarts(story, image),
        timeout=30,
        what="every kernel OOMKill counted once against 1.5.0",
    )
    # The killed container's series ends with it: cAdvisor stamps its samples, and without
    # track_timestamps_staleness Prometheus would read its last value (near the limit) for 5 minutes.
    prometheus = PrometheusClient(story.prometheus.url)
    query = f'container_memory_working_set_bytes{{namespace="{story.cfg.namespace}", container="app"}}'
    wait_for(
        lambda: len(prometheus.range_query(query, time.time() - 2, time.time(), 1)) == 1,
        timeout=30,
        what="only the restarted container's series to be current",
    )
    time.sleep(3)
    assert kills_by_version(story).get("1.4.0", 0) == 0
