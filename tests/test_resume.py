"""Resuming after a lost connection (chatkit.resume): Seen and Outbox."""

import asyncio

import pytest

from chatkit.protocol import ChatError, Message, Welcome
from chatkit.resume import Outbox, Seen


def message(message_id: int, room: str = "lobby") -> Message:
    """A message of ``room`` with the id ``message_id``."""
    return Message(message_id, room, "ada", f"text {message_id}", 1000.0 + message_id)


# -- Seen ------------------------------------------------------------------------------

def test_seen_starts_with_no_offset_and_no_history():
    """Before anything arrives there is no offset and no history id."""
    seen = Seen()
    assert seen.offset is None
    assert seen.history_id is None


def test_a_new_message_is_first_time_and_moves_the_offset():
    """A message never seen is new, and its id becomes the offset."""
    seen = Seen()
    assert seen.first_time(message(3)) is True
    assert seen.offset == 3


def test_the_same_message_twice_is_dropped():
    """A replayed message (same room, same id) is not new the second time."""
    seen = Seen()
    assert seen.first_time(message(5))
    assert seen.first_time(message(5)) is False
    assert seen.offset == 5


def test_an_older_id_in_the_same_room_is_a_duplicate():
    """Ids grow per room: an id below the room's newest is a duplicate."""
    seen = Seen()
    seen.first_time(message(9))
    assert seen.first_time(message(4)) is False
    assert seen.offset == 9


def test_last_ids_are_kept_per_room():
    """A lower id in another room is still new, and the offset stays the newest of all."""
    seen = Seen()
    assert seen.first_time(message(9, "lobby"))
    assert seen.first_time(message(4, "games")) is True
    assert seen.offset == 9
    assert seen.first_time(message(4, "games")) is False
    assert seen.first_time(message(10, "games")) is True
    assert seen.offset == 10


def test_a_joins_history_counts_as_seen():
    """After a join's history, its messages replayed again are duplicates."""
    seen = Seen()
    seen.history("lobby", [message(2), message(7), message(5)])
    assert seen.offset == 7
    assert seen.first_time(message(7)) is False
    assert seen.first_time(message(6)) is False
    assert seen.first_time(message(8)) is True


def test_an_empty_history_changes_nothing():
    """A room without messages leaves the offset where it was."""
    seen = Seen()
    seen.history("lobby", [])
    assert seen.offset is None
    seen.first_time(message(3, "games"))
    seen.history("lobby", iter(()))
    assert seen.offset == 3


def test_an_older_history_does_not_move_a_room_back():
    """A history older than what the room already saw keeps the room's newest id."""
    seen = Seen()
    seen.first_time(message(8))
    seen.history("lobby", [message(2), message(3)])
    assert seen.offset == 8
    assert seen.first_time(message(5)) is False


def test_the_first_welcome_names_the_history():
    """The first welcome's history id is remembered."""
    seen = Seen()
    seen.welcome(Welcome("ada", "secret", "h1"))
    assert seen.history_id == "h1"
    assert seen.offset is None


def test_a_welcome_of_the_same_history_keeps_the_ids():
    """Reconnecting to the same history keeps the offset and drops duplicates still."""
    seen = Seen()
    seen.welcome(Welcome("ada", "secret", "h1"))
    seen.first_time(message(4))
    seen.welcome(Welcome("ada", "secret-2", "h1"))
    assert seen.offset == 4
    assert seen.first_time(message(4)) is False


def test_a_new_history_resets_the_ids():
    """A welcome of another history starts afresh: no offset, and old ids are new again."""
    seen = Seen()
    seen.welcome(Welcome("ada", "secret", "h1"))
    seen.first_time(message(4))
    seen.first_time(message(2, "games"))
    seen.welcome(Welcome("ada", "secret", "h2"))
    assert seen.history_id == "h2"
    assert seen.offset is None
    assert seen.first_time(message(1)) is True
    assert seen.first_time(message(2, "games")) is True
    assert seen.offset == 2


# -- Outbox ----------------------------------------------------------------------------

class Wire:
    """A fake connection that records each send and keeps its ack callback."""

    def __init__(self):
        self.sent: list[dict] = []
        self.on_acks: list = []
        self.broken = False

    async def emit(self, payload, on_ack):
        """Record ``payload``; raise ConnectionError while broken."""
        if self.broken:
            raise ConnectionError("gone")
        self.sent.append(payload)
        self.on_acks.append(on_ack)

    def client_ids(self) -> list[str]:
        """The client_id of each send, in order."""
        return [payload["client_id"] for payload in self.sent]


def say(client_id: str, text: str = "hi") -> dict:
    """A say payload with ``client_id``."""
    return {"room": "lobby", "text": text, "client_id": client_id}


