"""Notebook 04's checks explain each wrong `join`, `say` and `whisper` of the learner's chat."""

import itertools

import pytest
import socketio

from chatkit import exercises, running
from chatkit.server import ChatServer
from tests.conftest import timeout
from tests.exercises.answers import NS
from tests.exercises.answers import rooms_server as server


async def check_join(sio, wait=0.5):
    """Run check_join with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_join(sio, timeout=timeout(wait))


async def check(sio, wait=0.5):
    """Run check_rooms_and_whispers with short waits."""
    await exercises.check_rooms_and_whispers(sio, timeout=timeout(wait))


class Chat(socketio.AsyncNamespace):
    """The exercise as a class-based namespace that keeps names in sessions."""

    def __init__(self):
        super().__init__(NS)
        self.sid_of = {}
        self.ids = itertools.count(1)

    async def on_connect(self, sid, environ, auth):
        await self.save_session(sid, {"name": auth["name"]})
        self.sid_of[auth["name"]] = sid

    async def on_disconnect(self, sid, reason):
        self.sid_of.pop((await self.get_session(sid))["name"], None)

    async def on_join(self, sid, data):
        if not data.get("room"):
            return {"ok": False, "error": "which room?"}
        await self.enter_room(sid, data["room"])
        members = sorted(name for name, other in self.sid_of.items()
                         if data["room"] in self.rooms(other))
        return {"ok": True, "room": data["room"], "members": members}

    async def on_say(self, sid, data):
        if data["room"] not in self.rooms(sid):
            return {"ok": False, "error": "join it first"}
        message = {"id": next(self.ids), "room": data["room"],
                   "name": (await self.get_session(sid))["name"], "text": data["text"]}
        await self.emit("said", message, to=data["room"])
        return {"ok": True, "id": message["id"]}

    async def on_whisper(self, sid, data):
        if data["to"] not in self.sid_of:
            return {"ok": False, "error": "nobody of that name"}
        name = (await self.get_session(sid))["name"]
        await self.emit("whispered", {"name": name, "text": data["text"]},
                        to=self.sid_of[data["to"]])
        return {"ok": True}


async def test_both_checks_accept_a_class_based_namespace_with_sessions(capsys):
    """An AsyncNamespace that keeps names in sessions and its own dict passes both checks."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.register_namespace(Chat())
    await check_join(sio, wait=2)
    await check(sio, wait=2)
    assert capsys.readouterr().out.count("Right:") == 2


@pytest.mark.parametrize("make, hint", [
    (lambda: ChatServer(), "that is chatkit's ChatServer.*Pass the socketio.AsyncServer"),
    (lambda: ChatServer().sio, r"the socket.io server inside chatkit's ChatServer \(its .sio\)"),
], ids=["ChatServer", "ChatServer.sio"])
@pytest.mark.parametrize("run", [check_join, check], ids=["check_join", "check_rooms"])
async def test_chatkits_own_chat_server_is_refused_as_a_shortcut(make, hint, run):
    """Passing chatkit's ChatServer, or the socket.io server inside it, is refused at once."""
    with pytest.raises(AssertionError, match=hint):
        await run(make())
    assert running.running() == {}


# -- check_join -----------------------------------------------------------------------

def join_with(body):
    """A join replacement made of ``body(sio, names, sid, data)``."""
    def make(sio, names):
        async def join(sid, data):
            return await body(sio, names, sid, data)
        return join
    return make


def members_of(sio, names, room):
    return sorted(names[s] for s, _ in sio.manager.get_participants(NS, room))


