"""ChatClient against a real ChatServer on 127.0.0.1: talking, refusals, and resume."""

import asyncio
import logging
import re

import pytest
import socketio

from chatkit import protocol, running
from chatkit.client import (
    ChatClient,
    ChatError,
    ConnectionRefused,
    Event,
    Status,
    StatusChange,
    connect,
)
from chatkit.protocol import Message, Notice, Presence, Welcome
from chatkit.retry import Retry
from chatkit.server import ChatServer
from chatkit.tasks import leftover_tasks
from tests.conftest import timeout

FAST = {"reconnect_delay": 0.05, "reconnect_delay_max": 0.2}


@pytest.fixture
async def server():
    chat_server = ChatServer()
    await chat_server.start(name="chat-test")
    yield chat_server
    await running.stop_all()  # clients first (newest first), then the server
    await chat_server.stop()


def library_tasks():
    """Tasks still running code from socketio, engineio or aiohttp."""
    return leftover_tasks(("socketio", "engineio", "aiohttp"))


async def until(condition, what):
    return await running.wait_for(condition, timeout(10), what=what)


def statuses(client):
    return [change.status for change in client.statuses]


# -- talking -------------------------------------------------------------------------------

async def test_connect_join_say_and_next(server):
    """A client joins, says, gets the id, and awaits the `said` event."""
    ada = await connect(server.url, "ada")
    assert ada.connected and ada.status is Status.CONNECTED
    ack = await ada.join("lobby")
    assert ack == {"ok": True, "room": "lobby", "members": ["ada"], "history": []}
    message_id = await ada.say("lobby", "hello")
    event = await ada.next(protocol.SAID, timeout=timeout(5))
    assert event.data.id == message_id and event.data.text == "hello"
    assert str(event) == "[lobby] ada: hello"
    assert ada.rooms == {"lobby"} and ada.offset == message_id


async def test_rooms_option_joins_after_connecting(server):
    """ChatClient(rooms=[...]) joins each room once connected."""
    bob = await connect(server.url, "bob", rooms=["lobby"])
    await bob.say("lobby", "before ada")
    ada = await connect(server.url, "ada", rooms=["lobby", "games"])
    assert ada.rooms == {"lobby", "games"}
    assert server.snapshot()[protocol.CHAT] == {"games": ["ada"], "lobby": ["ada", "bob"]}


async def test_join_returns_history_and_counts_it_as_seen(server):
    """The join ack carries the room's history; its newest id becomes the client's offset."""
    bob = await connect(server.url, "bob", rooms=["lobby"])
    last = [await bob.say("lobby", text) for text in ("one", "two")][-1]
    ada = await connect(server.url, "ada")
    ack = await ada.join("lobby")
    assert [m.text for m in ack["history"]] == ["one", "two"]
    assert all(isinstance(m, Message) for m in ack["history"])
    assert ada.offset == last


async def test_events_are_recorded_and_next_filters_by_type(server):
    """Every event is recorded; next(type) skips others and leaves them for later."""
    ada = await connect(server.url, "ada", rooms=["lobby"])
    await ada.say("lobby", "hi")
    said = await ada.next(protocol.SAID, timeout=timeout(5))
    welcome = await ada.next(timeout=timeout(5))
    presence = await ada.next(timeout=timeout(5))
    assert (said.type, welcome.type, presence.type) == (protocol.SAID, protocol.WELCOME,
                                                        protocol.PRESENCE)
    assert isinstance(said.data, Message) and isinstance(welcome.data, Welcome)
    assert presence.data == Presence("lobby", ("ada",))
    assert str(welcome) == "welcome, ada"  # the secret session is not shown
    assert str(presence) == "[lobby] here: ada"
    assert [event.type for event in ada.events] == [protocol.WELCOME, protocol.PRESENCE,
                                                    protocol.SAID]
    assert ada.messages() == ada.messages("lobby") == [said.data]
    assert ada.messages("elsewhere") == []


async def test_next_times_out_with_what_did_arrive(server):
    """next() raises TimeoutError saying which events are unread."""
    ada = await connect(server.url, "ada")
    with pytest.raises(TimeoutError, match=r"no said for ada within .* unread: \['welcome'\]"):
        await ada.next(protocol.SAID, timeout=0.05)


