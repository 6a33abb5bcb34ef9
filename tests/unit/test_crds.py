"""The CRDs generated from the models are structural and carry the rules, defaults and columns
the API server enforces and shows (test_generated.py checks the committed YAML is what they generate)."""

from __future__ import annotations

import json

import pytest
import yaml

from leakwatch.api.crd import all_crds, render


def _walk(node: object) -> list[dict[str, object]]:
    found = []
    if isinstance(node, dict):
        found.append(node)
        for value in node.values():
            found.extend(_walk(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_walk(value))
    return found


@pytest.mark.parametrize("name", sorted(all_crds()))
def test_schema_is_structural(name: str) -> None:
    schema = all_crds()[name]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for node in _walk(schema):
        for forbidden in ("$ref", "anyOf", "oneOf", "title", "$defs", "propertyNames"):
            assert forbidden not in node, f"{forbidden} in {json.dumps(node)[:200]}"
        if "properties" in node:
            assert node.get("type") == "object"
            assert node.get("additionalProperties") in (None,)


def test_leakwatch_crd_carries_cel_rules_defaults_and_columns() -> None:
    crd = all_crds()["leakwatch.io_leakwatches.yaml"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert [c["name"] for c in version["additionalPrinterColumns"]][:5] == [
        "Ready",
        "Verdict",
        "Suspect",
        "Action",
        "Target",
    ]
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    action = spec["properties"]["action"]
    assert any("cooldown" in rule["message"] for rule in action["x-kubernetes-validations"])
    # Object defaults spell out their properties, so CEL sees a complete object.
    assert spec["properties"]["memory"]["default"]["window"] == "24h"
    assert spec["properties"]["memory"]["properties"]["signal"]["enum"] == [
        "WorkingSet",
        "RSS",
        "JVMNative",
        "NMTCategory",
        "Custom",
    ]
    assert spec["required"] == ["selector"]


def test_rendered_yaml_round_trips() -> None:
    for crd in all_crds().values():
        assert yaml.safe_load(render(crd)) == crd
