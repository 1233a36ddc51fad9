"""ChatServer with real sockets on 127.0.0.1, talked to by python-socketio's own AsyncClient.

These tests use the raw client on purpose: they prove the wire protocol is what
docs/protocol.md says, independently of chatkit.client.
"""

import asyncio
import json
import logging

import aiohttp
import pytest
import socketio

from chatkit import protocol, running
from chatkit.limits import Limits
from chatkit.roommap import NO_ROOM
from chatkit.server import ChatServer
from chatkit.tasks import leftover_tasks, server_tasks
from tests.conftest import timeout
from tests.redisserver import redis_url  # noqa: F401 (a fixture)

NS = protocol.CHAT


def said_ids(peer):
    """The ids of the `said` messages ``peer`` received, in arrival order."""
    return [message["id"] for message in peer.of("said")]


@pytest.fixture
async def server():
    chat_server = ChatServer()
    await chat_server.start(name="chat-test")
    yield chat_server
    await chat_server.stop()


async def connected(raw_peers, server, name, *rooms, **auth):
    peer = raw_peers()
    await peer.connect(server.url, {"name": name, **auth})
    await peer.wait(lambda: peer.of("welcome"), f"{name}'s welcome")
    for room in rooms:
        assert (await peer.call("join", {"room": room}))["ok"]
    return peer


def library_tasks():
    """Tasks still running code from socketio, engineio or aiohttp."""
    return leftover_tasks(("socketio", "engineio", "aiohttp"))


# -- connecting ----------------------------------------------------------------------------

async def test_connect_is_welcomed_with_name_and_session(server, raw_peers):
    """A connection gets `welcome {name, session}` with its trimmed name and a secret."""
    peer = raw_peers()
    await peer.connect(server.url, {"name": "  ada "})
    welcome = await peer.wait(lambda: peer.of("welcome"), "welcome")
    assert welcome[0]["name"] == "ada"
    assert isinstance(welcome[0]["session"], str) and len(welcome[0]["session"]) >= 20


@pytest.mark.parametrize(("auth", "message"), [
    ({"name": ""}, "The name is empty: pick one of 1 to 32 characters."),
    ({"name": "x" * 33}, "The name is too long (33 characters): at most 32."),
    ({"rooms": []}, 'Pick a name: auth needs a "name".'),
    ({"name": "ada", "rooms": ["a b"]}, "Room names use only letters A-Z, digits, '_' and '-' (not 'a b')."),
    ({"name": "ada", "offset": "x"}, '"offset" is the last message id you saw: a whole number, 0 or more.'),
])
async def test_bad_auth_is_refused_with_a_message(server, raw_peers, auth, message):
    """A refused connection gets connect_error {"message": <why>}."""
    peer = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(server.url, auth)
    assert peer.refusals == [{"message": message}]


async def test_connect_without_auth_is_refused_with_a_message(server, raw_peers):
    """No auth at all is refused with a sentence, not a crash."""
    peer = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.sio.connect(server.url, namespaces=[NS], transports=["websocket"],
                               wait_timeout=timeout(5))
    assert peer.refusals[0]["message"].startswith("Connect with auth like")


async def test_join_code_is_enforced(raw_peers):
    """With a join code, a missing or wrong code is refused; the right one is let in."""
    server = ChatServer(join_code="maple-otter-42")
    await server.start(name="chat-test")
    missing, wrong, right = raw_peers(), raw_peers(), raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await missing.connect(server.url, {"name": "ada"})
    with pytest.raises(socketio.exceptions.ConnectionError):
        await wrong.connect(server.url, {"name": "ada", "code": "oak-tiger-11"})
    await right.connect(server.url, {"name": "ada", "code": "Maple-Otter-42"})
    assert missing.refusals == [{"message": "This chat needs a join code: ask your teacher for it."}]
    assert wrong.refusals == [{"message": "Wrong join code: check it with your teacher."}]
    assert right.connected and server.join_code == "maple-otter-42"
    await server.stop()


async def test_name_taken_is_refused(server, raw_peers):
    """A second live connection with the same name is refused."""
    await connected(raw_peers, server, "ada")
    second = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await second.connect(server.url, {"name": "ada"})
    assert second.refusals == [
        {"message": "The name 'ada' is taken by someone connected now. Pick another name."}]


async def test_session_takes_the_name_over_and_closes_the_old_connection(server, raw_peers):
    """Reconnecting with the session secret replaces the stale connection of that name."""
    old = await connected(raw_peers, server, "ada", "lobby")
    session = old.of("welcome")[0]["session"]
    new = raw_peers()
    await new.connect(server.url, {"name": "ada", "session": session, "rooms": ["lobby"]})
    await old.wait(lambda: old.disconnects, "the old connection to close")
    assert old.of("notice") == [{"text": "You connected again from somewhere else: "
                                         "this connection is closed."}]
    assert old.disconnects == ["server disconnect"]
    await new.wait(lambda: new.of("welcome"), "welcome")
    assert new.of("welcome")[0] == {"name": "ada", "session": session,
                                    "history": server.store.history_id}
    assert (await new.call("say", {"room": "lobby", "text": "still me"}))["ok"]
    assert server.snapshot() == {NS: {"lobby": ["ada"]}}


# -- rooms ---------------------------------------------------------------------------------

async def test_join_acks_members_and_history_and_announces_presence(server, raw_peers):
    """join acks {ok, room, members, history}; everyone in the room gets presence."""
    bob = await connected(raw_peers, server, "bob", "lobby")
    said = await bob.call("say", {"room": "lobby", "text": "before ada"})
    ada = await connected(raw_peers, server, "ada")
    ack = await ada.call("join", {"room": "lobby"})
    assert ack["ok"] is True and ack["room"] == "lobby" and ack["members"] == ["ada", "bob"]
    [message] = ack["history"]
    assert set(message) == {"id", "room", "name", "text", "ts"}
    assert (message["id"], message["room"], message["name"], message["text"]) == (
        said["id"], "lobby", "bob", "before ada")
    assert isinstance(message["ts"], float)
    expected = {"room": "lobby", "members": ["ada", "bob"]}
    await bob.wait(lambda: expected in bob.of("presence"), "presence with ada")
    await ada.wait(lambda: expected in ada.of("presence"), "ada's own presence")


async def test_join_history_carries_the_last_messages(raw_peers):
    """The join ack holds the room's last `limits.history` messages, oldest first."""
    server = ChatServer(limits=Limits(history=3))
    await server.start(name="chat-test")
    bob = await connected(raw_peers, server, "bob", "lobby")
    for n in range(5):
        await bob.call("say", {"room": "lobby", "text": str(n)})
    ada = await connected(raw_peers, server, "ada")
    ack = await ada.call("join", {"room": "lobby"})
    assert [m["text"] for m in ack["history"]] == ["2", "3", "4"]
    await server.stop()


async def test_leave_acks_and_tells_who_is_left(server, raw_peers):
    """leave acks {ok: true}; the others get presence without the leaver."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    assert await ada.call("leave", {"room": "lobby"}) == {"ok": True}
    await bob.wait(lambda: {"room": "lobby", "members": ["bob"]} in bob.of("presence"),
                   "presence without ada")
    assert server.snapshot() == {NS: {NO_ROOM: ["ada"], "lobby": ["bob"]}}


async def test_disconnect_tells_the_rooms(server, raw_peers):
    """When a member's connection ends, the rest of its rooms get presence."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    await ada.disconnect()
    await bob.wait(lambda: {"room": "lobby", "members": ["bob"]} in bob.of("presence"),
                   "presence without ada")
    await bob.wait(lambda: "ada disconnected (transport close)" in server.log, "the log line")


