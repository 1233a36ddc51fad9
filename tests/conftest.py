"""Shared fixtures. Timeouts are scaled by one factor: CHATKIT_TIMEOUT_FACTOR (default 1)."""

import os
from collections.abc import Callable

import pytest
import pytest_asyncio
import socketio

from chatkit import running
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
