"""Break connections on purpose: a TCP relay that cuts or silences the line.

Introduced in notebook 03 (disconnects): a :class:`Relay` sits between clients and a
server and can cut the connections that pass through it, or silence them::

    link = await relay(server.url, name="link")     # clients connect to link.url
    link.cut()         # both ends see their connection close, at once
    link.silence()     # nothing passes any more, and nobody is told
    link.down()        # a cut, and new connections are refused until link.up()

A cut is what a crashed server or a reset network looks like; a silence is a pulled
cable or a dead Wi-Fi, which only engine.io's missing pings reveal; a line that is down
is a server restarting, or a train in a tunnel: every reconnection attempt fails until
it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

from chatkit import running

__all__ = ["Relay", "relay"]


class Relay:
    """A TCP relay on 127.0.0.1 that forwards every connection to a server, until told
    to break them. Start one with :func:`relay`.

    Attributes:
        url: where clients connect instead of the server (same scheme, the relay's port).
    """

    def __init__(self, target_url: str):
        parts = urlsplit(target_url)
        self._scheme, self._target = parts.scheme, (parts.hostname, parts.port)
        self._links: list[tuple[list[asyncio.StreamWriter], list[asyncio.Task]]] = []
        self._server: asyncio.Server | None = None
        self._down = False
        self.url = ""

    async def listen(self) -> Relay:
        """Start listening on a free port and set :attr:`url`; return the relay.
        :func:`relay` calls it, and names the relay for :mod:`chatkit.running`."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"{self._scheme}://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._down:  # the line is down: the client's connection fails at once
            writer.transport.abort()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:  # the server is not there: the client sees a refused connection
            writer.transport.abort()
            return
        writers = [writer, upstream_writer]
        pumps = [asyncio.ensure_future(self._pump(reader, upstream_writer, writers)),
                 asyncio.ensure_future(self._pump(upstream_reader, writer, writers))]
        self._links.append((writers, pumps))

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    writers: list[asyncio.StreamWriter]) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        for each in writers:  # one side closed: close the other too
            each.transport.abort()

    def cut(self) -> None:
        """Break every connection open now, as a crashed server or a reset network does:
        both ends see their connection close. New connections pass as before."""
        for writers, pumps in self._links:
            for pump in pumps:
                pump.cancel()
            for writer in writers:
                writer.transport.abort()

    def silence(self) -> None:
        """Stop forwarding on every connection open now, without closing anything, as a
        pulled cable or a dead Wi-Fi does: neither end is told; only missing pings
        (engine.io's heartbeat) can reveal it. New connections pass as before."""
        for _, pumps in self._links:
            for pump in pumps:
                pump.cancel()

    def down(self) -> None:
        """:meth:`cut` every connection, and refuse new ones until :meth:`up`: a client's
        attempts to connect fail at once (the connection is reset), as when its server
        is restarting or its network is gone for a while."""
        self._down = True
        self.cut()

    def up(self) -> None:
        """After :meth:`down`, forward new connections again."""
        self._down = False

    @property
    def is_down(self) -> bool:
        """True between :meth:`down` and :meth:`up`."""
        return self._down

    async def stop(self) -> None:
        """Stop listening and close every connection. Safe to call more than once."""
        if self._server is not None:
            self._server.close()
        self.cut()
        pumps = [pump for _, link_pumps in self._links for pump in link_pumps]
        await asyncio.gather(*pumps, return_exceptions=True)
        self._links.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def __repr__(self) -> str:
        return f"<Relay {self.url} -> {self._target[0]}:{self._target[1]}>"


async def relay(url: str, *, name: str = "relay") -> Relay:
    """Start a :class:`Relay` to the server at ``url`` (``http://host:port``); return it.

    Clients connect to ``relay.url`` and reach the server through it, until
    :meth:`Relay.cut`, :meth:`Relay.silence` or :meth:`Relay.down`. Like every server in
    :mod:`chatkit.running` it has a ``name``: starting another under the same name stops
    this one first, and :func:`chatkit.running.stop_all` stops it.
    """
    started = await Relay(url).listen()
    await running.track(name, started.stop)
    return started
