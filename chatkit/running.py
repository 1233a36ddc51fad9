"""Run servers inside an event loop that is already running, such as a Jupyter kernel's.

Introduced in notebook 01 (notebook 00 already uses it). A notebook cell can ``await``
directly, so a server can live in the kernel next to the code that talks to it::

    server = await running.serve_websockets(echo, name="echo")
    server.url                 # 'ws://127.0.0.1:54321' (a free port, chosen by the OS)
    await server.stop()

Three promises make this safe in a notebook:

* nothing here calls ``sys.exit`` or installs a signal handler, so a failure is an ordinary
  exception in the cell and "Interrupt kernel" keeps working;
* every server has a ``name``; starting another with the same name first stops the old
  one, so running a notebook twice in one kernel never leaves two servers behind;
* every wait has a timeout (:func:`wait_for`).

This module knows nothing about chat: it runs aiohttp applications and ``websockets``
handlers, and keeps the list of what is running.
"""

from __future__ import annotations

import ast
import asyncio
import errno
import inspect
import logging
import ssl as ssl_module
import textwrap
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from websockets.asyncio.server import Server as WebSocketsServer
from websockets.asyncio.server import serve as websockets_serve

__all__ = [
    "Running",
    "ServerStartError",
    "running",
    "serve_aiohttp",
    "serve_websockets",
    "stop",
    "stop_all",
    "track",
    "wait_for",
]

logger = logging.getLogger(__name__)

#: What is running now, by name. Starting something under a name already here stops the
#: old one first: that is what makes "Run all" twice in one kernel safe.
_registry: dict[str, Running | _Tracked] = {}


class ServerStartError(OSError):
    """A server could not start; the message says why and what to try instead."""


class Running:
    """A server started by this module: where it listens, and how to stop it.

    Attributes:
        name: the name it was started under (see :func:`stop`).
        host: the address it listens on, e.g. ``"127.0.0.1"``.
        port: the port it listens on; the real one even when you asked for port 0.
        url: ``ws://`` or ``wss://`` for WebSocket servers, ``http://`` or ``https://``
            for aiohttp applications.
    """

    def __init__(self, name: str, scheme: str, host: str, port: int,
                 stopper: Callable[[], Awaitable[None]]):
        self.name = name
        self.host = host
        self.port = port
        self.url = f"{scheme}://{_url_host(host)}:{port}"
        self._stopper = stopper
        self._stopped = False
        self._stopping: asyncio.Task | None = None

    @property
    def stopped(self) -> bool:
        """True once :meth:`stop` has finished."""
        return self._stopped

    async def stop(self) -> None:
        """Stop the server and close its connections. Safe to call more than once."""
        if self._stopped:
            return
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stopper())
        try:
            await asyncio.shield(self._stopping)
        finally:
            if self._stopping.done():
                self._stopped = True
                if _registry.get(self.name) is self:
                    del _registry[self.name]

    async def __aenter__(self) -> Running:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<Running {self.name!r} at {self.url} ({state})>"


class _Tracked:
    """Anything else that must be stopped before a re-run (see :func:`track`)."""

    def __init__(self, name: str, stopper: Callable[[], Awaitable[None]]):
        self.name = name
        self._stopper = stopper

    async def stop(self) -> None:
        if _registry.get(self.name) is self:
            del _registry[self.name]
        await self._stopper()


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _explain_bind_error(exc: OSError, host: str, port: int) -> ServerStartError:
    if exc.errno == errno.EADDRINUSE:
        why = (f"port {port} on {host} is already in use: another server (maybe from an "
               f"earlier run) is listening there. Stop it, pick another port, or pass "
               f"port=0 to get a free one")
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0"
    elif exc.errno == errno.EACCES:
        why = f"no permission to listen on port {port}; ports below 1024 need root"
    else:
        why = f"cannot listen on {host}:{port}: {exc.strerror or exc}"
    error = ServerStartError(exc.errno, why)
    error.__cause__ = exc
    return error


async def _replace(name: str, entry: Running | _Tracked) -> None:
    """Stop what ``name`` stood for, then let it stand for ``entry``."""
    await stop(name)
    _registry[name] = entry


async def stop(name: str) -> bool:
    """Stop what was started (or tracked) under ``name``; return whether there was one."""
    entry = _registry.pop(name, None)
    if entry is None:
        return False
    try:
        await entry.stop()
    except Exception:  # a half-dead leftover must not block the new run
        logger.warning("stopping %r failed", name, exc_info=True)
    return True


async def stop_all() -> list[str]:
    """Stop everything this module knows about, newest first; return the names stopped.

    A notebook's last cell calls it, so the kernel is left as the notebook found it.
    """
    names = list(reversed(_registry))
    for name in names:
        await stop(name)
    return names


def running() -> dict[str, str]:
    """What is running now: ``{name: url}`` for servers, ``{name: "tracked"}`` otherwise."""
    return {name: getattr(entry, "url", "tracked") for name, entry in _registry.items()}


