import json
import random
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gateway.errors import PeerError
from gateway.floor import DenyReason
from gateway.poc import messages
from gateway.poc.messages import (
    DENY_REASONS,
    FloorDeny,
    FloorGrant,
    FloorRelease,
    FloorRequest,
    FloorRevoke,
    GroupFloorIdle,
    GroupFloorTaken,
    Presence,
    parse_down_floor,
    parse_group_floor,
    parse_presence,
    parse_up_floor,
)

Parser = Callable[[bytes], BaseModel]

# One table of (parser, message, bytes) drives both to_bytes() and parse_*().
CASES: list[tuple[Parser, BaseModel, bytes]] = [
    (parse_presence, Presence(state="online", name="Gate 3 guard", ts=1718000000.25),
     b'{"v":1,"state":"online","name":"Gate 3 guard","ts":1718000000.25}'),
    (parse_presence, Presence(state="offline"), b'{"v":1,"state":"offline"}'),
    (parse_up_floor, FloorRequest(group="tg-301", req="r-17", stream=305419896),
     b'{"v":1,"op":"request","group":"tg-301","req":"r-17","stream":305419896}'),
    (parse_up_floor, FloorRelease(group="tg-301", stream=4294967295),
     b'{"v":1,"op":"release","group":"tg-301","stream":4294967295}'),
    (parse_down_floor, FloorGrant(group="tg-301", req="r-17", stream=305419896),
     b'{"v":1,"op":"grant","group":"tg-301","req":"r-17","stream":305419896}'),
    (parse_down_floor, FloorDeny(group="tg-301", req="r-17", reason="radio_busy", detail="radio 2041234 is talking"),
     b'{"v":1,"op":"deny","group":"tg-301","req":"r-17","reason":"radio_busy","detail":"radio 2041234 is talking"}'),
    (parse_down_floor, FloorRevoke(group="tg-301", stream=9, reason="idle_timeout"),
     b'{"v":1,"op":"revoke","group":"tg-301","stream":9,"reason":"idle_timeout"}'),
    (parse_group_floor, GroupFloorIdle(ts=1718000001.5), b'{"v":1,"state":"idle","ts":1718000001.5}'),
    (parse_group_floor,
     GroupFloorTaken(talker="post-0815", talker_kind="handset", name="Gate 3 guard", stream=7,
                     origin="post-0815", since=1718000000.0, ts=1718000000.0),
     b'{"v":1,"state":"taken","talker":"post-0815","talker_kind":"handset","name":"Gate 3 guard",'
     b'"stream":7,"origin":"post-0815","since":1718000000.0,"ts":1718000000.0}'),
    (parse_group_floor,
     GroupFloorTaken(talker="2041234", talker_kind="radio", stream=99, origin="gw-city",
                     since=1718000000.0, ts=1718000000.0),
     b'{"v":1,"state":"taken","talker":"2041234","talker_kind":"radio","stream":99,"origin":"gw-city",'
     b'"since":1718000000.0,"ts":1718000000.0}'),
]


@pytest.mark.parametrize(("parse", "message", "wire"), CASES)
def test_to_bytes(parse: Parser, message: Any, wire: bytes) -> None:
    assert message.to_bytes() == wire


@pytest.mark.parametrize(("parse", "message", "wire"), CASES)
def test_parse(parse: Parser, message: BaseModel, wire: bytes) -> None:
    assert parse(wire) == message
    # whitespace and key order do not matter
    assert parse(json.dumps(dict(reversed(json.loads(wire).items())), indent=2).encode()) == message


@pytest.mark.parametrize(("parse", "message", "wire"), CASES)
def test_trailing_bytes_are_refused(parse: Parser, message: BaseModel, wire: bytes) -> None:
    with pytest.raises(PeerError, match="JSON"):
        parse(wire + b"}")


def test_messages_are_frozen() -> None:
    msg = FloorRequest(group="g", req="r", stream=1)
    with pytest.raises(ValidationError):
        msg.stream = 2


def test_device_id_in_payload_is_ignored() -> None:
    msg = parse_up_floor(b'{"v":1,"op":"request","group":"g","req":"r","stream":3,"device":"someone-else"}')
    assert msg == FloorRequest(group="g", req="r", stream=3)
    assert b"someone-else" not in msg.to_bytes()


REQ = {"v": 1, "op": "request", "group": "tg-301", "req": "r-1", "stream": 5}


def _with(**changes: Any) -> bytes:
    obj = {**REQ, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not _DROP}).encode()


