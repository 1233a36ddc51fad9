"""Raw python-socketio in a notebook: serve an ``AsyncServer`` and stop it cleanly.

Introduced in notebook 02, which attaches a ``socketio.AsyncServer`` to an aiohttp
application and serves it with :func:`chatkit.running.serve_aiohttp`::

    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    app = web.Application()
    sio.attach(app)
    server = await running.serve_aiohttp(app, name="nb02",
                                         before_stop=lambda: stop_server(sio, grace=1))

or, in one line, ``server = await serve(sio, name="nb02")``.

Notebook 03 breaks connections on purpose: a :class:`Relay` sits between clients and the
server and can cut the connections that pass through it, or silence them::

    link = await relay(server.url, name="link")     # clients connect to link.url
    link.cut()         # both ends see their connection close, at once
    link.silence()     # nothing passes any more, and nobody is told

python-socketio leaves the stopping to you: ``AsyncServer.shutdown()`` ends engine.io's
background task but does not disconnect anyone, fails when called twice, and each
connection keeps a ping task asleep for ``ping_interval`` seconds. :func:`stop_server`
does all of it, once. Clients need little: make them with
``socketio.AsyncClient(handle_sigint=False, reconnection=False)`` and stop them with
``await client.shutdown()`` (safe to call when already disconnected), or with
:func:`close_client`, which also cleans up after a connection that went silent.

Two helpers check what a notebook claims. "Nobody else got it" cannot be waited for, so
:func:`settle` makes the server call every client once and waits for the answers (one
connection delivers in order: after that, everything sent earlier has arrived)::

    await settle(sio, clients)            # clients: socketio.AsyncClient objects

and a notebook's last cell shows, with :func:`leftover_tasks`, that stopping everything
left no background task of socket.io (or aiohttp, or chatkit) behind::

    await running.wait_for(lambda: not leftover_tasks(), timeout=5)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import socketio
from aiohttp import web

from chatkit import running

__all__ = ["RESERVED_EVENTS", "Relay", "TASK_LIBRARIES", "check_event_name", "close_client",
           "leftover_tasks", "relay", "serve", "settle", "stop_server"]

logger = logging.getLogger(__name__)

#: Event names socket.io uses itself. python-socketio reserves ``connect`` and
#: ``disconnect`` (and ``connect_error`` on the client); the JavaScript client refuses to
#: emit those and ``disconnecting``, ``newListener``, ``removeListener``; ``message`` is
#: the event that ``send()`` emits.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "message", "newListener", "removeListener"})


def check_event_name(event: str) -> str:
    """Return ``event`` if it is free for an application to use; raise otherwise.

    The JavaScript client throws ``Error: "connect" is a reserved event name`` from
    ``socket.emit("connect")``; python-socketio sends such an event without a word.
    ``await client.emit(check_event_name(name), data)`` gives Python the same guard.

    Raises:
        ValueError: ``event`` is in :data:`RESERVED_EVENTS`.
    """
    if event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} is a reserved event name; pick another name")
    return event


async def stop_server(sio: socketio.AsyncServer, *, grace: float = 0.0,
                      timeout: float = 2.0) -> None:
    """Disconnect every client of ``sio`` and end its background tasks.

    Each client gets a socket.io disconnect (its reason: ``"io server disconnect"`` in
    JavaScript, ``"server disconnect"`` in Python) and the server's ``disconnect``
    handlers run. Then the server closes their engine.io connections; with ``grace``
    seconds it first gives clients that long to close them themselves, as socket.io
    clients do. ``timeout`` bounds each wait that follows, for a connection's last packets
    and for engine.io's background task to end: a wait that runs out is logged (at debug
    level) and the stop goes on, so it never raises for a slow client. Safe to call more
    than once, and on a server that never had a client.

    Call it *before* the web server stops (``serve_aiohttp(..., before_stop=...)``, as
    :func:`serve` does), not from an aiohttp ``on_shutdown`` hook: by then aiohttp no
    longer reads from open connections, and the stop waits out its shutdown timeout.
    ``grace=1`` makes the stop quick and clean: a WebSocket client is gone in
    milliseconds, and python-engineio's long-polling client needs the grace to exit
    cleanly (without it, it lingers ``max(ping_interval, ping_timeout)`` + 5 s and logs
    "packet queue is empty, aborting").
    """
    for namespace in list(sio.manager.get_namespaces()):
        for sid, _ in list(sio.manager.get_participants(namespace, None)):
            await sio.disconnect(sid, namespace=namespace)
    eio = sio.eio
    if grace > 0:
        try:
            await running.wait_for(lambda: all(s.closed for s in eio.sockets.values()),
                                   grace)
        except TimeoutError:
            pass
    for eio_sid, socket in list(eio.sockets.items()):
        if socket.closed:
            continue
        try:
            await asyncio.wait_for(eio.disconnect(eio_sid), timeout)
        except TimeoutError:
            logger.debug("engine.io client %s still open after %g s", eio_sid, timeout)
    service = eio.service_task_handle
    if service is not None:
        eio.service_task_handle = None
        if eio.service_task_event is not None:
            eio.service_task_event.set()  # what sio.shutdown() does, minus its second-call bug
        else:
            service.cancel()  # created but not started yet
        try:
            await asyncio.wait_for(service, timeout)  # cancels it when the time is up
        except TimeoutError:
            logger.debug("engine.io's service task still running after %g s", timeout)
        except asyncio.CancelledError:
            if asyncio.current_task().cancelling():
                raise  # the stop itself is being cancelled, not only the service task
    for task in _ping_tasks(eio):
        task.cancel()


def _ping_tasks(eio: object) -> list[asyncio.Task]:
    """engine.io's per-connection ``AsyncSocket._send_ping`` tasks of this server."""
    tasks = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if getattr(coro, "__qualname__", "") == "AsyncSocket._send_ping" and frame:
            owner = frame.f_locals.get("self")
            if getattr(owner, "server", None) is eio:
                tasks.append(task)
    return tasks


