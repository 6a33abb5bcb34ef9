"""Building blocks shared by the LeakWatch and LeakAdvisory models.

Each constraint is written once and enforced twice: by pydantic when Python builds a model, and by
the API server through the CEL rule (`x-kubernetes-validations`) that the CRD generator copies from
`json_schema_extra`. The CEL messages are what a user sees from `kubectl apply`, so they say what
to write instead, not only what is wrong.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from leakwatch.api.terms import ConditionStatus


class ApiModel(BaseModel):
    """camelCase on the wire (Kubernetes API conventions), snake_case in Python."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


def cel(rule: str, message: str, field_path: str | None = None) -> dict[str, str]:
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


# --- durations -----------------------------------------------------------------------------------
# Prometheus-style single-unit durations ("30s", "15m", "6h", "7d"): what users already write in
# alert rules. A leading "-" or a zero can never match, so a negative or empty window is refused.
DURATION_PATTERN = r"^[1-9][0-9]{0,5}(s|m|h|d)$"
_DURATION_RE = re.compile(DURATION_PATTERN)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DURATION_MESSAGE = "must be a positive duration such as 30s, 15m, 6h or 7d"


def parse_duration(text: str) -> timedelta:
    if not _DURATION_RE.match(text):
        raise ValueError(f"{text!r} {DURATION_MESSAGE}")
    return timedelta(seconds=int(text[:-1]) * _UNIT_SECONDS[text[-1]])


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


# CEL sees the duration as a string; the same arithmetic in CEL lets cross-field rules compare
# durations (for example window > step) without a custom function.
def cel_seconds(expr: str) -> str:
    return (
        f"(int({expr}.substring(0, {expr}.size() - 1)) * "
        f"({expr}.endsWith('d') ? 86400 : {expr}.endsWith('h') ? 3600 : {expr}.endsWith('m') ? 60 : 1))"
    )


Duration = Annotated[
    str,
    AfterValidator(_check_duration),
    Field(
        max_length=8,
        json_schema_extra=validations(cel(f"self.matches(r'{DURATION_PATTERN}')", DURATION_MESSAGE)),
    ),
]


# --- label selectors -----------------------------------------------------------------------------
# The same grammar as apimachinery's validation (qualified names, label values).
LABEL_KEY_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
LABEL_VALUE_PATTERN = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
_LABEL_KEY_RE = re.compile(LABEL_KEY_PATTERN)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_PATTERN)
LABEL_KEY_MESSAGE = "label keys must be valid Kubernetes label names such as app or app.kubernetes.io/name"
LABEL_VALUE_MESSAGE = (
    "label values must be at most 63 characters of letters, digits, '-', '_' or '.', "
    "starting and ending with a letter or digit"
)


def _check_label_key(key: str) -> str:
    if not _LABEL_KEY_RE.match(key):
        raise ValueError(f"{key!r}: {LABEL_KEY_MESSAGE}")
    return key


def _check_label_value(value: str) -> str:
    if not _LABEL_VALUE_RE.match(value):
        raise ValueError(f"{value!r}: {LABEL_VALUE_MESSAGE}")
    return value


LabelKey = Annotated[str, AfterValidator(_check_label_key), Field(min_length=1, max_length=317)]
LabelValue = Annotated[str, AfterValidator(_check_label_value), Field(max_length=63)]


class LabelSelectorRequirement(ApiModel):
    """One `matchExpressions` entry, as in a Deployment's selector."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.operator in ['In', 'NotIn'] ? size(self.values) > 0 : size(self.values) == 0",
                "In and NotIn need at least one value; Exists and DoesNotExist take no values",
            ),
            cel(f"self.key.matches(r'{LABEL_KEY_PATTERN}')", LABEL_KEY_MESSAGE, ".key"),
            cel(f"self.values.all(v, v.matches(r'{LABEL_VALUE_PATTERN}'))", LABEL_VALUE_MESSAGE, ".values"),
        )
    )

    @model_validator(mode="after")
    def _values_fit_operator(self) -> LabelSelectorRequirement:
        needs_values = self.operator in ("In", "NotIn")
        if needs_values != bool(self.values):
            raise ValueError("In and NotIn need at least one value; Exists and DoesNotExist take no values")
        return self

    key: LabelKey = Field(description="The label key the requirement applies to.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="How the key relates to the values.")
    values: list[LabelValue] = Field(
        default_factory=list,
        max_length=32,
        description="Values for In and NotIn; empty for Exists and DoesNotExist.",
    )


class LabelSelector(ApiModel):
    """A Kubernetes label selector over pods in the LeakWatch's own namespace. It must not be empty:
    an empty selector would watch every pod of the namespace, which is never what a user means."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "size(self.matchLabels) + size(self.matchExpressions) > 0",
                "selector must name at least one label (matchLabels or matchExpressions); "
                "an empty selector would match every pod in the namespace",
            ),
            cel(
                f"self.matchLabels.all(k, k.matches(r'{LABEL_KEY_PATTERN}'))",
                LABEL_KEY_MESSAGE,
                ".matchLabels",
            ),
            cel(
                f"self.matchLabels.all(k, self.matchLabels[k].matches(r'{LABEL_VALUE_PATTERN}'))",
                LABEL_VALUE_MESSAGE,
                ".matchLabels",
            ),
        )
    )

    @model_validator(mode="after")
    def _not_empty(self) -> LabelSelector:
        if not self.match_labels and not self.match_expressions:
            raise ValueError("selector must name at least one label (matchLabels or matchExpressions)")
        return self

    match_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=dict,
        max_length=32,
        description="Pods must carry all of these labels with exactly these values.",
        json_schema_extra={"default": {}},
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list,
        max_length=16,
        description="Pods must satisfy all of these requirements.",
        json_schema_extra={"default": []},
    )

    def matches(self, labels: dict[str, str]) -> bool:
        if any(labels.get(k) != v for k, v in self.match_labels.items()):
            return False
        for req in self.match_expressions:
            present = req.key in labels
            if req.operator == "Exists" and not present:
                return False
            if req.operator == "DoesNotExist" and present:
                return False
            if req.operator == "In" and labels.get(req.key) not in req.values:
                return False
            if req.operator == "NotIn" and present and labels[req.key] in req.values:
                return False
        return True

    def to_query(self) -> str:
        """The selector in the API's `labelSelector` query syntax, for server-side filtering."""
        parts = [f"{k}={v}" for k, v in sorted(self.match_labels.items())]
        for req in self.match_expressions:
            if req.operator == "Exists":
                parts.append(req.key)
            elif req.operator == "DoesNotExist":
                parts.append(f"!{req.key}")
            else:
                op = "in" if req.operator == "In" else "notin"
                parts.append(f"{req.key} {op} ({','.join(req.values)})")
        return ",".join(parts)


# --- conditions ----------------------------------------------------------------------------------
class Condition(ApiModel):
    """A standard Kubernetes condition (API conventions: type, status, reason, message,
    observedGeneration, lastTransitionTime)."""

    type: str = Field(max_length=64, description="PascalCase condition type, e.g. Ready or Degraded.")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=64, description="One CamelCase word a program can switch on.")
    message: str = Field(default="", max_length=2048, description="What happened, for a person.")
    observed_generation: int = Field(default=0, ge=0, description="The generation this condition describes.")
    last_transition_time: str = Field(description="When status last changed (RFC 3339).")
