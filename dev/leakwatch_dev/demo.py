"""`make demo`: LeakWatch finds a leak on a real node, from the cluster alone.

It starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler on loopback, a real
node (kubelet + containerd + runc; the kernel OOM-kills containers over their limit), Prometheus
scraping the kubelet's cAdvisor endpoint and the pods, installs the Helm chart (CRDs, RBAC, the
jooby#3453 advisory) and runs the operator as the chart's ServiceAccount. checkout-api is the
Netty service of tests/workloads/netty-post (the jooby#3453 bug class) as a real Deployment under
POST load on loopback: 1.4.0 runs flat, then 1.5.0 leaks pooled direct buffers until the kernel
OOM-kills it. The demo waits for LeakWatch's recommendation, then for the OOMKills it predicted,
prints `kubectl get leakwatches`, the recommendation and the Events, and draws the picture from
the real series, and the chart's Grafana dashboard as one picture per row. Everything it started
is stopped at the end, also on Ctrl-C or SIGTERM.

On the real node each release's image carries the CycloneDX SBOM its Maven build wrote, and a
trivy-operator stand-in (leakwatch_dev/trivy.py) reports it per ReplicaSet, so the recommendation
also says which libraries changed between the flat release and the leaking one.

`--node stand-in` runs the scripted Jooby story on kwok instead (no root needed), told as a real
cluster tells it: the app versions are image tags (2025.06.1, 2025.07.3) and Jooby's version is
found inside each from its SbomReport.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from leakwatch.api import GROUP, VERSION
from leakwatch.core.analysis import Samples
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev import dashboard_pictures
from leakwatch_dev.node import missing_requirements
from leakwatch_dev.picture import PodSeries, draw
from leakwatch_dev.story import APP, JOOBY_APP_RELEASES, LocalStory, StoryConfig, netty_boms
from leakwatch_dev.traces import WORKING_SET, Recording, record_trace

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "out"
MiB = 2**20
SCRAPE_SECONDS = 2.0  # LocalStory's scrape interval: the dashboard's data source would be set to it


def say(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)


def pod_versions(status: dict[str, Any]) -> dict[str, str]:
    ledger = status.get("ledger") or {}
    known = {p["name"]: p["version"] for p in ledger.get("past", [])}
    known.update({p["name"]: p["version"] for p in ledger.get("pods", [])})
    return known


def stories(node: str) -> tuple[StoryConfig, tuple[str, str], str]:
    """The config, (flat, leaking) versions and the advisory file for each kind of node."""
    if node == "real":
        return (
            StoryConfig.real_node(helm_chart=True, sboms=netty_boms()),
            ("1.4.0", "1.5.0"),
            "netty-post.leakadvisory.yaml",
        )
    flat, leaking = JOOBY_APP_RELEASES
    return StoryConfig.jooby_app(helm_chart=True, replicas=3), (flat, leaking), ""


def oom_kill_times(story: LocalStory) -> list[tuple[float, str]]:
    """When LeakWatch announced each OOMKill (its Events), with the version it attributed it to."""
    found = []
    for event in story.events("LeakWatch"):
        if event.reason == "OOMKilled":
            moment = event.event_time or event.first_timestamp or event.metadata.creation_timestamp
            found.extend([(moment.timestamp(), event.message)] * (event.count or 1))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leakwatch-demo", description=__doc__)
    parser.add_argument("--node", choices=("real", "stand-in"), default="real")
    parser.add_argument("--flat-seconds", type=float, default=60, help="how long the flat version runs first")
    parser.add_argument("--timeout", type=float, default=300, help="give up waiting for a recommendation after this")
    parser.add_argument("--oom-kills", type=int, default=2, help="wait for this many OOMKills after it")
    parser.add_argument("--picture", type=Path, default=OUT / "leakwatch-demo.png")
    parser.add_argument(
        "--record", type=Path, default=OUT / "traces", help="write the real series here as a detection-corpus trace"
    )
    parser.add_argument(
        "--fixed-seconds",
        type=float,
        default=120,
        help="then deploy the recommended version and watch it this long (0: skip)",
    )
    parser.add_argument("--hold", action="store_true", help="keep everything running until Ctrl-C")
    args = parser.parse_args(argv)
    if args.node == "real" and (missing := missing_requirements()):
        print("make demo needs a real node here, and this machine lacks:\n  - " + "\n  - ".join(missing))
        print("(`make demo ARGS='--node stand-in'` runs the scripted story on kwok instead)")
        return 2
    cfg, (flat, leaking), advisory = stories(args.node)

    def terminate(signum: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")  # unwinds through every cleanup

    signal.signal(signal.SIGTERM, terminate)
    started = time.monotonic()
    parts = "a real node (kubelet + containerd)" if args.node == "real" else "kwok and the kubelet stand-in"
    say(started, f"starting etcd, kube-apiserver, controller-manager, scheduler, {parts}, Prometheus, the operator ...")
    with tempfile.TemporaryDirectory(prefix="leakwatch-demo-") as tmp, LocalStory(Path(tmp), cfg) as story:
        ns = story.cfg.namespace
        say(
            started,
            f"kube-apiserver {story.cp.version} at {story.cp.server}; chart installed; operator runs as "
            "ServiceAccount leakwatch-system/leakwatch",
        )
        if cfg.time_scale > 1:
            say(
                started,
                f"one clock: the operator reads memory {cfg.time_scale:g}x stretched (one real second stands "
                f"for {cfg.time_scale / 60:g} minutes); every rate, duration and time-to-OOM below is in it",
            )
        if advisory:
            body = yaml.safe_load((REPO / "examples" / advisory).read_text())
            story.custom.create_cluster_custom_object(GROUP, VERSION, "leakadvisories", body)
            say(started, f"declared LeakAdvisory {body['metadata']['name']}: {body['spec']['summary']}")
        t0 = time.time()
        story.deploy(flat)
        say(
            started,
            f"deployed {APP} {flat} ({cfg.replicas} replica(s)); letting it run flat for {args.flat_seconds:.0f}s",
        )
        time.sleep(args.flat_seconds)
        rollout = time.time()
        story.roll_to(leaking)
        say(started, f"rolled out {APP} {leaking}")
        try:
            story.wait(
                lambda: (
                    story.recommendation().get("fromVersion") == leaking
                    and story.recommendation().get("action") in ("Upgrade", "Rollback")
                ),
                args.timeout,
                "a recommendation",
            )
        except TimeoutError:
            say(started, "no recommendation in time; status was:\n" + story.dump())
            return 1
        recommended_at = time.time()
        kills_then = story.status().get("oomKills", 0)
        say(started, f"LeakWatch recommends, with {kills_then} OOMKill(s) so far: {story.recommendation()['summary']}")
        say(started, f"now letting {leaking} run into its memory limit ...")
        try:
            story.wait(lambda: story.status().get("oomKills", 0) >= args.oom_kills, 600, "OOMKills")
            say(started, f"{story.status()['oomKills']} OOMKills counted, as the kubelet reported them")
        except TimeoutError:
            say(started, f"fewer than {args.oom_kills} OOMKills within 600s")
        print(story.kubectl("get", "leakwatches", "-n", ns, "-o", "wide"))
        rec = story.recommendation()
        print(f"  {rec['summary']}\n")
        for line in rec.get("evidence", []):
            print(f"  - {line}")
        print()
        print(
            story.kubectl(
                "get", "events", "-n", ns, "--field-selector", "involvedObject.kind=LeakWatch",
                "--sort-by=.metadata.creationTimestamp",
            )
        )  # fmt: skip
        leak_end = time.time()
        fix = str(rec.get("toVersion") or "")
        fixed_at: float | None = None
        if args.fixed_seconds > 0 and fix:
            story.roll_to(fix)
            fixed_at = leak_end
            say(
                started,
                f"applied the recommendation: rolled out {APP} {fix}; watching it for {args.fixed_seconds:.0f}s",
            )
            time.sleep(args.fixed_seconds)
            stats: dict[str, Any] = next((v for v in story.status().get("versions", []) if v["version"] == fix), {})
            reasons = "; ".join(stats.get("evidence", [])[:2])
            say(
                started,
                f"LeakWatch on {fix}: {stats.get('verdict', 'not seen yet')}" + (f" ({reasons})" if reasons else ""),
            )
        end = time.time()
        versions = pod_versions(story.status())
        prometheus = PrometheusClient(story.prometheus.url)
        found = prometheus.range_query(WORKING_SET.format(ns=ns), t0, end, 1)
        series = [
            PodSeries(s.labels["pod"], versions.get(s.labels["pod"], "unknown"), Samples(s.samples.t, s.samples.v))
            for s in found
        ]
        limit = story.cfg.memory_limit
        picture = draw(
            args.picture,
            series=series,
            rollouts=[(rollout, leaking), *([(fixed_at, fix)] if fixed_at is not None else [])],
            oom_kills=oom_kill_times(story),
            limit_bytes=int(limit.removesuffix("Mi")) * MiB,
            title=f"{APP}: working set per container life, by version ({parts}; cAdvisor via Prometheus)",
            recommendation=str(rec["summary"]),
            recommended_at=recommended_at,
            time_scale=cfg.time_scale,
        )
        say(started, f"picture: {picture}")
        if args.node == "real":
            limit_bytes = int(limit.removesuffix("Mi")) * MiB
            kills = oom_kill_times(story)
            leak = Recording(
                name=f"netty-post-real-{datetime.fromtimestamp(t0):%Y%m%d-%H%M}",
                pattern="recorded_rollout_leak",
                label="leak",
                description=(
                    f"recorded on a real node: netty-post {flat} flat, then {leaking} leaking direct buffers "
                    f"under {cfg.post_rate:g} POST/s until the kernel OOM-killed it; times stretched "
                    f"{cfg.time_scale:g}x as the operator read them"
                ),
                limit_bytes=limit_bytes,
                onset_time=rollout,
                oom_time=kills[0][0] if kills else None,
                leaking_pods=[pod for pod, version in versions.items() if version == leaking],
            )
            traces = [record_trace(args.record, prometheus, ns, leak, t0, leak_end, cfg.time_scale)]
            if fixed_at is not None:
                fixed = Recording(
                    name=f"netty-post-fixed-real-{datetime.fromtimestamp(fixed_at):%Y%m%d-%H%M}",
                    pattern="recorded_fixed_release",
                    label="no-leak",
                    description=(
                        f"recorded on a real node: netty-post {fix}, the version LeakWatch recommended after "
                        f"{leaking} leaked, under the same {cfg.post_rate:g} POST/s from its rollout on; times "
                        f"stretched {cfg.time_scale:g}x as the operator read them"
                    ),
                    limit_bytes=limit_bytes,
                    onset_time=None,
                    oom_time=None,
                    leaking_pods=[],
                )
                only = {pod for pod, version in versions.items() if version == fix}
                traces.append(record_trace(args.record, prometheus, ns, fixed, fixed_at, end, cfg.time_scale, only))
            for trace in traces:
                if trace is not None:
                    say(started, f"trace for bench/detection.py --corpus {args.record}: {trace}")
        # The chart's dashboard as it would show this run, one picture per row, while Prometheus is up;
        # first a few scrapes more, so the last OOMKill's count falls inside a step of the range.
        time.sleep(3 * SCRAPE_SECONDS)
        clock = ""
        if cfg.time_scale > 1:
            clock = f"; growth rates and times to OOM are in the operator's clock, {cfg.time_scale:g}x stretched"
        rows = dashboard_pictures.draw_dashboard(
            story.prometheus.url,
            t0,
            time.time(),
            args.picture.parent,
            scrape_interval=SCRAPE_SECONDS,
            note=f"{APP} ({parts}), the chart's Grafana dashboard drawn from its queries{clock}",
        )
        say(started, "dashboard pictures: " + ", ".join(str(p) for p in rows))
        if args.hold:
            say(
                started,
                f"holding; export KUBECONFIG={story.cp.kubeconfig}; Prometheus at {story.prometheus.url}; "
                "Ctrl-C stops everything",
            )
            while True:
                time.sleep(1)
        say(started, f"started {datetime.fromtimestamp(t0):%H:%M:%S}; stopping everything")
    say(started, "stopped everything")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("interrupted; everything was stopped")
        raise SystemExit(130) from None
