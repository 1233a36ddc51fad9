"""chatkit.cluster against a real Redis: the roster of who is where, the channel of new
messages, and the values several processes agree on."""

import asyncio

import pytest
import redis

from chatkit.cluster import RedisRoster, follow, safe_url, shared_value
from chatkit.store import RedisStore
from tests.conftest import timeout
from tests.redisserver import redis_url  # noqa: F401 (a fixture)


@pytest.fixture
def rosters(redis_url):
    """Two processes' rosters on one Redis."""
    made = [RedisRoster(redis_url, process="one"), RedisRoster(redis_url, process="two")]
    yield made
    for roster in made:
        roster.close()


def test_each_process_sees_who_is_connected_to_the_others(rosters):
    """people() and rooms() list the other processes' connections, never one's own."""
    one, two = rosters
    one.update({"ada": ("sid-a", ["lobby", "games"]), "cy": ("sid-c", [])})
    two.update({"bob": ("sid-b", ["lobby"])})
    assert two.people() == {"ada": "sid-a", "cy": "sid-c"}
    assert two.rooms() == {"lobby": {"ada"}, "games": {"ada"}}
    assert one.people() == {"bob": "sid-b"} and one.rooms() == {"lobby": {"bob"}}


def test_a_process_that_stops_cleanly_leaves_at_once(rosters):
    """forget() takes a process's people out of everyone's view."""
    one, two = rosters
    one.update({"ada": ("sid-a", ["lobby"])})
    one.forget()
    assert two.people() == {} and two.rooms() == {}


def test_a_process_that_dies_drops_out_when_its_heartbeat_expires(rosters):
    """Without heartbeats a process's entry expires; the next reader tidies it away."""
    one, two = rosters
    one.update({"ada": ("sid-a", ["lobby"])})
    alive = "chatkit:alive:one"
    assert 0 < one.redis.pttl(alive) <= one.ttl * 1000  # it would expire on its own
    one.redis.delete(alive)  # as Redis does when the time is up
    assert two.people() == {}
    assert not one.redis.hexists("chatkit:roster", "one")


def test_heartbeat_renews_a_process_with_its_people(rosters):
    """heartbeat() says again who is here, and sets a new expiry."""
    one, two = rosters
    one.update({"ada": ("sid-a", [])})
    one.redis.delete("chatkit:alive:one")
    one.heartbeat()
    assert two.people() == {"ada": "sid-a"}


async def test_follow_yields_every_published_message_in_order(redis_url):
    """follow() subscribes, calls on_subscribed, then yields the channel's messages in order."""
    store = RedisStore(redis_url)
    subscribed = asyncio.Event()
    got = []

    async def listen():
        async for data in follow(redis_url, store.said_channel, on_subscribed=subscribed.set):
            got.append(data)
            if len(got) == 3:
                return

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), timeout(5))
    said = [store.add("lobby", "ada", text, ts=1.0) for text in ("a", "b", "c")]
    await asyncio.wait_for(listener, timeout(5))
    assert [f'"id": {message.id},' in data for message, data in zip(said, got)] == [True] * 3
    store.close()


async def test_follow_stops_when_cancelled(redis_url):
    """Cancelling the task that follows a channel ends it cleanly."""
    subscribed = asyncio.Event()

    async def listen():
        async for _ in follow(redis_url, "chatkit:said", on_subscribed=subscribed.set):
            pass

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), timeout(5))
    listener.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listener


def test_shared_value_is_made_once_and_kept(redis_url):
    """The first process makes the value; the others get the same one; it expires later."""
    first = shared_value(redis_url, "chatkit:join_code", lambda: "maple-otter-42")
    second = shared_value(redis_url, "chatkit:join_code", lambda: "other-value-11")
    assert first == second == "maple-otter-42"
    client = redis.Redis.from_url(redis_url)
    assert 0 < client.ttl("chatkit:join_code") <= 86_400
    client.close()


def test_safe_url_hides_a_password():
    """A Redis URL is printed without its password."""
    assert safe_url("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert safe_url("redis://user:pw@host/1") == "redis://user:***@host/1"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