@pytest.mark.parametrize(("event", "args", "error"), [
    ("join", ({"room": "no spaces"},), "Room names use only letters A-Z, digits, '_' and '-' (not 'no spaces')."),
    ("join", ({"room": "r" * 33},), "The room name is too long (33 characters): at most 32."),
    ("join", ({"room": ""},), "The room name is empty."),
    ("join", ({},), 'join needs a "room", as in {"room": "lobby"}.'),
    ("join", ("lobby",), 'join takes one object like {"room": "lobby"}, not the text \'lobby\'.'),
    ("join", ({"room": 5},), "A room name is text, not a number (5)."),
    ("join", ({"room": "lobby"}, "extra"), 'join takes one object like {"room": "lobby"}, not a list.'),
    ("join", (), 'join takes one object like {"room": "lobby"}, not nothing (null).'),
    ("join", ({"room": "lobby"},), "You are already in room 'lobby'."),
    ("leave", ({"room": "games"},), "You are not in room 'games'."),
    ("leave", ([],), 'leave takes one object like {"room": "lobby"}, not a list.'),
    ("say", ({"room": "lobby", "text": ""},), "The message is empty: say something."),
    ("say", ({"room": "lobby", "text": "x" * 2001},), "The message is too long (2001 characters): at most 2000."),
    ("say", ({"room": "lobby"},), 'say needs a "text", as in {"room": "lobby", "text": "hello"}.'),
    ("say", ({"text": "hi"},), 'say needs a "room", as in {"room": "lobby", "text": "hello"}.'),
    ("say", ({"room": "lobby", "text": ["hi"]},), "The text of a message is text, not a list."),
    ("say", ({"room": "lobby", "text": "hi", "client_id": 7},), '"client_id" is text of 1 to 64 characters that you choose for each message.'),
    ("say", ({"room": "games", "text": "hi"},), "Join room 'games' before saying something there."),
    ("say", (42,), 'say takes one object like {"room": "lobby", "text": "hello"}, not a number (42).'),
])
async def test_refusals_are_error_acks_with_a_sentence(server, raw_peers, event, args, error):
    """Every refused request is acked {"ok": false, "error": <sentence>}; the client stays."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    assert await ada.call(event, *args) == {"ok": False, "error": error}
    assert ada.connected
    assert (await ada.call("say", {"room": "lobby", "text": "still here"}))["ok"]


# -- messages ------------------------------------------------------------------------------

async def test_say_reaches_every_member_including_the_sender_and_no_one_else(server, raw_peers):
    """say acks {ok, id}; members get `said` with the message; other rooms get nothing."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    eve = await connected(raw_peers, server, "eve", "games")
    ack = await ada.call("say", {"room": "lobby", "text": "hello"})
    assert set(ack) == {"ok", "id"} and ack["ok"] is True and isinstance(ack["id"], int)
    for peer in (ada, bob):
        [message] = await peer.wait(lambda peer=peer: peer.of("said"), "said")
        assert {k: message[k] for k in ("id", "room", "name", "text")} == {
            "id": ack["id"], "room": "lobby", "name": "ada", "text": "hello"}
    await eve.call("say", {"room": "games", "text": "marker"})
    await eve.wait(lambda: eve.of("said"), "eve's own message")
    assert [m["text"] for m in eve.of("said")] == ["marker"]


async def test_ids_increase_across_rooms(server, raw_peers):
    """Ids form one increasing sequence over the whole server."""
    ada = await connected(raw_peers, server, "ada", "a", "b")
    ids = [(await ada.call("say", {"room": room, "text": "x"}))["id"] for room in "abab"]
    assert ids == sorted(ids) and len(set(ids)) == 4


async def test_same_client_id_is_acked_with_the_same_id_and_not_broadcast_again(server, raw_peers):
    """A say repeated with its client_id gets the first id; members see it once."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    first = await ada.call("say", {"room": "lobby", "text": "once", "client_id": "c-1"})
    again = await ada.call("say", {"room": "lobby", "text": "whatever", "client_id": "c-1"})
    assert again == first
    marker = await ada.call("say", {"room": "lobby", "text": "marker"})
    await bob.wait(lambda: marker["id"] in said_ids(bob), "the marker")
    assert [m["text"] for m in bob.of("said")] == ["once", "marker"]


async def test_oversized_payload_ends_only_that_connection(raw_peers):
    """A packet over max_http_buffer_size closes its connection; others keep talking."""
    server = ChatServer(max_http_buffer_size=10_000)
    await server.start(name="chat-test")
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    await ada.emit("say", {"room": "lobby", "text": "x" * 20_000})
    await ada.wait(lambda: ada.disconnects, "ada's connection to end")
    assert (await bob.call("say", {"room": "lobby", "text": "still serving"}))["ok"]
    await bob.wait(lambda: {"room": "lobby", "members": ["bob"]} in bob.of("presence"),
                   "presence without ada")
    late = raw_peers()
    await late.connect(server.url, {"name": "ada"})  # the name is free again
    await server.stop()


async def test_malformed_frames_never_crash_the_server(server, raw_peers):
    """Malformed frames are survived; an undecodable one ends only its connection, at once."""
    bob = await connected(raw_peers, server, "bob", "lobby")
    url = f"{server.url}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url) as websocket:
            await websocket.receive(timeout=timeout(5))  # engine.io open
            await websocket.send_str('40/chat,{"name":"ada"}')
            await running.wait_for(lambda: "ada connected" in server.log, timeout(5))
            for frame in ['42/chat,[]', '42/chat,5', '42/chat,[null]', '42/chat,1["say"]']:
                await websocket.send_str(frame)
            await websocket.send_str('42/chat,9["join",{"room":"lobby"}]')
            answers = []
            while not any(text.startswith("43/chat,9") for text in answers):
                answers.append((await websocket.receive(timeout=timeout(5))).data)
            assert '43/chat,9[{"ok":true,"room":"lobby","members":["ada","bob"],"history":[]}]' in answers
            await websocket.send_str("not engine.io at all")
            closing = await websocket.receive(timeout=timeout(5))
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1002
    await bob.wait(lambda: "ada disconnected (transport error)" in server.log, "ada's end")
    assert server.snapshot() == {NS: {"lobby": ["bob"]}}
    assert (await bob.call("say", {"room": "lobby", "text": "still serving"}))["ok"]
    await server.stop()
    assert not server_tasks(server.sio)


# -- resume --------------------------------------------------------------------------------

async def test_resume_replays_missed_messages_in_order_before_newer_ones(server, raw_peers):
    """Reconnecting with rooms and offset replays every missed `said`, then live ones."""
    ada = await connected(raw_peers, server, "ada", "lobby", "games")
    bob = await connected(raw_peers, server, "bob", "lobby", "games", "other")
    for n in range(3):
        await bob.call("say", {"room": "lobby", "text": f"seen {n}"})
    await ada.wait(lambda: len(ada.of("said")) == 3, "three messages")
    offset = said_ids(ada)[-1]
    session = ada.of("welcome")[0]["session"]
    await ada.disconnect()
    missed = []
    for n, room in enumerate(["lobby", "games", "other", "lobby"]):
        missed.append((await bob.call("say", {"room": room, "text": f"missed {n}"}))["id"])
    back = raw_peers()
    await back.connect(server.url, {"name": "ada", "session": session,
                                    "rooms": ["lobby", "games"], "offset": offset})
    live = (await bob.call("say", {"room": "games", "text": "live"}))["id"]
    await back.wait(lambda: live in said_ids(back), "the live message")
    assert [event for event, _ in back.events][:4] == ["welcome", "said", "said", "said"]
    assert said_ids(back) == [missed[0], missed[1], missed[3], live]  # not "other"
    assert server.snapshot()[NS]["games"] == ["ada", "bob"]


async def test_rooms_without_offset_rejoin_without_replay(server, raw_peers):
    """auth rooms without an offset put the client back in its rooms, replaying nothing."""
    bob = await connected(raw_peers, server, "bob", "lobby")
    await bob.call("say", {"room": "lobby", "text": "old"})
    ada = raw_peers()
    await ada.connect(server.url, {"name": "ada", "rooms": ["lobby"]})
    live = (await bob.call("say", {"room": "lobby", "text": "new"}))["id"]
    await ada.wait(lambda: ada.of("said"), "the live message")
    assert said_ids(ada) == [live]
    await bob.wait(lambda: {"room": "lobby", "members": ["ada", "bob"]} in bob.of("presence"),
                   "presence with ada")


async def test_sqlite_keeps_ids_history_and_resume_across_a_restart(tmp_path, raw_peers):
    """Restarted on the same --db file, ids continue and a client resumes what it missed."""
    db = tmp_path / "chat.db"
    first = ChatServer(db=db)
    await first.start(name="chat-test")
    ada = await connected(raw_peers, first, "ada", "lobby")
    seen = (await ada.call("say", {"room": "lobby", "text": "one", "client_id": "m1"}))["id"]
    await ada.call("say", {"room": "lobby", "text": "two"})
    await first.stop()

    second = ChatServer(db=db)
    await second.start(name="chat-test")
    back = raw_peers()
    await back.connect(second.url, {"name": "ada", "rooms": ["lobby"], "offset": seen})
    await back.wait(lambda: back.of("said"), "the replay")
    assert [m["text"] for m in back.of("said")] == ["two"]
    assert await back.call("say", {"room": "lobby", "text": "again", "client_id": "m1"}) == {
        "ok": True, "id": seen}
    assert (await back.call("say", {"room": "lobby", "text": "three"}))["id"] == seen + 2
    bob = await connected(raw_peers, second, "bob")
    history = (await bob.call("join", {"room": "lobby"}))["history"]
    assert [m["text"] for m in history] == ["one", "two", "three"]
    await second.stop()


# -- transports, shutdown, introspection ----------------------------------------------------

async def test_permessage_deflate_is_refused(server):
    """A WebSocket client offering compression gets an uncompressed connection."""
    url = f"{server.url}/socket.io/?EIO=4&transport=websocket"
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, compress=15) as websocket:
            assert websocket.compress == 0
            opening = await websocket.receive(timeout=timeout(5))
            assert opening.data.startswith('0{"sid"')


@pytest.mark.parametrize("transports", [["polling"], None], ids=["polling", "upgrade"])
async def test_polling_and_upgrading_clients_work(server, raw_peers, transports):
    """Long-polling clients, and those that upgrade like browsers, chat too."""
    ada = raw_peers()
    await ada.connect(server.url, {"name": "ada"}, transports=transports)
    await ada.wait(lambda: ada.of("welcome"), "welcome")
    assert (await ada.call("join", {"room": "lobby"}))["ok"]
    ack = await ada.call("say", {"room": "lobby", "text": "polled"})
    await ada.wait(lambda: ack["id"] in said_ids(ada), "the message")
    await asyncio.wait_for(server.stop(), timeout(5))
    await ada.wait(lambda: ada.disconnects, "the client to notice")


async def test_stop_is_idempotent_and_leaves_no_tasks(raw_peers):
    """stop() twice is fine; afterwards no socketio/engineio/aiohttp task is left."""
    server = ChatServer(ping_interval=2, ping_timeout=2)
    await server.start(name="chat-test")
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    await ada.call("say", {"room": "lobby", "text": "hi"})
    await server.stop()
    await server.stop()
    for peer in (ada, bob):
        await peer.wait(lambda peer=peer: peer.disconnects, "the client to notice")
        # A lost connection, not a goodbye: clients that reconnect will come back.
        assert peer.disconnects == ["transport error"]
        await peer.disconnect()
    await running.wait_for(lambda: not library_tasks(), timeout(5), what="no library task")
    assert server.url is None and running.running() == {}


async def test_server_side_leaves_no_tasks_right_after_stop(server, raw_peers):
    """The server's own tasks (ping tasks included) are gone as soon as stop() returns."""
    ada = await connected(raw_peers, server, "ada", "lobby")
    await ada.call("say", {"room": "lobby", "text": "hi"})
    await server.stop()
    assert not server_tasks(server.sio)


