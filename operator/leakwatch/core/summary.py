"""What a LeakWatch's status says about its versions, composed from the ledger (and, once it has
run, the memory analysis). Pure: the clock is passed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leakwatch.core.oom import Ledger


def version_rows(
    ledger: Ledger, now: datetime, analysis: dict[str, dict[str, Any]] | None = None, oom_window_seconds: float = 86400
) -> list[dict[str, Any]]:
    """One row per version, newest first seen last (the order versions were rolled out)."""
    rows = []
    for record in sorted(ledger.versions.values(), key=lambda r: (r.first_seen, r.version)):
        kills, inferred = ledger.oom_kills(record.version)
        row: dict[str, Any] = {
            "version": record.version,
            "pods": record.pods,
            "podHours": round(ledger.pod_seconds(record.version, now) / 3600, 3),
            "oomKills": kills,
            "oomKillsInferred": inferred,
            "oomKillsInWindow": ledger.oom_kills_in_window(record.version, now, oom_window_seconds),
            "firstSeen": record.first_seen,
            "lastSeen": ledger.last_seen(record.version, now),
            "verdict": "InsufficientData",
            "confidence": 0.0,
        }
        row.update((analysis or {}).get(record.version, {}))
        rows.append(row)
    return rows


def ledger_status(
    ledger: Ledger, now: datetime, analysis: dict[str, dict[str, Any]] | None = None, oom_window_seconds: float = 86400
) -> dict[str, Any]:
    return {
        "ledger": ledger.to_status(),
        "oomKills": ledger.total_oom_kills(),
        "versions": version_rows(ledger, now, analysis, oom_window_seconds),
    }
