"""Check functions for the exercises at the end of each notebook.

Every notebook ends with an exercise and names a check function from this module. You
write your answer, then call the check with it:

* when something is wrong, the check raises ``AssertionError`` with a hint that says what
  it tried, what it expected and where to look;
* when all is right, it prints one line that starts with "Right:".

Run the check as often as you like while you work. Checks that talk to a server are
coroutines (``await exercises.check_...``); each starts its own server on a free port and
stops it before returning, so nothing is left running.

The module has one section per notebook, in course order; each check's docstring says
which notebook sets the exercise. Checks are named ``check_<what you wrote>``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import socketio

from chatkit import running
from chatkit.sio import serve as serve_socketio
from chatkit.sio import settle
from chatkit.websocket import WebSocket

__all__ = [
    "check_add_and_shout",
    "check_bye_and_left",
    "check_me_command",
    "check_announce_to_busiest",
    "check_rooms_and_whispers",
    "check_shout_server",
    "check_staleness",
]


def _hint(condition: bool, message: str) -> None:
    """Like ``assert condition, message``, but also under ``python -O``."""
    if not condition:
        raise AssertionError(message)


# -- notebook 00: why push beats polling ---------------------------------------------------

def check_staleness(staleness: Callable[[Sequence[float], Sequence[float]], list]) -> None:
    """Notebook 00: check ``staleness(published, polls)``.

    ``published`` and ``polls`` are sorted lists of times in seconds: when each update was
    published, and when the client polled. The function returns, for each update, how long
    it waited to be seen: the time from its publication to the first poll at or after it,
    or None when no poll came after it.
    """
    cases = [
        ([0.1, 0.25, 0.9], [0.0, 0.5, 1.0], [0.4, 0.25, 0.1],
         "each update waits for the first poll at or after it"),
        ([0.5], [0.0, 0.5, 1.0], [0.0], "a poll at the very moment of publication sees it: 0"),
        ([0.2, 0.3], [0.5], [0.3, 0.2], "two updates can be seen by the same poll"),
        ([0.2, 1.5], [0.0, 1.0], [0.8, None], "an update after the last poll is never seen"),
        ([], [0.0, 1.0], [], "no updates: an empty list"),
    ]
    for published, polls, expected, rule in cases:
        try:
            got = staleness(list(published), list(polls))
        except Exception as exc:
            raise AssertionError(f"staleness({published}, {polls}) raised "
                                 f"{type(exc).__name__}: {exc}") from exc
        _hint(isinstance(got, list) and len(got) == len(expected),
              f"staleness({published}, {polls}) returned {got!r}: expected a list with one "
              f"entry per published update ({len(expected)})")
        for value, want in zip(got, expected):
            right = value is None if want is None else (
                isinstance(value, (int, float)) and math.isclose(value, want, abs_tol=1e-9))
            _hint(right, f"staleness({published}, {polls}) returned {got!r}, expected "
                         f"{expected!r}: {rule}")
    # A long random run: polling every 0.2 s leaves an update stale for 0.1 s on average.
    rng = random.Random(0)
    published = sorted(rng.uniform(0, 100) for _ in range(2000))
    polls = [k * 0.2 for k in range(501)]
    mean = sum(staleness(published, polls)) / len(published)
    _hint(math.isclose(mean, 0.1, abs_tol=0.01),
          f"over 2,000 random updates and a poll every 0.2 s your mean staleness is "
          f"{mean:.3f} s; it should be about 0.1 s (half the interval)")
    print("Right: an update waits for the next poll, on average half the polling interval.")


# -- notebook 01: a raw WebSocket ------------------------------------------------------------

async def check_shout_server(handler: Callable[[Any], Awaitable[None]], *,
                             timeout: float = 2.0) -> None:
    """Notebook 01: check a ``websockets`` handler that shouts back and says goodbye.

    The handler must answer every text message with the same text in capitals, except
    ``"bye"``: then it closes the connection with code 4000 and reason ``"bye"``. The
    check serves ``handler`` with ``running.serve_websockets``, connects, talks to it, and
    stops the server again. ``timeout`` is how long to wait for each answer.
    """
    _hint(inspect.iscoroutinefunction(handler),
          f"pass the handler itself, an `async def` function taking the connection: "
          f"check_shout_server(shout), not check_shout_server(shout()); got {handler!r}")
    failures = _HandlerFailures()
    logger = logging.getLogger("websockets.server")
    logger.addHandler(failures)  # report a crash as a hint instead of a logged traceback
    try:
        server = await running.serve_websockets(handler, name="exercise-shout")
        await _talk_to_shout(server.url, timeout, failures)
    finally:
        await running.stop("exercise-shout")  # waits for the handler to return
        logger.removeHandler(failures)
    if failures.records:
        _hint(False, f"your handler raised {failures.first()} after closing: once the "
                     f"connection is closed with a code other than 1000 or 1001, `async for "
                     f"message in connection` raises instead of ending. Leave the handler "
                     f"right after `await connection.close(...)`, with `return`")
    print("Right: your server shouts back and closes with 4000 'bye'.")


async def _talk_to_shout(url: str, timeout: float, failures: _HandlerFailures) -> None:
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
                _hint(False, f"sent {text!r} and got no answer within {timeout:g} s: does "
                             f"your handler `await connection.send(...)` for each message?")
            if not received:
                await _closed_without_answer(ws, f"sent {text!r}", failures, timeout)
            answer = received.pop(0)
            _hint(answer != text, f"sent {text!r} and got it back unchanged: send "
                                  f"`message.upper()` instead of `message`")
            _hint(answer == text.upper(), f"sent {text!r}, expected {text.upper()!r}, "
                                          f"got {answer!r}")
        ws.send("bye")
        try:
            event = await ws.closed(timeout)
        except TimeoutError:
            extra = f" (it answered {received[0]!r})" if received else ""
            _hint(False, f"sent 'bye' and the connection stayed open for {timeout:g} s"
                         f"{extra}: close it with `await connection.close(4000, 'bye')`")
        if received:
            _hint(False, f"sent 'bye' and got {received[0]!r} before the close: close the "
                         f"connection instead of answering")
        if event.code == 1011:
            failures.hint("sent 'bye'")
            _hint(False, "the connection closed with 1011 (internal error): your handler "
                         "raised an exception on 'bye'")
        _hint((event.code, event.reason) == (4000, "bye"),
              f"sent 'bye': the connection closed with code {event.code} and reason "
              f"{event.reason!r}, expected 4000 and 'bye': "
              f"`await connection.close(4000, 'bye')`")
    finally:
        ws.close()


async def _closed_without_answer(ws: WebSocket, did: str, failures: _HandlerFailures,
                                 timeout: float) -> None:
    """Raise the hint for a connection that closed where an answer was due."""
    failures.hint(did)
    event = await ws.closed(timeout)
    _hint(False, f"{did} and the connection closed (code {event.code}) without an answer: "
                 f"answer every message in a loop, `async for message in connection:`; "
                 f"when the handler returns, the connection closes")


class _HandlerFailures(logging.Handler):
    """Collects "connection handler failed" reports instead of printing their traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first(self) -> str:
        exc = self.records[0].exc_info[1] if self.records[0].exc_info else None
        return f"{type(exc).__name__}: {exc}" if exc else self.records[0].getMessage()

    def hint(self, did: str) -> None:
        """If the handler raised, say so: whatever else went wrong follows from that."""
        if self.records:
            _hint(False, f"{did} and your handler raised {self.first()}, so the server "
                         f"closed the connection (1011, internal error): fix that first")


