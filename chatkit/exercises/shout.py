"""Notebook 01, a raw WebSocket: the warm-up writes a ``websockets`` handler that shouts
every message back in capitals and closes with 4000 ``"bye"`` on ``bye``
(:func:`check_shout_server`); the main exercise writes the course's chat over a raw
WebSocket, JSON frames with a ``"type"`` (:func:`check_json_chat`)."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from chatkit import running, websocket
from chatkit.exercises.harness import (
    HandlerFailures,
    awaitable_check,
    global_advice,
    hint,
    in_your_code,
    say_right,
)
from chatkit.language import phrase
from chatkit.websocket import WebSocket


@awaitable_check
async def check_shout_server(handler: Callable[[Any], Awaitable[None]], *,
                             timeout: float = 2.0) -> None:
    """Notebook 01: check a ``websockets`` handler that shouts back and says goodbye.

    The handler must answer every text message with the same text in capitals, except
    ``"bye"``: then it closes the connection with code 4000 and reason ``"bye"``. The
    check serves ``handler`` with ``running.serve_websockets``, connects, talks to it, and
    stops the server again. ``timeout`` is how long to wait for each answer.
    """
    _need_handler(handler, "check_shout_server", "shout")
    failures = HandlerFailures()
    logger = logging.getLogger("websockets.server")
    logger.addHandler(failures)  # report a crash as a hint instead of a logged traceback
    try:
        server = await running.serve_websockets(handler, name="exercise-shout")
        await _talk_to_shout(server.url, timeout, failures)
    finally:
        await running.stop("exercise-shout")  # waits for the handler to return
        logger.removeHandler(failures)
    if failures.records:
        hint(False, f"your handler raised {failures.first()} after closing: once the "
                    f"connection is closed with a code other than 1000 or 1001, `async for "
                    f"message in connection` raises instead of ending. Leave the handler "
                    f"right after `await connection.close(...)`, with `return`")
    say_right("Right: your server shouts back and closes with 4000 'bye'.")


def _need_handler(handler: Any, check: str, name: str) -> None:
    """Hints for something other than an ``async def`` handler passed to ``check``."""
    hint(not inspect.iscoroutine(handler),
         f"pass the handler itself, an `async def` function taking the connection: "
         f"{check}({name}), not {check}({name}()); got {handler!r}")
    hint(not callable(handler) or inspect.iscoroutinefunction(handler),
         f"{getattr(handler, '__name__', name)} is a plain `def`: a websockets handler awaits "
         f"the connection, so write it `async def {name}(connection):`")
    hint(callable(handler), f"pass the handler itself, an `async def {name}(connection)` "
                            f"function; got {handler!r}")


async def _talk_to_shout(url: str, timeout: float, failures: HandlerFailures) -> None:
    received: list[str | bytes] = []
    ws = WebSocket(url)
    ws.onmessage = lambda event: received.append(event.data)
    try:
        await ws.opened(timeout)
        for text in ("hello", "Mixed Case 42"):
            if ws.ready_state is not WebSocket.OPEN:  # closed after its previous answer
                await _closed_without_answer(ws, phrase(f"sent {text!r}"), failures, timeout)
            ws.send(text)
            try:  # a handler that crashes closes the connection (1011): no need to wait
                await running.wait_for(
                    lambda: received or ws.ready_state is WebSocket.CLOSED, timeout)
            except TimeoutError:
                failures.hint(phrase(f"sent {text!r}"))
                hint(False, f"sent {text!r} and got no answer within {timeout:g} s: does "
                            f"your handler `await connection.send(...)` for each message?")
            if not received:
                await _closed_without_answer(ws, phrase(f"sent {text!r}"), failures, timeout)
            answer = received.pop(0)
            hint(answer != text, f"sent {text!r} and got it back unchanged: send "
                                 f"`message.upper()` instead of `message`")
            hint(answer == text.upper(), f"sent {text!r}, expected {text.upper()!r}, "
                                         f"got {answer!r}")
        ws.send("bye")
        try:
            event = await ws.closed(timeout)
        except TimeoutError:
            extra = phrase(f" (it answered {received[0]!r})") if received else ""
            hint(False, f"sent 'bye' and the connection stayed open for {timeout:g} s"
                        f"{extra}: close it with `await connection.close(4000, 'bye')`")
        if received:
            hint(False, f"sent 'bye' and got {received[0]!r} before the close: close the "
                        f"connection instead of answering")
        if event.code == 1011:
            failures.hint(phrase("sent 'bye'"))
            hint(False, "the connection closed with 1011 (internal error): your handler "
                        "raised an exception on 'bye'")
        hint((event.code, event.reason) == (4000, "bye"),
             f"sent 'bye': the connection closed with code {event.code} and reason "
             f"{event.reason!r}, expected 4000 and 'bye': "
             f"`await connection.close(4000, 'bye')`")
    finally:
        ws.close()


async def _closed_without_answer(ws: WebSocket, did: str, failures: HandlerFailures,
                                 timeout: float) -> None:
    """Raise the hint for a connection that closed where an answer was due."""
    failures.hint(did)
    event = await ws.closed(timeout)
    hint(False, f"{did} and the connection closed (code {event.code}) without an answer: "
                f"answer every message in a loop, `async for message in connection:`; "
                f"when the handler returns, the connection closes")


# -- the main exercise: the learner's JSON chat ----------------------------------------------

#: Bad frames the chat must refuse, to the sender only, with the connection left open.
BAD_FRAMES = [
    ("hello everyone", "text that is not JSON"),
    ("[1, 2, 3]", "JSON that is not an object"),
    ('{"type": "shout", "text": "hi"}', "an unknown type"),
    ('{"text": "hi"}', "no type"),
    ('{"type": "say"}', "a say without text"),
    ('{"type": "say", "text": ""}', "a say with empty text"),
]

#: What to add to "your handler raised ...", by the kind of exception.
CRASH_ADVICE = [
    (ConnectionClosed, "Sending to a client that has left raises: forget each connection "
                       "when its handler ends (try/finally), or send with websockets' "
                       "broadcast(), which skips closed ones."),
    (ValueError, "json.loads raises ValueError on a frame that is not JSON: catch it and "
                 "answer with an error."),
    ((TypeError, AttributeError), "json.loads returns whatever the JSON holds, a list or a "
                                  "number too: check isinstance(message, dict) first."),
    (KeyError, "A message may lack a field: read it with message.get(...) and answer with "
               "an error when it is missing."),
]


@awaitable_check
async def check_json_chat(chat: Callable[[Any], Awaitable[None]], *,
                          timeout: float = 2.0) -> None:
    """Notebook 01: check a chat over a raw WebSocket that speaks JSON.

    ``chat(connection)`` is a ``websockets`` handler. Each frame is a JSON object with a
    ``"type"``: a client sends ``{"type": "hello", "name": ...}`` first, then
    ``{"type": "say", "text": ...}``; the server sends ``{"type": "said", "id", "name",
    "text"}`` to every client that said hello, the sender included, ids going up by one
    (1, 2, 3... on a fresh server; checking the same handler again continues the count).
    Anything wrong gets ``{"type": "error", "error": <a sentence>}``, to the sender only,
    and the connection stays open. The check connects four real clients, talks, leaves,
    and stops its server again. ``timeout`` is how long to wait for each answer.
    """
    hint(chat not in (websocket.broadcast, websocket.echo),
         "that is chatkit's ready-made relay: it passes frames on unchanged and knows "
         "nothing of hello, say or said. Write your own `async def chat(connection)`")
    _need_handler(chat, "check_json_chat", "chat")
    room = _Room(chat, timeout)
    try:
        room.url = (await running.serve_websockets(room.serve, name="exercise-chat")).url
        await _talk_json_chat(room)
        room.step = "when the check's clients left"
        await room.leave_all()
    finally:
        await room.leave_all()
        await running.stop("exercise-chat")  # waits for the handlers to return
    room.crash_hint()
    say_right("Right: your chat numbers every message, sends it to everyone, and refuses bad "
          "ones to the sender only.")


def _show(frame: str) -> str:
    """A frame as the hints quote it: JSON as it is, other text in quotes."""
    try:
        json.loads(frame)
    except ValueError:
        return repr(frame)
    return frame


class _Room:
    """The check's side: the learner's handler, guarded, and the clients talking to it."""

    def __init__(self, chat: Callable[[Any], Awaitable[None]], timeout: float) -> None:
        self.chat = chat
        self.timeout = timeout
        self.url = ""
        self.step = "when a client connected"  # what the check was doing, for a crash
        self.failures: list[tuple[str, Exception]] = []
        self.handlers = 0  # the learner's handlers still running
        self.peers: dict[str, _Peer] = {}

    async def serve(self, connection: ServerConnection) -> None:
        self.handlers += 1
        try:
            await self.chat(connection)
        except Exception as exc:  # a hint, not a logged traceback; the client sees 1011
            self.failures.append((self.step, exc))
            await connection.close(1011, "internal error")
        finally:
            self.handlers -= 1

    def crash_hint(self) -> None:
        if not self.failures:
            return
        step, exc = self.failures[0]
        shown = f"{type(exc).__name__}: {exc}"
        advice = next((text for kinds, text in CRASH_ADVICE if isinstance(exc, kinds)),
                      "Fix that line; a bad message gets an error answer, not an exception.")
        if isinstance(exc, UnboundLocalError):
            advice = global_advice(exc)
        if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], ServerConnection):
            shown = "KeyError: <the connection>"
            advice = ("That connection has not said hello, so it has no name yet: check "
                      "`connection in names` first and answer with an error.")
        hint(False, f"{step}, your handler raised {shown}{in_your_code(exc)}, so that "
                    f"connection closed (1011, internal error). {advice}")

    async def join(self, name: str, hello: bool = True) -> _Peer:
        self.step = phrase(f"when {name} connected")
        try:
            connection = await connect(self.url, compression=None,
                                       open_timeout=self.timeout)
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            hint(False, f"{name} could not connect to your chat ({exc})")
        peer = self.peers[name] = _Peer(name, connection, self)
        if hello:
            await peer.send({"type": "hello", "name": name})
        return peer

    async def leave_all(self) -> None:
        for peer in self.peers.values():
            await peer.connection.close()
        self.peers.clear()


class _Peer:
    """One of the check's clients: sends JSON, reads the next message with a timeout."""

    def __init__(self, name: str, connection: ClientConnection, room: _Room) -> None:
        self.name = name
        self.connection = connection
        self.room = room
        self.last_sent = "nothing yet"
        self.answered: str | None = None  # the frame sent last before the last answer

    async def send(self, message: dict | str) -> None:
        frame = message if isinstance(message, str) else json.dumps(message)
        self.room.step = phrase(f"when {self.name} sent {_show(frame)}")
        self.last_sent = _show(frame)
        try:
            await self.connection.send(frame)
        except ConnectionClosed:
            self._closed()

    async def next(self) -> dict | None:
        """The next message, parsed; None if nothing came within the timeout."""
        try:
            frame = await asyncio.wait_for(self.connection.recv(), self.room.timeout)
        except TimeoutError:
            return None
        except ConnectionClosed:
            self._closed()
        self.answered = self.last_sent
        hint(isinstance(frame, str), f"{self.name} got a binary frame {frame[:40]!r}: send "
                                     f"text, a str: `await connection.send(json.dumps(...))`")
        try:
            message = json.loads(frame)
        except ValueError:
            hint(False, f"{self.name} got {frame!r}, which is not JSON: send "
                        f"json.dumps(reply), not str(reply)")
        hint(isinstance(message, dict), f"{self.name} got {frame!r}: every message is a "
                                        f"JSON object with a \"type\"")
        return message

    def _closed(self) -> None:
        self.room.crash_hint()
        code = self.connection.close_code
        when = (phrase(f"after answering {self.answered}") if self.answered
                else phrase(f"after {self.name} sent {self.last_sent}"))
        hint(False, f"the server closed {self.name}'s connection (code {code}) {when}: keep "
                    f"it open; on a bad message, send an error and go on with the loop "
                    f"(`continue`)")


