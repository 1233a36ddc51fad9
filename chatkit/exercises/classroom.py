"""Notebook 06, the classroom: two exercises on the teacher's tools.

* ``announce_to_busiest(teacher, text)`` (the warm-up) announces only in the room with the
  most students: :func:`check_announce_to_busiest`.
* ``three_strikes(teacher, eyes)`` (the main one) is a moderation bot: it watches every
  room through the teacher's own :class:`~chatkit.client.ChatClient` and mutes a student
  for 60 s at their third message that says "spam": :func:`check_three_strikes`.

Both checks start a :class:`~chatkit.server.ChatServer` of their own, seat a class in it
and stop everything before they return.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chatkit import protocol, running
from chatkit.client import ChatClient
from chatkit.exercises.harness import (
    CheckFailed,
    awaitable_check,
    call_learner,
    hint,
    in_your_code,
    say_right,
)
from chatkit.language import phrase

_BUSIEST_SERVER = "exercise-06"
_STRIKES_SERVER = "exercise-06-strikes"


# -- the warm-up: announce to the busiest room -------------------------------------------

@awaitable_check
async def check_announce_to_busiest(announce_to_busiest: Callable[[Any, str], Awaitable[Any]],
                                    *, timeout: float = 5.0) -> None:
    """Notebook 06: ``announce_to_busiest(teacher, text)`` announces only in the room with
    the most students (ties: the first in alphabetical order).

    The check starts a chat server of its own with a teacher token, seats a small class
    in three rooms twice (with the biggest room different each time, once with a tie),
    calls your function with a :class:`chatkit.client.TeacherClient`, and checks who
    received the notice. Everything it starts is stopped before it returns.
    """
    hint(callable(announce_to_busiest),
         "pass the function itself: check_announce_to_busiest(announce_to_busiest)")
    from chatkit.classroom import simulate_class  # here: needs the server
    from chatkit.client import TeacherClient
    from chatkit.server import ChatServer

    classes = [({"check-a": 2, "check-b": 3, "check-c": 1}, "check-b"),
               ({"check-a": 2, "check-b": 1, "check-c": 2}, "check-a")]
    for round_number, (sizes, busiest) in enumerate(classes, start=1):
        server = ChatServer(teacher_token="check-token")
        names: list[str] = []
        try:
            await server.start(name=_BUSIEST_SERVER)
            groups = {room: [f"check-{round_number}-{room}-{n}" for n in range(size)]
                      for room, size in sizes.items()}
            names = [name for members in groups.values() for name in members]
            students = await simulate_class(server.url, groups)
            teacher = await TeacherClient.connect(server.url, "check-token",
                                                  name="check-teacher")
            text = f"notice number {round_number}"
            await call_learner(announce_to_busiest(teacher, text),
                               "announce_to_busiest(teacher, text)", timeout)
            # A notice to everyone after yours: once it has arrived, so has yours.
            await teacher.announce("check: end of round")
            # A partial, not a lambda: it holds this round's students, not the loop's.
            await running.wait_for(functools.partial(_all_got_last, students, names,
                                                     "check: end of round"),
                                   timeout, what="the check's own notice")
            got = {room: {tuple(_notices(students[name])[:-1]) for name in members}
                   for room, members in groups.items()}
            _busiest_hint(got, sizes, busiest, text)
        finally:
            for key in [*(f"client:{name}" for name in names), "teacher:check-teacher"]:
                await running.stop(key)
            await server.stop()
    say_right("Right: the announcement reached the busiest room, and only that room.")


def _busiest_hint(got: Mapping[str, set[tuple[str, ...]]], sizes: Mapping[str, int],
                  busiest: str, text: str) -> None:
    """The hint for who received what: ``got`` maps a room to the notices its students got."""
    def size(room: str) -> str:
        return (phrase(f"{room!r} (1 student)") if sizes[room] == 1
                else phrase(f"{room!r} ({sizes[room]} students)"))

    reached = sorted(room for room, notices in got.items() if notices != {()})
    where = phrase(f"rooms were {dict(sizes)}")
    hint(reached, f"no student got a notice ({where}): call "
                  f"`await teacher.announce(text, room=...)` (without await nothing is sent)")
    hint(len(reached) < len(sizes),
         f"every room got the notice, but only {size(busiest)} should ({where}): "
         f"pass room= to announce; without it, everyone gets it")
    others = [room for room in reached if room != busiest]
    if len(others) == 1 and busiest not in reached:
        wrong = others[0]
        hint(sizes[wrong] != sizes[busiest],
             f"{size(wrong)} got the notice, but {size(busiest)} should, as tied rooms go "
             f"by name ({where}): break ties by the room's name, alphabetically")
        hint(False, f"{size(wrong)} got the notice, but {size(busiest)} has the most "
                    f"({where}): pick the room whose list of students is longest, "
                    f"`max(rooms, key=lambda room: len(rooms[room]))`")
    hint(not others, f"{' and '.join(map(size, others))} got the notice too, but only "
                     f"{size(busiest)} should ({where}): announce in one room")
    received = " or ".join(str(list(notices)) for notices in got[busiest])
    hint(got[busiest] == {(text,)},
         f"the students of {size(busiest)} got {received} instead of [{text!r}]: call "
         f"`await teacher.announce(text, room=...)` once, with the text you are given")


def _notices(student: Any) -> list[str]:
    return [event.data.text for event in student.events
            if event.type == protocol.NOTICE]


def _all_got_last(students: Mapping[str, Any], names: list[str], text: str) -> bool:
    """Whether the last notice each of ``names`` received is ``text``."""
    return all(_notices(students[name])[-1:] == [text] for name in names)


# -- the main exercise: three strikes and you are muted ----------------------------------

WORD, STRIKES, MUTE_SECONDS = "spam", 3, 60
_ROOMS = {"check-a": ["una", "vic"], "check-b": ["wes", "xia"]}
_ROOM_OF = {name: room for room, names in _ROOMS.items() for name in names}
#: What the class says, in this order. una stops at 2 strikes; the class's 3rd strike is
#: xia's 1st; xia's three come in small letters, vic's mostly in capitals.
_SCRIPT = [
    ("una", "is this the spam room?"),
    ("una", "spam is not a greeting"),
    ("xia", "spam"),
    ("wes", "hello group b"),
    ("xia", "more spam"),
    ("vic", "good morning"),
    ("xia", "spam for everyone"),
    ("vic", "SPAM"),
    ("vic", "Spam again"),
    ("vic", "ok, spam"),
    ("una", "what did I miss?"),
]
_EYES = "check-eyes"


class _Eyes(ChatClient):
    """The teacher's ChatClient as the check hands it over. It also counts the calls of
    :meth:`next` still waiting, so that the check knows when the bot is idle (waiting for
    the next message), and remembers the shortest timeout the bot asked for."""

    waiting = 0
    taken = 0
    shortest_timeout = math.inf

    async def next(self, type: str | None = None, *, timeout: float = 5.0) -> Any:
        self.shortest_timeout = min(self.shortest_timeout, timeout)
        self.waiting += 1
        try:
            event = await super().next(type, timeout=timeout)
        finally:
            self.waiting -= 1
        self.taken += 1
        return event

    def idle(self) -> bool:
        """Waiting in next() with no message left unread: done with all it was given."""
        return self.waiting > 0 and protocol.SAID not in self._inbox.unread()

    def saw(self, message_id: int) -> bool:
        return any(message.id == message_id for message in self.messages())


@awaitable_check
async def check_three_strikes(three_strikes: Callable[[Any, ChatClient], Awaitable[Any]],
                              *, timeout: float = 5.0) -> None:
    """Notebook 06: ``three_strikes(teacher, eyes)`` is a bot that runs until stopped. It
    takes each message with ``await eyes.next("said", timeout=math.inf)`` and, at a
    student's 3rd message that contains "spam" (in any case), calls
    ``await teacher.mute(name, seconds=60)``.

    The check starts a chat server of its own, seats four students in two rooms and the
    teacher's ``eyes`` (a :class:`~chatkit.client.ChatClient`) in both, runs your function
    as a task, and has the students say 11 messages one at a time. After each it waits
    until your bot is waiting for the next message, then reads who the server has muted
    and for how long. It stops your bot and everything else before it returns.
    """
    hint(callable(three_strikes),
         "pass the function itself: check_three_strikes(three_strikes)")
    from chatkit.classroom import simulate_class  # here: needs the server
    from chatkit.client import TeacherClient
    from chatkit.server import ChatServer

    server = ChatServer(teacher_token="check-token")
    names = [*_ROOM_OF, _EYES]
    bot: asyncio.Future | None = None
    try:
        await server.start(name=_STRIKES_SERVER)
        students = await simulate_class(server.url, _ROOMS)
        eyes = await _Eyes(_EYES, rooms=list(_ROOMS)).connect(server.url)
        teacher = await TeacherClient.connect(server.url, "check-token", name="check-teacher")
        asked = _count_mutes(teacher)
        bot = _start(three_strikes, teacher, eyes)
        await _until_waiting(bot, eyes, timeout)
        said: dict[str, list[str]] = {name: [] for name in _ROOM_OF}
        timed: set[str] = set()  # whose mute was timed already (right when it came)
        await _mutes_hint(server, said, timed, asked)  # nobody muted before anyone spoke
        for name, text in _SCRIPT:
            try:
                message_id = await students[name].say(_ROOM_OF[name], text)
            except protocol.ChatError as refusal:
                await _mutes_hint(server, said, timed, asked)  # a mute that came late, if any
                hint(False, f"{name}'s message {text!r} was refused: {refusal}")
            said[name].append(text)
            await _until_idle(bot, eyes, message_id, text, timeout)
            await _mutes_hint(server, said, timed, asked)
    finally:
        if bot is not None:
            bot.cancel()
            await asyncio.wait([bot], timeout=timeout)
            if bot.done() and not bot.cancelled():
                bot.exception()  # seen: no "exception was never retrieved" later
        for key in [*(f"client:{name}" for name in names), "teacher:check-teacher"]:
            await running.stop(key)
        await server.stop()
    say_right(f"Right: xia and vic were muted for {MUTE_SECONDS} s at their 3rd strike "
          f"(vic's partly in capitals); una with 2 strikes and wes with none were not.")


def _count_mutes(teacher: Any) -> list[str]:
    """Write down the name in each call of ``teacher.mute``, awaited or not."""
    asked: list[str] = []
    mute = teacher.mute

    def counted(name: str, *args: Any, **kwargs: Any) -> Any:
        asked.append(name)
        return mute(name, *args, **kwargs)

    teacher.mute = counted
    return asked


def _start(three_strikes: Callable[..., Any], teacher: Any, eyes: _Eyes) -> asyncio.Future:
    """Call the learner's function and run what it returns as a task."""
    try:
        result = three_strikes(teacher, eyes)
    except Exception as exc:
        raise CheckFailed(f"three_strikes(teacher, eyes) raised {type(exc).__name__}: {exc}"
                          f"{in_your_code(exc)}: it takes the TeacherClient and the "
                          f"ChatClient that watches the rooms") from exc
    hint(inspect.isawaitable(result),
         f"three_strikes(teacher, eyes) returned {result!r}, not something to await: write "
         f"it with `async def` and `await` each message and each teacher's call")
    return asyncio.ensure_future(result)


