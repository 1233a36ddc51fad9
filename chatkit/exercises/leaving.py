"""Notebook 03, disconnects: :func:`check_bye_and_left`, the warm-up (a server lets a
client go on ``bye`` and tells the others who ``left``, however they left), and
:func:`check_nothing_lost`, the learner's chat of notebook 02 made to lose nothing across
a real drop (:mod:`chatkit.faults`): its server replays, its client resumes."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections import Counter
from typing import Any

import socketio

from chatkit import client as chatkit_client
from chatkit import running
from chatkit.exercises.harness import (
    CheckFailed,
    HandlerFailures,
    Served,
    SocketIOClient,
    awaitable_check,
    failure_hint,
    hint,
    in_your_code,
    require_server,
    say_right,
    serving,
    show_args,
)
from chatkit.faults import Relay, relay
from chatkit.language import phrase
from chatkit.sio import close_client, settle

__all__ = ["check_bye_and_left", "check_nothing_lost"]


@awaitable_check
async def check_bye_and_left(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 03: check a server that lets a client go politely and tells the others.

    Clients connect with ``auth={"name": ...}``. On ``bye`` (no arguments) the server sends
    that client ``goodbye`` with ``"goodbye, <name>"``, then disconnects it. Whenever a
    client goes, however, every client still connected gets ``left`` with its name. The
    check serves ``sio`` (not served yet) and connects alice, bob and carol; alice says
    ``bye``, then carol disconnects by herself. ``timeout`` bounds each wait.
    """
    require_server(sio)
    async with serving(sio, "exercise-bye", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(_LeavingClient(name, timeout))
        await _try_bye(served)
        await _try_hang_up(served)
    failure_hint(served.failures, _BYE_ADVICE)
    say_right("Right: a client that says bye gets its goodbye and is let go, and everyone "
          "else hears who left, however they left.")


async def _until(condition: Any, timeout: float) -> None:
    """Wait until ``condition()`` holds, at most ``timeout`` s; the hints say what did not."""
    with contextlib.suppress(TimeoutError):
        await running.wait_for(condition, timeout)


class _LeavingClient(SocketIOClient):
    """A raw socket.io client that also writes down why its connection ended."""

    def __init__(self, name: str, timeout: float) -> None:
        super().__init__(name, timeout)
        self.reasons: list[str] = []
        self.sio.on("disconnect", self.reasons.append)


_BYE_ADVICE = {
    ("bye", TypeError): "`bye` comes with no arguments: `async def bye(sid)`.",
    KeyError: "Each name is forgotten once: the `disconnect` handler runs once per client, "
              "however it went (after `bye` too).",
}


async def _try_bye(served: Served) -> None:
    clients, failures, timeout = served.clients, served.failures, served.timeout
    alice, others = clients["alice"], [clients["bob"], clients["carol"]]
    await alice.sio.emit("bye")
    await _until(lambda: alice.reasons or failures, timeout)
    failure_hint(failures, _BYE_ADVICE)
    if not alice.reasons:
        hint(not alice.got("goodbye"),
             f"alice said 'bye' and got her goodbye, but she was still connected "
             f"{timeout:g} s later: end the handler with `await sio.disconnect(sid)`")
        hint(False, f"alice said 'bye' and nothing happened within {timeout:g} s: on the server "
                    f"you passed, register @sio.on(\"bye\") with `async def bye(sid)`")
    await _until(lambda: failures or all(other.got("left") for other in others), timeout)
    await served.settle()  # anything extra, or wrong, has arrived too
    failure_hint(failures, _BYE_ADVICE)
    did = phrase("alice said 'bye'")
    hint(alice.reasons[0] == "server disconnect",
         f"{did}; her connection ended with the reason {alice.reasons[0]!r}, expected "
         f"'server disconnect': let her go with `await sio.disconnect(sid)`")
    goodbyes = alice.got("goodbye")
    hint(bool(goodbyes), f"{did} and was disconnected, but got no 'goodbye' first: emit it "
                         f"*before* `await sio.disconnect(sid)`, to=sid; once she is "
                         f"disconnected nothing reaches her")
    hint(len(goodbyes) == 1, f"{did} and got 'goodbye' {len(goodbyes)} times")
    hint(goodbyes[0] == ("goodbye, alice",),
         f"{did} and got 'goodbye' with {show_args(goodbyes[0])}, expected "
         f"'goodbye, alice' (her name is in auth[\"name\"] when she connects)")
    hint(not alice.got("left"), f"{did} and got 'left' about herself: send it to everyone "
                                f"but her, with skip_sid=sid")
    for other in others:
        hint(other.sio.connected, f"{did}, and {other.name} was disconnected too: "
                                  f"disconnect only the sid that said 'bye'")
        hint(not other.got("goodbye"), f"{did}, and {other.name} got her goodbye too: send "
                                       f"it to her alone, with to=sid")
        left = other.got("left")
        hint(bool(left), f"{did}; {other.name} got no 'left' event within {timeout:g} s: "
                         f"when a client goes, emit 'left' with its name to everyone else "
                         f"(skip_sid=sid)")
        hint(len(left) == 1,
             f"{did}; {other.name} got 'left' {len(left)} times: emit it in one place only. "
             f"`await sio.disconnect(sid)` runs the `disconnect` handler too")
        hint(left[0] == ("alice",), f"{did}; {other.name} got 'left' with "
                                    f"{show_args(left[0])}, expected 'alice', her name")


async def _try_hang_up(served: Served) -> None:
    bob, carol = served.clients["bob"], served.clients["carol"]
    await carol.sio.disconnect()  # it returns before the server knows
    await _until(lambda: served.failures or len(bob.got("left")) >= 2, served.timeout)
    await served.settle()
    failure_hint(served.failures, _BYE_ADVICE)
    did = phrase("then carol disconnected by herself (no 'bye')")
    left = bob.got("left")
    hint(len(left) >= 2,
         f"{did}, and bob got no 'left' about her within {served.timeout:g} s: emit 'left' "
         f"in the `disconnect` handler (@sio.on(\"disconnect\"), with `sid, reason`), which "
         f"runs however a client goes, not only after 'bye'")
    hint(len(left) == 2, f"{did}, and bob got 'left' {len(left) - 1} times about her: "
                         f"emit it once per client that goes")
    hint(left[1] == ("carol",),
         f"{did}, and bob got 'left' with {show_args(left[1])}, expected 'carol'")
    hint(bob.sio.connected, f"{did}, and bob was disconnected too")


# -- the main exercise: nothing lost across a drop --------------------------------------

@awaitable_check
async def check_nothing_lost(sio: socketio.AsyncServer, join: Any, *,
                             timeout: float = 5.0) -> None:
    """Notebook 03: check a chat that loses nothing when a client's line drops.

    ``sio`` (not served yet): notebook 02's chat, which now keeps every message and sends
    a client connecting with an ``"offset"`` in its auth, to it alone and in id order,
    each ``said`` with a greater id. ``join(url, name, received)``: a coroutine function
    that connects a reconnecting ``socketio.AsyncClient(handle_sigint=False)`` with a
    *callable* ``auth`` carrying the last id kept, appends each new ``said`` message (the
    dict) to ``received``, drops ids it has, and returns the client.

    bob talks and dan connects with an offset (the server's part); then ada joins through
    a relay (:mod:`chatkit.faults`) that goes down while bob says three things, and later
    gets an old message again, as from an overlapping replay. She must keep each once,
    in order. ``timeout`` bounds each wait.
    """
    _refuse_chatkit(sio, "ChatServer", "your own socketio.AsyncServer")
    require_server(sio)
    _refuse_chatkit(join, "ChatClient", "your own join(url, name, received)")
    async with serving(sio, "exercise-resume", timeout) as served:
        drill = _Drill(served)
        try:
            await drill.replay()
            link = await relay(served.url, name=_LINK)
            with drill:
                client = await drill.join(join, link.url)
                try:
                    said, away = await drill.drop(link, client)
                finally:
                    await close_client(client)
        finally:
            vars(sio).pop("_trigger_event", None)  # the learner's server as it was
            await running.stop(_LINK)
    failure_hint(served.failures, _ADVICE)
    say_right(f"Right: ada lost nothing across the drop: of the {said} messages bob said after she "
          f"joined, {away} while her line was down, she kept each once, in order "
          f"(lost=0 duplicated=0).")


_LINK, _ADVICE = "exercise-resume-link", {
    ("say", TypeError): "`say` comes with one argument, the dict {'text': ...}: "
                        "`async def say(sid, data)`.",
    ("said", KeyError): "A `said` message is one dict: message['id'], ['name'], ['text'].",
}
_FUNCTION = ("pass auth as a function, auth=lambda: {'name': name, 'offset': last_id}: "
             "python-socketio calls it at every reconnection")


def _is_chatkit(thing: Any) -> bool:
    module = getattr(thing if isinstance(thing, type) else type(thing), "__module__", "")
    return thing is chatkit_client.connect or (
        module.startswith("chatkit.") and not module.startswith("chatkit.exercises"))


def _refuse_chatkit(thing: Any, polished: str, yours: str) -> None:
    """A check of the learner's chat refuses chatkit's finished one passed in its place."""
    hint(not _is_chatkit(thing), f"that is chatkit's {polished}, the finished version of what "
                                 f"this exercise asks you to write (shown right after, to "
                                 f"compare): pass {yours}")


class _Talker(SocketIOClient):
    """One of the check's own clients: connects with a name, and an offset if given."""

    def __init__(self, name: str, timeout: float, offset: int | None = None) -> None:
        super().__init__(name, timeout)
        self.auth = {"name": name, **({} if offset is None else {"offset": offset})}
        self.refused: Exception | None = None

    async def connect(self, url: str) -> None:
        try:
            await self.sio.connect(url, auth=self.auth, transports=["websocket"],
                                   wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            self.refused = exc

    def ids(self) -> list[Any]:
        return [args[0].get("id") if isinstance(args[0], dict) else args
                for args in self.got("said")]


class _Drill:
    """One run of check_nothing_lost. The server's connect handler: each auth written
    down, a crash (not a refusal) a hint. While the learner's client runs (``with
    drill:``): a crash of its handlers a hint (python-socketio would leave it in a task
    nobody reads), its ``said`` events counted, engine.io's error log kept (a bad auth)."""

    def __init__(self, served: Served) -> None:
        self.served, self.sio, self.timeout = served, served.sio, served.timeout
        self.auths: list[Any] = []  # the auth of every connect, in order
        self.failures: list[tuple[str, Exception]] = []  # of the connect handler
        self.client_failures: list[tuple[str, Exception]] = []  # of ada's client's
        self.said_count, self.logged, self.received = 0, HandlerFailures(), []
        original = self.sio._trigger_event  # noqa: SLF001

        async def trigger_event(event: str, namespace: str, *args: Any) -> Any:
            if event != "connect":
                return await original(event, namespace, *args)
            self.auths.append(args[2] if len(args) > 2 else None)
            try:
                return await original(event, namespace, *args)
            except (socketio.exceptions.ConnectionRefusedError, ConnectionRefusedError):
                raise
            except Exception as exc:  # refuse the client: a hint, not a traceback
                if isinstance(exc, TypeError) and args[2:3] == (None,):
                    raise  # python-socketio tries the legacy connect(sid, environ) next
                self.failures.append(("connect", exc))
                return False

        self.sio._trigger_event = trigger_event  # noqa: SLF001 (until the check ends)

    def __enter__(self) -> _Drill:
        self._original = original = socketio.AsyncClient._trigger_event  # noqa: SLF001
        own = self.served.clients

        async def trigger_event(client: Any, event: str, namespace: str, *args: Any) -> Any:
            if any(client is talker.sio for talker in own.values()):
                return await original(client, event, namespace, *args)
            self.said_count += event == "said"
            try:
                return await original(client, event, namespace, *args)
            except Exception as exc:
                self.client_failures.append((event, exc))

        socketio.AsyncClient._trigger_event = trigger_event  # noqa: SLF001 (until exit)
        self._logger = logging.getLogger("engineio.client")
        self._saved = self._logger.handlers, self._logger.propagate
        self._logger.handlers, self._logger.propagate = [self.logged], False
        return self

    def __exit__(self, *exc_info: Any) -> None:
        socketio.AsyncClient._trigger_event = self._original  # noqa: SLF001
        self._logger.handlers, self._logger.propagate = self._saved

    def report(self) -> None:
        """If a handler raised, the server's or the client's, say so."""
        first = self.failures[0][1] if self.failures else None
        if isinstance(first, KeyError) and first.args == ("offset",):
            hint(False, f"your 'connect' handler raised KeyError: 'offset'{in_your_code(first)}: "
                        f"a client that connects the first time sends only its name, as in "
                        f"notebook 02; read it with auth.get(\"offset\") and replay only when "
                        f"there is one")
        failure_hint(self.failures)
        failure_hint(self.served.failures, _ADVICE)
        failure_hint(self.client_failures, _ADVICE)
        if self.logged.records:
            exc = (self.logged.records[0].exc_info or (None, None))[1]
            hint(False, f"ada's client could not connect: {self.logged.first()}"
                        f"{in_your_code(exc) if exc else ''}; does your auth function raise? "
                        f"It runs at every connection attempt")

    async def until(self, condition: Any, timeout: float | None = None) -> None:
        await _until(lambda: self.failures or self.served.failures or self.client_failures
                     or self.logged.records or condition(), timeout or self.timeout)
        self.report()

    async def connect(self, name: str, offset: int | None = None) -> _Talker:
        client = _Talker(name, self.timeout, offset)
        await self.served.connect(client)
        self.report()
        hint(client.refused is None, f"{name} could not connect with auth={client.auth!r} "
                                     f"({client.refused}): let your connect handler accept it")
        return client

    async def say(self, *texts: str) -> list[int]:
        """bob says each text; return the ids of the acks, checked."""
        ids: list[int] = []
        for text in texts:
            ack = await self.served.clients["bob"].call("say", {"text": text},
                                                        phrase(f"bob said {text!r}"))
            self.report()
            hint(isinstance(ack, dict) and ack.get("ok") is True and isinstance(ack.get("id"), int),
                 f"bob said {text!r} and got the ack {ack!r}; expected {{'ok': True, "
                 f"'id': <the message's id>}}, as in notebook 02")
            hint(not ids or ack["id"] > ids[-1],
                 f"bob's messages got the ids {[*ids, ack['id']]}: each new one needs a "
                 f"greater id than the one before, or no client can tell new from seen")
            ids.append(ack["id"])
        return ids

    def ids(self) -> list[int]:
        for item in self.received:
            hint(isinstance(item, dict) and isinstance(item.get("id"), int),
                 f"received holds {item!r}: append the `said` message itself, the dict "
                 f"with its id, name and text")
        return [item["id"] for item in self.received]

    async def settle(self, client: socketio.AsyncClient) -> None:
        try:
            await settle(self.sio, [client], timeout=self.timeout)
        except TimeoutError:
            hint(False, f"ada's client did not answer within {self.timeout:g} s: does a "
                        f"handler block (time.sleep instead of `await asyncio.sleep`)?")
        self.report()

    async def replay(self) -> None:
        """The server's part: messages kept; a client with an offset gets what followed."""
        bob, cy = await self.connect("bob"), await self.connect("cy")
        said = await self.say("bob #1", "bob #2", "bob #3")
        await self.until(lambda: set(said) <= set(cy.ids()))
        hint(set(said) <= set(cy.ids()),
             f"bob said 3 messages and cy got `said` with {cy.got('said')}; expected one "
             f"dict each, {{'id': {said[0]}, 'name': 'bob', 'text': 'bob #1'}}..., to "
             f"everyone, as in notebook 02")
        dan = await self.connect("dan", offset=said[1])
        await self.served.settle()
        self.report()
        got = dan.ids()
        did = phrase(f"dan connected with auth={dan.auth!r} (he had seen up to id {said[1]})")
        for args in dan.got("said"):
            hint(len(args) == 1 and isinstance(args[0], dict), f"{did} and got `said` with "
                 f"{show_args(args)}: send each message he missed as a `said` of its own, "
                 f"the message's dict alone, as live ones are")
        hint(bool(got), f"{did} and got nothing: keep every message in a list, and in `connect` "
                        f"send him (to=sid) each `said` with an id greater than "
                        f"auth['offset']: {said[2:]}")
        hint(not [i for i in got if isinstance(i, int) and i < said[1]], f"{did} and got "
             f"ids {got}: replay only the ids greater than his offset, not all history")
        hint(said[1] not in got, f"{did} and got ids {got}: {said[1]} he has; replay "
                                 f"only the ids greater than the offset (>, not >=)")
        hint(got == said[2:], f"{did} and got ids {got}; expected {said[2:]}")
        for client in (bob, cy):
            theirs = [i for i in client.ids() if i in said]
            hint(theirs == said, f"{did}, and {client.name} got {theirs} of bob's ids: send "
                                 f"the replay to dan alone, to=sid")

    async def join(self, join: Any, url: str) -> socketio.AsyncClient:
        did, tried = "join(url, 'ada', received)", len(self.auths)
        try:
            pending = join(url, "ada", self.received)
            hint(inspect.isawaitable(pending),
                 f"{did} returned {pending!r}, not a coroutine: write it with `async def`, "
                 f"and await client.connect(...) in it")
            client = await asyncio.wait_for(pending, self.timeout)
        except TimeoutError:
            hint(False, f"{did} had not returned after {self.timeout:g} s")
        except AssertionError:
            raise
        except Exception as exc:
            if _is_chatkit(exc):  # a ChatClient that could not connect: it is tracked
                await running.stop("client:ada")
            _refuse_chatkit(exc, "ChatClient", "your own join, with a socketio.AsyncClient")
            self.report()
            sent = self.auths[tried:]  # a refusal: what the server got says why
            why = "" if not sent else f"; your server got auth={sent[-1]!r} and refused it" + (
                "" if isinstance(sent[-1], dict) and "name" in sent[-1] else
                ": send her name too, auth=lambda: {'name': name, 'offset': last_id}")
            raise CheckFailed(f"{did} raised {type(exc).__name__}: {exc}"
                              f"{in_your_code(exc)}{why}") from exc
        if _is_chatkit(client):
            await client.disconnect()  # then refused, just below
        _refuse_chatkit(client, "ChatClient", "your own join, with a socketio.AsyncClient")
        hint(isinstance(client, socketio.AsyncClient),
             f"{did} returned {client!r}: return the socketio.AsyncClient it connected")
        hint(not client.eio.handle_sigint,
             "make the client with socketio.AsyncClient(handle_sigint=False), as every client "
             "in this course: else python-socketio takes over Ctrl-C, and the kernel's "
             "Interrupt button with it")
        hint(client.connected, f"{did} returned before ada was connected: await connect")
        hint(client.reconnection, "ada's client has reconnection=False: it would not come back "
                                  "after a drop; leave reconnection on (the default)")
        return client

    async def drop(self, link: Relay, client: socketio.AsyncClient) -> tuple[int, int]:
        """The client's part: live, then down while bob talks, then back."""
        before = await self.say("bob #4", "bob #5", "bob #6")
        await self.until(lambda: set(before) <= set(self.ids()))
        if not set(before) <= set(self.ids()):
            hint("said" in client.handlers.get("/", {}),
                 "ada's client has no handler for `said`: register one before connecting, "
                 "client.on(\"said\", handler), that appends each new message to received")
            hint(False, f"your `said` handler ran {self.said_count} times, but received holds "
                        f"{len(self.received)} messages: append each new one to received, "
                        f"the list join gets")
        seen, old_sid = max(self.ids()), client.get_sid()
        link.down()
        await self.until(lambda: not client.connected
                         and not self.sio.manager.is_connected(old_sid, "/"))
        away = await self.say("bob #7", "bob #8", "bob #9")
        link.up()
        back = self.timeout + 3 * client.reconnection_delay + client.randomization_factor
        await self.until(lambda: client.connected, back)
        hint(client.connected, f"ada's line was back; {back:g} s later her client had not "
                               f"reconnected")
        await self.until(lambda: set(away) <= set(self.ids()))
        await self.settle(client)
        _judge_resume(next((auth for auth in reversed(self.auths) if isinstance(auth, dict)
                            and auth.get("name") == "ada"), None), seen, away, self.ids())
        after = await self.say("bob #10", "bob #11", "bob #12")
        await self.until(lambda: set(after) <= set(self.ids()))
        copy = next(message for message in self.received if message["id"] == before[1])
        await self.sio.emit("said", dict(copy), to=client.get_sid())  # an overlapping replay
        said = before + away + after + await self.say("bob #13")
        await self.until(lambda: said[-1] in self.ids())
        await self.settle(client)
        _judge_count(said, self.ids(), before[1])
        return len(said), len(away)


def _judge_resume(auth: Any, seen: int, away: list[int], ids: list[int]) -> None:
    """What ada's client sent when it came back, and what it got for it."""
    lost = [i for i in away if i not in ids]
    did = (phrase(f"ada's line went down after id {seen}; bob said {away} meanwhile, and her "
           f"client came back with auth={auth!r}"))
    hint(isinstance(auth, dict) and "offset" in auth,
         f"{did}: no offset, so your server could not know what she missed"
         f"{f' (she lost {lost})' if lost else ''}: {_FUNCTION}")
    old = isinstance(auth["offset"], int) and auth["offset"] < seen
    hint(auth["offset"] == seen, f"{did}: " + (
        f"an old offset: a dict is sent again with the values it had when it was made; "
        f"{_FUNCTION}" if old else
        f"but the last id she saw was {seen}: send the greatest id she received"))
    hint(not lost, f"{did}, and she never got {lost}: your server should send them on "
                   f"connect (each `said` with an id greater than the offset)")


def _judge_count(said: list[int], ids: list[int], copied: int) -> None:
    counts = Counter(ids)
    twice = [i for i in said if counts[i] > 1]
    hint(twice != [copied], f"then your server sent ada message {copied} again, as a "
                            f"replay overlapping live messages can, and she kept it twice: "
                            f"drop a `said` whose id she has (keep the ids in a set)")
    hint(not twice, f"ada kept ids {twice} more than once: drop a `said` whose id she has")
    lost = [i for i in said if not counts[i]]
    hint(not lost, f"ada never got ids {lost} of bob's {said}")
    hint(ids == sorted(ids), f"ada's messages are out of order: ids {ids}; keep them in "
                             f"the order they arrive (the server sends them in id order)")
