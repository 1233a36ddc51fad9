"""Notebook 04's check_rooms_and_whispers explains each wrong `join` and `whisper`."""

import pytest
import socketio

from chatkit import exercises, running
from tests.conftest import timeout
from tests.exercises.answers import NS
from tests.exercises.answers import rooms_server as server


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_rooms_and_whispers(sio, timeout=timeout(wait))


async def test_accepts_a_class_based_namespace_with_sessions(capsys):
    """An AsyncNamespace that keeps names in sessions and its own lists passes too."""
    class Chat(socketio.AsyncNamespace):
        def __init__(self):
            super().__init__(NS)
            self.sid_of = {}

        async def on_connect(self, sid, environ, auth):
            await self.save_session(sid, {"name": auth["name"]})
            self.sid_of[auth["name"]] = sid

        async def on_disconnect(self, sid, reason):
            self.sid_of.pop((await self.get_session(sid))["name"], None)

        async def on_join(self, sid, room):
            await self.enter_room(sid, room)
            return sorted(name for name, other in self.sid_of.items()
                          if room in self.rooms(other))

        async def on_whisper(self, sid, to_name, text):
            if to_name not in self.sid_of:
                return False
            name = (await self.get_session(sid))["name"]
            await self.emit("whispered", {"from": name, "text": text}, to=self.sid_of[to_name])
            return True

    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.register_namespace(Chat())
    await check(sio, wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_explains_a_join_handler_without_the_room():
    """A `join(sid)` handler fails with its TypeError and the join signature."""
    def no_room(sio, names):
        async def join(sid):
            return []
        return join
    with pytest.raises(AssertionError, match=r"'join' handler raised TypeError.*"
                                             r"`async def join\(sid, room\)`"):
        await check(server(join=no_room))


async def test_explains_handlers_on_the_wrong_namespace():
    """Handlers registered on the default namespace: /chat refuses, the hint says why."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.on("join", lambda sid, room: [])
    with pytest.raises(AssertionError, match='could not connect to the /chat namespace.*'
                                             'namespace="/chat"'):
        await check(sio)
    assert running.running() == {}


async def test_explains_a_missing_join_handler():
    """Without a `join` handler the ack never comes: the hint says to register one."""
    sio = server()
    del sio.handlers[NS]["join"]
    with pytest.raises(AssertionError, match=r'alice joined .* no answer .*'
                                             r'@sio.on\("join", namespace="/chat"\)'):
        await check(sio, wait=0.3)


async def test_explains_a_join_that_does_not_enter_the_room():
    """A join that answers without entering the room is told to call enter_room."""
    def no_enter(sio, names):
        async def join(sid, room):
            return [names[sid]]
        return join
    with pytest.raises(AssertionError, match="has not put alice in that room.*enter_room"):
        await check(server(join=no_enter))


async def test_explains_a_join_that_answers_only_the_newcomer():
    """Answering just the joiner's name is told to list everyone in the room."""
    def only_me(sio, names):
        async def join(sid, room):
            await sio.enter_room(sid, room, namespace=NS)
            return [names[sid]]
        return join
    with pytest.raises(AssertionError, match=r"bob joined 'lobby': expected \['alice', 'bob'\], "
                                             r"got \['bob'\]: list everyone.*get_participants"):
        await check(server(join=only_me))


async def test_explains_a_join_that_answers_sids():
    """Answering sids instead of names is told to answer names."""
    def sids(sio, names):
        async def join(sid, room):
            await sio.enter_room(sid, room, namespace=NS)
            return [s for s, _ in sio.manager.get_participants(NS, room)]
        return join
    with pytest.raises(AssertionError, match="the ack holds sids"):
        await check(server(join=sids))


async def test_explains_unsorted_names():
    """The right names in the wrong order are told to sort them."""
    def newest_first(sio, names):
        async def join(sid, room):
            await sio.enter_room(sid, room, namespace=NS)
            return sorted((names[s] for s, _ in sio.manager.get_participants(NS, room)),
                          reverse=True)
        return join
    with pytest.raises(AssertionError, match=r"has the right names, sort them: \['alice', 'bob'\]"):
        await check(server(join=newest_first))


async def test_explains_a_whisper_to_everyone():
    """A whisper emitted to the whole namespace is caught reaching someone else."""
    def to_all(sio, names):
        async def whisper(sid, to_name, text):
            await sio.emit("whispered", {"from": names[sid], "text": text}, namespace=NS)
            return True
        return whisper
    with pytest.raises(AssertionError, match="alice whispered 'psst, carol' to carol, and alice "
                                             "got it too.*to=<carol's sid>"):
        await check(server(whisper=to_all))


async def test_explains_a_whisper_sent_to_a_room_named_like_the_client():
    """to=<name> reaches nobody: the hint says a client's own room is named by its sid."""
    def to_name(sio, names):
        async def whisper(sid, to_name, text):
            await sio.emit("whispered", {"from": names[sid], "text": text}, to=to_name,
                           namespace=NS)
            return to_name in names.values()
        return whisper
    with pytest.raises(AssertionError, match='carol got nothing.*named by its sid, not its name'):
        await check(server(whisper=to_name))


async def test_explains_a_wrong_whisper_payload():
    """A whisper that sends only the text is shown what was expected."""
    def text_only(sio, names):
        async def whisper(sid, to_name, text):
            for other, name in names.items():
                if name == to_name:
                    await sio.emit("whispered", text, to=other, namespace=NS)
                    return True
            return False
        return whisper
    with pytest.raises(AssertionError, match=r"carol got 'psst, carol', expected "
                                             r"\{'from': 'alice', 'text': 'psst, carol'\}"):
        await check(server(whisper=text_only))


async def test_explains_a_whisper_to_an_unknown_name_that_fails():
    """A whisper to a name nobody has that raises KeyError is told to answer False."""
    def lookup(sio, names):
        async def whisper(sid, to_name, text):
            sid_of = {name: other for other, name in names.items()}
            await sio.emit("whispered", {"from": names[sid], "text": text},
                           to=sid_of[to_name], namespace=NS)
            return True
        return whisper
    with pytest.raises(AssertionError, match="raised KeyError.*must answer False"):
        await check(server(whisper=lookup))


async def test_explains_a_name_not_forgotten_after_disconnect():
    """A server that keeps a gone client's name answers True: the hint says to forget it."""
    with pytest.raises(AssertionError, match="dave disconnected.*ack was True: forget a "
                                             "client's name when it disconnects"):
        await check(server(forget=False))
    assert running.running() == {}
