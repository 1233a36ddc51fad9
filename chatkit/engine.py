"""What ChatServer changes in python-socketio and python-engineio underneath it.

Introduced with the chat server in notebook 03; nothing here is chat-specific, and each
change is made through an extension point the libraries offer (a client manager, the
engine.io server and WebSocket classes), for a reason found by running them:

* **after connect**: python-socketio sends a connection's CONNECT packet only after the
  connect handler returns, and has no hook for "now it is connected". Its client
  manager's ``connect(sid, namespace)`` is called right after that packet is queued,
  in the same task, before any later packet of that client is handled: the managers
  here call the namespace's ``after_connect(sid)`` there, so a welcome sent from it
  follows the CONNECT packet on the wire, without polling;
* **no permessage-deflate**: it halved fan-out throughput, and python-engineio has no
  option for it;
* **frames engine.io cannot decode** end that connection at once, instead of leaving
  it (and the name it holds) open until a ping timeout;
* **open WebSockets are remembered**, so that a stopping server can close them with
  1001 ("going away"): clients then see a lost connection and reconnect.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

import engineio
import socketio
from aiohttp import WSCloseCode, web
from engineio.async_drivers import aiohttp as engineio_aiohttp

__all__ = ["ChatManager", "ChatRedisManager", "SocketIOServer"]

logger = logging.getLogger(__name__)


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


class ChatManager(_AfterConnect, socketio.AsyncManager):
    """python-socketio's client manager of one process, with the after-connect hook."""


class ChatRedisManager(_AfterConnect, socketio.AsyncRedisManager):
    """python-socketio's Redis client manager (several processes), with the hook."""


class _UncompressedWebSocket(engineio_aiohttp.WebSocket):
    """engine.io's aiohttp WebSocket, with permessage-deflate refused, the socket
    remembered so that the server can close it at stop, and undecodable frames handled."""

    async def __call__(self, environ: dict) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size,
                                           compress=False)
        await self._sock.prepare(request)
        self.environ = environ
        self.server.websockets.add(self._sock)
        try:
            await self.handler(self)
        except Exception:
            await self._end_undecodable_session()
        finally:
            self.server.websockets.discard(self._sock)
        return self._sock

    async def _end_undecodable_session(self) -> None:
        """A frame engine.io cannot decode stops its handler before its own cleanup:
        the session would stay open (holding the client's name) until a ping timeout,
        and its writer task would wait as long. End both now."""
        logger.info("closing a connection that sent a frame engine.io cannot decode",
                    exc_info=True)
        await self._sock.close(code=WSCloseCode.PROTOCOL_ERROR)
        session = getattr(self.handler, "__self__", None)  # engine.io's AsyncSocket
        if session is not None:
            await session.queue.put(None)  # lets its writer task finish
            await session.close(wait=False, abort=True,
                                reason=self.server.reason.TRANSPORT_ERROR)


class _EngineIOServer(engineio.AsyncServer):
    """An engine.io server that uses :class:`_UncompressedWebSocket` and keeps track of
    its open WebSockets."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The driver table is shared by every server: copy it before changing it.
        self._async = {**self._async, "websocket": _UncompressedWebSocket}
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()


class SocketIOServer(socketio.AsyncServer):
    """A python-socketio server on top of :class:`_EngineIOServer`.

    ``room_label`` says how a room reads on a map (:func:`chatkit.roommap.snapshot`);
    ``labels`` maps the server's room names to what a person should read.
    """

    def __init__(self, *args: Any, room_label: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._room_label = room_label

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineIOServer

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
