"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from leakwatch.dev.cluster import ControlPlane, free_port

T = TypeVar("T")


class OperatorProcess:
    """The real operator, `python -m leakwatch run`, as a child process."""

    def __init__(self, cp: ControlPlane, log_dir: Path, namespaces: list[str]) -> None:
        self.cp = cp
        self.namespaces = namespaces
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log = log_dir / "operator.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = {}

    def start(self) -> None:
        env = {
            **self.cp.env(),
            "LEAKWATCH_METRICS_PORT": str(self.metrics_port),
            "LEAKWATCH_HEALTH_PORT": str(self.health_port),
            "LEAKWATCH_BIND_ADDRESS": "127.0.0.1",
            "LEAKWATCH_NAMESPACES": ",".join(self.namespaces),
            "LEAKWATCH_PROMETHEUS_URL": os.environ.get("LEAKWATCH_PROMETHEUS_URL", "http://127.0.0.1:1"),
            **self.extra_env,
        }
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "leakwatch", "run"],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"operator exited early:\n{self.log.read_text()[-3000:]}")
            try:
                self.get("/healthz", self.health_port)
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"operator never became healthy:\n{self.log.read_text()[-3000:]}")

    def get(self, path: str, port: int | None = None) -> str:
        url = f"http://127.0.0.1:{port or self.metrics_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body.decode()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no final writes, as when a node dies."""
        if self.popen and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def stop(self) -> None:
        if self.popen and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def wait_for(predicate: Callable[[], T], timeout: float = 30, interval: float = 0.2, what: str = "condition") -> T:
    """Poll `predicate` until it returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def deployment_pod(
    name: str, version: str, *, app: str = "checkout-api", rs_hash: str = "5d8f9", limit: str = "512Mi"
) -> dict[str, Any]:
    """A pod as a Deployment's ReplicaSet makes it (the owner need not exist: the test control
    plane runs no garbage collector)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "labels": {"app": app, "pod-template-hash": rs_hash},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": f"{app}-{rs_hash}",
                    "uid": f"00000000-0000-0000-0000-{rs_hash.ljust(12, '0')[:12]}",
                    "controller": True,
                }
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": f"registry.local/shop/{app}:{version}",
                    "resources": {"limits": {"memory": limit}},
                }
            ]
        },
    }


def kubelet_status(
    restarts: int,
    last_oom_at: str | None = None,
    *,
    terminated_oom_at: str | None = None,
    started: str = "2026-11-25T00:00:00Z",
) -> dict[str, Any]:
    """Pod status as a kubelet writes it after `restarts` restarts, the last one an OOMKill."""
    container: dict[str, Any] = {
        "name": "app",
        "ready": terminated_oom_at is None,
        "restartCount": restarts,
        "image": "img",
        "imageID": "",
        "started": terminated_oom_at is None,
        "state": {"running": {"startedAt": last_oom_at or started}},
    }
    if last_oom_at:
        container["lastState"] = {
            "terminated": {"reason": "OOMKilled", "exitCode": 137, "startedAt": started, "finishedAt": last_oom_at}
        }
    if terminated_oom_at:
        container["state"] = {
            "terminated": {
                "reason": "OOMKilled",
                "exitCode": 137,
                "startedAt": started,
                "finishedAt": terminated_oom_at,
            }
        }
    return {"status": {"phase": "Running", "startTime": started, "containerStatuses": [container]}}