async def test_refused_requests_raise_chat_error_with_the_servers_sentence(server):
    """Refusals become ChatError carrying the server's text."""
    ada = await connect(server.url, "ada", rooms=["lobby"])
    with pytest.raises(ChatError, match="^You are already in room 'lobby'.$"):
        await ada.join("lobby")
    with pytest.raises(ChatError, match="^You are not in room 'games'.$"):
        await ada.leave("games")
    with pytest.raises(ChatError, match="^Room names use only letters"):
        await ada.join("my room")
    with pytest.raises(ChatError, match="^The message is empty: say something.$"):
        await ada.say("lobby", "")
    with pytest.raises(ChatError, match=r"^The message is too long \(2001 characters\)"):
        await ada.say("lobby", "x" * 2001)
    with pytest.raises(ChatError, match="^Join room 'games' before saying"):
        await ada.say("games", "hi")
    await ada.leave("lobby")
    assert ada.rooms == frozenset() and ada.connected


async def test_say_with_the_same_client_id_returns_the_same_id(server):
    """Saying twice with one client_id gives one message and one id."""
    ada = await connect(server.url, "ada", rooms=["lobby"])
    first = await ada.say("lobby", "once", client_id="mine-1")
    assert await ada.say("lobby", "once", client_id="mine-1") == first
    marker = await ada.say("lobby", "marker")
    await until(lambda: ada.offset == marker, "the marker")
    assert [m.text for m in ada.messages()] == ["once", "marker"]


async def test_requests_need_a_connection(server):
    """join/say before connecting raise ChatError naming the status."""
    ada = ChatClient("ada")
    with pytest.raises(ChatError, match=r"ada is not connected \(disconnected\)"):
        await ada.join("lobby")
    with pytest.raises(ChatError, match="not connected"):
        await ada.say("lobby", "hi")


# -- connecting and refusals ----------------------------------------------------------------

async def test_wrong_join_code_raises_connection_refused():
    """A refused connection raises ConnectionRefused with the server's reason."""
    server = ChatServer(join_code="maple-otter-42")
    await server.start(name="chat-test")
    ada = ChatClient("ada", code="wrong")
    with pytest.raises(ConnectionRefused, match="^Wrong join code: check it with your teacher.$"):
        await ada.connect(server.url)
    assert ada.status is Status.REFUSED and ada.detail.startswith("Wrong join code")
    await connect(server.url, "bob", code="maple-otter-42")
    await running.stop_all()


async def test_unreachable_server_raises_connection_error_and_leaves_nothing():
    """No server at the URL: ConnectionError, status disconnected, no task left behind."""
    server = ChatServer()
    handle = await server.start(name="chat-test")
    url = handle.url
    await server.stop()
    ada = ChatClient("ada", connect_timeout=timeout(2))
    with pytest.raises(ConnectionError, match="cannot connect to"):
        await ada.connect(url)
    assert ada.status is Status.DISCONNECTED
    await ada.disconnect()
    await until(lambda: not library_tasks(), "no library task")


async def test_status_changes_reach_observers(server):
    """on_status sees connecting, connected, reconnecting, connected, disconnected."""
    seen, received = [], []
    ada = ChatClient("ada", on_status=seen.append, on_event=received.append, **FAST)
    await ada.connect(server.url)
    await ada.drop_connection()
    await until(lambda: len(server.log) == 3 and ada.connected, "ada back")
    await ada.disconnect()
    kinds = [change.status for change in seen]
    assert kinds[:2] == [Status.CONNECTING, Status.CONNECTED]
    assert kinds[2] is Status.RECONNECTING and kinds[-2:] == [Status.CONNECTED, Status.DISCONNECTED]
    assert seen[-1] == StatusChange(Status.DISCONNECTED, "client disconnect")
    assert re.fullmatch(r"reconnecting \(try 1 in 0\.\d s\)", str(seen[2])), seen[2]
    assert str(seen[3]) == "reconnecting (try 1 now)"
    assert [event.type for event in received] == [protocol.WELCOME, protocol.WELCOME]


async def test_a_refusal_that_says_when_is_tried_again_after_a_loss():
    """Issue 14: behind one address (JupyterHub), "too many connections from your
    address" after a restart left panels refused for good. It carries retry_after now,
    and a reconnecting ChatClient keeps trying; a first connect still raises it."""
    from chatkit.guard import Guard
    server = ChatServer(guard=Guard(connects_per_second=1, connect_burst=2))
    await server.start(name="chat-test")
    seen = []
    ada = await ChatClient("ada", on_status=seen.append, **FAST).connect(server.url)
    await ChatClient("bob", **FAST).connect(server.url)  # takes the last connect
    await ada.drop_connection()  # the bucket is empty: her first tries are refused
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")
    await until(lambda: ada.connected, "ada back")
    tries = [str(change) for change in seen if change.status is Status.RECONNECTING]
    assert any("try 2" in text for text in tries), tries  # try 1 was refused, for now
    assert any("refused 1 connections from 127.0.0.1" in line for line in server.log)
    with pytest.raises(protocol.ConnectionRefused, match="Too many connections") as first:
        await ChatClient("cy").connect(server.url)
    assert 0 < first.value.retry_after <= 1
    await running.stop_all()
    await server.stop()


