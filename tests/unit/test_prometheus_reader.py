"""The range-query reader against a Prometheus served by `httpx.MockTransport`: what it holds in
memory, the caps on what one query may read, and which failures are retried.

One function under test (`PrometheusClient.range_query`), so the HTTP layer is stood in for; the
same reader runs against a real Prometheus in tests/integration/test_long_window.py."""

from __future__ import annotations

import gc
import json
import tracemalloc
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs

import httpx
import numpy as np
import pytest

from leakwatch.sample import prometheus as sampler
from leakwatch.sample.prometheus import PrometheusClient, PrometheusError

URL = "http://prometheus.test"
T0 = 1_780_000_000.0
STEP = 60.0
WEEK_POINTS = 7 * 24 * 60 + 1  # 7d at 1m, both ends included: 10,081
MiB = 2**20
# The case, 300 pods x 7d x 1m, held as float64 pairs is 300 x 10,081 x 16 B = 46 MiB;
# reading it peaks at 58 MiB. The reader that kept each chunk's parsed JSON to the end peaked at
# 584 MiB here, past the chart's 512 MiB limit. The budget leaves room for one response's bytes
# and decoded text (about 7 MB each) and fails that reader six times over.
MEMORY_BUDGET = 96 * MiB

Handler = Callable[[httpx.Request], httpx.Response]


def form(request: httpx.Request) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(request.read().decode()).items()}


def ts(t: float) -> str:
    """A timestamp as Prometheus writes it: seconds, up to three decimals, no trailing zeros."""
    return f"{t:.3f}".rstrip("0").rstrip(".")


def matrix(series: int, *, value: Callable[[float], str] = lambda t: str(int(300 * MiB + t - T0))) -> Handler:
    """A Prometheus holding `series` pods' memory at every step (growing a byte a second), that
    answers each range query on its grid, streamed series by series as Prometheus writes it."""

    def handle(request: httpx.Request) -> httpx.Response:
        asked = form(request)
        start, end, step = float(asked["start"]), float(asked["end"]), float(asked["step"])
        times = [start + k * step for k in range(sampler.grid_points(start, end, step))]
        points = ",".join(f'[{ts(t)},"{value(t)}"]' for t in times)

        def body() -> Iterator[bytes]:
            yield b'{"status":"success","data":{"resultType":"matrix","result":['
            for i in range(series):
                comma = "," if i else ""
                yield f'{comma}{{"metric":{{"namespace":"mine","pod":"app-{i}"}},"values":[{points}]}}'.encode()
            yield b"]}}"

        return httpx.Response(200, content=body())

    return handle


def client(handler: Handler, attempts: int = 3) -> tuple[PrometheusClient, list[httpx.Request]]:
    """A reader whose requests go to `handler`; the list collects every request it made."""
    made: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        made.append(request)
        return handler(request)

    return PrometheusClient(URL, attempts=attempts, transport=httpx.MockTransport(recording)), made


def week(reader: PrometheusClient) -> list[sampler.Series]:
    return reader.range_query('m{namespace="mine"}', T0, T0 + (WEEK_POINTS - 1) * STEP, STEP)


