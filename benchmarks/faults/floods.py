"""Floods of each event type, a resume storm and a code-guessing run, each against a
fresh server at the classroom's default limits, with two bystanders chatting meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time

import aiohttp
import socketio

from benchmarks.faults.harness import (
    ANSWER_SECONDS,
    CODE,
    Bystanders,
    Figures,
    RawPeer,
    Server,
    close,
    connect_student,
    failed,
    fresh_name,
    sio_client,
)
from chatkit import protocol
from chatkit.store import open_store

#: At most this many requests of a flood are in flight at once.
WINDOW = 20
#: The default join codes (two of 48 words and a number from 10 to 99, issue 14), and
#: how long a workshop lasts: guessing at the rate measured must not be expected to
#: find the code within it.
CODE_SPACE = 48 * 48 * 90
WORKSHOP_SECONDS = 8 * 3600
#: The largest number of wrong codes (or tokens) a connection may try before the
#: server refuses to check more or closes it: "a few".
FEW_TRIES = 10


async def _requests(figures: Figures, seconds: float, request) -> int:
    """Run ``request(i)`` (a coroutine giving an ack) for i = 0, 1, ... for ``seconds``,
    WINDOW at a time; count the unanswered and "server failed" ones; return how many
    were accepted."""
    numbers = itertools.count()
    deadline = time.monotonic() + seconds
    accepted = 0

    async def sender() -> None:
        nonlocal accepted
        while time.monotonic() < deadline:
            figures.inputs += 1
            try:
                answer = await request(next(numbers))
            except (socketio.exceptions.TimeoutError, TimeoutError):
                figures.unanswered += 1
                continue
            except socketio.exceptions.BadNamespaceError:
                figures.extra["ended"] = True  # the flooder was disconnected
                return
            if isinstance(answer, dict) and answer.get("ok") is True:
                accepted += 1
            elif not isinstance(answer, dict) or failed(answer.get("error")):
                figures.server_failed += 1

    await asyncio.gather(*(sender() for _ in range(WINDOW)))
    return accepted


async def _with_bystanders(figures: Figures, server: Server, body) -> None:
    try:
        bystanders = await Bystanders(server.url, code=server.join_code).start()
        await body()
        await bystanders.stop(figures)
    finally:
        await server.stop()
        figures.crashes, figures.tracebacks = server.crashes, server.tracebacks()
        figures.add_errors(server)


async def join_leave_flood(store: str, seconds: float, *, db: str | None = None) -> Figures:
    figures = Figures("join/leave flood", store)
    server = await Server(store, "--join-code", CODE, db=db).start()

    async def flood() -> None:
        member = await connect_student(server.url, fresh_name("member"), rooms=["flood"])
        flooder = await connect_student(server.url, fresh_name("flooder"))
        events = (protocol.JOIN, protocol.LEAVE)
        accepted = await _requests(figures, seconds, lambda i: flooder.call(
            events[i % 2], {"room": "flood"}, namespace=protocol.CHAT, timeout=ANSWER_SECONDS))
        figures.extra["accepted"] = accepted
        await close(flooder)
        await close(member)

    await _with_bystanders(figures, server, flood)
    return figures


async def say_flood(store: str, seconds: float, *, db: str | None = None) -> Figures:
    figures = Figures("say flood", store)
    server = await Server(store, "--join-code", CODE, db=db).start()

    async def flood() -> None:
        flooder = await connect_student(server.url, fresh_name("flooder"), rooms=["flood"])
        accepted = await _requests(figures, seconds, lambda i: flooder.call(
            protocol.SAY, {"room": "flood", "text": f"flood {i}", "client_id": f"f{i}"},
            namespace=protocol.CHAT, timeout=ANSWER_SECONDS))
        figures.extra["accepted"] = accepted
        await close(flooder)

    await _with_bystanders(figures, server, flood)
    return figures


async def connect_flood(store: str, seconds: float, *, db: str | None = None) -> Figures:
    """Connections opened and closed as fast as one address can (WINDOW / 2 at a time)
    for ``seconds``: each must be accepted or refused with a sentence. They start with
    long-polling, as socket.io clients do by default, so that a connection turned away at
    the door (HTTP 429) shows its sentence too; a WebSocket start would hide it."""
    figures = Figures("connect flood", store)
    server = await Server(store, "--join-code", CODE, db=db).start()
    counts = {"accepted": 0, "turned away (429)": 0}
    deadline = time.monotonic() + seconds

    async def one() -> None:
        while time.monotonic() < deadline:
            client = sio_client()
            heard: list = []
            client.on("connect", lambda heard=heard: heard.append(None),
                      namespace=protocol.CHAT)
            client.on("connect_error", heard.append, namespace=protocol.CHAT)
            try:
                await client.connect(server.url, namespaces=[protocol.CHAT],
                                     transports=["polling", "websocket"],
                                     wait_timeout=ANSWER_SECONDS,
                                     auth={"name": fresh_name("crowd"), "code": CODE})
            except socketio.exceptions.ConnectionError as error:
                if "429" in str(error):
                    counts["turned away (429)"] += 1
            await close(client)
            figures.inputs += 1
            sentence = heard[0].get("message") if heard and isinstance(heard[0], dict) else None
            if heard and heard[0] is None:
                counts["accepted"] += 1
            elif not sentence:  # nothing heard, or a bare transport error
                figures.unanswered += 1
            elif failed(sentence):
                figures.server_failed += 1

    async def flood() -> None:
        await asyncio.gather(*(one() for _ in range(WINDOW // 2)))
        figures.extra.update(counts)

    await _with_bystanders(figures, server, flood)
    return figures


async def resume_storm(store: str, messages: int, clients: int, *, db: str) -> Figures:
    """``clients`` students who were in room ``big`` (``messages`` said there) resume
    at once with offset 0; the bystanders' acks must stay quick meanwhile."""
    figures = Figures("resume storm", store)
    seeded = open_store(db)
    try:
        now = time.time()
        for index in range(messages):
            await seeded.add("big", "seed", f"old message {index}", ts=now)
    finally:
        await seeded.close()
    server = await Server(store, "--join-code", CODE, db=db).start()
    names = [fresh_name("storm") for _ in range(clients)]

    async def storm() -> None:
        for name in names:  # they were in the room, then lost their connection
            await close(await connect_student(server.url, name, rooms=["big"]))
        replayed = [0] * clients
        started = time.perf_counter()

        async def resume(index: int) -> socketio.AsyncClient | None:
            client = sio_client()

            def said(message: dict) -> None:
                replayed[index] += 1

            client.on(protocol.SAID, said, namespace=protocol.CHAT)
            try:
                await client.connect(server.url, namespaces=[protocol.CHAT],
                                     transports=["websocket"], wait_timeout=ANSWER_SECONDS,
                                     auth={"name": names[index], "code": CODE,
                                           "rooms": ["big"], "offset": 0})
            except socketio.exceptions.ConnectionError:
                figures.unanswered += 1
            return client

        resumed = await asyncio.gather(*(resume(index) for index in range(clients)))
        figures.inputs = clients
        last, quiet_since = -1, time.perf_counter()
        while time.perf_counter() - started < 60 and time.perf_counter() - quiet_since < 1.5:
            await asyncio.sleep(0.1)
            if sum(replayed) != last:
                last, quiet_since = sum(replayed), time.perf_counter()
        figures.extra["replayed per client"] = max(replayed)
        figures.extra["storm seconds"] = round(quiet_since - started, 1)
        for client in resumed:
            await close(client)

    await _with_bystanders(figures, server, storm)
    return figures


