"""A real Prometheus on loopback, for tests and the demo: either line users run.

- `3` (the default: what users run today): Prometheus 3.16 built from its Go module by
  hack/build-binaries.sh (cached by version). The real node needs it: Debian's build leaves out
  `kubernetes_sd_configs`.
- `2`: Debian's `prometheus` package, 2.42, for users who have not moved yet.

`LEAKWATCH_PROMETHEUS_LINE` (2 or 3) picks the line where a caller does not insist on one; `make
test` runs the tests marked `prometheus2` a second time with it set to 2.
History is loaded with `promtool tsdb create-blocks-from openmetrics` before start; live series
come from scrape targets. Stop and start keep the same port and data, for outage tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from leakwatch_dev.cluster import ControlPlaneError, binary_dirs, find_binary, free_port

DEFAULT_LINE = "3"


def prometheus_line(wanted: str | None = None) -> str:
    line = wanted or os.environ.get("LEAKWATCH_PROMETHEUS_LINE") or DEFAULT_LINE
    if line not in ("2", "3"):
        raise ValueError(f"Prometheus line {line!r}: choose 2 (Debian's 2.42) or 3 (built from its Go module)")
    return line


def tool(name: str, line: str | None = None) -> str:
    """`prometheus` or `promtool` of the chosen line."""
    if prometheus_line(line) == "3":
        return str(find_binary(name, binary_dirs()))
    found = shutil.which(name)
    if found is None:
        raise ControlPlaneError(f"{name} not found: install Debian's prometheus package (make install does)")
    return found


class PrometheusServer:
    def __init__(
        self,
        workdir: Path | None = None,
        *,
        scrape_configs: list[dict[str, Any]] | None = None,
        rule_files: list[Path] | None = None,
        interval: str = "15s",
        line: str | None = None,
        alertmanagers: list[str] | None = None,
    ) -> None:
        self.line = prometheus_line(line)
        self.root = Path(tempfile.mkdtemp(prefix="leakwatch-prom-")) if workdir is None else workdir
        self.root.mkdir(parents=True, exist_ok=True)
        self.data = self.root / "data"
        self.data.mkdir(exist_ok=True)
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None
        config = {
            "global": {"scrape_interval": interval, "evaluation_interval": interval},
            "scrape_configs": scrape_configs or [],
            "rule_files": [str(p) for p in rule_files or []],
        }
        if alertmanagers:  # host:port of each, on loopback
            config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}]}
        (self.root / "prometheus.yml").write_text(yaml.safe_dump(config))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def backfill(self, openmetrics: str) -> None:
        """Load history (OpenMetrics text ending in `# EOF`) as TSDB blocks; call before start()."""
        source = self.root / "backfill.om"
        source.write_text(openmetrics)
        subprocess.run(
            [tool("promtool", self.line), "tsdb", "create-blocks-from", "openmetrics", str(source), str(self.data)],
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 60) -> None:
        log = (self.root / "prometheus.log").open("ab")
        self.popen = subprocess.Popen(
            [
                tool("prometheus", self.line),
                f"--config.file={self.root / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.data}",
                "--storage.tsdb.retention.time=30d",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ControlPlaneError(
                    "prometheus exited:\n" + (self.root / "prometheus.log").read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise ControlPlaneError("prometheus did not become ready")

    def stop(self) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def __enter__(self) -> PrometheusServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
        if os.environ.get("LEAKWATCH_KEEP_CLUSTER_DIR") != "1":
            shutil.rmtree(self.root, ignore_errors=True)


def openmetrics(series: dict[tuple[str, tuple[tuple[str, str], ...]], list[tuple[float, float]]]) -> str:
    """OpenMetrics text for backfilling: {(metric, labels): [(unix seconds, value), ...]}."""
    by_metric: dict[str, list[str]] = {}
    for (metric, labels), points in series.items():
        rendered = ",".join(f'{k}="{v}"' for k, v in labels)
        lines = by_metric.setdefault(metric, [])
        lines.extend(f"{metric}{{{rendered}}} {value:.1f} {t:.3f}" for t, value in points)
    out = []
    for metric, lines in by_metric.items():
        out.append(f"# TYPE {metric} gauge")
        out.extend(lines)
    out.append("# EOF")
    return "\n".join(out) + "\n"
