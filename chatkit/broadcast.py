"""A room broadcast that costs one write per recipient: chatkit's fan-out path.

Introduced in notebook 06 (the classroom), where its cost per delivery is measured
against python-socketio's own. python-socketio's ``AsyncManager.emit`` encodes a room
broadcast once, then makes one task per recipient and waits on them all; each task
puts the packet in that connection's engine.io queue, whose writer task wakes up
(through ``asyncio.wait_for``, one more task and timer on Python 3.11), encodes the
engine.io packet again and writes one WebSocket frame. Per delivery that is two or
three tasks, a timer and two encodings: most of the server's time in a busy room.

:class:`FastBroadcast` (the manager mixin under :class:`chatkit.engine.ChatManager`)
encodes the packet once, frames it once as a WebSocket frame (:func:`websocket_frame`)
and hands those bytes to each recipient's :class:`DirectWriter` in one loop, without a
task, when the connection can take them *now*: it is on WebSocket, its writer is idle
with nothing queued (so nothing sent earlier is still on its way: order holds) and its
transport is not paused by a slow reader (backpressure holds). What one turn of the event
loop gives a connection is written at the end of that turn, with one system call
(:class:`WriteBatch`): in a busy room, that call was half of the cost left. Every other
recipient (long-polling, upgrading, something queued, a paused transport) gets the
packet in its engine.io queue, as before. A connection with more than ``max_queued``
packets waiting for it has stopped reading: it is closed, so its memory stays bounded
and the others are not held up.

A state that is sent whole to a whole room each time it changes (who is in the room)
costs N deliveries per change, so N people joining cost N² deliveries: :class:`Coalesced`
sends it at most once per ``N / per_second`` seconds in a room of ``from_size`` or more,
always ending with the latest state.

What it relies on in python-engineio 4.x and aiohttp 3.x is pinned by
tests/test_engine.py: the server's ``create_queue`` (the queue every connection gets),
the writer task waiting in ``queue.get()`` when idle, ``AsyncSocket.upgraded``,
aiohttp's ``request.transport`` and ``request.protocol.writing_paused``.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

__all__ = ["Coalesced", "DirectWriter", "FastBroadcast", "WatchedQueue", "WriteBatch",
           "holds_bytes", "websocket_frame", "write_now"]

logger = logging.getLogger("chatkit.engine")

_TEXT, _BINARY = 0x81, 0x82  # FIN and the opcode: a whole text or binary message


def websocket_frame(data: str | bytes) -> bytes:
    """One unmasked, uncompressed WebSocket frame holding ``data`` (RFC 6455, 5.2), as
    a server sends it: ``websocket_frame("4hi") == b"\\x81\\x034hi"``."""
    payload = data.encode() if isinstance(data, str) else data
    first = _TEXT if isinstance(data, str) else _BINARY
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", first, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", first, 126, size)
    else:
        header = struct.pack("!BBQ", first, 127, size)
    return header + payload


def holds_bytes(data: Any) -> bool:
    """Whether ``data`` has ``bytes`` anywhere in it (then socket.io sends it as binary
    attachments). python-socketio asks this of every packet it makes, with one call per
    item and a ``reduce``: a join ack listing 500 members was 500 calls."""
    waiting = [data]
    while waiting:
        item = waiting.pop()
        if isinstance(item, bytes | bytearray):
            return True
        if isinstance(item, list):
            waiting.extend(value for value in item if not isinstance(value, str))
        elif isinstance(item, dict):
            waiting.extend(item.values())
    return False


def _frames(parts: list) -> bytes:
    """The WebSocket frames of a socket.io packet's parts (``Packet.encode()``), each in
    an engine.io MESSAGE packet of its own making (a packet caches its encoding)."""
    return b"".join(websocket_frame(eio_packet.Packet(eio_packet.MESSAGE, part).encode())
                    for part in parts)


class WatchedQueue(asyncio.Queue):
    """An engine.io connection's packet queue that knows whether its reader (the
    WebSocket writer task, or a long-polling GET) is waiting in :meth:`get` right now:
    then, with the queue empty, nothing taken from it is still on its way."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.readers_waiting = 0

    async def get(self) -> Any:
        self.readers_waiting += 1
        try:
            return await super().get()
        finally:
            self.readers_waiting -= 1

    def idle(self) -> bool:
        """Empty, and its reader waits for the next packet."""
        return self.readers_waiting > 0 and self.empty()


