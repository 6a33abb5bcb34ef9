"""The real operator, `python -m leakwatch run`, as a child process of a test or the demo."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from leakwatch_dev.cluster import ControlPlane, free_port


class OperatorProcess:
    """The real operator, `python -m leakwatch run`, as a child process."""

    def __init__(self, cp: ControlPlane, log_dir: Path, namespaces: list[str], kubeconfig: Path | None = None) -> None:
        self.cp = cp
        self.kubeconfig = kubeconfig or cp.kubeconfig  # a ServiceAccount's, to run with the chart's RBAC
        self.namespaces = namespaces
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log = log_dir / "operator.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = {}

    def start(self) -> None:
        env = {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "LEAKWATCH_METRICS_PORT": str(self.metrics_port),
            "LEAKWATCH_HEALTH_PORT": str(self.health_port),
            "LEAKWATCH_BIND_ADDRESS": "127.0.0.1",
            "LEAKWATCH_NAMESPACES": ",".join(self.namespaces),
            "LEAKWATCH_PROMETHEUS_URL": os.environ.get("LEAKWATCH_PROMETHEUS_URL", "http://127.0.0.1:1"),
            "MALLOC_ARENA_MAX": "2",  # as the image sets it (Dockerfile)
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
