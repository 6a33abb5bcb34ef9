"""Hostile inputs, generated: queries, advisories and versions, pod metadata.

Each property states what must hold for every input, not for the cases we thought of: no crash
(only the refusals the code documents), no value that widens a query, no version merged into
another. Each test records how many cases ran, and what came of them, for the run's summary
(`hypothesis_cases` in tests/conftest.py); `derandomize` keeps CI on the same cases.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import promql_parser as promql
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from leakwatch.api.advisory import LeakAdvisorySpec
from leakwatch.api.leakwatch import LeakWatchSpec, LeakWatchStatus, MemorySpec
from leakwatch.core.attribution import MAX_VERSION_LENGTH, UNKNOWN, read_version
from leakwatch.core.pods import ContainerSpec, ContainerState, OwnerRef, PodInfo, Termination
from leakwatch.core.promql import Scope, memory_query, quote, regex_alternation
from leakwatch.core.query_guard import QueryRefused
from leakwatch.core.versions import matches, nearest_fix, newest
from leakwatch.publish.events import ObjectRef
from leakwatch.watch.accountant import Accountant

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
SETTINGS = settings(max_examples=500, deadline=None, derandomize=True)
Record = Callable[[int, Mapping[str, int]], None]  # the `hypothesis_cases` fixture


# --- queries ------------------------------------------------------------------------------------
PROMQL_ALPHABET = st.sampled_from([*"{}[]()\"'=~!,:@#+-*/^%<> \n\\`", "namespace", "pod", "or", "by", "on"])
QUERY_TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(PROMQL_ALPHABET | st.text(max_size=8), max_size=60).map("".join),
    st.lists(PROMQL_ALPHABET | st.text(max_size=8), max_size=60).map(lambda parts: "x{{namespace}} " + "".join(parts)),
)


def test_any_text_as_a_custom_query_is_refused_clearly_or_sent_scoped(hypothesis_cases: Record) -> None:
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(QUERY_TEXT)
    def judge(text: str) -> None:
        try:
            spec = MemorySpec(signal="Custom", query=text)
        except ValidationError:
            seen["refused by the schema"] += 1
            return
        try:
            sent = memory_query(spec, Scope("mine", ["mine-app-0"]))
        except QueryRefused as refused:
            assert str(refused).strip()
            seen["refused on the syntax tree"] += 1
            return
        seen["admitted"] += 1
        assert 'namespace="mine"' in sent

    judge()
    hypothesis_cases(sum(seen.values()), seen)
    assert sum(seen.values()) == SETTINGS.max_examples


# --- pod metadata -------------------------------------------------------------------------------
HOSTILE_VALUE = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(['"', "\\", "\n", "\r", "}", "{", "|", ".*", "or", "'", "`", "\u202e", "\x00", "a"]),
             max_size=30).map("".join),
)  # fmt: skip


def test_a_label_value_is_matched_exactly_and_never_widens_a_selector(hypothesis_cases: Record) -> None:
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(HOSTILE_VALUE)
    def judge(value: str) -> None:
        selector = promql.parse(f'm{{namespace={quote(value)}, container!=""}}')
        matchers = list(selector.matchers.matchers)
        assert len(matchers) == 2  # namespace and container (the name is kept apart): nothing added
        assert next(m.value for m in matchers if m.name == "namespace") == value
        seen["values"] += 1

    judge()
    hypothesis_cases(seen["values"], {})


POD_NAME = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?", fullmatch=True)


def test_a_pod_regex_matches_exactly_its_pods(hypothesis_cases: Record) -> None:
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(st.lists(POD_NAME, min_size=1, max_size=40, unique=True), POD_NAME)
    def judge(pods: list[str], stranger: str) -> None:
        selector = promql.parse(f"m{{pod=~{regex_alternation(pods)}}}")
        pattern = next(m.value for m in selector.matchers.matchers if m.name == "pod")
        assert all(re.fullmatch(pattern, p) for p in pods)
        assert (re.fullmatch(pattern, stranger) is not None) == (stranger in pods)
        seen["pod sets"] += 1
        seen["pods"] += len(pods)

    judge()
    hypothesis_cases(seen["pod sets"], {"pods": seen["pods"]})


def _pod(i: int, version: str, *, limit: bool, restarts: int) -> PodInfo:
    name = f"{'p' * 57}{i:06d}"  # 63 characters, the most a pod name may hold
    last = Termination("OOMKilled", "2026-12-04T11:00:00Z", 137) if restarts else None
    return PodInfo(
        namespace="shop",
        name=name,
        uid=f"uid-{i}",
        labels={"app": "checkout-api", "note": version},  # the API server would refuse this label; we do not rely on it
        annotations={"version": version},
        owner=OwnerRef("ReplicaSet", "checkout-api-5d8f9", "rs-uid"),
        containers=(
            ContainerSpec("app", "registry.local/checkout-api:1", memory_limit_bytes=2**29 if limit else None),
        ),
        statuses=(ContainerState("app", restarts, last),),
        started_at="2026-12-04T10:00:00Z",
    )


class Sink:
    def __init__(self) -> None:
        self.statuses: list[dict[str, object]] = []
        self.events = 0

    def patch(self, namespace: str, name: str, status: LeakWatchStatus) -> bool:
        self.statuses.append(status.model_dump(mode="json", by_alias=True, exclude_unset=True))
        return True

    def post(self, subject: ObjectRef, *, key: str, reason: str, message: str, warning: bool = True) -> bool:
        self.events += 1
        return True


def test_a_thousand_pods_with_hostile_metadata_in_one_leakwatch(hypothesis_cases: Record) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=20, deadline=None, derandomize=True)
    @given(st.lists(HOSTILE_VALUE, min_size=1, max_size=50), st.booleans())
    def judge(versions: list[str], limits: bool) -> None:
        sink = Sink()
        accountant = Accountant(sink, sink, clock=lambda: NOW)
        spec = {
            "selector": {"matchLabels": {"app": "checkout-api"}},
            "version": {"source": "Annotation", "key": "version"},
        }
        accountant.apply_spec("shop", "checkout-api", "lw-uid", 1, spec, {}, created="2026-12-04T09:00:00Z")
        for i in range(1000):
            accountant.on_pod(_pod(i, versions[i % len(versions)], limit=limits, restarts=i % 3))
        assert accountant.flush()
        status = sink.statuses[-1]
        rows = status["versions"]
        assert isinstance(rows, list)
        kept = {row["version"] for row in rows}
        for version in kept:
            assert len(version) <= MAX_VERSION_LENGTH and version.isprintable()
        # Every distinct readable version stays its own row; the rest are `unknown`, never merged.
        source = LeakWatchSpec.model_validate(spec).version
        readable = {v for v in versions if v and v.isprintable()}
        assert kept - {UNKNOWN} == {
            read_version(_pod(0, v, limit=True, restarts=0), source, []).version for v in readable
        }
        assert sum(row["pods"] for row in rows) == 1000
        assert status["oomKills"] == sum(i % 3 for i in range(1000))
        seen["LeakWatches"] += 1
        seen["pods"] += 1000
        seen["distinct versions"] += len(kept)

    judge()
    hypothesis_cases(seen["LeakWatches"], {"pods": seen["pods"], "distinct versions": seen["distinct versions"]})


# --- advisories and versions --------------------------------------------------------------------
VERSION_TEXT = st.one_of(
    st.sampled_from(["0", "3.1.2", "3.1.4", "3.2.2", "1.0.0-rc1", "v2", "2.0.0+build.5", "1.0.0.Final", "3.1.10"]),
    st.text(min_size=1, max_size=40),
    st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,6}){0,5}([-+.][a-zA-Z0-9]{0,10})?", fullmatch=True),
)
EVENT = st.one_of(
    st.builds(lambda v: {"introduced": v}, VERSION_TEXT),
    st.builds(lambda v: {"fixed": v}, VERSION_TEXT),
    st.builds(lambda v: {"lastAffected": v}, VERSION_TEXT),
)
ADVISORY = st.builds(
    lambda ecosystem, ranges, versions: {
        "summary": "leaks",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": "io.jooby:jooby-netty"},
                "ranges": [{"events": [{"introduced": "0"}, *events]} for events in ranges],
                "versions": versions,
            }
        ],
    },
    st.sampled_from(["Maven", "PyPI", "npm", "Go", "SemVer"]),
    st.lists(st.lists(EVENT, max_size=31), min_size=1, max_size=4),
    st.lists(VERSION_TEXT, max_size=8),
)


def test_advisories_with_any_versions_match_without_crashing(hypothesis_cases: Record) -> None:
    seen: Counter[str] = Counter()

    @SETTINGS
    @given(ADVISORY, VERSION_TEXT, st.lists(VERSION_TEXT, max_size=6))
    def judge(body: dict[str, object], running: str, fixes: list[str]) -> None:
        advisory = LeakAdvisorySpec.model_validate(body)
        ecosystem = advisory.affected[0].package.ecosystem
        found = matches([("a", advisory)], "io.jooby:jooby-netty", running)
        assert all(isinstance(f, str) for hit in found for f in hit.fixed)
        assert nearest_fix(ecosystem, running, fixes) in (None, *fixes)
        assert newest(ecosystem, fixes) in (None, *fixes)
        seen["matched" if found else "not matched"] += 1

    judge()
    hypothesis_cases(sum(seen.values()), seen)


def test_ten_thousand_range_events_are_refused_by_the_schema() -> None:
    body = {
        "summary": "leaks",
        "affected": [
            {
                "package": {"name": "io.jooby:jooby-netty"},
                "ranges": [{"events": [{"introduced": f"1.{i}"} for i in range(10_000)]}],
            }
        ],
    }
    with pytest.raises(ValidationError, match="at most 32"):
        LeakAdvisorySpec.model_validate(body)
