"""Record memory traces from real processes in memory cgroups, in the detection corpus's format.

The synthetic corpus (tests/corpus) is drawn from models of how memory grows; a model is only as
good as what its author knew. These traces come from real runtimes (a JVM and its collectors,
pymalloc, glibc malloc, the Go runtime, the kernel's page cache) in a memory cgroup with a limit, so
the numbers are the kernel's own accounting: the same files cAdvisor reads on a node.

For one workload (`WORKLOADS` below) the recorder

* creates a memory cgroup (cgroup v2 when the memory controller is on the unified hierarchy, else
  the cgroup v1 memory hierarchy, under the recorder's own memory cgroup), with the workload's
  limit and no swap;
* starts the workload's process in it (the child writes its own pid into `cgroup.procs` before it
  execs, so everything it allocates is charged there);
* samples every `--interval` seconds the cgroup's usage and memory.stat, and computes what cAdvisor
  would export: working set = usage - inactive_file (floored at 0), RSS = anon (v2) or total_rss
  (v1);
* watches the OOM-kill counter (v2 memory.events `oom_kill`, v1 memory.oom_control `oom_kill`):
  the sample at which it rises is written as exactly `limit_bytes` (the corpus's convention for an
  OOMKill), and the workload is restarted after `--restart-delay` seconds while `--restarts` allow,
  as a kubelet restarts an OOM-killed container in the same pod;
* for a JVM or Go workload, reads each sample the runtime's own memory, which the workload writes
  every second (`RUNTIME_STATS`): the JVM's committed, used and max heap, or what the Go runtime
  manages, its heap objects and GOMEMLIMIT, the numbers Micrometer and client_golang export;
* writes a format-1 trace (tests/corpus/README.md) with `bytes` = the working set and, per pod,
  `signals` = {rss, file, active_file, shmem} aligned with `t`, plus `jvm_committed`, `jvm_used`,
  `jvm_cap` or `go_committed`, `go_used`, `go_cap` (0 until the runtime first reported).

Time is compressed: a recording of minutes stands for hours of a node. Times are written from a fixed
epoch, stretched by `--time-scale` (1 real second -> time_scale seconds); `step_seconds` is the
sample interval times the time scale; the trace says so in `description` and `time_scale`. What the
stretch does not change is the shape: how the runtime's memory moves relative to its limit.

    PYTHONPATH=dev:operator python -m leakwatch_dev.record jvm-g1-plateau --out tests/corpus/recorded/
    PYTHONPATH=dev:operator python -m leakwatch_dev.record --all --out tests/corpus/recorded/

Each recording uses a core or two for its length: wrap it in `flock /tmp/leakwatch-heavy.lock`.
Needs root (it writes the cgroup filesystem) and java/javac, gcc and go for the workloads that use them.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

FORMAT_VERSION = 1
EPOCH = 1_800_000_000  # the stretched clock starts here (2027-01-15 08:00 UTC), the same for every trace
MIB = 1 << 20
PAGE = 4096
REPO = Path(__file__).resolve().parents[2]
WORKLOADS_DIR = REPO / "tests" / "workloads" / "recorded"
BUILD_DIR = Path("/tmp/leakwatch-rec-build")
SCRATCH_DIR = Path("/var/tmp")


# -- the memory cgroup ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    usage: int  # memory.current (v2) / memory.usage_in_bytes (v1)
    anon: int
    file: int
    active_file: int
    inactive_file: int
    shmem: int

    @property
    def working_set(self) -> int:
        """cAdvisor's container_memory_working_set_bytes: usage minus inactive file, floored at 0."""
        return max(0, self.usage - self.inactive_file)


