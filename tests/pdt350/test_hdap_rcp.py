"""HDAP envelope, RCP and TMP messages against every public HDAP frame (tests/data/hytera).

HDAP bytes come from bare HDAP lines, from the payload of HRNP DATA frames and from
HSTRP-wrapped lines after stripping the HSTRP header.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.errors import PeerError
from gateway.pdt350 import rcp, tmp
from gateway.pdt350.hdap import HdapPdu, HdapProtocol
from gateway.pdt350.hrnp import HrnpFrame

DATA = Path(__file__).parent.parent / "data" / "hytera"
TRAILING = b"\x02\x41"
HSTRP_MAGIC = b"2B"
LP_FILE = "hhb_location_protocol.standard_answer.bin"


def strip_hstrp(data: bytes) -> bytes:
    """HSTRP (UDP) header: "2B", version, flags, sequence u16, then options if flag 0x20.

    Each option is type, length, value; a type with bit 7 set is followed by another.
    (Layout inferred from the six public HSTRP vectors.)
    """
    assert data[:2] == HSTRP_MAGIC
    index = 6
    if data[3] & 0x20:
        while True:
            kind, length = data[index], data[index + 1]
            index += 2 + length
            if not kind & 0x80:
                break
    return data[index:]


def hdap_vectors() -> list[tuple[str, bytes]]:
    vectors: list[tuple[str, bytes]] = []
    for path in sorted(DATA.glob("*.bin")):
        raw = path.read_bytes()
        if path.name == LP_FILE:
            continue  # stored without its header byte, see test_hhb_location_answer
        if raw[:1] == b"\x7e":
            raw = HrnpFrame.decode(raw).payload
        elif raw[:2] == HSTRP_MAGIC:
            raw = strip_hstrp(raw)
        if raw:
            vectors.append((path.name, raw))
    for path in sorted(DATA.glob("*.hex.txt")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            hex_part = line.split("#", 1)[0].strip()
            if not hex_part:
                continue
            raw = bytes.fromhex(hex_part)
            if raw[0] == 0x7E:
                raw = HrnpFrame.decode(raw).payload
            elif raw[:2] == HSTRP_MAGIC:
                raw = strip_hstrp(raw)
            if raw:
                vectors.append((f"{path.name}:{number}", raw))
    return vectors


VECTORS = hdap_vectors()
IDS = [name for name, _ in VECTORS]


def test_every_frame_is_covered() -> None:
    # .bin: 2 HRNP DATA payloads, 2 HSTRP, 1 bare RCP (+ the LP file, tested apart);
    # ok-dmrlib: 13 HRNP DATA payloads, 19 bare HDAP, 4 HSTRP; observed: 4 bare RCP
    assert len(VECTORS) == 5 + 13 + 19 + 4 + 4


@pytest.mark.parametrize("raw", [v for _, v in VECTORS], ids=IDS)
def test_golden_round_trip(raw: bytes) -> None:
    pdu = HdapPdu.decode(raw)
    assert pdu.checksum_valid
    assert pdu.encode() == raw
    assert HdapPdu.decode_from(raw + TRAILING) == (pdu, TRAILING)
    with pytest.raises(PeerError):
        HdapPdu.decode(raw + TRAILING)
    for end in range(len(raw)):  # one byte at a time: every prefix is a clean PeerError
        with pytest.raises(PeerError):
            HdapPdu.decode(raw[:end])


@pytest.mark.parametrize("raw", [v for _, v in VECTORS], ids=IDS)
def test_golden_typed_round_trip(raw: bytes) -> None:
    pdu = HdapPdu.decode(raw)
    if pdu.protocol is HdapProtocol.RCP:
        assert rcp.encode_rcp(rcp.decode_rcp(pdu), pdu.reliable).encode() == raw
    elif pdu.protocol is HdapProtocol.TMP:
        assert tmp.encode_tmp(tmp.decode_tmp(pdu), pdu.reliable).encode() == raw


def test_byte_order_rule() -> None:
    assert HdapPdu.decode(bytes.fromhex("024108050000d20400000e03")).opcode == 0x0841
    lp = HdapPdu.decode(next(v for n, v in VECTORS if v[0] == 0x08))
    assert (lp.opcode, len(lp.payload)) == (0xA002, 0x32)
    rrs = HdapPdu.decode(bytes.fromhex("11008200050a000021008003"))
    assert (rrs.protocol, rrs.opcode, rrs.reliable) == (HdapProtocol.RRS, 0x0082, False)
    assert HdapPdu.decode(bytes.fromhex("91000200040a0000140e03")).reliable


def test_hhb_location_answer() -> None:
    """The hhb LP file lacks its 08 header byte and carries one pad byte after the 03."""
    raw = (DATA / LP_FILE).read_bytes()
    pdu, rest = HdapPdu.decode_from(b"\x08" + raw)
    assert rest == b"\x00"
    assert (pdu.protocol, pdu.opcode) == (HdapProtocol.LP, 0xA002)
    assert pdu.encode() == b"\x08" + raw[:-1]


def test_bad_checksum_strict_and_lenient() -> None:
    raw = bytearray.fromhex("0241880100006803")
    raw[-2] ^= 0x01
    with pytest.raises(PeerError, match="checksum"):
        HdapPdu.decode(bytes(raw))
    pdu = HdapPdu.decode(bytes(raw), strict=False)
    assert not pdu.checksum_valid and pdu.encode() == bytes(raw)


# One table drives the encoder and the decoder: (message, bytes, provenance).
RCP_CASES: list[tuple[rcp.Rcp, str, str]] = [
    (rcp.CallRequest(rcp.CallType.PRIVATE, 1234), "024108050000d20400000e03", "captured"),
    (rcp.CallRequest(rcp.CallType.PRIVATE, 111), "0241080500006f0000007503", "captured"),
    (rcp.CallReply(0), "0241880100006803", "captured"),
    (rcp.BroadcastStatusConfig(rcp.REPORTS_ON), "02c910050002000101014f03", "captured"),
    (rcp.BroadcastReceiveStatus(1, 4, 0, 111), "0244b80c0001000400000000006f000000b603", "captured"),
    (rcp.BroadcastReceiveStatus(3, 4, 0, 111), "0244b80c0003000400000000006f000000b403", "captured"),
    (rcp.RadioIdReply(0, 1, bytes.fromhex("0a0003e9")), "025284060000010a0003e95f03", "captured"),
    (rcp.RadioIdReply(0, 0, bytes.fromhex("e9030000")), "02528406000000e90300006a03", "captured"),
    (rcp.UnknownRcp(0x8834, bytes.fromhex("0a6f000000")), "02348805000a6f000000f803", "captured"),
    (rcp.ButtonRequest(True), "02410002002b01c303", "constructed, not captured"),
    (rcp.ButtonRequest(False), "02410002002b00c403", "constructed, not captured"),
    (rcp.ButtonReply(0), "024180010000" "7003", "constructed, not captured"),
    (rcp.BroadcastTransmitStatus(1, 1, 9001, 2101), "0243b80c000100010029230000" "35080000a003", "constructed, not captured"),
    (rcp.RadioIdRequest(0), "025204010000db03", "constructed, not captured (layout assumed)"),
    (rcp.BroadcastStatusConfigReply(0), "02c980010000e803", "constructed, not captured"),
]


@pytest.mark.parametrize(("message", "hex_bytes", "provenance"), RCP_CASES, ids=[f"{type(m).__name__}-{p}" for m, _, p in RCP_CASES])
def test_rcp_table(message: rcp.Rcp, hex_bytes: str, provenance: str) -> None:
    raw = bytes.fromhex(hex_bytes)
    assert rcp.encode_rcp(message).encode() == raw
    assert rcp.decode_rcp(HdapPdu.decode(raw)) == message


def test_rcp_known_meanings() -> None:
    reply_ip, reply_id = (rcp.decode_rcp(HdapPdu.decode(bytes.fromhex(h))) for h in (
        "025284060000010a0003e95f03", "02528406000000e90300006a03"
    ))
    assert isinstance(reply_ip, rcp.RadioIdReply) and reply_ip.radio_id == 1001
    assert isinstance(reply_id, rcp.RadioIdReply) and reply_id.radio_id == 1001
    assert rcp.CallReply(0).success and not rcp.CallReply(1).success
    assert rcp.RadioIdReply.for_id(1001, kind=1) == reply_ip


def test_rcp_bad_payload_is_peer_error() -> None:
    with pytest.raises(PeerError):
        rcp.decode_rcp(HdapPdu(HdapProtocol.RCP, 0x0841, b"\x01\x02"))
    with pytest.raises(PeerError):
        rcp.decode_rcp(HdapPdu(HdapProtocol.TMP, 0x0841, b""))


HELLO_SEND = "hhb_hstrp.private_message_to_1002.1.send.bin"
HELLO_REPLY = "hhb_hstrp.private_message_to_1002.3.message_reply.bin"
TMP_CASES: list[tuple[tmp.Tmp, str]] = [
    (tmp.TmpText(tmp.TmpService.PRIVATE_MESSAGE, 0, tmp.radio_address(1002), 0xC0A81464, "Hello World", 0x00), HELLO_SEND),
    (tmp.TmpAck(tmp.TmpService.PRIVATE_ACK, 0, 1002, 1, 0, 0x00), HELLO_REPLY),
    (tmp.TmpText(tmp.TmpService.PRIVATE_MESSAGE, 1, 0x0A01B207, 0x0A03640E, "OLIVER TEST"), "0980a10022000000010a01b2070a03640e4f004c004900560045005200200054004500530054007a03"),
    (tmp.TmpAck(tmp.TmpService.PRIVATE_ACK, 1, 0x0A01B207, 0x0A030000, 0), "0980a2000d000000010a01b2070a030000003103"),
    (tmp.TmpAck(tmp.TmpService.PRIVATE_ACK, 2, 0x0A01B207, 0x0A030000, 0, 0xC0, b"\x01\x02\x03"), "09c0a200120003000000020a01b2070a03000000010203e203"),
    (tmp.TmpText(tmp.TmpService.GROUP_MESSAGE, 1, 1, 0x0A000835, "ahoj"), "0980b1001400000001000000010a000835610068006f006a000203"),
]


@pytest.mark.parametrize(("message", "source"), TMP_CASES, ids=[f"{type(m).__name__}-{i}" for i, (m, _) in enumerate(TMP_CASES)])
def test_tmp_table(message: tmp.Tmp, source: str) -> None:
    raw = strip_hstrp((DATA / source).read_bytes()) if source.endswith(".bin") else bytes.fromhex(source)
    assert tmp.decode_tmp(HdapPdu.decode(raw)) == message
    assert tmp.encode_tmp(message).encode() == raw


def test_tmp_meanings() -> None:
    hello = TMP_CASES[0][0]
    assert isinstance(hello, tmp.TmpText)
    assert (hello.text, tmp.address_id(hello.destination), hello.group) == ("Hello World", 1002, False)
    group = TMP_CASES[-1][0]
    assert isinstance(group, tmp.TmpText) and group.group and tmp.address_id(group.source) == 2101
    assert tmp.address_id(0x0A01B207) == 111111


def test_tmp_bad_text_is_peer_error() -> None:
    with pytest.raises(PeerError):
        tmp.decode_tmp(HdapPdu(HdapProtocol.TMP, 0x80A1, bytes(12) + b"\x41"))
    with pytest.raises(PeerError):
        tmp.decode_tmp(HdapPdu(HdapProtocol.TMP, 0xC0A1, b"\xff\xff" + bytes(12)))
    assert isinstance(tmp.decode_tmp(HdapPdu(HdapProtocol.TMP, 0x80C3, b"")), tmp.UnknownTmp)
