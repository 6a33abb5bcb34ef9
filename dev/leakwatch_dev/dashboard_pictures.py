"""Pictures of the chart's Grafana dashboard, for readers without Grafana: one PNG per dashboard row,
its panels laid out on Grafana's grid and drawn from the same queries against a real Prometheus.

    python -m leakwatch_dev.dashboard_pictures --prometheus http://127.0.0.1:9090 \\
        --start 1767225600 --end 1767226200 --output-dir out

The queries run through leakwatch_dev.grafana, as tests/integration/test_dashboard.py runs them.
Each panel type is drawn the way Grafana shows it, in matplotlib (Agg, files only): a time series
as lines (or stacked bars where the panel draws bars) with its unit on the y axis, its legend from
the targets' legendFormat, its dashed thresholds and the dashboard's annotations as vertical
lines; a state timeline as coloured bands per series; a bar gauge as horizontal bars; a stat as
its (mapped) value; a table as a table. The time axis is UTC.
"""

from __future__ import annotations

import argparse
import math
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter, MultipleLocator
from matplotlib.transforms import ScaledTranslation

from leakwatch_dev import grafana

Doc = dict[str, Any]

# Grafana's "classic palette", the colour of the n-th series of a panel.
PALETTE = ("#7EB26D", "#EAB839", "#6ED0E0", "#EF843C", "#E24D42", "#1F78C1", "#BA43A6", "#705DA0", "#508642",
           "#CCA300")  # fmt: skip
# Grafana's named colours (light theme) as the dashboard's thresholds and value mappings name them.
NAMED_COLORS = {
    "green": "#56A64B",
    "red": "#E02F44",
    "orange": "#FF780A",
    "yellow": "#F2CC0C",
    "blue": "#3274D9",
    "purple": "#A352CC",
    "text": "#464C54",
}
# Grafana's unit ids -> the steps of its scale, smallest first: (divisor, suffix). The axis or the
# value takes the largest step not above its magnitude.
_IEC = ((1.0, "B"), (2.0**10, "KiB"), (2.0**20, "MiB"), (2.0**30, "GiB"), (2.0**40, "TiB"))
UNIT_STEPS: dict[str, tuple[tuple[float, str], ...]] = {
    "bytes": _IEC,
    "binBps": tuple((d, f"{s}/s") for d, s in _IEC),
    "s": ((0.001, "ms"), (1.0, "s"), (60.0, "min"), (3600.0, "h"), (86400.0, "day")),
    "reqps": ((1.0, "req/s"),),
    "short": ((1.0, ""), (1e3, "K"), (1e6, "Mil"), (1e9, "Bil")),
}
GRID_INCHES = 16 / 24  # one of Grafana's 24 columns
ROW_INCHES = 0.38  # one grid row (30 px in Grafana)
HEADER_INCHES, FOOTER_INCHES = 0.6, 0.3  # the row's title above its panels, the note below them
CHAR_INCHES = 0.065  # the mean width of a character of the 8 pt labels, to fit names and legends
TICK_INCHES = 0.22  # the time axis' tick labels below a graph
# Time axes are in unix seconds with a tick every round number of minutes (the fewest that give
# at most eight ticks), labelled as UTC clock times.
TICK_MINUTES = (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440)


def color(name: str | None, fallback: str = NAMED_COLORS["text"]) -> str:
    """A Grafana colour name or hex code as matplotlib takes it."""
    if not name:
        return fallback
    return NAMED_COLORS.get(name, name)


def axis_scale(unit: str, largest: float) -> tuple[float, str]:
    """(divisor, suffix) for values up to `largest` in a Grafana unit: bytes as KiB/MiB/GiB, seconds
    as ms/s/min/h/day, and so on; a unit not known here is shown as it is."""
    steps = UNIT_STEPS.get(unit, ((1.0, ""),))
    fitting = [step for step in steps if step[0] <= abs(largest)]
    if fitting:
        return fitting[-1]
    return next((step for step in steps if step[0] == 1.0), steps[0])  # zero, or below the smallest step


