"""Opus voice codec stage: 16-bit mono PCM frames <-> Opus packets (libopus via opuslib).

One encoder/decoder pair per stream direction. Frames are numpy int16 arrays of exactly
``frame_samples``; opuslib wants ``bytes``, so conversion happens here and nowhere else.
"""

from __future__ import annotations

import numpy as np
import opuslib

from ..errors import PeerError

VALID_RATES = (8000, 12000, 16000, 24000, 48000)


class OpusEncoder:
    def __init__(self, rate: int = 16000, bitrate: int = 24000, frame_ms: int = 20) -> None:
        if rate not in VALID_RATES:
            raise ValueError(f"Opus rate {rate} not in {VALID_RATES}")
        self.rate = rate
        self.frame_samples = rate * frame_ms // 1000
        self._enc = opuslib.Encoder(rate, 1, opuslib.APPLICATION_VOIP)
        self._enc.bitrate = bitrate
        self._enc.complexity = 5
        self._enc.signal = opuslib.SIGNAL_VOICE

    def encode(self, pcm: np.ndarray) -> bytes:
        if pcm.shape != (self.frame_samples,):
            raise ValueError(f"Opus frame must be {self.frame_samples} samples, got {pcm.shape}")
        return bytes(self._enc.encode(np.ascontiguousarray(pcm, dtype=np.int16).tobytes(), self.frame_samples))


class OpusDecoder:
    def __init__(self, rate: int = 16000, frame_ms: int = 20) -> None:
        if rate not in VALID_RATES:
            raise ValueError(f"Opus rate {rate} not in {VALID_RATES}")
        self.rate = rate
        self.frame_samples = rate * frame_ms // 1000
        # 120 ms is the longest Opus packet; a handset may legally send one.
        self._max_samples = rate * 120 // 1000
        self._dec = opuslib.Decoder(rate, 1)
        self.errors = 0

    def decode(self, packet: bytes) -> np.ndarray:
        """Decode one packet. Garbage from a peer raises PeerError (counted), never crashes."""
        if not packet:
            return self.conceal()
        try:
            pcm = self._dec.decode(packet, self._max_samples)
        except opuslib.OpusError as exc:
            self.errors += 1
            raise PeerError(f"undecodable Opus packet ({len(packet)} bytes): {exc}") from None
        return np.frombuffer(pcm, dtype=np.int16).copy()

    def conceal(self) -> np.ndarray:
        """Packet-loss concealment for one missing frame."""
        pcm = self._dec.decode(b"", self.frame_samples)
        return np.frombuffer(pcm, dtype=np.int16).copy()
