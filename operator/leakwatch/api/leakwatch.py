"""`LeakWatch` (namespaced): what to watch, how to read the version, where memory comes from,
and what to do about a leak."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from leakwatch.api.common import (
    DURATION_PATTERN,
    ApiModel,
    Condition,
    Duration,
    LabelSelector,
    cel,
    cel_seconds,
    parse_duration,
    validations,
)
from leakwatch.api.patterns import MAX_REGEX_LENGTH, compile_user_regex
from leakwatch.api.terms import Action, Sensitivity, Verdict

METRIC_NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
METRIC_NAME_MESSAGE = "must be a Prometheus metric name (letters, digits, '_' and ':', not starting with a digit)"
# Container names are DNS-1123 labels.
CONTAINER_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
CONTAINER_NAME_MESSAGE = "container names are DNS-1123 labels: lower-case letters, digits and '-'"


def _check_regex(pattern: str) -> str:
    compile_user_regex(pattern)
    return pattern


MetricName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        json_schema_extra=validations(cel(f"self.matches(r'{METRIC_NAME_PATTERN}')", METRIC_NAME_MESSAGE)),
    ),
]
ContainerName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=63,
        json_schema_extra=validations(cel(f"self.matches(r'{CONTAINER_NAME_PATTERN}')", CONTAINER_NAME_MESSAGE)),
    ),
]
UserRegex = Annotated[
    str,
    AfterValidator(_check_regex),
    Field(
        min_length=1,
        max_length=MAX_REGEX_LENGTH,
        # CEL compiles the pattern with RE2, the dialect LeakWatch itself uses, so a pattern the API
        # server accepts is one the operator can run, in linear time.
        json_schema_extra=validations(
            cel(
                "''.matches(self) || !''.matches(self)",
                "regex must be a valid RE2 regular expression, for example ':(\\d+\\.\\d+\\.\\d+)$'",
            )
        ),
    ),
]


class VersionSource(ApiModel):
    """Where the version of the code a pod runs is read from."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.source == 'ImageTag' || has(self.key)",
                "version.key is required when version.source is Label, Annotation or Env "
                "(the label or annotation key, or the environment variable name)",
            ),
            cel(
                "self.source != 'ImageTag' || !has(self.key)",
                "version.key is not used with source ImageTag; name the container with version.container",
            ),
        )
    )

    @model_validator(mode="after")
    def _key_matches_source(self) -> VersionSource:
        if self.source != "ImageTag" and not self.key:
            raise ValueError("version.key is required when version.source is Label, Annotation or Env")
        if self.source == "ImageTag" and self.key:
            raise ValueError("version.key is not used with source ImageTag")
        return self

    source: Literal["ImageTag", "Label", "Annotation", "Env"] = Field(
        default="ImageTag",
        description="ImageTag reads the tag of a container's image; Label and Annotation read the pod's "
        "metadata; Env reads an environment variable of a container.",
    )
    container: ContainerName | None = Field(
        default=None,
        description="The container whose image tag or env is read. Defaults to the first container in "
        "spec.containers, else the pod's first container.",
    )
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=317,
        description="Label key, annotation key or environment variable name.",
    )
    regex: UserRegex | None = Field(
        default=None,
        description="Optional RE2 regex applied to the raw value; the first capture group (or the whole "
        "match) is the version. A value that does not match gives version 'unknown'.",
    )
    framework: str | None = Field(
        default=None,
        max_length=200,
        description="The package whose version this is, as LeakAdvisories name it (for example "
        "io.jooby:jooby-netty). Advisories are matched only when it is set.",
    )