async def settle(sio: socketio.AsyncServer, clients: Iterable[socketio.AsyncClient], *,
                 event: str = "sync", timeout: float = 5.0) -> list[Any]:
    """Call every connected client once, in each namespace it is in; return the answers.

    One connection delivers in order, so once a client has answered, every event that
    ``sio`` sent it earlier has arrived: settle first, then check that a client did *not*
    get something. The calls go out together (``sio.call(event, to=sid,
    namespace=...)``); clients that are not connected, or that the server has already
    let go, are skipped. A python-socketio client answers any call; give each client a
    handler for ``event`` (``client.on("sync", lambda: True, namespace=ns)``), or its
    catch-all handler, if it has one, sees the call. Returns the answers in the order of
    ``clients`` and their namespaces. Raises :class:`TimeoutError` if a client does not
    answer within ``timeout`` seconds. Note: this function is a coroutine.
    """
    targets = [(sid, namespace) for client in clients if client.connected
               for namespace, sid in list(client.namespaces.items())
               if sio.manager.is_connected(sid, namespace)]
    answers = await asyncio.gather(
        *(sio.call(event, to=sid, namespace=namespace, timeout=timeout)
          for sid, namespace in targets), return_exceptions=True)
    for (sid, namespace), answer in zip(targets, answers):
        if isinstance(answer, socketio.exceptions.TimeoutError):
            raise TimeoutError(f"the client {sid} of {namespace} did not answer {event!r} "
                               f"within {timeout:g} s")
        if isinstance(answer, BaseException):
            raise answer
    return answers


#: The libraries whose tasks :func:`leftover_tasks` looks for, by top-level package.
TASK_LIBRARIES = ("aiohttp", "chatkit", "engineio", "socketio", "websockets")


def leftover_tasks(libraries: Iterable[str] = TASK_LIBRARIES) -> list[asyncio.Task]:
    """The tasks of the running event loop that still run code of ``libraries``.

    A task belongs to the package of the coroutine it was started with
    (``engineio.async_socket`` is engine.io's); the task calling this is left out. Once
    everything is stopped (``running.stop_all()``) the list empties within moments, as
    cancelled tasks finish on the next turns of the loop, so wait for it::

        await running.wait_for(lambda: not leftover_tasks(), timeout=5)

    A task still there after that is a leak: something kept running that nobody can
    stop any more.
    """
    wanted = set(libraries)
    current = asyncio.current_task()
    return [task for task in asyncio.all_tasks()
            if task is not current and _package(task.get_coro()) in wanted]


