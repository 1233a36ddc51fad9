"""`python -m chatkit serve`, run as a real subprocess, the way a teacher runs it."""

import asyncio
import json
import os
import re
import signal
import stat
import sys
from urllib.parse import urlsplit

import pytest
import socketio

from chatkit import protocol, running
from chatkit.addresses import student_urls
from chatkit.client import ChatClient
from tests.conftest import RawPeer, timeout
from tests.redisserver import redis_url  # noqa: F401 (a fixture)


class Serve:
    """A `python -m chatkit serve` subprocess and what it printed."""

    def __init__(self, process):
        self.process = process
        self.lines = []

    @classmethod
    async def start(cls, *options):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chatkit", "serve", "--port", "0", *options,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        serve = cls(process)
        await serve.read_until("Press Ctrl-C to stop.")
        return serve

    async def read_until(self, wanted):
        while not any(wanted in line for line in self.lines):
            line = await asyncio.wait_for(self.process.stdout.readline(), timeout(15))
            if not line:
                errors = await self.process.stderr.read()
                raise AssertionError(f"exited before printing {wanted!r}: {errors.decode()}")
            self.lines.append(line.decode().rstrip("\n"))

    @property
    def url(self):
        return re.search(r"connect to: (https?://\S+)", "\n".join(self.lines)).group(1)

    @property
    def join_code(self):
        return re.search(r"Join code: (\S+)", "\n".join(self.lines)).group(1)

    @property
    def teacher_token(self):
        return re.search(r"Teacher token: (\S+)", "\n".join(self.lines)).group(1)

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1])

    async def stop(self, signum=signal.SIGTERM):
        """Send a signal; return the exit status and everything printed afterwards."""
        self.process.send_signal(signum)
        out, err = await asyncio.wait_for(self.process.communicate(), timeout(15))
        return self.process.returncode, out.decode(), err.decode()

    def kill(self):
        if self.process.returncode is None:
            self.process.kill()


def assert_gone(pid):
    """No process with this pid is left (not even a zombie: it was waited for)."""
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.fixture
async def launched():
    """Starts `python -m chatkit serve` processes; at the end, none is left running."""
    started = []

    async def launch(*options):
        started.append(await Serve.start(*options))
        return started[-1]

    yield launch
    for serve in started:
        serve.kill()
        await serve.process.wait()
    for serve in started:
        assert_gone(serve.process.pid)


async def connect(raw_peers, url, auth, namespace=protocol.CHAT):
    """A raw client of ``namespace`` (the chat's unless told) and its refusals; the client
    is None if it was refused."""
    peer = raw_peers(namespace)
    try:
        await peer.connect(url, auth)
    except socketio.exceptions.ConnectionError:
        return None, peer.refusals
    return peer, peer.refusals


async def test_serve_prints_url_and_code_chats_and_stops_on_sigterm(launched, raw_peers):
    """The server prints its URL and code, serves a client, logs it, exits 0 on SIGTERM."""
    serve = await launched("--join-code", "blue-fox-12")
    assert serve.join_code == "blue-fox-12"
    assert serve.url.startswith("http://127.0.0.1:")
    client, _ = await connect(raw_peers, serve.url, {"name": "ada", "code": "blue-fox-12"})
    assert (await client.call("join", {"room": "lobby"}))["ok"]
    await client.disconnect()
    status, out, err = await serve.stop(signal.SIGTERM)
    assert status == 0
    assert "Stopped." in out
    assert "ada connected" in err and "ada disconnected" in err


async def test_wrong_join_code_is_refused_with_the_message(launched, raw_peers):
    """A client with a wrong code gets the server's sentence, and the server keeps running."""
    serve = await launched("--join-code", "blue-fox-12")
    client, errors = await connect(raw_peers, serve.url, {"name": "ada", "code": "red-fox-12"})
    assert client is None
    assert errors == [{"message": "Wrong join code: check it with your teacher."}]
    status, _, err = await serve.stop(signal.SIGINT)
    assert status == 0 and "refused a connection: Wrong join code" in err