class JVMMetrics(ApiModel):
    """Metric names of the JVM's own instrumentation. Defaults fit Prometheus client_java and
    Micrometer; the JMX exporter names heap committed `jvm_memory_bytes_committed`. With the
    WorkingSet or RSS signal, a version whose memory grows has its pods' heap read beside it."""

    heap_committed_metric: MetricName = Field(
        default="jvm_memory_committed_bytes",
        description="Committed memory per area; the series with heapAreaLabel=heap is subtracted from RSS.",
    )
    heap_area_label: MetricName = Field(default="area", description="The label that tells heap from non-heap.")
    heap_used_metric: MetricName = Field(
        default="jvm_memory_used_bytes",
        description="Used memory per area: its floor after GC with heapAreaLabel=heap tells a heap filling to "
        "its max (a flat floor) from a live set that grows (a cache filling or a heap leak, which ends in "
        "OutOfMemoryError at the max, not in an OOMKill, when the max leaves room below the limit) "
        "(JMX exporter: jvm_memory_bytes_used).",
    )
    heap_max_metric: MetricName = Field(
        default="jvm_memory_max_bytes",
        description="The most memory per area the JVM will commit (-Xmx, MaxRAMPercentage): a working set that "
        "grows by the heap stops there (JMX exporter: jvm_memory_bytes_max).",
    )
    nmt_metric: MetricName = Field(
        default="jvm_native_memory_committed_bytes",
        description="Native Memory Tracking committed bytes per category (needs -XX:NativeMemoryTracking=summary).",
    )
    nmt_category: str = Field(
        default="Other",
        min_length=1,
        max_length=64,
        description="The NMT category for the NMTCategory signal; Other holds direct ByteBuffers.",
    )


class GoMetrics(ApiModel):
    """Metric names of the Go runtime, as Prometheus client_golang exports them by default. With the
    WorkingSet or RSS signal, a version whose memory grows has its pods' Go runtime read beside it:
    memory the runtime manages, growing towards a GOMEMLIMIT below the memory limit while the live
    heap stays flat, is the garbage collector using its room, not a leak."""

    memory_limit_metric: MetricName = Field(
        default="go_gc_gomemlimit_bytes",
        description="GOMEMLIMIT, the runtime's soft memory limit (unset, it reads as the largest int64).",
    )
    sys_metric: MetricName = Field(
        default="go_memstats_sys_bytes", description="Memory the runtime has obtained from the OS."
    )
    released_metric: MetricName = Field(
        default="go_memstats_heap_released_bytes",
        description="Heap memory returned to the OS: what GOMEMLIMIT counts is the sys metric minus this.",
    )
    heap_alloc_metric: MetricName = Field(
        default="go_memstats_heap_alloc_bytes",
        description="Bytes of allocated heap objects: its floor after GC is the live heap.",
    )


# Series are read in chunks, so a long window works; this bounds what one pod's series costs
# (50,000 points is 30 days at 1m, or 7 days at 15s).
MAX_POINTS_PER_SERIES = 50_000
# Only compare well-formed durations; a malformed one has its own message.
_WELL_FORMED_DURATIONS = f"!(self.window.matches(r'{DURATION_PATTERN}') && self.step.matches(r'{DURATION_PATTERN}'))"
TOO_MANY_POINTS = (
    f"memory.window may span at most {MAX_POINTS_PER_SERIES:,} steps: raise memory.step "
    "(for example window 30d with step 1m, or 7d with step 15s)"
)


