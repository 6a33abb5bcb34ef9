"""One lean, shared pod watch for the whole operator.

kopf's per-object machinery costs hundreds of MiB and a long initial listing at 10,000 pods
(measured by bench/scale.py, see bench/README.md), so pods are listed and watched here with the plain client, as raw
JSON, keeping only the fields `PodInfo` needs. One watch per watched namespace (or one for the
cluster), never one per LeakWatch.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from leakwatch.core.pods import PodInfo, pod_info

log = logging.getLogger(__name__)

PodHandler = Callable[[PodInfo], None]
SyncHandler = Callable[[str | None, set[str]], None]


class PodWatch:
    """List then watch pods of one namespace (or all, namespace=None) in a daemon thread.

    Calls `on_pod` for every added/modified pod and for deleted ones (with `deleted=True`), and
    `on_synced(namespace, uids)` after each complete listing so callers can drop pods that went
    away unseen. Re-lists on 410 Gone; reconnects with backoff on any other error.
    """

    def __init__(
        self,
        api: client.CoreV1Api,
        namespace: str | None,
        on_pod: PodHandler,
        on_synced: SyncHandler,
        page_size: int = 500,
        watch_timeout_seconds: int = 300,
    ) -> None:
        self.api = api
        self.namespace = namespace
        self.on_pod = on_pod
        self.on_synced = on_synced
        self.page_size = page_size
        self.watch_timeout_seconds = watch_timeout_seconds
        self.known: dict[str, PodInfo] = {}
        self.synced = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pod-watch-{namespace or 'all'}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _call(self, **kwargs: Any) -> Any:
        if self.namespace is None:
            return self.api.list_pod_for_all_namespaces(_preload_content=False, **kwargs)
        return self.api.list_namespaced_pod(self.namespace, _preload_content=False, **kwargs)

    def _list(self) -> str:
        seen: dict[str, PodInfo] = {}
        token: str | None = None
        resource_version = ""
        while True:
            kwargs: dict[str, Any] = {"limit": self.page_size}
            if token:
                kwargs["_continue"] = token
            page = json.loads(self._call(**kwargs).data)
            for raw in page.get("items", []):
                raw["metadata"].setdefault("namespace", self.namespace)
                pod = pod_info(raw)
                seen[pod.uid] = pod
                self.on_pod(pod)
            token = page["metadata"].get("continue")
            resource_version = str(page["metadata"]["resourceVersion"])
            if not token:
                break
        for uid, gone in self.known.items():
            if uid not in seen:
                self.on_pod(dataclasses.replace(gone, deleted=True))
        self.known = seen
        self.synced.set()
        self.on_synced(self.namespace, set(seen))
        return resource_version

    def _watch(self, resource_version: str) -> str | None:
        """Follow changes from `resource_version`; return where to resume, or None to re-list."""
        response = self._call(
            watch=True,
            resource_version=resource_version,
            allow_watch_bookmarks=True,
            timeout_seconds=self.watch_timeout_seconds,
        )
        try:
            for line in iter_resp_lines(response):
                if self._stop.is_set():
                    return resource_version
                event = json.loads(line)
                kind, raw = event["type"], event["object"]
                if kind == "ERROR":
                    if raw.get("code") == 410:
                        return None
                    raise RuntimeError(f"watch error: {raw.get('message')}")
                resource_version = raw["metadata"]["resourceVersion"]
                if kind == "BOOKMARK":
                    continue
                pod = pod_info(raw, deleted=kind == "DELETED")
                if pod.deleted:
                    self.known.pop(pod.uid, None)
                else:
                    self.known[pod.uid] = pod
                self.on_pod(pod)
        finally:
            response.release_conn()
        return resource_version

    def _run(self) -> None:
        resource_version: str | None = None
        backoff = 0.5
        while not self._stop.is_set():
            try:
                if resource_version is None:
                    resource_version = self._list()
                resource_version = self._watch(resource_version)
                backoff = 0.5
            except ApiException as err:
                if err.status == 410:
                    resource_version = None
                    continue
                log.warning(
                    "pod watch (%s) failed: %s; retrying in %.1fs", self.namespace or "all", err.reason, backoff
                )
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
            except Exception as err:  # connection reset, API server restart, bad JSON
                log.warning("pod watch (%s) failed: %s; retrying in %.1fs", self.namespace or "all", err, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
