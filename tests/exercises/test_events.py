"""Notebook 02's check_add_and_shout explains each wrong `add` and `shout`."""

import pytest

from chatkit import exercises, running
from tests.conftest import timeout
from tests.exercises.answers import events_server as server
from tests.exercises.answers import right_add, right_shout


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_add_and_shout(sio, timeout=timeout(wait))


async def test_accepts_sync_handlers_and_a_catch_all(capsys):
    """Plain `def` handlers and an extra catch-all handler are fine."""
    def parts(sio):
        sio.on("add", lambda sid, a, b: a + b)
        sio.on("*", lambda event, sid, *args: None)
    await check(server(parts, right_shout), wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_explains_a_missing_add_handler():
    """Without an `add` handler the ack never comes: the hint says to register one."""
    with pytest.raises(AssertionError, match=r'no answer within .*@sio.on\("add"\)'):
        await check(server(right_shout), wait=0.3)
    assert running.running() == {}


async def test_explains_an_add_that_emits_instead_of_returning():
    """An `add` that emits the sum instead of returning it is told to return it."""
    def emits(sio):
        @sio.on("add")
        async def add(sid, a, b):
            await sio.emit("sum", a + b, to=sid)
    with pytest.raises(AssertionError, match="acknowledged with no value: `return a \\+ b`"):
        await check(server(emits, right_shout))


async def test_explains_a_wrong_handler_signature():
    """An `add(sid, numbers)` handler fails with its TypeError and the right signature."""
    def one_param(sio):
        @sio.on("add")
        async def add(sid, numbers):
            return sum(numbers)
    with pytest.raises(AssertionError, match=r"raised TypeError.*async def add\(sid, a, b\)"):
        await check(server(one_param, right_shout))


async def test_explains_a_wrong_sum():
    """An `add` that answers a string is told what it answered and what was expected."""
    def as_text(sio):
        @sio.on("add")
        async def add(sid, a, b):
            return f"{a + b}"
    with pytest.raises(AssertionError, match=r"add\(2, 3\) answered '5', expected 5"):
        await check(server(as_text, right_shout))


async def test_explains_a_shout_back_to_the_sender():
    """A shout broadcast to everyone, the sender too, is told to use skip_sid."""
    def to_all(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text.upper())
    with pytest.raises(AssertionError, match="got her own 'shouted' back: pass skip_sid=sid"):
        await check(server(right_add, to_all))


async def test_explains_a_shout_to_the_sender_only():
    """A shout sent with to=sid reaches only the sender: the hint tells the difference."""
    def to_sender(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text.upper(), to=sid)
    with pytest.raises(AssertionError, match="only alice got 'shouted'.*skip_sid=sid"):
        await check(server(right_add, to_sender), wait=0.3)


async def test_explains_a_wrong_event_name():
    """Emitting 'shout' instead of 'shouted' is pointed out by name."""
    def same_name(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shout", text.upper(), skip_sid=sid)
    with pytest.raises(AssertionError, match="got 'shout' but no 'shouted' event"):
        await check(server(right_add, same_name), wait=0.3)


async def test_explains_a_text_not_in_upper_case():
    """A shout passed on unchanged is told to upper-case the text."""
    def unchanged(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text, skip_sid=sid)
    with pytest.raises(AssertionError, match="with 'hello', expected 'HELLO'"):
        await check(server(right_add, unchanged))


async def test_explains_a_missing_shout_handler():
    """Without a `shout` handler nobody gets 'shouted': the hint shows the emit to write."""
    with pytest.raises(AssertionError, match=r"no 'shouted' event within .*skip_sid=sid\)"):
        await check(server(right_add), wait=0.3)
    assert running.running() == {}


async def test_explains_a_shout_handler_without_the_text():
    """A `shout(sid)` handler fails with its TypeError and the shout signature."""
    def no_text(sio):
        @sio.on("shout")
        async def shout(sid):
            await sio.emit("shouted", skip_sid=sid)
    with pytest.raises(AssertionError, match=r"'shout' handler raised TypeError.*"
                                             r"`async def shout\(sid, text\)`"):
        await check(server(right_add, no_text), wait=2)
