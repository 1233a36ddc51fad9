"""HTTP polling versus WebSocket push, measured on this machine.

Introduced in notebook 00. A :class:`Publisher` changes a value (a version number) at
irregular moments. One aiohttp server (:func:`make_app`) offers two ways to follow it:

* ``GET /latest`` answers ``{"version": n}``: a *polling* client asks every ``interval``
  seconds, whether anything changed or not;
* ``GET /live`` upgrades to a WebSocket: a *push* client connects once and the server
  sends ``{"version": n}`` the moment it changes.

:func:`measure` runs both side by side for a few seconds and returns, for every client,
how stale each published version was when the client first saw it (or something newer),
and how many requests and messages that cost::

    publisher = Publisher()
    server = await running.serve_aiohttp(make_app(publisher), name="news")
    results = await measure(server.url, publisher, intervals=(0.05, 0.2, 0.5))
    for result in results:
        print(result.name, result.requests, result.median)

The arithmetic is kept apart from the sockets: :func:`staleness` is a plain function.
All times are ``time.monotonic()`` seconds, the clock of the asyncio event loop.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web

from chatkit import running
from chatkit.language import translate
from chatkit.websocket import WebSocket

__all__ = [
    "Publisher",
    "Result",
    "live_url",
    "make_app",
    "measure",
    "plot",
    "poll",
    "schedule",
    "staleness",
]


class Publisher:
    """The latest value, its history, and the push subscribers to tell about changes.

    ``version`` starts at 0 (nothing published yet); ``published[v - 1]`` is the time at
    which version ``v`` was published.
    """

    def __init__(self) -> None:
        self.version = 0
        self.published: list[float] = []
        self.subscribers: set[web.WebSocketResponse] = set()

    async def publish(self) -> int:
        """Make a new version, push it to every subscriber, and return its number."""
        self.version += 1
        self.published.append(time.monotonic())
        message = json.dumps({"version": self.version})
        # return_exceptions: a subscriber that is going away must not stop the others.
        await asyncio.gather(*(ws.send_str(message) for ws in list(self.subscribers)),
                             return_exceptions=True)
        return self.version

    async def run(self, offsets: Sequence[float], start: float) -> None:
        """Publish once at each ``start + offset`` (seconds, on the monotonic clock)."""
        for offset in offsets:
            await _sleep_until(start + offset)
            await self.publish()


def make_app(publisher: Publisher) -> web.Application:
    """An aiohttp application with ``GET /latest`` (for polling) and ``/live`` (push).

    When the server stops, open ``/live`` sockets are closed with code 1001 (going away),
    so stopping does not wait for them.
    """

    async def latest(request: web.Request) -> web.Response:
        return web.json_response({"version": publisher.version})

    async def live(request: web.Request) -> web.WebSocketResponse:
        # No permessage-deflate: it costs CPU and saves nothing on a classroom LAN.
        ws = web.WebSocketResponse(compress=False)
        await ws.prepare(request)
        publisher.subscribers.add(ws)
        try:
            async for _ in ws:  # the client has nothing to say; reading notices its close
                pass
        finally:
            publisher.subscribers.discard(ws)
        return ws

    async def close_live(app: web.Application) -> None:
        for ws in list(publisher.subscribers):
            await ws.close(code=1001, message=b"server shutdown")

    app = web.Application()
    app.router.add_get("/latest", latest)
    app.router.add_get("/live", live)
    app.on_shutdown.append(close_live)
    return app


def live_url(url: str) -> str:
    """The push (WebSocket) address of the server at ``url``: ``http://h:p`` -> ``ws://h:p/live``."""
    return "ws" + url.removeprefix("http") + "/live"


def schedule(updates: int, window: float, *, seed: int = 0) -> list[float]:
    """``updates`` irregular but reproducible moments in ``[0, window)``, sorted.

    The same ``seed`` gives the same moments, so every run publishes the same way.
    """
    rng = random.Random(seed)
    return sorted(rng.uniform(0, window) for _ in range(updates))


def staleness(published: Sequence[float],
              seen: Sequence[tuple[float, int]]) -> list[float | None]:
    """How long each published version stayed unseen by a client.

    ``published[v - 1]`` is when version ``v`` was published; ``seen`` lists what the
    client learnt, as ``(time, version)`` pairs in time order. Version ``v`` counts as seen
    at the first moment the client holds ``v`` or anything newer (a newer value makes an
    older one irrelevant). The result has one entry per version: the delay in seconds, or
    None if the client never caught up with it.
    """
    result: list[float | None] = []
    i = 0
    for version, when in enumerate(published, start=1):
        while i < len(seen) and seen[i][1] < version:
            i += 1
        result.append(max(0.0, seen[i][0] - when) if i < len(seen) else None)
    return result


@dataclass
class Result:
    """What one client cost and how up to date it was.

    Attributes:
        name: e.g. ``"polling every 50 ms"`` or ``"push"``.
        interval: seconds between polls; None for push.
        requests: HTTP requests the client sent (push: the one WebSocket handshake).
        messages: answers or pushed messages the client received.
        news: how many of those messages brought a newer version than the client had.
        staleness: one delay per published version (see :func:`staleness`).
    """

    name: str
    interval: float | None
    requests: int
    messages: int
    news: int
    staleness: list[float | None] = field(repr=False)

    @property
    def delays(self) -> list[float]:
        """The delays of the versions the client did catch up with."""
        return [d for d in self.staleness if d is not None]

    @property
    def missed(self) -> int:
        """Versions the client never caught up with (0 when the run was long enough)."""
        return self.staleness.count(None)

    @property
    def median(self) -> float:
        """Median delay in seconds (NaN if nothing was seen)."""
        return statistics.median(self.delays) if self.delays else float("nan")

    @property
    def mean(self) -> float:
        """Mean delay in seconds (NaN if nothing was seen)."""
        return statistics.fmean(self.delays) if self.delays else float("nan")

    @property
    def worst(self) -> float:
        """Largest delay in seconds (NaN if nothing was seen)."""
        return max(self.delays, default=float("nan"))


