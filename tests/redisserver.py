"""A real Redis for the tests that need one: `redis-server` on a free port, stopped after.

Tests that need Redis skip, with a message saying how to install it, when `redis-server`
is not on the PATH; with CHATKIT_REQUIRE_REDIS=1 (CI, .ci/run) they fail instead.
Import the fixture into a test module: ``from tests.redisserver import redis_url``.
"""

import os
import shutil
import socket
import subprocess
import threading

import pytest

from tests.conftest import timeout

INSTALL = ("needs redis-server: run `make redis` "
           "(or apt-get install redis-server, brew install redis)")


def redis_server_path() -> str:
    """Where redis-server is; skips the test (fails it under CHATKIT_REQUIRE_REDIS=1)."""
    path = shutil.which("redis-server")
    if path is None:
        if os.environ.get("CHATKIT_REQUIRE_REDIS") == "1":
            pytest.fail(f"CHATKIT_REQUIRE_REDIS=1 but redis-server is missing: {INSTALL}")
        pytest.skip(INSTALL)
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """One `redis-server` process, in memory only (no snapshot, no append-only file)."""

    def __init__(self):
        self.process: subprocess.Popen | None = None
        self.port = 0
        self._drainer: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        path = redis_server_path()
        for _ in range(3):  # the free port may be taken between the probe and the bind
            self.port = _free_port()
            self.process = subprocess.Popen(
                [path, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--loglevel", "notice"],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if self._wait_until_ready():
                return self
            self.stop()
        raise RuntimeError("redis-server did not start")

    def _wait_until_ready(self) -> bool:
        """Read its log until it accepts connections (or exits); a timer kills a stuck one."""
        timer = _Killer(self.process, timeout(15))
        try:
            for line in self.process.stdout:
                if "Ready to accept connections" in line:
                    # Keep reading its log, or a full pipe would block it one day.
                    self._drainer = threading.Thread(target=self._drain, daemon=True)
                    self._drainer.start()
                    return True
            return False
        finally:
            timer.cancel()

    def _drain(self) -> None:
        for _ in self.process.stdout:
            pass

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
        try:
            self.process.wait(timeout(10))
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._drainer is not None:
            self._drainer.join(timeout(5))  # it ends at the closed pipe's end
            self._drainer = None
        self.process.stdout.close()
        with pytest.raises(ProcessLookupError):
            os.kill(self.process.pid, 0)  # no redis-server is left running


class _Killer:
    """Kills a process that is still starting after ``seconds``."""

    def __init__(self, process: subprocess.Popen, seconds: float):
        self._timer = threading.Timer(seconds, self._kill, args=(process,))
        self._timer.daemon = True
        self._timer.start()

    @staticmethod
    def _kill(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()

    def cancel(self) -> None:
        self._timer.cancel()


@pytest.fixture
def redis_url():
    """The URL of a fresh, empty redis-server started for this test and stopped after it."""
    server = RedisServer().start()
    try:
        yield server.url
    finally:
        server.stop()
