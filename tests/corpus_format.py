"""The corpus format's conventions (tests/corpus/README.md, format 1), checked on one trace.

Every corpus bench/detection.py scores keeps them, generated or recorded: a time going backwards, a
value over the limit or a no-leak that touched the limit (which reads as an OOMKill) would be scored
silently wrong. Each corpus's own test adds what its generator or recorder promises on top.
"""

from __future__ import annotations

import gzip
import importlib.util
import itertools
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

FIELDS = (
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
)


def load_trace(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt") as handle:
        doc: dict[str, Any] = json.load(handle)
    return doc


def check_trace(doc: dict[str, Any], path: Path) -> list[int]:
    """Assert the conventions every corpus keeps; return the OOMKill times (samples at the limit)."""
    assert doc.keys() >= set(FIELDS)
    assert doc["format"] == 1 and doc["name"] == path.name.removesuffix(".json.gz")
    assert doc["label"] in ("leak", "no-leak")
    assert doc["step_seconds"] > 0
    limit = doc["limit_bytes"]
    assert limit > 0 and doc["pods"]
    assert set(doc["leaking_pods"]) <= {pod["name"] for pod in doc["pods"]}

    kills: list[int] = []
    for pod in doc["pods"]:
        t, values = pod["t"], pod["bytes"]
        assert len(t) == len(values) > 0, pod["name"]
        assert all(b > a for a, b in itertools.pairwise(t)), f"{pod['name']}: t not strictly increasing"
        assert all(0 <= v <= limit for v in values), f"{pod['name']}: a value outside [0, limit_bytes]"
        for now, after in itertools.pairwise(values):
            assert now < limit or after < limit, f"{pod['name']}: two samples at the limit, no restart between"
        kills += [ti for ti, v in zip(t, values, strict=True) if v == limit]
        for signal, series in pod.get("signals", {}).items():
            assert len(series) == len(t), f"{pod['name']}: signals.{signal} not aligned with t"
            assert all(v >= 0 for v in series), f"{pod['name']}: signals.{signal} negative"

    if doc["label"] == "no-leak":
        assert doc["onset_time"] is None and doc["oom_time"] is None and not doc["leaking_pods"]
        assert not kills, "a no-leak trace reached limit_bytes, which reads as an OOMKill"
    else:
        assert doc["leaking_pods"] and doc["onset_time"] is not None and doc["oom_time"] is not None
        assert doc["onset_time"] <= doc["oom_time"]
        if kills:
            assert doc["oom_time"] == min(kills), "oom_time is not the first sample at the limit"
    return kills


def load_generator(root: Path) -> ModuleType:
    """A corpus's generate.py, imported from its directory (the corpora are not packages)."""
    spec = importlib.util.spec_from_file_location(f"{root.name}_generate", root / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def assert_generator_writes_the_committed_traces(root: Path, scratch: Path) -> None:
    """`generate.py` at seed 1 writes exactly the committed `traces/`, byte for byte."""
    load_generator(root).generate(1, scratch)
    fresh = sorted(p.name for p in scratch.glob("*.json.gz"))
    assert fresh == sorted(p.name for p in (root / "traces").glob("*.json.gz"))
    for name in fresh:
        assert (scratch / name).read_bytes() == (root / "traces" / name).read_bytes(), name
