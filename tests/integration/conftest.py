"""Fixtures the chart tests share: a Helm CLI with a home of its own, and fresh namespaces."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from helpers import Helm
from leakwatch_dev.cluster import ControlPlaneError, binary_dirs, find_binary
from leakwatch_dev.prometheus import prometheus_line, tool


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    home = tmp_path_factory.mktemp("helm")
    env = {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }
    env.pop("KUBECONFIG", None)  # cluster commands name their kubeconfig explicitly
    return Helm(find_binary("helm", binary_dirs()), env)


@pytest.fixture
def namespaces(api_client: client.ApiClient) -> Iterator[Callable[[str], str]]:
    """Makes fresh namespaces on request (call it with a name prefix); deletes them at the end."""
    core = client.CoreV1Api(api_client)
    made: list[str] = []

    def make(prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        made.append(name)
        return name

    yield make
    for name in made:
        core.delete_namespace(name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which Prometheus the run talked to: 3 by default, Debian's 2.42 in make test's second pass."""
    try:
        version = subprocess.run([tool("prometheus"), "--version"], capture_output=True, text=True, check=True)
    except (ControlPlaneError, OSError, subprocess.CalledProcessError):
        return
    first = (version.stdout or version.stderr).splitlines()[0]
    # A `go install` build carries no version of its own; its cache directory is named by it.
    built_as = "" if any(c.isdigit() for c in first) else f" ({Path(tool('prometheus')).parent.name})"
    terminalreporter.write_line(f"Prometheus line {prometheus_line()}: {first}{built_as}")
