"""The teacher's rules (chatkit.moderation), called directly: no sockets, only their effects."""

import math

import pytest

from chatkit import protocol
from chatkit.effects import Disconnect, Emit, Note, Rooms
from chatkit.limits import Limits
from chatkit.moderation import Moderation
from chatkit.store import MemoryStore
from tests.test_chat import Clock, arrive, in_lobby, make_chat, refusal, refused, say, two_processes

KICKED = "The teacher removed you from the chat. You can come back in 60 s."


async def teacher_chat(**options):
    """A chat with ada and bob in the lobby, and the teacher's tools over it (token s3cret)."""
    chat = await in_lobby(make_chat(**options), "ada", "bob")
    return chat, Moderation(chat, token="s3cret")


def notice(text, **target) -> Emit:
    return Emit(protocol.NOTICE, {"text": text}, **target)


# -- who may use the teacher's tools -------------------------------------------------------

@pytest.mark.parametrize(("token", "auth", "why"), [
    (None, {"token": "anything"}, "This server has no teacher token, so its teacher's tools "
                                  "are closed: start it with one."),
    (None, None, "This server has no teacher token"),
    ("s3cret", None, "The teacher's tools need the teacher token: connect with auth "
                     '{"token": "..."}. It was printed when the server started.'),
    ("s3cret", "s3cret", "The teacher's tools need the teacher token"),
    ("s3cret", {}, "The teacher's tools need the teacher token"),
    ("s3cret", {"token": " "}, "The teacher's tools need the teacher token"),
    ("s3cret", {"token": "S3CRET"}, "Wrong teacher token: check what the server printed at "
                                    "start."),
    ("s3cret", {"token": "s3cre"}, "Wrong teacher token"),
    ("s3cret", {"token": 42}, "Wrong teacher token"),
    ("s3cret", {"token": ["s3cret"]}, "Wrong teacher token"),
    ("s3cret", {"token": "\ud800"}, "Wrong teacher token"),
])
async def test_the_teachers_tools_need_the_exact_token(token, auth, why):
    """Without a token, with a wrong one, or on a server without one: refused."""
    teacher = Moderation(make_chat(), token=token)
    assert (await refusal(teacher.connect, "t1", auth)).startswith(why)
    assert teacher.label("t1") is None


async def test_a_refused_teacher_is_a_log_line():
    """A refused teacher's connection has one effect: a log line saying why."""
    teacher = Moderation(make_chat(), token="s3cret")
    refusal_ = await refused(teacher.connect, "t1", {"token": "guess"})
    assert refusal_.effects == (Note("refused a teacher connection: Wrong teacher token: "
                                     "check what the server printed at start."),)


async def test_the_right_token_opens_the_teachers_tools():
    """The exact token (spaces around it forgiven) is accepted, and logged."""
    teacher = Moderation(make_chat(), token="s3cret")
    accepted = await teacher.connect("t1", {"token": " s3cret "})
    assert accepted.effects == (Note("a teacher connected"),)
    assert accepted.ack() == {"ok": True}
    assert teacher.label("t1") == "teacher"


async def test_a_teacher_disconnecting_is_logged_once():
    """A teacher's connection ending is a log line; an unknown one is nothing."""
    teacher = Moderation(make_chat(), token="s3cret")
    await teacher.connect("t1", {"token": "s3cret"})
    assert repr(teacher) == "<Moderation: 1 teachers connected>"
    assert teacher.disconnect("t1", "transport close").effects == (
        Note("a teacher disconnected (transport close)"),)
    assert teacher.disconnect("t1").effects == ()
    assert teacher.label("t1") is None and repr(teacher) == "<Moderation: 0 teachers connected>"


async def test_label_names_students_and_teachers():
    """label gives a student's chat name, "teacher" for a teacher, None for a stranger."""
    chat, teacher = await teacher_chat()
    await teacher.connect("t1", {"token": "s3cret"})
    assert (teacher.label("conn-ada"), teacher.label("t1"), teacher.label("ghost")) == (
        "ada", "teacher", None)


# -- rooms ---------------------------------------------------------------------------------

async def test_rooms_lists_every_room_and_everyone_connected():
    """rooms gives each room with its sorted members, and people, in a room or not."""
    chat, teacher = await teacher_chat()
    await arrive(chat, "c-cy", {"name": "cy"})
    await chat.join("conn-ada", {"room": "games"})
    rooms = await teacher.rooms({})
    assert isinstance(rooms, Rooms) and rooms.effects == ()
    assert (rooms.rooms, rooms.people) == ({"games": ["ada"], "lobby": ["ada", "bob"]},
                                           ("ada", "bob", "cy"))
    assert rooms.ack() == {"ok": True, "rooms": {"games": ["ada"], "lobby": ["ada", "bob"]},
                           "people": ["ada", "bob", "cy"]}
    assert (await teacher.rooms()).ack() == rooms.ack()
    assert (await teacher.rooms(None)).ack() == rooms.ack()


