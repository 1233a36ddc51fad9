"""What chatkit's clients share (chatkit.peer): parse, Event, Inbox, Status, Peer."""

import asyncio
import logging

import pytest

from chatkit import peer as peer_module
from chatkit import protocol
from chatkit.peer import CannotConnect, Event, Inbox, NoAnswer, Peer, Status, StatusChange, parse
from chatkit.protocol import ChatError, ConnectionRefused, Message, Notice, Presence, Welcome
from chatkit.server import ChatServer

WIRE_MESSAGE = {"id": 42, "room": "lobby", "name": "ada", "text": "hello", "ts": 1000.5}


class ChatPeer(Peer):
    """A bare peer of the chat namespace."""

    namespace = protocol.CHAT


# -- parse -----------------------------------------------------------------------------

def test_parse_said_gives_a_message():
    """A said payload becomes a Message."""
    assert parse(protocol.SAID, WIRE_MESSAGE) == Message(42, "lobby", "ada", "hello", 1000.5)


def test_parse_presence_gives_a_presence():
    """A presence payload becomes a Presence with a tuple of members."""
    assert parse(protocol.PRESENCE, {"room": "lobby", "members": ["ada", "bob"]}) == \
        Presence("lobby", ("ada", "bob"))


def test_parse_notice_gives_a_notice():
    """A notice payload becomes a Notice, with its room when there is one."""
    assert parse(protocol.NOTICE, {"text": "quiet"}) == Notice("quiet")
    assert parse(protocol.NOTICE, {"text": "quiet", "room": "lobby"}) == Notice("quiet", "lobby")


def test_parse_welcome_gives_a_welcome():
    """A welcome payload becomes a Welcome; its wire "history" is the history_id."""
    parsed = parse(protocol.WELCOME, {"name": "ada", "session": "s", "history": "h1"})
    assert parsed == Welcome("ada", "s", "h1")


def test_every_server_event_has_a_parser():
    """Each of the protocol's server events turns a dict into something other than a dict."""
    payloads = {protocol.SAID: WIRE_MESSAGE,
                protocol.PRESENCE: {"room": "lobby", "members": []},
                protocol.NOTICE: {"text": "hi"},
                protocol.WELCOME: {"name": "ada", "session": "s", "history": "h"}}
    assert set(payloads) == protocol.SERVER_EVENTS
    for event, payload in payloads.items():
        assert not isinstance(parse(event, payload), dict), event


def test_parse_keeps_an_unknown_events_payload():
    """An event outside the protocol keeps its payload as sent."""
    payload = {"anything": [1, 2]}
    assert parse("custom", payload) is payload


@pytest.mark.parametrize(("event", "payload"), [
    (protocol.SAID, {"id": "42", "room": "lobby", "name": "ada", "text": "hi", "ts": 1.0}),
    (protocol.SAID, "hello"),
    (protocol.PRESENCE, {"room": "lobby"}),
    (protocol.NOTICE, {"room": "lobby"}),
    (protocol.WELCOME, {"name": "ada"}),
])
def test_parse_ignores_a_payload_that_breaks_the_protocol(event, payload, caplog):
    """A malformed payload gives None and a warning naming the event and the source."""
    with caplog.at_level(logging.WARNING, logger="chatkit.peer"):
        assert parse(event, payload, source="ada") is None
    assert any(event in record.getMessage() and "ada" in record.getMessage()
               for record in caplog.records)


# -- Event -----------------------------------------------------------------------------

def test_an_event_reads_like_a_chat_line():
    """str(event) of a said event is the message's chat line."""
    event = Event(protocol.SAID, Message(1, "lobby", "ada", "hello", 1.0))
    assert str(event) == "[lobby] ada: hello"


def test_a_welcome_event_leaves_out_the_session():
    """str of a welcome event does not show the secret session."""
    event = Event(protocol.WELCOME, Welcome("ada", "top-secret", "h1"))
    assert "top-secret" not in str(event)
    assert "ada" in str(event)


def test_an_unknown_event_shows_its_type_and_payload():
    """str of an event outside the protocol is its type and repr of its payload."""
    assert str(Event("custom", {"x": 1})) == "custom: {'x': 1}"


# -- Inbox -----------------------------------------------------------------------------

def events(*types: str) -> list[Event]:
    """An event of each type, its data its position."""
    return [Event(type, index) for index, type in enumerate(types)]


def test_an_inbox_keeps_at_least_one_event():
    """A size below 1 is refused."""
    with pytest.raises(ValueError, match="at least 1"):
        Inbox(0)


def test_an_inbox_keeps_the_newest_events():
    """Past its size, the inbox drops the oldest events first."""
    inbox = Inbox(3)
    for event in events(protocol.SAID, protocol.NOTICE, protocol.SAID, protocol.PRESENCE):
        inbox.put(event)
    assert [event.data for event in inbox.events] == [1, 2, 3]


def test_unread_events_are_bounded_the_same():
    """The unread events are at most size, too: the oldest unread are dropped."""
    inbox = Inbox(2)
    for event in events(protocol.SAID, protocol.NOTICE, protocol.PRESENCE):
        inbox.put(event)
    assert inbox.unread() == [protocol.NOTICE, protocol.PRESENCE]


async def test_next_hands_out_the_oldest_unread():
    """next() returns the events in the order they came, each once."""
    inbox = Inbox()
    for event in events(protocol.SAID, protocol.NOTICE):
        inbox.put(event)
    assert (await inbox.next(timeout=1)).data == 0
    assert (await inbox.next(timeout=1)).data == 1
    assert inbox.unread() == []
    assert len(inbox.events) == 2


