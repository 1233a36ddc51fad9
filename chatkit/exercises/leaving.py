"""Notebook 03, disconnects: the exercise writes a socket.io server that lets a client
go on ``bye`` (a ``goodbye`` first) and tells the others who ``left``, however they left."""

from __future__ import annotations

import contextlib

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
)


@awaitable_check
async def check_bye_and_left(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 03: check a server that lets a client go politely and tells the others.

    Clients connect with ``auth={"name": ...}``.

    * ``bye`` comes with no arguments: the server sends that client a ``goodbye`` event
      with ``"goodbye, <name>"``, then disconnects it (the client's reason is then
      "server disconnect").
    * Whenever a client goes, after ``bye`` or in any other way, every client still
      connected gets a ``left`` event with the name of the one who went.

    The check serves ``sio`` itself (don't serve it first) on a free port and connects
    alice, bob and carol over WebSocket; alice says ``bye``, then carol disconnects by
    herself. Then it disconnects bob and stops the server. ``timeout`` is how long to
    wait for each step.
    """
    require_server(sio)
    async with serving(sio, "exercise-bye", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(_LeavingClient(name, timeout))
        await _try_bye(served)
        await _try_hang_up(served)
    failure_hint(served.failures, _BYE_ADVICE)
    print("Right: a client that says bye gets its goodbye and is let go, and everyone "
          "else hears who left, however they left.")


class _LeavingClient(SocketIOClient):
    """A raw socket.io client that also writes down why its connection ended."""

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(name, timeout)
        self.reasons: list[str] = []
        self.sio.on("disconnect", self.reasons.append)


_BYE_ADVICE = {
    ("bye", TypeError): "`bye` comes with no arguments: `async def bye(sid)`.",
    KeyError: "Each name is forgotten once: the `disconnect` handler runs once per client, "
              "however it went (after `bye` too).",
}


async def _try_bye(served: Served) -> None:
    clients, failures, timeout = served.clients, served.failures, served.timeout
    alice, others = clients["alice"], [clients["bob"], clients["carol"]]
    await alice.sio.emit("bye")
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: alice.reasons or failures, timeout)
    failure_hint(failures, _BYE_ADVICE)
    if not alice.reasons:
        hint(not alice.got("goodbye"),
             f"alice said 'bye' and got her goodbye, but she was still connected "
             f"{timeout:g} s later: end the handler with `await sio.disconnect(sid)`")
        hint(False, f"alice said 'bye' and nothing happened within {timeout:g} s: register "
                    f"a handler with @sio.on(\"bye\") on the server you passed, taking only "
                    f"the sid (`bye` comes with no arguments)")
    with contextlib.suppress(TimeoutError):  # until the others heard about it
        await running.wait_for(
            lambda: failures or all(other.got("left") for other in others), timeout)
    await served.settle()  # anything extra, or wrong, has arrived too
    failure_hint(failures, _BYE_ADVICE)
    did = "alice said 'bye'"
    hint(alice.reasons[0] == "server disconnect",
         f"{did}; her connection ended with the reason {alice.reasons[0]!r}, expected "
         f"'server disconnect': let her go with `await sio.disconnect(sid)`")
    goodbyes = alice.got("goodbye")
    hint(bool(goodbyes), f"{did} and was disconnected, but got no 'goodbye' first: emit it "
                         f"*before* `await sio.disconnect(sid)`, to=sid; once she is "
                         f"disconnected nothing reaches her")
    hint(len(goodbyes) == 1, f"{did} and got 'goodbye' {len(goodbyes)} times")
    hint(goodbyes[0] == ("goodbye, alice",),
         f"{did} and got 'goodbye' with {show_args(goodbyes[0])}, expected "
         f"'goodbye, alice' (her name is in auth[\"name\"] when she connects)")
    hint(not alice.got("left"), f"{did} and got 'left' about herself: send it to everyone "
                                f"but her, with skip_sid=sid")
    for other in others:
        hint(other.sio.connected, f"{did}, and {other.name} was disconnected too: "
                                  f"disconnect only the sid that said 'bye'")
        hint(not other.got("goodbye"), f"{did}, and {other.name} got her goodbye too: send "
                                       f"it to her alone, with to=sid")
        left = other.got("left")
        hint(bool(left), f"{did}; {other.name} got no 'left' event within {timeout:g} s: "
                         f"when a client goes, emit 'left' with its name to everyone else "
                         f"(skip_sid=sid)")
        hint(len(left) == 1,
             f"{did}; {other.name} got 'left' {len(left)} times: emit it in one place only. "
             f"`await sio.disconnect(sid)` runs the `disconnect` handler too")
        hint(left[0] == ("alice",), f"{did}; {other.name} got 'left' with "
                                    f"{show_args(left[0])}, expected 'alice', her name")


async def _try_hang_up(served: Served) -> None:
    bob, carol = served.clients["bob"], served.clients["carol"]
    await carol.sio.disconnect()
    with contextlib.suppress(TimeoutError):  # disconnect() returns before the server knows
        await running.wait_for(lambda: served.failures or len(bob.got("left")) >= 2,
                               served.timeout)
    await served.settle()
    failure_hint(served.failures, _BYE_ADVICE)
    did = "then carol disconnected by herself (no 'bye')"
    left = bob.got("left")
    hint(len(left) >= 2,
         f"{did}, and bob got no 'left' about her within {served.timeout:g} s: emit 'left' "
         f"in the `disconnect` handler (@sio.on(\"disconnect\"), with `sid, reason`), which "
         f"runs however a client goes, not only after 'bye'")
    hint(len(left) == 2, f"{did}, and bob got 'left' {len(left) - 1} times about her: "
                         f"emit it once per client that goes")
    hint(left[1] == ("carol",),
         f"{did}, and bob got 'left' with {show_args(left[1])}, expected 'carol'")
    hint(bob.sio.connected, f"{did}, and bob was disconnected too")