async def test_a_failing_observer_is_logged_not_raised(server, caplog):
    """An exception in an observer does not break the client."""
    def broken(value):
        raise RuntimeError("observer bug")

    ada = ChatClient("ada", on_status=broken, on_event=broken)
    await ada.connect(server.url)
    await ada.join("lobby")
    assert ada.connected and "observer bug" in caplog.text


async def test_rerunning_a_cell_replaces_the_client_of_that_name(server):
    """A new ChatClient with the same name disconnects the old one and takes the name."""
    old = await connect(server.url, "ada", rooms=["lobby"])
    assert running.running()["client:ada"] == "tracked"
    new = await connect(server.url, "ada", rooms=["lobby"])
    assert old.status is Status.DISCONNECTED and new.connected
    await until(lambda: server.snapshot()[protocol.CHAT] == {"lobby": ["ada"]}, "one ada")
    assert (await new.say("lobby", "it is me")) > 0


async def test_stop_all_disconnects_tracked_clients(server):
    """running.stop_all() disconnects clients, as a notebook's last cell does."""
    ada = await connect(server.url, "ada")
    bob = await connect(server.url, "bob")
    assert set(await running.stop_all()) >= {"client:ada", "client:bob", "chat-test"}
    assert ada.status is bob.status is Status.DISCONNECTED


async def test_disconnect_is_idempotent_and_leaves_no_tasks(server):
    """disconnect() twice is fine; no socketio/engineio/aiohttp task is left."""
    ada = await connect(server.url, "ada", rooms=["lobby"])
    await ada.say("lobby", "hi")
    await ada.disconnect()
    await ada.disconnect()
    assert ada.status is Status.DISCONNECTED
    await server.stop()
    await until(lambda: not library_tasks(), "no library task")


async def test_disconnect_while_reconnecting_stops_the_reconnect_task():
    """A client reconnecting to a stopped server stops cleanly on disconnect()."""
    server = ChatServer()
    await server.start(name="chat-test")
    ada = await connect(server.url, "ada", reconnect_delay=0.05)
    await server.stop()
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")
    await ada.disconnect()
    assert ada.status is Status.DISCONNECTED
    await until(lambda: not library_tasks(), "no library task")
    assert not ada._retrying.active


async def test_reconnection_gives_up_after_its_attempts():
    """With the server gone for good, the client gives up and fails waiting messages."""
    server = ChatServer()
    await server.start(name="chat-test")
    ada = await connect(server.url, "ada", rooms=["lobby"], reconnect_attempts=2,
                        connect_timeout=timeout(2), **FAST)
    await server.stop()
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")
    with pytest.raises(ChatError, match="could not reconnect"):
        await ada.say("lobby", "into the void")
    assert ada.status is Status.DISCONNECTED
    assert ada.detail.startswith("gave up after 2 tries")
    await ada.disconnect()
    await until(lambda: not library_tasks(), "no library task")


async def test_server_closing_the_connection_on_purpose_is_not_retried(server):
    """When another connection takes the name over, the old client does not come back."""
    ada = await connect(server.url, "ada", **FAST)
    thief = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    await thief.connect(server.url, namespaces=[protocol.CHAT], transports=["websocket"],
                        auth={"name": "ada", "session": ada.session}, wait_timeout=timeout(5))
    await until(lambda: ada.status is Status.DISCONNECTED, "ada closed")
    assert ada.detail == "the server closed the connection"
    notice = await ada.next(protocol.NOTICE, timeout=timeout(5))
    assert str(notice).startswith("notice: You connected again from somewhere else")
    assert Status.RECONNECTING not in statuses(ada)
    assert not ada.can_reconnect_now and ada.reconnect_now() is False  # nor by hand
    await asyncio.sleep(0.3)
    assert ada.status is Status.DISCONNECTED
    await thief.disconnect()


