"""One LeakWatch as the operator holds it at one moment: an immutable snapshot.

Analysis computes on it, the status and the metrics are rendered from it, all without holding
the store's lock; the store goes on counting OOMKills meanwhile. Its ledger is a copy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leakwatch.api.common import parse_duration
from leakwatch.api.leakwatch import AutoAction, LeakWatchSpec, OOMSpec, Recommendation
from leakwatch.core.analysis import VersionVerdict
from leakwatch.core.assess import LeakSummary
from leakwatch.core.oom import Ledger

DEFAULT_OOM_WINDOW = OOMSpec().window


@dataclass(frozen=True)
class LeakWatchState:
    namespace: str
    name: str
    uid: str
    generation: int
    spec: LeakWatchSpec | None  # None: the spec is not usable (Ready=False says why)
    ledger: Ledger
    conditions: tuple[Mapping[str, Any], ...]  # merged by core/conditions.py, checked when written
    verdicts: Mapping[str, VersionVerdict] = field(default_factory=dict)  # the last successful analysis
    summary: LeakSummary | None = None
    last_analysis: datetime | None = None
    recommendation: Recommendation | None = None
    last_action: AutoAction | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.name)

    @property
    def oom_window_seconds(self) -> float:
        return oom_window_seconds(self.spec)

    def running_versions(self) -> set[str]:
        return {pod.version for pod in self.ledger.pods.values()}


def oom_window_seconds(spec: LeakWatchSpec | None) -> float:
    return parse_duration(spec.oom.window if spec else DEFAULT_OOM_WINDOW).total_seconds()
