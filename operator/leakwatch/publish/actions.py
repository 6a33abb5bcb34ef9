"""What Auto mode can carry out: one executor per action, each acting only on decisions it owns.

The analyser hands every decision to each executor in turn; the first that returns a
`status.lastAction` entry has acted (or said why it did not). A new action that LeakWatch
carries out is one executor module and one line here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from kubernetes import client

from leakwatch.api.leakwatch import AutoAction, LeakWatchSpec
from leakwatch.core.decide import Decision
from leakwatch.publish.rollback import Rollbacks


class Executor(Protocol):
    def attempt(
        self,
        *,
        namespace: str,
        workload: str,
        decision: Decision,
        spec: LeakWatchSpec,
        previous: AutoAction | None,
        recommended_since: datetime,
        acts_instead: str | None = None,
    ) -> AutoAction | None:
        """Act if `decision` is this executor's and every guard allows; the status.lastAction entry,
        or None when the decision is not its business. `previous` is the last entry, from status
        (the cooldown counts from it, whichever replica acted); `recommended_since` is when the
        recommendation was first made (status.recommendation.since); `acts_instead` names the
        LeakWatch that acts on this workload instead of this one."""
        ...


def executors(api: client.ApiClient) -> tuple[Executor, ...]:
    return (Rollbacks(client.AppsV1Api(api)),)
