"""The student's rules of chatkit.chat, called directly: no sockets, only their effects."""

import asyncio
import itertools

import pytest

from chatkit import protocol
from chatkit.chat import Chat
from chatkit.effects import Disconnect, Emit, Enter, Exit, Note, Result
from chatkit.limits import Limits, Refused, Throttled
from chatkit.moderation import Moderation
from chatkit.protocol import Presence
from chatkit.store import MemoryStore

TAKEOVER = "You connected again from somewhere else: this connection is closed."
SLOW_DOWN = ("Slow down: you may say at most 2 messages per second. "
             "Messages sent faster are refused.")


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_chat(**options) -> Chat:
    sessions = (f"secret-{n}" for n in itertools.count(1))
    options.setdefault("clock", Clock())
    options.setdefault("new_session", lambda: next(sessions))
    return Chat(**options)


async def arrive(chat, conn, auth):
    """Connect and finish the handshake, as the server does."""
    accepted = await chat.connect(conn, auth)
    await chat.welcome(conn)
    return accepted


async def connected(chat, *names):
    for name in names:
        await arrive(chat, f"conn-{name}", {"name": name})
    return chat


async def in_lobby(chat, *names):
    for name in names:
        await arrive(chat, f"conn-{name}", {"name": name})
        await chat.join(f"conn-{name}", {"room": "lobby"})
    return chat


async def replayed(chat, conn):
    """The messages the welcome of ``conn`` replays to it, as (id, room, text)."""
    effects = (await chat.welcome(conn)).effects
    return [(e.data["id"], e.data["room"], e.data["text"]) for e in effects
            if isinstance(e, Emit) and e.event == protocol.SAID]


async def snapshot(chat):
    """The teacher's view of ``chat``: ({room: [names]}, (everyone,))."""
    rooms = await Moderation(chat).rooms()
    return rooms.rooms, rooms.people


async def say(chat, name, text="hi", room="lobby", **fields):
    return await chat.say(f"conn-{name}", {"room": room, "text": text, **fields})


async def refused(call, *args, **fields) -> Refused:
    with pytest.raises(Refused) as caught:
        await call(*args, **fields)
    return caught.value


async def refusal(call, *args, **fields) -> str:
    return str(await refused(call, *args, **fields))


def presence(room, *members, skip=None) -> Emit:
    """The presence effect the rules give for ``room``."""
    return Emit(protocol.PRESENCE, {"room": room, "members": list(members)}, room=room,
                skip=skip)


def said(message_id, said_in, name, text, *, ts=1000.0, **target) -> Emit:
    """The said effect of a message; ``target`` is ``to=`` or ``room=``."""
    return Emit(protocol.SAID, {"id": message_id, "room": said_in, "name": name,
                                "text": text, "ts": ts}, **target)


class DeliveringStore(MemoryStore):
    """A store that delivers each message to its room itself, as the Redis one does."""

    delivers_messages = True


class SlowStore(MemoryStore):
    """A store whose reads give the event loop a turn, as one in another process does."""

    async def session(self, name):
        await asyncio.sleep(0)
        return await super().session(name)

    async def restriction(self, kind, name):
        await asyncio.sleep(0)
        return await super().restriction(kind, name)

    async def set_session(self, name, secret):
        await asyncio.sleep(0)
        await super().set_session(name, secret)



class GatedStore(MemoryStore):
    """A store whose replay waits until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.gate = asyncio.Event()

    async def since(self, rooms, offset, *, limit=None):
        await self.gate.wait()
        return await super().since(rooms, offset, limit=limit)


class BrokenSessionStore(MemoryStore):
    """A store that fails to keep a session (as a lost Redis would)."""

    async def set_session(self, name, secret):
        raise ConnectionError("the store is gone")


# -- connecting ----------------------------------------------------------------------------

async def test_two_connections_arriving_together_cannot_both_get_one_name():
    """With a store that really waits, two connects of one name: one in, one refused."""
    chat = make_chat(store=SlowStore())
    results = await asyncio.gather(chat.connect("c1", {"name": "ada"}),
                                   chat.connect("c2", {"name": "ada"}),
                                   return_exceptions=True)
    accepted = [result for result in results if not isinstance(result, BaseException)]
    refusals = [str(result) for result in results if isinstance(result, Refused)]
    assert len(accepted) == 1 and refusals == [
        "The name 'ada' is taken by someone connected now. Pick another name."]
    assert chat.name_of("c1" if accepted[0] is results[0] else "c2") == "ada"


async def test_a_store_that_fails_mid_connect_leaves_the_name_free():
    """If the session cannot be kept, the connect fails and nobody holds the name."""
    chat = make_chat(store=BrokenSessionStore())
    with pytest.raises(ConnectionError):
        await chat.connect("c1", {"name": "ada", "rooms": ["lobby"]})
    assert chat.name_of("c1") is None and await chat.members("lobby") == ()
    assert "ada" not in chat.roster()


async def test_a_say_after_leaving_during_the_mute_lookup_is_refused():
    """Membership is checked after the store is read: a leave meanwhile is seen."""
    chat = await in_lobby(make_chat(store=SlowStore()), "ada")
    saying = asyncio.ensure_future(say(chat, "ada", "too late"))
    await asyncio.sleep(0)  # the say waits on the store
    await chat.leave("conn-ada", {"room": "lobby"})
    with pytest.raises(Refused, match="Join room 'lobby' before saying something there."):
        await saying
    assert await chat.store.recent("lobby", 10) == []

async def test_connect_accepts_a_name_and_issues_a_session():
    """A connection with a name is accepted, gets a session secret, and is logged."""
    accepted = await make_chat().connect("c1", {"name": "ada"})
    assert (accepted.name, accepted.session, accepted.rooms) == ("ada", "secret-1", ())
    assert accepted.offset is None and accepted.replaced is None
    assert accepted.presence == ()
    assert accepted.effects == (Note("ada connected"),)
    assert accepted.ack() == {"ok": True}


async def test_connect_trims_the_name():
    """Spaces around a name are removed."""
    accepted = await make_chat().connect("c1", {"name": "  ada lovelace "})
    assert accepted.name == "ada lovelace"


@pytest.mark.parametrize(("auth", "why"), [
    (None, "Connect with auth like"),
    ("ada", "Connect with auth like"),
    ({}, 'Pick a name: auth needs a "name".'),
    ({"name": 7}, "A name is text, not a number (7)."),
    ({"name": "   "}, "The name is empty: pick one of 1 to 32 characters."),
    ({"name": "x" * 33}, "The name is too long (33 characters): at most 32."),
    ({"name": "ada\tb"}, "A name can only hold printable characters"),
    ({"name": "ada", "rooms": "lobby"}, '"rooms" is a list of room names, not the text'),
    ({"name": "ada", "rooms": ["no spaces"]}, "Room names use only letters"),
    ({"name": "ada", "offset": -1}, '"offset" is the last message id you saw'),
    ({"name": "ada", "offset": "3"}, '"offset" is the last message id you saw'),
    ({"name": "ada", "offset": True}, '"offset" is the last message id you saw'),
    ({"name": "ada", "offset": 1.5}, '"offset" is the last message id you saw'),
    ({"name": "ada", "session": 5}, '"session" must be the text the server sent'),
    ({"name": "ada", "history": 7}, '"history" must be the text the server sent'),
])
async def test_connect_refuses_bad_auth_with_a_sentence(auth, why):
    """Malformed auth is refused with a message that says what is wrong."""
    assert (await refusal(make_chat().connect, "c1", auth)).startswith(why)


async def test_a_refused_connection_is_a_log_line_and_nothing_else():
    """A refusal's effects are one Note saying why; the connection is not let in."""
    chat = make_chat()
    refusal_ = await refused(chat.connect, "c1", {"name": ""})
    assert refusal_.effects == (Note(
        "refused a connection: The name is empty: pick one of 1 to 32 characters."),)
    assert chat.name_of("c1") is None
    assert (await chat.welcome("c1")).effects == ()
    assert (await chat.disconnect("c1")).effects == ()
    assert chat.roster() == {}


