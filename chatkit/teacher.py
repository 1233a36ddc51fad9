"""TeacherClient: the teacher's tools from Python, a client of ``/teacher``.

Introduced in notebook 06, where the teacher lists rooms, kicks, mutes and announces
from a notebook (the teacher's page at ``/teacher`` does the same in a browser). Like
:class:`chatkit.client.ChatClient` it stands on :class:`chatkit.peer.Peer` and speaks
docs/protocol.md's teacher namespace::

    teacher = await TeacherClient.connect(url, token)
    await teacher.rooms()                    # {"lobby": ["ada", "bob"]}
    await teacher.mute("bob", 60)
    (await teacher.invite())["links"]        # the join links, as on the teacher's page
"""

from __future__ import annotations

from chatkit import protocol, running
from chatkit.language import current_language, translate
from chatkit.peer import Peer, Status
from chatkit.protocol import ChatError, ConnectionRefused, Notice

__all__ = ["TeacherClient"]


class TeacherClient(Peer):
    """The teacher's tools: a client of the ``/teacher`` namespace (notebook 06).

    Each method is a coroutine that returns the server's answer, or raises
    :class:`~chatkit.protocol.ChatError` with the server's sentence if it refuses
    (:class:`~chatkit.peer.NoAnswer`, a ChatError too, without an answer in time). It
    does not reconnect: after a lost connection, connect again.
    """

    namespace = protocol.TEACHER

    @classmethod
    async def connect(cls, url: str, token: str, *, timeout: float = 5.0,
                      name: str = "teacher") -> TeacherClient:
        """Connect with the teacher token; raise ``ChatError`` if the server refuses it.

        ``timeout`` is for the connection and for each request. ``name`` is the one
        :mod:`chatkit.running` knows it by (``teacher:<name>``), so that
        ``running.stop_all()`` disconnects it. Note: this method is a coroutine.
        """
        teacher = cls(name, connect_timeout=timeout, request_timeout=timeout)
        teacher.sio.on("disconnect", teacher._on_disconnect, namespace=cls.namespace)
        await running.track(f"teacher:{name}", teacher.disconnect)
        teacher._set_status(Status.CONNECTING)
        try:
            await teacher._connect_once(url, protocol.teacher_auth(token, current_language()))
        except ChatError as problem:
            refused = isinstance(problem, ConnectionRefused)
            teacher._set_status(Status.REFUSED if refused else Status.DISCONNECTED, str(problem))
            await teacher.sio.disconnect()  # closes the HTTP session a failed try leaves open
            raise
        teacher._set_status(Status.CONNECTED)
        return teacher

    async def rooms(self) -> dict[str, list[str]]:
        """Every room and who is in it."""
        return (await self._call(protocol.ROOMS, {}))["rooms"]

    async def kick(self, name: str) -> None:
        """Disconnect ``name``; the name cannot come back for the kick period."""
        await self._call(protocol.KICK, {"name": name})

    async def mute(self, name: str, seconds: float) -> None:
        """Refuse ``name``'s messages for ``seconds``."""
        await self._call(protocol.MUTE, {"name": name, "seconds": seconds})

    async def announce(self, text: str, room: str | None = None) -> None:
        """A ``notice`` to ``room``, or to everyone."""
        await self._call(protocol.ANNOUNCE, Notice(text, room).to_dict())

    async def invite(self) -> dict:
        """The join links (best first) and a QR code of the first, as a data URI:
        ``{"ok": True, "links": [...], "qr": "data:image/svg+xml..."}``."""
        return await self._call(protocol.INVITE, {})

    async def disconnect(self) -> None:
        """Leave; safe to call more than once. Note: this method is a coroutine."""
        await self.sio.shutdown()
        if self.status is not Status.REFUSED:
            self._set_status(Status.DISCONNECTED, translate("client disconnect"))

    def _on_disconnect(self, reason: str | None = None) -> None:
        if self.status is Status.CONNECTED:
            self._set_status(Status.DISCONNECTED, translate(f"connection lost ({reason})"))

    def __repr__(self) -> str:
        return f"<TeacherClient {self.name!r} to {self.url}: {self._status}>"
