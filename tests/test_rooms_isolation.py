"""Rooms and namespaces isolate: every message reaches exactly the clients it should.

Two servers, real sockets on 127.0.0.1: a raw python-socketio server with two namespaces
(/chat and /news, the same three room names in each), and the ChatServer's /chat rooms
through the wire protocol (join, leave, say -> said, presence). Every check compares
complete inboxes, duplicates included, with what a model of the memberships predicts.

"Nobody else got it" cannot be waited for, so each check first *settles*: the server
calls every client once and waits for the answers (a python-socketio client answers any
call). A connection delivers in order, so once every client has answered, every message
sent before has arrived wherever it was going.
"""

import pytest
import socketio

from chatkit import running
from chatkit.protocol import CHAT as CHAT_NAMESPACE
from chatkit.protocol import PRESENCE, SAID
from chatkit.roommap import NO_ROOM
from chatkit.server import ChatServer
from chatkit.sio import serve as serve_socketio
from chatkit.sio import settle
from tests.conftest import RawPeer, timeout

NAMESPACES = ("/chat", "/news")

#: Who connects where, and the rooms they join there: 3 rooms x 4 clients per namespace,
#: the same room names in both. ann-dan are only in /chat, ivy-lou only in /news, eve-hal
#: in both; hal joins no room anywhere.
LAYOUT = {
    "/chat": {"red": ["ann", "ben", "cat", "dan"],
              "green": ["dan", "eve", "fay", "gus"],
              "blue": ["ann", "ben", "eve", "fay"]},
    "/news": {"red": ["ivy", "jon", "kim", "lou"],
              "green": ["eve", "gus", "ivy", "kim"],
              "blue": ["fay", "ivy", "jon", "kim"]},
}
CONNECTED = {"/chat": ["ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal"],
             "/news": ["eve", "fay", "gus", "hal", "ivy", "jon", "kim", "lou"]}
NAMES = sorted(set(CONNECTED["/chat"]) | set(CONNECTED["/news"]))


class RoomsNamespace(socketio.AsyncNamespace):
    """join/leave a room; say {text, to, others}: `said` to a room, a list of rooms or
    (no `to`) the whole namespace, skipping the sender when `others` is true."""

    async def on_connect(self, sid, environ, auth):
        await self.save_session(sid, {"name": auth["name"]})

    async def on_join(self, sid, room):
        await self.enter_room(sid, room)
        return True

    async def on_leave(self, sid, room):
        await self.leave_room(sid, room)
        return True

    async def on_say(self, sid, data):
        name = (await self.get_session(sid))["name"]
        await self.emit("said", {"from": name, "text": data["text"]}, to=data.get("to"),
                        skip_sid=sid if data.get("others") else None)
        return True


class Member:
    """A raw python-socketio client that records what it receives, per namespace."""

    def __init__(self, name: str, client: socketio.AsyncClient):
        self.name = name
        self.sio = client
        self.got: list[tuple] = []
        self.namespaces: list[str] = []
        for namespace in NAMESPACES:
            self.sio.on("said", lambda data, ns=namespace: self.got.append(
                (ns, data["from"], data["text"])), namespace=namespace)
            self.sio.on("sync", lambda *args: True, namespace=namespace)

    async def connect(self, url: str, namespaces: list[str]) -> None:
        self.namespaces = namespaces
        await self.sio.connect(url, namespaces=namespaces, auth={"name": self.name},
                               transports=["websocket"], wait_timeout=timeout(5))

    async def call(self, namespace: str, event: str, data) -> object:
        return await self.sio.call(event, data, namespace=namespace, timeout=timeout(5))


