"""The components inside running images, from trivy-operator's SbomReports.

trivy-operator writes one `SbomReport` (aquasecurity.github.io/v1alpha1, namespaced) per workload
container: named `replicaset-<name>-<container>`, owned by the ReplicaSet, labelled with the
resource's kind, name and namespace and the container's name, its `.report.components` a CycloneDX
BOM. Only reports in the LeakWatch's own namespace are read, and only reports whose labels say they
describe a resource of that namespace.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from leakwatch.core.components import ImageComponents, read_cyclonedx

log = logging.getLogger(__name__)

GROUP, VERSION, PLURAL = "aquasecurity.github.io", "v1alpha1", "sbomreports"
KIND_LABEL = "trivy-operator.resource.kind"
NAME_LABEL = "trivy-operator.resource.name"
NAMESPACE_LABEL = "trivy-operator.resource.namespace"
CONTAINER_LABEL = "trivy-operator.container.name"
# Reports listed per namespace and cycle; a namespace with more ReplicaSet reports than this is read
# in part (newest ReplicaSets are what runs, but the API lists by name), and the log says so.
MAX_REPORTS = 500


class ComponentSource(Protocol):
    def read(self, namespace: str) -> list[ImageComponents]:
        """The reports of `namespace`; raises ComponentsUnavailable when they cannot be read."""
        ...


class ComponentsUnavailable(Exception):
    """The reports could not be read (no CRD, no permission, API server away): say why, go on."""


class SbomReports:
    def __init__(self, custom: client.CustomObjectsApi) -> None:
        self.custom = custom

    def read(self, namespace: str) -> list[ImageComponents]:
        try:
            response: Any = self.custom.list_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                PLURAL,
                label_selector=f"{KIND_LABEL}=ReplicaSet",
                limit=MAX_REPORTS,
                _preload_content=False,
            )
            listed: dict[str, Any] = json.loads(response.data)
        except ApiException as err:
            raise ComponentsUnavailable(f"cannot list SbomReports in {namespace}: {err.status} {err.reason}") from err
        except ValueError as err:
            raise ComponentsUnavailable(f"SbomReports in {namespace} are not JSON: {err}") from err
        if listed.get("metadata", {}).get("continue"):
            log.warning("more than %d SbomReports in %s: only the first are read", MAX_REPORTS, namespace)
        return [found for item in listed.get("items") or [] if (found := image_components(item, namespace))]


def image_components(report: object, namespace: str) -> ImageComponents | None:
    """What one report says, if it is about a ReplicaSet's container in `namespace`; None otherwise
    (a report that claims another namespace's workload is not believed, nor one of another shape)."""
    meta = _mapping(report, "metadata")
    labels = _mapping(meta, "labels")
    if labels.get(NAMESPACE_LABEL, namespace) != namespace or meta.get("namespace", namespace) != namespace:
        return None
    name, container = labels.get(NAME_LABEL), labels.get(CONTAINER_LABEL)
    if not isinstance(name, str) or not isinstance(container, str):
        return None
    owners = meta.get("ownerReferences")
    owner = (
        next(
            (o.get("uid") for o in owners if isinstance(o, dict) and o.get("kind") == "ReplicaSet"),
            None,
        )
        if isinstance(owners, list)
        else None
    )
    bom = _mapping(report, "report").get("components")
    return ImageComponents(owner if isinstance(owner, str) else None, name, container, read_cyclonedx(bom))


def _mapping(parent: object, key: str) -> dict[str, Any]:
    """parent[key] if both are JSON objects; else an empty one (a hostile report has any shape)."""
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, dict) else {}
