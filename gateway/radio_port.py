"""One donor radio: its control driver and its two audio paths, with the safety rules.

TX path (PoC -> radio):  decoded PCM at the Opus rate -> resample -> lead gate -> sound card.
RX path (radio -> PoC):  sound card -> half-duplex gate -> resample -> 20 ms framer -> sink.

Safety lives here because this is where PTT and audio meet. Talk groups *claim* the
transmitter synchronously and then only say what they want (``request_key`` /
``end_transmission``); one reconcile task per radio drives PTT towards that wish, so
key and unkey never race each other. The radio is keyed only for a claimed talk, unkeyed
after the output drained plus a tail, never keyed longer than the time-out timer per
transmission, and nothing captured while we transmit (plus a guard after unkey) goes to the
PoC side. When the radio stops transmitting behind our back (link loss, the radio's own
time-out) the claim's owner is told at once, so a handset never talks into a dead radio.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np

from .media.devices import CaptureStream, PlaybackStream
from .media.resample import Framer, Resampler
from .pdt350.driver import RadioDriver, RadioEvent
from .tasks import spawn

log = logging.getLogger(__name__)

RxSink = Callable[[np.ndarray, float], None]
TxLost = Callable[[str], None]  # called with a revoke reason: "radio_unavailable" | "talk_timeout"


class RadioPort:
    MAX_BACKLOG_S = 0.3  # TX audio queued beyond the lead; more is dropped, not played late
    MAX_HOLD_S = 2.0  # audio held while the radio keys up (a trunked call set-up can take ~0.5 s)
    RX_BUSY_LEVEL = 32768 * 10 ** (-45 / 20)  # -45 dBFS on the receive input means someone talks
    # ... and the radio counts as busy this long after the last such block: longer than the
    # pauses between a talker's sentences (and about a PDT hang time)
    RX_HOLD_S = 2.0

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
        # --- TX state: a claim (who), a wish (keyed or not) and what the radio really does
        self.tx_group: int | None = None  # claimed talk group (keying, keyed or in the tail)
        self._tx_owner: TxLost | None = None
        self._want_keyed = False
        self._force_release = False  # release PTT now, before anything else
        self._on_air = False  # the driver confirmed PTT and we have not released it
        self._wish = asyncio.Event()  # set whenever the wish changes
        self._reconciler: asyncio.Task[None] | None = None
        self._tx_opened = False  # the lead has passed for the current key-up: audio goes to the card
        self._lead_handle: asyncio.TimerHandle | None = None
        self._claim_gen = 0
        self._closed = False
        self._tx_pending: list[np.ndarray] = []
        self._backlog_s = self.lead_s + self.MAX_BACKLOG_S
        self._tot_handle: asyncio.TimerHandle | None = None
        self._muted_until = 0.0
        self._rx_heard_at = float("-inf")
        self._level_ignore_until = 0.0
        self.counters = {"keys": 0, "unkeys": 0, "tot_expired": 0, "rx_blocks_muted": 0, "key_failures": 0,
                         "tx_backlog_dropped": 0, "tx_lost": 0}

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
        """Unkey first, then release everything; safe to call twice. A closed port stays closed."""
        self._closed = True
        self._want_keyed = False
        self._close_tx_gate()
        self._cancel_tot()
        if self._reconciler is not None:
            self._reconciler.cancel()
            self._reconciler = None
        self._drop_tx_audio()
        try:
            await self.driver.close()
        finally:
            self._on_air = False
            self._release_claim()
            self.playback.close()
            self.capture.close()

    # --- TX: claims and wishes (synchronous, from the talk-group bridges) ---------------
    @property
    def transmitting(self) -> bool:
        """True while a talk group holds the transmitter (keying, keyed or in the tail)."""
        return self.tx_group is not None

    def claim(self, talk_group: int, on_lost: TxLost | None = None) -> bool:
        """Reserve the transmitter for ``talk_group`` now (at grant time, before keying).

        Keying is asynchronous, so without a synchronous claim two talk groups sharing this
        radio could both be granted in one loop pass. A claim by the same talk group (the
        next talker during the tail) succeeds and takes over the owner callback.
        """
        if self._closed or (self.tx_group is not None and self.tx_group != talk_group):
            return False
        if self.tx_group is None:
            self._claim_gen += 1  # a new claim: results of work for an older one are stale
        self.tx_group = talk_group
        self._tx_owner = on_lost
        self._muted_until = float("inf")
        return True

    def request_key(self) -> None:
        """The claimed talk wants the radio on air (idempotent: a keyed radio stays keyed)."""
        if self._closed:
            return
        if self.tx_group is None:
            raise RuntimeError(f"radio {self.name}: request_key() without a claim")
        self._want_keyed = True
        self._kick()

    def end_transmission(self) -> None:
        """The talk ended: drain, hold the tail, unkey, release the claim (idempotent)."""
        self._want_keyed = False
        self._kick()

    async def key(self, talk_group: int) -> None:
        """Claim, key and wait until on air (for tools and tests; bridges use claim + request_key)."""
        if not self.claim(talk_group, self._tx_owner):
            raise RuntimeError(f"radio {self.name} is claimed by talk group {self.tx_group}")
        self.request_key()
        while self._want_keyed and not self._on_air:
            self._wish.clear()
            await self._wish.wait()
        if not self._on_air:
            raise RuntimeError(f"radio {self.name} did not key")

    async def unkey_now(self) -> None:
        """Release PTT at once (no drain, no tail) and drop the claim; returns when done."""
        self._want_keyed = False
        self._force_release = True
        self._drop_tx_audio()
        self._kick()
        if self._reconciler is not None:
            await asyncio.shield(self._reconciler)

    # --- TX: the one task that drives PTT ----------------------------------------------------
    def _kick(self) -> None:
        self._wish.set()
        if self._closed:
            return
        if self._reconciler is None or self._reconciler.done():
            self._reconciler = spawn(self._reconcile(), name=f"ptt-{self.name}")

    async def _reconcile(self) -> None:
        while True:
            self._wish.clear()
            if self._force_release:  # a lost talk or the time-out: PTT off now, no drain, no tail
                self._force_release = False
                await self._release_ptt()
            elif self._want_keyed and not self._on_air:
                await self._key_up()
            elif not self._want_keyed and self._on_air:
                if await self._drain_and_tail():  # a new talk wished the radio on air: stay keyed
                    continue
                await self._release_ptt()
            elif not self._want_keyed:
                self._release_claim()
                return
            else:
                await self._wish.wait()

    async def _key_up(self) -> None:
        if self.tx_group is None:
            return
        talk_group, generation = self.tx_group, self._claim_gen
        loop = asyncio.get_running_loop()
        self._close_tx_gate()
        try:
            await self.driver.key(talk_group)
        except Exception as exc:
            self.counters["key_failures"] += 1
            log.error("radio %s: cannot key on talk group %d: %s", self.name, talk_group, exc)
            if generation == self._claim_gen and self.tx_group == talk_group:
                self._lost("radio_unavailable")  # the reconcile loop releases PTT next
            else:
                self._force_release = True  # a failure of an older claim: release, tell no one
            return
        if (not self._want_keyed or self.tx_group != talk_group or generation != self._claim_gen
                or self._force_release):
            # the talk ended, was lost or the radio changed hands while it keyed up: PTT off
            self._force_release = True
            return
        self.counters["keys"] += 1
        log.info("radio %s keyed on talk group %d", self.name, talk_group)
        self._on_air = True
        self._arm_tot()  # once per physical key-up: chained talks do not extend it
        self._lead_handle = loop.call_later(self.lead_s, self._open_tx)
        self._wish.set()  # let key() waiters see the new state

    def _close_tx_gate(self) -> None:
        """Audio waits again for a key-up and its lead (a timer from an earlier key-up is void)."""
        self._tx_opened = False
        if self._lead_handle is not None:
            self._lead_handle.cancel()
            self._lead_handle = None

    async def _pause(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when the wish changes (state is re-read after)."""
        self._wish.clear()
        try:
            await asyncio.wait_for(self._wish.wait(), max(seconds, 0.0))
        except TimeoutError:
            pass

    async def _drain_and_tail(self) -> bool:
        """Play out what is queued, then hold the tail. True if a talk wished the radio on air meanwhile."""
        self._open_tx()
        self.playback.write(self._tx_resampler.flush())
        loop = asyncio.get_running_loop()
        give_up = loop.time() + 5.0
        while self.playback.queued_s > 0 and not self._want_keyed:
            if loop.time() >= give_up:
                log.warning("radio %s: TX audio did not drain; unkeying anyway", self.name)
                break
            await self._pause(0.01)
        tail_end = loop.time() + self.playback.latency_s + self.tail_s
        while not self._want_keyed and loop.time() < tail_end:
            await self._pause(tail_end - loop.time())
        return self._want_keyed

    async def _release_ptt(self) -> None:
        self._cancel_tot()
        self._drop_tx_audio()
        was_on_air = self._on_air
        self._on_air = False
        self._close_tx_gate()  # the next talk waits for its own key-up and lead
        await self.driver.unkey()  # never raises; sent whatever we believe the state to be
        if was_on_air:
            self.counters["unkeys"] += 1
            log.info("radio %s unkeyed", self.name)

    def _release_claim(self) -> None:
        if self.tx_group is not None:
            self.tx_group = None
            self._tx_owner = None
            now = asyncio.get_running_loop().time()
            # the squelch-tail guard is for unreported audio; a call the radio reported (another
            # radio's ID, waiting behind our talk) is heard from its first word
            self._muted_until = now if self._rx_sink is not None else now + self.rx_guard_s
        self._wish.set()

    def _lost(self, reason: str) -> None:
        """The talk cannot go on air (any more): PTT off via the reconcile task, the wish and
        the claim dropped, and the owner told (it revokes its talker)."""
        owner = self._tx_owner
        self.counters["tx_lost"] += 1
        self._want_keyed = False
        self._force_release = True
        self._cancel_tot()
        self._drop_tx_audio()
        self._release_claim()
        self._kick()
        if owner is not None:
            owner(reason)

    def radio_stopped_transmitting(self, reason: str = "radio_unavailable") -> None:
        """The driver reports PTT off or a lost link while we believe we are on air."""
        if self._force_release or self._closed:
            return  # already being released, or shutting down (close() unkeys)
        if self._on_air or (self._want_keyed and not self.link_up):
            log.warning("radio %s stopped transmitting behind our back (%s)", self.name, reason)
            self._lost(reason)

    def _drop_tx_audio(self) -> None:
        self._tx_pending.clear()
        self.playback.clear()
        self._tx_resampler.flush()

    # --- TX audio -------------------------------------------------------------------------
    def _open_tx(self) -> None:
        self._lead_handle = None
        pending, self._tx_pending = self._tx_pending, []
        if not self._on_air:
            return  # the talk ended or failed before the lead passed: nothing to play
        self._tx_opened = True
        held = sum(len(p) for p in pending) / self.card_rate
        # what a slow key-up (trunked call set-up) held back is played, not dropped; the
        # backlog allowance grows by it so the talk goes on without gaps
        self._backlog_s = max(self.lead_s + self.MAX_BACKLOG_S, held + self.MAX_BACKLOG_S)
        for pcm in pending:
            self.playback.write(pcm)

    def play(self, pcm_codec_rate: np.ndarray) -> None:
        """Queue decoded PoC audio for the radio; held back until the TX lead has passed."""
        if self.tx_group is None or not self._want_keyed:
            return
        pcm = self._tx_resampler.process(pcm_codec_rate)
        queued = self.playback.queued_s + sum(len(p) for p in self._tx_pending) / self.card_rate
        limit = self._backlog_s if self._tx_opened else self.MAX_HOLD_S  # held audio counts until played
        if queued > limit:
            # A handset sending faster than real time must not make the radio talk on after it stops.
            self.counters["tx_backlog_dropped"] += 1
            return
        if not self._tx_opened:
            self._tx_pending.append(pcm)
        else:
            self.playback.write(pcm)

    # --- time-out timer (per physical transmission) ----------------------------------------
    def _arm_tot(self) -> None:
        self._cancel_tot()
        self._tot_handle = asyncio.get_running_loop().call_later(self.tot_s, self._tot_expired)

    def _cancel_tot(self) -> None:
        if self._tot_handle is not None:
            self._tot_handle.cancel()
            self._tot_handle = None

    def _tot_expired(self) -> None:
        self._tot_handle = None
        self.counters["tot_expired"] += 1
        log.warning("radio %s: transmit time-out (%.0f s): unkeying", self.name, self.tot_s)
        self._lost("talk_timeout")

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
        # the radio reported the call's end: its last words still in the capture buffers are
        # not a new, unreported call
        self._rx_heard_at = float("-inf")
        self._level_ignore_until = asyncio.get_running_loop().time() + self.rx_guard_s
        return self._rx_framer.flush()

    @property
    def rx_active(self) -> bool:
        """Audio is coming out of the radio's speaker output (a call, reported or not)."""
        return asyncio.get_running_loop().time() - self._rx_heard_at < self.RX_HOLD_S

    def _on_capture(self, pcm: np.ndarray, t_first: float) -> None:
        if not self.transmitting and t_first >= max(self._muted_until, self._level_ignore_until) and len(pcm):
            # A call the radio never reported (it began before we connected, or a report was
            # lost) still comes out of the speaker: never key over it.
            level = float(np.sqrt(np.mean(pcm.astype(np.float32) ** 2)))
            if level > self.RX_BUSY_LEVEL:
                self._rx_heard_at = t_first
        if self._rx_sink is None:
            return
        if self.transmitting or t_first < self._muted_until:
            # Half duplex: our own TX, its echo or the squelch tail never goes back to PoC.
            self.counters["rx_blocks_muted"] += 1
            return
        frames = self._rx_framer.push(self._rx_resampler.process(pcm))
        for frame in frames:
            self._rx_sink(frame, t_first)
