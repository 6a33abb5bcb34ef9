"""The chart's Grafana dashboard without Grafana: its rows, panels and queries, run as Grafana's
Prometheus data source runs them. tests/integration/test_dashboard.py checks every query against a
real Prometheus with this module, and dashboard_pictures.py draws what the panels show from it.

What Grafana does and this module does the same way:
- a query variable `label_values(selector, label)` is the label values API with `match[]` over the
  time range, each variable resolved with the ones before it in dashboard order;
- a multi-value variable set to All is substituted as `(a|b)`, each value regex-escaped (the
  dashboard's variables are all used inside `=~` matchers); one value is substituted as itself;
- `$__interval` is the range queries' step, `$__rate_interval` is max($__interval + scrape interval,
  4 x scrape interval) and `$__range` the time range in seconds (intervals() computes the first
  two as Grafana does; a caller may also set them);
- a target marked `instant` runs as an instant query at the end of the range, any other one as a
  range query; a legend is the target's legendFormat with `{{label}}` replaced.
"""

from __future__ import annotations

import json
import math
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Doc = dict[str, Any]

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "helm" / "leakwatch" / "files" / "dashboards" / "leakwatch.json"

# Grafana's roundInterval(): the raw interval (range / max data points) is rounded to one of these
# (upper bound of the raw interval in seconds, the interval it becomes).
_ROUNDED_INTERVALS = (
    (0.015, 0.01), (0.035, 0.02), (0.075, 0.05), (0.15, 0.1), (0.35, 0.2), (0.75, 0.5), (1.5, 1.0),
    (3.5, 2.0), (7.5, 5.0), (12.5, 10.0), (17.5, 15.0), (25.0, 20.0), (45.0, 30.0), (90.0, 60.0),
    (210.0, 120.0), (450.0, 300.0), (750.0, 600.0), (1050.0, 900.0), (1500.0, 1200.0), (2700.0, 1800.0),
    (5400.0, 3600.0), (9000.0, 7200.0), (16200.0, 10800.0), (32400.0, 21600.0), (86400.0, 43200.0),
)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One query of a panel (or an annotation), as the dashboard JSON gives it."""

    ref: str
    expr: str
    legend: str = ""
    instant: bool = False
    table: bool = False  # format: table (one row per series; the table panel's input)

    @classmethod
    def of(cls, doc: Doc) -> Target:
        return cls(
            ref=str(doc.get("refId", "")),
            expr=str(doc["expr"]),
            legend=str(doc.get("legendFormat") or ""),
            instant=bool(doc.get("instant")),
            table=doc.get("format") == "table",
        )


@dataclass(frozen=True)
class Panel:
    title: str
    kind: str  # Grafana's panel type: timeseries, state-timeline, bargauge, table, stat, ...
    targets: tuple[Target, ...]
    grid: tuple[int, int, int, int]  # x, y, w, h on Grafana's 24-column grid
    doc: Doc = field(repr=False, compare=False)  # the panel's JSON, for the options a drawing reads

    @property
    def unit(self) -> str:
        return str(self.doc.get("fieldConfig", {}).get("defaults", {}).get("unit") or "")

    @property
    def defaults(self) -> Doc:
        found: Doc = self.doc.get("fieldConfig", {}).get("defaults", {})
        return found


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class Series:
    """One series a query found: its labels and its finite points (unix seconds, value); an
    instant query's series has one point."""

    labels: dict[str, str]
    points: tuple[tuple[float, float], ...]

    def legend(self, legend_format: str) -> str:
        return legend(legend_format, self.labels)


def load(path: Path = DASHBOARD) -> Doc:
    loaded: Doc = json.loads(path.read_text())
    return loaded


