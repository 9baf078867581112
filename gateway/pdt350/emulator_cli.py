"""``pdtgw emulate-radio``: run the virtual PDT radio by hand (bench setups, training, demos).

Prints the pty path to give the gateway as its serial URL, optionally plays WAV files as
calls received over the air, and saves what it transmitted while keyed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import wave
from pathlib import Path

import numpy as np

from ..errors import GatewayError
from ..media.wav import read_wav
from .emulator import EmulatedRadio

log = logging.getLogger(__name__)


MAX_ID = 16776415  # the largest PDT/DMR unit or group ID


def parse_call(spec: str) -> tuple[int, int, Path]:
    try:
        source, group, wav = spec.split(":", 2)
        call = int(source), int(group), Path(wav)
    except ValueError:
        raise GatewayError(f"--call {spec!r}: expected SOURCE:TALKGROUP:WAV, e.g. 2344235:9990:speech.wav") from None
    if not (1 <= call[0] <= MAX_ID and 1 <= call[1] <= MAX_ID):
        raise GatewayError(f"--call {spec!r}: SOURCE and TALKGROUP must be IDs 1..{MAX_ID}")
    return call


def parse_text(spec: str) -> tuple[int, str]:
    target, sep, message = spec.partition(":")
    if not sep or not target.isdigit() or not message:
        raise GatewayError(f"--text {spec!r}: expected TARGET:MESSAGE, e.g. 9990:gate 3 is closed")
    if not 1 <= int(target) <= MAX_ID:
        raise GatewayError(f"--text {spec!r}: TARGET must be an ID 1..{MAX_ID}")
    if len(message) > 200:
        raise GatewayError(f"--text: message of {len(message)} characters; a radio text takes at most 200")
    return int(target), message


async def run_emulator(args: argparse.Namespace) -> int:
    if not 1 <= args.radio_id <= MAX_ID:
        raise GatewayError(f"--radio-id {args.radio_id}: a PDT/DMR ID is 1..{MAX_ID}")
    if args.duration is not None and args.duration < 0:
        raise GatewayError(f"--duration {args.duration}: must be >= 0")
    calls = [parse_call(c) for c in args.call]
    recordings: dict[Path, tuple[int, np.ndarray]] = {}
    for _, _, wav in calls:
        if not wav.exists():
            raise GatewayError(f"--call: WAV file {wav} does not exist")
        try:
            recordings[wav] = read_wav(wav)
        except (ValueError, EOFError, wave.Error) as exc:
            raise GatewayError(f"--call: {wav} is not a 16-bit PCM WAV file ({str(exc) or type(exc).__name__})") from None
    texts = [parse_text(t) for t in args.text]
    radio = EmulatedRadio(args.radio_id, mic_input=args.mic_input, speaker_output=args.speaker_output,
                          card_rate=args.rate)
    await radio.start()
    print(f"emulated PDT radio {args.radio_id} ready: serial url {radio.device_path}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def play_calls() -> None:
        await asyncio.sleep(args.call_delay)
        for target, message in texts:
            await radio.link.send_text(target, message, group=True)
            print(f"sent text to {target}: {message}", flush=True)
        for source, group, wav in calls:
            rate, pcm = recordings[wav]
            call = await radio.play_call(source, group, pcm, rate)
            print(f"played call from {source} on talk group {group} ({len(pcm) / rate:.1f} s, "
                  f"{call.ended_at - call.reported_at:.1f} s on air)", flush=True)

    player = asyncio.create_task(play_calls()) if calls or texts else None
    try:
        # run until Ctrl-C/SIGTERM, or --duration; a stop signal also interrupts a call being played
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait([waiter], timeout=args.duration)
        waiter.cancel()
        if player is not None and not player.done():
            player.cancel()  # play_call reports the call's end on the way out
            await asyncio.gather(player, return_exceptions=True)
        elif player is not None and player.exception() is not None:
            raise GatewayError(f"playing the calls failed: {player.exception()}")
    finally:
        if args.record_dir:
            out = Path(args.record_dir)
            for i, tx in enumerate(radio.transmissions):
                radio.save_transmission(i, out / f"tx-{i + 1}.wav")
                print(f"saved transmission {i + 1} (talk group {tx.talk_group}) to {out / f'tx-{i + 1}.wav'}")
        await radio.close()
    return 0