async def test_name_of_exactly_the_limit_is_accepted():
    """A name of exactly 32 characters is fine; the limit is configurable."""
    assert (await make_chat().connect("c1", {"name": "x" * 32})).name == "x" * 32
    chat = make_chat(limits=Limits(name_length=3))
    assert "at most 3" in await refusal(chat.connect, "c1", {"name": "abcd"})


async def test_join_code_is_required_when_set():
    """Without the code, or with a wrong one, the connection is refused."""
    chat = make_chat(join_code="Maple-Otter-42")
    assert await refusal(chat.connect, "c1", {"name": "ada"}) == (
        "This chat needs a join code: ask your teacher for it.")
    assert await refusal(chat.connect, "c1", {"name": "ada", "code": "  "}) == (
        "This chat needs a join code: ask your teacher for it.")
    assert await refusal(chat.connect, "c1", {"name": "ada", "code": "wrong"}) == (
        "Wrong join code: check it with your teacher.")
    assert await refusal(chat.connect, "c1", {"name": "ada", "code": 42}) == (
        "Wrong join code: check it with your teacher.")


async def test_a_join_code_with_a_lone_surrogate_is_just_wrong():
    """A code UTF-8 cannot encode is a wrong code, not a failure of the server."""
    chat = make_chat(join_code="Maple-Otter-42")
    assert await refusal(chat.connect, "c1", {"name": "ada", "code": "\ud800"}) == (
        "Wrong join code: check it with your teacher.")


async def test_join_code_ignores_case_and_spaces():
    """A code typed in another case, with spaces around it, is accepted."""
    chat = make_chat(join_code="Maple-Otter-42")
    accepted = await chat.connect("c1", {"name": "ada", "code": " maple-otter-42 "})
    assert accepted.name == "ada"


async def test_join_code_is_checked_before_the_name():
    """A stranger without the code cannot learn which names are taken."""
    chat = make_chat(join_code="k")
    await arrive(chat, "c1", {"name": "ada", "code": "k"})
    assert (await refusal(chat.connect, "c2", {"name": "ada"})).startswith(
        "This chat needs a join code")
    assert (await refusal(chat.connect, "c2", {"name": ""})).startswith(
        "This chat needs a join code")


async def test_open_chat_ignores_a_code():
    """A chat without a join code accepts any code or none."""
    assert (await make_chat().connect("c1", {"name": "ada", "code": "anything"})).name == "ada"


async def test_a_name_in_use_is_refused():
    """Two live connections cannot share a name."""
    chat = await connected(make_chat(), "ada")
    assert await refusal(chat.connect, "c2", {"name": "ada"}) == (
        "The name 'ada' is taken by someone connected now. Pick another name.")


async def test_names_are_compared_without_case_and_shown_as_typed():
    """"Ada" and "ada" are one person (issue 14): one cannot connect while the other is
    here; once ada has left, "Ａｄａ" is welcomed as "Ada", its NFKC form."""
    chat = await connected(make_chat(), "ada")
    for name in ("Ada", "ADA", "Ａｄａ"):
        assert (await refusal(chat.connect, "c2", {"name": name})).startswith(
            f"The name {chat.limits.check_name(name)!r} is taken: 'ada' is connected now")
    await chat.disconnect("conn-ada")
    assert (await arrive(chat, "c2", {"name": "Ａｄａ"})).name == "Ada"
    assert chat.name_of("c2") == "Ada"


async def test_a_kick_or_a_mute_covers_every_spelling_of_the_name():
    """A kicked "Ada" cannot come back as "ada"; muting "ADA" mutes "ada"; the teacher
    finds "Ada" by any case."""
    clock = Clock()
    chat = await in_lobby(make_chat(clock=clock), "Ada")
    teacher = Moderation(chat, token="t")
    await teacher.mute({"name": "ADA", "seconds": 30})
    assert (await refusal(chat.say, "conn-Ada", {"room": "lobby", "text": "hi"})).startswith(
        "The teacher muted you")
    kicked = await teacher.kick({"name": "ada"})
    assert Disconnect("conn-Ada") in kicked.effects
    await chat.disconnect("conn-Ada")
    for name in ("ada", "ADA", "Ada"):
        assert (await refusal(chat.connect, "c3", {"name": name})).startswith(
            f"The teacher removed {name!r} from the chat")


async def test_a_wrong_session_does_not_take_a_name_over():
    """Only the name's own secret takes it over; a lone surrogate is just wrong."""
    chat = await connected(make_chat(), "ada")
    for session in ("guess", "secret-2", "\ud800", ""):
        assert "is taken" in await refusal(chat.connect, "c2",
                                           {"name": "ada", "session": session})


async def test_session_takes_a_name_over_from_a_stale_connection():
    """With the name's secret, a new connection gets the name and the old one is named."""
    chat = make_chat()
    first = await arrive(chat, "old", {"name": "ada", "rooms": ["lobby"]})
    again = await chat.connect("new", {"name": "ada", "session": first.session,
                                       "rooms": ["lobby"]})
    assert again.replaced == "old" and again.session == first.session
    assert chat.name_of("new") == "ada" and chat.name_of("old") is None
    assert again.presence == ()  # still in lobby: nobody else needs to hear about it
    assert (await chat.disconnect("old")).effects == ()  # the stale one ending changes nothing
    assert await chat.members("lobby") == ("ada",)


async def test_a_takeover_tells_the_old_connection_then_closes_it():
    """A takeover's effects: a log line, the notice to the old connection, its Disconnect."""
    chat = make_chat()
    first = await arrive(chat, "old", {"name": "ada", "rooms": ["lobby"]})
    again = await chat.connect("new", {"name": "ada", "session": first.session,
                                       "rooms": ["lobby"]})
    assert again.effects == (
        Note("ada connected again; closing its older connection"),
        Emit(protocol.NOTICE, {"text": TAKEOVER}, to="old"),
        Disconnect("old"))
    welcome = await chat.welcome("new")
    assert welcome.effects == (
        Emit(protocol.WELCOME, {"name": "ada", "session": first.session,
                                "history": chat.store.history_id}, to="new"),
        Enter("new", "lobby"))  # no presence: lobby's members did not change


async def test_a_takeover_with_other_rooms_reports_the_rooms_it_changed():
    """Rooms the old connection was in and the new one is not are left, new ones joined."""
    chat = await in_lobby(make_chat(), "bob")
    first = await arrive(chat, "old", {"name": "ada", "rooms": ["lobby", "games"]})
    again = await chat.connect("new", {"name": "ada", "session": first.session,
                                       "rooms": ["games", "quiz"]})
    assert again.presence == (Presence("lobby", ("bob",)), Presence("quiz", ("ada",)))
    assert chat.rooms_of("ada") == ("games", "quiz")
    assert (await chat.welcome("new")).effects[-2:] == (presence("lobby", "bob"),
                                                        presence("quiz", "ada"))


