"""Integration tests run on real parts: PulseAudio null sinks via PortAudio, mosquitto,
a pty speaking Hytera HRNP/HDAP, libopus. A missing part fails the test; nothing skips."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gateway.testbed import SoundRig


@pytest.fixture(scope="session", autouse=True)
def sound_rig() -> Iterator[None]:
    SoundRig.ensure()
    yield
    SoundRig.stop()