class World:
    """The raw server, its members, and the model of who should hear what."""

    def __init__(self, sio: socketio.AsyncServer):
        self.sio = sio
        self.members: dict[str, Member] = {}
        self.rooms = {ns: {room: set(names) for room, names in rooms.items()}
                      for ns, rooms in LAYOUT.items()}
        self.connected = {ns: set(names) for ns, names in CONNECTED.items()}
        self.expected: dict[str, list[tuple]] = {name: [] for name in NAMES}
        self.count = 0

    def reach(self, namespace: str, to) -> set[str]:
        """Who an emit in ``namespace`` to ``to`` (None, a room or a list) should reach."""
        if to is None:
            return set(self.connected[namespace])
        rooms = to if isinstance(to, list) else [to]
        return set().union(*(self.rooms[namespace].get(room, set()) for room in rooms))

    async def say(self, sender: str, namespace: str, to=None, *, others: bool = False) -> None:
        """``sender`` says a new text in ``namespace``; the model says who should get it."""
        self.count += 1
        text = f"message {self.count}"
        ack = await self.members[sender].call(namespace, "say",
                                              {"text": text, "to": to, "others": others})
        assert ack is True
        for name in self.reach(namespace, to) - ({sender} if others else set()):
            self.expected[name].append((namespace, sender, text))

    async def leave(self, name: str, namespace: str, room: str) -> None:
        assert await self.members[name].call(namespace, "leave", room) is True
        self.rooms[namespace][room].discard(name)

    async def disconnect(self, name: str) -> None:
        """``name`` goes away; wait until the server has forgotten it everywhere."""
        member = self.members[name]
        sids = {ns: member.sio.get_sid(ns) for ns in member.namespaces}
        await member.sio.disconnect()
        for namespace, sid in sids.items():
            await running.wait_for(lambda ns=namespace, sid=sid: not any(
                sid in room for room in self.sio.manager.rooms.get(ns, {}).values()),
                timeout(5), what=f"the server to forget {name} in {namespace}")
            self.connected[namespace].discard(name)
            for members in self.rooms[namespace].values():
                members.discard(name)

    async def settle(self) -> None:
        """Call every connected client once: then every earlier message has arrived."""
        calls = sum(len(member.namespaces) for member in self.members.values()
                    if member.sio.connected)
        answers = await settle(self.sio, [member.sio for member in self.members.values()],
                               timeout=timeout(5))
        assert answers == [True] * calls

    async def check(self) -> None:
        """Every inbox holds exactly what the model predicts: no more, no less."""
        await self.settle()
        got = {name: sorted(member.got) for name, member in self.members.items()}
        assert got == {name: sorted(expected) for name, expected in self.expected.items()}


@pytest.fixture
async def world(new_server, new_client):
    """12 clients on a raw server: 8 in /chat, 8 in /news (4 in both), 3 rooms each."""
    sio = new_server()
    for namespace in NAMESPACES:
        sio.register_namespace(RoomsNamespace(namespace))
    server = await serve_socketio(sio, name="isolation-raw")
    world = World(sio)
    for name in NAMES:
        world.members[name] = Member(name, new_client())
        await world.members[name].connect(
            server.url, [ns for ns in NAMESPACES if name in CONNECTED[ns]])
    for namespace, rooms in LAYOUT.items():
        for room, names in rooms.items():
            for name in names:
                assert await world.members[name].call(namespace, "join", room) is True
    return world


def test_the_layout_is_three_rooms_of_four_in_each_namespace():
    """The fixture's layout has what the isolation tests claim to cover."""
    for namespace, rooms in LAYOUT.items():
        assert sorted(rooms) == ["blue", "green", "red"]
        assert all(len(set(names)) == 4 for names in rooms.values())
        assert set().union(*map(set, rooms.values())) < set(CONNECTED[namespace])
    assert set(CONNECTED["/chat"]) & set(CONNECTED["/news"]) == {"eve", "fay", "gus", "hal"}


async def test_a_room_reaches_exactly_its_members_in_its_own_namespace(world):
    """A room's emit reaches its members only, not the same-named room elsewhere."""
    for namespace, rooms in LAYOUT.items():
        for room, names in rooms.items():
            await world.say(names[0], namespace, room)
    await world.check()
    assert sorted(world.members["eve"].got) == [
        ("/chat", "ann", "message 3"), ("/chat", "dan", "message 2"),
        ("/news", "eve", "message 5")]


async def test_several_rooms_reach_each_member_once(world):
    """to=[rooms] reaches the union of their members, once each, in that namespace only."""
    await world.say("ann", "/chat", ["red", "blue"])
    await world.say("kim", "/news", ["red", "green", "blue"])
    await world.say("hal", "/chat", ["green", "red"])
    await world.check()
    assert world.members["ann"].got == [("/chat", "ann", "message 1"),
                                        ("/chat", "hal", "message 3")]


