"""A real JVM leaking pooled direct buffers (the jooby#3453 bug class), scraped by a real Prometheus
and judged by LeakWatch's own queries and analysis: 1.5.0 leaks, 1.5.1 (the fix) is stable.

Runs tests/workloads/netty-post through bench/jvm_leak.py, 75 s of POST load per release, one
JVM at a time, loopback only; about three minutes once the jars are built. Skipped without java,
mvn or the Prometheus the bench starts, except where CI requires the real parts
(LEAKWATCH_REQUIRE_REAL_NODE=1): there it fails and says what is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from leakwatch_dev.cluster import ControlPlaneError
from leakwatch_dev.prometheus import tool

REPO = Path(__file__).resolve().parents[2]


def _missing() -> str | None:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        return "needs java and mvn"
    try:
        tool("prometheus")  # the line the bench starts (LEAKWATCH_PROMETHEUS_LINE)
    except ControlPlaneError as err:
        return str(err)
    return None


MISSING = _missing()
REQUIRED = os.environ.get("LEAKWATCH_REQUIRE_REAL_NODE") == "1"
pytestmark = [
    pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=MISSING or ""),
    pytest.mark.timeout(600),
]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("jvm_leak_bench", REPO / "bench" / "jvm_leak.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_leaking_release_is_told_from_its_fix(tmp_path: Path) -> None:
    if MISSING is not None:
        pytest.fail(f"LEAKWATCH_REQUIRE_REAL_NODE=1, but {MISSING}")
    bench = _bench()
    args = bench.parse_args(
        ["--minutes", "1.25", "--time-scale", "240", "--versions", "1.5.0", "1.5.1", "--png", str(tmp_path / "a.png")]
    )
    runs = {run.version: run for run in bench.bench(args)}
    for signal in ("NMTCategory", "JVMNative"):
        leaking, fixed = runs["1.5.0"].verdicts[signal], runs["1.5.1"].verdicts[signal]
        assert leaking.verdict == "Leaking", (signal, leaking.evidence)
        assert leaking.time_to_oom_seconds is not None and leaking.time_to_oom_seconds > 0
        assert fixed.verdict == "Stable", (signal, fixed.evidence)
    # The leak is real memory: the NMT "Other" floor rose by tens of MiB in 75 s of load.
    other = runs["1.5.0"].series["NMTCategory"].v
    assert other[-5:].min() - other[:5].max() > 30 * 2**20
    assert np.ptp(runs["1.5.1"].series["NMTCategory"].v) < 16 * 2**20
