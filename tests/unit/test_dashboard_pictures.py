"""The pure parts of the dashboard pictures (leakwatch_dev.grafana, leakwatch_dev.dashboard_pictures):
Grafana's variable substitution and intervals, the rows of the chart's dashboard, legends,
annotation events, unit scaling and the table panel's columns. Running the queries against a real
Prometheus is tests/integration/test_dashboard.py's part."""

from __future__ import annotations

from typing import Any

import pytest

from leakwatch_dev import grafana
from leakwatch_dev.dashboard_pictures import (
    Found,
    Margins,
    axis_scale,
    format_value,
    plot_area,
    slug,
    table_rows,
    threshold_color,
    value_mapping,
)


def test_all_of_a_multi_value_variable_is_a_regex_alternation_of_escaped_values() -> None:
    variables = {"namespace": ["shop"], "workload": ["api.v1", "checkout-api"]}
    expr = 'up{namespace=~"$namespace", workload=~"${workload}"}[$__rate_interval]'
    assert grafana.interpolate(expr, variables, {"__rate_interval": "8s"}) == (
        r'up{namespace=~"shop", workload=~"(api\\.v1|checkout-api)"}[8s]'
    )


def test_an_unknown_variable_is_an_error_rather_than_left_in_the_query() -> None:
    with pytest.raises(KeyError, match="nope"):
        grafana.interpolate("up{a=~'$nope'}", {}, {})


def test_label_values_queries_are_split_into_selector_and_label() -> None:
    assert grafana.label_values('label_values({__name__=~"a|b", ns=~"$ns"}, workload)') == (
        '{__name__=~"a|b", ns=~"$ns"}',
        "workload",
    )
    assert grafana.label_values("label_values(leakwatch_build_info, job)") == ("leakwatch_build_info", "job")
    with pytest.raises(ValueError):
        grafana.label_values("query_result(up)")


def test_grafana_intervals_respect_the_scrape_interval_and_round_like_grafana() -> None:
    # Eight minutes over 500 points would be 1 s; a 2 s scrape interval is the floor.
    assert grafana.intervals(0, 480, scrape_interval=2) == (2.0, 8.0)
    # A day over 500 points is 172.8 s, which Grafana rounds to 2m; rate interval = interval + scrape.
    assert grafana.intervals(0, 86400, scrape_interval=30) == (120.0, 150.0)


def test_durations_both_ways() -> None:
    assert [grafana.duration(x) for x in (5, 2.0, 0.5)] == ["5s", "2s", "500ms"]
    assert [grafana.seconds(x) for x in ("1m", "30s", "500ms", "2h")] == [60, 30, 0.5, 7200]


def test_the_chart_dashboard_has_four_rows_in_layout_order() -> None:
    rows = grafana.rows(grafana.load())
    assert [r.title for r in rows] == [
        "Memory and versions",
        "Leak analysis per version",
        "Recommendations",
        "Operator health",
    ]
    assert [p.title for p in rows[0].panels] == [
        "Working-set memory per pod",
        "Pods running per version",
        "Verdict per version",
    ]
    assert all(p.targets for r in rows for p in r.panels)
    assert [p.title for p in rows[2].panels] == ["Current recommendations", "Framework inside each app version"]
    for table in rows[2].panels:
        assert table.kind == "table" and table.targets[0].instant and table.targets[0].table
    assert rows[0].panels[0].unit == "bytes"


def panel_doc(title: str, y: int, x: int = 0, kind: str = "timeseries") -> dict[str, Any]:
    return {"type": kind, "title": title, "gridPos": {"x": x, "y": y, "w": 12, "h": 8}, "targets": []}


def test_rows_group_panels_by_position_including_collapsed_rows_and_panels_before_any_row() -> None:
    board = {
        "panels": [
            panel_doc("under b", y=11, x=12),
            {**panel_doc("b", y=10, kind="row")},
            panel_doc("loose", y=0),
            panel_doc("under b, left", y=11),
            {**panel_doc("collapsed", y=20, kind="row"), "panels": [panel_doc("hidden", y=21)]},
            panel_doc("a", y=9, kind="row"),  # a row with nothing under it is no picture
        ]
    }
    grouped = [(r.title, [p.title for p in r.panels]) for r in grafana.rows(board)]
    assert grouped == [("", ["loose"]), ("b", ["under b, left", "under b"]), ("collapsed", ["hidden"])]


def test_legends_fill_in_labels_and_fall_back_to_the_label_set() -> None:
    labels = {"__name__": "up", "workload": "api", "version": "1.5.0"}
    assert grafana.legend("{{workload}} {{ version }}", labels) == "api 1.5.0"
    assert grafana.legend("", labels) == 'up{version="1.5.0", workload="api"}'
    assert grafana.legend("{{reason}}", {"reason": ""}) == '{reason=""}'


