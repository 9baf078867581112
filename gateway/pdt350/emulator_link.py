"""An emulated Hytera radio on a real pseudo-terminal, for tests and bench use.

Responsible for the I/O around ``RadioSession``: it creates a pty, serves the master end
with ``loop.add_reader`` and one timer handle, and exposes the radio's behaviour (PTT
reports with loop-time timestamps, incoming calls, texts). The gateway opens
``device_path`` like a real serial port. A transmission longer than ``tot_s`` is
released by the radio's own time-out timer, like a real radio's TOT.
"""

from __future__ import annotations

import asyncio
import os
import tty
from dataclasses import dataclass
from collections.abc import Callable

from .radio_session import (
    HostClosed,
    HostConnected,
    PttPressed,
    PttReleased,
    RadioEvent,
    RadioSession,
    TextFromHost,
)
from .rcp import CallStatus, CallType


@dataclass(frozen=True)
class PttChange:
    """PTT went on (``keyed``) or off at loop time ``at``; ``reason`` "host" or "tot"."""

    at: float
    keyed: bool
    talk_group: int | None
    reason: str = "host"


PttCallback = Callable[[bool, "int | None"], None]


class EmulatedRadioLink:
    """A radio with ID ``radio_id`` behind a pty; ``start()`` before use."""

    def __init__(
        self,
        radio_id: int,
        *,
        tot_s: float = 120.0,
        hang_time_s: float = 2.0,
        default_group: int = 1,
        on_ptt: PttCallback | None = None,
    ) -> None:
        self.radio_id = radio_id
        self.on_ptt = on_ptt
        self.session = RadioSession(
            radio_id, default_group=default_group, hang_time_s=hang_time_s, tot_s=tot_s
        )
        self.ptt_log: list[PttChange] = []
        self.texts: list[TextFromHost] = []
        self.host_connected = False
        self._master: int | None = None
        self._slave: int | None = None
        self._device_path: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._changed = asyncio.Event()

    @property
    def device_path(self) -> str:
        if self._device_path is None:
            raise RuntimeError("EmulatedRadioLink.start() has not run")
        return self._device_path

    @property
    def keyed(self) -> bool:
        return self.session.transmitting

    @property
    def counters(self) -> dict[str, int]:
        return self.session.counters

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self._device_path = os.ttyname(self._slave)
        self._loop.add_reader(self._master, self._read_ready)

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 2.0) -> None:
        """Wait until ``predicate()`` holds (checked after every radio event)."""
        async def _wait() -> None:
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(_wait(), timeout)

    async def incoming_call_start(self, source: int, talk_group: int) -> None:
        self._act(lambda now: self.session.report_receive_call(
            CallStatus.STARTED, source, talk_group, now, CallType.GROUP
        ))

    async def incoming_call_end(self, source: int, talk_group: int) -> None:
        self._act(lambda now: self.session.report_receive_call(
            CallStatus.ENDED, source, talk_group, now, CallType.GROUP
        ))

    async def send_text(self, target: int, text: str, group: bool = True) -> None:
        self._act(lambda now: self.session.send_text(target, text, group, now))

    async def pause_answering(self) -> None:
        """Go silent (a radio that hangs or loses power to its data port): host bytes are no longer
        read or answered, but the pty stays open."""
        if self._loop is not None and self._master is not None:
            self._loop.remove_reader(self._master)

    def inject_bytes(self, data: bytes) -> None:
        """Write raw bytes to the gateway (fault injection: line noise, garbage)."""
        if self._master is not None:
            os.write(self._master, data)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._loop is not None and self._master is not None:
            self._loop.remove_reader(self._master)
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = None

    # -- plumbing ------------------------------------------------------------------------
    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _act(self, action: Callable[[float], object]) -> None:
        action(self._now())
        self._flush(self.session.pop_events())

    def _read_ready(self) -> None:
        assert self._master is not None
        try:
            data = os.read(self._master, 4096)
        except BlockingIOError:
            return
        except OSError:  # EIO: no process holds the slave end open
            return
        self._flush(self.session.receive(data, self._now()))

    def _on_timer(self) -> None:
        self._timer = None
        self._flush(self.session.on_timer(self._now()))

    def _flush(self, events: list[RadioEvent]) -> None:
        for event in events:
            self._handle(event)
        data = self.session.bytes_to_send()
        if data and self._master is not None:
            os.write(self._master, data)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self.session.next_deadline()
        if deadline is not None and self._loop is not None:
            self._timer = self._loop.call_at(deadline, self._on_timer)
        self._changed.set()

    def _handle(self, event: RadioEvent) -> None:
        if isinstance(event, HostConnected):
            self.host_connected = True
        elif isinstance(event, HostClosed):
            self.host_connected = False
        elif isinstance(event, PttPressed):
            self._ptt(PttChange(self._now(), True, event.talk_group))
        elif isinstance(event, PttReleased):
            self._ptt(PttChange(self._now(), False, event.talk_group, event.reason))
        elif isinstance(event, TextFromHost):
            self.texts.append(event)

    def _ptt(self, change: PttChange) -> None:
        self.ptt_log.append(change)
        if self.on_ptt is not None:
            self.on_ptt(change.keyed, change.talk_group)
