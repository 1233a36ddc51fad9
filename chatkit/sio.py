"""Raw python-socketio in a notebook: serve an ``AsyncServer`` and stop it cleanly.

Introduced in notebook 02, which attaches a ``socketio.AsyncServer`` to an aiohttp
application and serves it with :func:`chatkit.running.serve_aiohttp`::

    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    app = web.Application()
    sio.attach(app)
    server = await running.serve_aiohttp(app, name="nb02",
                                         before_stop=lambda: stop_server(sio, grace=1))

or, in one line, ``server = await serve(sio, name="nb02")``.

python-socketio leaves the stopping to you: ``AsyncServer.shutdown()`` ends engine.io's
background task but does not disconnect anyone, fails when called twice, and each
connection keeps a ping task asleep for ``ping_interval`` seconds. :func:`stop_server`
does all of it, once. Clients need no helper: make them with
``socketio.AsyncClient(handle_sigint=False, reconnection=False)`` and stop them with
``await client.shutdown()`` (safe to call when already disconnected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import socketio
from aiohttp import web

from chatkit import running

__all__ = ["RESERVED_EVENTS", "check_event_name", "serve", "stop_server"]

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
    clients do (``timeout`` bounds the wait for the last packets). Safe to call more than
    once, and on a server that never had a client.

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
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(service, timeout)
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