async def test_a_never_started_server_stops_quietly(tmp_path):
    """stop() on a server that never started only closes its store."""
    server = ChatServer(db=tmp_path / "chat.db")
    await server.stop()
    await server.stop()
    with pytest.raises(RuntimeError, match="already started"):
        await server.start()


async def test_start_twice_is_refused_and_a_rerun_replaces_the_old_server(server):
    """A ChatServer starts once; a new one under the same name stops the old one."""
    with pytest.raises(RuntimeError, match="make a new one"):
        await server.start(name="chat-test")
    newer = ChatServer()
    handle = await newer.start(name="chat-test")
    assert server.url is None and newer.url == handle.url
    assert running.running() == {"chat-test": handle.url}
    await newer.stop()


async def test_snapshot_maps_namespaces_rooms_and_names(server, raw_peers):
    """snapshot() returns plain data: namespaces -> rooms -> member names."""
    assert server.snapshot() == {}
    await connected(raw_peers, server, "ada", "lobby", "games")
    await connected(raw_peers, server, "bob", "lobby")
    await connected(raw_peers, server, "cy")
    assert server.snapshot() == {NS: {NO_ROOM: ["cy"], "games": ["ada"],
                                      "lobby": ["ada", "bob"]}}
    personal = server.snapshot(personal_rooms=True)[NS]
    assert personal["private: ada"] == ["ada"] and len(personal) == 6
    server.snapshot()[NS]["lobby"].append("mallory")  # a copy: changing it changes nothing
    assert server.snapshot()[NS]["lobby"] == ["ada", "bob"]


async def test_log_has_one_line_per_connect_and_disconnect(server, raw_peers):
    """server.log reads like a teacher's console."""
    ada = await connected(raw_peers, server, "ada")
    refused = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.connect(server.url, {"name": "ada"})
    await ada.disconnect()
    await running.wait_for(lambda: len(server.log) == 3, timeout(5), what="three log lines")
    assert list(server.log) == [
        "ada connected",
        "refused a connection: The name 'ada' is taken by someone connected now. "
        "Pick another name.",
        "ada disconnected (transport close)",
    ]


async def test_db_and_store_together_are_refused(tmp_path):
    """Giving both a db file and a store is a mistake reported at once."""
    from chatkit.store import MemoryStore
    with pytest.raises(ValueError, match="either db"):
        ChatServer(db=tmp_path / "x.db", store=MemoryStore())


# -- limits ----------------------------------------------------------------------------------

async def test_a_flooding_client_is_throttled_with_a_notice_while_others_still_arrive(raw_peers):
    """Past its burst a client's say is refused and it gets one notice; bob is heard."""
    server = ChatServer(limits=Limits(messages_per_second=0.01, burst=3))
    await server.start(name="chat-test")
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    acks = [await ada.call("say", {"room": "lobby", "text": f"flood {n}"}) for n in range(6)]
    assert [ack["ok"] for ack in acks] == [True] * 3 + [False] * 3
    assert acks[3]["error"].startswith("You are sending messages too fast: wait ")
    assert (await bob.call("say", {"room": "lobby", "text": "I am heard"}))["ok"]
    await ada.wait(lambda: "I am heard" in [m["text"] for m in ada.of("said")], "bob's message")
    assert [m["text"] for m in ada.of("said")] == ["flood 0", "flood 1", "flood 2", "I am heard"]
    assert ada.of("notice") == [{"text": "Slow down: you may say at most 0.01 messages per "
                                         "second. Messages sent faster are refused."}]
    assert bob.of("notice") == [] and ada.connected
    await server.stop()


async def test_a_full_server_refuses_newcomers_with_a_message(raw_peers):
    """Past `limits.clients` a connection is refused with a sentence."""
    server = ChatServer(limits=Limits(clients=1))
    await server.start(name="chat-test")
    await connected(raw_peers, server, "ada")
    bob = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bob.connect(server.url, {"name": "bob"})
    assert bob.refusals[0]["message"].startswith("The chat is full: 1 people are connected")
    await server.stop()


# -- the teacher's tools ---------------------------------------------------------------------

TOKEN = "teacher-s3cret"


@pytest.fixture
async def classroom(raw_peers):
    """A server with a teacher token, and a way to connect teachers (closed at the end)."""
    server = ChatServer(teacher_token=TOKEN, limits=Limits(kick_seconds=60))
    await server.start(name="chat-test")

    async def teacher(auth=None):
        tools = raw_peers(protocol.TEACHER)
        await tools.connect(server.url, {"token": TOKEN} if auth is None else auth)
        return tools

    yield server, teacher
    await raw_peers.close_all()  # clients leave before the server goes
    await server.stop()


