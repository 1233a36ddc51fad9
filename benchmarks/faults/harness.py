"""What every case of the fault suite shares: the server under test, its figures, the
bystanders who chat while a case runs, and a raw Engine.IO/Socket.IO WebSocket peer."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import math
import time
import uuid
from dataclasses import dataclass, field

import aiohttp
import socketio

from chatkit import protocol
from chatkit.classroom import ServerProcess

#: The join code of every server the suite starts (the code-guessing case excepted).
CODE = "fuzz-otter-42"
#: How long a request may wait for its answer (ack, connect_error, close) before it
#: counts as unanswered.
ANSWER_SECONDS = 3.0
#: Bystanders' acks must come back quicker than this at the 99th percentile.
P99_PROMISE_MS = 100.0
TRACEBACK = "Traceback (most recent call last)"
_names = itertools.count(1)


def fresh_name(prefix: str) -> str:
    """A name nobody else in the suite uses (nor a generated input, in practice)."""
    return f"{prefix}-{next(_names)}-{uuid.uuid4().hex[:6]}"


def failed(text: object) -> bool:
    """Whether an answer is the generic "the server failed" one (a bug, not a refusal)."""
    return isinstance(text, str) and "server failed" in text.lower()


def percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1)]


@dataclass
class Figures:
    """One case's figures: one line of the report, and which promises it broke."""

    case: str
    store: str
    inputs: int = 0
    crashes: int = 0
    tracebacks: int = 0
    unanswered: int = 0
    server_failed: int = 0
    gaps: int = 0
    p99_ms: float | None = None
    extra: dict = field(default_factory=dict)
    #: Promises of this case beyond the common ones: (what, kept?).
    checks: list = field(default_factory=list)

    def broken(self) -> list[str]:
        common = [("crashes", self.crashes), ("tracebacks", self.tracebacks),
                  ("unanswered", self.unanswered), ("server failed", self.server_failed),
                  ("bystander gaps", self.gaps)]
        found = [f"{what} {count}" for what, count in common if count]
        if self.p99_ms is not None and self.p99_ms >= P99_PROMISE_MS:
            found.append(f"bystander p99 {self.p99_ms:.0f} ms >= {P99_PROMISE_MS:.0f}")
        found += [what for what, kept in self.checks if not kept]
        return found

    def add_errors(self, server: Server) -> None:
        """Name the commonest exceptions behind the tracebacks (where to look first)."""
        common = collections.Counter(server.errors()).most_common(3)
        if common:
            self.extra["errors"] = "; ".join(f"{count}x {line}" for line, count in common)

    def line(self) -> str:
        p99 = "-" if self.p99_ms is None else f"{self.p99_ms:.0f}"
        extra = "".join(f"  {key} {value}" for key, value in self.extra.items())
        broken = self.broken()
        verdict = "ok" if not broken else "BROKEN: " + ", ".join(broken)
        return (f"{self.case:<22} {self.store:<6} inputs {self.inputs:>5}  crashes "
                f"{self.crashes}  tracebacks {self.tracebacks}  unanswered {self.unanswered}"
                f"  server-failed {self.server_failed}  gaps {self.gaps}  p99 {p99} ms"
                f"{extra}  -> {verdict}")


