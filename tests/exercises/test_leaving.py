"""Notebook 03's checks: check_bye_and_left explains each wrong `bye`, `goodbye` and
`left`; check_nothing_lost each way a chat loses or repeats messages across a drop."""

import logging
from functools import partial

import pytest
import socketio

from chatkit import exercises, running
from chatkit.client import ChatClient
from chatkit.server import ChatServer
from tests.conftest import timeout
from tests.exercises.answers import leaving_server as server
from tests.exercises.answers import nothing_lost_server, resuming_join


async def check(sio, wait=0.5):
    """Run the check with short waits, as a learner's wrong answer would make it wait."""
    await exercises.check_bye_and_left(sio, timeout=timeout(wait))


async def test_accepts_a_class_based_namespace_and_a_legacy_disconnect(capsys):
    """An AsyncNamespace with sessions, whose on_disconnect takes no reason, passes too."""
    class Room(socketio.AsyncNamespace):
        async def on_connect(self, sid, environ, auth):
            await self.save_session(sid, {"name": auth["name"]})

        async def on_bye(self, sid):
            name = (await self.get_session(sid))["name"]
            await self.emit("goodbye", f"goodbye, {name}", to=sid)
            await self.disconnect(sid)

        async def on_disconnect(self, sid):
            await self.emit("left", (await self.get_session(sid))["name"], skip_sid=sid)

    sio = socketio.AsyncServer(async_mode="aiohttp")
    sio.register_namespace(Room("/"))
    await check(sio, wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_accepts_a_legacy_disconnect_handler_without_reason(capsys):
    """A decorated `disconnect(sid)` without the reason argument passes."""
    def legacy(sio, names):
        async def disconnect(sid):
            await sio.emit("left", names.pop(sid), skip_sid=sid)
        return disconnect
    await check(server(disconnect=legacy), wait=2)
    assert "Right:" in capsys.readouterr().out


async def test_explains_a_missing_bye_handler():
    """Without a `bye` handler nothing happens: the hint says to register one."""
    sio = server()
    del sio.handlers["/"]["bye"]
    with pytest.raises(AssertionError, match=r"nothing happened .* @sio.on\(\"bye\"\)"):
        await check(sio, wait=0.3)
    assert running.running() == {}


async def test_explains_a_bye_that_does_not_disconnect():
    """A goodbye without disconnect(sid) is told to end with it."""
    def goodbye_only(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
        return bye
    with pytest.raises(AssertionError, match=r"got her goodbye, but she was still connected"
                                             r".*await sio.disconnect\(sid\)"):
        await check(server(bye=goodbye_only), wait=0.3)


async def test_explains_a_goodbye_sent_after_the_disconnect():
    """disconnect(sid) before the goodbye: the goodbye never arrives, the hint says why."""
    def too_late(sio, names):
        async def bye(sid):
            name = names[sid]
            await sio.disconnect(sid)
            await sio.emit("goodbye", f"goodbye, {name}", to=sid)
        return bye
    with pytest.raises(AssertionError, match=r"got no 'goodbye' first: emit it \*before\*"):
        await check(server(bye=too_late))


async def test_explains_a_wrong_goodbye_text():
    """A goodbye with other words is shown next to the one expected."""
    def wrong_words(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", "bye!", to=sid)
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match=r"with 'bye!', expected 'goodbye, alice'"):
        await check(server(bye=wrong_words))


async def test_explains_a_goodbye_to_everyone():
    """A goodbye emitted to all reaches the others: the hint says to=sid."""
    def to_all(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}")
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match="bob got her goodbye too.*to=sid"):
        await check(server(bye=to_all))


async def test_explains_a_bye_handler_that_expects_an_argument():
    """`bye(sid, text)` fails on a bye without arguments: the hint names the signature."""
    def with_text(sio, names):
        async def bye(sid, text):
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match=r"'bye' handler raised TypeError.*"
                                             r"`async def bye\(sid\)`"):
        await check(server(bye=with_text), wait=0.3)


