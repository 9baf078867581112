"""HyteraDriver against an EmulatedRadioLink over a real pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from gateway.errors import GatewayError
from gateway.pdt350.driver import (
    CallState,
    LinkDown,
    LinkUp,
    RadioEvent,
    ReceiveCall,
    TextReceived,
    TransmitState,
)
from gateway.pdt350.emulator_link import EmulatedRadioLink
from gateway.pdt350.hytera import HyteraDriver
from gateway.pdt350.radio_session import TextFromHost

RADIO_ID = 2101


@pytest.fixture
async def radio() -> AsyncIterator[EmulatedRadioLink]:
    link = EmulatedRadioLink(RADIO_ID, hang_time_s=0.2)
    await link.start()
    yield link
    await link.close()


@pytest.fixture
async def driver_and_events(
    radio: EmulatedRadioLink,
) -> AsyncIterator[tuple[HyteraDriver, list[RadioEvent]]]:
    events: list[RadioEvent] = []
    driver = HyteraDriver(radio.device_path, radio_id=RADIO_ID)
    await driver.start(events.append)
    yield driver, events
    await driver.close()


async def wait_until(predicate: object, timeout: float = 2.0) -> None:
    assert callable(predicate)
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def test_start_links_up_and_leaves_radio_unkeyed(
    radio: EmulatedRadioLink, driver_and_events: tuple[HyteraDriver, list[RadioEvent]]
) -> None:
    driver, events = driver_and_events
    assert events == [LinkUp()]
    assert radio.host_connected and not radio.keyed and not driver.keyed
    assert radio.session.reports_enabled


async def test_key_and_unkey(
    radio: EmulatedRadioLink, driver_and_events: tuple[HyteraDriver, list[RadioEvent]]
) -> None:
    driver, events = driver_and_events
    await driver.key(9001)
    assert driver.keyed and radio.keyed
    assert radio.ptt_log[-1].keyed and radio.ptt_log[-1].talk_group == 9001
    await driver.unkey()
    assert not driver.keyed and not radio.keyed
    assert [e for e in events if isinstance(e, TransmitState)][:2] == [
        TransmitState(True),
        TransmitState(False),
    ]


async def test_incoming_call_and_text(
    radio: EmulatedRadioLink, driver_and_events: tuple[HyteraDriver, list[RadioEvent]]
) -> None:
    driver, events = driver_and_events
    await radio.incoming_call_start(111, 9001)
    await radio.incoming_call_end(111, 9001)
    await radio.send_text(9001, "Hello World", group=True)
    expected = [
        ReceiveCall(CallState.STARTED, 111, 9001, 1),
        ReceiveCall(CallState.ENDED, 111, 9001, 1),
        TextReceived(RADIO_ID, 9001, "Hello World", True),
    ]
    await wait_until(lambda: events[1:] == expected)
    await driver.send_text(1002, "ahoj", group=False)
    await radio.wait_for(lambda: bool(radio.texts))
    assert radio.texts == [TextFromHost(1002, "ahoj", False)]


async def test_garbage_mid_stream_is_counted_not_fatal(
    radio: EmulatedRadioLink, driver_and_events: tuple[HyteraDriver, list[RadioEvent]]
) -> None:
    driver, events = driver_and_events
    radio.inject_bytes(b"\x7e\x04\x00\x00 line noise \xff\x00\x7e")
    await radio.incoming_call_start(111, 9001)
    await wait_until(lambda: ReceiveCall(CallState.STARTED, 111, 9001, 1) in events)
    assert driver.counters["garbage_bytes"] > 0
    await driver.key(5)
    await driver.unkey()
    assert not radio.keyed
    assert not any(isinstance(e, LinkDown) for e in events)


async def test_radio_time_out_timer_is_reported() -> None:
    link = EmulatedRadioLink(RADIO_ID, tot_s=0.3, hang_time_s=0.1)
    await link.start()
    events: list[RadioEvent] = []
    driver = HyteraDriver(link.device_path)
    try:
        await driver.start(events.append)
        await driver.key(7)
        await wait_until(lambda: not driver.keyed)
        assert link.ptt_log[-1].reason == "tot"
        await driver.key(8)  # keying again after the radio's TOT works
        assert link.keyed and link.ptt_log[-1].talk_group == 8
    finally:
        await driver.close()
        await link.close()


async def test_start_fails_clearly_when_nothing_answers(radio: EmulatedRadioLink) -> None:
    await radio.close()  # the pty is gone
    driver = HyteraDriver("/dev/nonexistent-radio-port")
    with pytest.raises(GatewayError, match="nonexistent-radio-port"):
        await driver.start(lambda e: None)


async def test_start_times_out_naming_the_url() -> None:
    driver = HyteraDriver("loop://", connect_timeout_s=0.3)
    with pytest.raises(GatewayError, match="loop://"):
        await driver.start(lambda e: None)


async def test_unkey_before_start_and_close_twice_do_not_raise() -> None:
    driver = HyteraDriver("loop://")
    await driver.unkey()
    await driver.close()
    await driver.close()