@pytest.mark.parametrize("wrong_tries", [None, 8])
async def test_wrong_tries_sets_how_many_wrong_codes_an_address_sends_before_waiting(
        launched, raw_peers, wrong_tries):
    """A class behind one address (JupyterHub) needs more than the default 3 free tries:
    --wrong-tries 8 lets 8 wrong codes through without a wait, and the right code after."""
    options = [] if wrong_tries is None else ["--wrong-tries", str(wrong_tries)]
    serve = await launched("--join-code", "blue-fox-12", *options)
    free = wrong_tries or 3
    for attempt in range(1, free + 1):  # new connections: the per-connection close stays out
        _, errors = await connect(raw_peers, serve.url, {"name": f"s{attempt}", "code": "x"})
        waits = "Wait 1 s before the next try" in errors[0]["message"]
        assert waits == (attempt == free), (attempt, errors)  # the last free one says so
    _, errors = await connect(raw_peers, serve.url, {"name": "ada", "code": "blue-fox-12"})
    assert "Too many wrong tries" in errors[0]["message"]  # even the right code, meanwhile
    await asyncio.sleep(1.2)
    client, _ = await connect(raw_peers, serve.url, {"name": "ada", "code": "blue-fox-12"})
    assert client is not None
    await client.disconnect()
    await serve.stop(signal.SIGTERM)


async def test_missing_join_code_is_refused_with_the_message(launched, raw_peers):
    """A client that sends no code is told it needs one."""
    serve = await launched("--join-code", "blue-fox-12")
    client, errors = await connect(raw_peers, serve.url, {"name": "ada"})
    assert client is None
    assert errors == [{"message": "This chat needs a join code: ask your teacher for it."}]


async def test_a_name_taken_is_refused_with_the_message(launched, raw_peers):
    """A second student under a name in use is refused; the first one stays."""
    serve = await launched("--open")
    ada, _ = await connect(raw_peers, serve.url, {"name": "ada"})
    again, errors = await connect(raw_peers, serve.url, {"name": "ada"})
    assert again is None
    assert errors == [{"message": "The name 'ada' is taken by someone connected now. "
                                  "Pick another name."}]
    assert ada.connected
    await ada.disconnect()


async def test_a_flooding_student_is_throttled_while_others_are_heard(launched, raw_peers):
    """With --rate/--burst, a flood is refused with a notice; other students still get through."""
    serve = await launched("--open", "--rate", "0.01", "--burst", "3")
    assert "Limits: 0.01 messages per second per student (bursts of 3)" in "\n".join(serve.lines)
    ada, _ = await connect(raw_peers, serve.url, {"name": "ada"})
    bob, _ = await connect(raw_peers, serve.url, {"name": "bob"})
    for client in (ada, bob):
        await client.call("join", {"room": "lobby"})
    acks = [await ada.call("say", {"room": "lobby", "text": f"flood {n}"}) for n in range(5)]
    assert [ack["ok"] for ack in acks] == [True, True, True, False, False]
    assert acks[-1]["error"].startswith("You are sending messages too fast")
    assert (await bob.call("say", {"room": "lobby", "text": "bob here"}))["ok"]
    await ada.wait(lambda: "bob here" in [m["text"] for m in ada.of("said")], "bob's message")
    heard, notices = [message["text"] for message in ada.of("said")], ada.of("notice")
    assert heard == ["flood 0", "flood 1", "flood 2", "bob here"]
    assert [notice["text"] for notice in notices] == [
        "Slow down: you may say at most 0.01 messages per second. "
        "Messages sent faster are refused."]
    for client in (ada, bob):
        await client.disconnect()


async def test_a_message_too_long_is_refused_with_the_limit(launched, raw_peers):
    """--max-text sets the longest message; a longer one is refused with a sentence."""
    serve = await launched("--open", "--max-text", "10")
    ada, _ = await connect(raw_peers, serve.url, {"name": "ada"})
    await ada.call("join", {"room": "lobby"})
    ack = await ada.call("say", {"room": "lobby", "text": "x" * 11})
    assert ack == {"ok": False, "error": "The message is too long (11 characters): at most 10."}
    assert (await ada.call("say", {"room": "lobby", "text": "x" * 10}))["ok"]
    await ada.disconnect()


async def test_default_join_code_is_random_and_readable(launched, raw_peers):
    """Without --join-code the server makes up a code of two words and a number."""
    serve = await launched()
    assert re.fullmatch(r"[a-z]+-[a-z]+-[a-z]+-\d\d", serve.join_code)
    client, _ = await connect(raw_peers, serve.url, {"name": "ada", "code": serve.join_code})
    await client.disconnect()
    status, _, _ = await serve.stop()
    assert status == 0


async def test_default_teacher_token_is_random_and_printed_once(launched, raw_peers):
    """Without --teacher-token the server makes one up and prints it exactly once."""
    serve = await launched("--open")
    token = serve.teacher_token
    assert len(token) >= 16 and token != (await launched("--open")).teacher_token
    client, _ = await connect(raw_peers, serve.url, {"name": "ada"})
    await client.disconnect()
    status, out, err = await serve.stop()
    assert status == 0
    assert ("\n".join(serve.lines) + out + err).count(token) == 1


