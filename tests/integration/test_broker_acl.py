"""The broker enforces identity: passwords, and an ACL generated from the config.

mosquitto drops an unauthorised publish silently, so these tests assert non-delivery."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import aiomqtt
import pytest

from gateway.config import load_config
from gateway.poc import messages as msg
from gateway.poc import topics
from gateway.poc.broker import MosquittoBroker
from gateway.poc.frames import AudioFrame
from gateway.poc.handset import Handset
from gateway.poc.link import LinkError
from gateway.testbed import DEMO_CONFIG


@pytest.fixture
def broker() -> MosquittoBroker:
    cfg = load_config(DEMO_CONFIG)
    users = {"gw-demo": "gw-pass", "hs-gate-1": "gate1-pass", "hs-market-1": "market-pass"}
    acl = topics.mosquitto_acl("gw-demo", {h.id: list(h.groups) for h in cfg.handsets})
    b = MosquittoBroker(Path(tempfile.mkdtemp(prefix="pdtgw-acl-")), users, acl)
    b.start()
    yield b
    b.stop()


async def test_acl_blocks_foreign_group_audio_and_impersonation(broker: MosquittoBroker) -> None:
    received: list[str] = []
    async with aiomqtt.Client("127.0.0.1", broker.port, username="gw-demo", password="gw-pass",
                              identifier="gw-demo") as gateway:
        await gateway.subscribe("poc1/#", qos=1)
        async with aiomqtt.Client("127.0.0.1", broker.port, username="hs-market-1", password="market-pass",
                                  identifier="hs-market-1") as market:
            frame = AudioFrame(stream_id=7, seq=0, timestamp=0, payload=b"\xf8\xff\xfe", start=True).encode()
            # not its group / not its identity / not its device topics: all must be dropped
            await market.publish(topics.group_audio_topic("school-gates", "hs-market-1"), frame)
            await market.publish(topics.group_audio_topic("market-stalls", "hs-gate-1"), frame)
            await market.publish(topics.up_floor_topic("hs-gate-1"),
                                 msg.FloorRequest(group="school-gates", req="x", stream=7).to_bytes(), qos=1)
            await market.publish(topics.group_floor_topic("market-stalls"), msg.GroupFloorIdle(ts=0).to_bytes(), qos=1)
            # allowed: its own group audio under its own id (proves the subscription works)
            await market.publish(topics.group_audio_topic("market-stalls", "hs-market-1"), frame)

            async def collect() -> None:
                async for message in gateway.messages:
                    received.append(message.topic.value)

            task = asyncio.create_task(collect())
            await asyncio.sleep(1.0)
            task.cancel()
    assert received == [topics.group_audio_topic("market-stalls", "hs-market-1")]


async def test_wrong_password_is_refused(broker: MosquittoBroker) -> None:
    hs = Handset("hs-gate-1", "not-the-password", broker.url, ["school-gates"])
    hs.link.start()
    with pytest.raises(LinkError):
        await hs.link.wait_connected(2.0)
    assert "auth" in hs.link.status or "down" in hs.link.status
    await hs.kill()
