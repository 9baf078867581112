"""HRNP frame codec and streaming deframer (Hytera Radio Network Protocol, serial side).

Responsible for turning bytes into ``HrnpFrame`` values and back, and for finding frames
in a noisy byte stream. It knows nothing about HDAP payloads, sessions, time or I/O.

Frame layout (all multi-byte fields big-endian)::

    7E | version | block | opcode | source | destination | packet number u16 |
    length u16 (whole frame) | checksum u16 | payload

The checksum is the one's-complement Internet checksum of the whole frame with the
checksum field zeroed. Every public vector verifies (including the one flagged
"checksum sometimes comes out invalid" upstream); ``decode(strict=False)`` still keeps a
bad checksum so such a frame re-encodes byte for byte.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

from ..errors import PeerError

SYNC = 0x7E
HEADER_LEN = 12
MAX_FRAME_LEN = 2048
HOST_ADDRESS = 0x20
RADIO_ADDRESS = 0x10


class HrnpOpcode(enum.IntEnum):
    DATA = 0x00
    DATA_ACK = 0x10
    CLOSE = 0xFB
    REJECT = 0xFC
    ACCEPT = 0xFD
    CONNECT = 0xFE


def internet_checksum(data: bytes) -> int:
    """One's-complement sum of big-endian 16-bit words, complemented (RFC 1071)."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True)
class HrnpFrame:
    """One HRNP frame. ``checksum`` is kept only when a lenient decode saw a wrong one."""

    opcode: HrnpOpcode
    source: int
    destination: int
    packet_number: int = 0
    payload: bytes = b""
    version: int = 4
    block: int = 0
    checksum: int | None = field(default=None, compare=False)

    def _header(self, checksum: int) -> bytes:
        return bytes(
            (SYNC, self.version, self.block, self.opcode, self.source, self.destination)
        ) + (
            self.packet_number.to_bytes(2, "big")
            + (HEADER_LEN + len(self.payload)).to_bytes(2, "big")
            + checksum.to_bytes(2, "big")
        )

    def computed_checksum(self) -> int:
        return internet_checksum(self._header(0) + self.payload)

    @property
    def checksum_valid(self) -> bool:
        return self.checksum is None or self.checksum == self.computed_checksum()

    def encode(self) -> bytes:
        checksum = self.computed_checksum() if self.checksum is None else self.checksum
        return self._header(checksum) + self.payload

    @classmethod
    def decode_from(cls, data: bytes, *, strict: bool = True) -> tuple[HrnpFrame, bytes]:
        """Decode the frame at the start of ``data``; return it and the bytes after it."""
        if len(data) < HEADER_LEN:
            raise PeerError(f"HRNP frame truncated: {len(data)} bytes < header {HEADER_LEN}")
        if data[0] != SYNC:
            raise PeerError(f"HRNP frame does not start with 7E: {data[0]:02x}")
        try:
            opcode = HrnpOpcode(data[3])
        except ValueError:
            raise PeerError(f"unknown HRNP opcode {data[3]:02x}") from None
        length = int.from_bytes(data[8:10], "big")
        if length < HEADER_LEN or length > MAX_FRAME_LEN:
            raise PeerError(f"HRNP length field {length} out of range")
        if len(data) < length:
            raise PeerError(f"HRNP frame truncated: {len(data)} of {length} bytes")
        received = int.from_bytes(data[10:12], "big")
        frame = cls(
            opcode=opcode,
            source=data[4],
            destination=data[5],
            packet_number=int.from_bytes(data[6:8], "big"),
            payload=bytes(data[HEADER_LEN:length]),
            version=data[1],
            block=data[2],
        )
        if received != frame.computed_checksum():
            if strict:
                raise PeerError(
                    f"HRNP checksum {received:04x} != {frame.computed_checksum():04x}"
                )
            frame = replace(frame, checksum=received)
        return frame, bytes(data[length:])

    @classmethod
    def decode(cls, data: bytes, *, strict: bool = True) -> HrnpFrame:
        """Decode exactly one frame; trailing bytes are an error."""
        frame, rest = cls.decode_from(data, strict=strict)
        if rest:
            raise PeerError(f"{len(rest)} trailing bytes after HRNP frame")
        return frame


class HrnpDeframer:
    """Finds HRNP frames in a byte stream split anywhere; resyncs on 7E after garbage.

    Never raises on input and holds at most ``MAX_FRAME_LEN`` bytes. ``counters`` counts
    ``frames``, ``garbage_bytes``, ``bad_checksum`` and ``bad_header``.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.counters: dict[str, int] = {
            "frames": 0,
            "garbage_bytes": 0,
            "bad_checksum": 0,
            "bad_header": 0,
        }

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (never above MAX_FRAME_LEN)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[HrnpFrame]:
        self._buffer += data
        frames: list[HrnpFrame] = []
        while True:
            self._skip_to_sync()
            if len(self._buffer) < HEADER_LEN:
                break
            length = int.from_bytes(self._buffer[8:10], "big")
            if (
                length < HEADER_LEN
                or length > MAX_FRAME_LEN
                or self._buffer[3] not in HrnpOpcode._value2member_map_
            ):
                self.counters["bad_header"] += 1
                self._drop(1)
                continue
            if len(self._buffer) < length:
                if self._later_frame_complete():
                    # A false 7E announced a long frame, but a real one follows: drop it.
                    self.counters["bad_header"] += 1
                    self._drop(1)
                    continue
                break
            try:
                frame, _ = HrnpFrame.decode_from(bytes(self._buffer[:length]))
            except PeerError:
                self.counters["bad_checksum"] += 1
                self._drop(1)
                continue
            del self._buffer[:length]
            self.counters["frames"] += 1
            frames.append(frame)
        return frames

    def _skip_to_sync(self) -> None:
        index = self._buffer.find(SYNC)
        self._drop(len(self._buffer) if index < 0 else index)

    def _drop(self, count: int) -> None:
        if count:
            self.counters["garbage_bytes"] += count
            del self._buffer[:count]

    def _later_frame_complete(self) -> bool:
        start = self._buffer.find(SYNC, 1)
        while start >= 0:
            try:
                HrnpFrame.decode_from(bytes(self._buffer[start:]))
                return True
            except PeerError:
                start = self._buffer.find(SYNC, start + 1)
        return False