async def _talk_json_chat(room: _Room) -> None:
    ada = await room.join("ada")
    await ada.send({"type": "say", "text": "hi"})
    first = await _expect_said(room, [ada], "ada", "hi")
    hint(first >= 1, f"the first said has id {first}: ids count from 1")
    bob, carol = await room.join("bob"), await room.join("carol")
    await bob.send({"type": "say", "text": "hello ada"})
    await _expect_said(room, [bob, ada, carol], "bob", "hello ada", after=first)
    await _all_at_once(room, [ada, bob, carol], after=first + 1)
    last = first + 4
    for frame, what in BAD_FRAMES:
        await ada.send(frame)
        await _expect_error(ada, f"ada sent {_show(frame)} ({what})")
    await bob.send({"type": "say", "text": "still here?"})
    last = await _expect_said(room, [bob, ada, carol], "bob", "still here?", after=last,
                              errors_were_for="ada")
    dave = await room.join("dave", hello=False)
    await dave.send({"type": "say", "text": "me first"})
    await _expect_error(dave, "dave sent a say before saying hello",
                        said="the server does not know his name yet")
    await dave.send({"type": "hello", "name": "dave"})
    await dave.send({"type": "say", "text": "hi all"})
    last = await _expect_said(room, [dave, ada, bob, carol], "dave", "hi all", after=last)
    await room.peers.pop("bob").connection.close()
    room.step = "when bob left"
    try:
        await running.wait_for(lambda: room.handlers == 3, room.timeout)
    except TimeoutError:
        hint(False, f"bob closed his connection, but your handler for him was still "
                    f"running {room.timeout:g} s later: loop with `async for message in "
                    f"connection:`, which ends when the client leaves")
    await ada.send({"type": "say", "text": "bye bob"})
    await _expect_said(room, [ada, carol, dave], "ada", "bye bob", after=last)


