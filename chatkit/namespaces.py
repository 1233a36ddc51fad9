"""The two socket.io namespaces of ``ChatServer``: each event becomes one rule call.

Introduced in notebook 03 (the server's events), with ``/teacher`` in notebook 06. Each
handler is one line: it calls one rule of :mod:`chatkit.chat` or :mod:`chatkit.moderation`
under the server's order lock and returns the rule's ack; the server
(:class:`chatkit.server.ChatServer`, passed in as ``chat_server``) carries out the
rule's effects. A refusal becomes an error ack, or a ``connect_error`` with its sentence;
anything that is not a request of the protocol is ignored, as docs/protocol.md says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from chatkit import protocol
from chatkit.effects import Result
from chatkit.language import language_in, translate
from chatkit.limits import Refused
from chatkit.pages import join_link, qr_data_uri

__all__ = ["ChatNamespace", "Namespace", "TeacherNamespace"]

# The server's logger: `serve` shows its INFO lines, these among them.
logger = logging.getLogger("chatkit.server")


class Namespace(socketio.AsyncNamespace):
    """What both namespaces share: a request becomes one rule call whose effects the
    server runs; a refusal or a failure becomes an error ack; other events are ignored."""

    #: The requests a client may send; anything else is ignored (and logged).
    requests: frozenset[str] = frozenset()

    def __init__(self, namespace: str, chat_server: Any):
        super().__init__(namespace)
        self.chat = chat_server

    async def trigger_event(self, event: Any, *args: Any) -> Any:
        """Route an event to its handler; refusals and failures become error acks."""
        sid = args[0] if args else None
        if event in ("connect", "disconnect"):
            # python-socketio also routes a client's *event* named "connect" or
            # "disconnect" here; a real one arrives while the sid is not fully connected.
            if self.server.manager.is_connected(sid, self.namespace):
                logger.info("ignored an event named %r from %s", event, self._who(sid))
                return self.server.not_handled
            return await getattr(self, f"on_{event}")(*args)
        if not isinstance(event, str) or event not in self.requests:
            logger.info("ignored unknown event %r from %s", event, self._who(sid))
            return self.server.not_handled  # no ack: the protocol ignores unknown events
        try:
            return await getattr(self, f"on_{event}")(*args)
        except Refused as refusal:
            await self.chat.run(refusal.effects)
            return protocol.refused(translate(str(refusal), self.chat.language_of(sid)))
        except Exception:
            logger.exception("%r from %s failed", event, self._who(sid))
            return protocol.refused(translate(protocol.SERVER_FAILED,
                                              self.chat.language_of(sid)))

    async def answer(self, rule: Callable[..., Awaitable[Result]], *args: Any,
                     undo: Callable[[Any], Awaitable[Result]] | None = None) -> dict:
        """Call ``rule``, run its effects and return its ack, under the server's order
        lock (so that ``said`` events, joins and resumes never interleave). If the
        effects fail, ``undo(result)`` takes the rule back, its effects run too."""
        async with self.chat.order:
            result = await rule(*args)
            try:
                await self.chat.run(result.effects)
            except Exception:
                if undo is not None:
                    with contextlib.suppress(Exception):
                        await self.chat.run((await undo(result)).effects)
                raise
        return result.ack()

    async def admit(self, rule: Callable[..., Awaitable[Result]], sid: str, environ: dict,
                    auth: Any) -> None:
        """Call a connect rule with where the connection comes from; a refusal becomes
        socket.io's ``connect_error`` (and closes the transport when the guard says so)."""
        # (python-engineio's aiohttp driver sets REMOTE_ADDR to 127.0.0.1 for everyone)
        request = environ.get("aiohttp.request")
        address = request.remote if request is not None else environ.get("REMOTE_ADDR")
        link = self.server.manager.eio_sid_from_sid(sid, self.namespace)
        asked = language_in(auth)  # "lang" in auth: refusals and notices in that language
        language = asked or self.chat.language
        try:
            accepted = await rule(sid, auth, address=address, link=link)
        except Refused as refusal:
            await self.chat.run(refusal.effects)
            if getattr(refusal, "close", False):
                self.chat.close_transport(link)
            # A refusal that passes with time says when, so that a client can try again
            # by itself: connect_error {"message", "data": {"retry_after": seconds}}.
            wait = getattr(refusal, "wait", 0)
            data = ({"retry_after": max(0.1, round(wait, 1))},) if wait else ()
            raise socketio.exceptions.ConnectionRefusedError(
                translate(str(refusal), language), *data) from None
        except Exception:
            logger.exception("connect failed")
            raise socketio.exceptions.ConnectionRefusedError(translate(
                "The server failed to accept this connection; please tell your teacher.",
                language)) from None
        if asked:
            self.chat.languages[sid] = asked
        await self.chat.run(accepted.effects)

    def _who(self, sid: str) -> str:
        name = self.chat.moderation.label(sid)
        return f"{name} ({sid})" if name else str(sid)