async def test_session_survives_a_clean_disconnect():
    """A client that comes back after its connection ended keeps its secret."""
    chat = make_chat()
    first = await arrive(chat, "c1", {"name": "ada"})
    await chat.disconnect("c1")
    again = await chat.connect("c2", {"name": "ada", "session": first.session})
    assert again.session == first.session and again.replaced is None
    assert again.effects == (Note("ada connected"),)


async def test_someone_else_taking_a_free_name_gets_a_new_session():
    """The old secret stops working once another person holds the name."""
    chat = make_chat()
    first = await arrive(chat, "c1", {"name": "ada"})
    await chat.disconnect("c1")
    second = await arrive(chat, "c2", {"name": "ada"})
    assert second.session != first.session
    assert "is taken" in await refusal(chat.connect, "c3",
                                       {"name": "ada", "session": first.session})


async def test_sessions_are_kept_in_the_store():
    """The secret a name got is in the chat's store, so another process knows it too."""
    chat = make_chat()
    accepted = await chat.connect("c1", {"name": "ada"})
    assert await chat.store.session("ada") == accepted.session


async def test_connection_cannot_connect_twice():
    """The same connection key cannot hold two names."""
    chat = await connected(make_chat(), "ada")
    assert await refusal(chat.connect, "conn-ada", {"name": "eve"}) == (
        "This connection is already connected.")


async def test_roster_and_name_of_tell_connections_and_names_apart():
    """roster() gives each name's connection and rooms, name_of(conn) the name."""
    chat = await connected(make_chat(), "ada")
    await chat.join("conn-ada", {"room": "lobby"})
    assert chat.roster() == {"ada": ("conn-ada", ["lobby"])}
    assert chat.name_of("conn-ada") == "ada" and chat.name_of("ghost") is None


# -- what follows the handshake (welcome) ------------------------------------------------

async def test_connect_with_rooms_joins_them_and_reports_presence():
    """auth rooms put the name in those rooms and report who is there."""
    chat = await in_lobby(make_chat(), "bob")
    accepted = await chat.connect("c1", {"name": "ada",
                                         "rooms": ["lobby", "games", "lobby"]})
    assert accepted.rooms == ("lobby", "games")
    assert {p.room: p.members for p in accepted.presence} == {
        "games": ("ada",), "lobby": ("ada", "bob")}
    assert chat.rooms_of("ada") == ("games", "lobby")


async def test_welcome_comes_first_then_the_rooms_then_presence():
    """welcome to the connection, Enter for each of its rooms, then each room's presence."""
    chat = await in_lobby(make_chat(), "bob")
    accepted = await chat.connect("c1", {"name": "ada", "rooms": ["lobby", "games"]})
    assert (await chat.welcome("c1")).effects == (
        Emit(protocol.WELCOME, {"name": "ada", "session": accepted.session,
                                "history": chat.store.history_id}, to="c1"),
        Enter("c1", "lobby"), Enter("c1", "games"),
        presence("games", "ada"), presence("lobby", "ada", "bob"))


async def test_welcome_without_rooms_is_the_welcome_alone():
    """A connection with no rooms gets welcome, nothing else."""
    chat = make_chat()
    await chat.connect("c1", {"name": "ada", "offset": 0})
    welcome = await chat.welcome("c1")
    assert welcome.effects == (Emit(protocol.WELCOME, {
        "name": "ada", "session": "secret-1", "history": chat.store.history_id}, to="c1"),)
    assert welcome.ack() == {"ok": True}


async def test_connect_with_rooms_and_no_offset_replays_nothing():
    """Without an offset, rooms are rejoined without replay."""
    chat = await in_lobby(make_chat(), "bob")
    await say(chat, "bob")
    accepted = await chat.connect("c1", {"name": "ada", "rooms": ["lobby"]})
    assert accepted.offset is None
    effects = (await chat.welcome("c1")).effects
    assert [effect.event for effect in effects if isinstance(effect, Emit)] == [
        protocol.WELCOME, protocol.PRESENCE]


async def test_resume_replays_what_was_missed_in_id_order():
    """With an offset, the messages of those rooms with a higher id come back in order."""
    chat = await connected(make_chat(), "bob")
    for room in ("a", "b", "c"):
        await chat.join("conn-bob", {"room": room})
    for text, room in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "a"), ("5", "b")]:
        await say(chat, "bob", text, room)
    accepted = await chat.connect("c1", {"name": "ada", "rooms": ["b", "a"], "offset": 1})
    assert accepted.offset == 1
    assert await replayed(chat, "c1") == [
        (2, "b", "2"), (4, "a", "4"), (5, "b", "5")]


async def test_welcome_replays_then_enters_the_rooms_then_presence():
    """welcome, the replayed said in id order to the connection, Enter each room, presence:
    the rooms are entered only after the replay, so nothing is heard live during it."""
    chat = await connected(make_chat(), "bob")
    for room in ("a", "b", "c"):
        await chat.join("conn-bob", {"room": room})
    for text, room in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "a"), ("5", "b")]:
        await say(chat, "bob", text, room)
    accepted = await chat.connect("c1", {"name": "ada", "rooms": ["b", "a"], "offset": 1})
    assert (await chat.welcome("c1")).effects == (
        Emit(protocol.WELCOME, {"name": "ada", "session": accepted.session,
                                "history": chat.store.history_id}, to="c1"),
        said(2, "b", "bob", "2", to="c1"), said(4, "a", "bob", "4", to="c1"),
        said(5, "b", "bob", "5", to="c1"), Enter("c1", "b"), Enter("c1", "a"),
        presence("a", "ada", "bob"), presence("b", "ada", "bob"))


async def test_resume_from_offset_zero_replays_everything_kept():
    """offset 0 means 'I saw nothing yet'."""
    chat = await connected(make_chat(), "bob")
    await chat.join("conn-bob", {"room": "a"})
    await say(chat, "bob", "x", "a")
    accepted = await chat.connect("c1", {"name": "ada", "rooms": ["a"], "offset": 0})
    assert accepted.offset == 0 and [m[0] for m in await replayed(chat, "c1")] == [1]
    await chat.connect("c2", {"name": "cy", "offset": 0})
    assert await replayed(chat, "c2") == []


async def test_an_offset_from_another_history_replays_everything():
    """An offset whose history is not this store's means nothing here: replay it all."""
    chat = await connected(make_chat(), "bob")
    await chat.join("conn-bob", {"room": "a"})
    for text in ("x", "y"):
        await say(chat, "bob", text, "a")
    await chat.connect("c1", {"name": "ada", "rooms": ["a"], "offset": 1,
                              "history": chat.store.history_id})
    assert [m[2] for m in await replayed(chat, "c1")] == ["y"]
    other = await chat.connect("c2", {"name": "cy", "rooms": ["a"], "offset": 5,
                                      "history": "a history from another server"})
    assert other.offset == 0
    assert [m[2] for m in await replayed(chat, "c2")] == ["x", "y"]
    with pytest.raises(Refused, match='"history"'):
        await chat.connect("c3", {"name": "di", "rooms": ["a"], "offset": 1, "history": 7})