async def test_open_server_needs_no_code(launched, raw_peers):
    """--open lets anyone in and says so."""
    serve = await launched("--open")
    assert "Join code: none" in "\n".join(serve.lines)
    client, errors = await connect(raw_peers, serve.url, {"name": "ada"})
    assert client is not None, errors
    await client.disconnect()
    status, _, _ = await serve.stop()
    assert status == 0


async def test_db_keeps_messages_across_a_restart(launched, raw_peers, tmp_path):
    """With --db, a restarted server continues the ids and the history."""
    db = str(tmp_path / "chat.db")
    first = await launched("--open", "--db", db)
    client, _ = await connect(raw_peers, first.url, {"name": "ada"})
    await client.call("join", {"room": "lobby"})
    ack = await client.call("say", {"room": "lobby", "text": "kept"})
    await client.disconnect()
    assert (await first.stop())[0] == 0

    second = await launched("--open", "--db", db)
    client, _ = await connect(raw_peers, second.url, {"name": "ada"})
    joined = await client.call("join", {"room": "lobby"})
    assert [m["text"] for m in joined["history"]] == ["kept"]
    again = await client.call("say", {"room": "lobby", "text": "new"})
    assert again["id"] == ack["id"] + 1
    await client.disconnect()
    assert (await second.stop())[0] == 0


async def test_sigkill_mid_chat_loses_no_acknowledged_message(launched, raw_peers, tmp_path):
    """SIGKILL with --db, restart: every acked message is kept, ids go on, a resuming
    client ends up with every message exactly once, in order."""
    db = str(tmp_path / "chat.db")
    first = await launched("--open", "--db", db, "--rate", "0")
    patient = {"reconnect_attempts": 60, "reconnect_delay": 0.1, "reconnect_delay_max": 0.5,
               "say_timeout": timeout(60)}
    ada = await ChatClient("ada", rooms=["lobby"], **patient).connect(first.url)
    bob = await ChatClient("bob", rooms=["lobby"], **patient).connect(first.url)
    acked = []

    async def talk():
        for n in range(30):
            acked.append(await bob.say("lobby", f"m{n}"))

    talker = asyncio.create_task(talk())
    try:
        await running.wait_for(lambda: len(acked) >= 10, timeout(10), what="ten acks")
        first.process.kill()  # SIGKILL while bob keeps talking
        await first.process.wait()
        second = await launched("--open", "--db", db, "--rate", "0", "--port", str(first.port))
        await asyncio.wait_for(talker, timeout(60))
    finally:
        talker.cancel()
    assert acked == sorted(set(acked))  # ids kept increasing across the restart
    everything = list(range(30))
    await running.wait_for(lambda: ada.offset == acked[-1], timeout(15), what="ada to catch up")
    lobby = ada.messages("lobby")
    assert [m.text for m in lobby] == [f"m{n}" for n in everything]
    assert [m.id for m in lobby] == acked
    cy, _ = await connect(raw_peers, second.url, {"name": "cy"})
    joined = await cy.call("join", {"room": "lobby"})
    assert [m["id"] for m in joined["history"]] == acked
    later = await cy.call("say", {"room": "lobby", "text": "after"})
    assert later["id"] > acked[-1]
    for client in (ada, bob):
        await client.disconnect()
    await cy.disconnect()
    assert (await second.stop())[0] == 0


async def test_teacher_tools_need_the_printed_token(launched, raw_peers):
    """/teacher refuses a missing or wrong token; the printed one lists, mutes,
    announces and kicks, and the kicked name cannot come back."""
    serve = await launched("--open", "--teacher-token", "t0p-s3cret")
    assert serve.teacher_token == "t0p-s3cret"
    for auth, message in [({}, "The teacher's tools need the teacher token"),
                          ({"token": "guess"}, "Wrong teacher token")]:
        refused, errors = await connect(raw_peers, serve.url, auth, protocol.TEACHER)
        assert refused is None and errors[0]["message"].startswith(message)
    ada, _ = await connect(raw_peers, serve.url, {"name": "ada"})
    await ada.call("join", {"room": "lobby"})
    teacher, errors = await connect(raw_peers, serve.url, {"token": "t0p-s3cret"},
                                    protocol.TEACHER)
    assert teacher is not None, errors
    assert await teacher.call("rooms") == {"ok": True, "rooms": {"lobby": ["ada"]},
                                           "people": ["ada"]}
    assert await teacher.call("mute", {"name": "ada", "seconds": 30}) == {"ok": True}
    muted = await ada.call("say", {"room": "lobby", "text": "hi"})
    assert muted["error"].startswith("The teacher muted you")
    assert await teacher.call("announce", {"text": "Break!"}) == {"ok": True}
    assert await teacher.call("kick", {"name": "zed"}) == {
        "ok": False, "error": "Nobody named 'zed' is connected."}
    assert await teacher.call("kick", {"name": "ada"}) == {"ok": True}
    await running.wait_for(lambda: not ada.connected, timeout(5), what="ada to be put out")
    assert [n["text"] for n in ada.of("notice")] == [
        "The teacher muted you for 30 s.", "Break!",
        "The teacher removed you from the chat. You can come back in 60 s."]
    back, errors = await connect(raw_peers, serve.url, {"name": "ada"})
    assert back is None and errors[0]["message"].startswith(
        "The teacher removed 'ada' from the chat: you can come back in ")
    await teacher.disconnect()
    status, _, err = await serve.stop()
    assert status == 0 and "the teacher kicked ada out for 60 s" in err


