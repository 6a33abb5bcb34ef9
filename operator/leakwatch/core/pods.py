"""The few facts about a pod that attribution and OOM accounting need, as plain data.

The pod watch keeps only these (not whole pod objects): at 10,000 pods that is the difference
between tens and hundreds of MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Termination:
    reason: str
    finished_at: str  # RFC 3339, as the kubelet wrote it
    exit_code: int = 0


@dataclass(frozen=True)
class ContainerState:
    """One container's status: what the kubelet reports."""

    name: str
    restart_count: int = 0
    last_terminated: Termination | None = None
    current_terminated: Termination | None = None
    init: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str = ""
    env: tuple[tuple[str, str], ...] = ()  # literal values only; valueFrom is not resolvable here
    memory_limit_bytes: float | None = None


@dataclass(frozen=True)
class OwnerRef:
    kind: str
    name: str
    uid: str


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    uid: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    owner: OwnerRef | None = None
    containers: tuple[ContainerSpec, ...] = ()
    statuses: tuple[ContainerState, ...] = ()
    started_at: str | None = None  # status.startTime
    deleted: bool = False

    @property
    def workload(self) -> str | None:
        """The name users know the pods by: the Deployment for a ReplicaSet's pods (its name minus
        the pod-template-hash), else the direct owner; None for pods without an owner."""
        if self.owner is None:
            return None
        template_hash = self.labels.get("pod-template-hash")
        if self.owner.kind == "ReplicaSet" and template_hash and self.owner.name.endswith("-" + template_hash):
            return self.owner.name[: -len(template_hash) - 1]
        return self.owner.name

    @property
    def workload_kind(self) -> str | None:
        if self.owner is None:
            return None
        if self.owner.kind == "ReplicaSet" and self.workload != self.owner.name:
            return "Deployment"
        return self.owner.kind
