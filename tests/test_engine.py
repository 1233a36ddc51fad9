"""chatkit.engine on real sockets: what ChatServer relies on in python-socketio and
engine.io. If an upgrade of either library breaks one of these, a test here fails."""

import logging

import aiohttp
import socketio

from chatkit import protocol, running
from chatkit.engine import ChatManager, SocketIOServer
from chatkit.sio import serve
from tests.conftest import timeout

NS = "/room"


class Greeter(socketio.AsyncNamespace):
    """A namespace that sends "hello" from the after-connect hook, and records it."""

    def __init__(self, *, fail: bool = False):
        super().__init__(NS)
        self.fail = fail
        self.connected_when_greeted: list[bool] = []

    async def on_connect(self, sid, environ, auth=None):
        await self.emit("early", {}, to=sid)  # sent before the CONNECT packet exists

    async def after_connect(self, sid):
        self.connected_when_greeted.append(self.server.manager.is_connected(sid, NS))
        if self.fail:
            raise RuntimeError("a broken hook")
        await self.emit("hello", {"sid": sid}, to=sid)

    async def on_ping(self, sid):
        return "pong"


def make_server(namespace: socketio.AsyncNamespace) -> SocketIOServer:
    sio = SocketIOServer(client_manager=ChatManager(), async_mode="aiohttp", ping_interval=1,
                         ping_timeout=1)
    sio.register_namespace(namespace)
    return sio


async def frames_after_connecting(url: str) -> list[str]:
    """Open a raw engine.io WebSocket, connect to NS, and return the text frames received
    until the "hello" event (as the wire carries them)."""
    frames = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket") as ws:
            frames.append((await ws.receive(timeout=timeout(5))).data)  # engine.io open
            await ws.send_str(f"40{NS},")
            while not any('"hello"' in frame for frame in frames):
                frames.append((await ws.receive(timeout=timeout(5))).data)
    return frames


async def test_the_after_connect_hook_follows_the_connect_packet_on_the_wire():
    """What after_connect sends arrives after socket.io's CONNECT packet; what the connect
    handler sends arrives before it: that is why the welcome is sent from the hook."""
    greeter = Greeter()
    server = await serve(make_server(greeter), name="engine-test")
    frames = await frames_after_connecting(server.url)
    kinds = [frame.split(",")[0] if frame.startswith("4") else frame[0] for frame in frames]
    connect_at = kinds.index(f"40{NS}")
    assert any('"early"' in frame for frame in frames[:connect_at])
    assert '"hello"' in frames[-1] and len(frames) - 1 > connect_at
    assert greeter.connected_when_greeted == [True]
    await server.stop()


async def test_a_failing_hook_is_logged_and_the_connection_stays(new_client, caplog):
    """An exception in after_connect is logged; the client is connected and is answered."""
    server = await serve(make_server(Greeter(fail=True)), name="engine-test")
    client = new_client()
    with caplog.at_level(logging.ERROR, logger="chatkit.engine"):
        await client.connect(server.url, namespaces=[NS], transports=["websocket"],
                             wait_timeout=timeout(5))
        assert await client.call("ping", namespace=NS, timeout=timeout(5)) == "pong"
    assert any("after_connect" in record.getMessage() for record in caplog.records)
    await server.stop()


async def test_a_namespace_without_a_hook_connects_as_usual(new_client):
    """The manager calls the hook only where a namespace has one."""
    class Plain(socketio.AsyncNamespace):
        async def on_ping(self, sid):
            return "pong"

    server = await serve(make_server(Plain(NS)), name="engine-test")
    client = new_client()
    await client.connect(server.url, namespaces=[NS], transports=["websocket"],
                         wait_timeout=timeout(5))
    assert await client.call("ping", namespace=NS, timeout=timeout(5)) == "pong"
    await server.stop()


async def test_is_open_follows_the_engineio_connection(new_client):
    """is_open() is True while the client's connection is open, False once it is gone."""
    sio = make_server(Greeter())
    server = await serve(sio, name="engine-test")
    client = new_client()
    await client.connect(server.url, namespaces=[NS], transports=["websocket"],
                         wait_timeout=timeout(5))
    sid = client.get_sid(NS)
    assert sio.is_open(sid, NS)
    await client.disconnect()
    await running.wait_for(lambda: not sio.is_open(sid, NS), timeout(5), what="the close")
    assert not sio.is_open("no-such-sid", NS)
    await server.stop()


async def test_close_connections_says_going_away_to_websockets():
    """close_connections() ends a WebSocket with 1001, so clients treat it as a lost line."""
    sio = make_server(Greeter())
    server = await serve(sio, name="engine-test")
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
                f"{server.url}/socket.io/?EIO=4&transport=websocket") as ws:
            await ws.receive(timeout=timeout(5))  # engine.io open
            await running.wait_for(lambda: len(sio.eio.websockets) == 1, timeout(5))
            await sio.close_connections()
            closing = await ws.receive(timeout=timeout(5))
            assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == 1001
    await server.stop()


def test_room_label_defaults_to_the_room_and_can_be_given():
    """room_label() shows a room as is, unless the server was given a labeller."""
    plain = SocketIOServer(async_mode="aiohttp")
    labelled = SocketIOServer(async_mode="aiohttp",
                              room_label=lambda namespace, room: room.upper())
    assert plain.room_label(protocol.CHAT, "room:lobby") == "room:lobby"
    assert labelled.room_label(protocol.CHAT, "lobby") == "LOBBY"