async def test_two_processes_on_one_redis_hear_each_other_in_order(launched, raw_peers,
                                                                   redis_url):  # noqa: F811
    """Two `serve --redis` processes share one code, token and chat: a student of each
    hears both, every message once, both in the same (id) order."""
    first = await launched("--redis", redis_url, "--rate", "0")
    second = await launched("--redis", redis_url, "--rate", "0")
    assert first.join_code == second.join_code
    assert first.teacher_token == second.teacher_token
    assert "Sharing the chat through Redis at" in "\n".join(first.lines)
    clients = {}
    for name, serve in (("ada", first), ("bob", second)):
        client, errors = await connect(raw_peers, serve.url,
                                       {"name": name, "code": serve.join_code})
        assert client is not None, errors
        await client.call("join", {"room": "lobby"})
        clients[name] = client

    async def talk(name):
        return [(await clients[name].call("say", {"room": "lobby", "text": f"{name}{n}"}))["id"]
                for n in range(10)]

    ids = sorted(i for said in await asyncio.gather(talk("ada"), talk("bob")) for i in said)
    assert ids == list(range(1, 21))
    for name, client in clients.items():
        await running.wait_for(lambda client=client: len(client.of("said")) == 20, timeout(10),
                               what=f"{name} to hear all 20")
    heard = {name: client.of("said") for name, client in clients.items()}
    assert [m["id"] for m in heard["ada"]] == [m["id"] for m in heard["bob"]] == ids
    assert [m["text"] for m in heard["ada"]] == [m["text"] for m in heard["bob"]]
    taken, errors = await connect(raw_peers, first.url, {"name": "bob", "code": first.join_code})
    assert taken is None and "is taken" in errors[0]["message"]
    for client in clients.values():
        await client.disconnect()
    for serve in (first, second):
        status, _, err = await serve.stop()
        assert status == 0, err


