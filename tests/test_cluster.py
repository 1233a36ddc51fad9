"""chatkit.cluster against a real Redis: the shared store, the roster of who is where, the
channel of new messages (in id order), the values several processes agree on, and what a request costs
in round trips to Redis."""

import asyncio
import json

import pytest
from redis.asyncio.connection import AbstractConnection

from chatkit import protocol, running
from chatkit.cluster import MESSAGES, Cluster, safe_url
from chatkit.protocol import Message
from chatkit.server import ChatServer
from tests.conftest import timeout
from tests.redisserver import redis_url  # noqa: F401 (a fixture)


@pytest.fixture
async def clusters(redis_url):  # noqa: F811 (a fixture)
    """Two processes' clusters on one Redis, not started (no follower, no heartbeat)."""
    made = [Cluster(redis_url), Cluster(redis_url)]
    for cluster in made:
        await cluster.store.open()
    yield made
    for cluster in made:
        await cluster.close()


async def add(cluster, room, text, *, name="ada", client_id=None):
    return await cluster.store.add(room, name, text, ts=1.5, client_id=client_id)


# -- the store --------------------------------------------------------------------------------

async def test_two_stores_share_one_id_sequence_and_everything_else(clusters):
    """Two processes' stores on one Redis: one id sequence, one history, shared memories."""
    first, second = clusters
    ids = [(await add(cluster, "lobby", f"m{n}", client_id=f"c{n}")).id
           for n, cluster in enumerate([first, second, first, second])]
    assert ids == [1, 2, 3, 4]
    assert await first.store.last_id() == await second.store.last_id() == 4
    second.delivered = 4  # as if its follower had delivered them all
    assert [m.text for m in await second.store.recent("lobby", 10)] == ["m0", "m1", "m2", "m3"]
    assert await second.store.lookup_client_id("ada", "c0") == 1
    await first.store.restrict("kick", "bob", 2_000_000_000.0)
    await first.store.set_session("bob", "s")
    assert await second.store.restriction("kick", "bob") == 2_000_000_000.0
    assert await second.store.session("bob") == "s"
    assert first.store.history_id == second.store.history_id


async def test_history_and_replay_hold_only_what_this_process_delivered(clusters):
    """recent() and since() stop at `delivered`: newer messages reach clients live."""
    first, _ = clusters
    said = [await add(first, "lobby", text) for text in "abcd"]
    first.delivered = said[1].id
    assert [m.text for m in await first.store.recent("lobby", 10)] == ["a", "b"]
    assert [m.text for m in await first.store.since(["lobby"], 0)] == ["a", "b"]
    assert [m.text for m in await first.store.fetch_since(["lobby"], said[1].id)] == ["c", "d"]
    first.delivered = said[-1].id
    assert [m.text for m in await first.store.since(["lobby"], 0, limit=3)] == ["a", "b", "c"]


async def test_the_store_publishes_each_message_in_id_order(clusters):
    """Every add is published on the chat's `said` channel as its JSON, in id order."""
    first, _ = clusters
    pubsub = first.redis.pubsub()
    await pubsub.subscribe(first.key(MESSAGES))
    assert (await pubsub.get_message(timeout=timeout(5)))["type"] == "subscribe"
    said = [await add(first, room, room) for room in "abab"]
    published = [await pubsub.get_message(timeout=timeout(5)) for _ in said]
    assert [Message.from_dict(json.loads(m["data"])) for m in published] == said
    await pubsub.aclose()


async def test_the_store_limits_rooms_and_client_ids(redis_url):  # noqa: F811 (a fixture)
    """messages_per_room and client_ids_per_name keep the newest ones, as in memory."""
    cluster = Cluster(redis_url, messages_per_room=3, client_ids_per_name=2)
    for n in range(5):
        await add(cluster, "a", str(n), client_id=f"m{n}")
    assert [m.text for m in await cluster.store.fetch_since(["a"], 0)] == ["2", "3", "4"]
    assert [await cluster.store.lookup_client_id("ada", f"m{n}") for n in (2, 3, 4)] == [
        None, 4, 5]
    await cluster.close()


async def test_one_prefix_for_every_key_so_chats_can_share_a_redis(redis_url):  # noqa: F811
    """Two prefixes on one Redis are two separate chats; every key carries its prefix."""
    one, other = Cluster(redis_url, prefix="one:"), Cluster(redis_url, prefix="other:")
    await one.store.open()
    await add(one, "a", "x")
    await one.roster.update({"ada": ("sid-a", ["a"])})
    await one.shared_value("join_code", lambda: "maple-otter-42")
    assert await other.store.last_id() == 0 and await other.roster.others() == {}
    assert all(key.startswith("one:") for key in await one.redis.keys("*"))
    for cluster in (one, other):
        await cluster.close()


# -- the roster -------------------------------------------------------------------------------

async def test_each_process_sees_who_is_connected_to_the_others(clusters):
    """update() returns the others; others() lists them, never the process itself."""
    one, two = (cluster.roster for cluster in clusters)
    assert await one.update({"ada": ("sid-a", ["lobby", "games"]), "cy": ("sid-c", [])}) == {}
    assert await two.update({"bob": ("sid-b", ["lobby"])}) == {
        "ada": ("sid-a", ["lobby", "games"]), "cy": ("sid-c", [])}
    assert await one.others() == {"bob": ("sid-b", ["lobby"])}


async def test_a_process_that_stops_cleanly_leaves_at_once(clusters):
    """forget() takes a process's people out of everyone's view."""
    one, two = (cluster.roster for cluster in clusters)
    await one.update({"ada": ("sid-a", ["lobby"])})
    await one.forget()
    assert await two.others() == {}


