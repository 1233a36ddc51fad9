"""Shared fixtures. Timeouts are scaled by one factor: CHATKIT_TIMEOUT_FACTOR (default 1)."""

import os
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
import socketio

from chatkit import protocol, running
from chatkit.sio import close_client
from chatkit.tasks import leftover_tasks
from chatkit.websocket import echo

TIMEOUT_FACTOR = float(os.environ.get("CHATKIT_TIMEOUT_FACTOR", "1"))


def timeout(seconds: float) -> float:
    """A test's wait of ``seconds``, scaled for slow machines."""
    return seconds * TIMEOUT_FACTOR


@pytest_asyncio.fixture(autouse=True)
async def _stop_servers():
    """Every test starts with nothing running and leaves nothing running."""
    yield
    await running.stop_all()


@pytest.fixture
def new_server() -> Callable[..., socketio.AsyncServer]:
    """Make raw socket.io servers as the notebooks do: aiohttp, 1 s pings (a vanished
    client is noticed in 2 s). Options override those; serve one with chatkit.sio.serve,
    which picks a free port."""

    def make(**options) -> socketio.AsyncServer:
        return socketio.AsyncServer(**{"async_mode": "aiohttp", "ping_interval": 1,
                                       "ping_timeout": 1, **options})

    return make


class Clients:
    """Makes raw socket.io clients fit for an event loop that is not theirs (no SIGINT
    handler, no reconnection unless asked), and closes every one it made."""

    def __init__(self):
        self.made: list[socketio.AsyncClient] = []

    def __call__(self, **options) -> socketio.AsyncClient:
        client = socketio.AsyncClient(**{"handle_sigint": False, "reconnection": False,
                                         **options})
        self.made.append(client)
        return client

    async def close_all(self) -> None:
        for client in self.made:
            await close_client(client)


@pytest_asyncio.fixture
async def new_client():
    """Make raw socket.io clients (``new_client()``); all are closed after the test."""
    clients = Clients()
    yield clients
    await clients.close_all()


class RawPeer:
    """A raw python-socketio client of one chatkit namespace (``protocol.CHAT`` or
    ``protocol.TEACHER``), as the tests of the wire protocol use it: no reconnection, no
    SIGINT handler; it records every event it receives, the ``connect_error`` payloads and
    the disconnect reasons."""

    def __init__(self, namespace: str = protocol.CHAT):
        self.namespace = namespace
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.events: list[tuple[str, Any]] = []  # (event, data) in arrival order
        self.refusals: list[Any] = []            # connect_error payloads
        self.disconnects: list[str] = []         # reasons
        self.sio.on("*", self._record, namespace=namespace)
        self.sio.on("connect_error", self.refusals.append, namespace=namespace)
        self.sio.on("disconnect", self.disconnects.append, namespace=namespace)

    def _record(self, event, *args):
        self.events.append((event, args[0] if len(args) == 1 else list(args)))

    async def connect(self, url: str, auth, *, transports=("websocket",)) -> None:
        """Connect to this namespace with ``auth``; ``transports=None`` lets the client
        pick (polling, then an upgrade). A refusal raises socketio's ConnectionError."""
        await self.sio.connect(url, namespaces=[self.namespace], auth=auth,
                               transports=list(transports) if transports else None,
                               wait_timeout=timeout(5))

    async def call(self, event: str, *args):
        """Send a request and return its ack: no argument is null, one is sent as it is,
        several go as a list."""
        data = args[0] if len(args) == 1 else tuple(args) if args else None
        return await self.sio.call(event, data, namespace=self.namespace, timeout=timeout(5))

    async def emit(self, event: str, data=None) -> None:
        await self.sio.emit(event, data, namespace=self.namespace)

    def of(self, event: str) -> list:
        """The data of every ``event`` received so far, in arrival order."""
        return [data for name, data in self.events if name == event]

    async def wait(self, condition: Callable[[], Any], what: str):
        return await running.wait_for(condition, timeout(5), what=what)

    @property
    def connected(self) -> bool:
        return self.sio.connected

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def close(self) -> None:
        await close_client(self.sio)


class RawPeers:
    """Makes :class:`RawPeer` clients (``raw_peers(namespace)``) and closes every one."""

    def __init__(self):
        self.made: list[RawPeer] = []

    def __call__(self, namespace: str = protocol.CHAT) -> RawPeer:
        return self.keep(RawPeer(namespace))

    def keep(self, peer: RawPeer) -> RawPeer:
        """Close ``peer`` (made elsewhere, e.g. of a subclass) with the others."""
        self.made.append(peer)
        return peer

    async def close_all(self) -> None:
        for peer in self.made:
            await peer.close()


@pytest_asyncio.fixture
async def raw_peers():
    """Make raw clients of the chat protocol (``raw_peers()`` for /chat,
    ``raw_peers(protocol.TEACHER)``); all are closed after the test."""
    peers = RawPeers()
    yield peers
    await peers.close_all()


@pytest_asyncio.fixture
async def no_leftover_tasks(new_client):
    """After the test, once its clients are closed and everything is stopped, no task of
    aiohttp, engine.io, socket.io, websockets or chatkit is left running."""
    yield
    await new_client.close_all()
    await running.stop_all()
    await running.wait_for(lambda: not leftover_tasks(), timeout(5), what="no tasks left")


@pytest_asyncio.fixture
async def echo_server() -> running.Running:
    """chatkit's WebSocket echo server, on a free port."""
    return await running.serve_websockets(echo, name="echo")