def format_value(unit: str, value: float, decimals: int | None = None) -> str:
    """One value as Grafana's stat and bar gauge print it: scaled to its unit, with `decimals`
    decimals, or up to three significant digits without trailing zeros."""
    divisor, suffix = axis_scale(unit, value)
    number = value / divisor
    if decimals is None:
        places = 0 if abs(number) >= 100 else 1 if abs(number) >= 10 else 2
        text = f"{number:.{places}f}"
        text = text.rstrip("0").rstrip(".") if "." in text else text
    else:
        text = f"{number:.{decimals}f}"
    if text in ("-0", ""):
        text = "0"
    return f"{text} {suffix}" if suffix else text


def slug(title: str) -> str:
    """A row title as a file name part: `Memory and versions` -> `memory-and-versions`."""
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "row"


def value_mapping(mappings: list[Doc], value: str) -> tuple[str, str | None] | None:
    """(text, colour) a panel's value mappings give a value, or None where none matches. Numbers
    match by their numeric value, as Grafana matches `2` to a mapping keyed "2"."""
    for mapping in mappings:
        if mapping.get("type") != "value":
            continue
        for key, result in mapping.get("options", {}).items():
            if key == value or _same_number(key, value):
                return str(result.get("text", value)), result.get("color")
    return None


def _same_number(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return False


def threshold_color(defaults: Doc, value: float) -> str | None:
    """The colour of the last threshold step at or below the value (the first step has no value)."""
    found = None
    for step in defaults.get("thresholds", {}).get("steps", []):
        if step.get("value") is None or value >= float(step["value"]):
            found = step.get("color")
    return found


def overridden_colors(panel: grafana.Panel) -> dict[str, str]:
    """Series name -> colour, from the panel's `byName` overrides of a fixed colour."""
    colors = {}
    for override in panel.doc.get("fieldConfig", {}).get("overrides", []):
        matcher = override.get("matcher", {})
        if matcher.get("id") != "byName":
            continue
        for prop in override.get("properties", []):
            if prop.get("id") == "color" and prop.get("value", {}).get("mode") == "fixed":
                colors[str(matcher["options"])] = color(prop["value"].get("fixedColor"))
    return colors


@dataclass(frozen=True)
class Found:
    """What one target of a panel found: the series and the name Grafana gives each."""

    target: grafana.Target
    series: list[grafana.Series]

    def named(self) -> list[tuple[str, grafana.Series]]:
        return [(s.legend(self.target.legend), s) for s in self.series]


@dataclass(frozen=True)
class Context:
    view: grafana.View
    annotations: list[grafana.Annotation]


# --- panels ----------------------------------------------------------------------------------------
def no_data(ax: Axes, text: str = "No data") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="grey")
    ax.set_xticks([])
    ax.set_yticks([])


def broken(points: Sequence[tuple[float, float]], step: float, divisor: float) -> tuple[list[float], list[float]]:
    """A line's x and y with a gap (NaN) where points are missing, as Grafana draws with spanNulls off."""
    xs: list[float] = []
    ys: list[float] = []
    last = None
    for t, v in points:
        if last is not None and t - last > step * 1.5:
            xs.append(last + step)
            ys.append(float("nan"))
        xs.append(t)
        ys.append(v / divisor)
        last = t
    return xs, ys