async def _until_waiting(bot: asyncio.Future, eyes: _Eyes, timeout: float) -> None:
    """Wait until the bot waits for its first message; a short timeout of its own is
    given time to run out, as it would in a quiet classroom."""
    try:
        await running.wait_for(lambda: eyes.waiting or bot.done(), timeout,
                               what="your bot to wait for a message")
    except TimeoutError:
        hint(False, f"three_strikes did not wait for a message within {timeout:g} s: take "
                    f"each one with `event = await eyes.next(\"said\", timeout=math.inf)`")
    if not bot.done() and eyes.shortest_timeout < 2 * timeout:
        await asyncio.sleep(eyes.shortest_timeout + 0.2)  # nobody talks for a while
    _bot_hint(bot, eyes)


async def _until_idle(bot: asyncio.Future, eyes: _Eyes, message_id: int, text: str,
                      timeout: float) -> None:
    try:
        await running.wait_for(lambda: bot.done() or (eyes.saw(message_id) and eyes.idle()),
                               timeout, what="your bot to take the message")
    except TimeoutError:
        hint(False, f"three_strikes was still busy with {text!r} {timeout:g} s after it "
                    f"was said: does it wait for something that never comes?")
    _bot_hint(bot, eyes)


def _bot_hint(bot: asyncio.Future, eyes: _Eyes) -> None:
    """If the bot is no longer running, say why."""
    if not bot.done():
        return
    hint(not bot.cancelled(), "three_strikes was cancelled: let it run until the check "
                              "stops it")
    exc = bot.exception()
    if exc is None:
        hint(False, f"three_strikes returned after taking {eyes.taken} message"
                    f"{'s' * (eyes.taken != 1)}: a bot keeps watching, so loop with "
                    f"`while True:` around `await eyes.next(\"said\", timeout=math.inf)`")
    advice = ""
    if isinstance(exc, TimeoutError):
        advice = (": a class can be quiet for minutes, so wait as long as it takes, "
                  "`eyes.next(\"said\", timeout=math.inf)`")
    elif isinstance(exc, protocol.ChatError):
        advice = (": the server refused the teacher's request; mute the one who said it, "
                  "`message.name`")
    elif isinstance(exc, AttributeError):
        advice = (": take only messages, `event = await eyes.next(\"said\", ...)`; the "
                  "message is `event.data` (`.name`, `.text`, `.room`)")
    raise CheckFailed(f"three_strikes raised {type(exc).__name__}: {exc}{in_your_code(exc)}"
                      f"{advice}") from exc


