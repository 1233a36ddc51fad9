"""Notebook 06's checks explain each typical wrong answer: announce_to_busiest (the
warm-up) and three_strikes (the moderation bot)."""

import asyncio
import math
from collections import Counter

import pytest

from chatkit import exercises, running
from chatkit.tasks import leftover_tasks
from tests.conftest import timeout
from tests.exercises.answers import announce_to_busiest as right
from tests.exercises.answers import three_strikes

# -- announce_to_busiest ----------------------------------------------------------------


async def to_everyone(teacher, text):
    await teacher.announce(text)


async def ties_the_wrong_way(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=max(rooms, key=lambda room: (len(rooms[room]), room)))


async def smallest(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=min(rooms, key=lambda room: len(rooms[room])))


async def first_room(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=sorted(rooms)[-1])


async def every_room_but_one(teacher, text):
    rooms = await teacher.rooms()
    for room in sorted(rooms)[1:]:
        await teacher.announce(text, room=room)


async def twice(teacher, text):
    await right(teacher, text)
    await right(teacher, text)


async def not_awaited(teacher, text):
    rooms = await teacher.rooms()
    teacher.announce(text, room=max(rooms, key=lambda room: len(rooms[room])))


async def other_text(teacher, text):
    await right(teacher, "hello")


def not_async(teacher, text):
    return None


async def raises(teacher, text):
    raise KeyError("rooms")


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize("answer, hint", [
    (to_everyone, "every room got the notice.*pass room= to announce"),
    (ties_the_wrong_way, "'check-c' \\(2 students\\) got the notice, but 'check-a' \\(2 students\\) should.*break ties by the room's name"),
    (smallest, "'check-c' \\(1 student\\) got the notice, but 'check-b' \\(3 students\\) has the most.*longest"),
    (first_room, "'check-c' \\(1 student\\) got the notice, but 'check-b'.*has the most"),
    (every_room_but_one, "'check-c' \\(1 student\\) got the notice too.*announce in one room"),
    (twice, "once"),
    (not_awaited, "no student got a notice.*without await nothing is sent"),
    (other_text, "got \\['hello'\\] instead of \\['notice number 1'\\].*the text you are given"),
    (not_async, "not something to await"),
    (raises, "raised KeyError"),
])
async def test_wrong_announcements_get_their_own_hint(answer, hint):
    """Each typical mistake fails with a hint that points at it, and only at it."""
    with pytest.raises(AssertionError, match=hint) as failed:
        await exercises.check_announce_to_busiest(answer, timeout=timeout(5))
    if answer is not to_everyone:  # the bug this replaces: "pass room=" for a wrong room
        assert "pass room=" not in str(failed.value)
    assert running.running() == {}


# -- three_strikes ----------------------------------------------------------------------


def rule(*, at=3, seconds=60, case=True, exact=False, per_name=True,
         whom=lambda message: message.name, wait=math.inf):
    """A three_strikes bot with one thing changed (``exact``: the text is "spam", no more)."""
    async def bot(teacher, eyes):
        strikes = Counter()
        while True:
            message = (await eyes.next("said", timeout=wait)).data
            text = message.text.lower() if case else message.text
            if text == "spam" if exact else "spam" in text:
                key = message.name if per_name else "everyone"
                strikes[key] += 1
                if strikes[key] == at:
                    await teacher.mute(whom(message), seconds=seconds)
                    if not per_name:
                        strikes[key] = at - 1  # the whole class at 2 strikes from now on
    return bot


async def never_awaits_mute(teacher, eyes):
    strikes = Counter()
    while True:
        message = (await eyes.next("said", timeout=math.inf)).data
        if "spam" in message.text.lower():
            strikes[message.name] += 1
            if strikes[message.name] == 3:
                teacher.mute(message.name, seconds=60)


async def handles_one_message(teacher, eyes):
    await eyes.next("said", timeout=math.inf)


async def reads_the_event_as_a_message(teacher, eyes):
    while True:
        event = await eyes.next("said", timeout=math.inf)
        if "spam" in event.text:
            await teacher.mute(event.name, seconds=60)