@pytest.mark.parametrize(("token", "auth", "message"), [
    (TOKEN, {}, "The teacher's tools need the teacher token: connect with auth "
                '{"token": "..."}. It was printed when the server started.'),
    (TOKEN, {"token": "guess"}, "Wrong teacher token: check what the server printed at start."),
    (None, {"token": TOKEN}, "This server has no teacher token, so its teacher's tools are "
                             "closed: start it with one."),
])
async def test_the_teacher_namespace_refuses_a_missing_or_wrong_token(raw_peers, token, auth,
                                                                      message):
    """/teacher without the right token is refused with a sentence, and the server runs on."""
    server = ChatServer(teacher_token=token)
    await server.start(name="chat-test")
    teacher = raw_peers(protocol.TEACHER)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await teacher.connect(server.url, auth)
    assert teacher.refusals == [{"message": message}]
    assert [line for line in server.log if line.startswith(
        f"refused a teacher connection: {message}")]
    await teacher.disconnect()
    await server.stop()


async def test_a_student_connection_does_not_open_the_teachers_tools(classroom, raw_peers):
    """The join code or a chat session is no teacher token."""
    server, teacher = classroom
    ada = await connected(raw_peers, server, "ada")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await teacher({"name": "ada", "session": ada.of("welcome")[0]["session"]})


async def test_teacher_rooms_lists_rooms_and_people(classroom, raw_peers):
    """rooms answers {ok, rooms: {room: [names]}, people}; it takes {} or nothing."""
    server, teacher = classroom
    await connected(raw_peers, server, "ada", "lobby", "games")
    await connected(raw_peers, server, "bob", "lobby")
    await connected(raw_peers, server, "cy")
    tools = await teacher()
    expected = {"ok": True, "rooms": {"games": ["ada"], "lobby": ["ada", "bob"]},
                "people": ["ada", "bob", "cy"]}
    assert await tools.call("rooms") == expected
    assert await tools.call("rooms", {}) == expected
    assert server.snapshot()["/teacher"] == {NO_ROOM: ["teacher"]}


async def test_kick_disconnects_with_a_notice_and_the_name_cannot_rejoin(classroom, raw_peers):
    """A kicked student gets a notice, is disconnected, and is refused for the kick period."""
    server, teacher = classroom
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    tools = await teacher()
    assert await tools.call("kick", {"name": "ada"}) == {"ok": True}
    await ada.wait(lambda: ada.disconnects, "ada to be disconnected")
    assert ada.of("notice") == [{"text": "The teacher removed you from the chat. "
                                         "You can come back in 60 s."}]
    assert ada.disconnects == ["server disconnect"]
    await bob.wait(lambda: {"room": "lobby", "members": ["bob"]} in bob.of("presence"),
                   "presence without ada")
    again = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(server.url, {"name": "ada"})
    message = again.refusals[0]["message"]
    assert message.startswith("The teacher removed 'ada' from the chat: you can come back in ")
    assert "the teacher kicked ada out for 60 s" in server.log
    assert (await tools.call("rooms"))["people"] == ["bob"]


async def test_a_kick_and_a_mute_survive_a_restart_on_the_same_db(tmp_path, raw_peers):
    """A server restarted on its --db file still refuses the kicked name and the muted say."""
    db = tmp_path / "chat.db"
    first = ChatServer(db=db, teacher_token=TOKEN)
    await first.start(name="chat-test")
    await connected(raw_peers, first, "ada")
    await connected(raw_peers, first, "bob", "lobby")
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(first.url, {"token": TOKEN})
    assert await tools.call("kick", {"name": "ada"}) == {"ok": True}
    assert await tools.call("mute", {"name": "bob", "seconds": 600}) == {"ok": True}
    await raw_peers.close_all()
    await first.stop()

    again = ChatServer(db=db)
    await again.start(name="chat-test")
    ada = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await ada.connect(again.url, {"name": "ada"})
    assert ada.refusals[0]["message"].startswith("The teacher removed 'ada' from the chat")
    bob = await connected(raw_peers, again, "bob", "lobby")
    ack = await bob.call("say", {"room": "lobby", "text": "still muted?"})
    assert ack["ok"] is False and ack["error"].startswith("The teacher muted you")
    await again.stop()


async def test_mute_refuses_say_with_how_long_is_left(classroom, raw_peers):
    """A muted student is told, and its say is refused with the time left; others speak."""
    server, teacher = classroom
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "lobby")
    tools = await teacher()
    assert await tools.call("mute", {"name": "ada", "seconds": 120}) == {"ok": True}
    refused = await ada.call("say", {"room": "lobby", "text": "hello?"})
    assert refused["ok"] is False
    assert refused["error"].startswith("The teacher muted you: you can speak again in 1")
    assert (await bob.call("say", {"room": "lobby", "text": "I can"}))["ok"]
    await ada.wait(lambda: ada.of("said"), "bob's message")
    assert ada.of("notice") == [{"text": "The teacher muted you for 120 s."}]
    assert await tools.call("mute", {"name": "ada", "seconds": 0}) == {"ok": True}
    assert (await ada.call("say", {"room": "lobby", "text": "back"}))["ok"]


async def test_announce_reaches_a_room_or_everyone(classroom, raw_peers):
    """announce with a room is a notice to that room only; without, to every student."""
    server, teacher = classroom
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "games")
    cy = await connected(raw_peers, server, "cy")
    tools = await teacher()
    assert await tools.call("announce", {"text": "lobby only", "room": "lobby"}) == {"ok": True}
    assert await tools.call("announce", {"text": "Break until 11:00"}) == {"ok": True}
    for peer in (ada, bob, cy):
        await peer.wait(lambda peer=peer: {"text": "Break until 11:00"} in peer.of("notice"),
                        "the announcement to everyone")
    assert ada.of("notice") == [{"text": "lobby only", "room": "lobby"},
                                {"text": "Break until 11:00"}]
    assert bob.of("notice") == cy.of("notice") == [{"text": "Break until 11:00"}]


@pytest.mark.parametrize(("event", "args", "error"), [
    ("kick", ({"name": "zed"},), "Nobody named 'zed' is connected."),
    ("kick", ("ada",), 'kick takes one object like {"name": "ada"}, not the text \'ada\'.'),
    ("kick", (), 'kick takes one object like {"name": "ada"}, not nothing (null).'),
    ("mute", ({"name": "ada"},), 'mute needs a "seconds", as in {"name": "ada", "seconds": 60}.'),
    ("mute", ({"name": "ada", "seconds": -5},),
     '"seconds" is how long to mute for: a number from 0 (to lift a mute) to 86,400, '
     "not a number (-5)."),
    ("announce", ({"text": "hi", "room": "attic"},), "Nobody is in room 'attic' now, so nobody "
                                                     "would hear it."),
    ("announce", ({"text": ""},), "The message is empty: say something."),
    ("rooms", ("all",), "rooms takes nothing, or {}."),
])
async def test_teacher_refusals_are_error_acks_with_a_sentence(classroom, raw_peers, event, args,
                                                               error):
    """Every refused teacher request is acked {"ok": false, "error"}; the teacher stays."""
    server, teacher = classroom
    await connected(raw_peers, server, "ada", "lobby")
    tools = await teacher()
    assert await tools.call(event, *args) == {"ok": False, "error": error}
    assert tools.connected and (await tools.call("rooms"))["ok"]


async def test_teacher_unknown_events_and_chat_events_are_ignored(classroom, caplog):
    """/teacher ignores events it does not know (say, join...) without an ack or a crash."""
    server, teacher = classroom
    tools = await teacher()
    caplog.set_level(logging.INFO, logger="chatkit.server")
    for event in ("say", "shutdown", "disconnect"):
        await tools.emit(event, {})
    assert (await tools.call("rooms"))["ok"]  # answered after the events above were handled
    assert "ignored unknown event 'shutdown' from teacher" in caplog.text
    assert "ignored an event named 'disconnect' from teacher" in caplog.text


