"""Audio pipeline stages on synthetic and real signals (no devices)."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.errors import PeerError
from gateway.media.measure import find_offset, pesq_nb
from gateway.media.opus import OpusDecoder, OpusEncoder
from gateway.media.resample import Framer, Resampler
from gateway.testbed import speech


def tone(freq: float, rate: int, seconds: float, amp: float = 8000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def test_opus_round_trip_keeps_speech_quality() -> None:
    pcm = speech("pesq_speech_16k_male.wav")
    enc, dec = OpusEncoder(16000, 24000), OpusDecoder(16000)
    n = len(pcm) // 320
    out = np.concatenate([dec.decode(enc.encode(pcm[i * 320:(i + 1) * 320])) for i in range(n)])
    assert pesq_nb(pcm[: n * 320], out, 16000) >= 4.0


def test_opus_rejects_garbage_with_peer_error_and_conceals() -> None:
    dec = OpusDecoder(16000)
    with pytest.raises(PeerError):
        dec.decode(b"\xff\xff\xff\xff\xff\xff\xff\xff" * 4)
    assert dec.errors == 1
    assert dec.conceal().shape == (320,)
    with pytest.raises(ValueError):
        OpusEncoder(16000).encode(np.zeros(100, dtype=np.int16))


def test_streaming_resampler_equals_one_shot_and_keeps_pitch() -> None:
    x = tone(1000, 48000, 1.0)
    one = Resampler(48000, 16000)
    whole = np.concatenate([one.process(x), one.flush()])
    chunked = Resampler(48000, 16000)
    parts = [chunked.process(x[i:i + 480]) for i in range(0, len(x), 480)] + [chunked.flush()]
    streamed = np.concatenate(parts)
    assert abs(len(streamed) - 16000) <= 2 and len(whole) == len(streamed)
    assert np.max(np.abs(whole.astype(int) - streamed.astype(int))) <= 2
    spectrum = np.abs(np.fft.rfft(streamed[2000:14000]))
    peak_hz = np.argmax(spectrum) * 16000 / 12000
    assert abs(peak_hz - 1000) < 5


def test_resampler_passthrough_and_framer() -> None:
    same = Resampler(16000, 16000)
    x = tone(500, 16000, 0.1)
    assert np.array_equal(same.process(x), x)
    framer = Framer(320)
    frames = framer.push(x[:700])
    assert [len(f) for f in frames] == [320, 320]
    last = framer.flush()
    assert last is not None and len(last) == 320 and np.array_equal(last[:60], x[640:700])
    assert not last[60:].any()
    assert framer.flush() is None


def test_find_offset_locates_speech_in_a_longer_recording() -> None:
    pcm = speech("noizeus_sp11_8k_female.wav", 8000)
    recording = np.concatenate([np.zeros(1234, dtype=np.int16), pcm, np.zeros(500, dtype=np.int16)])
    assert find_offset(pcm, recording) == 1234
