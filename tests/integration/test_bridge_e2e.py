"""End to end: handset <-> gateway <-> emulated radio, on the shipped demo config."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from gateway.poc import messages as msg
from gateway.scenarios import handset_talks_to_radio, radio_call_to_handsets
from gateway.testbed import Testbed, speech


async def test_handset_to_radio_keys_plays_and_unkeys(record_property: pytest.RecordProperty) -> None:
    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        result = await handset_talks_to_radio(tb, hs, "school-gates", speech("pesq_speech_16k_male.wav"))
        assert result.granted, result.deny_reason
        assert result.talk_group == 9990
        assert result.keyed_at is not None and result.unkeyed_at is not None, "radio was never keyed/unkeyed"
        print(f"handset->radio PESQ-NB {result.pesq_nb:.2f}, keyed {result.keyed_before_audio_ms:.0f} ms before audio,"
              f" unkeyed {result.unkey_after_audio_ms:.0f} ms after, delay p50 {np.median(result.latencies_ms):.1f} ms")
        record_property("pesq_nb_poc_to_radio", result.pesq_nb)
        assert result.pesq_nb >= 3.5
        assert result.keyed_before_audio_ms > 0, "audio reached the radio before it was keyed"
        assert 0 < result.unkey_after_audio_ms <= 500
        assert not tb.radio.keyed


async def test_S09_radio_call_reaches_both_gate_handsets_only_and_fast(record_property: pytest.RecordProperty) -> None:
    """S-09: a radio call reaches the handsets of the mapped group fast; another group hears nothing."""
    async with Testbed() as tb:
        gate1, gate2 = await tb.handset("hs-gate-1"), await tb.handset("hs-gate-2")
        market = await tb.handset("hs-market-1")
        await asyncio.sleep(0.3)
        result = await radio_call_to_handsets(tb, 2344235, 9990, speech("cmu_arctic_axb_a0004_16k_female.wav"), 16000,
                                              [gate1, gate2], [market])
        assert set(result.heard) == {"hs-gate-1", "hs-gate-2"}, f"heard by {sorted(result.heard)}"
        assert result.silent == ["hs-market-1"]
        for device, heard in result.heard.items():
            print(f"radio->{device} PESQ-NB {heard.pesq_nb:.2f}, talker {heard.talker}, "
                  f"delay p50 {np.median(heard.latencies_ms):.1f} ms")
            record_property(f"pesq_nb_radio_to_{device}", heard.pesq_nb)
            assert heard.talker == "2344235"
            assert heard.pesq_nb >= 3.5
            # S-09: the first syllable is on the handsets within 300 ms of leaving the radio
            assert heard.latencies_ms and heard.latencies_ms[0] < 300
        # the retained floor state ends idle
        await asyncio.sleep(0.3)
        assert isinstance(gate1.floor["school-gates"], msg.GroupFloorIdle)


async def test_floor_request_during_radio_call_is_denied_then_granted() -> None:
    async with Testbed() as tb:
        gate1 = await tb.handset("hs-gate-1")
        call = asyncio.create_task(tb.radio.play_call(2344235, 9990, speech("cmu_arctic_axb_a0004_16k_female.wav"), 16000))
        await asyncio.sleep(0.8)
        reply, _ = await gate1.request_floor("school-gates")
        assert isinstance(reply, msg.FloorDeny)
        assert reply.reason == "radio_busy"
        assert "2344235" in reply.detail
        await call
        await asyncio.sleep(0.2)
        reply, stream = await gate1.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        await gate1.talk("school-gates", stream, speech("pesq_speech_16k_male.wav")[:8000])
        for _ in range(100):
            if tb.radio.transmissions and not tb.radio.keyed:
                break
            await asyncio.sleep(0.05)
        assert len(tb.radio.transmissions) == 1 and not tb.radio.keyed


async def test_S03_killed_handset_does_not_hold_the_radio_keyed() -> None:
    """S-03: a handset dies mid-talk with no END -> floor released and PTT dropped within 1.5 s."""
    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        sent = await hs.talk("school-gates", stream, speech("pesq_speech_16k_male.wav"), send_end=False,
                             stop_after_s=1.0)
        await hs.kill()  # no END frame, no release, no goodbye
        last_frame = sent[-1]
        loop = asyncio.get_running_loop()
        while tb.radio.keyed and loop.time() - last_frame < 3.0:
            await asyncio.sleep(0.01)
        assert tb.radio.transmissions, "the radio was never keyed"
        unkeyed_at = tb.radio.transmissions[0].unkeyed_at
        assert unkeyed_at is not None, "radio still keyed 3 s after the handset died"
        print(f"radio unkeyed {1000 * (unkeyed_at - last_frame):.0f} ms after the dead handset's last frame")
        assert unkeyed_at - last_frame <= 1.5


async def test_handset_outside_group_is_not_member() -> None:
    async with Testbed() as tb:
        market = await tb.handset("hs-market-1")
        market.groups.append("school-gates")  # a misbehaving handset asks for a group it is not in
        reply, _ = await market.request_floor("school-gates")
        assert isinstance(reply, msg.FloorDeny) and reply.reason == "not_member"
        assert not tb.radio.transmissions


async def test_duplicate_frames_do_not_keep_the_radio_keyed() -> None:
    """100 copies of one START frame: only the first is played, so the floor idles out 0.5 s after it."""
    from gateway.media.opus import OpusEncoder
    from gateway.poc import topics
    from gateway.poc.frames import AudioFrame

    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        payload = OpusEncoder().encode(speech("pesq_speech_16k_male.wav")[:320])
        frame = AudioFrame(stream_id=stream, seq=0, timestamp=0, payload=payload, start=True).encode()
        loop = asyncio.get_running_loop()
        first = loop.time()
        for _ in range(100):  # 2 s of the same frame
            hs.link.publish_nowait(topics.group_audio_topic("school-gates", "hs-gate-1"), frame)
            await asyncio.sleep(0.02)
        assert tb.radio.transmissions, "the radio was never keyed"
        unkeyed = tb.radio.transmissions[0].unkeyed_at
        assert unkeyed is not None and unkeyed - first < 1.2, "duplicates kept the radio keyed"


async def test_audio_faster_than_real_time_is_dropped_not_played_late() -> None:
    """60 ms packets every 20 ms (3x real time): the radio unkeys soon after END, not seconds later."""
    from gateway.media.opus import OpusEncoder
    from gateway.poc import topics
    from gateway.poc.frames import AudioFrame

    async with Testbed() as tb:
        hs = await tb.handset("hs-gate-1")
        reply, stream = await hs.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        encoder = OpusEncoder(16000, 24000, frame_ms=60)
        pcm = speech("pesq_speech_16k_male.wav")
        topic = topics.group_audio_topic("school-gates", "hs-gate-1")
        n = 100
        for i in range(n):
            chunk = pcm[(i * 960) % (len(pcm) - 960):][:960]
            frame = AudioFrame(stream_id=stream, seq=i, timestamp=i * 2880, payload=encoder.encode(chunk),
                               start=i == 0, end=i == n - 1)
            hs.link.publish_nowait(topic, frame.encode())
            await asyncio.sleep(0.02)
        end = asyncio.get_running_loop().time()
        while tb.radio.keyed and asyncio.get_running_loop().time() - end < 6:
            await asyncio.sleep(0.02)
        unkeyed = tb.radio.transmissions[0].unkeyed_at
        assert unkeyed is not None and unkeyed - end < 1.0, f"radio talked on {unkeyed and unkeyed - end:.1f} s after END"


async def test_S04_echo_of_our_own_transmission_never_reaches_handsets() -> None:
    """S-04: just after our talk, the radio reports a 'call' from its own ID (a repeater echo of our TX)
    and a 250 ms burst arrives on the RX audio: handsets hear nothing, the floor stays idle."""
    async with Testbed() as tb:
        gate1, gate2 = await tb.handset("hs-gate-1"), await tb.handset("hs-gate-2")
        result = await handset_talks_to_radio(tb, gate1, "school-gates", speech("noizeus_sp11_8k_female.wav"))
        assert result.granted and result.unkeyed_at is not None
        await asyncio.sleep(0.04)
        own_id = tb.radio.radio_id
        await tb.radio.play_call(own_id, 9990, speech("pesq_speech_16k_male.wav")[:4000], 16000, hang_s=0.0)
        await asyncio.sleep(0.5)
        assert not [s for s in gate2.heard if s.origin == "gw-demo"], "the echo reached a handset"
        assert not [s for s in gate1.heard], "the talker heard himself"
        assert isinstance(gate2.floor["school-gates"], msg.GroupFloorIdle)
        assert tb.gateway is not None and tb.gateway.counters["own_echo_ignored"] == 2  # start and end reports


async def test_talk_group_joining_two_poc_groups_relays_both_ways() -> None:
    from gateway.testbed import ROOT

    config = ROOT / "tests" / "data" / "configs" / "good" / "two_poc_groups.yaml"
    async with Testbed(config) as tb:
        gate, hosp = await tb.handset("hs-gate-1"), await tb.handset("hs-hosp-1")
        await asyncio.sleep(0.3)
        up = await handset_talks_to_radio(tb, gate, "school-gates", speech("pesq_speech_16k_male.wav"))
        assert up.granted and up.pesq_nb >= 3.5
        relayed = [s for s in hosp.streams_heard("hospital") if s.origin == "gw-two"]
        assert relayed and relayed[0].talker == "hs-gate-1" and relayed[0].ended
        # while the gate guard talked, the hospital saw who had the floor in its own group
        taken = [st for _, g, st in hosp.floor_log if g == "hospital" and isinstance(st, msg.GroupFloorTaken)]
        assert taken and taken[0].talker == "hs-gate-1" and taken[0].origin == "gw-two"
        await asyncio.sleep(0.4)
        down = await radio_call_to_handsets(tb, 2344235, 9990, speech("cmu_arctic_axb_a0004_16k_female.wav"), 16000,
                                            [gate, hosp])
        assert set(down.heard) == {"hs-gate-1", "hs-hosp-1"}
        assert all(h.talker == "2344235" and h.pesq_nb >= 3.5 for h in down.heard.values())


async def test_gateway_tracks_handset_presence_including_last_will() -> None:
    async with Testbed() as tb:
        assert tb.gateway is not None
        gate1 = await tb.handset("hs-gate-1")
        market = await tb.handset("hs-market-1")
        await asyncio.sleep(0.3)
        assert tb.gateway.health()["handsets_online"] == ["hs-gate-1", "hs-market-1"]
        await market.kill()  # vanishes: the broker publishes its last will "offline"
        await asyncio.sleep(0.5)
        assert tb.gateway.presence == {"hs-gate-1": "online", "hs-market-1": "offline"}
        assert "handsets 1/3 online" in tb.gateway.status_line()
        await gate1.close()


async def test_S07_tx_crosstalk_on_the_receive_input_never_reaches_handsets() -> None:
    """S-07: a -20 dB copy of our TX audio leaks into the capture input while we transmit ->
    nothing from the gateway reaches the PoC side; the talker never hears himself."""
    async with Testbed() as tb:
        talker, listener = await tb.handset("hs-gate-1"), await tb.handset("hs-gate-2")
        pcm = speech("pesq_speech_16k_male.wav")
        reply, stream = await talker.request_floor("school-gates")
        assert isinstance(reply, msg.FloorGrant)
        leak = asyncio.create_task(tb.radio.play_unreported((pcm * 0.1).astype(pcm.dtype), 16000))
        await talker.talk("school-gates", stream, pcm)
        await leak
        await asyncio.sleep(0.5)
        assert tb.radio.transmissions and not tb.radio.keyed
        assert not talker.heard, "the talker heard audio back"
        assert all(s.origin == "hs-gate-1" for s in listener.heard), "gateway audio reached the group"
