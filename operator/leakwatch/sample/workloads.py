"""Reads of the workloads pods belong to."""

from __future__ import annotations

from kubernetes import client
from kubernetes.client.exceptions import ApiException


class Workloads:
    def __init__(self, apps: client.AppsV1Api) -> None:
        self.apps = apps

    def deployment_uid(self, namespace: str, name: str) -> str | None:
        """The Deployment's uid (an Event needs it to show in `kubectl describe`), or None."""
        try:
            meta = self.apps.read_namespaced_deployment(name, namespace).metadata
        except ApiException:
            return None
        return str(meta.uid) if meta is not None and meta.uid else None
