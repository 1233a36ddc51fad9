"""The JavaScript client printed in docs/protocol.md runs, unchanged, against ChatServer.

It uses the official socket.io-client (installed by `make test` into
benchmarks/node_modules, where the fan-out benchmark's load generator uses it too), so
this is the interoperability check the protocol promises: any socket.io client can chat.
"""

import asyncio
import os
import re
import shutil
from pathlib import Path

import pytest

from chatkit import protocol
from chatkit.client import ChatClient
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
