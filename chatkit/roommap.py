"""The map of who hears what: a live socket.io server's namespaces, rooms and clients.

Introduced in notebook 04. Read a server's state with :func:`snapshot`, then show it::

    layout = snapshot(sio, label=names.get)     # {namespace: {room: [client, ...]}}
    RoomMap(layout)                             # drawn as SVG; printed as a tree

python-socketio keeps membership in ``sio.manager.rooms``: for each namespace, each room
maps to the clients (sids) in it. Two kinds of room are made for you: every client
connected to a namespace is in the room ``None`` (what ``emit`` without ``to`` reaches),
and every client has a private room named after its own sid (what ``to=sid`` reaches).
:func:`snapshot` lists clients under the rooms they joined, and under :data:`NO_ROOM` the
ones in no named room, so the map shows what an emit to each room would reach. A client
whose ``connect`` or ``disconnect`` handler is still running is left out: socket.io does
not count it as connected (an emit may or may not reach it), and its name may be
unknown or already forgotten.

A server may keep its rooms under other names inside socket.io: the course's
:class:`~chatkit.server.ChatServer` keeps its chat room ``lobby`` as socket.io's room
``room:lobby``, so that no room name can ever be a client's sid. Such a server has a
``room_label(namespace, room)`` method, and :func:`snapshot` uses it to show ``lobby``.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping

from chatkit.language import phrase, translate

__all__ = ["NO_ROOM", "RoomMap", "snapshot"]

#: Where a map lists the clients of a namespace who joined no room.
NO_ROOM = phrase("(no room)")  # shown in the kernel's language, kept in English

Layout = Mapping[str, Mapping[str, list[str]]]


def snapshot(sio, *, label: Callable[[str], str | None] | None = None,
             private_rooms: bool = False,
             room_label: Callable[[str, str], str] | None = None,
             ) -> dict[str, dict[str, list[str]]]:
    """Namespaces -> rooms -> client labels of a python-socketio server, sorted.

    ``label(sid)`` names a client (default: its sid; a ``None`` result falls back to the
    sid). With ``private_rooms=True`` each client's own room (named by its sid) is listed
    too. Clients of a namespace who joined no other room appear under :data:`NO_ROOM`.
    ``room_label(namespace, room)`` names a room (default: the server's own
    ``sio.room_label`` if it has one, else the room's socket.io name).
    Only connected clients are listed: not those whose connect or disconnect handler is
    still running.
    """
    def name(sid: str) -> str:
        return (label(sid) if label else None) or sid

    room_label = room_label or getattr(sio, "room_label", None) or (lambda ns, room: room)

    manager = sio.manager
    layout: dict[str, dict[str, list[str]]] = {}
    for namespace, rooms in sorted(manager.rooms.items()):
        everyone = {sid for sid in rooms.get(None, {})
                    if manager.is_connected(sid, namespace)}
        in_a_room: set[str] = set()
        named: dict[str, list[str]] = {}
        for room, members in rooms.items():
            if room is None:
                continue
            if room in rooms.get(None, {}):  # a client's private room, named by its own sid
                if private_rooms and room in everyone:
                    named[phrase(f"private: {name(room)}")] = [name(room)]
                continue
            members = everyone.intersection(members)
            in_a_room.update(members)
            if members:
                named[room_label(namespace, room)] = sorted(name(sid) for sid in members)
        alone = everyone - in_a_room
        if alone:
            named[NO_ROOM] = sorted(name(sid) for sid in alone)
        if everyone:
            layout[namespace] = dict(sorted(named.items()))
    return layout


class RoomMap:
    """A drawing of a layout from :func:`snapshot` (or any ``{ns: {room: [names]}}``).

    In a notebook it renders as SVG: one column per namespace, a box per room, a chip per
    client. Printed (``str``/``repr``), it is an indented tree, which is also what a
    test or nbval compares.
    """

    ROOM_WIDTH = 180
    CHIP_HEIGHT = 22
    GAP = 12

    def __init__(self, layout: Layout, title: str | None = None):
        self.layout = {ns: {room: list(names) for room, names in rooms.items()}
                       for ns, rooms in layout.items()}
        self.title = title

    def __str__(self) -> str:
        lines = [self.title] if self.title else []
        if not self.layout:
            lines.append(translate("(nobody is connected)"))
        for namespace, rooms in self.layout.items():
            lines.append(namespace)
            for room, names in rooms.items():
                lines.append(f"  {translate(room)}: {', '.join(names)}")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))

    def _repr_svg_(self) -> str:
        return self.svg()

    def svg(self) -> str:
        """The drawing as an SVG document (a string), the same for the same layout."""
        width_ns = self.ROOM_WIDTH + 2 * self.GAP
        top = 40 if self.title else 12
        columns, height = [], top
        for index, (namespace, rooms) in enumerate(self.layout.items()):
            x = self.GAP + index * (width_ns + self.GAP)
            parts, y = [], top + 28
            for room, names in rooms.items():
                box_height = 26 + len(names) * (self.CHIP_HEIGHT + 4)
                parts.append(self._room(x + self.GAP, y, room, names, box_height))
                y += box_height + self.GAP
            ns_height = y - top
            columns.append(
                f'<g class="namespace" data-name="{_attr(namespace)}">'
                f'<rect x="{x}" y="{top}" width="{width_ns}" height="{ns_height}" rx="10" '
                f'fill="#eef3fb" stroke="#5b7db1"/>'
                f'<text x="{x + 10}" y="{top + 19}" font-weight="bold" fill="#24456f">'
                f'namespace {_text(namespace)}</text>{"".join(parts)}</g>')
            height = max(height, top + ns_height)
        width = max(self.GAP + len(self.layout) * (width_ns + self.GAP), 240)
        if not self.layout:
            columns.append(f'<text x="{self.GAP}" y="{top + 20}" fill="#666">'
                           f'{translate("(nobody is connected)")}</text>')
            height = top + 32
        title = (f'<text x="{self.GAP}" y="26" font-size="16" font-weight="bold">'
                 f'{_text(self.title)}</text>') if self.title else ""
        return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
                f'height="{height + self.GAP}" font-family="sans-serif" font-size="13">'
                f'{title}{"".join(columns)}</svg>')

    def _room(self, x: int, y: int, room: str, names: list[str], height: int) -> str:
        unjoined = room == NO_ROOM
        fill, stroke = ("#ffffff", "#aaaaaa") if unjoined else ("#fff7e0", "#d49a1c")
        chips = "".join(
            f'<g class="client" data-name="{_attr(name)}">'
            f'<rect x="{x + 8}" y="{y + 24 + i * (self.CHIP_HEIGHT + 4)}" '
            f'width="{self.ROOM_WIDTH - 16}" height="{self.CHIP_HEIGHT}" rx="11" '
            f'fill="#d9f2e3" stroke="#3a8f5c"/>'
            f'<text x="{x + 18}" y="{y + 40 + i * (self.CHIP_HEIGHT + 4)}">{_text(name)}</text>'
            f'</g>' for i, name in enumerate(names))
        dash = ' stroke-dasharray="4 3"' if unjoined else ""
        shown = translate(room) if unjoined else translate(f"room {room}")
        return (f'<g class="room" data-name="{_attr(room)}">'
                f'<rect x="{x}" y="{y}" width="{self.ROOM_WIDTH}" height="{height}" rx="6" '
                f'fill="{fill}" stroke="{stroke}"{dash}/>'
                f'<text x="{x + 8}" y="{y + 17}" font-style="italic">'
                f'{_text(shown)}</text>{chips}</g>')


def _text(value: str) -> str:
    return html.escape(str(value), quote=False)


def _attr(value: str) -> str:
    return html.escape(str(value), quote=True)