async def test_an_unreachable_redis_is_explained():
    """--redis with nobody listening exits 1 with a sentence, not a traceback."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--port", "0", "--redis",
        "redis://:hunter2@127.0.0.1:1/0",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout(15))
    assert process.returncode == 1
    text = err.decode()
    assert "cannot reach Redis at redis://:***@127.0.0.1:1/0" in text
    assert "Traceback" not in text and "hunter2" not in text + out.decode()


async def test_default_host_listens_on_loopback_only(launched):
    """Without --host the server is reachable from this computer only."""
    serve = await launched("--open")
    assert serve.url.startswith("http://127.0.0.1:")
    others = [url.split("//")[1].rsplit(":", 1)[0] for url in student_urls("0.0.0.0", 0)]
    others = [host for host in others if re.fullmatch(r"[\d.]+", host)]
    if not others:
        pytest.skip("this machine has no network address but loopback")
    for host in others:
        with pytest.raises(OSError):  # refused: nobody listens there
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, serve.port), timeout(5))
            writer.close()


async def test_no_http_endpoint_reveals_the_join_code_or_teacher_token(launched):
    """Every HTTP answer (pages, handshakes, refusals) is free of the code and the token."""
    import aiohttp

    serve = await launched("--join-code", "secret-code-77", "--teacher-token", "t0ken-xyz-99")
    base = serve.url
    answers = []
    async with aiohttp.ClientSession() as http:
        async def fetch(method, path, data=None):
            async with http.request(method, base + path, data=data) as response:
                answers.append(f"{response.status} {dict(response.headers)} "
                               f"{await response.text(errors='replace')}")
                return answers[-1]

        for path in ("/", "/index.html", "/socket.io/", "/socket.io/?EIO=3&transport=polling",
                     "/socket.io/?EIO=4&transport=websocket", "/chat", "/teacher"):
            await fetch("GET", path)
        for namespace, auth in (("/chat", '{"name":"eve","code":"guess"}'),
                                ("/chat", '{"name":"eve"}'),
                                ("/teacher", '{"token":"guess"}'), ("/teacher", "{}")):
            handshake = await fetch("GET", "/socket.io/?EIO=4&transport=polling")
            sid = re.search(r'"sid":"([^"]+)"', handshake).group(1)
            polling = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
            await fetch("POST", polling, data=f"40{namespace},{auth}")
            refusal = await fetch("GET", polling)
            assert "44" + namespace in refusal  # the refusal, with its reason
    everything = "\n".join(answers)
    assert "secret-code-77" not in everything and "t0ken-xyz-99" not in everything
    status, out, err = await serve.stop()
    assert status == 0 and "t0ken-xyz-99" not in out + err


@pytest.mark.parametrize(("options", "allowed", "refused"), [
    ([], [], ["https://example.org"]),
    (["--cors-origin", "https://example.org", "--cors-origin", "https://b.example"],
     ["https://example.org", "https://b.example"], ["https://evil.example"]),
    (["--cors-origin", "*"], ["https://anything.example"], []),
])
async def test_browsers_of_other_origins_need_cors_origin(launched, options, allowed, refused):
    """Only pages of the server itself by default; --cors-origin adds others, '*' all."""
    import aiohttp

    serve = await launched("--open", *options)
    handshake = f"{serve.url}/socket.io/?EIO=4&transport=polling"
    async with aiohttp.ClientSession() as http:
        for origin in allowed + refused:
            async with http.get(handshake, headers={"Origin": origin}) as response:
                assert (response.status == 200) == (origin in allowed), origin
                if origin in allowed:
                    assert response.headers["Access-Control-Allow-Origin"] == origin
        async with http.get(handshake) as response:  # a program, not a browser: no Origin
            assert response.status == 200


async def test_port_in_use_is_explained(launched):
    """Starting on a port that is taken exits 1 with a sentence, not a traceback."""
    serve = await launched("--open")
    port = serve.url.rsplit(":", 1)[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--open", "--port", port,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout(15))
    assert process.returncode == 1
    assert "is already in use" in err.decode() and "Traceback" not in err.decode()


async def test_ready_file_says_what_the_banner_says_as_json(launched, raw_peers, tmp_path):
    """--ready-file: once serving, one JSON object with the url, code, token and pid,
    readable by its owner only, written after the start-up text; removed at a clean stop.
    The command runs on uvloop, a dependency where it installs (as here, on Linux)."""
    ready = tmp_path / "ready.json"
    serve = await launched("--join-code", "blue-fox-12", "--teacher-token", "owl-7",
                           "--ready-file", str(ready))
    await running.wait_for(ready.exists, timeout(10), what="the ready file")
    said = json.loads(ready.read_text())
    assert said == {"url": serve.url, "port": serve.port, "join_code": "blue-fox-12",
                    "teacher_token": "owl-7", "pid": serve.process.pid,
                    "start_lines": len(serve.lines), "event_loop": "uvloop"}
    assert stat.S_IMODE(ready.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == ["ready.json"]  # no temp file left
    client, _ = await connect(raw_peers, said["url"], {"name": "ada", "code": said["join_code"]})
    teacher, _ = await connect(raw_peers, said["url"], {"token": said["teacher_token"]},
                               protocol.TEACHER)
    assert client is not None and teacher is not None
    for connection in (client, teacher):
        await connection.disconnect()
    status, _, _ = await serve.stop(signal.SIGTERM)
    assert status == 0 and not ready.exists()


async def test_ready_file_of_an_open_server_has_no_code(launched, tmp_path):
    """With --open the ready file's join_code is null."""
    ready = tmp_path / "ready.json"
    serve = await launched("--open", "--ready-file", str(ready))
    await running.wait_for(ready.exists, timeout(10), what="the ready file")
    assert json.loads(ready.read_text())["join_code"] is None
    assert (await serve.stop())[0] == 0


async def test_a_ready_file_that_cannot_be_written_stops_the_server(tmp_path):
    """A ready file in a missing folder: exit 1 with a sentence, not a traceback."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--open", "--port", "0", "--ready-file",
        str(tmp_path / "missing" / "ready.json"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), timeout(15))
    assert process.returncode == 1
    assert "cannot write the ready file" in err.decode() and "Traceback" not in err.decode()


async def test_help_explains_the_options():
    """--help describes every option in words a teacher understands."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--help", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), timeout(15))
    text = out.decode()
    assert process.returncode == 0
    for words in ("--host", "--port", "--join-code", "--open", "--db", "Ctrl-C", "0.0.0.0",
                  "--teacher-token", "--redis", "--cors-origin", "--rate", "--burst",
                  "--max-text", "--max-students", "--max-rooms", "/teacher", "--ready-file",
                  "--certfile", "--keyfile", "https and wss", "--no-qr", "QR code"):
        assert words in text