async def track(name: str, stopper: Callable[[], Awaitable[Any]]) -> None:
    """Remember how to stop something (a client, a task) under ``name``.

    Whatever was tracked or started under the same name is stopped first. Example::

        await running.track("alice", alice.disconnect)
    """
    await _replace(name, _Tracked(name, stopper))


async def serve_aiohttp(app: web.Application, *, name: str = "http", host: str = "127.0.0.1",
                        port: int = 0, ssl: ssl_module.SSLContext | None = None,
                        shutdown_timeout: float = 2.0,
                        before_stop: Callable[[], Awaitable[Any]] | None = None) -> Running:
    """Serve an aiohttp application from the running loop and return its handle.

    ``port=0`` (the default) asks the OS for a free port; ``handle.port`` tells which.
    Stopping first awaits ``before_stop()`` while connections are still fully open (a
    socket.io server says goodbye to its clients there), then stops aiohttp, which runs
    the application's ``on_shutdown`` hooks and waits at most ``shutdown_timeout``
    seconds for requests still open, such as a pending long-poll. (aiohttp stops reading
    from connections before ``on_shutdown``, so a goodbye said there waits out the
    timeout for replies that are never read.)

    Raises :class:`ServerStartError` if the address cannot be used.
    """
    await stop(name)  # first: a re-run on a fixed port needs the old server gone
    # handle_signals=False: the kernel owns SIGINT; a server must never take it over.
    runner = web.AppRunner(app, handle_signals=False, access_log=None,
                           shutdown_timeout=shutdown_timeout)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=ssl)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise _explain_bind_error(exc, host, port) from exc
    async def close() -> None:
        try:
            if before_stop is not None:
                await before_stop()
        finally:
            await runner.cleanup()

    bound_port = runner.addresses[0][1]
    handle = Running(name, "https" if ssl else "http", host, bound_port, close)
    await _replace(name, handle)
    return handle


async def serve_websockets(handler: Callable[[Any], Awaitable[None]], *, name: str = "ws",
                           host: str = "127.0.0.1", port: int = 0,
                           ssl: ssl_module.SSLContext | None = None,
                           **options: Any) -> Running:
    """Serve a ``websockets`` connection handler from the running loop; return its handle.

    ``handler(connection)`` runs once per client, as in ``websockets.asyncio.server.serve``;
    ``options`` go to that function unchanged (for example ``max_size``). With an ``ssl``
    context the URL is ``wss://``. Stopping closes every connection with code 1001
    ("going away"), as a browser sees when a server shuts down. Example::

        async def echo(connection):
            async for message in connection:
                await connection.send(message)

        server = await serve_websockets(echo, name="echo")
    """
    await stop(name)  # first: a re-run on a fixed port needs the old server gone
    # permessage-deflate costs more CPU than it saves on a loopback course (it halved
    # fan-out throughput when measured; docs/architecture.md, "Choices").
    options.setdefault("compression", None)
    try:
        server: WebSocketsServer = await websockets_serve(handler, host, port, ssl=ssl,
                                                          **options)
    except OSError as exc:
        raise _explain_bind_error(exc, host, port) from exc

    async def close() -> None:
        server.close()
        await server.wait_closed()

    bound_port = server.sockets[0].getsockname()[1]
    handle = Running(name, "wss" if ssl else "ws", host, bound_port, close)
    await _replace(name, handle)
    return handle


async def wait_for(condition: Callable[[], Any] | Awaitable[Any], timeout: float = 5.0,
                   *, interval: float = 0.01, what: str | None = None) -> Any:
    """Wait until ``condition`` holds, at most ``timeout`` seconds; return its value.

    ``condition`` is either a function, called every ``interval`` seconds until it returns
    something truthy, or an awaitable. Raises :class:`TimeoutError` naming what it waited
    for. Example::

        await wait_for(lambda: len(received) == 3, timeout=5)
    """
    description = what or _describe(condition)
    if inspect.isawaitable(condition):
        try:
            return await asyncio.wait_for(condition, timeout)
        except TimeoutError:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {description}") from None
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"gave up after {timeout:g} s waiting for {description}. "
                               f"Re-ran one cell? Run its section from the top: what it "
                               f"waits for may have happened on the first run.")
        await asyncio.sleep(interval)


def _describe(condition: Any) -> str:
    """The condition in the learner's words: a lambda's source, else the function's name."""
    name = getattr(condition, "__qualname__", None)
    if name and not name.endswith("<lambda>"):
        return name
    source = _lambda_source(condition)
    return f"`{source}`" if source else "the condition"


def _lambda_source(function: Any) -> str | None:
    """The text of a lambda as written (``lambda: len(log) == 2``), or None if unknown."""
    try:
        lines, first = inspect.getsourcelines(function)
    except (OSError, TypeError):
        return None
    text = textwrap.dedent("".join(lines))
    for attempt in (text, f"({text.strip()})"):  # a lambda on a continuation line
        try:
            tree = ast.parse(attempt)
        except SyntaxError:
            continue
        found = [ast.get_source_segment(attempt, node) for node in ast.walk(tree)
                 if isinstance(node, ast.Lambda)
                 and node.lineno + first - 1 == function.__code__.co_firstlineno]
        if len(found) == 1:
            return found[0]
    return None
