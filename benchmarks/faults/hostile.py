"""Generated hostile input: `hypothesis` strategies over every event's payload and `auth`,
sent by python-socketio clients, plus raw Engine.IO/Socket.IO frames over WebSocket and
HTTP long-polling, while two bystanders chat.

Every request must get its answer: an ack, a ``connect_error``, or (for a frame that
breaks the transport rules) the connection closed. After each raw frame a probe request
on the same connection (a ``join`` of an invalid room) must be answered or the
connection closed: a connection left eating frames fails that. Events the protocol
ignores (unknown names) are sent without waiting. Connections that send made-up codes
and tokens come from a rotating set of loopback addresses (127.0.1.x), so that the
server's per-address back-off against guessing (which the code-guessing case measures)
does not turn every later input into the same refusal.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from benchmarks.faults.harness import (
    ANSWER_SECONDS,
    CODE,
    Bystanders,
    Figures,
    RawPeer,
    Server,
    close,
    connect,
    failed,
    fresh_name,
)
from chatkit import protocol

TOKEN = "<the teacher token>"  # replaced by the real one when sent
#: Texts that broke the server before, beside the generated ones.
SPECIAL_TEXTS = ["\ud800", "a\udfffb", "\x00", "nul\x00in", "\u202e", "Ada", "\u0430da",
                 " ", "", "x" * 2001, "x" * 70_000, "\U0001f600", "\ufeff", "\r\n", "é",
                 "e\u0301"]
HUGE_INTS = [2**63, 2**63 - 1, -(2**63) - 1, 2**64, 10**400, -(10**4000), 2**31, -1]

texts = st.one_of(st.text(st.characters(codec=None, exclude_categories=()), max_size=40),
                  st.sampled_from(SPECIAL_TEXTS))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(HUGE_INTS),
                    st.floats(allow_nan=True, allow_infinity=True), texts)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(texts, inner, max_size=4), max_leaves=12)


def field(valid: st.SearchStrategy) -> st.SearchStrategy:
    """A field's value: mostly right-looking, often anything at all."""
    return st.one_of(valid, valid, values)


ROOMS = st.sampled_from(["lobby", "fz", "Zz_9", "a" * 32, "a" * 33, "fz "])
NAMES = st.text("abcdefghij", min_size=1, max_size=8)
room = field(ROOMS)
chat_payload = st.fixed_dictionaries({}, optional={
    "room": room, "text": field(st.sampled_from(["hi", "hello"]) | texts),
    "client_id": field(st.text("abc123", min_size=1, max_size=8) | texts)})
teacher_payload = st.fixed_dictionaries({}, optional={
    "name": field(NAMES), "seconds": field(st.integers(0, 100)), "text": field(texts),
    "room": room})
payload = st.one_of(chat_payload, teacher_payload, values)
arguments = st.one_of(payload.map(lambda one: (one,)), st.lists(values, max_size=3).map(tuple))
chat_auth = st.one_of(st.fixed_dictionaries({}, optional={
    "name": field(NAMES), "code": field(st.just(CODE)), "rooms": field(st.lists(room, max_size=3)),
    "offset": field(st.integers(0, 10)), "history": field(texts), "session": field(texts)}),
    values)
teacher_auth = st.one_of(st.fixed_dictionaries({}, optional={"token": field(st.just(TOKEN))}),
                         values)


def _json(value: Any) -> str:
    return json.dumps(value)


