"""Helpers shared by the tests (importable because pytest puts tests/ on sys.path)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
import yaml
from kubernetes import client, config

from leakwatch.api import API_VERSION
from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.node import missing_requirements
from leakwatch_dev.operator import OperatorProcess

__all__ = [
    "CHART",
    "Helm",
    "OperatorProcess",
    "Release",
    "allowed",
    "as_account",
    "deployment_pod",
    "kubectl",
    "kubelet_status",
    "leakwatch_manifest",
    "real_node_marks",
    "wait_for",
]

T = TypeVar("T")

# The advisory of the story (Jooby's Netty leak, fixed in 3.1.4 and 3.2.2), as the unit tests use it.
JOOBY_ADVISORY = LeakAdvisorySpec.model_validate(
    {
        "summary": "Netty direct buffers leak on every POST",
        "aliases": ["jooby#3453"],
        "affected": [
            {
                "package": {"ecosystem": "Maven", "name": "io.jooby:jooby-netty"},
                "ranges": [
                    {"events": [{"introduced": "3.1.2"}, {"fixed": "3.1.4"}]},
                    {"events": [{"introduced": "3.2.0"}, {"fixed": "3.2.2"}]},
                ],
            }
        ],
        "knownGood": ["3.0.10"],
    }
)


def real_node_marks() -> list[pytest.MarkDecorator]:
    """For a module of tests on the real node: skipped, with what is missing, where this machine
    cannot run one (LEAKWATCH_REQUIRE_REAL_NODE=1 turns that into a failure, see conftest.py)."""
    missing = missing_requirements()
    return [
        pytest.mark.cluster,
        pytest.mark.realnode,
        pytest.mark.skipif(bool(missing), reason="no real node here: " + "; ".join(missing)),
        pytest.mark.timeout(900),
    ]


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


def leakwatch_manifest(app: str) -> dict[str, Any]:
    """A LeakWatch over the pods labelled app=<app>, named after it, with every other field defaulted."""
    return {
        "apiVersion": API_VERSION,
        "kind": "LeakWatch",
        "metadata": {"name": app},
        "spec": {"selector": {"matchLabels": {"app": app}}},
    }


def kubelet_status(
    restarts: int,
    last_oom_at: str | None = None,
    *,
    terminated_oom_at: str | None = None,
    started: str | None = None,
) -> dict[str, Any]:
    """Pod status as a kubelet writes it after `restarts` restarts, the last one an OOMKill. The pod
    started now unless `started` says otherwise: a pod that started before its LeakWatch existed
    brings history that is not counted."""
    started = started or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
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


# --- the Helm chart, installed for real ---------------------------------------------------------------
CHART = Path(__file__).resolve().parents[1] / "helm" / "leakwatch"
Doc = dict[str, Any]


@dataclass
class Helm:
    binary: Path
    env: dict[str, str]

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.binary), *args], env=self.env, capture_output=True, text=True, timeout=180, check=False
        )
        if check and result.returncode != 0:
            pytest.fail(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
        return result

    def template(self, *args: str, release: str = "leakwatch", namespace: str = "leakwatch-system") -> list[Doc]:
        out = self("template", release, str(CHART), "--namespace", namespace, *args).stdout
        return [doc for doc in yaml.safe_load_all(out) if doc]


@dataclass
class Release:
    helm: Helm
    cp: ControlPlane
    name: str
    namespace: str

    def install(self, *args: str) -> str:
        """Install the release; return its NOTES (helm's output)."""
        return self._run("install", *args).stdout

    def install_refused(self, *args: str) -> str:
        """Try to install the release and return helm's error; fail the test if it went through."""
        result = self._run("install", *args, check=False)
        if result.returncode == 0:
            self.uninstall()
            pytest.fail(f"helm installed release {self.name}, which should have been refused:\n{result.stdout}")
        return result.stderr

    def upgrade(self, *args: str) -> str:
        return self._run("upgrade", "--reuse-values", *args).stdout

    def _run(self, command: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.helm(
            command,
            self.name,
            str(CHART),
            "--namespace",
            self.namespace,
            "--kubeconfig",
            str(self.cp.kubeconfig),
            "--timeout",
            "120s",
            *args,
            check=check,
        )

    def uninstall(self) -> None:
        """Remove the release, also after a failed install (then there may be nothing to remove)."""
        self.helm(
            "uninstall", self.name, "--namespace", self.namespace, "--kubeconfig", str(self.cp.kubeconfig), check=False
        )

    @property
    def service_account(self) -> str:
        """The chart's full name for this release, which names its ServiceAccount, RBAC and peering
        objects ("<release>-leakwatch": the tests' release names never contain "leakwatch")."""
        return f"{self.name}-leakwatch"


def as_account(cp: ControlPlane, namespace: str, name: str) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(cp.service_account_kubeconfig(namespace, name)))


def allowed(api: client.ApiClient, verb: str, resource: str, namespace: str | None = None, group: str = "") -> bool:
    """SelfSubjectAccessReview: may the client's own identity do this? `resource` may be a/sub."""
    resource, _, subresource = resource.partition("/")
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    verb=verb, resource=resource, subresource=subresource or None, namespace=namespace, group=group
                )
            )
        )
    )
    return bool(review.status.allowed)


MiB = 2**20


def memory_trace(
    rng: np.random.Generator, leak_per_hour: float, *, end: float, hours: float
) -> list[tuple[float, float]]:
    """15-second working-set samples for `hours` up to `end`: a floor that grows (or not), a GC
    sawtooth on top, and noise."""
    t = np.arange(end - hours * 3600, end, 15.0)
    elapsed = (t - t[0]) / 3600
    sawtooth = 40 * MiB * ((t % 300) / 300)
    values = 300 * MiB + leak_per_hour * elapsed + sawtooth + rng.normal(0, 2 * MiB, t.size)
    return list(zip(t.tolist(), values.tolist(), strict=True))