async def test_all_but_the_sender_skips_only_the_sender(world):
    """skip_sid leaves out the sender, in a room and namespace-wide; everyone else gets it."""
    await world.say("dan", "/chat", "green", others=True)
    await world.say("ivy", "/news", ["green", "blue"], others=True)
    await world.say("eve", "/news", others=True)
    await world.say("hal", "/chat", "red", others=True)  # not in red: all of red gets it
    await world.check()
    assert ("/chat", "dan", "message 1") not in world.members["dan"].got


async def test_no_room_means_the_whole_namespace_and_nothing_else(world):
    """An emit without a room reaches every client of that namespace, roomless ones too."""
    await world.say("cat", "/chat")
    await world.say("lou", "/news")
    await world.check()
    assert ("/chat", "cat", "message 1") in world.members["hal"].got
    assert not [m for m in world.members["ivy"].got if m[0] == "/chat"]


async def test_after_a_leave_the_room_no_longer_reaches_the_leaver(world):
    """A client who left a room gets nothing more from it; its other rooms still reach it."""
    await world.leave("dan", "/chat", "red")
    await world.leave("ivy", "/news", "green")
    await world.say("ann", "/chat", "red")
    await world.say("dan", "/chat", "red")  # a non-member may still emit to it
    await world.say("gus", "/chat", "green")
    await world.say("kim", "/news", ["green", "red"])
    await world.say("eve", "/news", "green", others=True)
    await world.check()
    assert [m[2] for m in world.members["dan"].got] == ["message 3"]


async def test_after_a_disconnect_nothing_reaches_the_client_in_any_namespace(world):
    """A client gone from both namespaces gets nothing more; its rooms still work."""
    await world.say("gus", "/chat", "green")
    await world.check()
    await world.disconnect("eve")
    for namespace, room, speaker in [("/chat", "red", "ann"), ("/chat", "green", "fay"),
                                     ("/chat", "blue", "fay"), ("/news", "red", "ivy"),
                                     ("/news", "green", "gus"), ("/news", "blue", "fay")]:
        await world.say(speaker, namespace, room)
    await world.say("hal", "/news", others=True)
    await world.check()
    assert world.members["eve"].got == [("/chat", "gus", "message 1")]


async def test_a_private_room_reaches_one_client_in_one_namespace(world):
    """An emit to a client's sid reaches that client, on that namespace only."""
    for name, namespace in [("eve", "/news"), ("ann", "/chat"), ("fay", "/chat")]:
        sid = world.members[name].sio.get_sid(namespace)
        await world.sio.emit("said", {"from": "server", "text": f"for {name}"}, to=sid,
                             namespace=namespace)
        world.expected[name].append((namespace, "server", f"for {name}"))
    await world.check()


async def test_close_room_empties_it_in_its_namespace_only(world):
    """close_room takes everyone out of that room; the same name elsewhere is untouched."""
    await world.sio.close_room("red", namespace="/chat")
    world.rooms["/chat"]["red"].clear()
    await world.say("ann", "/chat", "red")
    await world.say("ivy", "/news", "red")
    await world.say("ben", "/chat", "blue")
    await world.check()
    assert "red" not in world.sio.manager.rooms["/chat"]


async def test_a_private_room_cannot_be_entered_or_closed(new_server, new_client):
    """python-socketio refuses to put one client in another's sid room, or to close it."""
    sio = new_server()
    sio.register_namespace(RoomsNamespace("/chat"))
    server = await serve_socketio(sio, name="isolation-raw")
    ann, ben = Member("ann", new_client()), Member("ben", new_client())
    for member in (ann, ben):
        await member.connect(server.url, ["/chat"])
    with pytest.raises(ValueError, match="cannot enter a sid room"):
        await sio.enter_room(ben.sio.get_sid("/chat"), ann.sio.get_sid("/chat"),
                             namespace="/chat")
    with pytest.raises(ValueError, match="cannot close a sid room"):
        await sio.close_room(ann.sio.get_sid("/chat"), namespace="/chat")


# -- the ChatServer's /chat rooms, through the protocol --------------------------------------

CHAT_ROOMS = {"red": ["ann", "ben", "cat", "dan"],
              "green": ["dan", "eve", "fay", "gus"],
              "blue": ["ann", "ben", "eve", "fay"]}
CHAT_NAMES = ["ann", "ben", "cat", "dan", "eve", "fay", "gus", "hal"]  # hal: no room


