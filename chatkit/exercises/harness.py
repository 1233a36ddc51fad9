"""The harness every check of the course runs on; no notebook uses it directly.

A check turns what went wrong into a hint: :func:`hint` raises ``AssertionError`` with it.
The checks of the raw socket.io notebooks (02 to 04) serve the learner's server with its
handlers guarded (:func:`serving`), so that a handler that raises becomes a hint instead
of a logged traceback, and connect raw clients (:class:`SocketIOClient`) that write down
what they get. :class:`HandlerFailures` turns the crash of a ``websockets`` handler
(notebook 01) into a hint the same way, :func:`call_learner` the mistakes of a coroutine
function the learner wrote (notebook 06).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import inspect
import linecache
import logging
import re
import sysconfig
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import socketio

from chatkit import running
from chatkit.language import phrase, translate
from chatkit.sio import serve as serve_socketio
from chatkit.sio import settle


class CheckFailed(AssertionError):
    """A check's verdict on a wrong answer: what was wrong, the hint, where to look.

    In a notebook it shows as that message alone, not as a traceback through chatkit's
    code: IPython renders an exception that has ``_render_traceback_`` with it.
    """

    def __init__(self, message: str) -> None:
        super().__init__(translate(message))  # in the kernel's language (chatkit.language)

    def _render_traceback_(self) -> list[str]:
        return [f"\x1b[1;31m{translate('Not yet:')}\x1b[0m {self}"]


def say_right(message: str) -> None:
    """Print a check's verdict on a right answer ("Right: ..."), in the kernel's language."""
    print(translate(message))


def hint(condition: bool, message: str) -> None:
    """Like ``assert condition, message`` (also under ``python -O``), as a :class:`CheckFailed`."""
    if not condition:
        raise CheckFailed(message)


class PendingCheck:
    """What calling a coroutine check returns: it runs when awaited.

    Forgetting ``await`` would otherwise print ``<coroutine object ...>`` and check
    nothing; this says what to write instead.
    """

    def __init__(self, coroutine: Any, name: str) -> None:
        self._coroutine = coroutine
        self._name = name
        self._awaited = False

    def __await__(self) -> Any:
        self._awaited = True
        return self._coroutine.__await__()

    def __repr__(self) -> str:
        return (f"{self._name}(...) did not run yet: it is a coroutine, add await in front, "
                f"as in `await exercises.{self._name}(...)`")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def __del__(self) -> None:
        if not self._awaited:
            self._coroutine.close()  # no "never awaited" warning on top of the repr's advice


def awaitable_check(check: Callable[..., Awaitable[None]]) -> Callable[..., PendingCheck]:
    """Decorate an ``async def`` check so that a call without ``await`` says so."""
    @functools.wraps(check)
    def call(*args: Any, **kwargs: Any) -> PendingCheck:
        return PendingCheck(check(*args, **kwargs), check.__name__)
    return call


class HandlerFailures(logging.Handler):
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
            hint(False, f"{did} and your handler raised {self.first()}, so the server "
                        f"closed the connection (1011, internal error): fix that first")


def require_server(sio: Any) -> None:
    """Hints for a check given something that it cannot serve as a socket.io server."""
    hint(isinstance(sio, socketio.AsyncServer),
         f"pass the server object, a socketio.AsyncServer(async_mode=\"aiohttp\"); got "
         f"{sio!r}")
    hint(sio.async_mode == "aiohttp",
         f"the check serves your server with aiohttp: create it with "
         f"socketio.AsyncServer(async_mode=\"aiohttp\") (yours says {sio.async_mode!r})")


class Guard:
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


def guard_handlers(sio: socketio.AsyncServer, guard: Guard) -> Callable[[], None]:
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


def _guarded(guard: Guard, event: str, handler: Any) -> Callable[..., Awaitable[Any]]:
    async def guarded(*args: Any) -> Any:
        return await guard.call(event, handler, *args)
    return guarded


def _guarded_disconnect(guard: Guard, handler: Any) -> Callable[..., Awaitable[None]]:
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


def _guarded_trigger(guard: Guard, trigger: Any) -> Callable[..., Awaitable[Any]]:
    """``AsyncNamespace.trigger_event`` (which calls ``on_<event>``), guarded."""
    async def trigger_event(event: str, *args: Any) -> Any:
        if event == "connect":
            return await trigger(event, *args)
        return await guard.call(event, trigger, event, *args)
    return trigger_event


@dataclasses.dataclass
class Served:
    """A learner's server while a check talks to it: where, who, and what went wrong."""

    sio: socketio.AsyncServer
    timeout: float
    guard: Guard = dataclasses.field(default_factory=Guard)
    url: str = ""
    clients: dict[str, SocketIOClient] = dataclasses.field(default_factory=dict)

    @property
    def failures(self) -> list[tuple[str, Exception]]:
        """``(event, exception)`` for each call of a handler that raised, in order."""
        return self.guard.failures

    async def connect(self, client: SocketIOClient) -> None:
        self.clients[client.name] = client
        await client.connect(self.url)

    async def settle(self) -> None:
        """Wait until no handler is running, then call every connected client once: one
        connection delivers in order, so afterwards everything the server sent has
        arrived, wrong or extra events too."""
        try:
            await running.wait_for(lambda: not self.guard.running, self.timeout)
        except TimeoutError:
            hint(False, f"a handler of yours was still running {self.timeout:g} s later: "
                        f"does it wait for something that never comes?")
        try:
            await settle(self.sio, [client.sio for client in self.clients.values()],
                         timeout=self.timeout)
        except TimeoutError:
            hint(False, f"the check's clients did not hear from your server within "
                        f"{self.timeout:g} s: does a handler block (time.sleep instead of "
                        f"`await asyncio.sleep`)?")


