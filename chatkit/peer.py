"""Peer: what chatkit's socket.io clients share, and the bounded inbox of received events.

Introduced in notebook 03, underneath :class:`chatkit.client.ChatClient`; notebook 06's
:class:`chatkit.client.TeacherClient` stands on it too. A :class:`Peer` is one
python-socketio ``AsyncClient`` talking to one namespace of a chat server, with what a
Jupyter kernel needs: ``handle_sigint=False`` (otherwise "Interrupt kernel" stops the
kernel's loop), the WebSocket transport, and short timeouts. It turns the protocol's
answers into Python (see :mod:`chatkit.protocol`):

* a refused connection raises :class:`~chatkit.protocol.ConnectionRefused` with the
  server's own sentence, which python-socketio's exception leaves out;
* a request's refusing ack raises :class:`~chatkit.protocol.ChatError` with the server's
  sentence; no answer in time raises :class:`NoAnswer`;
* where it stands is a :class:`Status`, and every change is kept and can be watched.

What the server sends is checked once, by :func:`parse`: a ``said`` payload becomes a
:class:`~chatkit.protocol.Message`, and so on, inside an :class:`Event`. An
:class:`Inbox` keeps the received events, at most a given number, and hands them out
one by one to whoever awaits them.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import socketio

from chatkit import protocol
from chatkit.language import translate
from chatkit.protocol import ChatError, ConnectionRefused, Message, Notice, Presence, Welcome

__all__ = ["DEFAULT_MAX_EVENTS", "MAX_STATUSES", "CannotConnect", "Event", "Inbox",
           "NoAnswer", "Peer", "Status", "StatusChange", "parse"]

logger = logging.getLogger(__name__)

#: How many received events a client keeps unless told otherwise.
DEFAULT_MAX_EVENTS = 10_000

#: How many status changes a client keeps (a client that reconnects all day long must
#: not grow without end).
MAX_STATUSES = 1_000

#: What each event's payload becomes; other events keep their payload as sent.
_PAYLOADS = {protocol.SAID: Message, protocol.PRESENCE: Presence, protocol.NOTICE: Notice,
             protocol.WELCOME: Welcome}


class NoAnswer(ChatError, TimeoutError):
    """The server did not answer in time. A ``TimeoutError``, and a ``ChatError`` like any
    request that did not go through."""


class CannotConnect(ChatError, ConnectionError):
    """The server cannot be reached. A ``ConnectionError``, and a ``ChatError`` too."""


class Status(enum.Enum):
    """Where a client stands. Every change is kept in ``client.statuses``."""

    CONNECTING = "connecting"      #: first connection under way
    CONNECTED = "connected"        #: talking to the server
    RECONNECTING = "reconnecting"  #: connection lost; trying again (detail: try n in 8.0 s)
    REFUSED = "refused"            #: the server said no (detail: its reason)
    DISCONNECTED = "disconnected"  #: not connected, not trying (detail: why)


@dataclass(frozen=True)
class StatusChange:
    """One status change: the new status and, when there is one, why (a sentence)."""

    status: Status
    detail: str | None = None

    def __str__(self) -> str:
        """"refused (Wrong join code ...)", in chatkit's language (chatkit.language)."""
        status = translate(self.status.value)
        return status + (f" ({translate(self.detail)})" if self.detail else "")


