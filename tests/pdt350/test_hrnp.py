"""HRNP frame codec and deframer against every public HRNP frame (tests/data/hytera)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import PeerError
from gateway.pdt350.hrnp import (
    HOST_ADDRESS,
    MAX_FRAME_LEN,
    RADIO_ADDRESS,
    HrnpDeframer,
    HrnpFrame,
    HrnpOpcode,
)

DATA = Path(__file__).parent.parent / "data" / "hytera"
TRAILING = b"\x7e\x04\x00"  # the start of another frame


def hrnp_vectors() -> list[tuple[str, bytes]]:
    vectors = [(p.name, p.read_bytes()) for p in sorted(DATA.glob("hhb_hrnp.*.bin"))]
    for path in sorted(DATA.glob("*.hex.txt")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            hex_part = line.split("#", 1)[0].strip()
            if hex_part.startswith("7e"):
                vectors.append((f"{path.name}:{number}", bytes.fromhex(hex_part)))
    return vectors


VECTORS = hrnp_vectors()
IDS = [name for name, _ in VECTORS]


def test_all_public_hrnp_frames_are_found() -> None:
    assert len(VECTORS) == 4 + 17  # hhb .bin files + ok-dmrlib test_hrnp.py


@pytest.mark.parametrize("raw", [v for _, v in VECTORS], ids=IDS)
def test_golden_round_trip_and_checksum(raw: bytes) -> None:
    frame = HrnpFrame.decode(raw)  # strict: the checksum verifies
    assert frame.checksum_valid
    assert frame.encode() == raw
    assert HrnpFrame.decode_from(raw + TRAILING) == (frame, TRAILING)
    with pytest.raises(PeerError):
        HrnpFrame.decode(raw + TRAILING)


@pytest.mark.parametrize("raw", [v for _, v in VECTORS], ids=IDS)
def test_golden_truncations_raise_peer_error(raw: bytes) -> None:
    for end in range(len(raw)):
        with pytest.raises(PeerError):
            HrnpFrame.decode(raw[:end])


@pytest.mark.parametrize("raw", [v for _, v in VECTORS], ids=IDS)
def test_deframer_whole_bytewise_and_with_trailing(raw: bytes) -> None:
    expected = HrnpFrame.decode(raw)
    assert HrnpDeframer().feed(raw) == [expected]
    deframer = HrnpDeframer()
    found = [f for i in range(len(raw)) for f in deframer.feed(raw[i : i + 1])]
    assert found == [expected]
    deframer = HrnpDeframer()
    assert deframer.feed(b"garbage" + raw + TRAILING) == [expected]
    assert deframer.counters["garbage_bytes"] == len(b"garbage")
    assert deframer.buffered == len(TRAILING)  # kept: it may be the start of a frame
    assert deframer.feed(raw) == [expected]  # the partial start turns out to be garbage


def test_known_frames_decode_to_expected_fields() -> None:
    named = dict(VECTORS)
    assert HrnpFrame.decode(named["hhb_hrnp.1.bin"]) == HrnpFrame(
        HrnpOpcode.CONNECT, HOST_ADDRESS, RADIO_ADDRESS, version=3
    )
    assert HrnpFrame.decode(named["hhb_hrnp.2.bin"]) == HrnpFrame(
        HrnpOpcode.ACCEPT, RADIO_ADDRESS, HOST_ADDRESS, version=3
    )
    odd = HrnpFrame.decode(named["hhb_hrnp.3.bin"])  # the capture with version 00
    assert (odd.version, odd.opcode, odd.payload.hex()) == (0, HrnpOpcode.DATA, "0241080500006f0000007503")
    reply = HrnpFrame.decode(named["hhb_hrnp.4.bin"])
    assert (reply.source, reply.destination, reply.packet_number) == (RADIO_ADDRESS, HOST_ADDRESS, 4)


def test_flagged_vector_checksum_verifies() -> None:
    """ok-dmrlib flags this frame "checksum sometimes comes out invalid"; it verifies."""
    raw = bytes.fromhex("7e04000020100001001b43b502471808000700000000000000c403")
    assert HrnpFrame.decode(raw).checksum_valid


def test_bad_checksum_strict_raises_lenient_keeps_bytes() -> None:
    raw = bytearray(bytes.fromhex("7e0400fe20100000000c60e1"))
    raw[11] ^= 0xFF
    with pytest.raises(PeerError, match="checksum"):
        HrnpFrame.decode(bytes(raw))
    frame = HrnpFrame.decode(bytes(raw), strict=False)
    assert not frame.checksum_valid
    assert frame.encode() == bytes(raw)
    deframer = HrnpDeframer()
    assert deframer.feed(bytes(raw)) == []
    assert deframer.counters["bad_checksum"] == 1


def test_deframer_resyncs_after_false_sync_announcing_a_long_frame() -> None:
    good = HrnpFrame(HrnpOpcode.DATA_ACK, RADIO_ADDRESS, HOST_ADDRESS, 7).encode()
    false_start = bytes.fromhex("7e0400001020000107ff0000")  # claims 2047 bytes
    deframer = HrnpDeframer()
    assert deframer.feed(false_start + good) == [HrnpFrame.decode(good)]


def test_deframer_never_raises_and_stays_bounded() -> None:
    deframer = HrnpDeframer()
    noise = bytes((i * 37 + 0x7E) & 0xFF for i in range(20000)) + b"\x7e" * 5000
    for start in range(0, len(noise), 333):
        deframer.feed(noise[start : start + 333])
        assert deframer.buffered <= MAX_FRAME_LEN
    good = HrnpFrame(HrnpOpcode.ACCEPT, RADIO_ADDRESS, HOST_ADDRESS).encode()
    assert HrnpDeframer().feed(b"\x7e\x7e" + good) == [HrnpFrame.decode(good)]


def test_encode_computes_length_and_checksum() -> None:
    frame = HrnpFrame(HrnpOpcode.DATA, HOST_ADDRESS, RADIO_ADDRESS, 0, bytes.fromhex("0241080500006f0000007503"))
    assert frame.encode().hex() == "7e04000020100000001873890241080500006f0000007503"
