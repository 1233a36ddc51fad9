"""Notebook 00's check_staleness explains each wrong answer by the rule it breaks."""

import pytest

from chatkit import exercises
from tests.exercises.answers import staleness as staleness_right


def test_explains_a_poll_at_the_same_moment():
    """Counting only polls strictly after publication fails with the 'same moment' rule."""
    def strictly_after(published, polls):
        return [min([p for p in polls if p > t], default=None) - t
                if any(p > t for p in polls) else None for t in published]

    with pytest.raises(AssertionError, match="very moment of publication"):
        exercises.check_staleness(strictly_after)


def test_explains_updates_never_seen():
    """Returning 0 for an update after the last poll fails with the 'never seen' rule."""
    def zero_if_unseen(published, polls):
        return [value if value is not None else 0.0
                for value in staleness_right(published, polls)]

    with pytest.raises(AssertionError, match="after the last poll is never seen"):
        exercises.check_staleness(zero_if_unseen)


def test_reports_an_exception_with_the_input():
    """A function that crashes is reported with the arguments that made it crash."""
    def crashes(published, polls):
        return [1 / 0 for _ in published]

    with pytest.raises(AssertionError, match=r"raised ZeroDivisionError"):
        exercises.check_staleness(crashes)


def test_explains_a_wrong_length():
    """Leaving out the updates never seen fails with a hint about the length."""
    def only_seen(published, polls):
        return [value for value in staleness_right(published, polls) if value is not None]

    with pytest.raises(AssertionError, match="one entry per published update"):
        exercises.check_staleness(only_seen)
