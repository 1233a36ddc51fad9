"""The door of the chat: how often one address may connect, and how wrong secrets are slowed.

Introduced in notebook 06 (the classroom), where a server reachable by a whole class must
not let one student guess the join code or the teacher token by trying thousands per
second, nor stall it by connecting in a loop. Like :mod:`chatkit.limits`, nothing here
reads a clock or touches a socket: every call is given ``now``, an ``address`` (where
the connection comes from) and a ``link`` (the transport connection it came on, which
may try the namespace connect again and again)::

    guard = Guard(free_tries=3, max_wait=60)
    guard.secret("join code", right=False, address="10.0.0.7", link="e1", now=0,
                 wrong="Wrong join code.")   # raises Guarded (tries 1-3: no wait yet)
    # from the 4th wrong try on, the address waits 1 s, then 2, 4 ... up to 60 s between
    # tries; a try during the wait is refused without looking at the secret, and the
    # link is closed after its 5th wrong try.

Log lines come back as :class:`~chatkit.effects.Note` effects of the refusal: the first
wrong try of an address is one line, then one summary line per address per
``summary_seconds`` at most, never one per try.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from chatkit.effects import Note
from chatkit.language import phrase
from chatkit.limits import Refused, TokenBucket, same_secret, seconds

__all__ = ["Guard", "Guarded"]


class Guarded(Refused):
    """A connection the guard refused. ``close`` says that the transport connection it
    came on must be closed too (too many wrong tries on it)."""

    def __init__(self, message: str, *, close: bool = False, effects: tuple = (),
                 wait: float = 0.0):
        super().__init__(message, effects=effects)
        self.close = close
        self.wait = wait  # seconds before a try can succeed (HTTP's Retry-After)


@dataclass
class _Tries:
    """Wrong tries of one address for one kind of secret."""

    failures: int = 0          # wrong tries made while not waiting
    last: float = 0.0          # when the last of them was made
    seen: float = 0.0          # when the last try of any kind was made
    unlogged: int = 0          # tries since the last log line
    logged_at: float | None = None


@dataclass
class _Door:
    """Connects of one address: a bucket, the refusals not logged yet, and those since
    its last accepted connect."""

    bucket: TokenBucket | None
    refused_in_row: int = 0
    unlogged: int = 0
    logged_at: float | None = None
    seen: float = 0.0


@dataclass
class Guard:
    """Who may knock, how often.

    Attributes:
        connects_per_second: connects one address may make per second on average (a
            :class:`~chatkit.limits.TokenBucket`); None (the default) means no limit.
        connect_burst: connects one address may make in a row (default 200, a whole
            class behind one school router).
        free_tries: wrong secrets one address may send before it has to wait (default 3).
        max_wait: the longest wait between wrong tries, in seconds (default 60): the
            wait doubles from 1 s after each wrong try past ``free_tries`` up to it.
        tries_per_link: wrong tries after which the transport connection is closed
            (default 5).
        door_after: connects of one address refused in words, in a row, after which its
            next ones are turned away at the door until it may connect again (default
            20): ``at_the_door`` answers them before any WebSocket or session is made,
            which is what keeps a connecting loop from slowing everyone else.
        forget_after: seconds without a wrong try after which an address starts again
            from zero (default 600).
        summary_seconds: at most one log line per address per this many seconds (60).
    """

    connects_per_second: float | None = None
    connect_burst: int = 200
    free_tries: int = 3
    max_wait: float = 60
    tries_per_link: int = 5
    door_after: int = 20
    forget_after: float = 600
    summary_seconds: float = 60
    _tries: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _links: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)
    _doors: OrderedDict = field(default_factory=OrderedDict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.connects_per_second is not None and not self.connects_per_second > 0:
            raise ValueError("connects_per_second must be more than 0, or None")
        if (min(self.connect_burst, self.tries_per_link, self.door_after) < 1
                or self.free_tries < 0 or not self.max_wait >= 1):
            raise ValueError("connect_burst, tries_per_link and door_after must be at "
                             "least 1, free_tries 0 or more, max_wait at least 1 s")

    # -- connects per address --------------------------------------------------------

    def connecting(self, address: Hashable, now: float) -> None:
        """Count one connect from ``address``, or raise :class:`Guarded` if it
        connects faster than ``connects_per_second`` allows."""
        if self.connects_per_second is None:
            return
        door = self._doors.pop(address, None) or _Door(
            TokenBucket(self.connects_per_second, self.connect_burst, now=now))
        self._doors[address] = door  # the newest at the end
        door.seen = now
        self._purge(self._doors, now, lambda d: d.seen)
        wait = door.bucket.take(now)
        if not wait:
            door.refused_in_row = 0
            return
        door.refused_in_row += 1
        raise self._too_many(address, door, wait, now)

    def at_the_door(self, address: Hashable, now: float) -> None:
        """Before a new transport connection is made: raise :class:`Guarded` if
        ``address`` was refused ``door_after`` times in a row and still may not connect
        (the server then answers HTTP 429 at once); else count nothing and return."""
        door = self._doors.get(address)
        if door is None or door.bucket is None or door.refused_in_row < self.door_after:
            return
        door.bucket.take(now, take=0)  # refills it, takes nothing
        if door.bucket.tokens >= 1:
            return
        raise self._too_many(address, door, (1 - door.bucket.tokens) / door.bucket.rate, now)

    def _too_many(self, address: Hashable, door: _Door, wait: float, now: float) -> Guarded:
        door.unlogged += 1
        note = self._summary(door, now, f"refused {{n}} connections from {address} "
                                        f"(more than {self.connects_per_second:g} per "
                                        f"second)")
        return Guarded(f"Too many connections from your address: wait {wait:.1f} s, then "
                       f"connect again (at most {self.connects_per_second:g} per second).",
                       effects=note, wait=wait)

    # -- wrong secrets ---------------------------------------------------------------

    def wait(self, kind: str, address: Hashable, now: float) -> float:
        """Seconds ``address`` must still wait before its next try of ``kind``, or 0."""
        tries = self._tries.get((kind, address))
        if tries is None or now - tries.last > self.forget_after:
            return 0.0
        return max(0.0, tries.last + self._delay(tries.failures) - now)

    def secret(self, kind: str, *, right: bool, address: Hashable, link: Hashable,
               now: float, wrong: str, log: str = "refused a connection") -> None:
        """Let a try of a secret (``kind``: "join code", "teacher token") through if
        ``right`` and the address is not waiting; else raise :class:`Guarded`.

        ``wrong`` is the sentence for a wrong secret; ``log`` starts the first log line.
        A try while the address waits is refused without regard to ``right``, so that
        waiting cannot be skipped by guessing faster.
        """
        waiting = self.wait(kind, address, now)
        if right and not waiting:
            return
        key = (kind, address)
        tries = self._tries.pop(key, None)
        if tries is None or now - tries.last > self.forget_after:
            tries = _Tries()
        self._tries[key] = tries
        tries.seen = now
        self._purge(self._tries, now, lambda t: t.seen)
        if not waiting:
            tries.failures += 1
            tries.last = now
        on_link = self._links.pop(link, (0, now))[0] + 1
        close = on_link >= self.tries_per_link
        if not close:
            self._links[link] = (on_link, now)
            self._purge(self._links, now, lambda entry: entry[1])
        if waiting:
            sentence = (f"Too many wrong tries of the {kind} from your address: wait "
                        f"{seconds(waiting)} before trying again.")
        else:
            sentence = wrong
            later = self._delay(tries.failures)
            if later:
                sentence += f" Wait {seconds(later)} before the next try."
        if close:
            sentence += (f" This connection is closed after {self.tries_per_link} "
                         f"wrong tries.")
        tries.unlogged += 1
        first = tries.logged_at is None
        where = "" if address is None else f" (from {address})"
        note = (self._summary(tries, now, f"{log}: {wrong}{where}") if first else
                self._summary(tries, now, f"{{n}} more wrong tries of the {kind}{where} in "
                                          f"the last {self.summary_seconds:g} s; it waits "
                                          f"{self._delay(tries.failures):g} s between "
                                          f"tries now"))
        # Only a try refused for waiting may succeed later as it is: say when.
        raise Guarded(sentence, close=close, effects=note, wait=waiting)

    def join_code(self, code: Any, expected: str, *, address: Hashable, link: Hashable,
                  now: float) -> None:
        """Check a join code (case and surrounding spaces do not matter) through
        :meth:`secret`; no code at all is refused without counting as a wrong try."""
        if code is None or (isinstance(code, str) and not code.strip()):
            raise Refused("This chat needs a join code: ask your teacher for it.")
        right = isinstance(code, str) and same_secret(code.strip().casefold(),
                                                      expected.strip().casefold())
        self.secret(phrase("join code"), right=right, address=address, link=link, now=now,
                    wrong="Wrong join code: check it with your teacher.")

    def forget_link(self, link: Hashable) -> None:
        """The transport connection ``link`` ended: forget its tries."""
        self._links.pop(link, None)

    # -- helpers ---------------------------------------------------------------------

    def _delay(self, failures: int) -> float:
        """The wait after ``failures`` wrong tries: 0, then 1, 2, 4 ... ``max_wait`` s."""
        past = failures - self.free_tries
        return 0.0 if past < 0 else float(min(self.max_wait, 2 ** min(past, 62)))

    def _summary(self, record: _Tries | _Door, now: float, line: str) -> tuple[Note, ...]:
        """One log line if none was written for ``record`` in the last period, else none."""
        if record.logged_at is not None and now - record.logged_at < self.summary_seconds:
            return ()
        line = line.replace("{n}", f"{record.unlogged:,}")
        record.logged_at, record.unlogged = now, 0
        return (Note(line),)

    def _purge(self, table: OrderedDict, now: float, last) -> None:
        """Drop the oldest entries not touched for ``forget_after`` (memory stays bounded)."""
        while table:
            oldest = next(iter(table.values()))
            if now - last(oldest) <= self.forget_after:
                return
            table.popitem(last=False)
