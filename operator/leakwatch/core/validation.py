"""What the CRD schema cannot say: checks that need the whole spec in Python's hands. Their
outcome becomes the Ready condition; the schema's CEL rules already refused the rest."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from leakwatch.api.leakwatch import LeakWatchSpec
from leakwatch.core.conditions import READY, ConditionUpdate


def describe_validation_error(err: ValidationError) -> str:
    parts = []
    for detail in err.errors():
        where = ".".join(str(p) for p in detail["loc"]) or "spec"
        parts.append(f"spec.{where}: {detail['msg']}")
    return "; ".join(parts)


def parse_spec(raw: dict[str, Any]) -> tuple[LeakWatchSpec | None, ConditionUpdate]:
    try:
        spec = LeakWatchSpec.model_validate(raw)
    except ValidationError as err:
        return None, ConditionUpdate(READY, "False", "InvalidSpec", describe_validation_error(err))
    selector = spec.selector.to_query()
    return spec, ConditionUpdate(READY, "True", "Watching", f"watching pods matching {selector}")
