"""Retry: how long a client waits before it tries to reconnect again.

Introduced in notebook 03, where :class:`chatkit.client.ChatClient` loses its connection
and comes back; notebook 05's panel shows the wait ("reconnecting in 8 s"). A lost
connection is tried again after a short wait, then a longer one after each failure
(capped back-off), each wait shortened by a random part (jitter) so that a class whose
server restarts does not come back in one burst. By default a client tries for as long
as it lives: a teacher may stop the server for a minute or an hour, and every notebook
left open comes back when it is started again::

    policy = Retry(first=0.5, cap=30)          # 0.5 s, 1 s, 2 s, ... then 30 s, forever
    backoff = Backoff(policy)
    backoff.next_wait()                        # between 0.25 and 0.5 s
    backoff.reset()                            # connected again: the next loss starts over

:class:`Retry` is the policy (a frozen value, shared freely); :class:`Backoff` is one
client's count of failed tries since it was last connected.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chatkit.language import translate

__all__ = ["Backoff", "Retry", "seconds"]


@dataclass(frozen=True)
class Retry:
    """A reconnection policy: capped exponential back-off with jitter.

    Try ``n`` (1, 2, ...) waits at most ``first * factor ** (n - 1)`` seconds, never more
    than ``cap``; the wait is that ceiling less a random part of up to ``jitter`` of it
    (0.5: between half the ceiling and all of it). ``attempts`` is how many tries before
    giving up, None (the default) to try for as long as the client lives.

    Args:
        first: the longest wait before the first try, in seconds (default 0.5).
        cap: the longest wait between two tries, in seconds (default 30).
        factor: how much longer each ceiling is than the one before (default 2).
        jitter: the largest part of a wait taken off at random, 0 to 1 (default 0.5).
        attempts: tries before giving up; None (default) never gives up.
    """

    first: float = 0.5
    cap: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5
    attempts: int | None = None

    def __post_init__(self) -> None:
        if not self.first > 0:
            raise ValueError(f"the first wait must be above 0 s, not {self.first!r}")
        if not self.cap >= self.first:
            raise ValueError(f"the cap ({self.cap!r} s) must be at least the first wait "
                             f"({self.first!r} s)")
        if not self.factor >= 1:
            raise ValueError(f"the factor must be at least 1, not {self.factor!r}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"the jitter is a part of the wait, 0 to 1, not {self.jitter!r}")
        if self.attempts is not None and (isinstance(self.attempts, bool)
                                          or not isinstance(self.attempts, int)
                                          or self.attempts < 1):
            raise ValueError(f"attempts is a number of tries, at least 1, or None for no "
                             f"end, not {self.attempts!r}")

    @classmethod
    def of(cls, first: float | None = None, cap: float | None = None,
           attempts: int | None = None, *, policy: Retry | None = None) -> Retry:
        """The default policy with ``first``, ``cap`` or ``attempts`` changed where given
        (a ``first`` above the default cap raises the cap to it); or ``policy`` itself,
        if given, when none of the others is."""
        if policy is not None:
            if (first, cap, attempts) != (None, None, None):
                raise TypeError("give a Retry policy or first, cap and attempts (the "
                                "reconnect_* shorthands), not both")
            return policy
        first = cls.first if first is None else first
        return cls(first=first, cap=max(first, cls.cap) if cap is None else cap,
                   attempts=attempts)

    def ceiling(self, attempt: int) -> float:
        """The longest wait before try ``attempt`` (1 for the first)."""
        if attempt < 1:
            raise ValueError(f"tries are counted from 1, not {attempt!r}")
        try:
            return min(self.cap, self.first * self.factor ** (attempt - 1))
        except OverflowError:  # a client that has tried all week long
            return self.cap

    def wait(self, attempt: int, rng: random.Random | None = None) -> float:
        """A wait before try ``attempt``: between ``(1 - jitter)`` times its ceiling and
        the ceiling itself, chosen at random (from ``rng`` if given)."""
        ceiling = self.ceiling(attempt)
        return ceiling * (1 - self.jitter * (rng or random).random())

    def describe(self) -> str:
        """The policy in words, for a status line or a log."""
        end = translate("forever") if self.attempts is None else f"at most {self.attempts} tries"
        return (f"first wait up to {self.first:g} s, then {self.factor:g}x longer each time "
                f"up to {self.cap:g} s, less up to {self.jitter:.0%} at random; {end}")


def seconds(wait: float) -> str:
    """A wait for people: ``0.4 s``, ``8.0 s``, ``30 s``."""
    return f"{wait:.1f} s" if wait < 10 else f"{wait:.0f} s"


class Backoff:
    """One client's tries since it was last connected, under a :class:`Retry` policy,
    and the wait before the next one, which :meth:`wake` cuts short."""

    def __init__(self, policy: Retry | None = None, *, rng: random.Random | None = None):
        self.policy = policy or Retry()
        #: Tries started since the last :meth:`reset` (0 before the first).
        self.attempt = 0
        #: When the next try starts (``time.monotonic()``), None when none is planned.
        self.next_try_at: float | None = None
        self._rng = rng
        self._wake = asyncio.Event()

    @property
    def exhausted(self) -> bool:
        """True once every try the policy allows has been made."""
        return self.policy.attempts is not None and self.attempt >= self.policy.attempts

    def next_wait(self, *, now: bool = False) -> float | None:
        """Count one more try, plan it (:attr:`next_try_at`) and return how long to wait
        before it (0 if ``now``); None when the policy gives up."""
        if self.exhausted:
            self.next_try_at = None
            return None
        self.attempt += 1
        wait = 0.0 if now else self.policy.wait(self.attempt, self._rng)
        self.next_try_at = time.monotonic() + wait
        return wait

    def remaining(self) -> float | None:
        """Seconds until the planned try, None if none is planned."""
        if self.next_try_at is None:
            return None
        return max(0.0, self.next_try_at - time.monotonic())

    async def sleep(self) -> None:
        """Wait until the planned try, or until :meth:`wake`. Note: a coroutine."""
        remaining = self.remaining()
        if remaining:
            try:
                await asyncio.wait_for(self._wake.wait(), remaining)
            except TimeoutError:
                pass
        self._wake.clear()
        self.next_try_at = None

    def wake(self) -> None:
        """End the current (or next) :meth:`sleep` now."""
        self._wake.set()

    def reset(self) -> None:
        """Connected again: the next lost connection starts with the shortest wait."""
        self.attempt = 0
        self.next_try_at = None
        self._wake.clear()


class Reconnector:
    """Coming back after a lost connection: one task that waits (a :class:`Backoff`),
    then tries, until done, stopped, or out of tries; :meth:`now` cuts a wait short.

    Args:
        policy: the :class:`Retry` policy.
        attempt: ``await attempt()`` makes one try; it returns True when done (connected,
            or refused: no more tries), False to go on, or raises ConnectionError,
            TimeoutError or ValueError for a failed try (any other exception ends it).
        report: ``report(text)`` hears ``"try 3 in 8.0 s"`` before each wait and
            ``"try 3 now"`` before each try.
        stopped: ``stopped()`` is true once no try must be made any more.
        gave_up: ``await gave_up(problem)`` when the policy's tries are all made, with
            the last failure (or None).
    """

    def __init__(self, policy: Retry, *, attempt: Callable[[], Awaitable[bool]],
                 report: Callable[[str], None], stopped: Callable[[], bool],
                 gave_up: Callable[[BaseException | None], Awaitable[None]]):
        self.backoff = Backoff(policy)
        #: True when not trying, yet trying again could work (given up, or lost without
        #: trying): :meth:`now` starts again.
        self.resumable = False
        self._attempt, self._report, self._stopped, self._gave_up = (
            attempt, report, stopped, gave_up)
        self._task: asyncio.Task | None = None

    @property
    def active(self) -> bool:
        """True while the task that tries runs."""
        return self._task is not None and not self._task.done()

    def start(self, *, now: bool = False) -> None:
        """Start trying, from the shortest wait (none if ``now``), unless already trying."""
        if not self.active:
            self.resumable = False
            self.backoff.reset()
            self._task = asyncio.get_running_loop().create_task(self._run(now))

    def connected(self) -> None:
        """Connected again: the next loss starts from the shortest wait, and there is
        nothing to come back from until then."""
        self.resumable = False
        self.backoff.reset()

    def now(self) -> bool:
        """Try at once: end the wait, or start again if :attr:`resumable`; False if
        neither (nothing to come back from)."""
        if self.active:
            self.backoff.wake()
        elif self.resumable:
            self.start(now=True)
        else:
            return False
        return True

    async def stop(self) -> None:
        """Stop trying and wait for the task to end (``stopped()`` must be true by now).
        Note: this method is a coroutine."""
        self.resumable = False
        self.backoff.wake()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self, now: bool) -> None:
        problem: BaseException | None = None
        backoff = self.backoff
        while not self._stopped() and (wait := backoff.next_wait(now=now)) is not None:
            now, most = False, backoff.policy.attempts
            def report(when: str, attempt: int = backoff.attempt, most: int | None = most):
                self._report(translate(f"try {attempt} of {most} {when}") if most
                             else translate(f"try {attempt} {when}"))  # "try 3 in 8.0 s"
            report(translate(f"in {seconds(wait)}"))
            await backoff.sleep()
            if self._stopped():
                return
            report(translate("now"))
            try:
                if await self._attempt():
                    return
            except (ConnectionError, TimeoutError, ValueError) as exc:
                problem = exc
        if not self._stopped():
            self.resumable = True
            await self._gave_up(problem)