async def test_teacher_connections_are_logged(classroom):
    """A teacher's connect and disconnect are one log line each."""
    server, teacher = classroom
    tools = await teacher()
    await tools.disconnect()
    await running.wait_for(lambda: any(line.startswith("a teacher disconnected")
                                       for line in server.log), timeout(5), what="the log line")
    assert "a teacher connected" in server.log


# -- scaling out: several servers on one Redis -----------------------------------------------

@pytest.fixture
async def two_servers(redis_url):  # noqa: F811 (a fixture)
    """Two ChatServers sharing one fresh Redis (as two processes would), with a teacher token."""
    servers = [ChatServer(redis=redis_url, teacher_token=TOKEN, ping_interval=1,
                          ping_timeout=1) for _ in range(2)]
    for number, server in enumerate(servers):
        await server.start(name=f"chat-test-{number}")
    yield servers
    for server in servers:
        await server.stop()


async def test_clients_of_two_servers_hear_each_other_in_order(two_servers, raw_peers):
    """ada on one server, bob on the other: each hears both, once each, in id order."""
    first, second = two_servers
    ada = await connected(raw_peers, first, "ada", "lobby")
    bob = await connected(raw_peers, second, "bob", "lobby")
    acks = []
    for speaker, text in [(ada, "a1"), (bob, "b1"), (ada, "a2"), (bob, "b2")]:
        acks.append((await speaker.call("say", {"room": "lobby", "text": text}))["id"])
    assert acks == [1, 2, 3, 4]
    for peer in (ada, bob):
        await peer.wait(lambda peer=peer: len(peer.of("said")) == 4, "four messages")
        assert [(m["id"], m["text"]) for m in peer.of("said")] == [
            (1, "a1"), (2, "b1"), (3, "a2"), (4, "b2")]
    assert {"room": "lobby", "members": ["ada", "bob"]} in ada.of("presence")


async def test_many_speakers_on_two_servers_are_heard_in_one_order(two_servers, raw_peers):
    """Three talkers on each server at once: every listener gets every message in id order."""
    first, second = two_servers
    talkers = [await connected(raw_peers, server, f"{server_name}{n}", "lobby")
               for server, server_name in ((first, "a"), (second, "b")) for n in range(3)]

    async def talk(peer):
        return [(await peer.call("say", {"room": "lobby", "text": f"{n}"}))["id"]
                for n in range(15)]

    said = sorted(i for ids in await asyncio.gather(*map(talk, talkers)) for i in ids)
    assert said == list(range(1, len(said) + 1))
    for peer in talkers:
        await peer.wait(lambda peer=peer: len(peer.of("said")) == len(said), "every message")
        assert said_ids(peer) == said


async def test_names_history_and_ids_are_shared_by_two_servers(two_servers, raw_peers):
    """A name in use on one server is taken on the other; history and ids are one."""
    first, second = two_servers
    ada = await connected(raw_peers, first, "ada", "lobby")
    said = await ada.call("say", {"room": "lobby", "text": "from the first"})
    again = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await again.connect(second.url, {"name": "ada"})
    assert again.refusals[0]["message"] == ("The name 'ada' is taken by someone connected "
                                            "now. Pick another name.")
    bob = await connected(raw_peers, second, "bob")
    joined = await bob.call("join", {"room": "lobby"})
    assert joined["members"] == ["ada", "bob"]
    assert [m["id"] for m in joined["history"]] == [said["id"]]
    assert (await bob.call("say", {"room": "lobby", "text": "x"}))["id"] == said["id"] + 1


async def test_a_client_resumes_on_the_other_server_and_misses_nothing(two_servers, raw_peers):
    """With its session, ada takes her name over on the other server and gets what she missed."""
    first, second = two_servers
    ada = await connected(raw_peers, first, "ada", "lobby")
    bob = await connected(raw_peers, second, "bob", "lobby")
    seen = (await bob.call("say", {"room": "lobby", "text": "seen"}))["id"]
    await ada.wait(lambda: said_ids(ada) == [seen], "the first message")
    session = ada.of("welcome")[0]["session"]
    missed = [(await bob.call("say", {"room": "lobby", "text": f"m{n}"}))["id"] for n in range(3)]
    back = raw_peers()
    await back.connect(second.url, {"name": "ada", "session": session, "rooms": ["lobby"],
                                    "offset": seen})
    await ada.wait(lambda: ada.disconnects, "the old connection to be closed")
    assert ada.disconnects == ["server disconnect"]
    await back.wait(lambda: len(back.of("said")) == 3, "the replay")
    later = (await bob.call("say", {"room": "lobby", "text": "later"}))["id"]
    await back.wait(lambda: said_ids(back) == [*missed, later], "replay, then live")


async def test_the_teacher_on_one_server_reaches_students_on_the_other(two_servers, raw_peers):
    """rooms lists everyone; kick, mute and announce reach a student of the other server."""
    first, second = two_servers
    ada = await connected(raw_peers, first, "ada", "lobby")
    bob = await connected(raw_peers, second, "bob", "lobby")
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(first.url, {"token": TOKEN})
    assert await tools.call("rooms") == {"ok": True, "rooms": {"lobby": ["ada", "bob"]},
                                         "people": ["ada", "bob"]}
    assert await tools.call("announce", {"text": "hello all", "room": "lobby"}) == {"ok": True}
    assert await tools.call("mute", {"name": "bob", "seconds": 60}) == {"ok": True}
    refused = await bob.call("say", {"room": "lobby", "text": "hi"})
    assert refused["error"].startswith("The teacher muted you")
    assert await tools.call("kick", {"name": "bob"}) == {"ok": True}
    await bob.wait(lambda: bob.disconnects, "bob to be put out")
    assert [n["text"] for n in bob.of("notice")] == [
        "hello all", "The teacher muted you for 60 s.",
        "The teacher removed you from the chat. You can come back in 60 s."]
    await ada.wait(lambda: {"room": "lobby", "members": ["ada"]} in ada.of("presence"),
                   "presence without bob")
    for server in two_servers:
        again = raw_peers()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await again.connect(server.url, {"name": "bob"})
        assert again.refusals[0]["message"].startswith("The teacher removed 'bob'")
    await tools.disconnect()


async def test_a_stopped_server_leaves_the_roster(two_servers, raw_peers):
    """When a server stops, its students' names are free on the others at once."""
    first, second = two_servers
    await connected(raw_peers, first, "ada")
    await first.stop()
    ada = await connected(raw_peers, second, "ada")
    assert ada.connected


async def test_an_unreachable_redis_is_a_clear_error():
    """start() with a Redis nobody listens at raises ConnectionError naming it."""
    server = ChatServer(redis="redis://127.0.0.1:1/0")
    with pytest.raises(ConnectionError, match="cannot reach Redis at redis://127.0.0.1:1/0"):
        await server.start(name="chat-test")
    await server.stop()


# == issue 14, item 3: every input gets its answer, on every store ===========================
# Each input here once got "the server failed", no answer, or an accepted connection that
# then died in a task; now each gets a sentence, the same on the memory and SQLite stores.

HOSTILE_CODE = "maple-otter-42"


@pytest.fixture(params=["memory", "sqlite"])
async def hostile_server(request, tmp_path):
    """A server with a join code and a teacher token, on each store."""
    db = tmp_path / "chat.db" if request.param == "sqlite" else None
    chat_server = ChatServer(join_code=HOSTILE_CODE, teacher_token=TOKEN, db=db,
                             ping_interval=1, ping_timeout=1)  # long-polls end quickly
    await chat_server.start(name="chat-test")
    yield chat_server
    await chat_server.stop()


def tracebacks(caplog):
    """The log records that carry a traceback: none may come from a client's input."""
    return [record.getMessage() for record in caplog.records if record.exc_info]


