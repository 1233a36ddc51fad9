"""chatkit.classroom: the teacher's server as a real child process, the teacher's tools."""

import os

import pytest

from chatkit import protocol, running
from chatkit.classroom import RedisProcess, ServerProcess, simulate_class
from chatkit.client import ChatClient, ChatError, Status, TeacherClient
from tests.conftest import timeout
from tests.redisserver import redis_server_path

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
    assert server.output[-1] == "Stopped."
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
    redis_server_path()
    fake = tmp_path / "redis-server"
    fake.write_text("#!/bin/sh\necho 'FATAL: bad config' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(RuntimeError, match="redis-server did not start"):
        await RedisProcess.start(timeout=timeout(5))


async def test_redis_process_answers_and_stops():
    """A real redis-server starts on a free port, answers PING, and stops."""
    redis_server_path()  # skips with install advice, or fails under CHATKIT_REQUIRE_REDIS=1
    redis = await RedisProcess.start(timeout=timeout(10))
    assert await redis._answers()
    await redis.stop()
    assert redis.process.returncode is not None
    assert not await redis._answers()


async def test_redis_missing_is_explained(monkeypatch):
    """Without redis-server on the PATH the error says how to install it."""
    monkeypatch.setenv("PATH", os.devnull)
    with pytest.raises(RuntimeError, match="make redis"):
        await RedisProcess.start()


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
