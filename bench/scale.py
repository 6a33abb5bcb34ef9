"""Scale: the real operator over 1,000 / 3,000 / 10,000 pods, 100 namespaces and 500 LeakWatches.

    python bench/scale.py [--sizes 1000,3000,10000] [--kills 1000] [--rate 5] [--profile]

For each size, on a fresh local control plane (etcd + kube-apiserver + controller-manager + kwok,
with an audit policy that logs only the operator's ServiceAccount):
  * 20 kwok nodes; pods bound to them and made Running by kwok; 5 workloads per namespace, each
    half on version 1.0.0 and half on 1.1.0, and one LeakWatch per workload;
  * a real Prometheus scraping a cAdvisor-shaped exporter served here (working set of every pod,
    every 15 s) and the operator's /metrics every 30 s, evaluating the chart's alert rules every 30 s;
  * the operator, as its own ServiceAccount, then `--kills` OOMKills written at `--rate` per second
    through the pod status subresource as a kubelet writes them, round-robin over the LeakWatches
    (so every workload's 1.1.0 gets two and LeakWatchOOMKillsIncreasing can go pending for each).
Measured: start-up (all LeakWatches accounted), RSS and CPU of the operator process (sampled
every second from /proc), its API requests per minute by verb (from the audit log), Prometheus
queries per analysis cycle and their time (from its own metrics), and for every OOMKill the
latency from the status write to (a) leakwatch_oom_kills_total on /metrics (polled 4x a second),
(b) the LeakWatch's status.oomKills (watched), (c) the Events on the LeakWatch and on the pod's
owner (watched), (d) the chart's LeakWatchOOMKillsIncreasing alert pending in Prometheus.
With --profile, py-spy samples the largest run's operator and its top frames are printed.
Prints a table and writes JSON (--out, default out/scale.json).
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import http.server
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config, watch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers import deployment_pod, kubelet_status
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane, free_port
from leakwatch_dev.kubelet import exposition_handler, fake_node
from leakwatch_dev.operator import OperatorProcess
from leakwatch_dev.prometheus import PrometheusServer

REPO = Path(__file__).resolve().parents[1]
NAMESPACES = 100
WORKLOADS_PER_NAMESPACE = 5  # one LeakWatch each: 500
NODES = 20
OPERATOR_NAMESPACE, OPERATOR_ACCOUNT = "leakwatch-system", "leakwatch"
OPERATOR_USER = f"system:serviceaccount:{OPERATOR_NAMESPACE}:{OPERATOR_ACCOUNT}"
OOM_ALERT = "LeakWatchOOMKillsIncreasing"
LEAKING, STEADY = "1.1.0", "1.0.0"
MESSAGE = re.compile(r"of pod (?P<pod>\S+) \(version [^)]*\) was OOMKilled at (?P<at>\S+)")
KILLS_LINE = re.compile(r"^leakwatch_oom_kills_total\{(?P<labels>[^}]*)\} (?P<value>\S+)", re.M)
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


# --- the cluster's shape -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Workload:
    namespace: str
    name: str
    leaking_pods: tuple[str, ...]


def layout(pods: int) -> tuple[list[Workload], list[tuple[str, str, str, str]]]:
    """500 workloads over 100 namespaces; (namespace, pod, workload, version) for every pod."""
    per_workload = max(2, pods // (NAMESPACES * WORKLOADS_PER_NAMESPACE))
    workloads, rows = [], []
    for ns_index in range(NAMESPACES):
        namespace = f"team-{ns_index:03d}"
        for w in range(WORKLOADS_PER_NAMESPACE):
            name = f"svc-{w}"
            leaking = []
            for p in range(per_workload):
                version = LEAKING if p % 2 else STEADY
                pod = f"{name}-{'b' if version == LEAKING else 'a'}-{p:03d}"
                rows.append((namespace, pod, name, version))
                if version == LEAKING:
                    leaking.append(pod)
            workloads.append(Workload(namespace, name, tuple(leaking)))
    return workloads, rows


def pod_manifest(namespace: str, pod: str, workload: str, version: str, node: str) -> dict[str, Any]:
    body = deployment_pod(pod, version, app=workload, rs_hash="b7" if version == LEAKING else "a5")
    body["metadata"]["namespace"] = namespace
    body["spec"]["nodeName"] = node
    return body


def leakwatch_manifest(workload: Workload) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": workload.name, "namespace": workload.namespace},
        "spec": {"selector": {"matchLabels": {"app": workload.name}}, "memory": {"window": "1h", "step": "1m"}},
    }


# --- what cAdvisor would serve ----------------------------------------------------------------------------
class CadvisorStandIn:
    """container_memory_working_set_bytes for every pod, for Prometheus to scrape: 1.1.0 grows."""

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        self.rows = rows
        self.started = time.time()
        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), exposition_handler(self.render))
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def render(self) -> str:
        minutes = (time.time() - self.started) / 60
        lines = ["# TYPE container_memory_working_set_bytes gauge"]
        for namespace, pod, _, version in self.rows:
            mib = 200 + (3 * minutes if version == LEAKING else 0)
            labels = f'namespace="{namespace}",pod="{pod}",container="app"'
            lines.append(f"container_memory_working_set_bytes{{{labels}}} {mib * 2**20:.0f}")
        return "\n".join(lines) + "\n"

    def stop(self) -> None:
        self.server.shutdown()


# --- observers ----------------------------------------------------------------------------------------------
@dataclass
class Kill:
    index: int
    namespace: str
    leakwatch: str
    pod: str
    finished_at: str
    written: float  # monotonic, just before the status write
    seen: dict[str, float] = field(default_factory=dict)  # path -> monotonic
    alerting: bool = False  # the kill that takes its LeakWatch to the OOM alert's minKills

    def measures(self, path: str) -> bool:
        return path != "alert" or self.alerting


class Observations:
    """Who saw which OOMKill when. Counting paths (status, metric) see the n-th kill of a LeakWatch
    when its count reaches n; Events are matched by pod and finishedAt."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kills: list[Kill] = []
        self.by_leakwatch: dict[tuple[str, str], list[Kill]] = collections.defaultdict(list)
        self.by_pod_time: dict[tuple[str, str, str], Kill] = {}
        self.early: dict[tuple[str, str, str], dict[str, float]] = collections.defaultdict(dict)
        self.counts: dict[str, dict[tuple[str, str], float]] = collections.defaultdict(dict)

    def written(self, kill: Kill) -> None:
        with self.lock:
            self.kills.append(kill)
            self.by_leakwatch[(kill.namespace, kill.leakwatch)].append(kill)
            key = (kill.namespace, kill.pod, kill.finished_at)
            self.by_pod_time[key] = kill
            for path, when in self.early.pop(key, {}).items():  # an Event that raced the bookkeeping
                kill.seen.setdefault(path, when)
            for path, counts in self.counts.items():
                self._count(path, (kill.namespace, kill.leakwatch), counts.get((kill.namespace, kill.leakwatch), 0))

    def count(self, path: str, leakwatch: tuple[str, str], total: float, when: float | None = None) -> None:
        with self.lock:
            self.counts[path][leakwatch] = total
            self._count(path, leakwatch, total, when)

    def _count(self, path: str, leakwatch: tuple[str, str], total: float, when: float | None = None) -> None:
        now = time.monotonic() if when is None else when
        for kill in self.by_leakwatch.get(leakwatch, [])[: int(total)]:
            kill.seen.setdefault(path, now)

    def event(self, path: str, namespace: str, pod: str, finished_at: str) -> None:
        now = time.monotonic()
        with self.lock:
            kill = self.by_pod_time.get((namespace, pod, finished_at))
            if kill is None:
                self.early[(namespace, pod, finished_at)].setdefault(path, now)
            else:
                kill.seen.setdefault(path, now)

    def missing(self, paths: tuple[str, ...]) -> int:
        with self.lock:
            return sum(1 for k in self.kills for p in paths if p not in k.seen and k.measures(p))