async def refused_with(raw_peers, url, auth, namespace=NS, transports=("websocket",)):
    """The connect_error sentence ``auth`` gets (a refusal, never silence)."""
    peer = raw_peers(namespace)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await peer.connect(url, auth, transports=transports)
    assert len(peer.refusals) == 1, peer.refusals
    return peer.refusals[0]["message"]


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
@pytest.mark.parametrize(("namespace", "auth", "error"), [
    (NS, {"name": "ada", "code": "\ud800"}, "Wrong join code: check it with your teacher."),
    (NS, {"name": "ada", "code": f" {HOSTILE_CODE}\udfff "},
     "Wrong join code: check it with your teacher."),
    (protocol.TEACHER, {"token": "\ud800"},
     "Wrong teacher token: check what the server printed at start."),
    (protocol.TEACHER, {"token": f"{TOKEN}\udc80"},
     "Wrong teacher token: check what the server printed at start."),
])
async def test_a_lone_surrogate_in_the_code_or_the_token_is_just_wrong(
        hostile_server, raw_peers, caplog, transports, namespace, auth, error):
    """A lone surrogate in `code` or in the /teacher `token` is refused with the usual
    sentence (it was "the server failed", and no answer at all for the token), over
    WebSocket and long-polling; the server serves on."""
    assert (await refused_with(raw_peers, hostile_server.url, auth, namespace, transports)
            ).startswith(error)
    assert tracebacks(caplog) == []
    ada = await connected(raw_peers, hostile_server, "ada", "lobby", code=HOSTILE_CODE)
    assert (await ada.call("say", {"room": "lobby", "text": "still serving"}))["ok"]


async def test_a_non_ascii_session_is_just_not_the_secret(hostile_server, raw_peers, caplog):
    """A `session` hmac cannot compare as str (non-ASCII, a lone surrogate) is no secret:
    the name stays taken; the real secret still takes it over."""
    ada = await connected(raw_peers, hostile_server, "ada", code=HOSTILE_CODE)
    for session in ("é", "\ud800", "秘密" * 30):
        assert await refused_with(raw_peers, hostile_server.url, {
            "name": "ada", "code": HOSTILE_CODE, "session": session}) == (
            "The name 'ada' is taken by someone connected now. Pick another name.")
    assert tracebacks(caplog) == []
    again = await connected(raw_peers, hostile_server, "ada", code=HOSTILE_CODE,
                            session=ada.of("welcome")[0]["session"])
    await ada.wait(lambda: ada.disconnects, "the old connection to be closed")
    assert again.connected


@pytest.mark.parametrize(("field", "value", "error"), [
    ("text", "hi\ud800", "The message holds half of a UTF-16 pair on its own (U+D800), "
                         "which the chat cannot keep: remove it and send it again."),
    ("text", "hi\x00", "The message holds a NUL character (U+0000), which the chat "
                       "cannot keep: remove it and send it again."),
    ("client_id", "\udfff", '"client_id" holds half of a UTF-16 pair on its own (U+DFFF), '
                            "which the chat cannot keep: use plain text (a UUID is fine)."),
    ("client_id", "c\x001", '"client_id" holds a NUL character (U+0000), which the chat '
                            "cannot keep: use plain text (a UUID is fine)."),
])
async def test_text_no_store_can_keep_is_refused_alike_on_every_store(
        hostile_server, raw_peers, caplog, field, value, error):
    """A lone surrogate or NUL in `text` or `client_id` is refused with a sentence on
    memory and SQLite alike (SQLite failed with "the server failed", memory took it);
    nothing is kept or said, and the next message gets the first id."""
    ada = await connected(raw_peers, hostile_server, "ada", "lobby", code=HOSTILE_CODE)
    bob = await connected(raw_peers, hostile_server, "bob", "lobby", code=HOSTILE_CODE)
    say = {"room": "lobby", "text": "hi", "client_id": "c1"} | {field: value}
    assert await ada.call("say", say) == {"ok": False, "error": error}
    assert await ada.call("say", {"room": "lobby", "text": "then this"}) == {"ok": True, "id": 1}
    await bob.wait(lambda: bob.of("said"), "the next message")
    assert [message["text"] for message in bob.of("said")] == ["then this"]
    assert tracebacks(caplog) == []


async def test_an_announce_no_store_can_keep_is_refused(hostile_server, raw_peers):
    """The teacher's `announce` follows the text rules too."""
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(hostile_server.url, {"token": TOKEN})
    assert (await tools.call("announce", {"text": "break\ud800"}))["error"].startswith(
        "The message holds half of a UTF-16 pair on its own (U+D800)")


async def test_an_offset_past_every_id_is_refused_with_a_sentence(hostile_server, raw_peers,
                                                                 caplog):
    """`offset` 2**63 was accepted, then raised OverflowError in the welcome's task on
    SQLite (no welcome, no presence): now every store refuses it at connect."""
    assert await refused_with(raw_peers, hostile_server.url, {
        "name": "ada", "code": HOSTILE_CODE, "rooms": ["lobby"], "offset": 2**63}) == (
        '"offset" is too big to be a message id (the largest is 9,223,372,036,854,775,807): '
        "send the last id you saw, or 0.")
    assert tracebacks(caplog) == []


async def test_names_differing_by_case_or_width_are_one_person(hostile_server, raw_peers):
    """"Ada" is shown as typed; "ada" and "ＡＤＡ" are refused while she is here; the
    Cyrillic "аda" is refused for mixing scripts; the teacher's kick of "ada" covers her."""
    ada = await connected(raw_peers, hostile_server, "Ａｄａ", "lobby", code=HOSTILE_CODE)
    assert ada.of("welcome")[0]["name"] == "Ada"
    for name in ("ada", "ADA"):
        assert (await refused_with(raw_peers, hostile_server.url, {
            "name": name, "code": HOSTILE_CODE})).startswith(f"The name {name!r} is taken")
    assert "mixes Cyrillic and Latin" in await refused_with(raw_peers, hostile_server.url, {
        "name": "\u0430da", "code": HOSTILE_CODE})
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(hostile_server.url, {"token": TOKEN})
    assert await tools.call("kick", {"name": "ada"}) == {"ok": True}
    await ada.wait(lambda: ada.disconnects, "Ada to be put out")
    assert (await refused_with(raw_peers, hostile_server.url, {
        "name": "ada", "code": HOSTILE_CODE})).startswith("The teacher removed 'ada'")


# -- issue 14: bounded replay in chunks; rate limits on every path --------------------------

class RecordingServer(ChatServer):
    """A ChatServer that writes down, in order, the effects it carries out."""

    def __init__(self, **options):
        super().__init__(**options)
        self.ran = []

    async def run(self, effects):
        effects = tuple(effects)
        self.ran.extend(effects)
        await super().run(effects)


def hold_after_first_chunk(server, *, until):
    """Make each resume of ``server`` pause after its welcome and first replayed chunk
    until ``until()`` is true: a replay is written faster than a client can answer its
    first message, so "during the replay" needs the replay held. Its steps meanwhile
    are empty ones, each letting go of the order lock as every step does."""
    from chatkit.effects import Result
    resume = server.rules.resume

    def held(conn, **options):
        async def steps():
            replay = resume(conn, **options)
            replayed = False
            for _ in range(2):  # the welcome, then the first chunk
                step = await anext(replay, None)
                if step is None:
                    return
                replayed = any(getattr(effect, "to", None) == conn for effect in step.effects
                               if getattr(effect, "event", "") == "said")
                yield step
            while replayed and not until():
                yield Result()
            async for step in replay:
                yield step
        return steps()
    server.rules.resume = held


async def bob_was_in_big(tmp_path, *, messages: int):
    """A --db file where room big holds ``messages`` messages (m0, m1...) and bob, who
    was in it, has the session "bob-secret": his resume replays them."""
    from chatkit.store import SQLiteStore
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    for n in range(messages):
        await store.add("big", "bob", f"m{n}", ts=1.0)
    await store.set_session("bob", "bob-secret")
    await store.set_memberships("bob", ["big"])
    await store.close()
    return path


