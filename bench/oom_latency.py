"""OOMKill-to-metric, -status and -Event latency on a real control plane.

    python bench/oom_latency.py [--kills 200] [--pods 10] [--json]

Starts etcd + kube-apiserver + controller-manager on loopback and the real operator process,
creates one LeakWatch over --pods pods per 10 OOMKills (the operator announces at most 10 a
minute per LeakWatch, the rest in one summary Event), then writes --kills OOMKills one after
another, round-robin over the LeakWatches, through the pod status subresource exactly as a kubelet
does. For each it measures the time from the status write to (a) `leakwatch_oom_kills_total`
showing it on /metrics, (b) its LeakWatch's status counting it, (c) the Event on that LeakWatch.
Prints median, p90, p99 and max.

    python bench/oom_latency.py --heavy-pods 400 --heavy-days 3 [--analysis-interval 2] [--gap 0.5]

What the analysis costs those paths. A second LeakWatch, `heavy`, watches --heavy-pods more pods
whose --heavy-days of 1-minute memory history (bench/analysis_cycle.py's) is backfilled into a
real Prometheus, and the operator analyses every --analysis-interval seconds, so one long
assessment follows another while the OOMKills are written (before issue 20 each held the
accountant's lock). The first OOMKill waits until `heavy` has verdicts; the run fails if no
analysis cycle ended during the OOMKills or any analysis failed, and it also prints the operator's
own analysis figures over the OOMKills (leakwatch_analysis_cycle_duration_seconds and friends).
--gap spreads the OOMKills over many analysis cycles: back to back, 200 take a few seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kubernetes import client, config
from prometheus_client.parser import text_string_to_metric_families

import leakwatch
from analysis_cycle import history_times, memory_history, pod_version

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
# tests/ is not on mypy's path (it checks `mypy bench/oom_latency.py` without them)
from helpers import deployment_pod, kubelet_status, leakwatch_manifest  # type: ignore[import-not-found,unused-ignore]
from leakwatch.api import GROUP, VERSION
from leakwatch.watch.accountant import OOM_EVENTS_PER_MINUTE
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.operator import OperatorProcess
from leakwatch_dev.prometheus import PrometheusServer

NAMESPACE = "bench"
HEAVY = "catalog-api"  # the LeakWatch whose analysis is the load, over the pods labelled so
# The operator's own figures of its analysis, summed over their labels.
ANALYSIS_METRICS = (
    "leakwatch_analysis_cycle_duration_seconds_count",
    "leakwatch_analysis_cycle_duration_seconds_sum",
    "leakwatch_analysis_duration_seconds_count",
    "leakwatch_analysis_duration_seconds_sum",
    "leakwatch_prometheus_query_duration_seconds_sum",
    "leakwatch_analysis_errors_total",
)


def metric_sums(operator: OperatorProcess, names: Collection[str]) -> dict[str, float]:
    totals = dict.fromkeys(names, 0.0)
    for family in text_string_to_metric_families(operator.get("/metrics")):
        for sample in family.samples:
            if sample.name in totals:
                totals[sample.name] += sample.value
    return totals


def metric_total(operator: OperatorProcess) -> float:
    return metric_sums(operator, ("leakwatch_oom_kills_total",))["leakwatch_oom_kills_total"]


def get_leakwatch(custom: client.CustomObjectsApi, name: str) -> dict[str, Any]:
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "leakwatches", name)
    assert isinstance(obj, dict)
    return obj


def start_prometheus(stack: contextlib.ExitStack, root: Path, pods: list[str], days: float) -> PrometheusServer:
    """A real Prometheus on loopback holding `days` of the pods' memory, up to now."""
    server = PrometheusServer(root / "prometheus")
    server.backfill(memory_history(NAMESPACE, pods, history_times(time.time(), days)))
    return stack.enter_context(server)


