"""Message history, client ids, kicks, mutes and sessions: in memory, or in a SQLite file.

Introduced in notebook 03, where a client that lost its connection gets back every
message it missed: that only works because the server keeps them, and
``ChatServer(db=...)`` keeps them in a file so that they survive a restart (in notebook
06, the ``--db`` option of ``python -m chatkit serve``, which makes even ``kill -9`` lose
nothing). The chat rules (:mod:`chatkit.chat`) ask a store for:

* ``add``: keep a new message and give it the next id. Ids are one sequence for the
  whole server, across rooms, and never go back: after a restart with the same SQLite
  file they continue where they stopped;
* ``recent``: the last messages of a room (what a client gets when it joins);
* ``since``: the messages of some rooms with an id above an offset, in id order (what
  a reconnecting client missed), all of them or the first ``limit``;
* ``lookup_client_id``: the id a name's earlier message with the same ``client_id`` got,
  so that a message sent twice is kept once;
* ``restrict`` and ``restriction``: until when a name is kicked out or muted (notebook 06),
  and ``session``: the secret that lets a client take its name back; both kept where the
  messages are, so that they last as long as the messages do.

Every method is a coroutine, so that a store which waits on the network (the Redis one
of :mod:`chatkit.cluster`, which several server processes share) never blocks the event
loop; the two stores here have nothing to wait for.

:class:`MemoryStore` keeps all of it in this process and forgets it when the process
ends; :class:`SQLiteStore` keeps all of it in a file (stdlib :mod:`sqlite3`).
:func:`open_store` picks one::

    store = open_store()                  # in memory
    store = open_store("workshop.db")     # survives a restart
    message = await store.add("lobby", "ada", "hi", ts=time.time())
"""

from __future__ import annotations

import abc
import bisect
import heapq
import itertools
import sqlite3
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from os import PathLike

from chatkit.protocol import Message

__all__ = [
    "DEFAULT_CLIENT_IDS_PER_NAME",
    "DEFAULT_MESSAGES_PER_ROOM",
    "MemoryStore",
    "SQLiteStore",
    "Store",
    "open_store",
]

#: How many ``client_id`` values are remembered per name (the protocol promises 1,000).
DEFAULT_CLIENT_IDS_PER_NAME = 1000

#: How many messages a :class:`MemoryStore` keeps per room before it drops the oldest.
DEFAULT_MESSAGES_PER_ROOM = 10_000


def _check_sizes(messages_per_room: int | None, client_ids_per_name: int) -> None:
    if messages_per_room is not None and messages_per_room < 1:
        raise ValueError("messages_per_room must be at least 1, or None for no limit")
    if client_ids_per_name < 1:
        raise ValueError("client_ids_per_name must be at least 1")


class Store(abc.ABC):
    """What the chat rules need from a message store; every method but
    :attr:`history_id` is a coroutine.

    A subclass calls ``super().__init__()``, which names a new history in
    ``self._history_id``; a store whose history outlives the process replaces that name
    with the one it kept.
    """

    #: Whether the store delivers each new message to its room itself (the Redis store
    #: of :mod:`chatkit.cluster` does, so every process hears it in id order); when
    #: False the rules have the server emit ``said``.
    delivers_messages: bool = False

    def __init__(self) -> None:
        self._history_id = uuid.uuid4().hex
        self._memberships: dict[str, tuple[str, ...]] = {}

    @property
    def history_id(self) -> str:
        """The name of this message history; a new history (an in-memory server restarted,
        another file) has a new one. Ids only compare within one history: a client whose
        offset comes from another must be given everything instead."""
        return self._history_id

    @abc.abstractmethod
    async def add(self, room: str, name: str, text: str, *, ts: float,
                  client_id: str | None = None) -> Message:
        """Keep a new message under the next id and return it.

        With a ``client_id``, also remember which id it got, for
        :meth:`lookup_client_id`; None remembers nothing. Both happen together or not
        at all.
        """

    @abc.abstractmethod
    async def lookup_client_id(self, name: str, client_id: str) -> int | None:
        """The id of ``name``'s message sent with ``client_id``, or None if not remembered."""

    @abc.abstractmethod
    async def recent(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first (fewer if there are fewer;
        none if ``limit`` is 0 or less)."""

    @abc.abstractmethod
    async def since(self, rooms: Iterable[str], offset: int, *,
                    limit: int | None = None) -> list[Message]:
        """The kept messages of ``rooms`` with an id above ``offset``, in id order.

        ``limit`` None gives all of them; a number gives at most that many, the oldest
        (the first after ``offset``), so that a caller can page on from the last id it
        got; 0 or less gives none.
        """

    @abc.abstractmethod
    async def last_id(self) -> int:
        """The id given to the newest message, or 0 when there has been none."""

    @abc.abstractmethod
    async def restrict(self, kind: str, name: str, until: float) -> None:
        """Remember that ``name`` is under a ``kind`` of restriction (``"kick"``,
        ``"mute"``) until ``until`` (seconds since the epoch); a later call replaces it."""

    @abc.abstractmethod
    async def restriction(self, kind: str, name: str) -> float | None:
        """Until when ``name`` is under ``kind``, or None if never; the caller compares
        with the time now (a time in the past means it is over)."""

    @abc.abstractmethod
    async def session(self, name: str) -> str | None:
        """The session secret last given to ``name``, or None if none was."""

    @abc.abstractmethod
    async def set_session(self, name: str, secret: str) -> None:
        """Remember ``name``'s session secret (it outlives the name's connection)."""

    async def memberships(self, name: str) -> tuple[str, ...]:
        """The rooms ``name`` was last recorded in (joined, not left), even after it
        disconnected: a resume replays those rooms in full. Kept in this process unless
        a store keeps it with its messages (the SQLite one does; Redis does not)."""
        return self._memberships.get(name, ())

    async def set_memberships(self, name: str, rooms: Iterable[str]) -> None:
        """Record the rooms ``name`` is in now."""
        self._memberships[name] = tuple(rooms)

    async def close(self) -> None:  # noqa: B027 (a store with nothing to release keeps it)
        """Release the store's resources. Safe to call more than once."""


