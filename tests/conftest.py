"""Shared fixtures. Cluster tests run against a REAL kube-apiserver + etcd (+ controller-manager)
started on loopback from binaries built by hack/build-binaries.sh; nothing here is mocked."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping

import pytest
from kubernetes import client, config

from helpers import OperatorProcess
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.node import missing_requirements

_VERSION_KEY = pytest.StashKey[str]()
# (test, cases, outcomes) for each Hypothesis suite that ran, in the order they finished.
_HYPOTHESIS_KEY = pytest.StashKey[list[tuple[str, int, dict[str, int]]]]()


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
    for test, cases, outcomes in config.stash.get(_HYPOTHESIS_KEY, []):
        shown = "; ".join(f"{count:,} {outcome}" for outcome, count in outcomes.items())
        terminalreporter.write_line(f"hypothesis: {test} ran {cases:,} cases" + (f" ({shown})" if shown else ""))


@pytest.fixture
def hypothesis_cases(request: pytest.FixtureRequest) -> Callable[[int, Mapping[str, int]], None]:
    """Records how many cases a Hypothesis suite ran and what came of them, for the run's summary:
    pytest hides what a passing test prints, and "it passed" says nothing without the count."""

    def record(cases: int, outcomes: Mapping[str, int]) -> None:
        request.config.stash.setdefault(_HYPOTHESIS_KEY, []).append((request.node.name, cases, dict(outcomes)))

    return record


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
