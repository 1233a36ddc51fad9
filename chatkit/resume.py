"""Nothing lost, nothing twice: the client's half of resuming a chat after a lost connection.

Introduced in notebook 03, where :class:`chatkit.client.ChatClient` loses its connection
on purpose and comes back with every message exactly once. Two halves:

* :class:`Seen` remembers what arrived (the newest message id of each room, the newest
  of all, and which message history the ids belong to), so that a reconnect asks the
  server for what came after (``offset``), and a message replayed twice is dropped;
* :class:`Outbox` keeps what was said but not yet acknowledged, and sends it again on
  the next connection with the same ``client_id``, so the server keeps it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from chatkit import protocol
from chatkit.protocol import ChatError, Message, Welcome

__all__ = ["Outbox", "Seen"]


class Seen:
    """The newest message id seen in each room, and of all rooms (the ``offset``)."""

    def __init__(self) -> None:
        #: The newest message id seen, None before the first; a reconnect sends it.
        self.offset: int | None = None
        #: Which message history the ids belong to (the ``welcome``'s ``history``).
        self.history_id: str | None = None
        self._last_id_by_room: dict[str, int] = {}

    def welcome(self, welcome: Welcome) -> None:
        """A server's ``welcome``: a history other than the one seen so far starts afresh."""
        if welcome.history_id != self.history_id:
            # Say, a server restarted without --db: its ids start again, and the replay
            # that follows is all new to us.
            self._last_id_by_room.clear()
            self.offset = None
            self.history_id = welcome.history_id

    def auth(self, name: str, *, code: str | None, session: str | None,
             rooms: Iterable[str]) -> dict:
        """The ``auth`` of a connection attempt: with ``rooms`` (the rooms still joined),
        the offset and the history to resume from; without, a fresh start."""
        rooms = sorted(rooms)
        if not rooms:
            return protocol.chat_auth(name, code=code, session=session)
        return protocol.chat_auth(name, code=code, session=session, rooms=rooms,
                                  offset=self.offset or 0, history_id=self.history_id)

    def first_time(self, message: Message) -> bool:
        """Whether ``message`` is new (and count it seen); ids grow per room, so a
        message whose id is not above its room's newest is a duplicate."""
        if message.id <= self._last_id_by_room.get(message.room, 0):
            return False
        self._saw(message.room, message.id)
        return True

    def history(self, room: str, messages: Iterable[Message]) -> None:
        """A ``join``'s history of ``room``: its newest id counts as seen.

        The server answers join, leave and say one at a time, so a history never runs
        ahead of the ``said`` events already on their way; a resume then does not send
        that history again.
        """
        newest = max((message.id for message in messages), default=None)
        if newest is not None:
            self._saw(room, max(self._last_id_by_room.get(room, 0), newest))

    def _saw(self, room: str, message_id: int) -> None:
        self._last_id_by_room[room] = message_id
        self.offset = max(self.offset or 0, message_id)


@dataclass
class _Pending:
    """A message waiting for the server's ack."""

    payload: dict
    answer: asyncio.Future
    sends: int = 0
    sent_on: int = -1  # the connection number it was last sent on


class Outbox:
    """Messages waiting for their ack; each is sent once per connection, and again on the
    next one until it is answered, at most ``max_sends`` times (a message that itself
    breaks the connection, too big for the server, is not re-sent forever).

    Args:
        emit: ``await emit(payload, on_ack)`` sends one message; ``on_ack(ack)`` is called
            with the server's answer. It may raise ConnectionError if the connection is
            gone: the message is then sent on the next one.
        max_sends: how many sends without an answer before giving up on a message.
    """

    def __init__(self, emit: Callable[[dict, Callable[[Any], None]], Awaitable[None]],
                 *, max_sends: int = 3):
        self._emit = emit
        self.max_sends = max_sends
        self._pending: dict[str, _Pending] = {}
        self._connection: int | None = None  # None while there is none
        self._count = 0
        self._lock = asyncio.Lock()  # keeps re-sent and new messages in their order

    async def send(self, payload: dict, timeout: float) -> Any:
        """Send ``payload`` (it has a ``client_id``) now, or on the next connection if
        there is none; return the server's ack. Raises TimeoutError after ``timeout``
        seconds, ChatError if :meth:`fail` gives it up. Note: this method is a coroutine.
        """
        client_id = payload["client_id"]
        pending = _Pending(payload, asyncio.get_running_loop().create_future())
        self._pending[client_id] = pending
        try:
            async with self._lock:
                await self._send(pending)
            return await asyncio.wait_for(asyncio.shield(pending.answer), timeout)
        finally:
            self._pending.pop(client_id, None)

    async def connected(self, then: Callable[[], None] = lambda: None) -> None:
        """A new connection is up: call ``then()``, and send again, in order, what waits;
        no new message goes out before those. Note: this method is a coroutine."""
        async with self._lock:
            self._count += 1
            self._connection = self._count
            then()
            for pending in list(self._pending.values()):
                await self._send(pending)

    def disconnected(self) -> None:
        """The connection is gone: hold messages until the next one."""
        self._connection = None

    def fail(self, why: str) -> None:
        """Give up every waiting message: its :meth:`send` raises ChatError(why)."""
        for pending in self._pending.values():
            if not pending.answer.done():
                pending.answer.set_exception(ChatError(why))

    async def _send(self, pending: _Pending) -> None:
        if self._connection is None or pending.sent_on == self._connection:
            return
        if pending.sends >= self.max_sends:
            if not pending.answer.done():
                pending.answer.set_exception(ChatError(
                    f"sent {self.max_sends} times without an answer; given up"))
            return
        pending.sends += 1
        pending.sent_on = self._connection
        try:
            await self._emit(pending.payload, lambda ack: self._answered(pending, ack))
        except ConnectionError:
            pass  # lost meanwhile: it is sent again on the next connection

    @staticmethod
    def _answered(pending: _Pending, ack: Any) -> None:
        if not pending.answer.done():
            pending.answer.set_result(ack)