class Watcher(threading.Thread):
    def __init__(self, name: str, target: Any) -> None:
        super().__init__(name=name, daemon=True)
        self.stop_event = threading.Event()
        self._target_fn = target

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._target_fn(self.stop_event)
            except Exception as err:  # a dropped watch: resume; the counts are idempotent
                print(f"  ({self.name}: {err}; resuming)", file=sys.stderr)
                time.sleep(0.5)


def watch_status(api: client.ApiClient, seen: Observations) -> Watcher:
    custom = client.CustomObjectsApi(api)

    def follow(stop: threading.Event) -> None:
        stream = watch.Watch()
        leakwatches = (custom.list_cluster_custom_object, GROUP, VERSION, "leakwatches")
        for event in stream.stream(*leakwatches, timeout_seconds=60):
            obj = event["object"]
            kills = (obj.get("status") or {}).get("oomKills") or 0
            seen.count("status", (obj["metadata"]["namespace"], obj["metadata"]["name"]), kills)
            if stop.is_set():
                stream.stop()

    return Watcher("status-watch", follow)


def watch_events(api: client.ApiClient, seen: Observations) -> Watcher:
    core = client.CoreV1Api(api)

    def follow(stop: threading.Event) -> None:
        stream = watch.Watch()
        for event in stream.stream(
            core.list_event_for_all_namespaces, field_selector="reason=OOMKilled", timeout_seconds=60
        ):
            obj: client.CoreV1Event = event["object"]
            match = MESSAGE.search(obj.message or "")
            if event["type"] == "ADDED" and match:
                path = "event_leakwatch" if obj.involved_object.kind == "LeakWatch" else "event_owner"
                seen.event(path, obj.metadata.namespace, match["pod"], match["at"])
            if stop.is_set():
                stream.stop()

    return Watcher("event-watch", follow)