class Server:
    """``python -m chatkit serve`` under test, with its log read for tracebacks and its
    exits (not asked for) counted as crashes; restarted after a crash."""

    def __init__(self, store: str, *options: str, db: str | None = None):
        self.store = store
        self.options = list(options)
        if store == "db":
            self.options += ["--db", db]
        self.process: ServerProcess | None = None
        self.crashes = 0
        self._lines_before = 0
        self._earlier_tracebacks = 0

    async def start(self) -> Server:
        self.process = await ServerProcess.start(*self.options, name=fresh_name("faults"))
        self._lines_before = len(self.process.output)
        return self

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def token(self) -> str:
        return self.process.teacher_token

    @property
    def join_code(self) -> str | None:
        return self.process.join_code

    def tracebacks(self) -> int:
        new = self.process.output[self._lines_before:]
        return self._earlier_tracebacks + sum(TRACEBACK in line for line in new)

    def errors(self) -> list[str]:
        """The exception line ending each traceback of this run's output."""
        found, inside = [], False
        for line in self.log_lines():
            if TRACEBACK in line:
                inside = True
            elif inside and line and not line.startswith(" "):
                found.append(line[:100])
                inside = False
        return found

    def log_lines(self) -> list[str]:
        return self.process.output[self._lines_before:]

    async def check_alive(self) -> bool:
        """False (a crash, counted) if the process ended by itself; it is restarted."""
        if self.process.process.returncode is None:
            return True
        self.crashes += 1
        self._earlier_tracebacks = self.tracebacks()
        await self.start()
        return False

    async def kill(self) -> None:
        self._earlier_tracebacks = self.tracebacks()
        await self.process.kill()

    async def stop(self) -> None:
        if self.process is not None:
            if self.process.process.returncode is not None:
                await self.check_alive()
            self._earlier_tracebacks = self.tracebacks()
            await self.process.stop()


def sio_client() -> socketio.AsyncClient:
    return socketio.AsyncClient(reconnection=False, handle_sigint=False)


async def connect_student(url: str, name: str, *, code: str | None = CODE,
                          rooms: list[str] | None = None, **auth: object
                          ) -> socketio.AsyncClient:
    """A raw python-socketio client in /chat, in ``rooms`` (joined now unless ``auth``
    asks for them back). Raises ConnectionError when refused."""
    client = sio_client()
    credentials = {"name": name, "code": code, **auth}
    if "offset" in auth:
        credentials["rooms"] = rooms or []
    await connect(client, url, credentials)
    if "offset" not in auth:
        for room in rooms or []:
            answer = await client.call(protocol.JOIN, {"room": room}, namespace=protocol.CHAT,
                                       timeout=ANSWER_SECONDS * 3)
            if not answer.get("ok"):
                raise ConnectionError(f"{name} could not join {room}: {answer}")
    return client


async def connect(client: socketio.AsyncClient, url: str, auth: object,
                  namespace: str = protocol.CHAT) -> None:
    """Connect ``client``; a refusal raises ConnectionError with the server's words."""
    refusals: list[object] = []
    client.on("connect_error", lambda data=None: refusals.append(data), namespace=namespace)
    try:
        await client.connect(url, namespaces=[namespace], transports=["websocket"],
                             auth=auth, wait_timeout=ANSWER_SECONDS * 3)
    except socketio.exceptions.ConnectionError:
        await close(client)
        raise ConnectionError(f"refused: {refusals or 'no answer'}") from None


async def close(client: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), ANSWER_SECONDS)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.shutdown(), ANSWER_SECONDS)


