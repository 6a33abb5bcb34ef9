"""The third held-out corpus (tests/corpus_holdout) is what its generator writes, in the corpus format."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from corpus_format import FIELDS, assert_generator_writes_the_committed_traces, check_trace, load_trace

ROOT = Path(__file__).resolve().parents[1] / "corpus_holdout"
TRACES = sorted((ROOT / "traces").glob("*.json.gz"))
POD_NAME = re.compile(r"^[a-z][a-z0-9-]*-[bcdfghjklmnpqrstvwxz2456789]{9,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def test_committed_traces_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert_generator_writes_the_committed_traces(ROOT, tmp_path)


def test_corpus_is_balanced_and_small() -> None:
    labels = []
    for path in TRACES:
        labels.append(load_trace(path)["label"])
    assert 40 <= len(labels) <= 50
    assert abs(labels.count("leak") - labels.count("no-leak")) <= 4
    assert sum(p.stat().st_size for p in TRACES) < 3_000_000


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_trace_keeps_the_format(path: Path) -> None:
    doc = load_trace(path)
    kills = check_trace(doc, path)
    assert tuple(doc) == FIELDS  # exactly the format's fields, in its order
    assert doc["name"].startswith(doc["pattern"] + "-")
    assert doc["step_seconds"] in (15, 30, 60)
    limit = doc["limit_bytes"]
    assert 256 << 20 <= limit <= 16 << 30
    names = [p["name"] for p in doc["pods"]]
    assert len(set(names)) == len(names)
    assert all(POD_NAME.match(n) for n in names), names
    start = min(p["t"][0] for p in doc["pods"])
    last = max(p["t"][-1] for p in doc["pods"])
    assert 11.5 * 3600 <= last - start <= 96.5 * 3600
    for pod in doc["pods"]:
        t, v = pod["t"], pod["bytes"]
        assert len(t) > 10
        assert all(isinstance(x, int) for x in t) and all(isinstance(x, int) for x in v)
        assert min(v) > 0
    if doc["label"] == "leak":
        assert isinstance(doc["onset_time"], int) and isinstance(doc["oom_time"], int)
        assert doc["onset_time"] < doc["oom_time"]
        assert doc["onset_time"] >= start - doc["step_seconds"]
        if not kills:
            assert doc["oom_time"] > last  # a leak whose data ends before its OOM
        killed = {p["name"] for p in doc["pods"] if limit in p["bytes"]}
        assert killed <= set(doc["leaking_pods"])
    else:
        assert all(max(p["bytes"]) < 0.985 * limit for p in doc["pods"])
