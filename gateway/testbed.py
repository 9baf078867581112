"""A whole site on one machine: sound rig, broker, emulated radio, gateway, handsets.

The demo, the integration tests and the benchmark all run on this, so they exercise the
same real parts (PulseAudio + PortAudio, mosquitto with passwords and ACL, a pty speaking
Hytera HRNP/HDAP, libopus) that a technician's site uses, minus the radio and the 4G.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import secrets
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import numpy as np

from .config import GatewayConfig, load_config
from .media.pulse_rig import PulseRig
from .poc.broker import MosquittoBroker
from .poc.topics import mosquitto_acl

if TYPE_CHECKING:
    from .app import Gateway
    from .pdt350.emulator import EmulatedRadio
    from .poc.handset import Handset

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG = ROOT / "configs" / "demo.yaml"


class SoundRig:
    """Process-wide PulseAudio rig; must start before sounddevice is first imported."""

    _rig: PulseRig | None = None

    @classmethod
    def ensure(cls, base: Path | None = None) -> PulseRig:
        if cls._rig is not None and not cls._rig.alive():
            log.warning("the PulseAudio rig died; starting a new one")
            cls._rig = None  # a fresh rig under a new directory; streams reconnect when reopened
        if cls._rig is None:
            base = base or Path(tempfile.mkdtemp(prefix="pdtgw-sound-"))
            rig = PulseRig(base)
            rig.start()
            rig.apply()
            cls._rig = rig
            atexit.register(cls.stop)  # never leave a sound server behind
        return cls._rig

    @classmethod
    def stop(cls) -> None:
        if cls._rig is not None:
            cls._rig.stop()
            cls._rig = None


class Testbed:
    """Async context manager: ``async with Testbed() as tb: tb.gateway, tb.radio, tb.handset(id)``."""

    __test__ = False  # not a pytest test class

    def __init__(self, config_path: Path = DEMO_CONFIG, workdir: Path | None = None, *, start_gateway: bool = True,
                 floor_idle_timeout_ms: int | None = None) -> None:
        self.config_path = config_path
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="pdtgw-testbed-"))
        self.start_gateway = start_gateway
        self._idle_override = floor_idle_timeout_ms
        self.base_config: GatewayConfig = load_config(config_path)
        self.passwords = {self.base_config.broker.username: secrets.token_urlsafe(12)}
        self.passwords.update({h.id: secrets.token_urlsafe(12) for h in self.base_config.handsets})
        self.broker: MosquittoBroker | None = None
        self._radio: EmulatedRadio | None = None
        self.gateway: Gateway | None = None
        self.config: GatewayConfig | None = None
        self._handsets: list[Handset] = []

    @property
    def radio(self) -> EmulatedRadio:
        assert self._radio is not None, "enter the testbed first"
        return self._radio

    async def __aenter__(self) -> Testbed:
        SoundRig.ensure()
        from .app import Gateway
        from .pdt350.emulator import EmulatedRadio

        acl = mosquitto_acl(self.base_config.broker.username, {h.id: list(h.groups) for h in self.base_config.handsets})
        self.broker = MosquittoBroker(self.workdir / "broker", self.passwords, acl)
        self.broker.start()
        radio_cfg = self.base_config.radios[0]
        self._radio = EmulatedRadio(radio_cfg.radio_id)
        try:
            await self._radio.start()
            self.config = self.runtime_config(self._radio.device_path)
            if self.start_gateway:
                self.gateway = Gateway(self.config)
                await self.gateway.start()
        except BaseException:
            await self._teardown()
            raise
        return self

    async def run_gateway(self, ready_timeout: float = 15.0) -> tuple[Gateway, asyncio.Task[int]]:
        """Run a gateway as ``pdtgw run`` does (signals, supervision, exit code) in this loop;
        returns once it is ready. Await the task for its exit code."""
        from .app import Gateway

        assert self.config is not None
        gateway = Gateway(self.config)
        runner = asyncio.create_task(gateway.run_forever())
        deadline = asyncio.get_running_loop().time() + ready_timeout
        while not gateway.ready:
            if runner.done() or asyncio.get_running_loop().time() > deadline:
                runner.cancel()
                raise RuntimeError("the gateway did not become ready")
            await asyncio.sleep(0.05)
        return gateway, runner

    def runtime_config(self, serial_url: str) -> GatewayConfig:
        """The shipped config with this testbed's broker, passwords and pty filled in."""
        assert self.broker is not None
        cfg = self.base_config
        broker = cfg.broker.model_copy(update={"url": self.broker.url,
                                               "password": self.passwords[cfg.broker.username], "password_file": None})
        radios = tuple(r.model_copy(update={"serial": r.serial.model_copy(update={"url": serial_url})})
                       if i == 0 else r for i, r in enumerate(cfg.radios))
        update: dict[str, object] = {"broker": broker, "radios": radios}
        if self._idle_override is not None:
            update["floor"] = cfg.floor.model_copy(update={"idle_timeout_ms": self._idle_override})
        return cfg.model_copy(update=update)

    def write_runtime_config(self, path: Path) -> Path:
        """Write the runtime config as YAML (for running ``pdtgw run`` as a separate process)."""
        import yaml

        assert self.config is not None
        data = self.config.model_dump(mode="json", exclude_none=True)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        os.chmod(path, 0o600)
        return path

    async def handset(self, device: str, connect: bool = True) -> Handset:
        from .poc.handset import Handset

        assert self.broker is not None
        spec = next(h for h in self.base_config.handsets if h.id == device)
        hs = Handset(device, self.passwords[device], self.broker.url, list(spec.groups), name=spec.name,
                     opus_rate=self.base_config.audio.opus_rate, opus_bitrate=self.base_config.audio.opus_bitrate)
        if connect:
            await hs.connect()
        self._handsets.append(hs)
        return hs

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._teardown()

    async def _teardown(self) -> None:
        for hs in self._handsets:
            try:
                await hs.close()
            except Exception:
                log.exception("closing handset")
        if self.gateway is not None:
            await self.gateway.stop()
        if self._radio is not None:
            await self._radio.close()
        if self.broker is not None:
            self.broker.stop()


def speech(name: str, rate: int = 16000) -> np.ndarray:
    """A vendored real speech recording (tests/data/speech/) as int16 mono at ``rate``."""
    from .media.wav import read_wav

    return read_wav(ROOT / "tests" / "data" / "speech" / name, rate)[1]