async def mutes_everyone_at_once(teacher, eyes):
    for names in (await teacher.rooms()).values():
        for name in names:
            if name != eyes.name:
                await teacher.mute(name, seconds=60)
    while True:
        await eyes.next("said", timeout=math.inf)


async def polls_instead(teacher, eyes):
    while True:
        await asyncio.sleep(0.05)


async def crashes(teacher, eyes):
    while True:
        await eyes.next("said", timeout=math.inf)
        raise ValueError("no rule yet")


def not_a_coroutine(teacher, eyes):
    return "muted"


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize("answer, hint", [
    (rule(at=2), "you muted 'una' after 2 strikes \\('is this the spam room\\?', 'spam is not a greeting'\\): mute at the 3rd, not before"),
    (rule(at=4), "'xia' said 'spam' 3 times .* and is not muted: at the 3rd strike"),
    (never_awaits_mute, "'xia' said 'spam' 3 times .*called teacher.mute\\('xia', ...\\) without await"),
    (rule(exact=True), "'xia' said 'spam' 3 times .* not muted: at the 3rd strike \\(a message with 'spam' anywhere"),
    (rule(case=False), "'vic' said 'spam' 3 times \\('SPAM', 'Spam again', 'ok, spam'\\) and is not muted: any case counts"),
    (rule(per_name=False), "you muted 'xia' after 1 strike, when the class has 3 in all: count each student's strikes on their own"),
    (rule(whom=lambda message: message.room), "raised ChatError: Nobody named 'check-b'.*mute the one who said it"),
    (rule(whom=lambda message: "check-eyes"), "you muted 'check-eyes', the teacher's own eyes"),
    (mutes_everyone_at_once, "you muted 'una', who has not said 'spam' yet"),
    (rule(seconds=30), "you muted 'xia' for 30 s: mute for 60 s"),
    (rule(seconds=60_000), "you muted 'xia' for 60,000 s: mute for 60 s"),
    (handles_one_message, "returned after taking 1 message: a bot keeps watching"),
    (reads_the_event_as_a_message, "raised AttributeError.*the message is `event.data`"),
    (polls_instead, "did not wait for a message within .*eyes.next"),
    (crashes, "raised ValueError: no rule yet \\(line \\d+ of your code: `raise ValueError"),
    (not_a_coroutine, "returned 'muted', not something to await"),
])
async def test_wrong_bots_get_their_own_hint(answer, hint):
    """Each typical mistake fails with the hint for it; nothing is left running."""
    with pytest.raises(AssertionError, match=hint):
        await exercises.check_three_strikes(answer, timeout=timeout(3))
    assert running.running() == {}
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")


async def test_a_bot_that_gives_up_in_a_quiet_class_is_told_to_wait():
    """eyes.next's default 5 s timeout ends the bot when nobody talks: the check waits
    that long before the first message and says so."""
    with pytest.raises(AssertionError, match="raised TimeoutError.*quiet for minutes.*math.inf"):
        await exercises.check_three_strikes(rule(wait=0.3), timeout=timeout(3))
    assert running.running() == {}


async def test_a_bot_that_waits_again_after_a_quiet_spell_passes(capsys):
    """A short timeout is fine when the bot catches it and keeps watching."""
    async def patient(teacher, eyes):
        while True:
            try:
                await three_strikes_once(teacher, eyes)
            except TimeoutError:
                continue

    strikes = Counter()

    async def three_strikes_once(teacher, eyes):
        message = (await eyes.next("said", timeout=0.3)).data
        if "spam" in message.text.lower():
            strikes[message.name] += 1
            if strikes[message.name] == 3:
                await teacher.mute(message.name, seconds=60)

    await exercises.check_three_strikes(patient, timeout=timeout(3))
    assert capsys.readouterr().out.startswith("Right: xia and vic were muted")


async def test_the_right_bot_passes_and_is_stopped(capsys):
    """The right bot passes; the check cancels it, and no task of it is left."""
    await exercises.check_three_strikes(three_strikes, timeout=timeout(3))
    assert capsys.readouterr().out.startswith("Right:")
    assert running.running() == {}
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")
