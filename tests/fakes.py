"""Fakes for unit tests of a single piece (integration tests use the real parts)."""

from __future__ import annotations

import asyncio
import json

from gateway.pdt350.driver import EventSink, RadioDriver


class FakeDriver(RadioDriver):
    def __init__(self) -> None:
        self._keyed = False
        self.fail_next_key = False
        self.key_delay_s = 0.01
        self.log: list[tuple[str, int | None]] = []

    async def start(self, on_event: EventSink) -> None: ...

    async def key(self, talk_group: int) -> None:
        await asyncio.sleep(self.key_delay_s)  # a serial round trip, or a trunked call set-up
        if self.fail_next_key:
            self.fail_next_key = False
            raise RuntimeError("radio did not key")
        self._keyed = True
        self.log.append(("key", talk_group))

    async def unkey(self) -> None:
        self._keyed = False
        self.log.append(("unkey", None))

    async def send_text(self, target: int, text: str, group: bool = True) -> None: ...

    async def close(self) -> None:
        await self.unkey()

    @property
    def keyed(self) -> bool:
        return self._keyed


class FakeLink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish_nowait(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> bool:
        self.sent.append((topic, payload))
        return True

    def replies(self, device: str) -> list[dict[str, object]]:
        return [json.loads(p) for t, p in self.sent if t == f"poc1/dev/{device}/down/floor"]
