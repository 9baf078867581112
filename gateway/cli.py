"""``pdtgw``: the command line. Only ``main()`` exits; everything below returns or raises."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from .errors import ConfigError, GatewayError


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=getattr(logging, level.upper()), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


def cmd_check_config(args: argparse.Namespace) -> int:
    from .config import check_config

    problems = check_config(args.file)
    if problems:
        for p in problems:
            print(p)
        print(f"{len(problems)} problem(s) in {args.file}", file=sys.stderr)
        return 1
    print(f"{args.file}: OK")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .app import Gateway
    from .config import load_config

    config = load_config(args.config)
    _setup_logging(args.log_level or config.gateway.log_level)
    return asyncio.run(Gateway(config).run_forever())


def cmd_broker_acl(args: argparse.Namespace) -> int:
    from .config import load_config
    from .poc.topics import mosquitto_acl

    config = load_config(args.config)
    print(mosquitto_acl(config.broker.username, {h.id: list(h.groups) for h in config.handsets}), end="")
    return 0


def cmd_emulate_radio(args: argparse.Namespace) -> int:
    from .pdt350.emulator_cli import run_emulator

    _setup_logging(args.log_level)
    return asyncio.run(run_emulator(args))


def cmd_handset(args: argparse.Namespace) -> int:
    from .poc.handset_cli import run_handset

    _setup_logging(args.log_level)
    return asyncio.run(run_handset(args))


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    _setup_logging(args.log_level)
    return run_demo(Path(args.config), Path(args.out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pdtgw", description="PDT radio <-> PoC handset gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="run the gateway on a config file")
    p.add_argument("config")
    p.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("check-config", help="validate a config file; prints OK or every problem")
    p.add_argument("file")
    p.set_defaults(func=cmd_check_config)

    p = sub.add_parser("broker-acl", help="print the mosquitto ACL for the handsets of a config")
    p.add_argument("config")
    p.set_defaults(func=cmd_broker_acl)

    p = sub.add_parser("emulate-radio", help="run a virtual PDT radio on a pseudo-terminal")
    p.add_argument("--radio-id", type=int, default=2001, help="the emulated radio's own ID")
    p.add_argument("--mic-input", default="emu_tx_in", help="sound device it records while keyed")
    p.add_argument("--speaker-output", default="emu_air_out", help="sound device it plays received calls into")
    p.add_argument("--rate", type=int, default=48000)
    p.add_argument("--call", action="append", default=[], metavar="SOURCE:TALKGROUP:WAV",
                   help="after start, play WAV as a call from radio SOURCE on TALKGROUP (repeatable)")
    p.add_argument("--call-delay", type=float, default=2.0, help="seconds before the first call")
    p.add_argument("--text", action="append", default=[], metavar="TARGET:MESSAGE",
                   help="after start, send MESSAGE as a group text to TARGET (repeatable)")
    p.add_argument("--record-dir", help="save each transmission heard while keyed as tx-N.wav here")
    p.add_argument("--duration", type=float,
                   help="exit after this many seconds (default: run until Ctrl-C, also after the --call files)")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_emulate_radio)

    p = sub.add_parser("handset", help="reference PoC handset: talk a WAV and/or record what it hears")
    p.add_argument("--broker", required=True, help="mqtt://host:port or mqtts://host:port")
    p.add_argument("--device", required=True, help="device id (= MQTT username)")
    p.add_argument("--password", help="broker password (or set PDTGW_HANDSET_PASSWORD)")
    p.add_argument("--ca-file", help="CA bundle for mqtts")
    p.add_argument("--group", required=True)
    p.add_argument("--talk", metavar="WAV", help="request the floor and talk this recording")
    p.add_argument("--listen", type=float, default=0.0, help="seconds to listen (after talking)")
    p.add_argument("--record", metavar="WAV", help="save what was heard to this file")
    p.add_argument("--log-level", default="info")
    p.set_defaults(func=cmd_handset)

    p = sub.add_parser("demo", help="gateway + emulated radio + handsets on a local broker and sound rig")
    p.add_argument("--config", default=str(Path(__file__).resolve().parent.parent / "configs" / "demo.yaml"))
    p.add_argument("--out", default="demo-out", help="where recordings and logs go")
    p.add_argument("--log-level", default="warning")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 2
    except GatewayError as exc:
        print(f"pdtgw: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
