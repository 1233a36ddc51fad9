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

Notebook 06 (the classroom) adds what a teacher needs: limits on how fast and how much
(:class:`Limits`, :class:`TokenBucket`), and moderation, again without a socket::

    chat = Chat(teacher_token="s3cret", limits=Limits(messages_per_second=1, burst=3))
    chat.connect("sid-1", {"name": "ada"})
    chat.check_teacher({"token": "s3cret"})          # or raises Refused
    chat.mute({"name": "ada", "seconds": 30})        # ada's say is refused for 30 s
    chat.kick({"name": "ada"})                       # ada may not come back for 60 s
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from chatkit.store import Message, Store, open_store

__all__ = [
    "Accepted",
    "Announcement",
    "Chat",
    "Elsewhere",
    "Joined",
    "Kicked",
    "Left",
    "Limits",
    "MAX_MUTE_SECONDS",
    "Muted",
    "Presence",
    "Refused",
    "Said",
    "Throttled",
    "TokenBucket",
    "new_join_code",
    "new_teacher_token",
]


class Refused(Exception):
    """The rules say no. ``str(error)`` is a sentence that tells a person why."""


class Elsewhere(Protocol):
    """Who is connected to the *other* server processes of the same chat (notebook 06).

    A :class:`Chat` given one (``Chat(elsewhere=...)``) counts those people too: their
    names are taken, they are members of their rooms, the teacher can reach them. It
    tells the others who is here by calling :meth:`update` after every change.
    :class:`chatkit.cluster.RedisRoster` is the one the server uses with Redis.
    """

    def update(self, here: Mapping[str, tuple[Hashable, list[str]]]) -> None:
        """Tell the others who is connected here: ``{name: (connection, [rooms])}``."""

    def people(self) -> Mapping[str, Hashable]:
        """Everyone connected elsewhere: ``{name: connection}``."""

    def rooms(self) -> Mapping[str, set[str]]:
        """The rooms people elsewhere are in: ``{room: {names}}``."""


class Throttled(Refused):
    """A ``say`` refused because its sender sends too fast.

    Attributes:
        notice: a sentence to send the sender as a ``notice``, on the first refusal of a
            burst only (so that a flood of refusals is not answered by a flood of
            notices); None on the following ones.
        wait: seconds until the sender may say something again.
    """

    def __init__(self, message: str, *, notice: str | None, wait: float):
        super().__init__(message)
        self.notice = notice
        self.wait = wait


@dataclass(frozen=True)
class Limits:
    """The sizes and rates the rules accept. The defaults are the ones the protocol
    documents; wherever a limit can be None, None disables it.

    Attributes:
        name_length: longest name, after trimming spaces (default 32).
        room_length: longest room name (default 32).
        text_length: longest message (default 2,000 characters).
        history: how many of a room's last messages a join returns (default 100).
        client_id_length: longest ``client_id`` (default 64).
        messages_per_second: how many messages a name may say per second, on average
            (a :class:`TokenBucket`); None (the default in a notebook) means no limit.
            ``python -m chatkit serve`` uses 5.
        burst: how many messages a name may say in a row before that rate applies
            (default 10).
        clients: how many people may be connected at once (default 200).
        rooms_per_client: how many rooms one person may be in at once (default 20).
        kick_seconds: how long a name the teacher kicked out may not come back
            (default 60).
    """

    name_length: int = 32
    room_length: int = 32
    text_length: int = 2000
    history: int = 100
    client_id_length: int = 64
    messages_per_second: float | None = None
    burst: int = 10
    clients: int | None = 200
    rooms_per_client: int | None = 20
    kick_seconds: float = 60

    def __post_init__(self) -> None:
        if self.messages_per_second is not None and not self.messages_per_second > 0:
            raise ValueError("messages_per_second must be more than 0, or None for no limit")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        for field_name in ("clients", "rooms_per_client"):
            value = getattr(self, field_name)
            if value is not None and value < 1:
                raise ValueError(f"{field_name} must be at least 1, or None for no limit")
        if self.kick_seconds < 0:
            raise ValueError("kick_seconds must be 0 or more")