async def poll(session: aiohttp.ClientSession, url: str, interval: float, count: int,
               *, start: float) -> list[tuple[float, int]]:
    """Ask ``url`` for the latest version ``count`` times, at ``start + k * interval``.

    A poll that comes due while the previous answer is still on its way is sent as soon
    as that answer arrives. Returns ``(time answered, version)`` pairs, one per request.
    """
    seen = []
    for k in range(1, count + 1):
        await _sleep_until(start + k * interval)
        async with session.get(url) as response:
            response.raise_for_status()
            version = (await response.json())["version"]
        seen.append((time.monotonic(), version))
    return seen


async def measure(url: str, publisher: Publisher, intervals: Sequence[float] = (0.05, 0.2, 0.5),
                  *, duration: float = 3.0, updates: int = 30, seed: int = 0,
                  timeout: float = 5.0) -> list[Result]:
    """Follow ``publisher`` by polling at each of ``intervals`` and by push, side by side.

    ``url`` is the server of :func:`make_app`. For ``duration`` seconds, ``updates``
    versions are published at irregular moments (:func:`schedule`; all before
    ``duration - max(intervals)``, so that even the slowest poller can catch up with the
    last one) while one client per interval polls ``/latest`` and one WebSocket client
    listens on ``/live``. Each poller sends exactly ``round(duration / interval)``
    requests. Returns one :class:`Result` per poller, in the order of ``intervals``, then
    the push result. ``timeout`` bounds each wait for the network.
    """
    if not intervals or max(intervals) >= duration:
        raise ValueError("need at least one interval, each shorter than duration")
    offsets = schedule(updates, duration - max(intervals), seed=seed)
    first = publisher.version  # versions published before this run are not measured
    pushed: list[tuple[float, int]] = []
    ws = WebSocket(live_url(url))
    ws.onmessage = lambda event: pushed.append((time.monotonic(),
                                                json.loads(event.data)["version"]))
    before = set(publisher.subscribers)
    try:
        await ws.opened(timeout)
        await running.wait_for(lambda: publisher.subscribers - before, timeout,
                               what="the server to register the push client")
        client_timeout = aiohttp.ClientTimeout(total=timeout)
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            start = time.monotonic() + 0.05  # a moment for every client to be ready
            # A TaskGroup, not gather: if one poller fails, the others stop with it.
            async with asyncio.TaskGroup() as group:
                pollers = [group.create_task(poll(session, url + "/latest", interval,
                                                  round(duration / interval), start=start))
                           for interval in intervals]
                group.create_task(publisher.run(offsets, start))
            polled = [poller.result() for poller in pollers]
        last = publisher.version
        await running.wait_for(lambda: pushed and pushed[-1][1] >= last, timeout,
                               what="the last pushed version")
    finally:
        ws.close()
        await ws.closed(timeout)
    published = publisher.published[first:]
    results = [_result(translate(f"polling every {interval * 1000:g} ms"), interval, len(seen),
                       seen, published, first)
               for interval, seen in zip(intervals, polled, strict=True)]
    results.append(_result(translate("push"), None, 1, pushed, published, first))
    return results


def plot(results: Sequence[Result]):
    """Draw staleness (left) and the messages each client handled (right); return the figure.

    Uses pyplot, so in a notebook the figure is shown under the cell.
    """
    import matplotlib.pyplot as plt  # imported here: only the notebook's plot needs it

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), width_ratios=(3, 2),
                                      sharey=True, layout="constrained")
    names = [r.name.replace("polling every ", "poll every ") for r in results]
    ys = list(range(len(results)))
    for y, r in zip(ys, results, strict=True):
        delays = [max(d * 1000, 0.01) for d in r.delays]  # ms; log scale needs > 0
        left.boxplot([delays], positions=[y], orientation="horizontal", whis=(0, 100),
                     widths=0.5, medianprops={"color": f"C{y}"})
        left.scatter(delays, [y] * len(delays), s=10, alpha=0.5, color=f"C{y}")
        left.annotate(translate(f"median {r.median * 1000:.3g} ms"), (max(delays), y),
                      xytext=(8, 0), textcoords="offset points", va="center", fontsize=8)
        if r.interval:
            left.axvline(r.interval * 1000, color=f"C{y}", linestyle=":", linewidth=1)
    left.set(yticks=ys, yticklabels=names, xscale="log", xlim=(0.05, 5000),
             xlabel=translate("staleness: from publish to first sight (ms, log scale; "
                              "dotted: interval)"),
             title=translate("How old is what each client knows?"))
    right.barh(ys, [r.news for r in results], color="C2", label=translate("brought news"))
    right.barh(ys, [r.messages - r.news for r in results], left=[r.news for r in results],
               color="C7", label=translate("nothing new"))
    right.set(xlabel=translate("answers or pushed messages received"),
              title=translate("What each client handled"))
    left.invert_yaxis()  # first result at the top, as in a table
    right.legend(loc="lower right")
    return fig


def _result(name: str, interval: float | None, requests: int,
            seen: list[tuple[float, int]], published: list[float], first: int) -> Result:
    relative = [(when, version - first) for when, version in seen]
    news, newest = 0, 0
    for _, version in relative:
        if version > newest:
            news, newest = news + 1, version
    return Result(name, interval, requests, len(seen), news, staleness(published, relative))


async def _sleep_until(deadline: float) -> None:
    await asyncio.sleep(max(0.0, deadline - time.monotonic()))
