"""The held-out test corpus (tests/corpus_test) is what its generator writes, in the corpus format."""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "corpus_test"


def load_generator():
    spec = importlib.util.spec_from_file_location("corpus_test_generate", ROOT / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_committed_traces_are_what_the_generator_writes(tmp_path: Path) -> None:
    load_generator().generate(1, tmp_path)
    fresh = sorted(p.name for p in tmp_path.glob("*.json.gz"))
    committed = sorted(p.name for p in (ROOT / "traces").glob("*.json.gz"))
    assert fresh == committed
    for name in fresh:
        assert (tmp_path / name).read_bytes() == (ROOT / "traces" / name).read_bytes(), name


@pytest.mark.parametrize("path", sorted((ROOT / "traces").glob("*.json.gz")), ids=lambda p: p.name)
def test_trace_keeps_the_format(path: Path) -> None:
    with gzip.open(path, "rt") as handle:
        doc = json.load(handle)
    assert doc["format"] == 1 and doc["name"] == path.name.removesuffix(".json.gz")
    assert doc["step_seconds"] in (15, 30, 60)
    limit = doc["limit_bytes"]
    names = {p["name"] for p in doc["pods"]}
    assert set(doc["leaking_pods"]) <= names
    for pod in doc["pods"]:
        t, v = pod["t"], pod["bytes"]
        assert len(t) == len(v) > 10
        assert all(b > a for a, b in itertools.pairwise(t))
        assert max(v) <= limit
        for i, value in enumerate(v[:-1]):
            if value == limit:
                assert v[i + 1] < limit  # the restarted container
    if doc["label"] == "leak":
        assert doc["leaking_pods"] and doc["onset_time"] < doc["oom_time"]
        start = min(p["t"][0] for p in doc["pods"])
        assert doc["onset_time"] >= start - doc["step_seconds"]
        kills = [t for p in doc["pods"] for t, b in zip(p["t"], p["bytes"], strict=True) if b == limit]
        if kills:
            assert min(kills) == doc["oom_time"]
    else:
        assert doc["label"] == "no-leak"
        assert doc["onset_time"] is None and doc["oom_time"] is None and not doc["leaking_pods"]
        assert all(max(p["bytes"]) < limit for p in doc["pods"])