def test_join_code_and_open_exclude_each_other(capsys):
    """--join-code and --open together are refused by the parser."""
    from chatkit.__main__ import main
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--open", "--join-code", "x"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


async def test_wildcard_host_prints_the_lan_addresses(launched):
    """--host 0.0.0.0 prints an address of this machine that other computers can use."""
    serve = await launched("--open", "--host", "0.0.0.0")
    assert "0.0.0.0" not in serve.url and "127.0.0.1" not in serve.url
    assert (await serve.stop())[0] == 0


@pytest.mark.parametrize(("options", "complaint"), [
    (["--port", "70000"], "a port is a number from 0 to 65535"),
    (["--rate", "-1"], "must be 0 or more"),
    (["--burst", "0"], "must be 1 or more"),
    (["--max-students", "many"], "must be a whole number"),
    (["--teacher-token", " "], "the teacher token cannot be empty"),
])
def test_bad_option_values_are_explained(capsys, options, complaint):
    """A wrong option value stops the command with a sentence, before anything starts."""
    from chatkit.__main__ import main
    with pytest.raises(SystemExit) as exited:
        main(["serve", *options])
    assert exited.value.code == 2 and complaint in capsys.readouterr().err


# -- issue 14, item 5: serve says that it stopped, and why -----------------------------------

@pytest.mark.parametrize("signum, why", [(signal.SIGINT, "Ctrl-C (SIGINT)"),
                                         (signal.SIGTERM, "SIGTERM")])
async def test_serve_says_that_it_stopped_and_why(launched, tmp_path, signum, why):
    """Ctrl-C or SIGTERM: the last lines say it stopped, what stopped it, and how to get
    the class back."""
    db = str(tmp_path / "chat.db")
    serve = await launched("--open", "--db", db)
    status, out, _ = await serve.stop(signum)
    lines = out.splitlines()
    assert status == 0
    assert lines[-3].startswith(f"Stopping ({why}") and lines[-2].startswith(
        f"Stopped. Why: {why}")
    assert lines[-1] == (f"Start it again with the same options (--db {db} keeps every "
                         f"message): students' chats reconnect by themselves.")


# -- issue 14: rate limits on every path, and --rate 0 for benchmarks -----------------------

async def test_serve_limits_joins_and_leaves_by_default(launched, raw_peers):
    """Issue 14: 10,000 join/leave at the default limits were all accepted."""
    serve = await launched("--open")
    eve, _ = await connect(raw_peers, serve.url, {"name": "eve"})
    answers = [await eve.call("leave" if n % 2 else "join", {"room": "lobby"})
               for n in range(30)]
    assert sum(answer["ok"] for answer in answers) < 20
    assert any(answer.get("error", "").startswith("You are joining and leaving rooms too fast")
               for answer in answers)
    await eve.disconnect()


async def test_rate_zero_lifts_every_per_student_limit(launched, raw_peers):
    """--rate 0 (the fan-out benchmark's) lifts the message, join/leave and connect limits:
    many connects from one address and a join/leave flood all pass."""
    serve = await launched("--open", "--rate", "0", "--connect-rate", "0.01")
    peers = [(await connect(raw_peers, serve.url, {"name": f"s{n}"}))[0] for n in range(5)]
    answers = [await peers[0].call("leave" if n % 2 else "join", {"room": "lobby"})
               for n in range(40)]
    assert all(answer["ok"] for answer in answers)
    for peer in peers:
        await peer.disconnect()


async def test_connect_rate_limits_connects_per_address(launched, raw_peers):
    serve = await launched("--open", "--connect-rate", "0.01")
    refusals = []
    for n in range(205):  # the burst is a whole class (200)
        peer, errors = await connect(raw_peers, serve.url, {"name": f"s{n}"})
        refusals += errors
        if peer is not None:
            await peer.disconnect()
    assert refusals and refusals[0]["message"].startswith("Too many connections from your "
                                                          "address")


# -- issue 12: the students' link, its QR code and the teacher's page; TLS ------------------

