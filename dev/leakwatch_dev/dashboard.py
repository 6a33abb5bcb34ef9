"""The Grafana dashboard the Helm chart ships, written as code with the Grafana Foundation SDK.

    make generate                        # writes helm/leakwatch/files/dashboards/leakwatch.json
    python -m leakwatch_dev.dashboard    # prints it

The JSON is generated, never edited by hand (generate.py); tests/unit/test_generated.py fails when
the committed file drifts from this module. Only the harness imports the SDK: the operator never does.

Every query reads what the operator exports on /metrics (docs/metrics.md) plus cAdvisor's
`container_memory_working_set_bytes{namespace,pod,container}` and Prometheus's own `up`. Several
operator replicas (kopf peering) may export the same series, so each query folds them with
`max without (instance, pod)` first, as the chart's alert rules do. Memory comes per pod: no
metric maps a pod to its version (the operator's labels carry no pod names), so the pods are
found by their names (`<workload>-<hash>-<suffix>`, `<workload>-<suffix>` or `<workload>-<n>`)
and the versions are shown beside them on the same time axis: pods running per version, each
version's verdict, and a rollout marker where a version's first pod starts.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Sequence

# The SDK steers to its v2 dashboard schema, which only Grafana 12 with the new dashboard APIs loads,
# and warns on importing the classic one; the sidecar of kube-prometheus-stack provisions the
# classic JSON model, so that is the one built here.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from grafana_foundation_sdk.builders import (
        bargauge,
        common,
        dashboard,
        prometheus,
        stat,
        statetimeline,
        table,
        timeseries,
    )
    from grafana_foundation_sdk.cog import builder as cogbuilder
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as common_models
    from grafana_foundation_sdk.models import dashboard as dashboard_models
    from grafana_foundation_sdk.models import prometheus as prometheus_models

UID = "leakwatch"
TITLE = "LeakWatch"
DATASOURCE = common_models.DataSourceRef(type_val="prometheus", uid="${datasource}")

# --- selectors -------------------------------------------------------------------------------------
VERSIONED = 'namespace=~"$namespace", leakwatch=~"$leakwatch", workload=~"$workload"'
PER_LEAKWATCH = 'namespace=~"$namespace", leakwatch=~"$leakwatch"'
OPERATOR = 'job=~"$job"'
BY_VERSION = "namespace, workload, version"
# A pod of the workload, by name: Deployment `<name>-<template hash>-<suffix>`, DaemonSet
# `<name>-<suffix>`, StatefulSet `<name>-<ordinal>`. Hash and suffix use Kubernetes' safe alphabet
# (no vowels), so workload `api` does not take in the pods of `api-gateway`.
SAFE = "[bcdfghjklmnpqrstvwxz2456789]"
WORKLOAD_PODS = f"($workload)-(({SAFE}{{1,10}}-)?{SAFE}{{5}}|[0-9]+)"
# Series that carry a LeakWatch's namespace, name and workload (Prometheus's label_values takes one
# series selector, not an expression, hence one selector over several metric names).
LEAKWATCH_SERIES = (
    "leakwatch_observed_pod_seconds_total|leakwatch_version_verdict|leakwatch_oom_kills_total"
    "|leakwatch_last_successful_analysis_timestamp_seconds"
)
WORKLOAD_SERIES = "leakwatch_observed_pod_seconds_total|leakwatch_version_verdict|leakwatch_oom_kills_total"
# The verdict timeline codes each verdict as a number, shown as its name and colour.
VERDICT_CODES = {
    1: ("InsufficientData", "text"),
    2: ("Stable", "green"),
    3: ("Suspected", "orange"),
    4: ("Leaking", "red"),
}


def deduplicated(expr: str) -> str:
    """One series per label set whatever the number of operator replicas exporting it."""
    return f"max without (instance, pod) ({expr})"


def versioned(metric: str, *matchers: str) -> str:
    return f"{metric}{{{', '.join([VERSIONED, *matchers])}}}"


def operator(metric: str) -> str:
    return f"{metric}{{{OPERATOR}}}"


def pods_per_version(window: str, offset: str = "") -> str:
    """Pod-seconds per second = pods running: the rate of the observed pod-seconds, per version."""
    shift = f" offset {offset}" if offset else ""
    rate = f"rate({versioned('leakwatch_observed_pod_seconds_total')}[{window}]{shift})"
    return f"sum by ({BY_VERSION}) ({deduplicated(rate)})"


def leaking(offset: str = "") -> str:
    shift = f" offset {offset}" if offset else ""
    verdict = versioned("leakwatch_version_verdict", 'verdict="Leaking"')
    return f"max by ({BY_VERSION}) ({verdict}{shift}) == 1"


def verdict_code() -> str:
    """One series per version whose value codes its current verdict (VERDICT_CODES): each verdict's
    series is 1 when current and 0 otherwise, so the maximum of series x code is the current code."""
    coded = [
        f"{versioned('leakwatch_version_verdict', f'verdict={json.dumps(verdict)}')} * {code}"
        for code, (verdict, _) in sorted(VERDICT_CODES.items(), reverse=True)
    ]
    return f"max by ({BY_VERSION}) ({' or '.join(coded)})"


def increase_by(by: str, selector: str, window: str) -> str:
    """How much a counter grew within `window`. The operator creates a labelled counter with its first
    count (an OOMKill, a failed analysis) already in it, and increase() only sees growth between two
    samples; so a series that did not exist `window` ago counts its whole value instead."""
    new = f"{deduplicated(selector)} unless {deduplicated(f'{selector} offset {window}')}"
    grown = deduplicated(f"increase({selector}[{window}])")
    return f"sum by ({by}) (({new}) or {grown})"


def per_second(by: str, selector: str) -> str:
    return f"sum by ({by}) ({deduplicated(f'rate({selector}[$__rate_interval])')})"


def duration_quantile(q: float, histogram: str = "leakwatch_analysis_duration_seconds") -> str:
    return f"histogram_quantile({q}, {per_second('le', operator(histogram + '_bucket'))})"


MEMORY = (
    "max by (namespace, pod, container) (container_memory_working_set_bytes{"
    f'namespace=~"$namespace", pod=~"{WORKLOAD_PODS}", container!="", container!="POD"}})'
)
PODS_PER_VERSION = pods_per_version("$__rate_interval")
VERDICT = verdict_code()
GROWTH = f"max by ({BY_VERSION}) ({versioned('leakwatch_memory_growth_bytes_per_second')})"
TIME_TO_OOM = f"min by ({BY_VERSION}) ({versioned('leakwatch_time_to_oom_seconds')})"
OOM_KILLS = increase_by(BY_VERSION, versioned("leakwatch_oom_kills_total"), "$__rate_interval")
OOM_KILLS_IN_RANGE = f"round({increase_by(BY_VERSION, versioned('leakwatch_oom_kills_total'), '$__range')})"
OOM_KILLS_IN_WINDOW = f"max by ({BY_VERSION}) ({versioned('leakwatch_oom_kills_in_window')})"
RECOMMENDATIONS = (
    "max by (namespace, leakwatch, workload, action, from_version, to_version, component) "
    f"({versioned('leakwatch_recommendation_info')}) == 1"
)
FRAMEWORKS = f"max by ({BY_VERSION}, framework) ({versioned('leakwatch_version_framework_info')}) == 1"
UP = operator("up")
LEAKWATCHES = f"sum by (ready) ({deduplicated(operator('leakwatch_leakwatches'))})"
LAST_ANALYSIS = f"leakwatch_last_successful_analysis_timestamp_seconds{{{PER_LEAKWATCH}}}"
ANALYSIS_AGE = f"time() - max by (namespace, leakwatch) ({LAST_ANALYSIS})"
ANALYSIS_ERRORS = increase_by("reason", operator("leakwatch_analysis_errors_total"), "$__rate_interval")
PROMETHEUS_QUERIES = per_second("result", operator("leakwatch_prometheus_queries_total"))
# Annotations run as range queries with a fixed step; a marker shows at the one step where the
# condition became true (it holds now and did not hold one step earlier).
ANNOTATION_STEP = "1m"
ROLLOUTS = f"{pods_per_version('2m')} > 0 unless {pods_per_version('2m', ANNOTATION_STEP)} > 0"
LEAK_ONSETS = f"{leaking()} unless {leaking(ANNOTATION_STEP)}"


# --- building blocks -----------------------------------------------------------------------------
def query(
    expr: str, legend: str = "", *, ref: str = "A", instant: bool = False, table_format: bool = False
) -> prometheus.Dataquery:
    target = (
        prometheus.Dataquery()
        .datasource(DATASOURCE)
        .ref_id(ref)
        .editor_mode(prometheus_models.QueryEditorMode.CODE)
        .expr(expr)
    )
    if legend:
        target = target.legend_format(legend)
    target = target.instant() if instant else target.range()
    if table_format:
        target = target.format(prometheus_models.PromQueryFormat.TABLE)
    return target


def thresholds(*steps: tuple[float | None, str]) -> dashboard.ThresholdsConfig:
    return (
        dashboard.ThresholdsConfig()
        .mode(dashboard_models.ThresholdsMode.ABSOLUTE)
        .steps([dashboard_models.Threshold(value=value, color=color) for value, color in steps])
    )


def value_map(entries: dict[str, tuple[str, str]]) -> list[dashboard_models.ValueMapping]:
    options = {
        value: dashboard_models.ValueMappingResult(text=text, color=color, index=index)
        for index, (value, (text, color)) in enumerate(entries.items())
    }
    return [dashboard_models.ValueMap(options=options)]


def legend() -> common.VizLegendOptions:
    return (
        common.VizLegendOptions()
        .show_legend(True)
        .display_mode(common_models.LegendDisplayMode.LIST)
        .placement(common_models.LegendPlacement.BOTTOM)
    )


def tooltip() -> common.VizTooltipOptions:
    return (
        common.VizTooltipOptions().mode(common_models.TooltipDisplayMode.MULTI).sort(common_models.SortOrder.DESCENDING)
    )


def graph(title: str, description: str, unit: str, *targets: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .legend(legend())
        .tooltip(tooltip())
        .color_scheme(dashboard.FieldColor().mode(dashboard_models.FieldColorModeId.PALETTE_CLASSIC))
        .line_width(1)
        .fill_opacity(10)
        .show_points(common_models.VisibilityMode.NEVER)
        .span_nulls(False)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def bars(panel: timeseries.Panel) -> timeseries.Panel:
    return (
        panel.draw_style(common_models.GraphDrawStyle.BARS)
        .fill_opacity(80)
        .stacking(common.StackingConfig().mode(common_models.StackingMode.NORMAL))
    )


def variable(name: str, label: str, definition: str) -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(definition)
        .definition(definition)
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(dashboard_models.VariableOption(selected=True, text="All", value="$__all"))
    )


# --- panels ----------------------------------------------------------------------------------------
def memory_panels() -> list[cogbuilder.Builder[dashboard_models.Panel]]:
    memory = graph(
        "Working-set memory per pod",
        "cAdvisor's container_memory_working_set_bytes of the selected workloads' pods, found by pod name. "
        "The panels below give the version each pod ran: a rollout shows as a new set of pod names here and a "
        "new version in 'Pods running per version', at the same time.",
        "bytes",
        query(MEMORY, "{{pod}} {{container}}"),
    ).span(24)
    pods = bars(
        graph(
            "Pods running per version",
            "Pods of each version over time (the rate of leakwatch_observed_pod_seconds_total): rollouts and "
            "rollbacks show where one version hands over to the next.",
            "short",
            query(PODS_PER_VERSION, "{{workload}} {{version}}"),
        )
    ).span(12)
    verdicts = (
        statetimeline.Panel()
        .title("Verdict per version")
        .description("LeakWatch's current verdict of each version over time (leakwatch_version_verdict).")
        .datasource(DATASOURCE)
        .with_target(query(VERDICT, "{{workload}} {{version}}"))
        .mappings(value_map({str(code): verdict for code, verdict in VERDICT_CODES.items()}))
        .color_scheme(dashboard.FieldColor().mode(dashboard_models.FieldColorModeId.FIXED).fixed_color("text"))
        .show_value(common_models.VisibilityMode.NEVER)
        .merge_values(True)
        .legend(legend())
        .span(12)
    )
    return [memory, pods, verdicts]


def analysis_panels() -> list[cogbuilder.Builder[dashboard_models.Panel]]:
    growth = graph(
        "Memory growth rate per version",
        "Robust growth rate of each version's memory lower envelope (leakwatch_memory_growth_bytes_per_second): "
        "flat for a healthy version, a lasting positive rate for a leak.",
        "binBps",
        query(GROWTH, "{{workload}} {{version}}"),
    ).span(12)
    time_to_oom = (
        graph(
            "Time to OOM per version",
            "Projected time until each version's memory reaches its limit (leakwatch_time_to_oom_seconds). "
            "The red line is the LeakWatchTimeToOOMLow alert's default threshold (6 hours).",
            "s",
            query(TIME_TO_OOM, "{{workload}} {{version}}"),
        )
        .thresholds(thresholds((None, "red"), (21600, "orange"), (86400, "green")))
        .thresholds_style(common.GraphThresholdsStyleConfig().mode(common_models.GraphThresholdsStyleMode.DASHED))
        .min(0)
        .span(12)
    )
    kills = bars(
        graph(
            "OOMKills by version",
            "OOMKills counted by LeakWatch per version (increase of leakwatch_oom_kills_total).",
            "short",
            query(OOM_KILLS, "{{workload}} {{version}}"),
        )
    ).span(16)
    kills_in_range = (
        bargauge.Panel()
        .title("OOMKills in the time range")
        .description(
            "OOMKills per version within the dashboard's time range, and within the LeakWatch's "
            "oom.window: the count oom.threshold is compared with."
        )
        .datasource(DATASOURCE)
        .with_target(query(OOM_KILLS_IN_RANGE, "{{workload}} {{version}}", instant=True))
        .with_target(query(OOM_KILLS_IN_WINDOW, "{{workload}} {{version}} in oom.window", ref="B", instant=True))
        .unit("short")
        .decimals(0)
        .min(0)
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.BASIC)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .thresholds(thresholds((None, "green"), (1, "red")))
        .span(8)
    )
    return [growth, time_to_oom, kills, kills_in_range]


def recommendation_panels() -> list[cogbuilder.Builder[dashboard_models.Panel]]:
    columns = {
        "namespace": "Namespace",
        "leakwatch": "LeakWatch",
        "workload": "Workload",
        "action": "Action",
        "from_version": "From version",
        "component": "Leak inside (from its SBOM)",
        "to_version": "To version",
    }
    organize = dashboard_models.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": {"Time": True, "Value": True},
            "indexByName": {name: index for index, name in enumerate(columns)},
            "renameByName": columns,
        },
    )
    actions = value_map(
        {
            "Rollback": ("Rollback", "orange"),
            "Upgrade": ("Upgrade", "green"),
            "Investigate": ("Investigate", "yellow"),
            "None": ("None", "text"),
        }
    )
    recommendations = (
        table.Panel()
        .title("Current recommendations")
        .description(
            "What LeakWatch recommends for each workload now (leakwatch_recommendation_info == 1). "
            "`kubectl get leakwatch <name> -o yaml` gives the evidence in status.recommendation."
        )
        .datasource(DATASOURCE)
        .with_target(query(RECOMMENDATIONS, instant=True, table_format=True))
        .with_transformation(organize)
        .override_by_name(
            "Action",
            [
                dashboard_models.DynamicConfigValue(id_val="mappings", value=actions),
                dashboard_models.DynamicConfigValue(id_val="custom.cellOptions", value={"type": "color-text"}),
            ],
        )
        .no_value("No recommendation")
        .span(16)
        .height(6)
    )
    framework_columns = {
        "namespace": "Namespace",
        "workload": "Workload",
        "version": "App version",
        "framework": "Framework inside",
    }
    frameworks = (
        table.Panel()
        .title("Framework inside each app version")
        .description(
            "spec.version.framework's package and version inside each app version, from its SBOM "
            "(trivy-operator's SbomReport or the leakwatch.io/components annotation; "
            "leakwatch_version_framework_info)."
        )
        .datasource(DATASOURCE)
        .with_target(query(FRAMEWORKS, instant=True, table_format=True))
        .with_transformation(
            dashboard_models.DataTransformerConfig(
                id_val="organize",
                options={
                    "excludeByName": {"Time": True, "Value": True},
                    "indexByName": {name: index for index, name in enumerate(framework_columns)},
                    "renameByName": framework_columns,
                },
            )
        )
        .no_value("No SBOM read")
        .span(8)
        .height(6)
    )
    return [recommendations, frameworks]


def operator_panels() -> list[cogbuilder.Builder[dashboard_models.Panel]]:
    up = (
        stat.Panel()
        .title("Operator up")
        .description("Prometheus's `up` for each operator target.")
        .datasource(DATASOURCE)
        .with_target(query(UP, "{{instance}}", instant=True))
        .mappings(value_map({"0": ("Down", "red"), "1": ("Up", "green")}))
        .color_mode(common_models.BigValueColorMode.BACKGROUND)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(4)
    )
    leakwatches = (
        stat.Panel()
        .title("LeakWatches")
        .description("LeakWatch objects the operator handles, by whether their spec is usable (ready).")
        .datasource(DATASOURCE)
        .with_target(query(LEAKWATCHES, "ready={{ready}}", instant=True))
        .color_mode(common_models.BigValueColorMode.NONE)
        .graph_mode(common_models.BigValueGraphMode.NONE)
        .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .span(4)
    )
    age = (
        graph(
            "Time since the last successful analysis",
            "Per LeakWatch (leakwatch_last_successful_analysis_timestamp_seconds). It should stay near the "
            "analysis interval; the dashed line is the LeakWatchAnalysisFailing alert's default (15 minutes).",
            "s",
            query(ANALYSIS_AGE, "{{namespace}}/{{leakwatch}}"),
        )
        .thresholds(thresholds((None, "green"), (900, "red")))
        .thresholds_style(common.GraphThresholdsStyleConfig().mode(common_models.GraphThresholdsStyleMode.DASHED))
        .min(0)
        .span(8)
    )
    duration = graph(
        "Analysis duration",
        "One LeakWatch's analysis (leakwatch_analysis_duration_seconds), one pass over all of them "
        "(leakwatch_analysis_cycle_duration_seconds: it should stay well below the analysis interval) and "
        "one Prometheus call (leakwatch_prometheus_query_duration_seconds).",
        "s",
        query(duration_quantile(0.5), "p50", ref="A"),
        query(duration_quantile(0.95), "p95", ref="B"),
        query(duration_quantile(0.99), "p99", ref="C"),
        query(duration_quantile(0.95, "leakwatch_analysis_cycle_duration_seconds"), "whole pass p95", ref="D"),
        query(duration_quantile(0.95, "leakwatch_prometheus_query_duration_seconds"), "Prometheus call p95", ref="E"),
    ).span(8)
    errors = bars(
        graph(
            "Analysis errors by reason",
            "Analysis cycles that failed (leakwatch_analysis_errors_total).",
            "short",
            query(ANALYSIS_ERRORS, "{{reason}}"),
        )
    ).span(12)
    queries = graph(
        "Prometheus queries by result",
        "The operator's Prometheus HTTP API calls per second (leakwatch_prometheus_queries_total).",
        "reqps",
        query(PROMETHEUS_QUERIES, "{{result}}"),
    ).span(12)
    queries = queries.override_by_name(
        "error", [dashboard_models.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "red"})]
    ).override_by_name(
        "ok", [dashboard_models.DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": "green"})]
    )
    return [up, leakwatches, age, duration, errors, queries]


def annotation(name: str, expr: str, color: str, title: str) -> dashboard.AnnotationQuery:
    return (
        dashboard.AnnotationQuery()
        .name(name)
        .datasource(DATASOURCE)
        .enable(True)
        .icon_color(color)
        .expr(expr)
        .step(ANNOTATION_STEP)
        .title_format(title)
        .tag_keys("namespace,workload,version")
    )


def build() -> dashboard_models.Dashboard:
    rows: list[tuple[str, list[cogbuilder.Builder[dashboard_models.Panel]]]] = [
        ("Memory and versions", memory_panels()),
        ("Leak analysis per version", analysis_panels()),
        ("Recommendations", recommendation_panels()),
        ("Operator health", operator_panels()),
    ]
    board = (
        dashboard.Dashboard(TITLE)
        .uid(UID)
        .description(
            "Memory of the workloads LeakWatch watches, per pod and per version: growth rate, time to OOM, "
            "OOMKills, verdicts and recommendations; and the operator's own health."
        )
        .tags(["leakwatch", "memory", "kubernetes"])
        .timezone("browser")
        .time("now-24h", "now")
        .refresh("1m")
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .with_variable(dashboard.DatasourceVariable("datasource").label("Data source").type("prometheus"))
        .with_variable(
            variable("namespace", "Namespace", f'label_values({{__name__=~"{LEAKWATCH_SERIES}"}}, namespace)')
        )
        .with_variable(
            variable(
                "leakwatch",
                "LeakWatch",
                f'label_values({{__name__=~"{LEAKWATCH_SERIES}", namespace=~"$namespace"}}, leakwatch)',
            )
        )
        .with_variable(
            variable(
                "workload",
                "Workload",
                f'label_values({{__name__=~"{WORKLOAD_SERIES}", {PER_LEAKWATCH}}}, workload)',
            )
        )
        .with_variable(variable("job", "Operator job", "label_values(leakwatch_build_info, job)"))
        .annotation(annotation("Rollouts", ROLLOUTS, "blue", "{{workload}} {{version}} started"))
        .annotation(annotation("Leaks", LEAK_ONSETS, "red", "{{workload}} {{version}} judged Leaking"))
    )
    for title, panels in rows:
        board = board.with_row(dashboard.Row(title))
        for panel in panels:
            board = board.with_panel(panel)
    built = board.build()
    for number, placed in enumerate(built.panels or [], start=1):
        placed.id_val = number  # stable ids, in layout order
    return built


def render() -> str:
    """The dashboard as the JSON file the chart ships (stable key order, trailing newline)."""
    return json.dumps(build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leakwatch_dev.dashboard", description="Print the dashboard's JSON."
    )
    parser.parse_args(argv)
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
