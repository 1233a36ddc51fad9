"""A real Redis for the tests that need one: `redis-server` on a free port, stopped after.

Tests that need Redis skip, with a message saying how to install it, when `redis-server`
is not on the PATH; with CHATKIT_REQUIRE_REDIS=1 (CI, .ci/run) they fail instead.
Import the fixture into a test module: ``from tests.redisserver import redis_url``.
The server itself is :class:`chatkit.classroom.RedisProcess`, as notebook 06 runs it.
"""

import os
import shutil

import pytest
import pytest_asyncio

from chatkit.classroom import RedisProcess
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


async def start_redis() -> RedisProcess:
    """A fresh, empty redis-server; not tracked, so a test's running.stop_all() spares it."""
    redis_server_path()
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
