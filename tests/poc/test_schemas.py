"""docs/schemas/ stays equal to the models the gateway enforces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gateway.poc import messages as msg
from gateway.poc.schemas import SCHEMAS, render

DOCS = Path(__file__).resolve().parents[2] / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_committed_schema_matches_model(name: str) -> None:
    path = DOCS / f"{name}.schema.json"
    assert path.exists(), f"run: python -m gateway.poc.schemas docs/schemas ({path} missing)"
    assert path.read_text() == render(name, SCHEMAS[name]), "docs/schemas is stale: regenerate it"


def test_schema_marks_wire_discriminators_required() -> None:
    schema = json.loads(render("floor-request", msg.FloorRequest))
    assert {"v", "op", "group", "req", "stream"} <= set(schema["required"])
    assert schema["additionalProperties"] is False
