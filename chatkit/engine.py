"""What ChatServer changes in python-socketio and python-engineio underneath it.

Introduced with the chat server in notebook 03; nothing here is chat-specific, and each
change is made through an extension point the libraries offer (a client manager, the
packet class, the engine.io server and WebSocket classes), for a reason found by running
them (tests/test_engine.py pins each one):

* **after connect**: python-socketio sends the CONNECT packet after the connect handler
  returns, with no hook for "now it is connected". Its client manager's ``connect(sid,
  namespace)`` is called right after, in the same task: the managers here call the
  namespace's ``after_connect(sid)`` there, so a welcome follows CONNECT on the wire;
* **no permessage-deflate**: it halved fan-out throughput, and python-engineio has no
  option for it;
* **a broadcast is written once per recipient**, no task each (:mod:`chatkit.broadcast`);
* **packets that cannot be read** (cut or malformed JSON, nesting too deep, numbers too
  long, an event without a name, bad binary placeholders, too many attachments) are
  answered (an error ack, or ``connect_error``) where the packet says how, else ignored
  or, when what follows cannot be trusted, they end that connection; one log line each,
  never a traceback (the libraries logged two, and a bad placeholder ate later frames);
* **binary attachments are capped**, per packet and in bytes per connection, and dropped
  when the connection ends;
* **long-polling POSTs** are read here: an over-size one gets 413 and ends the session
  at once (python-engineio's hung), an unreadable one gets 400 and ends it too;
* **an engine.io CLOSE packet** ends its WebSocket too, not only the session;
* **origins**: the server's own pages are allowed, under a host name that cannot be
  rebound (an IP address, ``localhost``, this machine's name), besides
  ``cors_allowed_origins``; a refused page is logged once a minute, with the fix;
* **an address that keeps connecting after its refusals** is answered HTTP 429 with the
  sentence and ``Retry-After`` before any WebSocket or session is made for it (the
  :class:`~chatkit.guard.Guard` decides: ``door``); a refusal in words costs ten times more;
* **open WebSockets are remembered**, so that a stopping server can close them with
  1001 ("going away"): clients then see a lost connection and reconnect.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import socket as socket_module
import time
import weakref
from collections.abc import Callable
from typing import Any

import engineio
import socketio
from aiohttp import WSCloseCode, web
from engineio import packet as eio_packet
from engineio import payload as eio_payload
from engineio.async_drivers import aiohttp as engineio_aiohttp
from socketio import packet as sio_packet

from chatkit import broadcast, protocol

__all__ = ["ChatManager", "ChatPacket", "ChatRedisManager", "SocketIOServer", "Unreadable"]

logger = logging.getLogger(__name__)
#: What python-socketio and python-engineio log themselves goes here, warnings and up,
#: once (given ``False``, they add a handler of their own and the root logger prints
#: everything a second time).
library_logger = logging.getLogger("chatkit.engine.library")
if library_logger.level == logging.NOTSET:
    library_logger.setLevel(logging.WARNING)

#: How many unreadable packets one connection may send before it is closed.
MAX_UNREADABLE = 10


class _AfterConnect:
    """A client manager mixin: once a connection is fully connected, call its
    namespace's ``after_connect(sid)``, if the namespace has one."""

    async def connect(self, sid: str, namespace: str) -> str:
        sid = await super().connect(sid, namespace)
        handler = self.server.namespace_handlers.get(namespace)
        after_connect = getattr(handler, "after_connect", None)
        if after_connect is not None:
            try:
                await after_connect(sid)
            except Exception:  # the connection stays; its handshake must not fail here
                logger.exception("after_connect of %s failed", sid)
        return sid


class ChatManager(_AfterConnect, broadcast.FastBroadcast):
    """python-socketio's client manager of one process, with the after-connect hook
    and the fast broadcast (:mod:`chatkit.broadcast`)."""


class ChatRedisManager(_AfterConnect, socketio.AsyncRedisManager, broadcast.FastBroadcast):
    """python-socketio's Redis client manager (several processes), with the hook; what
    comes from Redis is delivered here by the fast broadcast."""


