"""Faults on the real parts: the broker goes away mid-talk and comes back."""

from __future__ import annotations

import asyncio

from gateway.poc import messages as msg
from gateway.scenarios import handset_talks_to_radio
from gateway.testbed import Testbed, speech


async def test_broker_lost_mid_talk_unkeys_then_everything_recovers() -> None:
    async with Testbed() as tb:
        assert tb.broker is not None and tb.gateway is not None and tb.gateway.link is not None
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        talk = asyncio.create_task(hs.talk("school-gates", stream, speech("OSR_us_000_0034_8k.wav")))
        await asyncio.sleep(1.0)
        assert tb.radio.keyed
        stopped = asyncio.get_running_loop().time()
        await tb.broker.astop()
        while tb.radio.keyed and asyncio.get_running_loop().time() - stopped < 3:
            await asyncio.sleep(0.02)
        assert not tb.radio.keyed, "radio still keyed 3 s after the broker died"
        assert tb.radio.transmissions[0].unkeyed_at is not None
        assert tb.radio.transmissions[0].unkeyed_at - stopped < 1.5
        talk.cancel()
        await asyncio.to_thread(tb.broker.start)
        for _ in range(200):  # both sides reconnect with backoff (cap 5 s)
            if tb.gateway.link.connected and hs.link.connected:
                break
            await asyncio.sleep(0.05)
        assert tb.gateway.link.connected and hs.link.connected
        assert tb.gateway.link.counters["connects"] == 2
        await asyncio.sleep(0.3)
        # the retained floor state was republished by the gateway after its reconnect
        assert isinstance(hs.floor["school-gates"], msg.GroupFloorIdle)
        again = await handset_talks_to_radio(tb, hs, "school-gates", speech("noizeus_sp11_8k_female.wav"))
        assert again.granted and again.pesq_nb >= 3.5 and not tb.radio.keyed
