"""Writes LeakWatch status through the status subresource.

JSON merge patches carry no resourceVersion, so they never conflict; they replace lists whole,
which is why one writer per LeakWatch (the accountant, under its lock) owns the complete value of
every list it writes. Transient failures are retried with backoff; a LeakWatch that is gone is
not an error.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from leakwatch.api import GROUP, VERSION

log = logging.getLogger(__name__)
RETRIED_STATUSES = {409, 429, 500, 502, 503, 504}


class StatusWriter:
    def __init__(self, api: client.CustomObjectsApi, attempts: int = 5) -> None:
        self.api = api
        self.attempts = attempts

    def patch(self, namespace: str, name: str, status: dict[str, Any]) -> bool:
        """Merge `status` into the LeakWatch's status; False when the LeakWatch no longer exists."""
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                self.api.patch_namespaced_custom_object_status(
                    GROUP, VERSION, namespace, "leakwatches", name, {"status": status}
                )
                return True
            except ApiException as err:
                if err.status == 404:
                    return False
                if err.status not in RETRIED_STATUSES or attempt == self.attempts:
                    raise
                log.info("status patch of %s/%s got %s; retry %d", namespace, name, err.status, attempt)
            except OSError:
                if attempt == self.attempts:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 5)
        return False
