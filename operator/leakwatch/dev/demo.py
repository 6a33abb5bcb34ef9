"""`make demo`: LeakWatch finds the Jooby story on a real local cluster, in about four minutes.

It starts etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok on loopback,
installs the Helm chart (CRDs, RBAC, the jooby#3453 advisory), runs the operator as the chart's
ServiceAccount, starts Prometheus and a kubelet/cAdvisor stand-in, deploys checkout-api 3.0.10
(flat), rolls out 3.1.2 (it leaks; the stand-in OOMKills it at its limit, as a kubelet would),
and waits for LeakWatch's recommendation. Then it prints `kubectl get leakwatches`, the
recommendation in words and the Events, and draws a picture. Everything it started is stopped at
the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import datetime
from pathlib import Path

from leakwatch.core.analysis import Samples
from leakwatch.dev.picture import PodSeries, draw
from leakwatch.dev.story import APP, LocalStory, StoryConfig
from leakwatch.sample.prometheus import PrometheusClient

OUT = Path(__file__).resolve().parents[3] / "out"


def say(started: float, text: str) -> None:
    print(f"[{time.monotonic() - started:6.1f}s] {text}", flush=True)


def pod_versions(status: dict[str, object]) -> dict[str, str]:
    ledger = status.get("ledger") or {}
    assert isinstance(ledger, dict)
    known = {p["name"]: p["version"] for p in ledger.get("past", [])}
    known.update({p["name"]: p["version"] for p in ledger.get("pods", [])})
    return known


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="leakwatch-demo", description=__doc__)
    parser.add_argument("--flat-seconds", type=float, default=60, help="how long 3.0.10 runs before the rollout")
    parser.add_argument("--timeout", type=float, default=240, help="give up waiting for a recommendation after this")
    parser.add_argument("--picture", type=Path, default=OUT / "leakwatch-demo.png")
    parser.add_argument("--hold", action="store_true", help="keep everything running until Ctrl-C")
    args = parser.parse_args(argv)

    started = time.monotonic()
    say(started, "starting etcd, kube-apiserver, controller-manager, scheduler, kwok, Prometheus, the operator ...")
    with (
        tempfile.TemporaryDirectory(prefix="leakwatch-demo-") as tmp,
        LocalStory(Path(tmp), StoryConfig(helm_chart=True, replicas=3)) as story,
    ):
        ns = story.cfg.namespace
        say(
            started,
            f"kube-apiserver {story.cp.version} at {story.cp.server}; chart installed; operator runs as "
            "ServiceAccount leakwatch-system/leakwatch",
        )
        t0 = time.time()
        story.deploy("3.0.10")
        say(started, f"deployed {APP} 3.0.10 (3 replicas); letting it run flat for {args.flat_seconds:.0f}s")
        time.sleep(args.flat_seconds)
        rollout = time.time()
        story.roll_to("3.1.2")
        say(started, f"rolled out {APP} 3.1.2")
        try:
            story.wait(lambda: story.recommendation().get("action") == "Upgrade", args.timeout, "a recommendation")
        except TimeoutError:
            say(started, "no recommendation in time; status was:\n" + story.dump())
            return 1
        say(started, "LeakWatch recommends, before any OOMKill; now letting the kubelet stand-in OOMKill 3.1.2 ...")
        try:
            story.wait(lambda: story.status().get("oomKills", 0) >= story.cfg.replicas, 90, "OOMKills")
        except TimeoutError:
            say(started, "no OOMKill within 90s")
        print(story.kubectl("get", "leakwatches", "-n", ns, "-o", "wide"))
        rec = story.recommendation()
        print(f"  {rec['summary']}\n")
        for line in rec.get("evidence", []):
            print(f"  - {line}")
        print()
        print(
            story.kubectl(
                "get",
                "events",
                "-n",
                ns,
                "--field-selector",
                "involvedObject.kind=LeakWatch",
                "--sort-by=.metadata.creationTimestamp",
            )
        )
        end = time.time()
        status = story.status()
        versions = pod_versions(status)
        found = PrometheusClient(story.prometheus.url).range_query(
            f'container_memory_working_set_bytes{{namespace="{ns}", container="app"}}', t0, end, 1
        )
        series = [
            PodSeries(s.labels["pod"], versions.get(s.labels["pod"], "unknown"), Samples(s.samples.t, s.samples.v))
            for s in found
        ]
        ooms = [
            (datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp(), v) for _, v, at in story.kubelet.oom_kills
        ]
        picture = draw(
            args.picture,
            series=series,
            rollouts=[(rollout, "3.1.2")],
            oom_kills=ooms,
            limit_bytes=512 * 2**20,
            title=f"{APP}: memory per pod by version, as LeakWatch saw it",
            recommendation=str(rec["summary"]),
        )
        say(started, f"picture: {picture}")
        if args.hold:
            say(
                started,
                f"holding; export KUBECONFIG={story.cp.kubeconfig}; Prometheus at {story.prometheus.url}; "
                "Ctrl-C stops everything",
            )
            while True:
                time.sleep(1)
    say(started, "stopped everything")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except KeyboardInterrupt:
        print("interrupted; everything was stopped")
        raise SystemExit(130) from None
