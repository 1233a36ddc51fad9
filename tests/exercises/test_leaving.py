"""Notebook 03's check_bye_and_left explains each wrong `bye`, `goodbye` and `left`."""

import pytest
import socketio

from chatkit import exercises, running
from tests.conftest import timeout
from tests.exercises.answers import leaving_server as server


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_bye_and_left(sio, timeout=timeout(wait))


async def test_accepts_a_class_based_namespace_and_a_legacy_disconnect(capsys):
    """An AsyncNamespace with sessions, whose on_disconnect takes no reason, passes too."""
    class Room(socketio.AsyncNamespace):
        async def on_connect(self, sid, environ, auth):
            await self.save_session(sid, {"name": auth["name"]})

        async def on_bye(self, sid):
            name = (await self.get_session(sid))["name"]
            await self.emit("goodbye", f"goodbye, {name}", to=sid)
            await self.disconnect(sid)

        async def on_disconnect(self, sid):
            await self.emit("left", (await self.get_session(sid))["name"], skip_sid=sid)

    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.register_namespace(Room("/"))
    await check(sio, wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_accepts_a_legacy_disconnect_handler_without_reason(capsys):
    """A decorated `disconnect(sid)` without the reason argument passes."""
    def legacy(sio, names):
        async def disconnect(sid):
            await sio.emit("left", names.pop(sid), skip_sid=sid)
        return disconnect
    await check(server(disconnect=legacy), wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_explains_a_missing_bye_handler():
    """Without a `bye` handler nothing happens: the hint says to register one."""
    sio = server()
    del sio.handlers["/"]["bye"]
    with pytest.raises(AssertionError, match=r"nothing happened .* @sio.on\(\"bye\"\)"):
        await check(sio, wait=0.3)
    assert running.running() == {}


async def test_explains_a_bye_that_does_not_disconnect():
    """A goodbye without disconnect(sid) is told to end with it."""
    def goodbye_only(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
        return bye
    with pytest.raises(AssertionError, match=r"got her goodbye, but she was still connected"
                                             r".*await sio.disconnect\(sid\)"):
        await check(server(bye=goodbye_only), wait=0.3)


async def test_explains_a_goodbye_sent_after_the_disconnect():
    """disconnect(sid) before the goodbye: the goodbye never arrives, the hint says why."""
    def too_late(sio, names):
        async def bye(sid):
            name = names[sid]
            await sio.disconnect(sid)
            await sio.emit("goodbye", f"goodbye, {name}", to=sid)
        return bye
    with pytest.raises(AssertionError, match=r"got no 'goodbye' first: emit it \*before\*"):
        await check(server(bye=too_late))


async def test_explains_a_wrong_goodbye_text():
    """A goodbye with other words is shown next to the one expected."""
    def wrong_words(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", "bye!", to=sid)
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match=r"with 'bye!', expected 'goodbye, alice'"):
        await check(server(bye=wrong_words))


async def test_explains_a_goodbye_to_everyone():
    """A goodbye emitted to all reaches the others: the hint says to=sid."""
    def to_all(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}")
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match="bob got her goodbye too.*to=sid"):
        await check(server(bye=to_all))


async def test_explains_a_bye_handler_that_expects_an_argument():
    """`bye(sid, text)` fails on a bye without arguments: the hint names the signature."""
    def with_text(sio, names):
        async def bye(sid, text):
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match=r"'bye' handler raised TypeError.*"
                                             r"`async def bye\(sid\)`"):
        await check(server(bye=with_text), wait=0.3)


async def test_explains_left_announced_only_after_bye():
    """`left` sent from the bye handler only: carol's own hang-up goes unannounced."""
    def announce_in_bye(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
            await sio.emit("left", names[sid], skip_sid=sid)
            await sio.disconnect(sid)
        return bye

    def silent(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
        return disconnect
    with pytest.raises(AssertionError, match=r"carol disconnected by herself.*bob got no 'left' "
                                             r"about her.*`disconnect` handler"):
        await check(server(bye=announce_in_bye, disconnect=silent))


async def test_explains_left_announced_twice():
    """`left` sent from both handlers reaches the others twice: emit it in one place."""
    def announce_in_bye(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
            await sio.emit("left", names[sid], skip_sid=sid)
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match="got 'left' 2 times: emit it in one place only"):
        await check(server(bye=announce_in_bye))


async def test_explains_no_left_at_all():
    """A server that never sends `left` is told to send it."""
    def silent(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
        return disconnect
    with pytest.raises(AssertionError, match="bob got no 'left' event"):
        await check(server(disconnect=silent), wait=0.3)


async def test_explains_left_with_the_sid_instead_of_the_name():
    """`left` carrying the sid is shown next to the name expected."""
    def sid_not_name(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
            await sio.emit("left", sid, skip_sid=sid)
        return disconnect
    with pytest.raises(AssertionError, match="expected 'alice', her name"):
        await check(server(disconnect=sid_not_name))
