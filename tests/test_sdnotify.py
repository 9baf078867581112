"""sd_notify client against a real unix datagram socket (what systemd listens on)."""

from __future__ import annotations

import asyncio

import os
import socket
from pathlib import Path
from collections.abc import Iterator

import pytest

from gateway import sdnotify


@pytest.fixture
def listener(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def test_ready_sends_exact_bytes(listener: socket.socket) -> None:
    assert sdnotify.ready() is True
    assert listener.recv(4096) == b"READY=1"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (sdnotify.stopping, b"STOPPING=1"),
        (sdnotify.watchdog, b"WATCHDOG=1"),
        (lambda: sdnotify.status("radio pdt1 up"), b"STATUS=radio pdt1 up"),
        (lambda: sdnotify.status("two\nlines"), b"STATUS=two lines"),
        (lambda: sdnotify.notify("READY=1\nSTATUS=ok"), b"READY=1\nSTATUS=ok"),
    ],
)
def test_each_message(listener: socket.socket, call, expected: bytes) -> None:  # type: ignore[no-untyped-def]
    assert call() is True
    assert listener.recv(4096) == expected


def test_one_datagram_per_call(listener: socket.socket) -> None:
    assert sdnotify.watchdog() and sdnotify.watchdog()
    assert listener.recv(4096) == b"WATCHDOG=1"
    assert listener.recv(4096) == b"WATCHDOG=1"


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"pdtgw-test-{os.getpid()}-{id(monkeypatch)}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(b"\0" + name.encode())
    sock.settimeout(2.0)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.ready() is True
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_unset_is_a_noop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    assert sdnotify.ready() is False
    assert sdnotify.watchdog() is False
    assert sdnotify.stopping() is False
    assert sdnotify.status("x") is False


@pytest.mark.parametrize("value", ["", "relative/path", "@"])
def test_unusable_socket_value(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", value)
    assert sdnotify.ready() is False


def test_nobody_listening_returns_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert sdnotify.ready() is False


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert sdnotify.watchdog_interval() is None

    monkeypatch.setenv("WATCHDOG_USEC", "20000000")
    assert sdnotify.watchdog_interval() == 20.0

    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 20.0

    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert sdnotify.watchdog_interval() is None

    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("0", "abc", "-5"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert sdnotify.watchdog_interval() is None


async def test_gateway_reports_ready_status_and_stopping_to_systemd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The daemon side of Type=notify: READY=1 only after start-up, STATUS with real link states, STOPPING=1."""
    import socket as _socket

    from gateway.testbed import SoundRig, Testbed

    SoundRig.ensure()
    path = tmp_path / "notify.sock"
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    async with Testbed():
        await asyncio.sleep(0.3)
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            break
    sock.close()
    assert messages[0] == "READY=1"
    assert any(m.startswith("STATUS=broker connected; radio pdt1 up; handsets 0/3 online") for m in messages)
    assert "WATCHDOG=1" in messages
    assert messages[-1] == "STOPPING=1"
