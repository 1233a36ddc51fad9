"""The chat's rules, with no socket in sight: who may connect, join, leave and say what.

Introduced in notebook 03, where the course's chat server (:mod:`chatkit.server`) is
built on it. Each rule is one method of :class:`Chat`. It decides everything, and
returns a result that says what to answer (``result.ack()``) and what the server must
then do (``result.effects``: emit this event to that connection or room, put a
connection in a room, disconnect one, write a log line). The server only carries the
effects out, so every rule can be tried in a cell, or a test, without a socket::

    chat = Chat()
    await chat.connect("sid-1", {"name": "ada"})
    joined = await chat.join("sid-1", {"room": "lobby"})
    joined.members                     # ('ada',)
    joined.effects                     # (Emit(event='presence', ..., room='lobby'),)
    (await chat.say("sid-1", {"room": "lobby", "text": "hi"})).ack()   # {'ok': True, 'id': 1}
    await chat.say("sid-1", {"room": "nowhere", "text": "hi"})  # raises Refused:
    # "Join room 'nowhere' before saying something there."

A connection is known by an opaque key (the server uses the socket.io sid). Every
refusal is a :class:`~chatkit.limits.Refused` whose message is a sentence for a human.
The methods are coroutines because the store (and, with several server processes, the
list of who is connected elsewhere) may live in another process.

Notebook 06 adds limits (:mod:`chatkit.limits`: how long, how fast, how many) and the
teacher's tools (:mod:`chatkit.moderation`), again without a socket.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from typing import Any, Protocol

from chatkit import protocol
from chatkit.effects import (
    Accepted,
    Disconnect,
    Effect,
    Emit,
    Enter,
    Exit,
    Joined,
    Note,
    Result,
    Said,
)
from chatkit.guard import Guard, Guarded
from chatkit.limits import Limits, RateLimit, Refused, Throttled, field_of, same_secret, seconds
from chatkit.protocol import Message, Notice, Presence
from chatkit.store import Store, open_store

__all__ = ["REPLAY_CHUNK", "Chat", "Elsewhere", "Roster"]

#: How many replayed messages one step of :meth:`Chat.resume` sends.
REPLAY_CHUNK = 50

#: Who is connected to the other server processes: ``{name: (connection, [rooms])}``.
Roster = Mapping[str, tuple[Hashable, list[str]]]


class Elsewhere(Protocol):
    """Who is connected to the *other* server processes of the same chat (notebook 06):
    a :class:`Chat` given one counts them too (names taken, members of their rooms, the
    teacher can reach them). With Redis, :class:`chatkit.cluster.Roster`."""

    async def update(self, here: Roster) -> Roster:
        """Tell the others who is connected here; return who is connected there."""

    async def others(self) -> Roster:
        """Who is connected to the other live processes."""


class Chat:
    """The state of one chat server, and the rules that change it.

    Args:
        store: where messages, client ids, kicks, mutes and sessions are kept; None
            means a fresh :class:`~chatkit.store.MemoryStore`.
        limits: sizes accepted; None means :class:`~chatkit.limits.Limits` ``()``.
        join_code: the workshop's code every connection must give; None means anyone
            may connect. Compared without regard to case or surrounding spaces.
        clock: gives the ``ts`` of new messages, and the time for rate limits, kicks and
            mutes (default :func:`time.time`).
        new_session: makes session secrets (default :func:`secrets.token_urlsafe`).
        elsewhere: who is connected to the other server processes of this chat
            (:class:`Elsewhere`); None (the default) means this is the only one.
        guard: how often an address may connect and how wrong join codes are slowed
            down (:class:`~chatkit.guard.Guard`); None means ``Guard()``.

    Names are unique among live connections, compared by :func:`~chatkit.limits.name_key`
    ("Ada" and "ada" are one person, shown as typed). Rooms exist while someone is in
    them; their history stays in the store.
    """

    def __init__(self, *, store: Store | None = None, limits: Limits | None = None,
                 join_code: str | None = None,
                 clock: Callable[[], float] = time.time,
                 new_session: Callable[[], str] = secrets.token_urlsafe,
                 elsewhere: Elsewhere | None = None, guard: Guard | None = None):
        self.guard = guard if guard is not None else Guard()
        self.store = store if store is not None else open_store()
        self.limits = limits or Limits()
        self.join_code = join_code
        self.elsewhere = elsewhere
        self._clock = clock
        self._new_session = new_session
        self._name_by_conn: dict[Hashable, str] = {}
        self._conn_by_name: dict[str, Hashable] = {}
        self._name_by_key: dict[str, str] = {}  # by name_key: one look-up, not N
        self._rooms_by_name: dict[str, set[str]] = {}
        self._members_by_room: dict[str, set[str]] = {}
        # accepted, handshake not done: (Accepted, the rooms the name was in before)
        self._arriving: dict[Hashable, tuple[Accepted, frozenset[str]]] = {}
        rate, changes = self.limits.messages_per_second, self.limits.room_changes_per_second
        self._rate = None if rate is None else RateLimit(rate, self.limits.burst)
        self._room_rate = None if changes is None else RateLimit.for_room_changes(
            changes, self.limits.room_change_burst)

    # -- connections -------------------------------------------------------------------

    async def connect(self, conn: Hashable, auth: Any, *, address: Hashable = None,
                      link: Hashable = None) -> Accepted:
        """Let a connection in under a name, or raise Refused.

        ``auth`` is ``{"name", "code"?, "rooms"?, "offset"?, "history"?, "session"?}``.
        The join code is checked first, so that a stranger learns nothing about who is
        here. A name held by a live connection is refused unless ``session`` is that
        name's secret: then the new connection takes the name over, and the old one is
        told and closed. A kicked name is refused until its time is up; so is anyone
        once ``limits.clients`` are here; :attr:`guard` (given ``address``, where it
        comes from, and ``link``, its transport connection) may refuse it too. What
        follows the handshake (welcome, replay, presence) comes from :meth:`resume`."""
        try:
            self.guard.connecting(address, self._clock())
            accepted = await self._accept(conn, auth, address, link)
        except Guarded:
            raise  # the guard writes its own (summed-up) log lines
        except Refused as refusal:
            raise Refused(str(refusal), effects=(Note(f"refused a connection: {refusal}"),)
                          ) from None
        return accepted

    async def _accept(self, conn: Hashable, auth: Any, address: Hashable,
                      link: Hashable) -> Accepted:
        if conn in self._name_by_conn:
            raise Refused("This connection is already connected.")
        if not isinstance(auth, dict):
            raise Refused('Connect with auth like {"name": "ada"}: '
                          'the chat needs at least your name.')
        if self.join_code is not None:
            self.guard.join_code(auth.get("code"), self.join_code, address=address,
                                 link=link, now=self._clock())
        name = self.limits.check_name(auth.get("name"))
        await self._check_not_kicked(name)
        rooms = self.limits.check_rooms(auth.get("rooms"))
        offset = self._resume_offset(auth)
        session = auth.get("session")
        if session is not None and not isinstance(session, str):
            raise Refused(f'"session" must be the text the server sent in "{protocol.WELCOME}".')
        # Everything read from the store and the other processes comes first; the checks
        # on who holds the name and the claim itself then run without an await between
        # them, so two connections arriving together cannot both get one name.
        known_session = await self.store.session(name)
        others = {} if self.elsewhere is None else await self.elsewhere.others()
        held_elsewhere = others.get(name)
        has_secret = (session is not None and known_session is not None
                      and same_secret(session, known_session))
        # Only whoever proves to be the name gets the replay of the rooms it was in.
        was_in = frozenset(await self.store.memberships(name) if has_secret else ())
        alike_here = self._name_by_key.get(self.limits.name_key(name))
        self.limits.check_name_free(name, (*filter(None, [alike_here]), *others))
        replaced = self._conn_by_name.get(name)
        if replaced is None and held_elsewhere is not None:
            replaced = held_elsewhere[0]
        if replaced is not None and not has_secret:
            raise Refused(f"The name {name!r} is taken by someone connected now. "
                          f"Pick another name.")
        most = self.limits.clients
        if replaced is None and most is not None and len(self._conn_by_name) >= most:
            raise Refused(f"The chat is full: {most} people are connected, the most this "
                          f"server allows. Try again later, or tell your teacher.")
        self._name_by_conn.pop(replaced, None)
        # A connection taken over before its welcome never told its rooms it arrived.
        unwelcomed = self._arriving.pop(replaced, (None,))[0]
        self._conn_by_name[name] = conn
        self._name_by_key[self.limits.name_key(name)] = name
        self._name_by_conn[conn] = name
        try:
            if not has_secret:
                known_session = self._new_session()
                await self.store.set_session(name, known_session)
            await self.store.set_memberships(name, rooms)
            accepted = await self._arrive(conn, name, rooms, offset, known_session,
                                          replaced, unwelcomed)
            self._arriving[conn] = (accepted, was_in)
            return accepted
        except BaseException:  # the store or Redis failed: the name must not stay taken
            with contextlib.suppress(Exception):
                await self.disconnect(conn)
            raise

    async def _arrive(self, conn: Hashable, name: str, rooms: tuple[str, ...],
                      offset: int | None, session: str, replaced: Hashable | None,
                      unwelcomed: Accepted | None) -> Accepted:
        """Put an accepted connection in its rooms; say what the server does about it."""
        before = self._rooms_by_name.get(name, set())
        changed = sorted(before - set(rooms))
        for room in changed:
            self._remove_member(name, room)
        for room in sorted(set(rooms) - before):
            self._add_member(name, room)
            changed.append(room)
        others = await self._tell_elsewhere()
        if unwelcomed is not None:
            changed = sorted({*changed, *(told.room for told in unwelcomed.presence)})
        presence = tuple(self._presence(room, others) for room in changed)
        if replaced is None:
            effects: tuple[Effect, ...] = (Note(f"{name} connected"),)
        else:
            effects = (Note(f"{name} connected again; closing its older connection"),
                       Emit(protocol.NOTICE, Notice(
                           "You connected again from somewhere else: this connection is "
                           "closed.").to_dict(), to=replaced),
                       Disconnect(replaced))
        return Accepted(name=name, session=session, rooms=rooms, offset=offset,
                        replaced=replaced, presence=presence, effects=effects)

    def _resume_offset(self, auth: dict) -> int | None:
        offset = self.limits.check_offset(auth.get("offset"))
        history_id = auth.get("history")
        if history_id is not None and not isinstance(history_id, str):
            raise Refused(f'"history" must be the text the server sent in "{protocol.WELCOME}".')
        if offset is not None and history_id is not None and history_id != self.store.history_id:
            return 0  # ids of another history say nothing here: everything is new to it
        return offset

    async def welcome(self, conn: Hashable) -> Result:
        """Every step of :meth:`resume` as one result (for a cell or a test)."""
        return Result(effects=tuple([effect async for step in self.resume(conn)
                                     for effect in step.effects]))

    async def resume(self, conn: Hashable, *, chunk: int = REPLAY_CHUNK
                     ) -> AsyncIterator[Result]:
        """What an accepted connection gets once its handshake is done, as steps the
        server runs one at a time under its order lock, so that other events pass between
        them: ``welcome`` (and a ``notice`` per room whose history is cut); the replay,
        ``chunk`` messages a step, in id order; then what was said meanwhile, its rooms
        entered (only now: so each message is replayed or heard live, never both) and
        ``presence``. Nothing more once the connection is gone or taken over.

        The replay is the last messages above ``offset``: at most ``limits.replay`` of
        each room the name was in (by the store, for the name's ``session`` only), and
        of other rooms no more than a join shows anyone (``limits.history``).
        """
        arriving = self._arriving.get(conn)
        if arriving is None:
            return
        accepted, was_in = arriving
        gone = lambda: (self._arriving.get(conn) is not arriving  # noqa: E731
                        or self._name_by_conn.get(conn) != accepted.name)
        replay: list[Message] = []
        cut, cursor = [], None
        if accepted.offset is not None and accepted.rooms:
            cursor = await self.store.last_id()  # what comes after it: in the last step
            for room in accepted.rooms:
                most = self.limits.replay if room in was_in else self.limits.history
                last = [message for message in await self.store.recent(room, most)
                        if accepted.offset < message.id <= cursor]
                first = await self.store.since([room], accepted.offset, limit=1)
                if first and first[0].id <= cursor and first[0] not in last[:1]:
                    cut.append(Notice(f"History was cut: you missed more than {most} "
                                      f"messages in room {room!r}, so only its last {most} "
                                      f"are shown. Ask the room what came before.", room))
                replay += last
        if gone():
            return
        welcome = protocol.Welcome(accepted.name, accepted.session, self.store.history_id)
        yield Result(effects=(Emit(protocol.WELCOME, welcome.to_dict(), to=conn),
                              *(Emit(protocol.NOTICE, n.to_dict(), to=conn) for n in cut)))
        replay.sort(key=lambda message: message.id)
        for start in range(0, len(replay), chunk):
            if gone():
                return
            yield Result(effects=tuple(Emit(protocol.SAID, message.to_dict(), to=conn)
                                       for message in replay[start:start + chunk]))
        meanwhile = () if cursor is None else await self.store.since(accepted.rooms, cursor)
        if gone():
            return
        del self._arriving[conn]
        yield Result(effects=(
            *(Emit(protocol.SAID, message.to_dict(), to=conn) for message in meanwhile),
            *(Enter(conn, room) for room in accepted.rooms),
            *(Emit(protocol.PRESENCE, presence.to_dict(), room=presence.room)
              for presence in accepted.presence)))

    async def disconnect(self, conn: Hashable, reason: str | None = None) -> Result:
        """Forget a connection; tell the rooms it was in who is left.

        Does nothing for a connection that is unknown or was taken over: its name now
        belongs to the new connection.
        """
        self._arriving.pop(conn, None)
        name = self._name_by_conn.pop(conn, None)
        if name is None:
            return Result()
        del self._conn_by_name[name]
        del self._name_by_key[self.limits.name_key(name)]
        for rate in filter(None, (self._rate, self._room_rate)):
            rate.forget(name, self._clock())
        rooms = sorted(self._rooms_by_name.get(name, ()))
        for room in rooms:
            self._remove_member(name, room)
        others = await self._tell_elsewhere()
        # The connection is still in its socket.io rooms until its disconnect ends.
        return Result(effects=(Note(f"{name} disconnected ({reason})"), *(
            Emit(protocol.PRESENCE, self._presence(room, others).to_dict(), room=room,
                 skip=conn) for room in rooms)))

    def name_of(self, conn: Hashable) -> str | None:
        """The name a connection holds, or None."""
        return self._name_by_conn.get(conn)

    # -- rooms -------------------------------------------------------------------------

    async def join(self, conn: Hashable, payload: Any) -> Joined:
        """Put a connection's name in ``payload["room"]``; refused if already there, or
        if the name is in ``limits.rooms_per_client`` rooms already. Everyone in the
        room, the newcomer included, hears the new ``presence``."""
        name = self._name(conn)
        room = self.limits.check_room(
            field_of(payload, protocol.JOIN, "room", example='{"room": "lobby"}'))
        rooms = self._rooms_by_name.get(name, ())
        if room in rooms:
            raise Refused(f"You are already in room {room!r}.")
        most = self.limits.rooms_per_client
        if most is not None and len(rooms) >= most:
            raise Refused(f"You are in {len(rooms)} rooms, the most allowed: "
                          f"leave one before joining {room!r}.")
        self._check_rate(self._room_rate, conn, name, self._clock())
        self._add_member(name, room)
        await self.store.set_memberships(name, self.rooms_of(name))
        presence = self._presence(room, await self._tell_elsewhere())
        history = await self.store.recent(room, self.limits.history)
        return Joined(room=room, members=presence.members, history=tuple(history),
                      effects=(Enter(conn, room),
                               Emit(protocol.PRESENCE, presence.to_dict(), room=room)))

    async def leave(self, conn: Hashable, payload: Any) -> Result:
        """Take a connection's name out of ``payload["room"]``; refused if not there.
        Those who stay hear the new ``presence``."""
        name = self._name(conn)
        room = self.limits.check_room(
            field_of(payload, protocol.LEAVE, "room", example='{"room": "lobby"}'))
        if room not in self._rooms_by_name.get(name, ()):
            raise Refused(f"You are not in room {room!r}.")
        self._check_rate(self._room_rate, conn, name, self._clock())
        self._remove_member(name, room)
        await self.store.set_memberships(name, self.rooms_of(name))
        presence = self._presence(room, await self._tell_elsewhere())
        return Result(effects=(Exit(conn, room),
                               Emit(protocol.PRESENCE, presence.to_dict(), room=room)))

    async def members(self, room: str) -> tuple[str, ...]:
        """Who is in ``room`` now (elsewhere too), sorted; empty for a room nobody is in."""
        others = {} if self.elsewhere is None else await self.elsewhere.others()
        return self._presence(room, others).members

    def rooms_here(self) -> tuple[str, ...]:
        """The rooms someone connected to this process is in, sorted."""
        return tuple(sorted(self._members_by_room))

    def rooms_of(self, name: str) -> tuple[str, ...]:
        """The rooms ``name`` is in, sorted (for a name connected to this process)."""
        return tuple(sorted(self._rooms_by_name.get(name, ())))

    # -- messages ----------------------------------------------------------------------

    async def say(self, conn: Hashable, payload: Any) -> Said:
        """Keep a message from a connection's name to ``payload["room"]``, for the room.

        ``payload`` is ``{"room", "text", "client_id"?}``. A ``client_id`` this name used
        before gets the first id back and no new message (re-sending is safe, and free
        against the rate limit). A muted name is refused with how long is left; one over
        ``limits.messages_per_second`` with :class:`~chatkit.limits.Throttled`. Every
        member, the sender included, hears ``said`` (from the store itself with Redis)."""
        name = self._name(conn)
        example = '{"room": "lobby", "text": "hello"}'
        client_id = self.limits.check_client_id(
            field_of(payload, protocol.SAY, "client_id", example=example, required=False))
        if client_id is not None:
            first_id = await self.store.lookup_client_id(name, client_id)
            if first_id is not None:
                return Said(id=first_id, message=None)
        room = self.limits.check_room(field_of(payload, protocol.SAY, "room", example=example))
        text = self.limits.check_text(field_of(payload, protocol.SAY, "text", example=example))
        muted_until = await self.store.restriction("mute", self.limits.name_key(name))
        # Checked after the await: the sender may have left the room meanwhile.
        if room not in self._rooms_by_name.get(name, ()):
            raise Refused(f"Join room {room!r} before saying something there.")
        now = self._clock()
        muted = _left(muted_until, now)
        if muted:
            raise Refused(f"The teacher muted you: you can speak again in {seconds(muted)}.")
        self._check_rate(self._rate, conn, name, now)
        message = await self.store.add(room, name, text, ts=now, client_id=client_id)
        if self.store.delivers_messages:
            return Said(id=message.id, message=message)
        return Said(id=message.id, message=message,
                    effects=(Emit(protocol.SAID, message.to_dict(), room=room),))

    def now(self) -> float:
        """The time by the chat's clock (seconds since the epoch)."""
        return self._clock()

    # -- helpers -----------------------------------------------------------------------

    async def _check_not_kicked(self, name: str) -> None:
        until = await self.store.restriction("kick", self.limits.name_key(name))
        left = _left(until, self._clock())
        if left:
            raise Refused(f"The teacher removed {name!r} from the chat: you can come back "
                          f"in {seconds(left)}.")

    @staticmethod
    def _check_rate(rate: RateLimit | None, conn: Hashable, name: str, now: float) -> None:
        if rate is None:
            return
        try:
            rate.check(name, now)
        except Throttled as throttled:
            if throttled.notice is not None:
                throttled.effects = (Emit(protocol.NOTICE, Notice(throttled.notice).to_dict(),
                                          to=conn),)
            raise

    def _name(self, conn: Hashable) -> str:
        name = self._name_by_conn.get(conn)
        if name is None:
            raise Refused("You are not connected to the chat.")
        return name

    def roster(self) -> Roster:
        """Who is connected to this process, and the rooms each is in (sorted)."""
        return {name: (conn, sorted(self._rooms_by_name.get(name, ())))
                for name, conn in self._conn_by_name.items()}

    async def _tell_elsewhere(self) -> Roster:
        """Tell the other processes who is here (one round trip); return who is there."""
        return {} if self.elsewhere is None else await self.elsewhere.update(self.roster())

    def _presence(self, room: str, others: Roster) -> Presence:
        members = set(self._members_by_room.get(room, ()))
        members.update(name for name, (_, rooms) in others.items() if room in rooms)
        return Presence(room, tuple(sorted(members)))

    def _add_member(self, name: str, room: str) -> None:
        self._rooms_by_name.setdefault(name, set()).add(room)
        self._members_by_room.setdefault(room, set()).add(name)

    def _remove_member(self, name: str, room: str) -> None:
        rooms = self._rooms_by_name.get(name, set())
        rooms.discard(room)
        if not rooms:
            self._rooms_by_name.pop(name, None)
        members = self._members_by_room.get(room, set())
        members.discard(name)
        if not members:
            self._members_by_room.pop(room, None)  # a room exists while someone is in it

    def __repr__(self) -> str:
        return (f"<Chat: {len(self._conn_by_name)} connected, "
                f"{len(self._members_by_room)} rooms in use>")


def _left(until: float | None, now: float) -> float:
    """Seconds left until ``until``, or 0."""
    return 0.0 if until is None else max(0.0, until - now)

