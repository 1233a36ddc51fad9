"""ChatClient: a socket.io chat client that is safe in a notebook and loses nothing.

Introduced in notebook 02 (connect, join, say, wait for events); notebook 03 breaks its
connection on purpose and watches it come back with every message exactly once;
notebook 05's chat panel drives one. It speaks the protocol of docs/protocol.md, so it
works with :class:`chatkit.server.ChatServer` or any server that follows it::

    ada = await connect(url, "ada", rooms=["lobby"])
    await ada.say("lobby", "hello")              # 1: the id the server gave it
    event = await ada.next("said", timeout=5)    # waits for the next `said` event
    print(event)                                 # [lobby] ada: hello
    await ada.disconnect()

Underneath is python-socketio's ``AsyncClient``, with defaults chosen for a kernel:
``handle_sigint=False`` (otherwise "Interrupt kernel" stops the kernel's loop), the
WebSocket transport, short timeouts, and a reconnection loop of its own with a bounded
number of attempts, that stops at once when the server refuses (a wrong code will not
become right by retrying). On every reconnect the client sends its rooms, the last
message id it saw (``offset``) and its ``session`` secret, so the server replays what
it missed; messages said while the connection was down are sent again with their
``client_id``, so the server keeps each exactly once.

Handlers never print (output from a background task lands in the wrong cell): received
events are kept in :attr:`ChatClient.events` and handed out by :meth:`ChatClient.next`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import socketio

from chatkit import running

__all__ = [
    "ChatClient",
    "ChatError",
    "ConnectionRefused",
    "Event",
    "Status",
    "StatusChange",
    "connect",
]

logger = logging.getLogger(__name__)

NAMESPACE = "/chat"

#: How many times a message is sent without an answer before say() gives up on it. A
#: message that itself breaks the connection (too big for the server) is not re-sent
#: forever.
_MAX_SENDS = 3


class Status(enum.Enum):
    """Where a :class:`ChatClient` stands. Every change is kept in ``client.statuses``."""

    CONNECTING = "connecting"      #: first connection under way
    CONNECTED = "connected"        #: talking to the server
    RECONNECTING = "reconnecting"  #: connection lost; trying again (detail: attempt n of m)
    REFUSED = "refused"            #: the server said no (detail: its reason)
    DISCONNECTED = "disconnected"  #: not connected, not trying (detail: why)


@dataclass(frozen=True)
class StatusChange:
    """One status change: the new status and, when there is one, why (a sentence)."""

    status: Status
    detail: str | None = None

    def __str__(self) -> str:
        return self.status.value + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class Event:
    """An event received from the server: ``said``, ``presence``, ``notice``, ``welcome``.

    ``data`` is the event's payload as sent (see docs/protocol.md). ``str(event)`` reads
    like a chat line; it leaves out the ``welcome`` event's secret session.
    """

    type: str
    data: Any = field(default=None)

    def __str__(self) -> str:
        data = self.data if isinstance(self.data, dict) else {}
        if self.type == "said":
            return f"[{data.get('room')}] {data.get('name')}: {data.get('text')}"
        if self.type == "presence":
            return f"[{data.get('room')}] here: {', '.join(data.get('members', []))}"
        if self.type == "notice":
            return f"notice: {data.get('text')}"
        if self.type == "welcome":
            return f"welcome, {data.get('name')}"
        return f"{self.type}: {self.data!r}"


class ChatError(Exception):
    """The server refused a request. ``str(error)`` is the server's own sentence."""


class ConnectionRefused(ChatError):
    """The server refused the connection (wrong join code, name taken...)."""


@dataclass
class _PendingSay:
    """A message waiting for the server's ack, re-sent after a reconnect."""

    payload: dict
    answer: asyncio.Future
    sends: int = 0
    sent_on: int = -1  # the connection number it was last sent on