def legend_columns(names: Sequence[str], width_inches: float) -> int:
    """As many legend entries side by side as fit the width (a marker and a gap beside each name)."""
    widest = max((len(n) for n in names), default=1) * CHAR_INCHES + 0.45
    return max(1, min(len(names), int(width_inches // widest)))


def legend_below(ax: Axes, names: list[str], handles: list[Any] | None = None) -> None:
    """Grafana's bottom list legend: below the time axis' tick labels, in as many columns as fit."""
    width = ax.bbox.width / ax.figure.dpi
    below = ax.transAxes + ScaledTranslation(0, -TICK_INCHES, ax.figure.dpi_scale_trans)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), bbox_transform=below, fontsize=8,
              ncol=legend_columns(names, width), frameon=False, handlelength=1.5)  # fmt: skip


def tick_seconds(start: float, end: float) -> float:
    return 60.0 * next((m for m in TICK_MINUTES if (end - start) / (60 * m) <= 8), TICK_MINUTES[-1])


def time_axis(ax: Axes, ctx: Context) -> None:
    ax.set_xlim(ctx.view.start, ctx.view.end)
    ax.xaxis.set_major_locator(MultipleLocator(tick_seconds(ctx.view.start, ctx.view.end)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{datetime.fromtimestamp(t, UTC):%H:%M}"))
    ax.tick_params(labelsize=8)
    ax.grid(True, color="#e5e5e5", lw=0.6)
    for event in ctx.annotations:
        ax.axvline(event.time, color=color(event.color), ls="--", lw=1.2, zorder=3)


def timeseries(ax: Axes, panel: grafana.Panel, found: list[Found], ctx: Context) -> None:
    named = [pair for f in found for pair in f.named()]
    if not named:
        time_axis(ax, ctx)
        no_data(ax)
        return
    custom = panel.defaults.get("custom", {})
    fixed = overridden_colors(panel)
    colors = {name: fixed.get(name, PALETTE[i % len(PALETTE)]) for i, (name, _) in enumerate(named)}
    step = ctx.view.interval
    as_bars = custom.get("drawStyle") == "bars"
    stacked = custom.get("stacking", {}).get("mode") == "normal"
    if as_bars and stacked:  # the largest value shown is the highest stack
        totals: dict[float, float] = {}
        for _, s in named:
            for t, v in s.points:
                totals[t] = totals.get(t, 0.0) + v
        largest = max(totals.values())
    else:
        largest = max(abs(v) for _, s in named for _, v in s.points)
    divisor, suffix = axis_scale(panel.unit, largest)
    if as_bars:
        bottoms: dict[float, float] = {}
        width = step  # side by side, as Grafana's bars look at this density
        for name, s in named:
            times = [t for t, _ in s.points]
            under = [bottoms.get(t, 0.0) if stacked else 0.0 for t in times]
            heights = [v / divisor for _, v in s.points]
            # An edge of the same colour closes the hairlines antialiasing leaves between neighbours.
            ax.bar(times, heights, width=width, bottom=under, color=colors[name], label=name, alpha=0.85,
                   edgecolor=colors[name], lw=0.4)  # fmt: skip
            if stacked:
                for t, b, h in zip(times, under, heights, strict=True):
                    bottoms[t] = b + h
    else:
        for name, s in named:
            xs, ys = broken(s.points, step, divisor)
            ax.plot(xs, ys, color=colors[name], lw=1.3, label=name)
            ax.fill_between(xs, ys, color=colors[name], alpha=float(custom.get("fillOpacity", 10)) / 100, lw=0)
    bottom = panel.defaults.get("min")
    if bottom is not None or min(v for _, s in named for _, v in s.points) >= 0:
        ax.set_ylim(bottom=(bottom or 0) / divisor)  # from zero: a flat line then reads as flat
    if custom.get("thresholdsStyle", {}).get("mode", "off") != "off":
        shown = ax.get_ylim()  # thresholds do not stretch the axis, as in Grafana
        for threshold in panel.defaults.get("thresholds", {}).get("steps", []):
            if threshold.get("value") is not None:
                ax.axhline(float(threshold["value"]) / divisor, color=color(threshold["color"]), ls="--", lw=1)
        ax.set_ylim(shown)
    ax.set_ylabel(suffix, fontsize=8)
    time_axis(ax, ctx)
    legend_below(ax, [name for name, _ in named])


def state_timeline(ax: Axes, panel: grafana.Panel, found: list[Found], ctx: Context) -> None:
    named = [pair for f in found for pair in f.named()]
    time_axis(ax, ctx)
    if not named:
        no_data(ax)
        return
    mappings = panel.defaults.get("mappings", [])
    step = ctx.view.interval
    shown: dict[str, str] = {}
    for row, (_, s) in enumerate(named):
        y = len(named) - 1 - row  # the first series on top
        runs: list[tuple[float, float, float]] = []  # start, end, value
        for t, v in s.points:
            if runs and runs[-1][2] == v and t - runs[-1][1] <= step * 1.5:
                runs[-1] = (runs[-1][0], t, v)
            else:
                runs.append((t, t, v))
        for begin, end, v in runs:
            text, fill = value_mapping(mappings, f"{v:g}") or (f"{v:g}", None)
            shown[text] = color(fill, PALETTE[len(shown) % len(PALETTE)])
            ax.broken_barh([(begin, end + step - begin)], (y - 0.4, 0.8), color=shown[text], alpha=0.75)
    ax.set_yticks(range(len(named)), [name for name, _ in reversed(named)], fontsize=8)
    ax.set_ylim(-0.6, len(named) - 0.4)
    ax.grid(False)
    legend_below(ax, list(shown), [Patch(color=c, alpha=0.75, label=t) for t, c in shown.items()])


def last_values(found: list[Found]) -> list[tuple[str, float]]:
    """Each series' name and last value: the `lastNotNull` reduction of a stat or bar gauge."""
    return [(name, s.points[-1][1]) for f in found for name, s in f.named()]


def bargauge(ax: Axes, panel: grafana.Panel, found: list[Found], ctx: Context) -> None:
    values = last_values(found)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)
    if not values:
        no_data(ax)
        return
    decimals = panel.defaults.get("decimals")
    top = max(max(v for _, v in values), 1e-9)
    ys = list(range(len(values)))[::-1]
    ax.barh(ys, [top] * len(values), color="#eeeeee", height=0.5)  # the unfilled part
    fills = [color(threshold_color(panel.defaults, v), PALETTE[0]) for _, v in values]
    ax.barh(ys, [v for _, v in values], color=fills, height=0.5)
    for y, (_, v) in zip(ys, values, strict=True):
        ax.text(top * 1.02, y, format_value(panel.unit, v, decimals), va="center", fontsize=10, fontweight="bold")
    ax.set_yticks(ys, [name for name, _ in values], fontsize=8)
    ax.set_xlim(0, top * 1.25)


def stat(ax: Axes, panel: grafana.Panel, found: list[Found], ctx: Context) -> None:
    values = last_values(found)
    ax.set_axis_off()
    if not values:
        no_data(ax)
        return
    options = panel.doc.get("options", {})
    mappings = panel.defaults.get("mappings", [])
    with_names = options.get("textMode") == "value_and_name" or (
        options.get("textMode", "auto") == "auto" and len(values) > 1
    )
    share = 1 / len(values)
    for i, (name, v) in enumerate(values):
        text, fill = value_mapping(mappings, f"{v:g}") or (format_value(panel.unit, v), None)
        fill = fill or threshold_color(panel.defaults, v)
        y0 = 1 - (i + 1) * share
        ink = "black"
        if options.get("colorMode") == "background" and fill:
            ax.add_patch(Rectangle((0, y0 + 0.02), 1, share - 0.04, color=color(fill), transform=ax.transAxes))
            ink = "white"
        if with_names:
            ax.text(0.5, y0 + share * 0.72, name, ha="center", va="center", fontsize=9, color=ink,
                    transform=ax.transAxes)  # fmt: skip
        ax.text(0.5, y0 + share * (0.38 if with_names else 0.5), text, ha="center", va="center", fontsize=20,
                fontweight="bold", color=ink, transform=ax.transAxes)  # fmt: skip


def table_rows(panel: grafana.Panel, found: list[Found]) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a table panel: one row per series (its labels, Time and Value), arranged by
    the panel's `organize` transformation (columns left out, ordered and renamed)."""
    series = [s for f in found for s in f.series]
    names = [*sorted({k for s in series for k in s.labels if k != "__name__"}), "Time", "Value"]
    organize: Doc = {}
    for transformation in panel.doc.get("transformations", []):
        if transformation.get("id") == "organize":
            organize = transformation.get("options", {})
    excluded = {k for k, v in organize.get("excludeByName", {}).items() if v}
    order = organize.get("indexByName", {})
    columns = sorted((n for n in names if n not in excluded), key=lambda n: (order.get(n, len(order)), n))

    def cell(s: grafana.Series, name: str) -> str:
        if name == "Time":
            return f"{datetime.fromtimestamp(s.points[-1][0], UTC):%H:%M:%S}"
        if name == "Value":
            return f"{s.points[-1][1]:g}"
        return s.labels.get(name, "")

    header = [organize.get("renameByName", {}).get(n, n) for n in columns]
    return header, [[cell(s, n) for n in columns] for s in series]


def table(ax: Axes, panel: grafana.Panel, found: list[Found], ctx: Context) -> None:
    ax.set_axis_off()
    header, rows = table_rows(panel, found)
    if not rows:
        no_data(ax, str(panel.defaults.get("noValue", "No data")))
        return
    drawn = ax.table(cellText=rows, colLabels=header, loc="upper center", cellLoc="left", colLoc="left")
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(10)
    drawn.scale(1, 1.6)
    mapped: dict[int, list[Doc]] = {}
    for override in panel.doc.get("fieldConfig", {}).get("overrides", []):
        if override.get("matcher", {}).get("id") == "byName" and override["matcher"]["options"] in header:
            for prop in override.get("properties", []):
                if prop.get("id") == "mappings":
                    mapped[header.index(override["matcher"]["options"])] = prop["value"]
    for (row, column), cell in drawn.get_celld().items():
        cell.set_edgecolor("#dddddd")
        if row == 0:
            cell.set_text_props(fontweight="bold")
        elif column in mapped and (hit := value_mapping(mapped[column], rows[row - 1][column])):
            cell.get_text().set_text(hit[0])
            cell.set_text_props(color=color(hit[1]), fontweight="bold")


DRAWERS = {
    "timeseries": timeseries,
    "state-timeline": state_timeline,
    "bargauge": bargauge,
    "stat": stat,
    "table": table,
}


# --- rows ------------------------------------------------------------------------------------------
def fetch(view: grafana.View, panel: grafana.Panel) -> list[Found]:
    return [Found(target, view.run(target)) for target in panel.targets]


@dataclass(frozen=True)
class Margins:
    """Inches inside a panel's grid cell around its plot area: the title above, the axis labels and
    the legend around."""

    left: float
    bottom: float
    top: float = 0.42
    right: float = 0.2


def margins(panel: grafana.Panel, found: list[Found]) -> Margins:
    names = [name for f in found for name, _ in f.named()]
    longest = max((len(n) for n in names), default=0) * CHAR_INCHES
    if panel.kind == "timeseries":
        width = panel.grid[2] * GRID_INCHES - 0.9
        lines = math.ceil(len(names) / legend_columns(names, width)) if names else 0
        return Margins(left=0.7, bottom=TICK_INCHES + 0.12 + 0.2 * lines)
    if panel.kind == "state-timeline":  # the series' names left of their bands, one legend line below
        return Margins(left=0.2 + longest, bottom=TICK_INCHES + 0.35)
    if panel.kind == "bargauge":
        return Margins(left=0.2 + longest, bottom=0.15)
    return Margins(left=0.15, bottom=0.15)


def plot_area(
    grid: tuple[int, int, int, int], top_row: int, size: tuple[float, float], inside: Margins
) -> tuple[float, float, float, float]:
    """(left, bottom, width, height) in figure fractions of a panel's plot area: its place on
    Grafana's grid (rows counted from `top_row`) below the header, less its margins."""
    x, y, w, h = grid
    fig_w, fig_h = size
    left = x * GRID_INCHES + inside.left
    top = HEADER_INCHES + (y - top_row) * ROW_INCHES + inside.top
    width = w * GRID_INCHES - inside.left - inside.right
    height = h * ROW_INCHES - inside.top - inside.bottom
    return left / fig_w, 1 - (top + height) / fig_h, width / fig_w, height / fig_h


def draw_row(path: Path, row: grafana.Row, ctx: Context, *, title: str, note: str = "") -> Path:
    """One row as one PNG: its panels at their places on Grafana's grid, each with its title."""
    top = min(p.grid[1] for p in row.panels)
    rows = max(p.grid[1] + p.grid[3] for p in row.panels) - top
    size = (24 * GRID_INCHES, HEADER_INCHES + rows * ROW_INCHES + FOOTER_INCHES)
    fig: Figure = plt.figure(figsize=size, dpi=100)
    for panel in row.panels:
        found = fetch(ctx.view, panel)
        ax = fig.add_axes(plot_area(panel.grid, top, size, margins(panel, found)))
        ax.set_title(panel.title, fontsize=10, loc="left", fontweight="bold")
        drawer = DRAWERS.get(panel.kind)
        if drawer is None:
            no_data(ax, f"(a {panel.kind} panel is not drawn here)")
            continue
        drawer(ax, panel, found, ctx)
    begin, end = (datetime.fromtimestamp(t, UTC) for t in (ctx.view.start, ctx.view.end))
    fig.text(0.01, 1 - 0.3 / size[1], f"{title} / {row.title}", fontsize=14, fontweight="bold", va="center")
    fig.text(0.99, 1 - 0.3 / size[1], f"{begin:%Y-%m-%d %H:%M}-{end:%H:%M} UTC", fontsize=9, va="center", ha="right")
    marks = dict((e.name, e.color) for e in ctx.annotations)
    if marks and any(p.kind in ("timeseries", "state-timeline") for p in row.panels):
        handles = [Line2D([], [], color=color(c), ls="--", label=f"annotation: {n}") for n, c in marks.items()]
        fig.legend(handles=handles, loc="center", bbox_to_anchor=(0.5, 1 - 0.3 / size[1]), fontsize=8,
                   frameon=False, ncol=len(handles))  # fmt: skip
    if note:
        fig.text(0.01, FOOTER_INCHES / 2 / size[1], note, fontsize=8, color="#555555", va="center")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def draw_dashboard(
    prometheus_url: str,
    start: float,
    end: float,
    output_dir: Path,
    *,
    board: Doc | None = None,
    scrape_interval: float = 15.0,
    note: str = "",
    prefix: str = "dashboard-",
) -> list[Path]:
    """`<output_dir>/<prefix><row>.png` for each row of the dashboard (the chart's by default), its
    variables all set to All, over [start, end] (unix seconds); `scrape_interval` is the data
    source's, from which Grafana picks $__interval and $__rate_interval."""
    board = board or grafana.load()
    interval, rate_interval = grafana.intervals(start, end, scrape_interval)
    view = grafana.View.open(
        grafana.Prometheus(prometheus_url), board, start, end, interval=interval, rate_interval=rate_interval
    )
    ctx = Context(view, grafana.annotation_marks(view, board))
    title = str(board.get("title", "dashboard"))
    return [
        draw_row(output_dir / f"{prefix}{slug(row.title)}.png", row, ctx, title=title, note=note)
        for row in grafana.rows(board)
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leakwatch_dev.dashboard_pictures", description=__doc__)
    parser.add_argument("--prometheus", required=True, help="the Prometheus URL, e.g. http://127.0.0.1:9090")
    parser.add_argument("--start", type=float, help="unix seconds (default: an hour before --end)")
    parser.add_argument("--end", type=float, help="unix seconds (default: now)")
    parser.add_argument("--scrape-interval", type=float, default=15.0, help="seconds, as the data source sets it")
    parser.add_argument("--dashboard", type=Path, default=grafana.DASHBOARD)
    parser.add_argument("--output-dir", type=Path, default=Path("out"))
    parser.add_argument("--note", default="", help="a line printed under each picture")
    args = parser.parse_args(argv)
    end = args.end or time.time()
    start = args.start or end - 3600
    for path in draw_dashboard(
        args.prometheus,
        start,
        end,
        args.output_dir,
        board=grafana.load(args.dashboard),
        scrape_interval=args.scrape_interval,
        note=args.note,
    ):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
