"""Notebook 01's check_shout_server explains a wrong handler, and a crash at once."""

import asyncio

import pytest

from chatkit import exercises, running
from tests.conftest import timeout


async def test_explains_an_echo():
    """Sending the message back unchanged fails with a hint to use upper()."""
    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    with pytest.raises(AssertionError, match=r"unchanged: send `message.upper\(\)`"):
        await exercises.check_shout_server(echo, timeout=timeout(1))
    assert "exercise-shout" not in running.running()


async def test_explains_a_silent_handler():
    """A handler that never answers fails with a hint to send, after the timeout."""
    async def silent(connection):
        async for _ in connection:
            pass

    with pytest.raises(AssertionError, match=f"got no answer within {timeout(0.3):g} s"):
        await exercises.check_shout_server(silent, timeout=timeout(0.3))


async def test_explains_a_missing_close():
    """Answering 'bye' instead of closing fails with the close call to write."""
    async def no_close(connection):
        async for message in connection:
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match=r"got 'BYE' before the close|stayed open"):
        await exercises.check_shout_server(no_close, timeout=timeout(0.3))


async def test_explains_a_wrong_close_code():
    """Closing with 1000 instead of 4000 fails and shows the code that was seen."""
    async def normal_close(connection):
        async for message in connection:
            if message == "bye":
                await connection.close()
                return
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match="closed with code 1000 and reason ''"):
        await exercises.check_shout_server(normal_close, timeout=timeout(1))


async def test_explains_looping_on_after_close():
    """A handler that keeps iterating after close(4000) fails with the advice to return."""
    async def keeps_looping(connection):
        async for message in connection:
            if message == "bye":
                await connection.close(4000, "bye")
            else:
                await connection.send(message.upper())

    with pytest.raises(AssertionError, match="ConnectionClosedError.*with `return`"):
        await exercises.check_shout_server(keeps_looping, timeout=timeout(1))


async def test_reports_a_crash_at_once():
    """A handler that raises is named with its exception, without waiting out the timeout."""
    async def typo(connection):
        async for message in connection:
            await connection.send(message.uper())

    with pytest.raises(AssertionError, match="sent 'hello' and your handler raised "
                                             "AttributeError: .*'uper'"):
        # The check's own timeout is long: only the close (1011) can end it in time.
        await asyncio.wait_for(exercises.check_shout_server(typo, timeout=timeout(60)),
                               timeout(10))
    assert running.running() == {}


async def test_reports_a_crash_on_bye():
    """A handler that raises on 'bye' is named with its exception."""
    async def no_goodbyes(connection):
        async for message in connection:
            if message == "bye":
                raise ValueError("no goodbyes")
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match="sent 'bye' and your handler raised "
                                             "ValueError: no goodbyes"):
        await exercises.check_shout_server(no_goodbyes, timeout=timeout(1))


async def test_explains_a_handler_that_answers_once():
    """A handler that answers one message and returns is told to loop."""
    async def once(connection):
        await connection.send((await connection.recv()).upper())

    with pytest.raises(AssertionError, match=r"sent 'Mixed Case 42' and the connection "
                                             r"closed \(code 1000\) without an answer: "
                                             r"answer every message in a loop"):
        await asyncio.wait_for(exercises.check_shout_server(once, timeout=timeout(60)),
                               timeout(10))