class MemorySpec(ApiModel):
    """Where memory samples come from and how they are analysed."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.signal != 'Custom' || has(self.query)",
                "memory.query is required when memory.signal is Custom",
            ),
            cel(
                "self.signal == 'Custom' || !has(self.query)",
                "memory.query is only used when memory.signal is Custom",
            ),
            cel(
                f"{_WELL_FORMED_DURATIONS} || {cel_seconds('self.window')} >= 10 * {cel_seconds('self.step')}",
                "memory.window must span at least 10 steps (for example window 6h with step 1m)",
            ),
            cel(
                f"{_WELL_FORMED_DURATIONS} || "
                f"{cel_seconds('self.window')} <= {MAX_POINTS_PER_SERIES} * {cel_seconds('self.step')}",
                TOO_MANY_POINTS,
            ),
        )
    )

    source: Literal["Prometheus"] = Field(
        default="Prometheus",
        description="Where memory history comes from: Prometheus range queries. The metrics.k8s.io API "
        "(metrics-server) is not offered: it holds one live sample per pod and no history, and a leak is "
        "a trend over hours.",
    )
    signal: Literal["WorkingSet", "RSS", "JVMNative", "NMTCategory", "Custom"] = Field(
        default="WorkingSet",
        description="WorkingSet and RSS come from cAdvisor; JVMNative is RSS minus committed heap; "
        "NMTCategory is one Native Memory Tracking category; Custom is your own query.",
    )
    query: str | None = Field(
        default=None,
        max_length=2048,
        description="For signal Custom: a PromQL expression returning bytes per pod and container. "
        "LeakWatch substitutes {namespace} and {pods} (escaped label matchers) and checks the query on its "
        "syntax tree: every selector must carry {namespace}, and what could read or forge another "
        "namespace (label_replace/label_join or count_values writing namespace, pod or container; group_left/"
        "group_right copying one of them; absent; info; @; offsets beyond a day; more than 20 selectors) is "
        "refused with a QueryRefused condition. What it may read is bounded: 5,000 series, 4,000,000 points "
        "over the window and 20 s of Prometheus's time (QueryTooLarge, QueryTimeout).",
        json_schema_extra=validations(
            cel(
                "self.contains('{namespace}')",
                "memory.query must use the {namespace} placeholder so it stays in the LeakWatch's namespace",
            ),
            cel(
                "!self.contains('\\\\')",
                "memory.query may not contain backslash escapes: use RE2 character classes such as [.] or [0-9]",
            ),
        ),
    )
    window: Duration = Field(
        default="24h",
        description="How far back each analysis looks. Medium sensitivity extrapolates at most 4x the growth it "
        "has seen, so a 24h window can call a leak that is up to about 4 days from OOM. From 48h, a container run "
        "of two days or more has its daily cycle taken out before its trend is judged.",
    )
    step: Duration = Field(
        default="1m",
        description="Resolution of the samples. Long windows are read from Prometheus in chunks, so 7-30 day "
        "windows work; one window may hold at most 50,000 steps.",
    )
    sensitivity: Sensitivity = Field(
        default="Medium",
        description="High flags slower leaks sooner at the cost of more false alarms.",
    )

    @model_validator(mode="after")
    def _window_spans_steps(self) -> MemorySpec:
        if parse_duration(self.window) < 10 * parse_duration(self.step):
            raise ValueError("memory.window must span at least 10 steps (for example window 6h with step 1m)")
        if parse_duration(self.window) > MAX_POINTS_PER_SERIES * parse_duration(self.step):
            raise ValueError(TOO_MANY_POINTS)
        if self.signal == "Custom" and not self.query:
            raise ValueError("memory.query is required when memory.signal is Custom")
        if self.signal != "Custom" and self.query:
            raise ValueError("memory.query is only used when memory.signal is Custom")
        return self

    jvm: JVMMetrics = Field(
        default_factory=JVMMetrics,
        description="Metric names for the JVM signals.",
        json_schema_extra={"default": {}},
    )
    go: GoMetrics = Field(
        default_factory=GoMetrics,
        description="Metric names of the Go runtime, read beside a growing working set.",
        json_schema_extra={"default": {}},
    )


class OOMSpec(ApiModel):
    """When OOMKills alone make a version suspect."""

    threshold: int = Field(
        default=2,
        ge=1,
        le=1000,
        description="OOMKills of one version within the window that make it a suspect.",
    )
    window: Duration = Field(default="24h", description="The window over which OOMKills are counted.")


class ActionSpec(ApiModel):
    """What LeakWatch does with a recommendation."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.mode != 'Auto' || has(self.cooldown)",
                "action.mode Auto needs action.cooldown (for example 1h), so a workload is never rolled "
                "back twice within that time",
            )
        )
    )

    @model_validator(mode="after")
    def _auto_needs_cooldown(self) -> ActionSpec:
        if self.mode == "Auto" and self.cooldown is None:
            raise ValueError("action.mode Auto needs action.cooldown (for example 1h)")
        return self

    mode: Literal["Recommend", "Auto"] = Field(
        default="Recommend",
        description="Recommend only reports; Auto also rolls the workload back (opt-in).",
    )
    cooldown: Duration | None = Field(
        default=None, description="Auto mode: the least time between two automatic actions on a workload."
    )
    act_after: Duration = Field(
        default="15m",
        description="Auto mode: how long a recommendation must stand unchanged before LeakWatch acts on it, as "
        "the LeakWatchLeakSuspected alert waits for its `for`: a verdict that turns Leaking at one analysis "
        "and back at the next never rolls a workload back.",
    )
    dry_run: bool = Field(default=False, description="Auto mode: record what would be done, change nothing.")
    allow_git_ops: bool = Field(
        default=False,
        description="Auto mode: also act on workloads managed by Argo CD or Flux (skipped by default).",
    )


