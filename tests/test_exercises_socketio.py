"""chatkit.exercises, notebook 02: check_add_and_shout passes a right server, explains a wrong one."""

import logging

import pytest
import socketio

from chatkit import exercises, running
from chatkit.sio import leftover_tasks
from tests.conftest import timeout


def right_add(sio):
    @sio.on("add")
    async def add(sid, a, b):
        return a + b


def right_shout(sio):
    @sio.on("shout")
    async def shout(sid, text):
        await sio.emit("shouted", text.upper(), skip_sid=sid)


def server(*parts) -> socketio.AsyncServer:
    """A server made of the given parts, each a function that registers a handler."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    for part in parts:
        part(sio)
    return sio


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_add_and_shout(sio, timeout=timeout(wait))


async def test_accepts_a_right_server_and_leaves_nothing_running(capsys):
    """A right server passes with one "Right:" line; no server, client or task is left."""
    await check(server(right_add, right_shout), wait=2)
    assert capsys.readouterr().out.startswith("Right:")
    assert running.running() == {}
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")


async def test_can_check_the_same_server_twice(capsys):
    """Running the check cell again on the same server object passes again."""
    sio = server(right_add, right_shout)
    await check(sio, wait=2)
    await check(sio, wait=2)
    assert capsys.readouterr().out.count("Right:") == 2


async def test_accepts_sync_handlers_and_a_catch_all(capsys):
    """Plain `def` handlers and an extra catch-all handler are fine."""
    def parts(sio):
        sio.on("add", lambda sid, a, b: a + b)
        sio.on("*", lambda event, sid, *args: None)
    await check(server(parts, right_shout), wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_puts_the_learners_handlers_back():
    """After the check the server's handlers are the learner's own functions again."""
    sio = server(right_add, right_shout)
    before = dict(sio.handlers["/"])
    await check(sio, wait=2)
    assert sio.handlers["/"] == before


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


async def test_explains_a_failing_handler_of_a_class_based_namespace(caplog):
    """An AsyncNamespace whose on_add raises gets the hint, no traceback, and is put back."""
    class Calculator(socketio.AsyncNamespace):
        async def on_add(self, sid, numbers):
            return sum(numbers)

        async def on_shout(self, sid, text):
            await self.emit("shouted", text.upper(), skip_sid=sid)

    sio = socketio.AsyncServer(async_mode="aiohttp")
    namespace = Calculator("/")
    sio.register_namespace(namespace)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(AssertionError, match=r"'add' handler raised TypeError.*"
                                                 r"`async def add\(sid, a, b\)`"):
            await check(sio, wait=2)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "trigger_event" not in vars(namespace)
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


async def test_explains_a_disconnect_handler_that_fails():
    """A disconnect handler that raises when the check's clients go is reported too."""
    def failing_disconnect(sio):
        @sio.on("disconnect")
        async def disconnect(sid, reason):
            raise RuntimeError("cleanup failed")
    with pytest.raises(AssertionError, match="'disconnect' handler raised RuntimeError: "
                                             "cleanup failed"):
        await check(server(right_add, right_shout, failing_disconnect), wait=2)
    assert running.running() == {}


async def test_explains_a_wrong_argument():
    """Passing something that is not a socket.io server says what to pass."""
    with pytest.raises(AssertionError, match="pass the server object"):
        await exercises.check_add_and_shout(right_add)
