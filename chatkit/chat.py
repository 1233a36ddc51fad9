"""The chat's rules, with no network in sight: who may connect, join, leave and say what.

Introduced in notebook 02 (the chat server is built on it) and looked at again in
notebook 04 (rooms). The socket.io server in :mod:`chatkit.server` only translates
events into calls of :class:`Chat` and sends back what it returns, so every rule here
can be tried in a cell, or a test, without a socket::

    chat = Chat()
    chat.connect("sid-1", {"name": "ada"})
    chat.join("sid-1", {"room": "lobby"}).members        # ('ada',)
    chat.say("sid-1", {"room": "lobby", "text": "hi"}).id  # 1
    chat.say("sid-1", {"room": "nowhere", "text": "hi"})   # raises Refused:
    # "Join room 'nowhere' before saying something there."

A connection is known by an opaque key (the server uses the socket.io sid). Every
refusal is a :class:`Refused` whose message is a sentence for a human; the server sends
it unchanged to the client.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from chatkit.store import Message, Store, open_store

__all__ = [
    "Accepted",
    "Chat",
    "Joined",
    "Left",
    "Limits",
    "Presence",
    "Refused",
    "Said",
    "new_join_code",
]


class Refused(Exception):
    """The rules say no. ``str(error)`` is a sentence that tells a person why."""


@dataclass(frozen=True)
class Limits:
    """The sizes the rules accept. The defaults are the ones the protocol documents.

    Attributes:
        name_length: longest name, after trimming spaces (default 32).
        room_length: longest room name (default 32).
        text_length: longest message (default 2,000 characters).
        history: how many of a room's last messages a join returns (default 100).
        client_id_length: longest ``client_id`` (default 64).
    """

    name_length: int = 32
    room_length: int = 32
    text_length: int = 2000
    history: int = 100
    client_id_length: int = 64


@dataclass(frozen=True)
class Presence:
    """Who is in a room now; sent as the ``presence`` event whenever that changes."""

    room: str
    members: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"room": self.room, "members": list(self.members)}


@dataclass(frozen=True)
class Accepted:
    """A connection the rules let in.

    Attributes:
        name: the name, trimmed.
        session: the secret that lets a reconnect take this name over (``welcome``).
        rooms: the rooms the connection is in from the start (from ``auth["rooms"]``).
        offset: the last message id the client saw (``auth["offset"]``), or None: then
            nothing is replayed. :meth:`Chat.replay` gives what it missed.
        replaced: the connection that held the name until now (a session takeover), which
            the server must close; None otherwise.
        presence: the rooms whose members changed.
    """

    name: str
    session: str
    rooms: tuple[str, ...]
    offset: int | None
    replaced: Hashable | None
    presence: tuple[Presence, ...]


@dataclass(frozen=True)
class Joined:
    """A join the rules allowed: the room, who is in it now, and its last messages."""

    room: str
    members: tuple[str, ...]
    history: tuple[Message, ...]

    def to_ack(self) -> dict:
        return {"ok": True, "room": self.room, "members": list(self.members),
                "history": [message.to_dict() for message in self.history]}


@dataclass(frozen=True)
class Left:
    """A leave the rules allowed: the room, and who is still in it."""

    room: str
    members: tuple[str, ...]


@dataclass(frozen=True)
class Said:
    """The outcome of a ``say``.

    Attributes:
        id: the message's id.
        message: the new message, to send to the room; None when this ``client_id`` was
            seen before, in which case nothing is sent again and ``id`` is the first one.
    """

    id: int
    message: Message | None

    def to_ack(self) -> dict:
        return {"ok": True, "id": self.id}


_ROOM_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")

_CODE_WORDS = (
    "amber", "apple", "arrow", "basil", "berry", "birch", "cedar", "cloud", "comet",
    "coral", "delta", "ember", "fable", "fern", "flint", "frost", "grape", "harbor",
    "hazel", "honey", "iris", "ivory", "jade", "lemon", "lilac", "lotus", "maple",
    "meadow", "mint", "nova", "oak", "olive", "otter", "pearl", "pepper", "pine",
    "plum", "quartz", "raven", "river", "robin", "sage", "sky", "stone", "tiger",
    "tulip", "velvet", "willow",
)


def new_join_code() -> str:
    """A random join code that reads well aloud, such as ``"maple-otter-42"``.

    About 230,000 possible codes: plenty against guessing in a classroom, not a password.
    """
    first, second = secrets.choice(_CODE_WORDS), secrets.choice(_CODE_WORDS)
    return f"{first}-{second}-{secrets.randbelow(90) + 10}"


class Chat:
    """The state of one chat server, and the rules that change it.

    Args:
        store: where messages and client ids are kept; None means a fresh
            :class:`~chatkit.store.MemoryStore`.
        limits: sizes accepted; None means :class:`Limits` ``()``.
        join_code: the workshop's code every connection must give; None means anyone
            may connect. Compared without regard to case or surrounding spaces.
        clock: gives the ``ts`` of new messages (default :func:`time.time`).
        new_session: makes session secrets (default :func:`secrets.token_urlsafe`).

    Names are unique among live connections and compared exactly ("Ada" and "ada" are
    two people). Rooms exist while someone is in them; their history stays in the store.
    """

    def __init__(self, *, store: Store | None = None, limits: Limits | None = None,
                 join_code: str | None = None, clock: Callable[[], float] = time.time,
                 new_session: Callable[[], str] = secrets.token_urlsafe):
        self.store = store if store is not None else open_store()
        self.limits = limits or Limits()
        self.join_code = join_code
        self._clock = clock
        self._new_session = new_session
        self._name_by_conn: dict[Hashable, str] = {}
        self._conn_by_name: dict[str, Hashable] = {}
        self._rooms_by_name: dict[str, set[str]] = {}
        self._members_by_room: dict[str, set[str]] = {}
        # A name's session secret outlives its connection, so that a client whose old
        # connection is already gone can come back with the same secret.
        self._session_by_name: dict[str, str] = {}

    # -- connections -------------------------------------------------------------------

    def connect(self, conn: Hashable, auth: Any) -> Accepted:
        """Let a connection in under a name, or raise :class:`Refused`.

        ``auth`` is ``{"name", "code"?, "rooms"?, "offset"?, "session"?}``. The join
        code is checked first, so that a stranger learns nothing about who is here.
        A name held by a live connection is refused unless ``session`` is that name's
        secret: then the new connection takes the name over, and ``replaced`` says which
        connection to close. ``rooms`` become the connection's rooms; what they said
        after ``offset`` comes from :meth:`replay`.
        """
        if conn in self._name_by_conn:
            raise Refused("This connection is already connected.")
        if not isinstance(auth, dict):
            raise Refused('Connect with auth like {"name": "ada"}: '
                          'the chat needs at least your name.')
        self._check_join_code(auth.get("code"))
        name = self.check_name(auth.get("name"))
        rooms = self._auth_rooms(auth.get("rooms"))
        offset = self._auth_offset(auth.get("offset"))
        session = auth.get("session")
        if session is not None and not isinstance(session, str):
            raise Refused('"session" must be the text the server sent in "welcome".')

        known_session = self._session_by_name.get(name)
        has_secret = (session is not None and known_session is not None
                      and hmac.compare_digest(session, known_session))
        replaced = self._conn_by_name.get(name)
        if replaced is not None and not has_secret:
            raise Refused(f"The name {name!r} is taken by someone connected now. "
                          f"Pick another name.")
        if replaced is not None:
            del self._name_by_conn[replaced]
        if not has_secret:
            self._session_by_name[name] = self._new_session()
        self._conn_by_name[name] = conn
        self._name_by_conn[conn] = name

        before = self._rooms_by_name.get(name, set())
        after = set(rooms)
        changed = [self._remove_member(name, room) for room in sorted(before - after)]
        changed += [self._add_member(name, room) for room in sorted(after - before)]
        return Accepted(name=name, session=self._session_by_name[name], rooms=rooms,
                        offset=offset, replaced=replaced, presence=tuple(changed))

    def replay(self, rooms: tuple[str, ...], offset: int | None) -> tuple[Message, ...]:
        """What a resuming client missed: the messages of ``rooms`` with an id above
        ``offset``, in id order. None for ``offset`` means no replay.

        The server calls it once the connection is in its socket.io rooms, so that every
        message is either replayed or delivered live, never both and never neither.
        """
        if offset is None or not rooms:
            return ()
        return tuple(self.store.since(rooms, offset))

    def disconnect(self, conn: Hashable) -> tuple[Presence, ...]:
        """Forget a connection; return the rooms whose members changed.

        Does nothing for a connection that is unknown or was taken over: its name now
        belongs to the new connection.
        """
        name = self._name_by_conn.pop(conn, None)
        if name is None:
            return ()
        del self._conn_by_name[name]
        rooms = sorted(self._rooms_by_name.get(name, ()))
        return tuple(self._remove_member(name, room) for room in rooms)

    def name_of(self, conn: Hashable) -> str | None:
        """The name a connection holds, or None."""
        return self._name_by_conn.get(conn)

    # -- rooms -------------------------------------------------------------------------

    def join(self, conn: Hashable, payload: Any) -> Joined:
        """Put a connection's name in ``payload["room"]``; refused if already there."""
        name = self._name(conn)
        room = self.check_room(self._field(payload, "join", "room", example='{"room": "lobby"}'))
        if room in self._rooms_by_name.get(name, ()):
            raise Refused(f"You are already in room {room!r}.")
        presence = self._add_member(name, room)
        history = self.store.recent(room, self.limits.history)
        return Joined(room=room, members=presence.members, history=tuple(history))

    def leave(self, conn: Hashable, payload: Any) -> Left:
        """Take a connection's name out of ``payload["room"]``; refused if not there."""
        name = self._name(conn)
        room = self.check_room(self._field(payload, "leave", "room", example='{"room": "lobby"}'))
        if room not in self._rooms_by_name.get(name, ()):
            raise Refused(f"You are not in room {room!r}.")
        presence = self._remove_member(name, room)
        return Left(room=room, members=presence.members)

    def members(self, room: str) -> tuple[str, ...]:
        """Who is in ``room`` now, sorted; empty for a room nobody is in."""
        return tuple(sorted(self._members_by_room.get(room, ())))

    def rooms_of(self, name: str) -> tuple[str, ...]:
        """The rooms ``name`` is in, sorted."""
        return tuple(sorted(self._rooms_by_name.get(name, ())))

    def snapshot(self) -> dict[str, list[str]]:
        """Every room someone is in, with its members: ``{room: [names]}``, sorted."""
        return {room: sorted(names) for room, names in sorted(self._members_by_room.items())}

    # -- messages ----------------------------------------------------------------------

    def say(self, conn: Hashable, payload: Any) -> Said:
        """Keep a message from a connection's name to ``payload["room"]``.

        ``payload`` is ``{"room", "text", "client_id"?}``. A ``client_id`` this name used
        before gets the first id back, whatever the text, and no new message: that is
        what makes re-sending after a reconnect safe.
        """
        name = self._name(conn)
        example = '{"room": "lobby", "text": "hello"}'
        client_id = self._optional_client_id(
            self._field(payload, "say", "client_id", example=example, required=False))
        if client_id is not None:
            first_id = self.store.lookup_client_id(name, client_id)
            if first_id is not None:
                return Said(id=first_id, message=None)
        room = self.check_room(self._field(payload, "say", "room", example=example))
        text = self.check_text(self._field(payload, "say", "text", example=example))
        if room not in self._rooms_by_name.get(name, ()):
            raise Refused(f"Join room {room!r} before saying something there.")
        # Teacher moderation (a later issue) checks mutes here.
        message = self.store.add(room, name, text, ts=self._clock(), client_id=client_id)
        return Said(id=message.id, message=message)

    # -- checks, usable on their own ---------------------------------------------------

    def check_name(self, name: Any) -> str:
        """``name`` trimmed, if it is 1 to ``limits.name_length`` printable characters."""
        most = self.limits.name_length
        if name is None:
            raise Refused('Pick a name: auth needs a "name".')
        if not isinstance(name, str):
            raise Refused(f"A name is text, not {_kind(name)}.")
        name = name.strip()
        if not name:
            raise Refused(f"The name is empty: pick one of 1 to {most} characters.")
        if len(name) > most:
            raise Refused(f"The name is too long ({len(name)} characters): "
                          f"at most {most}.")
        if not name.isprintable():
            raise Refused("A name can only hold printable characters "
                          "(no tabs, line breaks or control characters).")
        return name

    def check_room(self, room: Any) -> str:
        """``room`` if it is 1 to ``limits.room_length`` of ``A-Z a-z 0-9 _ -``."""
        most = self.limits.room_length
        if not isinstance(room, str):
            raise Refused(f"A room name is text, not {_kind(room)}.")
        if not room:
            raise Refused("The room name is empty.")
        if len(room) > most:
            raise Refused(f"The room name is too long ({len(room)} characters): "
                          f"at most {most}.")
        if not _ROOM_CHARACTERS.fullmatch(room):
            raise Refused(f"Room names use only letters A-Z, digits, '_' and '-' "
                          f"(not {room!r}).")
        return room

    def check_text(self, text: Any) -> str:
        """``text`` unchanged, if it has 1 to ``limits.text_length`` characters, not all blank."""
        most = self.limits.text_length
        if not isinstance(text, str):
            raise Refused(f"The text of a message is text, not {_kind(text)}.")
        if not text.strip():
            raise Refused("The message is empty: say something.")
        if len(text) > most:
            raise Refused(f"The message is too long ({len(text)} characters): "
                          f"at most {most}.")
        return text

    # -- helpers -----------------------------------------------------------------------

    def _check_join_code(self, code: Any) -> None:
        if self.join_code is None:
            return
        if code is None or (isinstance(code, str) and not code.strip()):
            raise Refused("This chat needs a join code: ask your teacher for it.")
        if not isinstance(code, str) or not hmac.compare_digest(
                _normal_code(code).encode(), _normal_code(self.join_code).encode()):
            raise Refused("Wrong join code: check it with your teacher.")

    def _auth_rooms(self, rooms: Any) -> tuple[str, ...]:
        if rooms is None:
            return ()
        if not isinstance(rooms, list | tuple):
            raise Refused(f'"rooms" is a list of room names, not {_kind(rooms)}.')
        unique = dict.fromkeys(self.check_room(room) for room in rooms)  # keeps order
        return tuple(unique)

    @staticmethod
    def _auth_offset(offset: Any) -> int | None:
        if offset is None:
            return None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise Refused('"offset" is the last message id you saw: '
                          'a whole number, 0 or more.')
        return offset

    def _optional_client_id(self, client_id: Any) -> str | None:
        most = self.limits.client_id_length
        if client_id is None:
            return None
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= most:
            raise Refused(f'"client_id" is text of 1 to {most} characters '
                          f"that you choose for each message.")
        return client_id

    def _name(self, conn: Hashable) -> str:
        name = self._name_by_conn.get(conn)
        if name is None:
            raise Refused("You are not connected to the chat.")
        return name

    @staticmethod
    def _field(payload: Any, event: str, key: str, *, example: str,
               required: bool = True) -> Any:
        if not isinstance(payload, dict):
            raise Refused(f"{event} takes one object like {example}, "
                          f"not {_kind(payload)}.")
        if required and key not in payload:
            raise Refused(f'{event} needs a "{key}", as in {example}.')
        return payload.get(key)

    def _add_member(self, name: str, room: str) -> Presence:
        self._rooms_by_name.setdefault(name, set()).add(room)
        self._members_by_room.setdefault(room, set()).add(name)
        return Presence(room, self.members(room))

    def _remove_member(self, name: str, room: str) -> Presence:
        rooms = self._rooms_by_name.get(name, set())
        rooms.discard(room)
        if not rooms:
            self._rooms_by_name.pop(name, None)
        members = self._members_by_room.get(room, set())
        members.discard(name)
        if not members:
            self._members_by_room.pop(room, None)  # a room exists while someone is in it
        return Presence(room, self.members(room))

    def __repr__(self) -> str:
        return (f"<Chat: {len(self._conn_by_name)} connected, "
                f"{len(self._members_by_room)} rooms in use>")


def _normal_code(code: str) -> str:
    return code.strip().casefold()


def _kind(value: Any) -> str:
    """How a value reads in an error message: 'a number', 'nothing', 'a list'..."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, bytes):
        return "binary data"
    return type(value).__name__