async def test_rooms_of_an_empty_chat_are_empty():
    """With nobody connected, rooms is empty and so is people."""
    assert (await Moderation(make_chat(), token="t").rooms()).ack() == {
        "ok": True, "rooms": {}, "people": []}


@pytest.mark.parametrize("payload", [[], "lobby", {"room": "lobby"}, 0, False])
async def test_rooms_refuses_anything_but_nothing_or_an_empty_object(payload):
    """rooms takes nothing, or {}."""
    chat, teacher = await teacher_chat()
    assert await refusal(teacher.rooms, payload) == "rooms takes nothing, or {}."


# -- kick ----------------------------------------------------------------------------------

async def test_kick_tells_the_student_then_disconnects_it():
    """A kick's effects: a log line, the notice to the student, then its Disconnect."""
    chat, teacher = await teacher_chat()
    kicked = await teacher.kick({"name": "ada"})
    assert kicked.effects == (Note("the teacher kicked ada out for 60 s"),
                              notice(KICKED, to="conn-ada"),
                              Disconnect("conn-ada"))
    assert kicked.ack() == {"ok": True}


async def test_kick_keeps_the_restriction_in_the_store():
    """A kick is kept in the chat's store, until now + kick_seconds."""
    clock = Clock()
    chat, teacher = await teacher_chat(clock=clock)
    await teacher.kick({"name": "ada"})
    assert await chat.store.restriction("kick", "ada") == clock.now + 60
    assert await chat.store.restriction("kick", "bob") is None


async def test_kick_bars_the_name_for_a_while():
    """A kicked name is refused with how long is left, and let in once the time is up."""
    clock = Clock()
    chat, teacher = await teacher_chat(clock=clock)
    await teacher.kick({"name": "ada"})
    assert (await chat.disconnect("conn-ada", "server disconnect")).effects[0] == Note(
        "ada disconnected (server disconnect)")
    clock.now += 17.5
    assert await refusal(chat.connect, "c2", {"name": "ada"}) == (
        "The teacher removed 'ada' from the chat: you can come back in 43 s.")
    clock.now += 42.5
    assert (await chat.connect("c2", {"name": "ada"})).name == "ada"


async def test_a_kicked_name_cannot_come_back_with_its_session():
    """The session secret does not get around a kick."""
    chat, teacher = await teacher_chat()
    session = (await arrive(chat, "c-cy", {"name": "cy"})).session
    await teacher.kick({"name": "cy"})
    auth = {"name": "cy", "session": session}
    # while its old connection lives (a takeover, were it not kicked), then once it is gone
    assert (await refusal(chat.connect, "c2", auth)).startswith(
        "The teacher removed 'cy' from the chat")
    await chat.disconnect("c-cy")
    assert (await refusal(chat.connect, "c2", auth)).startswith(
        "The teacher removed 'cy' from the chat")


async def test_kick_duration_is_a_limit():
    """Limits(kick_seconds=...) sets how long a kick lasts, and what the student is told."""
    clock = Clock()
    chat, teacher = await teacher_chat(clock=clock, limits=Limits(kick_seconds=5))
    kicked = await teacher.kick({"name": "ada"})
    assert kicked.effects[:2] == (
        Note("the teacher kicked ada out for 5 s"),
        notice("The teacher removed you from the chat. You can come back in 5 s.",
               to="conn-ada"))
    assert await chat.store.restriction("kick", "ada") == clock.now + 5


@pytest.mark.parametrize(("payload", "why"), [
    ({"name": "zed"}, "Nobody named 'zed' is connected."),
    ({"name": "Adam"}, "Nobody named 'Adam' is connected."),
    ({}, 'kick needs a "name", as in {"name": "ada"}.'),
    ("ada", 'kick takes one object like {"name": "ada"}, not the text \'ada\'.'),
    ({"name": 3}, "A name is text, not a number (3)."),
    ({"name": " "}, "The name is empty: pick one of 1 to 32 characters."),
])
async def test_kick_refuses_what_it_cannot_do_with_a_sentence(payload, why):
    """Kicking nobody, or with a malformed payload, is refused, and nothing is kept."""
    chat, teacher = await teacher_chat()
    refusal_ = await refused(teacher.kick, payload)
    assert str(refusal_) == why and refusal_.effects == ()
    assert await chat.store.restriction("kick", "zed") is None


async def test_kick_finds_a_name_with_spaces_around_it():
    """The name of a kick is trimmed like a name at connect."""
    chat, teacher = await teacher_chat()
    assert (await teacher.kick({"name": " ada "})).effects[-1] == Disconnect("conn-ada")


