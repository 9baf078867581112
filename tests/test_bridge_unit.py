"""The talk-group bridge with a real RadioPort on a fake driver and a recording fake link."""

from __future__ import annotations

import asyncio

from fakes import FakeDriver, FakeLink

from gateway.bridge import Member, TalkGroupBridge
from gateway.poc import messages as msg
from gateway.radio_port import RadioPort


def make(port: RadioPort, link: FakeLink, name: str, tg: int, group: str, members: dict[str, Member]) -> TalkGroupBridge:
    return TalkGroupBridge(name=name, gateway_id="gw", pdt_group=tg, poc_groups=[group], port=port,
                           link=link, members=members, idle_timeout_s=0.5, max_talk_s=60,  # type: ignore[arg-type]
                           opus_rate=16000, opus_bitrate=24000, frame_ms=20)


async def test_two_talk_groups_on_one_radio_granted_in_one_pass_key_only_once(driver: FakeDriver,
                                                                                 link: FakeLink) -> None:
    port = RadioPort("pdt1", driver, input_device="x", output_device="y", card_rate=48000, codec_rate=16000)
    port.link_up = True
    members = {"a": Member("a", "A", frozenset({"ga"})), "b": Member("b", "B", frozenset({"gb"}))}
    campus = make(port, link, "campus", 9990, "ga", members)
    market = make(port, link, "market", 9991, "gb", members)
    campus.floor_request("a", "ga", msg.FloorRequest(group="ga", req="r1", stream=11))
    market.floor_request("b", "gb", msg.FloorRequest(group="gb", req="r2", stream=22))
    assert link.replies("a")[0]["op"] == "grant"
    deny = link.replies("b")[0]
    assert deny["op"] == "deny" and deny["reason"] == "radio_busy" and "9990" in str(deny["detail"])
    await asyncio.sleep(0.05)
    assert driver.log == [("key", 9990)]
    assert port.tx_group == 9990 and driver.keyed
