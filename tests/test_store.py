"""Message stores: the same behaviour in memory, in SQLite and in Redis; SQLite across
restarts; Redis shared by several processes."""

import json
import sqlite3

import pytest

from chatkit.store import MemoryStore, Message, RedisStore, SQLiteStore, open_store
from tests.conftest import timeout
from tests.redisserver import redis_url, start_redis, stop_redis  # noqa: F401 (a fixture)


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def store(request, tmp_path):
    redis = None
    if request.param == "memory":
        made = MemoryStore()
    elif request.param == "sqlite":
        made = SQLiteStore(tmp_path / "chat.db")
    else:
        redis = await start_redis()
        made = RedisStore(redis.url)
    yield made
    made.close()
    if redis is not None:
        await stop_redis(redis)


def add(store, room, text, *, name="ada", client_id=None):
    return store.add(room, name, text, ts=1.5, client_id=client_id)


def test_add_gives_ids_from_one_sequence(store):
    """Ids start at 1 and increase by one, across rooms."""
    ids = [add(store, room, "x").id for room in ("a", "b", "a")]
    assert ids == [1, 2, 3] and store.last_id() == 3


def test_empty_store_has_last_id_zero(store):
    """A new store has given no id yet."""
    assert store.last_id() == 0
    assert store.recent("a", 10) == [] and store.since(["a"], 0) == []


def test_add_returns_the_kept_message(store):
    """The returned message is what the store keeps, and what travels on the wire."""
    message = add(store, "lobby", "hello")
    assert message == Message(1, "lobby", "ada", "hello", 1.5)
    assert message.to_dict() == {"id": 1, "room": "lobby", "name": "ada", "text": "hello",
                                 "ts": 1.5}
    assert store.recent("lobby", 1) == [message]


def test_recent_returns_the_last_messages_oldest_first(store):
    """recent(room, n) gives that room's last n messages in id order."""
    for n in range(5):
        add(store, "a", f"a{n}")
        add(store, "b", f"b{n}")
    assert [m.text for m in store.recent("a", 3)] == ["a2", "a3", "a4"]
    assert [m.text for m in store.recent("a", 100)] == [f"a{n}" for n in range(5)]
    assert store.recent("a", 0) == [] and store.recent("nowhere", 5) == []


def test_since_returns_missed_messages_of_some_rooms_in_id_order(store):
    """since(rooms, offset) gives the messages of those rooms with a higher id, in order."""
    for room in "abcab":
        add(store, room, room)
    assert [(m.id, m.room) for m in store.since(["b", "a"], 1)] == [(2, "b"), (4, "a"), (5, "b")]
    assert store.since(["a"], 5) == [] and store.since([], 0) == []
    assert [m.id for m in store.since(["a", "a"], 0)] == [1, 4]


def test_client_id_is_remembered_per_name(store):
    """lookup_client_id finds the id a name's message with that client_id got."""
    first = add(store, "a", "x", client_id="m1")
    add(store, "a", "y", name="bob", client_id="m2")
    assert store.lookup_client_id("ada", "m1") == first.id
    assert store.lookup_client_id("bob", "m1") is None
    assert store.lookup_client_id("ada", "m2") is None


def test_at_least_1000_client_ids_are_remembered_per_name(store):
    """The newest 1,000 client ids of a name are remembered, older ones are forgotten."""
    for n in range(1005):
        add(store, "a", "x", client_id=f"m{n}")
    assert store.lookup_client_id("ada", "m5") == 6
    assert store.lookup_client_id("ada", "m1004") == 1005
    assert store.lookup_client_id("ada", "m4") is None


def test_client_id_memory_is_configurable(tmp_path):
    """client_ids_per_name sets how many are remembered."""
    for store in (MemoryStore(client_ids_per_name=2),
                  SQLiteStore(tmp_path / "c.db", client_ids_per_name=2)):
        for n in range(3):
            add(store, "a", "x", client_id=f"m{n}")
        assert [store.lookup_client_id("ada", f"m{n}") for n in range(3)] == [None, 2, 3]
        store.close()


def test_memory_store_drops_the_oldest_messages_of_a_full_room():
    """A MemoryStore keeps at most messages_per_room per room; ids still increase."""
    store = MemoryStore(messages_per_room=3)
    for n in range(5):
        add(store, "a", str(n))
    add(store, "b", "b")
    assert [m.text for m in store.since(["a"], 0)] == ["2", "3", "4"]
    assert [m.id for m in store.recent("b", 5)] == [6]


def test_memory_store_without_a_limit_keeps_everything():
    """messages_per_room=None keeps every message."""
    store = MemoryStore(messages_per_room=None)
    for n in range(20):
        add(store, "a", str(n))
    assert len(store.since(["a"], 0)) == 20


def test_invalid_sizes_are_refused(tmp_path):
    """Sizes below 1 are a programming error, reported at once."""
    with pytest.raises(ValueError, match="messages_per_room"):
        MemoryStore(messages_per_room=0)
    with pytest.raises(ValueError, match="client_ids_per_name"):
        MemoryStore(client_ids_per_name=0)
    with pytest.raises(ValueError, match="client_ids_per_name"):
        SQLiteStore(tmp_path / "x.db", client_ids_per_name=0)


def test_sqlite_store_continues_after_a_restart(tmp_path):
    """Reopening the same file keeps history, client ids, and the id sequence."""
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    add(store, "a", "before", client_id="m1")
    add(store, "b", "other")
    store.close()

    reopened = SQLiteStore(path)
    assert reopened.last_id() == 2
    assert add(reopened, "a", "after").id == 3
    assert [m.text for m in reopened.recent("a", 10)] == ["before", "after"]
    assert [m.id for m in reopened.since(["a", "b"], 1)] == [2, 3]
    assert reopened.lookup_client_id("ada", "m1") == 1
    reopened.close()


