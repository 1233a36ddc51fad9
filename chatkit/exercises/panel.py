"""Notebook 05, the live chat panel: the learner builds a chat window from ipywidgets.

``make_panel(url, name)`` connects a python-socketio client to the chat at ``url`` as
``name``, in the room "lobby", and returns a ``widgets.VBox`` holding (at any depth) one
``widgets.Text`` to type in, one ``widgets.Button`` (Send) and one ``widgets.Label`` per
message, ``name: text``. :func:`check_panel` uses that panel as a person would: it types in
the Text and clicks the Button, with another client of the check's own chat server on the
other end. :func:`check_member_list` watches a ``widgets.Select`` of the lobby's members,
kept up to date by ``presence``, while someone joins and leaves.

A click handler that raises, and a socket.io handler that raises, become hints naming the
learner's line. chatkit's own ``ChatPanel`` and ``ChatClient`` are refused: the exercise
is to wire the widgets yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import inspect
import logging
import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import socketio

from chatkit import protocol, running
from chatkit.client import ChatClient
from chatkit.exercises.harness import (
    CheckFailed,
    awaitable_check,
    call_learner,
    hint,
    in_your_code,
    say_right,
    short,
)
from chatkit.language import phrase
from chatkit.server import ChatServer
from chatkit.sio import close_client

# Names a learner is unlikely to use: the check must leave the learner's own clients alone.
_SERVER, _YOU, _BOB, _CAROL = "exercise-05", "check-ada", "check-bob", "check-carol"
_BUILD = f"make_panel(url, {_YOU!r})"
_CONNECT = ('`await client.connect(url, namespaces=["/chat"], transports=["websocket"], '
            'auth={"name": name, "rooms": ["lobby"]})`')
_SHORTCUT = ("that is chatkit's ChatPanel, the polished panel this notebook shows after the "
             "exercises: here build your own from widgets.Text, widgets.Button and Labels, "
             "wired to a socketio.AsyncClient")


@awaitable_check
async def check_panel(make_panel: Callable[[str, str], Any], *, timeout: float = 5.0) -> None:
    """Notebook 05: your panel shows what is said, and says what you type.

    The check starts a chat server of its own with a client "check-bob" in the lobby and
    calls ``make_panel(url, "check-ada")``. Then: check-bob says something, which must
    show in your panel as one Label ``check-bob: ...``; the check types in your Text and
    clicks your Button (calls its ``on_click`` handlers, as a click does), and check-bob
    must get exactly that text, your panel must show it once, and the Text must be empty
    once the server acknowledged it; a message the server refuses (too long) must stay
    in the Text, to fix. Everything it started is stopped afterwards. ``timeout`` is how
    long to wait for each step.
    """
    async with _trying(make_panel, timeout) as trial:
        text, button = trial.text(), trial.button()
        await trial.shows_what_bob_says("hello check-ada")
        await trial.says_what_you_type(text, button, "hello check-bob")
        await trial.keeps_a_refused_message(text, button)
    say_right("Right: your panel shows each message once, as text, and says what you type; "
          "a refused message stays in the Text to fix.")


@awaitable_check
async def check_member_list(make_panel: Callable[[str, str], Any], *,
                            timeout: float = 5.0) -> None:
    """Notebook 05: your panel's ``widgets.Select`` lists who is in the lobby.

    The check starts a chat server of its own with "check-bob" in the lobby, calls
    ``make_panel(url, "check-ada")``, and expects the Select's options to be the members
    of the lobby's latest ``presence``: check-ada and check-bob; then check-carol joins,
    then leaves. ``timeout`` is how long to wait for each change.
    """
    async with _trying(make_panel, timeout) as trial:
        members = trial.one(trial.widgets.Select, "a widgets.Select for the lobby's members, "
                                                  "as in `widgets.Select(options=[])`")
        await trial.lists(members, [_YOU, _BOB], "after your panel joined the lobby "
                                                 "(where check-bob was)")
        carol = await ChatClient(_CAROL, rooms=["lobby"]).connect(trial.server.url)
        await trial.lists(members, [_YOU, _BOB, _CAROL], "when check-carol joined the lobby")
        await carol.disconnect()
        await trial.lists(members, [_YOU, _BOB], "after check-carol left")
    say_right("Right: your member list follows presence: who joins appears, who leaves goes.")


@dataclasses.dataclass
class _Trial:
    """The learner's panel while a check uses it, and what it sees around it."""

    widgets: Any  # the ipywidgets module (imported late: it needs the widget libraries)
    server: Any
    bob: Any
    panel: Any
    timeout: float
    failures: list[BaseException]
    requests: list[tuple[str, Any, Any]]  # (event, payload, answer) from the learner

    def all(self, kind: type) -> list:
        """Every widget of ``kind`` in the panel, depth first (the tree may change)."""
        found, stack = [], [self.panel]
        while stack:
            widget = stack.pop(0)
            if isinstance(widget, kind):
                found.append(widget)
            stack[:0] = list(getattr(widget, "children", ()))
        return found

    def one(self, kind: type, what: str) -> Any:
        found = self.all(kind)
        hint(found, f"your panel holds no {kind.__name__}: add {what} to the VBox you return")
        hint(len(found) == 1, f"your panel holds {len(found)} {kind.__name__} widgets: keep "
                              f"one, {what}")
        return found[0]

    def text(self) -> Any:
        return self.one(self.widgets.Text, "the widgets.Text to type messages in")

    def button(self) -> Any:
        buttons = self.all(self.widgets.Button)
        send = [button for button in buttons if button.description == "Send"]
        hint(buttons, "your panel holds no Button: add a widgets.Button(description=\"Send\")"
                      " to the VBox you return")
        hint(len(buttons) == 1 or len(send) == 1,
             f"your panel holds {len(buttons)} Buttons: give the one that sends "
             f"description=\"Send\" (and only that one)")
        return send[0] if send else buttons[0]

    def lines(self) -> list[str]:
        return [label.value for label in self.all(self.widgets.Label)]

    def crash_hint(self) -> None:
        """If the learner's code raised in a handler or a click's task, say so first."""
        if self.failures:
            exc = self.failures[0]
            hint(False, f"a handler of yours raised {type(exc).__name__}: {exc}"
                        f"{in_your_code(exc)}")

    async def wait(self, condition: Callable[[], Any], *, crash_first: bool = True) -> bool:
        """Whether ``condition`` came true in time; if not, a crash of the learner's code
        is the hint (unless ``crash_first`` is false: the caller knows better first)."""
        try:
            await running.wait_for(condition, self.timeout)
        except TimeoutError:
            if crash_first:
                self.crash_hint()
            return False
        return True

    async def settle(self, note: str) -> None:
        """check-bob says ``note``; once your panel shows it, it has also shown, and your
        code has handled, everything the server sent your client before it."""
        await self.bob.say("lobby", note)
        if not await self.wait(lambda: f"{_BOB}: {note}" in self.lines()):
            hint(False, f"{_BOB} said {note!r} and your panel did not show it within "
                        f"{self.timeout:g} s")

    async def shows_what_bob_says(self, said: str) -> None:
        await self.bob.say("lobby", said)
        expected = f"{_BOB}: {said}"
        if not await self.wait(lambda: expected in self.lines()):
            shown = [line for line in self.lines() if said in line]
            if shown:
                hint(False, f"{_BOB} said {said!r} and your panel shows {shown[0]!r}: show "
                            f"each message as `name: text`, here {expected!r}")
            as_html = [w for w in self.all(self.widgets.HTML) if said in w.value]
            hint(not as_html, f"your panel shows {said!r} in a widgets.HTML: use one "
                              f"widgets.Label per message, which shows text as text (HTML "
                              f"would run the markup other people send)")
            hint(False, f"{_BOB} said {said!r} in the lobby, and {self.timeout:g} s later "
                        f"your panel showed no Label {expected!r}: register "
                        f"`@client.on(\"said\", namespace=\"/chat\")` before connecting, "
                        f"and in it add a Label to the messages box (`box.children = "
                        f"(*box.children, label)`), a box inside the VBox you return")
        count = self.lines().count(expected)
        hint(count == 1, f"your panel shows {expected!r} {count} times: add one Label per "
                         f"`said` event")

    def click(self, button: Any, did: str) -> None:
        """Call the Button's on_click handlers, as a click does (without ipywidgets'
        printed traceback when one raises)."""
        # ipywidgets keeps the handlers there and has no public way to list them
        handlers = list(button._click_handlers.callbacks)  # noqa: SLF001
        hint(handlers, f"{did}: your Button has no click handler: give it one with "
                       f"`send.on_click(...)`")
        for handler in handlers:
            hint(not inspect.iscoroutinefunction(handler),
                 f"{did}: the click handler {handler.__qualname__} is an `async def`: a "
                 f"click calls it and drops the coroutine it makes, so it never runs. Hand "
                 f"it to the event loop: `send.on_click(as_task({handler.__name__}))`")
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    handler(button)
                except Exception as exc:
                    raise CheckFailed(f"{did}: your click handler raised {type(exc).__name__}"
                                      f": {exc}{in_your_code(exc)}") from exc
            hint(not [w for w in caught if "never awaited" in str(w.message)],
                 f"{did}: your click handler made a coroutine and dropped it, so it never "
                 f"ran: write the sending as an `async def` and pass it through as_task, "
                 f"as in `send.on_click(as_task(send_draft))`")

    def said_by_you(self) -> list[str]:
        return [message.text for message in self.bob.messages("lobby") if message.name == _YOU]

    async def says_what_you_type(self, text: Any, button: Any, typed: str) -> None:
        did = phrase(f"after typing {typed!r} in your Text and clicking your Button")
        text.value = typed
        self.click(button, did)
        if not await self.wait(self.said_by_you, crash_first=False):
            if self.requests:  # what the server got says more than a timeout it caused
                event, payload, answer = self.requests[-1]
                hint(event == protocol.SAY, f"{did}, your client sent the event {event!r}; "
                                            f"the chat server listens for \"say\"")
                hint(False, f"{did}, your client sent say {payload!r} and the server "
                            f"answered {answer!r}")
            self.crash_hint()
            hint(False, f"{did}, nothing reached the server within {self.timeout:g} s: in "
                        f"the click handler, `await client.call(\"say\", {{\"room\": \"lobby\","
                        f" \"text\": draft.value}}, namespace=\"/chat\", timeout=5)`")
        got = self.said_by_you()[-1]
        hint(got == typed, f"{did}, {_BOB} got {got!r}: say exactly what the Text holds "
                           f"(its .value) when the Button is clicked")
        mine = f"{_YOU}: {typed}"
        if not await self.wait(lambda: mine in self.lines()):
            hint(False, f"{_BOB} got your message, but your own panel shows no {mine!r}: the "
                        f"server sends `said` to everyone in the room, you included: show "
                        f"your own messages too")
        await self.settle("are you there?")
        count = self.lines().count(mine)
        hint(count == 1, f"your own message shows {count} times: the server sends `said` to "
                         f"the sender too, so add Labels only in the `said` handler, not "
                         f"when sending")
        if not await self.wait(lambda: text.value == ""):
            hint(False, f"{did}, your message was sent, and {self.timeout:g} s later your "
                        f"Text still holds {text.value!r}: empty it (`draft.value = \"\"`) "
                        f"once the server's ack says ok")

    async def keeps_a_refused_message(self, text: Any, button: Any) -> None:
        too_long = "x" * 2001
        did = phrase("after clicking your Button with 2001 x's in the Text (too long)")
        text.value = too_long
        asked = len(self.requests)
        self.click(button, did)
        if not await self.wait(lambda: len(self.requests) > asked):
            hint(False, f"{did}, nothing reached the server within {self.timeout:g} s: "
                        f"send whatever the Text holds, and let the server refuse it")
        _, _, answer = self.requests[-1]
        await self.settle("still there?")  # your client has the answer, and handled it
        hint(text.value == too_long,
             f"{did}, the server refused it ({answer!r}) but your Text holds "
             f"{text.value[:20]!r}: empty the Text only when the ack says ok, so that a "
             f"refused message stays there to fix")

    async def lists(self, members: Any, expected: list[str], when: str) -> None:
        def labels() -> list[str]:  # options are labels, or (label, value) pairs
            return [option[0] if isinstance(option, tuple) else str(option)
                    for option in members.options]
        if await self.wait(lambda: labels() == expected):
            return
        shown = labels()
        hint(shown, f"{when}, your member list is still empty: register "
                    f"`@client.on(\"presence\", namespace=\"/chat\")` before connecting, and "
                    f"in it set the Select's options to the event's \"members\"")
        hint(not set(shown) - set(expected),
             f"{when}, your member list shows {shown}: a presence event carries the whole "
             f"list of members, so replace the options with it, don't add names to them")
        hint(False, f"{when}, your member list shows {shown}, not {expected}: set its "
                    f"options to the \"members\" of every presence event of the lobby")


