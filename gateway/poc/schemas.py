"""JSON Schema files for every PoC v1 JSON message, generated from the pydantic models.

``python -m gateway.poc.schemas docs/schemas`` writes them; a test keeps the committed files
equal to the models, so what a handset vendor reads is what the gateway enforces.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from . import messages as msg

SCHEMAS: dict[str, type[BaseModel]] = {
    "presence": msg.Presence,
    "floor-request": msg.FloorRequest,
    "floor-release": msg.FloorRelease,
    "floor-grant": msg.FloorGrant,
    "floor-deny": msg.FloorDeny,
    "floor-revoke": msg.FloorRevoke,
    "group-floor-idle": msg.GroupFloorIdle,
    "group-floor-taken": msg.GroupFloorTaken,
}


def render(name: str, model: type[BaseModel]) -> str:
    schema = model.model_json_schema()
    # on the wire "v", "op" and "state" are mandatory (the parser dispatches on them), even
    # though the models fill them in when the gateway builds a message
    props = schema.get("properties", {})
    for key, prop in props.items():
        if "const" in prop:
            prop.pop("default", None)
            if key not in schema.setdefault("required", []):
                schema["required"].append(key)
    schema["required"] = sorted(schema.get("required", []))
    if name in ("floor-request", "floor-release"):
        # tolerated and ignored: the device id comes from the authenticated topic
        props["device"] = {"description": "ignored by the gateway; the device id is taken from the topic"}
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"pdtgw:poc1:{name}", **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_all(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, model in SCHEMAS.items():
        path = out / f"{name}.schema.json"
        path.write_text(render(name, model))
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
