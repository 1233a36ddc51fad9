"""Notebook 01, a raw WebSocket: the exercise writes a ``websockets`` handler that
shouts every message back in capitals and closes with 4000 ``"bye"`` on ``bye``."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from chatkit import running
from chatkit.exercises.harness import HandlerFailures, awaitable_check, hint
from chatkit.websocket import WebSocket


@awaitable_check
async def check_shout_server(handler: Callable[[Any], Awaitable[None]], *,
                             timeout: float = 2.0) -> None:
    """Notebook 01: check a ``websockets`` handler that shouts back and says goodbye.

    The handler must answer every text message with the same text in capitals, except
    ``"bye"``: then it closes the connection with code 4000 and reason ``"bye"``. The
    check serves ``handler`` with ``running.serve_websockets``, connects, talks to it, and
    stops the server again. ``timeout`` is how long to wait for each answer.
    """
    hint(inspect.iscoroutinefunction(handler),
         f"pass the handler itself, an `async def` function taking the connection: "
         f"check_shout_server(shout), not check_shout_server(shout()); got {handler!r}")
    failures = HandlerFailures()
    logger = logging.getLogger("websockets.server")
    logger.addHandler(failures)  # report a crash as a hint instead of a logged traceback
    try:
        server = await running.serve_websockets(handler, name="exercise-shout")
        await _talk_to_shout(server.url, timeout, failures)
    finally:
        await running.stop("exercise-shout")  # waits for the handler to return
        logger.removeHandler(failures)
    if failures.records:
        hint(False, f"your handler raised {failures.first()} after closing: once the "
                    f"connection is closed with a code other than 1000 or 1001, `async for "
                    f"message in connection` raises instead of ending. Leave the handler "
                    f"right after `await connection.close(...)`, with `return`")
    print("Right: your server shouts back and closes with 4000 'bye'.")


async def _talk_to_shout(url: str, timeout: float, failures: HandlerFailures) -> None:
    received: list[str | bytes] = []
    ws = WebSocket(url)
    ws.onmessage = lambda event: received.append(event.data)
    try:
        await ws.opened(timeout)
        for text in ("hello", "Mixed Case 42"):
            if ws.ready_state is not WebSocket.OPEN:  # closed after its previous answer
                await _closed_without_answer(ws, f"sent {text!r}", failures, timeout)
            ws.send(text)
            try:  # a handler that crashes closes the connection (1011): no need to wait
                await running.wait_for(
                    lambda: received or ws.ready_state is WebSocket.CLOSED, timeout)
            except TimeoutError:
                failures.hint(f"sent {text!r}")
                hint(False, f"sent {text!r} and got no answer within {timeout:g} s: does "
                            f"your handler `await connection.send(...)` for each message?")
            if not received:
                await _closed_without_answer(ws, f"sent {text!r}", failures, timeout)
            answer = received.pop(0)
            hint(answer != text, f"sent {text!r} and got it back unchanged: send "
                                 f"`message.upper()` instead of `message`")
            hint(answer == text.upper(), f"sent {text!r}, expected {text.upper()!r}, "
                                         f"got {answer!r}")
        ws.send("bye")
        try:
            event = await ws.closed(timeout)
        except TimeoutError:
            extra = f" (it answered {received[0]!r})" if received else ""
            hint(False, f"sent 'bye' and the connection stayed open for {timeout:g} s"
                        f"{extra}: close it with `await connection.close(4000, 'bye')`")
        if received:
            hint(False, f"sent 'bye' and got {received[0]!r} before the close: close the "
                        f"connection instead of answering")
        if event.code == 1011:
            failures.hint("sent 'bye'")
            hint(False, "the connection closed with 1011 (internal error): your handler "
                        "raised an exception on 'bye'")
        hint((event.code, event.reason) == (4000, "bye"),
             f"sent 'bye': the connection closed with code {event.code} and reason "
             f"{event.reason!r}, expected 4000 and 'bye': "
             f"`await connection.close(4000, 'bye')`")
    finally:
        ws.close()


async def _closed_without_answer(ws: WebSocket, did: str, failures: HandlerFailures,
                                 timeout: float) -> None:
    """Raise the hint for a connection that closed where an answer was due."""
    failures.hint(did)
    event = await ws.closed(timeout)
    hint(False, f"{did} and the connection closed (code {event.code}) without an answer: "
                f"answer every message in a loop, `async for message in connection:`; "
                f"when the handler returns, the connection closes")
