"""What one room broadcast costs the server, per delivery, measured in the kernel.

Introduced in notebook 06, which compares stock python-socketio's client manager with
chatkit's on the same server class::

    stock = await measure_broadcast(socketio.AsyncManager())
    ours = await measure_broadcast(ChatManager())
    stock.us_per_delivery, ours.us_per_delivery      # CPU µs of this process

:func:`measure_broadcast` serves a :class:`chatkit.engine.SocketIOServer` in the running
loop, connects the receivers from a separate Python process (so their work is not
counted), puts them all in one room, emits to that room and measures this process's CPU
time from the first emit until the receivers report that every one of them has every
message. The receivers speak engine.io/socket.io over `websockets` directly: light
enough that a two-core machine keeps one core for the server.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Any

import socketio

from chatkit import engine, sio

__all__ = ["ROOM", "Measurement", "measure_broadcast"]

#: The room every receiver joins.
ROOM = "fanout"

# The receivers: argv is url, receivers, expected messages each. Prints "ready" once all
# joined, then "done <deliveries>" once each has its messages (or its count at timeout).
_RECEIVERS = r"""
import asyncio, sys
import websockets

async def receiver(url, ready, counts, index, expected, finished):
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.recv()                      # engine.io open packet
        await ws.send("40")                  # socket.io connect to "/"
        while not (await ws.recv()).startswith("40"):
            pass
        ready.release()
        async for frame in ws:
            if frame.startswith("42"):
                counts[index] += 1
                if counts[index] == expected:
                    finished.release()
            elif frame == "2":
                await ws.send("3")           # answer the server's ping

async def main(url, receivers, expected):
    counts = [0] * receivers
    ready, finished = asyncio.Semaphore(0), asyncio.Semaphore(0)
    tasks = [asyncio.create_task(receiver(url, ready, counts, i, expected, finished))
             for i in range(receivers)]
    for _ in range(receivers):
        await ready.acquire()
    print("ready", flush=True)
    try:
        async def all_finished():
            for _ in range(receivers):
                await finished.acquire()
        await asyncio.wait_for(all_finished(), 60)
    except asyncio.TimeoutError:
        pass
    print("done", sum(counts), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    for task in tasks:
        task.cancel()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


@dataclass(frozen=True)
class Measurement:
    """One run of :func:`measure_broadcast`: who, how many, and what it cost."""

    manager: str          #: the client manager's class name
    receivers: int
    broadcasts: int
    deliveries: int       #: messages the receivers counted, all together
    cpu_seconds: float    #: this process's CPU time, first emit to last delivery
    wall_seconds: float   #: elapsed time over the same interval

    @property
    def us_per_delivery(self) -> float:
        """CPU microseconds of this process per delivered message."""
        return self.cpu_seconds / max(self.deliveries, 1) * 1e6


async def measure_broadcast(manager: socketio.AsyncManager, receivers: int = 100,
                            broadcasts: int = 200, *, timeout: float = 60.0,
                            payload: Any = "tick") -> Measurement:
    """Measure the CPU cost per delivery of ``broadcasts`` emits to a room of
    ``receivers`` WebSocket clients, served with ``manager``.

    Everything it starts (the server, the receivers' process) is stopped before it
    returns or raises. Raises ``TimeoutError`` if the receivers do not connect in
    ``timeout`` seconds.
    """
    server = engine.SocketIOServer(client_manager=manager, async_mode="aiohttp")

    async def join(sid: str, environ: dict) -> None:
        await server.enter_room(sid, ROOM)

    server.on("connect", join)
    handle = await sio.serve(server, name="fanout")
    url = handle.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _RECEIVERS, url, str(receivers), str(broadcasts),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        if line.strip() != b"ready":
            raise RuntimeError(f"the receivers failed to start: {line!r}")
        cpu, wall = time.process_time(), time.perf_counter()
        for number in range(broadcasts):
            await server.emit(payload, number, room=ROOM)
            # One broadcast per turn of the loop, as when each comes from a message a
            # student sent: otherwise chatkit's writes of many turns share one system call.
            await asyncio.sleep(0)
        line = await asyncio.wait_for(process.stdout.readline(), timeout)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        word, _, count = line.decode().partition(" ")
        if word != "done":
            raise RuntimeError(f"the receivers stopped early: {line!r}")
        return Measurement(type(manager).__name__, receivers, broadcasts, int(count),
                           cpu, wall)
    finally:
        await _end(process)
        await handle.stop()


async def _end(process: asyncio.subprocess.Process) -> None:
    """Let the receivers' process go (closing its stdin ends it); kill it if it lingers."""
    if process.returncode is None:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