def rows(board: Doc) -> list[Row]:
    """The dashboard's panels under their rows, in layout order. Grafana keeps an expanded row's
    panels after it at the top level and a collapsed row's inside it; panels above the first row
    belong to an untitled one."""
    found: list[tuple[str, list[Panel]]] = []
    for doc in sorted(board.get("panels", []), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        if doc["type"] == "row":
            found.append((str(doc.get("title", "")), [panel(p) for p in doc.get("panels", [])]))
            continue
        if not found:
            found.append(("", []))
        found[-1][1].append(panel(doc))
    return [Row(title, tuple(panels)) for title, panels in found if panels]


def panel(doc: Doc) -> Panel:
    grid = doc["gridPos"]
    return Panel(
        title=str(doc.get("title", "")),
        kind=str(doc["type"]),
        targets=tuple(Target.of(t) for t in doc.get("targets", [])),
        grid=(int(grid["x"]), int(grid["y"]), int(grid["w"]), int(grid["h"])),
        doc=doc,
    )


def legend(legend_format: str, labels: dict[str, str]) -> str:
    """Grafana's series name: legendFormat with each `{{label}}` replaced (missing labels become
    empty); without a legendFormat, or where it comes out blank, the label set as `{a="b", c="d"}`."""
    named = re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), legend_format)
    if named.strip():
        return named
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels.get('__name__', '')}{{{shown}}}"


def regex_escape(value: str) -> str:
    r"""As Grafana escapes a variable's value for a PromQL regex (each special character gets `\\`)."""
    return re.sub(r"([\\^$*+?.()|{}\[\]])", r"\\\\\1", value)


def interpolate(expr: str, variables: dict[str, list[str]], builtins: dict[str, str]) -> str:
    """`$name` and `${name}` replaced: Grafana's builtins as given, dashboard variables as a
    multi-value variable set to All is formatted for a regex matcher."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name in builtins:
            return builtins[name]
        if name not in variables:
            raise KeyError(f"${name} is not a dashboard variable")
        values = [regex_escape(v) for v in variables[name]]
        return values[0] if len(values) == 1 else f"({'|'.join(values)})"

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


def label_values(definition: str) -> tuple[str, str]:
    """(series selector, label) of a `label_values(selector, label)` variable query."""
    match = re.fullmatch(r"label_values\((.+), (\w+)\)", definition)
    if not match:
        raise ValueError(f"not a label_values(selector, label) query: {definition}")
    return match.group(1), match.group(2)


def duration(seconds: float) -> str:
    """A PromQL duration for a number of seconds (whole seconds where it is whole)."""
    if seconds == int(seconds):
        return f"{int(seconds)}s"
    return f"{round(seconds * 1000)}ms"


def seconds(text: str) -> float:
    """Seconds of a Grafana/PromQL duration such as `1m`, `30s` or `500ms`."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)", text)
    if not match:
        raise ValueError(f"not a duration: {text}")
    factor = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}[match.group(2)]
    return float(match.group(1)) * factor


def intervals(start: float, end: float, scrape_interval: float, max_points: int = 500) -> tuple[float, float]:
    """($__interval, $__rate_interval) in seconds, as Grafana picks them for a time range: the range
    over the panel's max data points, rounded, at least the data source's scrape interval."""
    raw = (end - start) / max_points
    rounded = next((to for below, to in _ROUNDED_INTERVALS if raw < below), 86400.0)
    interval = max(rounded, scrape_interval)
    return interval, max(interval + scrape_interval, 4 * scrape_interval)


@dataclass(frozen=True)
class Prometheus:
    url: str

    def api(self, path: str, **params: str | list[str]) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=30) as response:
            body = json.loads(response.read())
        if body.get("status") != "success":
            raise RuntimeError(f"Prometheus {path} {params}: {body}")
        return body["data"]