async def _expect_said(room: _Room, peers: list[_Peer], sender: str, text: str, *,
                       after: int | None = None, errors_were_for: str | None = None) -> int:
    """Each of ``peers`` (the sender first) gets the said of ``sender``; return its id."""
    ids = {}
    for peer in peers:
        message = await peer.next()
        did = phrase(f"{sender} said {text!r}")
        if message is None:
            room.crash_hint()
            if peer.name == sender and len(room.peers) == 1:
                hint(False, f"{sender} sent hello, then say, and got nothing back within "
                            f"{room.timeout:g} s: answer with {{\"type\": \"said\", \"id\": "
                            f"1, \"name\": \"{sender}\", \"text\": \"{text}\"}}, sent to "
                            f"every client that said hello, the sender included")
            hint(peer.name != sender, f"{did}, and {sender} did not get it back: send each "
                                      f"said to everyone, the sender included")
            hint(False, f"{did}, and {peer.name} did not get it within {room.timeout:g} s: "
                        f"keep every connection that said hello (a set or dict outside the "
                        f"handler) and send each said to all of them")
        shown = json.dumps(message)
        if message.get("type") == "error" and errors_were_for not in (None, peer.name):
            hint(False, f"{peer.name} got {shown}, an error meant for {errors_were_for}: "
                        f"send errors to the sender only (`await connection.send(...)`)")
        if message.get("type") == "error" and errors_were_for == peer.name:
            hint(False, f"{peer.name} got a second answer, {shown}, to one bad message: "
                        f"answer each with exactly one error")
        hint(message.get("type") != "error", f"{did} and {peer.name} got an error, {shown}: "
                                             f"a say after hello is fine, answer it with a "
                                             f"said")
        _said_shape(message, f"{did}: {peer.name} got {shown}", sender, text)
        ids[peer.name] = message["id"]
    if len(set(ids.values())) > 1:
        hint(False, f"{sender}'s one message came with different ids {ids}: make the said "
                    f"once and send that same one to everyone")
    number = ids[sender]
    if after is not None:
        hint(number != after, f"{sender}'s said got id {number}, the id of the message "
                              f"before it: keep one counter for the whole server, outside "
                              f"the handler (`global`), not one per connection")
        hint(number == after + 1, f"ids go up by one from message to message: the one "
                                  f"before had {after}, {sender}'s {text!r} has {number}"
                                  + (": an error must not use up an id" if errors_were_for
                                     else ""))
    return number


