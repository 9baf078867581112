"""A tiny sd_notify(3) client: tell systemd we are ready, alive or stopping. No dependencies.

systemd passes ``$NOTIFY_SOCKET`` to a ``Type=notify`` service: a unix datagram socket path,
or an abstract socket name written with a leading ``@``. Each message is one datagram of
newline-separated ``KEY=VALUE`` assignments (``READY=1``, ``WATCHDOG=1``, ``STOPPING=1``,
``STATUS=...``). Without ``$NOTIFY_SOCKET`` (run by hand, in tests) every call is a no-op
that returns False, so callers never need to know whether systemd is watching.

``watchdog_interval()`` reads ``$WATCHDOG_USEC`` (set with ``WatchdogSec=``); ping at about
half of it. It applies only to this process: when ``$WATCHDOG_PID`` names another PID the
watchdog is not ours.
"""

from __future__ import annotations

import os
import socket

__all__ = ["notify", "ready", "stopping", "watchdog", "status", "watchdog_interval"]


def _address(path: str) -> str | bytes:
    if path.startswith("@"):
        return b"\0" + path[1:].encode()  # Linux abstract namespace
    return path


def notify(message: str) -> bool:
    """Send ``message`` to ``$NOTIFY_SOCKET``; False when unset or the send failed."""
    path = os.environ.get("NOTIFY_SOCKET")
    if not path or len(path) < 2 or path[0] not in "/@":
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(_address(path))
            sock.sendall(message.encode())
    except OSError:
        return False
    return True


def ready() -> bool:
    """The service is up: every radio unkeyed with audio flowing, and the broker connected."""
    return notify("READY=1")


def stopping() -> bool:
    return notify("STOPPING=1")


def watchdog() -> bool:
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """One line shown by ``systemctl status`` (newlines are flattened to spaces)."""
    return notify("STATUS=" + " ".join(text.splitlines()))


def watchdog_interval() -> float | None:
    """The watchdog period in seconds, or None when no watchdog applies to this process."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec:
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None