@contextlib.asynccontextmanager
async def serving(sio: socketio.AsyncServer, name: str,
                  timeout: float) -> AsyncIterator[Served]:
    """Serve ``sio`` under ``name`` with its handlers guarded. On the way out, however the
    check ends: disconnect the clients, stop the server, put the handlers back."""
    served = Served(sio, timeout)
    restore = guard_handlers(sio, served.guard)
    try:
        served.url = (await serve_socketio(sio, name=name)).url
        yield served
    finally:
        for client in served.clients.values():
            await client.sio.shutdown()
        await running.stop(name)
        restore()


class SocketIOClient:
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
            where, advice = (phrase("your server"), "") if self.namespace == "/" else (
                phrase(f"the {self.namespace} namespace"),
                f"a server accepts a namespace other than / only when it has handlers "
                f"there (or lists it in namespaces=), so register them with "
                f"namespace=\"{self.namespace}\"; ")
            hint(False, f"{self.name} could not connect to {where} ({exc}): {advice}if you "
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
            hint(False, f"{did} and got no answer within {self.timeout:g} s: register a "
                        f"handler with {on} on the server you passed, and return the "
                        f"answer from it (its return value is the ack)")

    def got(self, event: str) -> list[tuple]:
        """The arguments of each ``event`` received, in order."""
        return [args for name, args in self.events if name == event]


def signature_advice(**parameters: str) -> dict[tuple[str, type[Exception]], str]:
    """What to say when a handler fails with TypeError, most likely by its signature."""
    return {(event, TypeError): f"A handler gets the sender's sid first, then one parameter "
                                f"per argument: `async def {event}(sid, {params})`."
            for event, params in parameters.items()}


def failure_hint(failures: list[tuple[str, Exception]],
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
    hint(False, f"your {event!r} handler raised {type(exc).__name__}: {exc}"
                f"{in_your_code(exc)}.{extra}")


def in_your_code(exc: BaseException) -> str:
    """Where in the learner's own code ``exc`` was raised, as " (line N of your code: `...`)",
    or "" when no frame of its traceback is theirs (chatkit, the libraries, Python's own)."""
    theirs = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if not filename.startswith(_NOT_THEIRS):
            theirs = (filename, line)
    if theirs is None:
        return ""
    text = linecache.getline(*theirs).strip()
    return f" (line {theirs[1]} of your code: `{text}`)" if text else f" (line {theirs[1]})"


_NOT_THEIRS = tuple({str(Path(__file__).resolve().parent.parent), *(
    sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))})


def global_advice(exc: UnboundLocalError) -> str:
    """What to say when the learner assigned a module-level counter without ``global``."""
    found = re.search(r"'(\w+)'", str(exc))
    name = found.group(1) if found else "last_id"
    return (f"Assigning `{name}` inside the handler makes it a new local variable: write "
            f"`global {name}` at the top of the handler to count with the one outside.")


def show_args(args: tuple) -> str:
    return repr(args[0]) if len(args) == 1 else f"{len(args)} arguments {args!r}"


def short(value: Any, most: int = 60) -> str:
    """``repr(value)``, cut to ``most`` characters: a widget's repr can fill a screen."""
    text = repr(value)
    return text if len(text) <= most else text[:most - 3] + "..."


async def call_learner(result: Any, did: str, timeout: float, *,
                       write: str = "write it with `async def` and `await` the teacher's calls",
                       known: Mapping[type[Exception], str] | None = None) -> Any:
    """Await what the learner's function returned, turning mistakes into hints.

    ``write`` says how to fix a function that returned something not awaitable; ``known``
    maps an exception class to what to say when the awaited call raises it (the
    exception's text is put in front).
    """
    hint(inspect.isawaitable(result),
         f"{did} returned {short(result)}, not something to await: {write}")
    try:
        return await asyncio.wait_for(result, timeout)
    except TimeoutError:
        hint(False, f"{did} had not finished after {timeout:g} s")
    except AssertionError:
        raise
    except Exception as exc:
        for kind, advice in (known or {}).items():
            if isinstance(exc, kind):
                hint(False, f"{did} raised {type(exc).__name__} ({exc}): {advice}")
        raise CheckFailed(f"{did} raised {type(exc).__name__}: {exc}{in_your_code(exc)}") \
            from exc