# --- memory -------------------------------------------------------------------------------------
def test_a_week_of_three_hundred_pods_is_read_whole_within_the_memory_budget() -> None:
    reader, made = client(matrix(300))
    gc.collect()
    tracemalloc.start()
    try:
        found = week(reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nreading 300 series x {WEEK_POINTS:,} points: tracemalloc peak {peak / MiB:.1f} MiB")
    assert peak < MEMORY_BUDGET, f"peak {peak / MiB:.0f} MiB, budget {MEMORY_BUDGET / MiB:.0f} MiB"
    # Read whole, in chunks, and put back together in time order with nothing lost or doubled.
    assert len(made) > 2
    assert sorted(s.labels["pod"] for s in found) == sorted(f"app-{i}" for i in range(300))
    for series in found:
        assert series.labels["namespace"] == "mine"
        assert len(series.samples.t) == WEEK_POINTS
        assert series.samples.t[0] == T0 and np.all(np.diff(series.samples.t) == STEP)
        assert np.all(series.samples.v - series.samples.t == 300 * MiB - T0)  # each value kept its time


def test_special_values_and_a_label_named_values_are_read_as_prometheus_means_them() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        values = [[T0, "NaN"], [T0 + 60, "+Inf"], [T0 + 120, "7"]]
        result = [{"metric": {"pod": "a", "values": "[1]"}, "values": values}]
        return httpx.Response(200, json={"status": "success", "data": {"resultType": "matrix", "result": result}})

    [series] = client(handle)[0].range_query("m", T0, T0 + 120, STEP)
    assert series.labels == {"pod": "a", "values": "[1]"}
    assert np.isnan(series.samples.v[0]) and series.samples.v[1:].tolist() == [np.inf, 7.0]


# --- the caps on what one query may read --------------------------------------------------------
def test_more_series_than_max_series_are_refused_naming_the_limit() -> None:
    reader, made = client(matrix(sampler.MAX_SERIES + 1))
    with pytest.raises(PrometheusError) as refused:
        reader.range_query("m", T0, T0, STEP)  # one point per series: only the series count is over
    assert refused.value.reason == "QueryTooLarge"
    assert f"{sampler.MAX_SERIES + 1} series" in str(refused.value)
    assert f"more than the {sampler.MAX_SERIES} one LeakWatch may read" in str(refused.value)
    assert len(made) == 1


def test_exactly_max_series_are_read() -> None:
    assert len(client(matrix(sampler.MAX_SERIES))[0].range_query("m", T0, T0, STEP)) == sampler.MAX_SERIES


def test_a_window_over_max_samples_is_refused_after_the_first_chunk_naming_the_limit() -> None:
    series = sampler.MAX_SAMPLES // WEEK_POINTS + 1  # 397 series x 10,081 points: just over
    reader, made = client(matrix(series))
    with pytest.raises(PrometheusError) as refused:
        week(reader)
    assert refused.value.reason == "QueryTooLarge"
    assert f"more than the {sampler.MAX_SAMPLES:,} one LeakWatch may read" in str(refused.value)
    assert len(made) == 1


def test_an_answer_over_max_response_bytes_is_refused_unread_naming_the_limit() -> None:
    streamed: list[int] = []
    point = b'[1780000000,"1"],'
    per_mib = MiB // len(point)

    def oversized(request: httpx.Request) -> httpx.Response:
        """A valid answer 4 MiB over the cap, so a reader without the cap would read it whole."""

        def body() -> Iterator[bytes]:
            yield b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":['
            for _ in range(sampler.MAX_RESPONSE_BYTES // MiB + 4):
                streamed.append(per_mib * len(point))
                yield point * per_mib
            yield b'[1780000000,"1"]]}]}}'

        return httpx.Response(200, content=body())

    reader, made = client(oversized)
    with pytest.raises(PrometheusError) as refused:
        reader.range_query("m", T0, T0 + 60, STEP)
    assert refused.value.reason == "QueryTooLarge"
    assert f"exceeded {sampler.MAX_RESPONSE_BYTES // MiB} MiB" in str(refused.value)
    assert sum(streamed) <= sampler.MAX_RESPONSE_BYTES + MiB  # it stopped reading at the cap
    assert len(made) == 1  # and did not ask again for an answer that would be as large


def test_an_answer_just_under_max_response_bytes_is_read() -> None:
    def padded(request: httpx.Request) -> httpx.Response:
        pad = " " * (sampler.MAX_RESPONSE_BYTES - 200)  # JSON whitespace: bytes that hold nothing
        body = '{"status":"success",' + pad + '"data":{"resultType":"matrix","result":[]}}'
        assert len(body) <= sampler.MAX_RESPONSE_BYTES
        return httpx.Response(200, content=body.encode())

    assert client(padded)[0].range_query("m", T0, T0, STEP) == []


# --- failures: whose problem, and whether asking again can help ---------------------------------
FOREIGN = "secret-db-0"  # what Prometheus's error text may quote; it must not reach the message


def answering(status: int, body: bytes) -> Handler:
    return lambda request: httpx.Response(status, content=body)


def error(error_type: str) -> bytes:
    return json.dumps({"status": "error", "errorType": error_type, "error": f'matched {{pod="{FOREIGN}"}}'}).encode()


@pytest.mark.parametrize(
    ("status", "body", "reason", "said"),
    [
        (400, error("bad_data"), "QueryRejected", "rejected the query: HTTP 400 (bad_data)"),
        (422, error("execution"), "QueryRejected", "rejected the query: HTTP 422 (execution)"),
        (413, b"<html>Request Entity Too Large</html>", "QueryRejected", "HTTP 413 (no error type)"),
        (405, b"method not allowed", "QueryRejected", "HTTP 405 (no error type)"),
        (431, b"", "QueryRejected", "HTTP 431 (no error type)"),
        (401, b"Unauthorized", "PrometheusAccessDenied", "denied the operator access: HTTP 401"),
        (403, error("forbidden"), "PrometheusAccessDenied", "denied the operator access: HTTP 403"),
        (503, error("timeout"), "QueryTimeout", "gave up on the query"),
        # Prometheus 3.16, its deadline hit while the query is being prepared (2.42 answers 503).
        (
            400,
            json.dumps(
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": 'invalid parameter "query": context deadline exceeded',
                }
            ).encode(),
            "QueryTimeout",
            "gave up on the query",
        ),
    ],
)
def test_an_answer_about_the_request_is_not_asked_again(
    status: int, body: bytes, reason: str, said: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sampler.time, "sleep", lambda seconds: None)
    reader, made = client(answering(status, body))
    with pytest.raises(PrometheusError) as failed:
        reader.range_query("m", T0, T0 + 60, STEP)
    assert failed.value.reason == reason
    assert said in str(failed.value) and FOREIGN not in str(failed.value), str(failed.value)
    assert len(made) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b"404 page not found"),  # a wrong URL or path prefix
        (408, b""),
        (429, b"slow down"),
        (499, error("canceled")),  # Prometheus shutting down mid-query
        (500, error("internal")),
        (502, b"<html>Bad Gateway</html>"),
        (503, error("unavailable")),
        (200, b"{truncated"),
    ],
)
def test_an_answer_that_may_change_is_asked_again_and_then_called_unavailable(
    status: int, body: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sampler.time, "sleep", lambda seconds: None)
    reader, made = client(answering(status, body), attempts=3)
    with pytest.raises(PrometheusError, match=f"Prometheus at {URL} failed") as failed:
        reader.range_query("m", T0, T0 + 60, STEP)
    assert failed.value.reason == "PrometheusUnavailable"
    assert FOREIGN not in str(failed.value)
    assert len(made) == 3


def test_a_failure_that_passes_is_read_on_the_next_attempt(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sampler.time, "sleep", lambda seconds: None)
    answers = iter([answering(502, b"Bad Gateway"), matrix(1)])
    reader, made = client(lambda request: next(answers)(request))
    [series] = reader.range_query("m", T0, T0 + 60, STEP)
    assert len(series.samples.t) == 2 and len(made) == 2
