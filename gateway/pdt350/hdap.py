"""HDAP PDU codec (Hytera Data Application Protocol, carried in HRNP DATA frames).

Responsible for the HDAP envelope only: protocol header byte, opcode, length, payload,
checksum and the trailing ``03``. It does not interpret payloads (see ``rcp`` and ``tmp``)
and knows nothing about HRNP, sessions, time or I/O.

Layout::

    header | opcode u16 | length u16 (payload bytes) | payload | checksum | 03

The header's low 7 bits name the protocol (02 RCP, 08 LP, 09 TMP, 11 RRS, 12 TP,
13 DTP); bit 7 marks a reliable PDU. The checksum is
``((((sum of opcode, length and payload bytes) & 0xFF) ^ 0xFF) + 0x33) & 0xFF``.

Byte order rule, determined from every public vector: **RCP (02/82) puts opcode and
length little-endian** (``02 4108 0500 …`` is opcode 0x0841, 5 payload bytes), **all the
other protocols put them big-endian** (TMP ``09 80a1 0022`` carries 0x22 payload bytes,
LP ``08 a002 0032`` 0x32, RRS ``11 0082 0005`` 5). Payload field order is the job of
each protocol module (RCP fields are little-endian, TMP/RRS/LP fields big-endian).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Literal

from ..errors import PeerError

END = 0x03
RELIABLE = 0x80
OVERHEAD = 7  # header, opcode, length, checksum, end


class HdapProtocol(enum.IntEnum):
    RCP = 0x02
    LP = 0x08
    TMP = 0x09
    RRS = 0x11
    TP = 0x12
    DTP = 0x13


def byte_order(protocol: HdapProtocol) -> Literal["little", "big"]:
    """Byte order of the opcode and length fields (see the module docstring)."""
    return "little" if protocol is HdapProtocol.RCP else "big"


def hdap_checksum(summed: bytes) -> int:
    """Checksum over the opcode, length and payload bytes."""
    return (((sum(summed) & 0xFF) ^ 0xFF) + 0x33) & 0xFF


@dataclass(frozen=True)
class HdapPdu:
    """One HDAP PDU. ``checksum`` is kept only when a lenient decode saw a wrong one."""

    protocol: HdapProtocol
    opcode: int
    payload: bytes = b""
    reliable: bool = False
    checksum: int | None = field(default=None, compare=False)

    def _body(self) -> bytes:
        order = byte_order(self.protocol)
        return (
            self.opcode.to_bytes(2, order) + len(self.payload).to_bytes(2, order) + self.payload
        )

    def computed_checksum(self) -> int:
        return hdap_checksum(self._body())

    @property
    def checksum_valid(self) -> bool:
        return self.checksum is None or self.checksum == self.computed_checksum()

    def encode(self) -> bytes:
        if not 0 <= self.opcode <= 0xFFFF or len(self.payload) > 0xFFFF:
            raise ValueError("HDAP opcode or payload out of range")
        header = int(self.protocol) | (RELIABLE if self.reliable else 0)
        checksum = self.computed_checksum() if self.checksum is None else self.checksum
        return bytes((header,)) + self._body() + bytes((checksum, END))

    @classmethod
    def decode_from(cls, data: bytes, *, strict: bool = True) -> tuple[HdapPdu, bytes]:
        """Decode the PDU at the start of ``data``; return it and the bytes after it."""
        if len(data) < OVERHEAD:
            raise PeerError(f"HDAP PDU truncated: {len(data)} bytes")
        try:
            protocol = HdapProtocol(data[0] & ~RELIABLE)
        except ValueError:
            raise PeerError(f"unknown HDAP protocol header {data[0]:02x}") from None
        order = byte_order(protocol)
        length = int.from_bytes(data[3:5], order)
        end = 5 + length
        if len(data) < end + 2:
            raise PeerError(f"HDAP PDU truncated: {len(data)} of {end + 2} bytes")
        if data[end + 1] != END:
            raise PeerError(f"HDAP PDU does not end with 03: {data[end + 1]:02x}")
        pdu = cls(
            protocol=protocol,
            opcode=int.from_bytes(data[1:3], order),
            payload=bytes(data[5:end]),
            reliable=bool(data[0] & RELIABLE),
        )
        if data[end] != pdu.computed_checksum():
            if strict:
                raise PeerError(
                    f"HDAP checksum {data[end]:02x} != {pdu.computed_checksum():02x}"
                )
            pdu = replace(pdu, checksum=data[end])
        return pdu, bytes(data[end + 2 :])

    @classmethod
    def decode(cls, data: bytes, *, strict: bool = True) -> HdapPdu:
        """Decode exactly one PDU; trailing bytes are an error."""
        pdu, rest = cls.decode_from(data, strict=strict)
        if rest:
            raise PeerError(f"{len(rest)} trailing bytes after HDAP PDU")
        return pdu