async def test_start_text_shows_the_students_link_its_qr_code_and_the_teachers_page(
        launched):
    """After the lines notebook 06 shows (unchanged), the start text gives the chat page's
    link with the join code after '#', that link's QR code drawn in the terminal, and the
    teacher's page address, which never carries the token."""
    from chatkit.pages import qr_text

    serve = await launched("--join-code", "blue-fox-12", "--teacher-token", "owl-7-secret")
    url, lines = serve.url, serve.lines
    assert lines[0] == f"Chat server running. Students connect to: {url} (socket.io " \
                       f"namespace /chat)"
    assert lines[1:3] == ["Join code: blue-fox-12", "Teacher token: owl-7-secret (socket.io "
                          "namespace /teacher; keep it to yourself)"]
    assert lines[3].startswith("Limits: ")
    link = f"{url}/#code=blue-fox-12"
    assert lines[4] == (f"Students' page: {link} (any browser; the join code is in the "
                        f"link, or scan this QR code)")
    drawing = qr_text(link).splitlines()
    assert len(drawing) > 10 and lines[5:5 + len(drawing)] == drawing
    assert set("".join(drawing)) <= set("█▀▄ ")
    assert lines[5 + len(drawing):] == [
        f"Teacher's page: {url}/teacher (type the teacher token there; it is never in a "
        f"link)", "Press Ctrl-C to stop."]
    assert "\n".join(lines).count("owl-7-secret") == 1  # the token line only


async def test_no_qr_leaves_the_drawing_out_and_an_open_chat_link_has_no_code(launched,
                                                                              tmp_path):
    """--no-qr (a small terminal, a log): the same lines without the drawing; with --open
    the link is the bare page. The ready file's start_lines counts what was printed."""
    ready = tmp_path / "ready.json"
    serve = await launched("--open", "--no-qr", "--ready-file", str(ready))
    await running.wait_for(ready.exists, timeout(10), what="the ready file")
    assert serve.lines[4:] == [
        f"Students' page: {serve.url}/ (any browser; no code needed)",
        f"Teacher's page: {serve.url}/teacher (type the teacher token there; it is never "
        f"in a link)", "Press Ctrl-C to stop."]
    assert json.loads(ready.read_text())["start_lines"] == len(serve.lines)


@pytest.fixture
def certificate(tmp_path):
    """A trustme CA and a certificate it issued for 127.0.0.1 and localhost, written as
    cert.pem and key.pem, as a teacher's files would be; also another certificate's key."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1", "localhost")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    authority.issue_cert("127.0.0.1").private_key_pem.write_to_path(
        str(tmp_path / "other-key.pem"))
    return authority, str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")


def trusting_tls(authority):
    """A client TLS context that trusts ``authority`` too, as notebook 01's does."""
    import ssl

    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


class TrustingPeer(RawPeer):
    """A RawPeer whose HTTP requests and WebSocket trust a client TLS context."""

    def __init__(self, tls, namespace=protocol.CHAT):
        import aiohttp

        super().__init__(namespace)
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls))
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False,
                                        http_session=self.http)
        self.sio.on("*", self._record, namespace=namespace)
        self.sio.on("connect_error", self.refusals.append, namespace=namespace)
        self.sio.on("disconnect", self.disconnects.append, namespace=namespace)

    async def close(self):
        await super().close()
        await self.http.close()


async def test_tls_serves_pages_over_https_and_socketio_over_wss_and_polling(
        launched, raw_peers, certificate, tmp_path):
    """--certfile/--keyfile: the printed link, the ready file and the teacher's join links
    are https; the chat page and the socket.io client come over https from a client that
    trusts the CA; students on WebSocket (wss) and on long-polling (https) chat both
    ways; the teacher's tools work over wss."""
    import aiohttp

    authority, certfile, keyfile = certificate
    ready = tmp_path / "ready.json"
    serve = await launched("--join-code", "blue-fox-12", "--certfile", certfile,
                           "--keyfile", keyfile, "--ready-file", str(ready))
    url = serve.url
    assert url.startswith("https://127.0.0.1:")
    assert f"Students' page: {url}/#code=blue-fox-12 " in "\n".join(serve.lines)
    assert f"Teacher's page: {url}/teacher " in "\n".join(serve.lines)
    await running.wait_for(ready.exists, timeout(10), what="the ready file")
    assert json.loads(ready.read_text())["url"] == url
    tls = trusting_tls(authority)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=tls)) as http:
        for path, wanted in (("/", "<html"), ("/static/vendor/socket.io.min.js", "Socket.IO")):
            async with http.get(url + path) as response:
                assert response.status == 200 and response.url.scheme == "https"
                assert wanted in await response.text()
                assert "Content-Security-Policy" in response.headers
    students = {}
    for name, transports in (("ada", ("websocket",)), ("bob", ("polling",))):
        peer = raw_peers.keep(TrustingPeer(tls))
        await peer.connect(url, {"name": name, "code": "blue-fox-12"}, transports=transports)
        assert peer.sio.transport() == transports[0]
        assert (await peer.call("join", {"room": "lobby"}))["ok"]
        students[name] = peer
    for speaker, hearer in (("ada", "bob"), ("bob", "ada")):
        said = await students[speaker].call("say", {"room": "lobby", "text": f"hi from "
                                                                               f"{speaker}"})
        assert said["ok"]
        await students[hearer].wait(
            lambda hearer=hearer, speaker=speaker: f"hi from {speaker}" in [
                message["text"] for message in students[hearer].of("said")], "the message")
    teacher = raw_peers.keep(TrustingPeer(tls, protocol.TEACHER))
    await teacher.connect(url, {"token": serve.teacher_token})
    assert (await teacher.call(protocol.ROOMS))["rooms"] == {"lobby": ["ada", "bob"]}
    invited = await teacher.call(protocol.INVITE)
    assert invited["links"] == [f"{url}/#code=blue-fox-12"]
    for peer in (*students.values(), teacher):
        await peer.disconnect()
    status, _, err = await serve.stop()
    assert status == 0 and "ada connected" in err and "Traceback" not in err


