"""chatkit.sio: a raw python-socketio server served and stopped cleanly, on real sockets."""

import asyncio
import logging

import pytest
import socketio

from chatkit import running
from chatkit.sio import (RESERVED_EVENTS, check_event_name, close_client, leftover_tasks,
                         relay, serve, settle, stop_server)
from tests.conftest import timeout


def new_server() -> socketio.AsyncServer:
    return socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)


def new_client() -> socketio.AsyncClient:
    return socketio.AsyncClient(handle_sigint=False, reconnection=False)


async def no_tasks_left() -> None:
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")


async def test_serve_answers_a_client_on_a_free_port():
    """serve() gives a URL on a free port; a client connects there and gets an ack."""
    sio = new_server()

    @sio.on("upper")
    async def upper(sid, text):
        return text.upper()

    server = await serve(sio, name="sio")
    assert server.port > 0
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    assert await client.call("upper", "hi", timeout=timeout(5)) == "HI"
    await client.shutdown()


TRANSPORTS = pytest.mark.parametrize("transports", [["websocket"], ["polling"], None],
                                     ids=["websocket", "polling", "default"])


@TRANSPORTS
async def test_stopping_the_server_disconnects_its_clients(transports):
    """Stopping the server tells each client and the server's handler "server disconnect"."""
    sio = new_server()
    seen = []

    @sio.event
    async def disconnect(sid, reason):
        seen.append(("server", reason))

    server = await serve(sio, name="sio")
    client = new_client()
    client.on("disconnect", lambda reason: seen.append(("client", reason)))
    await client.connect(server.url, transports=transports, wait_timeout=timeout(5))
    await server.stop()
    await running.wait_for(lambda: not client.connected, timeout(5))
    assert sorted(seen) == [("client", "server disconnect"), ("server", "server disconnect")]
    await client.shutdown()


@TRANSPORTS
async def test_stop_server_with_grace_leaves_no_task_behind(transports):
    """stop_server(grace=...) before the web server stops leaves no socket.io task behind."""
    sio = new_server()
    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=transports, wait_timeout=timeout(5))
    await stop_server(sio, grace=timeout(1))
    assert not client.connected
    await server.stop()
    await client.shutdown()
    await running.wait_for(lambda: not leftover_tasks(), timeout(5), what="no tasks left")


async def test_clients_leaving_first_leave_no_task_behind():
    """Clients that disconnect before the server stops leave no engine.io task behind."""
    sio = new_server()
    server = await serve(sio, name="sio")
    clients = [new_client() for _ in range(3)]
    for client in clients:
        await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    for client in clients:
        await client.shutdown()
    await server.stop()
    await no_tasks_left()


async def test_stop_server_is_safe_to_repeat_and_without_clients():
    """stop_server() twice, or on a server nobody used, raises nothing."""
    idle = new_server()
    await stop_server(idle)
    sio = new_server()
    server = await serve(sio, name="sio")
    client = new_client()
    await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
    await stop_server(sio)
    await stop_server(sio)
    await server.stop()
    await client.shutdown()
    await no_tasks_left()


async def test_a_server_can_be_served_again_after_a_stop():
    """The same AsyncServer, served again after a stop, accepts clients (a re-run cell)."""
    sio = new_server()

    @sio.on("ping-me")
    async def ping_me(sid):
        return "pong"

    for _ in range(2):
        server = await serve(sio, name="sio")
        client = new_client()
        await client.connect(server.url, transports=["websocket"], wait_timeout=timeout(5))
        assert await client.call("ping-me", timeout=timeout(5)) == "pong"
        await client.shutdown()
        await server.stop()
    await no_tasks_left()


async def test_same_name_replaces_the_previous_server():
    """serve() under a name already running stops the old server first."""
    first = await serve(new_server(), name="sio")
    second = await serve(new_server(), name="sio")
    assert first.stopped and not second.stopped
    assert running.running() == {"sio": second.url}


def test_check_event_name_refuses_reserved_names():
    """Every reserved name raises ValueError naming it; other names come back unchanged."""
    for event in sorted(RESERVED_EVENTS):
        with pytest.raises(ValueError, match=f"'{event}' is a reserved event name"):
            check_event_name(event)
    assert check_event_name("chat") == "chat"
    assert {"connect", "disconnect", "connect_error", "message"} <= RESERVED_EVENTS


async def served_with_reasons() -> tuple[socketio.AsyncServer, running.Running, list[str]]:
    """A served server whose disconnect handler writes each reason down."""
    sio = new_server()
    reasons: list[str] = []

    @sio.event
    async def disconnect(sid, reason):
        reasons.append(reason)

    return sio, await serve(sio, name="sio"), reasons


def client_with_reasons() -> tuple[socketio.AsyncClient, list[str]]:
    client = new_client()
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    return client, reasons


async def test_relay_forwards_and_stops_cleanly():
    """A client connected to a relay's URL talks to the server behind it; stop ends all."""
    sio, server, _ = await served_with_reasons()

    @sio.on("upper")
    async def upper(sid, text):
        return text.upper()

    link = await relay(server.url, name="link")
    assert link.url.startswith("http://127.0.0.1:") and link.url != server.url
    client = new_client()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    assert await client.call("upper", "through", timeout=timeout(5)) == "THROUGH"
    await running.stop_all()
    await running.wait_for(lambda: not client.connected, timeout(5))
    await client.shutdown()
    await no_tasks_left()