@contextlib.asynccontextmanager
async def _trying(make_panel: Any, timeout: float) -> AsyncIterator[_Trial]:
    """Serve a chat with check-bob in the lobby, build the learner's panel, and stop it
    all on the way out (the learner's own clients elsewhere are left alone)."""
    hint(callable(make_panel), f"pass the function itself: check_panel(make_panel), not "
                               f"check_panel(make_panel(...)); got {short(make_panel)}")
    import ipywidgets  # here: the check needs the widget libraries, the package does not

    from chatkit.panel import ChatPanel, ChatView
    hint(make_panel is not ChatPanel and getattr(make_panel, "__self__", None) is not ChatPanel,
         _SHORTCUT)
    server, bob = ChatServer(), None
    loop = asyncio.get_running_loop()
    failures: list[BaseException] = []
    restore = _collecting_failures(loop, failures)
    try:
        await server.start(name=_SERVER)
        requests = _recording_requests(server)
        bob = await ChatClient(_BOB, rooms=["lobby"]).connect(server.url)
        panel = await _build(make_panel, server.url, timeout)
        hint(not isinstance(panel, ChatPanel), _SHORTCUT)
        hint(f"client:{_YOU}" not in running.running(),
             f"{_BUILD} connected chatkit's ChatClient (notebook 03): here wire the handlers "
             f"of a socketio.AsyncClient to your widgets yourself; ChatClient and ChatPanel "
             f"come after the exercises")
        hint(isinstance(panel, ipywidgets.Widget),
             f"{_BUILD} returned {short(panel)}: return the widgets.VBox that holds your "
             f"Text, Button and Labels")
        trial = _Trial(ipywidgets, server, bob, panel, timeout, failures, requests)
        hint(not trial.all(ChatView), _SHORTCUT)
        await _joined(trial)
        yield trial
    finally:
        restore()
        await running.stop(_YOU)  # tracked under its name, as the notebook does
        if server.url is not None:
            for client in _clients_of(server.url, but=bob):
                await close_client(client)
        for name in (_BOB, _CAROL, _YOU):
            await running.stop(f"client:{name}")
        await server.stop()


