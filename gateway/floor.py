"""Floor control for ONE talk group: who may talk now, handsets or the radio.

Responsible for: granting, denying and ending talks ("the floor") in a group that joins
PoC handsets and one radio talk group, with an idle timer (audio stopped without END)
and a talk time-out timer. Sans-IO in the aioquic manner: every method takes ``now``
(seconds, any monotonic origin) and returns output events; the adapter asks
``next_deadline()`` and calls ``on_timer(now)`` when it has come.

Must not know: MQTT, JSON, audio contents, clocks, group membership or the radio link
state. Deny reasons ``not_member``, ``unknown_group`` and ``radio_unavailable`` are
decided by the caller before it asks this class.

v1 policy: nobody pre-empts anybody. A radio call that starts while a handset holds the
floor is reported as ``RadioCollision`` and the handset keeps the floor; if the radio
call is still on when the handset's talk ends, the radio takes the floor. Priorities
(e.g. a dispatcher pre-empting handsets) would be a new trigger row in ``TRANSITIONS``.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from gateway.errors import OurError

DEFAULT_IDLE_TIMEOUT = 0.5
DEFAULT_START_TIMEOUT = 2.0
DEFAULT_MAX_TALK = 60.0


class FloorState(enum.Enum):
    IDLE = "idle"
    HANDSET = "handset"  # a handset holds the floor with one stream
    RADIO = "radio"  # the radio receives a call; handsets hear it


class TalkerKind(enum.Enum):
    HANDSET = "handset"
    RADIO = "radio"


class DenyReason(enum.Enum):
    """Values are the wire values of the ``deny`` message's ``reason``."""

    RADIO_BUSY = "radio_busy"
    HANDSET_BUSY = "handset_busy"
    NOT_MEMBER = "not_member"  # decided by the caller
    UNKNOWN_GROUP = "unknown_group"  # decided by the caller
    RADIO_UNAVAILABLE = "radio_unavailable"  # decided by the caller


class ReleaseCause(enum.Enum):
    END_OF_STREAM = "end_of_stream"  # the holder sent its END frame
    RELEASED = "released"  # the holder sent a release message
    IDLE_TIMEOUT = "idle_timeout"  # the holder's audio stopped (or never started)
    RADIO_CALL_ENDED = "radio_call_ended"
    TALK_TIMEOUT = "talk_timeout"  # only for a radio talker (a handset is revoked instead)


class RevokeCause(enum.Enum):
    TALK_TIMEOUT = "talk_timeout"


@dataclass(frozen=True)
class FloorGranted:
    """``device`` holds the floor with ``stream`` (also sent again for a repeated request)."""

    device: str
    stream: int
    req: str


@dataclass(frozen=True)
class FloorDenied:
    device: str
    req: str
    reason: DenyReason
    detail: str  # human text, e.g. "radio 2041234 is talking"


@dataclass(frozen=True)
class FloorReleased:
    """The talk ended and the floor is free (unless a ``FloorTaken`` follows).

    ``talker`` is a device id or a radio ID in decimal; ``stream`` is None for a radio talk.
    """

    talker_kind: TalkerKind
    talker: str
    stream: int | None
    cause: ReleaseCause


@dataclass(frozen=True)
class FloorRevoked:
    """A handset's talk was cut by the gateway; tell the device and stop its audio."""

    device: str
    stream: int
    cause: RevokeCause


@dataclass(frozen=True)
class FloorTaken:
    """The radio took the floor: handsets now hear radio ``talker`` (its ID in decimal)."""

    talker: str
    talker_kind: TalkerKind = TalkerKind.RADIO


@dataclass(frozen=True)
class RadioCollision:
    """The radio started receiving ``radio_talker`` while handset ``holder`` talks.

    In v1 the handset keeps the floor; the radio caller is not heard on PoC and the
    radio cannot transmit the handset until the caller stops (the adapter decides what
    to do about PTT). Counted and reported for the operator.
    """

    radio_talker: str
    holder: str
    stream: int


Event = FloorGranted | FloorDenied | FloorReleased | FloorRevoked | FloorTaken | RadioCollision


