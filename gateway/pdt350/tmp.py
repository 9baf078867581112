"""Typed TMP (text message protocol) messages carried in HDAP PDUs with header 09.

Responsible for text messages and their acknowledgements. Layout, from the public
vectors (all fields big-endian, text UTF-16LE without terminator)::

    opcode = flags << 8 | service   (service A1/A2 private text/ack, B1/B2 group text/ack;
                                     flag 0x40 = an option field follows, 0x80 kept as seen)
    [option length u16 if flag 0x40] request id u32 | destination u32 | source u32 |
    text (messages) or result u8 (acks) | [option bytes]

Radios are addressed as IPv4 ``10.x.y.z`` = ID ``x<<16|y<<8|z``; a group destination is
the plain group ID. Knows nothing about HRNP, sessions, time or I/O.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from ..errors import PeerError
from .hdap import HdapPdu, HdapProtocol

OPTION_FLAG = 0x40
_ADDRESSES = struct.Struct(">III")


class TmpService(enum.IntEnum):
    PRIVATE_MESSAGE = 0xA1
    PRIVATE_ACK = 0xA2
    GROUP_MESSAGE = 0xB1
    GROUP_ACK = 0xB2


def radio_address(radio_id: int) -> int:
    """The 10.x.y.z address (as u32) of a radio ID."""
    return 0x0A000000 | (radio_id & 0xFFFFFF)


def address_id(address: int) -> int:
    """Radio or group ID of a TMP address (low 24 bits)."""
    return address & 0xFFFFFF


@dataclass(frozen=True)
class TmpText:
    service: TmpService
    request_id: int
    destination: int
    source: int
    text: str
    flags: int = 0x80
    option: bytes = b""

    @property
    def group(self) -> bool:
        return self.service is TmpService.GROUP_MESSAGE

    def ack(self, result: int = 0) -> TmpAck:
        service = TmpService.GROUP_ACK if self.group else TmpService.PRIVATE_ACK
        flags = self.flags & ~OPTION_FLAG
        return TmpAck(service, self.request_id, self.source, self.destination, result, flags)


@dataclass(frozen=True)
class TmpAck:
    service: TmpService
    request_id: int
    destination: int
    source: int
    result: int = 0
    flags: int = 0x80
    option: bytes = b""


@dataclass(frozen=True)
class UnknownTmp:
    opcode: int
    payload: bytes


Tmp = TmpText | TmpAck | UnknownTmp


def encode_tmp(message: Tmp, reliable: bool = False) -> HdapPdu:
    """Wrap ``message`` in an HDAP PDU (call ``.encode()`` for the bytes)."""
    if isinstance(message, UnknownTmp):
        return HdapPdu(HdapProtocol.TMP, message.opcode, message.payload, reliable)
    flags = message.flags | (OPTION_FLAG if message.option else 0)
    body = _ADDRESSES.pack(message.request_id, message.destination, message.source)
    if isinstance(message, TmpText):
        body += message.text.encode("utf-16-le")
    else:
        body += bytes((message.result,))
    if flags & OPTION_FLAG:
        body = len(message.option).to_bytes(2, "big") + body + message.option
    return HdapPdu(HdapProtocol.TMP, flags << 8 | message.service, body, reliable)


def decode_tmp(pdu: HdapPdu) -> Tmp:
    """Typed message for a TMP PDU; ``UnknownTmp`` for services not modelled here."""
    if pdu.protocol is not HdapProtocol.TMP:
        raise PeerError(f"not a TMP PDU: {pdu.protocol.name}")
    flags, service_byte = pdu.opcode >> 8, pdu.opcode & 0xFF
    if service_byte not in TmpService._value2member_map_:
        return UnknownTmp(pdu.opcode, pdu.payload)
    service = TmpService(service_byte)
    body, option = pdu.payload, b""
    if flags & OPTION_FLAG:
        if len(body) < 2:
            raise PeerError("TMP option length missing")
        option_len = int.from_bytes(body[:2], "big")
        if option_len > len(body) - 2:
            raise PeerError(f"TMP option length {option_len} exceeds payload")
        body, option = body[2 : len(body) - option_len], body[len(body) - option_len :]
    if len(body) < _ADDRESSES.size:
        raise PeerError(f"TMP payload too short: {pdu.payload.hex()}")
    request_id, destination, source = _ADDRESSES.unpack_from(body)
    rest = body[_ADDRESSES.size :]
    stored_flags = flags
    if service in (TmpService.PRIVATE_MESSAGE, TmpService.GROUP_MESSAGE):
        if len(rest) % 2:
            raise PeerError("TMP text is not whole UTF-16LE code units")
        try:
            text = rest.decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise PeerError(f"TMP text is not UTF-16LE: {exc}") from None
        return TmpText(service, request_id, destination, source, text, stored_flags, option)
    if len(rest) != 1:
        raise PeerError(f"TMP ack result must be one byte: {rest.hex()}")
    return TmpAck(service, request_id, destination, source, rest[0], stored_flags, option)