class Unreadable(ValueError):
    """A Socket.IO packet that cannot be read: ``why`` says so for a human; ``close``
    is True when nothing can be answered and the connection must end."""

    def __init__(self, why: str, packet: sio_packet.Packet | None = None, *,
                 close: bool = False):
        super().__init__(why)
        self.why = why
        self.packet_type = getattr(packet, "packet_type", None)
        self.namespace = getattr(packet, "namespace", None) or "/"
        self.id = getattr(packet, "id", None)
        self.close = close


def _why(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "its JSON is nested too deeply"
    if isinstance(error, json.JSONDecodeError):
        return f"its JSON is cut short or malformed ({error.msg})"
    if "integer string conversion" in str(error):
        return "a number in it has too many digits"
    return str(error) or type(error).__name__


class ChatPacket(sio_packet.Packet):
    """python-socketio's packet (the ``serializer`` extension point), with what it
    decodes checked: an event is a list that starts with a name, an ack a list, binary
    packets announce 1 to ``max_attachments`` attachments whose bytes stay within
    ``max_attachment_bytes``, and every placeholder names one of them. Anything else
    raises :class:`Unreadable`."""

    max_attachments = 10
    max_attachment_bytes = 1_000_000
    data_is_binary = classmethod(lambda cls, data: broadcast.holds_bytes(data))

    def decode(self, encoded_packet: Any) -> int:
        try:
            count = super().decode(encoded_packet)
        except Exception as error:  # ValueError, RecursionError, TypeError...
            raise Unreadable(_why(error), self) from None
        kind, data = self.packet_type, self.data
        if kind not in range(7):
            raise Unreadable(f"{kind!r} is not a Socket.IO packet type", self, close=True)
        binary = kind in (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK)
        if binary and not 0 < count <= self.max_attachments:
            raise Unreadable(f"it announces {count} binary attachments, not 1 to "
                             f"{self.max_attachments}", self, close=True)
        if kind in (sio_packet.EVENT, sio_packet.BINARY_EVENT) and not (
                isinstance(data, list) and data and isinstance(data[0], str)):
            raise Unreadable("an event is a list that starts with its name, as in "
                             '["join", {"room": "lobby"}]', self)
        if kind in (sio_packet.ACK, sio_packet.BINARY_ACK) and not isinstance(data, list):
            raise Unreadable("an ack is a list", self)
        self.attachment_bytes = 0
        return count

    def add_attachment(self, attachment: Any) -> bool:
        if not isinstance(attachment, bytes):
            raise Unreadable("a text packet came where a binary attachment was due",
                             self, close=True)
        self.attachment_bytes += len(attachment)
        if self.attachment_bytes > self.max_attachment_bytes:
            raise Unreadable(f"its attachments hold more than {self.max_attachment_bytes:,}"
                             " bytes", self, close=True)
        if len(self.attachments) + 1 == self.attachment_count:
            try:
                self._check_placeholders(self.data, self.attachment_count)
            except RecursionError:
                raise Unreadable("its JSON is nested too deeply", self) from None
        return super().add_attachment(attachment)

    def _check_placeholders(self, data: Any, count: int) -> None:
        if isinstance(data, list):
            for item in data:
                self._check_placeholders(item, count)
        elif isinstance(data, dict):
            if data.get("_placeholder") and "num" in data:
                num = data["num"]
                if type(num) is not int or not 0 <= num < count:
                    raise Unreadable(f"a binary placeholder names attachment {num!r}, "
                                     f"not a number from 0 to {count - 1}", self)
            else:
                for value in data.values():
                    self._check_placeholders(value, count)


class _Payload(eio_payload.Payload):
    """A long-polling body: any number of packets (its bytes are capped already;
    python-engineio refuses more than 16 and drops them all)."""

    max_decode_packets = 1_000_000


#: The engine.io packets a client sends: CLOSE, PONG, MESSAGE, UPGRADE.
_CLIENT_PACKETS = (eio_packet.CLOSE, eio_packet.PONG, eio_packet.MESSAGE, eio_packet.UPGRADE)


class _UncompressedWebSocket(engineio_aiohttp.WebSocket):
    """engine.io's aiohttp WebSocket, with permessage-deflate refused, the socket
    remembered so that the server can close it at stop, undecodable frames handled, and
    the WebSocket ended once its session is closed (a CLOSE packet, an unreadable one)."""

    async def __call__(self, environ: dict) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size,
                                           compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        self.server.websockets.add(self._sock)
        session = self._session()
        sid = getattr(session, "sid", None)
        if isinstance(getattr(session, "queue", None), broadcast.WatchedQueue):
            self.server.direct[sid] = broadcast.DirectWriter(request, self._sock, session,
                                                             self.server.batch)
        try:
            await self.handler(self)
        except Exception as error:
            await self._end_undecodable_session(error)
        finally:
            self.server.websockets.discard(self._sock)
            self.server.direct.pop(sid, None)
        return self._sock

    def _session(self) -> Any:
        return getattr(self.handler, "__self__", None)  # engine.io's AsyncSocket

    async def wait(self) -> Any:
        """The next frame, or None (the end) once the session is closed."""
        session = self._session()
        if session is not None and session.closed:
            return None
        return await super().wait()

    async def _end_undecodable_session(self, error: Exception) -> None:
        """A frame engine.io cannot decode stops its handler before its own cleanup:
        the session would stay open (holding the client's name) until a ping timeout,
        and its writer task would wait as long. End both now."""
        session = self._session()
        logger.warning("closed connection %s: it sent a frame that is not Engine.IO (%s)",
                       getattr(session, "sid", "?"), _why(error))
        await self._sock.close(code=WSCloseCode.PROTOCOL_ERROR)
        if session is not None:
            await session.queue.put(None)  # lets its writer task finish
            await session.close(wait=False, abort=True,
                                reason=self.server.reason.TRANSPORT_ERROR)


class _EngineIOServer(engineio.AsyncServer):
    """An engine.io server that uses :class:`_UncompressedWebSocket`, keeps track of
    its open WebSockets, reads long-polling POSTs itself and checks origins."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The driver table is shared by every server: copy it before changing it.
        self._async = {**self._async, "websocket": _UncompressedWebSocket}
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.direct: dict[str, broadcast.DirectWriter] = {}  # for the fast broadcast
        self.batch = broadcast.WriteBatch()
        self._origins_logged: dict[str, float] = {}
        #: Called with the address of each new connection (no ``sid`` yet): it returns
        #: None to let it in, or (sentence, seconds) to answer HTTP 429 at once.
        self.door: Callable[[str | None], tuple[str, float] | None] | None = None

    def create_queue(self, *args: Any, **kwargs: Any) -> broadcast.WatchedQueue:
        return broadcast.WatchedQueue(*args, **kwargs)

    async def handle_request(self, request: web.Request) -> web.StreamResponse:
        environ = self._async["translate_request"](request)
        origin = environ.get("HTTP_ORIGIN")
        if origin and self.cors_allowed_origins != []:
            allowed = self._cors_allowed_origins(environ)
            if allowed is not None and origin not in allowed:
                self._log_refused_origin(origin)
                return await self._make_response(
                    self._bad_request(f"{origin} is not an accepted origin."), environ)
        if self.door is not None and "sid" not in request.query:
            turned_away = self.door(request.remote)
            if turned_away is not None:
                return await self._turn_away(environ, *turned_away)
        socket = self.sockets.get(request.query.get("sid", ""))
        if (request.method == "POST" and "j" not in request.query and socket is not None
                and socket.connected and not socket.upgraded):
            return await self._handle_post(request, environ, socket)
        return await super().handle_request(request)

    async def _handle_post(self, request: web.Request, environ: dict,
                           socket: Any) -> web.StreamResponse:
        """A long-polling POST: 413 over the size limit, 400 if it cannot be read (both
        end the session, whose pending poll gets a CLOSE packet), else its packets."""
        length = request.content_length
        if length is None and request.body_exists:
            return await self._refuse(environ, 411, "Send a Content-Length with the body.")
        length = length or 0
        if length > self.max_http_buffer_size:
            return await self._end(socket, environ, 413, f"The request holds {length:,} "
                                   f"bytes, more than the {self.max_http_buffer_size:,} "
                                   "this server accepts (maxPayload).")
        try:
            body = await request.content.readexactly(length)
            packets = _Payload(encoded_payload=body.decode("utf-8")).packets
            if any(pkt.packet_type not in _CLIENT_PACKETS for pkt in packets):
                raise ValueError("a packet type that a client does not send")
        except Exception as error:  # cut short, not UTF-8, bad base64, bad packet type
            return await self._end(socket, environ, 400, "The request could not be read "
                                   f"as Engine.IO packets ({_why(error)}).")
        for pkt in packets:  # as engine.io's socket.handle_post_request does
            if socket.closed:  # an earlier packet of this body ended the connection
                break
            try:
                await socket.receive(pkt)
            except engineio.exceptions.SocketIsClosedError:  # it ended while answering
                break
        return await self._make_response(self._ok(), environ)

    async def _turn_away(self, environ: dict, why: str, wait: float) -> web.Response:
        """429 with the sentence as JSON (python-engineio's client hands it on) and when
        to come back: no WebSocket, no session, nothing kept for a connecting loop."""
        return await self._make_response({
            "status": "429 TOO MANY REQUESTS",
            "headers": [("Content-Type", "application/json"),
                        ("Retry-After", str(max(1, math.ceil(wait))))],
            "response": json.dumps({"message": why}).encode()}, environ)

    async def _refuse(self, environ: dict, status: int, why: str) -> web.Response:
        response = self._bad_request(why)
        response["status"] = f"{status} REFUSED"
        return await self._make_response(response, environ)

    async def _end(self, socket: Any, environ: dict, status: int, why: str) -> web.Response:
        logger.warning("closed connection %s: %s", socket.sid, why)
        await socket.close(wait=False, reason=self.reason.TRANSPORT_ERROR)
        return await self._refuse(environ, status, why)

    def _cors_allowed_origins(self, environ: dict) -> list[str] | None:
        """The server's own pages, under a host name that cannot be rebound, and the
        origins given (``"*"``, ``[]`` and callables as in python-engineio)."""
        given = self.cors_allowed_origins
        if not (given is None or isinstance(given, str | list) and given) or given == "*":
            return super()._cors_allowed_origins(environ)
        if given is not None and "*" in given:
            return None
        own = []
        host = environ.get("HTTP_X_FORWARDED_HOST", environ.get("HTTP_HOST", ""))
        # python-engineio's aiohttp driver says "http" unless X-Forwarded-Proto says
        # otherwise, even on a TLS socket (serve --certfile): ask aiohttp's request.
        request = environ.get("aiohttp.request")
        served = request.scheme if request is not None else environ.get("wsgi.url_scheme")
        scheme = environ.get("HTTP_X_FORWARDED_PROTO", served)
        host, scheme = host.split(",")[0].strip(), str(scheme).split(",")[0].strip()
        if host and _unrebindable(host):
            own.append(f"{scheme}://{host}")
        return own + ([given] if isinstance(given, str) else list(given or []))

    def _log_refused_origin(self, origin: str) -> None:
        now = time.monotonic()
        if now - self._origins_logged.get(origin, -60.0) < 60:
            return
        if len(self._origins_logged) > 1000:
            self._origins_logged.clear()
        self._origins_logged[origin] = now
        logger.warning("refused a web page from %s (origin not allowed): start the server "
                       "with --cors-origin %s (ChatServer(cors_allowed_origins=[%r])) to "
                       "let it connect", origin, origin, origin)


def _unrebindable(host: str) -> bool:
    """Whether a Host header names this server in a way no other site's DNS can
    (DNS rebinding): an IP address, ``localhost``, or this machine's own name."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 or "]" in host else host
    name = name.strip("[]").rstrip(".").lower()
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    machine = {socket_module.gethostname().lower(), socket_module.getfqdn().lower()}
    machine |= {f"{one}.local" for one in machine}
    return name == "localhost" or name.endswith(".localhost") or name in machine


class SocketIOServer(socketio.AsyncServer):
    """A python-socketio server on top of :class:`_EngineIOServer`, reading packets
    with :class:`ChatPacket`.

    ``room_label`` says how a room reads on a map (:func:`chatkit.roommap.snapshot`);
    ``labels`` maps the server's room names to what a person should read.
    ``max_attachments`` caps the binary attachments of one packet (default 10), whose
    bytes are capped by ``max_http_buffer_size``. ``door(address)`` is asked about each
    new connection before anything is made for it (see ``_EngineIOServer.door``).
    """

    def __init__(self, *args: Any, room_label: Any = None, max_attachments: int = 10,
                 door: Callable[[str | None], tuple[str, float] | None] | None = None,
                 **kwargs: Any):
        caps = {"max_attachments": max_attachments,
                "max_attachment_bytes": kwargs.get("max_http_buffer_size", 1_000_000)}
        kwargs.setdefault("serializer", type("ChatPacket", (ChatPacket,), caps))
        for option in ("logger", "engineio_logger"):
            if not kwargs.get(option):  # False, None or absent: one line, not two
                kwargs[option] = library_logger
        super().__init__(*args, **kwargs)
        self.eio.door = door
        self._room_label = room_label
        self._unreadable: dict[str, int] = {}

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineIOServer

    async def _send_packet(self, eio_sid: str, pkt: sio_packet.Packet) -> None:
        encoded = pkt.encode()  # an ack, or an emit to one client: straight out if it can
        if not broadcast.write_now(self.eio, eio_sid, encoded):
            for part in encoded if isinstance(encoded, list) else [encoded]:
                await self.eio.send(eio_sid, part)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        """Every packet from a client; what cannot be read is answered or ends it."""
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as error:
            self._binary_packet.pop(eio_sid, None)  # else it eats every later frame
            bad = error if isinstance(error, Unreadable) else Unreadable(
                _why(error), close=True)
            await self._answer_unreadable(eio_sid, bad)

    async def _answer_unreadable(self, eio_sid: str, bad: Unreadable) -> None:
        count = self._unreadable[eio_sid] = self._unreadable.get(eio_sid, 0) + 1
        sentence = (f"This packet could not be read: {bad.why}. Send each event as its "
                    "name and one JSON object, as a Socket.IO library does.")
        sid = self.manager.sid_from_eio_sid(eio_sid, bad.namespace)
        # The last one a connection may send is still answered, saying so; then it ends.
        last = count >= MAX_UNREADABLE and not bad.close
        if last:
            bad.close, bad.why = True, f"{count} packets could not be read, the last: {bad.why}"
            sentence += f" This connection is closed after {count} packets that could not be read."
        if (last or not bad.close) and bad.packet_type == sio_packet.CONNECT and sid is None:
            if not last:
                logger.warning("refused a connect of %s to %s: %s", eio_sid, bad.namespace,
                               bad.why)
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.CONNECT_ERROR, data={"message": sentence}, namespace=bad.namespace))
        elif (last or not bad.close) and bad.id is not None and sid is not None and \
                bad.packet_type in (sio_packet.EVENT, sio_packet.BINARY_EVENT):
            if not last:
                logger.warning("answered %s with an error: a packet could not be read (%s)",
                               sid, bad.why)
            await self._send_packet(eio_sid, self.packet_class(
                sio_packet.ACK, namespace=bad.namespace, id=bad.id,
                data=[protocol.refused(sentence)]))
        elif not bad.close:  # nothing to answer to: ignored, as an unknown event is
            logger.warning("ignored a packet from %s that could not be read (%s)",
                           sid or eio_sid, bad.why)
        if bad.close:
            logger.warning("closed connection %s: a packet could not be read (%s)",
                           eio_sid, bad.why)
            session = self.eio.sockets.get(eio_sid)
            if session is not None:
                await session.close(wait=False, reason=self.reason.TRANSPORT_ERROR)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:  # what a client left half-sent goes with it
            self._binary_packet.pop(eio_sid, None)
            self._unreadable.pop(eio_sid, None)

    def room_label(self, namespace: str, room: str) -> str:
        """How ``room`` of ``namespace`` reads on a map (the room itself by default)."""
        return room if self._room_label is None else self._room_label(namespace, room)

    async def close_connections(self) -> None:
        """End every connection: WebSockets with 1001 (going away), so that clients
        reconnect; long-polling sessions at once, so that a pending poll does not hold
        the web server's stop for its whole timeout."""
        for websocket in list(self.eio.websockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        for socket in list(self.eio.sockets.values()):
            if not socket.upgraded:
                await socket.close(wait=False, reason=self.reason.SERVER_DISCONNECT)

    def is_open(self, sid: str, namespace: str) -> bool:
        """Whether the engine.io connection under ``sid`` of ``namespace`` is still open."""
        eio_sid = self.manager.eio_sid_from_sid(sid, namespace)
        socket = self.eio.sockets.get(eio_sid) if eio_sid is not None else None
        return socket is not None and not socket.closed
