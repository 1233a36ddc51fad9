"""Notebook 01's checks explain a wrong handler, and a crash at once: check_shout_server
(the warm-up) and check_json_chat (the learner's JSON chat)."""

import asyncio
import json

import pytest

from chatkit import exercises, running, websocket
from tests.conftest import timeout
from tests.exercises import answers


async def test_explains_an_echo():
    """Sending the message back unchanged fails with a hint to use upper()."""
    async def echo(connection):
        async for message in connection:
            await connection.send(message)

    with pytest.raises(AssertionError, match=r"unchanged: send `message.upper\(\)`"):
        await exercises.check_shout_server(echo, timeout=timeout(1))
    assert "exercise-shout" not in running.running()


async def test_explains_a_silent_handler():
    """A handler that never answers fails with a hint to send, after the timeout."""
    async def silent(connection):
        async for _ in connection:
            pass

    with pytest.raises(AssertionError, match=f"got no answer within {timeout(0.3):g} s"):
        await exercises.check_shout_server(silent, timeout=timeout(0.3))


async def test_explains_a_missing_close():
    """Answering 'bye' instead of closing fails with the close call to write."""
    async def no_close(connection):
        async for message in connection:
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match=r"got 'BYE' before the close|stayed open"):
        await exercises.check_shout_server(no_close, timeout=timeout(0.3))


async def test_explains_a_wrong_close_code():
    """Closing with 1000 instead of 4000 fails and shows the code that was seen."""
    async def normal_close(connection):
        async for message in connection:
            if message == "bye":
                await connection.close()
                return
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match="closed with code 1000 and reason ''"):
        await exercises.check_shout_server(normal_close, timeout=timeout(1))


async def test_explains_looping_on_after_close():
    """A handler that keeps iterating after close(4000) fails with the advice to return."""
    async def keeps_looping(connection):
        async for message in connection:
            if message == "bye":
                await connection.close(4000, "bye")
            else:
                await connection.send(message.upper())

    with pytest.raises(AssertionError, match="ConnectionClosedError.*with `return`"):
        await exercises.check_shout_server(keeps_looping, timeout=timeout(1))


async def test_reports_a_crash_at_once():
    """A handler that raises is named with its exception, without waiting out the timeout."""
    async def typo(connection):
        async for message in connection:
            await connection.send(message.uper())

    with pytest.raises(AssertionError, match="sent 'hello' and your handler raised "
                                             "AttributeError: .*'uper'"):
        # The check's own timeout is long: only the close (1011) can end it in time.
        await asyncio.wait_for(exercises.check_shout_server(typo, timeout=timeout(60)),
                               timeout(10))
    assert running.running() == {}


async def test_reports_a_crash_on_bye():
    """A handler that raises on 'bye' is named with its exception."""
    async def no_goodbyes(connection):
        async for message in connection:
            if message == "bye":
                raise ValueError("no goodbyes")
            await connection.send(message.upper())

    with pytest.raises(AssertionError, match="sent 'bye' and your handler raised "
                                             "ValueError: no goodbyes"):
        await exercises.check_shout_server(no_goodbyes, timeout=timeout(1))


async def test_explains_a_handler_that_answers_once():
    """A handler that answers one message and returns is told to loop."""
    async def once(connection):
        await connection.send((await connection.recv()).upper())

    with pytest.raises(AssertionError, match=r"sent 'Mixed Case 42' and the connection "
                                             r"closed \(code 1000\) without an answer: "
                                             r"answer every message in a loop"):
        await asyncio.wait_for(exercises.check_shout_server(once, timeout=timeout(60)),
                               timeout(10))


# -- check_json_chat: the learner's JSON chat -------------------------------------------------

