"""``pdtgw demo``: a whole site on this machine, narrated as it happens, then measured.

A guard's handset talks a real recording to the police radio; an officer's radio call
(from radio 2344235 on talk group 9990) reaches the gate handsets; a guard pressing PTT
while the officer talks is refused with a reason, then granted once the call ends.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

from .media.measure import percentile
from .media.wav import read_wav, write_wav
from .poc import messages as msg
from .scenarios import handset_talks_to_radio, radio_call_to_handsets
from .testbed import ROOT, SoundRig, Testbed

SPEECH = ROOT / "tests" / "data" / "speech"
T0 = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - T0:6.2f}s] {text}", flush=True)


async def _demo(config: Path, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    say("starting sound rig (PulseAudio null sinks), mosquitto with passwords + ACL, emulated radio on a pty ...")
    # broker passwords and sound-server cookies stay in a private temp dir, not next to the recordings
    async with Testbed(config) as tb:
        assert tb.gateway is not None and tb.broker is not None
        say(f"gateway '{tb.gateway.gateway_id}' ready: radio on {tb.radio.device_path}, broker {tb.broker.url}")
        gate1 = await tb.handset("hs-gate-1")
        gate2 = await tb.handset("hs-gate-2")
        market = await tb.handset("hs-market-1")
        say("handsets online: hs-gate-1, hs-gate-2 (school-gates -> PDT talk group 9990), hs-market-1 (market-stalls)")
        await asyncio.sleep(0.5)

        # 1. a guard talks to the police radio
        _, guard_speech = read_wav(SPEECH / "pesq_speech_16k_male.wav", 16000)
        say("hs-gate-1 presses PTT on school-gates and speaks a 3.1 s recording ...")
        up = await handset_talks_to_radio(tb, gate1, "school-gates", guard_speech)
        if not up.granted or up.keyed_at is None:
            say(f"FAILED: hs-gate-1 was not put on air ({up.deny_reason})")
            return 1
        say(f"  radio KEYED on talk group {up.talk_group} {up.keyed_before_audio_ms:.0f} ms before the first audio; "
            f"unkeyed {up.unkey_after_audio_ms:.0f} ms after the last")
        if up.recording is not None:
            write_wav(out / "radio_tx_from_hs-gate-1.wav", 16000, up.recording)

        await asyncio.sleep(0.5)  # an officer answers half a second later

        # 2. an officer calls; gate handsets hear him; a guard is refused while he talks
        _, officer_speech = read_wav(SPEECH / "cmu_arctic_axb_a0004_16k_female.wav", 16000)
        say("radio 2344235 calls talk group 9990 (a 2.8 s recording over the air) ...")

        async def guard_tries_during_call() -> msg.FloorGrant | msg.FloorDeny:
            await asyncio.sleep(1.0)
            reply, _ = await gate2.request_floor("school-gates")
            return reply

        attempt = asyncio.create_task(guard_tries_during_call())
        down = await radio_call_to_handsets(tb, 2344235, 9990, officer_speech, 16000, [gate1, gate2], [market])
        busy_reply = await attempt
        for device, heard in down.heard.items():
            say(f"  {device} heard talker {heard.talker}: PESQ-NB {heard.pesq_nb:.2f}")
            write_wav(out / f"{device}_heard_radio.wav", 16000, heard.recording)
        say(f"  hs-market-1 (other group) heard: {'nothing' if 'hs-market-1' in down.silent else 'AUDIO (wrong!)'}")
        if isinstance(busy_reply, msg.FloorDeny):
            say(f"  hs-gate-2 pressed PTT during the call: DENIED ({busy_reply.reason}: {busy_reply.detail})")
        else:
            say("  hs-gate-2 pressed PTT during the call: granted (wrong!)")
        await asyncio.sleep(0.3)
        reply, stream = await gate2.request_floor("school-gates")
        say(f"  after the call, hs-gate-2 presses PTT again: {'GRANTED' if isinstance(reply, msg.FloorGrant) else 'denied'}")
        if isinstance(reply, msg.FloorGrant):
            await gate2.talk("school-gates", stream, guard_speech[:16000])
            await asyncio.sleep(0.8)

        lat_down = [v for h in down.heard.values() for v in h.latencies_ms]
        print()
        print("summary (measured on the audio, see docs/performance.md)")
        print(f"  handset -> radio : PESQ-NB {up.pesq_nb:.2f}   gateway delay p50 {percentile(up.latencies_ms, 50):5.1f} ms"
              f"  p99 {percentile(up.latencies_ms, 99):5.1f} ms")
        scores = ", ".join(f"{d} {h.pesq_nb:.2f}" for d, h in down.heard.items())
        print(f"  radio -> handsets: PESQ-NB {scores}   gateway delay p50 {percentile(lat_down, 50):5.1f} ms"
              f"  p99 {percentile(lat_down, 99):5.1f} ms")
        print(f"  floor: busy request denied = {isinstance(busy_reply, msg.FloorDeny)}, "
              f"radio unkeyed at end = {not tb.radio.keyed}")
        print(f"  recordings in {out}/")
        checks = {
            "handset -> radio speech quality PESQ-NB >= 3.5": up.pesq_nb >= 3.5,
            "both gate handsets heard the officer with PESQ-NB >= 3.5":
                len(down.heard) == 2 and all(h.pesq_nb >= 3.5 for h in down.heard.values()),
            "the handsets saw radio 2344235 as the talker": all(h.talker == "2344235" for h in down.heard.values()),
            "the market handset (other group) heard nothing": "hs-market-1" in down.silent,
            "a PTT press during the officer's call was refused": isinstance(busy_reply, msg.FloorDeny),
            "the radio is unkeyed at the end": not tb.radio.keyed,
        }
        failed = [name for name, passed in checks.items() if not passed]
        for name in failed:
            print(f"  FAILED CHECK: {name}")
        print("  (PESQ-NB is the ITU-T P.862 speech-quality score, 1 = bad .. 4.5 = transparent; "
              "p50/p99 = median / 99th percentile)")
        print(f"demo {'OK' if not failed else 'FAILED'}")
        return 0 if not failed else 1


def run_demo(config: Path, out: Path) -> int:
    logging.getLogger("gateway.bridge").setLevel(logging.INFO)
    logging.getLogger("gateway.app").setLevel(logging.INFO)
    logging.getLogger("gateway.radio_port").setLevel(logging.INFO)
    logging.getLogger("gateway.pdt350.emulator").setLevel(logging.INFO)
    SoundRig.ensure()
    try:
        return asyncio.run(_demo(config, out))
    finally:
        SoundRig.stop()


if __name__ == "__main__":
    sys.exit(run_demo(ROOT / "configs" / "demo.yaml", Path("demo-out")))
