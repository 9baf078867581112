"""Sound devices (PortAudio via sounddevice) as pipeline sources and sinks.

The PortAudio callbacks run on PortAudio's own thread (the one thread the design allows
besides the loop); they only copy samples and hand them across with
``call_soon_threadsafe`` or a locked queue. Devices are found by name, never by a
silently-chosen default: a missing card is an error that lists what exists.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import threading
import time
from typing import Any
from collections.abc import Callable

import numpy as np

from ..errors import GatewayError

log = logging.getLogger(__name__)


class AudioDeviceError(GatewayError):
    """A configured sound device is missing or cannot be opened."""


def _sd() -> Any:
    import sounddevice  # imported late: PortAudio enumerates devices at import time

    return sounddevice


def find_device(spec: str | int, kind: str) -> int:
    """Index of the device named ``spec`` (exact name first, then a unique substring)."""
    sd = _sd()
    devices = list(sd.query_devices())
    key = "max_input_channels" if kind == "input" else "max_output_channels"
    usable = [(i, d["name"]) for i, d in enumerate(devices) if d[key] > 0]
    if isinstance(spec, int):
        if any(i == spec for i, _ in usable):
            return spec
        raise AudioDeviceError(f"{kind} device index {spec} does not exist; {kind} devices: {_names(usable)}")
    exact = [i for i, name in usable if name == spec]
    if exact:
        return exact[0]
    partial = [i for i, name in usable if spec in name]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise AudioDeviceError(f"no {kind} sound device named {spec!r}; {kind} devices: {_names(usable)}")
    raise AudioDeviceError(f"{kind} sound device name {spec!r} is ambiguous: {_names([u for u in usable if u[0] in partial])}")


def _names(items: list[tuple[int, str]]) -> str:
    return ", ".join(f"[{i}] {n!r}" for i, n in items) or "(none)"


class _DeviceStream:
    """What both directions share: the PortAudio stream handle and how it is closed."""

    _stream: Any = None

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            finally:
                self._stream = None


class CaptureStream(_DeviceStream):
    """Continuous mono int16 capture; each block goes to ``on_block(pcm, t_first_sample)``.

    ``t_first_sample`` is on the loop's clock (time.monotonic), estimated from the callback
    time minus the block length and the stream's reported input latency.
    """

    def __init__(self, device: str | int, rate: int, on_block: Callable[[np.ndarray, float], None],
                 block_ms: int = 10, latency_ms: int | None = None) -> None:
        self.device = device
        self._latency: float | str = latency_ms / 1000 if latency_ms is not None else "low"
        self.rate = rate
        self.block = rate * block_ms // 1000
        self._on_block = on_block
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.overflows = 0
        self.blocks = 0
        self._running: asyncio.Event | None = None

    def start(self) -> None:
        sd = _sd()
        self._loop = asyncio.get_running_loop()
        self._running = asyncio.Event()
        index = find_device(self.device, "input")
        try:
            self._stream = sd.InputStream(device=index, samplerate=self.rate, channels=1, dtype="int16",
                                          blocksize=self.block, latency=self._latency, callback=self._callback)
            self._stream.start()
        except Exception as exc:  # PortAudioError and friends
            raise AudioDeviceError(f"cannot open input device {self.device!r} at {self.rate} Hz: {exc}") from exc
        log.info("capture %r opened at %d Hz, latency %.1f ms", self.device, self.rate, self._stream.latency * 1000)

    def _callback(self, indata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        latency = self._stream.latency if self._stream is not None else 0.0
        t_first = time.monotonic() - frames / self.rate - latency
        pcm = indata[:, 0].copy()
        assert self._loop is not None
        try:
            self._loop.call_soon_threadsafe(self._deliver, pcm, t_first)
        except RuntimeError:
            pass  # loop closed during shutdown

    def _deliver(self, pcm: np.ndarray, t_first: float) -> None:
        self.blocks += 1
        if self._running is not None:
            self._running.set()
        self._on_block(pcm, t_first)

    async def wait_running(self, timeout: float) -> None:
        """Return once samples flow; a device that opens but delivers nothing is a dead path."""
        assert self._running is not None, "start() first"
        try:
            await asyncio.wait_for(self._running.wait(), timeout)
        except TimeoutError:
            raise AudioDeviceError(f"input device {self.device!r} opened but delivered no audio in {timeout:.0f} s") from None



class PlaybackStream(_DeviceStream):
    """Continuous mono int16 playback from a locked queue; silence when the queue is empty.

    ``write()`` from the loop, the PortAudio callback drains. ``wait_drained()`` returns
    once every queued sample was handed to the device.
    """

    def __init__(self, device: str | int, rate: int, block_ms: int = 10, latency_ms: int | None = None) -> None:
        self.device = device
        self._latency: float | str = latency_ms / 1000 if latency_ms is not None else "low"
        self.rate = rate
        self.block = rate * block_ms // 1000
        self._chunks: collections.deque[np.ndarray] = collections.deque()
        self._lock = threading.Lock()
        self._queued = 0
        self._stream: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._drained: asyncio.Event | None = None
        self.underruns = 0  # our queue ran dry in the middle of a talk (audio arrived late)
        self.device_underflows = 0
        self.samples_played = 0
        self.callbacks = 0

    def start(self) -> None:
        sd = _sd()
        self._loop = asyncio.get_running_loop()
        self._drained = asyncio.Event()
        self._drained.set()
        index = find_device(self.device, "output")
        try:
            self._stream = sd.OutputStream(device=index, samplerate=self.rate, channels=1, dtype="int16",
                                           blocksize=self.block, latency=self._latency, callback=self._callback)
            self._stream.start()
        except Exception as exc:
            raise AudioDeviceError(f"cannot open output device {self.device!r} at {self.rate} Hz: {exc}") from exc
        log.info("playback %r opened at %d Hz, latency %.1f ms", self.device, self.rate, self._stream.latency * 1000)

    @property
    def latency_s(self) -> float:
        return float(self._stream.latency) if self._stream is not None else 0.0

    @property
    def queued_s(self) -> float:
        with self._lock:
            return self._queued / self.rate

    def write(self, pcm: np.ndarray) -> None:
        if len(pcm) == 0 or self._drained is None:  # not started: there is nowhere to play
            return
        with self._lock:
            self._chunks.append(np.asarray(pcm, dtype=np.int16))
            self._queued += len(pcm)
        self._drained.clear()

    def clear(self) -> None:
        with self._lock:
            self._chunks.clear()
            self._queued = 0
        if self._drained is not None:
            self._drained.set()

    async def wait_running(self, timeout: float) -> None:
        """Return once the device pulls samples; an output that never asks is a dead path."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.callbacks < 3:
            if asyncio.get_running_loop().time() > deadline:
                raise AudioDeviceError(f"output device {self.device!r} opened but never requested audio in {timeout:.0f} s")
            await asyncio.sleep(0.02)

    async def wait_drained(self, timeout: float) -> bool:
        if self._drained is None:  # never started: nothing can be queued
            return True
        try:
            await asyncio.wait_for(self._drained.wait(), timeout)
            return True
        except TimeoutError:
            return False

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, status: Any) -> None:
        self.callbacks += 1
        if status.output_underflow:
            self.device_underflows += 1  # the callback came too late: the device played a gap
        out = outdata[:, 0]
        filled = 0
        became_empty = False
        with self._lock:
            had_data = self._queued > 0
            while filled < frames and self._chunks:
                chunk = self._chunks[0]
                n = min(len(chunk), frames - filled)
                out[filled:filled + n] = chunk[:n]
                filled += n
                if n == len(chunk):
                    self._chunks.popleft()
                else:
                    self._chunks[0] = chunk[n:]
            self._queued -= filled
            became_empty = had_data and self._queued == 0
        if filled < frames:
            out[filled:] = 0
            if had_data and not became_empty:
                self.underruns += 1
        self.samples_played += filled
        if became_empty and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._mark_drained)
            except RuntimeError:
                pass

    def _mark_drained(self) -> None:
        with self._lock:
            empty = self._queued == 0
        if empty and self._drained is not None:
            self._drained.set()

