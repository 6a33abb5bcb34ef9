"""A real Alertmanager on loopback (0.35, built from its Go module by hack/build-binaries.sh),
for tests that follow an alert from a rule to a receiver. No gossip port: `--cluster.listen-address`
is empty, so one instance binds only its HTTP port."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from leakwatch_dev.cluster import ControlPlaneError, binary_dirs, find_binary, free_port


def amtool() -> Path:
    return find_binary("amtool", binary_dirs())


class AlertmanagerServer:
    def __init__(self, config: dict[str, Any], workdir: Path | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="leakwatch-am-")) if workdir is None else workdir
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self.root / "alertmanager.yml"
        self.config.write_text(yaml.safe_dump(config, sort_keys=False))
        self.port = free_port()
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        log = (self.root / "alertmanager.log").open("ab")
        self.popen = subprocess.Popen(
            [
                str(find_binary("alertmanager", binary_dirs())),
                f"--config.file={self.config}",
                f"--storage.path={self.root / 'data'}",
                f"--web.listen-address={self.address}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ControlPlaneError(
                    "alertmanager exited:\n" + (self.root / "alertmanager.log").read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(f"http://{self.address}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise ControlPlaneError("alertmanager did not become ready")

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

    def __enter__(self) -> AlertmanagerServer:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()
