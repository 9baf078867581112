"""The product as separate processes: `pdtgw run`, `pdtgw handset`, `pdtgw check-config`."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.poc import messages as msg
from gateway.testbed import ROOT, Testbed, speech

PDTGW = [sys.executable, "-m", "gateway.cli"]


async def _wait_for_line(proc: asyncio.subprocess.Process, needle: str, timeout: float) -> list[str]:
    assert proc.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(proc.stderr.readline(), max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            break
        if not raw:
            break
        lines.append(raw.decode(errors="replace").rstrip())
        if needle in lines[-1]:
            return lines
    raise AssertionError(f"{needle!r} not seen within {timeout} s; output:\n" + "\n".join(lines))


async def test_S01_sigterm_mid_talk_unkeys_before_exit(tmp_path: Path) -> None:
    """S-01: SIGTERM while a handset talks -> PTT inactive before the process exits, exit 0."""
    async with Testbed(start_gateway=False) as tb:
        config = tb.write_runtime_config(tmp_path / "gateway.yaml")
        proc = await asyncio.create_subprocess_exec(*PDTGW, "run", str(config), "--log-level", "info",
                                                    stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
        try:
            await _wait_for_line(proc, "ready", 30)
            hs = await tb.handset("hs-gate-1")
            reply, stream = await hs.request_floor("school-gates")
            assert isinstance(reply, msg.FloorGrant)
            talk = asyncio.create_task(hs.talk("school-gates", stream, speech("OSR_us_000_0034_8k.wav")))
            await asyncio.sleep(1.0)
            assert tb.radio.keyed, "the radio should be keyed while the handset talks"
            proc.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(proc.wait(), 10)
            exited_at = asyncio.get_running_loop().time()
            await asyncio.wait_for(talk, 2)  # the handset stops when it is revoked
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert code == 0
        tx = tb.radio.transmissions[0]
        assert tx.unkeyed_at is not None and tx.unkeyed_at <= exited_at, "PTT still active when the process exited"
        assert not tb.radio.keyed
        revokes = [r for r in hs.replies if isinstance(r, msg.FloorRevoke)]
        assert [r.reason for r in revokes] == ["gateway_shutdown"], "the talker must learn why the talk ended"


async def test_handset_command_talks_through_a_running_gateway(tmp_path: Path) -> None:
    async with Testbed() as tb:
        assert tb.broker is not None
        wav = ROOT / "tests" / "data" / "speech" / "noizeus_sp11_8k_female.wav"
        env = dict(os.environ, PDTGW_HANDSET_PASSWORD=tb.passwords["hs-gate-1"])
        proc = await asyncio.create_subprocess_exec(
            *PDTGW, "handset", "--broker", tb.broker.url, "--device", "hs-gate-1", "--group", "school-gates",
            "--talk", str(wav), "--listen", "0.5", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert b"floor granted" in out
        assert len(tb.radio.transmissions) == 1
        assert tb.radio.transmissions[0].talk_group == 9990


def test_S20_misspelt_key_is_an_error_naming_line_and_key(tmp_path: Path) -> None:
    """S-20: a misspelt config key is an error naming file, line and key, not silently ignored."""
    good = subprocess.run([*PDTGW, "check-config", str(ROOT / "configs" / "demo.yaml")], capture_output=True, text=True)
    assert good.returncode == 0 and "OK" in good.stdout
    bad = tmp_path / "bad.yaml"
    text = (ROOT / "configs" / "demo.yaml").read_text().replace("pdt_group: 9990", "pdt_gruop: 9990")
    bad.write_text(text)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "pdt_gruop" in row)
    result = subprocess.run([*PDTGW, "check-config", str(bad)], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"bad.yaml:{line}:" in result.stdout and "pdt_gruop" in result.stdout


def test_run_refuses_a_broken_config(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "configs" / "demo.yaml").read_text().replace("radio: pdt1", "radio: pdt9", 1))
    result = subprocess.run([*PDTGW, "run", str(bad)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "'pdt9' is not a defined radio" in result.stderr


async def test_unhandled_task_error_unkeys_and_stops_the_gateway() -> None:
    from gateway.tasks import spawn

    async with Testbed(start_gateway=False) as tb:
        gateway, runner = await tb.run_gateway()
        try:
            hs = await tb.handset("hs-gate-1")
            reply, stream = await hs.request_floor("school-gates")
            assert isinstance(reply, msg.FloorGrant)
            talk = asyncio.create_task(hs.talk("school-gates", stream, speech("pesq_speech_16k_male.wav")))
            await asyncio.sleep(0.5)
            assert tb.radio.keyed

            async def broken() -> None:
                raise RuntimeError("a bug in some task")

            spawn(broken(), name="broken")
            code = await asyncio.wait_for(runner, 10)
            talk.cancel()
        finally:
            runner.cancel()
        assert code == 1
        assert not tb.radio.keyed
        assert tb.radio.transmissions[0].unkeyed_at is not None


async def test_emulate_radio_command_reports_a_call_to_a_real_driver(tmp_path: Path) -> None:
    from gateway.pdt350.driver import CallState, ReceiveCall, TextReceived
    from gateway.pdt350.hytera import HyteraDriver

    wav = ROOT / "tests" / "data" / "speech" / "noizeus_sp11_8k_female.wav"
    proc = await asyncio.create_subprocess_exec(
        *PDTGW, "emulate-radio", "--radio-id", "2001", "--call", f"2344235:9990:{wav}", "--call-delay", "1.5",
        "--text", "9990:gate 3 closed",
        "--duration", "8", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=dict(os.environ))
    assert proc.stdout is not None
    driver = None
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), 20)).decode()
        assert "serial url" in line, line
        url = line.rsplit(" ", 1)[1].strip()
        events: list[object] = []
        driver = HyteraDriver(url, radio_id=2001)
        await driver.start(events.append)
        deadline = asyncio.get_running_loop().time() + 10
        while asyncio.get_running_loop().time() < deadline:
            calls = [e for e in events if isinstance(e, ReceiveCall)]
            if any(c.state is CallState.ENDED for c in calls):
                break
            await asyncio.sleep(0.05)
        calls = [e for e in events if isinstance(e, ReceiveCall)]
        assert [c.state for c in calls][0] is CallState.STARTED
        assert calls[-1].state is CallState.ENDED
        assert {(c.source, c.target) for c in calls} == {(2344235, 9990)}
        texts = [e for e in events if isinstance(e, TextReceived)]
        assert [(t.target, t.text, t.group) for t in texts] == [(9990, "gate 3 closed", True)]
    finally:
        if driver is not None:
            await driver.close()
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 10)
    assert proc.returncode == 0
