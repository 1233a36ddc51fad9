"""Notebook 00's check_staleness explains each wrong answer by the rule it breaks."""

import pytest

from chatkit import exercises
from tests.exercises.answers import staleness as staleness_right
from tests.exercises.answers import values_seen as values_seen_right


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


# -- check_values_seen -------------------------------------------------------------------

def test_values_seen_explains_counting_every_poll():
    """Counting one value per poll, repeats included, fails with the 'count it once' rule."""
    def per_poll(published, polls):
        return sum(1 for poll in polls if any(when <= poll for when in published))

    with pytest.raises(AssertionError, match="see the same value count it once"):
        exercises.check_values_seen(per_poll)


def test_values_seen_explains_values_replaced_before_a_poll():
    """Counting every value published before the last poll fails with the 'replaced' rule."""
    def all_before_last_poll(published, polls):
        return sum(1 for when in published if polls and when <= polls[-1])

    with pytest.raises(AssertionError, match=r"values_seen\(\[0.1, 0.2\], \[0.5\]\) returned 2, "
                                             r"expected 1: the value of 0.1 was replaced"):
        exercises.check_values_seen(all_before_last_poll)


def test_values_seen_explains_a_poll_at_the_same_moment():
    """Seeing only values published strictly before a poll fails with the 'same moment' rule."""
    def strictly_before(published, polls):
        seen = set()
        for poll in polls:
            before = [index for index, when in enumerate(published) if when < poll]
            if before:
                seen.add(before[-1])
        return len(seen)

    with pytest.raises(AssertionError, match="very moment of publication sees it"):
        exercises.check_values_seen(strictly_before)


def test_values_seen_explains_counting_the_values_not_seen():
    """Returning how many were missed fails with a hint that says so."""
    def missed(published, polls):
        return len(published) - values_seen_right(published, polls)

    with pytest.raises(AssertionError, match=r"the number of values \*not\* seen"):
        exercises.check_values_seen(missed)


def test_values_seen_explains_a_list_instead_of_a_number():
    """Returning the values seen themselves fails with 'return a number'."""
    def the_values(published, polls):
        return [when for when in published if when <= max(polls)]

    with pytest.raises(AssertionError, match="return a number"):
        exercises.check_values_seen(the_values)


def test_values_seen_reports_an_exception_with_the_input():
    """A crash is reported with the arguments and the learner's line."""
    def crashes(published, polls):
        return int(polls[3])

    with pytest.raises(AssertionError, match=r"values_seen\(\[0.1, 0.2\], \[0.5\]\) raised "
                                             r"IndexError.*line \d+ of your code"):
        exercises.check_values_seen(crashes)


def test_explains_returning_the_poll_times():
    """Returning when the poll came, not how long the update waited, says so."""
    def poll_times(published, polls):
        return [min([p for p in polls if p >= t], default=None) for t in published]

    with pytest.raises(AssertionError, match="the times of the polls that saw each update"):
        exercises.check_staleness(poll_times)


def test_a_strict_poll_is_not_mistaken_for_poll_times():
    """A wait of 0.5 that happens to equal the poll's time gets the 'same moment' rule."""
    def strictly_after(published, polls):
        return [min([p for p in polls if p > t], default=1.0) - t for t in published]

    with pytest.raises(AssertionError, match=r"returned \[0.5\], expected \[0.0\]: a poll at "
                                             r"the very moment"):
        exercises.check_staleness(strictly_after)


def test_a_crash_in_the_long_run_is_one_line():
    """A function that fails only on the long random run is reported as a hint too."""
    def small_inputs_only(published, polls):
        if len(published) > 100:
            raise MemoryError("too many")
        return staleness_right(published, polls)

    with pytest.raises(AssertionError, match=r"staleness\(2,000 random updates, polls every "
                                             r"0.2 s\) raised MemoryError: too many"):
        exercises.check_staleness(small_inputs_only)


def test_values_seen_checks_the_count_of_the_long_run():
    """A function right on the small cases but wrong on the long run gets the real count."""
    def off_on_long_runs(published, polls):
        right = values_seen_right(published, polls)
        return right - 1 if len(published) > 10 else right

    with pytest.raises(AssertionError, match=r"your function says 5 were seen, expected 6"):
        exercises.check_values_seen(off_on_long_runs)


def test_chatkits_own_staleness_is_refused_as_a_shortcut():
    """Passing chatkit.polling.staleness would check nothing the learner wrote."""
    from chatkit import polling
    with pytest.raises(AssertionError, match="chatkit's own staleness"):
        exercises.check_staleness(polling.staleness)
