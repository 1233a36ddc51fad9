"""A browser-style WebSocket client for Python, and two tiny servers to talk to.

Introduced in notebook 01 (notebook 00 already uses it to measure push). In a browser
you write::

    const ws = new WebSocket("ws://127.0.0.1:8765");
    ws.onopen = (event) => ws.send("hello");
    ws.onmessage = (event) => console.log(event.data);
    ws.onclose = (event) => console.log(event.code, event.reason, event.wasClean);
    ws.onerror = (event) => console.log("error");

and here, inside a notebook cell (which runs on an event loop, like a page)::

    ws = WebSocket("ws://127.0.0.1:8765")
    ws.onopen = lambda event: ws.send("hello")
    ws.onmessage = lambda event: received.append(event.data)
    ws.onclose = lambda event: closes.append((event.code, event.reason, event.was_clean))
    ws.onerror = lambda event: errors.append(event.message)

The protocol work is done by the ``websockets`` library; this module only gives it the
browser's shape: the connection starts when the object is made, events arrive through
``on...`` handlers, ``send`` and ``close`` return at once, and ``ready_state`` tells where
the connection is. Unlike a browser, ``send`` on a socket that is not open raises, and an
error event says what went wrong (a browser hides that from the page for privacy).

As in a browser, ``error`` (always followed by ``close`` 1006) means the connection
*failed*: it could not open (nothing listening, TLS refused, a handshake refused or
without an offered subprotocol), or this side refused what it received (a message too
big, invalid UTF-8). A connection that is simply cut after it opened gives ``close``
1006 alone, with no ``error`` (tests/browser/test_browser_websocket.py shows Chromium
doing the same).
"""

from __future__ import annotations

import asyncio
import enum
import inspect
import logging
import re
import socket
import ssl as ssl_module
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import broadcast as broadcast_to
from websockets.exceptions import (
    ConnectionClosed,
    InvalidMessage,
    InvalidStatus,
    NegotiationError,
    PayloadTooBig,
)
from websockets.frames import CloseCode

from chatkit.language import translate

__all__ = [
    "CloseEvent",
    "ErrorEvent",
    "InvalidStateError",
    "MessageEvent",
    "OpenEvent",
    "ReadyState",
    "WebSocket",
    "broadcast",
    "echo",
]

logger = logging.getLogger(__name__)

#: Code reported when a connection ends without a closing handshake (never sent on the wire).
ABNORMAL_CLOSURE = int(CloseCode.ABNORMAL_CLOSURE)


