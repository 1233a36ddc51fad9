"""ChatClient (and, from :mod:`chatkit.teacher`, TeacherClient): the chat's clients.

Introduced in notebook 03, where :class:`ChatClient`'s connection breaks on purpose and
comes back with every message exactly once; notebook 04 watches its rooms, notebook 05's
chat panel drives one, and notebook 06 seats a class of them and gives the teacher a
:class:`TeacherClient` (:mod:`chatkit.teacher`). Both stand on
:class:`chatkit.peer.Peer` and speak the protocol of docs/protocol.md
(:mod:`chatkit.protocol`), so they work with
:class:`chatkit.server.ChatServer` or any server that follows it::

    ada = await connect(url, "ada", rooms=["lobby"])
    await ada.say("lobby", "hello")              # 1: the id the server gave it
    event = await ada.next("said", timeout=5)    # waits for the next `said` event
    print(event)                                 # [lobby] ada: hello
    event.data.text                              # 'hello': a protocol.Message
    await ada.disconnect()

A :class:`ChatClient` reconnects by itself for as long as it lives (:mod:`chatkit.retry`),
so a class whose server restarts comes back, but never after a refusal or a kick (a wrong
code will not become right by retrying), except a refusal that says when to try again
("too many connections from your address"); it resumes with nothing lost and nothing
twice (:mod:`chatkit.resume`). Every payload the server sends is checked once and becomes a
:class:`~chatkit.protocol.Message`, ``Presence``, ``Notice`` or ``Welcome``; one that
breaks the protocol is logged and ignored. Handlers never print (output from a
background task lands in the wrong cell): received events are kept in
:attr:`ChatClient.events` and handed out by :meth:`ChatClient.next`.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import socketio

from chatkit import protocol, running
from chatkit.language import current_language, translate
from chatkit.peer import (
    DEFAULT_MAX_EVENTS,
    CannotConnect,
    Event,
    Inbox,
    NoAnswer,
    Peer,
    Status,
    StatusChange,
    parse,
)
from chatkit.protocol import ChatError, ConnectionRefused, Message, Welcome
from chatkit.resume import Outbox, Seen
from chatkit.retry import Reconnector, Retry
from chatkit.teacher import TeacherClient  # here too: notebook 06 imports both from here

__all__ = ["CannotConnect", "ChatClient", "ChatError", "ConnectionRefused", "Event",
           "NoAnswer", "Retry", "Status", "StatusChange", "TeacherClient", "connect"]


#: The live client of each name, so that a new client with the same name can take over
#: the old one's session (re-running a notebook cell must not find its name "taken").
_latest_by_name: weakref.WeakValueDictionary[str, ChatClient] = weakref.WeakValueDictionary()


class ChatClient(Peer):
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

    Reconnection, after a lost connection (not after a kick, a takeover or a refusal, but
    for one that says when to try again):
        reconnect: whether to try at all (default True).
        retry: a :class:`~chatkit.retry.Retry`; by default the first wait is up to 0.5 s,
            doubling up to 30 s, less up to half at random, forever.
        reconnect_delay, reconnect_delay_max, reconnect_attempts: shorthands for
            ``retry=Retry.of(first, cap, attempts)`` (not with ``retry``).

    Memory:
        max_events: how many received events :attr:`events` keeps, and how many
            :meth:`next` can still hand out (default 10,000); the oldest go first.

    Transport:
        transports: ``("websocket",)`` by default; ``("polling", "websocket")`` starts
            with HTTP long-polling and upgrades, as a browser does. :meth:`drop_connection`
            needs the WebSocket transport.

    Observers (for a UI; they must not print, and should return quickly):
        on_status: called with a :class:`StatusChange` at every change.
        on_event: called with each received :class:`Event`.
    """

    namespace = protocol.CHAT

    def __init__(self, name: str, *, code: str | None = None, rooms: Iterable[str] = (),
                 connect_timeout: float = 5.0, request_timeout: float = 5.0,
                 say_timeout: float = 15.0,
                 reconnect: bool = True, retry: Retry | None = None,
                 reconnect_delay: float | None = None, reconnect_delay_max: float | None = None,
                 reconnect_attempts: int | None = None,
                 max_events: int = DEFAULT_MAX_EVENTS,
                 transports: Iterable[str] = ("websocket",),
                 on_status: Callable[[StatusChange], Any] | None = None,
                 on_event: Callable[[Event], Any] | None = None):
        super().__init__(name.strip() if isinstance(name, str) else name,
                         connect_timeout=connect_timeout, request_timeout=request_timeout,
                         transports=transports)
        self.code = code
        self.initial_rooms = tuple(rooms)
        self.say_timeout = say_timeout
        self.reconnect = reconnect
        self.retry = Retry.of(reconnect_delay, reconnect_delay_max, reconnect_attempts,
                              policy=retry)
        self._retrying = Reconnector(
            self.retry, attempt=self._try_once, stopped=lambda: self._closing,
            report=lambda text: self._set_status(Status.RECONNECTING, text),
            gave_up=self._gave_up)
        self._inbox = Inbox(max_events)
        self._event_watchers: list[Callable[[Event], Any]] = []
        self.watch(on_status=on_status, on_event=on_event)
        self._session: str | None = None
        self._rooms: set[str] = set()
        self._seen = Seen()
        self._outbox = Outbox(self._emit_say)
        self._welcomed = asyncio.Event()
        self._closing = False
        self.sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        self.sio.on("*", self._on_event, namespace=self.namespace)

    # -- what a cell reads -----------------------------------------------------------

    @property
    def events(self) -> deque[Event]:
        """The events received, oldest first: the newest ``max_events`` of them
        (duplicates of a resume already removed)."""
        return self._inbox.events

    @property
    def rooms(self) -> frozenset[str]:
        """The rooms this client is in (the ones it joined and did not leave)."""
        return frozenset(self._rooms)

    @property
    def offset(self) -> int | None:
        """The newest message id seen; sent on reconnect so the server replays what is after."""
        return self._seen.offset

    @property
    def session(self) -> str | None:
        """The secret from the server's ``welcome``; it takes the name back on reconnect."""
        return self._session

    def messages(self, room: str | None = None) -> list[Message]:
        """The messages received (``said`` events) among :attr:`events`, oldest first;
        only ``room``'s if given. Each is a :class:`~chatkit.protocol.Message`:
        ``message.name``, ``message.text``, ``message.id``..."""
        return [event.data for event in self.events
                if event.type == protocol.SAID and (room is None or event.data.room == room)]

    def watch(self, *, on_status: Callable[[StatusChange], Any] | None = None,
              on_event: Callable[[Event], Any] | None = None) -> None:
        """Add observers: ``on_status(change)`` at each status change, ``on_event(event)``
        for each received event. They run inside the client's event handlers: they must
        not print, and an exception they raise is logged, not propagated."""
        super().watch(on_status=on_status)
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

    @property
    def next_try_in(self) -> float | None:
        """Seconds until the next reconnection try; None unless waiting for one."""
        return self._retrying.backoff.remaining()

    @property
    def can_reconnect_now(self) -> bool:
        """Whether :meth:`reconnect_now` would try: reconnecting, or given up after a loss."""
        return not self._closing and (self.status is Status.RECONNECTING or (
            self.status is Status.DISCONNECTED and self._retrying.resumable))

    def reconnect_now(self) -> bool:
        """Try to reconnect at once ("reconnect now"): while reconnecting, end the wait;
        after giving up (a policy with ``attempts``) or ``reconnect=False``, start again.
        Returns False, doing nothing, when connected, connecting, refused, or closed on
        purpose (a kick, :meth:`disconnect`): retrying cannot change those."""
        return self.can_reconnect_now and self._retrying.now()

    async def disconnect(self) -> None:
        """Leave the chat: stop reconnecting, close the connection, leave no task behind.

        Messages still waiting for an answer fail with :class:`ChatError`. Safe to call
        more than once. Note: this method is a coroutine.
        """
        self._closing = True
        await self._retrying.stop()
        await self.sio.disconnect()
        self._outbox.fail(f"{self.name} disconnected before the server answered")
        if self.status not in (Status.DISCONNECTED, Status.REFUSED):
            self._set_status(Status.DISCONNECTED, translate("client disconnect"))

    # -- talking ---------------------------------------------------------------------

    async def join(self, room: str, *, timeout: float | None = None) -> dict:
        """Join ``room``; return the server's ack ``{"ok", "room", "members", "history"}``,
        its ``history`` (the room's last messages) as :class:`~chatkit.protocol.Message`.

        Raises :class:`ChatError` with the server's sentence if refused (bad room name,
        already in it), :class:`TimeoutError` without an answer.
        Note: this method is a coroutine.
        """
        ack = await self._request(protocol.JOIN, {"room": room}, timeout)
        parsed = (parse(protocol.SAID, message, self.url) for message in ack.get("history", ()))
        ack["history"] = [message for message in parsed if message is not None]
        self._rooms.add(ack["room"])
        self._seen.history(ack["room"], ack["history"])
        return ack

    async def leave(self, room: str, *, timeout: float | None = None) -> None:
        """Leave ``room``. Raises :class:`ChatError` if refused (not in it).
        Note: this method is a coroutine."""
        await self._request(protocol.LEAVE, {"room": room}, timeout)
        self._rooms.discard(room)

    async def say(self, room: str, text: str, *, client_id: str | None = None,
                  timeout: float | None = None) -> int:
        """Say ``text`` in ``room``; return the id the server gave the message.

        The message carries a ``client_id`` (a fresh one unless given): if the connection
        is lost before the answer, it is sent again after the reconnect, and the server
        keeps it once. After ``timeout`` seconds (default ``say_timeout``) raises
        :class:`TimeoutError` (saying it again with the same ``client_id`` is safe);
        :class:`ChatError` with the server's sentence if refused. Note: a coroutine.
        """
        if self.status not in (Status.CONNECTED, Status.RECONNECTING):
            raise ChatError(f"{self.name} is not connected ({self.status.value})")
        client_id = client_id or uuid.uuid4().hex
        wait = self.say_timeout if timeout is None else timeout
        try:
            ack = await self._outbox.send({"room": room, "text": text, "client_id": client_id},
                                          wait)
        except TimeoutError:
            raise NoAnswer(
                f"no answer to say within {wait:g} s; the message may still arrive. "
                f"Saying it again with client_id={client_id!r} is safe.") from None
        return protocol.check_ack(ack, protocol.SAY)["id"]

    async def next(self, type: str | None = None, *, timeout: float = 5.0) -> Event:
        """The next received event not yet taken by ``next``, of ``type`` if given.

        Events of other types stay for later calls. Waits at most ``timeout`` seconds,
        then raises :class:`TimeoutError` saying what did arrive.
        Note: this method is a coroutine.
        """
        try:
            return await self._inbox.next(type, timeout=timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no {type or 'event'} for {self.name} within {timeout:g} s "
                f"(status: {self._status}; unread: {self._inbox.unread() or 'none'})") from None

    # -- inside: connection ----------------------------------------------------------

    def _auth(self) -> dict:
        """The connect payload, made afresh for every attempt (python-socketio calls it)."""
        auth = self._seen.auth(self.name, code=self.code, session=self._session,
                               rooms=self._rooms)
        if (language := current_language()) != "en":
            auth["lang"] = language  # the server words its refusals and notices in it
        return auth

    async def _open(self) -> None:
        """Connect once and wait for ``welcome``; then re-send what waits for an answer."""
        self._welcomed.clear()
        await self._connect_once(self.url, self._auth)
        try:  # the welcome carries the session that a later reconnect needs
            await asyncio.wait_for(self._welcomed.wait(), self.connect_timeout)
        except TimeoutError:
            await self.sio.disconnect()
            raise CannotConnect(f"{self.url} accepted the connection but sent no welcome "
                                f"within {self.connect_timeout:g} s") from None
        if self._closing:
            return
        await self._outbox.connected(then=lambda: self._set_status(Status.CONNECTED))

    async def _gave_up(self, why: BaseException | None) -> None:
        self._set_status(Status.DISCONNECTED, f"gave up after {self.retry.attempts} tries: {why}")
        self._outbox.fail(f"{self.name} could not reconnect")
        await self.sio.disconnect()

    async def _try_once(self) -> bool:
        """One reconnection try: True when done (connected, refused or closing)."""
        try:
            await self._open()
        except ConnectionRefused as refusal:
            await self.sio.disconnect()
            if refusal.retry_after is not None:  # it passes with time: try again later
                raise CannotConnect(f"refused for now: {refusal}") from None
            self._set_status(Status.REFUSED, str(refusal))
            self._outbox.fail(f"the server refused to reconnect: {refusal}")
            return True
        except (ConnectionError, TimeoutError, ValueError):
            await self.sio.disconnect()  # closes what the failed try left open
            raise
        return self.sio.connected or self._closing

    def _on_disconnect(self, reason: str | None = None) -> None:
        if self._closing or reason == self.sio.reason.CLIENT_DISCONNECT:
            return
        if self.status is Status.CONNECTING:
            return  # the first connection failed: connect() raises, nothing to resume
        if reason == self.sio.reason.SERVER_DISCONNECT and self.sio.eio.state == "connected":
            # On purpose (a takeover, a kick): the namespace's DISCONNECT. Do not come
            # back, or two clients would take the name from each other forever. (Engine.io's
            # close packet, a stopping server's goodbye to long-polling, is one too.)
            self._set_status(Status.DISCONNECTED, "the server closed the connection")
            self._outbox.fail(f"the server closed {self.name}'s connection")
            return
        if not self.reconnect:
            self._retrying.resumable = True
            self._set_status(Status.DISCONNECTED, translate(f"connection lost ({reason})"))
            self._outbox.fail(f"{self.name}'s connection was lost")
            return
        self._retrying.start()

    # -- inside: events --------------------------------------------------------------

    def _on_event(self, event: str, *args: Any) -> None:
        data = parse(event, args[0] if len(args) == 1 else list(args), self.url)
        if data is None:
            return
        if isinstance(data, Welcome):
            self._session = data.session
            self._seen.welcome(data)
            self._welcomed.set()
        if isinstance(data, Message) and not self._seen.first_time(data):
            return
        received = Event(event, data)
        self._inbox.put(received)
        for watcher in self._event_watchers:
            self._call_watcher(watcher, received)

    def _set_status(self, status: Status, detail: str | None = None) -> None:
        if status is not Status.CONNECTED:
            self._outbox.disconnected()  # what is said now waits for the next connection
        else:
            self._retrying.connected()  # the next loss starts with a short wait
        super()._set_status(status, detail)

    # -- inside: requests ------------------------------------------------------------

    async def _request(self, request: str, data: dict, timeout: float | None) -> dict:
        if not self.connected:
            raise ChatError(f"{self.name} is not connected ({self.status.value})")
        return await self._call(request, data, timeout)

    async def _emit_say(self, payload: dict, on_ack: Callable[[Any], None]) -> None:
        try:
            await self.sio.emit(protocol.SAY, payload, namespace=self.namespace,
                                callback=lambda *ack: on_ack(ack[0] if len(ack) == 1
                                                             else list(ack)))
        except socketio.exceptions.BadNamespaceError:
            raise ConnectionError(f"{self.name} has no connection") from None

    def __repr__(self) -> str:
        where = f" to {self.url}" if self.url else ""
        return f"<ChatClient {self.name!r}{where}: {self._status}>"


async def connect(url: str, name: str, **options: Any) -> ChatClient:
    """Make a :class:`ChatClient` and connect it: ``ada = await connect(url, "ada")``.

    ``options`` are those of :class:`ChatClient` (``code``, ``rooms``, timeouts...).
    Note: this function is a coroutine.
    """
    return await ChatClient(name, **options).connect(url)