_DROP = object()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "not valid UTF-8 JSON"),
        (b"{", "not valid UTF-8 JSON"),
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1]", "expected a JSON object"),
        (b"null", "expected a JSON object"),
        (_with(v=_DROP), "field 'v' is missing"),
        (_with(v=2), "field 'v': unsupported version 2"),
        (_with(v="1"), "field 'v': unsupported version '1'"),
        (_with(v=True), "field 'v': unsupported version True"),
        (_with(v=1.0), "field 'v': unsupported version 1.0"),
        (_with(op=_DROP), "field 'op' is missing"),
        (_with(op="grab"), "field 'op': unknown value 'grab'"),
        (_with(op="grant"), "field 'op': unknown value 'grant'"),
        (_with(group=_DROP), "field 'group' is missing"),
        (_with(group="tg.301"), "field 'group'"),
        (_with(group="tg 301"), "field 'group'"),
        (_with(group=""), "field 'group'"),
        (_with(group="g" * 65), "field 'group'"),
        (_with(group=301), "field 'group'"),
        (_with(req=""), "field 'req'"),
        (_with(req="r" * 65), "field 'req'"),
        (_with(stream=0), "field 'stream'"),
        (_with(stream=-1), "field 'stream'"),
        (_with(stream=1 << 32), "field 'stream'"),
        (_with(stream="5"), "field 'stream'"),
        (_with(stream=5.0), "field 'stream'"),
        (_with(stream=True), "field 'stream'"),
        (_with(stream=None), "field 'stream'"),
        (_with(extra="x"), "field 'extra' is not allowed"),
        (b'{"v":1,"op":"request","group":"g","req":"r","stream":NaN}', "not valid UTF-8 JSON"),
        (b" " * 5000, "too long"),
    ],
)
def test_malformed_up_floor_names_the_field(raw: bytes, message: str) -> None:
    with pytest.raises(PeerError, match=message):
        parse_up_floor(raw)


@pytest.mark.parametrize(
    ("parse", "raw", "message"),
    [
        (parse_presence, b'{"v":1,"state":"away"}', "field 'state'"),
        (parse_presence, b'{"v":1,"state":"online","name":""}', "field 'name'"),
        (parse_presence, b'{"v":1,"state":"online","ts":-1}', "field 'ts'"),
        (parse_presence, b'{"v":1,"state":"online","ts":1e999}', "field 'ts'"),
        (parse_presence, b'{"v":1,"state":"online","ts":"now"}', "field 'ts'"),
        (parse_down_floor, b'{"v":1,"op":"deny","group":"g","req":"r","reason":"nope"}', "field 'reason'"),
        (parse_down_floor, b'{"v":1,"op":"revoke","group":"g","stream":1,"reason":"bored"}', "field 'reason'"),
        (parse_down_floor, b'{"v":1,"op":"deny","group":"g","req":"r","reason":"radio_busy","detail":7}',
         "field 'detail'"),
        (parse_group_floor, b'{"v":1,"state":"taken","ts":1}', "field 'talker' is missing"),
        (parse_group_floor, b'{"v":1,"state":"busy","ts":1}', "field 'state': unknown value 'busy'"),
        (parse_group_floor,
         b'{"v":1,"state":"taken","talker":"a","talker_kind":"robot","stream":1,"origin":"a","since":1,"ts":1}',
         "field 'talker_kind'"),
    ],
)
def test_malformed_messages_name_the_field(parse: Parser, raw: bytes, message: str) -> None:
    with pytest.raises(PeerError, match=message):
        parse(raw)


def test_deny_reasons_match_floor_control() -> None:
    assert set(DENY_REASONS) == {r.value for r in DenyReason}


PARSERS = [parse_presence, parse_up_floor, parse_down_floor, parse_group_floor]


def test_random_input_raises_only_peer_error() -> None:
    rng = random.Random(7)
    values: list[Any] = [None, True, 0, 1, -1, 2**40, 1.5, "", "x", "request", "grant", "idle", "taken",
                         "online", "radio", [], {}, [1, {"v": 1}], {"v": 1}, "g" * 70]
    keys = ["v", "op", "state", "group", "req", "stream", "reason", "detail", "talker", "talker_kind",
            "origin", "since", "ts", "name", "device", "zz"]
    for _ in range(3000):
        if rng.random() < 0.3:
            raw = bytes(rng.getrandbits(8) for _ in range(rng.randrange(40)))
        else:
            obj = {k: rng.choice(values) for k in rng.sample(keys, rng.randrange(len(keys)))}
            if rng.random() < 0.8:
                obj["v"] = 1
            raw = json.dumps(obj).encode()
            if rng.random() < 0.1:
                cut = rng.randrange(len(raw) + 1)
                raw = raw[:cut]
        for parse in PARSERS:
            try:
                parse(raw)
            except PeerError:
                pass


def test_module_is_sans_io() -> None:
    import ast
    from pathlib import Path

    tree = ast.parse(Path(messages.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m.split(".")[0] for m in mods if m} & {"asyncio", "socket", "time", "paho", "aiomqtt"}