def chat_variant(*, ids_per_connection=False, first_id=1, check_object=True,
                 check_hello=True, check_text=True, catch_json=True, answer_errors=True,
                 error=lambda reason: {"type": "error", "error": reason},
                 errors_to_everyone=False, close_on_error=False, include_sender=True,
                 only_sender=False, encode=json.dumps, forget=True, await_before_count=False,
                 index_names=False):
    """The right chat, with one mistake switched on: each option is one a learner makes."""
    clients = {}
    state = {"next": first_id}

    async def send_all(text, sender):
        for connection in list(clients):
            if connection is sender and not include_sender:
                continue
            if only_sender and connection is not sender:
                continue
            await connection.send(text)

    async def refuse(connection, reason):
        if not answer_errors:
            return
        text = json.dumps(error(reason))
        await (send_all(text, connection) if errors_to_everyone else connection.send(text))
        if close_on_error:
            await connection.close()

    async def chat(connection):
        local = {"next": first_id}
        counter = local if ids_per_connection else state
        try:
            async for frame in connection:
                if catch_json:
                    try:
                        message = json.loads(frame)
                    except ValueError:
                        await refuse(connection, "not JSON")
                        continue
                else:
                    message = json.loads(frame)
                if check_object and not isinstance(message, dict):
                    await refuse(connection, "not an object")
                    continue
                kind = message["type"] if not check_object else message.get("type")
                if kind == "hello":
                    clients[connection] = message["name"]
                elif kind == "say":
                    if check_hello and connection not in clients:
                        await refuse(connection, "say hello first")
                        continue
                    if check_text and not message.get("text"):
                        await refuse(connection, "no text")
                        continue
                    number = counter["next"]
                    if await_before_count:
                        await asyncio.sleep(timeout(0.2))  # another say arrives meanwhile
                    counter["next"] = number + 1
                    name = clients[connection] if index_names else clients.get(connection)
                    said = {"type": "said", "id": number, "name": name,
                            "text": message.get("text")}
                    await send_all(encode(said), connection)
                else:
                    await refuse(connection, f"unknown type {kind!r}")
        finally:
            if forget:
                clients.pop(connection, None)

    return chat


async def check(chat, wait=1):
    await asyncio.wait_for(exercises.check_json_chat(chat, timeout=timeout(wait)),
                           timeout(30))


async def test_json_chat_accepts_a_right_chat_twice_in_a_row(capsys):
    """The right answer passes, and again on the same handler (its ids go on counting)."""
    chat = answers.json_chat()
    await check(chat)
    await check(chat)
    assert capsys.readouterr().out.count("Right:") == 2
    assert running.running() == {}


async def test_json_chat_also_accepts_the_variant_with_every_rule_in_place():
    """The test's own builder, with no mistake switched on, passes: the variants below
    differ from a right answer by their one mistake only."""
    await check(chat_variant())


@pytest.mark.parametrize("shortcut", [websocket.broadcast, websocket.echo],
                         ids=["broadcast", "echo"])
async def test_json_chat_refuses_chatkits_ready_made_handlers(shortcut):
    """Passing chatkit.websocket.broadcast or echo is refused with a sentence, at once."""
    with pytest.raises(AssertionError, match="chatkit's ready-made relay.*Write your own"):
        await check(shortcut)
    assert running.running() == {}


async def test_json_chat_refuses_a_called_handler():
    """chat() instead of chat: says to pass the function itself."""
    called = answers.json_chat()(None)
    try:
        with pytest.raises(AssertionError, match=r"not check_json_chat\(chat\(\)\)"):
            await check(called)
    finally:
        called.close()


@pytest.mark.parametrize("mistake, hint, wait", [
    (dict(include_sender=False),
     r"ada sent hello, then say, and got nothing back within .* the sender included", 0.3),
    (dict(only_sender=True), r"bob said 'hello ada', and ada did not get it .* keep every "
                             r"connection that said hello", 0.3),
    (dict(ids_per_connection=True), r"bob's said got id 1, the id of the message before "
                                    r"it: keep one counter for the whole server", 1),
    (dict(first_id=0), "the first said has id 0: ids count from 1", 1),
    (dict(encode=str), r"ada got \"\{'type': 'said'.*which is not JSON: send "
                       r"json.dumps\(reply\), not str\(reply\)", 1),
    (dict(encode=lambda said: json.dumps(said).encode()), "ada got a binary frame", 1),
    (dict(await_before_count=True), r"two got the same id .* with no `await` in between", 1),
    (dict(errors_to_everyone=True), r'bob got \{"type": "error".*an error meant for ada: '
                                    r"send errors to the sender only", 1),
    (dict(answer_errors=False), r"ada sent 'hello everyone' \(text that is not JSON\) and got "
                                r"no answer within .* \{\"type\": \"error\"", 0.3),
    (dict(close_on_error=True), r"the server closed ada's connection \(code 1000\) after "
                                r"answering 'hello everyone': keep it open", 1),
    (dict(error=lambda reason: {"type": "error", "message": reason}),
     r"ada sent 'hello everyone' \(text that is not JSON\) and got .*: say what was wrong in "
     r"\"error\"", 1),
    (dict(error=lambda reason: {"error": reason}),
     r'and got \{"error": "not JSON"\}; expected \{"type": "error"', 1),
    (dict(check_text=False), r"ada sent \{\"type\": \"say\"\} \(a say without text\) and got "
                             r"a said", 1),
    (dict(check_hello=False), r"dave sent a say before saying hello and got no answer", 0.3),
    (dict(forget=False), r"when ada sent .*bye bob.*, your handler raised "
                         r"ConnectionClosedOK.*forget each connection when its handler ends", 1),
], ids=["sender-left-out", "only-to-sender", "ids-per-connection", "ids-from-0",
        "python-repr", "binary", "await-between-id-and-count", "errors-to-everyone",
        "errors-unanswered", "closes-on-error", "error-without-sentence",
        "error-without-type", "empty-text-accepted", "say-before-hello", "never-forgets"])
