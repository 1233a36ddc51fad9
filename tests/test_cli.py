"""`python -m chatkit serve`, run as a real subprocess, the way a teacher runs it."""

import asyncio
import re
import signal
import sys

import pytest
import socketio

from chatkit.__main__ import student_url
from tests.conftest import timeout

NS = "/chat"


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
        return re.search(r"connect to: (http://\S+)", "\n".join(self.lines)).group(1)

    @property
    def join_code(self):
        return re.search(r"Join code: (\S+)", "\n".join(self.lines)).group(1)

    async def stop(self, signum=signal.SIGTERM):
        """Send a signal; return the exit status and everything printed afterwards."""
        self.process.send_signal(signum)
        out, err = await asyncio.wait_for(self.process.communicate(), timeout(15))
        return self.process.returncode, out.decode(), err.decode()

    def kill(self):
        if self.process.returncode is None:
            self.process.kill()


@pytest.fixture
async def launched():
    started = []

    async def launch(*options):
        started.append(await Serve.start(*options))
        return started[-1]

    yield launch
    for serve in started:
        serve.kill()
        await serve.process.wait()


async def connect(url, auth):
    client = socketio.AsyncClient(reconnection=False, handle_sigint=False)
    errors = []
    client.on("connect_error", errors.append, namespace=NS)
    try:
        await client.connect(url, namespaces=[NS], auth=auth, transports=["websocket"],
                             wait_timeout=timeout(5))
    except socketio.exceptions.ConnectionError:
        await client.disconnect()
        return None, errors
    return client, errors


async def test_serve_prints_url_and_code_chats_and_stops_on_sigterm(launched):
    """The server prints its URL and code, serves a client, logs it, exits 0 on SIGTERM."""
    serve = await launched("--join-code", "blue-fox-12")
    assert serve.join_code == "blue-fox-12"
    assert serve.url.startswith("http://127.0.0.1:")
    client, _ = await connect(serve.url, {"name": "ada", "code": "blue-fox-12"})
    assert (await client.call("join", {"room": "lobby"}, namespace=NS, timeout=timeout(5)))["ok"]
    await client.disconnect()
    status, out, err = await serve.stop(signal.SIGTERM)
    assert status == 0
    assert "Stopped." in out
    assert "ada connected" in err and "ada disconnected" in err


async def test_wrong_join_code_is_refused_with_the_message(launched):
    """A client with a wrong code gets the server's sentence, and the server keeps running."""
    serve = await launched("--join-code", "blue-fox-12")
    client, errors = await connect(serve.url, {"name": "ada", "code": "red-fox-12"})
    assert client is None
    assert errors == [{"message": "Wrong join code: check it with your teacher."}]
    status, _, err = await serve.stop(signal.SIGINT)
    assert status == 0 and "refused a connection: Wrong join code" in err


async def test_default_join_code_is_random_and_readable(launched):
    """Without --join-code the server makes up a code of two words and a number."""
    serve = await launched()
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d\d", serve.join_code)
    client, _ = await connect(serve.url, {"name": "ada", "code": serve.join_code})
    await client.disconnect()
    status, _, _ = await serve.stop()
    assert status == 0


async def test_open_server_needs_no_code(launched):
    """--open lets anyone in and says so."""
    serve = await launched("--open")
    assert "Join code: none" in "\n".join(serve.lines)
    client, errors = await connect(serve.url, {"name": "ada"})
    assert client is not None, errors
    await client.disconnect()
    status, _, _ = await serve.stop()
    assert status == 0


async def test_db_keeps_messages_across_a_restart(launched, tmp_path):
    """With --db, a restarted server continues the ids and the history."""
    db = str(tmp_path / "chat.db")
    first = await launched("--open", "--db", db)
    client, _ = await connect(first.url, {"name": "ada"})
    await client.call("join", {"room": "lobby"}, namespace=NS, timeout=timeout(5))
    ack = await client.call("say", {"room": "lobby", "text": "kept"}, namespace=NS,
                            timeout=timeout(5))
    await client.disconnect()
    assert (await first.stop())[0] == 0

    second = await launched("--open", "--db", db)
    client, _ = await connect(second.url, {"name": "ada"})
    joined = await client.call("join", {"room": "lobby"}, namespace=NS, timeout=timeout(5))
    assert [m["text"] for m in joined["history"]] == ["kept"]
    again = await client.call("say", {"room": "lobby", "text": "new"}, namespace=NS,
                              timeout=timeout(5))
    assert again["id"] == ack["id"] + 1
    await client.disconnect()
    assert (await second.stop())[0] == 0


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


async def test_help_explains_the_options():
    """--help describes every option in words a teacher understands."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatkit", "serve", "--help", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), timeout(15))
    text = out.decode()
    assert process.returncode == 0
    for words in ("--host", "--port", "--join-code", "--open", "--db", "Ctrl-C", "0.0.0.0"):
        assert words in text


def test_join_code_and_open_exclude_each_other(capsys):
    """--join-code and --open together are refused by the parser."""
    from chatkit.__main__ import main
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--open", "--join-code", "x"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_student_url_replaces_a_wildcard_host():
    """Listening on 0.0.0.0 prints an address students can actually use."""
    assert student_url("127.0.0.1", 5000) == "http://127.0.0.1:5000"
    assert student_url("::1", 5000) == "http://[::1]:5000"
    assert "0.0.0.0" not in student_url("0.0.0.0", 5000)
