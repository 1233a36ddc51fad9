"""chatkit.tasks: which tasks are left, and which belong to a socket.io server, on real sockets."""

import asyncio
import logging

import engineio
import socketio

from chatkit import running
from chatkit.faults import relay
from chatkit.sio import serve, stop_server
from chatkit.tasks import TASK_LIBRARIES, leftover_tasks, server_tasks
from tests.conftest import timeout

PING = "AsyncSocket._send_ping"


def names(tasks: list[asyncio.Task]) -> set[str]:
    """The qualified names of the coroutines ``tasks`` were started with."""
    return {task.get_coro().__qualname__ for task in tasks}


def module(task: asyncio.Task) -> str:
    """The module whose code ``task`` runs."""
    return task.get_coro().cr_frame.f_globals["__name__"]


async def ping_tasks(sio: socketio.AsyncServer) -> list[asyncio.Task]:
    """The server's ping tasks, once there is one. Between a ping and its pong a
    connection has none, so wait for the next."""
    return await running.wait_for(
        lambda: [task for task in server_tasks(sio) if task.get_coro().__qualname__ == PING],
        timeout(5), what="a ping task")


async def test_leftover_tasks_lists_library_tasks_until_all_is_stopped(new_server, new_client):
    """leftover_tasks() names engine.io's and aiohttp's tasks, not the caller's own ones."""
    mine = asyncio.ensure_future(asyncio.Event().wait())
    sio = new_server()
    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    packages = {task.get_coro().cr_frame.f_globals["__name__"].partition(".")[0]
                for task in leftover_tasks()}
    assert {"aiohttp", "engineio"} <= packages
    assert mine not in leftover_tasks() and asyncio.current_task() not in leftover_tasks()
    assert leftover_tasks(libraries=["nothing"]) == []
    await client.shutdown()
    await running.stop_all()
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")
    mine.cancel()


async def test_leftover_tasks_sees_chatkit_tasks_such_as_a_relays(new_server, new_client):
    """A relay's connection is two chatkit tasks: listed while open, gone once stopped."""
    server = await serve(new_server(), name="sio")
    link = await relay(server.url, name="link")
    client = new_client()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    pumps = [task for task in leftover_tasks(libraries=["chatkit"])
             if task.get_coro().__qualname__ == "Relay._pump"]
    assert len(pumps) == 2
    assert "chatkit" in TASK_LIBRARIES
    await client.shutdown()
    await running.stop_all()
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")


async def test_server_tasks_finds_a_live_connections_ping_task_and_nothing_after_stop_server(
        new_server, new_client, no_leftover_tasks):
    """A connected client's ping task, writer and reader are the server's; none after a stop."""
    sio = new_server()
    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    (ping,) = await ping_tasks(sio)
    connection = ping.get_coro().cr_frame.f_locals["self"]
    assert connection.server is sio.eio and connection.sid in sio.eio.sockets
    assert {"AsyncServer._service_task", PING,
            "AsyncSocket._websocket_handler.<locals>.writer",
            "AsyncSocket._websocket_handler.<locals>.websocket_wait"} <= names(server_tasks(sio))
    assert {module(task).partition(".")[0] for task in server_tasks(sio)} == {"engineio"}
    await stop_server(sio)
    assert server_tasks(sio) == []
    assert ping.done()
    await server.stop()


async def test_server_tasks_leaves_out_another_servers_tasks(new_server, new_client):
    """Two servers, a client each: each server's tasks are its own, and none of the clients'."""
    servers = [new_server(), new_server()]
    for n, sio in enumerate(servers):
        server = await serve(sio, name=f"sio-{n}")
        await new_client().connect(server.url, transports=["websocket"],
                                   wait_timeout=timeout(5))
    first, second = [await ping_tasks(sio) for sio in servers]
    assert len(first) == len(second) == 1
    assert not set(server_tasks(servers[0])) & set(server_tasks(servers[1]))
    assert not {task for task in server_tasks(servers[0]) + server_tasks(servers[1])
                if module(task) == "engineio.async_client"}
    await stop_server(servers[0])
    assert server_tasks(servers[0]) == []
    assert not second[0].done() and second[0] in server_tasks(servers[1])


async def test_server_tasks_finds_event_handlers_but_not_the_caller(new_server, new_client):
    """A running event handler is the server's task; a handler asking sees the others only."""
    sio = new_server()
    started, release, seen = asyncio.Event(), asyncio.Event(), []

    @sio.on("slow")
    async def slow(sid):
        started.set()
        await release.wait()

    @sio.on("look")
    async def look(sid):
        seen.extend(server_tasks(sio))
        return asyncio.current_task() in seen

    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    await client.emit("slow")
    await running.wait_for(started.wait(), timeout(5))
    handlers = [task for task in server_tasks(sio)
                if task.get_coro().__qualname__ == "AsyncServer._handle_event_internal"]
    assert len(handlers) == 1
    assert await client.call("look", timeout=timeout(5)) is False
    assert handlers[0] in seen
    release.set()
    await running.wait_for(lambda: handlers[0].done(), timeout(5))


async def test_stop_server_cancels_a_handler_that_does_not_end(new_server, new_client, caplog):
    """A handler still running `timeout` after the stop is cancelled, and that is logged."""
    sio = new_server()
    started = asyncio.Event()

    @sio.on("forever")
    async def forever(sid):
        started.set()
        await asyncio.Event().wait()

    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    await client.emit("forever")
    await running.wait_for(started.wait(), timeout(5))
    (handler,) = [task for task in server_tasks(sio)
                  if task.get_coro().__qualname__ == "AsyncServer._handle_event_internal"]
    with caplog.at_level(logging.DEBUG, logger="chatkit.sio"):
        await stop_server(sio, timeout=0.1)
    assert handler.done()  # python-socketio swallows the CancelledError of a handler
    assert "_handle_event_internal" in caplog.text and "still running 0.1 s" in caplog.text
    assert server_tasks(sio) == []


class _EngineIO(engineio.AsyncServer):
    """An engine.io server of its own class, as chatkit's ChatServer has."""


class _SocketIO(socketio.AsyncServer):
    def _engineio_server_class(self):
        return _EngineIO


async def test_server_tasks_works_on_subclasses(new_client, no_leftover_tasks):
    """A socket.io server subclass on an engine.io subclass: its tasks are found alike."""
    sio = _SocketIO(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    assert isinstance(sio.eio, _EngineIO)
    server = await serve(sio, name="sio")
    await new_client().connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    (ping,) = await ping_tasks(sio)
    await server.stop()
    assert server_tasks(sio) == [] and ping.done()
