"""Notebook 00 (start here), why push beats polling: the exercises write
``staleness(published, polls)``, how long each update waits for the poll that sees it
(:func:`check_staleness`), and ``values_seen(published, polls)``, how many of the
published values a poller ever sees (:func:`check_values_seen`)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from chatkit.exercises.harness import CheckFailed, hint, in_your_code, say_right


def check_staleness(staleness: Callable[[Sequence[float], Sequence[float]], list]) -> None:
    """Notebook 00: check ``staleness(published, polls)``.

    ``published`` and ``polls`` are sorted lists of times in seconds: when each update was
    published, and when the client polled. The function returns, for each update, how long
    it waited to be seen: the time from its publication to the first poll at or after it,
    or None when no poll came after it.
    """
    from chatkit import polling  # the notebook's measurement uses this one
    hint(staleness is not polling.staleness,
         "that is chatkit's own staleness, the one the measurement above used: write yours "
         "(a loop over the updates, finding the first poll at or after each) and pass that")
    cases = [
        ([0.1, 0.25, 0.9], [0.0, 0.5, 1.0], [0.4, 0.25, 0.1],
         "each update waits for the first poll at or after it"),
        ([0.5], [0.0, 0.5, 1.0], [0.0], "a poll at the very moment of publication sees it: 0"),
        ([0.2, 0.3], [0.5], [0.3, 0.2], "two updates can be seen by the same poll"),
        ([0.2, 1.5], [0.0, 1.0], [0.8, None], "an update after the last poll is never seen"),
        ([], [0.0, 1.0], [], "no updates: an empty list"),
    ]
    for published, polls, expected, rule in cases:
        got = _call("staleness", staleness, published, polls)
        hint(isinstance(got, list) and len(got) == len(expected),
             f"staleness({published}, {polls}) returned {got!r}: expected a list with one "
             f"entry per published update ({len(expected)})")
        poll_times = [when + wait for when, wait in zip(published, expected, strict=True)
                      if wait is not None]
        hint(rule != cases[0][3] or not _close(got, poll_times),  # unambiguous in case 1
             f"staleness({published}, {polls}) returned {got!r}, the times of the polls "
             f"that saw each update; return how long each waited, poll time minus "
             f"publication time: {expected!r}")
        hint(_close(got, expected), f"staleness({published}, {polls}) returned {got!r}, "
                                    f"expected {expected!r}: {rule}")
    # A long random run: polling every 0.2 s leaves an update stale for 0.1 s on average.
    rng = random.Random(0)
    published = sorted(rng.uniform(0, 100) for _ in range(2000))
    polls = [k * 0.2 for k in range(501)]
    waits = _call("staleness", staleness, published, polls,
                  shown="2,000 random updates, polls every 0.2 s")
    hint(isinstance(waits, list) and len(waits) == len(published)
         and all(isinstance(wait, (int, float)) for wait in waits),
         "over 2,000 random updates and a poll every 0.2 s up to 100 s, every update is "
         "seen: return one number per update")
    mean = sum(waits) / len(published)
    hint(math.isclose(mean, 0.1, abs_tol=0.01),
         f"over 2,000 random updates and a poll every 0.2 s your mean staleness is "
         f"{mean:.3f} s; it should be about 0.1 s (half the interval)")
    say_right("Right: an update waits for the next poll, on average half the polling interval.")


def check_values_seen(values_seen: Callable[[Sequence[float], Sequence[float]], int]) -> None:
    """Notebook 00: check ``values_seen(published, polls)``.

    Same arguments as ``staleness``. A poll sees the value published last at or before
    it; the function returns how many of the published values some poll saw. The others
    were replaced by a newer one before the next poll came, or came after the last poll.
    """
    cases = [  # one rule each, then all of them together
        ([0.1, 0.2], [0.5], 1, "the value of 0.1 was replaced at 0.2, before the poll at 0.5 "
                               "could see it"),
        ([0.5], [0.5], 1, "a poll at the very moment of publication sees it"),
        ([0.2], [0.5, 0.6, 0.7], 1, "several polls that see the same value count it once"),
        ([0.2, 1.5], [1.0], 1, "a value published after the last poll is never seen"),
        ([], [0.0, 1.0], 0, "nothing published: 0"),
        ([0.1, 0.2, 0.9, 1.0, 1.2], [0.0, 0.5, 0.7, 1.0], 2, "a poll sees the value published "
                                                            "last at or before it"),
    ]
    answers = []
    for published, polls, _, _ in cases:
        got = _call("values_seen", values_seen, published, polls)
        hint(isinstance(got, int) and not isinstance(got, bool),
             f"values_seen({published}, {polls}) returned {got!r}: return a number, how "
             f"many values were seen (len(...) of them)")
        answers.append(got)
    published, polls, expected, _ = cases[-1]
    hint(answers != [len(case[0]) - case[2] for case in cases],
         f"values_seen({published}, {polls}) returned {answers[-1]}, the number of values "
         f"*not* seen; return how many were seen, {expected}")
    for (published, polls, expected, rule), got in zip(cases, answers, strict=True):
        hint(got == expected, f"values_seen({published}, {polls}) returned {got}, expected "
                              f"{expected}: {rule}")
    # 30 changes in 3 s, as in the notebook's measurement, and a poll every 0.5 s.
    rng = random.Random(0)
    published = sorted(rng.uniform(0, 3) for _ in range(30))
    polls = [k * 0.5 for k in range(7)]
    seen = _call("values_seen", values_seen, published, polls,
                 shown="30 random values, 7 polls")
    right = len({sum(when <= poll for when in published) for poll in polls} - {0})
    hint(seen <= len(polls), f"with 7 polls your function says {seen} values were seen: "
                             f"one poll sees one value at most")
    hint(seen == right, f"30 values published at random moments in 3 s and a poll every "
                        f"0.5 s: your function says {seen} were seen, expected {right}")
    say_right(f"Right: polling every 0.5 s while 30 values change in 3 s sees only {seen} of "
          f"them: a poll shows the latest value, never the ones in between.")


def _call(name: str, function: Callable, published: Sequence[float],
          polls: Sequence[float], *, shown: str = "") -> object:
    """Call the learner's ``function``; a crash becomes one line naming the input."""
    try:
        return function(list(published), list(polls))
    except Exception as exc:
        arguments = shown or f"{list(published)}, {list(polls)}"
        raise CheckFailed(f"{name}({arguments}) raised {type(exc).__name__}: "
                          f"{exc}{in_your_code(exc)}") from exc


def _close(got: list, expected: list) -> bool:
    """Whether ``got`` holds the same waits as ``expected``, up to rounding."""
    return len(got) == len(expected) and all(
        value is None if want is None else (
            isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isclose(value, want, abs_tol=1e-9))
        for value, want in zip(got, expected, strict=True))
