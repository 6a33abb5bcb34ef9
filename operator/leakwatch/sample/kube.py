"""The Kubernetes API client the operator's own reads and writes use (kopf keeps its own)."""

from __future__ import annotations

import os

from kubernetes import client, config


def api_client() -> client.ApiClient:
    """In a pod: the ServiceAccount; elsewhere: KUBECONFIG or ~/.kube/config."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
        return client.ApiClient()
    api: client.ApiClient = config.new_client_from_config()
    return api
