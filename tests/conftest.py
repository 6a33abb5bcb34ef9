"""Shared fixtures. Cluster tests run against a REAL kube-apiserver + etcd (+ controller-manager)
started on loopback from binaries built by hack/build-binaries.sh; nothing here is mocked."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client, config

from helpers import OperatorProcess
from leakwatch.dev.cluster import ControlPlane
from leakwatch.dev.node import missing_requirements

_VERSION_KEY = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    with ControlPlane(components=("controller-manager",)) as cp:
        request.config.stash[_VERSION_KEY] = cp.version
        cp.install_crds()
        yield cp


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Where a real node is required (CI sets LEAKWATCH_REQUIRE_REAL_NODE=1), its tests must not
    quietly skip: a machine that cannot run one fails the run and says why."""
    if os.environ.get("LEAKWATCH_REQUIRE_REAL_NODE") != "1":
        return
    if any(item.get_closest_marker("realnode") for item in items) and (missing := missing_requirements()):
        raise pytest.UsageError("LEAKWATCH_REQUIRE_REAL_NODE=1, but this machine lacks: " + "; ".join(missing))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    version = config.stash.get(_VERSION_KEY, None)
    if version:
        terminalreporter.write_line(f"integration tests ran against a real kube-apiserver {version}")


@pytest.fixture(scope="session")
def api_client(control_plane: ControlPlane) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(control_plane.kubeconfig))


@pytest.fixture(scope="session")
def custom_objects(api_client: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api_client)


@pytest.fixture(scope="session")
def core_v1(api_client: client.ApiClient) -> client.CoreV1Api:
    return client.CoreV1Api(api_client)


OPERATOR_NAMESPACE = "lw-e2e"


@pytest.fixture(scope="session")
def operator(
    control_plane: ControlPlane, core_v1: client.CoreV1Api, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[OperatorProcess]:
    """The operator shared by most cluster tests; it watches OPERATOR_NAMESPACE only, so tests that
    need an operator of their own (restarts, namespace scoping) can run one beside it."""
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=OPERATOR_NAMESPACE)))
    process = OperatorProcess(control_plane, tmp_path_factory.mktemp("operator"), [OPERATOR_NAMESPACE])
    process.start()
    yield process
    process.stop()


@pytest.fixture
def namespace(core_v1: client.CoreV1Api) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    core_v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core_v1.delete_namespace(name)