async def settle():
    """Let the tasks that are ready run."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_send_on_a_connection_returns_the_ack():
    """Connected, a message goes out at once and send returns the server's ack."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    assert wire.sent == [say("c1")]
    wire.on_acks[0]({"ok": True, "id": 1})
    assert await task == {"ok": True, "id": 1}


async def test_a_send_without_a_connection_waits_for_the_next():
    """With no connection nothing is sent; the next connection sends it."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    assert wire.sent == []
    await outbox.connected()
    assert wire.client_ids() == ["c1"]
    wire.on_acks[0]({"ok": True, "id": 3})
    assert await task == {"ok": True, "id": 3}


async def test_an_unacknowledged_say_is_resent_with_the_same_client_id():
    """A say without an ack is sent again on the next connection, same payload and id."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    outbox.disconnected()
    await outbox.connected()
    assert wire.sent == [say("c1"), say("c1")]
    wire.on_acks[1]({"ok": True, "id": 9})
    assert await task == {"ok": True, "id": 9}


async def test_a_late_ack_from_the_old_connection_resolves_it_once():
    """An ack to the first send resolves the say; a later second ack is ignored."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    await outbox.connected()
    wire.on_acks[0]({"ok": True, "id": 1})
    wire.on_acks[1]({"ok": True, "id": 2})
    assert await task == {"ok": True, "id": 1}


async def test_an_acknowledged_say_is_not_resent():
    """Once answered, a say is not sent again on the next connection."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    wire.on_acks[0]({"ok": True, "id": 1})
    await task
    outbox.disconnected()
    await outbox.connected()
    assert wire.client_ids() == ["c1"]


async def test_waiting_says_are_resent_in_order_before_new_ones():
    """A reconnect re-sends waiting says in their order, and calls then() first."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    tasks = [asyncio.create_task(outbox.send(say(cid), timeout=5)) for cid in ("a", "b", "c")]
    await settle()
    calls = []
    await outbox.connected(lambda: calls.append(list(wire.sent)))
    assert calls == [[]]
    assert wire.client_ids() == ["a", "b", "c"]
    for index, on_ack in enumerate(wire.on_acks):
        on_ack({"ok": True, "id": index + 1})
    assert [ack["id"] for ack in await asyncio.gather(*tasks)] == [1, 2, 3]


async def test_a_send_that_hits_a_lost_connection_goes_on_the_next():
    """If emit raises ConnectionError, the say is sent on the next connection."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    wire.broken = True
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    assert wire.sent == []
    wire.broken = False
    await outbox.connected()
    assert wire.client_ids() == ["c1"]
    wire.on_acks[0]({"ok": True, "id": 4})
    assert await task == {"ok": True, "id": 4}


async def test_fail_fails_every_waiting_say():
    """fail(why) makes each waiting send raise ChatError with that sentence."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    first = asyncio.create_task(outbox.send(say("a"), timeout=5))
    second = asyncio.create_task(outbox.send(say("b"), timeout=5))
    await settle()
    outbox.fail("the server refused you")
    for task in (first, second):
        with pytest.raises(ChatError, match="the server refused you"):
            await task


async def test_a_say_is_given_up_after_max_sends():
    """A say sent max_sends times without an answer fails with ChatError on the next try."""
    wire = Wire()
    outbox = Outbox(wire.emit, max_sends=2)
    await outbox.connected()
    task = asyncio.create_task(outbox.send(say("c1"), timeout=5))
    await settle()
    await outbox.connected()
    assert len(wire.sent) == 2
    await outbox.connected()
    assert len(wire.sent) == 2
    with pytest.raises(ChatError, match="sent 2 times without an answer"):
        await task


async def test_a_say_without_an_answer_times_out_and_is_forgotten():
    """send raises TimeoutError after timeout, and the say is not re-sent afterwards."""
    wire = Wire()
    outbox = Outbox(wire.emit)
    await outbox.connected()
    with pytest.raises(TimeoutError):
        await outbox.send(say("c1"), timeout=0.05)
    await outbox.connected()
    assert wire.client_ids() == ["c1"]


def test_the_auth_of_an_attempt_resumes_only_with_rooms():
    """No room joined: a fresh start, no offset; with rooms: the rooms, sorted, the offset
    and the history to resume from (issue 14: every reconnection try sends it afresh)."""
    seen = Seen()
    assert seen.auth("ada", code="c", session=None, rooms=set()) == {"name": "ada", "code": "c"}
    seen.welcome(Welcome(name="ada", session="s", history_id="h1"))
    seen.first_time(Message(id=7, room="lobby", name="bob", text="hi", ts=0.0))
    assert seen.auth("ada", code=None, session="s", rooms={"math", "lobby"}) == {
        "name": "ada", "session": "s", "rooms": ["lobby", "math"], "offset": 7, "history": "h1"}
