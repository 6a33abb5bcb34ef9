"""PromQL for one LeakWatch, built from escaped parts only.

Every value that comes from a user or from the cluster enters a query through `quote()` (a
PromQL string literal) or `regex_alternation()` (RE2-escaped, then quoted), so no value can close
a string and add a matcher or an `or` clause. Every query is scoped to the LeakWatch's namespace
(a user's Custom query is checked on its syntax tree: core/query_guard.py), and the analysis drops
any returned series from another namespace as a second line of defence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.analysis import RuntimeCap
from leakwatch.core.query_guard import check_custom_query

CADVISOR_CONTAINER = 'container!="", container!="POD"'


def quote(value: str) -> str:
    """A PromQL double-quoted string literal holding exactly `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'


def regex_alternation(values: list[str]) -> str:
    """A quoted, fully anchored (PromQL anchors =~) RE2 regex matching exactly these values."""
    return quote("|".join(re.escape(v) for v in sorted(set(values))))


@dataclass(frozen=True)
class Scope:
    namespace: str
    pods: list[str]

    def matchers(self) -> str:
        return f"namespace={quote(self.namespace)}, pod=~{regex_alternation(self.pods)}"


@dataclass(frozen=True)
class RuntimeQueries:
    """What a language runtime manages per pod, beside the container's memory: what it has taken
    (`committed`), the floor of what is in use (the live set after GC) and the cap it stops at."""

    cap: RuntimeCap
    committed: str
    used_floor: str
    maximum: str


# An unset GOMEMLIMIT reads as math.MaxInt64 (9.22e18 bytes): no cap.
_NO_GOMEMLIMIT = "9e18"


def runtime_queries(memory: MemorySpec, scope: Scope) -> list[RuntimeQueries]:
    """The JVM heap and the Go runtime per pod. The JVM's is summed over its pools (Micrometer
    reports one series per pool), and only pools with a max add to it (the others report -1). Each
    floor is the minimum per step."""
    jvm, go, window, where = memory.jvm, memory.go, memory.step, scope.matchers()
    heap = f"{where}, {jvm.heap_area_label}={quote('heap')}"
    managed_by_go = f"sum by (namespace, pod) ({go.sys_metric}{{{where}}} - {go.released_metric}{{{where}}})"
    return [
        RuntimeQueries(
            # The JVM never takes more heap than its max; GOMEMLIMIT only makes Go's collector work harder.
            RuntimeCap(managed="committed JVM heap", name="max", hard=True),
            committed=f"min_over_time(sum by (namespace, pod) ({jvm.heap_committed_metric}{{{heap}}})[{window}:])",
            used_floor=f"min_over_time(sum by (namespace, pod) ({jvm.heap_used_metric}{{{heap}}})[{window}:])",
            maximum=f"sum by (namespace, pod) ({jvm.heap_max_metric}{{{heap}}} > 0)",
        ),
        RuntimeQueries(
            RuntimeCap(managed="memory the Go runtime manages", name="GOMEMLIMIT", hard=False),
            committed=f"min_over_time({managed_by_go}[{window}:])",
            used_floor=f"min_over_time(sum by (namespace, pod) ({go.heap_alloc_metric}{{{where}}})[{window}:])",
            maximum=f"max by (namespace, pod) ({go.memory_limit_metric}{{{where}}} < {_NO_GOMEMLIMIT})",
        ),
    ]


def memory_query(memory: MemorySpec, scope: Scope) -> str:
    """Bytes per (pod, container), as the lower envelope of each step: `min_over_time` on the
    server cuts the data by the samples per step and keeps GC troughs, which is what leaks move."""
    window = memory.step
    where = scope.matchers()
    if memory.signal == "WorkingSet":
        return f"min_over_time(container_memory_working_set_bytes{{{where}, {CADVISOR_CONTAINER}}}[{window}])"
    if memory.signal == "RSS":
        return f"min_over_time(container_memory_rss{{{where}, {CADVISOR_CONTAINER}}}[{window}])"
    jvm = memory.jvm
    if memory.signal == "JVMNative":
        heap = f"{jvm.heap_committed_metric}{{{where}, {jvm.heap_area_label}={quote('heap')}}}"
        rss = f"container_memory_rss{{{where}, {CADVISOR_CONTAINER}}}"
        return f"min_over_time(({rss} - on(namespace, pod) group_left sum by (namespace, pod) ({heap}))[{window}:])"
    if memory.signal == "NMTCategory":
        nmt = f"{jvm.nmt_metric}{{{where}, pool={quote(jvm.nmt_category)}}}"
        return f"min_over_time(sum by (namespace, pod, container) ({nmt})[{window}:])"
    assert memory.query is not None  # the schema requires it for Custom
    filled = memory.query.replace("{namespace}", f"namespace={quote(scope.namespace)}").replace(
        "{pods}", f"pod=~{regex_alternation(scope.pods)}"
    )
    return check_custom_query(memory.query, filled, scope.namespace)
