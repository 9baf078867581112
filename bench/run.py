"""Benchmark: drive handset -> radio and radio -> handsets N times on the real testbed.

Prints a table and writes a flat JSON object of measured figures (bench/results.json).
Delay is measured on the audio (cross-correlation against the reference speech, with
sound-device and MQTT frame timestamps), per 20 ms frame; PESQ is ITU-T P.862 NB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

from gateway.media.measure import percentile
from gateway.poc import messages as msg
from gateway.scenarios import handset_talks_to_radio, radio_call_to_handsets
from gateway.testbed import SoundRig, Testbed, speech

UP_SPEECH = ["pesq_speech_16k_male.wav", "noizeus_sp11_8k_female.wav"]
DOWN_SPEECH = ["cmu_arctic_axb_a0004_16k_female.wav", "pesq_speech_16k_male.wav"]


async def bench(runs: int) -> dict[str, float | int | str]:
    up_pesq: list[float] = []
    up_lat: list[float] = []
    down_pesq: list[float] = []
    down_lat: list[float] = []
    grant_ms: list[float] = []
    key_ms: list[float] = []
    unkey_ms: list[float] = []
    failures = 0
    async with Testbed() as tb:
        gate1, gate2 = await tb.handset("hs-gate-1"), await tb.handset("hs-gate-2")
        await asyncio.sleep(0.5)
        cpu0, wall0 = time.process_time(), time.monotonic()
        for i in range(runs):
            # PTT press -> grant and -> radio keyed (gateway share, loopback broker)
            t_req = asyncio.get_running_loop().time()
            reply, stream = await gate1.request_floor("school-gates")
            t_grant = asyncio.get_running_loop().time()
            if isinstance(reply, msg.FloorGrant):
                grant_ms.append((t_grant - t_req) * 1000)
                while not tb.radio.keyed and asyncio.get_running_loop().time() - t_req < 2:
                    await asyncio.sleep(0.001)
                key_ms.append((tb.radio.transmissions[-1].keyed_at - t_req) * 1000)
                await gate1.talk("school-gates", stream, np.zeros(1600, dtype=np.int16))
                while tb.radio.keyed:
                    await asyncio.sleep(0.01)
            up = await handset_talks_to_radio(tb, gate1, "school-gates", speech(UP_SPEECH[i % len(UP_SPEECH)]))
            if not up.granted or not up.latencies_ms:
                failures += 1
            else:
                up_pesq.append(up.pesq_nb)
                up_lat.extend(up.latencies_ms)
                unkey_ms.append(up.unkey_after_audio_ms)
            await asyncio.sleep(0.4)
            down = await radio_call_to_handsets(tb, 2344235, 9990, speech(DOWN_SPEECH[i % len(DOWN_SPEECH)]), 16000,
                                                [gate1, gate2])
            if len(down.heard) != 2:
                failures += 1
            for heard in down.heard.values():
                down_pesq.append(heard.pesq_nb)
                down_lat.extend(heard.latencies_ms)
            await asyncio.sleep(0.4)
            print(f"run {i + 1:2d}/{runs}: up PESQ {up.pesq_nb:.2f}, down PESQ "
                  f"{', '.join(f'{h.pesq_nb:.2f}' for h in down.heard.values())}", file=sys.stderr, flush=True)
        cpu = (time.process_time() - cpu0) / (time.monotonic() - wall0) * 100
        stuck = int(tb.radio.keyed)
        assert tb.gateway is not None
        port = tb.gateway.ports["pdt1"]
        xruns = {
            "gateway_tx_device_underflows": port.playback.device_underflows,
            "gateway_tx_queue_underruns": port.playback.underruns,
            "gateway_rx_overflows": port.capture.overflows,
            "tx_backlog_dropped": port.counters["tx_backlog_dropped"],
            **tb.radio.xruns,
        }
    return {
        "runs": runs,
        "failures": failures,
        "pesq_nb_poc_to_radio": round(float(np.mean(up_pesq)), 3),
        "pesq_nb_poc_to_radio_min": round(float(np.min(up_pesq)), 3),
        "pesq_nb_radio_to_poc": round(float(np.mean(down_pesq)), 3),
        "pesq_nb_radio_to_poc_min": round(float(np.min(down_pesq)), 3),
        "latency_ms_p50_poc_to_radio": round(percentile(up_lat, 50), 1),
        "latency_ms_p99_poc_to_radio": round(percentile(up_lat, 99), 1),
        "latency_ms_p50_radio_to_poc": round(percentile(down_lat, 50), 1),
        "latency_ms_p99_radio_to_poc": round(percentile(down_lat, 99), 1),
        "floor_grant_ms_p50": round(percentile(grant_ms, 50), 2),
        "floor_grant_ms_p99": round(percentile(grant_ms, 99), 2),
        "ptt_to_keyed_ms_p50": round(percentile(key_ms, 50), 2),
        "ptt_to_keyed_ms_p99": round(percentile(key_ms, 99), 2),
        "unkey_after_last_audio_ms_p50": round(percentile(unkey_ms, 50), 1),
        "unkey_after_last_audio_ms_max": round(max(unkey_ms) if unkey_ms else float("nan"), 1),
        "cpu_percent_one_core_whole_testbed": round(cpu, 1),
        "stuck_ptt": stuck,
        "frames_measured_poc_to_radio": len(up_lat),
        "frames_measured_radio_to_poc": len(down_lat),
        "machine": f"{platform.machine()} {platform.python_version()}",
        **xruns,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--out", default="bench/results.json")
    args = parser.parse_args()
    SoundRig.ensure()
    try:
        results = asyncio.run(bench(args.runs))
    finally:
        SoundRig.stop()
    out = Path(args.out)
    existing = json.loads(out.read_text()) if out.exists() else {}
    existing.update(results)
    out.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    width = max(len(k) for k in results)
    print(f"{'figure':<{width}}  value")
    print("-" * (width + 12))
    for key, value in results.items():
        print(f"{key:<{width}}  {value}")
    print(f"\nwritten to {out}")
    return 0 if results["failures"] == 0 and results["stuck_ptt"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
