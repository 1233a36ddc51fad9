"""What every check of chatkit.exercises does alike, tried on each check.

A right answer passes with one "Right:" line and leaves nothing running; the check can
run again on the same answer (a notebook cell run twice); a wrong argument is refused
at once. The socket.io checks (02 to 04) also put the learner's handlers back, and turn
a handler that raises into a hint, reported before anything that follows from it.
"""

import dataclasses
import inspect
import logging
from collections.abc import Callable
from typing import Any

import pytest
import socketio

from chatkit import exercises, running
from chatkit.tasks import leftover_tasks
from tests.conftest import timeout
from tests.exercises import answers
from tests.exercises.answers import NS


@dataclasses.dataclass(frozen=True)
class Exercise:
    """A check, and how to make a fresh right answer for it."""

    check: Callable[..., Any]
    right: Callable[[], Any]
    wait: float | None = None  # the check's timeout before scaling; None: its default

    async def run(self, answer: Any) -> None:
        options = {} if self.wait is None else {"timeout": timeout(self.wait)}
        result = self.check(answer, **options)
        if inspect.isawaitable(result):
            await result


def takes_pair(check: Callable[..., Any]) -> Callable[..., Any]:
    """A check of two answers, check(server, join) (notebook 03), given as one pair."""
    def call(answer: tuple, **options: Any) -> Any:
        return check(*answer, **options)
    call.__wrapped__ = check  # inspect.unwrap finds the check itself
    return call


EXERCISES = {
    "00-staleness": Exercise(exercises.check_staleness, lambda: answers.staleness),
    "00-values-seen": Exercise(exercises.check_values_seen, lambda: answers.values_seen),
    "01-shout": Exercise(exercises.check_shout_server, lambda: answers.shout),
    "01-json-chat": Exercise(exercises.check_json_chat, answers.json_chat, wait=2),
    "02-events": Exercise(exercises.check_add_and_shout, answers.events_server, wait=2),
    "02-chat": Exercise(exercises.check_socketio_chat, answers.chat_server, wait=2),
    "03-leaving": Exercise(exercises.check_bye_and_left, answers.leaving_server, wait=2),
    "03-nothing-lost": Exercise(takes_pair(exercises.check_nothing_lost), lambda: (
        answers.nothing_lost_server(), answers.resuming_join), wait=2),
    "04-join": Exercise(exercises.check_join, answers.rooms_server, wait=2),
    "04-rooms": Exercise(exercises.check_rooms_and_whispers, answers.rooms_server, wait=2),
    "05-panel": Exercise(exercises.check_panel, lambda: answers.make_panel, wait=5),
    "05-members": Exercise(exercises.check_member_list,
                           lambda: answers.make_panel_with_members, wait=5),
    "06-classroom": Exercise(exercises.check_announce_to_busiest,
                             lambda: answers.announce_to_busiest, wait=5),
    "06-strikes": Exercise(exercises.check_three_strikes, lambda: answers.three_strikes,
                           wait=5),
}
SOCKETIO = ["02-events", "03-leaving", "04-rooms"]


def each(*names: str) -> pytest.MarkDecorator:
    """Parametrize a test over the exercises of ``names`` (by default all), by name."""
    names = names or tuple(EXERCISES)
    return pytest.mark.parametrize("exercise", [EXERCISES[name] for name in names], ids=names)


@each()
async def test_a_right_answer_passes_and_leaves_nothing_running(exercise, capsys):
    """A right answer passes with one "Right:" line; no server, client or task is left."""
    await exercise.run(exercise.right())
    assert capsys.readouterr().out.startswith("Right:")
    assert running.running() == {}
    await running.wait_for(lambda: not leftover_tasks(), timeout(2), what="no tasks left")


@each()
async def test_can_check_the_same_answer_twice(exercise, capsys):
    """Running the check cell again on the same answer (the same server object) passes again."""
    answer = exercise.right()
    await exercise.run(answer)
    await exercise.run(answer)
    assert capsys.readouterr().out.count("Right:") == 2


@each(*SOCKETIO)
async def test_puts_the_learners_handlers_back(exercise):
    """After the check the server's handlers are the learner's own functions again."""
    sio = exercise.right()
    before = {namespace: dict(handlers) for namespace, handlers in sio.handlers.items()}
    await exercise.run(sio)
    assert {namespace: dict(handlers) for namespace, handlers in sio.handlers.items()} == before


@pytest.mark.parametrize("check, wrong, hint", [
    (exercises.check_shout_server, lambda: answers.shout(None),
     r"not check_shout_server\(shout\(\)\)"),
    (exercises.check_add_and_shout, lambda: answers.right_add, "pass the server object"),
    (exercises.check_bye_and_left, lambda: socketio.AsyncClient(handle_sigint=False),
     "pass the server object"),
    (exercises.check_rooms_and_whispers, lambda: lambda: None, "pass the server object"),
    (exercises.check_panel, lambda: "a panel", "pass the function itself"),
    (exercises.check_announce_to_busiest, lambda: None, "pass the function itself"),
    (exercises.check_three_strikes, lambda: "mute", "pass the function itself"),
], ids=["01-called-handler", "02-a-function", "03-a-client", "04-a-lambda", "05-a-text",
        "06-none", "06-a-text"])