async def _build(make_panel: Any, url: str, timeout: float) -> Any:
    try:
        result = make_panel(url, _YOU)
    except Exception as exc:
        raise CheckFailed(f"{_BUILD} raised {type(exc).__name__}: {exc}{in_your_code(exc)}") \
            from exc
    return await call_learner(
        result, _BUILD, timeout,
        write="write `async def make_panel(url, name)`, since it must `await client.connect(...)`",
        known={socketio.exceptions.ConnectionError: f"it could not connect: the chat wants "
                                                    f"{_CONNECT}"})


async def _joined(trial: _Trial) -> None:
    """Wait until check-bob sees the learner's client in the lobby; else say why not."""
    def lobby() -> list[str]:
        seen = [event.data.members for event in trial.bob.events
                if event.type == protocol.PRESENCE and event.data.room == "lobby"]
        return list(seen[-1]) if seen else []

    if await trial.wait(lambda: _YOU in lobby()):
        return
    clients = _clients_of(trial.server.url, but=trial.bob)
    hint(clients, f"{_BUILD} returned, but no socket.io client of yours is connected to the "
                  f"check's server: in make_panel, {_CONNECT}")
    hint(any(protocol.CHAT in client.namespaces for client in clients),
         f"your client is connected, but not to the namespace /chat: {_CONNECT}")
    others = [name for name in lobby() if name != _BOB]
    if others:
        hint(False, f"your client joined the lobby as {others[0]!r}: connect as the `name` "
                    f"make_panel gets ({_YOU!r} here)")
    hint(False, f"your client is connected but not in the lobby: put \"rooms\": [\"lobby\"] "
                f"in auth, {_CONNECT}")