async def test_cut_closes_both_ends_at_once():
    """cut(): the client sees "transport error", the server "transport close"."""
    _, server, server_reasons = await served_with_reasons()
    link = await relay(server.url, name="link")
    client, client_reasons = client_with_reasons()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.cut()
    await running.wait_for(lambda: client_reasons and server_reasons, timeout(2))
    assert (client_reasons, server_reasons) == (["transport error"], ["transport close"])
    await close_client(client)


async def test_new_connections_pass_after_a_cut():
    """A relay keeps forwarding new connections after cut(): clients can come back."""
    _, server, _ = await served_with_reasons()
    link = await relay(server.url, name="link")
    client = new_client()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.cut()
    await running.wait_for(lambda: not client.connected, timeout(2))
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    assert client.connected
    await client.shutdown()


async def test_silence_ends_in_a_ping_timeout_and_close_client_cleans_up():
    """silence(): the server sees "ping timeout", the client "transport error"; then
    close_client closes the WebSocket python-engineio leaves open."""
    _, server, server_reasons = await served_with_reasons()
    link = await relay(server.url, name="link")
    client, client_reasons = client_with_reasons()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.silence()
    await running.wait_for(lambda: client_reasons and server_reasons, timeout(6))
    assert (client_reasons, server_reasons) == (["transport error"], ["ping timeout"])
    websocket = client.eio.ws
    await link.stop()
    await close_client(client)
    assert websocket.closed
    await close_client(client)  # a second call is harmless


async def test_a_relay_to_nowhere_refuses_like_the_server_would():
    """With no server behind it, connecting through a relay fails with ConnectionError;
    close_client closes the HTTP session the failed try left open."""
    sio, server, _ = await served_with_reasons()
    link = await relay(server.url, name="link")
    await server.stop()
    client = new_client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(2))
    assert not client.eio.http.closed  # what python-engineio leaves behind
    await close_client(client)
    assert client.eio.http.closed


async def test_stop_server_survives_a_service_task_that_does_not_end(caplog):
    """A service task still running after `timeout` is cancelled and logged, not raised."""
    sio = new_server()
    sio.eio.service_task_event = asyncio.Event()  # set by the stop, ignored by this task
    stuck = sio.eio.service_task_handle = asyncio.ensure_future(asyncio.Event().wait())
    with caplog.at_level(logging.DEBUG, logger="chatkit.sio"):
        await stop_server(sio, timeout=0.05)
    assert stuck.cancelled()
    assert "service task still running after 0.05 s" in caplog.text


async def test_leftover_tasks_lists_library_tasks_until_all_is_stopped():
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
    await no_tasks_left()
    mine.cancel()


async def test_leftover_tasks_sees_chatkit_tasks_such_as_a_relays():
    """A relay's connection is two chatkit tasks: listed while open, gone once stopped."""
    _, server, _ = await served_with_reasons()
    link = await relay(server.url, name="link")
    client = new_client()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    pumps = [task for task in leftover_tasks(libraries=["chatkit"])
             if task.get_coro().__qualname__ == "Relay._pump"]
    assert len(pumps) == 2
    await client.shutdown()
    await running.stop_all()
    await no_tasks_left()


async def settle_world() -> tuple[socketio.AsyncServer, dict[str, socketio.AsyncClient],
                                  dict[str, list]]:
    """A served server with /news too; ann in / and /news, bob in /, cy disconnected."""
    sio = new_server()
    sio.on("connect", lambda sid, environ: None, namespace="/news")
    server = await serve(sio, name="sio")
    clients, got = {}, {}
    for name, namespaces in [("ann", ["/", "/news"]), ("bob", ["/"]), ("cy", ["/"])]:
        client = clients[name] = new_client()
        inbox = got[name] = []
        for namespace in namespaces:
            client.on("n", lambda n, ns=namespace, inbox=inbox: inbox.append((ns, n)),
                      namespace=namespace)
            client.on("sync", lambda: True, namespace=namespace)
        await client.connect(server.url, namespaces=namespaces, transports=["websocket"],
                             wait_timeout=timeout(5))
    await clients["cy"].disconnect()
    return sio, clients, got


async def test_settle_waits_for_everything_sent_before():
    """After settle(), every event emitted before it has arrived, in every namespace."""
    sio, clients, got = await settle_world()
    for n in range(50):
        await sio.emit("n", n)
        await sio.emit("n", n, namespace="/news")
    answers = await settle(sio, clients.values(), timeout=timeout(5))
    assert answers == [True, True, True]  # ann in / and /news, bob in /; cy is gone
    assert got["ann"] == [(ns, n) for n in range(50) for ns in ("/", "/news")]
    assert got["bob"] == [("/", n) for n in range(50)]
    assert got["cy"] == []
    for client in clients.values():
        await client.shutdown()


async def test_settle_raises_timeout_error_for_a_client_that_does_not_answer():
    """A client whose answer does not come within the timeout makes settle() raise."""
    sio, clients, _ = await settle_world()
    release = asyncio.Event()

    async def stuck():
        await release.wait()
        return True

    clients["bob"].on("sync", stuck)
    with pytest.raises(TimeoutError, match="did not answer 'sync' within 0.1 s"):
        await settle(sio, clients.values(), timeout=0.1)
    release.set()
    for client in clients.values():
        await client.shutdown()