json_text = values.map(_json)
garbage = st.text(st.characters(codec=None, exclude_categories=()), max_size=30)
#: Frames that broke the server before (issue 14), always sent, whatever the size.
KNOWN_FRAMES = [
    ["42/chat,1[]"], ['42/chat,1["say",{"room":"fz","text":"hi"'], ["40/chat,{"],
    ["42/chat,1" + "[" * 100_000 + "]" * 100_000], ['42/chat,1["say",{"room":"fz","text":1'
                                                    + "0" * 5000 + "}]"],
    ['451-/chat,1["say",{"text":{"_placeholder":true,"num":"0"}}]', b"\x00\x01"],
    ['451-/chat,1["say",{"text":{"_placeholder":true,"num":5}}]', b"\x00"],
    ["459999999999-/chat,1[\"say\",{}]"], ["42/chat,1[{}]"], ["42/chat,1[5,{}]"],
    ["42/chat,1[null]"], ['42/chat,1[["say"],{}]'], ['42/chat,1["join",{"room":"\\ud800"}]'],
    ['42/chat,1["say",{"room":"fz","text":"\\ud800","client_id":"\\udfff"}]'],
    ['42/nope,1["join",{}]'], ['42/teacher,1["rooms"]'], ["1"], ["4"], [""], ["6"], ["5"],
    ["3"], [b"\xff\xfe"], ["4" + "x" * 10],
]
KNOWN_CONNECTS = ['{"name":"\\ud800","code":"' + CODE + '"}', '{"code":"\\ud800","name":"q"}',
                  '{"name":"q","code":"' + CODE + '","rooms":["fz"],"offset":9223372036854775808}',
                  '{"name":"q","code":"' + CODE + '","session":"\\u00e9\\u00e9"}',
                  '{"name":"q","code":"' + CODE + '","rooms":["fz"],"offset":1' + "0" * 5000 + "}",
                  "{", "[" * 50_000 + "]" * 50_000, "null", "5", '"x"']
KNOWN_POLLS = ["x" * 1_100_000, "4" + "2/chat,1[" * 3, "\x1e\x1e", "bx==", b"\xff\x00"]
frame_text = st.builds(lambda eio, sio, nsp, ack, body: eio + sio + nsp + ack + body,
                       st.sampled_from("4444012356"), st.sampled_from("0123456789"),
                       st.sampled_from(["", "/chat,", "/teacher,", "/x,", "/chat"]),
                       st.one_of(st.just(""), st.integers(0, 2**70).map(str),
                                 st.text("0123456789-", max_size=4)),
                       st.one_of(json_text, garbage))
frames = st.one_of(st.sampled_from(KNOWN_FRAMES), frame_text.map(lambda one: [one]),
                   st.binary(max_size=64).map(lambda one: [one]),
                   st.lists(st.one_of(frame_text, st.binary(max_size=8)), min_size=2,
                            max_size=3))
INPUTS = st.one_of(
    st.tuples(st.just("connect"), st.just(protocol.CHAT), chat_auth),
    st.tuples(st.just("connect"), st.just(protocol.TEACHER), teacher_auth),
    st.tuples(st.just("event"), st.just(protocol.CHAT),
              st.sampled_from(sorted(protocol.CHAT_REQUESTS)) | texts, arguments),
    st.tuples(st.just("event"), st.just(protocol.CHAT),
              st.sampled_from(sorted(protocol.CHAT_REQUESTS)), arguments),
    st.tuples(st.just("event"), st.just(protocol.TEACHER),
              st.sampled_from(sorted(protocol.TEACHER_REQUESTS)) | texts, arguments),
    st.tuples(st.just("raw"), frames),
    st.tuples(st.just("raw"), frames),
    st.tuples(st.just("raw_connect"), st.one_of(json_text, garbage, chat_auth.map(_json))),
    st.tuples(st.just("poll"), st.one_of(
        st.lists(frame_text, min_size=1, max_size=3).map("\x1e".join), st.binary(max_size=32))),
)