class DirectWriter:
    """Writes broadcast frames straight to one WebSocket connection's transport, for
    :class:`FastBroadcast`; the engine's WebSocket keeps one per open connection in
    ``eio.direct`` (``{eio_sid: DirectWriter}``). Made once the WebSocket is open:
    ``request`` is aiohttp's, whose ``transport`` and ``protocol`` are public."""

    def __init__(self, request: Any, websocket: Any, session: Any, batch: WriteBatch):
        self.transport = request.transport
        self._batch = batch
        self._protocol = request.protocol
        self._websocket = websocket
        self._session = session
        self._queue = session.queue
        self._pending: list[bytes] | None = None

    def ready(self) -> bool:
        """Whether bytes written now arrive after everything sent before, unhindered:
        on WebSocket, the writer idle with nothing queued, the transport not paused."""
        queue, session = self._queue, self._session
        return (queue.readers_waiting > 0 and queue.empty() and session.upgraded
                and not session.closing and not self.transport.is_closing()
                and not self._protocol.writing_paused and not self._websocket.closed)

    def write(self, frames: bytes) -> None:
        """Write ``frames`` at the end of this turn of the event loop, with whatever
        else this turn writes to the connection: one system call, not one each."""
        if self._pending:
            self._pending.append(frames)
            return
        self._pending = [frames]
        self._batch.add(self)

    def flush(self) -> None:
        pending, self._pending = self._pending, None
        if pending and not self.transport.is_closing():
            self.transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def abort(self) -> None:
        """Cut the connection at once (its writer may be stuck on a full socket)."""
        self.transport.abort()


class WriteBatch:
    """The connections of one server that have frames to write this turn of its event
    loop. They are written by one callback, scheduled with the first: ``call_soon``
    keeps its order, so it runs before any task woken later in the turn (a connection's
    writer, say), and what that sends still comes after."""

    def __init__(self) -> None:
        self._writers: list[DirectWriter] = []

    def add(self, writer: DirectWriter) -> None:
        if not self._writers:
            asyncio.get_running_loop().call_soon(self.flush)
        self._writers.append(writer)

    def flush(self) -> None:
        writers, self._writers = self._writers, []
        for writer in writers:
            writer.flush()


def write_now(eio: Any, eio_sid: str, encoded: str | bytes | list) -> bool:
    """Write one socket.io packet (as ``Packet.encode()`` gives it) to a WebSocket
    connection if it can take it now (:meth:`DirectWriter.ready`); False if not, and
    then nothing was written. Acks and emits to one client go this way too, so that a
    connection's writer does not wake for each of them."""
    writer = getattr(eio, "direct", {}).get(eio_sid)
    if writer is None or not writer.ready():
        return False
    writer.write(_frames(encoded if isinstance(encoded, list) else [encoded]))
    return True