async def test_json_chat_explains_each_mistake(mistake, hint, wait):
    """Each typical mistake fails with its own hint, and nothing is left running."""
    with pytest.raises(AssertionError, match=hint):
        await check(chat_variant(**mistake), wait)
    assert running.running() == {}


@pytest.mark.parametrize("mistake, hint", [
    (dict(catch_json=False), r"when ada sent 'hello everyone', your handler raised "
                             r"JSONDecodeError: Expecting value.*\(line \d+ of your code: "
                             r"`message = json.loads\(frame\)`\).*catch it"),
    (dict(check_object=False), r"when ada sent \[1, 2, 3\], your handler raised TypeError.*"
                               r"check isinstance\(message, dict\) first"),
], ids=["not-json", "not-an-object"])
async def test_json_chat_names_a_crash_and_the_line(mistake, hint):
    """A handler that raises on bad input is named with its exception and line, at once."""
    with pytest.raises(AssertionError, match=hint):
        await check(chat_variant(**mistake), wait=60)  # only the 1011 close can end it in time
    assert running.running() == {}


async def test_json_chat_names_any_other_crash():
    """An exception of the learner's own (a typo) is named, with advice to fix that line."""
    async def typo(connection):
        async for frame in connection:
            await connection.send(json.dumps(json.loads(frame) and mesage))  # noqa: F821

    with pytest.raises(AssertionError, match=r"your handler raised NameError: name 'mesage' "
                                             r"is not defined.*Fix that line"):
        await check(typo, wait=60)


async def test_json_chat_explains_a_handler_that_outlives_its_client():
    """A handler that keeps running after its client left is told to loop on the connection."""
    right = answers.json_chat()

    async def lingers(connection):
        await right(connection)
        await asyncio.sleep(timeout(3))

    with pytest.raises(AssertionError, match="your handler for him was still running"):
        await check(lingers, wait=0.3)


async def test_json_chat_explains_a_counter_without_global():
    """`last_id += 1` on a module-level counter without `global` gets the advice to add it."""
    source = (
        "async def forgot_global(connection):\n"
        "    async for frame in connection:\n"
        "        message = json.loads(frame)\n"
        "        if message['type'] == 'hello':\n"
        "            names[connection] = message['name']\n"
        "        else:\n"
        "            last_id += 1\n")
    namespace = {"json": json, "names": {}, "last_id": 0}
    exec(compile(source, "<learner>", "exec"), namespace)
    with pytest.raises(AssertionError, match=r"raised UnboundLocalError: .*'last_id'.*write "
                                             r"`global last_id` at the top of the handler"):
        await check(namespace["forgot_global"], wait=60)


async def test_json_chat_explains_a_say_from_a_connection_without_a_name():
    """`names[connection]` for a client that never said hello names the missing check."""
    with pytest.raises(AssertionError, match=r"when dave sent .*raised KeyError: <the "
                                             r"connection>.*has not said hello"):
        await check(chat_variant(check_hello=False, index_names=True), wait=60)


@pytest.mark.parametrize("check_handler", [exercises.check_shout_server,
                                           exercises.check_json_chat], ids=["shout", "chat"])
async def test_a_plain_def_is_told_to_be_async(check_handler):
    """A handler written with `def` instead of `async def` is told so, by its name."""
    def shout(connection):
        return None

    with pytest.raises(AssertionError, match=r"shout is a plain `def`.*write it `async def"):
        await check_handler(shout)
    assert running.running() == {}