def generate(count: int, seed: int) -> list[tuple]:
    """``count`` inputs drawn by hypothesis (generation only: nothing to shrink here),
    after the known ones, which are always included."""
    # What hypothesis caches goes to a temporary folder, not into the repository.
    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "chatkit-faults-hypothesis")
    found: list[tuple] = [("raw", list(frame)) for frame in KNOWN_FRAMES]
    found += [("raw_connect", body) for body in KNOWN_CONNECTS]
    found += [("poll", body) for body in KNOWN_POLLS]

    @hypothesis_seed(seed)
    @settings(max_examples=max(1, count - len(found)), database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(INPUTS)
    def collect(one: tuple) -> None:
        found.append(one)

    collect()
    return found[:max(count, 1)] if count < len(found) else found


def leaves_chat(frame: str | bytes) -> bool:
    """Whether a frame holds the client's own disconnect from /chat (``41/chat``): after
    it the protocol promises nothing on /chat until the client connects again (the
    server ignores events of a namespace one is not in), so the probe is a connect."""
    return isinstance(frame, str) and any(
        packet[:2] == "41" and packet[2:].split(",", 1)[0].split("?", 1)[0] == protocol.CHAT
        for packet in frame.split("\x1e"))


def _swap_token(value: Any, token: str) -> Any:
    if value == TOKEN:
        return token
    if isinstance(value, dict):
        return {key: _swap_token(item, token) for key, item in value.items()}
    return value


class _Sources:
    """aiohttp sessions bound to loopback source addresses."""

    def __init__(self):
        self.sessions: dict[str, aiohttp.ClientSession] = {}
        self.rotation = itertools.cycle(f"127.0.1.{n}" for n in range(1, 251))

    def get(self, address: str) -> aiohttp.ClientSession:
        if address not in self.sessions:
            connector = aiohttp.TCPConnector(local_addr=(address, 0), force_close=True)
            self.sessions[address] = aiohttp.ClientSession(connector=connector)
        return self.sessions[address]

    def guesser(self) -> aiohttp.ClientSession:
        return self.get(next(self.rotation))

    async def close(self) -> None:
        for session in self.sessions.values():
            await session.close()


class _Worker:
    """Sends inputs one at a time; holds the connections they go through."""

    def __init__(self, server: Server, figures: Figures, sources: _Sources, number: int):
        self.server, self.figures, self.sources = server, figures, sources
        self.home = sources.get(f"127.0.0.{2 + number}")
        self.clients: dict[str, socketio.AsyncClient] = {}
        self.raw: RawPeer | None = None
        self.probes = itertools.count(990_000_001)

    def _answer(self, answer: object) -> None:
        """Count an ack that is not an answer of the protocol, or the generic failure."""
        if not (isinstance(answer, dict) and isinstance(answer.get("ok"), bool)):
            self.figures.unanswered += 1
        elif failed(answer.get("error")):
            self.figures.server_failed += 1

    async def _client(self, namespace: str) -> socketio.AsyncClient:
        client = self.clients.get(namespace)
        if client is not None and client.connected and namespace in client.namespaces:
            return client
        if client is not None:
            await close(client)
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False,
                                      http_session=self.home)
        auth = ({"token": self.server.token} if namespace == protocol.TEACHER
                else {"name": fresh_name("mallory"), "code": CODE})
        await connect(client, self.server.url, auth, namespace)
        if namespace == protocol.CHAT:
            await client.call(protocol.JOIN, {"room": "fz"}, namespace=namespace,
                              timeout=ANSWER_SECONDS)
        self.clients[namespace] = client
        return client

    async def send(self, one: tuple) -> bool:
        """Send one input; False if it could not even be sent (not counted)."""
        kind = one[0]
        if kind == "connect":
            return await self._connect(one[1], _swap_token(one[2], self.server.token))
        if kind == "event":
            return await self._event(*one[1:])
        if kind == "raw":
            return await self._raw(one[1])
        if kind == "raw_connect":
            return await self._raw_connect(one[1])
        return await self._poll(one[1])

    async def _connect(self, namespace: str, auth: Any) -> bool:
        client = socketio.AsyncClient(reconnection=False, handle_sigint=False,
                                      http_session=self.sources.guesser())
        heard: list[Any] = []
        client.on("connect", lambda: heard.append("accepted"), namespace=namespace)
        client.on("connect_error", lambda data=None: heard.append(data), namespace=namespace)
        try:
            await client.connect(self.server.url, namespaces=[namespace],
                                 transports=["websocket"], auth=auth,
                                 wait_timeout=ANSWER_SECONDS)
        except socketio.exceptions.ConnectionError:
            pass
        except (TypeError, ValueError, OverflowError, RecursionError):
            await close(client)
            return False  # python-socketio cannot even encode it
        finally:
            await close(client)
        if not heard:
            self.figures.unanswered += 1
        elif isinstance(heard[0], dict) and failed(heard[0].get("message")):
            self.figures.server_failed += 1
        return True

    async def _event(self, namespace: str, event: str, arguments: tuple) -> bool:
        client = await self._client(namespace)
        requests = protocol.CHAT_REQUESTS if namespace == protocol.CHAT else \
            protocol.TEACHER_REQUESTS
        data = None if not arguments else arguments
        try:
            if event not in requests:  # ignored by the protocol: no answer to wait for
                await client.emit(event, data, namespace=namespace)
                return True
            answer = await client.call(event, data, namespace=namespace,
                                       timeout=ANSWER_SECONDS)
        except socketio.exceptions.TimeoutError:
            self.figures.unanswered += 1
            await close(client)
            return True
        except (TypeError, ValueError, OverflowError, RecursionError):
            return False
        except socketio.exceptions.BadNamespaceError:
            return False
        self._answer(answer)
        return True

    async def _raw_peer(self) -> RawPeer | None:
        if self.raw is not None and not self.raw.closed:
            return self.raw
        self.raw = await RawPeer(self.home, self.server.url).open()
        answer = await self.raw.connect_chat({"name": fresh_name("raw"), "code": CODE})
        if not answer or not answer.startswith("40/chat,"):
            await self.raw.close()
            raise ConnectionError(f"the raw peer was not let in: {answer!r}")
        return self.raw

    async def _raw(self, frames: list[str | bytes]) -> bool:
        peer = await self._raw_peer()
        for frame in frames:
            if not await peer.send(frame):
                return True  # closed on the way: an answer
        probe = next(self.probes)
        left = any(leaves_chat(frame) for frame in frames)
        if not await peer.send(self._probe(probe, left)):
            return True
        answer = await peer.receive(lambda text: text.startswith(f"43/chat,{probe}[")
                                    or text.startswith(("41/chat", "44/chat"))
                                    or (left and text.startswith("40/chat")))
        if answer is None:
            self.figures.unanswered += 1
            await peer.close()
        elif answer.startswith("43"):
            with contextlib.suppress(ValueError):
                self._answer(json.loads(answer[len(f"43/chat,{probe}"):])[0])
        else:  # closed, or the namespace ended: a fresh connection for the next input
            await peer.close()
        return True

    async def _raw_connect(self, body: str) -> bool:
        peer = await RawPeer(self.sources.guesser(), self.server.url).open()
        try:
            await peer.send(f"40{protocol.CHAT}," + body)
            answer = await peer.receive(lambda text: text.startswith(("40/chat", "44/chat")))
            if answer is None:
                self.figures.unanswered += 1
            elif answer.startswith("44"):
                with contextlib.suppress(ValueError):
                    if failed(json.loads(answer[len("44/chat,"):]).get("message")):
                        self.figures.server_failed += 1
        finally:
            await peer.close()
        return True

    async def _poll(self, body: str | bytes) -> bool:
        """A long-polling session: connect to /chat, POST the hostile body (it must get
        an HTTP answer), then a probe (answered, or the session ended)."""
        base = self.server.url + "/socket.io/?EIO=4&transport=polling"
        timeout = aiohttp.ClientTimeout(total=ANSWER_SECONDS)
        session = self.home
        async with session.get(base, timeout=timeout) as reply:
            if not self._http(reply.status):
                return True
            sid = json.loads((await reply.text())[1:])["sid"]
        address = f"{base}&sid={sid}"
        auth = json.dumps({"name": fresh_name("poller"), "code": CODE})
        async with session.post(address, data=f"40/chat,{auth}", timeout=timeout) as reply:
            if not self._http(reply.status):
                return True
        async with session.get(address, timeout=timeout) as reply:
            await reply.read()
        try:
            if isinstance(body, str):  # as raw bytes: a lone surrogate is sent as it is
                body = body.encode("utf-8", "surrogatepass")
            async with session.post(address, data=body, timeout=timeout) as reply:
                await reply.read()
                if not self._http(reply.status):
                    return True  # refused, and said so
        except TimeoutError:
            self.figures.unanswered += 1
            return True
        except aiohttp.ClientError:
            return True  # the connection was closed: an answer
        probe = next(self.probes)
        try:
            left = leaves_chat(body.decode("utf-8", "replace"))
            async with session.post(address, data=self._probe(probe, left),
                                    timeout=timeout) as reply:
                if reply.status != 200:
                    return True
            for _ in range(5):
                async with session.get(address, timeout=timeout) as reply:
                    text = await reply.text(errors="replace")
                    if not self._http(reply.status) or f"43/chat,{probe}[" in text or \
                            (left and ("40/chat" in text or "44/chat" in text)) or \
                            text == "1" or "\x1e1" in text or "41/chat" in text:
                        return True
            self.figures.unanswered += 1
        except TimeoutError:
            self.figures.unanswered += 1
        except aiohttp.ClientError:
            pass
        finally:
            with contextlib.suppress(Exception):
                async with session.post(address, data="1", timeout=timeout):
                    pass
        return True

    @staticmethod
    def _probe(probe: int, left: bool) -> str:
        """A request that must be answered: a join of an invalid room, or, on a
        connection that left /chat, a connect to it (accepted or refused)."""
        if left:
            return "40/chat," + json.dumps({"name": fresh_name("back"), "code": CODE})
        return f'42/chat,{probe}["join",{{"room":"no room!"}}]'

    def _http(self, status: int) -> bool:
        """Whether an HTTP answer lets the session go on; a 5xx is the server failing."""
        if status >= 500:
            self.figures.server_failed += 1
        return status == 200

    async def close(self) -> None:
        for client in self.clients.values():
            await close(client)
        if self.raw is not None:
            await self.raw.close()


