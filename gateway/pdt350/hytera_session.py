"""Sans-IO host side of a Hytera HRNP/RCP control link (the gateway's end).

Responsible for connecting to the radio, the init sequence (PTT release first, radio ID
query, status report configuration), the key/unkey sequence, text messages and turning
radio reports into events. No I/O and no clock: every input carries ``now``; output is
drained with ``bytes_to_send()``; ``next_deadline()``/``on_timer()`` drive the timers.
Link and key transitions each live in one table; a peer input not allowed in a state is
counted (``counters``), a command not allowed in a state raises ``OurError``.
"""

from __future__ import annotations

import enum
from ..errors import OurError
from .hdap import HdapPdu
from .hrnp import HOST_ADDRESS, RADIO_ADDRESS, HrnpFrame, HrnpOpcode
from .hdap_session import HdapSession
from .hytera_events import (
    HostEvent,
    KeyFailed,
    Keyed,
    LinkDown,
    LinkUp,
    ReceiveStatus,
    TextAcked,
    TextMessage,
    TransmitStatus,
    Unkeyed,
)
from .radio_session import RadioSession

__all__ = [
    "HostEvent", "HostSession", "KeyFailed", "Keyed", "LinkDown", "LinkUp", "RadioSession",
    "ReceiveStatus", "TextAcked", "TextMessage", "TransmitStatus", "Unkeyed",
]
from . import rcp, tmp


class LinkState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    INITIALIZING = "initializing"
    UP = "up"
    CLOSED = "closed"


class LinkInput(enum.Enum):
    CONNECT = "connect"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    CONFIG_OK = "config_ok"
    CONFIG_FAILED = "config_failed"
    LOST = "lost"
    PEER_CLOSED = "peer_closed"
    CLOSE = "close"


class KeyState(enum.Enum):
    UNKEYED = "unkeyed"
    CALLING = "calling"  # call request sent, waiting for the reply
    PRESSING = "pressing"  # PTT press sent, waiting for the reply or transmit status
    KEYED = "keyed"
    RELEASING = "releasing"  # PTT release sent, waiting for its reply


class KeyInput(enum.Enum):
    KEY = "key"
    CALL_OK = "call_ok"
    CALL_FAILED = "call_failed"
    PRESS_OK = "press_ok"
    PRESS_FAILED = "press_failed"
    TX_STARTED = "tx_started"
    UNKEY = "unkey"
    RELEASE_DONE = "release_done"
    TIMEOUT = "timeout"


_L, _LI = LinkState, LinkInput
LINK_TABLE: dict[tuple[LinkState, LinkInput], LinkState] = {
    (_L.IDLE, _LI.CONNECT): _L.CONNECTING,
    (_L.CLOSED, _LI.CONNECT): _L.CONNECTING,
    (_L.CONNECTING, _LI.ACCEPTED): _L.INITIALIZING,
    (_L.CONNECTING, _LI.REJECTED): _L.CONNECTING,  # keep retrying every second
    (_L.INITIALIZING, _LI.CONFIG_OK): _L.UP,
    (_L.INITIALIZING, _LI.CONFIG_FAILED): _L.CLOSED,
    **{(s, i): _L.CLOSED for s in (_L.INITIALIZING, _L.UP) for i in (_LI.LOST, _LI.PEER_CLOSED)},
    **{(s, _LI.CLOSE): _L.CLOSED for s in LinkState},
}

