"""The chat's wire contract: namespaces, event names, payloads and answers, in one place.

Introduced in notebook 03, where the course's chat server and client start speaking it.
``docs/protocol.md`` describes the same contract for clients in any language; this
module is its Python spelling, and nothing else in chatkit writes an event name::

    from chatkit import protocol

    await sio.call(protocol.SAY, {"room": "lobby", "text": "hi"}, namespace=protocol.CHAT)
    message = protocol.Message.from_dict(data)      # a `said` event's payload, checked
    protocol.check_ack(answer, protocol.SAY)        # the ack, or ChatError with the reason

Names in Python may differ from the wire where the wire's would mislead: the ``history``
field of ``welcome`` and ``auth`` names a message history, so it is ``history_id`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "ANNOUNCE",
    "CHAT",
    "CHAT_REQUESTS",
    "INVITE",
    "JOIN",
    "KICK",
    "LEAVE",
    "MUTE",
    "NOTICE",
    "PRESENCE",
    "ROOMS",
    "SAID",
    "SAY",
    "SERVER_EVENTS",
    "SERVER_FAILED",
    "TEACHER",
    "TEACHER_REQUESTS",
    "WELCOME",
    "ChatError",
    "ConnectionRefused",
    "Message",
    "Notice",
    "Presence",
    "Welcome",
    "chat_auth",
    "check_ack",
    "ok",
    "refused",
    "refusal_reason",
    "teacher_auth",
]

#: The socket.io namespace of the chat.
CHAT = "/chat"
#: The socket.io namespace of the teacher's tools (rooms, kick, mute, announce, invite).
TEACHER = "/teacher"

# What a student's client sends on /chat; each is answered with an ack.
JOIN = "join"
LEAVE = "leave"
SAY = "say"
#: The requests /chat answers; any other event is ignored.
CHAT_REQUESTS = frozenset({JOIN, LEAVE, SAY})

# What the server sends on /chat.
WELCOME = "welcome"
SAID = "said"
PRESENCE = "presence"
NOTICE = "notice"
#: The events a /chat client receives.
SERVER_EVENTS = frozenset({WELCOME, SAID, PRESENCE, NOTICE})

# What the teacher's client sends on /teacher; each is answered with an ack.
ROOMS = "rooms"
KICK = "kick"
MUTE = "mute"
ANNOUNCE = "announce"
INVITE = "invite"
#: The requests /teacher answers; any other event is ignored. /teacher also receives
#: every room's ``presence`` (so the teacher's page shows the rooms live).
TEACHER_REQUESTS = frozenset({ROOMS, KICK, MUTE, ANNOUNCE, INVITE})

#: The error of any request the server failed to handle (a bug, logged on the server).
SERVER_FAILED = ("The server failed to handle this request. It was logged; please tell "
                 "your teacher.")


class ChatError(Exception):
    """The server refused a request. ``str(error)`` is the server's own sentence."""


class ConnectionRefused(ChatError):
    """The server refused the connection (wrong join code, name taken...).

    ``retry_after`` is the seconds after which the same try may succeed, when the server
    said so (``connect_error`` ``data.retry_after``: too many connections from one
    address, a wait after wrong codes); None for a refusal that time does not change.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


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
        """The message as it travels: ``{"id", "room", "name", "text", "ts"}``."""
        return {"id": self.id, "room": self.room, "name": self.name, "text": self.text,
                "ts": self.ts}

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """The message of a ``said`` payload (or of :meth:`to_dict`), checked.

        Raises ValueError saying what is wrong if ``data`` is not a message.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a message is an object, not {type(data).__name__}")
        try:
            message_id, ts = data["id"], data["ts"]
            room, name, text = data["room"], data["name"], data["text"]
        except KeyError as missing:
            raise ValueError(f"a message needs {missing}") from None
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise ValueError(f"a message's id is a whole number, not {message_id!r}")
        if isinstance(ts, bool) or not isinstance(ts, int | float):
            raise ValueError(f"a message's ts is a number, not {ts!r}")
        if not all(isinstance(value, str) for value in (room, name, text)):
            raise ValueError("a message's room, name and text are text")
        return cls(message_id, room, name, text, float(ts))

    def __str__(self) -> str:
        return f"[{self.room}] {self.name}: {self.text}"