class ChatNamespace(Namespace):
    """The ``/chat`` namespace: each event becomes one call of the rules."""

    requests = protocol.CHAT_REQUESTS

    def __init__(self, chat_server: Any):
        super().__init__(protocol.CHAT, chat_server)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        await self.admit(self.chat.rules.connect, sid, environ, auth)

    async def after_connect(self, sid: str) -> None:
        """The welcome, the replay and presence, right after the CONNECT packet
        (called by :class:`chatkit.engine.ChatManager`)."""
        if not self.server.is_open(sid, self.namespace):
            # Gone while its connect handler ran: socket.io skips the disconnect handler
            # of a connection that was not fully connected, so forget it here.
            self.chat.languages.pop(sid, None)
            await self.chat.run((await self.chat.rules.disconnect(sid, "transport close")
                                 ).effects)
            await self.server.manager.disconnect(sid, self.namespace, ignore_queue=True)
            return
        # The replay comes in steps, the lock let go between them: others are not held up.
        steps = self.chat.rules.resume(sid)
        while True:
            async with self.chat.order:
                step = await anext(steps, None)
                if step is None:
                    return
                await self.chat.run(step.effects)
            await asyncio.sleep(0)  # others' requests get in line for the lock meanwhile

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        self.chat.languages.pop(sid, None)
        await self.chat.run((await self.chat.rules.disconnect(sid, reason)).effects)

    async def on_join(self, sid: str, *payload: Any) -> dict:
        # If socket.io does not take the connection in, neither may the rules.
        return await self.answer(self.chat.rules.join, sid, _one(payload), undo=lambda joined:
                                 self.chat.rules.leave(sid, {"room": joined.room}))

    async def on_leave(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.rules.leave, sid, _one(payload))

    async def on_say(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.rules.say, sid, _one(payload))


class TeacherNamespace(Namespace):
    """The ``/teacher`` namespace: the teacher's tools, for whoever has the token. What
    they decide happens in ``/chat`` (a notice, a closed connection)."""

    requests = protocol.TEACHER_REQUESTS

    def __init__(self, chat_server: Any):
        super().__init__(protocol.TEACHER, chat_server)

    async def on_connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        await self.admit(self.chat.moderation.connect, sid, environ, auth)

    async def on_disconnect(self, sid: str, reason: str | None = None) -> None:
        self.chat.languages.pop(sid, None)
        await self.chat.run(self.chat.moderation.disconnect(sid, reason).effects)

    async def on_rooms(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.moderation.rooms, _one(payload))

    async def on_kick(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.moderation.kick, _one(payload))

    async def on_mute(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.moderation.mute, _one(payload))

    async def on_announce(self, sid: str, *payload: Any) -> dict:
        return await self.answer(self.chat.moderation.announce, _one(payload))

    async def on_invite(self, sid: str, *payload: Any) -> dict:
        await self.answer(self.chat.moderation.invite, _one(payload))
        links = [join_link(url, self.chat.join_code)
                 for url in self.chat.public_urls or [self.chat.url]]
        return protocol.ok(links=links, qr=qr_data_uri(links[0]))


def _one(payload: tuple) -> Any:
    """The single argument an event should carry; several (or none) fail the rules' check."""
    if len(payload) == 1:
        return payload[0]
    return None if not payload else list(payload)
