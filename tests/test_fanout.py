"""chatkit.fanout.measure_broadcast on real sockets: every receiver counts every message
for both client managers, and nothing it started is left behind. Its times are figures,
never asserted here."""

import os
from pathlib import Path

import pytest
import socketio

from chatkit import engine, running
from chatkit.fanout import measure_broadcast
from chatkit.tasks import leftover_tasks


def child_processes() -> set[int]:
    """The ids of this process's children, from /proc."""
    children = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        children.update(int(pid) for pid in (task / "children").read_text().split())
    return children


@pytest.mark.parametrize("make_manager", [socketio.AsyncManager, engine.ChatManager],
                         ids=["stock", "chatkit"])
async def test_every_receiver_counts_every_broadcast_and_nothing_is_left(make_manager):
    before = child_processes()
    measured = await measure_broadcast(make_manager(), receivers=20, broadcasts=30)
    assert measured.manager == make_manager.__name__
    assert (measured.receivers, measured.broadcasts) == (20, 30)
    assert measured.deliveries == 20 * 30
    assert 0 < measured.cpu_seconds and 0 < measured.wall_seconds
    assert measured.us_per_delivery == pytest.approx(measured.cpu_seconds / 600 * 1e6)
    assert child_processes() - before == set()
    assert "fanout" not in running.running()
    await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no tasks left")
