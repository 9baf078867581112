"""Measuring speech through the bridge: alignment by cross-correlation, PESQ, delay per frame.

Used by the demo's summary, the integration tests and the benchmark. Measurement is on the
audio itself, never on log timestamps.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate

from .resample import Resampler


def to_rate(pcm: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target:
        return pcm
    r = Resampler(rate, target)
    return np.concatenate([r.process(pcm), r.flush()])


def find_offset(reference: np.ndarray, recording: np.ndarray) -> int:
    """Index in ``recording`` where ``reference`` starts (may be negative if it was clipped)."""
    ref = reference.astype(np.float64)
    rec = recording.astype(np.float64)
    corr = correlate(rec, ref, mode="full", method="fft")
    return int(np.argmax(corr)) - (len(ref) - 1)


def aligned(reference: np.ndarray, recording: np.ndarray) -> tuple[np.ndarray, int]:
    """The slice of ``recording`` lined up with ``reference`` (zero-padded where missing)."""
    offset = find_offset(reference, recording)
    out = np.zeros(len(reference), dtype=np.int16)
    src_start = max(offset, 0)
    dst_start = max(-offset, 0)
    n = max(0, min(len(reference) - dst_start, len(recording) - src_start))
    out[dst_start:dst_start + n] = recording[src_start:src_start + n]
    return out, offset


def pesq_nb(reference: np.ndarray, degraded: np.ndarray, rate: int) -> float:
    """ITU-T P.862 narrowband MOS-LQO after alignment; both at ``rate`` (resampled to 8 kHz)."""
    from pesq import pesq

    ref8 = to_rate(reference, rate, 8000)
    deg8 = to_rate(degraded, rate, 8000)
    deg8, _ = aligned(ref8, deg8)
    return float(pesq(8000, ref8.astype(np.float32) / 32768, deg8.astype(np.float32) / 32768, "nb"))


def pesq_wb(reference: np.ndarray, degraded: np.ndarray, rate: int) -> float:
    from pesq import pesq

    ref16 = to_rate(reference, rate, 16000)
    deg16, _ = aligned(ref16, to_rate(degraded, rate, 16000))
    return float(pesq(16000, ref16.astype(np.float32) / 32768, deg16.astype(np.float32) / 32768, "wb"))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")
