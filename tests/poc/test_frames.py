import ast
import random
from pathlib import Path

import pytest

import gateway.poc.frames as frames_module
from gateway.errors import OurError, PeerError
from gateway.poc.frames import (
    HEADER_SIZE,
    MAX_FRAME,
    MAX_PAYLOAD,
    TIMESTAMP_STEP,
    AudioFrame,
    Drop,
    Reception,
    StreamReceiver,
)

# One table drives both the encoder and the decoder tests.
CASES: list[tuple[AudioFrame, bytes]] = [
    (
        AudioFrame(stream_id=0x0A0B0C0D, seq=0, timestamp=0x11223344, payload=b"\x78\x01\x02", start=True),
        bytes.fromhex("01 01 0a0b0c0d 0000 11223344 780102"),
    ),
    (
        AudioFrame(stream_id=1, seq=1, timestamp=960, payload=b"\xfc"),
        bytes.fromhex("01 00 00000001 0001 000003c0 fc"),
    ),
    (
        AudioFrame(stream_id=0xFFFFFFFF, seq=0xFFFF, timestamp=0xFFFFFFFF, payload=b"", end=True),
        bytes.fromhex("01 02 ffffffff ffff ffffffff"),
    ),
    (
        AudioFrame(stream_id=7, seq=0, timestamp=5, payload=b"\x01", start=True, end=True),
        bytes.fromhex("01 03 00000007 0000 00000005 01"),
    ),
    (
        AudioFrame(stream_id=7, seq=3, timestamp=5, payload=b"\xaa" * MAX_PAYLOAD),
        bytes.fromhex("01 00 00000007 0003 00000005") + b"\xaa" * MAX_PAYLOAD,
    ),
]


@pytest.mark.parametrize(("frame", "wire"), CASES)
def test_encode(frame: AudioFrame, wire: bytes) -> None:
    assert frame.encode() == wire


@pytest.mark.parametrize(("frame", "wire"), CASES)
def test_decode(frame: AudioFrame, wire: bytes) -> None:
    assert AudioFrame.decode(wire) == frame
    assert AudioFrame.decode(bytearray(wire)) == frame
    assert AudioFrame.decode(memoryview(wire)) == frame


@pytest.mark.parametrize(("frame", "wire"), CASES)
def test_decode_truncated_never_crashes(frame: AudioFrame, wire: bytes) -> None:
    # One MQTT message is one frame: every shorter prefix is a short frame or a shorter payload.
    for n in range(len(wire)):
        try:
            AudioFrame.decode(wire[:n])
        except PeerError:
            pass


def test_header_is_twelve_bytes() -> None:
    assert HEADER_SIZE == 12
    assert MAX_FRAME == 12 + 1275
    assert TIMESTAMP_STEP == 960


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"", "too short: 0 bytes"),
        (bytes.fromhex("01 00 00000001 0001 000003"), "too short: 11 bytes"),
        (bytes.fromhex("01 00 00000001 0001 000003c0") + b"\0" * (MAX_PAYLOAD + 1), "too long"),
        (bytes.fromhex("02 00 00000001 0001 000003c0 fc"), "version 2"),
        (bytes.fromhex("00 00 00000001 0001 000003c0 fc"), "version 0"),
        (bytes.fromhex("01 04 00000001 0001 000003c0 fc"), "reserved bits 0x04"),
        (bytes.fromhex("01 81 00000001 0000 000003c0 fc"), "reserved bits 0x80"),
        (bytes.fromhex("01 00 00000000 0001 000003c0 fc"), "stream id 0"),
        (bytes.fromhex("01 00 00000001 0001 000003c0"), "empty payload"),
        (bytes.fromhex("01 01 00000001 0001 000003c0 fc"), "START frame has sequence 1"),
    ],
)
def test_malformed_frames_raise_peer_error(wire: bytes, message: str) -> None:
    with pytest.raises(PeerError, match=message):
        AudioFrame.decode(wire)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"stream_id": 0},
        {"stream_id": 1 << 32},
        {"seq": -1},
        {"seq": 1 << 16},
        {"timestamp": 1 << 32},
        {"payload": b""},
        {"payload": b"x" * (MAX_PAYLOAD + 1)},
        {"start": True, "seq": 5},
    ],
)
def test_building_a_bad_frame_is_our_error(kwargs: dict[str, object]) -> None:
    fields: dict[str, object] = {"stream_id": 1, "seq": 1, "timestamp": 0, "payload": b"x"}
    fields.update(kwargs)
    with pytest.raises(OurError):
        AudioFrame(**fields)  # type: ignore[arg-type]