# -- notebook 02: socket.io emit/on ----------------------------------------------------------
# The checks of notebooks 02 to 04 share the helpers of this section: they serve the
# learner's server with its handlers guarded, and connect raw clients that write down
# what they get.

async def check_add_and_shout(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 02: check a socket.io server with an ``add`` ack and a ``shout`` broadcast.

    ``add`` is called with two numbers (two arguments) and must acknowledge their sum.
    ``shout`` comes with a text; every other connected client must get a ``shouted`` event
    whose data is the text in upper case, and the sender nothing. The check serves ``sio``
    itself (don't serve it first) on a free port, connects three clients over WebSocket,
    tries both events, then disconnects them and stops the server. ``timeout`` is how long
    to wait for each answer.
    """
    _check_server(sio)
    async with _serving(sio, "exercise-add-shout", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(_SocketIOClient(name, timeout))
        for a, b in [(2, 3), (0.5, -2)]:
            await _try_add(served, a, b)
        await _try_shout(served, "alice", "hello")
        await _try_shout(served, "carol", "Mixed Case 42")
    _failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    print("Right: `add` answers with the sum, and a shout reaches everyone but the sender.")


def _check_server(sio: Any) -> None:
    """Hints for a check given something that it cannot serve as a socket.io server."""
    _hint(isinstance(sio, socketio.AsyncServer),
          f"pass the server object, a socketio.AsyncServer(async_mode=\"aiohttp\"); got "
          f"{sio!r}")
    _hint(sio.async_mode == "aiohttp",
          f"the check serves your server with aiohttp: create it with "
          f"socketio.AsyncServer(async_mode=\"aiohttp\") (yours says {sio.async_mode!r})")


class _Guard:
    """Runs the learner's handlers for a check: an exception becomes a hint, not a logged
    traceback, and the check can wait until no handler is running any more."""

    def __init__(self) -> None:
        self.failures: list[tuple[str, Exception]] = []
        self.running = 0  # calls of the learner's handlers that have not returned yet

    async def call(self, event: str, handler: Callable[..., Any], *args: Any) -> Any:
        self.running += 1
        try:
            result = handler(*args)
            return await result if inspect.isawaitable(result) else result
        except Exception as exc:
            self.failures.append((event, exc))
            return None  # for a call, the client gets an ack without a value
        finally:
            self.running -= 1


def _guard_handlers(sio: socketio.AsyncServer, guard: _Guard) -> Callable[[], None]:
    """Route the event handlers of ``sio`` through ``guard``; return a function that puts
    the learner's own handlers back.

    Decorated handlers are swapped in ``sio.handlers``; a class-based namespace
    (``socketio.AsyncNamespace``) gets its ``trigger_event`` wrapped. ``connect`` handlers
    are left alone: raising ``ConnectionRefusedError`` is how they refuse a client.
    """
    originals: dict[str, dict[str, Any]] = {}
    for namespace, handlers in sio.handlers.items():
        originals[namespace] = {event: handler for event, handler in handlers.items()
                                if event != "connect"}
        for event, handler in originals[namespace].items():
            handlers[event] = (_guarded_disconnect(guard, handler) if event == "disconnect"
                               else _guarded(guard, event, handler))
    wrapped: list[tuple[Any, Any]] = []
    for namespace_handler in sio.namespace_handlers.values():
        wrapped.append((namespace_handler, vars(namespace_handler).get("trigger_event")))
        namespace_handler.trigger_event = _guarded_trigger(guard,
                                                           namespace_handler.trigger_event)

    def restore() -> None:
        for namespace, handlers in originals.items():
            sio.handlers[namespace].update(handlers)
        for namespace_handler, own in wrapped:
            if own is None:
                del namespace_handler.trigger_event  # the class's method shows again
            else:
                namespace_handler.trigger_event = own

    return restore


def _guarded(guard: _Guard, event: str, handler: Any) -> Callable[..., Awaitable[Any]]:
    async def guarded(*args: Any) -> Any:
        return await guard.call(event, handler, *args)
    return guarded


def _guarded_disconnect(guard: _Guard, handler: Any) -> Callable[..., Awaitable[None]]:
    """Like python-socketio, call the handler with ``(sid, reason)`` if it takes both,
    else with ``(sid)``."""
    async def guarded(sid: str, reason: str | None = None) -> None:
        try:
            inspect.signature(handler).bind(sid, reason)
            args: tuple = (sid, reason)
        except (TypeError, ValueError):
            args = (sid,)
        await guard.call("disconnect", handler, *args)
    return guarded


def _guarded_trigger(guard: _Guard, trigger: Any) -> Callable[..., Awaitable[Any]]:
    """``AsyncNamespace.trigger_event`` (which calls ``on_<event>``), guarded."""
    async def trigger_event(event: str, *args: Any) -> Any:
        if event == "connect":
            return await trigger(event, *args)
        return await guard.call(event, trigger, event, *args)
    return trigger_event


@dataclasses.dataclass
class _Served:
    """A learner's server while a check talks to it: where, who, and what went wrong."""

    sio: socketio.AsyncServer
    timeout: float
    guard: _Guard = dataclasses.field(default_factory=_Guard)
    url: str = ""
    clients: dict[str, _SocketIOClient] = dataclasses.field(default_factory=dict)

    @property
    def failures(self) -> list[tuple[str, Exception]]:
        """``(event, exception)`` for each call of a handler that raised, in order."""
        return self.guard.failures

    async def connect(self, client: _SocketIOClient) -> None:
        self.clients[client.name] = client
        await client.connect(self.url)

    async def settle(self) -> None:
        """Wait until no handler is running, then call every connected client once: one
        connection delivers in order, so afterwards everything the server sent has
        arrived, wrong or extra events too."""
        try:
            await running.wait_for(lambda: not self.guard.running, self.timeout)
        except TimeoutError:
            _hint(False, f"a handler of yours was still running {self.timeout:g} s later: "
                         f"does it wait for something that never comes?")
        try:
            await settle(self.sio, [client.sio for client in self.clients.values()],
                         timeout=self.timeout)
        except TimeoutError:
            _hint(False, f"the check's clients did not hear from your server within "
                         f"{self.timeout:g} s: does a handler block (time.sleep instead of "
                         f"`await asyncio.sleep`)?")


@contextlib.asynccontextmanager
async def _serving(sio: socketio.AsyncServer, name: str,
                   timeout: float) -> AsyncIterator[_Served]:
    """Serve ``sio`` under ``name`` with its handlers guarded. On the way out, however the
    check ends: disconnect the clients, stop the server, put the handlers back."""
    served = _Served(sio, timeout)
    restore = _guard_handlers(sio, served.guard)
    try:
        served.url = (await serve_socketio(sio, name=name)).url
        yield served
    finally:
        for client in served.clients.values():
            await client.sio.shutdown()
        await running.stop(name)
        restore()


class _SocketIOClient:
    """A raw socket.io client of one namespace that writes down every event it gets."""

    def __init__(self, name: str, timeout: float, namespace: str = "/") -> None:
        self.name = name
        self.timeout = timeout
        self.namespace = namespace
        self.events: list[tuple[str, tuple]] = []
        self.sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        self.sio.on("*", lambda event, *args: self.events.append((event, args)),
                    namespace=namespace)
        self.sio.on("sync", lambda *args: True, namespace=namespace)  # answers settle()

    async def connect(self, url: str) -> None:
        try:
            await self.sio.connect(url, namespaces=[self.namespace], auth={"name": self.name},
                                   transports=["websocket"], wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            where, advice = ("your server", "") if self.namespace == "/" else (
                f"the {self.namespace} namespace",
                f"a server accepts a namespace only when it has handlers there, so "
                f"register them with namespace=\"{self.namespace}\"; ")
            _hint(False, f"{self.name} could not connect to {where} ({exc}): {advice}if you "
                         f"wrote a `connect` handler, let it accept every client (return "
                         f"None, don't raise)")

    async def call(self, event: str, data: Any, did: str) -> Any:
        """Call ``event`` with ``data`` (a tuple: several arguments); return the ack."""
        try:
            return await self.sio.call(event, data, namespace=self.namespace,
                                       timeout=self.timeout)
        except socketio.exceptions.TimeoutError:
            on = (f"@sio.on(\"{event}\")" if self.namespace == "/" else
                  f"@sio.on(\"{event}\", namespace=\"{self.namespace}\")")
            _hint(False, f"{did} and got no answer within {self.timeout:g} s: register a "
                         f"handler with {on} on the server you passed, and return the "
                         f"answer from it (its return value is the ack)")

    def got(self, event: str) -> list[tuple]:
        """The arguments of each ``event`` received, in order."""
        return [args for name, args in self.events if name == event]


def _signature_advice(**parameters: str) -> dict[tuple[str, type[Exception]], str]:
    """What to say when a handler fails with TypeError, most likely by its signature."""
    return {(event, TypeError): f"A handler gets the sender's sid first, then one parameter "
                                f"per argument: `async def {event}(sid, {params})`."
            for event, params in parameters.items()}


def _failure_hint(failures: list[tuple[str, Exception]],
                  advice: Mapping[Any, str] | None = None) -> None:
    """If a handler raised, say which and what, with a sentence from ``advice`` for it.

    ``advice`` maps an exception class, or an ``(event, exception class)`` pair, to that
    sentence; the first that matches the first failure counts.
    """
    if not failures:
        return
    event, exc = failures[0]
    extra = ""
    for key, sentence in (advice or {}).items():
        on_event, kind = key if isinstance(key, tuple) else (event, key)
        if on_event == event and isinstance(exc, kind):
            extra = f" {sentence}"
            break
    _hint(False, f"your {event!r} handler raised {type(exc).__name__}: {exc}.{extra}")


_ADD_AND_SHOUT_ADVICE = _signature_advice(add="a, b", shout="text")


async def _try_add(served: _Served, a: float, b: float) -> None:
    got = await served.clients["alice"].call("add", (a, b), f"called add({a}, {b})")
    _failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    _hint(got is not None,
          f"add({a}, {b}) was acknowledged with no value: `return a + b` from the handler; "
          f"its return value is the ack (emitting the sum is not an answer)")
    _hint(not isinstance(got, tuple),
          f"add({a}, {b}) was acknowledged with several values {got!r}: return one number "
          f"(a returned tuple becomes several values)")
    _hint(isinstance(got, (int, float)) and math.isclose(got, a + b),
          f"add({a}, {b}) answered {got!r}, expected {a + b!r}")


async def _try_shout(served: _Served, sender: str, text: str) -> None:
    clients, timeout = served.clients, served.timeout
    for client in clients.values():
        client.events.clear()
    others = [client for name, client in clients.items() if name != sender]
    await clients[sender].sio.emit("shout", text)
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: served.failures or all(
            client.got("shouted") for client in others), timeout)
    await served.settle()  # a shout wrongly sent back to the sender has arrived too
    _failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    said = f"{sender} emitted 'shout' with {text!r}"
    for client in others:
        if not client.got("shouted"):
            got = sorted({event for event, _ in client.events})
            _hint(not got, f"{said}; {client.name} got {', '.join(map(repr, got))} but no "
                           f"'shouted' event: emit the event named 'shouted'")
            _hint(not clients[sender].got("shouted"),
                  f"{said}; only {sender} got 'shouted': send it to everyone but the sender "
                  f"with skip_sid=sid (to=sid sends it to the sender alone)")
            _hint(False, f"{said}; {client.name} got no 'shouted' event within {timeout:g} s: "
                         f"in the handler, `await sio.emit(\"shouted\", text.upper(), "
                         f"skip_sid=sid)` (without `await` nothing is sent)")
        arrived = client.got("shouted")
        _hint(len(arrived) == 1, f"{said}; {client.name} got 'shouted' {len(arrived)} times: "
                                 f"one emit to all but the sender is enough")
        _hint(arrived[0] == (text.upper(),),
              f"{said}; {client.name} got 'shouted' with {_show_args(arrived[0])}, expected "
              f"{text.upper()!r}, the text in upper case")
    _hint(not clients[sender].got("shouted"),
          f"{said}; {sender} got her own 'shouted' back: pass skip_sid=sid to sio.emit so it "
          f"goes to everyone but the sender")


def _show_args(args: tuple) -> str:
    return repr(args[0]) if len(args) == 1 else f"{len(args)} arguments {args!r}"


# -- notebook 03: disconnects ----------------------------------------------------------------

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
    _check_server(sio)
    async with _serving(sio, "exercise-bye", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(_LeavingClient(name, timeout))
        await _try_bye(served)
        await _try_hang_up(served)
    _failure_hint(served.failures, _BYE_ADVICE)
    print("Right: a client that says bye gets its goodbye and is let go, and everyone "
          "else hears who left, however they left.")


class _LeavingClient(_SocketIOClient):
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


async def _try_bye(served: _Served) -> None:
    clients, failures, timeout = served.clients, served.failures, served.timeout
    alice, others = clients["alice"], [clients["bob"], clients["carol"]]
    await alice.sio.emit("bye")
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: alice.reasons or failures, timeout)
    _failure_hint(failures, _BYE_ADVICE)
    if not alice.reasons:
        _hint(not alice.got("goodbye"),
              f"alice said 'bye' and got her goodbye, but she was still connected "
              f"{timeout:g} s later: end the handler with `await sio.disconnect(sid)`")
        _hint(False, f"alice said 'bye' and nothing happened within {timeout:g} s: register "
                     f"a handler with @sio.on(\"bye\") on the server you passed, taking only "
                     f"the sid (`bye` comes with no arguments)")
    with contextlib.suppress(TimeoutError):  # until the others heard about it
        await running.wait_for(
            lambda: failures or all(other.got("left") for other in others), timeout)
    await served.settle()  # anything extra, or wrong, has arrived too
    _failure_hint(failures, _BYE_ADVICE)
    did = "alice said 'bye'"
    _hint(alice.reasons[0] == "server disconnect",
          f"{did}; her connection ended with the reason {alice.reasons[0]!r}, expected "
          f"'server disconnect': let her go with `await sio.disconnect(sid)`")
    goodbyes = alice.got("goodbye")
    _hint(bool(goodbyes), f"{did} and was disconnected, but got no 'goodbye' first: emit it "
                          f"*before* `await sio.disconnect(sid)`, to=sid; once she is "
                          f"disconnected nothing reaches her")
    _hint(len(goodbyes) == 1, f"{did} and got 'goodbye' {len(goodbyes)} times")
    _hint(goodbyes[0] == ("goodbye, alice",),
          f"{did} and got 'goodbye' with {_show_args(goodbyes[0])}, expected "
          f"'goodbye, alice' (her name is in auth[\"name\"] when she connects)")
    _hint(not alice.got("left"), f"{did} and got 'left' about herself: send it to everyone "
                                 f"but her, with skip_sid=sid")
    for other in others:
        _hint(other.sio.connected, f"{did}, and {other.name} was disconnected too: "
                                   f"disconnect only the sid that said 'bye'")
        _hint(not other.got("goodbye"), f"{did}, and {other.name} got her goodbye too: send "
                                        f"it to her alone, with to=sid")
        left = other.got("left")
        _hint(bool(left), f"{did}; {other.name} got no 'left' event within {timeout:g} s: "
                          f"when a client goes, emit 'left' with its name to everyone else "
                          f"(skip_sid=sid)")
        _hint(len(left) == 1,
              f"{did}; {other.name} got 'left' {len(left)} times: emit it in one place only. "
              f"`await sio.disconnect(sid)` runs the `disconnect` handler too")
        _hint(left[0] == ("alice",), f"{did}; {other.name} got 'left' with "
                                     f"{_show_args(left[0])}, expected 'alice', her name")


async def _try_hang_up(served: _Served) -> None:
    bob, carol = served.clients["bob"], served.clients["carol"]
    await carol.sio.disconnect()
    with contextlib.suppress(TimeoutError):  # disconnect() returns before the server knows
        await running.wait_for(lambda: served.failures or len(bob.got("left")) >= 2,
                               served.timeout)
    await served.settle()
    _failure_hint(served.failures, _BYE_ADVICE)
    did = "then carol disconnected by herself (no 'bye')"
    left = bob.got("left")
    _hint(len(left) >= 2,
          f"{did}, and bob got no 'left' about her within {served.timeout:g} s: emit 'left' "
          f"in the `disconnect` handler (@sio.on(\"disconnect\"), with `sid, reason`), which "
          f"runs however a client goes, not only after 'bye'")
    _hint(len(left) == 2, f"{did}, and bob got 'left' {len(left) - 1} times about her: "
                          f"emit it once per client that goes")
    _hint(left[1] == ("carol",),
          f"{did}, and bob got 'left' with {_show_args(left[1])}, expected 'carol'")
    _hint(bob.sio.connected, f"{did}, and bob was disconnected too")


# -- notebook 04: rooms and namespaces --------------------------------------------------------

async def check_rooms_and_whispers(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 04: check a server whose ``/chat`` namespace has rooms and whispers.

    Clients connect to ``/chat`` with ``auth={"name": ...}``.

    * ``join`` comes with a room name: the server puts the client in that room and
      acknowledges with the sorted names of everyone in the room now, the client included.
    * ``whisper`` comes with two arguments, a name and a text: the client of that name, and
      no one else, gets a ``whispered`` event with ``{"from": <sender's name>, "text":
      text}``. The ack is True, or False when nobody of that name is connected (any more).

    The check serves ``sio`` itself (don't serve it first) on a free port, connects four
    clients over WebSocket (alice, bob, carol, dave), tries both events, then disconnects
    them and stops the server. ``timeout`` is how long to wait for each answer.
    """
    _check_server(sio)
    async with _serving(sio, "exercise-rooms", timeout) as served:
        for name in ("alice", "bob", "carol", "dave"):
            await served.connect(_SocketIOClient(name, timeout, "/chat"))
        await _try_joins(served)
        await _try_whisper(served, "alice", "carol", "psst, carol")
        await _try_whisper(served, "dave", "bob", "hi bob, it's dave")
        await _try_whisper(served, "carol", "nobody", "anyone?")
        await _try_whisper_after_disconnect(served)
    _failure_hint(served.failures, _ROOMS_ADVICE)
    print("Right: join answers who is in the room, and a whisper reaches one client only.")


_ROOMS_ADVICE = {**_signature_advice(join="room", whisper="to_name, text"),
                 KeyError: "Whispering to a name nobody has must answer False, not fail."}


async def _try_joins(served: _Served) -> None:
    sio, clients = served.sio, served.clients
    sid_of = {name: client.sio.get_sid("/chat") for name, client in clients.items()}
    for name, room, expected in [("alice", "lobby", ["alice"]),
                                 ("bob", "lobby", ["alice", "bob"]),
                                 ("carol", "games", ["carol"]),
                                 ("bob", "games", ["bob", "carol"])]:
        did = f"{name} joined {room!r}"
        got = await clients[name].call("join", room, did)
        _failure_hint(served.failures, _ROOMS_ADVICE)
        _hint(room in sio.rooms(sid_of[name], namespace="/chat"),
              f"{did}, but the server has not put {name} in that room: "
              f"`await sio.enter_room(sid, room, namespace=\"/chat\")`")
        _hint(got is not None, f"{did} and the ack had no value: return the sorted list of "
                               f"the names in the room")
        _hint(isinstance(got, list) and all(isinstance(n, str) for n in got),
              f"{did} and the ack was {got!r}: return a list of names (a tuple would "
              f"become several values)")
        _hint(not set(got) & set(sid_of.values()),
              f"{did} and the ack holds sids ({got!r}): answer with names; keep each "
              f"client's name from its `connect` (auth[\"name\"]) by sid")
        _hint(sorted(got) != expected or got == expected,
              f"{did}: the ack {got!r} has the right names, sort them: {expected!r}")
        _hint(got == expected or set(got) < set(expected),
              f"{did}: expected {expected!r}, got {got!r}")
        _hint(got == expected,
              f"{did}: expected {expected!r}, got {got!r}: list everyone in the room, not "
              f"only the newcomer. The server can see who is in a room: "
              f"sio.manager.get_participants(\"/chat\", room) gives (sid, eio_sid) pairs "
              f"(or keep your own lists)")


async def _try_whisper(served: _Served, sender: str, to: str, text: str) -> None:
    clients = served.clients
    for client in clients.values():
        client.events.clear()
    did = f"{sender} whispered {text!r} to {to}"
    got = await clients[sender].call("whisper", (to, text), did)
    await served.settle()
    _failure_hint(served.failures, _ROOMS_ADVICE)
    delivered = to in clients
    _hint(got is delivered,
          f"{did} and the ack was {got!r}, expected {delivered}: return True when the "
          f"whisper was sent, False when nobody of that name is connected")
    for name, client in clients.items():
        received = client.got("whispered")
        if name != to:
            if received:
                _hint(False, f"{did}, and {name} got it too ({_show_args(received[0])}): "
                             f"send it to {to} only, with to=<{to}'s sid>: a client's own "
                             f"room is named by its sid")
            continue
        if not received:
            others = sorted({event for event, _ in client.events})
            _hint(not others, f"{did}; {to} got {', '.join(map(repr, others))} but no "
                              f"'whispered' event: emit the event named 'whispered'")
            _hint(False, f"{did}; {to} got nothing: emit 'whispered' with to=<{to}'s sid>. "
                         f"Each client's own room is named by its sid, not its name "
                         f"(to=\"{to}\" is a room nobody is in)")
        expected = {"from": sender, "text": text}
        _hint(len(received) == 1, f"{did}; {to} got it {len(received)} times")
        _hint(received[0] == (expected,), f"{did}; {to} got {_show_args(received[0])}, "
                                          f"expected {expected!r}")


async def _try_whisper_after_disconnect(served: _Served) -> None:
    sio, dave, timeout = served.sio, served.clients["dave"], served.timeout
    sid = dave.sio.get_sid("/chat")
    await dave.sio.disconnect()
    try:  # until the server's disconnect handler (if any) has run
        await running.wait_for(lambda: sid not in sio.manager.rooms.get("/chat", {}).get(
            None, {}), timeout)
    except TimeoutError:
        _failure_hint(served.failures, _ROOMS_ADVICE)
        _hint(False, f"dave disconnected and the server did not notice within "
                     f"{timeout:g} s: does your `disconnect` handler return?")
    did = "dave disconnected; then alice whispered to him"
    got = await served.clients["alice"].call("whisper", ("dave", "still there?"), did)
    _failure_hint(served.failures, _ROOMS_ADVICE)
    _hint(got is not True,
          f"{did}, and the ack was True: forget a client's name when it disconnects (in "
          f"a `disconnect` handler). An emit to a sid that is gone reaches nobody, "
          f"silently")
    _hint(got is False, f"{did}, and the ack was {got!r}, expected False")


# -- notebook 05: the live chat panel ---------------------------------------------------------

# Names a learner is unlikely to use: a ChatClient connected under a name replaces (and
# disconnects) the one connected under that name earlier in this kernel, and the check
# must leave the learner's own clients alone.
_ME_SERVER, _ME_TESTER, _ME_LISTENER = "exercise-05", "check-me-tester", "check-me-listener"


async def check_me_command(say_with_me: Callable[[Any, str], Awaitable[Any]], *,
                           timeout: float = 5.0) -> None:
    """Notebook 05: ``say_with_me(panel, text)`` turns ``/me waves`` into ``* name waves``.

    Any other text, ``/menu`` included, is said unchanged. The check starts a chat server
    of its own, connects a panel and a listening client to its room "lobby", says three
    lines through your function and checks what the listener receives. Then it
    disconnects both and stops the server; your own clients and panels are left alone.
    ``timeout`` is how long to wait for each line.
    """
    _hint(callable(say_with_me),
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
        _hint(panel.room == "lobby", f"the check's panel could not join its room "
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
        raise AssertionError(f"{did} raised {type(exc).__name__}: {exc}") from exc
    _hint(inspect.isawaitable(result),
          f"{did} returned {result!r}, not something to await: write `async def "
          f"say_with_me(panel, text)` and `return await panel.say(...)` in it")
    try:
        await asyncio.wait_for(result, timeout)
    except TimeoutError:
        _hint(False, f"{did} had not finished after {timeout:g} s: does it wait for "
                     f"something besides `await panel.say(...)`?")
    except Exception as exc:
        raise AssertionError(f"{did} raised {type(exc).__name__}: {exc}") from exc
    try:
        event = await listener.next("said", timeout=timeout)
    except TimeoutError:
        _hint(False, f"after {did} nothing was said in the room within {timeout:g} s: call "
                     f"`await panel.say(...)` with the text to say")
    got = event.data["text"]
    _hint(got == expected,
          f"{did} said {got!r}; expected {expected!r}. "
          + ("Only text starting with '/me ' (with the space) is a command."
             if typed.startswith("/menu") else
             "Use panel.client.name for the name, and keep the rest of the text."))


# -- notebook 06: the classroom --------------------------------------------------------------

_BUSIEST_SERVER = "exercise-06"


async def check_announce_to_busiest(announce_to_busiest: Callable[[Any, str], Awaitable[Any]],
                                    *, timeout: float = 5.0) -> None:
    """Notebook 06: ``announce_to_busiest(teacher, text)`` announces only in the room with
    the most students (ties: the first in alphabetical order).

    The check starts a chat server of its own with a teacher token, seats a small class
    in three rooms twice (with the biggest room different each time, once with a tie),
    calls your function with a :class:`chatkit.classroom.TeacherClient`, and checks who
    received the notice. Everything it starts is stopped before it returns.
    """
    _hint(callable(announce_to_busiest),
          "pass the function itself: check_announce_to_busiest(announce_to_busiest)")
    from chatkit.classroom import TeacherClient, simulate_class  # here: needs the server
    from chatkit.server import ChatServer

    classes = [({"check-a": 2, "check-b": 3, "check-c": 1}, "check-b"),
               ({"check-a": 2, "check-b": 1, "check-c": 2}, "check-a")]
    for round_number, (sizes, busiest) in enumerate(classes, start=1):
        server = ChatServer(teacher_token="check-token")
        names: list[str] = []
        try:
            await server.start(name=_BUSIEST_SERVER)
            groups = {room: [f"check-{round_number}-{room}-{n}" for n in range(size)]
                      for room, size in sizes.items()}
            names = [name for members in groups.values() for name in members]
            students = await simulate_class(server.url, groups)
            teacher = await TeacherClient.connect(server.url, "check-token",
                                                  name="check-teacher")
            text = f"notice number {round_number}"
            await _call_learner(announce_to_busiest(teacher, text),
                                "announce_to_busiest(teacher, text)", timeout)
            # A notice to everyone after yours: once it has arrived, so has yours.
            await teacher.announce("check: end of round")
            await running.wait_for(
                lambda: all(_notices(students[name])[-1:] == ["check: end of round"]
                            for name in names), timeout, what="the check's own notice")
            got = {room: {tuple(_notices(students[name])[:-1]) for name in members}
                   for room, members in groups.items()}
            for room in sorted(got, key=lambda room: room == busiest):  # others first
                if room == busiest:
                    received = " or ".join(map(str, map(list, got[room])))
                    _hint(got[room] == {(text,)},
                          f"the students of {busiest!r} ({sizes[busiest]}, the most; rooms "
                          f"were {sizes}) got {received} instead of [{text!r}]: call "
                          f"`await teacher.announce(text, room=...)` once, with that room")
                else:
                    tie = sizes[room] == sizes[busiest]
                    _hint(got[room] == {()},
                          f"{room!r} ({sizes[room]} student{'s' * (sizes[room] != 1)}) got "
                          f"the notice, but only "
                          f"{busiest!r} should (rooms were {sizes}): "
                          + ("break ties by the room's name, alphabetically" if tie else
                             "pass room= to announce; without it, everyone gets it"))
        finally:
            for key in [*(f"client:{name}" for name in names), "teacher:check-teacher"]:
                await running.stop(key)
            await server.stop()
    print("Right: the announcement reached the busiest room, and only that room.")


def _notices(student: Any) -> list[str]:
    return [event.data.get("text") for event in student.events if event.type == "notice"]


async def _call_learner(result: Any, did: str, timeout: float) -> Any:
    """Await what the learner's function returned, turning mistakes into hints."""
    _hint(inspect.isawaitable(result),
          f"{did} returned {result!r}, not something to await: write it with `async def` "
          f"and `await` the teacher's calls")
    try:
        return await asyncio.wait_for(result, timeout)
    except TimeoutError:
        _hint(False, f"{did} had not finished after {timeout:g} s")
    except AssertionError:
        raise
    except Exception as exc:
        raise AssertionError(f"{did} raised {type(exc).__name__}: {exc}") from exc
