"""Every dashboard the chart ships, strictly against Grafana's dashboard schema: `dashboard-check`
(hack/dashboard-check, built by hack/build-binaries.sh) decodes it with the Grafana Foundation SDK's
strict decoder and validates it, panel options, field configs and queries included. Grafana drops
a field it does not know without a word, so a typo in the generator would otherwise ship a panel
that quietly lacks what we meant it to have.

The checker is also run on the real dashboard broken on purpose, one panel at a time, to show that
it fails and names the panel, including a panel kept inside a collapsed row.

No cluster is needed, only the built binary; a missing binary fails these tests (find_binary
raises), it never skips them.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leakwatch_dev.cluster import binary_dirs, find_binary

REPO = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = REPO / "helm" / "leakwatch" / "files" / "dashboards"
DASHBOARDS = sorted(DASHBOARD_DIR.glob("*.json"))
LEAKWATCH = DASHBOARD_DIR / "leakwatch.json"
Doc = dict[str, Any]


@pytest.fixture(scope="module")
def checker() -> Path:
    return find_binary("dashboard-check", binary_dirs())


def check(checker: Path, path: Path) -> tuple[int, str]:
    result = subprocess.run([str(checker), str(path)], capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def test_the_chart_ships_dashboards() -> None:
    # An empty glob would turn the parametrized test below into a silent skip.
    assert LEAKWATCH in DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_shipped_dashboard_is_strictly_valid(checker: Path, path: Path) -> None:
    code, output = check(checker, path)
    assert code == 0, output
    assert output.strip() == f"dashboard-check: {path} OK (strict schema of grafana-foundation-sdk {sdk_version()})"


def sdk_version() -> str:
    """The SDK version that hack/versions.env pins (and go.mod requires)."""
    for line in (REPO / "hack" / "versions.env").read_text().splitlines():
        if line.startswith("GRAFANA_FOUNDATION_SDK_VERSION="):
            return line.split("=", 1)[1]
    raise AssertionError("hack/versions.env pins no GRAFANA_FOUNDATION_SDK_VERSION")


def first_panel(board: Doc, kind: str) -> Doc:
    return next(p for p in board["panels"] if p["type"] == kind)


def collapse_first_row(board: Doc) -> tuple[Doc, list[Doc]]:
    """Collapse the first row as Grafana saves it: the panels below it, up to the next row, move
    into the row's own `panels`."""
    top = board["panels"]
    start = next(i for i, p in enumerate(top) if p["type"] == "row")
    end = next((i for i in range(start + 1, len(top)) if top[i]["type"] == "row"), len(top))
    row, inside = top[start], top[start + 1 : end]
    row["collapsed"], row["panels"] = True, inside
    del top[start + 1 : end]
    return row, inside


def unknown_option(board: Doc) -> tuple[Doc, list[str]]:
    panel = first_panel(board, "timeseries")
    panel["options"]["tooltip"]["sortt"] = "desc"
    return panel, ["options.", "unexpected field 'sortt'"]


def unknown_custom_field_config(board: Doc) -> tuple[Doc, list[str]]:
    panel = first_panel(board, "timeseries")
    panel["fieldConfig"]["defaults"]["custom"]["lineWidthh"] = 2
    return panel, ["fieldConfig.defaults.custom", "unexpected field 'lineWidthh'"]


def unknown_field_config_default(board: Doc) -> tuple[Doc, list[str]]:
    # The SDK decodes fieldConfig outside `custom` loosely; dashboard-check decodes it strictly itself.
    panel = first_panel(board, "timeseries")
    panel["fieldConfig"]["defaults"]["unitt"] = "bytes"
    return panel, ["fieldConfig.defaults", "unexpected field 'unitt'"]


def width_as_string(board: Doc) -> tuple[Doc, list[str]]:
    panel = first_panel(board, "timeseries")
    panel["gridPos"]["w"] = str(panel["gridPos"]["w"])
    return panel, ["gridPos.w", "cannot unmarshal string"]


def unknown_field_in_collapsed_row(board: Doc) -> tuple[Doc, list[str]]:
    row, inside = collapse_first_row(board)
    panel = next(p for p in inside if p["type"] == "timeseries")
    panel["options"]["legend"]["showLegendd"] = True
    title, number = row["title"], row["id"]
    return panel, [f'in row "{title}" (id {number})', "unexpected field 'showLegendd'"]


@pytest.mark.parametrize(
    ("breakage", "reason"),
    [
        pytest.param(unknown_option, "unknown field in a timeseries panel's options", id="options-unknown-field"),
        pytest.param(
            unknown_custom_field_config,
            "unknown field in a timeseries panel's fieldConfig.defaults.custom",
            id="fieldconfig-custom-unknown-field",
        ),
        pytest.param(
            unknown_field_config_default,
            "unknown field in a timeseries panel's fieldConfig.defaults",
            id="fieldconfig-defaults-unknown-field",
        ),
        pytest.param(width_as_string, "gridPos.w as a string", id="gridpos-w-string"),
        pytest.param(
            unknown_field_in_collapsed_row,
            "unknown field in a panel inside a collapsed row",
            id="collapsed-row-unknown-field",
        ),
    ],
)
def test_a_broken_panel_fails_and_is_named(
    checker: Path, tmp_path: Path, breakage: Callable[[Doc], tuple[Doc, list[str]]], reason: str
) -> None:
    board = json.loads(LEAKWATCH.read_text())
    panel, expected = breakage(board)
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(board, indent=2))
    code, output = check(checker, broken)
    assert code == 1, f"{reason}: the checker passed it:\n{output}"
    title, number = panel["title"], panel["id"]
    assert f'panel "{title}" (id {number})' in output, output
    for words in expected:
        assert words in output, output


def test_a_collapsed_row_is_valid(checker: Path, tmp_path: Path) -> None:
    """The row handling above is checked on a valid board too: collapsing a row breaks nothing."""
    board = json.loads(LEAKWATCH.read_text())
    collapse_first_row(board)
    collapsed = tmp_path / "collapsed.json"
    collapsed.write_text(json.dumps(board, indent=2))
    code, output = check(checker, collapsed)
    assert code == 0, output
