"""Message stores: the same behaviour in memory and in SQLite; SQLite across restarts,
including files made by an older schema. (The Redis store is tested with chatkit.cluster.)"""

import sqlite3

import pytest

from chatkit.protocol import Message
from chatkit.store import MemoryStore, SQLiteStore, open_store


@pytest.fixture(params=["memory", "sqlite"])
async def store(request, tmp_path):
    """Each shared test runs on a new MemoryStore and on a new SQLiteStore."""
    made = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "chat.db")
    yield made
    await made.close()


async def add(store, room, text, *, name="ada", client_id=None):
    """Add a message at ts 1.5, as ada unless told."""
    return await store.add(room, name, text, ts=1.5, client_id=client_id)


async def test_add_gives_ids_from_one_sequence(store):
    """Ids start at 1 and increase by one, across rooms."""
    ids = [(await add(store, room, "x")).id for room in ("a", "b", "a")]
    assert ids == [1, 2, 3] and await store.last_id() == 3


async def test_empty_store_has_last_id_zero(store):
    """A new store has given no id yet."""
    assert await store.last_id() == 0
    assert await store.recent("a", 10) == [] and await store.since(["a"], 0) == []


async def test_add_returns_the_kept_message(store):
    """The returned message is what the store keeps, and what travels on the wire."""
    message = await add(store, "lobby", "hello")
    assert message == Message(1, "lobby", "ada", "hello", 1.5)
    assert message.to_dict() == {"id": 1, "room": "lobby", "name": "ada", "text": "hello",
                                 "ts": 1.5}
    assert await store.recent("lobby", 1) == [message]


async def test_recent_returns_the_last_messages_oldest_first(store):
    """recent(room, n) gives that room's last n messages in id order."""
    for n in range(5):
        await add(store, "a", f"a{n}")
        await add(store, "b", f"b{n}")
    assert [m.text for m in await store.recent("a", 3)] == ["a2", "a3", "a4"]
    assert [m.text for m in await store.recent("a", 100)] == [f"a{n}" for n in range(5)]
    assert await store.recent("a", 0) == [] and await store.recent("nowhere", 5) == []


async def test_since_returns_missed_messages_of_some_rooms_in_id_order(store):
    """since(rooms, offset) gives the messages of those rooms with a higher id, in order."""
    for room in "abcab":
        await add(store, room, room)
    assert [(m.id, m.room) for m in await store.since(["b", "a"], 1)] == [
        (2, "b"), (4, "a"), (5, "b")]
    assert await store.since(["a"], 5) == [] and await store.since([], 0) == []
    assert [m.id for m in await store.since(["a", "a"], 0)] == [1, 4]


async def test_since_with_a_limit_gives_the_oldest_after_the_offset(store):
    """since(..., limit=n) gives the oldest n after the offset, in id order."""
    for room in "abcabcab":
        await add(store, room, room)
    assert [m.id for m in await store.since(["a", "b"], 0, limit=3)] == [1, 2, 4]
    assert [m.id for m in await store.since(["a", "b"], 4, limit=3)] == [5, 7, 8]
    assert [m.id for m in await store.since(["b", "a"], 5, limit=100)] == [7, 8]
    assert [m.id for m in await store.since(["a", "b"], 0, limit=None)] == [1, 2, 4, 5, 7, 8]
    assert await store.since(["a"], 0, limit=0) == [] and await store.since([], 0, limit=2) == []


async def test_since_pages_add_up_to_everything(store):
    """Paging with limit from the last id got gives exactly what since without a limit does."""
    for n in range(23):
        await add(store, "abc"[n % 3], str(n))
    paged, offset = [], 0
    while page := await store.since(["a", "c"], offset, limit=4):
        assert len(page) <= 4
        paged += page
        offset = page[-1].id
    assert paged == await store.since(["a", "c"], 0)


async def test_client_id_is_remembered_per_name(store):
    """lookup_client_id finds the id a name's message with that client_id got."""
    first = await add(store, "a", "x", client_id="m1")
    await add(store, "a", "y", name="bob", client_id="m2")
    assert await store.lookup_client_id("ada", "m1") == first.id
    assert await store.lookup_client_id("bob", "m1") is None
    assert await store.lookup_client_id("ada", "m2") is None


async def test_at_least_1000_client_ids_are_remembered_per_name(store):
    """The newest 1,000 client ids of a name are remembered, older ones are forgotten."""
    for n in range(1005):
        await add(store, "a", "x", client_id=f"m{n}")
    assert await store.lookup_client_id("ada", "m5") == 6
    assert await store.lookup_client_id("ada", "m1004") == 1005
    assert await store.lookup_client_id("ada", "m4") is None


