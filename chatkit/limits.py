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
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from chatkit.language import phrase

__all__ = [
    "MAX_ID",
    "MAX_MUTE_SECONDS",
    "Limits",
    "RateLimit",
    "Refused",
    "Throttled",
    "TokenBucket",
    "describe",
    "field_of",
    "name_key",
    "new_join_code",
    "new_teacher_token",
    "same_secret",
    "seconds",
    "unkeepable",
]

#: The longest mute a teacher may give, in seconds (a day).
MAX_MUTE_SECONDS = 86_400

#: The largest message id (and so ``offset``) there can be: SQLite's largest integer.
MAX_ID = 2**63 - 1

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
        room_changes_per_second: how many joins and leaves (together) a name may make
            per second, on average; None (the default in a notebook) means no limit.
            ``python -m chatkit serve`` uses 2.
        room_change_burst: how many joins and leaves in a row before that rate applies
            (default 10).
        replay: the most messages per room a resume replays (default 200); the rest is
            announced by a ``notice`` that says the history was cut.
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
    room_changes_per_second: float | None = None
    room_change_burst: int = 10
    replay: int = 200

    def __post_init__(self) -> None:
        if self.room_changes_per_second is not None and not self.room_changes_per_second > 0:
            raise ValueError("room_changes_per_second must be more than 0, or None")
        if self.room_change_burst < 1 or self.replay < 1:
            raise ValueError("room_change_burst and replay must be at least 1")
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
        """``name`` in Unicode's NFKC form and trimmed, if it is 1 to ``name_length``
        printable characters whose letters are all of one script (digits, spaces and
        punctuation go with any), so that two names cannot look alike by mixing scripts
        (a Cyrillic "а" in "аda"). Names compare by :func:`name_key`."""
        most = self.name_length
        if name is None:
            raise Refused('Pick a name: auth needs a "name".')
        if not isinstance(name, str):
            raise Refused(f"A name is text, not {kind(name)}.")
        name = unicodedata.normalize("NFKC", name).strip()
        if not name:
            raise Refused(f"The name is empty: pick one of 1 to {most} characters.")
        if len(name) > most:
            raise Refused(f"The name is too long ({len(name)} characters): at most {most}.")
        if not name.isprintable():
            raise Refused("A name can only hold printable characters "
                          "(no tabs, line breaks or control characters).")
        scripts = _scripts(name)
        if len(scripts) > 1:
            raise Refused(f"A name is written in one alphabet (digits and punctuation go "
                          f"with any), so that no two names look alike: {name!r} mixes "
                          f"{scripts[0]} and {scripts[1]} letters.")
        return name

    name_key = staticmethod(lambda name: name_key(name))  # for the rules: see name_key()

    def check_name_free(self, name: str, connected: Iterable[str]) -> None:
        """Refuse ``name`` if a ``connected`` name compares the same (:func:`name_key`)
        but is spelled otherwise: "Ada" while "ada" is here would look like one person."""
        key = name_key(name)
        for other in connected:
            if other != name and name_key(other) == key:
                raise Refused(f"The name {name!r} is taken: {other!r} is connected now, and "
                              f"names do not differ by case or width. Pick another name.")

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
        odd = unkeepable(text)
        if odd:
            raise Refused(f"The message holds {odd}, which the chat cannot keep: "
                          f"remove it and send it again.")
        return text

    def check_client_id(self, client_id: Any) -> str | None:
        """``client_id`` if it is None or 1 to ``client_id_length`` characters of text."""
        most = self.client_id_length
        if client_id is None:
            return None
        if not isinstance(client_id, str) or not 1 <= len(client_id) <= most:
            raise Refused(f'"client_id" is text of 1 to {most} characters '
                          f"that you choose for each message.")
        odd = unkeepable(client_id)
        if odd:
            raise Refused(f'"client_id" holds {odd}, which the chat cannot keep: '
                          f"use plain text (a UUID is fine).")
        return client_id

    def check_offset(self, offset: Any) -> int | None:
        """``auth["offset"]``: None, or a whole number from 0 to :data:`MAX_ID`."""
        if offset is None:
            return None
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise Refused('"offset" is the last message id you saw: '
                          'a whole number, 0 or more.')
        if offset > MAX_ID:
            raise Refused(f'"offset" is too big to be a message id (the largest is '
                          f"{MAX_ID:,}): send the last id you saw, or 0.")
        return offset

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
    students = (phrase(f"{limits.clients} students") if limits.clients
                else "any number of students")
    rooms = (phrase(f"{limits.rooms_per_client} rooms each") if limits.rooms_per_client
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

    #: The sentences for ``say``; ``{wait}`` and ``{rate}`` are filled in.
    TOO_FAST = ("You are sending messages too fast: wait {wait} s before saying more "
                "(at most {rate} per second).")
    SLOW_DOWN = ("Slow down: you may say at most {rate} messages per second. "
                 "Messages sent faster are refused.")

    def __init__(self, rate: float, burst: int, *, too_fast: str = TOO_FAST,
                 slow_down: str = SLOW_DOWN):
        self.rate = rate
        self.burst = burst
        self.too_fast, self.slow_down = too_fast, slow_down
        self._kept = 1000  # buckets kept after the last sweep of full ones
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
        raise Throttled(self.too_fast.format(wait=f"{wait:.1f}", rate=f"{self.rate:g}"),
                        wait=wait, notice=self.slow_down.format(rate=f"{self.rate:g}")
                        if first else None)

    @classmethod
    def for_room_changes(cls, rate: float, burst: int) -> RateLimit:
        """The same limit for ``join`` and ``leave`` (together), with their sentences."""
        return cls(rate, burst,
                   too_fast="You are joining and leaving rooms too fast: wait {wait} s "
                            "before the next join or leave (at most {rate} per second).",
                   slow_down="Slow down: you may join or leave rooms at most {rate} times "
                             "per second. Faster ones are refused.")

    def forget(self, name: str, now: float | None = None) -> None:
        """Drop ``name``'s bucket (it disconnected); given ``now``, only once it is full
        again, so that reconnecting does not refill it faster. Full buckets of other
        names are dropped too, now and then, so memory stays bounded."""
        bucket = self._buckets.get(name)
        if bucket is not None and now is not None:
            bucket.take(now, take=0)  # refilled up to now
        if bucket is None or now is None or bucket.tokens >= bucket.burst:
            self._buckets.pop(name, None)
            self._told.discard(name)
        if now is not None and len(self._buckets) > 2 * self._kept:
            for other, kept in list(self._buckets.items()):
                kept.take(now, take=0)
                if kept.tokens >= kept.burst:
                    self.forget(other)
            self._kept = max(1000, len(self._buckets))


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

    def take(self, now: float, *, take: int = 1) -> float:
        """Take a token if there is one and return 0.0; otherwise take nothing and
        return how many seconds until there is one. ``take=0`` only refills."""
        self.tokens = min(self.burst, self.tokens + max(0.0, now - self._last) * self.rate)
        self._last = max(self._last, now)
        if self.tokens >= take:
            self.tokens -= take
            return 0.0
        return (take - self.tokens) / self.rate

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
    """A random join code that reads well aloud, such as ``"maple-otter-fern-42"``.

    Three of 48 words and a number from 10 to 99: 48**3 * 90 = 9,953,280 codes, more
    than four words would give (5.3 million). With :class:`chatkit.guard.Guard`'s
    back-off (at most one wrong try a minute per address once it has begun) guessing
    one takes about 9 years per address on average: see docs/protocol.md's limits.
    """
    words = [secrets.choice(_CODE_WORDS) for _ in range(3)]
    return f"{'-'.join(words)}-{secrets.randbelow(90) + 10}"


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


def name_key(name: str) -> str:
    """What a name compares by: NFKC, case-folded ("Ada", "ADA", "ａｄａ" are one name)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold())


_SURROGATE = re.compile("[\ud800-\udfff]")
#: Scripts that are written together (Chinese, Japanese, Korean): one "alphabet" here.
_CJK = frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL",
                  "BOPOMOFO", "IDEOGRAPHIC"})


def unkeepable(text: str) -> str | None:
    """What in ``text`` no store can keep, as a person reads it, or None: a lone
    surrogate (half a UTF-16 pair: UTF-8, SQLite and Redis refuse it) or a NUL."""
    if "\x00" in text:
        return phrase("a NUL character (U+0000)")
    odd = None if text.isascii() else _SURROGATE.search(text)
    if odd is not None:
        return f"half of a UTF-16 pair on its own (U+{ord(odd.group()):04X})"
    return None


def _scripts(name: str) -> list[str]:
    """The scripts of the letters of ``name``, in order of appearance (the first word of
    each letter's Unicode name: LATIN, CYRILLIC, GREEK...; modifier letters go with any)."""
    found: dict[str, None] = {}
    for char in name:
        if not unicodedata.category(char).startswith("L"):
            continue
        word = "LATIN" if char.isascii() else unicodedata.name(char, "").split(" ", 1)[0]
        if word and word != "MODIFIER":
            found["Chinese/Japanese/Korean" if word in _CJK else word.title()] = None
    return list(found)


def seconds(wait: float) -> str:
    """A wait as a person reads it: whole seconds, rounded up ("42 s", "1 s")."""
    return f"{max(1, math.ceil(wait)):,} s"


def kind(value: Any) -> str:
    """How a value reads in an error message: 'a number', 'nothing', 'a list'..."""
    if value is None:
        return phrase("nothing (null)")
    if isinstance(value, bool):
        return phrase(f"true/false ({str(value).lower()})")
    if isinstance(value, int) and not -10**15 < value < 10**15:  # never 4,000 digits
        return phrase(f"a huge number (about {int(value.bit_length() * math.log10(2)) + 1:,} "
                      f"digits)")
    if isinstance(value, int | float):
        return phrase(f"a number ({value})")
    if isinstance(value, str):
        return phrase(f"the text {value[:40]!r}")
    if isinstance(value, list | tuple):
        return phrase("a list")
    if isinstance(value, dict):
        return phrase("an object")
    if isinstance(value, bytes):
        return phrase("binary data")
    return type(value).__name__