def poll_metric(operator: OperatorProcess, seen: Observations, period: float = 0.25) -> Watcher:
    def follow(stop: threading.Event) -> None:
        while not stop.wait(period):
            started = time.monotonic()
            text = operator.get("/metrics?name[]=leakwatch_oom_kills_total")
            totals: dict[tuple[str, str], float] = collections.defaultdict(float)
            for match in KILLS_LINE.finditer(text):
                labels = dict(LABEL.findall(match["labels"]))
                totals[(labels["namespace"], labels["leakwatch"])] += float(match["value"])
            for leakwatch, total in totals.items():
                seen.count("metric", leakwatch, total, started)

    return Watcher("metric-poll", follow)


def poll_alerts(prometheus: PrometheusServer, seen: Observations, minimum: int, period: float = 1.0) -> Watcher:
    """The n-th kill of a LeakWatch (n = the rule's minKills) is what makes the alert true."""
    first_pending: dict[tuple[str, str], float] = {}

    def follow(stop: threading.Event) -> None:
        while not stop.wait(period):
            with urllib.request.urlopen(f"{prometheus.url}/api/v1/alerts", timeout=10) as response:
                alerts = json.load(response)["data"]["alerts"]
            now = time.monotonic()
            for alert in alerts:
                labels = alert["labels"]
                if labels.get("alertname") == OOM_ALERT:
                    first_pending.setdefault((labels["namespace"], labels["leakwatch"]), now)
            with seen.lock:
                for leakwatch, when in first_pending.items():
                    kills = seen.by_leakwatch.get(leakwatch, [])
                    if len(kills) >= minimum:
                        kills[minimum - 1].seen.setdefault("alert", when)

    return Watcher("alert-poll", follow)


# --- the operator process from outside ---------------------------------------------------------------------
class ProcessSampler(threading.Thread):
    """CPU seconds and RSS of one process, every `period` seconds, from /proc."""

    def __init__(self, pid: int, period: float = 1.0) -> None:
        super().__init__(name="sampler", daemon=True)
        self.pid, self.period = pid, period
        self.samples: list[tuple[float, float, int]] = []  # (monotonic, cpu seconds, rss bytes)
        self.stop_event = threading.Event()
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")

    def read(self) -> tuple[float, float, int]:
        stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        rss_pages = int(Path(f"/proc/{self.pid}/statm").read_text().split()[1])
        return time.monotonic(), (int(stat[11]) + int(stat[12])) / self.ticks, rss_pages * self.page

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.samples.append(self.read())
            except (OSError, IndexError):
                return
            self.stop_event.wait(self.period)

    def between(self, start: float, end: float) -> dict[str, float]:
        window = [s for s in self.samples if start <= s[0] <= end]
        if len(window) < 2:
            return {}
        cores = [
            (b[1] - a[1]) / (b[0] - a[0])
            for a, b in zip(window[::5], window[5::5], strict=False)  # 5-second slices for the peak
        ]
        return {
            "cpu_cores_avg": round((window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]), 3),
            "cpu_cores_peak_5s": round(max(cores, default=0.0), 3),
            "rss_mib_avg": round(statistics.fmean(s[2] for s in window) / 2**20, 1),
            "rss_mib_peak": round(max(s[2] for s in window) / 2**20, 1),
        }


