"""The gateway daemon: wires config, radio ports, talk-group bridges and the MQTT link.

Start order is a safety rule: every radio is driven to unkeyed and its audio paths proven
before the PoC side connects. Stop order is the reverse, and any path out (SIGTERM, an
unhandled error in a task) unkeys every radio before the process exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from typing import Any

from .bridge import Member, TalkGroupBridge
from .config import GatewayConfig
from .pdt350.driver import CallState, LinkDown, LinkUp, RadioEvent, ReceiveCall, TextReceived, TransmitState
from .pdt350.registry import driver_class
from .poc import messages as msg
from .poc import topics
from .poc.link import LinkSettings, MqttLink
from .radio_port import RadioPort
from . import sdnotify
from .tasks import spawn
from .errors import GatewayError, PeerError

log = logging.getLogger(__name__)


class Gateway:
    def __init__(self, config: GatewayConfig) -> None:
        self.config = config
        self.gateway_id = config.gateway.id
        self.ports: dict[str, RadioPort] = {}
        self.bridges: list[TalkGroupBridge] = []
        self._bridge_by_poc_group: dict[str, TalkGroupBridge] = {}
        self._bridge_by_radio_group: dict[tuple[str, int], TalkGroupBridge] = {}
        self.link: MqttLink | None = None
        self.counters: dict[str, int] = {"bad_topics": 0, "bad_messages": 0, "unmapped_radio_calls": 0,
                                         "own_echo_ignored": 0, "unknown_devices_seen": 0}
        self._stopping = asyncio.Event()
        self._fatal: BaseException | None = None
        self.ready = False
        self._supervisor: asyncio.Task[None] | None = None
        self.presence: dict[str, str] = {}  # handset id -> "online" | "offline"
        self._bad_by_sender: dict[str, int] = {}
        self._started = False  # start() began: a permanent radio failure from now on stops us
        self._port_failures: dict[str, str] = {}
        self._known_handsets = {h.id: h.name for h in config.handsets}

    # --- construction ------------------------------------------------------------------
    def _build(self) -> None:
        cfg = self.config
        for radio in cfg.radios:
            driver = driver_class(radio.type)(radio.serial.url, baudrate=radio.serial.baudrate,
                                              radio_id=radio.radio_id, transmit_timeout_s=radio.tx.timeout_s + 5)
            port = RadioPort(radio.id, driver, input_device=radio.audio.input, output_device=radio.audio.output,
                             card_rate=radio.audio.rate, codec_rate=cfg.audio.opus_rate, frame_ms=cfg.audio.frame_ms,
                             lead_ms=radio.tx.lead_ms, tail_ms=radio.tx.tail_ms, tot_s=radio.tx.timeout_s,
                             latency_ms=radio.audio.latency_ms)
            self.ports[radio.id] = port
        members = {h.id: Member(h.id, h.name, frozenset(h.groups)) for h in cfg.handsets}
        settings = LinkSettings(
            url=cfg.broker.url, username=cfg.broker.username, password=cfg.broker_password(),
            client_id=self.gateway_id, will_topic=topics.presence_topic(self.gateway_id),
            will_payload=msg.Presence(state="offline").to_bytes(), keepalive_s=cfg.broker.keepalive_s,
            ca_file=cfg.broker.tls.ca_file if cfg.broker.tls else None,
            cert_file=cfg.broker.tls.cert_file if cfg.broker.tls else None,
            key_file=cfg.broker.tls.key_file if cfg.broker.tls else None,
            verify_hostname=cfg.broker.tls.verify_hostname if cfg.broker.tls else True,
            subscriptions=topics.gateway_subscriptions([g.id for g in cfg.poc_groups]))
        self.link = MqttLink(settings, self._on_message, self._on_connected)
        for tg in cfg.talk_groups:
            bridge = TalkGroupBridge(
                name=tg.id, gateway_id=self.gateway_id, pdt_group=tg.pdt_group, poc_groups=list(tg.poc_groups),
                port=self.ports[tg.radio], link=self.link, members=members,
                idle_timeout_s=cfg.floor.idle_timeout_ms / 1000, max_talk_s=cfg.floor.max_talk_s,
                opus_rate=cfg.audio.opus_rate, opus_bitrate=cfg.audio.opus_bitrate, frame_ms=cfg.audio.frame_ms,
                start_timeout_s=cfg.floor.start_timeout_ms / 1000)
            self.bridges.append(bridge)
            self._bridge_by_radio_group[(tg.radio, tg.pdt_group)] = bridge
            for group in tg.poc_groups:
                self._bridge_by_poc_group[group] = bridge

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self, connect_timeout: float = 15.0) -> None:
        self._build()
        self._started = True
        for name, port in self.ports.items():
            await port.start(lambda event, n=name: self._on_radio_event(n, event))  # type: ignore[misc]
            log.info("radio %s: link up, unkeyed, audio flowing", name)
        assert self.link is not None
        self.link.start()
        await self.link.wait_connected(connect_timeout)
        if self._port_failures:  # a radio's port failed while we were still starting
            raise GatewayError("; ".join(f"radio {r}: {why}" for r, why in self._port_failures.items()))
        self.ready = True
        log.info("gateway %s ready: %d radio(s), %d talk group(s)", self.gateway_id, len(self.ports), len(self.bridges))
        sdnotify.ready()
        sdnotify.status(self.status_line())
        self._supervisor = spawn(self._supervise(), name="supervisor")

    def health(self) -> dict[str, object]:
        """What is really up: the broker link and each radio's control link."""
        return {"ready": self.ready, "handsets_online": sorted(d for d, st in self.presence.items() if st == "online"),
                "broker": self.link.status if self.link is not None else "not started",
                "radios": {name: ("up" if port.link_up else "down") for name, port in self.ports.items()}}

    def status_line(self) -> str:
        broker = self.link.status if self.link is not None else "not started"
        radios = ", ".join(f"{name} {'up' if port.link_up else 'down'}" for name, port in self.ports.items())
        online = sum(1 for state in self.presence.values() if state == "online")
        return f"broker {broker}; radio {radios}; handsets {online}/{len(self._known_handsets)} online"

    async def _supervise(self) -> None:
        """Ping the systemd watchdog from the loop (a stuck loop stops the pings) and keep STATUS true."""
        interval = sdnotify.watchdog_interval()
        period = min(interval / 2, 5.0) if interval else 5.0
        last = ""
        while True:
            sdnotify.watchdog()
            line = self.status_line()
            if line != last:
                sdnotify.status(line)
                last = line
            await asyncio.sleep(period)

    async def _on_connected(self) -> None:
        assert self.link is not None
        await self.link.publish(topics.presence_topic(self.gateway_id),
                                msg.Presence(state="online", name=f"gateway {self.gateway_id}", ts=time.time()).to_bytes(),
                                qos=1, retain=True)
        for bridge in self.bridges:
            await bridge.publish_state()

    async def stop(self) -> None:
        """Unkey every radio first, then say goodbye on MQTT."""
        self.ready = False
        self._started = False  # our own close() of the ports is not a failure
        sdnotify.stopping()
        if self._supervisor is not None:
            self._supervisor.cancel()
        for port in self.ports.values():
            try:
                await port.close()
            except Exception:
                log.exception("closing radio %s", port.name)
        for bridge in self.bridges:
            await bridge.close()
        if self.link is not None:
            final = [(topics.presence_topic(self.gateway_id), msg.Presence(state="offline", ts=time.time()).to_bytes(), 1, True)]
            for bridge in self.bridges:
                for group in bridge.poc_groups:
                    final.append((topics.group_floor_topic(group), msg.GroupFloorIdle(ts=time.time()).to_bytes(), 1, True))
            await self.link.close(final)

    async def run_forever(self) -> int:
        """Run until SIGTERM/SIGINT or a fatal error; always unkeys on the way out."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stopping.set)
        loop.set_exception_handler(self._loop_exception)
        try:
            await self.start()
            await self._stopping.wait()
        finally:
            await self.stop()
        if self._fatal is not None:
            log.error("stopped after an unhandled error: %r", self._fatal)
            return 1
        return 0

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        # Any unhandled error in a task: log it, then stop (which unkeys every radio).
        log.error("unhandled error: %s", context.get("message"), exc_info=context.get("exception"))
        self._fatal = context.get("exception") or GatewayError(str(context.get("message")))
        self._stopping.set()

    # --- inbound -------------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        try:
            parsed = topics.parse_topic(topic)
        except PeerError as exc:
            self.counters["bad_topics"] += 1
            log.warning("ignoring message on unexpected topic %r: %s", topic, exc)
            return
        kind = parsed.kind
        try:
            if kind is topics.TopicKind.GROUP_AUDIO:
                assert parsed.group is not None and parsed.origin is not None
                if parsed.origin == self.gateway_id:
                    return  # our own frames are never re-bridged
                bridge = self._bridge_by_poc_group.get(parsed.group)
                if bridge is not None:
                    bridge.audio_in(parsed.group, parsed.origin, payload)
            elif kind is topics.TopicKind.UP_FLOOR:
                assert parsed.device is not None
                self._on_floor_message(parsed.device, payload)
            elif kind is topics.TopicKind.PRESENCE:
                assert parsed.device is not None
                self._on_presence(parsed.device, payload)
        except PeerError as exc:
            self.counters["bad_messages"] += 1
            sender = parsed.device or parsed.origin or "?"
            count = self._bad_by_sender[sender] = self._bad_by_sender.get(sender, 0) + 1
            if count % 100 == 1:  # per sender: its first, then every 100th (no log flood, none hidden)
                log.warning("bad message from %s on %s: %s (%d from it so far)", sender, topic, exc, count)

    def _on_presence(self, device: str, payload: bytes) -> None:
        if device == self.gateway_id or not payload:
            return
        state = msg.parse_presence(payload).state
        if device not in self._known_handsets:
            self.counters["unknown_devices_seen"] += 1
            log.warning("presence from %s, which is not a handset in the config", device)
            return
        if self.presence.get(device) != state:
            self.presence[device] = state
            log.info("handset %s (%s) is %s", device, self._known_handsets[device], state)

    def _on_floor_message(self, device: str, payload: bytes) -> None:
        message = msg.parse_up_floor(payload)
        bridge = self._bridge_by_poc_group.get(message.group)
        if bridge is None:
            if isinstance(message, msg.FloorRequest) and self.link is not None:
                deny = msg.FloorDeny(group=message.group, req=message.req, reason="unknown_group",
                                     detail=f"group {message.group} is not bridged by gateway {self.gateway_id}")
                self.link.publish_nowait(topics.down_floor_topic(device), deny.to_bytes(), qos=1)
            return
        if isinstance(message, msg.FloorRequest):
            bridge.floor_request(device, message.group, message)
        else:
            bridge.floor_release(device, message)

    def _on_radio_event(self, radio: str, event: RadioEvent) -> None:
        if isinstance(event, ReceiveCall) and event.source == self.config.radio(radio).radio_id:
            # Our own transmission coming back (a repeater's echo of the donor radio's ID):
            # never feed it to the PoC side.
            self.counters["own_echo_ignored"] += 1
            log.info("radio %s: ignoring a receive report of our own ID %d (echo)", radio, event.source)
            return
        if isinstance(event, ReceiveCall):
            bridge = self._bridge_by_radio_group.get((radio, event.target))
            if bridge is None:
                self.counters["unmapped_radio_calls"] += 1
                log.info("radio %s: call from %d to unmapped talk group %d ignored", radio, event.source, event.target)
                return
            if event.state is CallState.STARTED:
                log.info("radio %s: call from radio %d on talk group %d started", radio, event.source, event.target)
                bridge.radio_call_started(event.source)
            else:
                log.info("radio %s: call from radio %d on talk group %d %s", radio, event.source, event.target,
                         event.state.value)
                bridge.radio_call_ended()
        elif isinstance(event, LinkDown):
            self.ports[radio].link_up = False
            self.ports[radio].radio_stopped_transmitting("radio_unavailable")
            if event.permanent and not self._stopping.is_set() and self._started:
                # The port itself failed and will not come back on its own: stop (radios are
                # unkeyed on the way out) so systemd restarts us and start-up reopens the port.
                log.error("radio %s: control port failed (%s); stopping so the service restarts", radio,
                          event.reason)
                self._port_failures[radio] = event.reason
                self._fatal = GatewayError(f"radio {radio}: {event.reason}")
                self._stopping.set()
                return
            if self.ready:
                log.error("radio %s: control link lost: %s", radio, event.reason)
            else:
                log.info("radio %s: control link closed: %s", radio, event.reason)
        elif isinstance(event, LinkUp):
            self.ports[radio].link_up = True
            log.info("radio %s: control link up", radio)
        elif isinstance(event, TransmitState):
            if not event.keyed:  # PTT is off: if we believed we were on air, the talker must know
                self.ports[radio].radio_stopped_transmitting("radio_unavailable")
        elif isinstance(event, TextReceived):
            kind = "group" if event.group else "private"
            log.info("radio %s: %s text from %d to %d: %r", radio, kind, event.source, event.target, event.text)
        else:
            log.debug("radio %s: %s", radio, event)