async def run(store: str, count: int, *, seed: int = 14, workers: int = 4,
              db: str | None = None) -> Figures:
    """The generated run against one store: ``count`` inputs (at least the known ones)."""
    inputs = generate(count, seed)
    random.Random(seed).shuffle(inputs)
    figures = Figures("generated input", store)
    # --rate 0: no per-student limits, so that inputs reach past the rate limit.
    server = await Server(store, "--join-code", CODE, "--rate", "0", db=db).start()
    sources = _Sources()
    queue: asyncio.Queue = asyncio.Queue()
    for one in inputs:
        queue.put_nowait(one)
    try:
        bystanders = await Bystanders(server.url).start()

        async def work(number: int) -> None:
            worker = _Worker(server, figures, sources, number)
            try:
                while not queue.empty():
                    one = queue.get_nowait()
                    try:
                        sent = await worker.send(one)
                    except (ConnectionError, OSError, TimeoutError, aiohttp.ClientError,
                            socketio.exceptions.ConnectionError, json.JSONDecodeError):
                        figures.extra["not sent"] = figures.extra.get("not sent", 0) + 1
                        sent = False
                        await worker.close()
                        worker = _Worker(server, figures, sources, number)
                    figures.inputs += bool(sent)
                    if not await server.check_alive():
                        bystanders = figures.extra.setdefault("restarted after crash", 0)
                        figures.extra["restarted after crash"] = bystanders + 1
            finally:
                await worker.close()

        await asyncio.gather(*(work(number) for number in range(workers)))
        await bystanders.stop(figures)
    finally:
        await sources.close()
        await server.stop()
        figures.crashes = server.crashes
        figures.tracebacks = server.tracebacks()
        figures.add_errors(server)
    figures.checks.append((f"at least {count} inputs tried", figures.inputs >= count))
    return figures