def _page(limit: int | None) -> int | None:
    """None for no limit, else how many to give (never below 0)."""
    return None if limit is None else max(limit, 0)


class MemoryStore(Store):
    """Keeps messages, client ids, kicks, mutes and sessions in this process; they are
    gone when it ends.

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
        self._restrictions: dict[tuple[str, str], float] = {}
        self._sessions: dict[str, str] = {}

    async def add(self, room: str, name: str, text: str, *, ts: float,
                  client_id: str | None = None) -> Message:
        """Keep a new message under the next id and return it (see :meth:`Store.add`)."""
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

    async def lookup_client_id(self, name: str, client_id: str) -> int | None:
        """The id of ``name``'s message sent with ``client_id``, or None if not remembered."""
        return self._client_ids.get(name, {}).get(client_id)

    async def recent(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first."""
        if limit <= 0:
            return []
        return list(self._rooms.get(room, [])[-limit:])

    async def since(self, rooms: Iterable[str], offset: int, *,
                    limit: int | None = None) -> list[Message]:
        """The messages of ``rooms`` above ``offset``, in id order; at most ``limit``
        (None: all)."""
        runs = []
        for room in set(rooms):
            messages = self._rooms.get(room, [])
            start = bisect.bisect_right(messages, offset, key=lambda message: message.id)
            runs.append(messages[start:])
        # Each room is already in id order, so merging them stops after `limit` without
        # sorting everything the rooms hold.
        merged = heapq.merge(*runs, key=lambda message: message.id)
        return list(itertools.islice(merged, _page(limit)))

    async def last_id(self) -> int:
        """The id given to the newest message, or 0 when there has been none."""
        return self._last_id

    async def restrict(self, kind: str, name: str, until: float) -> None:
        """Remember that ``name`` is under ``kind`` until ``until``."""
        self._restrictions[kind, name] = until

    async def restriction(self, kind: str, name: str) -> float | None:
        """Until when ``name`` is under ``kind``, or None if never."""
        return self._restrictions.get((kind, name))

    async def session(self, name: str) -> str | None:
        """The session secret last given to ``name``, or None."""
        return self._sessions.get(name)

    async def set_session(self, name: str, secret: str) -> None:
        """Remember ``name``'s session secret."""
        self._sessions[name] = secret

    def __repr__(self) -> str:
        return f"<MemoryStore: {self._last_id} messages so far, {len(self._rooms)} rooms>"


class SQLiteStore(Store):
    """Keeps every message, the recent client ids, kicks, mutes and sessions in a SQLite
    file.

    Restarting a server on the same file continues the same id sequence and history, so a
    client that reconnects after the restart still gets what it missed, and whoever was
    kicked or muted still is. A file made before kicks, mutes and sessions were kept
    opens fine and gains their tables.

    The coroutines call :mod:`sqlite3` directly, without awaiting anything: the file is
    local and each call is one short transaction, so it holds the event loop for about
    as long as a disk write (SQLite's WAL mode keeps that short). Fine for a classroom,
    not for thousands of messages per second.

    Args:
        path: the database file; created if missing. ``":memory:"`` works for tests.
        client_ids_per_name: how many ``client_id`` values are remembered per name, the
            newest ones (default 1,000).
    """

    # Only ever add to this, with IF NOT EXISTS: files made by an older chatkit open
    # with it and gain what they lack.
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
        CREATE TABLE IF NOT EXISTS restrictions (
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            until REAL NOT NULL,
            PRIMARY KEY (kind, name)
        );
        CREATE TABLE IF NOT EXISTS sessions (name TEXT PRIMARY KEY, secret TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS memberships (name TEXT PRIMARY KEY, rooms TEXT NOT NULL);
    """

    def __init__(self, path: str | PathLike[str], *,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        _check_sizes(None, client_ids_per_name)
        super().__init__()
        self.path = path
        self.client_ids_per_name = client_ids_per_name
        self._db: sqlite3.Connection | None = sqlite3.connect(path)
        try:
            # WAL: a crash mid-write never loses what was committed, and writes stay quick.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(self._SCHEMA)
            with self._db:  # the file keeps the name of its history from the first start on
                self._db.execute("INSERT OR IGNORE INTO about VALUES ('history', ?)",
                                 (self._history_id,))
            self._history_id = self._db.execute(
                "SELECT value FROM about WHERE key = 'history'").fetchone()[0]
        except BaseException:
            # A file that is no database (or is locked) must not leave a connection open.
            self._db.close()
            self._db = None
            raise

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError(f"the store {self.path} is closed")
        return self._db

    async def add(self, room: str, name: str, text: str, *, ts: float,
                  client_id: str | None = None) -> Message:
        """Keep a new message under the next id and return it (see :meth:`Store.add`)."""
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

    async def lookup_client_id(self, name: str, client_id: str) -> int | None:
        """The id of ``name``'s message sent with ``client_id``, or None if not remembered."""
        row = self._connection.execute(
            "SELECT message_id FROM client_ids WHERE name = ? AND client_id = ?",
            (name, client_id)).fetchone()
        return None if row is None else row[0]

    async def recent(self, room: str, limit: int) -> list[Message]:
        """The last ``limit`` messages of ``room``, oldest first."""
        if limit <= 0:
            return []
        rows = self._connection.execute(
            "SELECT id, room, name, text, ts FROM messages WHERE room = ?"
            " ORDER BY id DESC LIMIT ?", (room, limit)).fetchall()
        return [Message(*row) for row in reversed(rows)]

    async def since(self, rooms: Iterable[str], offset: int, *,
                    limit: int | None = None) -> list[Message]:
        """The messages of ``rooms`` above ``offset``, in id order; at most ``limit``
        (None: all)."""
        rooms = sorted(set(rooms))
        most = _page(limit)
        if not rooms or most == 0:
            return []
        marks = ", ".join("?" * len(rooms))
        rows = self._connection.execute(
            f"SELECT id, room, name, text, ts FROM messages"
            f" WHERE room IN ({marks}) AND id > ? ORDER BY id LIMIT ?",
            # LIMIT -1 is SQLite's "no limit".
            # An offset past SQLite's integers (2**63) is past every id, as in memory.
            (*rooms, max(-1, min(offset, 2**63 - 1)), -1 if most is None else most)
        ).fetchall()
        return [Message(*row) for row in rows]

    def _last_id(self) -> int:
        # sqlite_sequence remembers the highest id ever given, even if rows were deleted.
        row = self._connection.execute(
            "SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
        return 0 if row is None else row[0]

    async def last_id(self) -> int:
        """The id given to the newest message, or 0 when there has been none."""
        return self._last_id()

    async def restrict(self, kind: str, name: str, until: float) -> None:
        """Remember, in the file, that ``name`` is under ``kind`` until ``until``."""
        with self._connection as db:
            db.execute("INSERT OR REPLACE INTO restrictions (kind, name, until)"
                       " VALUES (?, ?, ?)", (kind, name, until))

    async def restriction(self, kind: str, name: str) -> float | None:
        """Until when ``name`` is under ``kind``, or None if never."""
        row = self._connection.execute(
            "SELECT until FROM restrictions WHERE kind = ? AND name = ?",
            (kind, name)).fetchone()
        return None if row is None else row[0]

    async def session(self, name: str) -> str | None:
        """The session secret last given to ``name``, or None."""
        row = self._connection.execute(
            "SELECT secret FROM sessions WHERE name = ?", (name,)).fetchone()
        return None if row is None else row[0]

    async def set_session(self, name: str, secret: str) -> None:
        """Remember, in the file, ``name``'s session secret."""
        with self._connection as db:
            db.execute("INSERT OR REPLACE INTO sessions (name, secret) VALUES (?, ?)",
                       (name, secret))

    async def memberships(self, name: str) -> tuple[str, ...]:
        """The rooms ``name`` was last recorded in, from the file."""
        row = self._connection.execute(
            "SELECT rooms FROM memberships WHERE name = ?", (name,)).fetchone()
        return () if row is None else tuple(row[0].split())  # room names have no spaces

    async def set_memberships(self, name: str, rooms: Iterable[str]) -> None:
        """Record, in the file, the rooms ``name`` is in now."""
        with self._connection as db:
            db.execute("INSERT OR REPLACE INTO memberships (name, rooms) VALUES (?, ?)",
                       (name, " ".join(rooms)))

    async def close(self) -> None:
        """Close the file. Safe to call more than once; any other call after it raises
        RuntimeError."""
        if self._db is not None:
            self._db.close()
            self._db = None

    def __repr__(self) -> str:
        state = "closed" if self._db is None else f"{self._last_id()} messages so far"
        return f"<SQLiteStore {str(self.path)!r}: {state}>"


def open_store(path: str | PathLike[str] | None = None, *,
               client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME) -> Store:
    """A :class:`SQLiteStore` on the file ``path``, or a :class:`MemoryStore` when it is
    None."""
    if path is None:
        return MemoryStore(client_ids_per_name=client_ids_per_name)
    return SQLiteStore(path, client_ids_per_name=client_ids_per_name)
