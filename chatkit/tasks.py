"""Which background tasks are still running, and whose they are.

Introduced in notebook 02, whose last cell shows, with :func:`leftover_tasks`, that
stopping everything left no background task of socket.io (or aiohttp, or chatkit)
behind; notebooks 03 and 04 end the same way::

    print("stopped:", await running.stop_all())
    await running.wait_for(lambda: not leftover_tasks(), timeout=5)

:func:`server_tasks` narrows the search to one socket.io server: its engine.io ping
tasks, WebSocket writers and event handlers still running. :func:`chatkit.sio.stop_server`
uses it to end what a stopped server leaves behind::

    server_tasks(sio)    # [<Task ... AsyncSocket._send_ping() ...>, ...]
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from typing import Any

import socketio

__all__ = ["TASK_LIBRARIES", "leftover_tasks", "server_tasks"]

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


def server_tasks(sio: socketio.AsyncServer) -> list[asyncio.Task]:
    """The tasks of the running event loop that run code of the socket.io server ``sio``.

    A task is the server's when the coroutine it was started with is a method of ``sio``,
    of its engine.io server ``sio.eio``, of its manager, or of an object that serves one
    of them (``.server`` is ``sio`` or ``sio.eio``: engine.io's sockets, socket.io's
    namespaces), or a function nested in such a method. That covers engine.io's service
    task, each connection's ping task (``AsyncSocket._send_ping``, which sleeps
    ``ping_interval`` seconds and outlives its connection), a WebSocket connection's
    writer and reader tasks, socket.io's event-handler tasks and the tasks that
    ``sio.emit`` sends with. The task calling this is left out, so a handler may stop
    its own server. Works on any ``socketio.AsyncServer``, subclasses too::

        [task.get_coro().__qualname__ for task in server_tasks(sio)]
        # ['AsyncServer._service_task', 'AsyncSocket._send_ping', ...]

    Not listed: aiohttp's request tasks, which call into engine.io but belong to the web
    server (they end when it stops), and asyncio's helper tasks (``asyncio.wait_for``
    wraps what it waits for in one on Python 3.11), which end with their waiter.

    Why look at every task of the loop: python-engineio and python-socketio keep no list
    of the tasks they start. ``start_background_task`` hands the task to its caller and
    the callers drop it (engine.io's ping task) or put it in a module-level set shared
    by every server (socket.io's event handlers), and the WebSocket writer is started
    with ``asyncio.ensure_future`` and kept by nobody. Recording ``start_background_task``
    in a subclass would miss the writer and the emits, and only work on servers built
    from that subclass.
    """
    eio = sio.eio
    current = asyncio.current_task()
    found = []
    for task in asyncio.all_tasks():
        if task is current:
            continue
        owner = _bound_self(task.get_coro())
        if owner is None:
            continue
        if (owner is sio or owner is eio or owner is sio.manager
                or getattr(owner, "server", None) is sio
                or getattr(owner, "server", None) is eio):
            found.append(task)
    return found


def _bound_self(coroutine: Any) -> object | None:
    """The ``self`` that ``coroutine`` (a task's) runs a method of, or None.

    A nested function (engine.io's ``writer``) sees its method's ``self`` as a free
    variable, and a frame's locals include those.
    """
    if inspect.iscoroutine(coroutine):
        names = inspect.getcoroutinelocals(coroutine)
    elif inspect.isgenerator(coroutine):
        names = inspect.getgeneratorlocals(coroutine)
    else:  # a task of something that is neither, e.g. a Cython coroutine: no frame to read
        return None
    return names.get("self")


def _package(coroutine: Any) -> str:
    """The top-level package whose code ``coroutine`` (a task's) runs, e.g. "engineio"."""
    frame = getattr(coroutine, "cr_frame", None) or getattr(coroutine, "gi_frame", None)
    module = (frame.f_globals.get("__name__", "") if frame is not None
              else type(coroutine).__module__)
    return (module or "").partition(".")[0]
