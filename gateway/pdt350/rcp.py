"""Typed RCP (radio control protocol) messages carried in HDAP PDUs with header 02.

Responsible for payload layouts of the RCP messages the gateway uses; every payload field
is little-endian. An opcode we do not model decodes to ``UnknownRcp`` instead of raising.
Replies carry opcode ``request | 0x8000``; unsolicited broadcasts use 0xBxxx.
Knows nothing about HRNP, sessions, time or I/O.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Protocol

from ..errors import PeerError
from .hdap import HdapPdu, HdapProtocol

PTT_KEY = 0x2B
RESULT_SUCCESS = 0
# Broadcast status configuration payload that turns on receive + transmit status reports.
REPORTS_ON = bytes.fromhex("0200010101")


class CallType(enum.IntEnum):
    PRIVATE = 0
    GROUP = 1
    ALL = 2
    EMERGENCY_GROUP = 3
    REMOTE_MONITOR = 4
    EMERGENCY_ALARM = 5


class CallStatus(enum.IntEnum):
    STARTED = 1
    HANG = 2
    ENDED = 3


class RcpMessage(Protocol):
    OPCODE: ClassVar[int]

    def encode_payload(self) -> bytes: ...


def _unpack(fmt: str, payload: bytes, name: str) -> tuple[int, ...]:
    try:
        return struct.unpack(fmt, payload)
    except struct.error:
        raise PeerError(f"RCP {name}: payload {payload.hex()} does not match {fmt}") from None


@dataclass(frozen=True)
class CallRequest:
    call_type: int
    target: int
    OPCODE: ClassVar[int] = 0x0841

    def encode_payload(self) -> bytes:
        return struct.pack("<BI", self.call_type, self.target)

    @classmethod
    def from_payload(cls, payload: bytes) -> CallRequest:
        return cls(*_unpack("<BI", payload, cls.__name__))


@dataclass(frozen=True)
class _ResultReply:
    result: int = RESULT_SUCCESS

    @property
    def success(self) -> bool:
        return self.result == RESULT_SUCCESS

    def encode_payload(self) -> bytes:
        return bytes((self.result,))

    @classmethod
    def from_payload(cls, payload: bytes) -> _ResultReply:
        return cls(*_unpack("<B", payload, cls.__name__))


@dataclass(frozen=True)
class CallReply(_ResultReply):
    OPCODE: ClassVar[int] = 0x8841


@dataclass(frozen=True)
class ButtonRequest:
    """Key operation; ``key`` 0x2B is PTT, ``pressed`` False releases it."""

    pressed: bool
    key: int = PTT_KEY
    OPCODE: ClassVar[int] = 0x0041

    def encode_payload(self) -> bytes:
        return bytes((self.key, 1 if self.pressed else 0))

    @classmethod
    def from_payload(cls, payload: bytes) -> ButtonRequest:
        key, state = _unpack("<BB", payload, cls.__name__)
        return cls(pressed=state == 1, key=key)


@dataclass(frozen=True)
class ButtonReply(_ResultReply):
    OPCODE: ClassVar[int] = 0x8041


@dataclass(frozen=True)
class BroadcastStatusConfig:
    """Which broadcast reports the radio sends; ``REPORTS_ON`` enables rx + tx status.

    The individual bytes' meaning is not public, so the payload is kept whole.
    """

    settings: bytes = REPORTS_ON
    OPCODE: ClassVar[int] = 0x10C9

    def encode_payload(self) -> bytes:
        return self.settings

    @classmethod
    def from_payload(cls, payload: bytes) -> BroadcastStatusConfig:
        return cls(payload)


@dataclass(frozen=True)
class BroadcastStatusConfigReply(_ResultReply):
    OPCODE: ClassVar[int] = 0x80C9


@dataclass(frozen=True)
class _CallStatusReport:
    status: int
    call_type: int
    target: int
    source: int

    def encode_payload(self) -> bytes:
        return struct.pack("<HHII", self.status, self.call_type, self.target, self.source)

    @classmethod
    def from_payload(cls, payload: bytes) -> _CallStatusReport:
        return cls(*_unpack("<HHII", payload, cls.__name__))


@dataclass(frozen=True)
class BroadcastReceiveStatus(_CallStatusReport):
    """A call the radio hears over the air: status 1 started, 2 hang, 3 ended."""

    OPCODE: ClassVar[int] = 0xB844


@dataclass(frozen=True)
class BroadcastTransmitStatus(_CallStatusReport):
    """The radio's own transmission, same layout and status values as receive status."""

    OPCODE: ClassVar[int] = 0xB843


