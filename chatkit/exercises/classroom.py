"""Notebook 06, the classroom: the exercise writes ``announce_to_busiest(teacher, text)``,
which announces only in the room with the most students."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from chatkit import protocol, running
from chatkit.exercises.harness import awaitable_check, call_learner, hint

_BUSIEST_SERVER = "exercise-06"


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
            for room in sorted(got, key=lambda room: room == busiest):  # others first
                if room == busiest:
                    received = " or ".join(map(str, map(list, got[room])))
                    hint(got[room] == {(text,)},
                         f"the students of {busiest!r} ({sizes[busiest]}, the most; rooms "
                         f"were {sizes}) got {received} instead of [{text!r}]: call "
                         f"`await teacher.announce(text, room=...)` once, with that room")
                else:
                    tie = sizes[room] == sizes[busiest]
                    hint(got[room] == {()},
                         f"{room!r} ({sizes[room]} student{'s' * (sizes[room] != 1)}) got "
                         f"the notice, but only "
                         f"{busiest!r} should (rooms were {sizes}): "
                         + ("break ties by the room's name, alphabetically" if tie else
                            "pass room= to announce; without it, everyone gets it"))
        finally:
            for key in [*(f"client:{name}" for name in names), "teacher:check-teacher"]:
                await running.stop(key)
            await server.stop()
    print("Right: the announcement reached the busiest room, and only that room.")


def _notices(student: Any) -> list[str]:
    return [event.data.text for event in student.events
            if event.type == protocol.NOTICE]


def _all_got_last(students: Mapping[str, Any], names: list[str], text: str) -> bool:
    """Whether the last notice each of ``names`` received is ``text``."""
    return all(_notices(students[name])[-1:] == [text] for name in names)
