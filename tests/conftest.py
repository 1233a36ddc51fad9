"""Shared fixtures. Timeouts are scaled by one factor: CHATKIT_TIMEOUT_FACTOR (default 1)."""

import os

import pytest
import pytest_asyncio

from chatkit import running

TIMEOUT_FACTOR = float(os.environ.get("CHATKIT_TIMEOUT_FACTOR", "1"))


def timeout(seconds: float) -> float:
    """A test's wait of ``seconds``, scaled for slow machines."""
    return seconds * TIMEOUT_FACTOR


@pytest_asyncio.fixture(autouse=True)
async def _stop_servers():
    """Every test starts with nothing running and leaves nothing running."""
    yield
    await running.stop_all()
