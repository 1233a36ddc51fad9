"""chatkit.engine on real sockets: what ChatServer relies on in python-socketio and
engine.io. If an upgrade of either library breaks one of these, a test here fails."""

import asyncio
import json
import logging

import aiohttp
import pytest
import socketio
from socketio.async_pubsub_manager import AsyncPubSubManager

from chatkit import protocol, running
from chatkit.broadcast import FastBroadcast, websocket_frame
from chatkit.engine import ChatManager, ChatRedisManager, SocketIOServer
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


# --- what python-socketio/engine.io let through, caught at the edge (issue 14) ---------

def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


#: Packets that cannot be read but say how to answer them: an event with an ack id.
UNREADABLE_EVENTS = {
    "no event name": f"42{NS},1[]",
    "an object as the name": f"42{NS},1[{{}}]",
    "not a list": f'42{NS},1{{"a":1}}',
    "truncated JSON": f'42{NS},1["ping",{{"a":',
    "100,000-deep nesting": f'42{NS},1["ping",{deep(100_000)}]',
    "a 5,000-digit int": f'42{NS},1["ping",{"9" * 5000}]',
}


class RawWebSocket:
    """An engine.io WebSocket of the raw frames, connected to NS."""

    def __init__(self, ws):
        self.ws = ws

    async def until(self, predicate) -> str:
        while True:
            message = await self.ws.receive(timeout=timeout(5))
            assert message.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), message
            if message.type is aiohttp.WSMsgType.TEXT and message.data == "2":
                await self.ws.send_str("3")  # answer pings
            elif predicate(message.data):
                return message.data

    async def closed(self) -> aiohttp.WSMessage:
        while True:
            message = await self.ws.receive(timeout=timeout(5))
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return message

    async def still_answers(self, ack_id: int = 99) -> None:
        await self.ws.send_str(f'42{NS},{ack_id}["ping"]')
        assert await self.until(lambda data: data.startswith(f"43{NS},{ack_id}")) == (
            f'43{NS},{ack_id}["pong"]')


async def raw_websocket(session: aiohttp.ClientSession, url: str) -> RawWebSocket:
    ws = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    raw = RawWebSocket(ws)
    await raw.until(lambda data: data.startswith("0"))
    await ws.send_str(f"40{NS},")
    await raw.until(lambda data: data.startswith(f"40{NS},"))
    return raw


async def chat_like_server(**options):
    sio = SocketIOServer(client_manager=ChatManager(), async_mode="aiohttp",
                         logger=False, engineio_logger=False, **options)
    sio.register_namespace(Greeter())
    return sio, await serve(sio, name="engine-test")


def ack_error(frame: str) -> str:
    assert frame.startswith(f"43{NS},1["), frame
    (answer,) = json.loads(frame[len(f"43{NS},1"):])
    assert answer["ok"] is False
    return answer["error"]


@pytest.mark.parametrize("frame", UNREADABLE_EVENTS.values(), ids=UNREADABLE_EVENTS.keys())
async def test_an_unreadable_event_gets_an_error_ack_and_one_log_line(frame, caplog, capfd):
    """Answered with {"ok": false, "error"}, one warning, no traceback; the line stays."""
    sio, server = await chat_like_server(ping_interval=25)
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        with caplog.at_level(logging.INFO):
            await raw.ws.send_str(frame)
            error = ack_error(await raw.until(lambda data: data.startswith("43")))
            await raw.still_answers()
        assert error.startswith("This packet could not be read: ")
        await raw.ws.close()
    records = [r for r in caplog.records if r.name.startswith(("chatkit.engine", "engineio",
                                                               "socketio"))]
    assert [r.levelno for r in records] == [logging.WARNING], records
    assert records[0].exc_info is None
    await server.stop()
    assert "Traceback" not in capfd.readouterr().err