def _package(coroutine: Any) -> str:
    """The top-level package whose code ``coroutine`` (a task's) runs, e.g. "engineio"."""
    frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
    module = (frame.f_globals.get("__name__", "") if frame is not None
              else type(coroutine).__module__)
    return (module or "").partition(".")[0]


async def serve(sio: socketio.AsyncServer, *, name: str = "socketio",
                host: str = "127.0.0.1", port: int = 0) -> running.Running:
    """Attach ``sio`` to a new aiohttp application and serve it; return the handle.

    The handle's ``url`` is what a client connects to; ``await handle.stop()`` (or
    :func:`chatkit.running.stop_all`) first runs :func:`stop_server`. As with every
    server in :mod:`chatkit.running`, starting another under the same ``name`` stops
    this one first.
    """
    app = web.Application()
    sio.attach(app)
    return await running.serve_aiohttp(app, name=name, host=host, port=port,
                                       before_stop=lambda: stop_server(sio, grace=1))


async def close_client(client: socketio.AsyncClient) -> None:
    """Stop ``client`` like ``await client.shutdown()``, and close what it may leave open.

    python-engineio's client (4.15) leaves two things open that aiohttp later reports on
    stderr ("Unclosed response", "Unclosed client session") when they are
    garbage-collected, in whichever cell happens to run: its WebSocket, after a server
    that stopped answering ("transport error"), and its HTTP session, after a connection
    that failed. This closes both. Safe to call more than once.
    """
    await client.shutdown()
    websocket = getattr(client.eio, "ws", None)
    if websocket is not None and not websocket.closed:
        await websocket.close()
    session = getattr(client.eio, "http", None)
    if session is not None and not session.closed and not client.eio.external_http:
        await session.close()


class Relay:
    """A TCP relay on 127.0.0.1 that forwards every connection to a server, until told
    to break them. Start one with :func:`relay`.

    Attributes:
        url: where clients connect instead of the server (same scheme, the relay's port).
    """

    def __init__(self, target_url: str):
        parts = urlsplit(target_url)
        self._scheme, self._target = parts.scheme, (parts.hostname, parts.port)
        self._links: list[tuple[list[asyncio.StreamWriter], list[asyncio.Task]]] = []
        self._server: asyncio.Server | None = None
        self.url = ""

    async def _start(self) -> Relay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"{self._scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:  # the server is not there: the client sees a refused connection
            writer.transport.abort()
            return
        writers = [writer, upstream_writer]
        pumps = [asyncio.ensure_future(self._pump(reader, upstream_writer, writers)),
                 asyncio.ensure_future(self._pump(upstream_reader, writer, writers))]
        self._links.append((writers, pumps))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    writers: list[asyncio.StreamWriter]) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        for each in writers:  # one side closed: close the other too
            each.transport.abort()

    def cut(self) -> None:
        """Break every connection open now, as a crashed server or a reset network does:
        both ends see their connection close. New connections pass as before."""
        for writers, pumps in self._links:
            for pump in pumps:
                pump.cancel()
            for writer in writers:
                writer.transport.abort()

    def silence(self) -> None:
        """Stop forwarding on every connection open now, without closing anything, as a
        pulled cable or a dead Wi-Fi does: neither end is told; only missing pings
        (engine.io's heartbeat) can reveal it. New connections pass as before."""
        for _, pumps in self._links:
            for pump in pumps:
                pump.cancel()

    async def stop(self) -> None:
        """Stop listening and close every connection. Safe to call more than once."""
        if self._server is not None:
            self._server.close()
        self.cut()
        pumps = [pump for _, link_pumps in self._links for pump in link_pumps]
        await asyncio.gather(*pumps, return_exceptions=True)
        self._links.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def __repr__(self) -> str:
        return f"<Relay {self.url} -> {self._target[0]}:{self._target[1]}>"


async def relay(url: str, *, name: str = "relay") -> Relay:
    """Start a :class:`Relay` to the server at ``url`` (``http://host:port``); return it.

    Clients connect to ``relay.url`` and reach the server through it, until
    :meth:`Relay.cut` or :meth:`Relay.silence`. Like every server in
    :mod:`chatkit.running` it has a ``name``: starting another under the same name stops
    this one first, and :func:`chatkit.running.stop_all` stops it.
    """
    started = await Relay(url)._start()
    await running.track(name, started.stop)
    return started
