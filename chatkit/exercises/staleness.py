"""Notebook 00 (start here), why push beats polling: the exercise writes
``staleness(published, polls)``, how long each update waits for the poll that sees it."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from chatkit.exercises.harness import CheckFailed, hint, in_your_code


def check_staleness(staleness: Callable[[Sequence[float], Sequence[float]], list]) -> None:
    """Notebook 00: check ``staleness(published, polls)``.

    ``published`` and ``polls`` are sorted lists of times in seconds: when each update was
    published, and when the client polled. The function returns, for each update, how long
    it waited to be seen: the time from its publication to the first poll at or after it,
    or None when no poll came after it.
    """
    cases = [
        ([0.1, 0.25, 0.9], [0.0, 0.5, 1.0], [0.4, 0.25, 0.1],
         "each update waits for the first poll at or after it"),
        ([0.5], [0.0, 0.5, 1.0], [0.0], "a poll at the very moment of publication sees it: 0"),
        ([0.2, 0.3], [0.5], [0.3, 0.2], "two updates can be seen by the same poll"),
        ([0.2, 1.5], [0.0, 1.0], [0.8, None], "an update after the last poll is never seen"),
        ([], [0.0, 1.0], [], "no updates: an empty list"),
    ]
    for published, polls, expected, rule in cases:
        try:
            got = staleness(list(published), list(polls))
        except Exception as exc:
            raise CheckFailed(f"staleness({published}, {polls}) raised "
                                 f"{type(exc).__name__}: {exc}{in_your_code(exc)}") from exc
        hint(isinstance(got, list) and len(got) == len(expected),
             f"staleness({published}, {polls}) returned {got!r}: expected a list with one "
             f"entry per published update ({len(expected)})")
        for value, want in zip(got, expected, strict=True):  # lengths checked above
            right = value is None if want is None else (
                isinstance(value, (int, float)) and math.isclose(value, want, abs_tol=1e-9))
            hint(right, f"staleness({published}, {polls}) returned {got!r}, expected "
                        f"{expected!r}: {rule}")
    # A long random run: polling every 0.2 s leaves an update stale for 0.1 s on average.
    rng = random.Random(0)
    published = sorted(rng.uniform(0, 100) for _ in range(2000))
    polls = [k * 0.2 for k in range(501)]
    mean = sum(staleness(published, polls)) / len(published)
    hint(math.isclose(mean, 0.1, abs_tol=0.01),
         f"over 2,000 random updates and a poll every 0.2 s your mean staleness is "
         f"{mean:.3f} s; it should be about 0.1 s (half the interval)")
    print("Right: an update waits for the next poll, on average half the polling interval.")