async def test_an_unreadable_connect_gets_connect_error():
    """`40/ns,{` is answered with a connect_error that says why; a retry connects."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(
                f"{server.url}/socket.io/?EIO=4&transport=websocket") as ws:
            raw = RawWebSocket(ws)
            await raw.until(lambda data: data.startswith("0"))
            await ws.send_str(f"40{NS},{{")
            refusal = await raw.until(lambda data: data.startswith("4"))
            assert refusal.startswith(f"44{NS},")
            assert "could not be read" in json.loads(refusal[len(f"44{NS},"):])["message"]
            await ws.send_str(f"40{NS},")
            await raw.until(lambda data: data.startswith(f"40{NS},"))
    await server.stop()


async def test_a_bad_placeholder_is_answered_and_later_frames_are_packets_again():
    """A placeholder whose num is not an attachment's index: an error ack, and the next
    frames are read as packets (the library kept taking each as an attachment)."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        await raw.ws.send_str(f'451-{NS},1["say",{{"text":{{"_placeholder":true,"num":"0"}}}}]')
        await raw.ws.send_bytes(b"\x00\x01")
        assert "placeholder" in ack_error(await raw.until(lambda d: d.startswith("43")))
        await raw.still_answers()
        await raw.ws.close()
    assert sio._binary_packet == {}
    await server.stop()


@pytest.mark.parametrize("frames", [
    [f'459999999999-{NS},1["say",{{}}]'],                   # too many attachments
    [f'450-{NS},1["say",{{}}]'],                            # a binary packet of none
    [f'452-{NS},1["say",{{"_placeholder":true,"num":0}}]', "a text frame"],
    [f'453-{NS},1["say",{{"_placeholder":true,"num":0}}]', b"x" * 6000, b"x" * 6000],
], ids=["9,999,999,999 attachments", "0 attachments", "text as attachment", "too many bytes"])
async def test_binary_abuse_closes_the_connection_and_keeps_nothing(frames, caplog):
    """Attachments are capped per packet (10) and in bytes (max_http_buffer_size): past
    that the connection ends, with one log line, and nothing it sent is kept."""
    sio, server = await chat_like_server(max_http_buffer_size=10_000)
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        for frame in frames:
            await (raw.ws.send_str if isinstance(frame, str) else raw.ws.send_bytes)(frame)
        await raw.closed()
    await running.wait_for(lambda: not sio.eio.sockets, timeout(5), what="the session gone")
    assert sio._binary_packet == {} and sio._unreadable == {}
    assert any("closed connection" in r.getMessage() for r in caplog.records)
    await server.stop()


async def test_half_sent_attachments_go_when_the_client_leaves():
    """A binary packet still waiting for attachments is dropped with its connection."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        await raw.ws.send_str(f'452-{NS},1["ping",{{"_placeholder":true,"num":0}}]')
        await raw.ws.send_bytes(b"x" * 100_000)
        await running.wait_for(lambda: sio._binary_packet, timeout(5), what="pending")
        await raw.ws.close()
    await running.wait_for(lambda: not sio._binary_packet, timeout(5), what="dropped")
    await server.stop()


async def test_an_unreadable_event_without_an_ack_id_is_ignored(caplog):
    """Nothing to answer to: ignored like an unknown event, logged once; the line stays."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        with caplog.at_level(logging.INFO):
            await raw.ws.send_str(f"42{NS},[]")
            await raw.still_answers()
        await raw.ws.close()
    assert [r.getMessage() for r in caplog.records if "ignored a packet" in r.getMessage()]
    await server.stop()