def create_heavy(core: client.CoreV1Api, custom: client.CustomObjectsApi, pods: list[str], days: float) -> None:
    """The heavy LeakWatch, its window the whole history, and its pods, running since it began."""
    manifest = leakwatch_manifest(HEAVY)
    manifest["spec"]["memory"] = {"window": f"{round(days * 24)}h", "step": "1m"}
    custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "leakwatches", manifest)
    started = datetime.fromtimestamp(time.time() - days * 86400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for i, name in enumerate(pods):
        core.create_namespaced_pod(NAMESPACE, deployment_pod(name, pod_version(i), app=HEAVY, limit="2Gi"))
        core.patch_namespaced_pod_status(name, NAMESPACE, kubelet_status(0, started=started))


def heavy_analysis(custom: client.CustomObjectsApi) -> tuple[dict[str, str], str | None]:
    """The heavy LeakWatch's verdict per version and when it was last analysed."""
    status = get_leakwatch(custom, HEAVY).get("status") or {}
    verdicts = {v["version"]: v.get("verdict", "") for v in status.get("versions") or []}
    return verdicts, status.get("lastAnalysisTime")


def wait_heavy_analysed(custom: client.CustomObjectsApi, timeout: float = 600) -> dict[str, str]:
    """Its verdicts once an analysis has judged at least one version: before that the load may
    not be running at all (no pods known yet, or the query failed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        verdicts, last = heavy_analysis(custom)
        if last and any(v not in ("", "InsufficientData") for v in verdicts.values()):
            return verdicts
        time.sleep(1)
    raise RuntimeError(f"LeakWatch {HEAVY} had no verdict after {timeout:g}s: {heavy_analysis(custom)}")


def analysis_report(
    before: dict[str, float], after: dict[str, float], seconds: float, last_before: str | None, last_after: str | None
) -> dict[str, float]:
    """The operator's analysis over the OOMKills, from its histograms; raises if it did not run."""
    delta = {name: after[name] - before[name] for name in ANALYSIS_METRICS}
    cycles = delta["leakwatch_analysis_cycle_duration_seconds_count"]
    errors = delta["leakwatch_analysis_errors_total"]
    if cycles < 1 or last_after == last_before:
        raise RuntimeError(f"the heavy analysis did not run during the OOMKills: {delta}, last {last_after}")
    if errors:
        raise RuntimeError(f"{errors:g} analyses failed during the OOMKills (see the operator's log): {delta}")
    analysis = delta["leakwatch_analysis_duration_seconds_sum"]
    query = delta["leakwatch_prometheus_query_duration_seconds_sum"]
    return {
        "seconds": round(seconds, 1),
        "cycles": cycles,
        "cycle_mean_s": round(delta["leakwatch_analysis_cycle_duration_seconds_sum"] / cycles, 2),
        "query_per_cycle_s": round(query / cycles, 2),
        "rest_per_cycle_s": round((analysis - query) / cycles, 2),
        "busy_share": round(analysis / seconds, 2),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--pods", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--gap", type=float, default=0, help="seconds between one OOMKill seen and the next written")
    parser.add_argument("--heavy-pods", type=int, default=0, help="pods of the heavy LeakWatch (0: none)")
    parser.add_argument("--heavy-days", type=float, default=3, help="days of memory history of each heavy pod")
    parser.add_argument("--analysis-interval", type=float, default=2, help="seconds between analysis cycles (heavy)")
    parser.add_argument("--operator-log", type=Path, help="copy the operator's log here at the end")
    args = parser.parse_args()
    heavy_pods = [f"{HEAVY}-5d8f9-{i:05d}" for i in range(args.heavy_pods)]
    heavy: dict[str, Any] = {}

    with ControlPlane() as cp, tempfile.TemporaryDirectory() as logs, contextlib.ExitStack() as stack:
        api = config.new_client_from_config(str(cp.kubeconfig))
        core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        cp.install_crds()
        operator = OperatorProcess(cp, Path(logs), [NAMESPACE])
        if heavy_pods:
            prometheus = start_prometheus(stack, Path(logs), heavy_pods, args.heavy_days)
            # extra_env, not env=: the operator of 86e7f77 (issue 20's before) takes no env=
            operator.extra_env.update(
                {
                    "LEAKWATCH_PROMETHEUS_URL": prometheus.url,
                    "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": str(args.analysis_interval),
                }
            )
        operator.start()
        try:
            # Each LeakWatch (named as its app) takes at most as many OOMKills as it may announce
            # one by one in a minute: beyond that its Events are summaries, not one per OOMKill.
            watches = [f"checkout-api-{w}" for w in range(math.ceil(args.kills / OOM_EVENTS_PER_MINUTE))]
            pods = {app: [f"{app}-5d8f9-{i}" for i in range(args.pods)] for app in watches}
            for app, names in pods.items():
                custom.create_namespaced_custom_object(
                    GROUP, VERSION, NAMESPACE, "leakwatches", leakwatch_manifest(app)
                )
                for name in names:
                    core.create_namespaced_pod(NAMESPACE, deployment_pod(name, "3.1.2", app=app))
            restarts = {name: 0 for names in pods.values() for name in names}
            kills = dict.fromkeys(watches, 0)
            time.sleep(2)
            if heavy_pods:
                create_heavy(core, custom, heavy_pods, args.heavy_days)
                heavy["verdicts"] = wait_heavy_analysed(custom)
                last_before = heavy_analysis(custom)[1]
                figures_before, started = metric_sums(operator, ANALYSIS_METRICS), time.monotonic()
            to_metric: list[float] = []
            to_status: list[float] = []
            to_event: list[float] = []
            for n in range(1, args.kills + 1):
                time.sleep(args.gap if n > 1 else 0)
                app = watches[n % len(watches)]
                kills[app] += 1
                pod = pods[app][kills[app] % args.pods]
                restarts[pod] += 1
                finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1_790_000_000 + n))
                start = time.perf_counter()
                core.patch_namespaced_pod_status(pod, NAMESPACE, kubelet_status(restarts[pod], finished))
                seen: dict[str, float] = {}
                while len(seen) < 3:
                    now = time.perf_counter() - start
                    if now > 30:
                        raise RuntimeError(f"OOMKill {n} not seen within 30s: {seen}")
                    # Timed when the answer is in, as the other two: a scrape that waits shows it late.
                    if "metric" not in seen and metric_total(operator) >= n:
                        seen["metric"] = time.perf_counter() - start
                    if "status" not in seen:
                        obj = get_leakwatch(custom, app)
                        if obj.get("status", {}).get("oomKills", 0) >= kills[app]:
                            seen["status"] = time.perf_counter() - start
                    if "event" not in seen:
                        events = core.list_namespaced_event(
                            NAMESPACE,
                            field_selector=f"involvedObject.kind=LeakWatch,involvedObject.name={app},reason=OOMKilled",
                        )
                        if len(events.items) >= kills[app]:
                            seen["event"] = time.perf_counter() - start
                to_metric.append(seen["metric"])
                to_status.append(seen["status"])
                to_event.append(seen["event"])
            if heavy_pods:
                seconds, figures_after = time.monotonic() - started, metric_sums(operator, ANALYSIS_METRICS)
                heavy["analysis"] = analysis_report(
                    figures_before, figures_after, seconds, last_before, heavy_analysis(custom)[1]
                )
        finally:
            operator.stop()
            if args.operator_log:
                shutil.copyfile(operator.log, args.operator_log)

    def summary(values: list[float]) -> dict[str, float]:
        return {
            "median_ms": round(statistics.median(values) * 1000, 1),
            "p90_ms": round(percentile(values, 0.90) * 1000, 1),
            "p99_ms": round(percentile(values, 0.99) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1),
        }

    result = {
        "kills": args.kills,
        "leakwatches": len(watches),
        "pods": args.pods,
        "kube_apiserver": cp.version,
        "oom_to_metric": summary(to_metric),
        "oom_to_status": summary(to_status),
        "oom_to_event": summary(to_event),
    }
    if heavy_pods:
        result["heavy"] = {
            "pods": args.heavy_pods,
            "days": args.heavy_days,
            "samples": len(heavy_pods) * len(history_times(0, args.heavy_days)),
            "analysis_interval_s": args.analysis_interval,
            "verdicts": heavy["verdicts"],
            "operator_code": str(Path(leakwatch.__file__).parent),
            "during_oomkills": heavy["analysis"],
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"{args.kills} OOMKills over {len(watches)} LeakWatches of {args.pods} pods each, "
            f"kube-apiserver {cp.version}"
        )
        print(f"{'path':<16}{'median ms':>11}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}")
        for key in ("oom_to_metric", "oom_to_status", "oom_to_event"):
            s = result[key]
            assert isinstance(s, dict)
            print(f"{key:<16}{s['median_ms']:>11}{s['p90_ms']:>9}{s['p99_ms']:>9}{s['max_ms']:>9}")
        if heavy_pods:
            print_heavy(result["heavy"])
    return 0


def print_heavy(heavy: dict[str, Any]) -> None:
    a = heavy["during_oomkills"]
    verdicts = ", ".join(f"{v} {verdict}" for v, verdict in sorted(heavy["verdicts"].items()))
    print(
        f"heavy LeakWatch: {heavy['pods']} pods x {heavy['days']:g} days at 1m ({heavy['samples']:,} samples), "
        f"analysed every {heavy['analysis_interval_s']:g}s; first verdicts: {verdicts}"
    )
    print(
        f"during the OOMKills ({a['seconds']} s): {a['cycles']:g} analysis cycles ended, mean {a['cycle_mean_s']} s "
        f"(Prometheus {a['query_per_cycle_s']} s, the rest {a['rest_per_cycle_s']} s); analysing "
        f"{a['busy_share']:.0%} of the time"
    )
    print(f"operator code: {heavy['operator_code']}")


if __name__ == "__main__":
    raise SystemExit(main())
