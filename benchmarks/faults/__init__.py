"""The fault suite: chatkit's own hostile-student run against ``python -m chatkit serve``.

``make faults`` (or ``python -m benchmarks.faults``) starts real servers, one per case,
on both stores (memory and ``--db``), and prints one line per case: inputs tried,
crashes, tracebacks in the server's output, unanswered requests (no ack, no
``connect_error``, no close within 3 s), "server failed" answers, bystander gaps (an
acknowledged id missing or out of order at one of two students chatting meanwhile)
and the bystanders' p99 ack time. It exits with status 1 when a case breaks a promise
(issue 14: 0 of each, p99 under 100 ms, guessing refused after a few tries, nothing
lost or doubled across SIGKILL restarts). The cases:

* ``generated``: hypothesis-generated payloads and ``auth`` for every event of ``/chat``
  and ``/teacher``, raw Engine.IO/Socket.IO frames over WebSocket and long-polling;
* ``floods``: join/leave, say and connect floods at the classroom's default limits
  (the generated run uses ``--rate 0`` so that its inputs get past the rate limit);
* ``storm``: many students resuming with offset 0 over a room of many messages;
* ``guessing``: wrong join codes and teacher tokens as fast as one address can;
* ``restarts``: SIGKILL restarts with ``--db`` while writers keep saying.

Speed figures are measured here, never asserted in tests; ``tests/test_fault_suite.py``
runs the same cases at small sizes.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from benchmarks.faults import floods, hostile, restarts
from benchmarks.faults.harness import Figures
from chatkit import protocol

STORES = ("memory", "db")


@dataclass(frozen=True)
class Sizes:
    inputs: int = 3000          # generated inputs per store
    flood_seconds: float = 10   # how long each join/leave and say flood lasts
    storm_messages: int = 50_000
    storm_clients: int = 20
    guess_seconds: float = 10
    restarts: int = 20


FULL = Sizes()
SMALL = Sizes(inputs=150, flood_seconds=2, storm_messages=2000, storm_clients=4,
              guess_seconds=3, restarts=3)
GROUPS = ("generated", "floods", "storm", "guessing", "restarts")


def cases(sizes: Sizes, groups: tuple[str, ...] = GROUPS
          ) -> Iterator[tuple[str, Callable[[str], Awaitable[Figures]]]]:
    """(label, coroutine function of a fresh db path) for every case of ``groups``."""
    for store in STORES:
        if "generated" in groups:
            yield f"generated {store}", lambda db, s=store: hostile.run(s, sizes.inputs, db=db)
        if "floods" in groups:
            yield f"join/leave {store}", lambda db, s=store: floods.join_leave_flood(
                s, sizes.flood_seconds, db=db)
            yield f"say {store}", lambda db, s=store: floods.say_flood(s, sizes.flood_seconds,
                                                                   db=db)
            yield f"connect {store}", lambda db, s=store: floods.connect_flood(
                s, sizes.flood_seconds, db=db)
    if "storm" in groups:
        yield "resume storm db", lambda db: floods.resume_storm(
            "db", sizes.storm_messages, sizes.storm_clients, db=db)
    if "guessing" in groups:
        yield "code guessing", lambda db: floods.guessing("memory", sizes.guess_seconds)
        yield "token guessing", lambda db: floods.guessing(
            "memory", sizes.guess_seconds, namespace=protocol.TEACHER)
    if "restarts" in groups:
        yield "restarts db", lambda db: restarts.run(sizes.restarts, db=db)


async def run_case(label: str, case: Callable[[str], Awaitable[Figures]]) -> Figures:
    """Run one case on a fresh SQLite file; a case that cannot run is a broken promise."""
    folder = tempfile.mkdtemp(prefix="chatkit-faults-")
    try:
        return await case(os.path.join(folder, "faults.db"))
    except Exception as exc:  # the server refused the case's own clients, or worse
        figures = Figures(label, "-")
        last = traceback.extract_tb(exc.__traceback__)[-1]
        figures.checks.append((f"the case could not run: {type(exc).__name__}: {exc} "
                               f"(at {os.path.basename(last.filename)}:{last.lineno})", False))
        return figures
