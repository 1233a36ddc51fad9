"""Raw python-socketio in a notebook: serve an ``AsyncServer`` and stop it cleanly.

Introduced in notebook 02, which attaches a ``socketio.AsyncServer`` to an aiohttp
application and serves it with :func:`chatkit.running.serve_aiohttp`::

    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    app = web.Application()
    sio.attach(app)
    server = await running.serve_aiohttp(app, name="nb02",
                                         before_stop=lambda: stop_server(sio, grace=1))

From notebook 03 on, in one line: ``server = await serve(sio, name="nb03")``.

python-socketio leaves the stopping to you: ``AsyncServer.shutdown()`` ends engine.io's
background task but does not disconnect anyone, fails when called twice, and each
connection keeps a ping task asleep for ``ping_interval`` seconds. :func:`stop_server`
does all of it, once. Clients need little: make them with
``socketio.AsyncClient(handle_sigint=False, reconnection=False)`` and stop them with
``await client.shutdown()`` (safe to call when already disconnected), or with
:func:`close_client` (notebook 03), which also cleans up after a connection that went
silent. :func:`check_event_name` (notebook 02) refuses the event names socket.io keeps
for itself.

"Nobody else got it" cannot be waited for, so :func:`settle` (notebook 04) makes the
server call every client once and waits for the answers (one connection delivers in
order: after that, everything sent earlier has arrived)::

    await settle(sio, clients)            # clients: socketio.AsyncClient objects
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

import socketio
from aiohttp import web

from chatkit import running
from chatkit.tasks import server_tasks

__all__ = ["RESERVED_EVENTS", "check_event_name", "close_client", "serve", "settle",
           "stop_server"]

logger = logging.getLogger(__name__)

#: Event names socket.io uses itself: the JavaScript client and server (4.x) refuse to
#: emit these six. python-socketio keeps ``connect`` and ``disconnect`` (and
#: ``connect_error`` on the client) for its lifecycle handlers, yet emits them all.
#: ``message`` is not among them: it is the event ``send()`` emits, legal to emit, best
#: left to ``send()``.
RESERVED_EVENTS = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                             "newListener", "removeListener"})


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
    clients do. Last, the server's tasks still running
    (:func:`chatkit.tasks.server_tasks`) end: ping tasks are cancelled at once, the others
    (WebSocket writers, event handlers) are cancelled if they have not ended on their own.
    ``timeout`` bounds each wait, for a connection's last packets, for engine.io's
    background task and for those tasks to end: a wait that runs out is logged (at debug
    level) and the stop goes on, so it never raises for a slow client. When it returns,
    ``server_tasks(sio)`` is empty, unless a client connected again meanwhile. Safe to
    call more than once, and on a server that never had a client.

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
    await _end_tasks(sio, timeout)


async def _end_tasks(sio: socketio.AsyncServer, timeout: float) -> None:
    """End what is left of ``sio``'s tasks once its connections are closed."""
    tasks = server_tasks(sio)
    # A ping task sleeps ping_interval seconds whether or not its connection is still
    # there: nothing is lost by cancelling it now. The others (a WebSocket's writer and
    # reader, an event handler) are ending, or may still send something: they get
    # `timeout` seconds to end by themselves.
    for task in tasks:
        if task.get_coro().__qualname__ == "AsyncSocket._send_ping":
            task.cancel()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        logger.debug("cancelling %s, still running %g s after the stop", task, timeout)
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=timeout)


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
    for (sid, namespace), answer in zip(targets, answers, strict=True):
        if isinstance(answer, socketio.exceptions.TimeoutError):
            raise TimeoutError(f"the client {sid} of {namespace} did not answer {event!r} "
                               f"within {timeout:g} s")
        if isinstance(answer, BaseException):
            raise answer
    return answers


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