class ReadyState(enum.IntEnum):
    """The four states of ``WebSocket.readyState`` in the browser, with the same numbers."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3


class InvalidStateError(RuntimeError):
    """The socket is not in a state that allows this (the browser's ``InvalidStateError``)."""


@dataclass(frozen=True)
class OpenEvent:
    """The connection is open: ``send`` works from now on."""

    type: str = "open"


@dataclass(frozen=True)
class MessageEvent:
    """A message from the server: ``data`` is ``str`` for text, ``bytes`` for binary."""

    data: str | bytes
    type: str = "message"


@dataclass(frozen=True)
class ErrorEvent:
    """Something failed; a close event always follows. ``message`` says what failed."""

    message: str
    type: str = "error"


@dataclass(frozen=True)
class CloseEvent:
    """The connection is closed.

    ``code`` is the close code (1000 normal, 1001 going away, 1006 abnormal: no closing
    handshake happened, 4000-4999 chosen by the application); ``was_clean`` is true when
    both sides exchanged close frames.
    """

    code: int
    reason: str
    was_clean: bool
    type: str = "close"


Event = OpenEvent | MessageEvent | ErrorEvent | CloseEvent
Handler = Callable[[Any], Any]


class WebSocket:
    """Connect to ``url`` (``ws://`` or ``wss://``) the way a browser's ``WebSocket`` does.

    Must be created while an event loop runs (in a notebook cell or an ``async def``); the
    connection starts in the background, so set the ``on...`` handlers right away.
    Handlers may be plain functions or coroutines; an exception in one is logged and the
    connection carries on, as in a browser.

    ``protocols``, as in ``new WebSocket(url, protocols)``: a subprotocol name or a list
    of them, in order of preference, sent in ``Sec-WebSocket-Protocol``. The server picks
    one, which ``protocol`` then holds (``""`` until open, and when none was offered). As
    in a browser, the connection fails (``error``, then ``close`` 1006) when the server
    picks none of them, and a name that is not an HTTP token, or given twice, raises
    ``ValueError`` at once (the browser's ``SyntaxError``).

    Options (keyword-only):
        ssl: an ``ssl.SSLContext`` for ``wss://`` URLs, e.g. one that trusts a local test
            certificate authority. None uses the system's trusted certificates.
        open_timeout: seconds to wait for the opening handshake.
        max_size: largest message accepted from the server, in bytes; a larger one closes
            the connection with code 1009. None disables the limit.
    """

    CONNECTING = ReadyState.CONNECTING
    OPEN = ReadyState.OPEN
    CLOSING = ReadyState.CLOSING
    CLOSED = ReadyState.CLOSED

    def __init__(self, url: str, protocols: str | Sequence[str] = (), *,
                 ssl: ssl_module.SSLContext | None = None, open_timeout: float = 5.0,
                 max_size: int | None = 2**20):
        self.url = _check_url(url)
        self.protocols = _check_protocols(protocols)
        self.protocol = ""  # the subprotocol the server chose, once open
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(translate(
                "WebSocket(...) needs a running event loop: create it in a notebook cell or "
                "inside an async function")) from None
        self.ready_state = ReadyState.CONNECTING
        self.onopen: Handler | None = None
        self.onmessage: Handler | None = None
        self.onerror: Handler | None = None
        self.onclose: Handler | None = None
        self._listeners: dict[str, list[Handler]] = {}
        self._ssl = ssl
        self.open_timeout = open_timeout
        self._max_size = max_size
        self._connection: ClientConnection | None = None
        self._outgoing: asyncio.Queue[str | bytes] = asyncio.Queue()
        self._buffered = 0
        self._close_request: tuple[int | None, str] | None = None
        self._opened = loop.create_future()
        self._closed = loop.create_future()
        self._task = loop.create_task(self._run(), name=f"WebSocket({self.url})")

    # -- the browser's API ---------------------------------------------------------------

    @property
    def buffered_amount(self) -> int:
        """Bytes given to :meth:`send` that are not yet handed to the network."""
        return self._buffered

    def send(self, data: str | bytes | bytearray | memoryview) -> None:
        """Queue a message: ``str`` goes as a text frame, bytes-like as a binary frame.

        Returns at once; messages leave in the order they were sent. Raises
        :class:`InvalidStateError` unless the socket is open.
        """
        if self.ready_state is not ReadyState.OPEN:
            if self.ready_state is ReadyState.CONNECTING:
                raise InvalidStateError(translate(
                    "cannot send yet: the socket is still connecting; send from onopen, or "
                    "after `await ws.opened()`"))
            if self.ready_state is ReadyState.CLOSING:
                raise InvalidStateError(translate(
                    "cannot send: close() was called and the socket is closing"))
            raise InvalidStateError(translate(
                f"cannot send: the socket is CLOSED (closed with code "
                f"{self._closed.result().code})"))
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        if not isinstance(data, (str, bytes)):
            raise TypeError(translate(f"send() takes str or bytes, not {type(data).__name__}; "
                                      f"to send a dict, send json.dumps(it)"))
        self._buffered += len(data.encode() if isinstance(data, str) else data)
        self._outgoing.put_nowait(data)

    def close(self, code: int | None = None, reason: str = "") -> None:
        """Start the closing handshake; ``onclose`` runs when it is done.

        ``code`` is 1000 or an application code 3000-4999, ``reason`` at most 123 bytes of
        UTF-8, as in the browser. Without a code (and without a reason) the close frame
        carries none, as a browser's ``ws.close()``: the close event then reports 1005
        ("no status received"); a reason without a code goes with 1000 (a close frame cannot
        carry a reason without a code). Messages already
        passed to :meth:`send` go out first. Closing a socket that is closing or closed
        does nothing.
        """
        if code is not None and code != 1000 and not 3000 <= code <= 4999:
            raise ValueError(translate(f"close code {code} is not allowed: use 1000 or 3000-4999 "
                             f"(1001-2999 are reserved for the protocol)"))
        if len(reason.encode()) > 123:
            raise ValueError(translate("close reason is longer than 123 bytes of UTF-8"))
        if self.ready_state in (ReadyState.CLOSING, ReadyState.CLOSED):
            return
        if code is None and reason:
            code = 1000
        self._close_request = (code, reason)
        self.ready_state = ReadyState.CLOSING
        self._outgoing.put_nowait(None)  # wakes the writer, which closes after the queue

    def add_event_listener(self, type: str, listener: Handler) -> None:
        """Also call ``listener`` for events of ``type`` ("open", "message", "error", "close")."""
        if type not in ("open", "message", "error", "close"):
            raise ValueError(translate(f"unknown event type {type!r}"))
        self._listeners.setdefault(type, []).append(listener)

    # -- what a notebook adds: awaitable milestones ----------------------------------------

    async def opened(self, timeout: float = 5.0) -> None:
        """Wait until the socket is open; raise ``ConnectionError`` if it failed instead."""
        await asyncio.wait_for(asyncio.shield(self._opened), timeout)

    async def closed(self, timeout: float = 5.0) -> CloseEvent:
        """Wait until the socket is closed and return the close event."""
        return await asyncio.wait_for(asyncio.shield(self._closed), timeout)

    def __repr__(self) -> str:
        return f"<WebSocket {self.url} {self.ready_state.name}>"

    # -- the machinery -----------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            tls = {} if self._ssl is None else {"ssl": self._ssl}  # None: system defaults
            self._connection = await connect(
                self.url, open_timeout=self.open_timeout, max_size=self._max_size,
                compression=None, subprotocols=list(self.protocols) or None, **tls)
        except Exception as exc:  # every way to fail becomes an error event, as in a browser
            await self._finish(CloseEvent(ABNORMAL_CLOSURE, "", False), _explain(exc, self))
            return
        except asyncio.CancelledError:
            await self._finish(CloseEvent(ABNORMAL_CLOSURE, "", False), None)
            raise
        if self.protocols and self._connection.subprotocol is None:
            # websockets accepts this; a browser fails the connection (WHATWG: it is
            # established only if the server selected one of the offered subprotocols),
            # and drops it without a close frame.
            self._connection.transport.abort()
            await self._connection.wait_closed()
            error = ErrorEvent(translate(f"the server chose none of the subprotocols offered "
                               f"({', '.join(self.protocols)}): its handshake has no "
                               f"Sec-WebSocket-Protocol"))
            await self._finish(CloseEvent(ABNORMAL_CLOSURE, "", False), error)
            return
        if self._close_request is not None:  # close() was called while connecting
            await self._connection.close(*self._close_request)
            error = ErrorEvent(translate("closed before the connection was established"))
            await self._finish(CloseEvent(ABNORMAL_CLOSURE, "", False), error)
            return
        self.protocol = self._connection.subprotocol or ""
        self.ready_state = ReadyState.OPEN
        self._opened.set_result(None)
        await self._dispatch(OpenEvent())
        writer = asyncio.create_task(self._write())
        try:
            async for message in self._connection:
                await self._dispatch(MessageEvent(message))
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
        await self._connection.wait_closed()
        await self._finish(*self._close_event())

    async def _write(self) -> None:
        assert self._connection is not None
        try:
            while True:
                data = await self._outgoing.get()
                if data is None:
                    break
                await self._connection.send(data)
                self._buffered -= len(data.encode() if isinstance(data, str) else data)
            code, reason = self._close_request or (None, "")
            # None reaches websockets' send_close(None), which sends a close frame without a code.
            await self._connection.close(code, reason)
        except ConnectionClosed:
            pass

    def _close_event(self) -> tuple[CloseEvent, ErrorEvent | None]:
        protocol = self._connection.protocol
        received, sent = protocol.close_rcvd, protocol.close_sent
        failure = protocol.parser_exc  # EOFError: the line was cut, not a failure of ours
        if failure is None and isinstance(self._connection.connection_exc, UnicodeDecodeError):
            # websockets decodes text when the message is read, not when the frame is
            # parsed: a text frame that is not UTF-8 fails the connection there (1007)
            failure = self._connection.connection_exc
        error = None
        if failure is not None and not isinstance(failure, EOFError):
            # This side refused what it received and failed the connection: as in a
            # browser, that (and only that, once open) fires an error event.
            error = ErrorEvent(translate(_explain_failure(failure)))
        if received is None:
            # No close frame came: 1006. A connection cut after it opened fires no error
            # event in a browser, only this close.
            return CloseEvent(ABNORMAL_CLOSURE, "", False), error
        return CloseEvent(int(received.code), received.reason, sent is not None), error

    async def _finish(self, close: CloseEvent, error: ErrorEvent | None) -> None:
        self.ready_state = ReadyState.CLOSED
        if not self._opened.done():
            self._opened.set_exception(ConnectionError(error.message if error else "closed"))
            self._opened.exception()  # retrieved here, so an unawaited failure is not logged
        self._closed.set_result(close)
        if error is not None:
            await self._dispatch(error)
        await self._dispatch(close)

    async def _dispatch(self, event: Event) -> None:
        handlers = [getattr(self, f"on{event.type}")] + self._listeners.get(event.type, [])
        for handler in handlers:
            if handler is None:
                continue
            try:
                result = handler(event)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                logger.exception("the %s handler of %r raised", event.type, self)


def _check_url(url: str) -> str:
    if not isinstance(url, str):
        raise TypeError(translate(f"url must be a str like 'ws://127.0.0.1:8765', "
                                  f"not {type(url).__name__}"))
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss"):
        wrong_scheme = parts.scheme in ("http", "https")
        hint = " (use ws:// for http, wss:// for https)" if wrong_scheme else ""
        raise ValueError(translate(f"{url!r} is not a WebSocket URL: it must start with ws:// or "
                         f"wss://{hint}"))
    if not parts.hostname:
        raise ValueError(translate(f"{url!r} has no host name"))
    if parts.fragment:
        raise ValueError(translate(f"{url!r} has a #fragment, which WebSocket URLs may not have"))
    return url


#: RFC 7230's token characters: what a subprotocol name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _check_protocols(protocols: str | Sequence[str]) -> tuple[str, ...]:
    names = (protocols,) if isinstance(protocols, str) else tuple(protocols)
    for name in names:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(translate(f"subprotocol {name!r} is not a valid name: use letters, "
                             f"digits and !#$%&'*+-.^_`|~, no spaces or commas"))
    if len(set(names)) < len(names):
        raise ValueError(translate(f"subprotocols {list(names)!r} name one twice"))
    return names


def _explain_failure(exc: Exception) -> str:
    if isinstance(exc, PayloadTooBig):
        return f"message too big: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"a text message was not valid UTF-8 ({exc.reason})"
    return f"the server broke the protocol: {exc}"


def _explain(exc: BaseException, ws: WebSocket) -> ErrorEvent:
    where = urlsplit(ws.url).netloc
    if isinstance(exc, ssl_module.SSLCertVerificationError):
        why = (f"the server's TLS certificate was rejected ({exc.verify_message}); for a "
               f"local test certificate, pass ssl= a context that trusts its authority")
    elif isinstance(exc, ssl_module.SSLError):
        why = f"TLS failed ({exc.reason}); is the server really speaking wss://?"
    elif isinstance(exc, ConnectionRefusedError):
        why = f"connection refused: nothing is listening at {where}"
    elif isinstance(exc, socket.gaierror):
        why = f"cannot find the host in {ws.url!r} ({exc.strerror})"
    elif isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        why = f"no WebSocket handshake from {where} within {ws.open_timeout:g} s"
    elif isinstance(exc, InvalidStatus) and exc.response.status_code == 400:
        body = exc.response.body.decode(errors="replace").strip().splitlines()
        said = body[0].removeprefix("Failed to open a WebSocket connection: ") if body else ""
        said = said.rstrip(".")
        why = (f"the server refused the handshake with HTTP 400 ({said})" if said
               else "the server refused the handshake with HTTP 400")
    elif isinstance(exc, InvalidStatus):
        why = (f"the server answered HTTP {exc.response.status_code} instead of switching "
               f"to WebSocket: is {ws.url} a WebSocket endpoint?")
    elif isinstance(exc, NegotiationError):
        why = f"the server's handshake does not fit what we offered: {exc}"
    elif isinstance(exc, InvalidMessage):
        why = (f"{where} did not answer with a WebSocket handshake (is it a wss:// server, "
               f"or not a web server at all?)")
    elif isinstance(exc, OSError):
        why = f"cannot connect to {where}: {exc.strerror or exc}"
    else:
        why = f"cannot connect to {where}: {exc}"
    return ErrorEvent(translate(why))


# -- two tiny servers, for `running.serve_websockets` --------------------------------------

async def echo(connection: ServerConnection) -> None:
    """Send every message back to whoever sent it, text as text and binary as binary."""
    try:
        async for message in connection:
            await connection.send(message)
    except ConnectionClosed:  # the client went away mid-message: nothing left to do
        pass


async def broadcast(connection: ServerConnection) -> None:
    """Send every message to every client connected to this server, the sender included."""
    try:
        async for message in connection:
            broadcast_to(connection.server.connections, message)
    except ConnectionClosed:
        pass