def resolve_variables(prometheus: Prometheus, board: Doc, start: float, end: float) -> dict[str, list[str]]:
    """The query variables in dashboard order, each resolved with the ones before it set to All.
    A variable that finds nothing is an error: every query using it would find nothing too."""
    variables: dict[str, list[str]] = {}
    for var in board["templating"]["list"]:
        if var["type"] != "query":
            continue
        selector, label = label_values(var["query"])
        selector = interpolate(selector, variables, {})
        params: dict[str, str | list[str]] = {"match[]": [selector], "start": f"{start:.0f}", "end": f"{end:.0f}"}
        found = prometheus.api(f"label/{label}/values", **params)
        if not found:
            raise LookupError(f"variable {var['name']} found no values with {selector}")
        variables[var["name"]] = sorted(found)
    return variables


@dataclass(frozen=True)
class View:
    """The dashboard as opened on one Prometheus for one time range: what every query needs."""

    prometheus: Prometheus
    start: float
    end: float
    interval: float  # $__interval: the range queries' step
    rate_interval: float  # $__rate_interval
    variables: dict[str, list[str]]

    @classmethod
    def open(
        cls, prometheus: Prometheus, board: Doc, start: float, end: float, *, interval: float, rate_interval: float
    ) -> View:
        variables = resolve_variables(prometheus, board, start, end)
        return cls(prometheus, start, end, interval, rate_interval, variables)

    def builtins(self) -> dict[str, str]:
        return {
            "__interval": duration(self.interval),
            "__rate_interval": duration(self.rate_interval),
            "__range": f"{math.ceil(self.end - self.start)}s",
        }

    def expand(self, expr: str) -> str:
        return interpolate(expr, self.variables, self.builtins())

    def run(self, target: Target, *, step: float | None = None, align_to_end: bool = False) -> list[Series]:
        """The series a target finds (errors raise). `step` defaults to $__interval; `align_to_end`
        puts the steps on a grid through the range's end, so a marker window holds one evaluation."""
        expr = self.expand(target.expr)
        if target.instant:
            data = self.prometheus.api("query", query=expr, time=f"{self.end:.3f}")
            instant = [(s["metric"], [s["value"]]) for s in data["result"]]
            return finite(instant)
        step = step or self.interval
        start = self.start
        if align_to_end:
            start = self.end - math.ceil((self.end - self.start) / step) * step
        data = self.prometheus.api(
            "query_range", query=expr, start=f"{start:.3f}", end=f"{self.end:.3f}", step=duration(step)
        )
        return finite([(s["metric"], s["values"]) for s in data["result"]])


def finite(found: list[tuple[dict[str, str], list[list[Any]]]]) -> list[Series]:
    """Series with their NaN and infinite points left out, and series left with none dropped (Grafana
    draws a gap for them)."""
    series = [
        Series(dict(labels), tuple((float(t), float(v)) for t, v in points if math.isfinite(float(v))))
        for labels, points in found
    ]
    return [s for s in series if s.points]


@dataclass(frozen=True)
class Annotation:
    """One marker on the time axis of every graph, as an annotation query makes it."""

    name: str
    time: float
    text: str
    color: str  # the annotation's iconColor, a Grafana colour name


def annotation_events(annotation: Doc, series: list[Series], step: float) -> list[Annotation]:
    """Grafana's Prometheus annotations: each run of a series' points with no gap wider than the
    step is one event, at the run's first point, titled by titleFormat."""
    events = []
    for s in series:
        last = -math.inf
        for t, _ in s.points:
            if t - last > step * 1.5:
                text = legend(str(annotation.get("titleFormat") or ""), s.labels)
                events.append(Annotation(str(annotation["name"]), t, text, str(annotation.get("iconColor", "red"))))
            last = t
    return sorted(events, key=lambda e: e.time)


def annotation_marks(view: View, board: Doc) -> list[Annotation]:
    """The events of the dashboard's enabled annotation queries over the view's time range."""
    found = []
    for annotation in board.get("annotations", {}).get("list", []):
        if not annotation.get("enable", True) or "expr" not in annotation:
            continue
        step = seconds(annotation["step"]) if annotation.get("step") else view.interval
        found += annotation_events(annotation, view.run(Target.of(annotation), step=step, align_to_end=True), step)
    return sorted(found, key=lambda e: e.time)