class Trigger(enum.Enum):
    """Inputs after their guard is evaluated (who sent it, which stream)."""

    REQUEST_FREE = "request while idle"
    REQUEST_HOLDER = "request from the holder"
    REQUEST_BUSY = "request from another handset"
    REQUEST_STALE = "request for a stream this device already ended"
    AUDIO_HOLDER = "frame of the holder's stream"
    AUDIO_HOLDER_END = "END frame of the holder's stream"
    AUDIO_OTHER = "frame from a non-holder or a stale stream"
    RELEASE_HOLDER = "release from the holder"
    RELEASE_OTHER = "release from anyone else"
    RADIO_START = "radio call started"
    RADIO_END = "radio call ended"
    RADIO_END_SPURIOUS = "radio call ended that never started"
    IDLE_TIMEOUT = "holder's audio stopped"
    TALK_TIMEOUT = "talk lasted max_talk"


_S, _T = FloorState, Trigger

# (state, trigger) -> next state. Anything not listed is a bug in this class (OurError).
# After a handset's talk ends (-> IDLE) while a radio call is on, RADIO_START is applied
# next, so the radio takes the floor.
TRANSITIONS: dict[tuple[FloorState, Trigger], FloorState] = {
    (_S.IDLE, _T.REQUEST_FREE): _S.HANDSET,  # grant
    (_S.IDLE, _T.REQUEST_STALE): _S.IDLE,  # ignore (QoS 1 redelivery after END)
    (_S.IDLE, _T.AUDIO_OTHER): _S.IDLE,  # drop: audio never grants the floor (S-08)
    (_S.IDLE, _T.RELEASE_OTHER): _S.IDLE,  # ignore
    (_S.IDLE, _T.RADIO_START): _S.RADIO,  # radio takes the floor
    (_S.IDLE, _T.RADIO_END_SPURIOUS): _S.IDLE,  # count
    (_S.HANDSET, _T.REQUEST_HOLDER): _S.HANDSET,  # grant again (maybe a new stream)
    (_S.HANDSET, _T.REQUEST_BUSY): _S.HANDSET,  # deny handset_busy
    (_S.HANDSET, _T.REQUEST_STALE): _S.HANDSET,  # ignore
    (_S.HANDSET, _T.AUDIO_HOLDER): _S.HANDSET,  # accept, refresh idle timer
    (_S.HANDSET, _T.AUDIO_HOLDER_END): _S.IDLE,  # released: END_OF_STREAM
    (_S.HANDSET, _T.AUDIO_OTHER): _S.HANDSET,  # drop
    (_S.HANDSET, _T.RELEASE_HOLDER): _S.IDLE,  # released: RELEASED
    (_S.HANDSET, _T.RELEASE_OTHER): _S.HANDSET,  # ignore
    (_S.HANDSET, _T.RADIO_START): _S.HANDSET,  # RadioCollision, handset keeps floor
    (_S.HANDSET, _T.RADIO_END): _S.HANDSET,  # collision over
    (_S.HANDSET, _T.RADIO_END_SPURIOUS): _S.HANDSET,  # count
    (_S.HANDSET, _T.IDLE_TIMEOUT): _S.IDLE,  # released: IDLE_TIMEOUT
    (_S.HANDSET, _T.TALK_TIMEOUT): _S.IDLE,  # revoked: TALK_TIMEOUT
    (_S.RADIO, _T.REQUEST_BUSY): _S.RADIO,  # deny radio_busy
    (_S.RADIO, _T.REQUEST_STALE): _S.RADIO,  # ignore
    (_S.RADIO, _T.AUDIO_OTHER): _S.RADIO,  # drop
    (_S.RADIO, _T.RELEASE_OTHER): _S.RADIO,  # ignore
    (_S.RADIO, _T.RADIO_START): _S.RADIO,  # same or new caller
    (_S.RADIO, _T.RADIO_END): _S.IDLE,  # released: RADIO_CALL_ENDED
    (_S.RADIO, _T.TALK_TIMEOUT): _S.IDLE,  # released: TALK_TIMEOUT (missed call end)
}


