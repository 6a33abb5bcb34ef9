"""The signals corpus (tests/corpus_signals) is what its generator writes, in the corpus format, and
its per-pod signals keep the promises its README makes (consistent with the working set, never a lie)."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from corpus_format import assert_generator_writes_the_committed_traces, check_trace, load_trace

ROOT = Path(__file__).resolve().parents[1] / "corpus_signals"
PATHS = sorted((ROOT / "traces").glob("*.json.gz"))
MiB = 1 << 20
POD_NAME = re.compile(r"app-[bcdfghjklmnpqrstvwxz2456789]{10}-[bcdfghjklmnpqrstvwxz2456789]{5}")
RUNTIME_KEYS = {"jvm": ("jvm_committed", "jvm_used", "jvm_cap"), "go": ("go_committed", "go_used", "go_cap")}


def test_committed_traces_are_what_the_generator_writes(tmp_path: Path) -> None:
    assert_generator_writes_the_committed_traces(ROOT, tmp_path)


def runs(pod: dict[str, Any], limit: int) -> list[range]:
    """Index ranges of each container run: a new run starts after every sample at the limit."""
    starts = [0] + [i + 1 for i, v in enumerate(pod["bytes"][:-1]) if v == limit]
    return [range(a, b) for a, b in itertools.pairwise([*starts, len(pod["bytes"])])]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_trace_keeps_the_format(path: Path) -> None:
    doc = load_trace(path)
    check_trace(doc, path)
    assert doc["step_seconds"] in (15, 30, 60)
    assert all(len(p["t"]) > 10 for p in doc["pods"])
    assert all(POD_NAME.fullmatch(p["name"]) for p in doc["pods"])
    start = min(p["t"][0] for p in doc["pods"])
    end = max(p["t"][-1] for p in doc["pods"])
    assert 23.5 * 3600 <= end - start <= 72.5 * 3600
    if doc["label"] == "leak":
        assert doc["onset_time"] < doc["oom_time"]
        assert doc["onset_time"] >= start - doc["step_seconds"]
        assert 2.5 * 3600 <= doc["oom_time"] - doc["onset_time"] <= 80 * 3600
    else:
        assert all(max(p["bytes"]) < 0.98 * doc["limit_bytes"] for p in doc["pods"])


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_signals_are_consistent_with_the_working_set(path: Path) -> None:
    doc = load_trace(path)
    limit = doc["limit_bytes"]
    slack = max(16 * MiB, 0.03 * limit)  # kernel memory: in the working set, in neither rss nor file
    for pod in doc["pods"]:
        signals, ws = pod["signals"], pod["bytes"]
        for series in [ws, *signals.values()]:
            assert len(series) == len(pod["t"]) and all(isinstance(v, int) and v >= 0 for v in series)
        assert ("rss" in signals) == ("file" in signals)
        if "rss" in signals:
            rss, file = signals["rss"], signals["file"]
            assert all(r <= w for r, w in zip(rss, ws, strict=True)), "rss above the working set"
            assert all(r + f <= limit for r, f in zip(rss, file, strict=True)), "rss + page cache above the limit"
            assert all(w <= r + f + slack for w, r, f in zip(ws, rss, file, strict=True)), "working set unexplained"
        kinds = [k for k, keys in RUNTIME_KEYS.items() if any(key in signals for key in keys)]
        assert len(kinds) <= 1
        for kind in kinds:
            committed, used, cap = (signals[key] for key in RUNTIME_KEYS[kind])  # all three or none
            for c, u, m in zip(committed, used, cap, strict=True):
                assert u <= c, "used above committed"
                assert c > 0 or (u == 0 and m == 0), "a runtime signal before the runtime reported"
                if kind == "jvm" and m > 0:
                    assert c <= m, "committed heap above its max"
                if kind == "go" and m > 0 and doc["label"] == "no-leak":
                    assert c <= 1.05 * m, "Go runtime memory well above GOMEMLIMIT"
            if "rss" in signals:
                # the committed heap is touched over minutes, so it may run a little ahead of the RSS
                assert all(c <= r + 0.15 * limit for c, r in zip(committed, signals["rss"], strict=True))
            for run in runs(pod, limit):
                caps = {cap[i] for i in run if committed[i] > 0}
                assert len(caps) <= 1, "the runtime's cap changed inside a container run"
                reported = [committed[i] > 0 for i in run]
                assert reported == sorted(reported), "a runtime stopped reporting inside a container run"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_oomkilled_containers_restart_from_near_zero(path: Path) -> None:
    doc = load_trace(path)
    limit, step = doc["limit_bytes"], doc["step_seconds"]
    for pod in doc["pods"]:
        for i, v in enumerate(pod["bytes"][:-1]):
            if v != limit:
                continue
            assert pod["name"] in doc["leaking_pods"]
            assert pod["t"][i + 1] - pod["t"][i] <= 12 * step
            assert pod["bytes"][i + 1] < 0.5 * limit
            if "rss" in pod["signals"]:
                assert pod["signals"]["rss"][i + 1] < 0.5 * limit


def test_the_corpus_as_a_whole() -> None:
    docs = [load_trace(p) for p in PATHS]
    leaks = sum(d["label"] == "leak" for d in docs)
    assert 40 <= len(docs) <= 55 and 0.38 <= leaks / len(docs) <= 0.55
    assert sum(p.stat().st_size for p in PATHS) < 3.2e6
    templates = [{p["name"].split("-")[1] for p in d["pods"]} for d in docs]
    assert sum(len(t) >= 2 for t in templates) >= 6, "deploy histories: several versions in a trace"
    signals = [set(p["signals"]) for d in docs for p in d["pods"]]
    assert any("jvm_cap" in s for s in signals) and any("go_cap" in s for s in signals)
    assert any("rss" not in s for s in signals), "some pods' cAdvisor signals are missing"
    assert sum(any(v == d["limit_bytes"] for p in d["pods"] for v in p["bytes"]) for d in docs) >= leaks // 2