async def test_a_message_said_before_the_handshake_ends_is_replayed_not_lost():
    """A said between connect and welcome comes in the replay (it was not heard live)."""
    chat = await in_lobby(make_chat(), "bob")
    await chat.connect("c1", {"name": "ada", "rooms": ["lobby"], "offset": 0})
    meanwhile = await say(chat, "bob", "while you arrived")
    effects = (await chat.welcome("c1")).effects
    assert said(meanwhile.id, "lobby", "bob", "while you arrived", to="c1") in effects


async def test_welcome_for_a_connection_that_left_before_its_handshake_gives_nothing():
    """A connection gone before its welcome gets no welcome, rooms or presence."""
    chat = await in_lobby(make_chat(), "bob")
    await chat.connect("c1", {"name": "ada", "rooms": ["lobby"], "offset": 0})
    await chat.disconnect("c1", "transport close")
    assert (await chat.welcome("c1")).effects == ()


async def test_welcome_for_a_connection_taken_over_before_its_handshake_gives_nothing():
    """A connection that lost its name before its welcome gets nothing."""
    chat = make_chat()
    first = await chat.connect("old", {"name": "ada"})
    await chat.connect("new", {"name": "ada", "session": first.session})
    assert (await chat.welcome("old")).effects == ()
    assert (await chat.welcome("new")).effects[0].to == "new"


async def test_a_takeover_before_the_handshake_still_tells_the_room_who_arrived():
    """If the connection taken over never got its welcome, its room still hears presence."""
    chat = await in_lobby(make_chat(), "bob")
    first = await arrive(chat, "a", {"name": "ada"})
    await chat.disconnect("a", "client disconnect")
    auth = {"name": "ada", "session": first.session, "rooms": ["lobby"]}
    await chat.connect("b", auth)  # ada back in lobby: bob is to hear it at b's welcome...
    await chat.connect("c", auth)  # ...but c takes the name over before that
    assert (await chat.welcome("b")).effects == ()
    assert presence("lobby", "ada", "bob") in (await chat.welcome("c")).effects


async def test_a_takeover_during_the_welcome_still_tells_the_room_who_arrived():
    """A takeover while the old welcome reads its replay: the old one gives nothing, the
    new one carries the presence."""
    store = GatedStore()
    chat = await in_lobby(make_chat(store=store), "bob")
    first = await arrive(chat, "a", {"name": "ada"})
    await chat.disconnect("a", "client disconnect")
    auth = {"name": "ada", "session": first.session, "rooms": ["lobby"], "offset": 0}
    await chat.connect("b", auth)
    welcoming = asyncio.ensure_future(chat.welcome("b"))
    await asyncio.sleep(0)  # b's welcome now waits on the store for its replay
    await chat.connect("c", auth)
    store.gate.set()
    assert (await welcoming).effects == ()
    assert presence("lobby", "ada", "bob") in (await chat.welcome("c")).effects


async def test_welcome_is_given_once():
    """A second welcome for the same connection gives nothing."""
    chat = make_chat()
    await chat.connect("c1", {"name": "ada"})
    assert len((await chat.welcome("c1")).effects) == 1
    assert (await chat.welcome("c1")).effects == ()
    assert (await chat.welcome("never-connected")).effects == ()


# -- disconnecting -----------------------------------------------------------------------

async def test_disconnect_leaves_every_room():
    """When a connection ends its name leaves its rooms, and each room is reported."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    await chat.join("conn-ada", {"room": "games"})
    left = await chat.disconnect("conn-ada", "transport close")
    assert left.effects == (Note("ada disconnected (transport close)"),
                            presence("games", skip="conn-ada"),
                            presence("lobby", "bob", skip="conn-ada"))
    assert await snapshot(chat) == ({"lobby": ["bob"]}, ("bob",))
    assert chat.name_of("conn-ada") is None and chat.rooms_of("ada") == ()
    assert (await chat.disconnect("conn-ada")).effects == ()  # twice is harmless


async def test_disconnect_skips_the_leaving_connection():
    """Every presence of a disconnect skips the connection that is going."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    effects = (await chat.disconnect("conn-bob", "client disconnect")).effects
    emits = [effect for effect in effects if isinstance(effect, Emit)]
    assert emits and all(effect.skip == "conn-bob" for effect in emits)


async def test_disconnect_of_someone_in_no_room_is_a_log_line():
    """Nobody hears about a connection in no room going away; the log does."""
    chat = await connected(make_chat(), "ada")
    assert (await chat.disconnect("conn-ada", "client disconnect")).effects == (
        Note("ada disconnected (client disconnect)"),)
    assert (await chat.disconnect("ghost", "transport close")).effects == ()


async def test_a_disconnected_name_is_free_again():
    """Once its connection ended, anybody may take the name."""
    chat = await connected(make_chat(), "ada")
    await chat.disconnect("conn-ada")
    assert (await chat.connect("c2", {"name": "ada"})).replaced is None


# -- rooms -------------------------------------------------------------------------------

async def test_join_returns_members_and_history():
    """A join answers with who is in the room and its last messages."""
    chat = await connected(make_chat(), "ada", "bob")
    await chat.join("conn-bob", {"room": "lobby"})
    await say(chat, "bob", "first")
    joined = await chat.join("conn-ada", {"room": "lobby"})
    assert joined.ack() == {
        "ok": True, "room": "lobby", "members": ["ada", "bob"],
        "history": [{"id": 1, "room": "lobby", "name": "bob", "text": "first", "ts": 1000.0}]}


async def test_join_enters_the_room_then_tells_everyone_in_it():
    """A join's effects: the connection enters the room, then the room (it too) hears
    presence."""
    chat = await in_lobby(make_chat(), "bob")
    await connected(chat, "ada")
    joined = await chat.join("conn-ada", {"room": "lobby"})
    assert joined.effects == (Enter("conn-ada", "lobby"), presence("lobby", "ada", "bob"))
    assert (joined.room, joined.members) == ("lobby", ("ada", "bob"))


async def test_join_history_is_limited_to_the_last_messages():
    """History carries the last ``limits.history`` messages, oldest first."""
    chat = await in_lobby(make_chat(limits=Limits(history=3)), "ada")
    for n in range(5):
        await say(chat, "ada", str(n))
    await chat.leave("conn-ada", {"room": "lobby"})
    history = (await chat.join("conn-ada", {"room": "lobby"})).history
    assert [m.text for m in history] == ["2", "3", "4"]


async def test_default_history_is_100_messages():
    """The join ack carries the room's last 100 messages by default."""
    chat = await in_lobby(make_chat(), "ada")
    for n in range(120):
        await say(chat, "ada", str(n))
    await chat.leave("conn-ada", {"room": "lobby"})
    history = (await chat.join("conn-ada", {"room": "lobby"})).history
    assert len(history) == 100 and history[0].text == "20"