#: The live client of each name, so that a new client with the same name can take over
#: the old one's session (re-running a notebook cell must not find its name "taken").
_latest_by_name: weakref.WeakValueDictionary[str, ChatClient] = weakref.WeakValueDictionary()


class ChatClient:
    """A chat participant: one name, one connection to a chat server, resumed when lost.

    Every option is keyword-only.

    Who:
        name: the name to chat under (1-32 printable characters).
        code: the workshop's join code, if the server has one.
        rooms: rooms to join right after the first connection.

    Timeouts (seconds):
        connect_timeout: for the connection and its handshake (default 5).
        request_timeout: for the server's answer to join and leave (default 5).
        say_timeout: for the server's answer to say, reconnections included (default 15).

    Reconnection, after a lost connection (not after a refusal, nor when the server
    closes the connection on purpose):
        reconnect: whether to try at all (default True).
        reconnect_attempts: how many tries before giving up (default 5).
        reconnect_delay: wait before the first try; it doubles after each failure
            (default 0.5), with some randomness so that a classroom does not reconnect
            all at once.
        reconnect_delay_max: the longest wait between tries (default 5).

    Transport:
        transports: ``("websocket",)`` by default; ``("polling", "websocket")`` starts
            with HTTP long-polling and upgrades, as a browser does. :meth:`drop_connection`
            needs the WebSocket transport.

    Observers (for a UI; they must not print, and should return quickly):
        on_status: called with a :class:`StatusChange` at every change.
        on_event: called with each received :class:`Event`.
    """

    def __init__(self, name: str, *, code: str | None = None, rooms: Iterable[str] = (),
                 connect_timeout: float = 5.0, request_timeout: float = 5.0,
                 say_timeout: float = 15.0,
                 reconnect: bool = True, reconnect_attempts: int = 5,
                 reconnect_delay: float = 0.5, reconnect_delay_max: float = 5.0,
                 transports: Iterable[str] = ("websocket",),
                 on_status: Callable[[StatusChange], Any] | None = None,
                 on_event: Callable[[Event], Any] | None = None):
        self.name = name.strip() if isinstance(name, str) else name
        self.code = code
        self.initial_rooms = tuple(rooms)
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.say_timeout = say_timeout
        self.reconnect = reconnect
        self.reconnect_attempts = reconnect_attempts
        self.reconnect_delay = reconnect_delay
        self.reconnect_delay_max = reconnect_delay_max
        self.transports = tuple(transports)
        self.url: str | None = None
        #: Every event received, in order (duplicates of a resume already removed).
        self.events: list[Event] = []
        #: Every status change, in order.
        self.statuses: list[StatusChange] = []
        #: The python-socketio client underneath, for those who want to look inside.
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self._status = StatusChange(Status.DISCONNECTED, "not connected yet")
        self._status_watchers: list[Callable[[StatusChange], Any]] = []
        self._event_watchers: list[Callable[[Event], Any]] = []
        self.watch(on_status=on_status, on_event=on_event)
        self._session: str | None = None
        self._history: str | None = None  # the server's message history, from `welcome`
        self._rooms: set[str] = set()
        self._offset: int | None = None
        self._last_id_by_room: dict[str, int] = {}
        self._unread: list[Event] = []
        self._arrived = asyncio.Event()
        self._welcomed = asyncio.Event()
        self._pending: dict[str, _PendingSay] = {}
        self._refusal: str | None = None
        self._connection_number = 0
        self._closing = False
        self._send_lock = asyncio.Lock()  # keeps re-sent and new messages in order
        self._reconnect_task: asyncio.Task | None = None
        self._abort_reconnect = asyncio.Event()
        self.sio.on("connect_error", self._on_connect_error, namespace=NAMESPACE)
        self.sio.on("disconnect", self._on_disconnect, namespace=NAMESPACE)
        self.sio.on("*", self._on_event, namespace=NAMESPACE)

    # -- what a cell reads -----------------------------------------------------------

    @property
    def status(self) -> Status:
        """The current :class:`Status`."""
        return self._status.status

    @property
    def detail(self) -> str | None:
        """Why the client is in its status: a refusal's reason, a disconnect's cause."""
        return self._status.detail

    @property
    def connected(self) -> bool:
        """True while connected to the server."""
        return self._status.status is Status.CONNECTED

    @property
    def rooms(self) -> frozenset[str]:
        """The rooms this client is in (the ones it joined and did not leave)."""
        return frozenset(self._rooms)

    @property
    def offset(self) -> int | None:
        """The newest message id seen; sent on reconnect so the server replays what is after."""
        return self._offset

    @property
    def session(self) -> str | None:
        """The secret from the server's ``welcome``; it takes the name back on reconnect."""
        return self._session

    def messages(self, room: str | None = None) -> list[dict]:
        """Every message received (``said`` events), oldest first; only ``room``'s if given."""
        return [event.data for event in self.events
                if event.type == "said" and (room is None or event.data.get("room") == room)]

    def watch(self, *, on_status: Callable[[StatusChange], Any] | None = None,
              on_event: Callable[[Event], Any] | None = None) -> None:
        """Add observers: ``on_status(change)`` at each status change, ``on_event(event)``
        for each received event. They run inside the client's event handlers: they must
        not print, and an exception they raise is logged, not propagated."""
        if on_status is not None:
            self._status_watchers.append(on_status)
        if on_event is not None:
            self._event_watchers.append(on_event)

    # -- connecting ------------------------------------------------------------------

    async def connect(self, url: str) -> ChatClient:
        """Connect to the chat server at ``url`` (``http://host:port``), then join ``rooms``.

        A client started earlier under the same name in this kernel (an earlier run of
        the same cell) is disconnected first, and its session is reused, so the server
        hands the name over even if it has not noticed the old connection end.

        Raises :class:`ConnectionRefused` with the server's reason, :class:`ConnectionError`
        when the server cannot be reached, :class:`ChatError` if joining a room fails.
        Returns the client itself. Note: this method is a coroutine.
        """
        if self.status in (Status.CONNECTING, Status.CONNECTED, Status.RECONNECTING):
            raise RuntimeError(f"{self.name} is already {self.status.value}; "
                               f"disconnect() first")
        previous = _latest_by_name.get(self.name)
        if previous is not None and previous is not self and previous.url == url:
            self._session = self._session or previous.session
        _latest_by_name[self.name] = self
        await running.track(f"client:{self.name}", self.disconnect)
        self.url = url
        self._closing = False
        self._set_status(Status.CONNECTING)
        try:
            await self._open()
        except ConnectionRefused as refusal:
            self._set_status(Status.REFUSED, str(refusal))
            await self.sio.disconnect()  # closes the HTTP session a failed try leaves open
            raise
        except Exception as exc:
            self._set_status(Status.DISCONNECTED, f"could not connect: {exc}")
            await self.sio.disconnect()
            raise
        for room in self.initial_rooms:
            await self.join(room)
        return self

    async def disconnect(self) -> None:
        """Leave the chat: stop reconnecting, close the connection, leave no task behind.

        Messages still waiting for an answer fail with :class:`ChatError`. Safe to call
        more than once. Note: this method is a coroutine.
        """
        self._closing = True
        self._abort_reconnect.set()
        if self._reconnect_task is not None:
            await asyncio.gather(self._reconnect_task, return_exceptions=True)
            self._reconnect_task = None
        await self.sio.disconnect()
        self._fail_pending(f"{self.name} disconnected before the server answered")
        if self.status not in (Status.DISCONNECTED, Status.REFUSED):
            self._set_status(Status.DISCONNECTED, "client disconnect")

    async def drop_connection(self) -> None:
        """Break the connection as a network failure would, to see the client resume.

        For demos and tests: the WebSocket is closed under the client's feet, the server
        sees "transport close", and the client reconnects as after any lost connection.
        Note: this method is a coroutine.
        """
        websocket = getattr(self.sio.eio, "ws", None)
        if not self.connected or self.sio.eio.current_transport != "websocket" or websocket is None:
            raise ChatError(f"{self.name} has no WebSocket connection to drop")
        await websocket.close()

    async def __aenter__(self) -> ChatClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    # -- talking ---------------------------------------------------------------------

    async def join(self, room: str, *, timeout: float | None = None) -> dict:
        """Join ``room``; return the server's ack ``{"ok", "room", "members", "history"}``.

        Raises :class:`ChatError` with the server's sentence if refused (bad room name,
        already in it), :class:`TimeoutError` without an answer.
        Note: this method is a coroutine.
        """
        ack = await self._request("join", {"room": room}, timeout)
        self._rooms.add(ack["room"])
        newest = max((message["id"] for message in ack.get("history", ())), default=None)
        if newest is not None:
            # The server sends join, leave and say one at a time, so a history never
            # runs ahead of the `said` events already on their way: its newest id
            # counts as seen, and a resume does not send that history again.
            self._last_id_by_room[room] = max(self._last_id_by_room.get(room, 0), newest)
            self._offset = max(self._offset or 0, newest)
        return ack

    async def leave(self, room: str, *, timeout: float | None = None) -> None:
        """Leave ``room``. Raises :class:`ChatError` if refused (not in it).
        Note: this method is a coroutine."""
        await self._request("leave", {"room": room}, timeout)
        self._rooms.discard(room)

    async def say(self, room: str, text: str, *, client_id: str | None = None,
                  timeout: float | None = None) -> int:
        """Say ``text`` in ``room``; return the id the server gave the message.

        The message carries a ``client_id`` (a fresh one unless given). If the connection
        is lost before the answer, the message is sent again after the reconnect with the
        same ``client_id``, and the server keeps it once. Waits at most ``timeout``
        seconds (default ``say_timeout``) and then raises :class:`TimeoutError`; the
        message may still have arrived, and saying it again with the same ``client_id``
        is safe. Raises :class:`ChatError` with the server's sentence if refused.
        Note: this method is a coroutine.
        """
        if self.status not in (Status.CONNECTED, Status.RECONNECTING):
            raise ChatError(f"{self.name} is not connected ({self.status.value})")
        client_id = client_id or uuid.uuid4().hex
        pending = _PendingSay({"room": room, "text": text, "client_id": client_id},
                              asyncio.get_running_loop().create_future())
        self._pending[client_id] = pending
        wait = self.say_timeout if timeout is None else timeout
        try:
            async with self._send_lock:
                await self._send(pending)
            ack = await asyncio.wait_for(asyncio.shield(pending.answer), wait)
        except TimeoutError:
            raise TimeoutError(
                f"no answer to say within {wait:g} s; the message may still arrive. "
                f"Saying it again with client_id={client_id!r} is safe.") from None
        finally:
            self._pending.pop(client_id, None)
        return self._check(ack)["id"]

    async def next(self, type: str | None = None, *, timeout: float = 5.0) -> Event:
        """The next received event not yet taken by ``next``, of ``type`` if given.

        Events of other types stay for later calls. Waits at most ``timeout`` seconds,
        then raises :class:`TimeoutError` saying what did arrive.
        Note: this method is a coroutine.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, event in enumerate(self._unread):
                if type is None or event.type == type:
                    del self._unread[index]
                    return event
            self._arrived.clear()
            remaining = deadline - loop.time()
            try:
                if remaining <= 0:
                    raise TimeoutError
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                waiting = [event.type for event in self._unread]
                raise TimeoutError(
                    f"no {type or 'event'} for {self.name} within {timeout:g} s "
                    f"(status: {self._status}; unread: {waiting or 'none'})") from None

    # -- inside: connection ----------------------------------------------------------

    def _auth(self) -> dict:
        """The connect payload, made afresh for every attempt (python-socketio calls it)."""
        auth: dict[str, Any] = {"name": self.name}
        if self.code is not None:
            auth["code"] = self.code
        if self._session is not None:
            auth["session"] = self._session
        if self._rooms:
            auth["rooms"] = sorted(self._rooms)
            auth["offset"] = self._offset or 0
            if self._history is not None:
                auth["history"] = self._history
        return auth

    async def _open(self) -> None:
        """Connect once and wait for ``welcome``; then re-send what waits for an answer."""
        self._refusal = None
        self._welcomed.clear()
        try:
            await self.sio.connect(self.url, auth=self._auth, namespaces=[NAMESPACE],
                                   transports=list(self.transports),
                                   wait_timeout=self.connect_timeout)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise ConnectionRefused(self._refusal) from None
            raise ConnectionError(f"cannot connect to {self.url}: {exc}") from None
        try:  # the welcome carries the session that a later reconnect needs
            await asyncio.wait_for(self._welcomed.wait(), self.connect_timeout)
        except TimeoutError:
            await self.sio.disconnect()
            raise ConnectionError(f"{self.url} accepted the connection but sent no welcome "
                                  f"within {self.connect_timeout:g} s") from None
        if self._closing:
            return
        async with self._send_lock:
            self._connection_number += 1
            self._set_status(Status.CONNECTED)
            for pending in list(self._pending.values()):
                await self._send(pending)

    async def _reconnect(self) -> None:
        """Try again, waiting longer each time, until connected, refused or out of tries."""
        delay = self.reconnect_delay
        problem: BaseException | None = None
        for attempt in range(1, self.reconnect_attempts + 1):
            self._set_status(Status.RECONNECTING, f"attempt {attempt} of {self.reconnect_attempts}")
            try:  # a random part of the delay spreads a classroom's reconnections
                await asyncio.wait_for(self._abort_reconnect.wait(),
                                       delay * random.uniform(0.5, 1.0))
                return  # disconnect() was called
            except TimeoutError:
                pass
            try:
                await self._open()
            except ConnectionRefused as refusal:
                self._set_status(Status.REFUSED, str(refusal))
                self._fail_pending(f"the server refused to reconnect: {refusal}")
                await self.sio.disconnect()
                return
            except (ConnectionError, TimeoutError, ValueError) as exc:
                problem = exc
            else:
                if self.sio.connected or self._closing:
                    return
            delay = min(delay * 2, self.reconnect_delay_max)
        self._set_status(Status.DISCONNECTED,
                         f"gave up after {self.reconnect_attempts} attempts: {problem}")
        self._fail_pending(f"{self.name} could not reconnect")
        await self.sio.disconnect()

    def _on_connect_error(self, data: Any = None) -> None:
        # The server refuses with {"message": why}; python-socketio also reports a
        # server it cannot reach here, with a bare string: that is no refusal.
        if isinstance(data, dict):
            self._refusal = str(data.get("message") or "the server refused the connection")

    def _on_disconnect(self, reason: str | None = None) -> None:
        if self._closing or reason == self.sio.reason.CLIENT_DISCONNECT:
            return
        if self.status is Status.CONNECTING:
            return  # the first connection failed: connect() raises, nothing to resume
        if reason == self.sio.reason.SERVER_DISCONNECT:
            # On purpose (another connection took the name, a teacher's kick): do not
            # come back, or two clients would take the name from each other forever.
            self._set_status(Status.DISCONNECTED, "the server closed the connection")
            self._fail_pending(f"the server closed {self.name}'s connection")
            return
        if not self.reconnect:
            self._set_status(Status.DISCONNECTED, f"connection lost ({reason})")
            self._fail_pending(f"{self.name}'s connection was lost")
            return
        if self._reconnect_task is None or self._reconnect_task.done():
            self._abort_reconnect.clear()
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    # -- inside: events --------------------------------------------------------------

    def _on_event(self, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else list(args)
        if event == "welcome" and isinstance(data, dict):
            self._session = data.get("session", self._session)
            history = data.get("history")
            if history != self._history:
                # A new history (say, a server restarted without --db): its ids start
                # again, and the replay that follows is all new to us.
                self._last_id_by_room.clear()
                self._offset = None
                self._history = history
            self._welcomed.set()
        if event == "said" and isinstance(data, dict) and not self._first_time(data):
            return
        received = Event(event, data)
        self.events.append(received)
        self._unread.append(received)
        self._arrived.set()
        for watcher in self._event_watchers:
            self._call_watcher(watcher, received)

    def _first_time(self, message: dict) -> bool:
        """Whether a `said` is new; ids grow per room, so an old id is a duplicate."""
        room, message_id = message.get("room"), message.get("id")
        if not isinstance(message_id, int):
            return True
        if message_id <= self._last_id_by_room.get(room, 0):
            return False
        self._last_id_by_room[room] = message_id
        self._offset = max(self._offset or 0, message_id)
        return True

    def _set_status(self, status: Status, detail: str | None = None) -> None:
        self._status = StatusChange(status, detail)
        self.statuses.append(self._status)
        for watcher in self._status_watchers:
            self._call_watcher(watcher, self._status)

    def _call_watcher(self, watcher: Callable[[Any], Any], value: Any) -> None:
        try:
            watcher(value)
        except Exception:
            logger.warning("a watcher of %s failed", self.name, exc_info=True)

    # -- inside: requests ------------------------------------------------------------

    async def _request(self, event: str, data: dict, timeout: float | None) -> dict:
        if not self.connected:
            raise ChatError(f"{self.name} is not connected ({self.status.value})")
        wait = self.request_timeout if timeout is None else timeout
        try:
            ack = await self.sio.call(event, data, namespace=NAMESPACE, timeout=wait)
        except socketio.exceptions.TimeoutError:
            raise TimeoutError(f"no answer to {event} within {wait:g} s") from None
        except socketio.exceptions.BadNamespaceError:
            raise ChatError(f"{self.name} lost its connection during {event}") from None
        return self._check(ack)

    @staticmethod
    def _check(ack: Any) -> dict:
        if not isinstance(ack, dict):
            raise ChatError(f"the server answered {ack!r}, not an object")
        if not ack.get("ok"):
            raise ChatError(ack.get("error") or "the server refused, without saying why")
        return ack

    async def _send(self, pending: _PendingSay) -> None:
        """Send a waiting message on the current connection, unless already sent on it."""
        if not self.connected or pending.sent_on == self._connection_number:
            return
        if pending.sends >= _MAX_SENDS:
            if not pending.answer.done():
                pending.answer.set_exception(ChatError(
                    f"sent {_MAX_SENDS} times without an answer; given up"))
            return
        client_id = pending.payload["client_id"]
        pending.sends += 1
        pending.sent_on = self._connection_number
        try:
            await self.sio.emit("say", pending.payload, namespace=NAMESPACE,
                                callback=lambda *ack: self._on_say_ack(client_id, ack))
        except socketio.exceptions.BadNamespaceError:
            pass  # lost meanwhile: it is sent again after the reconnect

    def _on_say_ack(self, client_id: str, ack: tuple) -> None:
        pending = self._pending.get(client_id)
        if pending is not None and not pending.answer.done():
            pending.answer.set_result(ack[0] if len(ack) == 1 else list(ack))

    def _fail_pending(self, why: str) -> None:
        for pending in self._pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(ChatError(why))

    def __repr__(self) -> str:
        where = f" to {self.url}" if self.url else ""
        return f"<ChatClient {self.name!r}{where}: {self._status}>"


async def connect(url: str, name: str, **options: Any) -> ChatClient:
    """Make a :class:`ChatClient` and connect it: ``ada = await connect(url, "ada")``.

    ``options`` are those of :class:`ChatClient` (``code``, ``rooms``, timeouts...).
    Note: this function is a coroutine.
    """
    return await ChatClient(name, **options).connect(url)
