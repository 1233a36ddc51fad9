"""Message history and the memory of client ids: in memory, or in a SQLite file.

Introduced in notebook 03, where a client that lost its connection gets back every
message it missed: that only works because the server keeps them. The chat server
(:mod:`chatkit.server`, through the rules in :mod:`chatkit.chat`) asks a store for four
things:

* ``add``: keep a new message and give it the next id. Ids are one sequence for the
  whole server, across rooms, and never go back: after a restart with the same SQLite
  file they continue where they stopped;
* ``recent``: the last messages of a room (what a client gets when it joins);
* ``since``: every message of some rooms with an id above an offset, in id order (what
  a reconnecting client missed);
* ``lookup_client_id``: the id a name's earlier message with the same ``client_id`` got,
  so that a message sent twice is kept once;
* ``restrict`` and ``restriction``: until when a name is kicked out or muted (notebook 06),
  and ``session``: the secret that lets a client take its name back; both kept where the
  messages are, so that servers sharing a store share them too.

:class:`MemoryStore` forgets everything when the process ends; :class:`SQLiteStore`
keeps it in a file (stdlib :mod:`sqlite3`); :class:`RedisStore` keeps it in a Redis
server that several chat server processes share (notebook 06, scaling out).
:func:`open_store` picks one::

    store = open_store()                           # in memory
    store = open_store("workshop.db")              # survives a restart
    store = open_store(redis="redis://127.0.0.1")  # shared by several processes
"""

from __future__ import annotations

import abc
import bisect
import json
import sqlite3
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from os import PathLike

__all__ = [
    "DEFAULT_CLIENT_IDS_PER_NAME",
    "DEFAULT_MESSAGES_PER_ROOM",
    "MemoryStore",
    "Message",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "open_store",
]

#: How many ``client_id`` values are remembered per name (the protocol promises 1,000).
DEFAULT_CLIENT_IDS_PER_NAME = 1000

#: How many messages a :class:`MemoryStore` keeps per room before it drops the oldest.
DEFAULT_MESSAGES_PER_ROOM = 10_000


@dataclass(frozen=True)
class Message:
    """One chat message, as the server keeps it and sends it (the ``said`` event).

    Attributes:
        id: its place in the server's one sequence of ids, starting at 1.
        room: the room it was said in.
        name: who said it.
        text: what was said.
        ts: when the server received it, in seconds since the epoch.
    """

    id: int
    room: str
    name: str
    text: str
    ts: float

    def to_dict(self) -> dict:
        """The message as it travels on the wire: ``{"id", "room", "name", "text", "ts"}``."""
        return {"id": self.id, "room": self.room, "name": self.name, "text": self.text,
                "ts": self.ts}

    @classmethod
    def from_dict(cls, data: dict) -> Message:
        """The message of a :meth:`to_dict` (as sent on the wire, or kept in Redis)."""
        return cls(int(data["id"]), data["room"], data["name"], data["text"], float(data["ts"]))


def _check_sizes(messages_per_room: int | None, client_ids_per_name: int) -> None:
    if messages_per_room is not None and messages_per_room < 1:
        raise ValueError("messages_per_room must be at least 1, or None for no limit")
    if client_ids_per_name < 1:
        raise ValueError("client_ids_per_name must be at least 1")


