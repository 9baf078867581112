"""HostSession and RadioSession wired back to back in memory, in simulated time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.errors import OurError
from gateway.pdt350 import rcp
from gateway.pdt350.hdap import HdapPdu
from gateway.pdt350.hrnp import HOST_ADDRESS, RADIO_ADDRESS, HrnpDeframer, HrnpFrame, HrnpOpcode
from gateway.pdt350.hytera_session import (
    HostSession,
    KeyFailed,
    Keyed,
    LinkDown,
    LinkUp,
    RadioSession,
    ReceiveStatus,
    TextAcked,
    TextMessage,
    TransmitStatus,
    Unkeyed,
)
from gateway.pdt350.hytera_session import KeyState, LinkState
from gateway.pdt350.radio_session import (
    HostConnected,
    PttPressed,
    PttReleased,
    TextFromHost,
)

RADIO_ID = 4242
FrameFilter = Callable[[HrnpFrame], "HrnpFrame | None"]  # None drops, else what arrives


def _keep_all(frame: HrnpFrame) -> HrnpFrame:
    return frame


class Pair:
    """Moves bytes between the two cores; filters decide which frames survive the wire."""

    def __init__(self, **radio_kw: float) -> None:
        self.host = HostSession()
        self.radio = RadioSession(RADIO_ID, **radio_kw)  # type: ignore[arg-type]
        self.now = 0.0
        self.host_events: list[object] = []
        self.radio_events: list[object] = []
        self.to_radio: FrameFilter = _keep_all
        self.to_host: FrameFilter = _keep_all
        self.sent_to_radio: list[HrnpFrame] = []
        self.sent_to_host: list[HrnpFrame] = []
        self._wire_to_radio = HrnpDeframer()
        self._wire_to_host = HrnpDeframer()

    def pump(self) -> None:
        self.host_events += self.host.pop_events()
        self.radio_events += self.radio.pop_events()
        for _ in range(100):
            to_radio = self._carry(self.host.bytes_to_send(), self._wire_to_radio, self.to_radio, self.sent_to_radio)
            to_host = self._carry(self.radio.bytes_to_send(), self._wire_to_host, self.to_host, self.sent_to_host)
            if not to_radio and not to_host:
                return
            if to_radio:
                self.radio_events += self.radio.receive(to_radio, self.now)
            if to_host:
                self.host_events += self.host.receive(to_host, self.now)
        raise AssertionError("the two sides never went quiet")

    @staticmethod
    def _carry(data: bytes, wire: HrnpDeframer, keep: FrameFilter, log: list[HrnpFrame]) -> bytes:
        frames = wire.feed(data)
        log += frames
        kept = [keep(f) for f in frames]
        return b"".join(f.encode() for f in kept if f is not None)

    def advance(self, seconds: float) -> None:
        """Run timers in order up to ``now + seconds``, jumping from deadline to deadline."""
        end = self.now + seconds
        self.pump()
        while True:
            deadlines = [d for d in (self.host.next_deadline(), self.radio.next_deadline()) if d is not None]
            if not deadlines or min(deadlines) > end:
                break
            self.now = max(self.now, min(deadlines))
            self.host_events += self.host.on_timer(self.now)
            self.radio_events += self.radio.on_timer(self.now)
            self.pump()
        self.now = end

    def take_host(self) -> list[object]:
        events, self.host_events = self.host_events, []
        return events

    def take_radio(self) -> list[object]:
        events, self.radio_events = self.radio_events, []
        return events


def connected_pair(**radio_kw: float) -> Pair:
    pair = Pair(**radio_kw)
    pair.host.connect(pair.now)
    pair.pump()
    assert pair.take_host() == [Unkeyed(confirmed=True), LinkUp(RADIO_ID)]
    assert pair.take_radio() == [HostConnected()]
    return pair


def rcp_of(frame: HrnpFrame) -> rcp.Rcp:
    return rcp.decode_rcp(HdapPdu.decode(frame.payload))


def test_connect_runs_init_sequence_with_ptt_release_first() -> None:
    pair = connected_pair()
    data = [rcp_of(f) for f in pair.sent_to_radio if f.opcode is HrnpOpcode.DATA]
    assert data == [rcp.ButtonRequest(False), rcp.RadioIdRequest(), rcp.BroadcastStatusConfig()]
    assert pair.sent_to_radio[0] == HrnpFrame(HrnpOpcode.CONNECT, HOST_ADDRESS, RADIO_ADDRESS)
    assert pair.radio.reports_enabled
    assert pair.host.link_state is LinkState.UP


def test_connect_retries_every_second_until_accept() -> None:
    pair = Pair()
    pair.to_radio = lambda f: f if f.opcode is not HrnpOpcode.CONNECT or pair.now >= 2.5 else None
    pair.host.connect(0.0)
    pair.advance(1.5)
    assert pair.host.link_state is LinkState.CONNECTING
    pair.advance(2.0)
    connects = [f for f in pair.sent_to_radio if f.opcode is HrnpOpcode.CONNECT]
    assert len(connects) == 4  # t = 0, 1, 2, 3
    assert LinkUp(RADIO_ID) in pair.take_host()


def test_key_and_unkey() -> None:
    pair = connected_pair()
    pair.host.key(9001, pair.now)
    pair.pump()
    host = pair.take_host()
    assert Keyed(9001) in host
    assert TransmitStatus(rcp.CallStatus.STARTED, 1, 9001, RADIO_ID) in host
    assert pair.take_radio() == [PttPressed(9001)]
    assert pair.radio.transmitting
    pair.host.unkey(pair.now)
    pair.pump()
    assert Unkeyed(confirmed=True) in pair.take_host()
    assert pair.take_radio() == [PttReleased(9001, "host")]
    pair.advance(5.0)
    assert [e.status for e in pair.take_host() if isinstance(e, TransmitStatus)] == [rcp.CallStatus.ENDED]
    assert pair.host.key_state is KeyState.UNKEYED


def test_unkey_mid_sequence_cancels_press() -> None:
    pair = connected_pair()
    pair.host.key(7, pair.now)
    pair.host.unkey(pair.now)  # before the call reply arrived
    pair.pump()
    host = pair.take_host()
    assert KeyFailed("cancelled by unkey") in host and Unkeyed(confirmed=True) in host
    assert not any(isinstance(e, Keyed) for e in host)
    assert not pair.radio.transmitting
    pressed = [f for f in pair.sent_to_radio if f.opcode is HrnpOpcode.DATA and rcp_of(f) == rcp.ButtonRequest(True)]
    assert pressed == []


def test_key_refused_reports_failure_and_releases() -> None:
    pair = connected_pair()
    refused = rcp.encode_rcp(rcp.CallReply(1)).encode()

    def refuse_call(frame: HrnpFrame) -> HrnpFrame:
        if frame.opcode is HrnpOpcode.DATA and rcp_of(frame) == rcp.CallReply(0):
            return HrnpFrame(frame.opcode, frame.source, frame.destination, frame.packet_number, refused)
        return frame

    pair.to_host = refuse_call
    pair.host.key(7, pair.now)
    pair.pump()
    assert KeyFailed("call request refused (result 1)") in pair.take_host()
    assert not pair.radio.transmitting
    assert pair.host.key_state is KeyState.UNKEYED
    releases = [f for f in pair.sent_to_radio if f.opcode is HrnpOpcode.DATA and rcp_of(f) == rcp.ButtonRequest(False)]
    assert len(releases) == 2  # the init release and the one after the refusal


def test_key_while_keyed_is_our_error_and_link_down_fails_key() -> None:
    pair = connected_pair()
    pair.host.key(1, pair.now)
    with pytest.raises(OurError):
        pair.host.key(2, pair.now)
    fresh = HostSession()
    fresh.key(1, 0.0)
    assert fresh.pop_events() == [KeyFailed("link is idle")]


def test_receive_call_start_and_end() -> None:
    pair = connected_pair()
    pair.radio.report_receive_call(rcp.CallStatus.STARTED, 111, 9001, pair.now)
    pair.pump()
    pair.radio.report_receive_call(rcp.CallStatus.ENDED, 111, 9001, pair.now)
    pair.pump()
    assert pair.take_host() == [
        ReceiveStatus(rcp.CallStatus.STARTED, 1, 9001, 111),
        ReceiveStatus(rcp.CallStatus.ENDED, 1, 9001, 111),
    ]


def test_texts_both_ways() -> None:
    pair = connected_pair()
    request_id = pair.host.send_text(9001, "Hello World", True, pair.now)
    pair.pump()
    assert pair.take_radio() == [TextFromHost(9001, "Hello World", True)]
    assert pair.take_host() == [TextAcked(request_id, 0)]
    pair.radio.send_text(1002, "ahoj", False, pair.now)
    pair.pump()
    assert pair.take_host() == [TextMessage(RADIO_ID, 1002, "ahoj", False)]


def test_lost_data_is_retransmitted() -> None:
    pair = connected_pair()
    dropped: list[int] = []

    def lose_first_press(frame: HrnpFrame) -> HrnpFrame | None:
        if frame.opcode is HrnpOpcode.DATA and rcp_of(frame) == rcp.ButtonRequest(True) and not dropped:
            dropped.append(frame.packet_number)
            return None
        return frame

    pair.to_radio = lose_first_press
    pair.host.key(3, pair.now)
    pair.advance(1.0)
    assert Keyed(3) in pair.take_host()
    assert pair.host.counters["retransmissions"] == 1


def test_lost_ack_causes_duplicate_that_is_acked_but_delivered_once() -> None:
    pair = connected_pair()
    lost: list[int] = []

    def lose_first_ack(frame: HrnpFrame) -> HrnpFrame | None:
        if frame.opcode is HrnpOpcode.DATA_ACK and not lost:
            lost.append(frame.packet_number)
            return None
        return frame

    pair.to_radio = lose_first_ack
    pair.radio.report_receive_call(rcp.CallStatus.STARTED, 111, 9001, pair.now)
    pair.advance(1.0)
    assert pair.take_host() == [ReceiveStatus(rcp.CallStatus.STARTED, 1, 9001, 111)]
    assert pair.host.counters["duplicate_data"] == 1
    acks = [f.packet_number for f in pair.sent_to_radio if f.opcode is HrnpOpcode.DATA_ACK]
    assert acks.count(lost[0]) == 2


def test_radio_silence_brings_link_down_and_unkeys() -> None:
    pair = connected_pair()
    pair.host.key(3, pair.now)
    pair.pump()
    pair.take_host()
    pair.to_host = lambda f: None
    pair.advance(20.0)
    events = pair.take_host()
    assert Unkeyed(confirmed=False) in events
    assert any(isinstance(e, LinkDown) for e in events)
    assert pair.host.key_state is KeyState.UNKEYED


def test_idle_link_stays_up_with_keepalives() -> None:
    pair = connected_pair()
    pair.advance(60.0)
    assert not any(isinstance(e, LinkDown) for e in pair.take_host())


def test_radio_time_out_timer_releases_long_transmission() -> None:
    pair = connected_pair(tot_s=10.0)
    pair.host.key(3, pair.now)
    pair.advance(11.0)
    assert PttReleased(3, "tot") in pair.take_radio()
    assert not pair.radio.transmitting


def test_host_time_out_timer_releases_long_transmission() -> None:
    pair = connected_pair(tot_s=1000.0)
    pair.host.key(3, pair.now)
    pair.advance(121.0)
    assert PttReleased(3, "host") in pair.take_radio()
    assert pair.host.counters["transmit_timeouts"] == 1


def test_press_without_call_request_keys_last_selected_group() -> None:
    radio = RadioSession(RADIO_ID, default_group=77)
    press = rcp.encode_rcp(rcp.ButtonRequest(True)).encode()
    radio.receive(HrnpFrame(HrnpOpcode.CONNECT, HOST_ADDRESS, RADIO_ADDRESS).encode(), 0.0)
    events = radio.receive(HrnpFrame(HrnpOpcode.DATA, HOST_ADDRESS, RADIO_ADDRESS, 0, press).encode(), 0.0)
    assert events == [PttPressed(77)]
    assert radio.counters["reports_suppressed"] == 1  # the host never enabled reports
    replies = HrnpDeframer().feed(radio.bytes_to_send())
    assert [f.opcode for f in replies] == [HrnpOpcode.ACCEPT, HrnpOpcode.DATA_ACK, HrnpOpcode.DATA]
    assert rcp_of(replies[2]) == rcp.ButtonReply(0)


def test_data_before_connect_is_counted_by_the_radio() -> None:
    radio = RadioSession(RADIO_ID)
    press = rcp.encode_rcp(rcp.ButtonRequest(True)).encode()
    assert radio.receive(HrnpFrame(HrnpOpcode.DATA, HOST_ADDRESS, RADIO_ADDRESS, 0, press).encode(), 0.0) == []
    assert radio.counters["data_while_listening"] == 1
    assert not radio.transmitting


def test_garbage_between_frames_is_counted_not_raised() -> None:
    pair = connected_pair()
    events = pair.host.receive(b"\x00\x7e\xff" * 10 + b"\x7e\x04\x00\x00", pair.now)
    assert events == []
    assert pair.host.counters["garbage_bytes"] > 0
    pair.radio.report_receive_call(rcp.CallStatus.STARTED, 111, 9001, pair.now)
    pair.pump()
    assert pair.take_host() == [ReceiveStatus(rcp.CallStatus.STARTED, 1, 9001, 111)]