@pytest.mark.parametrize(("payload", "why"), [
    ("lobby", 'join takes one object like {"room": "lobby"}, not the text'),
    (None, 'join takes one object like {"room": "lobby"}, not nothing (null).'),
    ({}, 'join needs a "room", as in {"room": "lobby"}.'),
    ({"room": 3}, "A room name is text, not a number (3)."),
    ({"room": ""}, "The room name is empty."),
    ({"room": "r" * 33}, "The room name is too long (33 characters): at most 32."),
    ({"room": "my room"}, "Room names use only letters A-Z, digits, '_' and '-' (not 'my room')."),
    ({"room": "café"}, "Room names use only letters"),
])
async def test_join_refuses_bad_rooms_with_a_sentence(payload, why):
    """A malformed join is refused with a message that says what is wrong."""
    chat = await connected(make_chat(), "ada")
    assert (await refusal(chat.join, "conn-ada", payload)).startswith(why)


async def test_room_names_use_the_allowed_characters():
    """Letters, digits, '_' and '-' up to 32 characters make a room name."""
    chat = await connected(make_chat(), "ada")
    room = "Room_2-b" + "x" * 24
    assert (await chat.join("conn-ada", {"room": room})).room == room


async def test_join_twice_is_refused():
    """Joining a room you are in is refused."""
    chat = await in_lobby(make_chat(), "ada")
    assert await refusal(chat.join, "conn-ada", {"room": "lobby"}) == (
        "You are already in room 'lobby'.")


async def test_leave_a_room_you_are_not_in_is_refused():
    """Leaving a room you are not in is refused."""
    chat = await connected(make_chat(), "ada")
    assert await refusal(chat.leave, "conn-ada", {"room": "lobby"}) == (
        "You are not in room 'lobby'.")


@pytest.mark.parametrize(("payload", "why"), [
    ("lobby", 'leave takes one object like {"room": "lobby"}, not the text'),
    ({}, 'leave needs a "room", as in {"room": "lobby"}.'),
    ({"room": "a b"}, "Room names use only letters"),
])
async def test_leave_refuses_bad_rooms_with_a_sentence(payload, why):
    """A malformed leave is refused with a message that says what is wrong."""
    chat = await in_lobby(make_chat(), "ada")
    assert (await refusal(chat.leave, "conn-ada", payload)).startswith(why)


async def test_leave_reports_who_is_left():
    """After a leave, the room's remaining members are known; an empty room disappears."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    left = await chat.leave("conn-ada", {"room": "lobby"})
    assert left.ack() == {"ok": True}
    assert await chat.members("lobby") == ("bob",)
    await chat.leave("conn-bob", {"room": "lobby"})
    assert await snapshot(chat) == ({}, ("ada", "bob")) and chat.rooms_of("bob") == ()
    assert chat.rooms_here() == ()


async def test_leave_takes_the_connection_out_before_telling_those_who_stay():
    """A leave's effects: Exit first, so the leaver gets the ack and not the presence."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    left = await chat.leave("conn-ada", {"room": "lobby"})
    assert left.effects == (Exit("conn-ada", "lobby"), presence("lobby", "bob"))


async def test_requests_from_an_unknown_connection_are_refused():
    """A connection the rules never accepted cannot join, leave or say."""
    chat = make_chat()
    for call, payload in [(chat.join, {"room": "a"}), (chat.leave, {"room": "a"}),
                          (chat.say, {"room": "a", "text": "x"})]:
        assert await refusal(call, "ghost", payload) == "You are not connected to the chat."


async def test_a_refused_request_has_no_effects():
    """A refused join, leave or say asks the server to do nothing but answer."""
    chat = await in_lobby(make_chat(), "ada")
    for call, payload in [(chat.join, {"room": "lobby"}), (chat.leave, {"room": "games"}),
                          (chat.say, {"room": "games", "text": "x"}),
                          (chat.say, {"room": "lobby", "text": ""})]:
        assert (await refused(call, "conn-ada", payload)).effects == ()


# -- messages ----------------------------------------------------------------------------

async def test_say_gives_increasing_ids_across_rooms():
    """Ids are one sequence for the whole chat, whatever the room."""
    chat = await connected(make_chat(), "ada")
    await chat.join("conn-ada", {"room": "a"})
    await chat.join("conn-ada", {"room": "b"})
    ids = [(await say(chat, "ada", "x", room)).id for room in "abab"]
    assert ids == [1, 2, 3, 4]


async def test_say_returns_the_message_to_send():
    """A new message carries id, room, name, text and the server's timestamp."""
    chat = await in_lobby(make_chat(), "ada")
    said_ = await say(chat, "ada", "  hi  ")
    assert said_.ack() == {"ok": True, "id": 1}
    assert said_.message.to_dict() == {"id": 1, "room": "lobby", "name": "ada",
                                       "text": "  hi  ", "ts": 1000.0}


async def test_say_sends_said_to_the_whole_room_sender_included():
    """A say's effect is said to everyone in the room, with no one skipped."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    said_ = await say(chat, "ada", "hello")
    assert said_.effects == (said(1, "lobby", "ada", "hello", room="lobby"),)


async def test_say_with_a_store_that_delivers_emits_no_said():
    """When the store delivers messages itself, the rule emits nothing: no double said."""
    chat = await in_lobby(make_chat(store=DeliveringStore()), "ada")
    said_ = await say(chat, "ada", "hello")
    assert said_.effects == ()
    assert (said_.id, said_.message.text) == (1, "hello")
    assert said_.ack() == {"ok": True, "id": 1}


@pytest.mark.parametrize(("payload", "why"), [
    ("hi", 'say takes one object like {"room": "lobby", "text": "hello"}, not the text'),
    ([], 'say takes one object like {"room": "lobby", "text": "hello"}, not a list.'),
    ({"text": "hi"}, 'say needs a "room", as in'),
    ({"room": "lobby"}, 'say needs a "text", as in'),
    ({"room": "lobby", "text": 5}, "The text of a message is text, not a number (5)."),
    ({"room": "lobby", "text": ""}, "The message is empty: say something."),
    ({"room": "lobby", "text": " \n "}, "The message is empty: say something."),
    ({"room": "lobby", "text": "x" * 2001},
     "The message is too long (2001 characters): at most 2000."),
    ({"room": "lobby", "text": "hi", "client_id": 12},
     '"client_id" is text of 1 to 64 characters'),
    ({"room": "lobby", "text": "hi", "client_id": ""},
     '"client_id" is text of 1 to 64 characters'),
    ({"room": "elsewhere", "text": "hi"},
     "Join room 'elsewhere' before saying something there."),
])
async def test_say_refuses_bad_messages_with_a_sentence(payload, why):
    """A malformed or misplaced say is refused with a message that says what is wrong."""
    chat = await in_lobby(make_chat(), "ada")
    assert (await refusal(chat.say, "conn-ada", payload)).startswith(why)


async def test_text_of_exactly_the_limit_is_accepted():
    """A 2,000-character message is fine."""
    chat = await in_lobby(make_chat(), "ada")
    assert (await say(chat, "ada", "x" * 2000)).id == 1


async def test_say_with_a_known_client_id_returns_the_first_id():
    """Saying again with the same client_id is acknowledged with the first id, nothing new."""
    chat = await in_lobby(make_chat(), "ada")
    first = await say(chat, "ada", "hi", client_id="m1")
    again = await say(chat, "ada", "other text", client_id="m1")
    assert (again.id, again.message) == (first.id, None)
    assert again.effects == () and again.ack() == {"ok": True, "id": first.id}
    assert await chat.store.last_id() == 1


async def test_client_ids_belong_to_a_name():
    """Two names may use the same client_id for different messages."""
    chat = await in_lobby(make_chat(), "ada", "bob")
    ada = await say(chat, "ada", client_id="m1")
    bob = await say(chat, "bob", client_id="m1")
    assert (ada.id, bob.id) == (1, 2) and bob.message is not None
    assert bob.effects == (said(2, "lobby", "bob", "hi", room="lobby"),)


async def test_client_id_survives_a_reconnect_under_the_same_name():
    """A message re-sent from a new connection of the same name is not kept twice."""
    chat = make_chat()
    first = await arrive(chat, "c1", {"name": "ada", "rooms": ["lobby"]})
    said_ = await chat.say("c1", {"room": "lobby", "text": "hi", "client_id": "m1"})
    await arrive(chat, "c2", {"name": "ada", "session": first.session, "rooms": ["lobby"]})
    again = await chat.say("c2", {"room": "lobby", "text": "hi", "client_id": "m1"})
    assert again.message is None and again.id == said_.id and again.effects == ()
    assert await chat.store.last_id() == said_.id


async def test_repeated_client_id_is_answered_even_after_leaving_the_room():
    """A late re-send of an acknowledged message gets its id, not a refusal."""
    chat = await in_lobby(make_chat(), "ada")
    await say(chat, "ada", client_id="m1")
    await chat.leave("conn-ada", {"room": "lobby"})
    assert (await say(chat, "ada", client_id="m1")).id == 1


async def test_chat_uses_the_store_it_is_given():
    """The rules keep messages in the store passed to them."""
    store = MemoryStore()
    chat = await in_lobby(make_chat(store=store), "ada")
    await say(chat, "ada")
    assert [m.text for m in await store.recent("lobby", 10)] == ["hi"]
    assert chat.store is store


async def test_the_clock_stamps_messages():
    """ts is the chat's clock when the message arrived."""
    clock = Clock(1764000000.25)
    chat = await in_lobby(make_chat(clock=clock), "ada")
    assert (await say(chat, "ada")).message.ts == 1764000000.25
    clock.now += 1
    assert (await say(chat, "ada")).message.ts == 1764000001.25
    assert chat.now() == 1764000001.25


