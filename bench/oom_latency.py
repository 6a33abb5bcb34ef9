"""OOMKill-to-metric, -status and -Event latency on a real control plane.

    python bench/oom_latency.py [--kills 200] [--pods 10] [--json]

Starts etcd + kube-apiserver + controller-manager on loopback and the real operator process,
creates one LeakWatch over --pods pods, then writes --kills OOMKills one after another through
the pod status subresource exactly as a kubelet does. For each it measures the time from the
status write to (a) `leakwatch_oom_kills_total` showing it on /metrics, (b) LeakWatch.status
counting it, (c) the Event on the LeakWatch. Prints median, p90, p99 and max.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import OperatorProcess, deployment_pod, kubelet_status
from leakwatch.api import API_VERSION, GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane

NAMESPACE = "bench"


def metric_total(operator: OperatorProcess) -> float:
    total = 0.0
    for family in text_string_to_metric_families(operator.get("/metrics")):
        for sample in family.samples:
            if sample.name == "leakwatch_oom_kills_total":
                total += sample.value
    return total


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--pods", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args()

    with ControlPlane() as cp, tempfile.TemporaryDirectory() as logs:
        api = config.new_client_from_config(str(cp.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        cp.install_crds()
        operator = OperatorProcess(cp, Path(logs), [NAMESPACE])
        operator.start()
        try:
            custom.create_namespaced_custom_object(
                GROUP,
                VERSION,
                NAMESPACE,
                "leakwatches",
                {
                    "apiVersion": API_VERSION,
                    "kind": "LeakWatch",
                    "metadata": {"name": "bench"},
                    "spec": {"selector": {"matchLabels": {"app": "checkout-api"}}},
                },
            )
            pods = [f"checkout-api-{i}" for i in range(args.pods)]
            for name in pods:
                core.create_namespaced_pod(NAMESPACE, deployment_pod(name, "3.1.2"))
            restarts = dict.fromkeys(pods, 0)
            time.sleep(2)
            to_metric: list[float] = []
            to_status: list[float] = []
            to_event: list[float] = []
            for n in range(1, args.kills + 1):
                pod = pods[n % len(pods)]
                restarts[pod] += 1
                finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_790_000_000 + n))
                start = time.perf_counter()
                core.patch_namespaced_pod_status(pod, NAMESPACE, kubelet_status(restarts[pod], finished))
                seen: dict[str, float] = {}
                while len(seen) < 3:
                    now = time.perf_counter() - start
                    if now > 30:
                        raise RuntimeError(f"OOMKill {n} not seen within 30s: {seen}")
                    if "metric" not in seen and metric_total(operator) >= n:
                        seen["metric"] = now
                    if "status" not in seen:
                        obj: dict[str, Any] = custom.get_namespaced_custom_object(
                            GROUP, VERSION, NAMESPACE, "leakwatches", "bench"
                        )
                        if obj.get("status", {}).get("oomKills", 0) >= n:
                            seen["status"] = time.perf_counter() - start
                    if "event" not in seen:
                        events = core.list_namespaced_event(
                            NAMESPACE, field_selector="involvedObject.kind=LeakWatch,reason=OOMKilled"
                        )
                        if len(events.items) >= n:
                            seen["event"] = time.perf_counter() - start
                to_metric.append(seen["metric"])
                to_status.append(seen["status"])
                to_event.append(seen["event"])
        finally:
            operator.stop()

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(values) * 1000, 1),
            "p90_ms": round(percentile(values, 0.90) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
        }

    result = {
        "kills": args.kills,
        "pods": args.pods,
        "kube_apiserver": cp.version,
        "oom_to_metric": summary(to_metric),
        "oom_to_status": summary(to_status),
        "oom_to_event": summary(to_event),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{args.kills} OOMKills over {args.pods} pods, kube-apiserver {cp.version}")
        print(f"{'path':<16}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for key in ("oom_to_metric", "oom_to_status", "oom_to_event"):
            s = result[key]
            assert isinstance(s, dict)
            print(f"{key:<16}{s['median_ms']:>11}{s['p90_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
