"""``pdtgw handset``: the reference handset from the command line (field checks, demos)."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

import numpy as np

from ..errors import GatewayError
from ..media.wav import read_wav, write_wav
from . import messages as msg
from .handset import Handset


async def run_handset(args: argparse.Namespace) -> int:
    password = args.password or os.environ.get("PDTGW_HANDSET_PASSWORD")
    if not password:
        raise GatewayError("no password: pass --password or set PDTGW_HANDSET_PASSWORD")
    hs = Handset(args.device, password, args.broker, [args.group], ca_file=args.ca_file)
    speech = None
    if args.talk:
        if not Path(args.talk).exists():
            raise GatewayError(f"--talk: {args.talk} does not exist")
        speech = read_wav(args.talk, hs.rate)[1]
    await hs.connect()
    print(f"{args.device}: connected to {args.broker}, group {args.group}", flush=True)
    status = 0
    try:
        if speech is not None:
            reply, stream = await hs.request_floor(args.group)
            if isinstance(reply, msg.FloorDeny):
                print(f"{args.device}: floor DENIED: {reply.reason} ({reply.detail})", flush=True)
                status = 3
            else:
                print(f"{args.device}: floor granted, talking {len(speech) / hs.rate:.1f} s", flush=True)
                await hs.talk(args.group, stream, speech)
                await hs.release(args.group, stream)
                print(f"{args.device}: done talking", flush=True)
        if args.listen > 0:
            await asyncio.sleep(args.listen)
        for heard in hs.streams_heard(args.group):
            print(f"{args.device}: heard {heard.talker_kind or '?'} {heard.talker or heard.origin}: "
                  f"{len(heard.audio()) / hs.rate:.1f} s, {heard.lost} frames lost", flush=True)
        if args.record:
            streams = hs.streams_heard(args.group)
            audio = np.concatenate([s.audio() for s in streams]) if streams else np.zeros(0, dtype=np.int16)
            write_wav(args.record, hs.rate, audio)
            print(f"{args.device}: saved {len(audio) / hs.rate:.1f} s to {args.record}", flush=True)
    finally:
        await hs.close()
    return status