class LeakWatchSpec(ApiModel):
    selector: LabelSelector = Field(description="Which pods of this namespace to watch.")
    containers: list[ContainerName] = Field(
        default_factory=list,
        max_length=16,
        description="Containers to watch; empty means all containers of the selected pods.",
        json_schema_extra={"default": []},
    )
    version: VersionSource = Field(
        default_factory=VersionSource,
        description="Where the version of the running code is read.",
        json_schema_extra={"default": {}},
    )
    memory: MemorySpec = Field(
        default_factory=MemorySpec,
        description="Memory samples and analysis.",
        json_schema_extra={"default": {}},
    )
    oom: OOMSpec = Field(default_factory=OOMSpec, description="OOMKill thresholds.", json_schema_extra={"default": {}})
    action: ActionSpec = Field(
        default_factory=ActionSpec,
        description="Recommend (default) or Auto rollback.",
        json_schema_extra={"default": {}},
    )


class VersionStats(ApiModel):
    version: str = Field(max_length=256)
    pods: int = Field(default=0, ge=0, description="Pods seen running this version.")
    pod_seconds: float = Field(
        default=0.0, ge=0, description="Observed pod-seconds: the lifetimes of its pods, summed."
    )
    oom_kills: int = Field(default=0, ge=0, description="OOMKills counted for this version.")
    oom_kills_inferred: int = Field(
        default=0, ge=0, description="Of those, OOMKills inferred from restartCount while unobserved."
    )
    oom_kills_in_window: int = Field(
        default=0, ge=0, description="OOMKills within oom.window: what oom.threshold is compared with."
    )
    growth_bytes_per_second: float | None = Field(
        default=None, description="Robust growth rate of the memory lower envelope, bytes per second."
    )
    evidence: list[str] = Field(default_factory=list, description="The verdict's reasons, in words.")
    time_to_oom_seconds: float | None = Field(
        default=None, alias="timeToOOMSeconds", description="Projected time to the memory limit."
    )
    verdict: Verdict = Field(default="InsufficientData")
    confidence: float = Field(default=0.0, ge=0, le=1)
    framework: str | None = Field(
        default=None,
        max_length=768,
        description="spec.version.framework's package and its version inside this app version, from its SBOM "
        "(e.g. io.jooby:jooby-netty 3.1.2).",
    )
    first_seen: str | None = Field(default=None, description="RFC 3339.")
    last_seen: str | None = Field(default=None, description="RFC 3339.")