class FastBroadcast(socketio.AsyncManager):
    """python-socketio's client manager with the fast broadcast (see the module).

    An emit with a callback (an ack asked of each recipient) takes python-socketio's
    own path: each recipient needs a packet of its own.
    """

    #: More packets than this waiting for one connection: it stopped reading, and is
    #: closed. Above what a resume may queue (``limits.replay`` times the rooms).
    max_queued = 10_000

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._closing: set[asyncio.Task] = set()  # polling connections that stopped reading
        #: How many deliveries were written straight to a WebSocket, and how many
        #: went into a connection's queue (long-polling, busy or slow connections).
        self.delivered = {"direct": 0, "queued": 0}

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        if callback is not None:
            return await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                      callback=callback, to=to, **kwargs)
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):  # as python-socketio: a tuple is several arguments
            args = list(data)
        else:
            args = [] if data is None else [data]
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        encoded = self.server.packet_class(
            sio_packet.EVENT, namespace=namespace, data=[event, *args]).encode()
        parts = encoded if isinstance(encoded, list) else [encoded]
        frames = _frames(parts)
        # A packet caches its first encoding, and a binary one is raw bytes on WebSocket
        # but base64 when polled: the two kinds of connection must not share one.
        by_transport = {upgraded: [eio_packet.Packet(eio_packet.MESSAGE, part)
                                   for part in parts] for upgraded in (True, False)}
        eio = self.server.eio
        direct = getattr(eio, "direct", {})
        written = queued = 0
        for sid, eio_sid in list(self.get_participants(namespace, to or room)):
            if sid in skip:
                continue
            writer = direct.get(eio_sid)
            if writer is not None and writer.ready():
                writer.write(frames)
                written += 1
                continue
            session = eio.sockets.get(eio_sid)
            if session is None or session.closing or session.closed or \
                    getattr(session, "stopped_reading", False):
                continue
            if session.queue.qsize() + len(parts) > self.max_queued:
                self._stopped_reading(session, writer)
                continue
            for pkt in by_transport[bool(session.upgraded)]:
                session.queue.put_nowait(pkt)
            queued += 1
        self.delivered["direct"] += written
        self.delivered["queued"] += queued

    def _stopped_reading(self, session: Any, writer: Any) -> None:
        """Close a connection that has more waiting for it than it may."""
        session.stopped_reading = True  # nothing more is queued for it
        logger.warning("closed connection %s: it stopped reading (%d packets wait for it, "
                       "and it may have at most %d)", session.sid, session.queue.qsize(),
                       self.max_queued)
        if writer is not None:  # its writer is stuck on a full socket: cut it
            writer.abort()
        else:
            # Not abort: the CLOSE packet answers the poll that may be waiting.
            task = asyncio.ensure_future(session.close(
                wait=False, reason=self.server.reason.TRANSPORT_ERROR))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


class Coalesced:
    """Send a room's latest state at most ``per_second / recipients`` times a second.

    ``await presence(key, recipients, data, skip)`` calls ``await send(key, data,
    skips)`` now when the last send for ``key`` is long enough ago (always in a room of
    fewer than ``from_size``: small rooms are unchanged); else it keeps ``data``, the
    newest, and sends it once the time has come, to everyone but every ``skip`` given
    meanwhile (those are leaving). So a room of N hears at most ``per_second``
    deliveries a second of it, however many join at once, and its last one is right.
    :meth:`cancel` drops what waits (the server is stopping). Example::

        presence = Coalesced(send_presence, from_size=50, per_second=2000)
        await presence("lobby", 500, {"room": "lobby", "members": [...]}, None)
    """

    def __init__(self, send: Callable[[Hashable, Any, list], Awaitable[None]], *,
                 from_size: int = 50, per_second: float = 2000.0,
                 clock: Callable[[], float] = time.monotonic):
        self._send = send
        self.from_size = from_size
        self.per_second = per_second
        self._clock = clock
        self._last: dict[Hashable, float] = {}  # rooms of from_size or more only
        self._waiting: dict[Hashable, tuple[Any, list]] = {}
        self._tasks: set[asyncio.Task] = set()

    async def __call__(self, key: Hashable, recipients: int, data: Any, skip: Any) -> None:
        skips = [] if skip is None else [skip]
        if key in self._waiting:  # the newest state replaces the one that waits
            self._waiting[key] = (data, self._waiting[key][1] + skips)
            return
        now = self._clock()
        if recipients < self.from_size:
            self._last.pop(key, None)
            await self._send(key, data, skips)
            return
        due = self._last.get(key, -float("inf")) + recipients / self.per_second
        if now >= due:
            self._last[key] = now
            await self._send(key, data, skips)
            return
        self._waiting[key] = (data, skips)
        task = asyncio.ensure_future(self._send_when_due(key, due - now))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_when_due(self, key: Hashable, delay: float) -> None:
        await asyncio.sleep(delay)
        data, skips = self._waiting.pop(key)
        self._last[key] = self._clock()
        try:
            await self._send(key, data, skips)
        except Exception:  # nobody awaits this task: say it here
            logger.exception("could not send the latest state of %s", key)

    def cancel(self) -> list[asyncio.Task]:
        """Drop every state still waiting; return the tasks, to be awaited."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        self._waiting.clear()
        return tasks
