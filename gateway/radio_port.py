"""One donor radio: its control driver and its two audio paths, with the safety rules.

TX path (PoC -> radio):  decoded PCM at the Opus rate -> resample -> lead gate -> sound card.
RX path (radio -> PoC):  sound card -> half-duplex gate -> resample -> 20 ms framer -> sink.

Safety lives here because this is where PTT and audio meet: the radio is keyed only for a
talk, unkeyed after the output drained plus a tail, never left keyed past the time-out
timer, and nothing captured while we transmit (plus a guard after unkey) goes to the PoC side.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from .tasks import spawn
from .media.devices import CaptureStream, PlaybackStream
from .media.resample import Framer, Resampler
from .pdt350.driver import RadioDriver, RadioEvent

log = logging.getLogger(__name__)

RxSink = Callable[[np.ndarray, float], None]


class RadioPort:
    MAX_BACKLOG_S = 0.3  # TX audio queued beyond the lead; more is dropped, not played late
    def __init__(self, name: str, driver: RadioDriver, *, input_device: str | int, output_device: str | int,
                 card_rate: int, codec_rate: int, frame_ms: int = 20, lead_ms: int = 40, tail_ms: int = 60,
                 tot_s: float = 120.0, rx_guard_ms: int = 300, latency_ms: int | None = None) -> None:
        self.name = name
        self.driver = driver
        self.card_rate = card_rate
        self.codec_rate = codec_rate
        self.lead_s = lead_ms / 1000
        self.tail_s = tail_ms / 1000
        self.tot_s = tot_s
        self.rx_guard_s = rx_guard_ms / 1000
        self.playback = PlaybackStream(output_device, card_rate, latency_ms=latency_ms)
        self.capture = CaptureStream(input_device, card_rate, self._on_capture, latency_ms=latency_ms)
        self._tx_resampler = Resampler(codec_rate, card_rate)
        self._rx_resampler = Resampler(card_rate, codec_rate)
        self._rx_framer = Framer(codec_rate * frame_ms // 1000)
        self._rx_sink: RxSink | None = None
        self.link_up = False  # the control link to the radio (set from driver events)
        self.rx_owner: object | None = None  # the talk group bridge the radio's RX audio belongs to
        self._rx_block_t = 0.0
        self.tx_group: int | None = None  # talk group we transmit on (keyed or keying)
        self._tx_open_at: float | None = None  # loop time when TX audio may flow (after lead)
        self._tx_pending: list[np.ndarray] = []
        self._unkey_task: asyncio.Task[None] | None = None
        self._unkeying = False
        self._rekeyed = False
        self._tot_handle: asyncio.TimerHandle | None = None
        self._muted_until = 0.0
        self.counters = {"keys": 0, "unkeys": 0, "tot_expired": 0, "rx_blocks_muted": 0, "key_failures": 0,
                         "tx_backlog_dropped": 0}
        self.on_tot: Callable[[], None] | None = None

    # --- lifecycle -------------------------------------------------------------------
    async def start(self, on_event: Callable[[RadioEvent], None], audio_timeout: float = 8.0) -> None:
        """Bring the control link up (the driver unkeys first), then prove both audio paths flow."""
        await self.driver.start(on_event)
        self.link_up = True
        self.playback.start()
        self.capture.start()
        await self.playback.wait_running(audio_timeout)
        await self.capture.wait_running(audio_timeout)

    async def close(self) -> None:
        """Unkey first, then release everything; safe to call twice."""
        self._cancel_tot()
        if self._unkey_task is not None:
            self._unkey_task.cancel()
        self.playback.clear()
        try:
            await self.driver.close()
        finally:
            self.tx_group = None
            self.playback.close()
            self.capture.close()

    # --- TX: PoC -> radio ------------------------------------------------------------
    @property
    def transmitting(self) -> bool:
        return self.tx_group is not None

    def claim(self, talk_group: int) -> bool:
        """Reserve the transmitter for ``talk_group`` at once (at grant time, before keying).

        Keying is asynchronous, so without a synchronous claim two talk groups sharing this
        radio could both be granted in one loop pass and fight over PTT.
        """
        if self.tx_group is not None and self.tx_group != talk_group:
            return False
        self.tx_group = talk_group
        self._muted_until = float("inf")
        return True

    async def key(self, talk_group: int) -> None:
        """Key for a claimed ``talk_group``; re-keying the same group during the tail cancels the unkey."""
        loop = asyncio.get_running_loop()
        if not self.claim(talk_group):
            raise RuntimeError(f"radio {self.name} is claimed by talk group {self.tx_group}")
        pending = self._unkey_task
        if pending is not None and not pending.done():
            if not self._unkeying:
                self._rekeyed = True  # still draining or in the tail: stay keyed for the next talker
                pending.cancel()
                self._unkey_task = None
                self._arm_tot()
                return
            await asyncio.shield(pending)  # PTT release already on its way: let it finish, then key again
            self.claim(talk_group)
        self._tx_open_at = None
        try:
            await self.driver.key(talk_group)
        except Exception:
            self.counters["key_failures"] += 1
            self.tx_group = None
            self._muted_until = loop.time() + self.rx_guard_s
            await self.driver.unkey()
            raise
        self.counters["keys"] += 1
        self._tx_open_at = loop.time() + self.lead_s
        self._arm_tot()
        if self.lead_s > 0:
            loop.call_later(self.lead_s, self._open_tx)
        else:
            self._open_tx()

    def _open_tx(self) -> None:
        pending, self._tx_pending = self._tx_pending, []
        for pcm in pending:
            self.playback.write(pcm)

    def play(self, pcm_codec_rate: np.ndarray) -> None:
        """Queue decoded PoC audio for the radio; held back until the TX lead has passed."""
        if self.tx_group is None:
            return
        pcm = self._tx_resampler.process(pcm_codec_rate)
        queued = self.playback.queued_s + sum(len(p) for p in self._tx_pending) / self.card_rate
        if queued > self.lead_s + self.MAX_BACKLOG_S:
            # A handset sending faster than real time must not make the radio talk on after it stops.
            self.counters["tx_backlog_dropped"] += 1
            return
        loop = asyncio.get_running_loop()
        if self._tx_open_at is None or loop.time() < self._tx_open_at:
            self._tx_pending.append(pcm)
        else:
            self.playback.write(pcm)

    def end_transmission(self) -> None:
        """The talk ended: drain, hold the tail, unkey (in the background, idempotent)."""
        if self._unkey_task is not None and not self._unkey_task.done():
            return
        if self.tx_group is None and not self.driver.keyed:
            return
        self._rekeyed = False
        self._unkey_task = spawn(self._drain_and_unkey(), name=f"unkey-{self.name}")

    async def _drain_and_unkey(self) -> None:
        try:
            self._open_tx()
            self.playback.write(self._tx_resampler.flush())
            drained = await self.playback.wait_drained(timeout=5.0)
            if not drained:
                log.warning("%s: TX audio did not drain; unkeying anyway", self.name)
                self.playback.clear()
            await asyncio.sleep(self.playback.latency_s + self.tail_s)
        finally:
            # whatever happened while draining (even a cancelled tail that is not followed by a
            # new key), PTT is released unless a new talk on this group took the transmitter over
            if not self._rekeyed:
                self._unkeying = True  # from here on the release is not cancelled by a new talker
                try:
                    await asyncio.shield(self.unkey_now())
                finally:
                    self._unkeying = False

    async def unkey_now(self) -> None:
        self._cancel_tot()
        self.playback.clear()
        self._tx_pending.clear()
        self.tx_group = None
        self._tx_open_at = None
        self._muted_until = asyncio.get_running_loop().time() + self.rx_guard_s
        await self.driver.unkey()
        self.counters["unkeys"] += 1

    def _arm_tot(self) -> None:
        self._cancel_tot()
        self._tot_handle = asyncio.get_running_loop().call_later(self.tot_s, self._tot_expired)

    def _cancel_tot(self) -> None:
        if self._tot_handle is not None:
            self._tot_handle.cancel()
            self._tot_handle = None

    def _tot_expired(self) -> None:
        self.counters["tot_expired"] += 1
        log.warning("%s: transmit time-out (%.0f s): unkeying", self.name, self.tot_s)
        spawn(self.unkey_now(), name=f"tot-unkey-{self.name}")
        if self.on_tot is not None:
            self.on_tot()

    # --- RX: radio -> PoC --------------------------------------------------------------
    def open_rx(self, sink: RxSink) -> None:
        """Feed RX audio to ``sink`` from now on.

        The radio reported a call with a caller ID, so what follows is a real call, not our
        own squelch tail: the post-TX guard ends here instead of clipping the caller's first words.
        """
        self._rx_framer.clear()
        self._rx_sink = sink
        if not self.transmitting:
            self._muted_until = min(self._muted_until, asyncio.get_running_loop().time())

    def close_rx(self) -> np.ndarray | None:
        """Stop feeding the sink; returns the last partial frame padded with silence."""
        self._rx_sink = None
        return self._rx_framer.flush()

    def _on_capture(self, pcm: np.ndarray, t_first: float) -> None:
        if self._rx_sink is None:
            return
        if self.transmitting or t_first < self._muted_until:
            # Half duplex: our own TX, its echo or the squelch tail never goes back to PoC.
            self.counters["rx_blocks_muted"] += 1
            return
        frames = self._rx_framer.push(self._rx_resampler.process(pcm))
        for frame in frames:
            self._rx_sink(frame, t_first)
