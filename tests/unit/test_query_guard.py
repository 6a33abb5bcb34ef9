"""Custom queries on their syntax tree: every selector held to the LeakWatch's namespace, every
construct that could forge identity or read elsewhere refused, with a message naming the part."""

from __future__ import annotations

import promql_parser as promql
import pytest

from leakwatch.api.leakwatch import MemorySpec
from leakwatch.core.promql import Scope, memory_query
from leakwatch.core.query_guard import MAX_SELECTORS, QueryRefused, _written_label

MINE = Scope("mine", ["mine-app-0", "mine-app-1"])


def custom(query: str, scope: Scope = MINE) -> str:
    return memory_query(MemorySpec(signal="Custom", query=query), scope)


@pytest.mark.parametrize(
    "query",
    [
        'container_memory_working_set_bytes{{namespace}, {pods}, container!=""}',
        "max by (namespace, pod, container) (my_bytes{{namespace}})",
        "min_over_time(my_bytes{{namespace}}[5m]) - on(namespace, pod) group_left sum by (namespace, pod) "
        '(jvm_memory_used_bytes{{namespace}, area="heap"})',
        "max_over_time(rate(my_bytes{{namespace}}[5m])[30m:1m] offset 1h)",
        'label_replace(my_bytes{{namespace}}, "app", "$1", "pod", "(.*)")',  # writing a label that is no identity
        'label_replace(my_bytes{{namespace}}, ("app"), "$1", "pod", "(.*)")',  # parentheses alone are no refusal
        'label_join(my_bytes{{namespace}}, "owner", "/", "namespace", "pod")',  # identity labels may be read
        'count_values("app", my_bytes{{namespace}})',
        'sort_by_label(my_bytes{{namespace}}, "pod", "container")',
        "my_bytes{{namespace}} * on(namespace, pod) group_left(app) kube_pod_labels{{namespace}}",
        "my_bytes{{namespace}} # a comment may say anything",
    ],
)
def test_queries_held_to_their_namespace_are_sent_as_written(query: str) -> None:
    sent = custom(query)
    assert sent == query.replace("{namespace}", 'namespace="mine"').replace(
        "{pods}", 'pod=~"mine\\\\-app\\\\-0|mine\\\\-app\\\\-1"'
    )


@pytest.mark.parametrize(
    ("query", "refused", "why"),
    [
        # the forged-label attack from the issue: another namespace's series renamed into ours
        (
            'label_replace(label_replace(container_memory_working_set_bytes{namespace="other", pod="secret-db-0"},'
            ' "namespace", "mine", "", ""), "pod", "mine-app-0", "", "") or my_bytes{{namespace}}',
            'label_replace(..., "pod", ...)',
            "writes the pod label",
        ),
        ('label_replace(my_bytes{{namespace}}, "namespace", "x", "", "")', '"namespace"', "writes the namespace"),
        ('label_join(my_bytes{{namespace}}, "container", ",", "pod")', '"container"', "writes the container"),
        # Prometheus unwraps parentheses around the label a function writes, so the guard must too
        ('label_replace(my_bytes{{namespace}}, ("pod"), "victim-0", "", "")', '"pod"', "writes the pod label"),
        ('label_replace(my_bytes{{namespace}}, ((("namespace"))), "x", "", "")', '"namespace"', "writes the namespace"),
        ('label_join(my_bytes{{namespace}}, ("container"), ",", "app")', '"container"', "writes the container"),
        # count_values names its output label: count_values("pod", x) makes pods of x's values
        ('count_values("pod", my_bytes{{namespace}})', 'count_values("pod"', "writes the pod label"),
        ('sum(count_values(("namespace"), my_bytes{{namespace}}))', 'count_values("namespace"', "writes the namespace"),
        ("count_values(`container`, my_bytes{{namespace}})", 'count_values("container"', "writes the container"),
        # a join that copies identity from the other side's series
        ("my_bytes{{namespace}} * on() group_left(pod) other_bytes{{namespace}}", "group_left(pod)", "copies the pod"),
        (
            "my_bytes{{namespace}} / ignoring(area) group_right(app, namespace) other_bytes{{namespace}}",
            "group_right(namespace)",
            "copies the namespace",
        ),
        # {namespace} only in a comment: the selector itself has none
        ("container_memory_working_set_bytes # {namespace}", "container_memory_working_set_bytes", "no {namespace}"),
        ('my_bytes{{namespace}} or my_bytes{namespace="other"}', "my_bytes", "another namespace"),
        ('my_bytes{namespace=~"mine|other"}', "my_bytes", "another namespace"),
        ('my_bytes{namespace!="mine"}', "my_bytes", "another namespace"),
        ('my_bytes{{namespace}, namespace="other"}', "my_bytes", "another namespace"),
        ('my_bytes{namespace="mine" or namespace="other"}', "my_bytes", "another namespace"),
        ('my_bytes{namespace="mine" or pod="x"}', "my_bytes", "no {namespace}"),
        ("vector(1) + on() group_left kube_pod_labels", "kube_pod_labels", "no {namespace}"),
        ("rate(my_bytes[5m]) + my_bytes{{namespace}}", "my_bytes", "no {namespace}"),  # inside a range selector
        ("max_over_time(my_bytes[5m:1m]) + my_bytes{{namespace}}", "my_bytes", "no {namespace}"),  # a subquery
        ("rate(my_bytes{{namespace}}[5m] offset 2d)", "my_bytes", "offset beyond one day"),
        ('{__name__=~"container_.*"}', "a selector", "no {namespace}"),
        ("absent(nothing{{namespace}})", "absent(...)", "from its matchers"),
        ("absent_over_time(nothing{{namespace}}[5m])", "absent_over_time(...)", "from its matchers"),
        ("my_bytes{{namespace}} @ 1600000000", "my_bytes", "@ modifier"),
        ("my_bytes{{namespace}}[5m:1m] @ start()", "a subquery", "@ modifier"),
        ("my_bytes{{namespace}} offset 30d", "my_bytes", "offset beyond one day"),
        ('my_bytes{{namespace}, pod=~"a\\\\.b"}', "the query", "backslash"),
        ("my_bytes{{namespace}", "the query", "not valid PromQL"),
        ("vector(1)", "the query", "reads no series"),
        (" + ".join(["my_bytes{{namespace}}"] * (MAX_SELECTORS + 1)), "the query", f"at most {MAX_SELECTORS}"),
    ],
)
def test_queries_that_could_read_or_forge_another_namespace_are_refused(query: str, refused: str, why: str) -> None:
    with pytest.raises(QueryRefused) as caught:
        custom(query)
    assert refused in caught.value.part and why in caught.value.why, str(caught.value)


def test_a_written_label_that_is_no_string_literal_is_refused_not_guessed_at() -> None:
    # promql-parser 0.12 types these arguments as strings, so only a literal (in parentheses or
    # not) reaches the guard through a query; should a later parser hand over anything else, it is
    # refused rather than let through unread.
    with pytest.raises(QueryRefused, match="other than as a string literal"):
        _written_label("label_replace", promql.parse("1"))
    assert _written_label("label_replace", promql.parse('(("pod"))')) == "pod"


def test_a_namespace_that_needs_escaping_is_still_matched_exactly() -> None:
    assert custom("my_bytes{{namespace}}", Scope('we"ird', ["p"])) == 'my_bytes{namespace="we\\"ird"}'