def test_an_annotation_marks_where_each_run_of_a_series_begins() -> None:
    annotation = {"name": "Rollouts", "titleFormat": "{{version}} started", "iconColor": "blue"}
    series = [
        grafana.Series({"version": "2"}, ((180.0, 1.0), (240.0, 1.0), (480.0, 1.0))),
        grafana.Series({"version": "1"}, ((60.0, 1.0),)),
    ]
    events = grafana.annotation_events(annotation, series, step=60)
    assert [(e.time, e.text, e.color) for e in events] == [
        (60.0, "1 started", "blue"),
        (180.0, "2 started", "blue"),
        (480.0, "2 started", "blue"),
    ]


def test_targets_read_from_the_dashboard_json() -> None:
    target = grafana.Target.of({"refId": "B", "expr": "up", "instant": True, "legendFormat": "{{job}}"})
    assert target == grafana.Target("B", "up", "{{job}}", instant=True, table=False)


def test_views_expand_grafana_builtins() -> None:
    view = grafana.View(grafana.Prometheus("http://127.0.0.1:1"), 100.0, 400.5, 2.0, 8.0, {"job": ["lw"]})
    assert view.expand('rate(x{job=~"$job"}[$__rate_interval]) / $__interval [$__range]') == (
        'rate(x{job=~"lw"}[8s]) / 2s [301s]'
    )


@pytest.mark.parametrize(
    ("unit", "largest", "scale"),
    [
        ("bytes", 300 * 2**20, (2**20, "MiB")),
        ("bytes", 1023, (1, "B")),
        ("bytes", 0, (1, "B")),
        ("binBps", 7400, (1024, "KiB/s")),
        ("s", 7.2 * 3600, (3600, "h")),
        ("s", 900, (60, "min")),
        ("s", 0.05, (0.001, "ms")),
        ("s", 0, (1, "s")),
        ("s", 3 * 86400, (86400, "day")),
        ("reqps", 3, (1, "req/s")),
        ("short", 2, (1, "")),
        ("percentunit", 0.5, (1, "")),
    ],
)
def test_axis_scale_picks_the_unit_a_reader_reads(unit: str, largest: float, scale: tuple[float, str]) -> None:
    assert axis_scale(unit, largest) == scale


def test_values_are_printed_in_their_unit() -> None:
    assert format_value("bytes", 384 * 2**20) == "384 MiB"
    assert format_value("s", 7.2 * 3600) == "7.2 h"
    assert format_value("short", 2.0, decimals=0) == "2"
    assert format_value("short", 0.0) == "0"
    assert format_value("binBps", 1536) == "1.5 KiB/s"


def test_slugs_name_the_row_files() -> None:
    assert slug("Memory and versions") == "memory-and-versions"
    assert slug("Leak analysis per version") == "leak-analysis-per-version"


def test_value_mappings_match_numbers_by_value() -> None:
    mappings = [{"type": "value", "options": {"1": {"text": "Up", "color": "green"}}}]
    assert value_mapping(mappings, "1") == ("Up", "green")
    assert value_mapping(mappings, "1.0") == ("Up", "green")
    assert value_mapping(mappings, "0") is None


def test_threshold_colours_take_the_last_step_reached() -> None:
    defaults = {"thresholds": {"steps": [{"value": None, "color": "green"}, {"value": 1, "color": "red"}]}}
    assert [threshold_color(defaults, v) for v in (0, 1, 5)] == ["green", "red", "red"]


def test_table_columns_follow_the_organize_transformation() -> None:
    panel = grafana.rows(grafana.load())[2].panels[0]
    labels = {
        "namespace": "shop",
        "leakwatch": "lw",
        "workload": "checkout-api",
        "action": "Upgrade",
        "from_version": "1.5.0",
        "to_version": "1.5.1",
    }
    found = [Found(panel.targets[0], [grafana.Series(labels, ((0.0, 1.0),))])]
    header, rows = table_rows(panel, found)
    assert header == ["Namespace", "LeakWatch", "Workload", "Action", "From version", "To version"]
    assert rows == [["shop", "lw", "checkout-api", "Upgrade", "1.5.0", "1.5.1"]]


def test_panels_take_their_place_on_grafanas_grid() -> None:
    # The right half of a 16 x 4-inch figure, one row (0.38 in) below a row starting at y=10.
    left, bottom, width, height = plot_area((12, 11, 12, 8), 10, (16.0, 4.0), Margins(left=0, bottom=0, top=0, right=0))
    assert (left, width) == pytest.approx((0.5, 0.5))
    assert height == pytest.approx(8 * 0.38 / 4)
    assert bottom + height == pytest.approx(1 - (0.6 + 0.38) / 4)
