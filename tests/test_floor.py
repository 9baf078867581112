"""Floor control in simulated time: start at now = 0.0, jump to next_deadline(), no sleeps."""

import ast
from pathlib import Path

import pytest

import gateway.floor as floor_module
from gateway.errors import OurError
from gateway.floor import (
    TRANSITIONS,
    DenyReason,
    FloorControl,
    FloorDenied,
    FloorGranted,
    FloorReleased,
    FloorRevoked,
    FloorState,
    FloorTaken,
    RadioCollision,
    ReleaseCause,
    RevokeCause,
    TalkerKind,
)

IDLE = 0.5
MAX_TALK = 60.0
FRAME = 0.02


def state(fc: FloorControl) -> FloorState:
    return fc.state  # a function call, so type checkers do not carry narrowing across inputs


def cause(event: object) -> ReleaseCause:
    assert isinstance(event, FloorReleased)
    return event.cause


def make() -> FloorControl:
    return FloorControl(idle_timeout=IDLE, max_talk=MAX_TALK)


def talk(fc: FloorControl, device: str, stream: int, now: float, frames: int) -> float:
    """Send ``frames`` accepted 20 ms frames starting at ``now``; return the time after them."""
    for i in range(frames):
        accepted, events = fc.audio(device, stream, start=i == 0, end=False, now=now)
        assert accepted and events == []
        now += FRAME
    return now


def test_starts_idle_without_deadline() -> None:
    fc = make()
    assert state(fc) is FloorState.IDLE
    assert fc.holder is None
    assert fc.next_deadline() is None
    assert fc.on_timer(0.0) == []


def test_grant_talk_end() -> None:
    fc = make()
    now = 0.0
    assert fc.request("post-1", 11, "r1", now) == [FloorGranted("post-1", 11, "r1")]
    assert (state(fc), fc.holder, fc.stream, fc.since) == (FloorState.HANDSET, "post-1", 11, 0.0)
    now = talk(fc, "post-1", 11, 0.1, 50)
    accepted, events = fc.audio("post-1", 11, start=False, end=True, now=now)
    assert accepted
    assert events == [FloorReleased(TalkerKind.HANDSET, "post-1", 11, ReleaseCause.END_OF_STREAM)]
    assert state(fc) is FloorState.IDLE and fc.holder is None and fc.next_deadline() is None


def test_repeated_request_from_holder_is_granted_again() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    assert fc.request("post-1", 11, "r1", 0.05) == [FloorGranted("post-1", 11, "r1")]
    assert state(fc) is FloorState.HANDSET
    assert fc.counters["granted"] == 2


def test_holder_new_stream_replaces_old_but_keeps_talk_start() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    talk(fc, "post-1", 11, 0.1, 5)
    assert fc.request("post-1", 12, "r2", 1.0) == [FloorGranted("post-1", 12, "r2")]
    assert fc.audio("post-1", 11, False, False, 1.01) == (False, [])
    assert fc.audio("post-1", 12, True, False, 1.02) == (True, [])
    assert fc.since == 0.0


def test_other_handset_is_denied_handset_busy() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    assert fc.request("post-2", 22, "q1", 0.1) == [
        FloorDenied("post-2", "q1", DenyReason.HANDSET_BUSY, "handset post-1 is talking")
    ]
    assert fc.holder == "post-1"
    assert fc.counters["denied"] == 1


def test_frames_from_non_holder_are_not_accepted() -> None:
    fc = make()
    assert fc.audio("post-1", 11, True, False, 0.0) == (False, [])  # audio never grants
    assert state(fc) is FloorState.IDLE
    fc.request("post-1", 11, "r1", 0.1)
    assert fc.audio("post-2", 22, True, False, 0.2) == (False, [])
    assert fc.audio("post-1", 99, True, False, 0.2) == (False, [])
    assert fc.counters["stale_frames"] == 3


def test_release_message() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    assert fc.release("post-2", 11, 0.1) == []
    assert fc.release("post-1", 10, 0.1) == []
    assert fc.counters["ignored_releases"] == 2
    assert fc.release("post-1", 11, 0.2) == [FloorReleased(TalkerKind.HANDSET, "post-1", 11, ReleaseCause.RELEASED)]
    assert state(fc) is FloorState.IDLE