class Peer(RawPeer):
    """A raw client of the chat protocol whose inbox, ``got``, holds the `said` and
    `presence` events it received as tuples; it answers the server's `sync` calls."""

    def __init__(self, name: str):
        super().__init__(CHAT_NAMESPACE)
        self.name = name
        self.sio.on("sync", lambda *args: True, namespace=CHAT_NAMESPACE)

    @property
    def got(self) -> list[tuple]:
        """("said", room, name, text) and ("presence", room, members), in arrival order."""
        return [(event, data["room"], data["name"], data["text"]) if event == SAID
                else (event, data["room"], tuple(data["members"]))
                for event, data in self.events if event in (SAID, PRESENCE)]


class Chatroom:
    """A ChatServer, its peers, and the model of who should hear what."""

    def __init__(self, server: ChatServer):
        self.server = server
        self.peers: dict[str, Peer] = {}
        self.rooms = {room: set(names) for room, names in CHAT_ROOMS.items()}
        self.expected: dict[str, list[tuple]] = {name: [] for name in CHAT_NAMES}
        self.count = 0

    async def say(self, name: str, room: str) -> None:
        """``name`` says a new text in ``room``: every member, ``name`` too, gets it."""
        self.count += 1
        text = f"message {self.count}"
        ack = await self.peers[name].call("say", {"room": room, "text": text})
        assert ack["ok"] is True, ack
        for member in self.rooms[room]:
            self.expected[member].append(("said", room, name, text))

    def presence(self, room: str) -> None:
        """The members left in ``room`` get its new member list."""
        members = tuple(sorted(self.rooms[room]))
        for member in members:
            self.expected[member].append(("presence", room, members))

    async def settle(self) -> None:
        """Call every connected peer once: then every earlier message has arrived."""
        calls = sum(peer.sio.connected for peer in self.peers.values())
        answers = await settle(self.server.sio, [peer.sio for peer in self.peers.values()],
                               timeout=timeout(5))
        assert answers == [True] * calls

    async def check(self) -> None:
        """Every inbox holds exactly what the model predicts: no more, no less."""
        await self.settle()
        got = {name: sorted(peer.got) for name, peer in self.peers.items()}
        assert got == {name: sorted(expected) for name, expected in self.expected.items()}

    async def clear(self) -> None:
        await self.settle()
        for name, peer in self.peers.items():
            peer.events.clear()
            self.expected[name].clear()


@pytest.fixture
async def chatroom(raw_peers):
    """8 peers on a ChatServer: 3 rooms of 4 (overlapping), hal in none; inboxes empty."""
    server = ChatServer(ping_interval=1, ping_timeout=1)
    await server.start(name="isolation-chat")
    chatroom = Chatroom(server)
    for name in CHAT_NAMES:
        peer = chatroom.peers[name] = raw_peers.keep(Peer(name))
        await peer.connect(server.url, {"name": name})
    for room, names in CHAT_ROOMS.items():
        for name in names:
            assert (await chatroom.peers[name].call("join", {"room": room}))["ok"] is True
    assert server.snapshot() == {CHAT_NAMESPACE: {
        NO_ROOM: ["hal"], **{room: sorted(names) for room, names in CHAT_ROOMS.items()}}}
    await chatroom.clear()
    yield chatroom
    await raw_peers.close_all()  # clients leave before the server goes
    await server.stop()


async def test_chat_say_reaches_exactly_the_rooms_members_sender_included(chatroom):
    """Each room's `said` reaches its four members (the sender too) and nobody else."""
    for room, names in CHAT_ROOMS.items():
        for name in names:
            await chatroom.say(name, room)
    await chatroom.check()
    assert len(chatroom.peers["ann"].got) == 8 and chatroom.peers["hal"].got == []


async def test_chat_join_tells_exactly_the_room(chatroom):
    """A join's presence goes to the room's members, the newcomer included, only."""
    assert (await chatroom.peers["hal"].call("join", {"room": "green"}))["ok"] is True
    chatroom.rooms["green"].add("hal")
    chatroom.presence("green")
    await chatroom.say("hal", "green")
    await chatroom.check()


async def test_chat_after_a_leave_the_room_no_longer_reaches_the_leaver(chatroom):
    """After a leave only the rest of the room gets presence and messages."""
    assert await chatroom.peers["ann"].call("leave", {"room": "red"}) == {"ok": True}
    chatroom.rooms["red"].discard("ann")
    chatroom.presence("red")
    await chatroom.say("ben", "red")
    await chatroom.say("ben", "blue")
    await chatroom.check()
    refused = await chatroom.peers["ann"].call("say", {"room": "red", "text": "still here?"})
    assert refused == {"ok": False, "error": "Join room 'red' before saying something there."}
    await chatroom.check()  # and the refused text reached nobody