class TokenBucket:
    """A rate limit: ``rate`` actions per second on average, ``burst`` in a row at most.

    The bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second;
    each action takes one. It reads no clock of its own: every call is given ``now``
    (seconds, from any clock that only goes forward), so a test can step time::

        bucket = TokenBucket(rate=1, burst=2, now=0)
        bucket.take(0), bucket.take(0), bucket.take(0)   # 0.0, 0.0, 1.0 (wait 1 s)
        bucket.take(1.0)                                  # 0.0: one token came back
    """

    def __init__(self, rate: float, burst: int, *, now: float):
        if not rate > 0 or burst < 1:
            raise ValueError("rate must be more than 0 and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self._last = now

    def take(self, now: float) -> float:
        """Take a token if there is one and return 0.0; otherwise take nothing and
        return how many seconds until there is one."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self._last) * self.rate)
        self._last = max(self._last, now)
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    def __repr__(self) -> str:
        return f"<TokenBucket {self.tokens:.2f}/{self.burst} tokens, {self.rate:g}/s>"


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


@dataclass(frozen=True)
class Kicked:
    """A kick the rules allowed.

    Attributes:
        name: who was kicked out.
        conn: the connection to close (after sending it ``notice``).
        seconds: how long the name may not come back.
        notice: the sentence to send the kicked connection.
    """

    name: str
    conn: Hashable
    seconds: float
    notice: str


@dataclass(frozen=True)
class Muted:
    """A mute (or, with ``seconds == 0``, an unmute) the rules allowed.

    Attributes:
        name: who was muted.
        conn: that name's connection, to send ``notice`` to.
        seconds: for how long (0: the mute was lifted).
        notice: the sentence to send the muted connection.
    """

    name: str
    conn: Hashable
    seconds: float
    notice: str


@dataclass(frozen=True)
class Announcement:
    """A teacher's announcement: ``text`` for ``room``, or for everyone when ``room`` is None."""

    text: str
    room: str | None


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


def new_teacher_token() -> str:
    """A random teacher token: 16 characters from ``secrets``, a real password
    (about 95 bits), for the teacher's eyes only."""
    return secrets.token_urlsafe(12)


#: The longest mute a teacher may give, in seconds (a day).
MAX_MUTE_SECONDS = 86_400


class Chat:
    """The state of one chat server, and the rules that change it.

    Args:
        store: where messages and client ids are kept; None means a fresh
            :class:`~chatkit.store.MemoryStore`.
        limits: sizes accepted; None means :class:`Limits` ``()``.
        join_code: the workshop's code every connection must give; None means anyone
            may connect. Compared without regard to case or surrounding spaces.
        teacher_token: the secret that opens the teacher's tools (:meth:`check_teacher`);
            None (the default) means nobody may use them.
        clock: gives the ``ts`` of new messages, and the time for rate limits, kicks and
            mutes (default :func:`time.time`).
        new_session: makes session secrets (default :func:`secrets.token_urlsafe`).
        elsewhere: who is connected to the other server processes of this chat
            (:class:`Elsewhere`); None (the default) means this is the only one.

    Names are unique among live connections and compared exactly ("Ada" and "ada" are
    two people). Rooms exist while someone is in them; their history stays in the store,
    and so do kicks and mutes (a store shared by several servers shares them too).
    """

    def __init__(self, *, store: Store | None = None, limits: Limits | None = None,
                 join_code: str | None = None, teacher_token: str | None = None,
                 clock: Callable[[], float] = time.time,
                 new_session: Callable[[], str] = secrets.token_urlsafe,
                 elsewhere: Elsewhere | None = None):
        self.store = store if store is not None else open_store()
        self.limits = limits or Limits()
        self.join_code = join_code
        self.teacher_token = teacher_token
        self._clock = clock
        self._new_session = new_session
        self.elsewhere = elsewhere
        self._name_by_conn: dict[Hashable, str] = {}
        self._conn_by_name: dict[str, Hashable] = {}
        self._rooms_by_name: dict[str, set[str]] = {}
        self._members_by_room: dict[str, set[str]] = {}
        # A name's session secret (kept in the store) outlives its connection, so that a
        # client whose old connection is already gone can come back with the same secret.
        self._bucket_by_name: dict[str, TokenBucket] = {}
        self._throttled: set[str] = set()  # names told "too fast" since their last say

    # -- connections -------------------------------------------------------------------

    def connect(self, conn: Hashable, auth: Any) -> Accepted:
        """Let a connection in under a name, or raise :class:`Refused`.

        ``auth`` is ``{"name", "code"?, "rooms"?, "offset"?, "history"?, "session"?}``. The join
        code is checked first, so that a stranger learns nothing about who is here.
        A name held by a live connection is refused unless ``session`` is that name's
        secret: then the new connection takes the name over, and ``replaced`` says which
        connection to close. ``rooms`` become the connection's rooms; what they said
        after ``offset`` comes from :meth:`replay`. A name the teacher kicked out is
        refused until its time is up; so is anyone once ``limits.clients`` are here.
        """
        if conn in self._name_by_conn:
            raise Refused("This connection is already connected.")
        if not isinstance(auth, dict):
            raise Refused('Connect with auth like {"name": "ada"}: '
                          'the chat needs at least your name.')
        self._check_join_code(auth.get("code"))
        name = self.check_name(auth.get("name"))
        self._check_not_kicked(name)
        rooms = self._auth_rooms(auth.get("rooms"))
        offset = self._auth_offset(auth.get("offset"))
        history = auth.get("history")
        if history is not None and not isinstance(history, str):
            raise Refused('"history" must be the text the server sent in "welcome".')
        if offset is not None and history is not None and history != self.store.history:
            offset = 0  # ids of another history say nothing here: everything is new to it
        session = auth.get("session")
        if session is not None and not isinstance(session, str):
            raise Refused('"session" must be the text the server sent in "welcome".')

        known_session = self.store.session(name)
        has_secret = (session is not None and known_session is not None
                      and hmac.compare_digest(session, known_session))
        replaced = self._conn_by_name.get(name)
        if replaced is None and self.elsewhere is not None:
            replaced = self.elsewhere.people().get(name)  # on another server process
        if replaced is not None and not has_secret:
            raise Refused(f"The name {name!r} is taken by someone connected now. "
                          f"Pick another name.")
        most = self.limits.clients
        if replaced is None and most is not None and len(self._conn_by_name) >= most:
            raise Refused(f"The chat is full: {most} people are connected, the most this "
                          f"server allows. Try again later, or tell your teacher.")
        if replaced in self._name_by_conn:
            del self._name_by_conn[replaced]
        if not has_secret:
            known_session = self._new_session()
            self.store.set_session(name, known_session)
        self._conn_by_name[name] = conn
        self._name_by_conn[conn] = name

        before = self._rooms_by_name.get(name, set())
        after = set(rooms)
        changed = [self._remove_member(name, room) for room in sorted(before - after)]
        changed += [self._add_member(name, room) for room in sorted(after - before)]
        self._tell_elsewhere()
        return Accepted(name=name, session=known_session, rooms=rooms,
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
        self._bucket_by_name.pop(name, None)
        self._throttled.discard(name)
        rooms = sorted(self._rooms_by_name.get(name, ()))
        changed = tuple(self._remove_member(name, room) for room in rooms)
        self._tell_elsewhere()
        return changed

    def name_of(self, conn: Hashable) -> str | None:
        """The name a connection holds, or None."""
        return self._name_by_conn.get(conn)

    # -- rooms -------------------------------------------------------------------------

    def join(self, conn: Hashable, payload: Any) -> Joined:
        """Put a connection's name in ``payload["room"]``; refused if already there, or
        if the name is in ``limits.rooms_per_client`` rooms already."""
        name = self._name(conn)
        room = self.check_room(self._field(payload, "join", "room", example='{"room": "lobby"}'))
        rooms = self._rooms_by_name.get(name, ())
        if room in rooms:
            raise Refused(f"You are already in room {room!r}.")
        most = self.limits.rooms_per_client
        if most is not None and len(rooms) >= most:
            raise Refused(f"You are in {len(rooms)} rooms, the most allowed: "
                          f"leave one before joining {room!r}.")
        presence = self._add_member(name, room)
        self._tell_elsewhere()
        history = self.store.recent(room, self.limits.history)
        return Joined(room=room, members=presence.members, history=tuple(history))

    def leave(self, conn: Hashable, payload: Any) -> Left:
        """Take a connection's name out of ``payload["room"]``; refused if not there."""
        name = self._name(conn)
        room = self.check_room(self._field(payload, "leave", "room", example='{"room": "lobby"}'))
        if room not in self._rooms_by_name.get(name, ()):
            raise Refused(f"You are not in room {room!r}.")
        presence = self._remove_member(name, room)
        self._tell_elsewhere()
        return Left(room=room, members=presence.members)

    def members(self, room: str) -> tuple[str, ...]:
        """Who is in ``room`` now (elsewhere too), sorted; empty for a room nobody is in."""
        here = self._members_by_room.get(room, set())
        if self.elsewhere is not None:
            here = here | self.elsewhere.rooms().get(room, set())
        return tuple(sorted(here))

    def rooms_here(self) -> tuple[str, ...]:
        """The rooms someone connected to this process is in, sorted."""
        return tuple(sorted(self._members_by_room))

    def rooms_of(self, name: str) -> tuple[str, ...]:
        """The rooms ``name`` is in, sorted (for a name connected to this process)."""
        return tuple(sorted(self._rooms_by_name.get(name, ())))

    def snapshot(self) -> dict[str, list[str]]:
        """Every room someone is in (elsewhere too), with its members: ``{room: [names]}``,
        sorted."""
        rooms = {room: set(names) for room, names in self._members_by_room.items()}
        if self.elsewhere is not None:
            for room, names in self.elsewhere.rooms().items():
                rooms.setdefault(room, set()).update(names)
        return {room: sorted(names) for room, names in sorted(rooms.items()) if names}

    # -- messages ----------------------------------------------------------------------

    def say(self, conn: Hashable, payload: Any) -> Said:
        """Keep a message from a connection's name to ``payload["room"]``.

        ``payload`` is ``{"room", "text", "client_id"?}``. A ``client_id`` this name used
        before gets the first id back, whatever the text, and no new message: that is
        what makes re-sending after a reconnect safe (and it costs nothing against the
        rate limit). A muted name is refused with how long is left; a name that says
        more than ``limits.messages_per_second`` allows is refused with
        :class:`Throttled`.
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
        now = self._clock()
        muted = self._left(self.store.restriction("mute", name), now)
        if muted:
            raise Refused(f"The teacher muted you: you can speak again in "
                          f"{_seconds(muted)}.")
        self._check_rate(name, now)
        message = self.store.add(room, name, text, ts=now, client_id=client_id)
        return Said(id=message.id, message=message)

    # -- the teacher's tools -----------------------------------------------------------

    def check_teacher(self, auth: Any) -> None:
        """Let a teacher's connection in if ``auth`` is ``{"token": <teacher_token>}``,
        or raise :class:`Refused`. Without a ``teacher_token`` nobody gets in."""
        if self.teacher_token is None:
            raise Refused("This server has no teacher token, so its teacher's tools are "
                          "closed: start it with one.")
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None or (isinstance(token, str) and not token.strip()):
            raise Refused('The teacher\'s tools need the teacher token: connect with auth '
                          '{"token": "..."}. It was printed when the server started.')
        if not isinstance(token, str) or not hmac.compare_digest(
                token.strip().encode(), self.teacher_token.encode()):
            raise Refused("Wrong teacher token: check what the server printed at start.")

    def people(self) -> tuple[str, ...]:
        """Everyone connected now (elsewhere too), by name, sorted."""
        names = set(self._conn_by_name)
        if self.elsewhere is not None:
            names.update(self.elsewhere.people())
        return tuple(sorted(names))

    def kick(self, payload: Any) -> Kicked:
        """The teacher puts ``payload["name"]`` out: its connection must be closed, and
        the name may not connect again for ``limits.kick_seconds``."""
        name, conn = self._target(payload, "kick", '{"name": "ada"}')
        seconds = self.limits.kick_seconds
        self.store.restrict("kick", name, self._clock() + seconds)
        return Kicked(name=name, conn=conn, seconds=seconds,
                      notice=f"The teacher removed you from the chat. You can come back "
                             f"in {_seconds(seconds)}.")

    def mute(self, payload: Any) -> Muted:
        """The teacher mutes ``payload["name"]`` for ``payload["seconds"]`` (at most a
        day): its ``say`` is refused until then. ``seconds`` 0 lifts a mute."""
        example = '{"name": "ada", "seconds": 60}'
        name, conn = self._target(payload, "mute", example)
        seconds = self._field(payload, "mute", "seconds", example=example)
        if (isinstance(seconds, bool) or not isinstance(seconds, int | float)
                or not 0 <= seconds <= MAX_MUTE_SECONDS):
            raise Refused(f'"seconds" is how long to mute for: a number from 0 (to lift '
                          f"a mute) to {MAX_MUTE_SECONDS:,}, not {_kind(seconds)}.")
        self.store.restrict("mute", name, self._clock() + seconds)
        notice = (f"The teacher muted you for {_seconds(seconds)}." if seconds
                  else "The teacher lifted your mute: you can speak again.")
        return Muted(name=name, conn=conn, seconds=seconds, notice=notice)

    def announce(self, payload: Any) -> Announcement:
        """A teacher's ``{"text", "room"?}``, checked: the text like a message's, the
        room (if given) a room someone is in."""
        example = '{"text": "Break until 11:00", "room": "lobby"}'
        text = self.check_text(self._field(payload, "announce", "text", example=example))
        room = self._field(payload, "announce", "room", example=example, required=False)
        if room is not None:
            room = self.check_room(room)
            if not self.members(room):
                raise Refused(f"Nobody is in room {room!r} now, so nobody would hear it.")
        return Announcement(text=text, room=room)

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

    def _check_not_kicked(self, name: str) -> None:
        until = self.store.restriction("kick", name)
        left = 0.0 if until is None else self._left(until, self._clock())
        if left:
            raise Refused(f"The teacher removed {name!r} from the chat: you can come back "
                          f"in {_seconds(left)}.")

    def _check_rate(self, name: str, now: float) -> None:
        rate = self.limits.messages_per_second
        if rate is None:
            return
        bucket = self._bucket_by_name.get(name)
        if bucket is None:
            bucket = self._bucket_by_name[name] = TokenBucket(rate, self.limits.burst, now=now)
        wait = bucket.take(now)
        if not wait:
            self._throttled.discard(name)
            return
        first = name not in self._throttled
        self._throttled.add(name)
        raise Throttled(
            f"You are sending messages too fast: wait {wait:.1f} s before saying more "
            f"(at most {rate:g} per second).", wait=wait,
            notice=(f"Slow down: you may say at most {rate:g} messages per second. "
                    f"Messages sent faster are refused.") if first else None)

    def _target(self, payload: Any, event: str, example: str) -> tuple[str, Hashable]:
        """The name a teacher's request is about, and its connection."""
        name = self.check_name(self._field(payload, event, "name", example=example))
        conn = self._conn_by_name.get(name)
        if conn is None and self.elsewhere is not None:
            conn = self.elsewhere.people().get(name)
        if conn is None:
            raise Refused(f"Nobody named {name!r} is connected (names are case-sensitive).")
        return name, conn

    @staticmethod
    def _left(until: float | None, now: float) -> float:
        """Seconds left until ``until``, or 0."""
        return 0.0 if until is None else max(0.0, until - now)

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
        most = self.limits.rooms_per_client
        if most is not None and len(unique) > most:
            raise Refused(f'"rooms" lists {len(unique)} rooms: one person may be in at '
                          f"most {most}.")
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

    def _tell_elsewhere(self) -> None:
        if self.elsewhere is not None:
            self.elsewhere.update({
                name: (conn, sorted(self._rooms_by_name.get(name, ())))
                for name, conn in self._conn_by_name.items()})

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


def _seconds(seconds: float) -> str:
    """A wait as a person reads it: whole seconds, rounded up ("42 s", "1 s")."""
    return f"{max(1, math.ceil(seconds)):,} s"


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