async def test_next_of_a_type_leaves_the_others():
    """next(type) returns the oldest of that type; the others stay unread, in order."""
    inbox = Inbox()
    for event in events(protocol.PRESENCE, protocol.SAID, protocol.NOTICE, protocol.SAID):
        inbox.put(event)
    event = await inbox.next(protocol.SAID, timeout=1)
    assert (event.type, event.data) == (protocol.SAID, 1)
    assert inbox.unread() == [protocol.PRESENCE, protocol.NOTICE, protocol.SAID]
    assert (await inbox.next(timeout=1)).type == protocol.PRESENCE


async def test_next_waits_for_an_event_to_arrive():
    """next() waits for the first matching event put after it started waiting."""
    inbox = Inbox()
    waiter = asyncio.create_task(inbox.next(protocol.SAID, timeout=5))
    await asyncio.sleep(0.01)
    inbox.put(Event(protocol.NOTICE, "n"))
    await asyncio.sleep(0.01)
    assert not waiter.done()
    inbox.put(Event(protocol.SAID, "s"))
    assert (await waiter).data == "s"
    assert inbox.unread() == [protocol.NOTICE]


async def test_next_times_out_naming_the_type():
    """Without a matching event, next raises TimeoutError saying what it waited for."""
    inbox = Inbox()
    inbox.put(Event(protocol.NOTICE, "n"))
    with pytest.raises(TimeoutError, match=f"no {protocol.SAID} within 0.05 s"):
        await inbox.next(protocol.SAID, timeout=0.05)
    assert inbox.unread() == [protocol.NOTICE]


async def test_next_of_any_type_times_out_saying_event():
    """Without a type, the timeout message says "no event"."""
    with pytest.raises(TimeoutError, match="no event within 0.01 s"):
        await Inbox().next(timeout=0.01)


async def test_next_with_no_time_left_still_returns_what_is_there():
    """A zero timeout returns an unread event at once rather than timing out."""
    inbox = Inbox()
    inbox.put(Event(protocol.SAID, 1))
    assert (await inbox.next(protocol.SAID, timeout=0)).data == 1


# -- Status and errors -----------------------------------------------------------------

def test_a_status_change_reads_with_its_detail():
    """str(StatusChange) is the status's value, and the detail in brackets if any."""
    assert str(StatusChange(Status.CONNECTED)) == "connected"
    assert str(StatusChange(Status.RECONNECTING, "attempt 2 of 5")) == \
        "reconnecting (attempt 2 of 5)"
    assert str(StatusChange(Status.REFUSED, "")) == "refused"


def test_status_values_are_their_names_in_lowercase():
    """Each Status's value is its name in lower case."""
    assert {status.value for status in Status} == {status.name.lower() for status in Status}


def test_no_answer_is_a_timeout_and_a_chat_error():
    """NoAnswer is caught both as TimeoutError and as ChatError."""
    assert issubclass(NoAnswer, TimeoutError)
    assert issubclass(NoAnswer, ChatError)
    assert issubclass(CannotConnect, ConnectionError)
    assert issubclass(CannotConnect, ChatError)


async def test_a_new_peer_is_disconnected():
    """A peer not connected yet says so, with a reason."""
    peer = ChatPeer("ada")
    assert peer.status is Status.DISCONNECTED
    assert peer.detail == "not connected yet"
    assert peer.connected is False
    assert peer.statuses == []


async def test_status_changes_are_kept_and_watched():
    """Every status change is kept in order and handed to each watcher."""
    peer = ChatPeer("ada")
    heard = []
    peer.watch(on_status=heard.append)
    peer._set_status(Status.CONNECTING)
    peer._set_status(Status.CONNECTED)
    assert peer.statuses == [StatusChange(Status.CONNECTING), StatusChange(Status.CONNECTED)]
    assert heard == peer.statuses
    assert peer.connected is True


async def test_a_failing_watcher_does_not_stop_the_others(caplog):
    """A watcher that raises is logged, and the next watcher still hears the change."""
    peer = ChatPeer("ada")
    heard = []
    peer.watch(on_status=lambda change: 1 / 0)
    peer.watch(on_status=heard.append)
    with caplog.at_level(logging.WARNING, logger="chatkit.peer"):
        peer._set_status(Status.DISCONNECTED, "bye")
    assert heard == [StatusChange(Status.DISCONNECTED, "bye")]
    assert any("a watcher of ada failed" in record.getMessage() for record in caplog.records)


async def test_dropping_a_connection_that_is_not_there_is_an_error():
    """drop_connection without a connection raises ChatError naming the peer."""
    with pytest.raises(ChatError, match="ada has no WebSocket connection"):
        await ChatPeer("ada").drop_connection()


async def test_a_refused_connection_says_the_servers_sentence():
    """A wrong join code raises ConnectionRefused with the server's own reason."""
    server = ChatServer(join_code="maple-otter-42")
    await server.start(name="peer-test")
    peer = ChatPeer("ada")
    try:
        with pytest.raises(ConnectionRefused, match="^Wrong join code: check it with your "
                                                    "teacher.$"):
            await peer._connect_once(server.url, protocol.chat_auth("ada", code="wrong"))
    finally:
        await peer.disconnect()


def test_a_peer_keeps_only_the_newest_status_changes(monkeypatch):
    """statuses keeps the last MAX_STATUSES changes, as a list a cell can slice."""
    monkeypatch.setattr(peer_module, "MAX_STATUSES", 3)
    peer = ChatPeer("ada")
    for attempt in range(1, 6):
        peer._set_status(Status.RECONNECTING, f"attempt {attempt} of 5")
    assert [change.detail for change in peer.statuses] == [
        "attempt 3 of 5", "attempt 4 of 5", "attempt 5 of 5"]
    assert isinstance(peer.statuses, list)
