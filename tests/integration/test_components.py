"""Framework components from trivy-operator's SbomReports on a real API server: real Deployments
(their ReplicaSets made by the real controller-manager), reports in trivy-operator's shape around
the real CycloneDX SBOMs the netty-post build writes, under a CRD the project wrote. Each release's
components are kept after its report is deleted; hostile reports are bounded or not believed."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config

from helpers import OperatorProcess, leakwatch_manifest, wait_for
from leakwatch.api import GROUP, VERSION
from leakwatch_dev.cluster import ControlPlane
from leakwatch_dev.trivy import CRD_DIR, sbom_report

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(300)]

TESTS = Path(__file__).resolve().parents[1]
FIXTURES = TESTS / "fixtures"


def bom(release: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"netty-post-{release}.bom.json").read_text())
    return loaded


def deployment(name: str, release: str) -> client.V1Deployment:
    labels = {"app": name}
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            replicas=1,
            selector=client.V1LabelSelector(match_labels=labels),
            strategy=client.V1DeploymentStrategy(type="Recreate"),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(
                    containers=[client.V1Container(name="app", image=f"localhost/lw/netty-post:{release}")]
                ),
            ),
        ),
    )


def report(namespace: str, rs: client.V1ReplicaSet, components: dict[str, Any], **labels: str) -> dict[str, Any]:
    """trivy-operator's report for the ReplicaSet's container `app`, with `labels` overridden."""
    made = sbom_report(namespace, rs, "app", rs.spec.template.spec.containers[0].image, components)
    made["metadata"]["labels"].update(labels)
    return made


@pytest.fixture(scope="module")
def cluster() -> Iterator[ControlPlane]:
    """A control plane of its own whose controller-manager runs every controller: the Deployments
    here need their ReplicaSets and pods made for real. With LeakWatch's CRDs and the SbomReport's."""
    with ControlPlane(components=("controller-manager",), controllers="*") as cp:
        cp.install_crds()
        cp.install_crds(CRD_DIR)
        yield cp


@pytest.fixture(scope="module")
def api(cluster: ControlPlane) -> client.ApiClient:
    made: client.ApiClient = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    return made


@pytest.fixture
def namespaces(api: client.ApiClient) -> tuple[str, str]:
    names = ("sbom-app", "sbom-other")
    for name in names:
        client.CoreV1Api(api).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return names


def versions(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, dict[str, Any]]:
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", name)
    return {v["version"]: v for v in ((obj.get("status") or {}).get("ledger") or {}).get("versions", [])}


def condition(custom: client.CustomObjectsApi, namespace: str, name: str) -> dict[str, Any]:
    obj = custom.get_namespaced_custom_object(GROUP, VERSION, namespace, "leakwatches", name)
    found = [c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == "ComponentsResolved"]
    return dict(found[0]) if found else {}


def current_replicaset(apps: client.AppsV1Api, namespace: str, name: str, release: str) -> client.V1ReplicaSet:
    def found() -> client.V1ReplicaSet | None:
        for rs in apps.list_namespaced_replica_set(namespace, label_selector=f"app={name}").items:
            if rs.spec.template.spec.containers[0].image.endswith(":" + release):
                return rs
        return None

    rs: client.V1ReplicaSet = wait_for(found, timeout=60, what=f"the ReplicaSet of {name} {release}")
    return rs


def test_each_release_keeps_the_components_its_report_listed(
    cluster: ControlPlane, namespaces: tuple[str, str], api: client.ApiClient, tmp_path: Path
) -> None:
    app, other = namespaces
    apps, custom_objects = client.AppsV1Api(api), client.CustomObjectsApi(api)
    operator = OperatorProcess(
        cluster,
        tmp_path,
        [app, other],
        env={"LEAKWATCH_SBOM_REPORTS": "true", "LEAKWATCH_ANALYSIS_INTERVAL_SECONDS": "1"},
    )
    operator.start()
    try:
        custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, app, "leakwatches", leakwatch_manifest("checkout-api")
        )
        custom_objects.create_namespaced_custom_object(GROUP, VERSION, app, "leakwatches", leakwatch_manifest("cart"))
        # A LeakWatch in the other namespace too, so that its reports are read (and must stay there).
        custom_objects.create_namespaced_custom_object(
            GROUP, VERSION, other, "leakwatches", leakwatch_manifest("checkout-api")
        )
        apps.create_namespaced_deployment(app, deployment("checkout-api", "1.4.0"))
        apps.create_namespaced_deployment(app, deployment("cart", "1.4.0"))
        first = current_replicaset(apps, app, "checkout-api", "1.4.0")
        create = custom_objects.create_namespaced_custom_object
        create("aquasecurity.github.io", "v1alpha1", app, "sbomreports", report(app, first, bom("1.4.0")))

        # Hostile: a report in another namespace naming this workload, and one here claiming to be about
        # another namespace's; neither may lend its components to checkout-api.
        planted = {"components": [{"purl": "pkg:maven/io.jooby/jooby-netty@3.1.2"}]}
        create("aquasecurity.github.io", "v1alpha1", other, "sbomreports", report(app, first, planted))
        elsewhere = report(app, first, planted, **{"trivy-operator.resource.namespace": other})
        elsewhere["metadata"]["name"] = "replicaset-planted-app"
        create("aquasecurity.github.io", "v1alpha1", app, "sbomreports", elsewhere)

        # Hostile: 10,000 components and bad package URLs for cart.
        cart = current_replicaset(apps, app, "cart", "1.4.0")
        huge = copy.deepcopy(bom("1.4.0"))
        huge["components"] += [{"purl": f"pkg:maven/org.example/lib{i}@1.0"} for i in range(10_000)]
        huge["components"] += [{"purl": "pkg:%%%/bad@1"}, {"name": "no purl"}, {"purl": "pkg:maven/x/y"}]
        create("aquasecurity.github.io", "v1alpha1", app, "sbomreports", report(app, cart, huge))

        def kept(name: str, release: str) -> dict[str, Any] | None:
            entry = versions(custom_objects, app, name).get(release)
            return entry if entry and entry.get("componentsSource") == "SbomReport" else None

        v140 = wait_for(lambda: kept("checkout-api", "1.4.0"), timeout=60, what="1.4.0's components in status")
        assert "pkg:maven/io.netty/netty-codec-http@4.1.111.Final" in v140["components"]
        assert len(v140["components"]) == 20 and "componentsProblem" not in v140
        assert not any("jooby" in purl for purl in v140["components"]), v140["components"]

        cart_v = wait_for(lambda: kept("cart", "1.4.0"), timeout=60, what="cart's bounded components")
        assert len(cart_v["components"]) == 512
        assert (
            "dropped" in cart_v["componentsProblem"]
            and "3 entries had no usable package URL" in cart_v["componentsProblem"]
        )

        # The next release: its own report; trivy-operator deletes the inactive ReplicaSet's.
        apps.patch_namespaced_deployment(
            "checkout-api",
            app,
            {
                "spec": {
                    "template": {"spec": {"containers": [{"name": "app", "image": "localhost/lw/netty-post:1.5.0"}]}}
                }
            },
        )
        second = current_replicaset(apps, app, "checkout-api", "1.5.0")
        create("aquasecurity.github.io", "v1alpha1", app, "sbomreports", report(app, second, bom("1.5.0")))
        custom_objects.delete_namespaced_custom_object(
            "aquasecurity.github.io", "v1alpha1", app, "sbomreports", f"replicaset-{first.metadata.name}-app"
        )
        v150 = wait_for(lambda: kept("checkout-api", "1.5.0"), timeout=60, what="1.5.0's components in status")
        assert "pkg:maven/io.netty/netty-codec-http@4.1.115.Final" in v150["components"]
        still = kept("checkout-api", "1.4.0")
        assert still is not None and "pkg:maven/io.netty/netty-codec-http@4.1.111.Final" in still["components"]
        assert condition(custom_objects, app, "checkout-api")["reason"] == "ComponentsKnown"
        assert condition(custom_objects, app, "cart")["reason"] == "ComponentsIncomplete"

        # The reports go away altogether (trivy-operator uninstalled): said, and nothing lost.
        client.ApiextensionsV1Api(api).delete_custom_resource_definition("sbomreports.aquasecurity.github.io")
        gone = wait_for(
            lambda: (c := condition(custom_objects, app, "checkout-api"))["reason"] == "ReportsUnavailable" and c,
            timeout=60,
            what="ComponentsResolved to say the reports cannot be read",
        )
        assert gone["status"] == "False" and "404" in gone["message"], gone
        assert kept("checkout-api", "1.5.0") is not None and kept("checkout-api", "1.4.0") is not None
    finally:
        operator.stop()
    assert "Traceback" not in operator.text(), operator.text()[-3000:]