def _said_shape(message: dict, got: str, name: str, text: str) -> None:
    expected = {"type": "said", "id": "<a number>", "name": name, "text": text}
    hint(message.get("type") == "said", f"{got}; expected {json.dumps(expected)}")
    missing = [key for key in expected if key not in message]
    hint(not missing, f"{got}, without {', '.join(missing)}; expected {json.dumps(expected)}")
    hint((message["name"], message["text"]) == (name, text),
         f"{got}; expected name {name!r} and text {text!r}")
    number = message["id"]
    hint(isinstance(number, int) and not isinstance(number, bool),
         f"{got}: the id must be a whole number, 1, 2, 3, ...")


async def _all_at_once(room: _Room, peers: list[_Peer], after: int) -> None:
    """Everyone says something at the same moment: same ids, same order, for everyone."""
    for peer in peers:
        await peer.send({"type": "say", "text": f"one from {peer.name}"})
    texts = {f"one from {peer.name}" for peer in peers}
    seen = {}
    for peer in peers:
        seen[peer.name] = []
        for _ in peers:
            message = await peer.next()
            if message is None:
                room.crash_hint()
                hint(False, f"ada, bob and carol said something at the same moment; "
                            f"{peer.name} got {len(seen[peer.name])} said of 3 within "
                            f"{room.timeout:g} s")
            _said_shape(message, f"ada, bob and carol said something at once; {peer.name} "
                                 f"got {json.dumps(message)}", message.get("name"),
                        message.get("text"))
            seen[peer.name].append((message["id"], message["text"]))
    orders = {name: [number for number, _ in got] for name, got in seen.items()}
    for name, got in seen.items():
        hint({text for _, text in got} == texts, f"ada, bob and carol said something at "
                                                 f"once; {name} got {got}")
        numbers = orders[name]
        hint(len(set(numbers)) == 3, f"ada, bob and carol said something at once, and two "
                                     f"got the same id ({name} saw ids {numbers}): take the "
                                     f"id and count up in one step, with no `await` in "
                                     f"between (another client's message runs at an await)")
        hint(numbers == list(range(after + 1, after + 4)),
             f"ada, bob and carol said something at once; {name} saw ids {numbers}, "
             f"expected {after + 1}, {after + 2}, {after + 3} in that order: give each said "
             f"the next id when you send it out")
    hint(len({tuple(got) for got in seen.values()}) == 1,
         f"ada, bob and carol said something at once and the clients saw different orders "
         f"{orders}: send each said to everyone before the next one")


async def _expect_error(peer: _Peer, did: str, said: str = "refuse it") -> None:
    message = await peer.next()
    if message is None:
        peer.room.crash_hint()
        hint(False, f"{did} and got no answer within {peer.room.timeout:g} s: answer the "
                    f"sender with {{\"type\": \"error\", \"error\": \"<what was wrong>\"}}")
    shown = json.dumps(message)
    hint(message.get("type") != "said", f"{did} and got a said, {shown}: {said}, with "
                                        f"{{\"type\": \"error\", \"error\": \"...\"}} to "
                                        f"the sender only")
    hint(message.get("type") == "error", f"{did} and got {shown}; expected "
                                         f"{{\"type\": \"error\", \"error\": \"<a sentence>\"}}")
    error = message.get("error")
    hint(isinstance(error, str) and error.strip() != "",
         f"{did} and got {shown}: say what was wrong in \"error\", e.g. "
         f"{{\"type\": \"error\", \"error\": \"text must not be empty\"}}")
