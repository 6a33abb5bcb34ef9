"""Faults the operator must survive, on a control plane of its own (it restarts kube-apiserver):
an API server restart, a LeakWatch deleted mid-flight, and 1,000 generated hostile specs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from helpers import OperatorProcess, deployment_pod, kubelet_status, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane

pytestmark = pytest.mark.cluster
NS = "faults"


class Cluster:
    def __init__(self, cp: ControlPlane, operator: OperatorProcess) -> None:
        self.cp, self.operator = cp, operator
        api = config.new_client_from_config(str(cp.kubeconfig))
        self.core, self.custom = client.CoreV1Api(api), client.CustomObjectsApi(api)

    def leakwatch(self, name: str, app: str) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "LeakWatch",
            "metadata": {"name": name},
            "spec": {"selector": {"matchLabels": {"app": app}}},
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", body)

    def status(self, name: str) -> dict[str, Any]:
        obj: Any = self.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", name)
        return dict(obj.get("status") or {})

    def oom_events(self, app: str) -> list[Any]:
        return [
            e
            for e in self.core.list_namespaced_event(NS).items
            if e.reason == "OOMKilled" and e.involved_object.kind == "LeakWatch" and app in e.message
        ]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with ControlPlane(components=("controller-manager",)) as cp:
        cp.install_crds()
        operator = OperatorProcess(cp, tmp_path_factory.mktemp("faults-operator"), [NS])
        cluster = Cluster(cp, operator)
        cluster.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        operator.start()
        yield cluster
        operator.stop()


def test_an_api_server_restart_loses_nothing_and_duplicates_no_event(cluster: Cluster) -> None:
    cluster.leakwatch("restart", "restart-app")
    cluster.core.create_namespaced_pod(NS, deployment_pod("restart-app-0", "3.1.2", app="restart-app"))
    cluster.core.patch_namespaced_pod_status("restart-app-0", NS, kubelet_status(1, "2026-11-25T01:00:00Z"))
    wait_for(lambda: cluster.status("restart").get("oomKills") == 1, what="the first OOMKill")

    cluster.cp.restart_apiserver()
    # Written right after the restart: the operator's watch must resume and see it.
    cluster.core.patch_namespaced_pod_status("restart-app-0", NS, kubelet_status(2, "2026-11-25T02:00:00Z"))
    wait_for(lambda: cluster.status("restart").get("oomKills") == 2, timeout=90, what="the OOMKill after the restart")
    try:
        wait_for(lambda: len(cluster.oom_events("restart-app")) == 2, timeout=45, what="two OOMKill Events")
    except pytest.fail.Exception:
        said = [line for line in cluster.operator.log.read_text().splitlines() if "event" in line.lower()]
        pytest.fail(f"events {[e.message for e in cluster.oom_events('restart-app')]}; operator said {said[-20:]}")
    assert sorted(e.message.rsplit(" at ", 1)[1] for e in cluster.oom_events("restart-app")) == [
        "2026-11-25T01:00:00Z",
        "2026-11-25T02:00:00Z",
    ]
    assert cluster.operator.popen is not None and cluster.operator.popen.poll() is None


def test_a_leakwatch_deleted_mid_flight_leaves_no_stray_state(cluster: Cluster) -> None:
    cluster.leakwatch("doomed", "doomed-app")
    cluster.core.create_namespaced_pod(NS, deployment_pod("doomed-app-0", "1.0", app="doomed-app"))
    cluster.core.patch_namespaced_pod_status("doomed-app-0", NS, kubelet_status(1, "2026-11-25T01:00:00Z"))
    wait_for(lambda: 'leakwatch="doomed"' in cluster.operator.get("/metrics"), what="its metrics")
    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", "doomed")
    # Its pod keeps changing; nothing may bring the LeakWatch (or its status) back.
    cluster.core.patch_namespaced_pod_status("doomed-app-0", NS, kubelet_status(2, "2026-11-25T02:00:00Z"))
    wait_for(lambda: 'leakwatch="doomed"' not in cluster.operator.get("/metrics"), what="its metrics to go")
    with pytest.raises(ApiException) as err:
        cluster.custom.get_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", "doomed")
    assert err.value.status == 404


HOSTILE = st.sampled_from(
    [
        '"',
        "\\",
        '"} or up{job=~".*',
        ".*",
        "(",
        "(a)(b)",
        "a" * 400,
        "-1h",
        "0s",
        "9999999d",
        "1h30m",
        "",
        " ",
        "\u0000",
        "😀",
        "${namespace}",
        "{namespace}",
        "../../etc",
        "\n",
        "<script>",
        "NaN",
        "null",
    ]
)
ANY = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63),
        st.floats(allow_nan=False),
        st.text(max_size=40),
        HOSTILE,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=8,
)


def spec_strategy(hostile: bool) -> st.SearchStrategy[dict[str, Any]]:
    """LeakWatch specs field by field; `hostile` mixes garbage of any type into every field, else
    only the free-text fields carry hostile strings (so many specs pass the schema and reach the
    operator)."""

    def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(strategy, ANY, HOSTILE) if hostile else strategy

    def section(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({}, optional={k: maybe(v) for k, v in fields.items()})

    label = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}\Z")
    free_text = st.one_of(st.text(max_size=60), HOSTILE)
    expressions = st.lists(
        section(
            key=label,
            operator=st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]),
            values=st.lists(label, min_size=1, max_size=3),
        ),
        max_size=3,
    )
    selector = st.fixed_dictionaries(
        {"matchLabels": st.dictionaries(label, label, min_size=1, max_size=3)},
        optional={"matchExpressions": expressions},
    )
    optional = {
        "containers": maybe(st.lists(label, max_size=3)),
        "version": section(
            source=st.sampled_from(["ImageTag", "Label", "Annotation", "Env"]),
            key=label,
            container=label,
            regex=st.sampled_from([r":(\d+)$", r"v(\d+\.\d+)", "(", "(a)(b)"]),
            framework=free_text,
        ),
        "memory": section(
            source=st.sampled_from(["Prometheus", "MetricsAPI"]),
            signal=st.sampled_from(["WorkingSet", "RSS", "JVMNative", "NMTCategory"]),
            window=st.sampled_from(["6h", "24h", "7d", "-1h"]),
            step=st.sampled_from(["1m", "5s"]),
            sensitivity=st.sampled_from(["Low", "Medium", "High"]),
            jvm=section(nmtCategory=free_text, heapAreaLabel=st.sampled_from(["area", "1bad"])),
        ),
        "oom": section(threshold=st.integers(-5, 5000), window=st.sampled_from(["1h", "0h", "x", "7d"])),
        "action": section(
            mode=st.sampled_from(["Recommend", "Auto"]),
            cooldown=st.sampled_from(["1h", "-5m"]),
            actAfter=st.sampled_from(["15m", "0s", "2w"]),
            dryRun=st.booleans(),
            allowGitOps=st.booleans(),
        ),
    }
    if hostile:
        optional["unknownField"] = ANY
    return st.fixed_dictionaries({"selector": maybe(selector)}, optional=optional)


SPECS = st.one_of(spec_strategy(hostile=False), spec_strategy(hostile=True))


def test_a_thousand_hostile_specs_are_refused_clearly_or_handled(
    cluster: Cluster, hypothesis_cases: Callable[[int, Mapping[str, int]], None]
) -> None:
    accepted: list[str] = []
    refused: list[str] = []

    @settings(
        max_examples=1000,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(SPECS)
    def submit(spec: dict[str, Any]) -> None:
        name = f"h-{uuid.uuid4().hex[:10]}"
        body = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "LeakWatch", "metadata": {"name": name}, "spec": spec}
        try:
            cluster.custom.create_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", body)
        except ApiException as err:
            assert err.status in (400, 422), f"{err.status} for {json.dumps(spec)[:300]}: {err.body[:300]}"
            message = json.loads(err.body)["message"]
            assert message and "LeakWatch" in message
            refused.append(message)
            return
        accepted.append(name)

    submit()
    hypothesis_cases(
        len(accepted) + len(refused), {"refused by the API server": len(refused), "accepted": len(accepted)}
    )
    assert len(accepted) + len(refused) >= 1000
    assert len(refused) >= 100, "the schema refuses (almost) nothing"
    assert len(accepted) >= 100, "(almost) nothing reached the operator"

    # Every accepted one is handled: the operator answers each with a Ready condition.
    def unanswered() -> list[str]:
        return [n for n in accepted if not any(c["type"] == "Ready" for c in cluster.status(n).get("conditions", []))]

    wait_for(lambda: not unanswered(), timeout=240, what="every accepted LeakWatch to get Ready")
    assert cluster.operator.popen is not None and cluster.operator.popen.poll() is None
    assert cluster.operator.get("/healthz", cluster.operator.health_port) is not None
    print(f"{len(accepted)} accepted and handled, {len(refused)} refused, e.g.: {refused[0][:200]}")
    for name in accepted:
        cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, NS, "leakwatches", name)
