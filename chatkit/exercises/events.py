"""Notebook 02, socket.io emit/on: two exercises, each a socket.io server.

The warm-up, :func:`check_add_and_shout`: ``add`` acknowledges a sum and ``shout``
reaches every other client in capitals. The main one, :func:`check_socketio_chat`: the
chat of notebook 01 rebuilt on socket.io (a name in ``auth``, ``say`` acknowledged with
its id, ``said`` to everyone).
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import math
import sys
from collections.abc import Callable, Iterator
from typing import Any

import socketio

from chatkit import running
from chatkit.exercises.harness import (
    Served,
    SocketIOClient,
    awaitable_check,
    failure_hint,
    global_advice,
    hint,
    in_your_code,
    require_server,
    say_right,
    serving,
    show_args,
    signature_advice,
)
from chatkit.language import phrase


def _refuse_chatkit(sio: Any) -> None:
    """Hints for chatkit's own chat server passed in instead of the learner's."""
    # Only a program that imported chatkit.server can hold one of its objects.
    server, engine = sys.modules.get("chatkit.server"), sys.modules.get("chatkit.engine")
    hint(server is None or not isinstance(sio, server.ChatServer),
         "that is chatkit's ready-made ChatServer, not yours: the exercise is to write the "
         "chat yourself, as a socketio.AsyncServer(async_mode=\"aiohttp\") with your own "
         "handlers")
    hint(engine is None or not isinstance(sio, engine.SocketIOServer),
         "that is the socket.io server inside chatkit's ChatServer (its .sio), not yours: "
         "pass the socketio.AsyncServer(async_mode=\"aiohttp\") you wrote")


# -- the warm-up: add and shout ---------------------------------------------------------

@awaitable_check
async def check_add_and_shout(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 02: check a socket.io server with an ``add`` ack and a ``shout`` broadcast.

    ``add`` is called with two numbers (two arguments) and must acknowledge their sum.
    ``shout`` comes with a text; every other connected client must get a ``shouted`` event
    whose data is the text in upper case, and the sender nothing. The check serves ``sio``
    itself (don't serve it first) on a free port, connects three clients over WebSocket,
    tries both events, then disconnects them and stops the server. ``timeout`` is how long
    to wait for each answer.
    """
    _refuse_chatkit(sio)
    require_server(sio)
    async with serving(sio, "exercise-add-shout", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(SocketIOClient(name, timeout))
        for a, b in [(2, 3), (0.5, -2)]:
            await _try_add(served, a, b)
        await _try_shout(served, "alice", "hello")
        await _try_shout(served, "carol", "Mixed Case 42")
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    say_right("Right: `add` answers with the sum, and a shout reaches everyone but the sender.")


_ADD_AND_SHOUT_ADVICE = signature_advice(add="a, b", shout="text")


async def _try_add(served: Served, a: float, b: float) -> None:
    got = await served.clients["alice"].call("add", (a, b), phrase(f"called add({a}, {b})"))
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    hint(got is not None,
         f"add({a}, {b}) was acknowledged with no value: `return a + b` from the handler; "
         f"its return value is the ack (emitting the sum is not an answer)")
    hint(not isinstance(got, tuple),
         f"add({a}, {b}) was acknowledged with several values {got!r}: return one number "
         f"(a returned tuple becomes several values)")
    hint(isinstance(got, (int, float)) and math.isclose(got, a + b),
         f"add({a}, {b}) answered {got!r}, expected {a + b!r}")


async def _try_shout(served: Served, sender: str, text: str) -> None:
    clients, timeout = served.clients, served.timeout
    for client in clients.values():
        client.events.clear()
    others = [client for name, client in clients.items() if name != sender]
    await clients[sender].sio.emit("shout", text)
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: served.failures or all(
            client.got("shouted") for client in others), timeout)
    await served.settle()  # a shout wrongly sent back to the sender has arrived too
    failure_hint(served.failures, _ADD_AND_SHOUT_ADVICE)
    said = f"{sender} emitted 'shout' with {text!r}"
    for client in others:
        if not client.got("shouted"):
            got = sorted({event for event, _ in client.events})
            hint(not got, f"{said}; {client.name} got {', '.join(map(repr, got))} but no "
                          f"'shouted' event: emit the event named 'shouted'")
            hint(not clients[sender].got("shouted"),
                 f"{said}; only {sender} got 'shouted': send it to everyone but the sender "
                 f"with skip_sid=sid (to=sid sends it to the sender alone)")
            hint(False, f"{said}; {client.name} got no 'shouted' event within {timeout:g} s: "
                        f"in the handler, `await sio.emit(\"shouted\", text.upper(), "
                        f"skip_sid=sid)` (without `await` nothing is sent)")
        arrived = client.got("shouted")
        hint(len(arrived) == 1, f"{said}; {client.name} got 'shouted' {len(arrived)} times: "
                                f"one emit to all but the sender is enough")
        hint(arrived[0] == (text.upper(),),
             f"{said}; {client.name} got 'shouted' with {show_args(arrived[0])}, expected "
             f"{text.upper()!r}, the text in upper case")
    hint(not clients[sender].got("shouted"),
         f"{said}; {sender} got her own 'shouted' back: pass skip_sid=sid to sio.emit so it "
         f"goes to everyone but the sender")


