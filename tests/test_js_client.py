"""The JavaScript client printed in docs/protocol.md runs, unchanged, against ChatServer.

It uses the official socket.io-client (installed by `make test` into
benchmarks/node_modules, where the fan-out benchmark's load generator uses it too), so
this is the interoperability check the protocol promises: any socket.io client can chat.
"""

import asyncio
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from chatkit import protocol
from chatkit.client import ChatClient, TeacherClient
from chatkit.server import ChatServer
from tests.conftest import timeout

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "benchmarks" / "node_modules"
HOW = "needs Node.js and `npm ci --prefix benchmarks` (make test runs it when npm exists)"


def documented_client() -> str:
    """The code block under "A JavaScript client" in docs/protocol.md."""
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text.split("## A JavaScript client", 1)[1]
    return re.search(r"```js\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def node():
    path = shutil.which("node")
    if path is None or not (NODE_MODULES / "socket.io-client").exists():
        if os.environ.get("CHATKIT_REQUIRE_NODE") == "1":
            pytest.fail(f"CHATKIT_REQUIRE_NODE=1 but the JavaScript client is missing: {HOW}")
        pytest.skip(HOW)
    return path


async def test_the_documented_javascript_client_chats_with_python(node, tmp_path):
    """The doc's client joins, says hello (a Python client hears it) and is refused with a
    human sentence for an empty message."""
    server = ChatServer(join_code="maple-otter-42")
    await server.start(name="js-interop")
    bob = await ChatClient("bob", code="maple-otter-42", rooms=["lobby"]).connect(server.url)
    script = tmp_path / "chat.mjs"
    script.write_text(documented_client().replace("http://127.0.0.1:5000", server.url))
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    process = await asyncio.create_subprocess_exec(
        node, str(script), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), timeout(20))
    lines = out.decode().splitlines()
    assert process.returncode == 0, err.decode()
    said = await bob.next(protocol.SAID, timeout=timeout(5))
    assert (said.data.name, said.data.text) == ("ada", "hello from JavaScript")
    assert f"the server kept it as message {said.data.id}" in lines
    assert "[lobby] ada: hello from JavaScript" in lines
    assert any(line.startswith("refused: ") and "empty" in line for line in lines), lines
    assert "[lobby] here: ada, bob" in lines or "[lobby] here: bob, ada" in lines
    await bob.disconnect()
    await server.stop()


async def test_the_documented_javascript_client_comes_back_after_a_server_restart(node, tmp_path):
    """Without its last line the doc's client stays; the server stops and starts again with
    the same --db and port: it reconnects by itself (trying again, not giving up) and
    prints what was said after the restart, once."""
    db = tmp_path / "chat.db"
    first = ChatServer(join_code="maple-otter-42", db=db)
    handle = await first.start(name="js-interop")
    script = tmp_path / "chat.mjs"
    script.write_text(documented_client().replace("http://127.0.0.1:5000", handle.url)
                      .replace("  socket.disconnect();\n", ""))
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    process = await asyncio.create_subprocess_exec(
        node, str(script), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    lines = []

    async def read_until(wanted):
        while not any(wanted in line for line in lines):
            line = await asyncio.wait_for(process.stdout.readline(), timeout(20))
            assert line, f"node ended before printing {wanted!r}: {lines}"
            lines.append(line.decode().rstrip("\n"))

    try:
        await read_until("refused: The message is empty")
        await first.stop()
        await read_until("reconnecting: try 2")  # a try failed, and it goes on
        second = ChatServer(join_code="maple-otter-42", db=db)
        await second.start(name="js-interop", port=handle.port)
        bob = await ChatClient("bob", code="maple-otter-42", rooms=["lobby"]).connect(second.url)
        await bob.say("lobby", "welcome back")
        await read_until("[lobby] bob: welcome back")
        await bob.say("lobby", "marker")
        await read_until("[lobby] bob: marker")
        assert lines.count("[lobby] bob: welcome back") == 1
        assert lines.count("[lobby] ada: hello from JavaScript") == 1  # not replayed twice
        await bob.disconnect()
        await second.stop()
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


CHINESE_STUDENT = """
import { io } from "socket.io-client";
const [url, code] = process.argv.slice(2);
const show = (what, text) => console.log(JSON.stringify({ what, text }));
const connect = (auth) => io(`${url}/chat`, { auth, transports: ["websocket"], reconnection: false });

const wrong = connect({ name: "li", code: "nope" });
show("wrong code", await new Promise((done) => wrong.on("connect_error", (err) => done(err.message))));
wrong.close();

const li = connect({ name: "li", code });
li.on("notice", (notice) => show("notice", notice.text));
await new Promise((done) => li.on("connect", done));
await li.emitWithAck("join", { room: "lobby" });
await li.emitWithAck("say", { room: "lobby", text: "first" });
show("too fast", (await li.emitWithAck("say", { room: "lobby", text: "second" })).error);
show("ready", "");
await new Promise((done) => process.stdin.once("data", done));  // the teacher mutes li
show("muted", (await li.emitWithAck("say", { room: "lobby", text: "third" })).error);
li.close();
process.exit(0);
"""


async def test_serve_lang_zh_refuses_the_official_javascript_client_in_chinese(node, tmp_path):
    """`python -m chatkit serve --lang zh`: the official socket.io client, which asks for
    no language, hears a wrong join code, "too fast" and "muted" in Chinese, with the
    numbers a student needs; the notices (slow down, muted) too."""
    from chatkit.classroom import ServerProcess

    server = await ServerProcess.start("--lang", "zh", "--join-code", "maple-otter-42",
                                       "--rate", "0.2", "--burst", "1", name="zh-serve")
    script = tmp_path / "student.mjs"
    script.write_text(CHINESE_STUDENT)
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    process = await asyncio.create_subprocess_exec(
        node, str(script), server.url, "maple-otter-42", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    heard: dict[str, list[str]] = {}

    async def read_until(wanted: str) -> None:
        while wanted not in heard:
            line = await asyncio.wait_for(process.stdout.readline(), timeout(20))
            assert line, f"node ended before {wanted!r}: {heard} {await process.stderr.read()}"
            said = json.loads(line)
            heard.setdefault(said["what"], []).append(said["text"])

    try:
        await read_until("ready")
        teacher = await TeacherClient.connect(server.url, token=server.teacher_token)
        await teacher.mute("li", seconds=60)
        process.stdin.write(b"\n")
        await read_until("muted")
        await teacher.disconnect()
        assert await asyncio.wait_for(process.wait(), timeout(10)) == 0
    finally:
        if process.returncode is None:
            process.kill()
        await server.stop()
    chinese = re.compile(r"[\u4e00-\u9fff]")
    for what in ("wrong code", "too fast", "muted"):
        [text] = heard[what]
        assert chinese.search(text) and not re.search(r"[A-Za-z]{4}", text), (what, text)
    assert re.search(r"\d", heard["too fast"][0]), heard["too fast"]  # how long to wait
    notices = heard["notice"]
    assert len(notices) == 2 and all(chinese.search(notice) for notice in notices), notices
    assert "60" in notices[1], notices