def _parse_keyed(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def _mounts() -> Iterator[tuple[str, str, list[str]]]:
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mountpoint, fstype, options, *_ = line.split()
        yield mountpoint, fstype, options.split(",")


class Cgroup:
    """One memory cgroup the recorder made, and removes."""

    def __init__(self, name: str, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.version, self.path = self._place(name)
        if self.path.exists():  # left over by a recording that was killed: empty it and start afresh
            self._kill_all()
            self.path.rmdir()
        self.path.mkdir()
        if self.version == 2:
            (self.path / "memory.max").write_text(str(limit_bytes))
            with contextlib.suppress(FileNotFoundError):
                (self.path / "memory.swap.max").write_text("0")
        else:
            (self.path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):  # only with swap accounting
                (self.path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):
                (self.path / "memory.swappiness").write_text("0")

    @staticmethod
    def _place(name: str) -> tuple[int, Path]:
        mounts = list(_mounts())
        for mountpoint, fstype, _ in mounts:
            if fstype != "cgroup2":
                continue
            root = Path(mountpoint)
            if "memory" in (root / "cgroup.controllers").read_text().split():
                control = root / "cgroup.subtree_control"
                if "memory" not in control.read_text().split():
                    control.write_text("+memory")
                return 2, root / name
        for mountpoint, fstype, options in mounts:
            if fstype == "cgroup" and "memory" in options:
                # Under our own memory cgroup: the recording stays inside whatever limits we run under.
                own = next(
                    line.split(":", 2)[2]
                    for line in Path("/proc/self/cgroup").read_text().splitlines()
                    if "memory" in line.split(":", 2)[1].split(",")
                )
                return 1, Path(mountpoint) / own.lstrip("/") / name
        raise SystemExit("no memory cgroup controller is mounted (cgroup v2 or v1)")

    def stat(self) -> Stat:
        stat = _parse_keyed((self.path / "memory.stat").read_text())
        if self.version == 2:
            usage = int((self.path / "memory.current").read_text())
            return Stat(usage, stat["anon"], stat["file"], stat["active_file"], stat["inactive_file"], stat["shmem"])
        usage = int((self.path / "memory.usage_in_bytes").read_text())
        return Stat(
            usage,
            stat["total_rss"],
            stat["total_cache"],
            stat["total_active_file"],
            stat["total_inactive_file"],
            stat.get("total_shmem", 0),
        )

    def oom_kills(self) -> int:
        events = "memory.events" if self.version == 2 else "memory.oom_control"
        return _parse_keyed((self.path / events).read_text()).get("oom_kill", 0)

    def enter(self) -> None:
        """Runs in the child between fork and exec: move itself in before it allocates anything."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def pids(self) -> list[int]:
        return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]

    def _kill_all(self) -> None:
        for _ in range(100):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        raise RuntimeError(f"processes in {self.path} did not die: {self.pids()}")

    def remove(self) -> None:
        if self.path.exists():
            self._kill_all()
            for _ in range(50):
                try:
                    self.path.rmdir()
                    return
                except OSError:
                    time.sleep(0.1)
            self.path.rmdir()


# -- the workloads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    name: str
    label: str  # "leak" | "no-leak"
    pattern: str
    what: str  # for the description: what ran, under which load
    limit_mib: int
    minutes: float  # real minutes recorded
    command: Callable[[Path], list[str]]  # the build dir -> argv
    build: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    first_life_env: dict[str, str] = field(default_factory=dict)  # only the first container's
    leak_after_s: float | None = None  # leaks: real seconds from the first start to the leak's onset
    restarts: int = 0  # after OOMKills
    scratch: bool = False  # gets $SCRATCH, a directory on disk removed afterwards
    # "jvm" | "go": the workload writes its runtime's memory to $RUNTIME_STATS (see Service.java,
    # gomem/main.go) and the trace records it beside the cgroup's
    runtime: str | None = None


def _javac(build: Path) -> None:
    out = build / "java"
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["javac", "-d", str(out), str(WORKLOADS_DIR / "Service.java")], check=True)


def _gcc(build: Path) -> None:
    build.mkdir(parents=True, exist_ok=True)
    src = WORKLOADS_DIR / "leaky_service.c"
    subprocess.run(["gcc", "-O2", "-Wall", "-o", str(build / "leaky_service"), str(src), "-lm"], check=True)


def _go_build(build: Path) -> None:
    build.mkdir(parents=True, exist_ok=True)
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOTOOLCHAIN": "local"}
    subprocess.run([go, "build", "-o", str(build / "gomem"), "."], cwd=WORKLOADS_DIR / "gomem", env=env, check=True)


def _java(*flags: str, args: tuple[str, ...]) -> Callable[[Path], list[str]]:
    return lambda build: ["java", *flags, "-cp", str(build / "java"), "Service", *args]


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload(
            name="jvm-g1-plateau",
            label="no-leak",
            pattern="recorded_jvm_heap_plateau",
            what=(
                "OpenJDK 17, -XX:+UseG1GC -Xms32m -Xmx320m, a session cache bounded at 160 MiB of live data "
                "(1-8 KiB values, eldest evicted) and 16-48 KiB of garbage per request, 200 req/s x "
                "(1 + 0.6 sin(2 pi t / 4 min)) x random 1-3x bursts: the committed heap steps up toward "
                "-Xmx and stays"
            ),
            limit_mib=512,
            minutes=8,
            command=_java("-XX:+UseG1GC", "-Xms32m", "-Xmx320m", args=("plateau", "160")),
            build=_javac,
            runtime="jvm",
        ),
        Workload(
            name="jvm-parallel-plateau",
            label="no-leak",
            pattern="recorded_jvm_heap_plateau",
            what=(
                "OpenJDK 17, -XX:+UseParallelGC -Xms32m -Xmx320m, the same bounded 160 MiB session cache and "
                "load as jvm-g1-plateau: the heap grows in the collector's steps to its cap and stays"
            ),
            limit_mib=512,
            minutes=8,
            command=_java("-XX:+UseParallelGC", "-Xms32m", "-Xmx320m", args=("plateau", "160")),
            build=_javac,
            runtime="jvm",
        ),
        Workload(
            name="python-pymalloc-bursts",
            label="no-leak",
            pattern="recorded_allocation_bursts",
            what=(
                "CPython 3.11 (pymalloc), bursts every 40-90 s building 100k-900k small tuples, holding them 2-6 s "
                "and dropping them (every 97th kept in a bounded recent-rows cache that the trickle of requests "
                "between bursts turns over in about 20 s), so the resident size jumps at each burst (by up to about "
                "110 MiB), stays while the survivors pin pymalloc's arenas, then falls back near its floor"
            ),
            limit_mib=256,
            minutes=8,
            command=lambda build: [sys.executable, str(WORKLOADS_DIR / "pymalloc_service.py")],
        ),
        Workload(
            name="pagecache-writer",
            label="no-leak",
            pattern="recorded_page_cache",
            what=(
                "CPython 3.11 appending 32-256 KiB records at ~1.3 MiB/s x (1 + 0.6 sin(2 pi t / 4 min)) x bursts "
                "to 8 MiB segment files on ext4 (newest 64 kept, 512 MiB on disk), re-reading a recent segment "
                "now and then: the page cache fills the cgroup to near its limit and the kernel reclaims it, "
                "while RSS stays flat; the working set grows with the re-read (active) pages and falls back as "
                "the kernel deactivates them"
            ),
            limit_mib=256,
            minutes=8,
            command=lambda build: [sys.executable, str(WORKLOADS_DIR / "pagecache_writer.py")],
            scratch=True,
        ),
        Workload(
            name="go-gomemlimit",
            label="no-leak",
            pattern="recorded_go_soft_limit",
            what=(
                "Go 1.26, GOGC=100 GOMEMLIMIT=205MiB (80% of the limit), a session table bounded at 110 MiB of "
                "live 1-16 KiB values and 8-64 KiB of garbage per request, 200 req/s x wave x bursts: the heap "
                "goal (2x live) meets the soft limit and the GC holds the heap under it"
            ),
            limit_mib=256,
            minutes=8,
            command=lambda build: [str(build / "gomem"), "sessions", "110"],
            build=_go_build,
            runtime="go",
            env={"GOGC": "100", "GOMEMLIMIT": "205MiB"},
        ),
        Workload(
            name="go-lru-cache",
            label="no-leak",
            pattern="recorded_cache_fill",
            what=(
                "Go 1.26, GOGC=100, an LRU cache capped at 96 MiB of 1-16 KiB values (a growing key space, "
                "recent keys hot) and 8-64 KiB of garbage per request, 200 req/s x wave x bursts: the cache "
                "fills to its cap and the heap saws under 2x of it"
            ),
            limit_mib=320,
            minutes=8,
            command=lambda build: [str(build / "gomem"), "lru", "96"],
            build=_go_build,
            runtime="go",
            env={"GOGC": "100"},
        ),
        Workload(
            name="go-heap-leak-past-gomemlimit",
            label="leak",
            pattern="recorded_go_heap_leak",
            what=(
                "Go 1.26, GOGC=100 GOMEMLIMIT=205MiB (80% of the limit), the session table of go-gomemlimit "
                "without expiry: a quarter of the requests' 1-16 KiB sessions are kept for good (about 0.5 MiB/s "
                "at 200 req/s x wave x bursts), with 8-64 KiB of garbage per request. The live heap grows past "
                "the soft limit, where the GC only runs harder, until the kernel OOM-kills it; restarted once"
            ),
            limit_mib=256,
            minutes=10,
            command=lambda build: [str(build / "gomem"), "leak", "250"],
            build=_go_build,
            runtime="go",
            env={"GOGC": "100", "GOMEMLIMIT": "205MiB"},
            leak_after_s=0.0,
            restarts=1,
        ),
        Workload(
            name="python-memo-leak",
            label="leak",
            pattern="recorded_slow_leak",
            what=(
                "CPython 3.11 (pymalloc), a memo cache of rendered 1-3 KiB responses keyed by customer id that is "
                "never pruned, most requests from new ids, 200 req/s x (1 + 0.6 sin(2 pi t / 4 min)) x bursts "
                "(about 0.3 MiB/s), until the kernel OOM-kills it"
            ),
            limit_mib=160,
            minutes=10,
            command=lambda build: [sys.executable, str(WORKLOADS_DIR / "memo_leak_service.py")],
            leak_after_s=0.0,
        ),
        Workload(
            name="jvm-direct-leak",
            label="leak",
            pattern="recorded_steady_leak",
            what=(
                "OpenJDK 17, -XX:+UseG1GC -Xmx64m -XX:MaxDirectMemorySize=2g, each request retaining a 2-10 KiB "
                "direct ByteBuffer (about 1.2 MiB/s at 200 req/s x (1 + 0.6 sin(2 pi t / 4 min)) x bursts) until "
                "the kernel OOM-kills the JVM, restarted up to twice"
            ),
            limit_mib=384,
            minutes=10,
            command=_java("-XX:+UseG1GC", "-Xms32m", "-Xmx64m", "-XX:MaxDirectMemorySize=2g", args=("leak",)),
            build=_javac,
            runtime="jvm",
            leak_after_s=0.0,
            restarts=2,
        ),
        Workload(
            name="c-rollout-leak",
            label="leak",
            pattern="recorded_rollout_leak",
            what=(
                "a C service (glibc malloc) flat for 150 s under 250 req/s x (1 + 0.6 sin(2 pi t / 4 min)) x "
                "bursts, then a feature flag makes each request lose a 1-8 KiB buffer (about 1.1 MiB/s) until the "
                "kernel OOM-kills it; the restarted container leaks from its start (the flag stays on)"
            ),
            limit_mib=256,
            minutes=9,
            command=lambda build: [str(build / "leaky_service")],
            build=_gcc,
            first_life_env={"LEAK_AFTER_S": "150"},
            leak_after_s=150.0,
            restarts=1,
        ),
    ]
}


# -- recording ------------------------------------------------------------------------------------


@dataclass
class Series:
    t: list[int] = field(default_factory=list)
    working_set: list[int] = field(default_factory=list)
    rss: list[int] = field(default_factory=list)
    file: list[int] = field(default_factory=list)
    active_file: list[int] = field(default_factory=list)
    shmem: list[int] = field(default_factory=list)
    # The runtime's own memory (Workload.runtime), 0 until a life has written it.
    runtime_committed: list[int] = field(default_factory=list)
    runtime_used: list[int] = field(default_factory=list)
    runtime_cap: list[int] = field(default_factory=list)


def _runtime_stats(path: Path | None) -> tuple[int, int, int]:
    """committed, used, cap from the workload's stats file; zeros before it is written. The JVM
    reports an undefined max as -1 and Go an unset GOMEMLIMIT as MaxInt64: both read as no cap (0)."""
    try:
        committed, used, cap = (int(word) for word in path.read_text().split()) if path else (0, 0, 0)
    except (OSError, ValueError):
        return 0, 0, 0
    return committed, used, cap if 0 < cap < 2**62 else 0


class _Stop(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def record(
    workload: Workload,
    out_dir: Path,
    *,
    minutes: float | None = None,
    time_scale: float = 60.0,
    interval: float = 1.0,
    restarts: int | None = None,
    restart_delay: float = 2.0,
) -> Path:
    minutes = workload.minutes if minutes is None else minutes
    restarts = workload.restarts if restarts is None else restarts
    limit = workload.limit_mib * MIB
    started_at = datetime.now(UTC)
    name = f"{workload.name}-real-{started_at:%Y%m%d-%H%M}"
    pod = f"{workload.name}-rec-0"
    build = BUILD_DIR / workload.name
    if workload.build is not None:
        workload.build(build)
    scratch = SCRATCH_DIR / f"leakwatch-rec-{workload.name}" if workload.scratch else None
    env = {**os.environ, "SEED": "1", **workload.env}
    stats = BUILD_DIR / f"{workload.name}.runtime" if workload.runtime else None
    if stats is not None:
        env["RUNTIME_STATS"] = str(stats)
    if scratch is not None:
        env["SCRATCH"] = str(scratch)

    series = Series()
    ooms: list[int] = []  # stretched times of the OOM samples
    exits: list[str] = []
    capped = 0
    lives = 0
    old_handlers = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    cgroup = Cgroup(f"leakwatch-rec-{workload.name}", limit)
    proc: subprocess.Popen[bytes] | None = None
    try:

        def start() -> subprocess.Popen[bytes]:
            nonlocal lives
            life_env = {**env, **(workload.first_life_env if lives == 0 else {})}
            if stats is not None:
                stats.unlink(missing_ok=True)  # a new life reports its own runtime
            lives += 1
            return subprocess.Popen(
                workload.command(build),
                env=life_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=sys.stderr,
                preexec_fn=cgroup.enter,
                cwd=scratch.parent if scratch else None,
            )

        t0 = time.monotonic()
        proc = start()
        kills_seen = cgroup.oom_kills()
        kills_at_start = kills_seen
        restart_at: float | None = None
        tick = 0
        dead_ticks = 0
        while True:
            now = time.monotonic()
            elapsed = now - t0
            if elapsed >= minutes * 60:
                break
            kills = cgroup.oom_kills()
            stat = cgroup.stat()
            t = EPOCH + round(elapsed * time_scale)
            if series.t and t <= series.t[-1]:
                t = series.t[-1] + 1
            if kills > kills_seen:
                kills_seen = kills
                ws = limit  # the corpus's convention: a sample at the limit is the OOMKill
                ooms.append(t)
            else:
                ws = stat.working_set
                if ws >= limit:  # a scrape at the limit without a kill would read as one; keep it a page below
                    ws, capped = limit - PAGE, capped + 1
            series.t.append(t)
            series.working_set.append(ws)
            series.rss.append(stat.anon)
            series.file.append(stat.file)
            series.active_file.append(stat.active_file)
            series.shmem.append(stat.shmem)
            committed, used, cap = _runtime_stats(stats)
            series.runtime_committed.append(committed)
            series.runtime_used.append(used)
            series.runtime_cap.append(cap)

            if proc is not None and proc.poll() is not None:
                code = proc.returncode
                oom_killed = kills_seen > kills_at_start
                exits.append(
                    f"life {lives} exited {code} at {elapsed:.0f} s real" + (" (OOMKill)" if oom_killed else "")
                )
                print(exits[-1], file=sys.stderr)
                proc = None
                if not oom_killed:
                    break  # a crash, not a memory shape: stop and say so
                if lives <= restarts:
                    restart_at = now + restart_delay
            if proc is None and restart_at is None:
                dead_ticks += 1
                if dead_ticks > 2:
                    break  # dead for good (no restarts left): a couple of samples after the kill, then stop
            if restart_at is not None and now >= restart_at:
                restart_at = None
                kills_at_start = cgroup.oom_kills()
                proc = start()
            tick += 1
            time.sleep(max(0.0, t0 + tick * interval - time.monotonic()))
        real_seconds = time.monotonic() - t0
    finally:
        cgroup.remove()
        if proc is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        for s, handler in old_handlers.items():
            signal.signal(s, handler)

    crashed = bool(exits) and not exits[-1].endswith("(OOMKill)")
    if crashed:
        raise SystemExit(f"{workload.name}: the workload crashed ({exits[-1]}); no trace written")
    step = round(interval * time_scale)
    onset = None if workload.leak_after_s is None else EPOCH + round(workload.leak_after_s * time_scale)
    oom_time: int | None = ooms[0] if ooms else None
    notes = []
    if workload.label == "leak" and oom_time is None:
        oom_time = _extrapolate_oom(series, limit)
        notes.append(
            f"no OOMKill within the recording: oom_time {oom_time} is extrapolated from the last quarter's slope"
        )
    if capped:
        notes.append(f"{capped} samples read at the limit without an OOMKill were written one page below it")
    description = (
        f"recorded from a real process in a cgroup v{cgroup.version} memory cgroup (limit {workload.limit_mib} MiB, "
        f"no swap) on Linux {platform.release()}: {workload.what}. {real_seconds / 60:.1f} real minutes sampled every "
        f"{interval:g} s; times stretched {time_scale:g}x (1 real s -> {time_scale:g} s) from a fixed epoch. "
        f"{len(ooms)} OOMKill(s)" + (f", {len(ooms)} restart(s) allowed up to {restarts}" if ooms else "") + "."
    )
    if notes:
        description += " " + " ".join(notes) + "."
    doc = {
        "format": FORMAT_VERSION,
        "name": name,
        "pattern": workload.pattern,
        "label": workload.label,
        "description": description,
        "seed": 0,
        "step_seconds": step,
        "time_scale": time_scale,
        "limit_bytes": limit,
        "onset_time": onset,
        "oom_time": oom_time,
        "leaking_pods": [pod] if workload.label == "leak" else [],
        "recorded": {
            "kernel": platform.release(),
            "cgroup_version": cgroup.version,
            "started_at": started_at.isoformat(timespec="seconds"),
            "real_seconds": round(real_seconds, 1),
            "interval_seconds": interval,
            "oom_kills": len(ooms),
            "lives": lives,
            "exits": exits,
            "workload": workload.name,
        },
        "pods": [
            {
                "name": pod,
                "t": series.t,
                "bytes": series.working_set,
                "signals": {
                    "rss": series.rss,
                    "file": series.file,
                    "active_file": series.active_file,
                    "shmem": series.shmem,
                    **(
                        {
                            f"{workload.runtime}_committed": series.runtime_committed,
                            f"{workload.runtime}_used": series.runtime_used,
                            f"{workload.runtime}_cap": series.runtime_cap,
                        }
                        if workload.runtime
                        else {}
                    ),
                },
            }
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json.gz"
    with gzip.open(path, "wt", compresslevel=9) as handle:
        json.dump(doc, handle, separators=(",", ":"))
    return path


def _extrapolate_oom(series: Series, limit: int) -> int:
    n = max(2, len(series.t) // 4)
    t, v = series.t[-n:], series.working_set[-n:]
    mean_t, mean_v = sum(t) / n, sum(v) / n
    var = sum((x - mean_t) ** 2 for x in t)
    slope = sum((x - mean_t) * (y - mean_v) for x, y in zip(t, v, strict=True)) / var if var else 0.0
    if slope <= 0:
        return t[-1]
    return round(t[-1] + (limit - v[-1]) / slope)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m leakwatch_dev.record", description=__doc__.split("\n\n")[0])
    parser.add_argument("workload", nargs="?", choices=sorted(WORKLOADS), help="the workload to record")
    parser.add_argument("--all", action="store_true", help="record every workload, one after another")
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "corpus" / "recorded")
    parser.add_argument("--minutes", type=float, help="real minutes to record (default: the workload's)")
    parser.add_argument("--time-scale", type=float, default=60.0, help="1 real second -> this many (default 60)")
    parser.add_argument("--interval", type=float, default=1.0, help="sample interval in real seconds (default 1)")
    parser.add_argument("--restarts", type=int, help="restarts after OOMKills (default: the workload's)")
    args = parser.parse_args(argv)
    if args.list:
        for w in WORKLOADS.values():
            print(f"{w.name:24} {w.label:8} {w.limit_mib:5} MiB {w.minutes:4g} min  {w.what}")
        return
    if args.all == bool(args.workload):
        parser.error("name one workload or --all")
    names = sorted(WORKLOADS) if args.all else [args.workload]
    for name in names:
        path = record(
            WORKLOADS[name],
            args.out,
            minutes=args.minutes,
            time_scale=args.time_scale,
            interval=args.interval,
            restarts=args.restarts,
        )
        print(path)


if __name__ == "__main__":
    main()
