"""A user's Custom query, held to its LeakWatch's namespace on its syntax tree.

Text checks cannot hold a tenant: a `{namespace}` inside a comment, or a `label_replace` that
rewrites another namespace's series into ours, passes any of them. So the query is parsed with a
maintained PromQL parser (promql-parser, the Rust parser behind GreptimeDB) and checked node by
node, as prom-label-proxy holds a tenant label:

- every vector selector (also inside range selectors and subqueries, and every `or` group of a
  Prometheus 3 selector) must carry `namespace="<own>"` (what `{namespace}` writes), and no
  selector may match namespaces any other way;
- constructs that forge identity or read outside the analysis window are refused:
  `label_replace`/`label_join` writing `namespace`, `pod` or `container`, and `count_values`
  naming one of them as its output label (Prometheus reads a parenthesised `("pod")` there as
  "pod", so parentheses are looked through, and a label that is no string literal is refused);
  `group_left`/`group_right` copying one of them from the other side of a join; `absent` and
  `absent_over_time` (their series come from the matchers, not from data); `info` (it joins
  `target_info` series of its own choosing); the `@` modifier; offsets beyond a day.
  Nothing else in Prometheus 3's function list writes a label: `label_join`'s source labels and
  `sort_by_label`'s only read the LeakWatch's own series, and `vector`, `scalar` and the
  aggregations other than `count_values` only drop labels;
- its size is bounded: at most MAX_SELECTORS selectors (the CRD caps its text at 2,048 characters).

The query is checked, not rewritten: promql-parser prints some trees back wrongly (quotes in label
values unescaped, `or` groups), so what Prometheus receives is the text that was checked. To
leave no room for the two parsers to read one text differently, the user's text may not contain
backslash escapes (RE2 character classes do the same job), and the only escapes in what is sent
are the ones `{pods}` writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import promql_parser as promql

IDENTITY_LABELS = frozenset({"namespace", "pod", "container"})
REFUSED_FUNCTIONS = {
    "absent": "absent() makes series from its matchers, not from data",
    "absent_over_time": "absent_over_time() makes series from its matchers, not from data",
    "info": "info() joins target_info series of its own choosing, outside the LeakWatch's selectors",
}
LABEL_WRITERS = {"label_replace", "label_join"}  # their second argument is the label they write
MANY_TO_ONE, ONE_TO_MANY = promql.VectorMatchCardinality.ManyToOne, promql.VectorMatchCardinality.OneToMany
MAX_OFFSET = timedelta(days=1)
MAX_SELECTORS = 20


class QueryRefused(ValueError):
    """The query, or one part of it, may not run; `part` quotes our own text, never Prometheus's."""

    def __init__(self, part: str, why: str) -> None:
        self.part, self.why = part, why
        super().__init__(f"memory.query refused: {part[:200]}: {why}")


@dataclass
class _Scoping:
    namespace: str
    selectors: int = 0


def check_custom_query(template: str, filled: str, namespace: str) -> str:
    """`filled` (the user's `template` with `{namespace}` and `{pods}` written in by core.promql),
    once every part of it is held to `namespace`; QueryRefused says which part is not."""
    if "\\" in template:
        raise QueryRefused("the query", "contains a backslash escape; use RE2 character classes such as [.] or [0-9]")
    try:
        tree = promql.parse(filled)
    except ValueError as err:  # the parser's words about the user's own text
        raise QueryRefused("the query", f"is not valid PromQL ({err})") from None
    scoping = _Scoping(namespace)
    promql.walk(tree, pre_visit=lambda node: _check(node, scoping))
    if scoping.selectors > MAX_SELECTORS:
        raise QueryRefused("the query", f"has {scoping.selectors} selectors; at most {MAX_SELECTORS} are allowed")
    if not scoping.selectors:
        why = "reads no series: it needs a selector such as container_memory_rss{namespace}"
        raise QueryRefused("the query", why)
    return filled


def _check(node: Any, scoping: _Scoping) -> None:
    if isinstance(node, promql.Call):
        _check_call(node)
    elif isinstance(node, promql.AggregateExpr):
        _check_aggregate(node)
    elif isinstance(node, promql.BinaryExpr):
        _check_join(node)
    elif isinstance(node, promql.SubqueryExpr | promql.VectorSelector):
        _check_time(node)
    if isinstance(node, promql.VectorSelector):
        _check_selector(node, scoping)


def _check_call(call: Any) -> None:
    name = call.func.name
    if name in REFUSED_FUNCTIONS:
        raise QueryRefused(f"{name}(...)", REFUSED_FUNCTIONS[name])
    if name in LABEL_WRITERS and len(call.args) > 1:
        written = _written_label(name, call.args[1])
        if written in IDENTITY_LABELS:
            why = f"writes the {written} label, which says whose data it is"
            raise QueryRefused(f'{name}(..., "{written}", ...)', why)


def _check_aggregate(aggregate: Any) -> None:
    if str(aggregate.op) == "count_values" and aggregate.param is not None:
        written = _written_label("count_values", aggregate.param)
        if written in IDENTITY_LABELS:  # count_values("pod", x) names pods after x's values
            why = f"writes the {written} label, which says whose data it is"
            raise QueryRefused(f'count_values("{written}", ...)', why)


def _check_join(binary: Any) -> None:
    modifier = binary.modifier
    if modifier is None or modifier.card not in (MANY_TO_ONE, ONE_TO_MANY):
        return
    side = "group_left" if modifier.card == MANY_TO_ONE else "group_right"
    for copied in modifier.group_labels or ():
        if copied in IDENTITY_LABELS:  # the result carries the other side's pod, not its own
            why = f"copies the {copied} label from the other side of the join, and that label says whose data it is"
            raise QueryRefused(f"{side}({copied})", why)


def _written_label(function: str, argument: Any) -> str:
    """The label a function writes. Prometheus unwraps parentheses around it, so this does too;
    anything but a string literal inside them is refused rather than guessed at."""
    while isinstance(argument, promql.ParenExpr):
        argument = argument.expr
    if not isinstance(argument, promql.StringLiteral):
        raise QueryRefused(f"{function}(...)", "names the label it writes other than as a string literal")
    written: str = argument.val
    return written


def _check_time(node: Any) -> None:
    if getattr(node, "at", None) is not None:
        raise QueryRefused(_shown(node), "the @ modifier reads outside the window LeakWatch analyses")
    offset = getattr(node, "offset", None)
    if offset is not None and abs(offset) > MAX_OFFSET:
        raise QueryRefused(_shown(node), "an offset beyond one day reads outside the window LeakWatch analyses")


def _check_selector(selector: Any, scoping: _Scoping) -> None:
    matchers = selector.matchers
    groups = [list(matchers.matchers)] if matchers.matchers or not matchers.or_matchers else []
    groups += [list(group) for group in matchers.or_matchers]
    for group in groups:
        named = [m for m in group if m.name == "namespace"]
        if not named:
            raise QueryRefused(_shown(selector), "has no {namespace}: every selector must carry it")
        for matcher in named:
            if matcher.op != promql.MatchOp.Equal or matcher.value != scoping.namespace:
                raise QueryRefused(_shown(selector), "matches another namespace; a LeakWatch reads only its own")
    scoping.selectors += 1


def _shown(node: Any) -> str:
    """A selector by its metric name: its printed form is not always faithful (see above)."""
    if isinstance(node, promql.SubqueryExpr):
        return "a subquery"
    name = getattr(node, "name", None)
    return f"the selector {name}{{...}}" if name else "a selector"