_K, _KI = KeyState, KeyInput
KEY_TABLE: dict[tuple[KeyState, KeyInput], KeyState] = {
    (_K.UNKEYED, _KI.KEY): _K.CALLING,
    (_K.CALLING, _KI.CALL_OK): _K.PRESSING,
    (_K.CALLING, _KI.CALL_FAILED): _K.RELEASING,
    (_K.CALLING, _KI.TIMEOUT): _K.RELEASING,
    (_K.PRESSING, _KI.PRESS_OK): _K.KEYED,
    (_K.PRESSING, _KI.TX_STARTED): _K.KEYED,
    (_K.PRESSING, _KI.PRESS_FAILED): _K.RELEASING,
    (_K.PRESSING, _KI.TIMEOUT): _K.RELEASING,
    (_K.KEYED, _KI.PRESS_OK): _K.KEYED,  # transmit status came before the press reply
    (_K.KEYED, _KI.TX_STARTED): _K.KEYED,
    (_K.KEYED, _KI.TIMEOUT): _K.RELEASING,  # our time-out timer caps the transmission
    **{(s, _KI.UNKEY): _K.RELEASING for s in KeyState},
    **{(s, _KI.RELEASE_DONE): s for s in (_K.UNKEYED, _K.CALLING, _K.PRESSING)},
    (_K.RELEASING, _KI.RELEASE_DONE): _K.UNKEYED,
    # replies to a key sequence that unkey() cancelled: absorbed, the release stands
    **{(_K.RELEASING, i): _K.RELEASING for i in (
        _KI.CALL_OK, _KI.CALL_FAILED, _KI.PRESS_OK, _KI.PRESS_FAILED, _KI.TX_STARTED
    )},
}