def test_S08_stray_late_frame_after_end_is_dropped_and_grants_nothing() -> None:
    """S-08: a stray late frame of an ended stream starts no new grant and keys nothing."""
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    now = talk(fc, "post-1", 11, 0.1, 10)
    accepted, events = fc.audio("post-1", 11, start=False, end=True, now=now)
    assert accepted and cause(events[0]) is ReleaseCause.END_OF_STREAM
    # a frame of the same stream overtaken on the way arrives 80 ms after the END
    assert fc.audio("post-1", 11, start=False, end=False, now=now + 0.080) == (False, [])
    assert state(fc) is FloorState.IDLE and fc.holder is None and fc.next_deadline() is None
    assert fc.counters["stale_frames"] == 1
    # a QoS 1 redelivery of the old request is ignored too: the ended stream never comes back
    assert fc.request("post-1", 11, "r1", now + 0.1) == []
    assert state(fc) is FloorState.IDLE and fc.counters["stale_requests"] == 1
    # and the floor is free for anybody
    assert fc.request("post-2", 22, "q1", now + 0.2) == [FloorGranted("post-2", 22, "q1")]


def test_dead_handset_without_end_is_released_at_idle_timeout() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    now = talk(fc, "post-1", 11, 0.1, 20)
    last_frame = now - FRAME
    deadline = fc.next_deadline()
    assert deadline is not None and deadline == pytest.approx(last_frame + IDLE)
    assert fc.on_timer(deadline - 0.001) == []  # early timer: nothing
    assert fc.on_timer(deadline) == [FloorReleased(TalkerKind.HANDSET, "post-1", 11, ReleaseCause.IDLE_TIMEOUT)]
    assert state(fc) is FloorState.IDLE and fc.next_deadline() is None
    assert fc.counters["idle_timeouts"] == 1
    # its later frames (it comes back from a 4G hole) are stale
    assert fc.audio("post-1", 11, False, False, deadline + 0.3) == (False, [])


def test_granted_handset_that_never_sends_loses_floor_after_start_timeout() -> None:
    fc = FloorControl(idle_timeout=IDLE, max_talk=MAX_TALK, start_timeout=2.0)
    fc.request("post-1", 11, "r1", 0.0)
    assert fc.next_deadline() == 2.0
    assert cause(fc.on_timer(2.0)[0]) is ReleaseCause.IDLE_TIMEOUT


def test_max_talk_revokes_handset() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    now = 0.0
    while True:  # keep talking; every jump is to the next deadline or the next frame
        deadline = fc.next_deadline()
        assert deadline is not None
        if deadline <= now + FRAME:
            break
        now += FRAME
        assert fc.audio("post-1", 11, False, False, now) == (True, [])
    assert deadline == MAX_TALK
    assert fc.on_timer(deadline) == [FloorRevoked("post-1", 11, RevokeCause.TALK_TIMEOUT)]
    assert state(fc) is FloorState.IDLE
    assert fc.audio("post-1", 11, False, False, deadline + 0.01) == (False, [])
    assert fc.counters["talk_timeouts"] == 1


def test_busy_radio_denies_then_grants_after_radio_call_ends() -> None:
    fc = make()
    assert fc.radio_call_started(2041234, 0.0) == [FloorTaken("2041234")]
    assert (state(fc), fc.holder) == (FloorState.RADIO, "2041234")
    events = fc.request("post-1", 11, "r1", 1.0)
    assert events == [FloorDenied("post-1", "r1", DenyReason.RADIO_BUSY, "radio 2041234 is talking")]
    assert fc.radio_call_ended(3.0) == [
        FloorReleased(TalkerKind.RADIO, "2041234", None, ReleaseCause.RADIO_CALL_ENDED)
    ]
    assert fc.request("post-1", 12, "r2", 3.2) == [FloorGranted("post-1", 12, "r2")]


