"""The small interface every radio driver implements, and its events.

A driver owns one donor radio's control link. It turns the radio's reports into
``RadioEvent`` values and turns ``key()``/``unkey()`` into whatever the radio needs.
It knows nothing about MQTT, handsets or audio: the bridge wires those.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from collections.abc import Callable


class CallState(enum.Enum):
    STARTED = "started"
    HANG = "hang"
    ENDED = "ended"


@dataclass(frozen=True)
class LinkUp:
    """The control link to the radio is established and the radio is idle (not keyed)."""


@dataclass(frozen=True)
class LinkDown:
    """The control link was lost; ``reason`` says why.

    ``permanent``: the driver will not get the link back by itself (the port itself failed,
    e.g. a USB adapter unplugged); the gateway then stops so its supervisor restarts it.
    """

    reason: str
    permanent: bool = False


@dataclass(frozen=True)
class ReceiveCall:
    """The radio reports a call it receives over the air.

    ``source`` is the calling radio's ID, ``target`` the talk group (or unit) it calls.
    """

    state: CallState
    source: int
    target: int
    call_type: int


@dataclass(frozen=True)
class TransmitState:
    """The radio reports our own transmission (keyed = True while it is on air)."""

    keyed: bool


@dataclass(frozen=True)
class TextReceived:
    source: int
    target: int
    text: str
    group: bool


RadioEvent = LinkUp | LinkDown | ReceiveCall | TransmitState | TextReceived
EventSink = Callable[[RadioEvent], None]


class RadioDriver(abc.ABC):
    """Key/unkey a donor radio and report what it hears.

    Constructors do no I/O; ``start()`` opens the link and must leave the radio unkeyed.
    ``unkey()`` must be safe to call in any state, any number of times.
    """

    @abc.abstractmethod
    async def start(self, on_event: EventSink) -> None: ...

    @abc.abstractmethod
    async def key(self, talk_group: int) -> None:
        """Start a group call to ``talk_group`` and press PTT. Returns once the radio is keyed."""

    @abc.abstractmethod
    async def unkey(self) -> None:
        """Release PTT. Never raises for a dead link: an unreachable radio is not transmitting for us."""

    @abc.abstractmethod
    async def send_text(self, target: int, text: str, group: bool = True) -> None: ...

    @abc.abstractmethod
    async def close(self) -> None:
        """Unkey and close the link."""

    @property
    @abc.abstractmethod
    def keyed(self) -> bool: ...
