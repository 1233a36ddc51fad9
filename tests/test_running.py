"""chatkit.running: servers inside a running loop, on real sockets."""

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from chatkit import running
from chatkit.websocket import WebSocket, echo
from tests.conftest import timeout


def hello_app() -> web.Application:
    app = web.Application()

    async def hello(request: web.Request) -> web.Response:
        return web.Response(text="hello")

    app.router.add_get("/", hello)
    return app


async def get_text(url: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


async def test_aiohttp_app_serves_on_a_free_port():
    """Port 0 becomes a real port, and the URL reaches the app."""
    server = await running.serve_aiohttp(hello_app(), name="hello")
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert await get_text(server.url + "/") == "hello"


async def test_stop_frees_the_port_and_is_idempotent():
    """After stop() the port is free again; a second stop() does nothing."""
    server = await running.serve_aiohttp(hello_app(), name="hello")
    await server.stop()
    assert server.stopped
    assert port_is_free(server.port)
    await server.stop()
    assert "hello" not in running.running()


async def test_same_name_replaces_the_previous_server():
    """Starting under a name already in use stops the old server first (re-run safety)."""
    first = await running.serve_websockets(echo, name="echo")
    second = await running.serve_websockets(echo, name="echo")
    assert first.stopped and not second.stopped
    assert running.running() == {"echo": second.url}


async def test_port_clash_is_a_clear_exception():
    """A port in use raises ServerStartError that says so, and the loop keeps running."""
    taken = await running.serve_websockets(echo, name="first")
    with pytest.raises(running.ServerStartError, match="already in use"):
        await running.serve_aiohttp(hello_app(), name="second", port=taken.port)
    with pytest.raises(running.ServerStartError, match="port=0"):
        await running.serve_websockets(echo, name="third", port=taken.port)
    assert set(running.running()) == {"first"}


async def test_bad_host_is_a_clear_exception():
    """An address that is not this machine's is explained, not a bare errno."""
    with pytest.raises(running.ServerStartError, match="not an address of this machine"):
        await running.serve_websockets(echo, name="far", host="192.0.2.1")


async def test_stop_all_stops_everything_and_reports_names():
    """stop_all() stops servers and tracked things, newest first."""
    stopped_clients = []

    async def stop_client() -> None:
        stopped_clients.append("alice")

    await running.serve_websockets(echo, name="echo")
    await running.serve_aiohttp(hello_app(), name="hello")
    await running.track("client:alice", stop_client)
    assert await running.stop_all() == ["client:alice", "hello", "echo"]
    assert stopped_clients == ["alice"]
    assert running.running() == {}


async def test_tracking_a_name_again_stops_the_old_one():
    """track() under a used name runs the old stopper first."""
    stops = []
    await running.track("client:bob", lambda: asyncio.sleep(0, stops.append("old")))
    await running.track("client:bob", lambda: asyncio.sleep(0, stops.append("new")))
    assert stops == ["old"]


async def test_stopping_the_websocket_server_tells_clients_going_away(echo_server):
    """Clients of a stopped WebSocket server see close code 1001."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    await echo_server.stop()
    closed = await ws.closed(timeout(5))
    assert (closed.code, closed.was_clean) == (1001, True)


async def test_wait_for_returns_the_value_when_the_condition_holds():
    """wait_for() returns the first truthy value of the condition."""
    box = []
    asyncio.get_running_loop().call_later(0.05, box.append, 42)
    assert await running.wait_for(lambda: box, timeout(5)) == [42]


async def test_wait_for_accepts_an_awaitable():
    """wait_for() also waits on a coroutine, with the same timeout rules."""
    assert await running.wait_for(asyncio.sleep(0, "done"), timeout(5)) == "done"


async def test_wait_for_times_out_with_a_message():
    """A condition that never holds raises TimeoutError naming what was awaited."""
    with pytest.raises(TimeoutError, match="0.05 s waiting for the reply"):
        await running.wait_for(lambda: False, 0.05, what="the reply")
    with pytest.raises(TimeoutError, match="waiting for"):
        await running.wait_for(asyncio.sleep(10), 0.05)


async def test_wait_for_quotes_the_lambda_it_waited_for_and_what_to_do():
    """The timeout names the condition as written and says how to re-run safely."""
    log = []
    with pytest.raises(TimeoutError) as raised:
        await running.wait_for(lambda: len(log) == 2, 0.05)
    assert "waiting for `lambda: len(log) == 2`" in str(raised.value)
    assert "Re-ran one cell? Run its section from the top" in str(raised.value)


async def test_wait_for_names_a_function_condition():
    """A named function is described by its name, not its source."""
    def two_replies():
        return False

    with pytest.raises(TimeoutError, match="waiting for .*two_replies"):
        await running.wait_for(two_replies, 0.05)