class Peer:
    """One socket.io connection, with an ``auth``, to one namespace of a chat server.

    Subclasses set :attr:`namespace`, and say where they stand with :meth:`_set_status`.
    Every option but ``name`` is keyword-only.

    Args:
        name: who this is, in error messages.
        connect_timeout: seconds for the connection and its handshake.
        request_timeout: seconds for the server's answer to a request.
        transports: python-socketio's transports, ``("websocket",)`` by default.
    """

    #: The namespace this peer talks to, such as ``protocol.CHAT``.
    namespace: ClassVar[str]

    def __init__(self, name: str, *, connect_timeout: float = 5.0,
                 request_timeout: float = 5.0, transports: Iterable[str] = ("websocket",)):
        self.name = name
        self.connect_timeout = connect_timeout
        self.request_timeout = request_timeout
        self.transports = tuple(transports)
        self.url: str | None = None
        #: The python-socketio client underneath, for those who want to look inside.
        #: It never reconnects by itself: a ChatClient does that with its own rules.
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        #: The status changes, in order: the last :data:`MAX_STATUSES` of them.
        self.statuses: list[StatusChange] = []
        self._status = StatusChange(Status.DISCONNECTED, "not connected yet")
        self._status_watchers: list[Callable[[StatusChange], Any]] = []
        self._refusal: str | None = None
        self._retry_after: float | None = None  # the refusal's data.retry_after, if any
        self.sio.on("connect_error", self._on_connect_error, namespace=self.namespace)

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

    def watch(self, *, on_status: Callable[[StatusChange], Any] | None = None) -> None:
        """Call ``on_status(change)`` at each status change. It runs inside the client's
        event handlers: it must not print, and an exception it raises is logged."""
        if on_status is not None:
            self._status_watchers.append(on_status)

    def _set_status(self, status: Status, detail: str | None = None) -> None:
        self._status = StatusChange(status, detail)
        self.statuses.append(self._status)
        if len(self.statuses) > MAX_STATUSES:  # a list, so that a cell can slice it
            del self.statuses[:-MAX_STATUSES]
        for watcher in self._status_watchers:
            self._call_watcher(watcher, self._status)

    def _call_watcher(self, watcher: Callable[[Any], Any], value: Any) -> None:
        try:
            watcher(value)
        except Exception:
            logger.warning("a watcher of %s failed", self.name, exc_info=True)

    async def _connect_once(self, url: str, auth: dict | Callable[[], dict]) -> None:
        """Connect once. ``auth`` may be a function: python-socketio calls it each time.

        Raises ConnectionRefused with the server's sentence, or CannotConnect. After a
        failure, ``sio.disconnect()`` closes what the try left open.
        """
        self.url = url
        self._refusal = self._retry_after = None
        try:
            await self.sio.connect(url, auth=auth, namespaces=[self.namespace],
                                   transports=list(self.transports),
                                   wait_timeout=self.connect_timeout)
        except socketio.exceptions.ConnectionError as exc:
            if self._refusal is not None:
                raise ConnectionRefused(self._refusal, retry_after=self._retry_after) from None
            raise CannotConnect(f"cannot connect to {url}: {exc}") from None

    def _on_connect_error(self, data: Any = None) -> None:
        # Not a refusal (None) must not hide a refusal already heard on this try.
        self._refusal = protocol.refusal_reason(data) or self._refusal
        later = data.get("data") if isinstance(data, dict) else None
        if isinstance(later, dict) and isinstance(later.get("retry_after"), int | float):
            self._retry_after = float(later["retry_after"])

    async def disconnect(self) -> None:
        """Close the connection; safe to call more than once. Note: a coroutine."""
        await self.sio.disconnect()

    async def drop_connection(self) -> None:
        """Break the connection as a network failure would, to see what the client does.

        For demos and tests: the WebSocket is closed under the client's feet and the
        server sees "transport close" (a ChatClient then reconnects, as after any lost
        connection). Note: this method is a coroutine.
        """
        # engineio keeps its WebSocket in `eio.ws`, undocumented; no public call breaks
        # a connection without a goodbye, which is the point here.
        websocket = getattr(self.sio.eio, "ws", None)  # noqa: SLF001 (engineio's socket)
        if not self.connected or self.sio.eio.current_transport != "websocket" or websocket is None:
            raise ChatError(f"{self.name} has no WebSocket connection to drop")
        await websocket.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.disconnect()

    async def _call(self, request: str, data: dict, timeout: float | None = None) -> dict:
        """Send ``request`` and return the server's accepting ack.

        Raises ChatError with the server's sentence if it refuses, or if the connection
        is closed; NoAnswer without an answer within ``timeout`` (default
        ``request_timeout``).
        """
        wait = self.request_timeout if timeout is None else timeout
        try:
            ack = await self.sio.call(request, data, namespace=self.namespace, timeout=wait)
        except socketio.exceptions.TimeoutError:
            raise NoAnswer(f"no answer to {request} within {wait:g} s") from None
        except socketio.exceptions.BadNamespaceError:
            raise ChatError(f"{self.name}'s connection is closed: {request} was not "
                            f"sent") from None
        return protocol.check_ack(ack, request)


@dataclass(frozen=True)
class Event:
    """An event received from the server: ``said``, ``presence``, ``notice``, ``welcome``.

    ``data`` is the event's payload, checked by :func:`parse`: a
    :class:`~chatkit.protocol.Message` (``said``), :class:`~chatkit.protocol.Presence`,
    :class:`~chatkit.protocol.Notice` or :class:`~chatkit.protocol.Welcome`; an event
    outside the protocol keeps its payload as sent. ``str(event)`` reads like a chat
    line; it leaves out the ``welcome``'s secret session.
    """

    type: str
    data: Any = field(default=None)

    def __str__(self) -> str:
        if isinstance(self.data, Message | Presence | Notice | Welcome):
            return str(self.data)
        return f"{self.type}: {self.data!r}"


def parse(event: str, payload: Any, source: str | None = None) -> Any:
    """``payload`` of ``event`` as its protocol object (a ``said`` one as a Message...),
    or as it is for an event outside the protocol; None, and a warning naming
    ``source``, if it breaks the protocol: a server's mistake must not crash a handler."""
    kind = _PAYLOADS.get(event)
    if kind is None:
        return payload
    try:
        return kind.from_dict(payload)
    except ValueError as problem:
        logger.warning("ignored a %s event from %s that breaks the protocol: %s",
                       event, source, problem)
        return None


class Inbox:
    """The events a client received: the newest ``size``, and those :meth:`next` has not
    handed out yet (at most ``size`` as well). Older ones are dropped first, so a client
    that runs for hours does not fill the kernel's memory; the server keeps the history.

    Each event needs a ``type`` (what :meth:`next` filters on).
    """

    def __init__(self, size: int = DEFAULT_MAX_EVENTS):
        if size < 1:
            raise ValueError(f"an inbox keeps at least 1 event, not {size}")
        self.size = size
        #: The newest ``size`` events received, oldest first.
        self.events: deque[Any] = deque(maxlen=size)
        # The same objects as in `events`, not copies: each event is in memory once.
        self._unread: deque[Any] = deque(maxlen=size)
        self._arrived = asyncio.Event()

    def put(self, event: Any) -> None:
        """Keep ``event``, and wake whoever waits in :meth:`next`."""
        self.events.append(event)
        self._unread.append(event)
        self._arrived.set()

    def unread(self) -> list[str]:
        """The types of the events not handed out yet, oldest first."""
        return [event.type for event in self._unread]

    async def next(self, type: str | None = None, *, timeout: float) -> Any:
        """The oldest event not handed out yet, of ``type`` if given.

        Events of other types stay for later calls. Raises TimeoutError after
        ``timeout`` seconds without one. Note: this method is a coroutine.
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
            if remaining <= 0:
                raise TimeoutError(f"no {type or 'event'} within {timeout:g} s")
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                raise TimeoutError(f"no {type or 'event'} within {timeout:g} s") from None
