"""Notebook 05, the live chat panel: the exercise writes ``say_with_me(panel, text)``,
which turns ``/me waves`` into the action line ``* <name> waves``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from chatkit import protocol, running
from chatkit.exercises.harness import CheckFailed, awaitable_check, hint, in_your_code

# Names a learner is unlikely to use: a ChatClient connected under a name replaces (and
# disconnects) the one connected under that name earlier in this kernel, and the check
# must leave the learner's own clients alone.
_ME_SERVER, _ME_TESTER, _ME_LISTENER = "exercise-05", "check-me-tester", "check-me-listener"


@awaitable_check
async def check_me_command(say_with_me: Callable[[Any, str], Awaitable[Any]], *,
                           timeout: float = 5.0) -> None:
    """Notebook 05: ``say_with_me(panel, text)`` turns ``/me waves`` into ``* name waves``.

    Any other text, ``/menu`` included, is said unchanged. The check starts a chat server
    of its own, connects a panel and a listening client to its room "lobby", says three
    lines through your function and checks what the listener receives. Then it
    disconnects both and stops the server; your own clients and panels are left alone.
    ``timeout`` is how long to wait for each line.
    """
    hint(callable(say_with_me),
         f"pass the function itself: check_me_command(say_with_me), not "
         f"check_me_command(say_with_me(...)); got {say_with_me!r}")
    from chatkit.client import ChatClient  # here: the panel needs the widget libraries
    from chatkit.panel import ChatPanel
    from chatkit.server import ChatServer

    server = ChatServer()
    try:
        await server.start(name=_ME_SERVER)
        listener = await ChatClient(_ME_LISTENER, rooms=["lobby"]).connect(server.url)
        panel = await ChatPanel.connect(server.url, _ME_TESTER, room="lobby")
        hint(panel.room == "lobby", f"the check's panel could not join its room "
                                    f"({panel.status.value}: {panel.client.detail})")
        for typed, expected in [("/me waves", f"* {_ME_TESTER} waves"), ("hello", "hello"),
                                ("/menu please", "/menu please")]:
            await _try_me(say_with_me, panel, listener, typed, expected, timeout)
    finally:
        for name in (_ME_TESTER, _ME_LISTENER):  # disconnects them, and forgets them
            await running.stop(f"client:{name}")
        await server.stop()
    print("Right: /me becomes an action line, everything else is said as typed.")


async def _try_me(say_with_me: Callable[[Any, str], Any], panel: Any, listener: Any,
                  typed: str, expected: str, timeout: float) -> None:
    did = f"say_with_me(panel, {typed!r})"
    try:
        result = say_with_me(panel, typed)
    except Exception as exc:
        raise CheckFailed(f"{did} raised {type(exc).__name__}: {exc}{in_your_code(exc)}") from exc
    hint(inspect.isawaitable(result),
         f"{did} returned {result!r}, not something to await: write `async def "
         f"say_with_me(panel, text)` and `return await panel.say(...)` in it")
    try:
        await asyncio.wait_for(result, timeout)
    except TimeoutError:
        hint(False, f"{did} had not finished after {timeout:g} s: does it wait for "
                    f"something besides `await panel.say(...)`?")
    except Exception as exc:
        raise CheckFailed(f"{did} raised {type(exc).__name__}: {exc}{in_your_code(exc)}") from exc
    try:
        event = await listener.next(protocol.SAID, timeout=timeout)
    except TimeoutError:
        hint(False, f"after {did} nothing was said in the room within {timeout:g} s: call "
                    f"`await panel.say(...)` with the text to say")
    got = event.data.text
    hint(got == expected,
         f"{did} said {got!r}; expected {expected!r}. "
         + ("Only text starting with '/me ' (with the space) is a command."
            if typed.startswith("/menu") else
            "Use panel.client.name for the name, and keep the rest of the text."))
