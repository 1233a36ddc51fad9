"""Several chat server processes, one chat: everything they share through Redis.

Introduced in notebook 06 (the classroom, scaling out). One process serves a classroom
well; more students than one process can serve call for several, started with the same
``--redis URL``. Everything Redis lives behind one :class:`Cluster`, made from a URL and
one key prefix::

    cluster = Cluster("redis://127.0.0.1:6379/0")        # prefix "chatkit:"
    await cluster.start(deliver=..., order=lock, rooms_here=...)
    cluster.store      # messages, ids, client ids, kicks, mutes, sessions (a Store)
    cluster.roster     # who is connected to which process (a chat.Elsewhere)
    await cluster.shared_value("join_code", new_join_code)   # one code for every process
    await cluster.close()

How the processes agree:

* **ids** come from one Redis counter; :meth:`RedisStore.add` is one Lua script that
  takes the next id, keeps the message and publishes it on one channel, so the channel
  carries every message in id order, whichever process said it;
* **said**: each process follows that channel and delivers each message to its own
  clients (:meth:`Cluster.start`'s ``deliver``), so every client hears every room in
  order; what a join's history or a resume's replay hands out is only what this process
  has delivered, and the rest arrives live: each message reaches a client once;
* **presence, notice, a kick**: python-socketio's ``AsyncRedisManager`` passes those
  emits to the other processes, on the channel :meth:`Cluster.key` ``("socketio")``;
* **who is where**: :class:`Roster`, with a heartbeat, so names are unique across the
  processes and the teacher sees everyone.

Every call uses ``redis.asyncio``: none blocks the event loop. Nothing here knows about
socket.io; :class:`chatkit.server.ChatServer` puts it together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterable
from urllib.parse import urlsplit, urlunsplit

from chatkit.chat import Roster as RosterEntries
from chatkit.limits import new_join_code, new_teacher_token
from chatkit.protocol import Message
from chatkit.store import DEFAULT_CLIENT_IDS_PER_NAME, DEFAULT_MESSAGES_PER_ROOM, Store

__all__ = ["DEFAULT_PREFIX", "MESSAGES", "Cluster", "RedisStore", "Roster", "class_secrets",
           "safe_url"]

logger = logging.getLogger(__name__)

#: The prefix of every key and channel, unless told otherwise.
DEFAULT_PREFIX = "chatkit:"
#: The channel (after the prefix) on which every new message is published, in id order.
MESSAGES = "messages"


class Cluster:
    """One chat shared by several server processes through one Redis.

    Args:
        url: the Redis server, such as ``"redis://127.0.0.1:6379/0"``.
        prefix: put before every key and channel name, so that several chats can share
            one Redis (default ``"chatkit:"``).
        heartbeat: seconds between this process's "still alive" (default 5); it counts
            as gone three heartbeats after its last one.
        messages_per_room, client_ids_per_name: as in :class:`RedisStore`.
    """

    def __init__(self, url: str, *, prefix: str = DEFAULT_PREFIX, heartbeat: float = 5.0,
                 messages_per_room: int | None = DEFAULT_MESSAGES_PER_ROOM,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        from redis import asyncio as aioredis  # here: chatkit works without Redis until asked

        self.url = url
        self.prefix = prefix
        self.heartbeat = heartbeat
        self.redis = aioredis.Redis.from_url(url, decode_responses=True)
        self.store = RedisStore(self, messages_per_room=messages_per_room,
                                client_ids_per_name=client_ids_per_name)
        self.roster = Roster(self, ttl=3 * heartbeat)
        #: The newest message id delivered to this process's clients; None before start.
        self.delivered: int | None = None
        self._tasks: list[asyncio.Task] = []

    def key(self, *parts: str) -> str:
        """A key or channel name of this chat: ``key("room", "lobby")`` is
        ``"chatkit:room:lobby"``."""
        return self.prefix + ":".join(parts)

    async def shared_value(self, name: str, make: Callable[[], str], *,
                           keep: float = 86_400) -> str:
        """The value every process of this chat uses for ``name``: the first to ask
        ``make()``\\ s it, and Redis keeps it for ``keep`` seconds (default a day). How
        processes started with one ``--redis`` agree on a random join code and token."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.key(name), make(), nx=True, ex=max(1, int(keep)))
            pipe.get(self.key(name))
            _, value = await pipe.execute()
        return value

    async def start(self, *, deliver: Callable[[Message], Awaitable[None]],
                    order: asyncio.Lock, rooms_here: Callable[[], Iterable[str]]) -> None:
        """Reach Redis, name the shared history, and follow the channel of new messages.

        From then on every message said in any process is passed to ``deliver``, once,
        in id order, while holding ``order`` (the lock under which the server also
        joins and resumes). After a lost Redis connection, what was said meanwhile in
        ``rooms_here()`` is delivered first. Raises ConnectionError if Redis cannot be
        reached. Note: this method is a coroutine.
        """
        try:
            await self.redis.ping()
            await self.store.open()
        except Exception as exc:
            raise ConnectionError(f"cannot reach Redis at {safe_url(self.url)}: {exc}"
                                  ) from None
        subscribed = asyncio.Event()

        async def catch_up() -> None:
            async with order:
                newest = await self.store.last_id()
                if self.delivered is not None:  # Redis was lost for a while
                    missed = await self.store.fetch_since(rooms_here(), self.delivered,
                                                          up_to=newest)
                    for message in missed:  # newer ones come on the channel
                        await deliver(message)
                self.delivered = max(newest, self.delivered or 0)
            subscribed.set()

        async def follow_said() -> None:
            async for data in self.follow(self.key(MESSAGES), on_subscribed=catch_up):
                try:
                    message = Message.from_dict(json.loads(data))
                except ValueError:
                    logger.warning("ignored a message on Redis that is not one: %r", data[:100])
                    continue
                async with order:
                    if message.id > self.delivered:  # not already caught up with
                        try:
                            await deliver(message)
                        except Exception:  # one failure must not stop the deliveries
                            logger.exception("could not deliver message %d", message.id)
                        self.delivered = message.id

        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(follow_said()), loop.create_task(self._beat())]
        try:
            await asyncio.wait_for(subscribed.wait(), 10)
        except TimeoutError:
            await self._stop_tasks()
            raise ConnectionError(f"cannot follow the chat's channel on Redis at "
                                  f"{safe_url(self.url)}") from None
        except BaseException:  # cancelled (an interrupted cell): stop, and say so
            await self._stop_tasks()
            raise

    async def follow(self, channel: str, *, on_subscribed: Callable[[], Awaitable[None]],
                     retry_delay: float = 0.5) -> AsyncIterator[str]:
        """Every message published on ``channel``, in order, for as long as it runs.

        ``await on_subscribed()`` runs each time the subscription is in place: first,
        and again after a lost connection to Redis, when messages may have been missed
        (whoever follows catches up there). Cancel the iteration to stop.
        Note: this method is an asynchronous generator.
        """
        delay = retry_delay
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(channel)
                while True:  # the confirmation comes first: then nothing published is missed
                    reply = await pubsub.get_message(timeout=None)
                    if reply and reply["type"] == "subscribe":
                        break
                await on_subscribed()
                delay = retry_delay
                async for reply in pubsub.listen():
                    if reply["type"] == "message":
                        yield reply["data"]
            except (asyncio.CancelledError, GeneratorExit):
                raise
            except Exception:
                logger.warning("lost the Redis channel %s; trying again in %g s", channel,
                               delay, exc_info=True)
            finally:
                await pubsub.aclose()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.roster.heartbeat()
            except Exception:
                logger.warning("cannot tell Redis this server is alive", exc_info=True)

    async def _stop_tasks(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    async def close(self) -> None:
        """Stop following, leave the roster (the others see this process go at once),
        and close the connections. Safe to call more than once; note: a coroutine."""
        await self._stop_tasks()
        try:
            await self.roster.forget()
        except Exception:
            logger.warning("cannot leave the roster in Redis", exc_info=True)
        await self.redis.aclose()

    def __repr__(self) -> str:
        return f"<Cluster {safe_url(self.url)} prefix {self.prefix!r}>"


class RedisStore(Store):
    """Messages, client ids, kicks, mutes and sessions in Redis, shared by every process
    of a :class:`Cluster` (a :class:`chatkit.store.Store`).

    :meth:`add` is one Lua script, which Redis runs all at once: it takes the next id,
    keeps the message, remembers its ``client_id`` and publishes the message, in that
    order. :meth:`recent` and :meth:`since` hand out only messages this process has
    already delivered live (``cluster.delivered``): the newer ones reach its clients live.

    Args:
        cluster: the cluster whose connection and prefix it uses.
        messages_per_room: how many messages a room keeps (default 10,000); None keeps
            all of them (Redis holds them in memory).
        client_ids_per_name: how many ``client_id`` values are remembered per name, the
            newest ones (default 1,000).
    """

    delivers_messages = True

    # KEYS: the id counter, the room's messages, the name's client ids.
    # ARGV: the message as JSON without its id, the room's limit (0: none), the
    #       client_id ("" for none), the client ids' limit, the channel to publish on.
    _ADD = """
        local id = redis.call('INCR', KEYS[1])
        local message = '{"id": ' .. id .. ', ' .. string.sub(ARGV[1], 2)
        redis.call('ZADD', KEYS[2], id, message)
        local most = tonumber(ARGV[2])
        if most > 0 then redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -most - 1) end
        if ARGV[3] ~= '' then
            redis.call('ZADD', KEYS[3], id, ARGV[3])
            redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
        end
        redis.call('PUBLISH', ARGV[5], message)
        return id
    """

    def __init__(self, cluster: Cluster, *,
                 messages_per_room: int | None = DEFAULT_MESSAGES_PER_ROOM,
                 client_ids_per_name: int = DEFAULT_CLIENT_IDS_PER_NAME):
        if messages_per_room is not None and messages_per_room < 1:
            raise ValueError("messages_per_room must be at least 1, or None for no limit")
        if client_ids_per_name < 1:
            raise ValueError("client_ids_per_name must be at least 1")
        super().__init__()
        self.cluster = cluster
        self.messages_per_room = messages_per_room
        self.client_ids_per_name = client_ids_per_name
        self._redis = cluster.redis
        self._key = cluster.key
        self._add = self._redis.register_script(self._ADD)

    async def open(self) -> None:
        """Take the history id every process on this Redis shares (the first one names it)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key("history"), self._history_id, nx=True)
            pipe.get(self._key("history"))
            _, self._history_id = await pipe.execute()

    async def add(self, room: str, name: str, text: str, *, ts: float,
                  client_id: str | None = None) -> Message:
        body = json.dumps({"room": room, "name": name, "text": text, "ts": ts})
        message_id = await self._add(
            keys=[self._key("last_id"), self._key("room", room), self._key("client_ids", name)],
            args=[body, self.messages_per_room or 0, client_id or "",
                  self.client_ids_per_name, self._key(MESSAGES)])
        return Message(int(message_id), room, name, text, ts)

    async def lookup_client_id(self, name: str, client_id: str) -> int | None:
        found = await self._redis.zscore(self._key("client_ids", name), client_id)
        return None if found is None else int(found)

    async def recent(self, room: str, limit: int) -> list[Message]:
        if limit <= 0:
            return []
        newest = self.cluster.delivered or 0
        rows = await self._redis.zrevrangebyscore(self._key("room", room), newest, "-inf",
                                                  start=0, num=limit)
        return [Message.from_dict(json.loads(row)) for row in reversed(rows)]

    async def since(self, rooms: Iterable[str], offset: int, *,
                    limit: int | None = None) -> list[Message]:
        found = await self.fetch_since(rooms, offset, up_to=self.cluster.delivered or 0)
        return found if limit is None else found[:max(0, limit)]

    async def fetch_since(self, rooms: Iterable[str], offset: int, *,
                          up_to: int | None = None) -> list[Message]:
        """Every kept message of ``rooms`` with ``offset < id <= up_to`` (None: no upper
        bound), in id order: one round trip for all the rooms."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for room in sorted(set(rooms)):
                pipe.zrangebyscore(self._key("room", room), f"({offset}",
                                   "+inf" if up_to is None else up_to)
            rows = await pipe.execute()
        found = [Message.from_dict(json.loads(row)) for room_rows in rows for row in room_rows]
        found.sort(key=lambda message: message.id)
        return found

    async def last_id(self) -> int:
        return int(await self._redis.get(self._key("last_id")) or 0)

    async def restrict(self, kind: str, name: str, until: float) -> None:
        # Redis forgets it a minute after it ends (in Redis's clock), never before.
        await self._redis.set(self._key("restrict", kind, name), repr(until),
                              exat=max(1, int(until) + 60))

    async def restriction(self, kind: str, name: str) -> float | None:
        until = await self._redis.get(self._key("restrict", kind, name))
        return None if until is None else float(until)

    async def session(self, name: str) -> str | None:
        return await self._redis.hget(self._key("sessions"), name)

    async def set_session(self, name: str, secret: str) -> None:
        await self._redis.hset(self._key("sessions"), name, secret)

    def __repr__(self) -> str:
        return f"<RedisStore {safe_url(self.cluster.url)} prefix {self.cluster.prefix!r}>"


class Roster:
    """Who is connected to which process of a :class:`Cluster` (a
    :class:`chatkit.chat.Elsewhere`).

    Each process keeps its own entry with an expiry ``ttl`` seconds ahead, by Redis's
    clock: a process that dies without a goodbye (SIGKILL, a power cut) drops out of
    everyone's view at most ``ttl`` seconds later, and its names become free. Writing
    this process's entry and reading the others' is one round trip (one Lua script).
    """

    # KEYS: the entries (process -> JSON), their expiries (a sorted set, in ms).
    # ARGV: this process, its entry as JSON ("" to only read), its ttl in ms.
    # Returns the live entries, flat: process, entry, process, entry...
    _UPDATE = """
        local now = redis.call('TIME')
        local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
        if ARGV[2] ~= '' then
            redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
            redis.call('ZADD', KEYS[2], ms + tonumber(ARGV[3]), ARGV[1])
        end
        local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ms)
        for _, process in ipairs(dead) do
            redis.call('HDEL', KEYS[1], process)
            redis.call('ZREM', KEYS[2], process)
        end
        return redis.call('HGETALL', KEYS[1])
    """

    def __init__(self, cluster: Cluster, *, process: str | None = None, ttl: float = 15.0):
        self.process = process or uuid.uuid4().hex
        self.ttl = ttl
        self._redis = cluster.redis
        self._keys = [cluster.key("roster"), cluster.key("alive")]
        self._script = self._redis.register_script(self._UPDATE)
        self._here: dict[str, list] = {}
        # One call at a time, each sending the newest entry: pooled connections could
        # otherwise let an older entry reach Redis after a newer one.
        self._writing = asyncio.Lock()

    async def update(self, here: RosterEntries) -> RosterEntries:
        """Tell the other processes who is connected here (``{name: (conn, [rooms])}``);
        return who is connected to them."""
        self._here = {name: [conn, list(rooms)] for name, (conn, rooms) in here.items()}
        return await self._call(write=True)

    async def heartbeat(self) -> RosterEntries:
        """Say again that this process is alive, with who is connected to it."""
        return await self._call(write=True)

    async def others(self) -> RosterEntries:
        """Everyone connected to the other live processes: ``{name: (conn, [rooms])}``."""
        return await self._call(write=False)

    async def forget(self) -> None:
        """Leave the roster at once (a process that stops cleanly says goodbye)."""
        self._here = {}
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._keys[0], self.process)
            pipe.zrem(self._keys[1], self.process)
            await pipe.execute()

    async def _call(self, *, write: bool) -> RosterEntries:
        async with self._writing:
            entry = json.dumps(self._here) if write else ""
            flat = await self._script(keys=self._keys,
                                      args=[self.process, entry, max(1, int(self.ttl * 1000))])
        others: dict[str, tuple[Hashable, list[str]]] = {}
        for process, data in zip(flat[::2], flat[1::2], strict=True):
            if process != self.process:
                for name, (conn, rooms) in json.loads(data).items():
                    others[name] = (conn, rooms)
        return others

    def __repr__(self) -> str:
        return f"<Roster process {self.process}: {len(self._here)} here>"


async def class_secrets(redis: str | None, join_code: str | None, teacher_token: str | None, *,
                   open_chat: bool) -> tuple[str | None, str]:
    """The join code (None for an open chat) and the teacher token of a class: the given
    ones, else random ones; with Redis, the random ones every server sharing it uses
    (``python -m chatkit serve`` asks for them at start)."""
    if redis is None:
        code = None if open_chat else join_code or new_join_code()
        return code, teacher_token or new_teacher_token()
    shared = Cluster(redis)
    try:
        code = None if open_chat else join_code or await shared.shared_value(
            "join_code", new_join_code)
        token = teacher_token or await shared.shared_value("teacher_token", new_teacher_token)
    except Exception as exc:
        raise ConnectionError(f"cannot reach Redis at {safe_url(redis)}: {exc}") from None
    finally:
        await shared.redis.aclose()
    return code, token


def safe_url(url: str) -> str:
    """A Redis URL with its password (if any) hidden, fit to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
