"""Notebook 02's checks explain each wrong answer: check_add_and_shout each wrong `add` and
`shout`, check_socketio_chat each wrong `connect` and `say` of the chat."""

import logging

import pytest
import socketio

from chatkit import exercises, running
from tests.conftest import timeout
from tests.exercises import answers
from tests.exercises.answers import chat_server, right_add, right_shout
from tests.exercises.answers import events_server as server


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_add_and_shout(sio, timeout=timeout(wait))


async def test_accepts_sync_handlers_and_a_catch_all(capsys):
    """Plain `def` handlers and an extra catch-all handler are fine."""
    def parts(sio):
        sio.on("add", lambda sid, a, b: a + b)
        sio.on("*", lambda event, sid, *args: None)
    await check(server(parts, right_shout), wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_explains_a_missing_add_handler():
    """Without an `add` handler the ack never comes: the hint says to register one."""
    with pytest.raises(AssertionError, match=r'no answer within .*@sio.on\("add"\)'):
        await check(server(right_shout), wait=0.3)
    assert running.running() == {}


async def test_explains_an_add_that_emits_instead_of_returning():
    """An `add` that emits the sum instead of returning it is told to return it."""
    def emits(sio):
        @sio.on("add")
        async def add(sid, a, b):
            await sio.emit("sum", a + b, to=sid)
    with pytest.raises(AssertionError, match="acknowledged with no value: `return a \\+ b`"):
        await check(server(emits, right_shout))


async def test_explains_a_wrong_handler_signature():
    """An `add(sid, numbers)` handler fails with its TypeError and the right signature."""
    def one_param(sio):
        @sio.on("add")
        async def add(sid, numbers):
            return sum(numbers)
    with pytest.raises(AssertionError, match=r"raised TypeError.*async def add\(sid, a, b\)"):
        await check(server(one_param, right_shout))


async def test_explains_a_wrong_sum():
    """An `add` that answers a string is told what it answered and what was expected."""
    def as_text(sio):
        @sio.on("add")
        async def add(sid, a, b):
            return f"{a + b}"
    with pytest.raises(AssertionError, match=r"add\(2, 3\) answered '5', expected 5"):
        await check(server(as_text, right_shout))


async def test_explains_a_shout_back_to_the_sender():
    """A shout broadcast to everyone, the sender too, is told to use skip_sid."""
    def to_all(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text.upper())
    with pytest.raises(AssertionError, match="got her own 'shouted' back: pass skip_sid=sid"):
        await check(server(right_add, to_all))


async def test_explains_a_shout_to_the_sender_only():
    """A shout sent with to=sid reaches only the sender: the hint tells the difference."""
    def to_sender(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text.upper(), to=sid)
    with pytest.raises(AssertionError, match="only alice got 'shouted'.*skip_sid=sid"):
        await check(server(right_add, to_sender), wait=0.3)


async def test_explains_a_wrong_event_name():
    """Emitting 'shout' instead of 'shouted' is pointed out by name."""
    def same_name(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shout", text.upper(), skip_sid=sid)
    with pytest.raises(AssertionError, match="got 'shout' but no 'shouted' event"):
        await check(server(right_add, same_name), wait=0.3)


async def test_explains_a_text_not_in_upper_case():
    """A shout passed on unchanged is told to upper-case the text."""
    def unchanged(sio):
        @sio.on("shout")
        async def shout(sid, text):
            await sio.emit("shouted", text, skip_sid=sid)
    with pytest.raises(AssertionError, match="with 'hello', expected 'HELLO'"):
        await check(server(right_add, unchanged))


async def test_explains_a_missing_shout_handler():
    """Without a `shout` handler nobody gets 'shouted': the hint shows the emit to write."""
    with pytest.raises(AssertionError, match=r"no 'shouted' event within .*skip_sid=sid\)"):
        await check(server(right_add), wait=0.3)
    assert running.running() == {}


async def test_explains_a_shout_handler_without_the_text():
    """A `shout(sid)` handler fails with its TypeError and the shout signature."""
    def no_text(sio):
        @sio.on("shout")
        async def shout(sid):
            await sio.emit("shouted", skip_sid=sid)
    with pytest.raises(AssertionError, match=r"'shout' handler raised TypeError.*"
                                             r"`async def shout\(sid, text\)`"):
        await check(server(right_add, no_text), wait=2)


# -- the main exercise: the chat on socket.io -------------------------------------------

async def check_chat(sio, wait=0.5):
    """Run the chat check with short waits."""
    await exercises.check_socketio_chat(sio, timeout=timeout(wait))


def say_with(make_ack=None, *, to="all", said=None, bad=None):
    """A `say` builder for chat_server: right unless a part is replaced.

    ``make_ack(state, id)`` gives the ack; ``to`` is "all", "others" or "sender";
    ``said(state, sid, id, text)`` gives the said payload; ``bad(text)`` the refusal.
    """
    def make(sio, state):
        async def say(sid, data):
            text = data.get("text")
            if not isinstance(text, str) or not text:
                return bad(text) if bad else {"ok": False, "error": "say needs a text"}
            state.last_id += 1
            payload = (said(state, sid, state.last_id, text) if said else
                       {"id": state.last_id, "name": state.names[sid], "text": text})
            where = {"all": {}, "others": {"skip_sid": sid}, "sender": {"to": sid}}[to]
            await sio.emit("said", payload, **where)
            return make_ack(state, state.last_id) if make_ack else {"ok": True, "id":
                                                                     state.last_id}
        return say
    return make


async def test_chat_accepts_sessions_and_sync_handlers(capsys):
    """Names kept with save_session, and a plain `def connect`, are right too."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    last = {"id": 0}

    @sio.on("connect")
    def connect(sid, environ, auth):
        if not (auth or {}).get("name"):
            raise socketio.exceptions.ConnectionRefusedError("Pick a name.")
        sio.start_background_task(sio.save_session, sid, {"name": auth["name"]})

    @sio.on("say")
    async def say(sid, data):
        if not isinstance(data.get("text"), str) or not data["text"]:
            return {"ok": False, "error": "say needs a text"}
        last["id"] += 1
        name = (await sio.get_session(sid))["name"]
        await sio.emit("said", {"id": last["id"], "name": name, "text": data["text"]})
        return {"ok": True, "id": last["id"]}

    await check_chat(sio, wait=2)
    assert "Right:" in capsys.readouterr().out


class ChatNamespace(socketio.AsyncNamespace):
    """The chat as a class-based namespace, with on_connect and on_say."""

    names: dict
    last_id = 0

    async def on_connect(self, sid, environ, auth):
        if not (auth or {}).get("name"):
            raise socketio.exceptions.ConnectionRefusedError("Pick a name.")
        self.names = {**getattr(self, "names", {}), sid: auth["name"]}

    async def on_say(self, sid, data):
        if not data.get("text") or not isinstance(data["text"], str):
            return {"ok": False, "error": "say needs a text"}
        self.last_id += 1
        await self.emit("said", {"id": self.last_id, "name": self.names[sid],
                                 "text": data["text"]})
        return {"ok": True, "id": self.last_id}


async def test_chat_accepts_a_class_based_namespace_and_puts_it_back(capsys):
    """An AsyncNamespace chat passes; its trigger_event is the class's own afterwards."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    namespace = ChatNamespace("/")
    sio.register_namespace(namespace)
    await check_chat(sio, wait=2)
    assert "Right:" in capsys.readouterr().out
    assert "trigger_event" not in vars(namespace)


async def test_chat_puts_the_connect_handler_back():
    """After the check, passed or failed, `connect` and `say` are the learner's own again."""
    sio = chat_server(say=say_with(to="others"))
    before = dict(sio.handlers["/"])
    with pytest.raises(AssertionError):
        await check_chat(sio)
    assert sio.handlers["/"] == before


async def test_chat_refuses_chatkits_chat_server():
    """chatkit's ChatServer, or the socket.io server inside it, is refused with a sentence."""
    from chatkit.server import ChatServer
    server = ChatServer()
    try:
        with pytest.raises(AssertionError, match="that is chatkit's ready-made ChatServer"):
            await check_chat(server)
        with pytest.raises(AssertionError, match=r"the socket.io server inside chatkit's "
                                                 r"ChatServer \(its .sio\)"):
            await check_chat(server.sio)
        with pytest.raises(AssertionError, match="inside chatkit's ChatServer"):
            await exercises.check_add_and_shout(server.sio)
    finally:
        await server.stop()
    assert running.running() == {}


async def test_chat_refuses_something_that_is_not_a_server():
    """A handler function passed instead of the server is told to pass the server."""
    with pytest.raises(AssertionError, match="pass the server object"):
        await check_chat(answers.right_say)


@pytest.mark.parametrize("say, hint", [
    (None, r"ada said \{'text': \"hi, it's ada\"\} and got no answer .*@sio.on\(\"say\"\)"),
    (say_with(lambda state, n: None), "the ack carried no value: return"),
    (say_with(lambda state, n: n), r"the ack was 1, not a dict: return \{'ok': True"),
    (say_with(lambda state, n: (True, n)), r"the ack carried 2 values \(True, 1\): return one "
                                          r"dict"),
    (say_with(lambda state, n: {"ok": "yes", "id": n}), "answered .*, with ok True"),
    (say_with(lambda state, n: {"ok": True, "id": str(n)}), "the ack's id was '1': .*whole"),
    (say_with(lambda state, n: {"ok": True, "id": 1}), "got id 1, after an earlier say got 1: "
                                                      "ids grow.*global last_id"),
    (say_with(to="others"), "bob got 'said' but ada did not: the sender gets its own said"),
    (say_with(to="sender"), r"only ada got 'said': emit it to everyone \(to=sid"),
    (say_with(said=lambda state, sid, n, text: {"id": n, "text": text}),
     r"with no 'name': send \{'id': n"),
    (say_with(said=lambda state, sid, n, text: {"id": n, "name": sid, "text": text}),
     "named .* as the sender, not 'ada': send the name the client gave in auth"),
    (say_with(said=lambda state, sid, n, text: {"id": n, "name": "ada", "text": text.upper()}),
     "carried the text \"HI, IT'S ADA\": pass the text on"),
    (say_with(said=lambda state, sid, n, text: {"id": n + 1, "name": state.names[sid],
                                                "text": text}),
     "the ack's id was 1 but 'said' carried id 2: use the same number"),
    (say_with(bad=lambda text: None), r"an empty text, and the ack was None: refuse it with "
                                      r"\{'ok': False"),
    (say_with(bad=lambda text: {"ok": False}), r"the refusal \{'ok': False\} has no 'error' "
                                               r"sentence"),
], ids=["no-say-handler", "no-ack-value", "ack-an-int", "ack-a-tuple", "ok-not-true",
        "id-a-string", "ids-not-growing", "said-not-to-the-sender", "said-to-the-sender-only",
        "said-without-name", "said-named-by-sid", "said-text-changed", "said-id-differs",
        "refusal-without-value", "refusal-without-error"])
async def test_chat_explains_a_wrong_say(say, hint):
    """Each wrong `say` gets the hint that fits it."""
    with pytest.raises(AssertionError, match=hint):
        await check_chat(chat_server(say=say), wait=0.3)
    assert running.running() == {}


def one_name_for_all(sio, state):
    """connect keeps the name in one variable, as a Node closure would, for everyone."""
    async def connect(sid, environ, auth):
        if not (auth or {}).get("name"):
            raise socketio.exceptions.ConnectionRefusedError("Pick a name.")
        state.names = {"everyone": auth["name"]}
    return connect


def say_as_everyone(sio, state):
    async def say(sid, data):
        if not data.get("text"):
            return {"ok": False, "error": "say needs a text"}
        state.last_id += 1
        await sio.emit("said", {"id": state.last_id, "name": state.names["everyone"],
                                "text": data["text"]})
        return {"ok": True, "id": state.last_id}
    return say


async def test_chat_explains_one_name_overwritten_by_each_connect():
    """A single name variable (the last client's) is told to keep names by sid."""
    with pytest.raises(AssertionError, match="named 'bob' as the sender, not 'ada': one "
                                             "variable for all clients.*save_session"):
        await check_chat(chat_server(connect=one_name_for_all, say=say_as_everyone))


def said_as(event):
    def make(sio, state):
        async def say(sid, data):
            if not data.get("text"):
                return {"ok": False, "error": "say needs a text"}
            state.last_id += 1
            await sio.emit(event, {"id": state.last_id, "name": state.names[sid],
                                   "text": data["text"]})
            return {"ok": True, "id": state.last_id}
        return say
    return make


async def test_chat_explains_a_wrong_event_name():
    """Emitting 'message' instead of 'said' is pointed out by name."""
    with pytest.raises(AssertionError, match="nobody got 'said', but 'message' came: emit "
                                             "the event named 'said'"):
        await check_chat(chat_server(say=said_as("message")), wait=0.3)


def accepts_anything(sio, state):
    async def say(sid, data):
        state.last_id += 1
        await sio.emit("said", {"id": state.last_id, "name": state.names[sid],
                                "text": data.get("text")})
        return {"ok": True, "id": state.last_id}
    return say


def refuses_but_says(sio, state):
    async def say(sid, data):
        text = data.get("text")
        if text:
            state.last_id += 1
        await sio.emit("said", {"id": state.last_id, "name": state.names[sid], "text": text})
        return {"ok": True, "id": state.last_id} if text else {"ok": False, "error": "no text"}
    return say


def crashes_without_text(sio, state):
    async def say(sid, data):
        text = data["text"]
        if not text:
            return {"ok": False, "error": "say needs a text"}
        state.last_id += 1
        await sio.emit("said", {"id": state.last_id, "name": state.names[sid], "text": text})
        return {"ok": True, "id": state.last_id}
    return say


def say_without_data(sio, state):
    async def say(sid):
        return {"ok": True, "id": 1}
    return say


@pytest.mark.parametrize("say, hint", [
    (accepts_anything, r"said \{'text': ''\}, an empty text, and it was accepted"),
    (refuses_but_says, r"an empty text: it was refused, yet ada, bob got 'said': return the "
                       r"refusal before emitting"),
    (crashes_without_text, r"bob said \{\} and your 'say' handler raised KeyError: 'text' "
                           r"\(line \d+ of your code: `text = data\[\"text\"\]`\)\. A say "
                           r"without a usable text is answered"),
    (say_without_data, r"your 'say' handler raised TypeError.*`async def say\(sid, data\)`"),
], ids=["bad-text-accepted", "refused-but-said", "crash-on-no-text", "say-without-data"])
async def test_chat_explains_a_wrong_refusal_or_a_crash(say, hint):
    """A say with no usable text must be refused, without a said and without a crash."""
    with pytest.raises(AssertionError, match=hint):
        await check_chat(chat_server(say=say), wait=0.3)
    assert running.running() == {}


def connect_with(body):
    def make(sio, state):
        async def connect(sid, environ, auth):
            result = body(auth)
            state.names[sid] = (auth or {}).get("name")
            return result
        return connect
    return make


def let_everyone_in(auth):
    return None


def return_false(auth):
    if not (auth or {}).get("name"):
        return False


def builtin_refusal(auth):
    if not (auth or {}).get("name"):
        raise ConnectionRefusedError("Pick a name.")


def crash_on_no_auth(auth):
    if not auth["name"]:
        raise socketio.exceptions.ConnectionRefusedError("Pick a name.")


def crash_on_no_name(auth):
    if not (auth or {"name": ""})["name"]:
        raise socketio.exceptions.ConnectionRefusedError("Pick a name.")


def refuse_everyone(auth):
    raise socketio.exceptions.ConnectionRefusedError("Pick a name.")


@pytest.mark.parametrize("body, hint", [
    (let_everyone_in, "a client connected with no auth, no name, and your connect handler "
                      "let it in: refuse it with `raise socketio.exceptions."
                      "ConnectionRefusedError"),
    (return_false, "refused with socket.io's 'Connection rejected by server', which does not "
                   "say why"),
    (builtin_refusal, "it read 'Connection refused by server', not your sentence: that is "
                      "Python's own ConnectionRefusedError"),
    (crash_on_no_auth, r"a client connected with no auth and your 'connect' handler raised "
                       r"TypeError: 'NoneType' object is not subscriptable \(line \d+ of your "
                       r"code: .*\(auth or \{\}\).get"),
    (crash_on_no_name, r"a client connected with auth=\{'nick': 'cy'\} and your 'connect' "
                       r"handler raised KeyError: 'name'.*auth.get\(\"name\"\)"),
    (refuse_everyone, r"ada connected with auth=\{'name': 'ada'\} and was refused \('Pick a "
                      r"name.'\): let a client with a name in"),
], ids=["nameless-accepted", "return-false", "builtin-refusal", "crash-on-no-auth",
        "crash-on-no-name", "refuses-everyone"])
async def test_chat_explains_a_wrong_connect(body, hint, caplog):
    """Each wrong `connect` gets its hint, and python-socketio logs no traceback."""
    with pytest.raises(AssertionError, match=hint):
        await check_chat(chat_server(connect=connect_with(body)), wait=0.3)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert running.running() == {}


async def test_chat_explains_a_name_never_kept():
    """Without a connect handler, say's names[sid] fails: the hint says to keep it there."""
    with pytest.raises(AssertionError, match=r"raised KeyError: '[\w-]{20}' .*No name was kept "
                                             r"for that sid: keep it in connect"):
        await check_chat(chat_server(connect=None))


def session_chat(*, await_save=True, await_get=True, whole_data=False):
    """The chat with names in the session, and one slip switched on."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    last = {"id": 0}

    @sio.event
    async def connect(sid, environ, auth):
        if not (auth or {}).get("name"):
            raise socketio.exceptions.ConnectionRefusedError("Pick a name.")
        saved = sio.save_session(sid, {"name": auth["name"]})
        if await_save:
            await saved
        else:
            saved.close()  # what a forgotten await amounts to, without the warning

    @sio.on("say")
    async def say(sid, data):
        text = data.get("text")
        if not isinstance(text, str) or not text:
            return {"ok": False, "error": "say needs a text"}
        last["id"] += 1
        if await_get:
            name = (await sio.get_session(sid))["name"]
        else:
            session = sio.get_session(sid)
            session.close()
            name = session["name"]
        await sio.emit("said", {"id": last["id"], "name": name,
                                "text": data if whole_data else text})
        return {"ok": True, "id": last["id"]}

    return sio


@pytest.mark.parametrize("options, hint", [
    (dict(await_save=False), r"raised KeyError: 'name'.*The session holds no 'name': save it "
                             r"in connect with `await sio.save_session"),
    (dict(await_get=False), r"raised TypeError: 'coroutine' object is not subscriptable.*"
                            r"without `await`: write `\(await sio.get_session\(sid\)\)"),
    (dict(whole_data=True), r"'said' carried the text \{'text': \"hi, it's ada\"\}, the whole "
                            r"data of the say: send its text"),
], ids=["save-not-awaited", "get-not-awaited", "said-the-whole-data"])
async def test_chat_explains_a_session_slip(options, hint):
    """Forgetting `await` on the session, or passing the whole data on, gets its own hint."""
    with pytest.raises(AssertionError, match=hint):
        await check_chat(session_chat(**options), wait=0.3)
    assert running.running() == {}


async def test_chat_explains_a_counter_without_global():
    """`last_id += 1` in say without `global` names the variable and the fix."""
    sio = session_chat()
    source = ("async def say(sid, data):\n"
              "    last_id += 1\n"
              "    return {'ok': True, 'id': last_id}\n")
    namespace = {"last_id": 0}
    exec(compile(source, "<learner>", "exec"), namespace)
    sio.on("say", namespace["say"])
    with pytest.raises(AssertionError, match=r"raised UnboundLocalError: .*'last_id'.*write "
                                             r"`global last_id` at the top of the handler"):
        await check_chat(sio, wait=0.3)
