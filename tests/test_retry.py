"""chatkit.retry: the back-off policy (caps, jitter, reset) and the Reconnector's task."""

import asyncio
import random

import pytest

from chatkit import running
from chatkit.retry import Backoff, Reconnector, Retry, seconds


def test_the_ceiling_doubles_from_the_first_wait_up_to_the_cap():
    policy = Retry(first=0.5, cap=30)
    assert [policy.ceiling(n) for n in range(1, 10)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]


def test_a_client_that_tried_all_week_still_waits_the_cap():
    """No OverflowError after millions of tries: the cap, as ever."""
    assert Retry(cap=30).ceiling(10**7) == 30
    assert Retry(first=1, cap=5, factor=1).ceiling(50) == 1


def test_every_wait_is_between_half_its_ceiling_and_the_ceiling():
    policy = Retry(first=0.5, cap=30, jitter=0.5)
    rng = random.Random(14)
    for attempt in range(1, 30):
        waits = [policy.wait(attempt, rng) for _ in range(500)]
        ceiling = policy.ceiling(attempt)
        assert all(ceiling / 2 <= wait <= ceiling for wait in waits)
        # spread out, not one value: a class does not come back in one burst
        assert max(waits) - min(waits) > ceiling * 0.4


def test_no_jitter_waits_the_ceiling_and_full_jitter_may_wait_nothing():
    rng = random.Random(1)
    assert [Retry(jitter=0).wait(n, rng) for n in (1, 2, 3)] == [0.5, 1, 2]
    waits = [Retry(jitter=1).wait(1, rng) for _ in range(500)]
    assert all(0 <= wait <= 0.5 for wait in waits) and min(waits) < 0.05


def test_a_backoff_tries_forever_by_default_and_never_waits_more_than_the_cap():
    backoff = Backoff(Retry(first=0.5, cap=30))
    waits = [backoff.next_wait() for _ in range(1000)]
    assert None not in waits and max(waits) <= 30 and backoff.attempt == 1000
    assert not backoff.exhausted


def test_a_backoff_with_attempts_gives_up_after_them():
    backoff = Backoff(Retry(attempts=3))
    assert [backoff.next_wait() is not None for _ in range(5)] == [True] * 3 + [False] * 2
    assert backoff.exhausted and backoff.next_try_at is None


def test_reset_after_success_starts_again_from_the_shortest_wait():
    backoff = Backoff(Retry(first=1, cap=30, jitter=0, attempts=4))
    assert [backoff.next_wait() for _ in range(4)] == [1, 2, 4, 8]
    assert backoff.next_wait() is None
    backoff.reset()  # connected again
    assert backoff.attempt == 0 and backoff.next_wait() == 1


def test_now_counts_a_try_without_waiting():
    backoff = Backoff(Retry(jitter=0))
    assert backoff.next_wait(now=True) == 0 and backoff.attempt == 1
    assert backoff.next_wait() == 1  # the second try's ceiling


@pytest.mark.parametrize("options, word", [
    ({"first": 0}, "first wait"), ({"first": 5, "cap": 1}, "cap"), ({"factor": 0.5}, "factor"),
    ({"jitter": 1.5}, "jitter"), ({"attempts": 0}, "attempts"), ({"attempts": 2.5}, "attempts"),
    ({"attempts": True}, "attempts"),
])
def test_a_policy_that_makes_no_sense_is_refused_with_a_sentence(options, word):
    with pytest.raises(ValueError, match=word):
        Retry(**options)


def test_of_fills_in_the_defaults_and_refuses_two_ways_at_once():
    assert Retry.of() == Retry()
    assert Retry.of(0.05, 0.2, 40) == Retry(first=0.05, cap=0.2, attempts=40)
    assert Retry.of(60).cap == 60  # a first wait above the default cap raises the cap
    mine = Retry(cap=2)
    assert Retry.of(policy=mine) is mine
    with pytest.raises(TypeError, match="not both"):
        Retry.of(attempts=3, policy=mine)


def test_seconds_and_describe_read_well():
    assert [seconds(w) for w in (0.04, 8, 29.6)] == ["0.0 s", "8.0 s", "30 s"]
    assert Retry().describe().endswith("forever")
    assert "at most 5 tries" in Retry(attempts=5).describe()


# -- the Reconnector -------------------------------------------------------------------------

class Trying:
    """A Reconnector around a fake connection that fails ``failures`` times."""

    def __init__(self, policy, failures):
        self.failures, self.tries, self.reports, self.gave_up, self.stop = failures, 0, [], [], False
        self.reconnector = Reconnector(policy, attempt=self.attempt, report=self.reports.append,
                                       stopped=lambda: self.stop, gave_up=self.give_up)

    async def attempt(self):
        self.tries += 1
        if self.tries <= self.failures:
            raise ConnectionError(f"refused #{self.tries}")
        return True

    async def give_up(self, problem):
        self.gave_up.append(str(problem))


async def until(condition, what):
    await running.wait_for(condition, 5, what=what)


async def test_the_reconnector_tries_until_it_is_connected():
    trying = Trying(Retry(first=0.01, cap=0.02), failures=6)
    trying.reconnector.start()
    await until(lambda: not trying.reconnector.active, "the tries to end")
    assert trying.tries == 7 and trying.gave_up == []
    assert trying.reports[-1] == "try 7 now" and trying.reports[-2].startswith("try 7 in ")


async def test_the_reconnector_gives_up_after_its_attempts_and_may_start_again():
    trying = Trying(Retry(first=0.01, cap=0.02, attempts=3), failures=4)
    trying.reconnector.start()
    await until(lambda: trying.gave_up, "giving up")
    assert trying.tries == 3 and trying.gave_up == ["refused #3"]
    assert trying.reports[0].startswith("try 1 of 3 in ")
    assert trying.reconnector.resumable
    assert trying.reconnector.now()  # "reconnect now": a fresh round, first try at once
    await until(lambda: not trying.reconnector.active, "the second round")
    second = trying.reports[6:]
    assert trying.tries == 5 and second[:2] == ["try 1 of 3 in 0.0 s", "try 1 of 3 now"]
    assert second[-1] == "try 2 of 3 now"
    assert not trying.reconnector.resumable


async def test_now_ends_a_long_wait_at_once():
    trying = Trying(Retry(first=1000, cap=1000), failures=0)
    trying.reconnector.start()
    await until(lambda: trying.reports, "the first wait")
    assert trying.reconnector.backoff.remaining() > 100
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert trying.reconnector.now()
    await until(lambda: not trying.reconnector.active, "the try")
    assert trying.tries == 1 and loop.time() - started < 100


async def test_stop_ends_the_task_during_a_wait_and_nothing_starts_again():
    trying = Trying(Retry(first=1000, cap=1000), failures=0)
    reconnector = trying.reconnector
    assert not reconnector.now()  # nothing lost yet: nothing to come back from
    reconnector.start()
    await until(lambda: trying.reports, "the first wait")
    trying.stop = True
    await reconnector.stop()
    assert not reconnector.active and trying.tries == 0 and trying.gave_up == []
    assert not reconnector.now()


async def test_connected_forgets_the_tries_so_far():
    trying = Trying(Retry(first=0.01, cap=0.02, attempts=2), failures=5)
    trying.reconnector.start()
    await until(lambda: trying.gave_up, "giving up")
    trying.reconnector.connected()
    assert trying.reconnector.backoff.attempt == 0 and not trying.reconnector.resumable
