"""RadioPort's PTT safety on a fake driver (no sound devices are opened)."""

from __future__ import annotations

import asyncio

import numpy as np
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
    lost: list[str] = []
    assert port.claim(9990, lost.append)
    port.request_key()
    await asyncio.sleep(0.05)
    assert driver.keyed
    await asyncio.sleep(0.3)
    assert not driver.keyed and lost == ["talk_timeout"]
    assert port.counters["tot_expired"] == 1 and not port.transmitting


async def test_chained_talks_do_not_extend_the_time_out(driver: FakeDriver) -> None:
    """The next talker re-claims during the tail: the radio stays keyed, but the time-out
    timer counts from the physical key-up, not from each talk."""
    port = port_for(driver, tot_s=0.4)
    lost: list[str] = []
    for _ in range(4):
        assert port.claim(9990, lost.append)
        port.request_key()
        await asyncio.sleep(0.15)
        port.end_transmission()
    await asyncio.sleep(0.2)
    assert driver.log.count(("key", 9990)) <= 2, driver.log
    assert lost == ["talk_timeout"] and port.counters["tot_expired"] == 1


async def test_release_during_keying_still_unkeys_without_error(driver: FakeDriver) -> None:
    port = port_for(driver)
    lost: list[str] = []
    assert port.claim(9990, lost.append)
    port.request_key()
    port.end_transmission()  # the talker let go before the radio even keyed
    await asyncio.sleep(0.1)
    assert not driver.keyed and not port.transmitting and lost == []


async def test_repeated_request_does_not_rekey(driver: FakeDriver) -> None:
    port = port_for(driver)
    assert port.claim(9990)
    port.request_key()
    await asyncio.sleep(0.05)
    port.claim(9990)
    port.request_key()
    await asyncio.sleep(0.05)
    assert driver.log == [("key", 9990)]


async def test_failed_key_tells_the_owner_and_frees_the_radio(driver: FakeDriver) -> None:
    driver.fail_next_key = True
    port = port_for(driver)
    lost: list[str] = []
    assert port.claim(9990, lost.append)
    port.request_key()
    await asyncio.sleep(0.05)
    assert lost == ["radio_unavailable"] and not driver.keyed and not port.transmitting
    assert port.claim(9991)


async def test_radio_dropping_ptt_behind_our_back_revokes_the_talk(driver: FakeDriver) -> None:
    port = port_for(driver)
    lost: list[str] = []
    assert port.claim(9990, lost.append)
    port.request_key()
    await asyncio.sleep(0.05)
    await driver.unkey()  # e.g. the radio's own time-out, or a link loss
    port.radio_stopped_transmitting("radio_unavailable")
    assert lost == ["radio_unavailable"] and not port.transmitting


async def test_claim_blocks_another_talk_group_until_unkeyed(driver: FakeDriver) -> None:
    port = port_for(driver)
    assert port.claim(9990)
    assert not port.claim(9991)
    with pytest.raises(RuntimeError):
        await port.key(9991)
    await port.key(9990)
    await port.unkey_now()
    assert port.claim(9991)


async def test_end_of_talk_unkeys(driver: FakeDriver) -> None:
    port = port_for(driver)
    await port.key(9990)
    port.end_transmission()
    await asyncio.sleep(0.1)
    assert not driver.keyed


async def test_close_unkeys(driver: FakeDriver) -> None:
    port = port_for(driver)
    await port.key(9990)
    await port.close()
    assert not driver.keyed and driver.log[-1] == ("unkey", None)


async def test_slow_key_up_holds_the_first_words_instead_of_dropping_them(driver: FakeDriver) -> None:
    """A trunked radio may take ~0.5 s to key: audio arriving meanwhile is held, not dropped."""
    driver.key_delay_s = 0.5
    port = port_for(driver)
    assert port.claim(9990)
    port.request_key()
    for _ in range(20):  # 20 frames of 20 ms while the radio keys up
        port.play(np.zeros(320, dtype=np.int16))
        await asyncio.sleep(0.02)
    assert port.counters["tx_backlog_dropped"] == 0


async def test_a_key_up_that_completes_for_a_lost_claim_is_released_not_reused(driver: FakeDriver) -> None:
    """The link drops during key-up, another talk group claims the radio, then the old key
    completes: the radio must not transmit the new group's audio on the old group's call."""
    driver.key_delay_s = 0.1
    port = port_for(driver)
    lost_a: list[str] = []
    lost_b: list[str] = []
    assert port.claim(9990, lost_a.append)
    port.request_key()
    await asyncio.sleep(0.02)
    port.link_up = False
    port.radio_stopped_transmitting("radio_unavailable")
    port.link_up = True
    assert port.claim(9991, lost_b.append)
    port.request_key()
    await asyncio.sleep(0.4)
    assert lost_a == ["radio_unavailable"] and lost_b == []
    assert ("key", 9991) in driver.log
    last_key = max(i for i, entry in enumerate(driver.log) if entry[0] == "key")
    assert driver.log[last_key] == ("key", 9991) and driver.keyed
    assert port.counters["tx_lost"] == 1


async def test_slow_key_up_with_a_lead_drops_nothing(driver: FakeDriver) -> None:
    driver.key_delay_s = 0.5
    port = RadioPort("pdt1", driver, input_device="x", output_device="y", card_rate=48000, codec_rate=16000,
                     lead_ms=40, tail_ms=0)
    port.link_up = True
    assert port.claim(9990)
    port.request_key()
    for _ in range(40):
        port.play(np.zeros(320, dtype=np.int16))
        await asyncio.sleep(0.02)
    assert port.counters["tx_backlog_dropped"] == 0


async def test_a_closed_port_refuses_claims_and_stays_unkeyed(driver: FakeDriver) -> None:
    port = port_for(driver)
    await port.close()
    assert not port.claim(9990)
    port.request_key()
    await asyncio.sleep(0.05)
    assert not driver.keyed