async def test_a_process_that_dies_drops_out_when_its_entry_expires(clusters):
    """Without heartbeats a process's entry expires (by Redis's clock); readers tidy it."""
    one, two = clusters
    one.roster.ttl = 0.2
    await one.roster.update({"ada": ("sid-a", ["lobby"])})
    assert "ada" in await two.roster.others()
    await asyncio.sleep(0.4)
    assert await two.roster.others() == {}
    assert not await one.redis.hexists(one.key("roster"), one.roster.process)


async def test_heartbeat_renews_a_process_with_its_people(clusters):
    """heartbeat() says again who is here, with a new expiry."""
    one, two = clusters
    one.roster.ttl = 0.3
    await one.roster.update({"ada": ("sid-a", [])})
    for _ in range(3):
        await asyncio.sleep(0.15)
        await one.roster.heartbeat()
    assert await two.roster.others() == {"ada": ("sid-a", [])}


# -- the channel and the shared values --------------------------------------------------------

async def test_follow_yields_every_published_message_in_order(clusters):
    """follow() subscribes, awaits on_subscribed, then yields the channel's messages."""
    first, second = clusters
    subscribed = asyncio.Event()
    got = []

    async def on_subscribed():
        subscribed.set()

    async def listen():
        async for data in second.follow(second.key(MESSAGES), on_subscribed=on_subscribed):
            got.append(data)
            if len(got) == 3:
                return

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), timeout(5))
    said = [await add(first, "lobby", text) for text in ("a", "b", "c")]
    await asyncio.wait_for(listener, timeout(5))
    assert [Message.from_dict(json.loads(data)) for data in got] == said


async def test_follow_stops_when_cancelled(clusters):
    """Cancelling the task that follows a channel ends it cleanly."""
    subscribed = asyncio.Event()

    async def on_subscribed():
        subscribed.set()

    async def listen():
        async for _ in clusters[0].follow(clusters[0].key(MESSAGES), on_subscribed=on_subscribed):
            pass

    listener = asyncio.create_task(listen())
    await asyncio.wait_for(subscribed.wait(), timeout(5))
    listener.cancel()
    with pytest.raises(asyncio.CancelledError):
        await listener


async def test_a_shared_value_is_made_once_and_kept(clusters):
    """The first process makes the value; the others get the same one; it expires later."""
    first, second = clusters
    assert await first.shared_value("join_code", lambda: "maple-otter-42") == "maple-otter-42"
    assert await second.shared_value("join_code", lambda: "other-value-11") == "maple-otter-42"
    assert 0 < await first.redis.ttl("chatkit:join_code") <= 86_400


def test_safe_url_hides_a_password():
    """A Redis URL is printed without its password."""
    assert safe_url("redis://:s3cret@10.0.0.5:6379/0") == "redis://:***@10.0.0.5:6379/0"
    assert safe_url("redis://user:pw@host/1") == "redis://user:***@host/1"
    assert safe_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


# -- what a request costs ---------------------------------------------------------------------

async def test_join_costs_four_round_trips_to_redis_and_say_three(redis_url, monkeypatch,  # noqa: F811
                                                                   raw_peers):
    """With Redis, a join is four round trips (roster, history, the presence broadcast to
    the room and the same to the teachers' pages, on every server) and a say three (client
    id, mute, the add script that also publishes); none blocks the loop."""
    server = ChatServer(redis=redis_url)
    await server.start(name="chat-round-trips")
    client = raw_peers(protocol.CHAT)
    await client.connect(server.url, protocol.chat_auth("ada"))
    await client.call(protocol.JOIN, {"room": "warm-up"})  # loads the Lua scripts once
    await client.call(protocol.SAY, {"room": "warm-up", "text": "hi", "client_id": "w"})
    sends = []
    original = AbstractConnection.send_packed_command

    async def counted(self, command, check_health=True):
        sends.append(command)  # one call per round trip: a pipeline sends all at once
        return await original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counted)
    assert (await client.call(protocol.JOIN, {"room": "lobby"}))["ok"]
    joined = len(sends)
    assert (await client.call(protocol.SAY, {"room": "lobby", "text": "hi",
                                             "client_id": "x"}))["ok"]
    assert (joined, len(sends) - joined) == (4, 3)
    await client.close()
    await server.stop()


async def test_messages_said_while_the_channel_was_lost_are_delivered_once_in_order(
        redis_url):  # noqa: F811 (a fixture)
    """After Redis drops the follower's connection, what was said meanwhile is caught up
    from the store, then the channel goes on: each message delivered once, in id order."""
    follower, speaker = Cluster(redis_url), Cluster(redis_url)
    await speaker.store.open()
    delivered = []

    async def deliver(message):
        delivered.append(message.id)

    await follower.start(deliver=deliver, order=asyncio.Lock(), rooms_here=lambda: ["lobby"])
    first = await add(speaker, "lobby", "before")
    await running.wait_for(lambda: delivered == [first.id], timeout(5))
    await speaker.redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    missed = [(await add(speaker, "lobby", f"missed {n}")).id for n in range(3)]
    await running.wait_for(lambda: len(delivered) >= 4, timeout(10), what="the catch-up")
    after = (await add(speaker, "lobby", "after")).id
    await running.wait_for(lambda: after in delivered, timeout(5), what="the live one")
    assert delivered == [first.id, *missed, after]
    for cluster in (follower, speaker):
        await cluster.close()