def _strikes(said: Mapping[str, list[str]], *, any_case: bool = True) -> Counter:
    """Each name's strikes so far: its messages that contain the word (in small letters
    only, without ``any_case``)."""
    return Counter({name: sum(WORD in (text.lower() if any_case else text) for text in texts)
                    for name, texts in said.items()})


async def _mutes_hint(server: Any, said: Mapping[str, list[str]], timed: set[str],
                      asked: list[str]) -> None:
    """Compare who the server has muted with the rule, and a new mute's length."""
    now = server.rules.now()
    muted = {}
    for name in [*_ROOM_OF, _EYES]:
        until = await server.store.restriction("mute", name)
        if until is not None and until > now:
            muted[name] = until - now
    strikes = _strikes(said)
    should = {name for name, count in strikes.items() if count >= STRIKES}
    for name in sorted(set(muted) - should,
                       key=lambda name: (name != _EYES, strikes[name], name)):
        hint(name != _EYES, f"you muted {name!r}, the teacher's own eyes: mute the one who "
                            f"said it, `message.name`")
        hint(strikes[name] > 0 or strikes.total() >= STRIKES,
             f"you muted {name!r}, who has not said {WORD!r} yet: mute only the one who "
             f"says it, `message.name`, at their 3rd strike")
        hint(strikes[name] >= 2 or strikes.total() < STRIKES,
             f"you muted {name!r} after {_times(strikes[name])}, when the class has "
             f"{strikes.total()} in all: count each student's strikes on their own "
             f"(a Counter keyed by `message.name`)")
        hint(False, f"you muted {name!r} after {_times(strikes[name])} "
                    f"({_quote(said[name])}): mute at the {_nth(STRIKES)}, not before")
    for name in sorted(should - set(muted)):
        case_only = _strikes(said, any_case=False)[name] < STRIKES
        did = phrase(f"{name!r} said {WORD!r} {STRIKES} times ({_quote(said[name])}) and is "
                     f"not muted")
        hint(name not in asked, f"{did}: your bot called teacher.mute({name!r}, ...) without "
                                f"await, so nothing was sent: `await teacher.mute(...)`")
        hint(not case_only or not muted,
             f"{did}: any case counts, so look in `message.text.lower()`")
        hint(False, f"{did}: at the {_nth(STRIKES)} strike (a message with {WORD!r} anywhere "
                    f"in it, in any case), `await teacher.mute(message.name, "
                    f"seconds={MUTE_SECONDS})`")
    for name in sorted(should - timed):
        timed.add(name)
        left = muted[name]
        hint(MUTE_SECONDS - 3 <= left <= MUTE_SECONDS + 0.5,
             f"you muted {name!r} for {left:,.0f} s: mute for {MUTE_SECONDS} s, "
             f"`seconds={MUTE_SECONDS}` (seconds, not minutes or milliseconds)")


def _times(count: int) -> str:
    return phrase(f"{count} strike") if count == 1 else phrase(f"{count} strikes")


def _nth(count: int) -> str:
    return phrase({1: "1st", 2: "2nd", 3: "3rd"}.get(count, f"{count}th"))


def _quote(texts: list[str]) -> str:
    return ", ".join(repr(text) for text in texts if WORD in text.lower())
