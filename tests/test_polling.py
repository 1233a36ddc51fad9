"""chatkit.polling: staleness arithmetic without sockets, then the server and a real run."""

import aiohttp
import pytest

from chatkit import polling, running
from chatkit.websocket import WebSocket
from tests.conftest import timeout


async def news_server():
    publisher = polling.Publisher()
    server = await running.serve_aiohttp(polling.make_app(publisher), name="test-news")
    return publisher, server


def test_staleness_is_the_wait_until_first_sight():
    """Each version is as stale as the wait until the client first holds it."""
    published = [1.0, 2.0, 3.0]
    seen = [(0.5, 0), (1.5, 1), (3.25, 3)]
    assert polling.staleness(published, seen) == [0.5, 1.25, 0.25]


def test_staleness_counts_a_newer_version_as_seen():
    """A version overwritten before any poll counts as seen when a newer one is."""
    assert polling.staleness([1.0, 1.1], [(2.0, 2)]) == [1.0, pytest.approx(0.9)]


def test_staleness_is_none_for_versions_never_caught_up():
    """Versions published after the client's last look are None, not zero."""
    assert polling.staleness([1.0, 5.0], [(2.0, 1)]) == [1.0, None]


def test_schedule_is_reproducible_sorted_and_inside_the_window():
    """The same seed gives the same irregular moments, all inside the window."""
    moments = polling.schedule(50, 2.0, seed=7)
    assert moments == polling.schedule(50, 2.0, seed=7)
    assert moments != polling.schedule(50, 2.0, seed=8)
    assert moments == sorted(moments) and all(0 <= t < 2.0 for t in moments)
    assert len(set(round(b - a, 6) for a, b in zip(moments, moments[1:], strict=False))) > 40


def test_result_summaries_ignore_versions_never_seen():
    """median, worst and missed look only at the delays that exist."""
    result = polling.Result("x", 0.1, 3, 3, 2, [0.1, None, 0.3, 0.2])
    assert (result.median, result.worst, result.missed) == (0.2, 0.3, 1)


async def test_latest_answers_the_current_version():
    """GET /latest answers {"version": n} with the newest published version."""
    publisher, server = await news_server()
    async with aiohttp.ClientSession() as session:
        async with session.get(server.url + "/latest") as response:
            assert await response.json() == {"version": 0}
        await publisher.publish()
        await publisher.publish()
        async with session.get(server.url + "/latest") as response:
            assert await response.json() == {"version": 2}


async def test_live_pushes_every_version_to_every_subscriber():
    """Every WebSocket on /live receives each published version, in order."""
    publisher, server = await news_server()
    inboxes = [[], []]
    sockets = [WebSocket(polling.live_url(server.url)) for _ in inboxes]
    for ws, inbox in zip(sockets, inboxes, strict=True):
        ws.onmessage = lambda event, inbox=inbox: inbox.append(event.data)
        await ws.opened(timeout(5))
    await running.wait_for(lambda: len(publisher.subscribers) == 2, timeout(5))
    for _ in range(3):
        await publisher.publish()
    await running.wait_for(lambda: all(len(inbox) == 3 for inbox in inboxes), timeout(5))
    assert inboxes[0] == inboxes[1] == [f'{{"version": {v}}}' for v in (1, 2, 3)]
    for ws in sockets:
        ws.close()
        await ws.closed(timeout(5))
    await running.wait_for(lambda: not publisher.subscribers, timeout(5))


async def test_stopping_the_server_closes_live_sockets_with_1001():
    """Stopping the server closes open /live sockets with 1001 instead of waiting."""
    _, server = await news_server()
    ws = WebSocket(polling.live_url(server.url))
    await ws.opened(timeout(5))
    await server.stop()
    event = await ws.closed(timeout(1))
    assert (event.code, event.was_clean) == (1001, True)


async def test_measure_counts_costs_and_push_is_fresher_than_polling():
    """A real run: exact request counts, nothing missed, push fresher than any poller."""
    publisher, server = await news_server()
    await publisher.publish()  # published before the run: must not be counted
    fast, slow, push = await polling.measure(server.url, publisher, (0.05, 0.2),
                                             duration=1.0, updates=10, timeout=timeout(5))
    assert [(r.requests, r.messages) for r in (fast, slow, push)] == [(20, 20), (5, 5),
                                                                      (1, 10)]
    assert push.news == 10 and fast.news <= 10
    assert all(len(r.staleness) == 10 and r.missed == 0 for r in (fast, slow, push))
    assert push.median < fast.interval and push.median < fast.median < slow.median
    assert all(r.worst < r.interval + timeout(0.5) for r in (fast, slow))
    assert not publisher.subscribers  # measure closed its WebSocket


async def test_measure_refuses_an_interval_as_long_as_the_run():
    """An interval that does not fit in the run is a ValueError, not a silent empty run."""
    publisher, server = await news_server()
    with pytest.raises(ValueError, match="shorter than duration"):
        await polling.measure(server.url, publisher, (1.0,), duration=1.0)


def test_plot_draws_one_row_per_client():
    """plot returns a two-panel figure with one row per result."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    results = [polling.Result("polling every 50 ms", 0.05, 4, 4, 2, [0.02, 0.03]),
               polling.Result("push", None, 1, 2, 2, [0.001, 0.002])]
    fig = polling.plot(results)
    try:
        left, right = fig.axes
        assert [t.get_text() for t in left.get_yticklabels()] == ["poll every 50 ms", "push"]
        assert len(right.patches) == 4  # news and nothing-new bars for each client
    finally:
        plt.close(fig)