# -- mute ----------------------------------------------------------------------------------

async def test_a_muted_name_is_refused_with_how_long_is_left():
    """While muted, say is refused with the time left; afterwards it works again."""
    clock = Clock()
    chat, teacher = await teacher_chat(clock=clock)
    muted = await teacher.mute({"name": "ada", "seconds": 30})
    assert muted.effects == (Note("the teacher muted ada for 30 s"),
                             notice("The teacher muted you for 30 s.", to="conn-ada"))
    assert muted.ack() == {"ok": True}
    assert await chat.store.restriction("mute", "ada") == clock.now + 30
    clock.now += 10.2
    assert await refusal(say, chat, "ada") == (
        "The teacher muted you: you can speak again in 20 s.")
    assert (await say(chat, "bob")).id == 1
    clock.now += 20
    assert (await say(chat, "ada")).id == 2


async def test_a_mute_of_a_fraction_of_a_second_reads_in_whole_seconds():
    """The student is told a wait rounded up to whole seconds; the log keeps the number."""
    chat, teacher = await teacher_chat()
    muted = await teacher.mute({"name": "ada", "seconds": 2.5})
    assert muted.effects == (Note("the teacher muted ada for 2.5 s"),
                             notice("The teacher muted you for 3 s.", to="conn-ada"))


async def test_mute_for_zero_seconds_lifts_a_mute():
    """seconds=0 ends a mute at once, with a notice that says so."""
    chat, teacher = await teacher_chat()
    await teacher.mute({"name": "ada", "seconds": 600})
    lifted = await teacher.mute({"name": "ada", "seconds": 0})
    assert lifted.effects == (
        Note("the teacher lifted ada's mute"),
        notice("The teacher lifted your mute: you can speak again.", to="conn-ada"))
    assert (await say(chat, "ada")).id == 1


async def test_a_mute_outlives_a_reconnect():
    """Reconnecting does not end a mute: it belongs to the name."""
    chat, teacher = await teacher_chat()
    await teacher.mute({"name": "ada", "seconds": 30})
    await chat.disconnect("conn-ada")
    await in_lobby(chat, "ada")
    assert (await refusal(say, chat, "ada")).startswith("The teacher muted you")


async def test_a_mute_of_a_day_is_allowed():
    """86,400 seconds is the longest mute, and allowed."""
    chat, teacher = await teacher_chat()
    muted = await teacher.mute({"name": "ada", "seconds": 86_400})
    assert muted.effects[1] == notice("The teacher muted you for 86,400 s.", to="conn-ada")


@pytest.mark.parametrize("seconds", [-1, 86_401, "30", True, None, [30], math.nan, math.inf])
async def test_mute_refuses_a_bad_duration(seconds):
    """seconds must be a number from 0 to a day; nothing is kept otherwise."""
    chat, teacher = await teacher_chat()
    assert (await refusal(teacher.mute, {"name": "ada", "seconds": seconds})).startswith(
        '"seconds" is how long to mute for: a number from 0 (to lift a mute) to 86,400')
    assert await chat.store.restriction("mute", "ada") is None


@pytest.mark.parametrize(("payload", "why"), [
    ({"name": "ada", "seconds": -5}, '"seconds" is how long to mute for: a number from 0 '
                                     "(to lift a mute) to 86,400, not a number (-5)."),
    ({"name": "ada"}, 'mute needs a "seconds", as in {"name": "ada", "seconds": 60}.'),
    ({"name": "zed", "seconds": 60}, "Nobody named 'zed' is connected."),
    ({"seconds": 60}, 'mute needs a "name", as in {"name": "ada", "seconds": 60}.'),
    ("ada", 'mute takes one object like {"name": "ada", "seconds": 60}, not the text '
            "'ada'."),
])
async def test_mute_refuses_what_it_cannot_do_with_a_sentence(payload, why):
    """Muting nobody, for no time, or with a malformed payload is refused, saying why."""
    chat, teacher = await teacher_chat()
    assert await refusal(teacher.mute, payload) == why


# -- announce ------------------------------------------------------------------------------

async def test_announce_to_everyone():
    """An announcement without a room is a notice to every student."""
    chat, teacher = await teacher_chat()
    announced = await teacher.announce({"text": "Break!"})
    assert announced.effects == (notice("Break!"),)
    assert announced.effects[0].room is None and announced.effects[0].to is None
    assert announced.ack() == {"ok": True}


async def test_announce_to_a_room():
    """An announcement to a room reaches that room only, and names it."""
    chat, teacher = await teacher_chat()
    announced = await teacher.announce({"text": "Lobby only", "room": "lobby"})
    assert announced.effects == (Emit(protocol.NOTICE, {"text": "Lobby only", "room": "lobby"},
                                      room="lobby"),)