class ComponentChangeStatus(ApiModel):
    package: str = Field(max_length=512, description="As advisories name it, e.g. io.jooby:jooby-netty.")
    from_version: str | None = Field(default=None, max_length=256, description="In the last flat app version.")
    to_version: str | None = Field(default=None, max_length=256, description="In the leaking app version.")
    advisories: list[str] = Field(default_factory=list, max_length=16, description="Advisories covering to_version.")


class Recommendation(ApiModel):
    action: Action = Field(default="None")
    workload: str | None = Field(default=None, max_length=253)
    from_version: str | None = Field(default=None, max_length=256)
    to_version: str | None = Field(default=None, max_length=256)
    confidence: float = Field(default=0.0, ge=0, le=1)
    summary: str = Field(default="", max_length=2048, description="The recommendation in one line.")
    evidence: list[str] = Field(default_factory=list, max_length=32)
    since: str | None = Field(default=None, description="When this recommendation was first made (RFC 3339).")
    component: str | None = Field(
        default=None,
        max_length=768,
        description="The component inside the leaking app version that the leak is tied to (an advisory "
        "covers it, or it is spec.version.framework's package), with its version.",
    )
    component_changes: list[ComponentChangeStatus] = Field(
        default_factory=list,
        max_length=32,
        description="What changed inside the app from the last flat version (changedFrom) to the leaking one, "
        "advisory-covered changes first.",
    )
    changed_from: str | None = Field(default=None, max_length=256, description="The last flat app version.")


class LedgerContainer(ApiModel):
    name: str = Field(max_length=63)
    restart_count: int = Field(default=0, ge=0, description="Restarts already accounted for.")
    counted_oom_kills: list[str] = Field(
        default_factory=list, max_length=8, alias="countedOOMKills", description="finishedAt of OOMKills counted."
    )


# Live pods whose OOMKill accounting one status keeps. A record is about 250 bytes, so 2,000 of them
# take about 500 KB, leaving room in etcd's 1.5 MiB object limit for the rest of the status (the
# component sets alone can take 290 KB). Pods beyond it are left out of the status, not out of the
# ledger: core/oom.py's `Ledger.unstored_before` says what that costs after an operator restart.
MAX_STORED_PODS = 2000


class LedgerPod(ApiModel):
    uid: str = Field(max_length=64)
    name: str = Field(max_length=253)
    version: str = Field(max_length=64)
    workload: str = Field(max_length=253)
    started_at: str | None = None
    containers: list[LedgerContainer] = Field(default_factory=list)
    limits: dict[str, float] = Field(default_factory=dict, description="Memory limit per container, bytes.")


class LedgerPastPod(ApiModel):
    name: str = Field(max_length=253)
    version: str = Field(max_length=64)
    ended_at: str
    limits: dict[str, float] = Field(default_factory=dict)


# Components kept per app version; the ledger keeps them for a few versions only (core/oom.py).
MAX_COMPONENTS_PER_VERSION = 512


class LedgerVersion(ApiModel):
    version: str = Field(max_length=64)
    workload: str = Field(default="", max_length=253)
    first_seen: str
    last_seen: str
    pods: int = Field(default=0, ge=0, description="Distinct pods seen running this version.")
    closed_pod_seconds: float = Field(default=0.0, ge=0, description="Lifetimes of this version's pods that are gone.")
    components: list[str] = Field(
        default_factory=list,
        max_length=MAX_COMPONENTS_PER_VERSION,
        description="Package URLs of the components inside this app version (from its SBOM), kept while it "
        "ran so a later release can be diffed against it; only the newest versions keep theirs.",
    )
    components_source: str | None = Field(
        default=None, max_length=64, description="Where the components were read: SbomReport or Annotation."
    )
    components_problem: str | None = Field(
        default=None, max_length=1024, description="Why the component set may be incomplete."
    )


class LedgerOOMBucket(ApiModel):
    start: str = Field(description="Start of the bucket, RFC 3339.")
    count: int = Field(ge=0)


