"""chatkit.guard: connects per address, and the back-off of wrong secrets (issue 14)."""

import pytest

from chatkit.effects import Note
from chatkit.guard import Guard, Guarded
from chatkit.limits import Refused


def wrong(guard, now, *, address="10.0.0.7", link="e1", right=False):
    """One try of the join code; the Guarded refusal, or None when let in."""
    try:
        guard.secret("join code", right=right, address=address, link=link, now=now,
                     wrong="Wrong join code.")
    except Guarded as refusal:
        return refusal
    return None


def test_three_wrong_tries_are_free_then_the_wait_doubles_up_to_the_cap():
    """Issue 14: 2,349 wrong codes per second with no slowdown. Now: 3 free tries, then
    1, 2, 4 ... 60 s between tries; a try during the wait is refused, even a right one."""
    guard = Guard(max_wait=60, tries_per_link=1000)
    for now in (0, 0, 0):
        assert str(wrong(guard, now)).startswith("Wrong join code.")
    assert guard.wait("join code", "10.0.0.7", 0) == 1
    during = wrong(guard, 0.5, right=True)
    assert str(during) == ("Too many wrong tries of the join code from your address: wait "
                           "1 s before trying again.")
    assert during.wait == 0.5  # the same try may pass then: the client is told when
    assert wrong(guard, 1.0).wait == 0  # a wrong code stays wrong: no "try again then"
    waits, now = [], 1.0
    for _ in range(8):
        wrong(guard, now)
        waits.append(guard.wait("join code", "10.0.0.7", now))
        now += waits[-1]
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]
    assert wrong(guard, now, right=True) is None  # the right code once the wait is over


def test_guessing_a_whole_hour_gets_about_sixty_tries():
    """The arithmetic of docs/protocol.md: at most about 60 + 10 tries per hour per address,
    however fast the guesser sends (here: 100 per second for an hour)."""
    guard = Guard(tries_per_link=10**9)
    checked = 0
    for step in range(360_000):
        now = step / 100
        if not guard.wait("join code", "10.0.0.7", now):
            checked += 1
        wrong(guard, now)
    assert checked <= 70


def test_addresses_and_kinds_wait_apart():
    """One address's wrong tries do not slow another, nor the teacher token the code."""
    guard = Guard(tries_per_link=1000)
    for _ in range(5):
        wrong(guard, 0)
    assert guard.wait("join code", "10.0.0.7", 0) > 0
    assert guard.wait("join code", "10.0.0.8", 0) == 0
    assert guard.wait("teacher token", "10.0.0.7", 0) == 0
    assert wrong(guard, 0, address="10.0.0.8", right=True) is None


def test_the_fifth_wrong_try_on_one_link_closes_it():
    """Issue 14: no disconnect. Now the transport connection is closed at its 5th wrong try."""
    guard = Guard()
    refusals = [wrong(guard, float(now) * 100) for now in range(5)]
    assert [refusal.close for refusal in refusals] == [False] * 4 + [True]
    assert str(refusals[-1]).endswith("This connection is closed after 5 wrong tries.")
    assert wrong(guard, 1000, link="e2").close is False  # a new link starts again


def test_one_log_line_per_address_per_period_not_one_per_try():
    """Issue 14: each try logged a line. Now the first one, then one summary a minute."""
    guard = Guard(tries_per_link=10**9)
    notes = [note for step in range(6000)
             for note in wrong(guard, step / 100).effects]  # 100 tries a second, 60 s
    assert notes[0] == Note("refused a connection: Wrong join code. (from 10.0.0.7)")
    assert len(notes) <= 2
    later = wrong(guard, 61).effects
    assert len(later) == 1 and "more wrong tries of the join code (from 10.0.0.7)" in (
        later[0].line)


def test_an_address_is_forgotten_after_a_quiet_while():
    """A class behind one router is not punished all day for a few typos."""
    guard = Guard(forget_after=600, tries_per_link=1000)
    for _ in range(6):
        wrong(guard, 0)
    assert guard.wait("join code", "10.0.0.7", 601) == 0
    assert str(wrong(guard, 601)) == "Wrong join code."


def test_connects_per_address_are_a_bucket():
    """Issue 14: connects per address were not limited. Off by default (a notebook)."""
    assert Guard().connecting("10.0.0.7", 0) is None
    guard = Guard(connects_per_second=5, connect_burst=3)
    for _ in range(3):
        guard.connecting("10.0.0.7", 0)
    with pytest.raises(Guarded) as refused:
        guard.connecting("10.0.0.7", 0)
    assert str(refused.value) == ("Too many connections from your address: wait 0.2 s, "
                                  "then connect again (at most 5 per second).")
    assert refused.value.effects[0].line.startswith("refused 1 connections from 10.0.0.7")
    with pytest.raises(Guarded) as again:
        guard.connecting("10.0.0.7", 0)
    assert again.value.effects == ()  # summed up, not one line per refusal
    guard.connecting("10.0.0.8", 0)
    guard.connecting("10.0.0.7", 1)


def test_an_address_refused_in_a_row_is_turned_away_at_the_door_until_it_may_connect():
    """Issue 14's connect flood: each refusal in words cost a WebSocket and a session.
    After door_after of them in a row, the next connects are answered before any."""
    guard = Guard(connects_per_second=2, connect_burst=1, door_after=3)
    guard.connecting("10.0.0.7", 0)
    for _ in range(3):
        guard.at_the_door("10.0.0.7", 0)  # still answered in words
        with pytest.raises(Guarded):
            guard.connecting("10.0.0.7", 0)
    with pytest.raises(Guarded) as door:
        guard.at_the_door("10.0.0.7", 0.1)
    assert str(door.value) == ("Too many connections from your address: wait 0.4 s, then "
                               "connect again (at most 2 per second).")
    assert door.value.wait == pytest.approx(0.4)
    guard.at_the_door("10.0.0.8", 0.1)  # others are not affected
    guard.at_the_door("10.0.0.7", 0.5)  # a token is back: it may knock again
    guard.connecting("10.0.0.7", 0.5)
    guard.at_the_door("10.0.0.7", 0.5)  # accepted: the row starts again
    assert Guard().at_the_door("10.0.0.7", 0) is None  # no limit, no door


def test_memory_stays_bounded():
    """Addresses and links not seen for forget_after are dropped."""
    guard = Guard(connects_per_second=1, forget_after=10)
    for step in range(1000):
        guard.connecting(f"10.0.{step // 256}.{step % 256}", step)
        wrong(guard, step, address=f"a{step}", link=f"l{step}")
    assert len(guard._doors) <= 12 and len(guard._tries) <= 12 and len(guard._links) <= 12


def test_join_code_ignores_case_and_spaces_and_a_missing_code_costs_nothing():
    guard = Guard(free_tries=0)
    for _ in range(3):
        with pytest.raises(Refused, match="needs a join code"):
            guard.join_code(None, "Maple-Otter", address="a", link="l", now=0)
    guard.join_code(" maple-OTTER ", "Maple-Otter", address="a", link="l", now=0)


def test_settings_are_checked():
    with pytest.raises(ValueError):
        Guard(connects_per_second=0)
    with pytest.raises(ValueError):
        Guard(max_wait=0)
    with pytest.raises(ValueError, match="door_after"):
        Guard(door_after=0)
