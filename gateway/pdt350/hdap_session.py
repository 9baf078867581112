"""What both ends of a Hytera control link share (sans-IO): an HRNP endpoint for reliable
DATA exchange, a list of pending events, and dispatch of received HDAP PDUs to RCP/TMP
handlers. ``HostSession`` (the gateway) and ``RadioSession`` (the emulated radio) add their
own state machines on top; this base knows neither.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from ..errors import PeerError
from . import rcp, tmp
from .hdap import HdapPdu, HdapProtocol
from .hrnp_link import HrnpEndpoint

EventT = TypeVar("EventT")


class HdapSession(Generic[EventT]):
    def __init__(self, own_address: int, peer_address: int, *, retry_interval_s: float, max_retries: int) -> None:
        self._link = HrnpEndpoint(own_address, peer_address, retry_interval_s=retry_interval_s,
                                  max_retries=max_retries)
        self._events: list[EventT] = []

    @property
    def counters(self) -> dict[str, int]:
        return self._link.all_counters()

    def bytes_to_send(self) -> bytes:
        return self._link.take_output()

    def pop_events(self) -> list[EventT]:
        events, self._events = self._events, []
        return events

    def _send_pdu(self, pdu: HdapPdu, now: float) -> None:
        self._link.send_data(pdu.encode(), now)

    def _send_rcp(self, message: rcp.Rcp, now: float) -> None:
        self._send_pdu(rcp.encode_rcp(message), now)

    def _on_payload(self, payload: bytes, now: float) -> None:
        """A delivered DATA payload: decode the HDAP PDU and hand it on; garbage is counted."""
        try:
            pdu = HdapPdu.decode(payload)
            if pdu.protocol is HdapProtocol.RCP:
                self._on_rcp(rcp.decode_rcp(pdu), now)
            elif pdu.protocol is HdapProtocol.TMP:
                self._on_tmp(tmp.decode_tmp(pdu), now)
            else:
                self._link.count(f"unhandled_{pdu.protocol.name.lower()}")
        except PeerError:
            self._link.count("bad_pdu")

    def _on_rcp(self, message: rcp.Rcp, now: float) -> None:
        raise NotImplementedError

    def _on_tmp(self, message: tmp.Tmp, now: float) -> None:
        raise NotImplementedError