class Store(abc.ABC):
    """What the chat rules need from a message store. Methods are plain (no I/O waits).

    Kicks and mutes (:meth:`restrict`) are kept in this process's memory unless a
    subclass keeps them elsewhere.
    """

    def __init__(self) -> None:
        self._restrictions: dict[tuple[str, str], float] = {}
        self._sessions: dict[str, str] = {}
        self._history = uuid.uuid4().hex

    @property
    def history(self) -> str:
        """The name of this message history; a new history (an in-memory server restarted,
        another file) has a new one. Ids only compare within one history: a client whose
        offset comes from another must be given everything instead."""
        return self._history

    @abc.abstractmethod
    def add(self, room: str, name: str, text: str, *, ts: float,
            client_id: str | None = None) -> Message:
        """Keep a new message under the next id and return it.

        With a ``client_id``, also remember which id it got, for
        :meth:`lookup_client_id`. Both happen together or not at all.
        """

    @abc.abstractmethod
    def lookup_client_id(self, name: str, client_id: str) -> int | None:
        """The id of ``name``'s message sent with ``client_id``, or None if not remembered."""

    @abc.abstractmethod
    def recent(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first (fewer if there are fewer)."""

    @abc.abstractmethod
    def since(self, rooms: Iterable[str], offset: int) -> list[Message]:
        """Every kept message of ``rooms`` with an id above ``offset``, in id order."""

    @abc.abstractmethod
    def last_id(self) -> int:
        """The id given to the newest message, or 0 when there has been none."""

    def restrict(self, kind: str, name: str, until: float) -> None:
        """Remember that ``name`` is under a ``kind`` of restriction (``"kick"``,
        ``"mute"``) until ``until`` (seconds since the epoch); a later call replaces it."""
        self._restrictions[kind, name] = until

    def restriction(self, kind: str, name: str) -> float | None:
        """Until when ``name`` is under ``kind``, or None if never; the caller compares
        with the time now (a time in the past means it is over)."""
        return self._restrictions.get((kind, name))

    def session(self, name: str) -> str | None:
        """The session secret last given to ``name``, or None."""
        return self._sessions.get(name)

    def set_session(self, name: str, secret: str) -> None:
        """Remember ``name``'s session secret (it outlives the name's connection)."""
        self._sessions[name] = secret

    def close(self) -> None:
        """Release the store's resources. Safe to call more than once."""


