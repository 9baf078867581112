"""PoC v1 binary audio frames and per-origin sequence tracking.

Responsible for: the 12-byte frame header (see docs/poc-protocol.md, "Audio frames"),
encoding and strict decoding, and ``StreamReceiver``, which tells the caller which
received frames to play and how many were lost.

Must not know: MQTT, topics, Opus itself, clocks or sockets. A payload is opaque bytes.
"""

from __future__ import annotations

import enum
import struct
from collections import deque
from dataclasses import dataclass

from gateway.errors import OurError, PeerError

VERSION = 1
FLAG_START = 0x01
FLAG_END = 0x02
KNOWN_FLAGS = FLAG_START | FLAG_END

HEADER = struct.Struct(">BBIHI")  # version, flags, stream id, sequence, timestamp
HEADER_SIZE = HEADER.size  # 12
MAX_PAYLOAD = 1275  # the largest Opus packet (RFC 6716 section 3.4)
MAX_FRAME = HEADER_SIZE + MAX_PAYLOAD

# Opus parameters of protocol v1 (documented in docs/poc-protocol.md).
OPUS_SAMPLE_RATE = 16_000
OPUS_CHANNELS = 1
OPUS_BITRATE = 24_000
FRAME_MS = 20
TIMESTAMP_RATE = 48_000  # RTP clock for Opus (RFC 7587), whatever the codec rate
TIMESTAMP_STEP = TIMESTAMP_RATE * FRAME_MS // 1000  # 960 per 20 ms frame

_U16 = 0xFFFF
_U32 = 0xFFFF_FFFF


@dataclass(frozen=True)
class AudioFrame:
    """One 20 ms Opus packet of one talk ("stream").

    ``stream_id``: nonzero u32 chosen by the talker, new for every talk.
    ``seq``: u16, 0 on the START frame, +1 per frame, wraps at 65536.
    ``timestamp``: u32 in 48 kHz units, +960 per 20 ms frame, any start value, wraps.
    ``payload``: one Opus packet; may be empty only on an END frame.
    ``start``/``end``: first/last frame of the stream (both set for a one-frame talk).
    """

    stream_id: int
    seq: int
    timestamp: int
    payload: bytes
    start: bool = False
    end: bool = False

    def __post_init__(self) -> None:
        problem = _field_problem(
            self.stream_id, self.seq, self.timestamp, self.payload, self.start, self.end
        )
        if problem:
            raise OurError(f"invalid AudioFrame: {problem}")

    @property
    def flags(self) -> int:
        return (FLAG_START if self.start else 0) | (FLAG_END if self.end else 0)

    def encode(self) -> bytes:
        header = HEADER.pack(VERSION, self.flags, self.stream_id, self.seq, self.timestamp)
        return header + self.payload

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> AudioFrame:
        """Parse one whole frame (one MQTT message); raise ``PeerError`` on anything malformed."""
        data = bytes(data)
        if len(data) < HEADER_SIZE:
            raise PeerError(f"audio frame too short: {len(data)} bytes, the header alone is {HEADER_SIZE}")
        if len(data) > MAX_FRAME:
            raise PeerError(
                f"audio frame too long: {len(data)} bytes, at most {MAX_FRAME} "
                f"({HEADER_SIZE} header + {MAX_PAYLOAD} Opus payload)"
            )
        version, flags, stream_id, seq, timestamp = HEADER.unpack_from(data)
        if version != VERSION:
            raise PeerError(f"audio frame version {version} is not supported (expected {VERSION})")
        if flags & ~KNOWN_FLAGS:
            raise PeerError(
                f"audio frame flags 0x{flags:02x} set reserved bits 0x{flags & ~KNOWN_FLAGS:02x} "
                "(only START 0x01 and END 0x02 exist in v1)"
            )
        payload = data[HEADER_SIZE:]
        start, end = bool(flags & FLAG_START), bool(flags & FLAG_END)
        problem = _field_problem(stream_id, seq, timestamp, payload, start, end)
        if problem:
            raise PeerError(f"audio frame: {problem}")
        return cls(stream_id, seq, timestamp, payload, start, end)