def audit_counts(log: Path, start: datetime, end: datetime) -> dict[str, float]:
    """Requests per minute by verb (and resource) the operator made between start and end."""
    counts: collections.Counter[str] = collections.Counter()
    with log.open() as lines:
        for line in lines:
            entry = json.loads(line)
            if entry.get("user", {}).get("username") != OPERATOR_USER:
                continue
            verb = entry.get("verb", "")
            # A watch is one long request: count it once, when it starts.
            if entry.get("stage") != ("ResponseStarted" if verb == "watch" else "ResponseComplete"):
                continue
            when = datetime.fromisoformat(entry["requestReceivedTimestamp"].replace("Z", "+00:00"))
            if not start <= when <= end:
                continue
            ref = entry.get("objectRef", {})
            resource = ref.get("resource", "") + (f"/{ref['subresource']}" if ref.get("subresource") else "")
            counts[f"{verb} {resource}"] += 1
    minutes = (end - start).total_seconds() / 60
    return {key: round(value / minutes, 1) for key, value in sorted(counts.items())}


def operator_metrics(operator: OperatorProcess) -> dict[str, float]:
    wanted = (
        "leakwatch_prometheus_query_duration_seconds_count",
        "leakwatch_prometheus_query_duration_seconds_sum",
        "leakwatch_analysis_cycle_duration_seconds_count",
        "leakwatch_analysis_cycle_duration_seconds_sum",
        "leakwatch_analysis_duration_seconds_count",
    )
    values = {}
    for line in operator.get("/metrics").splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            values[name] = float(value)
    return values


