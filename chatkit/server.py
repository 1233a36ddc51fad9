"""ChatServer: the course's socket.io chat server, runnable inside a notebook.

Introduced in notebook 03 (disconnects and resume), drawn in notebook 04 (rooms), chatted
through in notebook 05 and run for a class in notebook 06. The wire protocol it speaks is
in ``docs/protocol.md`` (and, in Python, :mod:`chatkit.protocol`); any socket.io client,
in any language, can use it::

    server = ChatServer(join_code="maple-otter-42")
    handle = await server.start(name="chat")    # handle.url: http://127.0.0.1:<port>
    server.snapshot()                            # {"/chat": {"lobby": ["ada", "bob"]}}
    await server.stop()                          # safe to call twice

It is composition and lifecycle only. The rules (:mod:`chatkit.chat`,
:mod:`chatkit.moderation`) decide everything and return effects; each event handler
calls one rule and :meth:`ChatServer.run` carries its effects out. Messages are kept in
a :mod:`chatkit.store`, or with ``redis=URL`` in a :class:`chatkit.cluster.Cluster`
shared by several processes. What it changes in python-socketio underneath is in
:mod:`chatkit.engine`; docs/architecture.md draws the whole path of one message.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from collections import deque
from collections.abc import Iterable
from os import PathLike

from aiohttp import web

from chatkit import protocol, roommap, running
from chatkit.broadcast import Coalesced
from chatkit.chat import Chat
from chatkit.cluster import Cluster
from chatkit.effects import Disconnect, Effect, Emit, Enter, Exit, Note
from chatkit.engine import ChatManager, ChatRedisManager, SocketIOServer
from chatkit.guard import Guard, Guarded
from chatkit.language import LANGUAGES, current_language, translate
from chatkit.limits import Limits
from chatkit.moderation import Moderation
from chatkit.namespaces import ChatNamespace, TeacherNamespace
from chatkit.pages import add_pages
from chatkit.protocol import Message
from chatkit.store import DEFAULT_CLIENT_IDS_PER_NAME, Store, open_store
from chatkit.tasks import server_tasks

__all__ = ["ChatServer"]

logger = logging.getLogger(__name__)

#: Inside socket.io, the chat room "lobby" is the room "room:lobby". socket.io also puts
#: every connection in a room named by its sid (20 characters that a chat room name may
#: use too); the prefix keeps the two kinds apart, so no chat room is someone's own.
_ROOM_PREFIX = "room:"


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
        limits: sizes, rates and counts, as a :class:`chatkit.limits.Limits`; None
            means the documented defaults (no rate limit; 200 people; 20 rooms each).
        max_http_buffer_size: the largest packet accepted, in bytes (default 1,000,000).
            A bigger one ends that client's connection, never the server.
        max_attachments: the most binary attachments one packet may announce (default
            10; the chat uses none); more ends that connection. Their bytes together
            stay within ``max_http_buffer_size``.
        guard: connects per address and the back-off of wrong join codes and teacher
            tokens, as a :class:`chatkit.guard.Guard`; None means its defaults (no
            connect limit; waits from the 4th wrong try; closed after 5 on one connection).

    Storage:
        db: a SQLite file to keep messages, kicks, mutes and sessions in, so that they
            survive a restart; None (the default) keeps them in memory.
        store: a ready :class:`chatkit.store.Store` to use instead of ``db``; the server
            does not close it.
        client_ids_per_name: how many ``client_id`` values are remembered per name to
            recognise a message sent twice (default 1,000).

    Scaling out:
        redis: the URL of a Redis server (``"redis://127.0.0.1:6379/0"``) that several
            server processes share, instead of ``db`` or ``store``: see
            :mod:`chatkit.cluster`. None (the default): this process is the whole chat.
        redis_prefix: the prefix of every Redis key and channel (default ``"chatkit:"``).

    Connection health (engine.io):
        ping_interval: seconds between the server's pings (default 25).
        ping_timeout: seconds to wait for a pong before the connection counts as lost
            (default 20). Tests shorten both so that lost clients are noticed quickly.
        cors_allowed_origins: which web pages may connect from a browser, as in
            python-socketio: None (the default) allows only pages served by this server
            (under an IP address, ``localhost`` or this machine's name), a list adds
            pages to those, ``"*"`` allows every page. Non-browser clients are not affected.

    Language:
        language: ``"en"`` or ``"zh"``, the language of refusals, notices and the chat
            page for a client that does not ask for one (``"lang"`` in its auth); None
            (the default) is chatkit's :func:`chatkit.language.current_language`.

    Attributes:
        rules: the :class:`chatkit.chat.Chat` that decides everything.
        moderation: the teacher's tools (:class:`chatkit.moderation.Moderation`).
        store: where messages are kept.
        cluster: the :class:`chatkit.cluster.Cluster` with ``redis``, else None.
        sio: the python-socketio ``AsyncServer``, for learners who want to look inside.
        app: the aiohttp application that serves it (``/socket.io/``), the chat page
            (``/``) and the teacher's page (``/teacher``): see :mod:`chatkit.pages`.
        presence: how ``presence`` reaches a room (:class:`chatkit.broadcast.Coalesced`):
            at once in a room of fewer than 50; in a bigger one at most 2,000 deliveries
            a second of it, the latest last.
        log: the last 1,000 connection events as sentences, oldest first
            ("ada connected", "ada disconnected (transport close)"), also logged at INFO
            level on the ``chatkit.server`` logger.
    """

    def __init__(self, *, join_code: str | None = None, teacher_token: str | None = None,
                 limits: Limits | None = None, max_http_buffer_size: int = 1_000_000,
                 max_attachments: int = 10,
                 guard: Guard | None = None,
                 db: str | PathLike[str] | None = None, store: Store | None = None,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME,
                 redis: str | None = None, redis_prefix: str = "chatkit:",
                 ping_interval: float = 25, ping_timeout: float = 20,
                 cors_allowed_origins: str | list[str] | None = None,
                 language: str | None = None):
        if sum(option is not None for option in (db, store, redis)) > 1:
            raise ValueError("give either db (a file name), store or redis, not several")
        self.cluster = None if redis is None else Cluster(
            redis, prefix=redis_prefix, client_ids_per_name=client_ids_per_name)
        self._owns_store = store is None
        if self.cluster is not None:
            store = self.cluster.store
        self.store = store if store is not None else open_store(
            db, client_ids_per_name=client_ids_per_name)
        self.rules = Chat(store=self.store, limits=limits, join_code=join_code, guard=guard,
                          elsewhere=None if self.cluster is None else self.cluster.roster)
        self.moderation = Moderation(self.rules, token=teacher_token)
        manager = ChatManager() if self.cluster is None else ChatRedisManager(
            redis, channel=self.cluster.key("socketio"), logger=logging.getLogger(
                "chatkit.cluster"))
        self.sio = SocketIOServer(
            client_manager=manager, room_label=_room_label,
            async_mode="aiohttp", ping_interval=ping_interval, ping_timeout=ping_timeout,
            max_http_buffer_size=max_http_buffer_size, max_attachments=max_attachments,
            cors_allowed_origins=cors_allowed_origins, logger=False, engineio_logger=False,
            door=self._door)
        self.sio.register_namespace(ChatNamespace(self))
        self.sio.register_namespace(TeacherNamespace(self))
        self.language = language or current_language()
        if self.language not in LANGUAGES:
            raise ValueError(f"language is one of {', '.join(LANGUAGES)}, not {language!r}")
        #: The language each connection asked for (by sid), where it asked for one.
        self.languages: dict[str, str] = {}
        self.app = web.Application()
        self.sio.attach(self.app)
        # The chat page in the language chosen; chosen by nobody, in the browser's.
        add_pages(self.app, language=language or (None if self.language == "en" else
                                                  self.language))
        self.app.on_shutdown.append(self._close_connections)
        self.app.on_cleanup.append(self._clean_up)
        self.log: deque[str] = deque(maxlen=1000)
        # Saying, joining and resuming take this lock, so that every connection receives
        # the `said` events of its rooms in id order, and a resuming client gets each
        # message exactly once: replayed if it was said before, live if after.
        self.order = asyncio.Lock()
        # A room's presence goes to all of it: in a big room it is coalesced, so that a
        # class joining at once costs O(N) deliveries, not O(N²) (docs/protocol.md).
        self.presence = Coalesced(self._send_presence)
        #: The addresses students use, best first (``serve`` sets them: with ``--host
        #: 0.0.0.0`` they are this machine's network addresses); empty means ``url``.
        self.public_urls: list[str] = []
        self._handle: running.Running | None = None
        self._closing: set[asyncio.Task] = set()  # transports closed after wrong tries
        self._shut_down = False
        self._cleaned_up = False

    def language_of(self, sid: str | None) -> str:
        """The language to word sentences in for connection ``sid`` (None: everyone)."""
        return self.languages.get(sid, self.language) if sid else self.language

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

    async def start(self, *, host: str = "127.0.0.1", port: int = 0, name: str = "chat",
                    ssl: ssl_module.SSLContext | None = None) -> running.Running:
        """Serve the chat from the running event loop; return the handle (``.url``, ``.port``).

        ``port=0`` (the default) picks a free port; with ``ssl``, https and wss. A server
        already started under the same ``name`` (say, by an earlier run of the same
        notebook cell) is stopped first. A ChatServer starts once: to start again, make a
        new one.

        Raises :class:`chatkit.running.ServerStartError` if the address cannot be used,
        and :class:`ConnectionError` if ``redis`` was given and cannot be reached.
        Note: this method is a coroutine.
        """
        if self._handle is not None or self._cleaned_up:
            raise RuntimeError("this ChatServer was already started; make a new one")
        try:
            if self.cluster is not None:  # caught up with Redis before serving anyone
                await self.cluster.start(deliver=self._deliver, order=self.order,
                                         rooms_here=self.rules.rooms_here)
            self._handle = await running.serve_aiohttp(self.app, name=name, host=host,
                                                       port=port, ssl=ssl)
        except BaseException:
            await self._clean_up(self.app)
            raise
        return self._handle

    async def _deliver(self, message: Message) -> None:
        """With Redis: a message from any process, to this process's clients only."""
        await self.sio.emit(protocol.SAID, message.to_dict(), room=_sio_room(message.room),
                            namespace=protocol.CHAT, ignore_queue=True)

    async def run(self, effects: Iterable[Effect]) -> None:
        """Carry out what a rule decided, in order (see :mod:`chatkit.effects`)."""
        for effect in effects:
            match effect:
                case Emit(event=protocol.PRESENCE, data=data, room=str(room), skip=skip):
                    await self.presence(room, len(data["members"]), data, skip)
                case Emit(event=event, data=data, to=to, room=room, skip=skip):
                    if event == protocol.NOTICE and to is not None:  # the server's own words
                        data = {**data, "text": translate(data["text"], self.language_of(to))}
                    await self.sio.emit(event, data, to=to, skip_sid=skip,
                                        room=None if room is None else _sio_room(room),
                                        namespace=protocol.CHAT)
                case Enter(conn=conn, room=room) if self._here(conn):
                    await self.sio.enter_room(conn, _sio_room(room), namespace=protocol.CHAT)
                case Exit(conn=conn, room=room) if self._here(conn):
                    await self.sio.leave_room(conn, _sio_room(room), namespace=protocol.CHAT)
                case Disconnect(conn=conn):
                    await self.sio.disconnect(conn, namespace=protocol.CHAT)
                case Note(line=line):
                    self.log.append(line)
                    logger.info("%s", line)

    async def _send_presence(self, room: str, data: dict, skips: list[str]) -> None:
        await self.sio.emit(protocol.PRESENCE, data, room=_sio_room(room), skip_sid=skips,
                            namespace=protocol.CHAT)
        # The teacher's page shows the rooms live.
        await self.sio.emit(protocol.PRESENCE, data, namespace=protocol.TEACHER)

    def close_transport(self, eio_sid: str | None) -> None:
        """Close an engine.io connection once what is queued for it (a refusal) is sent."""
        async def close() -> None:
            await asyncio.sleep(0)  # socket.io queues the connect_error after the refusal
            await self.sio.eio.disconnect(eio_sid)
        if eio_sid is not None:
            task = asyncio.create_task(close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    def _door(self, address: str | None) -> tuple[str, float] | None:
        """Engine.IO asks before making anything for a new connection: an address that
        keeps connecting after the guard refused it is turned away with HTTP 429."""
        try:
            self.rules.guard.at_the_door(address, self.rules.now())
        except Guarded as turned_away:
            for effect in turned_away.effects:  # its summary log line, now and then
                self.log.append(effect.line)
                logger.info("%s", effect.line)
            return translate(str(turned_away), self.language), turned_away.wait
        return None

    def _here(self, conn: str) -> bool:
        """Whether ``conn`` is still connected to /chat (a connection that left while a
        rule awaited its store has no rooms to enter or leave any more)."""
        return self.sio.manager.is_connected(conn, protocol.CHAT)

    async def stop(self) -> None:
        """Close every connection and stop serving. Safe to call more than once.

        WebSocket clients see a lost connection (code 1001), so clients that reconnect,
        such as :class:`chatkit.client.ChatClient`, come back on their own if a server
        starts again at the same address. Leaves no task behind.
        Note: this method is a coroutine.
        """
        if self._handle is not None:
            await self._handle.stop()
        else:  # never started: only the store is open
            await self._clean_up(self.app)

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
        return roommap.snapshot(self.sio, label=self.moderation.label,
                                private_rooms=personal_rooms)

    async def _close_connections(self, app: web.Application) -> None:
        """aiohttp on_shutdown hook: end every connection so the web server can stop."""
        await self.sio.close_connections()
        if not self._shut_down:  # AsyncServer.shutdown() fails when called twice
            self._shut_down = True
            await self.sio.shutdown()

    async def _clean_up(self, app: web.Application) -> None:
        """aiohttp on_cleanup hook: cancel engine.io's leftover tasks, close the store."""
        if self._cleaned_up:
            return
        self._cleaned_up = True
        leftovers = [task for task in [*server_tasks(self.sio), *self._closing,
                                       *self.presence.cancel()]
                     if task is not asyncio.current_task()]
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)
        if self.cluster is not None:
            await self.cluster.close()
            manager = self.sio.manager  # AsyncRedisManager's own two connections
            for connection in (getattr(manager, "pubsub", None), getattr(manager, "redis", None)):
                if connection is not None:
                    await connection.aclose()
        elif self._owns_store:
            await self.store.close()

    def __repr__(self) -> str:
        state = f"at {self.url}" if self.url else "not running"
        return f"<ChatServer {state}: {self.rules!r}>"


def _room_label(namespace: str, room: str) -> str:
    """Chat rooms read by their chat name on a map: ``"lobby"``, not ``"room:lobby"``."""
    if namespace == protocol.CHAT and room.startswith(_ROOM_PREFIX):
        return room[len(_ROOM_PREFIX):]
    return room
