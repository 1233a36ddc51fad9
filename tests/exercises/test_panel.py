"""Notebook 05's check_me_command explains wrong `/me` answers and spares the learner's
own clients."""

import pytest

from chatkit import exercises, running
from chatkit.client import ChatClient
from chatkit.server import ChatServer
from tests.conftest import timeout
from tests.exercises.answers import say_with_me as right


async def check(say_with_me, wait=5):
    """Run the check with waits scaled for slow machines."""
    await exercises.check_me_command(say_with_me, timeout=timeout(wait))


async def test_leaves_the_learners_own_clients_alone(capsys):
    """Clients the learner connected, under any everyday name, stay connected."""
    server = ChatServer()
    await server.start(name="chat")
    mine = {name: await ChatClient(name).connect(server.url)
            for name in ("tester", "listener")}
    await check(right)
    assert "Right:" in capsys.readouterr().out
    assert all(client.connected for client in mine.values())
    left = running.running()
    assert {"chat", "client:tester", "client:listener"} <= set(left)
    assert not [name for name in left if "check-me" in name or name == "exercise-05"]


async def test_explains_a_function_that_is_not_async():
    """A plain `def` (here: returning the line instead of saying it) is told to be
    `async def` and to await panel.say."""
    def not_async(panel, text):
        return f"* {panel.client.name} {text[4:]}" if text.startswith("/me ") else text

    with pytest.raises(AssertionError, match=r"returned '\* check-me-tester waves', not "
                                             r"something to await: write `async def"):
        await check(not_async)
    assert running.running() == {}


async def test_explains_a_forgotten_name():
    """`* waves` without the name is told to use panel.client.name."""
    async def no_name(panel, text):
        return await panel.say(f"* {text[4:]}" if text.startswith("/me ") else text)

    with pytest.raises(AssertionError, match=r"said '\* waves'; expected "
                                             r"'\* check-me-tester waves'.*panel.client.name"):
        await check(no_name)
    assert running.running() == {}


async def test_explains_menu_taken_for_a_command():
    """Text starting with "/me" but not "/me " (like "/menu") is not a command."""
    async def no_space(panel, text):
        if text.startswith("/me"):
            text = f"* {panel.client.name} {text[3:].strip()}"
        return await panel.say(text)

    with pytest.raises(AssertionError, match=r"say_with_me\(panel, '/menu please'\) said "
                                             r".*Only text starting with '/me ' \(with the "
                                             r"space\) is a command"):
        await check(no_space)
    assert running.running() == {}


async def test_explains_a_function_that_never_says():
    """A say_with_me that says nothing is told to await panel.say(...)."""
    async def silent(panel, text):
        return None

    with pytest.raises(AssertionError, match=r"after say_with_me\(panel, '/me waves'\) "
                                             r"nothing was said.*`await panel.say\(...\)`"):
        await check(silent, wait=0.5)
    assert running.running() == {}


async def test_explains_a_function_that_raises():
    """An exception in say_with_me is reported with the text that made it."""
    async def typo(panel, text):
        return await panel.sya(text)

    with pytest.raises(AssertionError, match=r"say_with_me\(panel, '/me waves'\) raised "
                                             r"AttributeError.*'sya'"):
        await check(typo)
    assert running.running() == {}