def _clients_of(url: str, *, but: Any = None) -> list[socketio.AsyncClient]:
    """The socket.io clients of this process that connected to ``url``, except ``but``'s
    (a ChatClient of the check). The learner's client is made inside make_panel, so the
    check finds it this way (to stop it), not by a name."""
    mine = getattr(but, "sio", None)
    # type(), not isinstance(): the latter would look through a dead weakref.proxy, and fail
    return [obj for obj in gc.get_objects() if issubclass(type(obj), socketio.AsyncClient)
            and obj is not mine and obj.connection_url == url]


def _recording_requests(server: Any) -> list[tuple[str, Any, Any]]:
    """Record each request the learner's client makes of ``server`` on /chat, with the
    server's answer (its ack); the check's own clients are left out."""
    requests: list[tuple[str, Any, Any]] = []
    namespace = server.sio.namespace_handlers[protocol.CHAT]
    handle = namespace.trigger_event

    async def trigger_event(event: Any, *args: Any) -> Any:
        answer = await handle(event, *args)
        who = server.moderation.label(args[0]) if args else None
        if event not in ("connect", "disconnect") and who not in (_BOB, _CAROL):
            payload = args[1] if len(args) == 2 else list(args[1:])
            requests.append((event, payload, answer))
        return answer

    namespace.trigger_event = trigger_event
    return requests


class _Failures(logging.Handler):
    """Collects what ``as_task`` logs about a click's task that raised."""

    def __init__(self, failures: list[BaseException]) -> None:
        super().__init__(logging.ERROR)
        self.failures = failures

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.failures.append(record.exc_info[1])


def _collecting_failures(loop: asyncio.AbstractEventLoop,
                         failures: list[BaseException]) -> Callable[[], None]:
    """Until the returned function is called, collect the exceptions of the learner's
    code instead of printing them: a socket.io handler's (its task's exception, never
    retrieved) and a click task's (logged by ``as_task``)."""
    previous = loop.get_exception_handler()

    def on_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        exc = context.get("exception")
        if exc is not None:
            failures.append(exc)
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(on_error)
    logger = logging.getLogger("chatkit.panel")
    handler, propagate = _Failures(failures), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False

    def restore() -> None:
        loop.set_exception_handler(previous)
        logger.removeHandler(handler)
        logger.propagate = propagate

    return restore
