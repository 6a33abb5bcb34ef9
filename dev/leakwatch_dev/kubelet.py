"""A stand-in for the kubelet and its cAdvisor endpoint, for pods on kwok's fake nodes.

kwok makes nodes and schedules nothing itself; pods that carry the annotation
`kwok.x-k8s.io/status: custom` are left to us. For those this stand-in does what a kubelet would:
writes their Running status, serves their memory on /metrics as cAdvisor and a JVM would
(`container_memory_working_set_bytes`, `container_memory_rss`, `jvm_memory_committed_bytes`,
`jvm_native_memory_committed_bytes`), and when a container's memory reaches its limit, writes
`lastState.terminated.reason: OOMKilled`, bumps `restartCount` and starts the series again.

Memory follows a scenario: per version, a base, a growth rate and a GC sawtooth, in MiB and MiB
per minute of wall-clock time (the demo compresses days into minutes).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from leakwatch.core.attribution import image_tag
from leakwatch.core.pods import pod_info
from leakwatch_dev.cluster import free_port

log = logging.getLogger(__name__)
MiB = 2**20
CUSTOM_STATUS = {"kwok.x-k8s.io/status": "custom"}


@dataclass(frozen=True)
class VersionBehaviour:
    base_mib: float = 256
    growth_mib_per_minute: float = 0.0
    sawtooth_mib: float = 24
    sawtooth_seconds: float = 20
    heap_mib: float = 128


@dataclass
class ContainerRun:
    started: float
    restarts: int = 0
    last_oom: str | None = None


@dataclass
class PodState:
    namespace: str
    name: str
    uid: str
    version: str
    limits: dict[str, float]
    runs: dict[str, ContainerRun] = field(default_factory=dict)
    start_time: str = ""


def rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeKubelet:
    def __init__(
        self,
        core: client.CoreV1Api,
        behaviours: dict[str, VersionBehaviour],
        namespace: str,
        *,
        backdate_seconds: dict[str, float] | None = None,
        tick_seconds: float = 0.5,
    ) -> None:
        self.core = core
        self.behaviours = behaviours
        self.namespace = namespace
        self.backdate = backdate_seconds or {}
        self.tick = tick_seconds
        self.pods: dict[str, PodState] = {}
        self.lock = threading.Lock()
        self.port = free_port()
        self._stop = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.oom_kills: list[tuple[str, str, str]] = []  # (pod, version, finishedAt): what we wrote

    # --- memory model ----------------------------------------------------------------------------
    def memory(self, pod: PodState, container: str, now: float) -> float:
        run = pod.runs[container]
        b = self.behaviours.get(pod.version, VersionBehaviour())
        age = now - run.started
        saw = b.sawtooth_mib * ((age % b.sawtooth_seconds) / b.sawtooth_seconds)
        wobble = 2 * math.sin(age / 3.7 + hash(pod.uid) % 7)
        return (b.base_mib + b.growth_mib_per_minute * age / 60 + saw + wobble) * MiB

    # --- kubelet ----------------------------------------------------------------------------------
    def _status(self, pod: PodState) -> dict[str, Any]:
        statuses = []
        for name, run in pod.runs.items():
            entry: dict[str, Any] = {
                "name": name,
                "ready": True,
                "started": True,
                "restartCount": run.restarts,
                "image": "stand-in",
                "imageID": "",
                "state": {"running": {"startedAt": rfc3339(run.started)}},
            }
            if run.last_oom:
                terminated = {
                    "reason": "OOMKilled",
                    "exitCode": 137,
                    "startedAt": pod.start_time,
                    "finishedAt": run.last_oom,
                }
                entry["lastState"] = {"terminated": terminated}
            statuses.append(entry)
        return {
            "status": {
                "phase": "Running",
                "startTime": pod.start_time,
                "hostIP": "10.0.0.1",
                "podIP": "10.0.0.2",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": statuses,
            }
        }

    def _write(self, pod: PodState) -> None:
        with contextlib.suppress(ApiException):
            self.core.patch_namespaced_pod_status(pod.name, pod.namespace, self._status(pod))

    def _sync(self) -> None:
        response: Any = self.core.list_namespaced_pod(self.namespace, _preload_content=False)
        listed = json.loads(response.data)["items"]
        now = time.time()
        alive = set()
        for raw in listed:
            meta, spec = raw["metadata"], raw["spec"]
            ours = (meta.get("annotations") or {}).get("kwok.x-k8s.io/status") == "custom"
            if not spec.get("nodeName") or not ours:
                continue
            if meta.get("deletionTimestamp"):
                # A kubelet confirms a graceful deletion once the containers stopped; ours stop at once.
                with contextlib.suppress(ApiException):
                    self.core.delete_namespaced_pod(meta["name"], meta["namespace"], grace_period_seconds=0)
                continue
            alive.add(meta["uid"])
            if meta["uid"] in self.pods:
                continue
            info = pod_info(raw)
            version = image_tag(info.containers[0].image) or "unknown"
            limits = {c.name: c.memory_limit_bytes or 512 * MiB for c in info.containers}
            pod = PodState(info.namespace, info.name, info.uid, version, limits)
            pod.runs = {c.name: ContainerRun(started=now) for c in info.containers}
            pod.start_time = rfc3339(now - self.backdate.get(version, 0))
            with self.lock:
                self.pods[info.uid] = pod
            self._write(pod)
        with self.lock:
            for uid in [u for u in self.pods if u not in alive]:
                del self.pods[uid]

    def _enforce_limits(self) -> None:
        now = time.time()
        with self.lock:
            pods = list(self.pods.values())
        for pod in pods:
            killed = False
            for name, run in pod.runs.items():
                if self.memory(pod, name, now) >= pod.limits[name]:
                    run.restarts += 1
                    run.last_oom = rfc3339(now)
                    run.started = now + random.uniform(0.5, 1.5)  # the restart takes a moment
                    self.oom_kills.append((pod.name, pod.version, run.last_oom))
                    killed = True
            if killed:
                self._write(pod)

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            try:
                self._sync()
                self._enforce_limits()
            except Exception as err:  # the API server restarting in a fault test, say
                log.warning("fake kubelet: %s", err)

    # --- cAdvisor ---------------------------------------------------------------------------------
    def exposition(self) -> str:
        now = time.time()
        lines = []
        with self.lock:
            pods = list(self.pods.values())
        families = (
            "container_memory_working_set_bytes",
            "container_memory_rss",
            "jvm_memory_committed_bytes",
            "jvm_native_memory_committed_bytes",
        )
        for family in families:
            lines.append(f"# TYPE {family} gauge")
            for pod in pods:
                b = self.behaviours.get(pod.version, VersionBehaviour())
                for name, run in pod.runs.items():
                    if now < run.started:
                        continue  # restarting: no series, as with a real container
                    labels = f'namespace="{pod.namespace}",pod="{pod.name}",container="{name}"'
                    value = self.memory(pod, name, now)
                    if family == "container_memory_working_set_bytes":
                        lines.append(f"{family}{{{labels}}} {value:.0f}")
                    elif family == "container_memory_rss":
                        lines.append(f"{family}{{{labels}}} {value * 0.97:.0f}")
                    elif family == "jvm_memory_committed_bytes":
                        lines.append(f'{family}{{{labels},area="heap"}} {b.heap_mib * MiB:.0f}')
                        lines.append(f'{family}{{{labels},area="nonheap"}} {40 * MiB:.0f}')
                    else:
                        other = value * 0.97 - (b.heap_mib + 40) * MiB
                        lines.append(f'{family}{{{labels},pool="Other"}} {max(other, 0):.0f}')
        return "\n".join(lines) + "\n"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return exposition_handler(self.exposition)

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name="cadvisor", daemon=True).start()
        threading.Thread(target=self._run, name="fake-kubelet", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()

    def scrape_config(self, interval: str = "2s") -> dict[str, Any]:
        return {
            "job_name": "cadvisor",
            "honor_labels": True,
            "scrape_interval": interval,
            "static_configs": [{"targets": [f"127.0.0.1:{self.port}"]}],
        }


def exposition_handler(render: Callable[[], str]) -> type[BaseHTTPRequestHandler]:
    """An HTTP handler serving `render()` at /metrics in the Prometheus text format, quietly."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.startswith("/metrics")
            body = render().encode() if found else b"not found"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def fake_node(name: str = "kwok-node-0") -> dict[str, Any]:
    """A Node kwok keeps Ready (it manages nodes with this annotation)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake"},
            "labels": {"type": "kwok", "kubernetes.io/hostname": name},
        },
        "spec": {},
        "status": {
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "500"},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "500"},
        },
    }
