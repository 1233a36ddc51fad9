"""Notebook 06's check_announce_to_busiest explains each typical wrong announcement."""

import pytest

from chatkit import exercises, running
from tests.conftest import timeout
from tests.exercises.answers import announce_to_busiest as right


async def to_everyone(teacher, text):
    await teacher.announce(text)


async def ties_the_wrong_way(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=max(rooms, key=lambda room: (len(rooms[room]), room)))


async def smallest(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=min(rooms, key=lambda room: len(rooms[room])))


async def twice(teacher, text):
    await right(teacher, text)
    await right(teacher, text)


def not_async(teacher, text):
    return None


async def raises(teacher, text):
    raise KeyError("rooms")


@pytest.mark.parametrize("answer, hint", [
    (to_everyone, "pass room= to announce"),
    (ties_the_wrong_way, "break ties by the room's name"),
    (smallest, "'check-c' \\(1 student\\) got the notice"),
    (twice, "once"),
    (not_async, "not something to await"),
    (raises, "raised KeyError"),
])
async def test_wrong_answers_get_a_hint(answer, hint):
    """Each typical mistake fails with a hint that points at it."""
    with pytest.raises(AssertionError, match=hint):
        await exercises.check_announce_to_busiest(answer, timeout=timeout(5))
    assert running.running() == {}