@dataclass(frozen=True)
class Presence:
    """Who is in a room now; sent as the ``presence`` event whenever that changes."""

    room: str
    members: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"room": self.room, "members": list(self.members)}

    @classmethod
    def from_dict(cls, data: Any) -> Presence:
        """The presence of a ``presence`` payload; raises ValueError if it is not one."""
        if (not isinstance(data, dict) or not isinstance(data.get("room"), str)
                or not isinstance(data.get("members"), list)):
            raise ValueError(f"not a presence: {data!r}")
        return cls(data["room"], tuple(str(name) for name in data["members"]))

    def __str__(self) -> str:
        return f"[{self.room}] here: {', '.join(self.members)}"


@dataclass(frozen=True)
class Notice:
    """A sentence from the server or the teacher: to everyone, or to one ``room``."""

    text: str
    room: str | None = None

    def to_dict(self) -> dict:
        return {"text": self.text} | ({"room": self.room} if self.room is not None else {})

    @classmethod
    def from_dict(cls, data: Any) -> Notice:
        """The notice of a ``notice`` payload; raises ValueError if it is not one."""
        if not isinstance(data, dict) or not isinstance(data.get("text"), str):
            raise ValueError(f"not a notice: {data!r}")
        room = data.get("room")
        return cls(data["text"], room if isinstance(room, str) else None)

    def __str__(self) -> str:
        return f"notice: {self.text}"


@dataclass(frozen=True)
class Welcome:
    """The first event of an accepted connection.

    Attributes:
        name: the name the server knows you by (trimmed).
        session: a secret; sent back in ``auth`` it takes the name back on reconnect.
        history_id: names the server's message history (``"history"`` on the wire):
            ids only compare within one history.
    """

    name: str
    session: str
    history_id: str

    def to_dict(self) -> dict:
        return {"name": self.name, "session": self.session, "history": self.history_id}

    @classmethod
    def from_dict(cls, data: Any) -> Welcome:
        """The welcome of a ``welcome`` payload; raises ValueError if it is not one."""
        if not isinstance(data, dict) or not all(
                isinstance(data.get(key), str) for key in ("name", "session", "history")):
            raise ValueError(f"not a welcome: {data!r}")
        return cls(data["name"], data["session"], data["history"])

    def __str__(self) -> str:  # leaves the secret out
        return f"welcome, {self.name}"


def chat_auth(name: str, *, code: str | None = None, session: str | None = None,
              rooms: list[str] | None = None, offset: int | None = None,
              history_id: str | None = None) -> dict:
    """The ``auth`` of a connection to ``/chat``; what is None is left out.

    >>> chat_auth("ada", code="maple-otter-42")
    {'name': 'ada', 'code': 'maple-otter-42'}
    """
    fields = {"name": name, "code": code, "session": session, "rooms": rooms,
              "offset": offset, "history": history_id}
    return {key: value for key, value in fields.items() if value is not None}


def teacher_auth(token: str, language: str = "en") -> dict:
    """The ``auth`` of a connection to ``/teacher``; ``language`` other than English
    asks the server for its sentences in that language (``"lang"``)."""
    return {"token": token} if language == "en" else {"token": token, "lang": language}


def ok(**fields: Any) -> dict:
    """An accepting ack: ``ok(id=7)`` is ``{"ok": True, "id": 7}``."""
    return {"ok": True, **fields}


def refused(why: str) -> dict:
    """A refusing ack: ``{"ok": False, "error": why}``, ``why`` a sentence for a human."""
    return {"ok": False, "error": why}


def check_ack(ack: Any, request: str = "the request") -> dict:
    """``ack`` if it accepts; raise :class:`ChatError` with the server's sentence if not.

    >>> check_ack({"ok": False, "error": "You are not in room 'x'."}, LEAVE)
    Traceback (most recent call last):
    ...
    chatkit.protocol.ChatError: You are not in room 'x'.
    """
    if not isinstance(ack, dict):
        raise ChatError(f"the server answered {request} with {ack!r}, not an object")
    if not ack.get("ok"):
        raise ChatError(ack.get("error") or f"the server refused {request}, without saying why")
    return ack


def refusal_reason(data: Any) -> str | None:
    """The sentence of a ``connect_error`` payload (``{"message": why}``), or None.

    python-socketio also reports a server it cannot reach as a ``connect_error``, with a
    bare string: that is no refusal, so it gives None.
    """
    if isinstance(data, dict):
        return str(data.get("message") or "the server refused the connection")
    return None