class MemoryStore(Store):
    """Keeps messages and client ids in this process; they are gone when it ends.

    Args:
        messages_per_room: how many messages a room keeps before the oldest are dropped
            (default 10,000). None keeps all of them. A client that was away longer than
            that gets only what is left.
        client_ids_per_name: how many ``client_id`` values are remembered per name, the
            newest ones (default 1,000).
    """

    def __init__(self, *, messages_per_room: int | None = DEFAULT_MESSAGES_PER_ROOM,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        _check_sizes(messages_per_room, client_ids_per_name)
        super().__init__()
        self.messages_per_room = messages_per_room
        self.client_ids_per_name = client_ids_per_name
        self._last_id = 0
        self._rooms: dict[str, list[Message]] = {}
        self._client_ids: dict[str, OrderedDict[str, int]] = {}

    def add(self, room: str, name: str, text: str, *, ts: float,
            client_id: str | None = None) -> Message:
        self._last_id += 1
        message = Message(self._last_id, room, name, text, ts)
        messages = self._rooms.setdefault(room, [])
        messages.append(message)
        if self.messages_per_room is not None and len(messages) > self.messages_per_room:
            del messages[: len(messages) - self.messages_per_room]
        if client_id is not None:
            remembered = self._client_ids.setdefault(name, OrderedDict())
            remembered[client_id] = message.id
            while len(remembered) > self.client_ids_per_name:
                remembered.popitem(last=False)  # forget the oldest
        return message

    def lookup_client_id(self, name: str, client_id: str) -> int | None:
        return self._client_ids.get(name, {}).get(client_id)

    def recent(self, room: str, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        return list(self._rooms.get(room, [])[-limit:])

    def since(self, rooms: Iterable[str], offset: int) -> list[Message]:
        found: list[Message] = []
        for room in set(rooms):
            messages = self._rooms.get(room, [])
            start = bisect.bisect_right(messages, offset, key=lambda message: message.id)
            found.extend(messages[start:])
        found.sort(key=lambda message: message.id)
        return found

    def last_id(self) -> int:
        return self._last_id

    def __repr__(self) -> str:
        return f"<MemoryStore: {self._last_id} messages so far, {len(self._rooms)} rooms>"


class SQLiteStore(Store):
    """Keeps every message and the recent client ids in a SQLite file.

    Restarting a server on the same file continues the same id sequence, so a client
    that reconnects after the restart still gets what it missed. All calls run in the
    caller's thread and each ``add`` is one short transaction: fine for a classroom, not
    for thousands of messages per second.

    Args:
        path: the database file; created if missing. ``":memory:"`` works for tests.
        client_ids_per_name: how many ``client_id`` values are remembered per name, the
            newest ones (default 1,000).
    """

    _SCHEMA = """
        CREATE TABLE IF NOT EXISTS messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: ids are never reused
            room TEXT NOT NULL,
            name TEXT NOT NULL,
            text TEXT NOT NULL,
            ts REAL NOT NULL
        );
        CREATE INDEX IF NOT EXISTS messages_by_room ON messages (room, id);
        CREATE TABLE IF NOT EXISTS client_ids (
            name TEXT NOT NULL,
            client_id TEXT NOT NULL,
            message_id INTEGER NOT NULL,
            PRIMARY KEY (name, client_id)
        );
        CREATE INDEX IF NOT EXISTS client_ids_by_age ON client_ids (name, message_id);
        CREATE TABLE IF NOT EXISTS about (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """

    def __init__(self, path: str | PathLike[str], *,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        _check_sizes(None, client_ids_per_name)
        super().__init__()
        self.path = path
        self.client_ids_per_name = client_ids_per_name
        self._db: sqlite3.Connection | None = sqlite3.connect(path)
        # WAL: a crash mid-write never loses what was committed, and writes stay quick.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(self._SCHEMA)
        with self._db:  # the file keeps the name of its history from the first start on
            self._db.execute("INSERT OR IGNORE INTO about VALUES ('history', ?)",
                             (self._history,))
        self._history = self._db.execute(
            "SELECT value FROM about WHERE key = 'history'").fetchone()[0]

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the store {self.path} is closed")
        return self._db

    def add(self, room: str, name: str, text: str, *, ts: float,
            client_id: str | None = None) -> Message:
        db = self._connection
        with db:  # one transaction: the message and its client_id, or neither
            cursor = db.execute(
                "INSERT INTO messages (room, name, text, ts) VALUES (?, ?, ?, ?)",
                (room, name, text, ts))
            message = Message(cursor.lastrowid, room, name, text, ts)
            if client_id is not None:
                db.execute(
                    "INSERT OR REPLACE INTO client_ids (name, client_id, message_id)"
                    " VALUES (?, ?, ?)", (name, client_id, message.id))
                # Forget all but the newest client_ids_per_name of this name.
                db.execute(
                    "DELETE FROM client_ids WHERE name = ? AND message_id <= ("
                    " SELECT message_id FROM client_ids WHERE name = ?"
                    " ORDER BY message_id DESC LIMIT 1 OFFSET ?)",
                    (name, name, self.client_ids_per_name))
        return message

    def lookup_client_id(self, name: str, client_id: str) -> int | None:
        row = self._connection.execute(
            "SELECT message_id FROM client_ids WHERE name = ? AND client_id = ?",
            (name, client_id)).fetchone()
        return None if row is None else row[0]

    def recent(self, room: str, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        rows = self._connection.execute(
            "SELECT id, room, name, text, ts FROM messages WHERE room = ?"
            " ORDER BY id DESC LIMIT ?", (room, limit)).fetchall()
        return [Message(*row) for row in reversed(rows)]

    def since(self, rooms: Iterable[str], offset: int) -> list[Message]:
        rooms = sorted(set(rooms))
        if not rooms:
            return []
        marks = ", ".join("?" * len(rooms))
        rows = self._connection.execute(
            f"SELECT id, room, name, text, ts FROM messages"
            f" WHERE room IN ({marks}) AND id > ? ORDER BY id", (*rooms, offset)).fetchall()
        return [Message(*row) for row in rows]

    def last_id(self) -> int:
        # sqlite_sequence remembers the highest id ever given, even if rows were deleted.
        row = self._connection.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
        return 0 if row is None else row[0]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __repr__(self) -> str:
        state = "closed" if self._db is None else f"{self.last_id()} messages so far"
        return f"<SQLiteStore {str(self.path)!r}: {state}>"


class RedisStore(Store):
    """Keeps messages, client ids, kicks, mutes and sessions in a Redis server, so that
    several chat server processes share one chat.

    Ids come from one Redis counter, so they stay unique and increasing across processes.
    Each :meth:`add` is one Lua script, which Redis runs all at once: it takes the next
    id, keeps the message, remembers its ``client_id`` and publishes the message on the
    channel :attr:`said_channel`, in that order. So the messages on that channel come in
    id order, whichever process said them: a server that delivers from the channel
    delivers every room in order.

    Calls use redis-py's blocking client: each is one short round trip to Redis (well
    under a millisecond on a local network), like :class:`SQLiteStore`'s calls.

    Args:
        url: the Redis server, such as ``"redis://127.0.0.1:6379/0"``.
        prefix: put before every key and channel name, so that several chats can share
            one Redis (default ``"chatkit:"``).
        messages_per_room: how many messages a room keeps (default 10,000); None keeps
            all of them (Redis holds them in memory).
        client_ids_per_name: how many ``client_id`` values are remembered per name, the
            newest ones (default 1,000).
    """

    # KEYS: the id counter, the room's messages, the name's client ids.
    # ARGV: the message as JSON without its id, the room's limit (0: none), the
    #       client_id ("" for none), the client ids' limit, the channel to publish on.
    _ADD = """
        local id = redis.call('INCR', KEYS[1])
        local message = '{"id": ' .. id .. ', ' .. string.sub(ARGV[1], 2)
        redis.call('ZADD', KEYS[2], id, message)
        local most = tonumber(ARGV[2])
        if most > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -most - 1) end
        if ARGV[3] ~= '' then
            redis.call('ZADD', KEYS[3], id, ARGV[3])
            redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
        end
        redis.call('PUBLISH', ARGV[5], message)
        return id
    """

    def __init__(self, url: str, *, prefix: str = "chatkit:",
                 messages_per_room: int | None = DEFAULT_MESSAGES_PER_ROOM,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        import redis  # here, so that chatkit works without Redis until it is asked for

        _check_sizes(messages_per_room, client_ids_per_name)
        super().__init__()
        self.url = url
        self.prefix = prefix
        self.messages_per_room = messages_per_room
        self.client_ids_per_name = client_ids_per_name
        #: The Redis channel on which every new message is published, as JSON.
        self.said_channel = f"{prefix}said"
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._add = self.redis.register_script(self._ADD)
        self._shared_history: str | None = None

    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    @property
    def history(self) -> str:
        # Every process on this Redis shares one history, named by the first to ask.
        if self._shared_history is None:
            self.redis.set(self._key("history"), self._history, nx=True)
            self._shared_history = self.redis.get(self._key("history"))
        return self._shared_history

    def add(self, room: str, name: str, text: str, *, ts: float,
            client_id: str | None = None) -> Message:
        body = json.dumps({"room": room, "name": name, "text": text, "ts": ts})
        message_id = self._add(
            keys=[self._key("last_id"), self._key("room", room), self._key("client_ids", name)],
            args=[body, self.messages_per_room or 0, client_id or "",
                  self.client_ids_per_name, self.said_channel])
        return Message(int(message_id), room, name, text, ts)

    def lookup_client_id(self, name: str, client_id: str) -> int | None:
        found = self.redis.zscore(self._key("client_ids", name), client_id)
        return None if found is None else int(found)

    def recent(self, room: str, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        rows = self.redis.zrange(self._key("room", room), -limit, -1)
        return [Message.from_dict(json.loads(row)) for row in rows]

    def since(self, rooms: Iterable[str], offset: int) -> list[Message]:
        pipe = self.redis.pipeline(transaction=False)
        for room in sorted(set(rooms)):
            pipe.zrangebyscore(self._key("room", room), f"({offset}", "+inf")
        found = [Message.from_dict(json.loads(row)) for rows in pipe.execute() for row in rows]
        found.sort(key=lambda message: message.id)
        return found

    def last_id(self) -> int:
        return int(self.redis.get(self._key("last_id")) or 0)

    def restrict(self, kind: str, name: str, until: float) -> None:
        # Redis forgets it a minute after it ends (in Redis's clock), never before.
        self.redis.set(self._key("restrict", kind, name), repr(until),
                       exat=max(1, int(until) + 60))

    def restriction(self, kind: str, name: str) -> float | None:
        until = self.redis.get(self._key("restrict", kind, name))
        return None if until is None else float(until)

    def session(self, name: str) -> str | None:
        return self.redis.hget(self._key("sessions"), name)

    def set_session(self, name: str, secret: str) -> None:
        self.redis.hset(self._key("sessions"), name, secret)

    def close(self) -> None:
        self.redis.close()

    def __repr__(self) -> str:
        return f"<RedisStore {self.url!r} prefix {self.prefix!r}>"


def open_store(path: str | PathLike[str] | None = None, *,
               client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME,
               redis: str | None = None) -> Store:
    """A :class:`SQLiteStore` on ``path``, a :class:`RedisStore` on the ``redis`` URL, or
    a :class:`MemoryStore` when neither is given."""
    if path is not None and redis is not None:
        raise ValueError("give either a SQLite file or a Redis URL, not both")
    if redis is not None:
        return RedisStore(redis, client_ids_per_name=client_ids_per_name)
    if path is None:
        return MemoryStore(client_ids_per_name=client_ids_per_name)
    return SQLiteStore(path, client_ids_per_name=client_ids_per_name)
