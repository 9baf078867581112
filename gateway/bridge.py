"""One shared talk group: a PDT talk group on a radio port joined with PoC groups.

The asyncio adapter around ``FloorControl``: it owns the floor's single timer, turns
floor events into MQTT messages and radio actions, and moves audio both ways. Policy
(who may talk, timeouts) comes from config; mechanism lives in the floor core and the
radio port.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import PeerError
from .floor import (FloorControl, FloorDenied, FloorGranted, FloorReleased, FloorRevoked, FloorTaken,
                    RadioCollision, ReleaseCause, TalkerKind)
from .media.opus import OpusDecoder, OpusEncoder
from .poc import messages as msg
from .poc import topics
from .poc.frames import TIMESTAMP_STEP, AudioFrame, StreamReceiver

if TYPE_CHECKING:
    from .poc.link import MqttLink
    from .radio_port import RadioPort

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    device: str
    name: str
    groups: frozenset[str]


class TalkGroupBridge:
    def __init__(self, *, name: str, gateway_id: str, pdt_group: int, poc_groups: list[str], port: RadioPort,
                 link: MqttLink, members: dict[str, Member], idle_timeout_s: float, max_talk_s: float,
                 opus_rate: int, opus_bitrate: int, frame_ms: int, start_timeout_s: float = 2.0) -> None:
        self.name = name
        self.gateway_id = gateway_id
        self.pdt_group = pdt_group
        self.poc_groups = list(poc_groups)
        self.port = port
        self.link = link
        self.members = members
        self.floor = FloorControl(idle_timeout=idle_timeout_s, max_talk=max_talk_s, start_timeout=start_timeout_s)
        self._timer: asyncio.TimerHandle | None = None
        self._opus_rate = opus_rate
        self._opus_bitrate = opus_bitrate
        self._frame_ms = frame_ms
        self._decoder: OpusDecoder | None = None
        self._receivers: dict[str, StreamReceiver] = {}
        self._talk_group_of_stream: str | None = None  # PoC group the handset talks into
        self._rx_encoder: OpusEncoder | None = None
        self._rx_stream = 0
        self._rx_seq = 0
        self._rx_ts = 0
        self._closed = False
        self.counters = {"frames_in": 0, "frames_to_radio": 0, "frames_dropped": 0, "frames_out": 0,
                         "bad_frames": 0, "bad_opus": 0, "radio_calls": 0, "denied_not_member": 0}

    # --- state publishing --------------------------------------------------------------
    async def publish_state(self) -> None:
        """(Re)publish the retained floor state of every PoC group (after each connect)."""
        self._publish_floor()

    def _publish_floor(self) -> None:
        now = time.time()
        for group in self.poc_groups:
            if self.floor.holder is None:
                payload = msg.GroupFloorIdle(ts=now).to_bytes()
            else:
                kind: Literal["radio", "handset"] = "radio" if self.floor.state.value == "radio" else "handset"
                if kind == "radio":
                    origin, stream, name = self.gateway_id, self._rx_stream or 1, None
                else:
                    member = self.members.get(self.floor.holder)
                    origin = self.floor.holder if group == self._talk_group_of_stream else self.gateway_id
                    stream, name = self.floor.stream or 1, member.name[:64] if member else None
                since = now - (asyncio.get_running_loop().time() - (self.floor.since or 0.0))
                payload = msg.GroupFloorTaken(talker=self.floor.holder, talker_kind=kind, name=name, stream=stream,
                                              origin=origin, since=max(since, 0.0), ts=now).to_bytes()
            self.link.publish_nowait(topics.group_floor_topic(group), payload, qos=1, retain=True)

    def _down(self, device: str, message: msg.Message) -> None:
        self.link.publish_nowait(topics.down_floor_topic(device), message.to_bytes(), qos=1)

    # --- floor timer -------------------------------------------------------------------
    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed:
            return
        deadline = self.floor.next_deadline()
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._handle(self.floor.on_timer(self._now()))

    # --- inputs from handsets ----------------------------------------------------------
    def floor_request(self, device: str, group: str, request: msg.FloorRequest) -> None:
        if self._closed:
            return
        member = self.members.get(device)
        if member is None or group not in member.groups:
            self.counters["denied_not_member"] += 1
            self._down(device, msg.FloorDeny(group=group, req=request.req, reason="not_member",
                                             detail=f"{device} is not a member of group {group}"))
            return
        if not self.port.link_up:
            self._down(device, msg.FloorDeny(group=group, req=request.req, reason="radio_unavailable",
                                             detail=f"radio {self.port.name} control link is down"))
            return
        busy = self._port_busy_detail()
        if busy is not None and self.floor.holder != device:
            self._down(device, msg.FloorDeny(group=group, req=request.req, reason="radio_busy", detail=busy))
            return
        events = self.floor.request(device, request.stream, request.req, self._now())
        for event in events:
            if isinstance(event, FloorGranted):
                self._talk_group_of_stream = group
                # claim the transmitter in this same loop pass, before keying starts
                if not self.port.claim(self.pdt_group, self._tx_lost):
                    raise RuntimeError(f"radio {self.port.name} was free a moment ago")  # checked above
        self._handle(events, group=group)

    def floor_release(self, device: str, release: msg.FloorRelease) -> None:
        if self._closed:
            return
        self._handle(self.floor.release(device, release.stream, self._now()))

    def audio_in(self, group: str, origin: str, payload: bytes) -> None:
        if self._closed:
            return
        self.counters["frames_in"] += 1
        try:
            frame = AudioFrame.decode(payload)
        except PeerError as exc:
            self.counters["bad_frames"] += 1
            if self.counters["bad_frames"] % 100 == 1:  # first, then every 100th: no log flood
                log.warning("bad audio frame from %s on group %s: %s (%d bad frames so far)", origin, group, exc,
                            self.counters["bad_frames"])
            return
        lost = 0
        if origin == self.floor.holder and frame.stream_id == self.floor.stream:
            # Only frames that will be played keep the floor alive: duplicates, reordered and
            # stale frames of the holder's stream are dropped before the floor sees them.
            reception = self._receivers.setdefault(origin, StreamReceiver()).receive(frame)
            if not reception.accepted:
                self.counters["frames_dropped"] += 1
                return
            lost = reception.lost
        accepted, events = self.floor.audio(origin, frame.stream_id, frame.start, frame.end, self._now())
        if not accepted:
            self.counters["frames_dropped"] += 1
            self._handle(events)
            return
        self._relay_to_other_groups(group, payload)
        if self.port.transmitting and self.port.tx_group == self.pdt_group:
            self._play(frame, lost)
        self._handle(events)

    def _play(self, frame: AudioFrame, lost: int) -> None:
        if self._decoder is None:
            self._decoder = OpusDecoder(self._opus_rate, self._frame_ms)
        for _ in range(min(lost, 5)):  # conceal short gaps; a long gap is silence
            self.port.play(self._decoder.conceal())
        if frame.payload:
            try:
                pcm = self._decoder.decode(frame.payload)
            except PeerError as exc:
                self.counters["bad_opus"] += 1
                if self.counters["bad_opus"] % 100 == 1:
                    log.warning("talk group %s: %s (%d so far)", self.name, exc, self.counters["bad_opus"])
                pcm = self._decoder.conceal()
            self.port.play(pcm)
            self.counters["frames_to_radio"] += 1

    def _relay_to_other_groups(self, group: str, payload: bytes) -> None:
        for other in self.poc_groups:
            if other != group:
                self.link.publish_nowait(topics.group_audio_topic(other, self.gateway_id), payload, qos=0)

    def _port_busy_detail(self) -> str | None:
        port = self.port
        if port.transmitting and port.tx_group != self.pdt_group:
            return f"radio {port.name} is transmitting on talk group {port.tx_group}"
        owner = port.rx_owner
        if owner is not None and owner is not self:
            return f"radio {port.name} is receiving a call on another talk group"
        if owner is None and not port.transmitting and port.rx_active:
            return f"radio {port.name} is receiving audio on its speaker output (a call this gateway did not see start)"
        return None

    def revoke_handset(self, reason: str) -> None:
        """End the handset's talk from the gateway side and tell the handset why."""
        device, stream = self.floor.holder, self.floor.stream
        if self.floor.state.value != "handset" or device is None or stream is None:
            return
        self._down(device, msg.FloorRevoke(group=self._talk_group_of_stream or self.poc_groups[0], stream=stream,
                                           reason=reason))  # type: ignore[arg-type]
        self._handle(self.floor.release(device, stream, self._now()))

    # --- inputs from the radio ---------------------------------------------------------
    def radio_call_started(self, source: int) -> None:
        if self._closed:
            return
        self.counters["radio_calls"] += 1
        self._handle(self.floor.radio_call_started(source, self._now()))

    def radio_call_ended(self) -> None:
        if self._closed:
            return
        self._handle(self.floor.radio_call_ended(self._now()))

    # --- floor events -> actions -------------------------------------------------------
    def _handle(self, events: Sequence[object], group: str | None = None) -> None:
        publish = False
        for event in events:
            if isinstance(event, FloorGranted):
                self._publish_floor()  # the group learns who talks before the talker hears "go"
                self._down(event.device, msg.FloorGrant(group=group or self._talk_group_of_stream or self.poc_groups[0],
                                                        req=event.req, stream=event.stream))
                self._decoder = None
                self.port.request_key()  # idempotent: a repeated grant leaves a keyed radio alone
                publish = True
                log.info("[%s] floor granted to %s (stream %d)", self.name, event.device, event.stream)
            elif isinstance(event, FloorDenied):
                self._down(event.device, msg.FloorDeny(group=group or self.poc_groups[0], req=event.req,
                                                       reason=event.reason.value, detail=event.detail))
                log.info("[%s] floor denied to %s: %s (%s)", self.name, event.device, event.reason.value, event.detail)
            elif isinstance(event, FloorRevoked):
                self._down(event.device, msg.FloorRevoke(group=self._talk_group_of_stream or self.poc_groups[0],
                                                         stream=event.stream, reason=event.cause.value))
                self.port.end_transmission()
                publish = True
                log.info("[%s] floor revoked from %s: %s", self.name, event.device, event.cause.value)
            elif isinstance(event, FloorReleased):
                if event.talker_kind is TalkerKind.HANDSET:
                    if event.cause is ReleaseCause.IDLE_TIMEOUT and event.stream is not None:
                        self._down(event.talker, msg.FloorRevoke(
                            group=self._talk_group_of_stream or self.poc_groups[0], stream=event.stream,
                            reason="idle_timeout"))
                    self.port.end_transmission()
                    self._talk_group_of_stream = None
                else:
                    self._close_rx()
                publish = True
                log.info("[%s] floor released by %s %s: %s", self.name, event.talker_kind.value, event.talker,
                         event.cause.value)
            elif isinstance(event, FloorTaken):
                self._open_rx()
                publish = True
                log.info("[%s] radio %s is talking: handsets of %s hear it", self.name, event.talker,
                         ",".join(self.poc_groups))
            elif isinstance(event, RadioCollision):
                log.warning("[%s] radio %s called while handset %s talks (v1: handset keeps the floor)",
                            self.name, event.radio_talker, event.holder)
        if publish:
            self._publish_floor()
        self._rearm()

    def _tx_lost(self, reason: str) -> None:
        """The radio port could not key, or stopped transmitting (link lost, time-out)."""
        log.warning("[%s] radio %s is not transmitting (%s): revoking the talker", self.name, self.port.name, reason)
        self.revoke_handset(reason)

    # --- radio RX -> PoC ---------------------------------------------------------------
    def _open_rx(self) -> None:
        self._rx_encoder = OpusEncoder(self._opus_rate, self._opus_bitrate, self._frame_ms)
        self._rx_stream = secrets.randbits(32) or 1
        self._rx_seq = 0
        self._rx_ts = secrets.randbits(32)
        self.port.rx_owner = self
        self.port.open_rx(self._rx_frame)

    def _rx_frame(self, pcm: np.ndarray, _t: float) -> None:
        self._send_rx(pcm, end=False)

    def _send_rx(self, pcm: np.ndarray | None, end: bool) -> None:
        if self._rx_encoder is None:
            return
        payload = self._rx_encoder.encode(pcm) if pcm is not None else b""
        frame = AudioFrame(stream_id=self._rx_stream, seq=self._rx_seq & 0xFFFF, timestamp=self._rx_ts & 0xFFFFFFFF,
                           payload=payload, start=self._rx_seq == 0, end=end)
        data = frame.encode()
        for group in self.poc_groups:
            self.link.publish_nowait(topics.group_audio_topic(group, self.gateway_id), data, qos=0)
        self.counters["frames_out"] += 1
        self._rx_seq += 1
        self._rx_ts += TIMESTAMP_STEP

    def _close_rx(self) -> None:
        if self.port.rx_owner is self:
            last = self.port.close_rx()
            self.port.rx_owner = None
            if last is not None:
                self._send_rx(last, end=False)
        if self._rx_encoder is not None:
            self._send_rx(None, end=True)
        self._rx_encoder = None

    async def close(self) -> None:
        """Tell a talking handset the gateway is going away; ignore everything after."""
        if self.floor.state.value == "handset":
            self.revoke_handset("gateway_shutdown")
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