class LedgerOOMKills(ApiModel):
    workload: str = Field(max_length=253)
    container: str = Field(max_length=63)
    version: str = Field(max_length=64)
    count: int = Field(default=0, ge=0)
    inferred: int = Field(default=0, ge=0, description="Of count, OOMKills inferred from a restartCount jump.")
    recent: list[LedgerOOMBucket] = Field(
        default_factory=list,
        max_length=512,
        description="OOMKills within oom.window, in time buckets of 1/256 of it (one minute at least).",
    )
    exported: int | None = Field(
        default=None,
        ge=0,
        description="Of count, the OOMKills this LeakWatch's metrics count: of pods it was the oldest of the "
        "LeakWatches selecting them when the kill was counted (absent: all of count).",
    )
    exported_recent: list[LedgerOOMBucket] = Field(
        default_factory=list, max_length=512, description="Of recent, the exported OOMKills."
    )


class Ledger(ApiModel):
    """What LeakWatch has counted, kept in the cluster so an operator restart neither loses nor
    double-counts an OOMKill. Written by the operator only."""

    pods: list[LedgerPod] = Field(
        default_factory=list,
        max_length=MAX_STORED_PODS,
        description=f"Live pods' accounting, {MAX_STORED_PODS:,} pods at most: those with restarts or OOMKills first.",
    )
    unstored_pods: int | None = Field(
        default=None, ge=0, description="Live pods left out of `pods`: a LeakWatch selecting too many."
    )
    unstored_before: str | None = Field(
        default=None,
        description=(
            "RFC 3339. After an operator restart, a pod missing from `pods` that started before this is taken "
            "with its history up to then as already counted: no OOMKill is counted twice."
        ),
    )
    versions: list[LedgerVersion] = Field(
        default_factory=list, max_length=64, description="The 64 most recently seen versions at most."
    )
    oom_kills: list[LedgerOOMKills] = Field(default_factory=list, alias="oomKills")
    retired_oom_kills: int = Field(
        default=0,
        ge=0,
        alias="retiredOOMKills",
        description="OOMKills of versions no longer kept (beyond the 64 most recently seen).",
    )
    past: list[LedgerPastPod] = Field(
        default_factory=list, description="Recently gone pods whose memory may still be analysed."
    )


class AutoAction(ApiModel):
    """What Auto mode last did (or would have done, or why it did not)."""

    reason: str = Field(max_length=64, description="AutoRollback, DryRun, or why it was skipped.")
    message: str = Field(default="", max_length=1024)
    workload: str = Field(default="", max_length=253)
    from_version: str | None = Field(default=None, max_length=64)
    to_version: str | None = Field(default=None, max_length=64)
    revision: str | None = Field(default=None, max_length=32)
    time: str = Field(description="RFC 3339.")
    acted_at: str | None = Field(
        default=None, description="When the workload was last really rolled back (the cooldown counts from it)."
    )


class LeakWatchStatus(ApiModel):
    observed_generation: int = Field(default=0, ge=0)
    conditions: list[Condition] = Field(
        default_factory=list,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]},
    )
    verdict: Verdict | None = Field(default=None, description="The worst verdict over the watched versions.")
    suspect_version: str | None = Field(default=None, max_length=256)
    versions: list[VersionStats] = Field(default_factory=list)
    recommendation: Recommendation | None = None
    last_analysis_time: str | None = Field(default=None, description="RFC 3339.")
    oom_kills: int = Field(default=0, ge=0, alias="oomKills", description="OOMKills counted over all versions.")
    ledger: Ledger | None = None
    last_action: AutoAction | None = None


class LeakWatch(ApiModel):
    """Watches a workload's pods for native-memory growth and OOMKills, ties them to the version
    that was running, and recommends a rollback or an upgrade."""

    model_config = ConfigDict(extra="ignore")

    spec: LeakWatchSpec
    status: LeakWatchStatus = Field(default_factory=LeakWatchStatus)