# -- limits: how fast, how many ------------------------------------------------------------

async def test_no_rate_limit_by_default():
    """Limits() sets no rate: a notebook's server accepts any number of messages."""
    assert Limits().messages_per_second is None
    chat = await in_lobby(make_chat(), "ada")
    assert [(await say(chat, "ada")).id for _ in range(50)] == list(range(1, 51))


async def test_a_flooding_name_is_throttled_with_one_notice_and_a_sentence():
    """Past the burst, say is refused (Throttled) with how long to wait; one notice per flood."""
    clock = Clock()
    chat = await in_lobby(make_chat(clock=clock,
                                    limits=Limits(messages_per_second=2, burst=3)),
                          "ada", "bob")
    for _ in range(3):
        await say(chat, "ada")
    with pytest.raises(Throttled) as first:
        await say(chat, "ada")
    with pytest.raises(Throttled) as second:
        await say(chat, "ada")
    assert str(first.value) == ("You are sending messages too fast: wait 0.5 s before "
                                "saying more (at most 2 per second).")
    assert first.value.effects == (Emit(protocol.NOTICE, {"text": SLOW_DOWN}, to="conn-ada"),)
    assert second.value.effects == () and first.value.wait == pytest.approx(0.5)
    assert str(second.value) == str(first.value)
    assert isinstance(first.value, Refused)
    assert (await say(chat, "bob")).id == 4  # others are not slowed down
    clock.now += 0.5
    assert (await say(chat, "ada")).id == 5
    with pytest.raises(Throttled) as again:
        await say(chat, "ada")
    assert again.value.effects == first.value.effects  # a new flood gets a new notice


async def test_a_throttled_say_keeps_nothing():
    """A refused say is not stored and sends nothing."""
    chat = await in_lobby(make_chat(limits=Limits(messages_per_second=1, burst=1)), "ada")
    await say(chat, "ada")
    await refused(say, chat, "ada", "too fast")
    assert await chat.store.last_id() == 1


async def test_a_repeated_client_id_costs_no_token():
    """Re-sending a message after a reconnect is answered even when the bucket is empty."""
    chat = await in_lobby(make_chat(limits=Limits(messages_per_second=1, burst=1)), "ada")
    assert (await say(chat, "ada", client_id="m1")).id == 1
    assert (await say(chat, "ada", client_id="m1")).id == 1
    with pytest.raises(Throttled):
        await say(chat, "ada", client_id="m2")


async def test_the_chat_refuses_newcomers_when_full_but_not_a_takeover():
    """Past `limits.clients` a new name is refused; a session takeover still works."""
    chat = make_chat(limits=Limits(clients=2))
    session = (await arrive(chat, "c1", {"name": "ada"})).session
    await arrive(chat, "c2", {"name": "bob"})
    assert await refusal(chat.connect, "c3", {"name": "cy"}) == (
        "The chat is full: 2 people are connected, the most this server allows. "
        "Try again later, or tell your teacher.")
    assert (await chat.connect("c4", {"name": "ada", "session": session})).replaced == "c1"
    await chat.disconnect("c2")
    assert (await chat.connect("c3", {"name": "cy"})).name == "cy"


async def test_one_person_may_be_in_a_limited_number_of_rooms():
    """Past `limits.rooms_per_client` a join, or a resume with too many rooms, is refused."""
    chat = await connected(make_chat(limits=Limits(rooms_per_client=2)), "ada")
    await chat.join("conn-ada", {"room": "a"})
    await chat.join("conn-ada", {"room": "b"})
    assert await refusal(chat.join, "conn-ada", {"room": "c"}) == (
        "You are in 2 rooms, the most allowed: leave one before joining 'c'.")
    assert await refusal(chat.connect, "c2", {"name": "bob", "rooms": ["a", "b", "c"]}) == (
        '"rooms" lists 3 rooms: one person may be in at most 2.')
    await chat.leave("conn-ada", {"room": "a"})
    assert (await chat.join("conn-ada", {"room": "c"})).room == "c"


# -- kicks and mutes, as a student meets them (the teacher's side: test_moderation) -------

async def test_a_kicked_name_is_refused_with_how_long_is_left():
    """While a kick lasts the name is refused, saying how long is left; then let in."""
    clock = Clock()
    chat = make_chat(clock=clock)
    await chat.store.restrict("kick", "ada", clock.now + 60)
    clock.now += 17.5
    assert await refusal(chat.connect, "c2", {"name": "ada"}) == (
        "The teacher removed 'ada' from the chat: you can come back in 43 s.")
    assert (await chat.connect("c3", {"name": "bob"})).name == "bob"  # others come in
    clock.now += 42.5
    assert (await chat.connect("c2", {"name": "ada"})).name == "ada"


async def test_a_kick_holds_against_the_session():
    """The session secret does not get around a kick."""
    chat = make_chat()
    accepted = await arrive(chat, "c1", {"name": "cy"})
    await chat.store.restrict("kick", "cy", chat.now() + 60)
    assert (await refusal(chat.connect, "c2", {"name": "cy", "session": accepted.session})
            ).startswith("The teacher removed 'cy' from the chat")


async def test_a_kicked_name_is_refused_before_its_rooms_are_checked():
    """A kick is what a kicked student hears, whatever else is in the auth."""
    chat = make_chat()
    await chat.store.restrict("kick", "ada", chat.now() + 60)
    assert (await refusal(chat.connect, "c1", {"name": "ada", "rooms": "bad"})).startswith(
        "The teacher removed 'ada'")


