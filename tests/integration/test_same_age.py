"""A version's growth read beside the previous version's at the same container age, end to end: a
real Prometheus backfilled with a day of history (promtool), real pods in a real API server, the
operator judging from them. A heap that fills for 9 h after every deploy is a leak on the new
version's curve alone; beside the previous version, which filled the same for its first hours and
then stopped, it is Suspected. The same new version without that history is Leaking."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from kubernetes import client

from helpers import OperatorProcess, deployment_pod, kubelet_status, leakwatch_manifest, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.prometheus import PrometheusServer, openmetrics

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus2]
MiB = 2**20
STEP = 60.0
NOW = float(int(time.time() // STEP * STEP))
DEPLOYED = NOW - 6 * 3600  # 1.1.0 replaced 1.0.0 six hours ago
FILL_PER_HOUR = 40 * MiB
FILL_HOURS = 9.0


def _filling(rng: np.random.Generator, namespace: str, pod: str, start: float, end: float) -> dict[Any, Any]:
    """A heap committed up to its max over its container's first 9 h, under a GC sawtooth."""
    t = np.arange(start, end, STEP)
    hours = (t - start) / 3600
    v = 300 * MiB + FILL_PER_HOUR * np.minimum(hours, FILL_HOURS) + 20 * MiB * ((t % 600) / 600)
    v += rng.normal(0, MiB, t.size)
    labels = (("namespace", namespace), ("pod", pod), ("container", "app"))
    return {("container_memory_working_set_bytes", labels): list(zip(t.tolist(), v.tolist(), strict=True))}


def _history(namespace: str) -> dict[Any, Any]:
    rng = np.random.default_rng(20261207)
    return {
        # cart: 1.0.0 ran 14 h (filled, then flat) and was replaced by 1.1.0
        **_filling(rng, namespace, "cart-old-0", NOW - 20 * 3600, DEPLOYED),
        **_filling(rng, namespace, "cart-new-0", DEPLOYED, NOW + STEP),
        # basket: the same 1.1.0 curve, with no earlier container in the window
        **_filling(rng, namespace, "basket-new-0", DEPLOYED, NOW + STEP),
    }


def _rfc3339(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def test_growth_the_previous_version_had_at_the_same_age_and_stopped_is_suspected_not_leaking(
    control_plane: ControlPlane,
    core_v1: client.CoreV1Api,
    custom_objects: client.CustomObjectsApi,
    namespaces: Callable[[str], str],
    tmp_path: Path,
) -> None:
    namespace = namespaces("age")
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "operator").mkdir()
    prometheus = PrometheusServer(tmp_path / "prometheus")
    prometheus.backfill(openmetrics(_history(namespace)))
    pods = {
        "cart-old-0": ("cart", "1.0.0", NOW - 20 * 3600),
        "cart-new-0": ("cart", "1.1.0", DEPLOYED),
        "basket-new-0": ("basket", "1.1.0", DEPLOYED),
    }
    for name, (app, version, started) in pods.items():
        pod = deployment_pod(name, version, app=app, limit="1Gi", rs_hash=version.replace(".", ""))
        core_v1.create_namespaced_pod(namespace, pod)
        core_v1.patch_namespaced_pod_status(name, namespace, kubelet_status(0, started=_rfc3339(started)))
    for app in ("cart", "basket"):  # memory.window defaults to 24h
        custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "leakwatches", leakwatch_manifest(app)
        )
    operator = OperatorProcess(control_plane, tmp_path / "operator", [namespace])
    prometheus.start()
    try:
        operator.extra_env = {"LEAKWATCH_PROMETHEUS_URL": prometheus.url, "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "2"}
        operator.start()

        def new_version(app: str) -> dict[str, Any] | None:
            obj = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", app)
            found = {v["version"]: v for v in obj.get("status", {}).get("versions", [])}
            judged = found.get("1.1.0")
            return judged if judged and judged.get("verdict") in ("Leaking", "Suspected") else None

        alone = wait_for(lambda: new_version("basket"), timeout=90, what="basket's 1.1.0 judged")
        beside = wait_for(lambda: new_version("cart"), timeout=90, what="cart's 1.1.0 judged")
        cart = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", "cart")
    finally:
        operator.stop()
        prometheus.stop()

    assert alone["verdict"] == "Leaking"  # on its own curve: 40 MiB/h for 6 h, 8 h from the limit
    assert beside["verdict"] == "Suspected" and beside.get("timeToOOMSeconds") is None
    (suspected,) = [c for c in cart["status"]["conditions"] if c["type"] == "LeakSuspected"]
    assert suspected["reason"] == "GrowthSuspected"
    twin = re.search(r"version 1\.0\.0 grew ([\d.]+) MiB/h at the same container age", suspected["message"])
    assert twin is not None, suspected["message"]
    assert float(twin.group(1)) == pytest.approx(FILL_PER_HOUR / MiB, rel=0.15)
