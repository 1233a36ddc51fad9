"""Room broadcasts on real sockets: what every recipient receives, whatever path delivers it.

Introduced with the fan-out measurement of notebook 06 (chatkit.broadcast). These tests
pin behaviour, not a path: per-connection order under concurrent broadcasts to
overlapping rooms, a reader that stops reading, long-polling beside WebSocket,
connections coming and going mid-broadcast, binary attachments, skip_sid, acks, and
Redis. They hold for python-socketio's own delivery and for chatkit's fast one.
"""

import asyncio
import base64
import itertools
import json
import logging
import os
import socket
import struct
from urllib.parse import urlsplit

import pytest
import socketio

from chatkit import protocol, running
from chatkit.broadcast import Coalesced, holds_bytes
from chatkit.client import connect as chat_connect
from chatkit.engine import ChatManager, SocketIOServer
from chatkit.server import ChatServer
from chatkit.sio import serve, settle
from tests.conftest import timeout
from tests.redisserver import redis_url  # noqa: F401 (a fixture)

NS = "/class"


class Rooms(socketio.AsyncNamespace):
    """Each connection enters the rooms its auth names (``{"rooms": [...]}``, default
    ``["all"]``); ``share`` sends its data to room "all", skipping the sender."""

    async def on_connect(self, sid, environ, auth=None):
        for room in (auth or {}).get("rooms", ["all"]):
            await self.enter_room(sid, room)

    async def on_share(self, sid, data):
        await self.emit("shared", data, room="all", skip_sid=sid)
        return "ok"


class SmallQueues(ChatManager):
    """A manager that gives up on a connection sooner, so that the test is quick."""

    max_queued = 100


def plain_server(manager=None) -> SocketIOServer:
    sio = SocketIOServer(client_manager=manager or ChatManager(), async_mode="aiohttp")
    sio.register_namespace(Rooms(NS))
    return sio


async def listener(new_client, url, rooms=("all",), transport="websocket", event="m"):
    """A raw socket.io client in ``rooms``; returns it and the list ``event`` fills."""
    client, got = new_client(), []
    client.on(event, got.append, namespace=NS)
    client.on("sync", lambda *args: True, namespace=NS)  # for settle()
    await client.connect(url, namespaces=[NS], auth={"rooms": list(rooms)},
                         transports=[transport], wait_timeout=timeout(5))
    return client, got


