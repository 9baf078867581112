"""PoC v1 JSON control messages: presence, floor up/down, group floor state.

Responsible for: the exact schema of every JSON payload in docs/poc-protocol.md,
strict parsing of raw MQTT payloads into frozen pydantic models (``parse_*``, which
raise ``PeerError`` naming the offending field), and compact serialisation
(``to_bytes()``).

Must not know: topics (the device id comes from the topic, never from a payload),
MQTT clients, floor policy.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from gateway.errors import PeerError

VERSION = 1
MAX_MESSAGE = 4096  # bytes; every v1 message is far smaller

LEVEL_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
Level = Annotated[str, Field(pattern=LEVEL_PATTERN)]  # device, group, origin, talker ids
StreamId = Annotated[int, Field(ge=1, le=0xFFFF_FFFF)]
RequestId = Annotated[str, Field(min_length=1, max_length=64)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
Detail = Annotated[str, Field(max_length=256)]
Seconds = Annotated[float, Field(ge=0)]  # Unix time, seconds

DenyReason = Literal["radio_busy", "handset_busy", "not_member", "unknown_group", "radio_unavailable"]
DENY_REASONS: tuple[str, ...] = DenyReason.__args__  # type: ignore[attr-defined]
RevokeReason = Literal["idle_timeout", "talk_timeout", "radio_unavailable", "gateway_shutdown", "preempted"]
REVOKE_REASONS: tuple[str, ...] = RevokeReason.__args__  # type: ignore[attr-defined]


class Message(BaseModel):
    """Base of every v1 JSON message: frozen, strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)

    v: Literal[1] = 1

    def to_bytes(self) -> bytes:
        """Compact JSON (no spaces); optional fields that are unset are left out."""
        return self.model_dump_json(exclude_none=True).encode()


# --- poc1/dev/{device}/presence -------------------------------------------------------


class Presence(Message):
    state: Literal["online", "offline"]
    name: Name | None = None
    ts: Seconds | None = None


# --- poc1/dev/{device}/up/floor (device -> gateway) -------------------------------------


class _UpMessage(Message):
    @model_validator(mode="before")
    @classmethod
    def _ignore_claimed_device(cls, data: Any) -> Any:
        # The device id comes from the authenticated topic; one written in the payload is
        # dropped unread rather than refused, so handsets that add it still work.
        if isinstance(data, dict) and "device" in data:
            data = {k: v for k, v in data.items() if k != "device"}
        return data


class FloorRequest(_UpMessage):
    op: Literal["request"] = "request"
    group: Level
    req: RequestId
    stream: StreamId


class FloorRelease(_UpMessage):
    op: Literal["release"] = "release"
    group: Level
    stream: StreamId


UpFloor = Annotated[FloorRequest | FloorRelease, Field(discriminator="op")]


# --- poc1/dev/{device}/down/floor (gateway -> device) -----------------------------------


class FloorGrant(Message):
    op: Literal["grant"] = "grant"
    group: Level
    req: RequestId
    stream: StreamId


class FloorDeny(Message):
    op: Literal["deny"] = "deny"
    group: Level
    req: RequestId
    reason: DenyReason
    detail: Detail = ""


class FloorRevoke(Message):
    op: Literal["revoke"] = "revoke"
    group: Level
    stream: StreamId
    reason: RevokeReason


DownFloor = Annotated[FloorGrant | FloorDeny | FloorRevoke, Field(discriminator="op")]


# --- poc1/grp/{group}/floor (retained, gateway -> everyone) -----------------------------


class GroupFloorIdle(Message):
    state: Literal["idle"] = "idle"
    ts: Seconds


class GroupFloorTaken(Message):
    state: Literal["taken"] = "taken"
    talker: Level  # device id, or the radio caller's ID in decimal
    talker_kind: Literal["handset", "radio"]
    name: Name | None = None
    stream: StreamId
    origin: Level  # the audio topic's origin level carrying this talk
    since: Seconds
    ts: Seconds


GroupFloor = Annotated[GroupFloorIdle | GroupFloorTaken, Field(discriminator="state")]


# --- parsing ----------------------------------------------------------------------------

_T = TypeVar("_T")

_PRESENCE: TypeAdapter[Presence] = TypeAdapter(Presence)
_UP: TypeAdapter[FloorRequest | FloorRelease] = TypeAdapter(UpFloor)
_DOWN: TypeAdapter[FloorGrant | FloorDeny | FloorRevoke] = TypeAdapter(DownFloor)
_GROUP: TypeAdapter[GroupFloorIdle | GroupFloorTaken] = TypeAdapter(GroupFloor)


def parse_presence(raw: bytes) -> Presence:
    return _parse(_PRESENCE, raw, "presence")


def parse_up_floor(raw: bytes) -> FloorRequest | FloorRelease:
    return _parse(_UP, raw, "floor request/release")


def parse_down_floor(raw: bytes) -> FloorGrant | FloorDeny | FloorRevoke:
    return _parse(_DOWN, raw, "floor grant/deny/revoke")


def parse_group_floor(raw: bytes) -> GroupFloorIdle | GroupFloorTaken:
    return _parse(_GROUP, raw, "group floor state")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse(adapter: TypeAdapter[_T], raw: bytes, what: str) -> _T:
    if len(raw) > MAX_MESSAGE:
        raise PeerError(f"{what}: message too long ({len(raw)} bytes, max {MAX_MESSAGE})")
    try:
        obj = json.loads(bytes(raw).decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PeerError(f"{what}: not valid UTF-8 JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise PeerError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    if "v" not in obj:
        raise PeerError(f"{what}: field 'v' is missing")
    if type(obj["v"]) is not int or obj["v"] != VERSION:
        raise PeerError(f"{what}: field 'v': unsupported version {obj['v']!r} (this is v{VERSION})")
    try:
        return adapter.validate_python(obj)
    except ValidationError as exc:
        raise PeerError(f"{what}: {_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    """One line naming the first bad field, e.g. ``field 'stream': Input should be ... (got 0)``."""
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
        expected = err.get("ctx", {}).get("expected_tags", "")
        if err["type"] == "union_tag_not_found":
            return f"field {tag!r} is missing"
        return f"field {tag!r}: unknown value {err['input'][tag]!r} (expected {expected})"
    # Drop the union tag pydantic puts first for discriminated unions.
    if len(loc) > 1 and loc[0] in _TAGS:
        loc = loc[1:]
    field = ".".join(loc) or "message"
    if err["type"] == "missing":
        return f"field {field!r} is missing"
    if err["type"] == "extra_forbidden":
        return f"field {field!r} is not allowed"
    shown = repr(err["input"])
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"field {field!r}: {err['msg']} (got {shown})"


_TAGS = {"request", "release", "grant", "deny", "revoke", "idle", "taken"}
