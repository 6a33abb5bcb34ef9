"""The demo's picture: memory per pod over time, coloured by version, with the rollout, the
OOMKills and the recommendation marked."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

from leakwatch.core.analysis import Samples

MiB = 2**20


@dataclass(frozen=True)
class PodSeries:
    pod: str
    version: str
    samples: Samples


def draw(
    path: Path,
    *,
    series: list[PodSeries],
    rollouts: list[tuple[float, str]],
    oom_kills: list[tuple[float, str]],
    limit_bytes: float,
    title: str,
    recommendation: str,
    recommended_at: float | None = None,
    time_scale: float = 1.0,
    ylabel: str = "working set (MiB)",
) -> Path:
    """Times are real Unix seconds; the x axis shows them in the operator's one time base (real
    seconds times `time_scale`, in hours when that is compressed), as the recommendation words them."""
    versions = sorted({s.version for s in series})
    cmap = plt.get_cmap("tab10")
    palette = {version: cmap(i % 10) for i, version in enumerate(versions)}
    start = min((float(s.samples.t[0]) for s in series if len(s.samples)), default=0.0)
    unit = 3600.0 if time_scale > 1 else 60.0

    def x(moment: Any) -> Any:  # a float or an array of them
        return (moment - start) * time_scale / unit

    fig, ax = plt.subplots(figsize=(12, 6.5), dpi=110)
    labelled: set[str] = set()
    for s in series:
        label = None if s.version in labelled else f"version {s.version}"
        labelled.add(s.version)
        ax.plot(x(s.samples.t), s.samples.v / MiB, color=palette[s.version], lw=1.1, label=label)
    ax.axhline(limit_bytes / MiB, color="black", ls=":", lw=1, label="memory limit")
    for moment, version in rollouts:
        ax.axvline(x(moment), color="grey", ls="--", lw=1)
        ax.annotate(f"rollout {version}", (x(moment), limit_bytes / MiB * 1.02), rotation=0, fontsize=9)
    if recommended_at is not None:
        ax.axvline(x(recommended_at), color="tab:green", ls="-.", lw=1.2)
        ax.annotate("LeakWatch recommends", (x(recommended_at), limit_bytes / MiB * 0.5), rotation=90, fontsize=9,
                    color="tab:green", ha="right")  # fmt: skip
    if oom_kills:
        xs = [x(moment) for moment, _ in oom_kills]
        ax.scatter(xs, [limit_bytes / MiB] * len(xs), marker="x", color="red", zorder=5, label="OOMKilled")
    since = f"since {datetime.fromtimestamp(start, UTC):%H:%M:%S} UTC"
    if time_scale > 1:
        ax.set_xlabel(f"hours {since}, compressed: one real second stands for {time_scale:g} s")
    else:
        ax.set_xlabel(f"minutes {since}")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, limit_bytes / MiB * 1.12)
    ax.set_title(title)
    ax.legend(loc="lower right")  # upper left holds the rollout label; a leak rises away from lower right
    fig.text(0.01, 0.01, "\n".join(textwrap.wrap(recommendation, 150)), fontsize=9, va="bottom")
    fig.subplots_adjust(bottom=0.2)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