async def test_polling_transport_works(server):
    """A client that starts with long-polling, like a browser, chats too."""
    ada = await connect(server.url, "ada", rooms=["lobby"], transports=("polling", "websocket"))
    message_id = await ada.say("lobby", "via polling")
    assert (await ada.next(protocol.SAID, timeout=timeout(5))).data.id == message_id


# -- resume: nothing lost, nothing twice ----------------------------------------------------

async def test_resume_after_a_dropped_connection_delivers_everything_once_in_order(server):
    """Transport killed while another client talks: every message arrives once, in order."""
    ada = await connect(server.url, "ada", rooms=["lobby"], **FAST)
    bob = await connect(server.url, "bob", rooms=["lobby"])
    dropped = asyncio.Event()

    async def talk():
        ids = []
        for n in range(40):
            if n == 10:
                await dropped.wait()  # the rest is said while ada is away or coming back
            ids.append(await bob.say("lobby", f"m{n}"))
        return ids

    talker = asyncio.create_task(talk())
    await until(lambda: len(ada.messages()) >= 5, "five messages at ada")
    await ada.drop_connection()
    dropped.set()
    said = await asyncio.wait_for(talker, timeout(10))
    await until(lambda: ada.connected and ada.offset == said[-1], "ada to catch up")
    assert [m.id for m in ada.messages("lobby")] == said
    assert [m.text for m in ada.messages("lobby")] == [f"m{n}" for n in range(40)]
    assert Status.RECONNECTING in statuses(ada)
    assert server.log.count("ada connected") == 2


async def test_resume_survives_two_drops_and_several_rooms(server):
    """Dropped twice, in two rooms, the client still ends with every message once."""
    ada = await connect(server.url, "ada", rooms=["lobby", "games"], **FAST)
    bob = await connect(server.url, "bob", rooms=["lobby", "games", "other"])
    said = []
    for round_number in range(3):
        for n in range(6):
            room = ("lobby", "games", "other")[n % 3]
            message_id = await bob.say(room, f"r{round_number}-{n}")
            if room != "other":
                said.append(message_id)
        if round_number < 2:
            await until(lambda: ada.connected and ada.offset == said[-1], "ada to catch up")
            await ada.drop_connection()
    await until(lambda: ada.connected and ada.offset == said[-1], "ada to catch up")
    assert [m.id for m in ada.messages()] == said


async def test_message_said_while_disconnected_is_sent_after_the_reconnect(server):
    """say() during an outage waits, and the message goes out once the client is back."""
    ada = await connect(server.url, "ada", rooms=["lobby"], **FAST)
    bob = await connect(server.url, "bob", rooms=["lobby"])
    await ada.drop_connection()
    message_id = await ada.say("lobby", "sent while away")
    await until(lambda: any(m.id == message_id for m in bob.messages()), "bob to get it")
    assert [m.text for m in bob.messages()] == ["sent while away"]


async def test_a_lost_ack_is_resent_and_kept_once(server, monkeypatch):
    """A message whose ack was lost is re-sent after the reconnect and kept only once."""
    ada = await connect(server.url, "ada", rooms=["lobby"], **FAST)
    bob = await connect(server.url, "bob", rooms=["lobby"])
    namespace = server.sio.namespace_handlers[protocol.CHAT]
    keep_and_lose_the_ack = namespace.on_say
    calls = []

    async def on_say(sid, *payload):
        ack = await keep_and_lose_the_ack(sid, *payload)
        calls.append(ack)
        if len(calls) == 1:  # the first time only: the ack goes to a dead connection
            await ada.drop_connection()
            await until(lambda: server.rules.name_of(sid) is None, "the server to notice")
        return ack

    monkeypatch.setattr(namespace, "on_say", on_say)
    message_id = await ada.say("lobby", "did you get this?")
    assert calls == [{"ok": True, "id": message_id}] * 2  # sent twice, kept once
    marker = await bob.say("lobby", "marker")
    await until(lambda: bob.offset == marker and ada.offset == marker, "the marker")
    assert [m.text for m in bob.messages()] == ["did you get this?", "marker"]
    assert [m.text for m in ada.messages()] == ["did you get this?", "marker"]


async def test_clients_come_back_after_a_server_restart_on_the_same_port(tmp_path):
    """After a restart on the same port and --db, clients come back and catch up alone."""
    db = tmp_path / "chat.db"
    first = ChatServer(db=db)
    handle = await first.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"], reconnect_attempts=20, **FAST)
    await ada.say("lobby", "before")
    await first.stop()
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")

    second = ChatServer(db=db)
    await second.start(name="chat-test", port=handle.port)
    bob = await connect(second.url, "bob", rooms=["lobby"])
    during = await bob.say("lobby", "while ada was away")
    await until(lambda: ada.connected and ada.offset == during, "ada back and caught up")
    assert [m.text for m in ada.messages()] == ["before", "while ada was away"]
    await running.stop_all()