async def test_a_muted_name_is_refused_with_how_long_is_left():
    """While muted, say is refused with the time left; afterwards it works again."""
    clock = Clock()
    chat = await in_lobby(make_chat(clock=clock), "ada", "bob")
    await chat.store.restrict("mute", "ada", clock.now + 30)
    clock.now += 10.2
    muted = await refused(say, chat, "ada")
    assert str(muted) == "The teacher muted you: you can speak again in 20 s."
    assert muted.effects == ()
    assert (await say(chat, "bob")).id == 1
    clock.now += 20
    assert (await say(chat, "ada")).id == 2


async def test_a_repeated_client_id_is_answered_while_muted():
    """A re-send of a message said before the mute gets its id: it says nothing new."""
    chat = await in_lobby(make_chat(), "ada")
    first = await say(chat, "ada", client_id="m1")
    await chat.store.restrict("mute", "ada", chat.now() + 30)
    again = await say(chat, "ada", client_id="m1")
    assert (again.id, again.message, again.effects) == (first.id, None, ())
    assert (await refusal(say, chat, "ada", client_id="m2")).startswith("The teacher muted you")


async def test_a_mute_outlives_a_reconnect():
    """Reconnecting does not end a mute: it belongs to the name."""
    chat = await in_lobby(make_chat(), "ada")
    await chat.store.restrict("mute", "ada", chat.now() + 30)
    await chat.disconnect("conn-ada")
    await in_lobby(chat, "ada")
    assert (await refusal(say, chat, "ada")).startswith("The teacher muted you")


async def test_a_mute_that_ended_is_over():
    """A mute until now or earlier no longer holds (the teacher's 0 s lifts one)."""
    chat = await in_lobby(make_chat(), "ada")
    await chat.store.restrict("mute", "ada", chat.now())
    assert (await say(chat, "ada")).id == 1


# -- several server processes: who is connected elsewhere (Chat(elsewhere=...)) -----------

class Roster:
    """One process's view of a shared in-memory roster: what cluster.Roster does with Redis."""

    def __init__(self, shared: dict, process: str):
        self.shared, self.process = shared, process

    async def update(self, here):
        self.shared[self.process] = dict(here)
        return await self.others()

    async def others(self):
        return {name: entry for process, here in self.shared.items()
                if process != self.process for name, entry in here.items()}


def two_processes(**options):
    """Two Chats on one store and one roster, as two server processes on one Redis."""
    shared, store = {}, MemoryStore()
    return [make_chat(store=store, elsewhere=Roster(shared, process), **options)
            for process in ("one", "two")]


async def test_a_name_connected_elsewhere_is_taken():
    """A name in use on another process is refused here too."""
    one, two = two_processes()
    await arrive(one, "sid-1", {"name": "ada"})
    assert await refusal(two.connect, "sid-2", {"name": "ada"}) == (
        "The name 'ada' is taken by someone connected now. Pick another name.")
    await one.disconnect("sid-1")
    assert (await two.connect("sid-2", {"name": "ada"})).name == "ada"


async def test_a_session_takes_a_name_over_from_another_process():
    """With its session a client takes its name back from a connection on another process."""
    one, two = two_processes()
    session = (await arrive(one, "sid-1", {"name": "ada", "rooms": ["lobby"]})).session
    accepted = await two.connect("sid-2", {"name": "ada", "session": session,
                                           "rooms": ["lobby"]})
    assert (accepted.replaced, accepted.session) == ("sid-1", session)
    assert accepted.effects[1:] == (Emit(protocol.NOTICE, {"text": TAKEOVER}, to="sid-1"),
                                    Disconnect("sid-1"))


async def test_members_rooms_and_people_count_every_process():
    """presence, joins, members and the snapshot cover both processes."""
    one, two = two_processes()
    await arrive(one, "sid-1", {"name": "ada"})
    assert (await one.join("sid-1", {"room": "lobby"})).members == ("ada",)
    await arrive(two, "sid-2", {"name": "bob"})
    joined = await two.join("sid-2", {"room": "lobby"})
    assert joined.members == ("ada", "bob")
    assert joined.effects == (Enter("sid-2", "lobby"), presence("lobby", "ada", "bob"))
    await arrive(two, "sid-3", {"name": "cy"})
    assert await snapshot(one) == await snapshot(two) == (
        {"lobby": ["ada", "bob"]}, ("ada", "bob", "cy"))
    assert await one.members("lobby") == ("ada", "bob")
    assert one.rooms_here() == ("lobby",) and two.rooms_here() == ("lobby",)
    assert await Moderation(one)._target({"name": "cy"}, "kick", "") == ("cy", "sid-3")
    assert await Moderation(two)._target({"name": "ada"}, "kick", "") == ("ada", "sid-1")


async def test_leaving_and_disconnecting_count_every_process():
    """The presence of a leave or a disconnect still names those on the other process."""
    one, two = two_processes()
    await arrive(one, "sid-1", {"name": "ada", "rooms": ["lobby"]})
    await arrive(two, "sid-2", {"name": "bob", "rooms": ["lobby", "games"]})
    await arrive(two, "sid-3", {"name": "cy", "rooms": ["lobby"]})
    assert (await two.leave("sid-2", {"room": "games"})).effects == (
        Exit("sid-2", "games"), presence("games"))
    assert (await two.disconnect("sid-3", "transport close")).effects == (
        Note("cy disconnected (transport close)"),
        presence("lobby", "ada", "bob", skip="sid-3"))


async def test_connect_with_rooms_reports_the_members_of_every_process():
    """A resume's presence counts the members connected to the other process."""
    one, two = two_processes()
    await arrive(one, "sid-1", {"name": "ada", "rooms": ["lobby"]})
    accepted = await two.connect("sid-2", {"name": "bob", "rooms": ["lobby"]})
    assert accepted.presence == (Presence("lobby", ("ada", "bob")),)


async def test_messages_of_one_process_are_replayed_by_the_other():
    """The store is shared: a resume on one process replays what was said on the other."""
    one, two = two_processes()
    await arrive(one, "sid-1", {"name": "ada", "rooms": ["lobby"]})
    await one.say("sid-1", {"room": "lobby", "text": "hi"})
    accepted = await two.connect("sid-2", {"name": "bob", "rooms": ["lobby"], "offset": 0,
                                           "history": one.store.history_id})
    assert accepted.offset == 0 and [m[2] for m in await replayed(two, "sid-2")] == ["hi"]


async def test_the_clients_limit_counts_this_process_only():
    """limits.clients is per server process: the other process's people do not count."""
    one, two = two_processes(limits=Limits(clients=1))
    await arrive(one, "sid-1", {"name": "ada"})
    assert (await two.connect("sid-2", {"name": "bob"})).name == "bob"


async def test_a_chat_alone_has_no_elsewhere():
    """Without elsewhere, a Chat counts only its own connections."""
    chat = await in_lobby(make_chat(), "ada")
    assert chat.elsewhere is None
    assert repr(chat) == "<Chat: 1 connected, 1 rooms in use>"
    assert isinstance(await chat.disconnect("conn-ada"), Result)


# -- issue 14: bounded replay, only for the rooms the name was in; join/leave rate ------------

