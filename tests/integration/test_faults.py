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


async def test_radio_link_lost_mid_talk_revokes_the_talker() -> None:
    """The radio's control link dies while a handset talks: the handset is told at once
    (revoke radio_unavailable) instead of talking into a dead radio, and later requests
    are refused with the same reason."""
    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        talk = asyncio.create_task(hs.talk("school-gates", stream, speech("OSR_us_000_0034_8k.wav")))
        await asyncio.sleep(1.0)
        assert tb.radio.keyed
        await tb.radio.link.close()  # the cable is pulled on the radio's side
        await asyncio.wait_for(hs.revoked.wait(), 2.0)
        revokes = [r for r in hs.replies if isinstance(r, msg.FloorRevoke)]
        assert revokes[-1].reason == "radio_unavailable" and revokes[-1].stream == stream
        await asyncio.wait_for(talk, 2.0)  # the reference handset stops talking when revoked
        reply, _ = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorDeny) and reply.reason == "radio_unavailable"


async def test_press_release_press_in_one_burst_still_puts_the_talk_on_air() -> None:
    """A PTT blip: request, release and a new request arrive together. The last talk must
    go on air (found by a break-it run: the radio keyed, then unkeyed under the new talker)."""
    from gateway.poc import topics

    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        up = topics.up_floor_topic("hs-gate-1")
        hs.link.publish_nowait(up, msg.FloorRequest(group="school-gates", req="a", stream=111).to_bytes(), qos=1)
        hs.link.publish_nowait(up, msg.FloorRelease(group="school-gates", stream=111).to_bytes(), qos=1)
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        result_pcm = speech("pesq_speech_16k_male.wav")
        await hs.talk("school-gates", stream, result_pcm)
        for _ in range(100):
            if not tb.radio.keyed:
                break
            await asyncio.sleep(0.02)
        longest = max((tx.unkeyed_at or 0) - tx.keyed_at for tx in tb.radio.transmissions)
        assert longest > 0.9 * len(result_pcm) / 16000, f"talk not on air: {longest:.2f} s"
        assert not tb.radio.keyed


async def test_repeated_floor_request_from_the_talker_does_not_rekey() -> None:
    from gateway.poc import topics

    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        talk = asyncio.create_task(hs.talk("school-gates", stream, speech("pesq_speech_16k_male.wav")))
        await asyncio.sleep(1.0)
        again = msg.FloorRequest(group="school-gates", req=reply.req, stream=stream).to_bytes()
        hs.link.publish_nowait(topics.up_floor_topic("hs-gate-1"), again, qos=1)  # a QoS 1 redelivery
        await talk
        for _ in range(100):
            if not tb.radio.keyed:
                break
            await asyncio.sleep(0.02)
        assert len(tb.radio.transmissions) == 1, "the radio was unkeyed and keyed again mid-talk"


async def test_S18_serial_port_failure_stops_the_gateway_for_a_restart() -> None:
    """S-18 (first part): the radio's serial port fails (adapter unplugged). The driver cannot get
    it back by itself, so the gateway stops with exit code 1 (radio unkeyed on the way out) for
    systemd to restart it, instead of running on with a dead radio path."""

    async with Testbed(start_gateway=False) as tb:
        gateway, runner = await tb.run_gateway()
        try:
            await tb.radio.link.close()  # the pty goes away under the gateway
            code = await asyncio.wait_for(runner, 5)
        finally:
            runner.cancel()
        assert code == 1


async def test_an_unreported_call_on_the_air_blocks_keying() -> None:
    """The gateway (re)started in the middle of an officer's call, so it never saw the call's
    start report: the radio's speaker output is busy, and a handset is refused radio_busy
    instead of being keyed over the officer; once the air is quiet the handset gets the floor."""
    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        officer = speech("OSR_us_000_0034_8k.wav")[:16000 * 12]  # 12 s: sentences with ~1 s pauses
        air = asyncio.create_task(tb.radio.play_unreported(officer, 16000))
        await asyncio.sleep(2.0)
        for _ in range(4):  # asked again and again, including in the pauses between sentences
            reply, _ = await hs.request_floor("school-gates")
            assert isinstance(reply, msg.FloorDeny) and reply.reason == "radio_busy", reply
            await asyncio.sleep(2.2)
        assert "receiving audio" in reply.detail
        assert not tb.radio.transmissions
        await air
        await asyncio.sleep(2.2)
        reply, _ = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)


async def test_S18_port_failure_while_the_link_is_already_down_still_stops_the_gateway() -> None:
    """The radio goes silent (link lost, driver reconnecting), then the port itself fails:
    the failure must still stop the gateway for a restart."""
    async with Testbed(start_gateway=False) as tb:
        _, runner = await tb.run_gateway()
        try:
            await tb.radio.link.pause_answering()  # the radio stops answering: the link times out
            await asyncio.sleep(11.0)
            assert not runner.done(), "a recoverable link loss must not stop the gateway"
            await tb.radio.link.close()
            code = await asyncio.wait_for(runner, 5)
        finally:
            runner.cancel()
        assert code == 1