@dataclass(frozen=True)
class RadioIdRequest:
    """Radio ID query. ASSUMED layout: one byte, 0 = ask for the ID, 1 = ask for the IP."""

    kind: int = 0
    OPCODE: ClassVar[int] = 0x0452

    def encode_payload(self) -> bytes:
        return bytes((self.kind,))

    @classmethod
    def from_payload(cls, payload: bytes) -> RadioIdRequest:
        return cls(*_unpack("<B", payload, cls.__name__))


@dataclass(frozen=True)
class RadioIdReply:
    """Radio ID answer: result u8, kind u8, value (4 bytes).

    Layout inferred from two captured replies (ok-dmrlib): kind 0 carries the ID as u32 LE
    (``00 00 e9030000`` = 1001), kind 1 the radio IP ``10.a.b.c`` (``00 01 0a0003e9``).
    """

    result: int
    kind: int
    value: bytes
    OPCODE: ClassVar[int] = 0x8452

    @property
    def radio_id(self) -> int:
        if self.kind == 0:
            return int.from_bytes(self.value, "little")
        return int.from_bytes(self.value[1:], "big")

    @classmethod
    def for_id(cls, radio_id: int, kind: int = 0) -> RadioIdReply:
        if kind == 0:
            return cls(RESULT_SUCCESS, 0, radio_id.to_bytes(4, "little"))
        return cls(RESULT_SUCCESS, kind, bytes((10,)) + radio_id.to_bytes(3, "big"))

    def encode_payload(self) -> bytes:
        return bytes((self.result, self.kind)) + self.value

    @classmethod
    def from_payload(cls, payload: bytes) -> RadioIdReply:
        if len(payload) != 6:
            raise PeerError(f"RCP RadioIdReply: payload {payload.hex()} is not 6 bytes")
        return cls(payload[0], payload[1], bytes(payload[2:]))


@dataclass(frozen=True)
class UnknownRcp:
    """An RCP opcode this module does not model, kept whole."""

    opcode: int
    payload: bytes

    def encode_payload(self) -> bytes:
        return self.payload


RcpPayloadMessage = (
    CallRequest
    | CallReply
    | ButtonRequest
    | ButtonReply
    | BroadcastStatusConfig
    | BroadcastStatusConfigReply
    | BroadcastReceiveStatus
    | BroadcastTransmitStatus
    | RadioIdRequest
    | RadioIdReply
)
Rcp = RcpPayloadMessage | UnknownRcp

_BY_OPCODE: dict[int, type[RcpPayloadMessage]] = {
    cls.OPCODE: cls
    for cls in (
        CallRequest,
        CallReply,
        ButtonRequest,
        ButtonReply,
        BroadcastStatusConfig,
        BroadcastStatusConfigReply,
        BroadcastReceiveStatus,
        BroadcastTransmitStatus,
        RadioIdRequest,
        RadioIdReply,
    )
}


def rcp_opcode(message: Rcp) -> int:
    return message.opcode if isinstance(message, UnknownRcp) else message.OPCODE


def encode_rcp(message: Rcp, reliable: bool = False) -> HdapPdu:
    """Wrap ``message`` in an HDAP PDU (call ``.encode()`` for the bytes)."""
    return HdapPdu(HdapProtocol.RCP, rcp_opcode(message), message.encode_payload(), reliable)


def decode_rcp(pdu: HdapPdu) -> Rcp:
    """Typed message for an RCP PDU; ``UnknownRcp`` for opcodes not modelled here."""
    if pdu.protocol is not HdapProtocol.RCP:
        raise PeerError(f"not an RCP PDU: {pdu.protocol.name}")
    cls = _BY_OPCODE.get(pdu.opcode)
    if cls is None:
        return UnknownRcp(pdu.opcode, pdu.payload)
    return cls.from_payload(pdu.payload)  # type: ignore[return-value]
