"""A stand-in for trivy-operator's SBOM reports, for the story and its tests.

trivy-operator is not served here (its Go module is refused), so this writes what it would: one
`SbomReport` per container of each active ReplicaSet, in its shape (name, owner, labels,
`.report.components` a CycloneDX BOM), and deletes the report once the ReplicaSet is inactive,
as trivy-operator does. The BOMs are given per image: real ones from the netty-post build, or the
Jooby story's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "aquasecurity.github.io", "v1alpha1", "sbomreports"
# The CRD the project wrote for it (only the fields LeakWatch reads have a schema).
CRD_DIR = Path(__file__).resolve().parents[2] / "tests" / "crds"


def sbom_report(namespace: str, replicaset: Any, container: str, image: str, bom: Mapping[str, Any]) -> dict[str, Any]:
    """A report as trivy-operator writes it for one container of a ReplicaSet (`replicaset` is the
    client's V1ReplicaSet)."""
    name = replicaset.metadata.name
    repository, _, tag = image.rpartition(":")
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "SbomReport",
        "metadata": {
            "name": f"replicaset-{name}-{container}",
            "labels": {
                "trivy-operator.resource.kind": "ReplicaSet",
                "trivy-operator.resource.name": name,
                "trivy-operator.resource.namespace": namespace,
                "trivy-operator.container.name": container,
            },
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "name": name,
                    "uid": replicaset.metadata.uid,
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
        },
        "report": {
            "artifact": {"repository": repository, "tag": tag},
            "scanner": {"name": "Trivy", "vendor": "Aqua Security"},
            "components": dict(bom),
        },
    }


class SbomReporter:
    """Every `interval` seconds: a report for each container of each active ReplicaSet in
    `namespace` whose image has a BOM in `boms`; the reports of inactive ones deleted."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        boms: Mapping[str, Mapping[str, Any]],
        interval: float = 1.0,
    ) -> None:
        self.apps, self.custom = client.AppsV1Api(api), client.CustomObjectsApi(api)
        self.namespace, self.boms, self.interval = namespace, dict(boms), interval
        self._written: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sbom-reporter", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.sync()
            except ApiException as err:  # the API server restarting; the next pass catches up
                log.warning("SBOM reports: %s", err.reason)

    def sync(self) -> None:
        replicasets: list[Any] = self.apps.list_namespaced_replica_set(self.namespace).items
        for rs in replicasets:
            active = bool(rs.spec.replicas) or bool(rs.status and rs.status.replicas)
            for container in rs.spec.template.spec.containers:
                bom = self.boms.get(container.image)
                if bom is None:
                    continue
                report = sbom_report(self.namespace, rs, container.name, container.image, bom)
                name = report["metadata"]["name"]
                if active == (name in self._written):
                    continue
                try:
                    if active:
                        self.custom.create_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, report)
                        self._written.add(name)
                    else:
                        self._written.discard(name)
                        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)
                except ApiException as err:
                    if err.status not in (404, 409):  # already gone, already there
                        raise