async def test_a_big_resume_is_capped_and_lets_another_users_say_through(raw_peers,
                                                                         tmp_path):
    """Issue 14: a resume of 50,000 messages in a --db replayed them all under the order
    lock, and another user's say waited for the whole replay (7.6 ms became 9.5 s). Now it
    is capped (a notice says so) and sent in chunks: a say sent during it is handled, and
    acked, before the replay ends."""
    path = await bob_was_in_big(tmp_path, messages=5000)
    server = RecordingServer(db=path, limits=Limits(replay=3000))
    hold_after_first_chunk(server, until=lambda: any(
        getattr(effect, "room", None) == "small" and getattr(effect, "event", "") == "said"
        for effect in server.ran))
    await server.start(name="chat-test")
    ada = await connected(raw_peers, server, "ada", "small")
    bob = raw_peers()
    acked = asyncio.get_running_loop().create_future()

    started = []

    async def say_once(event, *args):  # ada says once, when bob's replay has begun
        bob._record(event, *args)
        if event == "said" and not started:
            started.append(event)
            acked.set_result(await ada.call("say", {"room": "small", "text": "still here"}))
    bob.sio.on("*", say_once, namespace=NS)
    await bob.connect(server.url, {"name": "bob", "session": "bob-secret",
                                   "rooms": ["big"], "offset": 0})
    assert (await asyncio.wait_for(acked, timeout(10)))["ok"]
    await bob.wait(lambda: bob.of("presence"), "bob's presence after the replay")
    texts = [message["text"] for message in bob.of("said")]
    assert texts == [f"m{n}" for n in range(2000, 5000)]  # the last 3,000, once, in order
    assert bob.of("notice") == [{"room": "big", "text": (
        "History was cut: you missed more than 3000 messages in room 'big', so only its "
        "last 3000 are shown. Ask the room what came before.")}]
    to_bob = [i for i, effect in enumerate(server.ran)
              if getattr(effect, "to", None) is not None and getattr(effect, "event", "") == "said"]
    ada_said = next(i for i, effect in enumerate(server.ran)
                    if getattr(effect, "room", None) == "small"
                    and getattr(effect, "event", "") == "said")
    assert to_bob[0] < ada_said < to_bob[-1]  # handled in the middle of the replay
    await server.stop()


async def test_a_message_said_in_the_room_during_its_replay_comes_once_after_it(raw_peers,
                                                                               tmp_path):
    """Issue 14: the replay lets go of the order lock between chunks, so someone may say
    something in the very room being replayed. The resuming client still gets every
    message once, in id order: the live one after the last replayed one, not in between."""
    path = await bob_was_in_big(tmp_path, messages=1000)
    server = RecordingServer(db=path, limits=Limits(replay=1000))
    hold_after_first_chunk(server, until=lambda: any(
        getattr(effect, "data", {}).get("text") == "live" for effect in server.ran))
    await server.start(name="chat-test")
    cy = await connected(raw_peers, server, "cy", "big")
    bob = raw_peers()
    acked = asyncio.get_running_loop().create_future()

    started = []

    async def say_during(event, *args):  # cy speaks in big once bob's replay has begun
        bob._record(event, *args)
        if event == "said" and not started:
            started.append(event)
            acked.set_result(await cy.call("say", {"room": "big", "text": "live"}))
    bob.sio.on("*", say_during, namespace=NS)
    await bob.connect(server.url, {"name": "bob", "session": "bob-secret",
                                   "rooms": ["big"], "offset": 0})
    assert (await asyncio.wait_for(acked, timeout(10)))["ok"]
    await bob.wait(lambda: "live" in [m["text"] for m in bob.of("said")], "the live message")
    texts = [message["text"] for message in bob.of("said")]
    assert texts == [f"m{n}" for n in range(1000)] + ["live"]
    assert said_ids(bob) == sorted(set(said_ids(bob)))
    replayed = [i for i, effect in enumerate(server.ran) if getattr(effect, "event", "") ==
                "said" and getattr(effect, "to", None) is not None]
    live = next(i for i, effect in enumerate(server.ran) if getattr(effect, "event", "") ==
                "said" and getattr(effect, "data", {}).get("text") == "live")
    assert replayed[0] < live < replayed[-1]  # said while the replay was still going
    await server.stop()


async def test_a_name_never_in_a_room_gets_no_more_than_a_join_shows(raw_peers, tmp_path):
    """Issue 14: anyone with the code could replay any room by naming it in auth.rooms."""
    server = ChatServer(limits=Limits(history=5))
    await server.start(name="chat-test")
    bob = await connected(raw_peers, server, "bob", "big")
    for n in range(30):
        assert (await bob.call("say", {"room": "big", "text": f"m{n}"}))["ok"]
    eve = raw_peers()
    await eve.connect(server.url, {"name": "eve", "rooms": ["big"], "offset": 0})
    await eve.wait(lambda: eve.of("presence"), "eve's presence")
    assert [message["text"] for message in eve.of("said")] == [f"m{n}" for n in range(25, 30)]
    assert eve.of("notice")[0]["text"].startswith("History was cut: you missed more than 5")
    await server.stop()


async def test_join_and_leave_floods_are_refused_with_a_sentence(raw_peers):
    """Issue 14: 10,000 alternating join/leave were all accepted, each a presence to all."""
    server = ChatServer(limits=Limits(room_changes_per_second=1, room_change_burst=4))
    await server.start(name="chat-test")
    eve = await connected(raw_peers, server, "eve")
    answers = []
    for n in range(40):
        answers.append(await eve.call("leave" if n % 2 else "join", {"room": "lobby"}))
    assert sum(answer["ok"] for answer in answers) <= 5
    refused = [answer["error"] for answer in answers if not answer["ok"]]
    assert refused[0].startswith("You are joining and leaving rooms too fast: wait")
    assert len(eve.of("notice")) == 1
    await server.stop()


async def raw_websocket(session, url):
    """An engine.io WebSocket opened by hand, past its open packet."""
    ws = await session.ws_connect(url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket")
    assert (await ws.receive_str()).startswith("0")
    return ws


async def test_wrong_codes_on_one_websocket_are_slowed_then_the_connection_closed(caplog):
    """Issue 14: 2,349 wrong codes per second on one websocket, no slowdown, no
    disconnect, a log line each. Now: waits from the 4th, closed at the 5th, few lines."""
    server = ChatServer(join_code="maple-otter-fern-42")
    await server.start(name="chat-test")
    answers = []
    with caplog.at_level(logging.INFO, logger="chatkit.server"):
        async with aiohttp.ClientSession() as session:
            ws = await raw_websocket(session, server.url)
            for n in range(5):
                await ws.send_str('40/chat,{"name":"eve","code":"guess-%d"}' % n)
                answers.append(await asyncio.wait_for(ws.receive_str(), timeout(5)))
            rest = await asyncio.wait_for(ws.receive(), timeout(5))
            assert rest.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED) or (
                rest.data == "1")  # engine.io's close packet
            other = await raw_websocket(session, server.url)
            await other.send_str('40/chat,{"name":"ada","code":"maple-otter-fern-42"}')
            waiting = await asyncio.wait_for(other.receive_str(), timeout(5))
            await other.close()
    assert answers[0] == '44/chat,{"message":"Wrong join code: check it with your teacher."}'
    assert "Wait 1 s before the next try" in answers[2]
    assert "Too many wrong tries of the join code from your address" in answers[3]
    last = json.loads(answers[4].removeprefix("44/chat,"))
    assert last["message"].endswith("This connection is closed after 5 wrong tries.")
    assert last["data"]["retry_after"] > 0  # the wait passes; a try then may succeed
    assert '"data"' not in answers[0]  # a wrong code stays wrong: no retry_after
    # The right code is refused too while the address waits: guessing faster gains nothing.
    assert "Too many wrong tries of the join code" in waiting
    lines = [r.getMessage() for r in caplog.records if "join code" in r.getMessage()]
    assert len(lines) == 1 and "from 127.0.0.1" in lines[0]
    await server.stop()


async def test_wrong_teacher_tokens_are_slowed_down_too(raw_peers):
    server = ChatServer(teacher_token="s3cret-token")
    await server.start(name="chat-test")
    refusals = []
    for n in range(4):
        teacher = raw_peers(protocol.TEACHER)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await teacher.connect(server.url, {"token": f"guess-{n}"})
        refusals += teacher.refusals
    assert refusals[0] == {"message": "Wrong teacher token: check what the server printed "
                                      "at start."}
    assert refusals[3]["message"].startswith("Too many wrong tries of the teacher token")
    await server.stop()


