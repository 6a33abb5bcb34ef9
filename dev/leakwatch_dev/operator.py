"""The real operator, `python -m leakwatch run`, as a child process of a test or the demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from leakwatch_dev.cluster import ControlPlane, free_port


class OperatorProcess:
    """The real operator, `python -m leakwatch run`, as a child process. It reaches the API server
    with `kubeconfig` (a ServiceAccount's, to run with exactly the permissions RBAC gives it; the
    admin's by default) and takes further LEAKWATCH_* settings from `env` (or `extra_env`, set before
    `start`). Without a LEAKWATCH_PROMETHEUS_URL it asks a port where nothing listens."""

    def __init__(
        self,
        cp: ControlPlane,
        log_dir: Path,
        namespaces: list[str],
        kubeconfig: Path | None = None,
        *,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.cp = cp
        self.kubeconfig = kubeconfig or cp.kubeconfig
        self.namespaces = namespaces  # empty: cluster-wide
        self.metrics_port = free_port()
        self.health_port = free_port()
        self.log = log_dir / "operator.log"
        self.popen: subprocess.Popen[bytes] | None = None
        self.extra_env: dict[str, str] = dict(env or {})
        self.environment: dict[str, str] = {}  # what the last start() ran it with

    def start(self, timeout: float = 60) -> None:
        """Start it and wait until /healthz answers; if it exits or never answers, stop it and raise
        with the end of its log."""
        self.environment = {
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
        with self.log.open("ab") as log:  # the child keeps its own handle
            self.popen = subprocess.Popen(
                [sys.executable, "-m", "leakwatch", "run"], env=self.environment, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := self.popen.poll()) is not None:
                raise RuntimeError(f"the operator exited {code} before it was healthy:\n{self.text()[-3000:]}")
            try:
                self.get("/healthz", self.health_port)
                return
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the operator was not healthy after {timeout:g}s:\n{self.text()[-3000:]}")

    def get(self, path: str, port: int | None = None) -> str:
        url = f"http://127.0.0.1:{port or self.metrics_port}{path}"
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body.decode()

    def text(self) -> str:
        """Its log so far (every start appends to the same file)."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def handled(self, namespace: str, name: str) -> bool:
        """Whether its log shows a kopf handler succeeding on LeakWatch `namespace/name`. Needs the
        JSON log (LEAKWATCH_LOG_FORMAT=json), whose lines name their object."""
        if self.environment.get("LEAKWATCH_LOG_FORMAT") != "json":
            raise ValueError("handled() reads the JSON log: start the operator with LEAKWATCH_LOG_FORMAT=json")
        for line in self.text().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            ref = entry.get("object") or {}
            message = str(entry.get("message", ""))
            succeeded = message.startswith("Handler '") and message.endswith("' succeeded.")
            if succeeded and (ref.get("namespace"), ref.get("name")) == (namespace, name):
                return True
        return False

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
