"""asyncio adapter: a Hytera radio on a serial port (HRNP/HDAP/RCP) as a ``RadioDriver``.

Responsible for the real I/O around ``HostSession``: opening the port by URL, reading
(``loop.add_reader`` when the port has a file descriptor, else one reader thread), the
single timer handle driven by ``next_deadline()``, and mapping session events to the
driver events. The protocol itself lives in the sans-IO ``hytera_session``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from ..errors import GatewayError
from . import hytera_events as ev
from .driver import (
    CallState,
    EventSink,
    LinkDown,
    LinkUp,
    RadioDriver,
    ReceiveCall,
    TextReceived,
    TransmitState,
)
from .hytera_session import HostSession, KeyState, LinkState
from .rcp import CallStatus

log = logging.getLogger(__name__)

_CALL_STATES = {
    CallStatus.STARTED: CallState.STARTED,
    CallStatus.HANG: CallState.HANG,
    CallStatus.ENDED: CallState.ENDED,
}
UNKEY_WAIT_S = 0.3


class HyteraLinkError(GatewayError):
    """The HRNP link to the radio could not be opened or is not up."""


class HyteraKeyError(GatewayError):
    """The radio did not key; PTT release has been sent."""


class HyteraDriver(RadioDriver):
    """Drive a Hytera radio over its serial accessory port."""

    def __init__(
        self,
        serial_url: str,
        baudrate: int = 115200,
        radio_id: int | None = None,
        *,
        key_timeout_s: float = 2.0,
        connect_timeout_s: float = 5.0,
        transmit_timeout_s: float = 120.0,
    ) -> None:
        self.serial_url = serial_url
        self.baudrate = baudrate
        self.radio_id = radio_id
        self.key_timeout_s = key_timeout_s
        self.connect_timeout_s = connect_timeout_s
        # the session's own transmit time-out is the last line of defence behind the radio port's
        self._session = HostSession(key_timeout_s=key_timeout_s, transmit_timeout_s=transmit_timeout_s)
        self._port: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_event: EventSink | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._fileno: int | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self._keyed = False
        self._port_error: str | None = None
        self._link_up: asyncio.Future[None] | None = None
        self._key_result: asyncio.Future[None] | None = None
        self._unkeyed: asyncio.Future[None] | None = None

    @property
    def keyed(self) -> bool:
        return self._keyed

    @property
    def counters(self) -> dict[str, int]:
        return self._session.counters

    async def start(self, on_event: EventSink) -> None:
        import serial  # only when this driver is chosen

        self._loop = asyncio.get_running_loop()
        self._on_event = on_event
        try:
            port = serial.serial_for_url(
                self.serial_url, baudrate=self.baudrate, timeout=0, do_not_open=True
            )
            if "://" not in self.serial_url:
                port.exclusive = True
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise HyteraLinkError(f"cannot open radio port {self.serial_url}: {exc}") from exc
        self._port = port
        try:
            self._fileno = port.fileno()
        except Exception:  # loop://, rfc2217:// and friends have no descriptor
            self._fileno = None
        if self._fileno is not None:
            self._loop.add_reader(self._fileno, self._read_ready)
        else:
            port.timeout = 0.05
            self._thread = threading.Thread(target=self._reader_thread, daemon=True)
            self._thread.start()
        self._link_up = self._loop.create_future()
        self._session.connect(self._now())
        self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self._link_up), self.connect_timeout_s)
        except TimeoutError:
            await self._shutdown()
            raise HyteraLinkError(
                f"no HRNP link to the radio at {self.serial_url} within "
                f"{self.connect_timeout_s:g} s"
            ) from None
        await self.unkey()  # the radio is driven unkeyed before anything else
        reported = self._session.radio_id
        if self.radio_id is not None and reported is not None and reported != self.radio_id:
            await self._shutdown()
            raise HyteraLinkError(
                f"radio at {self.serial_url} reports ID {reported}, expected {self.radio_id}"
            )
        self._emit(LinkUp())

    async def key(self, talk_group: int) -> None:
        if self._session.link_state is not LinkState.UP:
            raise HyteraLinkError(f"cannot key: link to {self.serial_url} is not up")
        assert self._loop is not None
        if self._session.key_state is not KeyState.UNKEYED:
            await self.unkey()  # e.g. the radio's own TOT ended the last transmission
        self._key_result = self._loop.create_future()
        self._session.key(talk_group, self._now())
        self._flush()
        try:
            await asyncio.wait_for(asyncio.shield(self._key_result), self.key_timeout_s + 0.5)
        except TimeoutError:
            await self.unkey()
            raise HyteraKeyError(f"radio did not key on talk group {talk_group} in time") from None
        except HyteraKeyError:
            await self.unkey()
            raise

    async def unkey(self) -> None:
        try:
            if self._loop is None or self._session.link_state is LinkState.IDLE:
                return
            self._unkeyed = self._loop.create_future()
            self._session.unkey(self._now())
            self._flush()
            await asyncio.wait_for(asyncio.shield(self._unkeyed), UNKEY_WAIT_S)
        except TimeoutError:
            log.warning("radio at %s did not confirm PTT release", self.serial_url)
        except Exception:
            log.exception("PTT release on %s failed", self.serial_url)
        finally:
            self._set_keyed(False)

    async def send_text(self, target: int, text: str, group: bool = True) -> None:
        if self._session.link_state is not LinkState.UP:
            raise HyteraLinkError(f"cannot send text: link to {self.serial_url} is not up")
        self._session.send_text(target, text, group, self._now())
        self._flush()

    async def close(self) -> None:
        await self.unkey()
        if self._loop is not None and self._port is not None:
            self._session.close(self._now())
            self._flush()
        await self._shutdown()

    # -- I/O plumbing --------------------------------------------------------------------
    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _read_ready(self) -> None:
        try:
            data = self._port.read(4096)
        except Exception as exc:  # device unplugged
            self._on_port_error(exc)
            return
        if data:
            self._on_bytes(bytes(data))

    def _reader_thread(self) -> None:
        assert self._loop is not None
        while not self._closing:
            try:
                data = self._port.read(max(1, self._port.in_waiting))
            except Exception as exc:
                if not self._closing:
                    self._loop.call_soon_threadsafe(self._on_port_error, exc)
                return
            if data:
                self._loop.call_soon_threadsafe(self._on_bytes, bytes(data))

    def _on_bytes(self, data: bytes) -> None:
        for event in self._session.receive(data, self._now()):
            self._handle(event)
        self._flush()

    def _on_timer(self) -> None:
        self._timer = None
        for event in self._session.on_timer(self._now()):
            self._handle(event)
        self._flush()

    def _on_port_error(self, exc: BaseException) -> None:
        log.error("radio port %s failed: %s", self.serial_url, exc)
        if self._fileno is not None and self._loop is not None:
            self._loop.remove_reader(self._fileno)
            self._fileno = None
        self._port_error = f"serial port error: {exc}"
        self._session.close(self._now())
        self._session.bytes_to_send()
        events = self._session.pop_events()
        for event in events:
            self._handle(event)
        if not any(isinstance(e, ev.LinkDown) for e in events) and not self._closing:
            # the link was already down (reconnecting) or not yet up: the port failure is news
            # all the same, and it is permanent (nothing here reopens the port)
            self._set_keyed(False)
            self._emit(LinkDown(self._port_error, permanent=True))

    def _flush(self) -> None:
        for event in self._session.pop_events():
            self._handle(event)
        data = self._session.bytes_to_send()
        if data and self._port is not None and not self._closing:
            try:
                self._port.write(data)
            except Exception as exc:
                log.error("write to radio port %s failed: %s", self.serial_url, exc)
        self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._session.next_deadline()
        if deadline is not None and self._loop is not None and not self._closing:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def _handle(self, event: ev.HostEvent) -> None:
        if isinstance(event, ev.LinkUp):
            if self._link_up is not None and self._link_up.done():
                self._emit(LinkUp())  # back after a reconnect (PTT was released first)
            _resolve(self._link_up)
        elif isinstance(event, ev.LinkDown):
            reason = self._port_error or event.reason
            self._set_keyed(False)
            _fail(self._key_result, HyteraKeyError(f"link down: {reason}"))
            _resolve(self._unkeyed)
            if self._link_up is not None and self._link_up.done():
                reconnect = self._port_error is None and event.reason != "closed by host"
                self._emit(LinkDown(reason, permanent=not reconnect and not self._closing))
                if reconnect and not self._closing:
                    self._session.connect(self._now())  # keep trying to get the radio back
        elif isinstance(event, ev.Keyed):
            self._set_keyed(True)
            _resolve(self._key_result)
        elif isinstance(event, ev.KeyFailed):
            _fail(self._key_result, HyteraKeyError(f"radio did not key: {event.reason}"))
        elif isinstance(event, ev.Unkeyed):
            _resolve(self._unkeyed)
            self._set_keyed(False)
        elif isinstance(event, ev.ReceiveStatus):
            state = _CALL_STATES.get(CallStatus(event.status)) if event.status in (1, 2, 3) else None
            if state is not None:
                self._emit(ReceiveCall(state, event.source, event.target, event.call_type))
        elif isinstance(event, ev.TransmitStatus):
            self._set_keyed(event.status == CallStatus.STARTED)
        elif isinstance(event, ev.TextMessage):
            self._emit(TextReceived(event.source, event.target, event.text, event.group))

    def _set_keyed(self, keyed: bool) -> None:
        if keyed != self._keyed:
            self._keyed = keyed
            self._emit(TransmitState(keyed))

    def _emit(self, event: Any) -> None:
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("radio event handler failed on %r", event)

    async def _shutdown(self) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._fileno is not None and self._loop is not None:
            self._loop.remove_reader(self._fileno)
            self._fileno = None
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 1.0)
            self._thread = None
        if self._port is not None:
            self._port.close()
            self._port = None


def _resolve(future: asyncio.Future[None] | None) -> None:
    if future is not None and not future.done():
        future.set_result(None)


def _fail(future: asyncio.Future[None] | None, exc: BaseException) -> None:
    if future is not None and not future.done():
        future.set_exception(exc)
