"""Events the host side of a Hytera link (``HostSession``) reports: frozen values only."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LinkUp:
    """Connected and initialised; ``radio_id`` if the radio answered the ID query."""

    radio_id: int | None


@dataclass(frozen=True)
class LinkDown:
    reason: str


@dataclass(frozen=True)
class Keyed:
    talk_group: int


@dataclass(frozen=True)
class KeyFailed:
    reason: str


@dataclass(frozen=True)
class Unkeyed:
    """PTT is released; ``confirmed`` is False when the link died before the radio replied."""

    confirmed: bool


@dataclass(frozen=True)
class ReceiveStatus:
    status: int  # rcp.CallStatus value
    call_type: int
    target: int
    source: int


@dataclass(frozen=True)
class TransmitStatus:
    status: int
    call_type: int
    target: int
    source: int


@dataclass(frozen=True)
class TextMessage:
    source: int
    target: int
    text: str
    group: bool


@dataclass(frozen=True)
class TextAcked:
    request_id: int
    result: int


HostEvent = (
    LinkUp | LinkDown | Keyed | KeyFailed | Unkeyed | ReceiveStatus | TransmitStatus
    | TextMessage | TextAcked
)
