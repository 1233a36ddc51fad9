"""What the chat accepts: sizes, rates, join codes, and the sentences that say no.

Introduced in notebook 06 (the classroom), where a teacher's server needs limits on how
much and how fast; the rules of :mod:`chatkit.chat` use it from notebook 03 on. Nothing
here touches a socket or a clock of its own, so every limit can be tried in a cell::

    limits = Limits(name_length=8)
    limits.check_name("  ada ")            # 'ada'
    limits.check_room("lobby!")            # raises Refused: Room names use only letters...

    bucket = TokenBucket(rate=1, burst=2, now=0)
    bucket.take(0), bucket.take(0), bucket.take(0)   # 0.0, 0.0, 1.0 (wait 1 s)

Every refusal is a :class:`Refused` whose message is a sentence for a human; the server
sends it unchanged to the client.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_MUTE_SECONDS",
    "Limits",
    "RateLimit",
    "Refused",
    "Throttled",
    "TokenBucket",
    "describe",
    "field_of",
    "new_join_code",
    "new_teacher_token",
    "same_secret",
    "seconds",
]

#: The longest mute a teacher may give, in seconds (a day).
MAX_MUTE_SECONDS = 86_400

_ROOM_CHARACTERS = re.compile(r"[A-Za-z0-9_-]+")


class Refused(Exception):
    """The rules say no. ``str(error)`` is a sentence that tells a person why.

    ``effects`` are what the server still does for the refused connection (say, a
    ``notice`` telling a flooding student to slow down); see :mod:`chatkit.chat`.
    """

    def __init__(self, message: str, *, effects: tuple = ()):
        super().__init__(message)
        self.effects = effects


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

    def check_name(self, name: Any) -> str:
        """``name`` trimmed, if it is 1 to ``name_length`` printable characters."""
        most = self.name_length
        if name is None:
            raise Refused('Pick a name: auth needs a "name".')
        if not isinstance(name, str):
            raise Refused(f"A name is text, not {kind(name)}.")
        name = name.strip()
        if not name:
            raise Refused(f"The name is empty: pick one of 1 to {most} characters.")
        if len(name) > most:
            raise Refused(f"The name is too long ({len(name)} characters): at most {most}.")
        if not name.isprintable():
            raise Refused("A name can only hold printable characters "
                          "(no tabs, line breaks or control characters).")
        return name

    def check_room(self, room: Any) -> str:
        """``room`` if it is 1 to ``room_length`` of ``A-Z a-z 0-9 _ -``."""
        most = self.room_length
        if not isinstance(room, str):
            raise Refused(f"A room name is text, not {kind(room)}.")
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
        """``text`` unchanged, if it has 1 to ``text_length`` characters, not all blank."""
        most = self.text_length
        if not isinstance(text, str):
            raise Refused(f"The text of a message is text, not {kind(text)}.")
        if not text.strip():
            raise Refused("The message is empty: say something.")
        if len(text) > most:
            raise Refused(f"The message is too long ({len(text)} characters): "
                          f"at most {most}.")
        return text

    def check_client_id(self, client_id: Any) -> str | None:
        """``client_id`` if it is None or 1 to ``client_id_length`` characters of text."""
        most = self.client_id_length
        if client_id is None:
            return None
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= most:
            raise Refused(f'"client_id" is text of 1 to {most} characters '
                          f"that you choose for each message.")
        return client_id

    def check_rooms(self, rooms: Any) -> tuple[str, ...]:
        """``auth["rooms"]``: a list of valid room names, duplicates dropped, at most
        ``rooms_per_client``; None is no rooms."""
        if rooms is None:
            return ()
        if not isinstance(rooms, list | tuple):
            raise Refused(f'"rooms" is a list of room names, not {kind(rooms)}.')
        unique = dict.fromkeys(self.check_room(room) for room in rooms)  # keeps order
        most = self.rooms_per_client
        if most is not None and len(unique) > most:
            raise Refused(f'"rooms" lists {len(unique)} rooms: one person may be in at '
                          f"most {most}.")
        return tuple(unique)


def field_of(payload: Any, event: str, key: str, *, example: str,
             required: bool = True) -> Any:
    """``payload[key]``, where ``payload`` must be an object (one for ``event``, shaped like
    ``example``); a missing ``key`` is refused unless not ``required`` (then None)."""
    if not isinstance(payload, dict):
        raise Refused(f"{event} takes one object like {example}, not {kind(payload)}.")
    if required and key not in payload:
        raise Refused(f'{event} needs a "{key}", as in {example}.')
    return payload.get(key)


def describe(limits: Limits) -> str:
    """The limits as one sentence for the teacher (``python -m chatkit serve`` prints it)."""
    rate = (f"{limits.messages_per_second:g} messages per second per student (bursts of "
            f"{limits.burst})" if limits.messages_per_second else "no rate limit")
    students = f"{limits.clients} students" if limits.clients else "any number of students"
    rooms = (f"{limits.rooms_per_client} rooms each" if limits.rooms_per_client
             else "any number of rooms each")
    return (f"{rate}; messages up to {limits.text_length:,} characters; {students}, "
            f"{rooms}; a kick lasts {limits.kick_seconds:g} s")


class Throttled(Refused):
    """A ``say`` refused because its sender sends too fast.

    Attributes:
        wait: seconds until the sender may say something again.
        notice: the sentence to tell the sender (a ``notice``) on the first refusal
            since its last accepted message only, so that a flood of refusals is not
            answered by a flood of notices; None on the following ones.
    """

    def __init__(self, message: str, *, wait: float, notice: str | None = None,
                 effects: tuple = ()):
        super().__init__(message, effects=effects)
        self.wait = wait
        self.notice = notice


class RateLimit:
    """How fast each name may say things: a :class:`TokenBucket` per name.

    ``rate`` messages per second on average, ``burst`` in a row::

        limit = RateLimit(rate=1, burst=2)
        limit.check("ada", now=0)
        limit.check("ada", now=0)
        limit.check("ada", now=0)      # raises Throttled: wait 1.0 s, with a notice
    """

    def __init__(self, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, TokenBucket] = {}
        self._told: set[str] = set()  # names told "too fast" since their last message

    def check(self, name: str, now: float) -> None:
        """Count one message of ``name`` at ``now``, or raise :class:`Throttled`."""
        bucket = self._buckets.get(name)
        if bucket is None:
            bucket = self._buckets[name] = TokenBucket(self.rate, self.burst, now=now)
        wait = bucket.take(now)
        if not wait:
            self._told.discard(name)
            return
        first = name not in self._told
        self._told.add(name)
        raise Throttled(
            f"You are sending messages too fast: wait {wait:.1f} s before saying more "
            f"(at most {self.rate:g} per second).", wait=wait,
            notice=(f"Slow down: you may say at most {self.rate:g} messages per second. "
                    f"Messages sent faster are refused.") if first else None)

    def forget(self, name: str) -> None:
        """Drop ``name``'s bucket (it disconnected)."""
        self._buckets.pop(name, None)
        self._told.discard(name)


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


def same_secret(given: str, expected: str) -> bool:
    """Whether two secrets are equal, compared in constant time.

    Text a client sends may hold characters UTF-8 cannot encode (a lone surrogate):
    ``surrogatepass`` keeps that a plain "not equal" instead of an internal error.
    """
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                               expected.encode("utf-8", "surrogatepass"))


def seconds(wait: float) -> str:
    """A wait as a person reads it: whole seconds, rounded up ("42 s", "1 s")."""
    return f"{max(1, math.ceil(wait)):,} s"


def kind(value: Any) -> str:
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
