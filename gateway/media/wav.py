"""WAV file helpers: mono 16-bit PCM in and out (stdlib ``wave``)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from .resample import Resampler


def read_wav(path: str | Path, rate: int | None = None) -> tuple[int, np.ndarray]:
    """Return (rate, int16 mono samples); stereo is mixed down, ``rate`` resamples."""
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV is supported (sample width {w.getsampwidth()})")
        channels = w.getnchannels()
        src_rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1).astype(np.int16)
    if rate is not None and rate != src_rate:
        r = Resampler(src_rate, rate)
        data = np.concatenate([r.process(data), r.flush()])
        src_rate = rate
    return src_rate, data


def write_wav(path: str | Path, rate: int, pcm: np.ndarray) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.asarray(pcm, dtype=np.int16).tobytes())
