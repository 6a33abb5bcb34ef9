from __future__ import annotations

import pytest

from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.promql import Scope, memory_query, quote, regex_alternation, runtime_queries

SCOPE = Scope("shop", ["checkout-api-5d8f9-abcde", "checkout-api-5d8f9-fghij"])


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('quo"te', '"quo\\"te"'),
        ("back\\slash", '"back\\\\slash"'),
        ('x"} or up{job=~".*', '"x\\"} or up{job=~\\".*"'),
        ("new\nline", '"new\\nline"'),
    ],
)
def test_quote_keeps_every_value_inside_its_string(value: str, literal: str) -> None:
    assert quote(value) == literal


def test_regex_alternation_escapes_regex_metacharacters() -> None:
    assert regex_alternation([".*", "a|b"]) == '"\\\\.\\\\*|a\\\\|b"'


@pytest.mark.parametrize("signal", ["WorkingSet", "RSS", "JVMNative", "NMTCategory"])
def test_every_signal_is_scoped_to_the_namespace_and_pods(signal: str) -> None:
    query = memory_query(MemorySpec(signal=signal), SCOPE)
    assert 'namespace="shop"' in query
    assert 'pod=~"checkout\\\\-api\\\\-5d8f9\\\\-abcde|checkout\\\\-api\\\\-5d8f9\\\\-fghij"' in query
    assert query.startswith("min_over_time(")


def test_jvm_native_subtracts_committed_heap() -> None:
    query = memory_query(
        MemorySpec(signal="JVMNative", jvm={"heapCommittedMetric": "jvm_memory_bytes_committed"}), SCOPE
    )
    assert "container_memory_rss{" in query
    assert " - on(namespace, pod) group_left sum by (namespace, pod) (jvm_memory_bytes_committed{" in query
    assert 'area="heap"' in query


def test_custom_query_placeholders_are_filled_with_escaped_matchers() -> None:
    spec = MemorySpec(signal="Custom", query="max by (pod, container) (my_bytes{{namespace}, {pods}})")
    assert (
        memory_query(spec, Scope('we"ird', ["p"]))
        == 'max by (pod, container) (my_bytes{namespace="we\\"ird", pod=~"p"})'
    )


@pytest.mark.parametrize(
    ("signal", "range_"), [("WorkingSet", "[5m]"), ("RSS", "[5m]"), ("JVMNative", "[5m:]"), ("NMTCategory", "[5m:]")]
)
def test_memory_step_is_the_range_each_point_takes_its_minimum_over(signal: str, range_: str) -> None:
    query = memory_query(MemorySpec(signal=signal, window="6h", step="5m"), SCOPE)
    assert range_ in query
    assert "[1m" not in query  # the default step


def test_jvm_heap_area_label_names_the_label_that_picks_the_heap() -> None:
    query = memory_query(MemorySpec(signal="JVMNative", jvm={"heapAreaLabel": "type"}), SCOPE)
    assert 'jvm_memory_committed_bytes{namespace="shop", ' in query
    assert ', type="heap"}' in query
    assert "area=" not in query


def test_jvm_nmt_metric_names_the_metric_read_for_nmt_category() -> None:
    query = memory_query(MemorySpec(signal="NMTCategory", jvm={"nmtMetric": "jvm_nmt_committed_bytes"}), SCOPE)
    assert 'sum by (namespace, pod, container) (jvm_nmt_committed_bytes{namespace="shop", ' in query
    assert "jvm_native_memory_committed_bytes" not in query


def test_runtime_queries_are_scoped_per_pod_and_read_each_runtimes_cap() -> None:
    hostile = 'p"} or vector(1) #'
    jvm, go = runtime_queries(MemorySpec(), Scope("shop", ["api-0", hostile]))
    # The pod names enter escaped, as every signal's do (tested above); the JVM heap adds only its area.
    where = f'namespace="shop", pod=~{regex_alternation(["api-0", hostile])}'
    heap = f'{where}, area="heap"'
    assert jvm.committed == f"min_over_time(sum by (namespace, pod) (jvm_memory_committed_bytes{{{heap}}})[1m:])"
    assert jvm.used_floor == f"min_over_time(sum by (namespace, pod) (jvm_memory_used_bytes{{{heap}}})[1m:])"
    assert jvm.maximum == f"sum by (namespace, pod) (jvm_memory_max_bytes{{{heap}}} > 0)"  # pools without a max: -1
    assert go.committed == (
        f"min_over_time(sum by (namespace, pod) (go_memstats_sys_bytes{{{where}}} - "
        f"go_memstats_heap_released_bytes{{{where}}})[1m:])"
    )
    assert go.used_floor == f"min_over_time(sum by (namespace, pod) (go_memstats_heap_alloc_bytes{{{where}}})[1m:])"
    assert go.maximum == f"max by (namespace, pod) (go_gc_gomemlimit_bytes{{{where}}} < 9e18)"  # unset: MaxInt64
    renamed = MemorySpec(jvm={"heapUsedMetric": "jvm_memory_bytes_used", "heapMaxMetric": "jvm_memory_bytes_max"})
    jvm_renamed, _ = runtime_queries(renamed, Scope("shop", ["a"]))
    assert "(jvm_memory_bytes_used{" in jvm_renamed.used_floor and "(jvm_memory_bytes_max{" in jvm_renamed.maximum
