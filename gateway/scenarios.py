"""End-to-end talks through a running testbed, measured on the audio itself.

``handset_talks_to_radio`` and ``radio_call_to_handsets`` are what the demo narrates, the
integration tests assert on and the benchmark repeats. Delay is measured per 20 ms frame:
cross-correlation finds where the reference speech sits in each recording, and the times
of the recording's samples (sound-device timestamps) and of the MQTT frames (send or arrival
times) give the delay the gateway adds in each direction.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .media.measure import find_offset, pesq_nb, to_rate
from .poc import messages as msg

if TYPE_CHECKING:
    from .poc.handset import Handset
    from .testbed import Testbed


@dataclass
class HandsetToRadio:
    device: str
    granted: bool
    deny_reason: str | None
    talk_group: int | None = None
    pesq_nb: float = float("nan")
    latencies_ms: list[float] = field(default_factory=list)
    keyed_at: float | None = None
    first_audio_on_air: float | None = None
    last_audio_on_air: float | None = None
    unkeyed_at: float | None = None
    recording: np.ndarray | None = None

    @property
    def keyed_before_audio_ms(self) -> float:
        assert self.keyed_at is not None and self.first_audio_on_air is not None
        return (self.first_audio_on_air - self.keyed_at) * 1000

    @property
    def unkey_after_audio_ms(self) -> float:
        assert self.unkeyed_at is not None and self.last_audio_on_air is not None
        return (self.unkeyed_at - self.last_audio_on_air) * 1000


async def handset_talks_to_radio(tb: Testbed, hs: Handset, group: str, speech16k: np.ndarray,
                                 unkey_wait_s: float = 3.0) -> HandsetToRadio:
    rate = hs.rate
    before = len(tb.radio.transmissions)
    reply, stream = await hs.request_floor(group)
    if isinstance(reply, msg.FloorDeny):
        return HandsetToRadio(hs.device, False, reply.reason)
    sent = await hs.talk(group, stream, speech16k)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + unkey_wait_s
    while loop.time() < deadline and (len(tb.radio.transmissions) <= before or tb.radio.keyed):
        await asyncio.sleep(0.02)
    result = HandsetToRadio(hs.device, True, None)
    if len(tb.radio.transmissions) <= before:
        return result
    tx = tb.radio.transmissions[before]
    result.talk_group, result.keyed_at, result.unkeyed_at = tx.talk_group, tx.keyed_at, tx.unkeyed_at
    t0, audio_card = tx.audio()
    captured = to_rate(audio_card, tb.radio.card_rate, rate)
    result.recording = captured
    if len(captured) < len(speech16k) // 2:
        return result
    offset = find_offset(speech16k, captured)
    frame = hs.frame_samples
    on_air = [t0 + (offset + i * frame) / rate for i in range(len(sent))]
    result.latencies_ms = [(a - s) * 1000 for a, s in zip(on_air, sent, strict=True)]
    result.first_audio_on_air = on_air[0]
    result.last_audio_on_air = t0 + (offset + len(speech16k)) / rate
    result.pesq_nb = pesq_nb(speech16k, captured, rate)
    return result


@dataclass
class HeardBy:
    device: str
    talker: str | None
    pesq_nb: float
    latencies_ms: list[float]
    recording: np.ndarray


@dataclass
class RadioToHandsets:
    source: int
    talk_group: int
    heard: dict[str, HeardBy]
    silent: list[str]


async def radio_call_to_handsets(tb: Testbed, source: int, talk_group: int, speech: np.ndarray, speech_rate: int,
                                 listeners: list[Handset], others: list[Handset] | None = None) -> RadioToHandsets:
    others = others or []
    marks = {hs.device: len(hs.heard) for hs in listeners + others}
    call = await tb.radio.play_call(source, talk_group, speech, speech_rate)
    await asyncio.sleep(0.3)  # the last frames are in flight
    heard: dict[str, HeardBy] = {}
    silent: list[str] = []
    for hs in listeners + others:
        streams = [s for s in hs.heard[marks[hs.device]:] if s.talker_kind in (None, "radio")]
        if not streams:
            silent.append(hs.device)
            continue
        stream = streams[0]
        rate = hs.rate
        ref = to_rate(speech, speech_rate, rate)
        audio = stream.audio()
        latencies: list[float] = []
        score = float("nan")
        if len(audio) > len(ref) // 2:
            offset = find_offset(ref, audio)
            first_seq = stream.arrivals[0][0]
            for seq, arrived in stream.arrivals:
                m = (seq - first_seq) & 0xFFFF
                j = m * hs.frame_samples - offset
                if 0 <= j < len(ref):
                    latencies.append((arrived - (call.on_air_at + j / rate)) * 1000)
            score = pesq_nb(ref, audio, rate)
        heard[hs.device] = HeardBy(hs.device, stream.talker, score, latencies, audio)
    return RadioToHandsets(source, talk_group, heard, silent)