async def test_explains_a_join_that_is_not_acknowledged():
    """A join that enters the room but returns nothing is told what to return."""
    async def no_ack(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
    with pytest.raises(AssertionError, match=r"alice joined 'lobby' and the ack had no value: "
                                             r"return \{'ok': True, 'room': 'lobby', "
                                             r"'members': \['alice'\]\}"):
        await check_join(server(join=join_with(no_ack)))


async def test_explains_a_missing_join_handler():
    """Without a `join` handler the ack never comes: the hint says to register one."""
    sio = server()
    del sio.handlers[NS]["join"]
    with pytest.raises(AssertionError, match=r'alice joined .* no answer .*'
                                             r'@sio.on\("join", namespace="/chat"\)'):
        await check_join(sio, wait=0.3)


async def test_explains_a_join_that_takes_the_dict_for_the_room():
    """enter_room(sid, data) fails on the dict: the hint says to take data["room"]."""
    async def whole_dict(sio, names, sid, data):
        await sio.enter_room(sid, data, namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match=r"your 'join' handler raised TypeError: "
                                             r"(cannot use 'dict'|unhashable).*line \d+ of your "
                                             r"code.*arrives as one dict.*data\[\"room\"\]"):
        await check_join(server(join=join_with(whole_dict)))


async def test_explains_a_join_that_does_not_enter_the_room():
    """A join that answers without entering the room is told to call enter_room."""
    async def no_enter(sio, names, sid, data):
        return {"ok": True, "room": data["room"], "members": [names[sid]]}
    with pytest.raises(AssertionError, match="has not put alice in that room.*enter_room"):
        await check_join(server(join=join_with(no_enter)))


async def test_explains_a_join_that_answers_a_bare_list():
    """Answering the members alone (no dict) is shown the dict to answer."""
    async def bare(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
        return members_of(sio, names, data["room"])
    with pytest.raises(AssertionError, match=r"the ack was \['alice'\]: answer one dict"):
        await check_join(server(join=join_with(bare)))


async def test_explains_a_join_that_answers_only_the_newcomer():
    """Answering just the joiner's name is told to list everyone in the room."""
    async def only_me(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"], "members": [names[sid]]}
    with pytest.raises(AssertionError, match=r"bob joined 'lobby': \"members\" was \['bob'\], "
                                             r"expected \['alice', 'bob'\]: list everyone.*"
                                             r"get_participants"):
        await check_join(server(join=join_with(only_me)))


async def test_explains_a_join_that_answers_sids():
    """Answering sids instead of names is told to answer names."""
    async def sids(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"],
                "members": [s for s, _ in sio.manager.get_participants(NS, data["room"])]}
    with pytest.raises(AssertionError, match="\"members\" holds sids"):
        await check_join(server(join=join_with(sids)))


async def test_explains_unsorted_names():
    """The right names in the wrong order are told to sort them."""
    async def newest_first(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"],
                "members": members_of(sio, names, data["room"])[::-1]}
    with pytest.raises(AssertionError, match=r"are right, sort them: \['alice', 'bob'\]"):
        await check_join(server(join=join_with(newest_first)))


async def test_explains_a_join_that_accepts_an_empty_room_name():
    """A join that lets carol into the room "" is told to check the room first."""
    async def trusting(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"], "members": members_of(sio, names, data["room"])}
    with pytest.raises(AssertionError, match=r"carol joined with \{'room': ''\} \(an empty room "
                                             r"name\), and the server put her in a room anyway"):
        await check_join(server(join=join_with(trusting)))


async def test_explains_a_join_that_fails_without_a_room():
    """A join that raises KeyError on {} is told to answer ok False instead."""
    async def strict(sio, names, sid, data):
        if data["room"] == "":
            return {"ok": False, "error": "which room?"}
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"], "members": members_of(sio, names, data["room"])}
    with pytest.raises(AssertionError, match=r"'join' handler raised KeyError: 'room'.*A join "
                                             r"with no room at all must be answered"):
        await check_join(server(join=join_with(strict)))


async def test_explains_a_refusal_without_an_error_sentence():
    """A refusal answered False alone is shown the dict to answer."""
    async def terse(sio, names, sid, data):
        if not data.get("room"):
            return False
        await sio.enter_room(sid, data["room"], namespace=NS)
        return {"ok": True, "room": data["room"], "members": members_of(sio, names, data["room"])}
    with pytest.raises(AssertionError, match=r"the ack was False: refuse it with \{\"ok\": False, "
                                             r"\"error\""):
        await check_join(server(join=join_with(terse)))


async def test_explains_handlers_on_the_wrong_namespace():
    """A handler registered on the default namespace is named, before anything runs; with
    no /chat handlers at all, /chat refuses the check's clients and the hint says why."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.on("join", lambda sid, data: {"ok": True})
    with pytest.raises(AssertionError, match=r"your 'join' handler is on the default namespace "
                                             r"\"/\", but the chat is on \"/chat\""):
        await check_join(sio)
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.on("connect", lambda sid, environ, auth: None)
    with pytest.raises(AssertionError, match='could not connect to the /chat namespace.*'
                                             'namespace="/chat"'):
        await check_join(sio)
    assert running.running() == {}


async def test_explains_a_new_say_registered_without_the_namespace():
    """The notebook's old say stays on /chat while the new one went to "/": named."""
    sio = server()
    sio.on("say", lambda sid, data: {"ok": True, "id": 1})  # namespace forgotten
    with pytest.raises(AssertionError, match=r"your 'say' handler is on the default namespace"):
        await check(sio)


async def test_explains_enter_room_without_the_namespace():
    """enter_room without namespace="/chat" raises ValueError: the hint says to pass it."""
    async def join(sid, data):
        await sio.enter_room(sid, data["room"])
    sio = server()
    sio.on("join", join, namespace=NS)
    with pytest.raises(AssertionError, match=r"raised ValueError: .*pass namespace=\"/chat\" "
                                             r"to enter_room"):
        await check_join(sio)


async def test_explains_rooms_read_without_the_namespace():
    """sio.rooms(sid) without the namespace is empty: a member's say refused, and told so."""
    def outside_check(sio, names):
        async def say(sid, data):
            if data["room"] not in sio.rooms(sid):  # the rooms of "/": none
                return {"ok": False, "error": "join first"}
        return say
    with pytest.raises(AssertionError, match=r"where alice is a member, and the ack was .*"
                                             r"sio.rooms\(sid, namespace=\"/chat\"\)"):
        await check(server(say=outside_check))


# -- check_rooms_and_whispers: say ----------------------------------------------------

def say_with(body):
    """A say replacement made of ``body(sio, names, ids, sid, data)``, ids counting from 1."""
    def make(sio, names):
        ids = itertools.count(1)

        async def say(sid, data):
            return await body(sio, names, ids, sid, data)
        return say
    return make


def message(ids, names, sid, data):
    return {"id": next(ids), "room": data["room"], "name": names[sid], "text": data["text"]}


async def test_explains_a_say_that_reaches_everyone():
    """Notebook 02's say (emit to all) is caught reaching clients outside the room."""
    async def to_all(sio, names, ids, sid, data):
        said = message(ids, names, sid, data)
        await sio.emit("said", said, namespace=NS)
        return {"ok": True, "id": said["id"]}
    with pytest.raises(AssertionError, match=r"alice said 'hi, lobby' in 'lobby', and carol and "
                                             r"dave got it too, not in 'lobby': emit to the room "
                                             r"only, to=data\[\"room\"\]"):
        await check(server(say=say_with(to_all)))


async def test_explains_a_say_that_skips_the_sender():
    """skip_sid=sid leaves the sender without their own message: the hint says so."""
    async def others_only(sio, names, ids, sid, data):
        said = message(ids, names, sid, data)
        await sio.emit("said", said, to=data["room"], skip_sid=sid, namespace=NS)
        return {"ok": True, "id": said["id"]}
    with pytest.raises(AssertionError, match="the others in 'lobby' got it, alice did not.*"
                                             "drop skip_sid"):
        await check(server(say=say_with(others_only)))


async def test_explains_a_say_that_lets_anyone_into_a_room():
    """A say that does not check membership is told to refuse outsiders."""
    async def open_door(sio, names, ids, sid, data):
        said = message(ids, names, sid, data)
        await sio.emit("said", said, to=data["room"], namespace=NS)
        return {"ok": True, "id": said["id"]}
    with pytest.raises(AssertionError, match=r"dave, who is in no room, said 'let me in' in "
                                             r"'lobby': the ack was \{'ok': True, 'id': 3\} and "
                                             r"alice and bob got it. Refuse.*sio.rooms\(sid"):
        await check(server(say=say_with(open_door)))


async def test_explains_a_said_event_without_its_room():
    """Notebook 02's payload (no "room") is told to add the room."""
    async def roomless(sio, names, ids, sid, data):
        if data["room"] not in sio.rooms(sid, namespace=NS):
            return {"ok": False, "error": "join first"}
        said = {"id": next(ids), "name": names[sid], "text": data["text"]}
        await sio.emit("said", said, to=data["room"], namespace=NS)
        return {"ok": True, "id": said["id"]}
    with pytest.raises(AssertionError, match=r"the 'said' event was \{'id': 1, 'name': 'alice', "
                                             r"'text': 'hi, lobby'\}: add \"room\": 'lobby'"):
        await check(server(say=say_with(roomless)))


async def test_explains_a_say_acknowledged_without_the_id():
    """An ack without the message's id is shown the ack to answer."""
    async def bare_ok(sio, names, ids, sid, data):
        await sio.emit("said", message(ids, names, sid, data), to=data["room"], namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match=r"and the ack was \{'ok': True\}: answer "
                                             r"\{\"ok\": True, \"id\": <the message's id>\}"):
        await check(server(say=say_with(bare_ok)))


async def test_explains_a_say_that_crashes_naming_the_line():
    """A say that raises is reported with its exception and the learner's line."""
    async def wrong_field(sio, names, ids, sid, data):
        text = data["message"]
        return {"ok": True, "id": next(ids), "text": text}
    with pytest.raises(AssertionError, match=r"your 'say' handler raised KeyError: 'message' "
                                             r"\(line \d+ of your code: `text = "
                                             r"data\[\"message\"\]`\)"):
        await check(server(say=say_with(wrong_field)))
    assert running.running() == {}


async def test_sends_a_broken_join_back_to_the_first_check():
    """If join does not work, the second check says to run check_join first."""
    async def no_ack(sio, names, sid, data):
        await sio.enter_room(sid, data["room"], namespace=NS)
    with pytest.raises(AssertionError, match=r"`join` must work first, run "
                                             r"exercises.check_join"):
        await check(server(join=join_with(no_ack)))


# -- check_rooms_and_whispers: whisper ------------------------------------------------

def whisper_with(body):
    """A whisper replacement made of ``body(sio, names, sid, data)``."""
    def make(sio, names):
        async def whisper(sid, data):
            return await body(sio, names, sid, data)
        return whisper
    return make


def sid_named(names, name):
    return next((sid for sid, other in names.items() if other == name), None)


async def test_explains_a_whisper_to_everyone():
    """A whisper emitted to the whole namespace is caught reaching someone else."""
    async def to_all(sio, names, sid, data):
        await sio.emit("whispered", {"name": names[sid], "text": data["text"]}, namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match="alice whispered 'psst, carol' to carol, and bob "
                                             "and dave got it too.*to=<sid>"):
        await check(server(whisper=whisper_with(to_all)))


async def test_explains_a_whisper_that_comes_back_to_the_sender():
    """A whisper sent to the recipient and the sender is told the sender has the ack."""
    async def with_a_copy(sio, names, sid, data):
        target = sid_named(names, data["to"])
        if target is None:
            return {"ok": False, "error": "nobody"}
        await sio.emit("whispered", {"name": names[sid], "text": data["text"]},
                       to=[target, sid], namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match="and alice got it back: a whisper reaches carol "
                                             "alone; alice learns it was sent from the ack"):
        await check(server(whisper=whisper_with(with_a_copy)))


async def test_explains_a_whisper_addressed_to_the_name_as_a_room():
    """to=<name> reaches nobody: the hint says a client's own room is named by its sid."""
    async def to_the_name(sio, names, sid, data):
        await sio.emit("whispered", {"name": names[sid], "text": data["text"]}, to=data["to"],
                       namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match='carol got nothing.*named by its sid, not its '
                                             'name.*find the sid whose name is data'):
        await check(server(whisper=whisper_with(to_the_name)))


async def test_explains_a_whisper_with_the_wrong_fields():
    """A whispered payload with "from" instead of "name" is shown what was expected."""
    async def from_field(sio, names, sid, data):
        target = sid_named(names, data["to"])
        if target is None:
            return {"ok": False, "error": "nobody"}
        await sio.emit("whispered", {"from": names[sid], "text": data["text"]}, to=target,
                       namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match=r"carol got \{'from': 'alice', 'text': 'psst, "
                                             r"carol'\}, expected \{'name': 'alice', "
                                             r"'text': 'psst, carol'\}"):
        await check(server(whisper=whisper_with(from_field)))


async def test_explains_a_whisper_to_an_unknown_name_that_fails():
    """A whisper to a name nobody has that raises KeyError is told to answer ok False."""
    async def lookup(sio, names, sid, data):
        sid_of = {name: other for other, name in names.items()}
        await sio.emit("whispered", {"name": names[sid], "text": data["text"]},
                       to=sid_of[data["to"]], namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match="raised KeyError: 'nobody'.*must be answered "
                                             r"\{\"ok\": False, \"error\": \"...\"\}, not fail"):
        await check(server(whisper=whisper_with(lookup)))


async def test_explains_a_whisper_to_an_unknown_name_that_says_ok():
    """A whisper that answers ok True for a name nobody has is told to refuse it."""
    async def always_ok(sio, names, sid, data):
        target = sid_named(names, data["to"])
        if target is not None:
            await sio.emit("whispered", {"name": names[sid], "text": data["text"]}, to=target,
                           namespace=NS)
        return {"ok": True}
    with pytest.raises(AssertionError, match=r"to 'nobody', a name nobody has; the ack was "
                                             r"\{'ok': True\}: answer \{\"ok\": False"):
        await check(server(whisper=whisper_with(always_ok)))


async def test_explains_a_name_not_forgotten_after_disconnect():
    """A server that keeps a gone client's name answers ok: the hint says to forget it."""
    with pytest.raises(AssertionError, match="dave disconnected.*ack was \\{'ok': True\\}: "
                                             "forget a client's name when it disconnects"):
        await check(server(forget=False))
    assert running.running() == {}