async def test_a_wrong_argument_says_what_to_pass(check, wrong, hint):
    """Passing something other than the answer fails at once, saying what to pass."""
    argument = wrong()
    try:
        with pytest.raises(AssertionError, match=hint):
            await check(argument)
    finally:
        if inspect.iscoroutine(argument):
            argument.close()
    assert running.running() == {}


# -- a learner's handler that raises (socket.io checks) ---------------------------------

class Calculator(socketio.AsyncNamespace):
    """Notebook 02 as a class: on_add takes the two numbers as one parameter."""

    async def on_add(self, sid, numbers):
        return sum(numbers)

    async def on_shout(self, sid, text):
        await self.emit("shouted", text.upper(), skip_sid=sid)


class ForgetfulRoom(socketio.AsyncNamespace):
    """Notebook 03 as a class: on_bye forgets the name that on_disconnect needs."""

    def __init__(self, namespace):
        super().__init__(namespace)
        self.names = {}

    async def on_connect(self, sid, environ, auth):
        self.names[sid] = auth["name"]

    async def on_bye(self, sid):
        await self.emit("goodbye", f"goodbye, {self.names.pop(sid)}", to=sid)
        await self.disconnect(sid)

    async def on_disconnect(self, sid, reason):
        await self.emit("left", self.names.pop(sid), skip_sid=sid)


class NamelessChat(socketio.AsyncNamespace):
    """Notebook 04 as a class: on_join reads names it never kept."""

    async def on_join(self, sid, data):
        await self.enter_room(sid, data["room"])
        return sorted(self.names[other]  # AttributeError: it never made self.names
                      for other, _ in self.server.manager.get_participants(NS, data["room"]))


@pytest.mark.parametrize("name, namespace, hint, wait", [
    ("02-events", lambda: Calculator("/"),
     r"'add' handler raised TypeError.*`async def add\(sid, a, b\)`", 2),
    ("03-leaving", lambda: ForgetfulRoom("/"),
     "'disconnect' handler raised KeyError.*forgotten once", 0.5),
    ("04-rooms", lambda: NamelessChat(NS), "your 'join' handler raised AttributeError", 2),
], ids=SOCKETIO)
async def test_a_failing_handler_of_a_class_based_namespace_is_a_hint(name, namespace, hint,
                                                                     wait, caplog):
    """An AsyncNamespace whose handler raises gets the hint, no traceback, and is put back."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    learners = namespace()
    sio.register_namespace(learners)
    with caplog.at_level(logging.ERROR):
        with pytest.raises(AssertionError, match=hint):
            await dataclasses.replace(EXERCISES[name], wait=wait).run(sio)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert "trigger_event" not in vars(learners)
    assert running.running() == {}


def failing_disconnect(sio):
    @sio.on("disconnect")
    async def disconnect(sid, reason):
        raise RuntimeError("cleanup failed")


def forgets_twice(sio, names):
    async def disconnect(sid, reason):
        del names[sid]
        await sio.emit("left", names[sid], skip_sid=sid)
    return disconnect


@pytest.mark.parametrize("name, server, hint, wait", [
    ("02-events",
     lambda: answers.events_server(answers.right_add, answers.right_shout, failing_disconnect),
     "'disconnect' handler raised RuntimeError: cleanup failed", 2),
    ("03-leaving", lambda: answers.leaving_server(disconnect=forgets_twice),
     "'disconnect' handler raised KeyError", 0.5),
], ids=SOCKETIO[:2])
async def test_a_disconnect_handler_that_fails_is_reported(name, server, hint, wait):
    """A disconnect handler that raises when the check's clients go is reported as a hint."""
    with pytest.raises(AssertionError, match=hint):
        await dataclasses.replace(EXERCISES[name], wait=wait).run(server())
    assert running.running() == {}


def test_a_failed_check_renders_as_its_message_alone_not_a_traceback():
    """IPython shows an exception with _render_traceback_ as those lines only."""
    from chatkit.exercises.harness import CheckFailed, hint
    with pytest.raises(CheckFailed) as raised:
        hint(False, "expected 'HELLO', got 'hello': call .upper()")
    lines = raised.value._render_traceback_()
    assert len(lines) == 1 and lines[0].endswith("expected 'HELLO', got 'hello': call .upper()")
    assert isinstance(raised.value, AssertionError)  # still an assertion, for plain Python


@each(*[name for name, e in EXERCISES.items() if inspect.iscoroutinefunction(
    inspect.unwrap(e.check))])
def test_a_check_called_without_await_says_add_await(exercise, recwarn):
    """Forgetting await shows advice instead of <coroutine object ...>, and no warning."""
    pending = exercise.check(exercise.right())
    assert "add await in front" in repr(pending)
    assert f"await exercises.{inspect.unwrap(exercise.check).__name__}(" in repr(pending)
    del pending
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


def test_a_crash_in_the_learners_code_names_their_line():
    """in_your_code points at the learner's frame, not chatkit's or the library's."""
    from chatkit.exercises.harness import in_your_code

    def learners_function():
        return {}["missing"]

    try:
        learners_function()
    except KeyError as exc:
        where = in_your_code(exc)
    assert "return {}[\"missing\"]" in where and where.startswith(" (line ")
