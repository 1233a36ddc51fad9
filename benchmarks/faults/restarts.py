"""SIGKILL restarts with ``--db``: writers keep saying, with a ``client_id`` each, while
the server is killed and started again on the same file; what was acknowledged must
all be in the file once, under the id the ack gave."""

from __future__ import annotations

import asyncio
import random

import socketio

from benchmarks.faults.harness import (
    ANSWER_SECONDS,
    CODE,
    Figures,
    Server,
    close,
    connect_student,
    failed,
)
from chatkit import protocol
from chatkit.store import open_store

WRITERS = 3


async def _write(client: socketio.AsyncClient, name: str, pending: list[str],
                 acked: dict[str, int], figures: Figures, stop: asyncio.Event) -> None:
    """Say the pending texts (resent unchanged after a restart), then new ones."""
    number = 0
    while not stop.is_set():
        if not pending:
            number += 1
            pending.append(f"{name} line {len(acked) + number}")
        text = pending[0]
        try:
            answer = await client.call(protocol.SAY, {"room": "r", "text": text,
                                                      "client_id": text},
                                       namespace=protocol.CHAT, timeout=ANSWER_SECONDS)
        except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
            return  # killed under us: resent after the restart
        figures.inputs += 1
        if isinstance(answer, dict) and answer.get("ok"):
            if text in acked and acked[text] != answer["id"]:
                figures.extra["acked twice"] = figures.extra.get("acked twice", 0) + 1
            acked[text] = answer["id"]
            pending.pop(0)
        elif isinstance(answer, dict) and failed(answer.get("error")):
            figures.server_failed += 1
            pending.pop(0)


async def _round(server: Server, names: list[str], pendings: list[list[str]],
                 acked: dict[str, int], figures: Figures, seconds: float) -> tuple:
    clients = []
    try:
        for name in names:
            clients.append(await connect_student(server.url, name, rooms=["r"]))
    except ConnectionError:
        figures.unanswered += 1
    stop = asyncio.Event()
    writers = [asyncio.create_task(_write(client, name, pending, acked, figures, stop))
               for client, name, pending in zip(clients, names, pendings, strict=False)]
    await asyncio.sleep(seconds)
    return stop, writers, clients


async def run(restarts: int, *, db: str, seed: int = 14) -> Figures:
    figures = Figures("SIGKILL restarts", "db")
    chance = random.Random(seed)
    names = [f"writer{index}" for index in range(WRITERS)]
    pendings: list[list[str]] = [[] for _ in names]
    acked: dict[str, int] = {}
    server = Server("db", "--join-code", CODE, "--rate", "0", db=db)
    tracebacks = 0
    for _ in range(restarts):
        await server.start()
        stop, writers, clients = await _round(server, names, pendings, acked, figures,
                                              chance.uniform(0.3, 1.0))
        await server.kill()  # mid-write: the says in flight get no ack
        stop.set()
        await asyncio.gather(*writers, return_exceptions=True)
        for client in clients:
            await close(client)
        tracebacks = server.tracebacks()
    await server.start()  # the last one: every pending say gets its ack
    stop, writers, clients = await _round(server, names, pendings, acked, figures, 0.5)
    stop.set()
    await asyncio.gather(*writers, return_exceptions=True)
    for client in clients:
        await close(client)
    await server.stop()
    figures.crashes, figures.tracebacks = server.crashes, max(tracebacks, server.tracebacks())
    figures.add_errors(server)
    store = open_store(db)
    try:
        kept = await store.since(["r"], 0)
    finally:
        await store.close()
    where: dict[str, list[int]] = {}
    for message in kept:
        where.setdefault(message.text, []).append(message.id)
    lost = sum(1 for text, id_ in acked.items() if id_ not in where.get(text, []))
    duplicated = sum(len(ids) - 1 for ids in where.values())
    figures.extra.update({"restarts": restarts, "acked": len(acked), "lost": lost,
                          "duplicated": duplicated})
    figures.checks += [("no acknowledged message lost", lost == 0),
                       ("no message kept twice", duplicated == 0),
                       ("no say acked with two ids", "acked twice" not in figures.extra)]
    return figures
