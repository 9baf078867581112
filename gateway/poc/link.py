"""MQTT link adapter (aiomqtt, paho inside the asyncio loop): connect, resubscribe, reconnect.

Shared by the gateway and the reference handset. It owns the connection and nothing else:
inbound messages go to ``on_message(topic, payload)``; ``on_connected()`` runs after every
(re)connect so the owner can republish its retained state. Voice published while the link
is down is dropped on purpose (voice is fresh or dropped); control messages are dropped
too and their current state is republished by ``on_connected``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from dataclasses import dataclass, field
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import aiomqtt

from ..errors import GatewayError

log = logging.getLogger(__name__)


class LinkError(GatewayError):
    pass


@dataclass(frozen=True)
class LinkSettings:
    url: str
    username: str
    password: str
    client_id: str
    will_topic: str | None = None
    will_payload: bytes | None = None
    keepalive_s: int = 30
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify_hostname: bool = True
    subscriptions: list[tuple[str, int]] = field(default_factory=list)

    def host_port_tls(self) -> tuple[str, int, bool]:
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise LinkError(f"broker url {self.url!r}: expected mqtt://host[:port] or mqtts://host[:port]")
        tls = parts.scheme == "mqtts"
        return parts.hostname, parts.port or (8883 if tls else 1883), tls


MessageHandler = Callable[[str, bytes], None]


class MqttLink:
    RETRY_MIN_S = 0.2
    RETRY_MAX_S = 5.0

    def __init__(self, settings: LinkSettings, on_message: MessageHandler,
                 on_connected: Callable[[], Awaitable[None]] | None = None) -> None:
        self.settings = settings
        self._on_message = on_message
        self._on_connected = on_connected
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.status = "starting"
        self.counters = {"connects": 0, "dropped_while_down": 0, "handler_errors": 0, "published": 0}

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"mqtt-link-{self.settings.client_id}")

    async def wait_connected(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._connected.wait(), timeout)
        except TimeoutError:
            raise LinkError(f"broker {self.settings.url} not reachable as {self.settings.username!r} "
                            f"within {timeout:.0f} s (status: {self.status})") from None

    def _client_for(self) -> aiomqtt.Client:
        host, port, tls = self.settings.host_port_tls()
        s = self.settings
        will = aiomqtt.Will(s.will_topic, s.will_payload, qos=1, retain=True) if s.will_topic else None
        context = None
        if tls:
            context = ssl.create_default_context(cafile=s.ca_file)
            context.check_hostname = s.verify_hostname
            if s.cert_file:
                context.load_cert_chain(s.cert_file, s.key_file)
        return aiomqtt.Client(host, port, username=s.username, password=s.password, identifier=s.client_id,
                              will=will, clean_session=True, keepalive=s.keepalive_s, tls_context=context,
                              timeout=10,
                              # a floor grant must not sit ~40 ms behind Nagle and a delayed ACK
                              socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])

    async def _run(self) -> None:
        delay = self.RETRY_MIN_S
        while True:
            try:
                async with self._client_for() as client:
                    self._client = client
                    for topic, qos in self.settings.subscriptions:
                        await client.subscribe(topic, qos=qos)
                    self.counters["connects"] += 1
                    self.status = "connected"
                    self._connected.set()
                    delay = self.RETRY_MIN_S
                    log.info("MQTT %s connected to %s", self.settings.client_id, self.settings.url)
                    if self._on_connected is not None:
                        await self._on_connected()
                    async for message in client.messages:
                        payload = message.payload if isinstance(message.payload, (bytes, bytearray)) else \
                            str(message.payload).encode()
                        try:
                            self._on_message(message.topic.value, bytes(payload))
                        except Exception:  # a handler bug must not take the link down
                            self.counters["handler_errors"] += 1
                            log.exception("handler failed for message on %s", message.topic.value)
            except asyncio.CancelledError:
                raise
            except aiomqtt.MqttCodeError as exc:
                self.status = "auth rejected" if "auth" in str(exc).lower() or "not authorised" in str(exc).lower() \
                    else f"down: {exc}"
                log.warning("MQTT %s: %s; retry in %.1f s", self.settings.client_id, exc, delay)
            except Exception as exc:
                self.status = f"down: {exc}"
                log.warning("MQTT %s: link down (%s); retry in %.1f s", self.settings.client_id, exc, delay)
            finally:
                self._client = None
                self._connected.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.RETRY_MAX_S)

    def publish_nowait(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        """Hand a message to paho without awaiting; False (and counted) while the link is down."""
        client = self._client
        if client is None or not self.connected:
            self.counters["dropped_while_down"] += 1
            return False
        # aiomqtt's publish only waits for QoS>0 acknowledgement; paho queues the bytes at once.
        info = client._client.publish(topic, payload, qos=qos, retain=retain)  # noqa: SLF001
        self.counters["published"] += 1
        return bool(info.rc == 0)

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        client = self._client
        if client is None or not self.connected:
            self.counters["dropped_while_down"] += 1
            return False
        await client.publish(topic, payload, qos=qos, retain=retain)
        self.counters["published"] += 1
        return True

    async def abort(self) -> None:
        """Drop the connection without an MQTT DISCONNECT, as a dead device would (the broker
        then publishes the last will). For the reference handset's fault simulation."""
        client = self._client
        if client is not None:
            sock = client._client.socket()  # noqa: SLF001 - aiomqtt exposes no abort
            if isinstance(sock, socket.socket):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        await self.close()

    async def close(self, final: list[tuple[str, bytes, int, bool]] | None = None) -> None:
        """Publish ``final`` messages (e.g. presence offline) if connected, then disconnect."""
        if final and self._client is not None and self.connected:
            for topic, payload, qos, retain in final:
                try:
                    await asyncio.wait_for(self._client.publish(topic, payload, qos=qos, retain=retain), 2)
                except Exception:
                    log.warning("could not publish %s on close", topic)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