def alert_rules(cp: ControlPlane, out: Path) -> tuple[Path, int]:
    """The chart's alert rules as a Prometheus rule file (rendered by the real helm), with the
    OOM alert's minKills."""
    rendered = subprocess.run(
        [str(cp.binary("helm")), "template", "leakwatch", str(REPO / "helm" / "leakwatch"),
         "--set", "prometheusRule.enabled=true", "--show-only", "templates/prometheusrule.yaml"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    groups = yaml.safe_load(rendered)["spec"]["groups"]
    for group in groups:
        group["interval"] = "30s"
    out.write_text(yaml.safe_dump({"groups": groups}))
    values = yaml.safe_load((REPO / "helm" / "leakwatch" / "values.yaml").read_text())
    return out, int(values["prometheusRule"]["oomKillsIncreasing"]["minKills"])


# --- one size -------------------------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000, 1)

    return {"n": len(values), "median_ms": at(0.5), "p99_ms": at(0.99), "max_ms": round(ordered[-1] * 1000, 1)}


def run_size(pods: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    workloads, rows = layout(pods)
    audit_log = workdir / "audit.log"
    policy = workdir / "audit-policy.yaml"
    policy.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "audit.k8s.io/v1",
                "kind": "Policy",
                "omitStages": ["RequestReceived"],
                "rules": [{"level": "Metadata", "users": [OPERATOR_USER]}, {"level": "None"}],
            }
        )
    )
    audit = (f"--audit-policy-file={policy}", f"--audit-log-path={audit_log}", "--audit-log-maxsize=0")
    result: dict[str, Any] = {"pods": len(rows), "namespaces": NAMESPACES, "leakwatches": len(workloads)}
    with ControlPlane(workdir=workdir / "cp", components=("controller-manager", "kwok"), apiserver_args=audit) as cp:
        api = config.new_client_from_config(str(cp.kubeconfig))
        api.configuration.connection_pool_maxsize = 32
        core, custom, rbac = client.CoreV1Api(api), client.CustomObjectsApi(api), client.RbacAuthorizationV1Api(api)
        cp.install_crds()
        result["kube_apiserver"] = cp.version

        # The operator runs as its own ServiceAccount so the audit log can tell its requests apart.
        core.create_namespace({"metadata": {"name": OPERATOR_NAMESPACE}})
        core.create_namespaced_service_account(OPERATOR_NAMESPACE, {"metadata": {"name": OPERATOR_ACCOUNT}})
        rbac.create_cluster_role_binding(
            {
                "metadata": {"name": "leakwatch-bench"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_ACCOUNT, "namespace": OPERATOR_NAMESPACE}],
            }
        )
        kubeconfig = cp.service_account_kubeconfig(OPERATOR_NAMESPACE, OPERATOR_ACCOUNT, hours=4)

        nodes = [f"kwok-{i:02d}" for i in range(NODES)]
        for node in nodes:
            core.create_node(fake_node(node))
        for ns in sorted({w.namespace for w in workloads}):
            core.create_namespace({"metadata": {"name": ns}})
        for w in workloads:
            custom.create_namespaced_custom_object(GROUP, VERSION, w.namespace, "leakwatches", leakwatch_manifest(w))

        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            list(pool.map(
                lambda i: core.create_namespaced_pod(rows[i][0], pod_manifest(*rows[i], nodes[i % NODES])),
                range(len(rows)),
            ))  # fmt: skip
        while True:
            pending = core.list_pod_for_all_namespaces(field_selector="status.phase!=Running", limit=1)
            left = len(pending.items) + (pending.metadata.remaining_item_count or 0)
            if left == 0:
                break
            time.sleep(1)
        result["setup_seconds"] = round(time.monotonic() - started, 1)
        print(f"  {len(rows)} pods Running on {NODES} kwok nodes in {result['setup_seconds']} s", file=sys.stderr)

        cadvisor = CadvisorStandIn(rows)
        operator = OperatorProcess(cp, workdir, [], kubeconfig=kubeconfig)
        rules, min_kills = alert_rules(cp, workdir / "rules.yaml")
        prometheus = PrometheusServer(
            workdir / "prometheus",
            scrape_configs=[
                {"job_name": "cadvisor", "scrape_interval": "15s", "honor_labels": True,
                 "static_configs": [{"targets": [f"127.0.0.1:{cadvisor.port}"]}]},
                {"job_name": "leakwatch", "scrape_interval": "30s",
                 "static_configs": [{"targets": [f"127.0.0.1:{operator.metrics_port}"]}]},
            ],
            rule_files=[rules],
            interval="30s",
        )  # fmt: skip
        prometheus.start()
        operator.extra_env = {
            "LEAKWATCH_PROMETHEUS_URL": prometheus.url,
            "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": str(args.analysis_interval),
        }
        seen = Observations()
        watchers: list[Watcher] = []
        profiler: subprocess.Popen[bytes] | None = None
        try:
            started = time.monotonic()
            operator.start()
            assert operator.popen is not None
            sampler = ProcessSampler(operator.popen.pid)
            sampler.start()
            expected = {(w.namespace, w.name): len(w.leaking_pods) for w in workloads}

            def accounted() -> int:
                items = custom.list_cluster_custom_object(GROUP, VERSION, "leakwatches")["items"]
                return sum(
                    1
                    for item in items
                    for row in (item.get("status") or {}).get("versions", [])
                    if row.get("version") == LEAKING
                    and row.get("pods") == expected[(item["metadata"]["namespace"], item["metadata"]["name"])]
                )

            while accounted() < len(workloads):
                if time.monotonic() - started > args.startup_timeout:
                    raise RuntimeError(f"only {accounted()} of {len(workloads)} LeakWatches accounted")
                time.sleep(1)
            synced = time.monotonic()
            result["startup_seconds"] = round(synced - started, 1)
            print(f"  operator accounted every pod after {result['startup_seconds']} s", file=sys.stderr)

            watchers = [watch_status(api, seen), watch_events(api, seen), poll_metric(operator, seen),
                        poll_alerts(prometheus, seen, min_kills)]  # fmt: skip
            for watcher in watchers:
                watcher.start()
            time.sleep(2)  # the watches are established before the first kill
            before = operator_metrics(operator)
            window_start, wall_start = time.monotonic(), datetime.now(UTC)
            if args.profile:
                profiler = subprocess.Popen(
                    [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(operator.popen.pid),
                     "--rate", "25", "--nonblocking", "--format", "raw", "--output", str(workdir / "profile.txt"),
                     "--duration", str(int(args.kills / args.rate) + 30)],
                    stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                )  # fmt: skip

            restarts: collections.Counter[str] = collections.Counter()
            lag = 0.0
            for n in range(args.kills):
                due = window_start + n / args.rate
                pause = due - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                lag = max(lag, -pause)
                workload = workloads[n % len(workloads)]
                pod = workload.leaking_pods[(n // len(workloads)) % len(workload.leaking_pods)]
                restarts[f"{workload.namespace}/{pod}"] += 1
                finished = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                kill = Kill(n, workload.namespace, workload.name, pod, finished, time.monotonic())
                kill.alerting = n // len(workloads) == min_kills - 1
                seen.written(kill)
                core.patch_namespaced_pod_status(
                    pod, workload.namespace, kubelet_status(restarts[f"{workload.namespace}/{pod}"], finished)
                )
            written_end = time.monotonic()
            result["kill_rate_per_second"] = round(args.kills / (written_end - window_start), 2)
            result["writer_max_lag_seconds"] = round(lag, 2)

            paths = ("metric", "status", "event_leakwatch", "event_owner")
            deadline = time.monotonic() + 120
            while seen.missing(paths) and time.monotonic() < deadline:
                time.sleep(0.5)
            # The alert needs the n-th kill of each LeakWatch scraped and evaluated: 30 s + 30 s, plus slack.
            deadline = time.monotonic() + 100
            while seen.missing(("alert",)) and time.monotonic() < deadline:
                time.sleep(1)
            window_end, wall_end = time.monotonic(), datetime.now(UTC)
            after = operator_metrics(operator)
        finally:
            for watcher in watchers:
                watcher.stop_event.set()
            if profiler is not None:
                profiler.wait()
            operator.stop()
            prometheus.stop()
            cadvisor.stop()

        result["startup"] = sampler.between(started, synced)
        result["steady"] = sampler.between(window_start, window_end)
        result["steady_seconds"] = round(window_end - window_start, 1)
        result["api_requests_per_minute"] = audit_counts(audit_log, wall_start, wall_end)

        def delta(name: str) -> float:
            return after.get(name, 0.0) - before.get(name, 0.0)

        # Cycles overlap the window's edges, so the per-cycle figures scale what one LeakWatch's
        # analysis costs by the LeakWatches a cycle analyses.
        analyses = delta("leakwatch_analysis_duration_seconds_count")
        per_cycle = len(workloads) / analyses if analyses else None
        cycles = delta("leakwatch_analysis_cycle_duration_seconds_count")
        result["analysis"] = {
            "leakwatches_analysed": analyses,
            "queries_per_cycle": round(delta("leakwatch_prometheus_query_duration_seconds_count") * per_cycle, 1)
            if per_cycle
            else None,
            "query_seconds_per_cycle": round(delta("leakwatch_prometheus_query_duration_seconds_sum") * per_cycle, 2)
            if per_cycle
            else None,
            "cycle_seconds": round(delta("leakwatch_analysis_cycle_duration_seconds_sum") / cycles, 2)
            if cycles
            else None,
        }
        result["latency"] = {
            path: summary([k.seen[path] - k.written for k in seen.kills if path in k.seen])
            for path in (*paths, "alert")
        }
        result["unseen"] = {path: seen.missing((path,)) for path in (*paths, "alert")}
        if args.profile:
            result["profile"] = top_frames(workdir / "profile.txt")
    return result


def top_frames(raw: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """From py-spy's collapsed stacks: the functions most samples were in (self) and under (total)."""
    own: collections.Counter[str] = collections.Counter()
    under: collections.Counter[str] = collections.Counter()
    total = 0
    if not raw.exists():
        return {}
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f.split(" (")[0] + " (" + f.rsplit("/", 1)[-1] if " (" in f else f for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames[1:]):  # frames[0] is the thread
            under[frame] += n

    def share(counter: collections.Counter[str]) -> list[tuple[str, float]]:
        return [(frame, round(100 * n / total, 1)) for frame, n in counter.most_common(top)]

    return {"self_percent": share(own), "total_percent": share(under), "samples": [("all", float(total))]}


def print_table(results: list[dict[str, Any]]) -> None:
    memory_gib = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    print(f"\nmachine: {os.cpu_count()} cores, {memory_gib:.0f} GiB; kube-apiserver {results[0].get('kube_apiserver')};"
          " 100 namespaces, 500 LeakWatches")  # fmt: skip
    header = f"{'':34}" + "".join(f"{r['pods']:>12,}" for r in results)
    print(header)

    def row(label: str, get: Any) -> None:
        cells = []
        for r in results:
            try:
                value = get(r)
            except (KeyError, TypeError):
                value = None
            cells.append(f"{'-' if value is None else value:>12}")
        print(f"{label:34}" + "".join(cells))

    row("start-up to all accounted, s", lambda r: r["startup_seconds"])
    row("RSS steady avg / peak, MiB", lambda r: f"{r['steady']['rss_mib_avg']:.0f}/{r['steady']['rss_mib_peak']:.0f}")
    row("RSS peak during start-up, MiB", lambda r: r["startup"]["rss_mib_peak"])
    row("CPU steady avg, cores", lambda r: r["steady"]["cpu_cores_avg"])
    row("CPU steady peak (5 s), cores", lambda r: r["steady"]["cpu_cores_peak_5s"])
    row("CPU start-up avg, cores", lambda r: r["startup"]["cpu_cores_avg"])
    row("OOMKills written / s", lambda r: r["kill_rate_per_second"])
    row("API requests / min (all)", lambda r: round(sum(r["api_requests_per_minute"].values()), 1))
    verbs = sorted({k for r in results for k in r["api_requests_per_minute"]})
    for verb in verbs:
        row(f"  {verb}", lambda r, v=verb: r["api_requests_per_minute"].get(v, 0))
    row("Prometheus queries / cycle", lambda r: r["analysis"]["queries_per_cycle"])
    row("  their time / cycle, s", lambda r: r["analysis"]["query_seconds_per_cycle"])
    row("  whole cycle, s", lambda r: r["analysis"]["cycle_seconds"])
    for path, label in (
        ("metric", "OOM -> /metrics"),
        ("status", "OOM -> LeakWatch.status"),
        ("event_leakwatch", "OOM -> Event on LeakWatch"),
        ("event_owner", "OOM -> Event on owner"),
        ("alert", "OOM -> alert pending (scrape+rule)"),
    ):
        row(f"{label} p50/p99 ms", lambda r, p=path: "{median_ms:.0f}/{p99_ms:.0f}".format(**r["latency"][p]))
        row("  measured / unseen", lambda r, p=path: f"{r['latency'][p].get('n', 0)}/{r['unseen'][p]}")
    if len(results) > 1:
        xs = [r["pods"] for r in results]
        ys = [r["steady"]["rss_mib_avg"] * 2**20 for r in results]
        slope = statistics.linear_regression(xs, ys).slope
        print(f"\nRSS grows {slope / 1024:.1f} KiB per pod (least squares over the sizes)")
    for r in results:
        if "profile" in r:
            print(f"\nprofile of the {r['pods']:,}-pod run (py-spy, share of samples):")
            for kind in ("self_percent", "total_percent"):
                print(f"  {kind}:")
                for frame, share in r["profile"].get(kind, []):
                    print(f"    {share:5.1f}%  {frame}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,3000,10000", help="pod counts, comma-separated")
    parser.add_argument("--kills", type=int, default=1000, help="OOMKills per size (>= 500 for a p99)")
    parser.add_argument("--rate", type=float, default=5.0, help="OOMKills written per second")
    parser.add_argument("--analysis-interval", type=float, default=60.0, help="LEAKWATCH_ANALYSIS_INTERVAL_SECONDS")
    parser.add_argument("--startup-timeout", type=float, default=600.0)
    parser.add_argument("--profile", action="store_true", help="py-spy the largest size's operator")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "scale.json")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.profile and shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None:
        parser.error("--profile needs py-spy: pip install py-spy")
    results = []
    for pods in sizes:
        print(f"{pods:,} pods:", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix=f"leakwatch-scale-{pods}-") as workdir:
            profile = args.profile and pods == max(sizes)
            results.append(run_size(pods, argparse.Namespace(**{**vars(args), "profile": profile}), Path(workdir)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\n(JSON: {args.out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