# -- the main exercise: the chat on socket.io -------------------------------------------

_BAD_SAYS = [{"text": ""}, {}, {"text": 42}]
_NAMELESS = [None, {"nick": "cy"}, {"name": ""}]


@awaitable_check
async def check_socketio_chat(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 02: check the chat of notebook 01, rebuilt on socket.io.

    A client connects with ``auth={"name": "ada"}``; one without a name (no ``auth``, no
    ``"name"`` in it, or an empty one) must be refused with
    ``socketio.exceptions.ConnectionRefusedError("<why>")``. ``say`` with ``{"text": ...}``
    must be acknowledged ``{"ok": True, "id": n}``, with ids that grow with each accepted
    say, and every client, the sender too, must get ``said`` with ``{"id": n, "name":
    <the sender's name>, "text": ...}``. A ``say`` whose text is missing, not a string or
    empty gets ``{"ok": False, "error": "<a sentence>"}`` and nobody gets ``said``.

    The check serves ``sio`` itself (don't serve it first) on a free port, connects ada
    and bob over WebSocket, has them say things, tries the wrong ones, then clients
    without a name; it stops everything before returning. ``timeout`` is how long to wait
    for each answer.
    """
    _refuse_chatkit(sio)
    require_server(sio)
    log = _ConnectLog()
    async with serving(sio, "exercise-chat", timeout) as served:
        with _guarded_connect(sio, log):
            for name in ("ada", "bob"):
                await _try_named(served, log, name)
            ids: list[int] = []
            await _try_say(served, "ada", "hi, it's ada", ids)
            await _try_say(served, "bob", "hello ada", ids)
            for data in _BAD_SAYS:
                await _try_bad_say(served, "bob", data)
            for number, auth in enumerate(_NAMELESS, start=1):
                await _try_nameless(served, log, f"nameless-{number}", auth)
    failure_hint(served.failures, _CHAT_ADVICE)
    say_right("Right: a name is needed to connect, each say is acknowledged with its id, and "
          "everyone gets it as said.")


_CHAT_ADVICE = signature_advice(say="data")


@dataclasses.dataclass
class _ConnectLog:
    """What the learner's connect handler did wrong, for the hints."""

    crashes: list[tuple[Any, Exception]] = dataclasses.field(default_factory=list)
    builtin: list[Any] = dataclasses.field(default_factory=list)  # auths refused that way


@contextlib.contextmanager
def _guarded_connect(sio: socketio.AsyncServer, log: _ConnectLog) -> Iterator[None]:
    """Run the learner's ``connect`` of "/" so that a crash is a refusal the check explains
    (python-socketio would log a traceback, and call the handler again without ``auth``
    after a TypeError), then put it back."""
    handlers = sio.handlers.get("/", {})
    own = handlers.get("connect")
    if own is not None:
        handlers["connect"] = _connect_through(lambda: own, log)
    namespace = sio.namespace_handlers.get("/")
    before = None if namespace is None else vars(namespace).get("trigger_event")
    if namespace is not None:
        trigger = namespace.trigger_event
        connect = _connect_through(lambda: getattr(namespace, "on_connect", None), log)

        async def trigger_event(event: str, *args: Any) -> Any:
            return await (connect(*args) if event == "connect" else trigger(event, *args))

        namespace.trigger_event = trigger_event
    try:
        yield
    finally:
        if own is not None:
            handlers["connect"] = own
        if namespace is not None:
            if before is None:
                del namespace.trigger_event
            else:
                namespace.trigger_event = before


def _connect_through(handler: Callable[[], Any], log: _ConnectLog) -> Callable[..., Any]:
    async def connect(sid: str, environ: dict, auth: Any = None) -> Any:
        own = handler()
        if own is None:
            return None
        try:
            inspect.signature(own).bind(sid, environ, auth)
            args: tuple = (sid, environ, auth)
        except (TypeError, ValueError):
            args = (sid, environ)  # the older connect(sid, environ), as python-socketio does
        try:
            result = own(*args)
            return await result if inspect.isawaitable(result) else result
        except socketio.exceptions.ConnectionRefusedError:
            raise
        except ConnectionRefusedError:
            log.builtin.append(auth)
            raise
        except Exception as exc:
            log.crashes.append((auth, exc))
            raise socketio.exceptions.ConnectionRefusedError("the connect handler failed") \
                from None
    return connect


class _Guest(SocketIOClient):
    """A check's client that connects with the given ``auth`` and keeps a refusal."""

    def __init__(self, name: str, timeout: float, auth: Any) -> None:
        super().__init__(name, timeout)
        self.auth = auth
        self.refusals: list[Any] = []
        self.failed: Exception | None = None
        self.sio.on("connect_error", self.refusals.append)

    async def connect(self, url: str) -> None:
        try:
            await self.sio.connect(url, auth=self.auth, transports=["websocket"],
                                   wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            self.failed = exc

    @property
    def refusal(self) -> str | None:
        """The refusal's message, "" when it came without one; None when connected."""
        if self.failed is None:
            return None
        data = self.refusals[0] if self.refusals else None
        return str(data.get("message", "")) if isinstance(data, dict) else str(data or "")


def _auth_text(auth: Any) -> str:
    return phrase("no auth") if auth is None else f"auth={auth!r}"


def _connect_crash_hint(log: _ConnectLog) -> None:
    if not log.crashes:
        return
    auth, exc = log.crashes[0]
    advice = ("a client that sends no auth reaches your handler with auth=None: read the "
              "name with `(auth or {}).get(\"name\")`" if auth is None else
              "read the name with `auth.get(\"name\")`, which gives None when it is missing")
    hint(False, f"a client connected with {_auth_text(auth)} and your 'connect' handler "
                f"raised {type(exc).__name__}: {exc}{in_your_code(exc)}: {advice}, and "
                f"refuse it with socketio.exceptions.ConnectionRefusedError(\"...\")")


async def _try_named(served: Served, log: _ConnectLog, name: str) -> None:
    guest = _Guest(name, served.timeout, {"name": name})
    await served.connect(guest)
    _connect_crash_hint(log)
    did = phrase(f"{name} connected with auth={{'name': {name!r}}}")
    refusal = guest.refusal
    hint(refusal is None or refusal or guest.refusals,
         f"{did} and got no answer within {served.timeout:g} s: does your connect "
         f"handler wait for something that never comes?")
    hint(refusal is None, f"{did} and was refused ({refusal!r}): let a client with a name "
                          f"in (return None); refuse only one without")


async def _try_nameless(served: Served, log: _ConnectLog, key: str, auth: Any) -> None:
    guest = _Guest(key, served.timeout, auth)
    await served.connect(guest)
    _connect_crash_hint(log)
    did = phrase(f"a client connected with {_auth_text(auth)}")
    hint(guest.refusal is not None,
         f"{did}, no name, and your connect handler let it in: refuse it with `raise "
         f"socketio.exceptions.ConnectionRefusedError(\"Pick a name: auth needs a "
         f"'name'.\")`")
    hint(not log.builtin,
         f"{did} and was refused, but it read {guest.refusal!r}, not your sentence: that "
         f"is Python's own ConnectionRefusedError; raise "
         f"socketio.exceptions.ConnectionRefusedError(...), whose message reaches the client")
    hint(guest.refusal not in ("", "Connection rejected by server"),
         f"{did} and was refused with socket.io's {guest.refusal!r}, which does not say why "
         f"(`return False` or ConnectionRefusedError() without a sentence): raise "
         f"socketio.exceptions.ConnectionRefusedError(\"<why, for a human>\")")


def _say_crash_hint(served: Served, did: str, bad: bool) -> None:
    if not served.failures:
        return
    event, exc = served.failures[0]
    advice = ""
    if event == "say" and isinstance(exc, TypeError) and "positional argument" in str(exc):
        advice = " " + _CHAT_ADVICE[("say", TypeError)]
    elif isinstance(exc, UnboundLocalError):
        advice = " " + global_advice(exc)
    elif isinstance(exc, TypeError) and "'coroutine' object" in str(exc):
        advice = (" You used what a coroutine function returned without `await`: write "
                  "`(await sio.get_session(sid))[\"name\"]`, with the parentheses.")
    elif isinstance(exc, KeyError) and exc.args and exc.args[0] in {
            client.sio.get_sid() for client in served.clients.values()}:
        advice = (" No name was kept for that sid: keep it in connect (`names[sid] = name`, "
                  "or `await sio.save_session(sid, {'name': name})`).")
    elif isinstance(exc, KeyError) and exc.args == ("name",) and not bad:
        advice = (" The session holds no 'name': save it in connect with `await "
                  "sio.save_session(sid, {'name': name})` (without `await`, nothing is "
                  "saved).")
    elif event == "say" and bad:
        advice = (" A say without a usable text is answered {'ok': False, 'error': ...}, "
                  "not a crash: check the text before you use it (`data.get(\"text\")`).")
    hint(False, f"{did} and your {event!r} handler raised {type(exc).__name__}: {exc}"
                f"{in_your_code(exc)}.{advice}")


async def _call_say(served: Served, sender: str, data: dict, bad: bool) -> tuple[str, Any]:
    for client in served.clients.values():
        client.events.clear()
    did = phrase(f"{sender} said {data!r}")
    ack = await served.clients[sender].call("say", data, did)
    _say_crash_hint(served, did, bad)
    return did, ack


def _chatters(served: Served) -> list[SocketIOClient]:
    return [client for client in served.clients.values() if client.sio.connected]


async def _try_say(served: Served, sender: str, text: str, ids: list[int]) -> None:
    did, ack = await _call_say(served, sender, {"text": text}, bad=False)
    right = "{'ok': True, 'id': n}"
    hint(ack is not None, f"{did} and the ack carried no value: return {right} from the "
                          f"handler (its return value is the ack; emitting is no answer)")
    hint(not isinstance(ack, tuple),
         f"{did} and the ack carried {len(ack) if isinstance(ack, tuple) else 0} values "
         f"{ack!r}: return one dict, {right} (a returned tuple becomes several values)")
    hint(isinstance(ack, dict), f"{did} and the ack was {ack!r}, not a dict: return {right}")
    hint(ack.get("ok") is True, f"{did} and the ack was {ack!r}: an accepted say is "
                                f"answered {right}, with ok True")
    number = ack.get("id")
    hint(isinstance(number, int) and not isinstance(number, bool),
         f"{did} and the ack's id was {number!r}: the id is the message's number, a whole "
         f"number (1, 2, 3...)")
    if ids:
        hint(number > ids[-1],
             f"{did} and got id {number}, after an earlier say got {ids[-1]}: ids grow with "
             f"each accepted say; keep the last id outside the handler (a global, with "
             f"`global last_id` in the handler): a variable set inside starts again at "
             f"every call")
    ids.append(number)
    await _expect_said(served, did, sender, {"id": number, "name": sender, "text": text})


async def _expect_said(served: Served, did: str, sender: str, message: dict) -> None:
    everyone = _chatters(served)
    with contextlib.suppress(TimeoutError):
        await running.wait_for(lambda: served.failures or all(
            client.got("said") for client in everyone), served.timeout)
    await served.settle()  # a said sent twice, or to someone else, has arrived too
    _say_crash_hint(served, did, bad=False)
    got = {client.name: client.got("said") for client in everyone}
    missing = [name for name, arrived in got.items() if not arrived]
    if len(missing) == len(got):
        others = sorted({event for client in everyone for event, _ in client.events})
        hint(not others, f"{did}; nobody got 'said', but {', '.join(map(repr, others))} "
                         f"came: emit the event named 'said'")
        hint(False, f"{did}; nobody got 'said' within {served.timeout:g} s: in say, `await "
                    f"sio.emit(\"said\", {{...}})` to everyone (without `await` nothing is "
                    f"sent)")
    hint(sender not in missing,
         f"{did}; {', '.join(n for n in got if n not in missing)} got 'said' but {sender} "
         f"did not: the sender gets its own said too (it shows the message once the server "
         f"took it): emit to everyone, without skip_sid")
    hint(not missing, f"{did}; only {sender} got 'said': emit it to everyone (to=sid sends "
                      f"it to the sender alone)")
    for name, arrived in got.items():
        hint(len(arrived) == 1, f"{did}; {name} got 'said' {len(arrived)} times: one emit "
                                f"to everyone is enough")
        _check_said(did, name, arrived[0], message, served)


def _check_said(did: str, name: str, args: tuple, message: dict, served: Served) -> None:
    shape = "{'id': n, 'name': <the sender's name>, 'text': <the text>}"
    hint(len(args) == 1 and isinstance(args[0], dict),
         f"{did}; {name} got 'said' with {show_args(args)}: send one dict, {shape}")
    said = args[0]
    lacking = [key for key in message if key not in said]
    hint(not lacking, f"{did}; {name} got 'said' {said!r}, with no "
                      f"{' or '.join(map(repr, lacking))}: send {shape}")
    sender, last = message["name"], list(served.clients)[-1]  # the last one to connect
    hint(said["name"] != last or sender == last,
         f"{did}; 'said' named {said['name']!r} as the sender, not {sender!r}: one variable "
         f"for all clients is overwritten by each connect; keep each name by sid (in "
         f"connect, `await sio.save_session(sid, {{'name': name}})`) and read it back in say")
    hint(said["name"] == sender,
         f"{did}; 'said' named {said['name']!r} as the sender, not {sender!r}: send the "
         f"name the client gave in auth, kept by its sid in connect")
    hint(not isinstance(said["text"], dict),
         f"{did}; 'said' carried the text {said['text']!r}, the whole data of the say: send "
         f"its text, `data[\"text\"]`")
    hint(said["text"] == message["text"],
         f"{did}; 'said' carried the text {said['text']!r}: pass the text on as it came")
    hint(said["id"] == message["id"],
         f"{did}; the ack's id was {message['id']} but 'said' carried id {said['id']!r}: "
         f"use the same number in both")


async def _try_bad_say(served: Served, sender: str, data: dict) -> None:
    did, ack = await _call_say(served, sender, data, bad=True)
    why = ("an empty text" if data.get("text") == "" else
           "no text" if "text" not in data else "a text that is not a string")
    refuse = "{'ok': False, 'error': '<a sentence>'}"
    hint(not (isinstance(ack, dict) and ack.get("ok") is True),
         f"{did}, {why}, and it was accepted ({ack!r}): refuse a say whose text is missing, "
         f"not a string or empty with {refuse}, and say nothing")
    hint(isinstance(ack, dict) and ack.get("ok") is False,
         f"{did}, {why}, and the ack was {ack!r}: refuse it with {refuse}")
    error = ack.get("error")
    hint(isinstance(error, str) and error.strip() != "",
         f"{did}, {why}, and the refusal {ack!r} has no 'error' sentence: add one that "
         f"says what to send, e.g. {{'ok': False, 'error': 'say needs a text'}}")
    await served.settle()
    _say_crash_hint(served, did, bad=True)
    told = [client.name for client in _chatters(served) if client.got("said")]
    hint(not told, f"{did}, {why}: it was refused, yet {', '.join(told)} got 'said': return "
                   f"the refusal before emitting anything")