async def test_explains_left_announced_only_after_bye():
    """`left` sent from the bye handler only: carol's own hang-up goes unannounced."""
    def announce_in_bye(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
            await sio.emit("left", names[sid], skip_sid=sid)
            await sio.disconnect(sid)
        return bye

    def silent(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
        return disconnect
    with pytest.raises(AssertionError, match=r"carol disconnected by herself.*bob got no 'left' "
                                             r"about her.*`disconnect` handler"):
        await check(server(bye=announce_in_bye, disconnect=silent))


async def test_explains_left_announced_twice():
    """`left` sent from both handlers reaches the others twice: emit it in one place."""
    def announce_in_bye(sio, names):
        async def bye(sid):
            await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
            await sio.emit("left", names[sid], skip_sid=sid)
            await sio.disconnect(sid)
        return bye
    with pytest.raises(AssertionError, match="got 'left' 2 times: emit it in one place only"):
        await check(server(bye=announce_in_bye))


async def test_explains_no_left_at_all():
    """A server that never sends `left` is told to send it."""
    def silent(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
        return disconnect
    with pytest.raises(AssertionError, match="bob got no 'left' event"):
        await check(server(disconnect=silent), wait=0.3)


async def test_explains_left_with_the_sid_instead_of_the_name():
    """`left` carrying the sid is shown next to the name expected."""
    def sid_not_name(sio, names):
        async def disconnect(sid, reason):
            names.pop(sid)
            await sio.emit("left", sid, skip_sid=sid)
        return disconnect
    with pytest.raises(AssertionError, match="expected 'alice', her name"):
        await check(server(disconnect=sid_not_name))


# -- check_nothing_lost: the chat that loses nothing across a drop ----------------------

async def lose(sio=None, join=resuming_join, wait=0.5):
    """Run check_nothing_lost with short waits, on the right server unless given."""
    await exercises.check_nothing_lost(sio or nothing_lost_server(), join,
                                       timeout=timeout(wait))


def replaying(choose, to_all=False):
    """A connect handler that replays ``choose(history, offset)`` (to everyone if asked)."""
    def make(sio, names, history):
        async def connect(sid, environ, auth):
            names[sid] = auth["name"]
            for message in choose(history, auth.get("offset")):
                await sio.emit("said", message, **({} if to_all else {"to": sid}))
        return connect
    return make


async def test_a_right_chat_loses_nothing_and_says_so(capsys):
    """The right answer passes and prints lost=0 duplicated=0."""
    await lose(wait=2)
    assert "lost=0 duplicated=0" in capsys.readouterr().out
    assert running.running() == {}


async def test_refuses_chatkits_client_and_server():
    """ChatClient, a join that uses it, and ChatServer are refused with a sentence."""
    with pytest.raises(AssertionError, match="chatkit's ChatClient, the finished version"):
        await lose(join=ChatClient)

    async def via_chatclient(url, name, received):
        return await ChatClient(name, reconnect=False).connect(url)
    with pytest.raises(AssertionError, match="chatkit's ChatClient, the finished version"):
        await lose(join=via_chatclient)
    with pytest.raises(AssertionError, match="chatkit's ChatServer, the finished version"):
        await lose(sio=ChatServer(), wait=0.5)
    with pytest.raises(AssertionError, match="chatkit's ChatServer, the finished version"):
        await lose(sio=ChatServer().sio, wait=0.5)
    assert running.running() == {}


async def test_explains_a_server_that_does_not_replay():
    """A server that only keeps 02's behaviour: dan, connecting with an offset, gets nothing."""
    with pytest.raises(AssertionError, match=r"dan connected with auth=.*got nothing: keep "
                                             r"every message in a list"):
        await lose(nothing_lost_server(connect=replaying(lambda history, offset: [])))


async def test_explains_a_replay_of_all_history():
    """Replaying everything, whatever the offset: the hint says to replay only greater ids."""
    with pytest.raises(AssertionError, match="replay only the ids greater than his offset, "
                                             "not all history"):
        await lose(nothing_lost_server(connect=replaying(lambda history, offset: history)))


async def test_explains_a_replay_from_the_offset_itself():
    """`>=` instead of `>`: the message at the offset comes again."""
    def from_offset(history, offset):
        return [m for m in history if offset is not None and m["id"] >= offset]
    with pytest.raises(AssertionError, match=r"\(>, not >=\)"):
        await lose(nothing_lost_server(connect=replaying(from_offset)))


async def test_explains_a_replay_sent_to_everyone():
    """A replay without to=sid reaches bob and cy too."""
    def after(history, offset):
        return [m for m in history if offset is not None and m["id"] > offset]
    with pytest.raises(AssertionError, match="send the replay to dan alone, to=sid"):
        await lose(nothing_lost_server(connect=replaying(after, to_all=True)))


async def test_explains_a_replay_sent_as_one_list():
    """The missed messages in one `said` (a list): the hint says one `said` per message."""
    def as_list(sio, names, history):
        async def connect(sid, environ, auth):
            names[sid] = auth["name"]
            if "offset" in auth:
                missed = [m for m in history if m["id"] > auth["offset"]]
                await sio.emit("said", missed, to=sid)
        return connect
    with pytest.raises(AssertionError, match=r"got `said` with \[\{'id': 3.*\}\]: send each "
                                             r"message he missed as a `said` of its own"):
        await lose(nothing_lost_server(connect=as_list))


async def test_explains_an_auth_without_the_name():
    """An auth function that forgets the name: the server's refusal shows what it got."""
    async def join(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.1)
        client.on("said", received.append)
        await client.connect(url, transports=["websocket"], auth=lambda: {"offset": 0})
        return client

    def refusing(sio, names, history):
        async def connect(sid, environ, auth):
            if "name" not in auth:
                raise socketio.exceptions.ConnectionRefusedError("Pick a name.")
            names[sid] = auth["name"]
            for message in history:
                if message["id"] > auth.get("offset", message["id"]):
                    await sio.emit("said", message, to=sid)
        return connect
    with pytest.raises(AssertionError, match=r"raised ConnectionError: .*your server got "
                                             r"auth=\{'offset': 0\} and refused it: send her "
                                             r"name too"):
        await lose(nothing_lost_server(connect=refusing), join=join)
    assert running.running() == {}


async def test_explains_a_connect_handler_that_requires_an_offset(caplog):
    """auth["offset"] for a client that sent none: the hint says auth.get, no traceback."""
    def strict(sio, names, history):
        async def connect(sid, environ, auth):
            names[sid] = auth["name"]
            for message in history[auth["offset"]:]:
                await sio.emit("said", message, to=sid)
        return connect
    with pytest.raises(AssertionError, match=r"raised KeyError: 'offset' \(line .*"
                                             r"auth.get\(\\?\"offset\\?\"\)"):
        await lose(nothing_lost_server(connect=strict))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_explains_an_ack_without_the_id():
    """02's say must answer {"ok": True, "id": n}: a say that answers nothing is told."""
    def silent(sio, names, history):
        async def say(sid, data):
            history.append({"id": len(history) + 1, "name": names[sid], "text": data["text"]})
            await sio.emit("said", history[-1])
        return say
    with pytest.raises(AssertionError, match=r"got the ack None; expected \{'ok': True"):
        await lose(nothing_lost_server(say=silent))


async def test_explains_a_static_auth_dict():
    """A dict made once: it comes back with offset 0, and the server resends all history."""
    with pytest.raises(AssertionError, match=r"came back with auth=\{'name': 'ada', 'offset': "
                                             r"0\}: an old offset.*pass auth as a function"):
        await lose(join=partial(resuming_join, auth="dict"))


async def test_explains_a_client_that_sends_no_offset():
    """02's client (a name only) loses what was said while it was away."""
    with pytest.raises(AssertionError, match=r"no offset, so your server could not know what "
                                             r"she missed \(she lost \[\d+, \d+, \d+\]\)"):
        await lose(join=partial(resuming_join, auth="name"))


async def test_explains_a_client_that_keeps_duplicates():
    """Without dropping seen ids, the overlapping copy the check sends is kept twice."""
    with pytest.raises(AssertionError, match=r"she kept it twice: drop a `said` whose id she "
                                             r"has \(keep the ids in a set\)"):
        await lose(join=partial(resuming_join, dedupe=False))


async def test_explains_a_said_handler_that_raises(caplog):
    """A client handler that raises is named, with the learner's line, not a traceback."""
    async def join(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.1)
        client.on("said", lambda message: received.append(message["msg"]))
        await client.connect(url, transports=["websocket"], auth={"name": name})
        return client
    with pytest.raises(AssertionError, match=r"your 'said' handler raised KeyError: 'msg' "
                                             r"\(line \d+ of your code: .*A `said` message"):
        await lose(join=join)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_explains_an_auth_function_that_raises(caplog):
    """An auth function that fails at the first connection is named with its line."""
    async def join(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False)
        await client.connect(url, transports=["websocket"],
                             auth=lambda: {"name": name, "offset": received[-1]["id"]})
        return client
    with pytest.raises(AssertionError, match=r"could not connect: IndexError: list index out "
                                             r"of range \(line \d+ of your code: `auth=lambda"
                                             r".*does your auth function raise"):
        await lose(join=join)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_explains_a_join_that_crashes():
    """join raising before it connects: the message names the error and the line."""
    async def join(url, name, received):
        raise RuntimeError("not written yet")
    with pytest.raises(AssertionError, match=r"join\(url, 'ada', received\) raised "
                                             r"RuntimeError: not written yet \(line"):
        await lose(join=join)
    assert running.running() == {}


async def test_explains_a_join_that_returns_nothing_or_is_not_async():
    """join must be async and return its client."""
    async def no_return(url, name, received):
        await resuming_join(url, name, received)
    with pytest.raises(AssertionError, match="returned None: return the socketio.AsyncClient"):
        await lose(join=no_return)

    def not_async(url, name, received):
        return None
    with pytest.raises(AssertionError, match="not a coroutine: write it with `async def`"):
        await lose(join=not_async)


async def test_explains_a_client_without_reconnection_or_with_sigint():
    """reconnection=False would never come back; handle_sigint must be False."""
    with pytest.raises(AssertionError, match="reconnection=False: it would not come back"):
        await lose(join=partial(resuming_join, reconnection=False))

    async def sigint(url, name, received):
        client = await resuming_join(url, name, received)
        client.eio.handle_sigint = True  # what the default would be; not set for real here
        return client
    with pytest.raises(AssertionError, match=r"AsyncClient\(handle_sigint=False\)"):
        await lose(join=sigint)


async def test_explains_received_holding_texts():
    """Appending the text instead of the message dict is shown."""
    async def texts(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.1)
        client.on("said", lambda message: received.append(message["text"]))
        await client.connect(url, transports=["websocket"], auth={"name": name})
        return client
    with pytest.raises(AssertionError, match="received holds 'bob #4': append the `said` "
                                             "message itself"):
        await lose(join=texts)


async def test_explains_a_client_without_said_handler():
    """No handler for `said`: nothing reaches received, and the hint says register one."""
    async def deaf(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False)
        await client.connect(url, transports=["websocket"], auth={"name": name})
        return client
    with pytest.raises(AssertionError, match=r"no handler for `said`.*client.on\(\"said\", "
                                             r"handler\)"):
        await lose(join=deaf, wait=0.3)


async def test_explains_a_said_handler_that_keeps_nothing():
    """A handler that runs but fills another list: the hint says it ran, append to received."""
    async def elsewhere(url, name, received):
        client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.1)
        mine = []
        client.on("said", mine.append)
        await client.connect(url, transports=["websocket"], auth={"name": name})
        return client
    with pytest.raises(AssertionError, match=r"your `said` handler ran \d+ times, but received "
                                             r"holds 0 messages"):
        await lose(join=elsewhere, wait=0.3)


async def test_explains_ids_that_do_not_grow():
    """Every message acked with the same id: no client could tell new from seen."""
    def same_id(sio, names, history):
        async def say(sid, data):
            history.append({"id": 1, "name": names[sid], "text": data["text"]})
            await sio.emit("said", history[-1])
            return {"ok": True, "id": 1}
        return say
    with pytest.raises(AssertionError, match="each new one needs a greater id"):
        await lose(nothing_lost_server(say=same_id))