async def test_client_id_memory_is_configurable(tmp_path):
    """client_ids_per_name sets how many are remembered."""
    for store in (MemoryStore(client_ids_per_name=2),
                  SQLiteStore(tmp_path / "c.db", client_ids_per_name=2)):
        for n in range(3):
            await add(store, "a", "x", client_id=f"m{n}")
        assert [await store.lookup_client_id("ada", f"m{n}") for n in range(3)] == [None, 2, 3]
        await store.close()


async def test_memory_store_drops_the_oldest_messages_of_a_full_room():
    """A MemoryStore keeps at most messages_per_room per room; ids still increase."""
    store = MemoryStore(messages_per_room=3)
    for n in range(5):
        await add(store, "a", str(n))
    await add(store, "b", "b")
    assert [m.text for m in await store.since(["a"], 0)] == ["2", "3", "4"]
    assert [m.id for m in await store.recent("b", 5)] == [6]
    assert [m.text for m in await store.since(["a", "b"], 0, limit=2)] == ["2", "3"]


async def test_memory_store_without_a_limit_keeps_everything():
    """messages_per_room=None keeps every message."""
    store = MemoryStore(messages_per_room=None)
    for n in range(20):
        await add(store, "a", str(n))
    assert len(await store.since(["a"], 0)) == 20


def test_invalid_sizes_are_refused(tmp_path):
    """Sizes below 1 are a programming error, reported at once."""
    with pytest.raises(ValueError, match="messages_per_room"):
        MemoryStore(messages_per_room=0)
    with pytest.raises(ValueError, match="client_ids_per_name"):
        MemoryStore(client_ids_per_name=0)
    with pytest.raises(ValueError, match="client_ids_per_name"):
        SQLiteStore(tmp_path / "x.db", client_ids_per_name=0)


async def test_sqlite_store_continues_after_a_restart(tmp_path):
    """Reopening the same file keeps history, client ids, and the id sequence."""
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    await add(store, "a", "before", client_id="m1")
    await add(store, "b", "other")
    await store.close()

    reopened = SQLiteStore(path)
    assert await reopened.last_id() == 2
    assert (await add(reopened, "a", "after")).id == 3
    assert [m.text for m in await reopened.recent("a", 10)] == ["before", "after"]
    assert [m.id for m in await reopened.since(["a", "b"], 1)] == [2, 3]
    assert await reopened.lookup_client_id("ada", "m1") == 1
    await reopened.close()


async def test_sqlite_store_keeps_kicks_mutes_and_sessions_across_a_restart(tmp_path):
    """Reopening the same file keeps kicks, mutes and sessions, the latest of each."""
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    await store.restrict("kick", "bob", 2_000_000_000.5)
    await store.restrict("mute", "bob", 1_000.0)
    await store.restrict("mute", "bob", 2_000_000_001.0)  # replaces the one before
    await store.set_session("bob", "old")
    await store.set_session("bob", "secret")
    await store.close()

    reopened = SQLiteStore(path)
    assert await reopened.restriction("kick", "bob") == 2_000_000_000.5
    assert await reopened.restriction("mute", "bob") == 2_000_000_001.0
    assert await reopened.session("bob") == "secret"
    assert await reopened.restriction("kick", "ada") is None
    assert await reopened.session("ada") is None
    await reopened.close()


# The schema of chatkit before the store kept kicks, mutes and sessions: no restrictions
# and no sessions table.
OLD_SCHEMA = """
    CREATE TABLE messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        room TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX messages_by_room ON messages (room, id);
    CREATE TABLE client_ids (
        name TEXT NOT NULL,
        client_id TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        PRIMARY KEY (name, client_id)
    );
    CREATE INDEX client_ids_by_age ON client_ids (name, message_id);
    CREATE TABLE about (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


async def test_sqlite_store_opens_a_file_of_the_old_schema(tmp_path):
    """An old-schema file keeps its messages and history id, and gains kicks and sessions."""
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    with db:
        db.execute("INSERT INTO messages (room, name, text, ts) VALUES"
                   " ('lobby', 'ada', 'from before', 1.5)")
        db.execute("INSERT INTO client_ids VALUES ('ada', 'm1', 1)")
        db.execute("INSERT INTO about VALUES ('history', 'old-history')")
    db.close()

    store = SQLiteStore(path)
    assert store.history_id == "old-history"
    assert await store.since(["lobby"], 0) == [Message(1, "lobby", "ada", "from before", 1.5)]
    assert await store.lookup_client_id("ada", "m1") == 1
    assert (await add(store, "lobby", "after")).id == 2
    await store.restrict("kick", "ada", 2_000_000_000.0)
    await store.set_session("ada", "secret")
    await store.close()

    reopened = SQLiteStore(path)
    assert reopened.history_id == "old-history" and await reopened.last_id() == 2
    assert await reopened.restriction("kick", "ada") == 2_000_000_000.0
    assert await reopened.session("ada") == "secret"
    await reopened.close()


async def test_sqlite_ids_never_go_back_even_if_rows_are_deleted(tmp_path):
    """An id once given is never given again (SQLite AUTOINCREMENT)."""
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    await add(store, "a", "x")
    await add(store, "a", "y")
    await store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM messages")
    db.close()
    reopened = SQLiteStore(path)
    assert await reopened.last_id() == 2 and (await add(reopened, "a", "z")).id == 3
    await reopened.close()


async def test_closed_sqlite_store_says_so(tmp_path):
    """Using a closed SQLite store raises an error naming the file; close twice is fine."""
    store = SQLiteStore(tmp_path / "chat.db")
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match="is closed"):
        await add(store, "a", "x")
    with pytest.raises(RuntimeError, match="is closed"):
        await store.set_session("ada", "secret")
    assert "closed" in repr(store)


def test_a_file_that_is_no_database_is_refused(tmp_path):
    """Opening something that is not a SQLite file raises sqlite3's error."""
    path = tmp_path / "notes.txt"
    path.write_text("not a database, " * 100)
    with pytest.raises(sqlite3.DatabaseError):
        SQLiteStore(path)


