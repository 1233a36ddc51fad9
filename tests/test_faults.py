"""chatkit.faults: a relay that forwards, cuts and silences real socket.io connections."""

import pytest
import pytest_asyncio
import socketio

from chatkit import running
from chatkit.faults import relay
from chatkit.sio import close_client, serve
from tests.conftest import timeout


@pytest_asyncio.fixture
async def served(new_server) -> tuple[socketio.AsyncServer, running.Running, list[str]]:
    """A served server whose disconnect handler writes each reason down."""
    sio = new_server()
    reasons: list[str] = []

    @sio.event
    async def disconnect(sid, reason):
        reasons.append(reason)

    return sio, await serve(sio, name="sio"), reasons


def client_with_reasons(new_client) -> tuple[socketio.AsyncClient, list[str]]:
    """A new client whose disconnect handler writes each reason down."""
    client = new_client()
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    return client, reasons


async def test_relay_forwards_and_stops_cleanly(served, new_client, no_leftover_tasks):
    """A client connected to a relay's URL talks to the server behind it; stop ends all."""
    sio, server, _ = served

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


async def test_cut_closes_both_ends_at_once(served, new_client):
    """cut(): the client sees "transport error", the server "transport close"."""
    _, server, server_reasons = served
    link = await relay(server.url, name="link")
    client, client_reasons = client_with_reasons(new_client)
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.cut()
    await running.wait_for(lambda: client_reasons and server_reasons, timeout(2))
    assert (client_reasons, server_reasons) == (["transport error"], ["transport close"])
    await close_client(client)


async def test_new_connections_pass_after_a_cut(served, new_client):
    """A relay keeps forwarding new connections after cut(): clients can come back."""
    _, server, _ = served
    link = await relay(server.url, name="link")
    client = new_client()
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.cut()
    await running.wait_for(lambda: not client.connected, timeout(2))
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    assert client.connected
    await client.shutdown()


async def test_silence_ends_in_a_ping_timeout_and_close_client_cleans_up(served, new_client):
    """silence(): the server sees "ping timeout", the client "transport error"; then
    close_client closes the WebSocket python-engineio leaves open."""
    _, server, server_reasons = served
    link = await relay(server.url, name="link")
    client, client_reasons = client_with_reasons(new_client)
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.silence()
    await running.wait_for(lambda: client_reasons and server_reasons, timeout(6))
    assert (client_reasons, server_reasons) == (["transport error"], ["ping timeout"])
    websocket = client.eio.ws
    await link.stop()
    await close_client(client)
    assert websocket.closed
    await close_client(client)  # a second call is harmless


async def test_a_relay_to_nowhere_refuses_like_the_server_would(served, new_client):
    """With no server behind it, connecting through a relay fails with ConnectionError;
    close_client closes the HTTP session the failed try left open."""
    sio, server, _ = served
    link = await relay(server.url, name="link")
    await server.stop()
    client = new_client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(2))
    assert not client.eio.http.closed  # what python-engineio leaves behind
    await close_client(client)
    assert client.eio.http.closed


async def test_down_refuses_reconnection_until_up(served, new_client):
    """down(): the client loses its connection and every attempt to come back fails
    (connect_error), until up() lets the next attempt through."""
    _, server, server_reasons = served
    link = await relay(server.url, name="link")
    client = new_client(reconnection=True, reconnection_delay=0.1, randomization_factor=0)
    refused: list = []
    client.on("connect_error", refused.append)
    await client.connect(link.url, transports=["websocket"], wait_timeout=timeout(5))
    link.down()
    assert link.is_down
    await running.wait_for(lambda: len(refused) >= 2, timeout(5))
    assert not client.connected and server_reasons == ["transport close"]
    link.up()
    await running.wait_for(lambda: client.connected, timeout(5))
    await close_client(client)
