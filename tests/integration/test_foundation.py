"""The foundation, on a real kube-apiserver: CRDs install, the running operator answers a valid
LeakWatch with Ready + observedGeneration, the API server refuses invalid specs with the CRD's own
messages, and a ServiceAccount kubeconfig is subject to RBAC."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from helpers import OperatorProcess, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane

pytestmark = pytest.mark.cluster


def leakwatch(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "LeakWatch",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": "checkout-api"}}, **spec},
    }


def test_server_is_a_real_kube_apiserver(control_plane: ControlPlane) -> None:
    out = subprocess.run(
        [
            str(control_plane.binary("kubectl")),
            "--kubeconfig",
            str(control_plane.kubeconfig),
            "version",
            "-o",
            "json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert '"gitVersion": "v1.34' in out
    print(f"kube-apiserver {control_plane.version} at {control_plane.server}")


def test_crds_are_established(api_client: client.ApiClient) -> None:
    ext = client.ApiextensionsV1Api(api_client)
    for name in ("leakwatches.leakwatch.io", "leakadvisories.leakwatch.io"):
        crd = ext.read_custom_resource_definition(name)
        established = [c for c in crd.status.conditions if c.type == "Established"]
        assert established and established[0].status == "True"


def _ready(custom_objects: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any] | None:
    obj = custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", name)
    status = obj.get("status", {})
    if status.get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    ready = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
    return obj if ready else None


def test_valid_leakwatch_gets_ready_and_observed_generation(
    operator: OperatorProcess, custom_objects: client.CustomObjectsApi
) -> None:
    namespace = operator.namespaces[0]
    custom_objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", leakwatch("checkout"))
    obj = wait_for(lambda: _ready(custom_objects, namespace, "checkout"), what="Ready on the LeakWatch")
    conditions = {c["type"]: c for c in obj["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["reason"] == "Watching"
    assert conditions["Ready"]["observedGeneration"] == 1
    assert "app=checkout-api" in conditions["Ready"]["message"]
    assert conditions["Degraded"]["status"] == "False"

    # A spec change bumps the generation; the operator follows it.
    custom_objects.patch_namespaced_custom_object(
        GROUP, VERSION, namespace, "leakwatches", "checkout", {"spec": {"oom": {"threshold": 5}}}
    )
    obj = wait_for(lambda: _ready(custom_objects, namespace, "checkout"), what="observedGeneration 2")
    assert obj["status"]["observedGeneration"] == 2
    assert {c["type"]: c for c in obj["status"]["conditions"]}["Ready"]["observedGeneration"] == 2

    metrics = operator.get("/metrics")
    assert 'leakwatch_build_info{version="' in metrics
    assert 'leakwatch_reconciles_total{result="ok"}' in metrics


INVALID = [
    pytest.param({"selector": {"matchLabels": {"app": "bad value!"}}}, "label values must be", id="bad-selector-value"),
    pytest.param({"selector": {}}, "selector must name at least one label", id="empty-selector"),
    pytest.param({"memory": {"source": "Graphite"}}, 'Unsupported value: "Graphite"', id="unknown-source"),
    pytest.param({"memory": {"source": "MetricsAPI"}}, 'Unsupported value: "MetricsAPI"', id="metrics-api-source"),
    pytest.param({"memory": {"window": "-1h"}}, "must be a positive duration", id="negative-window"),
    pytest.param({"memory": {"window": "5m"}}, "must span at least 10 steps", id="window-shorter-than-10-steps"),
    pytest.param({"memory": {"window": "7d", "step": "10s"}}, "at most 50,000 steps", id="window-too-many-points"),
    pytest.param({"version": {"regex": "v(\\d+"}}, "regex must be a valid RE2 regular expression", id="bad-regex"),
    pytest.param({"version": {"source": "Env"}}, "version.key is required", id="env-without-key"),
    pytest.param({"action": {"mode": "Auto"}}, "action.mode Auto needs action.cooldown", id="auto-without-cooldown"),
    pytest.param({"action": {"actAfter": "0s"}}, "must be a positive duration", id="act-after-zero"),
    pytest.param({"oom": {"threshold": 0}}, "should be greater than or equal to 1", id="zero-threshold"),
    pytest.param(
        {"memory": {"signal": "Custom", "query": "my_bytes{pod=~'x'}"}},
        "must use the {namespace} placeholder",
        id="custom-without-namespace",
    ),
    pytest.param(
        {"memory": {"signal": "Custom", "query": 'my_bytes{{namespace}, pod=~"a\\\\.b"}'}},
        "may not contain backslash escapes",
        id="custom-with-backslash",
    ),
]


@pytest.mark.parametrize(("spec", "message"), INVALID)
def test_invalid_specs_are_refused_by_the_api_server(
    custom_objects: client.CustomObjectsApi, spec: dict[str, Any], message: str
) -> None:
    with pytest.raises(ApiException) as err:
        custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, "default", "leakwatches", leakwatch(f"bad-{uuid.uuid4().hex[:6]}", **spec)
        )
    assert err.value.status == 422
    assert message in json.loads(err.value.body)["message"]


def test_advisories_are_validated(custom_objects: client.CustomObjectsApi) -> None:
    def advisory(name: str, events: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "LeakAdvisory",
            "metadata": {"name": name},
            "spec": {
                "summary": "leaks",
                "affected": [{"package": {"name": "io.jooby:jooby-netty"}, "ranges": [{"events": events}]}],
            },
        }

    name = f"jooby-{uuid.uuid4().hex[:6]}"
    created = custom_objects.create_cluster_custom_object(
        GROUP, VERSION, "leakadvisories", advisory(name, [{"introduced": "3.1.2"}, {"fixed": "3.1.4"}])
    )
    assert created["spec"]["affected"][0]["package"]["ecosystem"] == "Maven"  # defaulted by the schema
    custom_objects.delete_cluster_custom_object(GROUP, VERSION, "leakadvisories", name)
    with pytest.raises(ApiException) as err:
        custom_objects.create_cluster_custom_object(
            GROUP, VERSION, "leakadvisories", advisory("two-in-one", [{"introduced": "1", "fixed": "2"}])
        )
    assert "exactly one of introduced, fixed, lastAffected or limit" in json.loads(err.value.body)["message"]


def test_service_account_kubeconfig_is_subject_to_rbac(
    control_plane: ControlPlane, core_v1: client.CoreV1Api, api_client: client.ApiClient, namespace: str
) -> None:
    from kubernetes import config

    core_v1.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="lw"))
    )
    as_sa = client.CoreV1Api(
        config.new_client_from_config(str(control_plane.service_account_kubeconfig(namespace, "lw")))
    )
    with pytest.raises(ApiException) as err:
        as_sa.list_namespaced_pod(namespace)
    assert err.value.status == 403

    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(
        namespace,
        {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        },
    )
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": "lw-pod-reader"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "pod-reader"},
            "subjects": [{"kind": "ServiceAccount", "name": "lw", "namespace": namespace}],
        },
    )
    wait_for(lambda: _can_list(as_sa, namespace), what="RoleBinding to take effect")
    with pytest.raises(ApiException) as err:
        as_sa.list_namespaced_secret(namespace)
    assert err.value.status == 403
    with pytest.raises(ApiException) as err:
        as_sa.list_namespaced_pod("default")
    assert err.value.status == 403


def _can_list(api: client.CoreV1Api, namespace: str) -> bool:
    try:
        api.list_namespaced_pod(namespace)
        return True
    except ApiException:
        return False
