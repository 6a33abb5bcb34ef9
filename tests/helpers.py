"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from leakwatch.dev.cluster import ControlPlane
from leakwatch.dev.operator import OperatorProcess

__all__ = ["OperatorProcess", "deployment_pod", "kubectl", "kubelet_status", "wait_for"]

T = TypeVar("T")


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


def kubectl(cp: ControlPlane, *args: str) -> str:
    done = subprocess.run(
        [str(cp.binary("kubectl")), "--kubeconfig", str(cp.kubeconfig), *args], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout
