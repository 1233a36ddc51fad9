"""ChatPanel: a live chat window inside the notebook, driven by a ChatClient.

Introduced in notebook 05, after the learner has wired a panel of their own (a Text, a
Send button and one Label per ``said``) with :func:`as_task`, which hands a click's
coroutine to the kernel's event loop. ChatPanel is the same idea, polished: socket.io
events (``said``, ``presence``, ``notice``) become rows in a message list and a member
list, the client's connection status becomes a coloured label, and Enter or the Send
button becomes ``client.say(...)``::

    panel = await ChatPanel.connect(server_url, name="ada", room="lobby")
    panel                                   # shows it
    await panel.say("hello, everyone")      # what pressing Enter does

Three rules keep it fast and safe:

* what other people type is data: the browser sets it as text, never as HTML;
* a new message is sent to the browser on its own, so appending the 5,000th message
  costs what the 10th did; the panel keeps the last ``max_messages`` (default 500) of
  each room in memory and on screen, and older ones are dropped (the server keeps
  history);
* event handlers only change widgets; nothing here prints into the notebook.
"""

from __future__ import annotations

import asyncio
import html
import inspect
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets

from chatkit import protocol
from chatkit.client import ChatClient, Event, Status, StatusChange
from chatkit.language import translate
from chatkit.protocol import ChatError, Message, Notice, Presence

__all__ = ["ChatPanel", "ChatView", "as_task", "make_row"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent

#: How many messages a panel keeps, in memory and on screen, unless told otherwise.
DEFAULT_MAX_MESSAGES = 500


def as_task(async_function: Callable[..., Awaitable[Any]]) -> Callable[..., None]:
    """A plain function for a widget callback that runs ``async_function`` as a task.

    ``button.on_click(as_task(send))``: each click starts ``send(button)`` on the event
    loop that runs the cell calling ``as_task`` (the kernel's, where socket.io clients
    live), even when ipywidgets calls the callback from another thread. The task is kept
    until it ends (asyncio itself keeps only a weak reference); nobody awaits it, so an
    exception it raises is logged on the ``chatkit.panel`` logger. Call this in a cell.
    """
    if not inspect.iscoroutinefunction(async_function):
        raise TypeError(f"as_task takes an `async def` function, not {async_function!r}: "
                        f"a plain function can go to on_click as it is")
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task] = set()

    def finished(task: asyncio.Task) -> None:
        tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("%s failed", async_function.__qualname__, exc_info=task.exception())

    def start(coroutine: Any) -> None:  # on the loop's own thread
        task = loop.create_task(coroutine)
        tasks.add(task)
        task.add_done_callback(finished)

    def call(*args: Any, **kwargs: Any) -> None:
        loop.call_soon_threadsafe(start, async_function(*args, **kwargs))

    call.__qualname__ = f"as_task({async_function.__qualname__})"
    return call


def make_row(kind: str, text: str, *, name: str = "", ts: float | None = None,
             id: int | None = None) -> dict:
    """One row of the message list, as the browser draws it (local time, HH:MM:SS).

    ``kind`` names the event the row shows (``protocol.SAID``, ``NOTICE``, ``PRESENCE``),
    or is "mine" (your own message) or "refused"; the browser styles each kind.
    """
    stamp = time.strftime("%H:%M:%S", time.localtime(ts if ts is not None else time.time()))
    return {"kind": kind, "name": name, "text": text, "time": stamp, "id": id}


class ChatView(anywidget.AnyWidget):
    """The message list and input line; the browser side is ``panel_view.js``.

    ``messages`` holds the rows shown (at most ``max_messages``, set when it is made;
    oldest dropped first): its own, or those :meth:`show` was given; ``draft`` is the
    text in the input line. Enter or Send in the browser calls the ``on_submit`` handlers
    with the text typed.
    """

    _esm = HERE / "panel_view.js"
    _css = HERE / "panel_view.css"

    draft = traitlets.Unicode("").tag(sync=True)
    placeholder = traitlets.Unicode("Type a message and press Enter").tag(sync=True)
    #: The view's own words, in chatkit's language ("{count}" is filled in by the view).
    labels = traitlets.Dict().tag(sync=True)
    max_length = traitlets.Int(2000).tag(sync=True)
    enabled = traitlets.Bool(True).tag(sync=True)
    max_messages = traitlets.Int(DEFAULT_MAX_MESSAGES).tag(sync=True)

    def __init__(self, *, max_messages: int = DEFAULT_MAX_MESSAGES, **kwargs: Any):
        super().__init__(max_messages=max_messages, placeholder=translate(
            "Type a message and press Enter"), labels={"send": translate("Send"), "message":
            translate("message"), "new": translate("{count} new messages ↓"),
            "one_new": translate("1 new message ↓")}, **kwargs)
        self.messages: deque[dict] = deque(maxlen=max_messages)
        self._submit_handlers: list = []
        self.on_msg(self._on_browser_message)

    def append(self, kind: str, text: str, *, name: str = "", ts: float | None = None) -> dict:
        """Add one row: ``kind`` is "said", "mine", "notice", "presence" or "refused"."""
        return self.add_row(make_row(kind, text, name=name, ts=ts))

    def add_row(self, row: dict) -> dict:
        """Add a row made by :func:`make_row` to :attr:`messages`; only this row travels
        to the browser."""
        self.messages.append(row)
        self.send({"type": "append", "message": row})
        return row

    def on_submit(self, handler) -> None:
        """Call ``handler(text)`` when the user presses Enter or Send with a draft."""
        self._submit_handlers.append(handler)

    def submit(self, text: str | None = None) -> None:
        """Do what Enter does: hand ``text`` (default: the draft) to the submit handlers,
        unless it is blank."""
        text = self.draft if text is None else text
        if text.strip():
            for handler in self._submit_handlers:
                handler(text)

    def sent(self, text: str) -> None:
        """``text`` reached the server: empty the input line if it still holds it."""
        if self.draft == text:
            self.draft = ""
        self.send({"type": "sent", "text": text})

    def _on_browser_message(self, _widget, content: dict, _buffers) -> None:
        if content.get("type") == "sync":  # a view was just drawn: give it the rows so far
            self.send({"type": "history", "messages": list(self.messages)})
        elif content.get("type") == "submit" and isinstance(content.get("text"), str):
            self.submit(content["text"])

    def show(self, rows: Iterable[dict]) -> None:
        """Replace every row at once (switching rooms); keeps the last ``max_messages``.

        A deque of rows is kept itself, not copied: rows :meth:`add_row` adds go into it,
        so whoever made it (a panel, for one room) needs no copy of its own.
        """
        if not isinstance(rows, deque) or rows.maxlen != self.max_messages:
            rows = deque(rows, maxlen=self.max_messages)
        self.messages = rows
        self.send({"type": "reset", "messages": list(rows)})


_STATUS_COLOURS = {
    Status.CONNECTING: "#b58900", Status.CONNECTED: "#2e7d32",
    Status.RECONNECTING: "#b58900", Status.REFUSED: "#c62828",
    Status.DISCONNECTED: "#757575",
}