def _field_problem(
    stream_id: int, seq: int, timestamp: int, payload: bytes, start: bool, end: bool
) -> str | None:
    if not 0 < stream_id <= _U32:
        return f"stream id {stream_id} out of range (must be 1..{_U32})"
    if not 0 <= seq <= _U16:
        return f"sequence {seq} out of range 0..{_U16}"
    if start and seq != 0:
        return f"START frame has sequence {seq}, must be 0"
    if not 0 <= timestamp <= _U32:
        return f"timestamp {timestamp} out of range 0..{_U32}"
    if not isinstance(payload, bytes):
        return f"payload must be bytes, not {type(payload).__name__}"
    if len(payload) > MAX_PAYLOAD:
        return f"payload of {len(payload)} bytes exceeds the Opus maximum {MAX_PAYLOAD}"
    if not payload and not end:
        return "empty payload is allowed only on an END frame"
    return None


class Drop(enum.Enum):
    """Why ``StreamReceiver`` refused a frame."""

    DUPLICATE = "duplicate"  # same sequence number as the newest frame already taken
    REORDERED = "reordered"  # older than the newest frame already taken: too late to play
    ENDED_STREAM = "ended_stream"  # belongs to a stream that ended or was superseded (S-08)


@dataclass(frozen=True)
class Reception:
    """What to do with one received frame.

    ``accepted``: play it. ``lost``: frames missing just before it (sequence gap).
    ``new_stream``: it is the first frame seen of a new stream. ``drop``: why it was refused.
    """

    accepted: bool
    lost: int = 0
    new_stream: bool = False
    drop: Drop | None = None


class StreamReceiver:
    """Sequence tracking for the frames of ONE origin (one device, or one gateway).

    Keep one per origin topic level. The current stream's frames are accepted in
    sequence order (gaps are counted as lost, handling u16 wrap); duplicates and
    frames older than the newest one are dropped. A stream ends with its END frame
    or when a new stream id appears; its id is then remembered (the last
    ``remember`` of them) so a stray late frame of it is dropped instead of
    starting a "new" talk.
    """

    def __init__(self, remember: int = 16) -> None:
        self._stream: int | None = None
        self._last_seq = 0
        self._ended: deque[int] = deque(maxlen=remember)
        self.counters: dict[str, int] = {
            "accepted": 0,
            "lost": 0,
            "duplicates": 0,
            "reordered": 0,
            "ended_stream": 0,
            "streams": 0,
        }

    @property
    def stream(self) -> int | None:
        """The stream id being received, or None between streams."""
        return self._stream

    def ended(self, stream_id: int) -> bool:
        return stream_id in self._ended

    def receive(self, frame: AudioFrame) -> Reception:
        if frame.stream_id in self._ended:
            return self._drop(Drop.ENDED_STREAM)
        if frame.stream_id != self._stream:
            if self._stream is not None:
                self._ended.append(self._stream)  # superseded without an END frame
            self._stream = frame.stream_id
            self._last_seq = frame.seq
            self.counters["streams"] += 1
            # Frames before a first-seen non-START frame are not counted: that may be a late join.
            return self._accept(frame, 0, new_stream=True)
        ahead = (frame.seq - self._last_seq) & _U16
        if ahead == 0:
            return self._drop(Drop.DUPLICATE)
        if ahead >= 0x8000:
            return self._drop(Drop.REORDERED)
        self._last_seq = frame.seq
        return self._accept(frame, ahead - 1, new_stream=False)

    def _accept(self, frame: AudioFrame, lost: int, new_stream: bool) -> Reception:
        if frame.end:
            self._ended.append(frame.stream_id)
            self._stream = None
        self.counters["accepted"] += 1
        self.counters["lost"] += lost
        return Reception(accepted=True, lost=lost, new_stream=new_stream)

    def _drop(self, why: Drop) -> Reception:
        key = {Drop.DUPLICATE: "duplicates", Drop.REORDERED: "reordered", Drop.ENDED_STREAM: "ended_stream"}[why]
        self.counters[key] += 1
        return Reception(accepted=False, drop=why)