def test_sqlite_ids_never_go_back_even_if_rows_are_deleted(tmp_path):
    """An id once given is never given again (SQLite AUTOINCREMENT)."""
    path = tmp_path / "chat.db"
    store = SQLiteStore(path)
    add(store, "a", "x")
    add(store, "a", "y")
    store.close()
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM messages")
    db.close()
    reopened = SQLiteStore(path)
    assert reopened.last_id() == 2 and add(reopened, "a", "z").id == 3
    reopened.close()


def test_closed_sqlite_store_says_so(tmp_path):
    """Using a closed SQLite store raises an error naming the file; close twice is fine."""
    store = SQLiteStore(tmp_path / "chat.db")
    store.close()
    store.close()
    with pytest.raises(RuntimeError, match="is closed"):
        add(store, "a", "x")
    assert "closed" in repr(store)


def test_open_store_picks_memory_or_sqlite(tmp_path):
    """open_store() is in memory; open_store(path) is SQLite."""
    assert isinstance(open_store(), MemoryStore)
    sqlite_store = open_store(tmp_path / "chat.db", client_ids_per_name=5)
    assert isinstance(sqlite_store, SQLiteStore) and sqlite_store.client_ids_per_name == 5
    sqlite_store.close()


def test_kicks_mutes_and_sessions_are_kept_by_every_store(store):
    """restrict/restriction and session/set_session remember the latest value per name."""
    assert store.restriction("kick", "ada") is None and store.session("ada") is None
    store.restrict("kick", "ada", 2_000_000_000.5)
    store.restrict("mute", "ada", 2_000_000_001.0)
    store.set_session("ada", "secret")
    assert store.restriction("kick", "ada") == 2_000_000_000.5
    assert store.restriction("mute", "ada") == 2_000_000_001.0
    assert store.restriction("kick", "bob") is None and store.session("ada") == "secret"


# -- Redis: one store for several processes ---------------------------------------------------

def test_two_redis_stores_share_one_id_sequence_and_everything_else(redis_url):
    """Two processes' stores on one Redis: one id sequence, one history, shared memories."""
    first, second = RedisStore(redis_url), RedisStore(redis_url)
    ids = [add(store, "lobby", f"m{n}", client_id=f"c{n}").id
           for n, store in enumerate([first, second, first, second])]
    assert ids == [1, 2, 3, 4] and first.last_id() == second.last_id() == 4
    assert [m.text for m in second.recent("lobby", 10)] == ["m0", "m1", "m2", "m3"]
    assert second.lookup_client_id("ada", "c0") == 1
    first.restrict("kick", "bob", 2_000_000_000.0)
    first.set_session("bob", "s")
    assert second.restriction("kick", "bob") == 2_000_000_000.0 and second.session("bob") == "s"
    first.close()
    second.close()


def test_redis_store_publishes_each_message_in_id_order(redis_url):
    """Every add is published on said_channel, as the message's JSON, in id order."""
    store = RedisStore(redis_url)
    pubsub = store.redis.pubsub()
    pubsub.subscribe(store.said_channel)
    assert pubsub.get_message(timeout=timeout(5))["type"] == "subscribe"
    said = [add(store, room, room) for room in "abab"]
    published = [pubsub.get_message(timeout=timeout(5)) for _ in said]
    assert [Message.from_dict(json.loads(m["data"])) for m in published] == said
    pubsub.close()
    store.close()


def test_redis_store_limits_rooms_and_client_ids(redis_url):
    """messages_per_room and client_ids_per_name keep the newest ones, as in memory."""
    store = RedisStore(redis_url, messages_per_room=3, client_ids_per_name=2)
    for n in range(5):
        add(store, "a", str(n), client_id=f"m{n}")
    assert [m.text for m in store.since(["a"], 0)] == ["2", "3", "4"]
    assert [store.lookup_client_id("ada", f"m{n}") for n in (2, 3, 4)] == [None, 4, 5]
    store.close()


def test_redis_keys_are_prefixed_so_chats_can_share_a_redis(redis_url):
    """Two prefixes on one Redis are two separate chats."""
    one, other = RedisStore(redis_url, prefix="one:"), RedisStore(redis_url, prefix="other:")
    add(one, "a", "x")
    assert other.last_id() == 0 and other.recent("a", 5) == []
    assert all(key.startswith("one:") for key in one.redis.keys("*"))
    one.close()
    other.close()


def test_open_store_picks_redis_and_refuses_two_places(redis_url, tmp_path):
    """open_store(redis=url) is a RedisStore; a file and a Redis together are refused."""
    store = open_store(redis=redis_url)
    assert isinstance(store, RedisStore)
    store.close()
    with pytest.raises(ValueError, match="either a SQLite file or a Redis URL"):
        open_store(tmp_path / "x.db", redis=redis_url)


def test_history_is_named_once_and_kept_by_the_file(tmp_path):
    """A SQLite file keeps the name of its history across reopenings; memory stores differ."""
    first = SQLiteStore(tmp_path / "chat.db")
    name = first.history
    first.close()
    again = SQLiteStore(tmp_path / "chat.db")
    assert again.history == name
    again.close()
    assert SQLiteStore(tmp_path / "other.db").history != name
    assert MemoryStore().history != MemoryStore().history


def test_redis_stores_share_one_history(redis_url):  # noqa: F811 (a fixture)
    """Every process on one Redis names the same history: ids there are one sequence."""
    one, two = RedisStore(redis_url), RedisStore(redis_url)
    assert one.history == two.history
    one.close()
    two.close()