class FloorControl:
    """Floor of one talk group. See the module docstring and ``TRANSITIONS``.

    ``idle_timeout``: a holder whose audio stops this long without END loses the floor.
    ``max_talk``: the longest talk; a handset is revoked, a radio talk is released.
    ``start_timeout``: after a grant, how long the first frame may take (4G round trip).
    """

    def __init__(
        self,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_talk: float = DEFAULT_MAX_TALK,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        remember_ended: int = 32,
    ) -> None:
        if idle_timeout <= 0 or max_talk <= 0 or start_timeout <= 0:
            raise OurError("floor timeouts must be positive")
        self.idle_timeout = idle_timeout
        self.max_talk = max_talk
        self.start_timeout = start_timeout
        self._state = FloorState.IDLE
        self._holder: str | None = None  # device id (HANDSET) or radio ID (RADIO)
        self._stream: int | None = None
        self._since = 0.0
        self._idle_deadline: float | None = None
        self._radio_source: str | None = None  # a radio call is on (even during a collision)
        self._ended: deque[tuple[str, int]] = deque(maxlen=remember_ended)
        self._now = float("-inf")
        self.counters: dict[str, int] = {
            "granted": 0,
            "denied": 0,
            "released": 0,
            "idle_timeouts": 0,
            "talk_timeouts": 0,
            "stale_frames": 0,
            "stale_requests": 0,
            "ignored_releases": 0,
            "collisions": 0,
            "spurious_radio_ends": 0,
        }

    # --- queries ---------------------------------------------------------------------

    @property
    def state(self) -> FloorState:
        return self._state

    @property
    def holder(self) -> str | None:
        """Device id of the talking handset, the talking radio ID, or None when idle."""
        return self._holder

    @property
    def stream(self) -> int | None:
        """The holder's stream id (handset talks only)."""
        return self._stream

    @property
    def since(self) -> float | None:
        return None if self._state is FloorState.IDLE else self._since

    def next_deadline(self) -> float | None:
        if self._state is FloorState.IDLE:
            return None
        talk_end = self._since + self.max_talk
        if self._idle_deadline is None:
            return talk_end
        return min(talk_end, self._idle_deadline)

    # --- inputs ----------------------------------------------------------------------

    def request(self, device: str, stream: int, req: str, now: float) -> list[Event]:
        self._tick(now)
        if (device, stream) in self._ended:
            trigger = _T.REQUEST_STALE
        elif self._state is FloorState.IDLE:
            trigger = _T.REQUEST_FREE
        elif self._state is FloorState.HANDSET and device == self._holder:
            trigger = _T.REQUEST_HOLDER
        else:
            trigger = _T.REQUEST_BUSY
        self._move(trigger)
        if trigger is _T.REQUEST_STALE:
            self.counters["stale_requests"] += 1
            return []
        if trigger is _T.REQUEST_BUSY:
            return [self._deny(device, req)]
        if trigger is _T.REQUEST_FREE:
            self._holder, self._since = device, now
            self._idle_deadline = now + max(self.start_timeout, self.idle_timeout)
        elif self._stream is not None and stream != self._stream:
            # The holder began a new talk without ending the old one (END lost): switch
            # streams but keep ``since``, so max_talk still caps the holder's whole turn.
            self._ended.append((device, self._stream))
            self._idle_deadline = now + max(self.start_timeout, self.idle_timeout)
        self._stream = stream
        self.counters["granted"] += 1
        return [FloorGranted(device, stream, req)]

    def audio(self, device: str, stream: int, start: bool, end: bool, now: float) -> tuple[bool, list[Event]]:
        """A frame arrived from ``device``; returns (forward it?, events)."""
        self._tick(now)
        holder_stream = self._state is FloorState.HANDSET and (device, stream) == (self._holder, self._stream)
        if not holder_stream:
            self._move(_T.AUDIO_OTHER)
            self.counters["stale_frames"] += 1
            return False, []
        if not end:
            self._move(_T.AUDIO_HOLDER)
            self._idle_deadline = now + self.idle_timeout
            return True, []
        return True, self._end_handset(_T.AUDIO_HOLDER_END, ReleaseCause.END_OF_STREAM)

    def release(self, device: str, stream: int, now: float) -> list[Event]:
        self._tick(now)
        if self._state is FloorState.HANDSET and (device, stream) == (self._holder, self._stream):
            return self._end_handset(_T.RELEASE_HOLDER, ReleaseCause.RELEASED)
        self._move(_T.RELEASE_OTHER)
        self.counters["ignored_releases"] += 1
        return []

    def radio_call_started(self, source_id: int | str, now: float) -> list[Event]:
        self._tick(now)
        source = str(source_id)
        previous, self._radio_source = self._radio_source, source
        self._move(_T.RADIO_START)
        if self._state is FloorState.HANDSET:
            if previous == source:
                return []
            self.counters["collisions"] += 1
            assert self._holder is not None and self._stream is not None
            return [RadioCollision(source, self._holder, self._stream)]
        if self._holder == source:  # repeated start of the same call
            return []
        self._holder, self._stream, self._idle_deadline, self._since = source, None, None, now
        return [FloorTaken(source)]

    def radio_call_ended(self, now: float) -> list[Event]:
        self._tick(now)
        source, self._radio_source = self._radio_source, None
        if source is None:
            self._move(_T.RADIO_END_SPURIOUS)
            self.counters["spurious_radio_ends"] += 1
            return []
        self._move(_T.RADIO_END)
        if self._state is FloorState.IDLE:  # the radio held the floor
            return self._clear(TalkerKind.RADIO, source, None, ReleaseCause.RADIO_CALL_ENDED)
        return []

    def on_timer(self, now: float) -> list[Event]:
        self._tick(now)
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return []
        if now >= self._since + self.max_talk:
            self.counters["talk_timeouts"] += 1
            if self._state is FloorState.RADIO:
                talker = self._holder
                assert talker is not None
                self._radio_source = None  # assume we missed the call's end
                self._move(_T.TALK_TIMEOUT)
                return self._clear(TalkerKind.RADIO, talker, None, ReleaseCause.TALK_TIMEOUT)
            device, stream = self._holder, self._stream
            assert device is not None and stream is not None
            self._move(_T.TALK_TIMEOUT)
            self._ended.append((device, stream))
            self._clear(TalkerKind.HANDSET, device, stream, None)
            return [FloorRevoked(device, stream, RevokeCause.TALK_TIMEOUT), *self._radio_takes_over()]
        self.counters["idle_timeouts"] += 1
        return self._end_handset(_T.IDLE_TIMEOUT, ReleaseCause.IDLE_TIMEOUT)

    # --- internals -------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        if now < self._now:
            raise OurError(f"time went backwards: {now} < {self._now}")
        self._now = now

    def _move(self, trigger: Trigger) -> None:
        try:
            self._state = TRANSITIONS[(self._state, trigger)]
        except KeyError:
            raise OurError(f"floor: {trigger.value!r} is not allowed in state {self._state.name}") from None

    def _deny(self, device: str, req: str) -> FloorDenied:
        self.counters["denied"] += 1
        if self._state is FloorState.RADIO:
            return FloorDenied(device, req, DenyReason.RADIO_BUSY, f"radio {self._holder} is talking")
        return FloorDenied(device, req, DenyReason.HANDSET_BUSY, f"handset {self._holder} is talking")

    def _end_handset(self, trigger: Trigger, cause: ReleaseCause) -> list[Event]:
        device, stream = self._holder, self._stream
        assert device is not None and stream is not None
        self._move(trigger)
        self._ended.append((device, stream))
        return [*self._clear(TalkerKind.HANDSET, device, stream, cause), *self._radio_takes_over()]

    def _clear(
        self, kind: TalkerKind, talker: str, stream: int | None, cause: ReleaseCause | None
    ) -> list[Event]:
        self._holder = self._stream = self._idle_deadline = None
        if cause is None:
            return []
        self.counters["released"] += 1
        return [FloorReleased(kind, talker, stream, cause)]

    def _radio_takes_over(self) -> list[Event]:
        if self._radio_source is None:
            return []
        self._move(_T.RADIO_START)
        self._holder, self._since = self._radio_source, self._now
        return [FloorTaken(self._radio_source)]