async def test_a_server_restarted_without_its_history_loses_nothing_said_after():
    """In-memory restart: ids start again, yet the client gets every new message."""
    first = ChatServer()
    handle = await first.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"], reconnect_attempts=40, **FAST)
    for text in ("one", "two", "three"):
        await ada.say("lobby", text)  # ids 1-3: ada's offset is 3
    await first.stop()
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")

    second = ChatServer()  # a new, empty history: its ids start at 1 again
    await second.start(name="chat-test", port=handle.port)
    bob = await connect(second.url, "bob", rooms=["lobby"])
    await bob.say("lobby", "after the restart")  # id 1, below ada's old offset
    await until(lambda: ada.connected and len(ada.messages()) == 4, "ada caught up")
    await bob.say("lobby", "and one more")
    await until(lambda: len(ada.messages()) == 5, "the next message")
    assert [m.text for m in ada.messages()] == [
        "one", "two", "three", "after the restart", "and one more"]
    await running.stop_all()


def test_event_and_status_read_well():
    """Events and status changes print as short sentences."""
    assert str(Event(protocol.SAID, Message(1, "r", "ada", "hi", 0.0))) == "[r] ada: hi"
    assert str(Event(protocol.NOTICE, Notice("class ends at 5"))) == "notice: class ends at 5"
    assert str(Event(protocol.WELCOME, Welcome("ada", "secret", "h1"))) == "welcome, ada"
    assert str(Event("custom", [1, 2])) == "custom: [1, 2]"
    assert str(StatusChange(Status.REFUSED, "Wrong join code.")) == "refused (Wrong join code.)"
    assert repr(ChatClient("ada")) == "<ChatClient 'ada': disconnected (not connected yet)>"


# -- what the client keeps ------------------------------------------------------------------

async def test_events_and_the_unread_inbox_keep_at_most_max_events(server):
    """After more events than max_events, only the newest are kept, and next() has those."""
    ada = await connect(server.url, "ada", rooms=["lobby"], max_events=5)
    bob = await connect(server.url, "bob", rooms=["lobby"])
    said = [await bob.say("lobby", f"m{n}") for n in range(12)]
    await until(lambda: ada.offset == said[-1], "ada to get them all")
    assert len(ada.events) == 5
    assert [m.text for m in ada.messages()] == [f"m{n}" for n in range(7, 12)]
    unread = []
    with pytest.raises(TimeoutError):
        while True:
            unread.append(await ada.next(timeout=0.2))
    assert [event.data.text for event in unread] == [f"m{n}" for n in range(7, 12)]


async def test_messages_are_the_objects_kept_in_events(server):
    """messages() hands out the Messages of `events` themselves: no second copy."""
    ada = await connect(server.url, "ada", rooms=["lobby"])
    await ada.say("lobby", "once")
    said = await ada.next(protocol.SAID, timeout=timeout(5))
    assert ada.messages()[0] is said.data
    assert said.data == Message(said.data.id, "lobby", "ada", "once", said.data.ts)


async def test_a_payload_that_breaks_the_protocol_is_logged_and_ignored(server, caplog):
    """A malformed `said` from the server is logged, not kept, and breaks nothing."""
    seen = []
    ada = await connect(server.url, "ada", rooms=["lobby"], on_event=seen.append)
    caplog.set_level(logging.WARNING, logger="chatkit")
    await server.sio.emit(protocol.SAID, {"room": "lobby", "text": "no id"},
                          namespace=protocol.CHAT)
    await server.sio.emit(protocol.PRESENCE, ["not", "an", "object"], namespace=protocol.CHAT)
    marker = await ada.say("lobby", "still fine")
    await until(lambda: ada.offset == marker, "the marker")
    assert [m.text for m in ada.messages()] == ["still fine"]
    assert [event.type for event in seen].count(protocol.PRESENCE) == 1  # ada's own join
    assert "ignored a said event" in caplog.text and "ignored a presence event" in caplog.text
    assert ada.connected


async def test_max_events_must_keep_something():
    """max_events=0 is refused when the client is made, with a sentence."""
    with pytest.raises(ValueError, match="at least 1"):
        ChatClient("ada", max_events=0)