async def test_connects_per_address_are_limited_when_asked(raw_peers):
    """Issue 14: connects per address were not limited (serve sets 5 per second)."""
    from chatkit.guard import Guard
    server = ChatServer(guard=Guard(connects_per_second=0.1, connect_burst=2))
    await server.start(name="chat-test")
    for name in ("ada", "bob"):
        await connected(raw_peers, server, name)
    cy = raw_peers()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await cy.connect(server.url, {"name": "cy"})
    assert cy.refusals[0]["message"].startswith("Too many connections from your address: "
                                                "wait")
    assert 0 < cy.refusals[0]["data"]["retry_after"] <= 10  # when a try may succeed
    await server.stop()


async def test_a_connecting_loop_is_turned_away_at_the_door_with_429(raw_peers, caplog):
    """Issue 14's connect flood: after door_after refusals in words, an address's new
    connections get HTTP 429, the same sentence and Retry-After, before any session."""
    from chatkit.guard import Guard
    server = ChatServer(guard=Guard(connects_per_second=0.5, connect_burst=1, door_after=2))
    await server.start(name="chat-test")
    await connected(raw_peers, server, "ada")
    for name in ("bob", "cy"):
        peer = raw_peers()
        with pytest.raises(socketio.exceptions.ConnectionError):
            await peer.connect(server.url, {"name": name})
        assert peer.refusals[0]["message"].startswith("Too many connections")
    sessions = set(server.sio.eio.sockets)
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/socket.io/?EIO=4&transport=polling") as answer:
            assert answer.status == 429
            assert 1 <= int(answer.headers["Retry-After"]) <= 2
            said = await answer.json()
    assert said["message"].startswith("Too many connections from your address: wait")
    assert set(server.sio.eio.sockets) <= sessions  # nothing was made for it
    # A client that starts with long-polling, as socket.io's do by default, gets the
    # sentence in connect_error (python-engineio's WebSocket-only start drops it).
    turned_away, heard = socketio.AsyncClient(reconnection=False), []
    turned_away.on("connect_error", heard.append, namespace=protocol.CHAT)
    with pytest.raises(socketio.exceptions.ConnectionError, match="status code 429"):
        await turned_away.connect(server.url, namespaces=[protocol.CHAT],
                                  transports=["polling"], auth={"name": "dee"})
    assert heard == [said]
    await server.stop()


# -- the teacher's page: invite, and presence pushed to /teacher ------------------------------

JOIN_CODE = "maple-otter-fern-42"


async def test_invite_gives_every_join_link_and_a_qr_code_of_the_first(raw_peers):
    """invite answers the join link of each public address (the code after #) and the QR
    code of the first; without public addresses, the server's own."""
    from chatkit.pages import qr_data_uri
    server = ChatServer(join_code=JOIN_CODE, teacher_token=TOKEN)
    await server.start(name="chat-test")
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(server.url, {"token": TOKEN})
    own = f"{server.url}/#code={JOIN_CODE}"
    assert await tools.call("invite", {}) == {"ok": True, "links": [own], "qr": qr_data_uri(own)}
    server.public_urls = ["http://10.0.0.5:5000", "http://192.168.1.9:5000/"]
    links = [f"http://10.0.0.5:5000/#code={JOIN_CODE}", f"http://192.168.1.9:5000/#code={JOIN_CODE}"]
    ack = await tools.call("invite")
    assert ack == {"ok": True, "links": links, "qr": qr_data_uri(links[0])}
    assert ack["qr"].startswith("data:image/svg+xml")
    assert await tools.call("invite", "all") == {"ok": False,
                                                 "error": "invite takes nothing, or {}."}
    assert not [line for line in server.log if JOIN_CODE in line]
    await raw_peers.close_all()
    await server.stop()


async def test_invite_of_an_open_chat_links_to_the_page_without_a_code(classroom):
    """A chat without a join code invites to its page as it is."""
    server, teacher = classroom
    tools = await teacher()
    assert (await tools.call("invite"))["links"] == [f"{server.url}/"]


async def test_invite_is_only_for_the_teacher(raw_peers, caplog):
    """A student asking /chat for invite gets nothing (ignored, no ack); a wrong token
    does not connect to /teacher at all."""
    server = ChatServer(join_code=JOIN_CODE, teacher_token=TOKEN)
    await server.start(name="chat-test")
    caplog.set_level(logging.INFO, logger="chatkit.server")
    ada = await connected(raw_peers, server, "ada", "lobby", code=JOIN_CODE)
    await ada.emit("invite", {})
    await ada.wait(lambda: "ignored unknown event 'invite' from ada" in caplog.text,
                   "the ignored invite")
    assert ada.connected and (await ada.call("say", {"room": "lobby", "text": "hi"}))["ok"]
    assert JOIN_CODE not in repr(ada.events)
    guess = raw_peers(protocol.TEACHER)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await guess.connect(server.url, {"token": "guess"})
    assert guess.events == []
    await raw_peers.close_all()
    await server.stop()


async def test_teachers_hear_every_rooms_presence_and_nothing_else(classroom, raw_peers):
    """/teacher receives each presence as the room hears it (joins, leaves, goodbyes),
    from every room, and no said or notice."""
    server, teacher = classroom
    tools = await teacher()
    ada = await connected(raw_peers, server, "ada", "lobby")
    bob = await connected(raw_peers, server, "bob", "games")
    assert (await bob.call("join", {"room": "lobby"}))["ok"]
    assert (await ada.call("say", {"room": "lobby", "text": "hi"}))["ok"]
    assert (await bob.call("leave", {"room": "games"}))["ok"]
    await ada.disconnect()
    expected = [{"room": "lobby", "members": ["ada"]}, {"room": "games", "members": ["bob"]},
                {"room": "lobby", "members": ["ada", "bob"]},
                {"room": "games", "members": []}, {"room": "lobby", "members": ["bob"]}]
    await tools.wait(lambda: len(tools.of("presence")) == len(expected), "five presences")
    assert tools.of("presence") == expected
    assert [event for event, _ in tools.events] == ["presence"] * len(expected)


async def test_teachers_hear_the_presence_of_every_process(two_servers, raw_peers):
    """With Redis, a teacher on one server hears a room change made on the other."""
    first, second = two_servers
    tools = raw_peers(protocol.TEACHER)
    await tools.connect(first.url, {"token": TOKEN})
    await connected(raw_peers, second, "ada", "lobby")
    await tools.wait(lambda: {"room": "lobby", "members": ["ada"]} in tools.of("presence"),
                     "ada's presence from the other server")


async def test_a_big_room_joining_at_once_hears_presence_coalesced_and_right(raw_peers):
    """Issue 10: every join sent the whole member list to every member, so a class of N
    joining cost N² deliveries. In a room of ``from_size`` or more, presence now goes at
    most ``per_second`` deliveries a second (here 5 and 200: 60 members hear it at most
    every 0.3 s), and everyone's last presence is the whole room."""
    server = ChatServer()
    server.presence.from_size, server.presence.per_second = 5, 200
    await server.start(name="chat-test")
    names = [f"s{n:02}" for n in range(60)]
    started = asyncio.get_running_loop().time()
    peers = await asyncio.gather(*(connected(raw_peers, server, name, "class")
                                   for name in names))
    took = asyncio.get_running_loop().time() - started
    for peer in peers:
        await peer.wait(lambda peer=peer: peer.of("presence") and
                        peer.of("presence")[-1]["members"] == names, "the whole class")
    await asyncio.sleep(0.4)  # past the last due time: nothing more may come
    deliveries = sum(len(peer.of("presence")) for peer in peers)
    windows = 1 + int(took / 0.3) + 1  # the first at once, then one per 0.3 s at most
    assert deliveries <= sum(range(1, 5)) + 60 * windows, (deliveries, took)
    assert all(peer.of("presence")[-1]["members"] == names for peer in peers)
    await server.stop()