async def test_ten_unreadable_packets_end_the_connection():
    """Each is answered, but the tenth ends the connection (and the log lines)."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        for _ in range(10):
            await raw.ws.send_str(f"42{NS},1[]")
        assert (await raw.closed()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await server.stop()


async def test_the_tenth_unreadable_event_is_answered_before_the_connection_ends(caplog):
    """A client waiting for its ack learns why its connection ends, not by a timeout
    (the fault suite found it); the tenth is one log line, the close."""
    sio, server = await chat_like_server()
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        with caplog.at_level(logging.INFO):
            for number in range(1, 11):
                await raw.ws.send_str(f"42{NS},{number}[]")
                acked = await raw.until(lambda data, n=number: data.startswith(f"43{NS},{n}["))
            assert (await raw.closed()).type in (aiohttp.WSMsgType.CLOSE,
                                                 aiohttp.WSMsgType.CLOSED)
        (answer,) = json.loads(acked[len(f"43{NS},10"):])
        assert answer["ok"] is False and answer["error"].startswith("This packet could not")
        assert answer["error"].endswith("This connection is closed after 10 packets that "
                                        "could not be read.")
    lines = [r.getMessage() for r in caplog.records if r.name == "chatkit.engine"]
    assert len(lines) == 10 and "closed connection" in lines[-1], lines
    await server.stop()


async def test_an_engineio_close_packet_ends_the_websocket():
    """`1` from the client closes its session and its WebSocket at once, not at the
    ping timeout (25 + 20 s here)."""
    sio, server = await chat_like_server(ping_interval=25, ping_timeout=20)
    async with aiohttp.ClientSession() as session:
        raw = await raw_websocket(session, server.url)
        await raw.ws.send_str("1")
        assert (await raw.closed()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    await running.wait_for(lambda: not sio.eio.websockets, timeout(5), what="ws forgotten")
    await server.stop()


class Polling:
    """A raw long-polling engine.io session connected to NS."""

    def __init__(self, http: aiohttp.ClientSession, url: str):
        self.http, self.base = http, f"{url}/socket.io/?EIO=4&transport=polling"

    async def open(self) -> None:
        async with self.http.get(self.base) as response:
            self.base += f"&sid={json.loads((await response.text())[1:])['sid']}"
        assert (await self.post(f"40{NS},"))[0] == 200
        assert any(p.startswith(f"40{NS},") for p in await self.get())

    async def post(self, body: str | bytes) -> tuple[int, str]:
        async with self.http.post(self.base, data=body) as response:
            return response.status, await response.text()

    async def get(self) -> list[str]:
        async with self.http.get(self.base, timeout=aiohttp.ClientTimeout(timeout(5))) as r:
            return (await r.text()).split("\x1e")


async def test_polling_unreadable_events_get_error_acks_and_a_batch_of_20_is_read(caplog):
    """Over long-polling too; and a POST of 20 packets is handled (python-engineio
    refused more than 16 and dropped them all)."""
    sio, server = await chat_like_server(ping_interval=25)
    async with aiohttp.ClientSession() as http:
        poll = Polling(http, server.url)
        await poll.open()
        assert await poll.post(UNREADABLE_EVENTS["truncated JSON"]) == (200, "OK")
        assert "could not be read" in ack_error((await poll.get())[0])
        batch = "\x1e".join(f'42{NS},{n}["ping"]' for n in range(1, 21))
        assert await poll.post(batch) == (200, "OK")
        acks = []
        while len(acks) < 20:
            acks += [p for p in await poll.get() if p.startswith("43")]
        assert sorted(acks) == sorted(f'43{NS},{n}["pong"]' for n in range(1, 21))
    await server.stop()


async def test_an_oversize_polling_post_gets_413_and_ends_the_session():
    """1.1 MB: answered at once (python-engineio never answered), the pending poll gets
    engine.io's CLOSE packet, the session is gone."""
    sio, server = await chat_like_server(ping_interval=25)
    async with aiohttp.ClientSession() as http:
        poll = Polling(http, server.url)
        await poll.open()
        pending = asyncio.ensure_future(poll.get())
        await running.wait_for(lambda: len(sio.eio.sockets) == 1, timeout(5))
        status, text = await asyncio.wait_for(poll.post("4" + "x" * 1_100_000), timeout(5))
        assert status == 413 and "1,000,000" in text
        assert (await pending)[-1] == "1"
        assert (await poll.post("3"))[0] == 400
    await server.stop()


async def test_an_unreadable_polling_post_gets_400_and_ends_the_session():
    sio, server = await chat_like_server(ping_interval=25)
    async with aiohttp.ClientSession() as http:
        poll = Polling(http, server.url)
        await poll.open()
        status, text = await poll.post(b"\xff\xfe")
        assert status == 400 and "could not be read" in text
        await running.wait_for(lambda: not sio.eio.sockets or all(
            s.closed for s in sio.eio.sockets.values()), timeout(5), what="the session closed")
    await server.stop()


async def test_a_polling_post_whose_first_packet_ends_the_session_is_answered(capfd):
    """The packets after one that closed the connection are not handled: before, the
    next one raised SocketIsClosedError, a traceback and a 500 (found by make faults)."""
    sio, server = await chat_like_server(ping_interval=25)
    async with aiohttp.ClientSession() as http:
        poll = Polling(http, server.url)
        await poll.open()
        # a CONNECT_ERROR is never sent by a client: it closes the connection
        status, _ = await poll.post(f"44{NS},{{}}" + "\x1e" + "5")  # then an UPGRADE
        assert status == 200
    await server.stop()
    assert "Traceback" not in capfd.readouterr().err


async def handshake(url: str, headers: dict) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/socket.io/?EIO=4&transport=polling",
                            headers=headers) as response:
            return response.status