class ChatPanel(widgets.VBox):
    """A chat window for one :class:`~chatkit.client.ChatClient`: status, rooms, members,
    messages and an input line.

    Make one with :meth:`connect` (connects for you) or around a client you made. Every
    option is keyword-only.

    Args:
        client: the client the panel drives; the panel watches its status and events.
        room: the room shown first, if the client is in it; otherwise the first room in
            alphabetical order, or the first one joined later.
        max_messages: how many messages to keep per room, in memory and on screen
            (default 500); the server keeps the whole history.
        title: shown above the panel; the client's name by default.
    """

    def __init__(self, client: ChatClient, *, room: str | None = None,
                 max_messages: int = DEFAULT_MAX_MESSAGES, title: str | None = None):
        """Must be called while the event loop runs (in a cell, or an ``async def``)."""
        self.client = client
        self.room: str | None = None
        self.max_messages = max_messages
        self.members: dict[str, list[str]] = {}
        self.unread: dict[str, int] = {}
        # The panel's only rows: per room, the newest max_messages. The view shows the
        # shown room's deque itself, not a copy, and the client's events keep each
        # Message, whose strings the rows share: each message's text is in memory once.
        self._by_room: dict[str, deque[dict]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._loop = asyncio.get_running_loop()  # the cells' loop, where the client lives
        self._updating_picker = False
        self.view = ChatView(max_messages=max_messages,
                             layout=widgets.Layout(flex="1 1 auto", min_width="0"))
        self.view.on_submit(lambda text: self._spawn(self.say(text)))
        self.status_label = widgets.HTML()
        # Shown while reconnecting, or after giving up: try now, not when the wait ends.
        self.reconnect_button = widgets.Button(
            description=translate("Reconnect now"), tooltip=translate("try to reconnect at once"),
            layout=widgets.Layout(width="auto", display="none"))
        self.reconnect_button.on_click(
            lambda _: self._loop.call_soon_threadsafe(self.reconnect_now))
        self._tick: asyncio.TimerHandle | None = None  # counts the wait down on screen
        # Each control gives way down to a minimum; below that the row wraps (see below).
        self.room_picker = widgets.Dropdown(
            options=[], description=translate("room"), style={"description_width": "initial"},
            layout=widgets.Layout(flex="1 1 160px", min_width="110px", max_width="200px"))
        self.room_picker.observe(self._on_pick, names="value")
        self.new_room = widgets.Text(placeholder=translate("another room"), layout=widgets.Layout(
            flex="1 1 110px", min_width="80px", max_width="140px"))
        self.join_button = widgets.Button(description=translate("Join"),
                                          layout=widgets.Layout(width="auto"))
        self.leave_button = widgets.Button(description=translate("Leave"),
                                           layout=widgets.Layout(width="auto"))
        self.join_button.on_click(lambda _: self._spawn(self.join(self.new_room.value)))
        self.leave_button.on_click(lambda _: self._spawn(self.leave(self.room)))
        # As wide as its longest name up to 40% of the panel; longer names wrap (below).
        self.member_list = widgets.HTML(layout=widgets.Layout(
            flex="0 1 auto", min_width="60px", max_width="40%"))
        heading = widgets.HTML(f"<b>{html.escape(title or str(client.name))}</b>")
        # Narrower than 560 px the panel shrinks (to 220 px, two side by side in an HBox
        # at a 900 px window) and the room controls wrap, so nothing is cut off;
        # HBox(..., layout=Layout(flex_flow="row wrap")) puts a narrow one below instead.
        super().__init__(children=[
            widgets.HBox([heading, self.status_label, self.reconnect_button],
                         layout=widgets.Layout(align_items="center", flex_flow="row wrap")),
            widgets.HBox([self.room_picker, self.new_room, self.join_button,
                          self.leave_button], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self.view, self.member_list],
                         layout=widgets.Layout(align_items="flex-start")),
        ], layout=widgets.Layout(border="1px solid #ddd", padding="6px", flex="1 1 380px",
                                 min_width="220px", max_width="560px"))
        for joined in sorted(client.rooms):
            self._remember(joined, client.messages(joined))
        for event in client.events:  # a client that was connected already: who is where
            if isinstance(event.data, Presence) and event.data.room in client.rooms:
                self.members[event.data.room] = list(event.data.members)
        shown = room if room in self._by_room else min(self._by_room, default=None)
        self._select(shown)
        self._on_status(StatusChange(client.status, client.detail))
        client.watch(on_status=self._on_status, on_event=self._on_event)

    @classmethod
    async def connect(cls, url: str, name: str, *, code: str | None = None,
                   room: str | None = "lobby", max_messages: int = DEFAULT_MAX_MESSAGES,
                   **client_options: Any) -> ChatPanel:
        """Connect ``name`` to the chat at ``url``, join ``room``, and return the panel.

        A refused connection (wrong join code, name taken) does not raise: the panel
        shows "refused" and the server's reason, as a chat app would. Other options go to
        :class:`~chatkit.client.ChatClient`. Note: this method is a coroutine.

        Example::

            panel = await ChatPanel.connect("http://127.0.0.1:5000", "ada", code="maple-42")
        """
        panel = cls(ChatClient(name, code=code, **client_options), max_messages=max_messages)
        try:
            await panel.client.connect(url)
        except (ChatError, ConnectionError):
            return panel  # the status line says why
        if room is not None:
            await panel.join(room)
        return panel

    def __repr__(self) -> str:
        where = f" in {self.room!r}" if self.room else ""
        return f"ChatPanel({self.client.name}{where}, {self.client.status.value})"

    def transcript(self) -> list[str]:
        """The shown room's rows as plain lines, without times: what a cell can print.

        Messages read ``alice: hello``; presence, notices and refusals start with ``*``.
        """
        return [f"{row['name']}: {row['text']}" if row["name"] else f"* {row['text']}"
                for row in self.view.messages]

    @property
    def status(self) -> Status:
        """The client's connection status, as the panel shows it."""
        return self.client.status

    def reconnect_now(self) -> bool:
        """Reconnect at once, as the "Reconnect now" button does (shown while the panel
        reconnects, or after it gave up); False if there is nothing to reconnect (see
        :meth:`~chatkit.client.ChatClient.reconnect_now`)."""
        return self.client.reconnect_now()

    def _refuse(self, why: str) -> None:
        """Show a refusal to this user only (it is not a chat message)."""
        if self.room in self._by_room:
            self._add(self.room, make_row("refused", translate(why)))
        else:
            self.view.append("refused", translate(why))

    async def say(self, text: str) -> int | None:
        """Say ``text`` in the shown room, as Enter does; return the message id.

        The input line is cleared once the server has the message. A refusal is shown
        to the sender (only) in red, and the text stays in the input line to fix.
        Note: this method is a coroutine.
        """
        if self.room is None:
            self._refuse("join a room first")
            return None
        try:
            message_id = await self.client.say(self.room, text)
        except (ChatError, TimeoutError) as refusal:
            self._refuse(translate(f"not sent: {refusal}"))
            return None
        self.view.sent(text)
        return message_id

    async def join(self, room: str) -> None:
        """Join ``room`` and show it, with its recent history and members."""
        room = room.strip()
        # A `said` can overtake the join's ack: keep a place for it before asking.
        fresh = room not in self._by_room
        self._by_room.setdefault(room, deque(maxlen=self.max_messages))
        try:
            ack = await self.client.join(room)
        except (ChatError, TimeoutError) as refusal:
            if fresh:
                del self._by_room[room]
            self._refuse(translate(f"cannot join {room!r}: {refusal}"))
            return
        self.members[ack["room"]] = list(ack["members"])
        self._remember(ack["room"], ack["history"])
        self.new_room.value = ""
        self._select(ack["room"])

    async def leave(self, room: str | None) -> None:
        """Leave ``room``; the panel shows another room the client is still in, if any."""
        if room is None:
            return
        try:
            await self.client.leave(room)
        except (ChatError, TimeoutError) as refusal:
            self._refuse(translate(f"cannot leave {room!r}: {refusal}"))
            return
        self._by_room.pop(room, None)
        self.members.pop(room, None)
        self.unread.pop(room, None)
        remaining = sorted(self._by_room)
        self._select(remaining[0] if remaining else None)

    def _spawn(self, coroutine) -> None:
        # Widget callbacks are plain functions, and ipykernel 7 may call them outside the
        # loop that runs the cells and the client: hand the coroutine to that loop.
        def start() -> None:
            task = asyncio.ensure_future(coroutine)
            self._tasks.add(task)
            task.add_done_callback(self._finished)

        self._loop.call_soon_threadsafe(start)

    def _finished(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # Nobody awaits these tasks: show the failure where the user looks.
            logger.error("chat panel action failed", exc_info=task.exception())
            self._refuse(translate(f"failed: {task.exception()}"))

    def _remember(self, room: str, messages: Iterable[Message]) -> None:
        """Put ``messages`` (a join's history) before the rows ``room`` already has."""
        rows = self._by_room.setdefault(room, deque(maxlen=self.max_messages))
        seen = {row["id"] for row in rows}
        older = [self._row(message) for message in messages if message.id not in seen]
        rows.extendleft(reversed(older))
        self._refresh_rooms()

    def _row(self, message: Message) -> dict:
        kind = "mine" if message.name == self.client.name else protocol.SAID
        return make_row(kind, message.text, name=message.name, ts=message.ts, id=message.id)

    def _select(self, room: str | None) -> None:
        self.room = room
        self.unread.pop(room, None)
        self._refresh_rooms()
        self.view.show(self._by_room.get(room, deque(maxlen=self.max_messages)))
        self._refresh_members()

    def _on_pick(self, change) -> None:
        if not self._updating_picker and change["new"] not in (None, self.room):
            self._select(change["new"])

    def _refresh_rooms(self) -> None:
        options = [(f"{room} ({self.unread[room]})" if self.unread.get(room) else room, room)
                   for room in sorted(self._by_room)]
        self._updating_picker = True  # setting options moves the value: not a user's pick
        try:
            self.room_picker.options = options
            self.room_picker.value = self.room if self.room in self._by_room else None
        finally:
            self._updating_picker = False

    def _refresh_members(self) -> None:
        names = self.members.get(self.room, [])
        items = "".join(f"<li>{html.escape(name)}</li>" for name in names)
        self.member_list.value = translate(f"<b>here ({len(names)})</b><ul style='margin:0;"
                                  f"padding-left:16px;overflow-wrap:anywhere;"
                                  f"line-height:1.4'>{items}</ul>") if self.room else ""

    def _on_status(self, change: StatusChange) -> None:
        self._show_status(change)
        self.view.enabled = change.status in (Status.CONNECTED, Status.RECONNECTING)
        if change.status in (Status.DISCONNECTED, Status.REFUSED):
            self.members.clear()  # kicked, refused or gone: nobody is "here" any more
            self._refresh_members()

    def _show_status(self, change: StatusChange) -> None:
        """The status line: "● connected", or "● reconnecting in 8 s" counted down each
        second, with the "Reconnect now" button while it helps."""
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        text, wait = str(change), self.client.next_try_in
        if change.status is Status.RECONNECTING and wait is not None and wait > 0:
            text = translate(f"reconnecting in {math.ceil(wait)} s")
            # at the next whole second, the line says one second less
            self._tick = self._loop.call_later(wait - math.floor(wait) or 1.0,
                                               self._show_status, change)
        colour = _STATUS_COLOURS.get(change.status, "#757575")
        self.status_label.value = f"<span style='color:{colour}'>● {html.escape(text)}</span>"
        self.reconnect_button.layout.display = (None if self.client.can_reconnect_now
                                                else "none")

    def _on_event(self, event: Event) -> None:
        data = event.data  # checked by the client: a Message, Presence or Notice
        if isinstance(data, Message):
            self._add(data.room, self._row(data), unread=True)
        elif isinstance(data, Presence):
            self._on_presence(data.room, list(data.members))
        elif isinstance(data, Notice):
            self._add(data.room or self.room, make_row(protocol.NOTICE, data.text))

    def _add(self, room: str | None, row: dict, *, unread: bool = False) -> None:
        """Keep ``row`` in ``room``'s list; draw it if that room is shown."""
        if room not in self._by_room:
            return
        if room == self.room:
            self.view.add_row(row)  # the view's rows are this room's deque: one append
            return
        self._by_room[room].append(row)
        if unread:
            self.unread[room] = self.unread.get(room, 0) + 1
            self._refresh_rooms()

    def _on_presence(self, room: str | None, members: list[str]) -> None:
        known = room in self.members  # else this is our own join: no "x joined" rows
        before = set(self.members.get(room, []))
        self.members[room] = members
        if known:
            for name in sorted(set(members) - before):
                self._add(room, make_row(protocol.PRESENCE, translate(f"{name} joined")))
            for name in sorted(before - set(members)):
                self._add(room, make_row(protocol.PRESENCE, translate(f"{name} left")))
        if room == self.room:
            self._refresh_members()
