"""The cost of one analysis cycle: 100 pods, 7 days of 1-minute memory data, real Prometheus.

    python bench/analysis_cycle.py [--pods 100] [--days 7] [--json]

Backfills the history into Debian's Prometheus with promtool, then times what the operator does
per LeakWatch per cycle: the one range query (with the server-side `min_over_time`), and the pure
assessment (segments, Theil-Sen/Kendall, change points, verdicts). Prints the samples moved and
the seconds each part took.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.analysis import FloatArray
from leakwatch.core.assess import LabelledSeries, Reading, assess
from leakwatch.core.oom import Ledger
from leakwatch.core.pods import ContainerSpec, ContainerState, PodInfo
from leakwatch.core.promql import Scope, memory_query
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev.prometheus import PrometheusServer

MiB = 2**20


def pod_version(i: int) -> str:
    """The version pod `i` of `memory_history` runs: odd pods 3.1.2 (the leaky one), even 3.0.10."""
    return "3.1.2" if i % 2 else "3.0.10"


def history_times(end: float, days: float) -> FloatArray:
    """One sample a minute over the `days` before `end`."""
    return np.arange(end - days * 86400, end, 60.0)


def memory_history(namespace: str, pods: Sequence[str], t: FloatArray) -> str:
    """cAdvisor's working set of container `app` of each pod at times `t`, as OpenMetrics text for
    `PrometheusServer.backfill`: 300 MiB with a 15-minute sawtooth and noise, and one pod in ten
    (all of version 3.1.2, see `pod_version`) leaks 5 MiB/h. The same pods give the same numbers."""
    rng = np.random.default_rng(7)
    lines = ["# TYPE container_memory_working_set_bytes gauge"]
    for i, pod in enumerate(pods):
        leak = 5 * MiB if i % 10 == 1 else 0.0
        values = 300 * MiB + leak * (t - t[0]) / 3600 + 30 * MiB * ((t % 900) / 900) + rng.normal(0, MiB, t.size)
        labels = f'namespace="{namespace}",pod="{pod}",container="app"'
        lines.extend(
            f"container_memory_working_set_bytes{{{labels}}} {v:.0f} {ts:.0f}" for ts, v in zip(t, values, strict=True)
        )
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    now = datetime.now(UTC).replace(microsecond=0)
    end = now.timestamp()
    t = history_times(end, args.days)
    pods = [f"checkout-api-5d8f9-{i:05d}" for i in range(args.pods)]
    ledger = Ledger()
    for i, pod in enumerate(pods):
        info = PodInfo(
            "shop",
            pod,
            f"uid-{i}",
            containers=(ContainerSpec("app", memory_limit_bytes=2048 * MiB),),
            statuses=(ContainerState("app"),),
            started_at=datetime.fromtimestamp(t[0], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        ledger.observe(info, version=pod_version(i), workload="checkout-api", containers=[], now=now)
    history = memory_history("shop", pods, t)
    spec = LeakWatchSpec.model_validate(
        {"selector": {"matchLabels": {"app": "checkout-api"}}, "memory": {"window": f"{int(args.days)}d", "step": "1m"}}
    )
    with tempfile.TemporaryDirectory() as tmp:
        server = PrometheusServer(Path(tmp))
        started = time.perf_counter()
        server.backfill(history)
        backfill_s = time.perf_counter() - started
        with server:
            client = PrometheusClient(server.url, timeout_seconds=120)
            query = memory_query(spec.memory, Scope("shop", pods))
            client.range_query(query, end - 3600, end, 60)  # warm the head/block readers once
            started = time.perf_counter()
            found = client.range_query(query, end - args.days * 86400, end, 60)
            query_s = time.perf_counter() - started
    series = [LabelledSeries(s.labels, s.samples) for s in found]
    started = time.perf_counter()
    result = assess(series, Reading("shop", spec, ledger, now + timedelta(seconds=1)))
    assess_s = time.perf_counter() - started
    samples = sum(len(s.samples.t) for s in series)
    report = {
        "pods": args.pods,
        "days": args.days,
        "series": len(series),
        "samples": samples,
        "prometheus_queries_per_cycle": 1,
        "query_seconds": round(query_s, 2),
        "assess_seconds": round(assess_s, 2),
        "cycle_seconds": round(query_s + assess_s, 2),
        "backfill_seconds": round(backfill_s, 1),
        "verdicts": {v: r.verdict for v, r in result.verdicts.items()},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:>30}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
