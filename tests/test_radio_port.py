"""RadioPort's PTT safety on a fake driver (no sound devices are opened)."""

from __future__ import annotations

import asyncio

import pytest
from fakes import FakeDriver

from gateway.radio_port import RadioPort


def port_for(driver: FakeDriver, tot_s: float = 120.0) -> RadioPort:
    port = RadioPort("pdt1", driver, input_device="x", output_device="y", card_rate=48000, codec_rate=16000,
                     tot_s=tot_s, lead_ms=0, tail_ms=0)
    port.link_up = True
    return port


async def test_transmit_timeout_unkeys_and_tells_the_owner(driver: FakeDriver) -> None:
    port = port_for(driver, tot_s=0.2)
    expired: list[bool] = []
    port.on_tot = lambda: expired.append(True)
    await port.key(9990)
    assert driver.keyed
    await asyncio.sleep(0.35)
    assert not driver.keyed and expired == [True]
    assert port.counters["tot_expired"] == 1 and not port.transmitting


async def test_claim_blocks_another_talk_group_until_unkeyed(driver: FakeDriver) -> None:
    port = port_for(driver)
    assert port.claim(9990)
    assert not port.claim(9991)
    with pytest.raises(RuntimeError):
        await port.key(9991)
    await port.key(9990)
    await port.unkey_now()
    assert port.claim(9991)


async def test_unkey_never_skipped_when_state_disagrees(driver: FakeDriver) -> None:
    """Even if the port lost track of its talk group, a keyed driver is released."""
    port = port_for(driver)
    await port.key(9990)
    port.tx_group = None  # simulate a bookkeeping slip
    port.end_transmission()
    await asyncio.sleep(0.1)
    assert not driver.keyed


async def test_close_unkeys(driver: FakeDriver) -> None:
    port = port_for(driver)
    await port.key(9990)
    await port.close()
    assert not driver.keyed and driver.log[-1] == ("unkey", None)
