"""The few facts about a pod that attribution and OOM accounting need, as plain data.

The pod watch keeps only these (not whole pod objects): at 10,000 pods that is the difference
between tens and hundreds of MiB.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Termination:
    reason: str
    finished_at: str  # RFC 3339, as the kubelet wrote it
    exit_code: int = 0


@dataclass(frozen=True, slots=True)
class ContainerState:
    """One container's status: what the kubelet reports."""

    name: str
    restart_count: int = 0
    last_terminated: Termination | None = None
    current_terminated: Termination | None = None
    init: bool = False


@dataclass(frozen=True, slots=True)
class ContainerSpec:
    name: str
    image: str = ""
    env: tuple[tuple[str, str], ...] = ()  # literal values only; valueFrom is not resolvable here
    memory_limit_bytes: float | None = None


@dataclass(frozen=True, slots=True)
class OwnerRef:
    kind: str
    name: str
    uid: str


@dataclass(frozen=True, slots=True)  # slots: the operator holds one per pod, 10,000s of them
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


# --- from the API's JSON --------------------------------------------------------------------------
_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12}
_SKIPPED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)


def parse_quantity(text: str | None) -> float | None:
    if not text:
        return None
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * _UNITS[suffix]
    try:
        return float(text)
    except ValueError:
        return None


def _termination(state: dict[str, Any] | None) -> Termination | None:
    terminated = (state or {}).get("terminated")
    if not terminated:
        return None
    return Termination(
        reason=terminated.get("reason") or "",
        finished_at=terminated.get("finishedAt") or terminated.get("startedAt") or "",
        exit_code=int(terminated.get("exitCode") or 0),
    )


def _container_states(statuses: list[dict[str, Any]] | None, init: bool) -> list[ContainerState]:
    return [
        ContainerState(
            name=s["name"],
            restart_count=int(s.get("restartCount") or 0),
            last_terminated=_termination(s.get("lastState")),
            current_terminated=_termination(s.get("state")),
            init=init,
        )
        for s in statuses or []
    ]


def container_specs(containers: list[dict[str, Any]] | None) -> list[ContainerSpec]:
    return [
        ContainerSpec(
            name=c["name"],
            image=c.get("image", ""),
            env=tuple((e["name"], e["value"]) for e in c.get("env") or [] if "value" in e),
            memory_limit_bytes=parse_quantity(((c.get("resources") or {}).get("limits") or {}).get("memory")),
        )
        for c in containers or []
    ]


def pod_info(raw: dict[str, Any], deleted: bool = False) -> PodInfo:
    """Keep what attribution and accounting need of a pod in its JSON form."""
    meta, spec, status = raw["metadata"], raw.get("spec") or {}, raw.get("status") or {}
    owner = next((o for o in meta.get("ownerReferences") or [] if o.get("controller")), None)
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in _SKIPPED_ANNOTATIONS}
    return PodInfo(
        namespace=meta["namespace"],
        name=meta["name"],
        uid=meta["uid"],
        labels=dict(meta.get("labels") or {}),
        annotations=annotations,
        owner=OwnerRef(owner["kind"], owner["name"], owner["uid"]) if owner else None,
        containers=tuple(container_specs(spec.get("initContainers")) + container_specs(spec.get("containers"))),
        statuses=tuple(
            _container_states(status.get("initContainerStatuses"), init=True)
            + _container_states(status.get("containerStatuses"), init=False)
        ),
        started_at=status.get("startTime"),
        deleted=deleted,
    )
