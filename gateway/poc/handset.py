"""Reference PoC handset: joins groups, asks for the floor, talks a WAV, records what it hears.

Used by the demo, the tests and the benchmark, and by a technician in the field to prove a
site end to end (``pdtgw handset``). It speaks protocol v1 exactly as docs/poc-protocol.md
says a vendor's handset must.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import GatewayError, PeerError
from ..media.opus import OpusDecoder, OpusEncoder
from . import messages as msg
from . import topics
from .frames import TIMESTAMP_STEP, AudioFrame, StreamReceiver
from .link import LinkSettings, MqttLink

log = logging.getLogger(__name__)


class HandsetError(GatewayError):
    pass


@dataclass
class HeardStream:
    """One talk heard on a group: who (per the floor state), its audio and frame arrival times."""

    group: str
    origin: str
    stream_id: int
    talker: str | None
    talker_kind: str | None
    first_arrival: float
    pcm: list[np.ndarray] = field(default_factory=list)
    arrivals: list[tuple[int, float]] = field(default_factory=list)  # (seq, monotonic time)
    ended: bool = False
    lost: int = 0

    def audio(self) -> np.ndarray:
        return np.concatenate(self.pcm) if self.pcm else np.zeros(0, dtype=np.int16)


class Handset:
    def __init__(self, device: str, password: str, broker_url: str, groups: list[str], *, name: str | None = None,
                 opus_rate: int = 16000, opus_bitrate: int = 24000, frame_ms: int = 20,
                 ca_file: str | None = None) -> None:
        self.device = device
        self.groups = list(groups)
        self.name = name or device
        self.rate = opus_rate
        self.frame_ms = frame_ms
        self.frame_samples = opus_rate * frame_ms // 1000
        self._bitrate = opus_bitrate
        self.link = MqttLink(LinkSettings(
            url=broker_url, username=device, password=password, client_id=device,
            will_topic=topics.presence_topic(device), will_payload=msg.Presence(state="offline").to_bytes(),
            ca_file=ca_file, subscriptions=topics.handset_subscriptions(device, groups)), self._on_message, self._on_connected)
        self.floor: dict[str, msg.GroupFloorIdle | msg.GroupFloorTaken] = {}
        self.floor_log: list[tuple[float, str, msg.GroupFloorIdle | msg.GroupFloorTaken]] = []
        self.heard: list[HeardStream] = []
        self.replies: list[msg.FloorGrant | msg.FloorDeny | msg.FloorRevoke] = []
        self._waiters: dict[str, asyncio.Future[msg.FloorGrant | msg.FloorDeny]] = {}
        self._receivers: dict[tuple[str, str], StreamReceiver] = {}
        self._decoders: dict[int, OpusDecoder] = {}
        self._current: dict[tuple[str, str], HeardStream] = {}
        self.revoked = asyncio.Event()
        self.counters = {"bad_frames": 0, "bad_messages": 0}

    async def connect(self, timeout: float = 10.0) -> None:
        self.link.start()
        await self.link.wait_connected(timeout)

    async def _on_connected(self) -> None:
        await self.link.publish(topics.presence_topic(self.device),
                                msg.Presence(state="online", name=self.name, ts=time.time()).to_bytes(), qos=1, retain=True)

    async def close(self) -> None:
        goodbye = msg.Presence(state="offline", ts=time.time()).to_bytes()
        await self.link.close([(topics.presence_topic(self.device), goodbye, 1, True)])

    async def kill(self) -> None:
        """Vanish without a goodbye (a handset dying mid-talk): no release, no DISCONNECT."""
        await self.link.abort()

    # --- inbound ---------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = topics.parse_topic(topic)
            if parsed.kind is topics.TopicKind.DOWN_FLOOR:
                reply = msg.parse_down_floor(payload)
                self.replies.append(reply)
                if isinstance(reply, msg.FloorRevoke):
                    self.revoked.set()
                    log.info("%s: floor revoked on %s: %s", self.device, reply.group, reply.reason)
                else:
                    waiter = self._waiters.pop(reply.req, None)
                    if waiter is not None and not waiter.done():
                        waiter.set_result(reply)
            elif parsed.kind is topics.TopicKind.GROUP_FLOOR:
                assert parsed.group is not None
                state = msg.parse_group_floor(payload)
                self.floor[parsed.group] = state
                self.floor_log.append((time.monotonic(), parsed.group, state))
            elif parsed.kind is topics.TopicKind.GROUP_AUDIO:
                assert parsed.group is not None and parsed.origin is not None
                if parsed.origin != self.device:  # no MQTT 5 no-local: skip our own echo
                    self._on_audio(parsed.group, parsed.origin, payload)
        except PeerError as exc:
            self.counters["bad_messages"] += 1
            log.warning("%s: bad message on %s: %s", self.device, topic, exc)

    def _on_audio(self, group: str, origin: str, payload: bytes) -> None:
        now = time.monotonic()
        try:
            frame = AudioFrame.decode(payload)
        except PeerError:
            self.counters["bad_frames"] += 1
            return
        receiver = self._receivers.setdefault((group, origin), StreamReceiver())
        reception = receiver.receive(frame)
        if not reception.accepted:
            return
        key = (group, origin)
        current = self._current.get(key)
        if current is None or current.stream_id != frame.stream_id:
            state = self.floor.get(group)
            talker = state.talker if isinstance(state, msg.GroupFloorTaken) else None
            kind = state.talker_kind if isinstance(state, msg.GroupFloorTaken) else None
            current = HeardStream(group, origin, frame.stream_id, talker, kind, now)
            self._current[key] = current
            self.heard.append(current)
            self._decoders[frame.stream_id] = OpusDecoder(self.rate, self.frame_ms)
        decoder = self._decoders[frame.stream_id]
        for _ in range(min(reception.lost, 50)):
            current.pcm.append(decoder.conceal())
        current.lost += reception.lost
        if frame.payload:
            try:
                current.pcm.append(decoder.decode(frame.payload))
            except PeerError:
                self.counters["bad_frames"] += 1
        current.arrivals.append((frame.seq, now))
        if frame.end:
            current.ended = True
            self._current.pop(key, None)
            self._decoders.pop(frame.stream_id, None)
            if current.talker is None:  # the retained floor state may arrive after the first frame
                state = self.floor.get(group)
                if isinstance(state, msg.GroupFloorTaken) and state.stream == frame.stream_id:
                    current.talker, current.talker_kind = state.talker, state.talker_kind

    # --- talking ---------------------------------------------------------------------
    async def request_floor(self, group: str, timeout: float = 5.0) -> tuple[msg.FloorGrant | msg.FloorDeny, int]:
        """Ask for the floor; returns the reply and the stream id we asked with."""
        if group not in self.groups:
            raise HandsetError(f"{self.device} is not configured for group {group}")
        req = secrets.token_hex(6)
        stream = secrets.randbits(32) or 1
        future: asyncio.Future[msg.FloorGrant | msg.FloorDeny] = asyncio.get_running_loop().create_future()
        self._waiters[req] = future
        self.revoked.clear()
        await self.link.publish(topics.up_floor_topic(self.device),
                                msg.FloorRequest(group=group, req=req, stream=stream).to_bytes(), qos=1)
        try:
            reply = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._waiters.pop(req, None)
            raise HandsetError(f"{self.device}: no floor reply from the gateway within {timeout} s") from None
        return reply, stream

    async def talk(self, group: str, stream: int, pcm: np.ndarray, *, send_end: bool = True,
                   stop_after_s: float | None = None) -> list[float]:
        """Stream ``pcm`` (mono int16 at the Opus rate) in real time; returns each frame's send time."""
        encoder = OpusEncoder(self.rate, self._bitrate, self.frame_ms)
        topic = topics.group_audio_topic(group, self.device)
        n = max(1, int(np.ceil(len(pcm) / self.frame_samples)))
        padded = np.zeros(n * self.frame_samples, dtype=np.int16)
        padded[: len(pcm)] = pcm
        ts0 = secrets.randbits(32)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        sent: list[float] = []
        period = self.frame_ms / 1000
        for i in range(n):
            if self.revoked.is_set():
                break
            if stop_after_s is not None and i * period >= stop_after_s:
                return sent
            frame = AudioFrame(stream_id=stream, seq=i & 0xFFFF, timestamp=(ts0 + i * TIMESTAMP_STEP) & 0xFFFFFFFF,
                               payload=encoder.encode(padded[i * self.frame_samples:(i + 1) * self.frame_samples]),
                               start=i == 0, end=send_end and i == n - 1)
            sent.append(time.monotonic())
            self.link.publish_nowait(topic, frame.encode(), qos=0)
            delay = t0 + (i + 1) * period - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        return sent

    async def release(self, group: str, stream: int) -> None:
        await self.link.publish(topics.up_floor_topic(self.device),
                                msg.FloorRelease(group=group, stream=stream).to_bytes(), qos=1)

    def streams_heard(self, group: str) -> list[HeardStream]:
        return [h for h in self.heard if h.group == group]