async def busy_room(chat, count, room="big"):
    """bob says ``count`` messages in ``room``; returns bob's session."""
    accepted = await arrive(chat, "conn-bob", {"name": "bob", "rooms": [room]})
    for n in range(count):
        await say(chat, "bob", f"m{n}", room)
    return accepted.session


async def test_a_resume_replays_at_most_the_cap_per_room_with_a_notice():
    """Issue 14: a resume over 50,000 messages replayed them all. Now the last
    limits.replay of a room the name was in, and a notice that says history was cut."""
    chat = make_chat(limits=Limits(replay=30, history=10))
    session = await busy_room(chat, 100)
    await chat.disconnect("conn-bob")
    await chat.connect("c1", {"name": "bob", "session": session, "rooms": ["big"],
                              "offset": 0})
    effects = (await chat.welcome("c1")).effects
    saids = [e.data["text"] for e in effects if isinstance(e, Emit) and e.event == "said"]
    assert saids == [f"m{n}" for n in range(70, 100)]
    notices = [e.data for e in effects if isinstance(e, Emit) and e.event == "notice"]
    assert notices == [{"text": "History was cut: you missed more than 30 messages in room "
                                "'big', so only its last 30 are shown. Ask the room what "
                                "came before.", "room": "big"}]
    assert effects.index(next(e for e in effects if isinstance(e, Emit)
                              and e.event == "notice")) == 1  # right after the welcome


async def test_a_resume_that_fits_the_cap_has_no_notice():
    chat = make_chat(limits=Limits(replay=30))
    session = await busy_room(chat, 30)
    await chat.disconnect("conn-bob")
    await chat.connect("c1", {"name": "bob", "session": session, "rooms": ["big"],
                              "offset": 0})
    effects = (await chat.welcome("c1")).effects
    assert len([e for e in effects if isinstance(e, Emit) and e.event == "said"]) == 30
    assert not [e for e in effects if isinstance(e, Emit) and e.event == "notice"]


async def test_a_room_the_name_was_never_in_replays_no_more_than_a_join_shows():
    """Issue 14: anyone with the code got any room's whole history by naming it in
    auth.rooms. Now a room the name was not in gives what a join shows anyone
    (limits.history), and so does a name that does not send its session."""
    chat = make_chat(limits=Limits(replay=50, history=5))
    session = await busy_room(chat, 40)
    await chat.connect("eve", {"name": "eve", "rooms": ["big"], "offset": 0})
    assert [m[2] for m in await replayed(chat, "eve")] == [f"m{n}" for n in range(35, 40)]
    await chat.disconnect("conn-bob")
    await chat.connect("c2", {"name": "bob", "rooms": ["big"], "offset": 0})  # no session
    assert len(await replayed(chat, "c2")) == 5
    await chat.disconnect("c2")
    await chat.connect("c3", {"name": "bob", "session": "secret-3", "rooms": ["big"],
                              "offset": 0})
    # c2 took the free name and entered big: big is a room of that name now, and its
    # session (not bob's old one) gets the full, capped replay. Anyone may join any room;
    # what the rule keeps out is the whole history, and the cost of a resume.
    assert len(await replayed(chat, "c3")) == 40
    await chat.disconnect("c3")
    await chat.connect("c4", {"name": "bob", "session": session, "rooms": ["big"],
                              "offset": 0})
    assert len(await replayed(chat, "c4")) == 5  # the old session proves nothing now


async def test_was_in_is_what_the_store_recorded_joins_and_leaves_included():
    """The rooms a name was in are recorded in the store at connect, join and leave,
    and outlive the connection (a --db file keeps them across restarts)."""
    chat = make_chat(limits=Limits(replay=50, history=2))
    accepted = await arrive(chat, "conn-ada", {"name": "ada"})
    await chat.join("conn-ada", {"room": "a"})
    await chat.join("conn-ada", {"room": "b"})
    await chat.leave("conn-ada", {"room": "b"})
    assert await chat.store.memberships("ada") == ("a",)
    for room in ("a", "b"):
        for n in range(5):
            await say(chat, "ada", f"{room}{n}", room) if room == "a" else None
    await chat.join("conn-ada", {"room": "b"})
    for n in range(5):
        await say(chat, "ada", f"b{n}", "b")
    await chat.leave("conn-ada", {"room": "b"})
    await chat.disconnect("conn-ada")
    assert await chat.store.memberships("ada") == ("a",)
    await chat.connect("c1", {"name": "ada", "session": accepted.session,
                              "rooms": ["a", "b"], "offset": 0})
    texts = [m[2] for m in await replayed(chat, "c1")]
    assert texts == ["a0", "a1", "a2", "a3", "a4", "b3", "b4"]


async def test_the_replay_comes_in_chunks_and_enters_the_rooms_last():
    """The server runs one step at a time, letting go of its lock between them: a say
    between two steps is not heard live by the resuming connection, it comes in the
    last step, before the rooms are entered, once."""
    chat = make_chat(limits=Limits(replay=500))
    session = await busy_room(chat, 120)
    await arrive(chat, "conn-cy", {"name": "cy", "rooms": ["big"]})
    await chat.disconnect("conn-bob")
    await chat.connect("c1", {"name": "bob", "session": session, "rooms": ["big"],
                              "offset": 0})
    steps = chat.resume("c1", chunk=50)
    first = await anext(steps)
    assert first.effects[0].event == protocol.WELCOME
    sizes = [len((await anext(steps)).effects) for _ in range(3)]
    assert sizes == [50, 50, 20]
    meanwhile = await say(chat, "cy", "said during the replay", "big")
    assert meanwhile.effects == (Emit(protocol.SAID, meanwhile.message.to_dict(),
                                      room="big"),)
    last = (await anext(steps)).effects
    assert last[0] == Emit(protocol.SAID, meanwhile.message.to_dict(), to="c1")
    assert last[1] == Enter("c1", "big")
    with pytest.raises(StopAsyncIteration):
        await anext(steps)


async def test_a_replay_stops_when_the_connection_goes():
    chat = make_chat()
    session = await busy_room(chat, 120)
    await chat.disconnect("conn-bob")
    await chat.connect("c1", {"name": "bob", "session": session, "rooms": ["big"],
                              "offset": 0})
    steps = chat.resume("c1", chunk=50)
    await anext(steps)
    await chat.disconnect("c1")
    with pytest.raises(StopAsyncIteration):
        await anext(steps)


async def test_joins_and_leaves_are_rate_limited_with_a_sentence_and_one_notice():
    """Issue 14: 10,000 alternating join/leave were all accepted. Now a bucket per name."""
    chat = make_chat(limits=Limits(room_changes_per_second=2, room_change_burst=4))
    await connected(chat, "ada")
    accepted = 0
    refusals = []
    for _ in range(10_000):
        call = chat.leave if chat.rooms_of("ada") else chat.join
        try:
            await call("conn-ada", {"room": "lobby"})
            accepted += 1
        except Throttled as throttled:
            refusals.append(throttled)
    assert accepted <= 4
    assert str(refusals[0]).startswith("You are joining and leaving rooms too fast: wait")
    assert sum(1 for refusal in refusals if refusal.effects) == 1  # one notice
    assert refusals[0].effects[0].to == "conn-ada"
    chat._clock.now += 10
    await chat.join("conn-ada", {"room": "games"})
