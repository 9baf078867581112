"""A sound-card-free audio rig: PulseAudio null sinks exposed to PortAudio as named ALSA PCMs.

Used by the demo, the tests and the benchmark (this machine has no sound card). Two sinks
stand in for the cable between the gateway's USB sound card and the radio:

* ``radio_tx``: the gateway plays its radio TX audio into it (PCM ``pdtgw_tx_out``); the
  emulated radio records the sink's monitor (PCM ``emu_tx_in``) while keyed.
* ``radio_rx``: the emulated radio plays what it "receives over the air" into it
  (PCM ``emu_air_out``); the gateway records its monitor as radio RX (PCM ``pdtgw_rx_in``).

The PCM names are defined in an ``asoundrc`` under a private XDG_CONFIG_HOME, and the
PulseAudio server lives under a private XDG_RUNTIME_DIR, so a rig never touches the
user's own sound setup. ``env()`` must be applied before sounddevice is imported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from ..errors import GatewayError

PCMS = {
    "pdtgw_tx_out": "radio_tx",
    "pdtgw_rx_in": "radio_rx.monitor",
    "emu_air_out": "radio_rx",
    "emu_tx_in": "radio_tx.monitor",
}
SINKS = ("radio_tx", "radio_rx")


class PulseRigError(GatewayError):
    pass


class PulseRig:
    def __init__(self, base_dir: str | Path) -> None:
        self.base = Path(base_dir)
        self.runtime_dir = self.base / "pulse-run"
        self.config_home = self.base / "xdg-config"
        self._started = False

    def env(self) -> dict[str, str]:
        return {"XDG_RUNTIME_DIR": str(self.runtime_dir), "XDG_CONFIG_HOME": str(self.config_home),
                "PULSE_RUNTIME_PATH": str(self.runtime_dir / "pulse"),
                # name the server outright: libpulse's server lookup (D-Bus, X11) costs seconds here
                "PULSE_SERVER": "unix:" + str(self.runtime_dir / "pulse" / "native")}

    def apply(self) -> None:
        os.environ.update(self.env())

    def start(self, timeout: float = 10.0) -> None:
        exe = shutil.which("pulseaudio")
        if exe is None:
            raise PulseRigError("pulseaudio is not installed (apt-get install pulseaudio libasound2-plugins)")
        self.runtime_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        alsa_dir = self.config_home / "alsa"
        alsa_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        for pcm, device in PCMS.items():
            lines.append(f'pcm.{pcm} {{ type pulse; device "{device}"; '
                         f'hint {{ show on; description "{pcm} -> {device}" }} }}')
        (alsa_dir / "asoundrc").write_text("\n".join(lines) + "\n")
        # no shared memory: PulseAudio's memfd block sharing between several client processes
        # trips a known bug ("Cannot send block reference with non-registered memfd", then an
        # assertion abort), which killed the rig mid-suite; copying 48 kHz mono is cheap
        args = [exe, "--daemonize=yes", "--system=false", "--exit-idle-time=-1", "-n", "--disable-shm=yes",
                "--use-pid-file=yes", "--log-target=file:" + str(self.base / "pulseaudio.log")]
        for sink in SINKS:
            args.append(f"--load=module-null-sink sink_name={sink} rate=48000 channels=1")
        args.append("--load=module-native-protocol-unix")
        env = {**{k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")},
               **self.env()}
        result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)
        if result.returncode != 0:
            raise PulseRigError(f"pulseaudio failed to start: {result.stderr.strip()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe = subprocess.run(["pactl", "list", "short", "sinks"], env=env, capture_output=True, text=True)
            if probe.returncode == 0 and all(s in probe.stdout for s in SINKS):
                self._started = True
                return
            time.sleep(0.1)
        raise PulseRigError("pulseaudio started but its null sinks did not appear")

    def alive(self) -> bool:
        env = {**os.environ, **self.env()}
        probe = subprocess.run(["pactl", "info"], env=env, capture_output=True, text=True, timeout=10)
        return probe.returncode == 0

    def stop(self) -> None:
        if not self._started:
            return
        env = {**os.environ, **self.env()}
        subprocess.run(["pulseaudio", "--kill"], env=env, capture_output=True, timeout=10)
        self._started = False
