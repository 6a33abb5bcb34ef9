"""The jooby#3453 bug class on a real JVM: does LeakWatch tell the leaking release from the fixed ones?

    .venv/bin/python bench/jvm_leak.py [--minutes 2.5] [--rate 150] [--time-scale 120]

Builds tests/workloads/netty-post (a Netty HTTP server with its own raw POST decoder) as 1.4.0,
1.5.0 and 1.5.1 if the jars are missing, then runs each release in turn, one JVM at a time, on
loopback under a bounded stream of POSTs (2-32 KiB bodies). 1.5.0 keeps a `readRetainedSlice` of
single-chunk bodies that it never releases, so pooled direct buffers pile up in the JVM's native
"Other" memory. A real Prometheus scrapes the JVM every second, with the labels LeakWatch queries
by (namespace, pod, container). A recording rule stands in for cAdvisor's `container_memory_rss`
(`process_resident_memory_bytes` from client_java, same labels), so the JVMNative signal (RSS
minus committed heap) is the one LeakWatch queries in a cluster.

LeakWatch's own queries (`memory_query` for NMTCategory and JVMNative) go through its own
Prometheus client; the samples are stretched in time by `--time-scale` (as
`leakwatch.core.assess.Reading(time_scale=...)` makes `assess` do: t' = now - (now - t) * scale), because
detection needs hours of growth, and judged by `split_segments`, `analyse_segment` and
`verdict_for_version`. Prints per release and signal: verdict, growth in stretched MiB/h,
time to the limit, and the growth in real MiB/min; draws out/jvm-leak.png.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.analysis import (
    MIB,
    Samples,
    SegmentAnalysis,
    VersionVerdict,
    analyse_segment,
    human_duration,
    split_segments,
    verdict_for_version,
)
from leakwatch.core.promql import Scope, memory_query
from leakwatch.sample.prometheus import PrometheusClient
from leakwatch_dev.cluster import free_port
from leakwatch_dev.loadgen import LoadStats, PostLoad
from leakwatch_dev.prometheus import PrometheusServer

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = REPO / "tests" / "workloads" / "netty-post"
VERSIONS = ("1.4.0", "1.5.0", "1.5.1")
NAMESPACE = "demo"
CONTAINER = "app"
HEAP_MIB = 64
DIRECT_LIMIT_MIB = 256
# A notional container limit: heap, the direct-memory limit and room for the rest of the JVM.
CONTAINER_LIMIT_MIB = HEAP_MIB + DIRECT_LIMIT_MIB + 64
SIGNALS = ("NMTCategory", "JVMNative")
SIGNAL_TITLES = {"NMTCategory": 'NMT "Other" committed', "JVMNative": "RSS - committed heap"}
RSS_RULE = {
    "groups": [
        {
            "name": "cadvisor-stand-in",
            "rules": [{"record": "container_memory_rss", "expr": 'process_resident_memory_bytes{container!=""}'}],
        }
    ]
}


def pod_name(version: str) -> str:
    return f"netty-post-{version}"


def jar_path(version: str) -> Path:
    return WORKLOAD / "target" / version / f"netty-post-{version}.jar"


def build(version: str) -> Path:
    jar = jar_path(version)
    if jar.exists():
        return jar
    print(f"building netty-post {version} ...", flush=True)
    base = ["mvn", "-q", "-B", "-f", str(WORKLOAD / "pom.xml"), f"-Pv{version}", "package"]
    offline = subprocess.run([*base[:2], "-o", *base[2:]], capture_output=True, text=True)
    if offline.returncode != 0:  # the first build fetches Netty, client_java and plugins into ~/.m2
        subprocess.run(base, check=True)
    if not jar.exists():
        raise SystemExit(f"build did not produce {jar}")
    return jar


def jvm_command(jar: Path, http_port: int, metrics_port: int) -> list[str]:
    return [
        "java",
        f"-Xms{HEAP_MIB}m",
        f"-Xmx{HEAP_MIB}m",
        "-XX:+AlwaysPreTouch",  # the heap is resident from the start: RSS - heap is the native part
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-XX:NativeMemoryTracking=summary",
        f"-XX:MaxDirectMemorySize={DIRECT_LIMIT_MIB}m",
        # Netty allocates direct buffers through ByteBuffer.allocateDirect (no reflective no-cleaner
        # path), so -XX:MaxDirectMemorySize is the one limit and NMT counts them under "Other".
        "-Dio.netty.maxDirectMemory=0",
        "-Dio.netty.leakDetection.level=disabled",
        "-jar",
        str(jar),
        str(http_port),
        str(metrics_port),
    ]


def wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"JVM exited with {proc.returncode} before {url} answered")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer in {timeout:.0f}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


@dataclass
class Run:
    version: str
    start: float = 0.0
    end: float = 0.0
    load: LoadStats = field(default_factory=LoadStats)
    series: dict[str, Samples] = field(default_factory=dict)
    segments: dict[str, list[SegmentAnalysis]] = field(default_factory=dict)
    verdicts: dict[str, VersionVerdict] = field(default_factory=dict)


def run_version(version: str, ports: tuple[int, int], args: argparse.Namespace, logs: Path) -> Run:
    http_port, metrics_port = ports
    run = Run(version)
    with (logs / f"netty-post-{version}.log").open("wb") as log:
        proc = subprocess.Popen(
            jvm_command(jar_path(version), http_port, metrics_port),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{metrics_port}/metrics", proc)
        time.sleep(args.settle)  # a few scrapes of the idle JVM first
        load = PostLoad(
            http_port,
            rate=args.rate,
            seconds=args.minutes * 60,
            connections=args.connections,
            min_bytes=args.min_bytes,
            max_bytes=args.max_bytes,
        )
        run.start = time.time()
        print(f"{version}: {args.rate:g} POST/s for {args.minutes:g} min ...", flush=True)
        run.load = load.run()
        run.end = time.time()
        time.sleep(2.5)  # the last scrapes
    finally:
        stop(proc)
    print(f"{version}: sent {run.load.sent}, ok {run.load.ok}, failed {run.load.failed}", flush=True)
    return run


def limit_bytes(signal_name: str) -> float:
    if signal_name == "NMTCategory":
        return DIRECT_LIMIT_MIB * MIB
    return (CONTAINER_LIMIT_MIB - HEAP_MIB) * MIB


def analyse(runs: list[Run], prometheus_url: str, args: argparse.Namespace) -> None:
    client = PrometheusClient(prometheus_url)
    now = max(run.end for run in runs)
    scale = args.time_scale
    step = 1.0
    for run in runs:
        scope = Scope(NAMESPACE, [pod_name(run.version)])
        for signal_name in SIGNALS:
            query = memory_query(MemorySpec(signal=signal_name, step="2s"), scope)
            found = client.range_query(query, run.start, run.end, step)
            if not found:
                raise SystemExit(f"no {signal_name} data for {run.version}: {query}")
            samples = found[0].samples
            run.series[signal_name] = samples
            stretched = Samples(now - (now - samples.t) * scale, samples.v)
            segments = [
                analyse_segment(seg, limit_bytes=limit_bytes(signal_name))
                for seg in split_segments(stretched, max_gap_seconds=3 * step * scale)
            ]
            run.segments[signal_name] = segments
            run.verdicts[signal_name] = verdict_for_version(
                run.version,
                segments,
                oom_kills=0,
                pod_hours=stretched.span_seconds / 3600,
                oom_threshold=2,
            )


def report(runs: list[Run], args: argparse.Namespace) -> None:
    scale = args.time_scale
    print()
    print(f"time scale {scale:g}: 1 s of real time stands for {scale:g} s; {args.minutes:g} real minutes per release")
    print(f"limits: NMT Other {DIRECT_LIMIT_MIB} MiB (-XX:MaxDirectMemorySize); RSS - heap")
    native = CONTAINER_LIMIT_MIB - HEAP_MIB
    print(f"{native} MiB (a notional {CONTAINER_LIMIT_MIB} MiB container minus the {HEAP_MIB} MiB heap)")
    header = f"{'version':8} {'signal':12} {'verdict':16} {'MiB/h (stretched)':>18} {'time to limit':>24}"
    header += f" {'MiB/min real':>13} {'start->end MiB':>16}"
    print(header)
    for run in runs:
        for signal_name in SIGNALS:
            verdict = run.verdicts[signal_name]
            samples = run.series[signal_name]
            segs = [s for s in run.segments[signal_name] if s.analysable]
            slope = float(np.median([s.slope_bytes_per_second for s in segs])) if segs else float("nan")
            ttl = verdict.time_to_oom_seconds
            if ttl is None:
                ttl = min((s.time_to_limit_seconds for s in segs if s.time_to_limit_seconds is not None), default=None)
            ttl_text = "-" if ttl is None else f"{human_duration(ttl)} ({ttl / scale / 60:.1f} real min)"
            edge = max(3, len(samples) // 20)
            first, last = float(np.median(samples.v[:edge])), float(np.median(samples.v[-edge:]))
            print(
                f"{run.version:8} {signal_name:12} {verdict.verdict:16} {slope * 3600 / MIB:18.1f} {ttl_text:>24}"
                f" {slope * scale * 60 / MIB:13.2f} {first / MIB:7.1f}->{last / MIB:7.1f}"
            )
    print()
    for run in runs:
        for signal_name in SIGNALS:
            verdict = run.verdicts[signal_name]
            evidence = "; ".join(verdict.evidence)
            print(f"{run.version} {signal_name}: {verdict.verdict} ({verdict.confidence:.2f}): {evidence}")


def draw(runs: list[Run], path: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colours = {"1.4.0": "tab:green", "1.5.0": "tab:red", "1.5.1": "tab:blue"}
    origin = min(run.start for run in runs)
    fig, axes = plt.subplots(2, 1, figsize=(11, 7.5), sharex=True)
    for ax, signal_name in zip(axes, SIGNALS, strict=True):
        for run in runs:
            samples = run.series[signal_name]
            minutes = (samples.t - origin) / 60
            verdict = run.verdicts[signal_name].verdict
            ax.plot(minutes, samples.v / MIB, color=colours.get(run.version, "black"), lw=1.2)
            ax.axvspan((run.start - origin) / 60, (run.end - origin) / 60, color=colours.get(run.version), alpha=0.06)
            ax.annotate(
                f"{run.version}\n{verdict}",
                xy=((run.start + run.end) / 2 / 60 - origin / 60, 0.8),
                xycoords=("data", "axes fraction"),
                ha="center",
                va="top",
                fontsize=10,
                color=colours.get(run.version, "black"),
                fontweight="bold" if verdict == "Leaking" else "normal",
            )
        ax.axhline(limit_bytes(signal_name) / MIB, color="grey", ls="--", lw=0.8)
        ax.set_ylim(0, limit_bytes(signal_name) / MIB * 1.12)
        ax.text(0, limit_bytes(signal_name) / MIB, " limit", va="bottom", fontsize=8, color="grey")
        ax.set_ylabel("MiB")
        ax.set_title(f"{SIGNAL_TITLES[signal_name]} (LeakWatch {signal_name} query, per-step lower envelope)")
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel(
        f"real minutes (each release {args.minutes:g} min at {args.rate:g} POST/s; "
        f"judged at time scale {args.time_scale:g})"
    )
    fig.suptitle("netty-post: raw POST decoder, 1.5.0 never releases a readRetainedSlice (jooby#3453 class)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=2.5, help="real minutes of load per release")
    parser.add_argument("--rate", type=float, default=150.0, help="POST requests per second")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--min-bytes", type=int, default=2048)
    parser.add_argument("--max-bytes", type=int, default=32768)
    parser.add_argument("--time-scale", type=float, default=120.0, help="stretch factor for the analysis")
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before the load")
    parser.add_argument("--versions", nargs="+", choices=VERSIONS, default=list(VERSIONS))
    parser.add_argument("--png", type=Path, default=REPO / "out" / "jvm-leak.png")
    return parser.parse_args(argv)


def bench(args: argparse.Namespace) -> list[Run]:
    """Build, run each release under load with Prometheus scraping, and judge what it recorded."""
    for version in args.versions:
        build(version)
    ports = {version: (free_port(), free_port()) for version in args.versions}
    root = Path(tempfile.mkdtemp(prefix="leakwatch-jvm-leak-"))
    rules = root / "rules.yml"
    rules.write_text(yaml.safe_dump(RSS_RULE))
    scrape_configs = [
        {
            "job_name": f"netty-post-{version}",
            "static_configs": [
                {
                    "targets": [f"127.0.0.1:{metrics_port}"],
                    "labels": {"namespace": NAMESPACE, "pod": pod_name(version), "container": CONTAINER},
                }
            ],
        }
        for version, (_, metrics_port) in ports.items()
    ]
    runs: list[Run] = []
    try:
        prometheus = PrometheusServer(
            root / "prometheus", scrape_configs=scrape_configs, rule_files=[rules], interval="1s"
        )
        with prometheus as prom:
            for version in args.versions:
                runs.append(run_version(version, ports[version], args, root))
            analyse(runs, prom.url, args)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return runs


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("java") is None or shutil.which("mvn") is None:
        print("needs java (17+) and mvn on PATH", file=sys.stderr)
        return 2
    started = time.monotonic()
    runs = bench(args)
    report(runs, args)
    draw(runs, args.png, args)
    print(f"\nwrote {args.png} in {(time.monotonic() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
