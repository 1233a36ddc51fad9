"""ChatServer: the course's socket.io chat server, runnable inside a notebook.

Introduced in notebook 02 (custom events and acks), used in notebook 03 (disconnects and
resume) and drawn in notebook 04 (rooms). The wire protocol it speaks is written down in
``docs/protocol.md``; any socket.io client, in any language, can use it::

    server = ChatServer(join_code="maple-otter-42")
    handle = await server.start(name="chat")    # handle.url: http://127.0.0.1:<port>
    server.snapshot()                            # {"/chat": {"lobby": ["ada", "bob"]}}
    await server.stop()                          # safe to call twice

Under the hood it is a python-socketio ``AsyncServer`` on aiohttp. The event handlers
only translate events into calls of the rules in :mod:`chatkit.chat` and send back what
they return; messages are kept in a :mod:`chatkit.store`. With ``redis=URL`` several
server processes share one chat (notebook 06; :mod:`chatkit.cluster` says how). Three
things are added on top of the library, each for a reason found by running it:

* permessage-deflate is refused on WebSocket connections: it halved fan-out throughput
  (DESIGN.md, "Runtime choice") and python-engineio has no option for it;
* ``stop`` closes WebSocket connections with code 1001 ("going away"), so clients see a
  lost connection and reconnect, rather than a goodbye that tells them not to;
* ``stop`` cancels the background tasks engine.io leaves behind (a ping task sleeps
  ``ping_interval`` seconds after its connection is gone), so a notebook's kernel is
  left as it was found.
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from collections import deque
from dataclasses import replace
from os import PathLike
from typing import Any

import engineio
import socketio
from aiohttp import WSCloseCode, web
from engineio.async_drivers import aiohttp as engineio_aiohttp

from chatkit import cluster, roommap, running
from chatkit.chat import Accepted, Chat, Limits, Refused, Throttled
from chatkit.store import DEFAULT_CLIENT_IDS_PER_NAME, Message, Store, open_store

__all__ = ["CHAT_NAMESPACE", "TEACHER_NAMESPACE", "ChatServer"]

logger = logging.getLogger(__name__)

#: The socket.io namespace of the chat.
CHAT_NAMESPACE = "/chat"

#: The socket.io namespace of the teacher's tools (notebook 06): rooms, kick, mute,
#: announce, for whoever has the teacher token.
TEACHER_NAMESPACE = "/teacher"

#: How long the server waits for a connection to finish its socket.io handshake before
#: it gives up sending the welcome (seconds). The handshake completes right after the
#: connect handler returns, so this is only a safety net.
_HANDSHAKE_WAIT = 5.0

#: Inside socket.io, the chat room "lobby" is the room "room:lobby". socket.io also puts
#: every connection in a room named by its sid (20 characters that a chat room name may
#: use too); the prefix keeps the two kinds apart, so no chat room can be someone's
#: private room.
_ROOM_PREFIX = "room:"


#: With Redis: the prefix of every key and channel, and how often (seconds) a process
#: says it is alive (it counts as gone three times that long after its last word).
_REDIS_PREFIX = "chatkit:"
_HEARTBEAT = 5.0


def _sio_room(room: str) -> str:
    """The socket.io room that holds the chat room ``room``."""
    return _ROOM_PREFIX + room


class ChatServer:
    """The chat server: rules, store, socket.io server and aiohttp application together.

    Every option is keyword-only.

    Who may connect:
        join_code: the code students must send in ``auth["code"]``; None (the default)
            lets anyone in. Compared without regard to case or surrounding spaces.
        teacher_token: the secret a teacher sends in ``auth["token"]`` to connect to the
            ``/teacher`` namespace (rooms, kick, mute, announce); None (the default)
            keeps that namespace closed to everyone.

    Limits:
        limits: name, room and text lengths, the size of a join's history, messages per
            second and burst, people per server, rooms per person and how long a kick
            lasts, as a :class:`chatkit.chat.Limits`; None means the documented defaults
            (no rate limit; 200 people; 20 rooms each; 60 s).
        max_http_buffer_size: the largest packet accepted, in bytes (default 1,000,000).
            A bigger one ends that client's connection, never the server.

    Storage:
        db: a SQLite file to keep messages in, so that ids, history and resume survive a
            restart; None (the default) keeps them in memory.
        store: a ready :class:`chatkit.store.Store` to use instead of ``db``; the server
            does not close it.
        client_ids_per_name: how many ``client_id`` values are remembered per name to
            recognise a message sent twice (default 1,000).

    Scaling out:
        redis: the URL of a Redis server (``"redis://127.0.0.1:6379/0"``) that several
            server processes share, instead of ``db`` or ``store``: messages, ids, client
            ids, kicks and mutes are kept there, rooms and broadcasts go through
            python-socketio's ``AsyncRedisManager``, and a client of one process hears
            the clients of every other, in id order. None (the default): this process
            is the whole chat. See :mod:`chatkit.cluster`.

    Connection health (engine.io):
        ping_interval: seconds between the server's pings (default 25).
        ping_timeout: seconds to wait for a pong before the connection counts as lost
            (default 20). Tests shorten both so that lost clients are noticed quickly.
        cors_allowed_origins: which web pages may connect from a browser, as in
            python-socketio: None (the default) allows only pages served by this server,
            ``"*"`` allows every page. Non-browser clients are not affected.

    Attributes:
        rules: the :class:`chatkit.chat.Chat` that decides everything.
        store: where messages are kept.
        redis: the Redis URL this server shares the chat through, or None.
        sio: the python-socketio ``AsyncServer``, for learners who want to look inside.
        app: the aiohttp application that serves it (``/socket.io/``).
        log: the last 1,000 connection events as sentences, oldest first
            ("ada connected", "ada disconnected (transport close)"), also logged at INFO
            level on the ``chatkit.server`` logger.
    """

    def __init__(self, *, join_code: str | None = None, teacher_token: str | None = None,
                 limits: Limits | None = None, max_http_buffer_size: int = 1_000_000,
                 db: str | PathLike[str] | None = None, store: Store | None = None,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME,
                 redis: str | None = None,
                 ping_interval: float = 25, ping_timeout: float = 20,
                 cors_allowed_origins: str | list[str] | None = None):
        if sum(option is not None for option in (db, store, redis)) > 1:
            raise ValueError("give either db (a file name), store or redis, not several")
        self.redis = redis
        self._owns_store = store is None
        self.store = store if store is not None else open_store(
            db, client_ids_per_name=client_ids_per_name, redis=redis)
        self._roster = None if redis is None else cluster.RedisRoster(
            redis, prefix=_REDIS_PREFIX, ttl=3 * _HEARTBEAT)
        self.rules = Chat(store=self.store, limits=limits, join_code=join_code,
                          teacher_token=teacher_token, elsewhere=self._roster)
        manager = None if redis is None else socketio.AsyncRedisManager(
            redis, channel=f"{_REDIS_PREFIX}socketio", logger=cluster.logger)
        self.sio = _SocketIOServer(
            client_manager=manager,
            async_mode="aiohttp", ping_interval=ping_interval, ping_timeout=ping_timeout,
            max_http_buffer_size=max_http_buffer_size,
            cors_allowed_origins=cors_allowed_origins, logger=False, engineio_logger=False)
        self.sio.register_namespace(_ChatNamespace(self))
        self.sio.register_namespace(_TeacherNamespace(self))
        self.app = web.Application()
        self.sio.attach(self.app)
        self.app.on_shutdown.append(self._close_connections)
        self.app.on_cleanup.append(self._cancel_leftovers)
        self.log: deque[str] = deque(maxlen=1000)
        self._teachers: set[str] = set()  # sids of the /teacher connections
        # Saying, joining and resuming take this lock, so that every connection receives
        # the `said` events of its rooms in id order, and a resuming client gets each
        # message exactly once: replayed if it was said before, live if after.
        self._order = asyncio.Lock()
        # With Redis, `said` events are delivered from Redis's channel (in id order, from
        # every process): the newest id delivered here so far. None: no such channel,
        # each message is delivered when it is said.
        self._delivered: int | None = None
        self._tasks: list[asyncio.Task] = []
        self._handle: running.Running | None = None
        self._shut_down = False
        self._cleaned_up = False

    @property
    def join_code(self) -> str | None:
        """The join code students need, or None for an open chat."""
        return self.rules.join_code

    @property
    def url(self) -> str | None:
        """``http://host:port`` while running (what a socket.io client connects to), else None."""
        if self._handle is None or self._handle.stopped:
            return None
        return self._handle.url

    async def start(self, *, host: str = "127.0.0.1", port: int = 0,
                    name: str = "chat") -> running.Running:
        """Serve the chat from the running event loop; return the handle (``.url``, ``.port``).

        ``port=0`` (the default) picks a free port. A server already started under the
        same ``name`` (say, by an earlier run of the same notebook cell) is stopped
        first. A ChatServer starts once: to start again, make a new one.

        Raises :class:`chatkit.running.ServerStartError` if the address cannot be used,
        and :class:`ConnectionError` if ``redis`` was given and cannot be reached.
        Note: this method is a coroutine.
        """
        if self._handle is not None or self._cleaned_up:
            raise RuntimeError("this ChatServer was already started; make a new one")
        if self.redis is not None:
            await self._start_redis()
        try:
            self._handle = await running.serve_aiohttp(self.app, name=name, host=host,
                                                       port=port)
        except BaseException:
            await self._stop_tasks()
            raise
        return self._handle

    async def _start_redis(self) -> None:
        """Follow Redis's channel of new messages (caught up) before serving anyone."""
        try:
            self.store.redis.ping()
        except Exception as exc:
            raise ConnectionError(f"cannot reach Redis at {cluster.safe_url(self.redis)}: "
                                  f"{exc}") from None
        subscribed = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._follow_said(subscribed)),
                       loop.create_task(self._heartbeat())]
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
        except TimeoutError:
            await self._stop_tasks()
            raise ConnectionError(f"cannot follow the chat's channel on Redis at "
                                  f"{cluster.safe_url(self.redis)}") from None
        except BaseException:
            await self._stop_tasks()
            raise

    async def _follow_said(self, subscribed: asyncio.Event) -> None:
        """Deliver each new message, from every process, to this process's clients."""
        async def catch_up() -> None:
            async with self._order:
                newest = self.store.last_id()
                if self._delivered is not None:  # Redis was lost for a while
                    for message in self.store.since(self.rules.rooms_here(), self._delivered):
                        await self._deliver(message)
                self._delivered = max(newest, self._delivered or 0)
            subscribed.set()

        async for data in cluster.follow(self.redis, self.store.said_channel,
                                         on_subscribed=catch_up):
            try:
                message = Message.from_dict(json.loads(data))
            except (ValueError, KeyError, TypeError):
                logger.warning("ignored a message on Redis that is not one: %r", data[:100])
                continue
            async with self._order:
                if message.id > self._delivered:  # not already caught up with
                    try:
                        await self._deliver(message)
                    except Exception:  # one failure must not stop the deliveries
                        logger.exception("could not deliver message %d", message.id)

    async def _deliver(self, message: Message) -> None:
        await self.sio.emit("said", message.to_dict(), room=_sio_room(message.room),
                            namespace=CHAT_NAMESPACE, ignore_queue=True)  # here only
        self._delivered = message.id

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(_HEARTBEAT)
            try:
                self._roster.heartbeat()
            except Exception:
                logger.warning("cannot tell Redis this server is alive", exc_info=True)

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def _only_delivered(self, messages) -> tuple[Message, ...]:
        """Those of ``messages`` already delivered live here (all of them without Redis):
        a join's history or a resume's replay holds only those, and the rest arrive
        live, so that each reaches the client exactly once."""
        if self._delivered is None:
            return tuple(messages)
        return tuple(message for message in messages if message.id <= self._delivered)

    async def stop(self) -> None:
        """Close every connection and stop serving. Safe to call more than once.

        WebSocket clients see a lost connection (code 1001), so clients that reconnect,
        such as :class:`chatkit.client.ChatClient`, come back on their own if a server
        starts again at the same address. Leaves no task behind.
        Note: this method is a coroutine.
        """
        if self._handle is not None:
            await self._handle.stop()
        elif not self._cleaned_up:  # never started: only the store is open
            await self._cancel_leftovers(self.app)

    def snapshot(self, *, personal_rooms: bool = False) -> dict[str, dict[str, list[str]]]:
        """What socket.io holds now: ``{namespace: {room: [member names]}}``, sorted.

        This is python-socketio's own bookkeeping, read-only and copied into plain data
        by :func:`chatkit.roommap.snapshot`: the map notebook 04 draws. Chat rooms show
        under their chat names; connections in no room are listed under
        :data:`chatkit.roommap.NO_ROOM`; namespaces nobody is connected to are left out.
        socket.io also puts every connection in a room named after its sid;
        ``personal_rooms=True`` includes those (as ``"private: <name>"``). Connections
        half-way through connecting or disconnecting are left out; a connection whose
        chat name is not known is shown by its sid.
        """
        return roommap.snapshot(self.sio, label=self._label, private_rooms=personal_rooms)

    def _label(self, sid: str) -> str | None:
        return self.rules.name_of(sid) or ("teacher" if sid in self._teachers else None)

    def _note(self, line: str) -> None:
        self.log.append(line)
        logger.info("%s", line)

    async def _close_connections(self, app: web.Application) -> None:
        """aiohttp on_shutdown hook: end every connection so the web server can stop."""
        for websocket in list(self.sio.eio.websockets):
            await websocket.close(code=WSCloseCode.GOING_AWAY, message=b"server stopping")
        # Polling clients: close their engine.io sockets, which answers a pending
        # long-poll at once instead of holding the shutdown for its whole timeout.
        for socket in list(self.sio.eio.sockets.values()):
            if not socket.upgraded:
                await socket.close(wait=False, reason=self.sio.reason.SERVER_DISCONNECT)
        if not self._shut_down:  # AsyncServer.shutdown() fails when called twice
            self._shut_down = True
            await self.sio.shutdown()

    async def _cancel_leftovers(self, app: web.Application) -> None:
        """aiohttp on_cleanup hook: cancel engine.io's leftover tasks, close our store."""
        if self._cleaned_up:
            return
        self._cleaned_up = True
        await self._stop_tasks()
        current = asyncio.current_task()
        leftovers = [task for task in self.sio.eio.background_tasks
                     if task is not current and not task.done()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        if self._roster is not None:
            try:
                self._roster.forget()
            except Exception:
                logger.warning("cannot leave the roster in Redis", exc_info=True)
            self._roster.close()
            manager = self.sio.manager
            for connection in (getattr(manager, "pubsub", None), getattr(manager, "redis", None)):
                if connection is not None:
                    await connection.aclose()
        if self._owns_store:
            self.store.close()

    def __repr__(self) -> str:
        state = f"at {self.url}" if self.url else "not running"
        return f"<ChatServer {state}: {self.rules!r}>"


class _Namespace(socketio.AsyncNamespace):
    """What both namespaces share: events become calls of the rules; a refusal or a
    failure becomes an error ack; unknown events are ignored."""

    #: The events a client may send; anything else is ignored (and logged).
    client_events: frozenset[str] = frozenset()

    def __init__(self, namespace: str, chat_server: ChatServer):
        super().__init__(namespace)
        self.chat = chat_server

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route an event to its handler; refusals and failures become error acks."""
        sid = args[0] if args else None
        if event in ("connect", "disconnect"):
            # python-socketio also routes a client's *event* named "connect" or
            # "disconnect" here; a real one arrives while the sid is not fully connected.
            if self.server.manager.is_connected(sid, self.namespace):
                logger.info("ignored an event named %r from %s", event, self._who(sid))
                return self.server.not_handled
            return await getattr(self, f"on_{event}")(*args)
        if event not in self.client_events:
            logger.info("ignored unknown event %r from %s", event, self._who(sid))
            return self.server.not_handled  # no ack: the protocol ignores unknown events
        try:
            return await getattr(self, f"on_{event}")(*args)
        except Throttled as throttled:
            if throttled.notice:
                await self.emit("notice", {"text": throttled.notice}, to=sid)
            return {"ok": False, "error": str(throttled)}
        except Refused as refusal:
            return {"ok": False, "error": str(refusal)}
        except Exception:
            logger.exception("%r from %s failed", event, self._who(sid))
            return {"ok": False, "error": "The server failed to handle this request. "
                                          "It was logged; please tell your teacher."}

    def _who(self, sid: str) -> str:
        name = self.chat._label(sid)
        return f"{name} ({sid})" if name else str(sid)


class _ChatNamespace(_Namespace):
    """The ``/chat`` namespace: each event becomes one call of the rules."""

    client_events = frozenset({"join", "leave", "say"})

    def __init__(self, chat_server: ChatServer):
        super().__init__(CHAT_NAMESPACE, chat_server)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        try:
            accepted = self.chat.rules.connect(sid, auth)
        except Refused as refusal:
            self.chat._note(f"refused a connection: {refusal}")
            raise socketio.exceptions.ConnectionRefusedError(str(refusal)) from None
        except Exception:
            logger.exception("connect failed")
            raise socketio.exceptions.ConnectionRefusedError(
                "The server failed to accept this connection; please tell your teacher."
            ) from None
        if accepted.replaced is not None:
            self.chat._note(f"{accepted.name} connected again; closing its older connection")
            await self.emit("notice", {"text": "You connected again from somewhere else: "
                                               "this connection is closed."},
                            to=accepted.replaced)
            await self.disconnect(accepted.replaced)
        else:
            self.chat._note(f"{accepted.name} connected")
        # The welcome and the replay must follow socket.io's CONNECT packet, which is
        # sent only after this handler returns: hence a task.
        self.server.start_background_task(self._welcome, sid, accepted)

    async def _welcome(self, sid: str, accepted: Accepted) -> None:
        deadline = asyncio.get_running_loop().time() + _HANDSHAKE_WAIT
        while not self.server.manager.is_connected(sid, self.namespace):
            if self.chat.rules.name_of(sid) is None:
                return  # gone (or taken over) before its handshake finished
            if asyncio.get_running_loop().time() > deadline:
                logger.warning("%s never finished connecting", self._who(sid))
                self.chat.rules.disconnect(sid)  # or its name would stay taken
                return
            await asyncio.sleep(0.005)
        async with self.chat._order:
            if self.chat.rules.name_of(sid) is None:
                return
            await self.emit("welcome", {"name": accepted.name, "session": accepted.session,
                                        "history": self.chat.store.history}, to=sid)
            for room in accepted.rooms:
                await self.enter_room(sid, _sio_room(room))
            replay = self.chat.rules.replay(accepted.rooms, accepted.offset)
            for message in self.chat._only_delivered(replay):
                await self.emit("said", message.to_dict(), to=sid)
            for presence in accepted.presence:
                await self.emit("presence", presence.to_dict(), room=_sio_room(presence.room))

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        name = self.chat.rules.name_of(sid)
        presence = self.chat.rules.disconnect(sid)
        if name is not None:
            self.chat._note(f"{name} disconnected ({reason})")
        for change in presence:
            # sid is still in its socket.io rooms until this handler returns.
            await self.emit("presence", change.to_dict(), room=_sio_room(change.room),
                            skip_sid=sid)

    async def on_join(self, sid: str, *payload: Any) -> dict:
        async with self.chat._order:
            joined = self.chat.rules.join(sid, _one(payload))
            try:
                await self.enter_room(sid, _sio_room(joined.room))
            except BaseException:  # the rules must not count a member socket.io lacks
                self.chat.rules.leave(sid, {"room": joined.room})
                raise
            await self.emit("presence", {"room": joined.room, "members": list(joined.members)},
                            room=_sio_room(joined.room))
            history = self.chat._only_delivered(joined.history)
        return replace(joined, history=history).to_ack()

    async def on_leave(self, sid: str, *payload: Any) -> dict:
        async with self.chat._order:
            left = self.chat.rules.leave(sid, _one(payload))
            await self.leave_room(sid, _sio_room(left.room))
            await self.emit("presence", {"room": left.room, "members": list(left.members)},
                            room=_sio_room(left.room))
        return {"ok": True}

    async def on_say(self, sid: str, *payload: Any) -> dict:
        async with self.chat._order:
            said = self.chat.rules.say(sid, _one(payload))
            if said.message is not None and self.chat.redis is None:
                # (With Redis, every process delivers it from Redis's channel instead.)
                await self.emit("said", said.message.to_dict(),
                                room=_sio_room(said.message.room))
        return said.to_ack()


class _TeacherNamespace(_Namespace):
    """The ``/teacher`` namespace: the teacher's tools, for whoever has the token.

    Each event is one call of the rules; what it decides is then done in ``/chat``
    (a notice, a closed connection).
    """

    client_events = frozenset({"rooms", "kick", "mute", "announce"})

    def __init__(self, chat_server: ChatServer):
        super().__init__(TEACHER_NAMESPACE, chat_server)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        try:
            self.chat.rules.check_teacher(auth)
        except Refused as refusal:
            self.chat._note(f"refused a teacher connection: {refusal}")
            raise socketio.exceptions.ConnectionRefusedError(str(refusal)) from None
        self.chat._teachers.add(sid)
        self.chat._note("a teacher connected")

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        if sid in self.chat._teachers:
            self.chat._teachers.discard(sid)
            self.chat._note(f"a teacher disconnected ({reason})")

    async def on_rooms(self, sid: str, *payload: Any) -> dict:
        if _one(payload) not in (None, {}):
            raise Refused("rooms takes nothing, or {}.")
        return {"ok": True, "rooms": self.chat.rules.snapshot(),
                "people": list(self.chat.rules.people())}

    async def on_kick(self, sid: str, *payload: Any) -> dict:
        kicked = self.chat.rules.kick(_one(payload))
        self.chat._note(f"the teacher kicked {kicked.name} out for {kicked.seconds:g} s")
        await self.server.emit("notice", {"text": kicked.notice}, to=kicked.conn,
                               namespace=CHAT_NAMESPACE)
        await self.server.disconnect(kicked.conn, namespace=CHAT_NAMESPACE)
        return {"ok": True}

    async def on_mute(self, sid: str, *payload: Any) -> dict:
        muted = self.chat.rules.mute(_one(payload))
        self.chat._note(f"the teacher muted {muted.name} for {muted.seconds:g} s"
                        if muted.seconds else f"the teacher lifted {muted.name}'s mute")
        await self.server.emit("notice", {"text": muted.notice}, to=muted.conn,
                               namespace=CHAT_NAMESPACE)
        return {"ok": True}

    async def on_announce(self, sid: str, *payload: Any) -> dict:
        announcement = self.chat.rules.announce(_one(payload))
        if announcement.room is None:
            await self.server.emit("notice", {"text": announcement.text},
                                   namespace=CHAT_NAMESPACE)
        else:
            await self.server.emit("notice", {"text": announcement.text,
                                              "room": announcement.room},
                                   room=_sio_room(announcement.room), namespace=CHAT_NAMESPACE)
        return {"ok": True}


def _one(payload: tuple) -> Any:
    """The single argument an event should carry; several (or none) fail the rules' check."""
    if len(payload) == 1:
        return payload[0]
    return None if not payload else list(payload)


class _UncompressedWebSocket(engineio_aiohttp.WebSocket):
    """engine.io's aiohttp WebSocket, with permessage-deflate refused, the socket
    remembered so that ``ChatServer.stop`` can close it, and undecodable frames handled."""

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
    its WebSockets and background tasks (ping tasks, event handlers)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # The driver table is shared by every server: copy it before changing it.
        self._async = {**self._async, "websocket": _UncompressedWebSocket}
        self.websockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.background_tasks: set[asyncio.Task] = set()

    def start_background_task(self, target, *args, **kwargs) -> asyncio.Task:
        task = super().start_background_task(target, *args, **kwargs)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return task


class _SocketIOServer(socketio.AsyncServer):
    """A python-socketio server on top of :class:`_EngineIOServer`."""

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineIOServer

    @staticmethod
    def room_label(namespace: str, room: str) -> str:
        """How a socket.io room reads on a map (:func:`chatkit.roommap.snapshot`): chat
        rooms by their chat name, ``"lobby"`` rather than ``"room:lobby"``."""
        if namespace == CHAT_NAMESPACE and room.startswith(_ROOM_PREFIX):
            return room[len(_ROOM_PREFIX):]
        return room
