"""A virtual PDT donor radio: the Hytera control protocol on a pty, audio on PulseAudio sinks.

It behaves like the radio, not like the gateway's mirror: it accepts the connect, answers
call requests and PTT, reports its own transmissions, and reports calls it "receives over
the air" with caller and talk group. While keyed it records what the gateway plays into its
microphone input; a received call is played into the speaker output the gateway records.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..media.devices import CaptureStream, PlaybackStream
from ..media.resample import Resampler
from ..media.wav import write_wav
from .emulator_link import EmulatedRadioLink

log = logging.getLogger(__name__)

EMULATOR_LATENCY_MS: int | None = None


@dataclass
class Transmission:
    """What the radio put on air while keyed by the gateway."""

    talk_group: int | None
    keyed_at: float
    unkeyed_at: float | None = None
    blocks: list[tuple[float, np.ndarray]] = field(default_factory=list)

    def audio(self) -> tuple[float, np.ndarray]:
        """(time of the first sample, samples) at the card rate."""
        if not self.blocks:
            return self.keyed_at, np.zeros(0, dtype=np.int16)
        return self.blocks[0][0], np.concatenate([b for _, b in self.blocks])


@dataclass(frozen=True)
class ReceivedCall:
    source: int
    talk_group: int
    reported_at: float
    on_air_at: float  # estimated time the first sample left the radio's speaker output
    ended_at: float


class EmulatedRadio:
    def __init__(self, radio_id: int = 2001, *, mic_input: str | int = "emu_tx_in",
                 speaker_output: str | int = "emu_air_out", card_rate: int = 48000) -> None:
        self.radio_id = radio_id
        self.card_rate = card_rate
        self.link = EmulatedRadioLink(radio_id)
        # Same buffering as the gateway's side ("low"): the benchmark's delay figures rely on the
        # streams' nominal latency, which a larger buffer here would skew (tried: 60 ms).
        self._mic = CaptureStream(mic_input, card_rate, self._on_mic, latency_ms=EMULATOR_LATENCY_MS)
        self._speaker = PlaybackStream(speaker_output, card_rate, latency_ms=EMULATOR_LATENCY_MS)
        self.transmissions: list[Transmission] = []
        self.calls: list[ReceivedCall] = []
        self._current: Transmission | None = None
        self._call_lock = asyncio.Lock()

    @property
    def device_path(self) -> str:
        return self.link.device_path

    @property
    def keyed(self) -> bool:
        return bool(self.link.keyed)

    @property
    def xruns(self) -> dict[str, int]:
        """Sound glitches on the emulator's own side (not the gateway's)."""
        return {"emulator_speaker_underflows": self._speaker.device_underflows,
                "emulator_mic_overflows": self._mic.overflows}

    async def start(self, audio_timeout: float = 8.0) -> None:
        self.link.on_ptt = self._on_ptt
        await self.link.start()
        self._mic.start()
        self._speaker.start()
        await self._mic.wait_running(audio_timeout)
        await self._speaker.wait_running(audio_timeout)
        log.info("emulated radio %d on %s", self.radio_id, self.device_path)

    async def close(self) -> None:
        self._mic.close()
        self._speaker.close()
        await self.link.close()

    # --- TX side (the gateway keys us) -----------------------------------------------
    def _on_ptt(self, pressed: bool, talk_group: int | None) -> None:
        now = asyncio.get_running_loop().time()
        if pressed and self._current is None:
            self._current = Transmission(talk_group, now)
            self.transmissions.append(self._current)
            log.info("emulated radio %d: KEYED on talk group %s", self.radio_id, talk_group)
        elif not pressed and self._current is not None:
            self._current.unkeyed_at = now
            self._current = None
            log.info("emulated radio %d: unkeyed", self.radio_id)

    def _on_mic(self, pcm: np.ndarray, t_first: float) -> None:
        current = self._current
        if current is not None and t_first + len(pcm) / self.card_rate > current.keyed_at:
            current.blocks.append((t_first, pcm))

    def save_transmission(self, index: int, path: str | Path) -> None:
        _, audio = self.transmissions[index].audio()
        write_wav(path, self.card_rate, audio)

    # --- RX side (a call over the air) ---------------------------------------------------
    async def play_unreported(self, pcm: np.ndarray, rate: int) -> None:
        """Put audio on the receive path with no call report: cable cross-talk, noise, a squelch
        tail. A gateway must not bridge it."""
        card = Resampler(rate, self.card_rate)
        samples = np.concatenate([card.process(pcm), card.flush()])
        self._speaker.write(samples)
        await self._speaker.wait_drained(timeout=len(samples) / self.card_rate + 5)

    async def play_call(self, source: int, talk_group: int, pcm: np.ndarray, rate: int,
                        hang_s: float = 0.1) -> ReceivedCall:
        """Report a call from ``source`` on ``talk_group``, play its audio, then report its end."""
        async with self._call_lock:
            loop = asyncio.get_running_loop()
            card = Resampler(rate, self.card_rate)
            samples = np.concatenate([card.process(pcm), card.flush()])
            await self.link.incoming_call_start(source, talk_group)
            reported = loop.time()
            try:
                self._speaker.write(samples)
                on_air = loop.time() + self._speaker.latency_s
                log.info("emulated radio %d: receiving call from %d on talk group %d (%.1f s)", self.radio_id,
                         source, talk_group, len(pcm) / rate)
                await self._speaker.wait_drained(timeout=len(samples) / self.card_rate + 5)
                await asyncio.sleep(self._speaker.latency_s + hang_s)
            finally:  # a call cut short (Ctrl-C) still ends on the air
                self._speaker.clear()
                await self.link.incoming_call_end(source, talk_group)
            call = ReceivedCall(source, talk_group, reported, on_air, loop.time())
            self.calls.append(call)
            return call