# -- coming back for as long as it takes (issue 14) ------------------------------------------

def test_by_default_a_client_tries_forever_waiting_at_most_30_s():
    policy = ChatClient("ada").retry
    assert policy.attempts is None and policy.cap == 30 and 0 < policy.jitter < 1
    assert ChatClient("ada", reconnect_attempts=3).retry.attempts == 3
    mine = Retry(first=1, cap=5)
    assert ChatClient("ada", retry=mine).retry is mine
    with pytest.raises(TypeError, match="not both"):
        ChatClient("ada", retry=mine, reconnect_delay=0.1)


async def test_a_client_keeps_trying_past_the_old_five_attempts():
    """A server away for longer than five tries: the client is still trying, and comes
    back when a server listens again (before issue 14 it gave up after 5)."""
    server = ChatServer()
    handle = await server.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"], retry=Retry(first=0.01, cap=0.02))
    await server.stop()
    await until(lambda: sum(c.detail.endswith(" now") for c in ada.statuses
                            if c.status is Status.RECONNECTING) >= 20, "twenty tries")
    assert ada.status is Status.RECONNECTING and ada.can_reconnect_now
    again = ChatServer()
    await again.start(name="chat-test", port=handle.port)
    await until(lambda: ada.connected, "ada back")
    await running.stop_all()


async def test_the_next_loss_starts_again_from_the_shortest_wait():
    """Reset after success: after a reconnection, the next lost connection's first try
    is try 1 again, with the shortest wait."""
    server = ChatServer()
    handle = await server.start(name="chat-test")
    ada = await connect(handle.url, "ada", retry=Retry(first=0.01, cap=0.05))
    for _ in range(2):
        await server.stop()
        await until(lambda: any(c.detail == "try 6 now" for c in ada.statuses), "six tries")
        server = ChatServer()
        await server.start(name="chat-test", port=handle.port)
        await until(lambda: ada.connected, "ada back")
        ada.statuses.clear()
    await ada.drop_connection()
    def tries():
        return [c.detail for c in ada.statuses if c.status is Status.RECONNECTING]

    await until(lambda: ada.connected and tries(), "ada back again")
    tries = tries()
    assert tries[0].startswith("try 1 in 0.0") and tries[1] == "try 1 now"
    await running.stop_all()


async def test_reconnect_now_skips_a_long_wait():
    server = ChatServer()
    handle = await server.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"], retry=Retry(first=600, cap=600))
    assert not ada.can_reconnect_now and ada.reconnect_now() is False  # connected
    await server.stop()
    await until(lambda: ada.next_try_in is not None, "a planned try")
    assert ada.next_try_in > 200 and ada.detail.startswith("try 1 in ")
    again = ChatServer()
    await again.start(name="chat-test", port=handle.port)
    assert ada.reconnect_now() is True
    await until(lambda: ada.connected, "ada back at once")
    assert ada.next_try_in is None and await ada.say("lobby", "back") > 0
    await running.stop_all()


async def test_after_giving_up_reconnect_now_starts_again():
    server = ChatServer()
    handle = await server.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"],
                        retry=Retry(first=0.01, cap=0.02, attempts=2))
    await server.stop()
    await until(lambda: ada.status is Status.DISCONNECTED, "ada gave up")
    assert ada.detail.startswith("gave up after 2 tries") and ada.can_reconnect_now
    again = ChatServer()
    await again.start(name="chat-test", port=handle.port)
    assert ada.reconnect_now() is True
    await until(lambda: ada.connected, "ada back")
    assert ada.rooms == {"lobby"} and not ada.can_reconnect_now
    await ada.disconnect()
    assert ada.reconnect_now() is False  # disconnect() is final
    await running.stop_all()


async def test_a_long_polling_client_comes_back_after_a_server_restart():
    """A stopping server says goodbye to long-polling with an engine.io close packet,
    which python-socketio reports as "server disconnect", like a kick: the client must
    tell the two apart and come back."""
    server = ChatServer()
    handle = await server.start(name="chat-test")
    ada = await connect(handle.url, "ada", rooms=["lobby"], transports=("polling",), **FAST)
    await server.stop()
    await until(lambda: ada.status is Status.RECONNECTING, "ada reconnecting")
    again = ChatServer()
    await again.start(name="chat-test", port=handle.port)
    await until(lambda: ada.connected, "ada back")
    assert await ada.say("lobby", "still here") > 0
    await running.stop_all()

