"""A mosquitto broker for the demo, the tests and a single-box site.

Writes a config whose every limit is an explicit number (no "0 means unlimited"), a
hashed password file (``mosquitto_passwd``) and an ACL, then runs mosquitto on a
loopback port and waits until an authenticated client can connect.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import GatewayError


class BrokerError(GatewayError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BROKER_LIMITS = """\
# Every limit is explicit: nothing here relies on "0 means unlimited".
max_connections 10000
max_inflight_messages 40
max_queued_messages 200
max_queued_bytes 1048576
message_size_limit 65536
max_keepalive 600
persistent_client_expiration 1d
# Small control messages (floor grant) must not wait ~40 ms for Nagle + delayed ACK.
set_tcp_nodelay true
"""


@dataclass
class MosquittoBroker:
    """One mosquitto process on 127.0.0.1. ``users`` maps username -> password."""

    workdir: Path
    users: dict[str, str]
    acl_text: str
    port: int = 0
    host: str = "127.0.0.1"
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def write_files(self) -> Path:
        exe = shutil.which("mosquitto_passwd")
        if exe is None:
            raise BrokerError("mosquitto_passwd not found (apt-get install mosquitto)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        passwd = self.workdir / "passwd"
        passwd.write_text("".join(f"{u}:{p}\n" for u, p in self.users.items()))
        os.chmod(passwd, 0o600)
        subprocess.run([exe, "-U", str(passwd)], check=True, capture_output=True)
        acl = self.workdir / "acl"
        acl.write_text(self.acl_text)
        os.chmod(acl, 0o600)
        conf = self.workdir / "mosquitto.conf"
        run_as = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(
            f"{run_as}per_listener_settings false\nallow_anonymous false\n"
            f"password_file {passwd}\nacl_file {acl}\n"
            f"listener {self.port} {self.host}\n"
            f"persistence false\nlog_dest file {self.workdir / 'mosquitto.log'}\n"
            "log_type error\nlog_type warning\nlog_type notice\nconnection_messages true\n"
            + BROKER_LIMITS
        )
        return conf

    def start(self, timeout: float = 10.0) -> None:
        exe = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
        if exe is None:
            raise BrokerError("mosquitto not found (apt-get install mosquitto)")
        conf = self.write_files()
        # a child must not speak to systemd for us (mosquitto would send its own READY=1)
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        self._proc = subprocess.Popen([exe, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                      env=env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                err = self._proc.stderr.read().decode() if self._proc.stderr else ""
                log = (self.workdir / "mosquitto.log")
                raise BrokerError(f"mosquitto exited ({self._proc.returncode}): {err} {log.read_text() if log.exists() else ''}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise BrokerError(f"mosquitto did not listen on {self.host}:{self.port} within {timeout} s")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
        self._proc = None

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)
