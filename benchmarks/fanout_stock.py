"""Stock python-socketio on aiohttp with the fan-out benchmark's protocol (benchmarks/fanout.py).

Notebooks 02 and 04 introduce python-socketio's server and its rooms; this is that server
without chatkit:
namespace /chat, auth ``{name}``; ``join {room}`` is acked ``{ok: true, room}``;
``say {room, text}`` is acked ``{ok: true}`` and broadcast as ``said {room, text, name}``
to the room, the sender included. Run ``python benchmarks/fanout_stock.py``: it listens
on 127.0.0.1, a free port, and prints one line, ``URL EVENT_LOOP`` ("uvloop" when it
imports, else "asyncio"), once it serves.
"""

from __future__ import annotations

import asyncio
import signal

import socketio
from aiohttp import web


def make_server() -> tuple[socketio.AsyncServer, web.Application]:
    """The stock server (default `socketio.AsyncManager`) and its aiohttp app."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    app = web.Application()
    sio.attach(app)
    names: dict[str, str] = {}

    @sio.on("connect", namespace="/chat")
    async def connect(sid, environ, auth):
        names[sid] = str((auth or {}).get("name", "anonymous"))

    @sio.on("disconnect", namespace="/chat")
    async def disconnect(sid, *reason):
        names.pop(sid, None)

    @sio.on("join", namespace="/chat")
    async def join(sid, data):
        room = str(data["room"])
        await sio.enter_room(sid, room, namespace="/chat")
        return {"ok": True, "room": room}

    @sio.on("say", namespace="/chat")
    async def say(sid, data):
        room = str(data["room"])
        await sio.emit("said", {"room": room, "text": str(data["text"]), "name": names.get(sid)},
                       room=room, namespace="/chat")
        return {"ok": True}

    return sio, app


async def serve(event_loop: str) -> None:
    _, app = make_server()
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"http://127.0.0.1:{port} {event_loop}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve("asyncio"))
    else:
        uvloop.run(serve("uvloop"))


if __name__ == "__main__":
    main()