async def guessing(store: str, seconds: float, *, namespace: str = protocol.CHAT,
                   db: str | None = None) -> Figures:
    """Wrong join codes (or teacher tokens) as fast as one address can send them over
    raw WebSockets, reconnecting whenever the server closes one. The first answer is
    the server's "wrong code" sentence; any other answer, or a closed connection, is
    the server refusing to check more."""
    what = "code guessing" if namespace == protocol.CHAT else "token guessing"
    figures = Figures(what, store)
    server = await Server(store, db=db).start()  # a random code, as a class gets
    checked = closed = 0
    first_refusal: int | None = None
    baseline: str | None = None
    session = aiohttp.ClientSession()

    async def guess() -> None:
        nonlocal checked, closed, first_refusal, baseline
        peer: RawPeer | None = None
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if peer is None or peer.closed:
                peer = await RawPeer(session, server.url).open()
            figures.inputs += 1
            auth = ({"name": "guesser", "code": f"wrong-{figures.inputs}"}
                    if namespace == protocol.CHAT else {"token": f"wrong-{figures.inputs}"})
            await peer.send(f"40{namespace}," + json.dumps(auth))
            answer = await peer.receive(lambda text: text.startswith(
                (f"40{namespace}", f"44{namespace}")), seconds=ANSWER_SECONDS * 3)
            if answer is None:
                figures.unanswered += 1
                await peer.close()
                continue
            message = None
            if answer.startswith("44"):
                with contextlib.suppress(ValueError, AttributeError):
                    message = json.loads(answer.split(",", 1)[1]).get("message")
            if failed(message):
                figures.server_failed += 1
            if baseline is None and message is not None:
                baseline = message
            if answer and message == baseline:
                checked += 1  # the server compared this guess with the code
            else:
                closed += answer == ""
                if first_refusal is None:
                    first_refusal = figures.inputs - 1
        if peer is not None:
            await peer.close()

    try:
        await _with_bystanders(figures, server, guess)
    finally:
        await session.close()
    rate = checked / seconds
    figures.extra.update({"checked": checked, "checked/s": round(rate, 1),
                          "tries before refusal": first_refusal, "closed": closed})
    figures.checks.append((f"refused after at most {FEW_TRIES} wrong tries",
                           first_refusal is not None and first_refusal <= FEW_TRIES))
    # Back-off per address: one address checks too few to find half the default codes
    # in a workshop (and, for the teacher's token, no more than that either).
    most = CODE_SPACE / 2 / WORKSHOP_SECONDS
    figures.checks.append((f"at most {most:.1f} checked tries/s from one address",
                           rate <= most))
    if namespace == protocol.CHAT:
        hours = CODE_SPACE / 2 / rate / 3600 if rate else float("inf")
        figures.extra["hours to half the codes"] = round(hours, 1)
    return figures
