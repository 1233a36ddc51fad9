"""Notebook 02, socket.io emit/on: the exercise writes a socket.io server whose ``add``
acknowledges a sum and whose ``shout`` reaches every other client in capitals."""

from __future__ import annotations

import contextlib
import math

import socketio

from chatkit import running
from chatkit.exercises.harness import (
    Served,
    SocketIOClient,
    awaitable_check,
    failure_hint,
    hint,
    require_server,
    serving,
    show_args,
    signature_advice,
)


@awaitable_check
async def check_add_and_shout(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 02: check a socket.io server with an ``add`` ack and a ``shout`` broadcast.

    ``add`` is called with two numbers (two arguments) and must acknowledge their sum.
    ``shout`` comes with a text; every other connected client must get a ``shouted`` event
    whose data is the text in upper case, and the sender nothing. The check serves ``sio``
    itself (don't serve it first) on a free port, connects three clients over WebSocket,
    tries both events, then disconnects them and stops the server. ``timeout`` is how long
    to wait for each answer.
    """
    require_server(sio)
    async with serving(sio, "exercise-add-shout", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(SocketIOClient(name, timeout))
        for a, b in [(2, 3), (0.5, -2)]:
            await _try_add(served, a, b)
        await _try_shout(served, "alice", "hello")
        await _try_shout(served, "carol", "Mixed Case 42")
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    print("Right: `add` answers with the sum, and a shout reaches everyone but the sender.")


_ADD_AND_SHOUT_ADVICE = signature_advice(add="a, b", shout="text")


async def _try_add(served: Served, a: float, b: float) -> None:
    got = await served.clients["alice"].call("add", (a, b), f"called add({a}, {b})")
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    hint(got is not None,
         f"add({a}, {b}) was acknowledged with no value: `return a + b` from the handler; "
         f"its return value is the ack (emitting the sum is not an answer)")
    hint(not isinstance(got, tuple),
         f"add({a}, {b}) was acknowledged with several values {got!r}: return one number "
         f"(a returned tuple becomes several values)")
    hint(isinstance(got, (int, float)) and math.isclose(got, a + b),
         f"add({a}, {b}) answered {got!r}, expected {a + b!r}")


async def _try_shout(served: Served, sender: str, text: str) -> None:
    clients, timeout = served.clients, served.timeout
    for client in clients.values():
        client.events.clear()
    others = [client for name, client in clients.items() if name != sender]
    await clients[sender].sio.emit("shout", text)
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: served.failures or all(
            client.got("shouted") for client in others), timeout)
    await served.settle()  # a shout wrongly sent back to the sender has arrived too
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    said = f"{sender} emitted 'shout' with {text!r}"
    for client in others:
        if not client.got("shouted"):
            got = sorted({event for event, _ in client.events})
            hint(not got, f"{said}; {client.name} got {', '.join(map(repr, got))} but no "
                          f"'shouted' event: emit the event named 'shouted'")
            hint(not clients[sender].got("shouted"),
                 f"{said}; only {sender} got 'shouted': send it to everyone but the sender "
                 f"with skip_sid=sid (to=sid sends it to the sender alone)")
            hint(False, f"{said}; {client.name} got no 'shouted' event within {timeout:g} s: "
                        f"in the handler, `await sio.emit(\"shouted\", text.upper(), "
                        f"skip_sid=sid)` (without `await` nothing is sent)")
        arrived = client.got("shouted")
        hint(len(arrived) == 1, f"{said}; {client.name} got 'shouted' {len(arrived)} times: "
                                f"one emit to all but the sender is enough")
        hint(arrived[0] == (text.upper(),),
             f"{said}; {client.name} got 'shouted' with {show_args(arrived[0])}, expected "
             f"{text.upper()!r}, the text in upper case")
    hint(not clients[sender].got("shouted"),
         f"{said}; {sender} got her own 'shouted' back: pass skip_sid=sid to sio.emit so it "
         f"goes to everyone but the sender")
