"""The third held-out corpus (tests/corpus_holdout) is what its generator writes, in the corpus format."""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "corpus_holdout"
TRACES = sorted((ROOT / "traces").glob("*.json.gz"))
POD_NAME = re.compile(r"^[a-z][a-z0-9-]*-[bcdfghjklmnpqrstvwxz2456789]{9,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$")


def load_generator():
    spec = importlib.util.spec_from_file_location("corpus_holdout_generate", ROOT / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_committed_traces_are_what_the_generator_writes(tmp_path: Path) -> None:
    load_generator().generate(1, tmp_path)
    fresh = sorted(p.name for p in tmp_path.glob("*.json.gz"))
    committed = sorted(p.name for p in TRACES)
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (ROOT / "traces" / name).read_bytes(), name


def test_corpus_is_balanced_and_small() -> None:
    labels = []
    for path in TRACES:
        with gzip.open(path, "rt") as handle:
            labels.append(json.load(handle)["label"])
    assert 40 <= len(labels) <= 50
    assert abs(labels.count("leak") - labels.count("no-leak")) <= 4
    assert sum(p.stat().st_size for p in TRACES) < 3_000_000


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_trace_keeps_the_format(path: Path) -> None:
    with gzip.open(path, "rt") as handle:
        doc = json.load(handle)
    assert list(doc) == [
        "format",
        "name",
        "pattern",
        "label",
        "description",
        "seed",
        "step_seconds",
        "limit_bytes",
        "onset_time",
        "oom_time",
        "leaking_pods",
        "pods",
    ]
    assert doc["format"] == 1 and doc["name"] == path.name.removesuffix(".json.gz")
    assert doc["name"].startswith(doc["pattern"] + "-")
    assert doc["step_seconds"] in (15, 30, 60)
    limit = doc["limit_bytes"]
    assert 256 << 20 <= limit <= 16 << 30
    names = [p["name"] for p in doc["pods"]]
    assert len(set(names)) == len(names) >= 1
    assert all(POD_NAME.match(n) for n in names), names
    assert set(doc["leaking_pods"]) <= set(names)
    start = min(p["t"][0] for p in doc["pods"])
    last = max(p["t"][-1] for p in doc["pods"])
    assert 11.5 * 3600 <= last - start <= 96.5 * 3600
    for pod in doc["pods"]:
        t, v = pod["t"], pod["bytes"]
        assert len(t) == len(v) > 10
        assert all(isinstance(x, int) for x in t) and all(isinstance(x, int) for x in v)
        assert all(b > a for a, b in itertools.pairwise(t))
        assert min(v) > 0 and max(v) <= limit
        for i, value in enumerate(v[:-1]):
            if value == limit:
                assert v[i + 1] < limit  # the restarted container
    kills = [t for p in doc["pods"] for t, b in zip(p["t"], p["bytes"], strict=True) if b == limit]
    if doc["label"] == "leak":
        assert doc["leaking_pods"] and isinstance(doc["onset_time"], int) and isinstance(doc["oom_time"], int)
        assert doc["onset_time"] < doc["oom_time"]
        assert doc["onset_time"] >= start - doc["step_seconds"]
        if kills:
            assert min(kills) == doc["oom_time"]  # the first OOM sample is the oom_time, at the limit
        else:
            assert doc["oom_time"] > last  # a leak whose data ends before its OOM
        killed = {p["name"] for p in doc["pods"] if limit in p["bytes"]}
        assert killed <= set(doc["leaking_pods"])
    else:
        assert doc["label"] == "no-leak"
        assert doc["onset_time"] is None and doc["oom_time"] is None and not doc["leaking_pods"]
        assert not kills
        assert all(max(p["bytes"]) < 0.985 * limit for p in doc["pods"])
