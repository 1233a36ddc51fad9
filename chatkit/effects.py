"""What a rule of :mod:`chatkit.chat` decided: the answer, and what the server must do.

Introduced in notebook 03 with the chat server. A rule never touches a socket: it
returns a :class:`Result` whose ``effects`` the server carries out in order, then
answers with ``result.ack()``. Five effects are enough for the whole chat::

    Emit("presence", {"room": "lobby", "members": ["ada"]}, room="lobby")
    Enter("sid-1", "lobby")       # the connection hears the room from now on
    Exit("sid-1", "lobby")
    Disconnect("sid-1")
    Note("ada connected")         # a line of the server's log

To add an event to the chat: a rule that returns a Result with the effects it needs,
and a handler of a few lines in :mod:`chatkit.server` that calls it.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from chatkit import protocol
from chatkit.protocol import Message, Presence

__all__ = ["Accepted", "Disconnect", "Effect", "Emit", "Enter", "Exit", "Joined", "Note",
           "Result", "Rooms", "Said"]


@dataclass(frozen=True)
class Emit:
    """Send ``event`` with ``data`` on ``/chat``: to the connection ``to``, or to every
    member of ``room`` but ``skip``, or (neither given) to everyone."""

    event: str
    data: dict
    to: Hashable | None = None
    room: str | None = None
    skip: Hashable | None = None


@dataclass(frozen=True)
class Enter:
    """Put the connection ``conn`` in the chat room ``room`` (it hears the room's events)."""

    conn: Hashable
    room: str


@dataclass(frozen=True)
class Exit:
    """Take the connection ``conn`` out of the chat room ``room``."""

    conn: Hashable
    room: str


@dataclass(frozen=True)
class Disconnect:
    """Close the ``/chat`` connection ``conn`` (the server's side of a goodbye)."""

    conn: Hashable


@dataclass(frozen=True)
class Note:
    """A line for the server's connection log ("ada connected")."""

    line: str


Effect = Emit | Enter | Exit | Disconnect | Note


# -- results ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Result:
    """What a rule decided: ``effects`` to carry out, then :meth:`ack` to answer."""

    effects: tuple[Effect, ...] = field(default=(), kw_only=True)

    def ack(self) -> dict:
        return protocol.ok()


@dataclass(frozen=True)
class Accepted(Result):
    """A connection the rules let in. Its effects (closing a connection it took the
    name from) come first; :meth:`Chat.welcome` says what follows the handshake.

    Attributes:
        name: the name, trimmed.
        session: the secret that lets a reconnect take this name over.
        rooms: the rooms the connection is in from the start (``auth["rooms"]``).
        offset: the last id the client saw (``auth["offset"]``); None: no replay.
        replaced: the connection that held the name until now, or None.
    """

    name: str
    session: str
    rooms: tuple[str, ...]
    offset: int | None
    replaced: Hashable | None
    presence: tuple[Presence, ...]


@dataclass(frozen=True)
class Joined(Result):
    """A join the rules allowed: the room, who is in it now, and its last messages."""

    room: str
    members: tuple[str, ...]
    history: tuple[Message, ...]

    def ack(self) -> dict:
        return protocol.ok(room=self.room, members=list(self.members),
                           history=[message.to_dict() for message in self.history])


@dataclass(frozen=True)
class Said(Result):
    """The outcome of a ``say``: the message's id, and the new message (None when this
    ``client_id`` was seen before: then nothing is sent again and ``id`` is the first)."""

    id: int
    message: Message | None

    def ack(self) -> dict:
        return protocol.ok(id=self.id)


@dataclass(frozen=True)
class Rooms(Result):
    """The teacher's view: every room with its members, and everyone connected."""

    rooms: dict[str, list[str]]
    people: tuple[str, ...]

    def ack(self) -> dict:
        return protocol.ok(rooms=self.rooms, people=list(self.people))