async def test_given_origins_add_to_the_servers_own_pages(caplog):
    """cors_allowed_origins adds pages; the server's own stay allowed; a refused page
    is logged once, with its origin and the option that admits it."""
    sio, server = await chat_like_server(cors_allowed_origins=["https://course.example"])
    own = f"http://127.0.0.1:{server.port}"
    assert await handshake(server.url, {"Origin": own}) == 200
    assert await handshake(server.url, {"Origin": "https://course.example"}) == 200
    with caplog.at_level(logging.INFO):
        for _ in range(3):
            assert await handshake(server.url, {"Origin": "https://other.example"}) == 400
    lines = [r.getMessage() for r in caplog.records if "other.example" in r.getMessage()]
    assert len(lines) == 1 and "--cors-origin https://other.example" in lines[0]
    await server.stop()


async def test_a_rebindable_host_is_not_the_servers_own_origin():
    """DNS rebinding: a page of evil.example whose name now points here sends a
    matching Host and Origin; only IP addresses, localhost and this machine's name
    count as the server's own."""
    sio, server = await chat_like_server()
    evil = f"evil.example:{server.port}"
    assert await handshake(server.url, {"Host": evil, "Origin": f"http://{evil}"}) == 400
    local = f"localhost:{server.port}"
    assert await handshake(server.url, {"Host": local, "Origin": f"http://{local}"}) == 200
    assert await handshake(server.url, {}) == 200  # programs send no Origin
    await server.stop()


# -- the fast broadcast (chatkit.broadcast): what it relies on -----------------------

class Room(socketio.AsyncNamespace):
    """Everyone who connects is in room "all"; ``shout`` broadcasts to it."""

    async def on_connect(self, sid, environ, auth=None):
        await self.enter_room(sid, "all")

    async def on_shout(self, sid, data):
        await self.emit("heard", data, room="all")
        return "ok"


async def test_a_broadcast_goes_straight_to_websockets_and_queues_for_polling(new_client):
    """python-engineio gives each connection the queue its server's ``create_queue``
    makes, marks a WebSocket connection ``upgraded``, and its writer task waits in
    ``queue.get()`` when idle; aiohttp's request has ``transport`` and
    ``protocol.writing_paused``. The fast path needs all of it: if one goes, the
    WebSocket deliveries stop being direct and this test fails."""
    server = make_server(Room(NS))
    handle = await serve(server, name="engine-test")
    heard = {"websocket": [], "polling": []}
    clients = []
    for transport in heard:
        client = new_client()
        client.on("heard", heard[transport].append, namespace=NS)
        await client.connect(handle.url, namespaces=[NS], transports=[transport])
        clients.append(client)
    session = next(iter(server.eio.sockets.values()))
    assert type(session.queue).__name__ == "WatchedQueue"
    assert isinstance(next(iter(server.eio.direct.values())).ready(), bool)
    await running.wait_for(lambda: all(isinstance(s.queue, asyncio.Queue) and
                                       (not s.upgraded or s.queue.idle())
                                       for s in server.eio.sockets.values()), timeout(5))
    assert await clients[0].call("shout", {"n": 1}, namespace=NS, timeout=timeout(5)) == "ok"
    await running.wait_for(lambda: all(heard.values()), timeout(5))
    assert heard == {"websocket": [{"n": 1}], "polling": [{"n": 1}]}
    assert server.manager.delivered == {"direct": 1, "queued": 1}
    await handle.stop()


def test_the_redis_manager_publishes_before_the_fast_broadcast_delivers():
    """``AsyncPubSubManager.emit`` publishes to Redis, and what comes back from Redis is
    delivered by ``super().emit``: the fast broadcast must sit below it in the MRO."""
    order = ChatRedisManager.__mro__
    assert order.index(AsyncPubSubManager) < order.index(FastBroadcast) \
        < order.index(socketio.AsyncManager)


@pytest.mark.parametrize("size, header", [(3, b"\x81\x03"), (125, b"\x81\x7d"),
                                          (126, b"\x81\x7e\x00\x7e"),
                                          (70_000, b"\x81\x7f" + (70_000).to_bytes(8, "big"))])
def test_a_frame_is_written_once_as_a_server_frames_it(size, header):
    assert websocket_frame("x" * size) == header + b"x" * size
    assert websocket_frame(b"\x00\x01")[:2] == b"\x82\x02"
