"""Reliable HRNP DATA exchange for one end of a link (sans-IO, shared by both sessions).

Responsible for: deframing input, acknowledging every DATA frame with a DATA-ACK of the
same packet number, delivering a retransmitted DATA frame only once, numbering our own
DATA frames and retransmitting them (stop-and-wait, one in flight) until acknowledged.
It knows nothing about RCP/TMP meaning, link states, wall clocks or I/O: time comes in as
``now`` and output leaves through ``take_output()``.
"""

from __future__ import annotations

from collections import deque

from .hrnp import HrnpDeframer, HrnpFrame, HrnpOpcode

VERSION = 4


class HrnpEndpoint:
    """One side of the HRNP DATA exchange; ``counters`` holds what went wrong."""

    def __init__(
        self,
        own_address: int,
        peer_address: int,
        *,
        retry_interval_s: float = 0.3,
        max_retries: int = 3,
    ) -> None:
        self.own_address = own_address
        self.peer_address = peer_address
        self.version = VERSION
        self.retry_interval_s = retry_interval_s
        self.max_retries = max_retries
        self.deframer = HrnpDeframer()
        self.counters: dict[str, int] = {}
        self._output = bytearray()
        self._queue: deque[bytes] = deque()
        self._in_flight: HrnpFrame | None = None
        self._attempts = 0
        self._retry_at: float | None = None
        self._next_packet_number = 0
        self._last_received: int | None = None

    def count(self, name: str) -> None:
        self.counters[name] = self.counters.get(name, 0) + 1

    def all_counters(self) -> dict[str, int]:
        return {**self.deframer.counters, **self.counters}

    def reset(self) -> None:
        """Forget queued and in-flight data and the duplicate filter (new connection)."""
        self._queue.clear()
        self._in_flight = None
        self._retry_at = None
        self._attempts = 0
        self._next_packet_number = 0
        self._last_received = None

    def take_output(self) -> bytes:
        data, self._output = bytes(self._output), bytearray()
        return data

    def send_control(self, opcode: HrnpOpcode, packet_number: int = 0) -> None:
        frame = HrnpFrame(
            opcode, self.own_address, self.peer_address, packet_number, version=self.version
        )
        self._output += frame.encode()

    def send_data(self, payload: bytes, now: float) -> None:
        self._queue.append(payload)
        self._start_next(now)

    @property
    def idle(self) -> bool:
        return self._in_flight is None and not self._queue

    def accept_data(self, frame: HrnpFrame) -> bytes | None:
        """Acknowledge a DATA frame; return its payload unless it is a retransmission."""
        self.send_control(HrnpOpcode.DATA_ACK, frame.packet_number)
        if frame.packet_number == self._last_received:
            self.count("duplicate_data")
            return None
        self._last_received = frame.packet_number
        return frame.payload

    def accept_ack(self, frame: HrnpFrame, now: float) -> None:
        if self._in_flight is None or frame.packet_number != self._in_flight.packet_number:
            self.count("unexpected_ack")
            return
        self._in_flight = None
        self._retry_at = None
        self._start_next(now)

    def next_deadline(self) -> float | None:
        return self._retry_at

    def on_timer(self, now: float) -> bool:
        """Retransmit when due; False once the in-flight frame ran out of retries."""
        if self._retry_at is None or now < self._retry_at or self._in_flight is None:
            return True
        if self._attempts > self.max_retries:
            self.count("data_given_up")
            self._in_flight = None
            self._retry_at = None
            self._start_next(now)
            return False
        self.count("retransmissions")
        self._transmit(now)
        return True

    def _start_next(self, now: float) -> None:
        if self._in_flight is not None or not self._queue:
            return
        self._in_flight = HrnpFrame(
            HrnpOpcode.DATA,
            self.own_address,
            self.peer_address,
            self._next_packet_number,
            self._queue.popleft(),
            version=self.version,
        )
        self._next_packet_number = (self._next_packet_number + 1) & 0xFFFF
        self._attempts = 0
        self._transmit(now)

    def _transmit(self, now: float) -> None:
        assert self._in_flight is not None
        self._output += self._in_flight.encode()
        self._attempts += 1
        self._retry_at = now + self.retry_interval_s