def test_radio_call_during_handset_talk_is_a_collision_and_handset_keeps_floor() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    now = talk(fc, "post-1", 11, 0.1, 5)
    assert fc.radio_call_started(2041234, now) == [RadioCollision("2041234", "post-1", 11)]
    assert fc.radio_call_started(2041234, now) == []  # repeated report of the same call
    assert state(fc) is FloorState.HANDSET and fc.holder == "post-1"
    assert fc.counters["collisions"] == 1
    now = talk(fc, "post-1", 11, now, 5)
    # the handset ends while the radio call is still on: the radio takes over
    _, events = fc.audio("post-1", 11, False, True, now)
    assert events == [
        FloorReleased(TalkerKind.HANDSET, "post-1", 11, ReleaseCause.END_OF_STREAM),
        FloorTaken("2041234"),
    ]
    assert state(fc) is FloorState.RADIO and fc.since == now
    assert cause(fc.radio_call_ended(now + 1)[0]) is ReleaseCause.RADIO_CALL_ENDED


def test_collision_that_ends_first_leaves_handset_alone() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 0.0)
    fc.radio_call_started(7, 0.1)
    assert fc.radio_call_ended(0.2) == []
    assert state(fc) is FloorState.HANDSET
    assert fc.release("post-1", 11, 0.3)[-1] == FloorReleased(TalkerKind.HANDSET, "post-1", 11, ReleaseCause.RELEASED)
    assert state(fc) is FloorState.IDLE


def test_new_radio_caller_retakes_floor() -> None:
    fc = make()
    fc.radio_call_started(1, 0.0)
    assert fc.radio_call_started(1, 0.5) == []
    assert fc.radio_call_started(2, 1.0) == [FloorTaken("2")]
    assert fc.since == 1.0


def test_stuck_radio_call_is_released_at_max_talk() -> None:
    fc = make()
    fc.radio_call_started(2041234, 0.0)
    deadline = fc.next_deadline()
    assert deadline == MAX_TALK
    assert fc.on_timer(deadline) == [FloorReleased(TalkerKind.RADIO, "2041234", None, ReleaseCause.TALK_TIMEOUT)]
    assert state(fc) is FloorState.IDLE
    assert fc.radio_call_ended(deadline + 1) == []  # the late end is counted, not an error
    assert fc.counters["spurious_radio_ends"] == 1


def test_spurious_radio_end_is_counted() -> None:
    fc = make()
    assert fc.radio_call_ended(0.0) == []
    assert fc.counters["spurious_radio_ends"] == 1


def test_time_must_not_go_backwards() -> None:
    fc = make()
    fc.request("post-1", 11, "r1", 1.0)
    with pytest.raises(OurError, match="backwards"):
        fc.on_timer(0.5)


def test_bad_timeouts_are_refused() -> None:
    with pytest.raises(OurError):
        FloorControl(idle_timeout=0, max_talk=60)


def test_every_state_and_trigger_in_table_is_known() -> None:
    states = {s for s, _ in TRANSITIONS} | set(TRANSITIONS.values())
    assert states == set(FloorState)


def test_random_walk_keeps_invariants() -> None:
    """Drive random inputs in simulated time; the table must never be violated (OurError)."""
    import random

    rng = random.Random(5)
    fc = make()
    now = 0.0
    devices = ["a", "b", "c"]
    for _ in range(20_000):
        now += rng.choice([0.0, 0.001, 0.02, 0.3, 1.0])
        deadline = fc.next_deadline()
        if deadline is not None and deadline <= now:
            fc.on_timer(deadline)
        dev, stream = rng.choice(devices), rng.randrange(1, 4)
        op = rng.randrange(5)
        if op == 0:
            fc.request(dev, stream, "r", now)
        elif op == 1:
            fc.audio(dev, stream, rng.random() < 0.1, rng.random() < 0.1, now)
        elif op == 2:
            fc.release(dev, stream, now)
        elif op == 3:
            fc.radio_call_started(rng.randrange(1, 3), now)
        else:
            fc.radio_call_ended(now)
        assert (fc.holder is None) == (state(fc) is FloorState.IDLE)
        assert (fc.stream is not None) == (state(fc) is FloorState.HANDSET)
        assert (fc.next_deadline() is None) == (state(fc) is FloorState.IDLE)


def test_module_is_sans_io() -> None:
    tree = ast.parse(Path(floor_module.__file__).read_text())
    mods = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    mods |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m.split(".")[0] for m in mods if m} & {"asyncio", "socket", "time", "paho", "aiomqtt"}
