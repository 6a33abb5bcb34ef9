"""LeakWatches of one namespace whose selectors share pods.

Each still counts every pod it selects in its own status (that is what its threshold judges),
but one OOMKill must be one in `sum(leakwatch_oom_kills_total)` and one workload must have one
Auto actor. Both go to the LeakWatch that came first: the oldest by creation, then by name, so
every replica and every restart picks the same one without talking to the others.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from leakwatch.core.conditions import ConditionUpdate

OVERLAPPING = "Overlapping"
_NOT_CREATED = datetime.max.replace(tzinfo=UTC)  # not yet known: last, then by name


@dataclass(frozen=True)
class Claim:
    """What one LeakWatch selects right now."""

    name: str
    created: datetime | None
    pods: frozenset[str]  # uids
    workloads: frozenset[str]
    auto: bool = False


@dataclass(frozen=True)
class Overlap:
    shared_with: tuple[str, ...] = ()  # other LeakWatches selecting one of its pods, first-come first
    shared_pods: int = 0
    first: str | None = None  # the one that counts shared pods in metrics and may act on them


def first_come(created: datetime | None, name: str) -> tuple[datetime, str]:
    """The order in which LeakWatches get shared pods: oldest first, then by name."""
    return (created or _NOT_CREATED, name)


def precedence(claim: Claim) -> tuple[datetime, str]:
    return first_come(claim.created, claim.name)


def overlaps(claims: Iterable[Claim]) -> dict[str, Overlap]:
    ordered = sorted(claims, key=precedence)
    found: dict[str, Overlap] = {}
    for claim in ordered:
        others = [o for o in ordered if o.name != claim.name and claim.pods & o.pods]
        if not others:
            found[claim.name] = Overlap()
            continue
        shared = set().union(*(claim.pods & o.pods for o in others))
        first = min([claim, *others], key=precedence).name
        found[claim.name] = Overlap(tuple(o.name for o in others), len(shared), first)
    return found


def auto_actor(claims: Iterable[Claim], workload: str) -> str | None:
    """The one LeakWatch whose Auto mode may act on `workload`."""
    acting = [c for c in claims if c.auto and workload in c.workloads]
    return min(acting, key=precedence).name if acting else None


def exports_kills_of(name: str, selecting: Iterable[tuple[datetime | None, str]]) -> bool:
    """True if LeakWatch `name` is the first of those selecting a pod (creation time, name): its
    metrics count that pod's OOMKills. Decided when a kill is counted, so each OOMKill lands in
    exactly one LeakWatch's counter, also where selectors overlap only in part."""
    ordered = sorted(selecting, key=lambda who: first_come(*who))
    return bool(ordered) and ordered[0][1] == name


def overlap_condition(name: str, overlap: Overlap) -> ConditionUpdate:
    if not overlap.shared_with:
        return ConditionUpdate(OVERLAPPING, "False", "NoSharedPods", "no other LeakWatch selects its pods")
    first = "this one" if overlap.first == name else overlap.first
    return ConditionUpdate(
        OVERLAPPING,
        "True",
        "SharedPods",
        f"{overlap.shared_pods} of its pods are also selected by LeakWatch {', '.join(overlap.shared_with)}; "
        f"each status counts them, metrics count each OOMKill of theirs once, under {first} (the oldest, "
        "then by name, when the kill was counted), and of those in Auto mode only the oldest acts on a workload",
    )
