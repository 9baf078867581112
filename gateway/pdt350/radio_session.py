"""Sans-IO radio side of a Hytera HRNP/RCP link: how a radio answers a host (for emulators).

Responsible for behaving like a radio: accept a connect, acknowledge every DATA frame,
answer call, PTT, status-configuration and radio-ID requests, report its own
transmissions (only once the host enabled reports with 0x10C9), report received calls,
exchange texts and cap every transmission with a time-out timer (TOT).
A PTT press with no successful call request since connecting keys on the last selected
group (``default_group`` until one is selected), as a real radio keys its selected channel.
No I/O and no clock: inputs carry ``now``, output is drained with ``bytes_to_send()``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .hrnp import HOST_ADDRESS, RADIO_ADDRESS, HrnpFrame, HrnpOpcode
from .hdap_session import HdapSession
from . import rcp, tmp

RESULT_UNSUPPORTED = 0x01  # call reply for call types this emulated radio cannot place


@dataclass(frozen=True)
class HostConnected:
    pass


@dataclass(frozen=True)
class HostClosed:
    pass


@dataclass(frozen=True)
class PttPressed:
    talk_group: int


@dataclass(frozen=True)
class PttReleased:
    """Transmission ended; ``reason`` is "host" (PTT release) or "tot" (time-out timer)."""

    talk_group: int
    reason: str


@dataclass(frozen=True)
class TextFromHost:
    target: int
    text: str
    group: bool


RadioEvent = HostConnected | HostClosed | PttPressed | PttReleased | TextFromHost


class RadioLinkState(enum.Enum):
    LISTENING = "listening"
    CONNECTED = "connected"


class TxState(enum.Enum):
    IDLE = "idle"
    TRANSMITTING = "transmitting"
    HANG = "hang"  # PTT released, hang time running before "call ended"


class TxInput(enum.Enum):
    PRESS = "press"
    RELEASE = "release"
    TOT = "tot"
    HANG_OVER = "hang_over"


_T, _I = TxState, TxInput
TX_TABLE: dict[tuple[TxState, TxInput], TxState] = {
    (_T.IDLE, _I.PRESS): _T.TRANSMITTING,
    (_T.HANG, _I.PRESS): _T.TRANSMITTING,
    (_T.TRANSMITTING, _I.PRESS): _T.TRANSMITTING,
    (_T.TRANSMITTING, _I.RELEASE): _T.HANG,
    (_T.TRANSMITTING, _I.TOT): _T.HANG,
    (_T.IDLE, _I.RELEASE): _T.IDLE,
    (_T.HANG, _I.RELEASE): _T.HANG,
    (_T.HANG, _I.HANG_OVER): _T.IDLE,
}


class RadioSession(HdapSession[RadioEvent]):
    """The radio's end of the HRNP link."""

    def __init__(
        self,
        radio_id: int,
        *,
        default_group: int = 1,
        hang_time_s: float = 2.0,
        tot_s: float = 120.0,
        retry_interval_s: float = 0.3,
        max_retries: int = 3,
    ) -> None:
        self.radio_id = radio_id
        self.selected_group = default_group
        self._hang_time_s = hang_time_s
        self._tot_s = tot_s
        super().__init__(RADIO_ADDRESS, HOST_ADDRESS, retry_interval_s=retry_interval_s, max_retries=max_retries)
        self.link_state = RadioLinkState.LISTENING
        self.tx_state = TxState.IDLE
        self.reports_enabled = False
        self._tx_group = default_group
        self._deadline: float | None = None  # TOT while transmitting, hang end in HANG
        self._next_request_id = 1

    @property
    def transmitting(self) -> bool:
        return self.tx_state is TxState.TRANSMITTING

    def next_deadline(self) -> float | None:
        candidates = (self._deadline, self._link.next_deadline())
        return min((d for d in candidates if d is not None), default=None)

    def on_timer(self, now: float) -> list[RadioEvent]:
        if not self._link.on_timer(now):
            pass  # the radio drops unacknowledged data; counted by the endpoint
        if self._deadline is not None and now >= self._deadline:
            self._deadline = None
            if self.tx_state is TxState.TRANSMITTING:
                self._release("tot", now)
            elif self._tx_input(TxInput.HANG_OVER):
                self._report_tx(rcp.CallStatus.ENDED, now)
        return self.pop_events()

    # -- the radio's own actions ---------------------------------------------------------
    def report_receive_call(
        self, status: rcp.CallStatus, source: int, target: int, now: float, call_type: int = 1
    ) -> None:
        """Report a call heard over the air (sent only if the host enabled reports)."""
        if not self._may_report():
            return
        self._send_pdu(rcp.encode_rcp(rcp.BroadcastReceiveStatus(status, call_type, target, source)), now)

    def send_text(self, target: int, text: str, group: bool, now: float) -> int:
        """Deliver a text this radio received over the air to the host (0 if no host)."""
        if self.link_state is not RadioLinkState.CONNECTED:
            self._link.count("text_while_listening")
            return 0
        request_id, self._next_request_id = self._next_request_id, self._next_request_id + 1
        service = tmp.TmpService.GROUP_MESSAGE if group else tmp.TmpService.PRIVATE_MESSAGE
        destination = target if group else tmp.radio_address(target)
        message = tmp.TmpText(service, request_id, destination, tmp.radio_address(self.radio_id), text)
        self._send_pdu(tmp.encode_tmp(message), now)
        return request_id

    # -- input ---------------------------------------------------------------------------
    def receive(self, data: bytes, now: float) -> list[RadioEvent]:
        for frame in self._link.deframer.feed(data):
            if frame.destination != RADIO_ADDRESS or frame.source != HOST_ADDRESS:
                self._link.count("wrong_address")
                continue
            self._on_frame(frame, now)
        return self.pop_events()

    def _on_frame(self, frame: HrnpFrame, now: float) -> None:
        op = frame.opcode
        if op is HrnpOpcode.CONNECT:
            self._link.reset()
            self._link.version = frame.version
            self.reports_enabled = False
            self.link_state = RadioLinkState.CONNECTED
            self._link.send_control(HrnpOpcode.ACCEPT)
            self._events.append(HostConnected())
        elif self.link_state is not RadioLinkState.CONNECTED:
            self._link.count(f"{op.name.lower()}_while_listening")
        elif op is HrnpOpcode.CLOSE:
            self.link_state = RadioLinkState.LISTENING
            self._link.reset()
            self._events.append(HostClosed())
        elif op is HrnpOpcode.DATA_ACK:
            self._link.accept_ack(frame, now)
        elif op is HrnpOpcode.DATA:
            payload = self._link.accept_data(frame)
            if payload is not None:
                self._on_payload(payload, now)
        else:
            self._link.count(f"unexpected_{op.name.lower()}")

    def _on_rcp(self, message: rcp.Rcp, now: float) -> None:
        reply: rcp.Rcp
        if isinstance(message, rcp.CallRequest):
            if message.call_type == rcp.CallType.GROUP:
                self.selected_group = message.target
                reply = rcp.CallReply(rcp.RESULT_SUCCESS)
            else:
                reply = rcp.CallReply(RESULT_UNSUPPORTED)
            self._send_rcp(reply, now)
        elif isinstance(message, rcp.ButtonRequest):
            self._send_rcp(rcp.ButtonReply(rcp.RESULT_SUCCESS), now)
            if message.key != rcp.PTT_KEY:
                self._link.count("non_ptt_button")
            elif message.pressed:
                self._press(now)
            else:
                self._release("host", now)
        elif isinstance(message, rcp.BroadcastStatusConfig):
            self.reports_enabled = message.settings == rcp.REPORTS_ON
            self._send_rcp(rcp.BroadcastStatusConfigReply(rcp.RESULT_SUCCESS), now)
        elif isinstance(message, rcp.RadioIdRequest):
            self._send_rcp(rcp.RadioIdReply.for_id(self.radio_id, message.kind), now)
        else:
            self._link.count("unhandled_rcp")

    def _on_tmp(self, message: tmp.Tmp, now: float) -> None:
        if isinstance(message, tmp.TmpText):
            self._send_pdu(tmp.encode_tmp(message.ack()), now)
            target = tmp.address_id(message.destination)
            self._events.append(TextFromHost(target, message.text, message.group))
        elif not isinstance(message, tmp.TmpAck):
            self._link.count("unhandled_tmp")

    def _press(self, now: float) -> None:
        was = self.tx_state
        self._tx_input(TxInput.PRESS)
        if was is TxState.TRANSMITTING:
            return
        self._tx_group = self.selected_group
        self._deadline = now + self._tot_s
        self._events.append(PttPressed(self._tx_group))
        self._report_tx(rcp.CallStatus.STARTED, now)

    def _release(self, reason: str, now: float) -> None:
        was = self.tx_state
        self._tx_input(TxInput.TOT if reason == "tot" else TxInput.RELEASE)
        if was is not TxState.TRANSMITTING:
            return
        self._deadline = now + self._hang_time_s
        self._events.append(PttReleased(self._tx_group, reason))
        self._report_tx(rcp.CallStatus.HANG, now)

    def _tx_input(self, event: TxInput) -> bool:
        new = TX_TABLE.get((self.tx_state, event))
        if new is None:
            self._link.count(f"illegal_{self.tx_state.value}_{event.value}")
            return False
        self.tx_state = new
        return True

    def _may_report(self) -> bool:
        if self.link_state is not RadioLinkState.CONNECTED or not self.reports_enabled:
            self._link.count("reports_suppressed")
            return False
        return True

    def _report_tx(self, status: rcp.CallStatus, now: float) -> None:
        if self._may_report():
            report = rcp.BroadcastTransmitStatus(
                status, rcp.CallType.GROUP, self._tx_group, self.radio_id
            )
            self._send_rcp(report, now)

