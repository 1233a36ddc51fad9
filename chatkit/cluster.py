"""Several chat server processes, one chat: what they share through Redis.

Introduced in notebook 06 (the classroom, scaling out). One process serves a classroom
well; more students than one process can serve (or a server that must not be a single
point of failure) call for several, started with the same ``--redis URL``. They share:

* messages, ids, client ids, kicks, mutes and sessions: :class:`chatkit.store.RedisStore`;
* rooms and broadcasts (``presence``, ``notice``, a kick's disconnect): python-socketio's
  ``AsyncRedisManager``, which passes every emit to the other processes;
* ``said`` events: every process delivers them from one Redis channel, on which
  :class:`~chatkit.store.RedisStore` publishes each message as it gives it its id. So
  every client receives them in id order, whichever process said them (:func:`follow`);
* who is connected where: :class:`RedisRoster`, so that names are unique across the
  processes, ``presence`` lists everyone and the teacher sees and reaches everyone.

Nothing here knows about socket.io: :class:`chatkit.server.ChatServer` puts it together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Hashable, Mapping
from urllib.parse import urlsplit, urlunsplit

__all__ = ["RedisRoster", "follow", "safe_url", "shared_value"]

logger = logging.getLogger(__name__)


class RedisRoster:
    """Who is connected to which chat server process, kept in Redis
    (a :class:`chatkit.chat.Elsewhere`).

    Each process writes its own list under its id, with a heartbeat that expires after
    ``ttl`` seconds: a process that dies without a goodbye (SIGKILL, a power cut) drops
    out of everyone's view at most ``ttl`` seconds later, and its names become free.
    Calls block for one short round trip to Redis, like the store's.

    Args:
        url: the Redis server, such as ``"redis://127.0.0.1:6379/0"``.
        prefix: put before every key (default ``"chatkit:"``).
        process: this process's id (default: a new random one).
        ttl: seconds a process counts as alive after its last :meth:`heartbeat` (default
            15); call :meth:`heartbeat` more often than that.
    """

    def __init__(self, url: str, *, prefix: str = "chatkit:", process: str | None = None,
                 ttl: float = 15.0):
        import redis

        self.process = process or uuid.uuid4().hex
        self.ttl = ttl
        self.redis = redis.Redis.from_url(url, decode_responses=True)
        self._roster = f"{prefix}roster"
        self._alive = f"{prefix}alive:"
        self._here: dict[str, tuple[Hashable, list[str]]] = {}

    def update(self, here: Mapping[str, tuple[Hashable, list[str]]]) -> None:
        """Tell the other processes who is connected here: ``{name: (conn, [rooms])}``."""
        self._here = dict(here)
        self.heartbeat()

    def heartbeat(self) -> None:
        """Say again that this process is alive, with who is connected to it."""
        here = {name: [conn, rooms] for name, (conn, rooms) in self._here.items()}
        pipe = self.redis.pipeline()
        pipe.hset(self._roster, self.process, json.dumps(here))
        pipe.set(self._alive + self.process, "1", px=max(1, int(self.ttl * 1000)))
        pipe.execute()

    def people(self) -> dict[str, Hashable]:
        """Everyone connected to the other live processes: ``{name: conn}``."""
        return {name: conn for here in self._others().values()
                for name, (conn, _) in here.items()}

    def rooms(self) -> dict[str, set[str]]:
        """The rooms of the people connected to the other live processes."""
        rooms: dict[str, set[str]] = {}
        for here in self._others().values():
            for name, (_, names_rooms) in here.items():
                for room in names_rooms:
                    rooms.setdefault(room, set()).add(name)
        return rooms

    def forget(self) -> None:
        """Leave the roster at once (a process that stops cleanly says goodbye)."""
        self._here = {}
        pipe = self.redis.pipeline()
        pipe.hdel(self._roster, self.process)
        pipe.delete(self._alive + self.process)
        pipe.execute()

    def close(self) -> None:
        self.redis.close()

    def _others(self) -> dict[str, dict[str, list]]:
        entries = {process: here for process, here in self.redis.hgetall(self._roster).items()
                   if process != self.process}
        if not entries:
            return {}
        processes = list(entries)
        alive = self.redis.mget([self._alive + process for process in processes])
        dead = [process for process, flag in zip(processes, alive) if flag is None]
        if dead:  # gone without a goodbye: tidy up for everyone
            self.redis.hdel(self._roster, *dead)
        return {process: json.loads(entries[process])
                for process, flag in zip(processes, alive) if flag is not None}

    def __repr__(self) -> str:
        return f"<RedisRoster process {self.process}: {len(self._here)} here>"


async def follow(url: str, channel: str, *, on_subscribed: Callable[[], object],
                 retry_delay: float = 0.5) -> AsyncIterator[str]:
    """Every message published on a Redis ``channel``, in order, for as long as it runs.

    ``on_subscribed()`` is called (and awaited, if it returns an awaitable) each time the
    subscription is in place: first, and again after a lost connection to Redis, when
    messages may have been missed. Whoever follows catches up there (from the store),
    and skips what it already had. Cancel the iteration to stop.
    Note: this function is an asynchronous generator.
    """
    from redis import asyncio as aioredis

    delay = retry_delay
    while True:
        client = aioredis.Redis.from_url(url, decode_responses=True)
        pubsub = client.pubsub()
        try:
            await pubsub.subscribe(channel)
            while True:  # the confirmation comes first: then nothing published is missed
                reply = await pubsub.get_message(timeout=None)
                if reply and reply["type"] == "subscribe":
                    break
            caught_up = on_subscribed()
            if asyncio.iscoroutine(caught_up):
                await caught_up
            delay = retry_delay
            async for reply in pubsub.listen():
                if reply["type"] == "message":
                    yield reply["data"]
        except (asyncio.CancelledError, GeneratorExit):
            raise
        except Exception:
            logger.warning("lost the Redis channel %s; trying again in %g s", channel, delay,
                           exc_info=True)
        finally:
            await pubsub.aclose()
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, 10.0)


def shared_value(url: str, key: str, make: Callable[[], str], *,
                 keep: float = 86_400) -> str:
    """The value kept in Redis under ``key``; if there is none yet, ``make()`` one and keep
    it for ``keep`` seconds (default a day). This is how the processes started with the
    same ``--redis`` agree on a random join code and teacher token."""
    import redis

    client = redis.Redis.from_url(url, decode_responses=True)
    try:
        client.set(key, make(), nx=True, ex=max(1, int(keep)))
        return client.get(key)
    finally:
        client.close()


def safe_url(url: str) -> str:
    """A Redis URL with its password (if any) hidden, fit to print or log."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username or ''}:***@{parts.hostname or ''}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))