async def test_announce_with_a_null_room_is_to_everyone():
    """"room": null is the same as no room."""
    chat, teacher = await teacher_chat()
    assert (await teacher.announce({"text": "hi", "room": None})).effects == (notice("hi"),)


async def test_announce_keeps_the_text_as_it_is():
    """The text of an announcement is kept exactly, like a message's."""
    chat, teacher = await teacher_chat()
    assert (await teacher.announce({"text": "  hi  "})).effects == (notice("  hi  "),)


@pytest.mark.parametrize(("payload", "why"), [
    ({"text": "hi", "room": "empty"}, "Nobody is in room 'empty' now, so nobody would hear it."),
    ({"text": " "}, "The message is empty: say something."),
    ({"text": "x" * 2001}, "The message is too long (2001 characters): at most 2000."),
    ({"text": 5}, "The text of a message is text, not a number (5)."),
    ({"room": "lobby"}, 'announce needs a "text", as in {"text": "Break until 11:00", '
                        '"room": "lobby"}.'),
    ({"text": "x", "room": "a b"}, "Room names use only letters A-Z, digits, '_' and '-' "
                                   "(not 'a b')."),
    ({"text": "x", "room": 3}, "A room name is text, not a number (3)."),
    ("Break!", 'announce takes one object like {"text": "Break until 11:00", "room": '
               "\"lobby\"}, not the text 'Break!'."),
])
async def test_announce_refuses_what_nobody_would_hear_with_a_sentence(payload, why):
    """An announcement checks its text like a message's, and its room, which must be in use."""
    chat, teacher = await teacher_chat()
    refusal_ = await refused(teacher.announce, payload)
    assert str(refusal_) == why and refusal_.effects == ()


# -- several processes ---------------------------------------------------------------------

async def test_kicks_and_mutes_live_in_the_store_so_servers_sharing_it_agree():
    """Two Chats on one store (two server processes) see each other's kicks and mutes."""
    store = MemoryStore()
    first, teacher = await teacher_chat(store=store)
    second = make_chat(store=store)
    await teacher.kick({"name": "ada"})
    await teacher.mute({"name": "bob", "seconds": 30})
    assert (await refusal(second.connect, "c1", {"name": "ada"})).startswith(
        "The teacher removed")
    await in_lobby(second, "cy")
    await first.disconnect("conn-bob")
    await in_lobby(second, "bob")
    assert (await refusal(say, second, "bob")).startswith("The teacher muted you")
    assert (await say(second, "cy")).id == 1


async def test_the_teacher_reaches_a_student_of_another_process():
    """kick and mute name the connection on the other process."""
    one, two = two_processes()
    teacher = Moderation(one, token="t")
    await arrive(two, "sid-2", {"name": "bob"})
    kicked = await teacher.kick({"name": "bob"})
    assert kicked.effects[1:] == (notice(KICKED, to="sid-2"), Disconnect("sid-2"))
    muted = await teacher.mute({"name": "bob", "seconds": 5})
    assert muted.effects[1] == notice("The teacher muted you for 5 s.", to="sid-2")


async def test_rooms_and_announce_count_every_process():
    """The teacher's rooms, people and announcements cover both processes."""
    one, two = two_processes()
    teacher = Moderation(one, token="t")
    await arrive(one, "sid-1", {"name": "ada", "rooms": ["lobby"]})
    await arrive(two, "sid-2", {"name": "bob", "rooms": ["lobby", "games"]})
    await arrive(two, "sid-3", {"name": "cy"})
    rooms = await teacher.rooms()
    assert (rooms.rooms, rooms.people) == ({"games": ["bob"], "lobby": ["ada", "bob"]},
                                           ("ada", "bob", "cy"))
    assert (await teacher.announce({"text": "hi", "room": "games"})).effects == (
        Emit(protocol.NOTICE, {"text": "hi", "room": "games"}, room="games"),)


# -- invite --------------------------------------------------------------------------------

async def test_invite_takes_nothing_and_leaves_the_links_to_the_server():
    """invite decides nothing but its payload: no effect, no log line (the join code it
    leads to is never logged)."""
    chat, teacher = await teacher_chat()
    for payload in (None, {}):
        invited = await teacher.invite(payload)
        assert invited.effects == () and invited.ack() == {"ok": True}


@pytest.mark.parametrize("payload", [[], "lobby", {"room": "lobby"}, 0, False])
async def test_invite_refuses_anything_but_nothing_or_an_empty_object(payload):
    """invite takes nothing, or {}."""
    chat, teacher = await teacher_chat()
    assert await refusal(teacher.invite, payload) == "invite takes nothing, or {}."