class HostSession(HdapSession[HostEvent]):
    """The gateway's end of the HRNP link to one radio."""

    def __init__(
        self,
        *,
        connect_interval_s: float = 1.0,
        retry_interval_s: float = 0.3,
        max_retries: int = 3,
        keepalive_s: float = 3.0,
        link_timeout_s: float = 10.0,
        key_timeout_s: float = 2.0,
        transmit_timeout_s: float = 120.0,
    ) -> None:
        super().__init__(HOST_ADDRESS, RADIO_ADDRESS, retry_interval_s=retry_interval_s, max_retries=max_retries)
        self._connect_interval_s = connect_interval_s
        self._keepalive_s = keepalive_s
        self._link_timeout_s = link_timeout_s
        self._key_timeout_s = key_timeout_s
        self._transmit_timeout_s = transmit_timeout_s
        self.link_state = LinkState.IDLE
        self.key_state = KeyState.UNKEYED
        self.radio_id: int | None = None
        self.talk_group: int | None = None
        self._button_replies: list[bool] = []  # pressed-flag of each unanswered button request
        self._connect_at: float | None = None
        self._key_deadline: float | None = None
        self._last_rx = 0.0
        self._last_tx = 0.0
        self._next_request_id = 1

    # -- outputs (counters, bytes_to_send, pop_events: HdapSession) ----------------------
    def next_deadline(self) -> float | None:
        deadlines = [self._connect_at, self._key_deadline, self._link.next_deadline()]
        if self.link_state in (LinkState.INITIALIZING, LinkState.UP):
            deadlines += [self._last_rx + self._link_timeout_s]
            if self.link_state is LinkState.UP and self._link.idle:
                deadlines.append(self._last_tx + self._keepalive_s)
        return min((d for d in deadlines if d is not None), default=None)

    # -- commands ------------------------------------------------------------------------
    def connect(self, now: float) -> None:
        self._link_input(LinkInput.CONNECT)
        self._link.reset()
        self._send_connect(now)

    def close(self, now: float) -> None:
        was_open = self.link_state in (LinkState.INITIALIZING, LinkState.UP)
        if was_open:
            self._link.send_control(HrnpOpcode.CLOSE)
        self._link_input(LinkInput.CLOSE)
        self._drop_link("closed by host", announce=was_open)

    def key(self, talk_group: int, now: float) -> None:
        if self.link_state is not LinkState.UP:
            self._events.append(KeyFailed(f"link is {self.link_state.value}"))
            return
        if (self.key_state, KeyInput.KEY) not in KEY_TABLE:
            raise OurError(f"key() while {self.key_state.value}: unkey first")
        self._key_input(KeyInput.KEY)
        self.talk_group = talk_group
        self._key_deadline = now + self._key_timeout_s
        self._send_rcp(rcp.CallRequest(rcp.CallType.GROUP, talk_group), now)

    def unkey(self, now: float) -> None:
        """Release PTT in any state; cancels a key sequence in progress."""
        if self.link_state not in (LinkState.INITIALIZING, LinkState.UP):
            if self.key_state is not KeyState.UNKEYED:
                self.key_state = KeyState.UNKEYED
            self._events.append(Unkeyed(confirmed=False))
            return
        was = self.key_state
        self._key_input(KeyInput.UNKEY)
        self._key_deadline = None
        if was in (KeyState.CALLING, KeyState.PRESSING):
            self._events.append(KeyFailed("cancelled by unkey"))
        self._send_button(False, now)

    def send_text(self, target: int, text: str, group: bool, now: float) -> int:
        """Queue a text to a talk group or radio; returns its TMP request ID."""
        if self.link_state is not LinkState.UP:
            raise OurError(f"send_text() while link is {self.link_state.value}")
        request_id, self._next_request_id = self._next_request_id, self._next_request_id + 1
        service = tmp.TmpService.GROUP_MESSAGE if group else tmp.TmpService.PRIVATE_MESSAGE
        destination = target if group else tmp.radio_address(target)
        source = tmp.radio_address(self.radio_id or 0)
        message = tmp.TmpText(service, request_id, destination, source, text)
        self._send_pdu(tmp.encode_tmp(message), now)
        return request_id

    # -- inputs --------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> list[HostEvent]:
        for frame in self._link.deframer.feed(data):
            if frame.destination != HOST_ADDRESS or frame.source != RADIO_ADDRESS:
                self._link.count("wrong_address")
                continue
            self._last_rx = now
            self._on_frame(frame, now)
        return self.pop_events()

    def on_timer(self, now: float) -> list[HostEvent]:
        if self._connect_at is not None and now >= self._connect_at:
            self._send_connect(now)
        if self._key_deadline is not None and now >= self._key_deadline:
            self._key_deadline = None
            if self.key_state is KeyState.KEYED:
                self._link.count("transmit_timeouts")
            else:
                self._events.append(KeyFailed("radio did not key in time"))
            self._key_input(KeyInput.TIMEOUT)
            self._send_button(False, now)
        if self.link_state in (LinkState.INITIALIZING, LinkState.UP):
            if not self._link.on_timer(now):
                self._lose_link("radio did not acknowledge data")
            elif now >= self._last_rx + self._link_timeout_s:
                self._lose_link(f"no traffic from radio for {self._link_timeout_s:g} s")
            elif (
                self.link_state is LinkState.UP
                and self._link.idle
                and now >= self._last_tx + self._keepalive_s
            ):
                self._send_rcp(rcp.RadioIdRequest(), now)
        return self.pop_events()

    # -- internals -----------------------------------------------------------------------
    def _link_input(self, event: LinkInput) -> bool:
        new = LINK_TABLE.get((self.link_state, event))
        if new is None:
            self._link.count(f"illegal_{self.link_state.value}_{event.value}")
            return False
        self.link_state = new
        return True

    def _key_input(self, event: KeyInput) -> bool:
        new = KEY_TABLE.get((self.key_state, event))
        if new is None:
            self._link.count(f"illegal_{self.key_state.value}_{event.value}")
            return False
        self.key_state = new
        return True

    def _send_connect(self, now: float) -> None:
        self._link.send_control(HrnpOpcode.CONNECT)
        self._connect_at = now + self._connect_interval_s

    def _send_pdu(self, pdu: HdapPdu, now: float) -> None:
        self._last_tx = now  # the keepalive counts from our last DATA
        super()._send_pdu(pdu, now)

    def _send_button(self, pressed: bool, now: float) -> None:
        self._button_replies.append(pressed)
        self._send_rcp(rcp.ButtonRequest(pressed), now)

    def _lose_link(self, reason: str) -> None:
        if self._link_input(LinkInput.LOST):
            self._drop_link(reason, announce=True)

    def _drop_link(self, reason: str, *, announce: bool) -> None:
        self._link.reset()
        self._connect_at = None
        self._key_deadline = None
        self._button_replies.clear()
        if self.key_state in (KeyState.CALLING, KeyState.PRESSING):
            self._events.append(KeyFailed(reason))
        elif self.key_state in (KeyState.KEYED, KeyState.RELEASING):
            self._events.append(Unkeyed(confirmed=False))
        self.key_state = KeyState.UNKEYED
        if announce:
            self._events.append(LinkDown(reason))

    def _on_frame(self, frame: HrnpFrame, now: float) -> None:
        op = frame.opcode
        if op is HrnpOpcode.ACCEPT:
            if self._link_input(LinkInput.ACCEPTED):
                self._connect_at = None
                self._link.version = frame.version
                self.unkey(now)  # the radio is driven unkeyed before anything else
                self._send_rcp(rcp.RadioIdRequest(), now)
                self._send_rcp(rcp.BroadcastStatusConfig(), now)
        elif op is HrnpOpcode.REJECT:
            self._link_input(LinkInput.REJECTED)
        elif op is HrnpOpcode.CLOSE:
            if self._link_input(LinkInput.PEER_CLOSED):
                self._drop_link("closed by radio", announce=True)
        elif op is HrnpOpcode.DATA_ACK:
            self._link.accept_ack(frame, now)
        elif op is HrnpOpcode.DATA:
            if self.link_state not in (LinkState.INITIALIZING, LinkState.UP):
                self._link.count(f"data_while_{self.link_state.value}")
                return
            payload = self._link.accept_data(frame)
            if payload is not None:
                self._on_payload(payload, now)
        else:
            self._link.count(f"unexpected_{op.name.lower()}")

    def _on_rcp(self, message: rcp.Rcp, now: float) -> None:
        if isinstance(message, rcp.CallReply):
            was = self.key_state
            if not self._key_input(KeyInput.CALL_OK if message.success else KeyInput.CALL_FAILED):
                return
            if was is KeyState.CALLING and message.success:
                self._send_button(True, now)
            elif was is KeyState.CALLING:
                self._fail_key(f"call request refused (result {message.result})", now)
        elif isinstance(message, rcp.ButtonReply):
            if not self._button_replies:
                self._link.count("unexpected_button_reply")
                return
            pressed, was = self._button_replies.pop(0), self.key_state
            if not pressed:
                if self._key_input(KeyInput.RELEASE_DONE) and was is KeyState.RELEASING:
                    self._events.append(Unkeyed(confirmed=True))
            elif message.success:
                if self._key_input(KeyInput.PRESS_OK) and was is KeyState.PRESSING:
                    self._on_keyed(now)
            elif self._key_input(KeyInput.PRESS_FAILED) and was is KeyState.PRESSING:
                self._fail_key(f"PTT press refused (result {message.result})", now)
        elif isinstance(message, rcp.BroadcastTransmitStatus):
            self._events.append(TransmitStatus(*_report(message)))
            if message.status == rcp.CallStatus.STARTED and self.key_state in (
                KeyState.PRESSING, KeyState.KEYED, KeyState.RELEASING
            ):
                was = self.key_state
                self._key_input(KeyInput.TX_STARTED)
                if was is KeyState.PRESSING:
                    self._on_keyed(now)
        elif isinstance(message, rcp.BroadcastReceiveStatus):
            self._events.append(ReceiveStatus(*_report(message)))
        elif isinstance(message, rcp.BroadcastStatusConfigReply):
            ok = message.success
            if self._link_input(LinkInput.CONFIG_OK if ok else LinkInput.CONFIG_FAILED):
                if ok:
                    self._events.append(LinkUp(self.radio_id))
                else:
                    self._drop_link("radio refused status report configuration", announce=True)
        elif isinstance(message, rcp.RadioIdReply):
            if message.result == rcp.RESULT_SUCCESS:
                self.radio_id = message.radio_id
        else:
            self._link.count("unhandled_rcp")

    def _on_keyed(self, now: float) -> None:
        assert self.talk_group is not None
        self._key_deadline = now + self._transmit_timeout_s
        self._events.append(Keyed(self.talk_group))

    def _fail_key(self, reason: str, now: float) -> None:
        self._key_deadline = None
        self._events.append(KeyFailed(reason))
        self._send_button(False, now)

    def _on_tmp(self, message: tmp.Tmp, now: float) -> None:
        if isinstance(message, tmp.TmpText):
            self._send_pdu(tmp.encode_tmp(message.ack()), now)
            self._events.append(TextMessage(
                tmp.address_id(message.source), tmp.address_id(message.destination),
                message.text, message.group,
            ))
        elif isinstance(message, tmp.TmpAck):
            self._events.append(TextAcked(message.request_id, message.result))
        else:
            self._link.count("unhandled_tmp")


def _report(message: rcp.BroadcastTransmitStatus | rcp.BroadcastReceiveStatus) -> tuple[int, ...]:
    return (message.status, message.call_type, message.target, message.source)