def test_random_bytes_raise_only_peer_error() -> None:
    rng = random.Random(20240611)
    good = 0
    for _ in range(20_000):
        n = rng.choice([rng.randrange(0, 16), rng.randrange(0, 1400)])
        data = bytes(rng.getrandbits(8) for _ in range(n))
        if rng.random() < 0.5 and n >= 2:  # bias towards a plausible header
            data = b"\x01" + bytes([rng.randrange(4)]) + data[2:]
        try:
            frame = AudioFrame.decode(data)
        except PeerError:
            continue
        good += 1
        assert frame.encode() == data
    assert good > 0


# --- StreamReceiver ------------------------------------------------------------------------


def _frame(stream: int, seq: int, *, start: bool = False, end: bool = False) -> AudioFrame:
    return AudioFrame(stream, seq, (1000 + seq * TIMESTAMP_STEP) & 0xFFFFFFFF, b"\x01", start, end)


def test_in_order_stream_is_accepted_without_loss() -> None:
    rx = StreamReceiver()
    assert rx.receive(_frame(5, 0, start=True)) == Reception(True, 0, new_stream=True)
    for seq in range(1, 10):
        assert rx.receive(_frame(5, seq)) == Reception(True, 0)
    assert rx.receive(_frame(5, 10, end=True)) == Reception(True, 0)
    assert rx.stream is None
    assert rx.counters["accepted"] == 11 and rx.counters["lost"] == 0


def test_gap_is_counted_as_lost() -> None:
    rx = StreamReceiver()
    rx.receive(_frame(5, 0, start=True))
    assert rx.receive(_frame(5, 4)) == Reception(True, lost=3)
    assert rx.counters["lost"] == 3


def test_sequence_wrap_is_not_a_gap() -> None:
    rx = StreamReceiver()
    rx.receive(_frame(5, 0xFFFE))
    assert rx.receive(_frame(5, 0xFFFF)) == Reception(True, 0)
    assert rx.receive(_frame(5, 0)) == Reception(True, 0)
    assert rx.receive(_frame(5, 2)) == Reception(True, lost=1)


def test_duplicates_and_older_frames_are_dropped() -> None:
    rx = StreamReceiver()
    rx.receive(_frame(5, 0, start=True))
    rx.receive(_frame(5, 1))
    rx.receive(_frame(5, 3))
    assert rx.receive(_frame(5, 3)) == Reception(False, drop=Drop.DUPLICATE)
    assert rx.receive(_frame(5, 2)) == Reception(False, drop=Drop.REORDERED)
    assert rx.receive(_frame(5, 4)) == Reception(True, 0)
    assert rx.counters["duplicates"] == 1 and rx.counters["reordered"] == 1


def test_S08_late_frame_of_ended_stream_is_dropped() -> None:
    rx = StreamReceiver()
    rx.receive(_frame(5, 0, start=True))
    rx.receive(_frame(5, 1))
    rx.receive(_frame(5, 3, end=True))
    # frame 2 was overtaken and arrives 80 ms after the END: it must not start a "new" talk
    assert rx.receive(_frame(5, 2)) == Reception(False, drop=Drop.ENDED_STREAM)
    assert rx.stream is None
    assert rx.ended(5)
    # the next talk from the same origin is a new stream and plays
    assert rx.receive(_frame(6, 0, start=True)) == Reception(True, 0, new_stream=True)


def test_new_stream_supersedes_unended_one() -> None:
    rx = StreamReceiver()
    rx.receive(_frame(5, 0, start=True))
    rx.receive(_frame(5, 1))  # END lost
    assert rx.receive(_frame(6, 0, start=True)).new_stream
    assert rx.receive(_frame(5, 2)) == Reception(False, drop=Drop.ENDED_STREAM)


def test_ended_memory_is_bounded() -> None:
    rx = StreamReceiver(remember=2)
    for stream in (1, 2, 3):
        rx.receive(_frame(stream, 0, start=True, end=True))
    assert not rx.ended(1) and rx.ended(2) and rx.ended(3)


def test_module_is_sans_io() -> None:
    assert _imports(frames_module.__file__) & _FORBIDDEN == set()


_FORBIDDEN = {"asyncio", "socket", "time", "paho", "aiomqtt", "threading", "serial"}


def _imports(path: str | None) -> set[str]:
    assert path is not None
    tree = ast.parse(Path(path).read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_hex_dump_in_protocol_doc_is_what_the_encoder_produces() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "poc-protocol.md").read_text()
    section = doc.split("## 5. Audio frames", 1)[1].split("```", 2)[1]
    wire = bytes.fromhex(" ".join(line[6:] for line in section.strip().splitlines()))
    frame = AudioFrame.decode(wire)
    assert (frame.stream_id, frame.seq, frame.timestamp, frame.start, frame.end) == (
        0x5EED0001, 0, 0x00A1B2C0, True, False
    )
    assert len(frame.payload) == 55 and frame.encode() == wire
    end = AudioFrame(0x5EED0001, 150, (0x00A1B2C0 + 150 * TIMESTAMP_STEP) & 0xFFFFFFFF, b"", end=True)
    assert end.encode().hex(" ") in doc