class RawWebSocket:
    """An engine.io WebSocket client on a bare TCP socket, which reads only when asked:
    what a browser tab does when its machine stops reading, or a line goes dead."""

    def __init__(self, sock: socket.socket):
        self.sock, self.buffer, self.eio_sid = sock, b"", None

    @classmethod
    async def open(cls, url: str, *, receive_buffer: int | None = None) -> "RawWebSocket":
        """Handshake with the server at ``url``; ``receive_buffer`` sets SO_RCVBUF first."""
        address = urlsplit(url)
        sock = socket.socket()
        if receive_buffer is not None:  # before connect: it sets the window offered
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address.hostname, address.port))
        raw = cls(sock)
        key = base64.b64encode(os.urandom(16)).decode()
        await raw._send(f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                        f"Host: {address.netloc}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n".encode())
        while b"\r\n\r\n" not in raw.buffer:
            await raw._read()
        head, raw.buffer = raw.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        opened = await raw.receive()
        assert opened.startswith("0"), opened
        raw.eio_sid = json.loads(opened[1:])["sid"]
        return raw

    async def _send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def _read(self) -> None:
        chunk = await asyncio.wait_for(
            asyncio.get_running_loop().sock_recv(self.sock, 65536), timeout(5))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    async def send(self, text: str) -> None:
        """One masked text frame, as a client must send it (RFC 6455, 5.3)."""
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        header = struct.pack("!BB", 0x81, 0x80 | size) if size < 126 else \
            struct.pack("!BBH", 0x81, 0x80 | 126, size)
        await self._send(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    async def receive(self) -> str:
        """The next (unmasked, whole) text frame from the server."""
        while True:
            while len(self.buffer) < 2:
                await self._read()
            size, start = self.buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(self.buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(self.buffer[2:10], "big"), 10
            while len(self.buffer) < start + size:
                await self._read()
            frame, self.buffer = self.buffer[start:start + size], self.buffer[start + size:]
            return frame.decode()

    def abort(self) -> None:
        """Close the TCP connection with a reset: no close frame, no goodbye."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


@pytest.fixture
async def chat_clients():
    """chatkit ChatClients made with ``await chat_clients(url, name, rooms=...)``,
    all disconnected after the test."""
    made = []

    async def make(url, name, **options):
        made.append(await chat_connect(url, name, reconnect=False, **options))
        return made[-1]

    yield make
    for client in made:
        await client.disconnect()


async def chat_peer(raw_peers, url, name, rooms, transports=("websocket",)):
    """A raw client of /chat, connected as ``name``, in each of ``rooms``."""
    peer = raw_peers()
    await peer.connect(url, {"name": name}, transports=transports)
    await peer.wait(lambda: peer.of("welcome"), f"{name}'s welcome")
    for room in rooms:
        assert (await peer.call("join", {"room": room}))["ok"]
    return peer


def ids_in(peer, rooms=None):
    return [m["id"] for m in peer.of("said") if rooms is None or m["room"] in rooms]


# -- 1. order under concurrent broadcasts to overlapping rooms ----------------------------

async def test_concurrent_broadcasts_to_overlapping_rooms_arrive_in_send_order(new_client):
    """Four emitters at once, to rooms a, b, c and to [a, c], some messages big enough to
    fill a transport: each receiver gets exactly the messages of its rooms, once each,
    in the order the server sent them (one across all rooms)."""
    sio = plain_server()
    handle = await serve(sio, name="broadcast-test")
    memberships = {"ab": "ab", "bc": "bc", "ac": "ac", "abc": "abc", "a": "a",
                   "b-polling": "b"}
    got, clients = {}, []
    for who, rooms in memberships.items():
        transport = "polling" if who.endswith("polling") else "websocket"
        client, got[who] = await listener(new_client, handle.url, rooms, transport)
        clients.append(client)
    order = itertools.count()
    sent = []  # (seq, rooms), in the server's send order

    async def emitter(target):
        for n in range(50):
            seq = next(order)  # taken right before the emit: the send order
            sent.append((seq, set(target)))
            pad = "x" * (150_000 if n % 10 == 9 else 100)
            await sio.emit("m", {"seq": seq, "pad": pad},
                           room=target if len(target) == 1 else list(target), namespace=NS)
            await asyncio.sleep(0)  # let the other emitters in between

    await asyncio.gather(*(emitter(target) for target in ("a", "b", "c", "ac")))
    for who, rooms in memberships.items():
        expected = [seq for seq, target in sent if target & set(rooms)]
        await running.wait_for(lambda who=who, expected=expected: len(got[who]) >= len(expected),
                               timeout(10), what=f"{who}'s messages")
    await settle(sio, clients)  # nothing sent is still on its way: no extra one comes
    for who, rooms in memberships.items():
        expected = [seq for seq, target in sent if target & set(rooms)]
        assert [m["seq"] for m in got[who]] == expected, who
    await handle.stop()


async def test_concurrent_says_in_overlapping_rooms_arrive_in_id_order(raw_peers, chat_clients):
    """Speakers in rooms a, b, c say at once: every member (raw clients, one on
    long-polling, and a ChatClient) gets each `said` of its rooms once, in id order."""
    server = ChatServer()
    await server.start(name="broadcast-test")
    rooms_of = {"ana": "ab", "ben": "bc", "cy": "ac", "dee": "abc", "eve": "c"}
    peers = {name: await chat_peer(raw_peers, server.url, name, rooms,
                                   ("polling",) if name == "eve" else ("websocket",))
             for name, rooms in rooms_of.items()}
    watcher = await chat_clients(server.url, "fay", rooms=["a", "b", "c"])

    async def talk(peer, room):
        return [(room, (await peer.call("say", {"room": room, "text": f"{n}"}))["id"])
                for n in range(15)]

    spoken = await asyncio.gather(*(talk(peers[name], room) for name, room in
                                    [("ana", "a"), ("ben", "b"), ("cy", "c"), ("dee", "a")]))
    said = sorted((i, room) for talker in spoken for room, i in talker)
    for name, peer in peers.items():
        expected = [i for i, room in said if room in rooms_of[name]]
        await peer.wait(lambda peer=peer, expected=expected: len(peer.of("said")) >= len(expected), name)
        assert ids_in(peer) == expected, name
    await running.wait_for(lambda: len(watcher.messages()) >= len(said), timeout(5))
    assert [m.id for m in watcher.messages()] == [i for i, _ in said]
    await server.stop()


# -- 2. a reader that stops reading ----------------------------------------------------------

async def test_a_reader_that_stops_reading_is_closed_and_the_others_get_everything(
        new_client, caplog):
    """A client whose socket is never read again (a small receive buffer) while the
    room gets many 4 KB messages: its engine.io queue never holds more than the
    manager's ``max_queued``, it is closed past that with a warning, and the readers
    receive every message, in order."""
    sio = plain_server(SmallQueues())
    limit = getattr(sio.manager, "max_queued", 1000)
    handle = await serve(sio, name="broadcast-test")
    # WebSocket readers only: a long-polling client's own disconnect waits out its poll.
    readers = [await listener(new_client, handle.url) for _ in range(2)]
    stuck = await RawWebSocket.open(handle.url, receive_buffer=4096)
    try:
        await stuck.send(f"40{NS},")
        assert (await stuck.receive()).startswith(f"40{NS},")  # connected; never read again
        session = sio.eio.sockets[stuck.eio_sid]
        peak, sent = 0, 0
        with caplog.at_level(logging.WARNING, logger="chatkit.engine"):
            while not session.closed and sent < 20 * limit:
                await sio.emit("m", {"seq": sent, "pad": "x" * 4000}, room="all",
                               namespace=NS)
                sent += 1
                peak = max(peak, session.queue.qsize())
                await asyncio.sleep(0)  # as between two events handled: the loop runs
            for _, got in readers:
                await running.wait_for(lambda got=got: len(got) >= sent, timeout(10),
                                       what="every message at the readers")
                assert [m["seq"] for m in got] == list(range(sent))
            assert peak <= limit, f"{peak} packets queued for a reader that stopped, " \
                                  f"more than max_queued={limit}"
            await running.wait_for(lambda: session.closed, timeout(5), what="the close")
    finally:
        stuck.abort()
    assert any(record.levelno == logging.WARNING and "stopped reading" in record.getMessage()
               for record in caplog.records if record.name == "chatkit.engine")
    assert stuck.eio_sid not in sio.eio.sockets
    assert await readers[0][0].call("share", {"still": "here"}, namespace=NS,
                                    timeout=timeout(5)) == "ok"
    await handle.stop()


# -- 3. long-polling and WebSocket in one room ----------------------------------------------

async def test_a_room_of_polling_and_websocket_clients_hears_everything_in_order(
        raw_peers, chat_clients):
    """Two long-polling, two WebSocket and one upgrading client, plus a polling
    ChatClient, in one room; three of them say at once: all hear all, in id order."""
    server = ChatServer(ping_interval=1, ping_timeout=1)
    await server.start(name="broadcast-test")
    kinds = {"p1": ("polling",), "p2": ("polling",), "w1": ("websocket",),
             "w2": ("websocket",), "up": None}
    peers = {name: await chat_peer(raw_peers, server.url, name, ["mix"], transports)
             for name, transports in kinds.items()}
    watcher = await chat_clients(server.url, "cc", rooms=["mix"], transports=("polling",))

    async def talk(peer):
        return [(await peer.call("say", {"room": "mix", "text": "x" * (n * 97 + 1)}))["id"]
                for n in range(20)]

    said = sorted(i for ids in await asyncio.gather(
        *(talk(peers[name]) for name in ("p1", "w1", "up"))) for i in ids)
    for name, peer in peers.items():
        await peer.wait(lambda peer=peer: len(peer.of("said")) >= len(said), name)
        assert ids_in(peer) == said, name
    await running.wait_for(lambda: len(watcher.messages()) >= len(said), timeout(5))
    assert [m.id for m in watcher.messages()] == said
    assert peers["up"].sio.transport() == "websocket"
    await server.stop()


# -- 4. connections coming and going mid-broadcast -------------------------------------------

async def test_broadcasts_go_on_while_clients_come_and_go(raw_peers, chat_clients, caplog):
    """While one client says 60 messages, others connect, join and leave: cleanly, or
    by resetting their TCP connection. Nothing is logged as an error, the members who
    stay get every message in order, and the server still answers."""
    caplog.set_level(logging.INFO)
    server = ChatServer(ping_interval=1, ping_timeout=1)
    await server.start(name="broadcast-test")
    speaker = await chat_peer(raw_peers, server.url, "speaker", ["lobby"])
    stayers = [await chat_peer(raw_peers, server.url, "poller", ["lobby"], ("polling",)),
               await chat_peer(raw_peers, server.url, "wsock", ["lobby"])]
    watcher = await chat_clients(server.url, "watcher", rooms=["lobby"])
    speaking = asyncio.Event()

    async def speak():
        acks = []
        for n in range(60):
            acks.append((await speaker.call("say", {"room": "lobby", "text": f"m{n}"}))["id"])
            speaking.set()
        return acks

    def in_lobby(name):
        return name in server.snapshot().get(protocol.CHAT, {}).get("lobby", [])

    async def come_and_go():
        await speaking.wait()
        for n in range(12):
            name = f"guest{n}"
            if n % 3 == 2:  # a raw socket that joins, then resets its connection
                raw = await RawWebSocket.open(server.url)
                await raw.send(f"40{protocol.CHAT},{json.dumps({'name': name})}")
                await raw.send(f'42{protocol.CHAT},1["join",{{"room":"lobby"}}]')
                await running.wait_for(lambda name=name: in_lobby(name), timeout(5))
                raw.abort()
                continue
            peer = await chat_peer(raw_peers, server.url, name, ["lobby"],
                                   ("polling",) if n % 3 else ("websocket",))
            await peer.disconnect()

    acks, _ = await asyncio.gather(speak(), come_and_go())
    for peer in [*stayers, speaker]:
        await peer.wait(lambda peer=peer: len(peer.of("said")) >= len(acks), "every message")
        assert ids_in(peer) == acks
    await running.wait_for(lambda: len(watcher.messages()) >= len(acks), timeout(5))
    assert [m.id for m in watcher.messages()] == acks
    late = await chat_peer(raw_peers, server.url, "late", ["lobby"])
    assert (await late.call("say", {"room": "lobby", "text": "still here"}))["ok"]
    await running.wait_for(lambda: not any(in_lobby(f"guest{n}") for n in range(12)),
                           timeout(5), what="every guest gone")
    assert [r.getMessage() for r in caplog.records
            if r.levelno >= logging.ERROR or r.exc_info] == []
    await server.stop()


# -- 5. binary attachments, skip_sid, acks, one recipient --------------------------------

async def test_bytes_broadcast_to_websocket_and_polling_members_arrive_exactly(new_client):
    """Bytes, and a dict holding bytes, shared with a room of WebSocket and long-polling
    members reach each of them exactly; the sender (skip_sid) gets nothing."""
    sio = plain_server()
    handle = await serve(sio, name="broadcast-test")
    sender, to_sender = await listener(new_client, handle.url, event="shared")
    _, to_ws = await listener(new_client, handle.url, event="shared")
    poller, to_poller = await listener(new_client, handle.url, transport="polling",
                                       event="shared")
    photo = bytes(range(256)) * 40
    assert await sender.call("share", {"name": "photo", "data": photo}, namespace=NS,
                             timeout=timeout(5)) == "ok"
    assert await sender.call("share", photo[:999], namespace=NS, timeout=timeout(5)) == "ok"
    await running.wait_for(lambda: len(to_ws) >= 2 and len(to_poller) >= 2, timeout(5),
                           what="both shares at both members")
    await settle(sio, [sender, poller])
    for got in (to_ws, to_poller):
        assert got == [{"name": "photo", "data": photo}, photo[:999]]
    assert to_sender == []
    await handle.stop()


async def test_skip_sid_lists_tuples_single_recipients_and_acks(new_client):
    """A list of skipped sids is honoured, a tuple is several arguments (bytes among
    them), ``to=sid`` reaches that one only, and an emit with an ack callback is
    answered, bytes and all."""
    sio = plain_server()
    handle = await serve(sio, name="broadcast-test")
    clients, pairs, shared = [], {}, {}
    for n, transport in enumerate(("websocket", "websocket", "polling")):
        client, shared[n] = await listener(new_client, handle.url, event="shared",
                                           transport=transport)
        pairs[n] = []
        client.on("pair", lambda *args, n=n: pairs[n].append(args), namespace=NS)
        client.on("echo", lambda data: data[::-1], namespace=NS)
        clients.append(client)
    first, second, poller = (client.get_sid(NS) for client in clients)
    await sio.emit("pair", ("two", b"\x00\xff"), room="all", namespace=NS,
                   skip_sid=[first, poller])
    await sio.emit("shared", b"just you", to=poller, namespace=NS)
    await sio.emit("shared", {"n": 1}, to=first, namespace=NS)
    for sid in (first, poller):
        assert await sio.call("echo", b"\x01\x02\x03", to=sid, namespace=NS,
                              timeout=timeout(5)) == b"\x03\x02\x01"
    await settle(sio, clients)
    assert pairs == {0: [], 1: [("two", b"\x00\xff")], 2: []}
    assert shared == {0: [{"n": 1}], 1: [], 2: [b"just you"]}
    await handle.stop()


# -- 6. Redis: one room across two servers --------------------------------------------------

async def test_a_room_across_two_servers_on_redis_hears_everything_in_order(
        redis_url, raw_peers):  # noqa: F811 (a fixture)
    """Two ChatServers on one Redis, rooms a and b spread over both (one member on
    long-polling): speakers on both say at once; every member gets each `said` of its
    rooms, once, in id order."""
    servers = [ChatServer(redis=redis_url, ping_interval=1, ping_timeout=1)
               for _ in range(2)]
    for number, server in enumerate(servers):
        await server.start(name=f"broadcast-test-{number}")
    layout = {"ana": (0, "ab"), "ben": (1, "ab"), "cy": (0, "a"), "dee": (1, "b"),
              "eve": (1, "a")}
    peers = {name: await chat_peer(raw_peers, servers[where].url, name, rooms,
                                   ("polling",) if name == "eve" else ("websocket",))
             for name, (where, rooms) in layout.items()}

    async def talk(peer, room):
        return [(i, room) for i in [(await peer.call(
            "say", {"room": room, "text": f"{n}"}))["id"] for n in range(15)]]

    spoken = await asyncio.gather(*(talk(peers[name], room) for name, room in
                                    [("ana", "a"), ("ben", "b"), ("cy", "a"), ("dee", "b")]))
    said = sorted(pair for talker in spoken for pair in talker)
    assert [i for i, _ in said] == list(range(1, len(said) + 1))
    for name, peer in peers.items():
        expected = [i for i, room in said if room in layout[name][1]]
        await peer.wait(lambda peer=peer, expected=expected: len(peer.of("said")) >= len(expected), name)
        assert ids_in(peer) == expected, name
    for server in servers:
        await server.stop()


# -- Coalesced: a big room's presence, at most per_second deliveries a second ---------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


async def test_a_small_room_hears_every_change_at_once():
    sent = []

    async def send(key, data, skips):
        sent.append((key, data, skips))
    presence = Coalesced(send, from_size=50, per_second=2000, clock=Clock())
    for n in range(1, 50):
        await presence("lobby", n, n, None)
    assert [data for _, data, _ in sent] == list(range(1, 50))


async def test_a_big_room_hears_the_first_change_now_and_the_latest_once_it_is_due():
    """In a room of 500 (0.25 s apart at 2,000 a second), 100 changes at once are two
    sends: the first at once, then the newest, with everyone who left skipped."""
    sent, clock = [], Clock()

    async def send(key, data, skips):
        sent.append((key, data, skips, clock.now))
    presence = Coalesced(send, from_size=50, per_second=2000, clock=clock)
    await presence("big", 500, "state 0", None)
    for n in range(1, 100):
        await presence("big", 500, f"state {n}", f"gone {n}" if n % 2 else None)
    assert sent == [("big", "state 0", [], 100.0)]
    clock.now += 0.25
    await asyncio.sleep(0.3)  # the real loop runs the wait; the clock says it is due
    assert sent[1][:3] == ("big", "state 99", [f"gone {n}" for n in range(1, 100, 2)])
    assert len(sent) == 2


async def test_a_state_that_waits_is_never_overtaken_by_an_older_one():
    """A room that shrinks below from_size while its state waits still gets the newest
    state last: nothing is sent past the one that waits."""
    sent, clock = [], Clock()

    async def send(key, data, skips):
        sent.append(data)
    presence = Coalesced(send, from_size=50, per_second=2000, clock=clock)
    await presence("big", 60, "60 here", None)
    await presence("big", 59, "59 here", None)
    await presence("big", 10, "10 here", None)
    assert sent == ["60 here"]
    await asyncio.sleep(0.1)
    assert sent == ["60 here", "10 here"]


async def test_cancel_drops_what_waits_and_leaves_no_task():
    sent = []

    async def send(key, data, skips):
        sent.append(data)
    presence = Coalesced(send, from_size=1, per_second=1, clock=Clock())
    await presence("big", 5, "now", None)
    await presence("big", 5, "in 5 s", None)
    tasks = presence.cancel()
    assert len(tasks) == 1
    await asyncio.gather(*tasks, return_exceptions=True)
    assert all(task.cancelled() for task in tasks) and sent == ["now"]


@pytest.mark.parametrize("data, binary", [
    (["said", {"text": "hi", "members": ["a"] * 500}], False),
    (["x", [1, 2.5, None, True, {"deep": [[["no"]]]}]], False),
    (["x", {"file": b"\x00"}], True),
    (["x", [[["s"] * 10, bytearray(b"1")]]], True),
    (b"", True),
])
def test_holds_bytes_finds_bytes_anywhere_as_python_socketio_does(data, binary):
    assert holds_bytes(data) is binary
    assert socketio.packet.Packet.data_is_binary(data) is binary
