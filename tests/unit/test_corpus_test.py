"""The held-out test corpus (tests/corpus_test) is what its generator writes, in the corpus format."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus_format import assert_generator_writes_the_committed_traces, check_trace, load_trace

ROOT = Path(__file__).resolve().parents[1] / "corpus_test"


def test_committed_traces_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert_generator_writes_the_committed_traces(ROOT, tmp_path)


@pytest.mark.parametrize("path", sorted((ROOT / "traces").glob("*.json.gz")), ids=lambda p: p.name)
def test_trace_keeps_the_format(path: Path) -> None:
    doc = load_trace(path)
    check_trace(doc, path)
    assert doc["step_seconds"] in (15, 30, 60)
    assert all(len(p["t"]) > 10 for p in doc["pods"])
    if doc["label"] == "leak":
        assert doc["onset_time"] < doc["oom_time"]
        start = min(p["t"][0] for p in doc["pods"])
        assert doc["onset_time"] >= start - doc["step_seconds"]
    else:
        assert all(max(p["bytes"]) < doc["limit_bytes"] for p in doc["pods"])