async def test_close_twice_is_harmless(store):
    """close() may be called twice on any store (the fixture closes once more)."""
    await store.close()
    await store.close()


async def test_open_store_picks_memory_or_sqlite(tmp_path):
    """open_store() is in memory; open_store(path) is SQLite."""
    assert isinstance(open_store(), MemoryStore)
    sqlite_store = open_store(tmp_path / "chat.db", client_ids_per_name=5)
    assert isinstance(sqlite_store, SQLiteStore) and sqlite_store.client_ids_per_name == 5
    await sqlite_store.close()


async def test_kicks_mutes_and_sessions_are_kept_by_every_store(store):
    """restrict/restriction and session/set_session remember the latest value per name."""
    assert await store.restriction("kick", "ada") is None and await store.session("ada") is None
    await store.restrict("kick", "ada", 2_000_000_000.5)
    await store.restrict("mute", "ada", 2_000_000_001.0)
    await store.set_session("ada", "secret")
    assert await store.restriction("kick", "ada") == 2_000_000_000.5
    assert await store.restriction("mute", "ada") == 2_000_000_001.0
    assert await store.restriction("kick", "bob") is None
    assert await store.session("ada") == "secret"


async def test_history_is_named_once_and_kept_by_the_file(tmp_path):
    """A SQLite file keeps the name of its history across reopenings; memory stores differ."""
    first = SQLiteStore(tmp_path / "chat.db")
    name = first.history_id
    await first.close()
    again = SQLiteStore(tmp_path / "chat.db")
    assert again.history_id == name
    await again.close()
    other = SQLiteStore(tmp_path / "other.db")
    assert other.history_id != name
    await other.close()
    assert MemoryStore().history_id != MemoryStore().history_id


# == issue 14, item 3: every store answers the same to what a client can send ==============

@pytest.mark.parametrize("offset", [2**63 - 1, 2**63, 10**30])
async def test_since_an_offset_past_every_id_is_nothing_on_every_store(store, offset):
    """An offset beyond SQLite's integers is past every id: nothing, as in memory, never
    an OverflowError (it used to kill a resume on --db only)."""
    await add(store, "lobby", "hi")
    assert await store.since(["lobby"], offset) == []
    assert [message.text for message in await store.since(["lobby"], 0)] == ["hi"]


async def test_text_check_text_accepts_is_kept_exactly_by_every_store(store):
    """What chatkit.limits lets through (here an emoji, a combining mark, a right-to-left
    name) every store keeps and gives back exactly; what it refuses (lone surrogates,
    NUL: see test_limits) is what some store could not."""
    from chatkit.limits import Limits

    text = Limits().check_text("hi 👋🏽 Zoe\u0308 שלום")
    kept = await store.add("lobby", "Ада", text, ts=1.5, client_id=Limits().check_client_id("👋"))
    assert (await store.recent("lobby", 1))[0] == kept and kept.text == text
    assert await store.lookup_client_id("Ада", "👋") == kept.id


# -- issue 14: the rooms a name was in (what a resume may replay in full) -------------------

async def test_memberships_are_replaced_and_read_back(store):
    assert await store.memberships("ada") == ()
    await store.set_memberships("ada", ("games", "lobby"))
    await store.set_memberships("bob", ("lobby",))
    assert await store.memberships("ada") == ("games", "lobby")
    await store.set_memberships("ada", ())
    assert await store.memberships("ada") == () and await store.memberships("bob") == (
        "lobby",)


async def test_sqlite_store_keeps_memberships_across_a_restart(tmp_path):
    """So that after a --db restart a resume still replays the rooms the name was in."""
    path = tmp_path / "chat.db"
    first = SQLiteStore(path)
    await first.set_memberships("ada", ["big", "lobby"])
    await first.close()
    again = SQLiteStore(path)
    assert await again.memberships("ada") == ("big", "lobby")
    await again.close()