async def test_tls_pages_of_the_server_itself_may_connect(launched, certificate):
    """A browser on the server's own https page sends that page as its Origin: accepted
    on the handshake like an http page is without TLS (a page of another origin is not).
    python-engineio's aiohttp driver alone takes the scheme for http."""
    import aiohttp

    authority, certfile, keyfile = certificate
    serve = await launched("--open", "--certfile", certfile, "--keyfile", keyfile)
    handshake = f"{serve.url}/socket.io/?EIO=4&transport=polling"
    own = [serve.url, serve.url.replace("127.0.0.1", "localhost")]
    connector = aiohttp.TCPConnector(ssl=trusting_tls(authority))
    async with aiohttp.ClientSession(connector=connector) as http:
        for origin in [*own, "https://example.org", serve.url.replace("https:", "http:")]:
            host = {"Host": urlsplit(origin).netloc}
            async with http.get(handshake, headers={"Origin": origin, **host}) as response:
                assert (response.status == 200) == (origin in own), origin


async def test_tls_refuses_plain_http_and_clients_that_do_not_trust_the_certificate(
        launched, raw_peers, certificate):
    """On a TLS port, plain http gets no page (the connection is closed), and a client
    that does not trust the certificate's CA (as a browser, for a self-signed one) stops
    at the certificate; neither leaves a traceback in the log, and the server still
    serves a trusting client afterwards."""
    import aiohttp

    authority, certfile, keyfile = certificate
    serve = await launched("--open", "--certfile", certfile, "--keyfile", keyfile)
    plain = serve.url.replace("https://", "http://")
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.ClientError) as failed:
            await http.get(plain + "/")
        assert not isinstance(failed.value, aiohttp.ClientResponseError)  # no answer at all
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await http.get(serve.url + "/")
    with pytest.raises(socketio.exceptions.ConnectionError):  # python-socketio, untrusting
        await raw_peers().connect(serve.url, {"name": "eve"})
    connector = aiohttp.TCPConnector(ssl=trusting_tls(authority))
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.get(serve.url + "/") as response:
            assert response.status == 200
    status, out, err = await serve.stop()
    assert status == 0 and "Traceback" not in out + err


@pytest.mark.parametrize(("files", "status", "sentence"), [
    (["--certfile", "{folder}/cert.pem"], 2,
     "--certfile and --keyfile go together: give the certificate and its private key, "
     "or neither for plain http"),
    (["--keyfile", "{folder}/key.pem"], 2, "--certfile and --keyfile go together"),
    (["--certfile", "{folder}/cert.pem", "--keyfile", "{folder}/missing.pem"], 1,
     "cannot start the chat server: cannot read the private key file {folder}/missing.pem: "
     "No such file or directory"),
    (["--certfile", "{folder}/cert.pem", "--keyfile", "{folder}/other-key.pem"], 1,
     "cannot start the chat server: the private key in {folder}/other-key.pem does not "
     "belong to the certificate in {folder}/cert.pem"),
])
async def test_a_certificate_that_cannot_be_used_is_explained(certificate, tmp_path, files,
                                                              status, sentence):
    """One of --certfile/--keyfile alone is a usage error (2); a missing or mismatched key
    exits 1: a sentence each, no traceback, and nothing starts."""
    options = [option.format(folder=tmp_path) for option in files]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--port", "0", *options,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout(15))
    assert process.returncode == status
    assert sentence.format(folder=tmp_path) in err.decode()
    assert "Traceback" not in err.decode() and "Chat server running" not in out.decode()