async def test_chat_after_a_disconnect_only_its_rooms_hear_of_it(chatroom):
    """A disconnect's presence and later messages reach the rest of its rooms only."""
    eve = chatroom.peers["eve"].sio.get_sid(CHAT_NAMESPACE)
    await chatroom.peers["eve"].disconnect()
    for room in ("green", "blue"):
        chatroom.rooms[room].discard("eve")
        chatroom.presence(room)
    manager = chatroom.server.sio.manager
    await running.wait_for(lambda: not manager.is_connected(eve, CHAT_NAMESPACE), timeout(5),
                           what="the server to notice eve left")
    await chatroom.say("fay", "green")
    await chatroom.say("fay", "blue")
    await chatroom.say("cat", "red")
    await chatroom.check()
    assert chatroom.peers["eve"].got == []


async def test_chat_room_names_are_case_sensitive(chatroom):
    """'Red' and 'red' are two rooms: neither hears the other."""
    assert (await chatroom.peers["hal"].call("join", {"room": "Red"}))["ok"] is True
    chatroom.rooms["Red"] = {"hal"}
    chatroom.presence("Red")
    await chatroom.say("hal", "Red")
    await chatroom.say("ann", "red")
    await chatroom.check()


# -- rooms named like a connection's sid ------------------------------------------------------
# socket.io puts every connection in a room named by its sid (its private room), and a sid
# is 20 characters that a chat room name may use too. The ChatServer keeps chat rooms
# apart inside socket.io (chat room "x" is socket.io room "room:x"), so such a name is
# just another chat room: nobody gets into anyone's private room through it.

async def sid_room_peers(chatroom) -> tuple[Peer, Peer, str]:
    ann, ben = chatroom.peers["ann"], chatroom.peers["ben"]
    return ann, ben, ann.sio.get_sid(CHAT_NAMESPACE)


async def test_a_room_named_like_another_connections_sid_leaks_nothing(chatroom):
    """A room named like ann's sid is a room of its own: saying there never reaches ann."""
    ann, ben, ann_sid = await sid_room_peers(chatroom)
    assert (await ben.call("join", {"room": ann_sid}))["ok"] is True
    chatroom.rooms[ann_sid] = {"ben"}
    chatroom.presence(ann_sid)
    await chatroom.say("ben", ann_sid)
    await chatroom.check()
    assert chatroom.server.snapshot()[CHAT_NAMESPACE][ann_sid] == ["ben"]


async def test_joining_and_leaving_a_room_named_like_your_own_sid_keeps_your_private_room(
        chatroom):
    """Joining then leaving a room named like your own sid leaves your private room intact."""
    ann, _, ann_sid = await sid_room_peers(chatroom)
    assert (await ann.call("join", {"room": ann_sid}))["ok"] is True
    chatroom.rooms[ann_sid] = {"ann"}
    chatroom.presence(ann_sid)
    assert await ann.call("leave", {"room": ann_sid}) == {"ok": True}
    assert ann_sid in chatroom.server.sio.rooms(ann_sid, namespace=CHAT_NAMESPACE)
    await chatroom.say("ann", "red")
    await chatroom.check()  # the server's call to ann's sid still reaches her


async def test_resuming_into_a_room_named_like_a_sid_works_and_leaks_nothing(chatroom,
                                                                             raw_peers):
    """auth rooms may name a room like someone's sid: accepted, and it reaches its members only."""
    _, _, ann_sid = await sid_room_peers(chatroom)
    ivy = chatroom.peers["ivy"] = raw_peers.keep(Peer("ivy"))
    chatroom.expected["ivy"] = []
    await ivy.connect(chatroom.server.url, {"name": "ivy", "rooms": [ann_sid, "red"]})
    chatroom.rooms[ann_sid] = {"ivy"}
    chatroom.rooms["red"].add("ivy")
    chatroom.presence(ann_sid)
    chatroom.presence("red")
    await running.wait_for(lambda: len(ivy.got) == 2, timeout(5), what="ivy's presence events")
    await chatroom.say("ivy", ann_sid)
    await chatroom.say("ivy", "red")
    await chatroom.check()