class Bystanders:
    """Two students chatting in their own room while a case runs. Each ``said`` they
    receive is checked: every id acknowledged to either must reach both, in increasing
    order (a missing or out-of-order id is a gap); their ack times give the p99."""

    def __init__(self, url: str, *, room: str = "commons", interval: float = 0.15,
                 code: str | None = CODE):
        self.url, self.room, self.interval, self.code = url, room, interval, code
        self.clients: list[socketio.AsyncClient] = []
        self.seen: list[list[int]] = [[], []]
        self.acked: list[int] = []
        self.latencies: list[float] = []
        self.unanswered = 0
        self.server_failed = 0
        self.lost_connections = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> Bystanders:
        for index in range(2):
            client = sio_client()
            client.on(protocol.SAID, self._receiver(index), namespace=protocol.CHAT)
            client.on("disconnect", self._lost, namespace=protocol.CHAT)
            self.clients.append(client)
            await connect(client, self.url, {"name": fresh_name("bystander"), "code": self.code})
            await client.call(protocol.JOIN, {"room": self.room}, namespace=protocol.CHAT,
                              timeout=ANSWER_SECONDS * 3)
        self._task = asyncio.create_task(self._chat())
        return self

    def _receiver(self, index: int):
        def receive(message: dict) -> None:
            if isinstance(message, dict) and message.get("room") == self.room:
                self.seen[index].append(message.get("id"))
        return receive

    def _lost(self, *reason: object) -> None:
        if self._task is not None and not self._task.done():
            self.lost_connections += 1

    async def _chat(self) -> None:
        for turn in itertools.count():
            client = self.clients[turn % 2]
            started = time.perf_counter()
            try:
                answer = await client.call(
                    protocol.SAY, {"room": self.room, "text": f"bystander line {turn}",
                                   "client_id": f"b{turn}"},
                    namespace=protocol.CHAT, timeout=ANSWER_SECONDS)
            except socketio.exceptions.TimeoutError:
                self.unanswered += 1
                self.latencies.append(ANSWER_SECONDS * 1000)
                continue
            except socketio.exceptions.BadNamespaceError:
                await asyncio.sleep(self.interval)
                continue
            self.latencies.append((time.perf_counter() - started) * 1000)
            if isinstance(answer, dict) and answer.get("ok"):
                self.acked.append(answer["id"])
            elif isinstance(answer, dict) and failed(answer.get("error")):
                self.server_failed += 1
            await asyncio.sleep(self.interval)

    async def stop(self, figures: Figures) -> None:
        """Stop chatting, let the last ``said`` arrive, add the gaps, p99 and their
        unanswered and failed requests to ``figures``."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await asyncio.sleep(0.5)
        gaps = self.lost_connections
        for seen in self.seen:
            gaps += sum(1 for before, after in itertools.pairwise(seen)
                        if not (isinstance(before, int) and isinstance(after, int)
                                and after > before))
            gaps += len(set(self.acked) - set(seen))
        for client in self.clients:
            await close(client)
        figures.gaps += gaps
        figures.unanswered += self.unanswered
        figures.server_failed += self.server_failed
        figures.p99_ms = percentile(self.latencies, 0.99)
        figures.extra["bystander acks"] = len(self.latencies)


class RawPeer:
    """One Engine.IO 4 WebSocket connection spoken by hand: whatever frames we like."""

    def __init__(self, session: aiohttp.ClientSession, url: str):
        self.session, self.url = session, url
        self.ws: aiohttp.ClientWebSocketResponse | None = None

    async def open(self) -> RawPeer:
        address = self.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
        self.ws = await asyncio.wait_for(
            self.session.ws_connect(address, max_msg_size=0), ANSWER_SECONDS)
        opened = await self.receive(lambda text: text.startswith("0"))
        if opened is None:
            raise ConnectionError("no Engine.IO open packet")
        return self

    @property
    def closed(self) -> bool:
        return self.ws is None or self.ws.closed

    async def send(self, frame: str | bytes) -> bool:
        """Send one frame; False if the connection is (or gets) closed."""
        if self.closed:
            return False
        try:
            if isinstance(frame, bytes):
                await self.ws.send_bytes(frame)
            else:
                await self.ws.send_str(frame)
        except (ConnectionError, RuntimeError, aiohttp.ClientError):
            return False
        return True

    async def receive(self, wanted, seconds: float = ANSWER_SECONDS) -> str | None:
        """The first text frame for which ``wanted(text)`` is true, answering pings on
        the way; "" if the server closed the connection first (a close packet counts),
        None if nothing came in time."""
        deadline = time.monotonic() + seconds
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                message = await self.ws.receive(timeout=left)
            except TimeoutError:
                return None
            if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):
                return ""
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            text = message.data
            if text == "2":
                await self.send("3")
            elif text == "1":
                return ""
            elif wanted(text):
                return text
        return ""

    async def connect_chat(self, auth: object) -> str | None:
        """Send a CONNECT to /chat; its answer (``40/chat,..`` or ``44/chat,..``), "" if
        closed, None if none came."""
        if not await self.send(f"40{protocol.CHAT}," + json.dumps(auth)):
            return ""
        return await self.receive(lambda text: text.startswith(("40/chat,", "44/chat,")))

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), ANSWER_SECONDS)
