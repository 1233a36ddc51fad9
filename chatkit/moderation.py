"""The teacher's rules: who may use the teacher's tools, and what kick, mute and announce do.

Introduced in notebook 06 (the classroom). Like :mod:`chatkit.chat`, nothing here
touches a socket: each tool returns a :class:`~chatkit.effects.Result` whose effects the
server carries out (a ``notice``, a closed connection, a log line)::

    chat = Chat()
    teacher = Moderation(chat, token="s3cret")
    await teacher.connect("sid-9", {"token": "s3cret"})   # or raises Refused
    await chat.connect("sid-1", {"name": "ada"})
    (await teacher.mute({"name": "ada", "seconds": 30})).effects
    # (Note('the teacher muted ada for 30 s'), Emit('notice', ..., to='sid-1'))

Kicks and mutes are kept in the chat's store, so a server restarted on the same
``--db`` (or another process on the same Redis) still enforces them; the chat's rules
read them there (a kicked name cannot connect, a muted one cannot say anything).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from chatkit import protocol
from chatkit.chat import Chat
from chatkit.effects import Disconnect, Emit, Note, Result, Rooms
from chatkit.guard import Guarded
from chatkit.language import phrase
from chatkit.limits import (
    MAX_MUTE_SECONDS,
    Refused,
    field_of,
    kind,
    name_key,
    same_secret,
    seconds,
)
from chatkit.protocol import Notice

__all__ = ["Moderation"]


class Moderation:
    """The teacher's tools over one :class:`~chatkit.chat.Chat`.

    Args:
        chat: the chat the teacher looks after.
        token: the secret a teacher sends in ``auth["token"]``; None closes the tools
            to everyone.
    """

    def __init__(self, chat: Chat, *, token: str | None = None):
        self.chat = chat
        self.token = token
        self._teachers: set[Hashable] = set()

    async def connect(self, conn: Hashable, auth: Any, *, address: Hashable = None,
                      link: Hashable = None) -> Result:
        """Let a teacher's connection in if ``auth`` is ``{"token": <token>}``, or raise
        Refused. Without a token nobody gets in. Wrong tokens are slowed down by the
        chat's :class:`~chatkit.guard.Guard`, per ``address`` and ``link``, as join codes."""
        try:
            self.chat.guard.connecting(address, self.chat.now())
            self._check_token(auth, address, link)
        except Guarded:
            raise
        except Refused as refusal:
            raise Refused(str(refusal), effects=(
                Note(f"refused a teacher connection: {refusal}"),)) from None
        self._teachers.add(conn)
        return Result(effects=(Note("a teacher connected"),))

    def disconnect(self, conn: Hashable, reason: str | None = None) -> Result:
        """Forget a teacher's connection."""
        if conn not in self._teachers:
            return Result()
        self._teachers.discard(conn)
        return Result(effects=(Note(f"a teacher disconnected ({reason})"),))

    def label(self, conn: Hashable) -> str | None:
        """How a connection reads in a log or on a map: its chat name, "teacher", or None."""
        return self.chat.name_of(conn) or ("teacher" if conn in self._teachers else None)

    async def rooms(self, payload: Any = None) -> Rooms:
        """``rooms``: every room someone is in (other processes too) with its members,
        and everyone connected."""
        if payload not in (None, {}):
            raise Refused("rooms takes nothing, or {}.")
        here = self.chat.roster()
        there = {} if self.chat.elsewhere is None else await self.chat.elsewhere.others()
        rooms: dict[str, set[str]] = {}
        for name, (_, their_rooms) in [*here.items(), *there.items()]:
            for room in their_rooms:
                rooms.setdefault(room, set()).add(name)
        return Rooms(rooms={room: sorted(names) for room, names in sorted(rooms.items())},
                     people=tuple(sorted({*here, *there})))

    async def invite(self, payload: Any = None) -> Result:
        """``invite``: what the class needs to join, for the teacher's eyes only. The rules
        know no addresses: the server answers with the join link of each address students
        use and a QR code of the first (see :func:`chatkit.pages.join_link`)."""
        if payload not in (None, {}):
            raise Refused("invite takes nothing, or {}.")
        return Result()

    async def kick(self, payload: Any) -> Result:
        """``kick``: ``payload["name"]`` is told, then disconnected, and may not connect
        again for ``limits.kick_seconds``."""
        name, conn = await self._target(payload, protocol.KICK, '{"name": "ada"}')
        wait = self.chat.limits.kick_seconds
        await self.chat.store.restrict("kick", name_key(name), self.chat.now() + wait)
        notice = (f"The teacher removed you from the chat. You can come back in "
                  f"{seconds(wait)}.")
        return Result(effects=(Note(f"the teacher kicked {name} out for {wait:g} s"),
                               Emit(protocol.NOTICE, Notice(notice).to_dict(), to=conn),
                               Disconnect(conn)))

    async def mute(self, payload: Any) -> Result:
        """``mute``: ``payload["name"]``'s ``say`` is refused for ``payload["seconds"]``
        (at most a day); 0 lifts a mute."""
        example = '{"name": "ada", "seconds": 60}'
        name, conn = await self._target(payload, protocol.MUTE, example)
        wait = field_of(payload, protocol.MUTE, "seconds", example=example)
        if (isinstance(wait, bool) or not isinstance(wait, int | float)
                or not 0 <= wait <= MAX_MUTE_SECONDS):
            raise Refused(f'"seconds" is how long to mute for: a number from 0 (to lift '
                          f"a mute) to {MAX_MUTE_SECONDS:,}, not {kind(wait)}.")
        await self.chat.store.restrict("mute", name_key(name), self.chat.now() + wait)
        if wait:
            note, notice = (f"the teacher muted {name} for {wait:g} s",
                            f"The teacher muted you for {seconds(wait)}.")
        else:
            note, notice = (f"the teacher lifted {name}'s mute",
                            "The teacher lifted your mute: you can speak again.")
        return Result(effects=(Note(note),
                               Emit(protocol.NOTICE, Notice(notice).to_dict(), to=conn)))

    async def announce(self, payload: Any) -> Result:
        """``announce {"text", "room"?}``: a ``notice`` to the room (someone must be in
        it), or to everyone."""
        example = '{"text": "Break until 11:00", "room": "lobby"}'
        limits = self.chat.limits
        text = limits.check_text(field_of(payload, protocol.ANNOUNCE, "text",
                                          example=example))
        room = field_of(payload, protocol.ANNOUNCE, "room", example=example, required=False)
        if room is not None:
            room = limits.check_room(room)
            if not await self.chat.members(room):
                raise Refused(f"Nobody is in room {room!r} now, so nobody would hear it.")
        return Result(effects=(Emit(protocol.NOTICE, Notice(text, room).to_dict(),
                                    room=room),))

    def _check_token(self, auth: Any, address: Hashable, link: Hashable) -> None:
        if self.token is None:
            raise Refused("This server has no teacher token, so its teacher's tools are "
                          "closed: start it with one.")
        token = auth.get("token") if isinstance(auth, dict) else None
        if token is None or (isinstance(token, str) and not token.strip()):
            raise Refused('The teacher\'s tools need the teacher token: connect with auth '
                          '{"token": "..."}. It was printed when the server started.')
        self.chat.guard.secret(
            phrase("teacher token"), right=isinstance(token, str) and same_secret(token.strip(),
                                                                          self.token),
            address=address, link=link, now=self.chat.now(),
            wrong="Wrong teacher token: check what the server printed at start.",
            log="refused a teacher connection")

    async def _target(self, payload: Any, event: str, example: str) -> tuple[str, Hashable]:
        """The name a teacher's request is about, and its connection."""
        name = self.chat.limits.check_name(field_of(payload, event, "name", example=example))
        everyone = dict(self.chat.roster())
        if self.chat.elsewhere is not None:
            everyone = {**await self.chat.elsewhere.others(), **everyone}
        # Found as it compares, named as it is spelled: "ada" finds "Ada".
        name, conn = next(((them, held[0]) for them, held in everyone.items()
                           if name_key(them) == name_key(name)), (name, None))
        if conn is None:
            raise Refused(f"Nobody named {name!r} is connected.")
        return name, conn

    def __repr__(self) -> str:
        return f"<Moderation: {len(self._teachers)} teachers connected>"
