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
import inspect
import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import socketio

from chatkit import running
from chatkit.sio import serve as serve_socketio
from chatkit.websocket import WebSocket

__all__ = [
    "check_add_and_shout",
    "check_bye_and_left",
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
        await _talk_to_shout(server.url, timeout)
    finally:
        await running.stop("exercise-shout")  # waits for the handler to return
        logger.removeHandler(failures)
    if failures.records:
        _hint(False, f"your handler raised {failures.first()} after closing: once the "
                     f"connection is closed with a code other than 1000 or 1001, `async for "
                     f"message in connection` raises instead of ending. Leave the handler "
                     f"right after `await connection.close(...)`, with `return`")
    print("Right: your server shouts back and closes with 4000 'bye'.")


async def _talk_to_shout(url: str, timeout: float) -> None:
    received: list[str | bytes] = []
    ws = WebSocket(url)
    ws.onmessage = lambda event: received.append(event.data)
    try:
        await ws.opened(timeout)
        for text in ("hello", "Mixed Case 42"):
            ws.send(text)
            try:
                await running.wait_for(lambda: received, timeout)
            except TimeoutError:
                _hint(False, f"sent {text!r} and got no answer within {timeout:g} s: does "
                             f"your handler `await connection.send(...)` for each message?")
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
        _hint(event.code != 1011, "the connection closed with 1011 (internal error): your "
                                  "handler raised an exception on 'bye'")
        _hint((event.code, event.reason) == (4000, "bye"),
              f"sent 'bye': the connection closed with code {event.code} and reason "
              f"{event.reason!r}, expected 4000 and 'bye': "
              f"`await connection.close(4000, 'bye')`")
    finally:
        ws.close()


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


# -- notebook 02: socket.io emit/on ----------------------------------------------------------

async def check_add_and_shout(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 02: check a socket.io server with an ``add`` ack and a ``shout`` broadcast.

    ``add`` is called with two numbers (two arguments) and must acknowledge their sum.
    ``shout`` comes with a text; every other connected client must get a ``shouted`` event
    whose data is the text in upper case, and the sender nothing. The check serves ``sio``
    itself (don't serve it first) on a free port, connects three clients over WebSocket,
    tries both events, then disconnects them and stops the server. ``timeout`` is how long
    to wait for each answer.
    """
    _hint(isinstance(sio, socketio.AsyncServer),
          f"pass the server object, a socketio.AsyncServer(async_mode=\"aiohttp\"); got "
          f"{sio!r}")
    _hint(sio.async_mode == "aiohttp",
          f"the check serves your server with aiohttp: create it with "
          f"socketio.AsyncServer(async_mode=\"aiohttp\") (yours says {sio.async_mode!r})")
    failures: list[tuple[str, Exception]] = []
    originals = _catch_handler_failures(sio, failures)
    clients: dict[str, _SocketIOClient] = {}
    try:
        server = await serve_socketio(sio, name="exercise-add-shout")
        for name in ("alice", "bob", "carol"):
            clients[name] = _SocketIOClient(name)
            await clients[name].connect(server.url, timeout)
        for a, b in [(2, 3), (0.5, -2)]:
            await _try_add(clients["alice"], a, b, failures, timeout)
        await _try_shout(clients, "alice", "hello", failures, timeout)
        await _try_shout(clients, "carol", "Mixed Case 42", failures, timeout)
    finally:
        for client in clients.values():
            await client.sio.shutdown()
        await running.stop("exercise-add-shout")
        for namespace, handlers in originals.items():
            sio.handlers[namespace].update(handlers)
    print("Right: `add` answers with the sum, and a shout reaches everyone but the sender.")


class _SocketIOClient:
    """A raw socket.io client that writes down every event it gets."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.events: list[tuple[str, tuple]] = []
        self.sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        self.sio.on("*", lambda event, *args: self.events.append((event, args)))

    async def connect(self, url: str, timeout: float) -> None:
        try:
            await self.sio.connect(url, auth={"name": self.name}, transports=["websocket"],
                                   wait_timeout=timeout)
        except socketio.exceptions.ConnectionError as exc:
            _hint(False, f"{self.name} could not connect to your server ({exc}): if you "
                         f"wrote a `connect` handler, let it accept every client (return "
                         f"None, don't raise)")

    def shouted(self) -> list[tuple]:
        return [args for event, args in self.events if event == "shouted"]


def _catch_handler_failures(sio: socketio.AsyncServer,
                            failures: list[tuple[str, Exception]]) -> dict[str, dict]:
    """Wrap the event handlers of ``sio`` so that an exception becomes a hint, not a log.

    Returns the original handlers, to put back afterwards.
    """
    originals: dict[str, dict] = {}
    for namespace, handlers in sio.handlers.items():
        originals[namespace] = {}
        for event, handler in handlers.items():
            if event in ("connect", "disconnect"):
                continue
            originals[namespace][event] = handler

            async def guarded(*args: Any, _event: str = event, _handler: Any = handler) -> Any:
                try:
                    result = _handler(*args)
                    return await result if inspect.isawaitable(result) else result
                except Exception as exc:
                    failures.append((_event, exc))
                    return None

            handlers[event] = guarded
    return originals


def _failure_hint(failures: list[tuple[str, Exception]]) -> None:
    if failures:
        event, exc = failures[0]
        extra = (" A handler gets the sender's sid first, then one parameter per argument: "
                 "`async def add(sid, a, b)`." if isinstance(exc, TypeError) else "")
        _hint(False, f"your {event!r} handler raised {type(exc).__name__}: {exc}.{extra}")


async def _try_add(client: _SocketIOClient, a: float, b: float,
                   failures: list[tuple[str, Exception]], timeout: float) -> None:
    try:
        got = await client.sio.call("add", (a, b), timeout=timeout)
    except socketio.exceptions.TimeoutError:
        _hint(False, f"called add({a}, {b}) and got no answer within {timeout:g} s: register "
                     f"a handler with @sio.on(\"add\") on the server you passed; the server "
                     f"answers only events it has a handler for")
    _failure_hint(failures)
    _hint(got is not None,
          f"add({a}, {b}) was acknowledged with no value: `return a + b` from the handler; "
          f"its return value is the ack (emitting the sum is not an answer)")
    _hint(not isinstance(got, tuple),
          f"add({a}, {b}) was acknowledged with several values {got!r}: return one number "
          f"(a returned tuple becomes several values)")
    _hint(isinstance(got, (int, float)) and math.isclose(got, a + b),
          f"add({a}, {b}) answered {got!r}, expected {a + b!r}")


async def _try_shout(clients: dict[str, _SocketIOClient], sender: str, text: str,
                     failures: list[tuple[str, Exception]], timeout: float) -> None:
    for client in clients.values():
        client.events.clear()
    others = [client for name, client in clients.items() if name != sender]
    await clients[sender].sio.emit("shout", text)
    try:
        await running.wait_for(lambda: all(client.shouted() for client in others), timeout)
    except TimeoutError:
        pass
    await asyncio.sleep(min(timeout, 0.2))  # time for a shout to reach the sender, wrongly
    _failure_hint(failures)
    said = f"{sender} emitted 'shout' with {text!r}"
    for client in others:
        if not client.shouted():
            got = sorted({event for event, _ in client.events})
            _hint(not got, f"{said}; {client.name} got {', '.join(map(repr, got))} but no "
                           f"'shouted' event: emit the event named 'shouted'")
            _hint(not clients[sender].shouted(),
                  f"{said}; only {sender} got 'shouted': send it to everyone but the sender "
                  f"with skip_sid=sid (to=sid sends it to the sender alone)")
            _hint(False, f"{said}; {client.name} got no 'shouted' event within {timeout:g} s: "
                         f"in the handler, `await sio.emit(\"shouted\", text.upper(), "
                         f"skip_sid=sid)` (without `await` nothing is sent)")
        arrived = client.shouted()
        _hint(len(arrived) == 1, f"{said}; {client.name} got 'shouted' {len(arrived)} times: "
                                 f"one emit to all but the sender is enough")
        _hint(arrived[0] == (text.upper(),),
              f"{said}; {client.name} got 'shouted' with {_show_args(arrived[0])}, expected "
              f"{text.upper()!r}, the text in upper case")
    _hint(not clients[sender].shouted(),
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
    _hint(isinstance(sio, socketio.AsyncServer),
          f"pass the server object, a socketio.AsyncServer(async_mode=\"aiohttp\"); got "
          f"{sio!r}")
    _hint(sio.async_mode == "aiohttp",
          f"the check serves your server with aiohttp: create it with "
          f"socketio.AsyncServer(async_mode=\"aiohttp\") (yours says {sio.async_mode!r})")
    failures: list[tuple[str, Exception]] = []
    originals = _catch_handler_failures(sio, failures)
    originals_on_disconnect = _catch_disconnect_failures(sio, failures)
    clients: dict[str, _LeavingClient] = {}
    try:
        server = await serve_socketio(sio, name="exercise-bye")
        for name in ("alice", "bob", "carol"):
            clients[name] = _LeavingClient(name)
            await clients[name].connect(server.url, timeout)
        await _try_bye(clients, failures, timeout)
        await _try_hang_up(clients, failures, timeout)
    finally:
        for client in clients.values():
            await client.sio.shutdown()
        await running.stop("exercise-bye")
        for namespace, handlers in originals.items():
            sio.handlers[namespace].update(handlers)
        for namespace, handler in originals_on_disconnect.items():
            sio.handlers[namespace]["disconnect"] = handler
    print("Right: a client that says bye gets its goodbye and is let go, and everyone "
          "else hears who left, however they left.")


class _LeavingClient(_SocketIOClient):
    """A raw socket.io client that also writes down why its connection ended."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.reasons: list[str] = []
        self.sio.on("disconnect", self.reasons.append)

    def got(self, event: str) -> list[tuple]:
        return [args for name, args in self.events if name == event]


def _catch_disconnect_failures(sio: socketio.AsyncServer,
                               failures: list[tuple[str, Exception]]) -> dict[str, Any]:
    """Wrap the ``disconnect`` handlers of ``sio`` so that an exception becomes a hint.

    Like python-socketio, call a handler with ``(sid, reason)`` if it takes both, else
    with ``(sid)``. Returns the original handlers, to put back afterwards.
    """
    originals: dict[str, Any] = {}
    for namespace, handlers in sio.handlers.items():
        handler = handlers.get("disconnect")
        if handler is None:
            continue
        originals[namespace] = handler

        async def guarded(sid: str, reason: str | None = None, _handler: Any = handler) -> None:
            try:
                inspect.signature(_handler).bind(sid, reason)
                args: tuple = (sid, reason)
            except TypeError:
                args = (sid,)
            try:
                result = _handler(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                failures.append(("disconnect", exc))

        handlers["disconnect"] = guarded
    return originals


def _bye_failure_hint(failures: list[tuple[str, Exception]]) -> None:
    if failures:
        event, exc = failures[0]
        extra = (" `bye` comes with no arguments: `async def bye(sid)`." if event == "bye"
                 and isinstance(exc, TypeError) else
                 " Each name is forgotten once: the `disconnect` handler runs once per "
                 "client, however it went (after `bye` too)." if isinstance(exc, KeyError)
                 else "")
        _hint(False, f"your {event!r} handler raised {type(exc).__name__}: {exc}.{extra}")


async def _try_bye(clients: dict[str, _LeavingClient],
                   failures: list[tuple[str, Exception]], timeout: float) -> None:
    alice, others = clients["alice"], [clients["bob"], clients["carol"]]
    await alice.sio.emit("bye")
    try:
        await running.wait_for(lambda: alice.reasons, timeout)
    except TimeoutError:
        _bye_failure_hint(failures)
        _hint(not alice.got("goodbye"),
              f"alice said 'bye' and got her goodbye, but she was still connected "
              f"{timeout:g} s later: end the handler with `await sio.disconnect(sid)`")
        _hint(False, f"alice said 'bye' and nothing happened within {timeout:g} s: register "
                     f"a handler with @sio.on(\"bye\") on the server you passed, taking only "
                     f"the sid (`bye` comes with no arguments)")
    try:  # until the others heard about it, or the timeout
        await running.wait_for(lambda: all(other.got("left") for other in others), timeout)
    except TimeoutError:
        pass
    await asyncio.sleep(min(timeout, 0.2))  # time for anything extra, or wrong, to arrive
    _bye_failure_hint(failures)
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


async def _try_hang_up(clients: dict[str, _LeavingClient],
                       failures: list[tuple[str, Exception]], timeout: float) -> None:
    bob, carol = clients["bob"], clients["carol"]
    await carol.sio.disconnect()
    try:  # disconnect() returns before the server has noticed: wait for the news
        await running.wait_for(lambda: len(bob.got("left")) >= 2, timeout)
    except TimeoutError:
        pass
    await asyncio.sleep(min(timeout, 0.2))
    _bye_failure_hint(failures)
    did = "then carol disconnected by herself (no 'bye')"
    left = bob.got("left")
    _hint(len(left) >= 2,
          f"{did}, and bob got no 'left' about her within {timeout:g} s: emit 'left' in the "
          f"`disconnect` handler (@sio.on(\"disconnect\"), with `sid, reason`), which runs "
          f"however a client goes, not only after 'bye'")
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
    _hint(isinstance(sio, socketio.AsyncServer),
          f"pass the server object, a socketio.AsyncServer(async_mode=\"aiohttp\"); got "
          f"{sio!r}")
    _hint(sio.async_mode == "aiohttp",
          f"the check serves your server with aiohttp: create it with "
          f"socketio.AsyncServer(async_mode=\"aiohttp\") (yours says {sio.async_mode!r})")
    failures: list[tuple[str, Exception]] = []
    originals = _catch_handler_failures(sio, failures)
    clients: dict[str, _ChatNamespaceClient] = {}
    try:
        server = await serve_socketio(sio, name="exercise-rooms")
        for name in ("alice", "bob", "carol", "dave"):
            clients[name] = _ChatNamespaceClient(name, timeout)
            await clients[name].connect(server.url)
        await _try_joins(sio, clients, failures)
        await _try_whisper(sio, clients, "alice", "carol", "psst, carol", failures)
        await _try_whisper(sio, clients, "dave", "bob", "hi bob, it's dave", failures)
        await _try_whisper(sio, clients, "carol", "nobody", "anyone?", failures)
        await _try_whisper_after_disconnect(sio, clients, failures)
    finally:
        for client in clients.values():
            await client.sio.shutdown()
        await running.stop("exercise-rooms")
        for namespace, handlers in originals.items():
            sio.handlers[namespace].update(handlers)
    print("Right: join answers who is in the room, and a whisper reaches one client only.")


class _ChatNamespaceClient:
    """A raw socket.io client of ``/chat`` that writes down every event it gets."""

    def __init__(self, name: str, timeout: float) -> None:
        self.name = name
        self.timeout = timeout
        self.events: list[tuple[str, tuple]] = []
        self.sio = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        self.sio.on("*", lambda event, *args: self.events.append((event, args)),
                    namespace="/chat")
        self.sio.on("sync", lambda *args: True, namespace="/chat")

    async def connect(self, url: str) -> None:
        try:
            await self.sio.connect(url, namespaces=["/chat"], auth={"name": self.name},
                                   transports=["websocket"], wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            _hint(False, f"{self.name} could not connect to the /chat namespace ({exc}): a "
                         f"server accepts a namespace only when it has handlers there, so "
                         f"register them with namespace=\"/chat\"; if you wrote a `connect` "
                         f"handler, let it accept every client (return None, don't raise)")

    async def call(self, event: str, data: Any, what: str) -> Any:
        try:
            return await self.sio.call(event, data, namespace="/chat", timeout=self.timeout)
        except socketio.exceptions.TimeoutError:
            _hint(False, f"{what} and got no answer within {self.timeout:g} s: register a "
                         f"handler with @sio.on(\"{event}\", namespace=\"/chat\") and return "
                         f"the answer from it (its return value is the ack)")

    def whispers(self) -> list[tuple]:
        return [args for event, args in self.events if event == "whispered"]


def _rooms_failure_hint(failures: list[tuple[str, Exception]]) -> None:
    if failures:
        event, exc = failures[0]
        extra = (" A handler gets the sender's sid first, then one parameter per argument: "
                 "`async def whisper(sid, to_name, text)`." if isinstance(exc, TypeError)
                 else " Whispering to a name nobody has must answer False, not fail."
                 if isinstance(exc, KeyError) else "")
        _hint(False, f"your {event!r} handler raised {type(exc).__name__}: {exc}.{extra}")


async def _settle(sio: socketio.AsyncServer,
                  clients: dict[str, _ChatNamespaceClient]) -> None:
    """Call every connected client once: a connection delivers in order, so afterwards
    every event sent before has arrived wherever it was going."""
    for client in clients.values():
        if client.sio.connected:
            await sio.call("sync", to=client.sio.get_sid("/chat"), namespace="/chat",
                           timeout=client.timeout)


async def _try_joins(sio: socketio.AsyncServer, clients: dict[str, _ChatNamespaceClient],
                     failures: list[tuple[str, Exception]]) -> None:
    sid_of = {name: client.sio.get_sid("/chat") for name, client in clients.items()}
    for name, room, expected in [("alice", "lobby", ["alice"]),
                                 ("bob", "lobby", ["alice", "bob"]),
                                 ("carol", "games", ["carol"]),
                                 ("bob", "games", ["bob", "carol"])]:
        did = f"{name} joined {room!r}"
        got = await clients[name].call("join", room, did)
        _rooms_failure_hint(failures)
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


async def _try_whisper(sio: socketio.AsyncServer, clients: dict[str, _ChatNamespaceClient],
                       sender: str, to: str, text: str,
                       failures: list[tuple[str, Exception]]) -> None:
    for client in clients.values():
        client.events.clear()
    did = f"{sender} whispered {text!r} to {to}"
    got = await clients[sender].call("whisper", (to, text), did)
    await _settle(sio, clients)
    _rooms_failure_hint(failures)
    delivered = to in clients
    _hint(got is delivered,
          f"{did} and the ack was {got!r}, expected {delivered}: return True when the "
          f"whisper was sent, False when nobody of that name is connected")
    for name, client in clients.items():
        received = client.whispers()
        if name != to:
            if received:
                _hint(False, f"{did}, and {name} got it too ({_show_args(received[0])}): "
                             f"send it to {to} only, with to=<{to}'s sid>: a client's own "
                             f"room is named by its sid")
            continue
        if not received:
            others = sorted({event for event, _ in client.events if event != "sync"})
            _hint(not others, f"{did}; {to} got {', '.join(map(repr, others))} but no "
                              f"'whispered' event: emit the event named 'whispered'")
            _hint(False, f"{did}; {to} got nothing: emit 'whispered' with to=<{to}'s sid>. "
                         f"Each client's own room is named by its sid, not its name "
                         f"(to=\"{to}\" is a room nobody is in)")
        expected = {"from": sender, "text": text}
        _hint(len(received) == 1, f"{did}; {to} got it {len(received)} times")
        _hint(received[0] == (expected,), f"{did}; {to} got {_show_args(received[0])}, "
                                          f"expected {expected!r}")


async def _try_whisper_after_disconnect(sio: socketio.AsyncServer,
                                        clients: dict[str, _ChatNamespaceClient],
                                        failures: list[tuple[str, Exception]]) -> None:
    dave = clients.pop("dave")
    sid = dave.sio.get_sid("/chat")
    await dave.sio.disconnect()
    try:  # until the server's disconnect handler (if any) has run
        await running.wait_for(lambda: sid not in sio.manager.rooms.get("/chat", {}).get(
            None, {}), dave.timeout)
    except TimeoutError:
        _hint(False, f"dave disconnected and the server did not notice within "
                     f"{dave.timeout:g} s: does your `disconnect` handler return?")
    did = "dave disconnected; then alice whispered to him"
    got = await clients["alice"].call("whisper", ("dave", "still there?"), did)
    _rooms_failure_hint(failures)
    _hint(got is not True,
          f"{did}, and the ack was True: forget a client's name when it disconnects (in "
          f"a `disconnect` handler). An emit to a sid that is gone reaches nobody, "
          f"silently")
    _hint(got is False, f"{did}, and the ack was {got!r}, expected False")


# -- notebook 05: the live chat panel ---------------------------------------------------------

async def check_me_command(say_with_me: Callable[[Any, str], Awaitable[Any]], *,
                           timeout: float = 5.0) -> None:
    """Notebook 05: ``say_with_me(panel, text)`` turns ``/me waves`` into ``* name waves``.

    Connects a panel named "tester" and a listening client to a chat server of its own,
    says three lines through your function and checks what the listener receives.
    """
    from chatkit.client import ChatClient
    from chatkit.panel import ChatPanel
    from chatkit.server import ChatServer

    server = ChatServer()
    await server.start(name="exercise-05")
    listener = await ChatClient("listener", rooms=["lobby"]).connect(server.url)
    panel = await ChatPanel.connect(server.url, "tester", room="lobby")
    try:
        cases = [("/me waves", "* tester waves"), ("hello", "hello"),
                 ("/menu please", "/menu please")]
        for typed, expected in cases:
            result = say_with_me(panel, typed)
            assert inspect.isawaitable(result), (
                "say_with_me must be `async def` and return `await panel.say(...)`")
            await asyncio.wait_for(result, timeout)
            try:
                event = await listener.next("said", timeout=timeout)
            except TimeoutError:
                raise AssertionError(f"after say_with_me(panel, {typed!r}) nothing was said "
                                     f"in the room: did you call `await panel.say(...)`?") from None
            got = event.data["text"]
            assert got == expected, (
                f"say_with_me(panel, {typed!r}) said {got!r}; expected {expected!r}. "
                + ("Only text starting with '/me ' (with the space) is a command."
                   if typed.startswith("/menu") else
                   "Use panel.client.name for the name, and keep the rest of the text."))
    finally:
        await panel.client.disconnect()
        await listener.disconnect()
        await server.stop()
    print("Right: /me becomes an action line, everything else is said as typed.")
