"""PageCode: your JavaScript, run by the browser page that shows this notebook.

Introduced in notebook 01, where the article's ``new WebSocket(url)`` runs for real,
next to the Python client that does the same; notebooks 02 and 04 do it with
socket.io's ``io(url)``. The JavaScript is a Python string you write and edit::

    page = PageCode('''
    const ws = new WebSocket(url);
    ws.onopen = () => { log("open"); ws.send("hello"); };
    ws.onmessage = (event) => log("message", event.data);
    ''', url=server.url)
    page                        # shows it; the page runs the code as it draws it

The code runs in the browser (an anywidget, ``pagecode.js``), not in the kernel. It
sees four names: ``url`` (the one given here), ``log(...)`` (a line in the widget, also
sent to the kernel: :attr:`PageCode.events`), ``WebSocket`` (the browser's own) and,
for socket.io, ``io`` (the official client, chatkit's pinned copy, sent by the kernel:
no network needed but the connection to ``url``). When the widget goes (the cell runs
again, its output is cleared) the page closes what the code opened.

Two things are true of any page, and the widget says them in words when they bite:

* ``url`` must be an address the *browser* can reach. 127.0.0.1 is the computer the
  browser runs on: the kernel's too when Jupyter runs there (``make lab``), not on a
  remote JupyterHub;
* the page's origin (JupyterLab's, e.g. ``http://127.0.0.1:8888``) is not the server's.
  python-socketio refuses other origins unless told which to accept:
  :func:`from_this_computer` accepts pages served by this computer only.

Without a browser (nbval, nbconvert) nothing runs and :attr:`PageCode.events` stays
empty; the widget's text form says so, the same every run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anywidget
import traitlets

from chatkit.language import translate

__all__ = ["PageCode", "SOCKETIO_CLIENT", "from_this_computer"]

logger = logging.getLogger(__name__)

HERE = Path(__file__).parent
#: The official socket.io-client browser build (ESM) that the page imports as ``io``.
SOCKETIO_CLIENT = HERE / "static" / "vendor" / "socket.io.esm.min.js"
_SCHEMES = ("ws", "wss", "http", "https")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def from_this_computer(origin: str | None) -> bool:
    """Whether a web page of ``origin`` was served by this computer (any port): for
    python-socketio's ``cors_allowed_origins``, which calls it with each page's origin.

    ``"http://127.0.0.1:8888"`` (JupyterLab on this computer) and ``localhost`` are;
    ``"https://example.org"`` is not, nor a page with no origin (``"null"``). A name
    that merely *resolves* to 127.0.0.1 is not either: a site cannot rebind its origin.
    The origin names the *browser's* computer, so this means "this computer" while the
    server listens on 127.0.0.1, as the notebooks' servers do; a server open to the
    network would also let in a page served on another computer's own localhost.
    """
    if not isinstance(origin, str):
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.hostname in _LOOPBACK


class PageCode(anywidget.AnyWidget):
    """Run ``code`` (JavaScript) in the notebook's browser page, with ``url`` given to it.

    Args:
        code: the body of an ``async`` JavaScript function; it may use ``url``,
            ``log(...)``, ``WebSocket`` and ``io``, and ``await``.
        url: what the code should connect to: ``ws://``, ``wss://``, ``http://`` or
            ``https://``, an address the browser can reach.
        beside: lines to show next to the page's, e.g. what a Python client saw.
        title: the heading of the page's column.

    Attributes:
        events: the lines the page logged, in order (each view of the widget runs the
            code and logs on its own).
        problems: the sentences the widget showed: a syntax error or exception in the
            code, a connection that failed or was refused.
        origin: the page's origin, once a page drew the widget (else None).
    """

    _esm = HERE / "pagecode.js"
    _css = HERE / "pagecode.css"

    code = traitlets.Unicode().tag(sync=True)
    url = traitlets.Unicode().tag(sync=True)
    beside = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("JavaScript, in this page").tag(sync=True)

    def __init__(self, code: str, *, url: str, beside: Iterable[Any] = (),
                 title: str | None = None):
        if not isinstance(code, str) or not code.strip():
            raise TypeError(f"PageCode takes the JavaScript as a string, not {code!r}")
        if not isinstance(url, str) or urlsplit(url).scheme not in _SCHEMES \
                or not urlsplit(url).hostname:
            raise ValueError(f"url must be an address the page can connect to, such as "
                             f"ws://127.0.0.1:8765 or http://127.0.0.1:5000, not {url!r}")
        if isinstance(beside, str):
            raise TypeError("beside takes a list of lines, not one string")
        options = {"title": title} if title is not None else {}
        super().__init__(code=code.strip("\n"), url=url,
                         beside=[str(line) for line in beside], **options)
        self.events: list[str] = []
        self.problems: list[str] = []
        self.origin: str | None = None
        self.on_msg(self._on_page_message)

    def __repr__(self) -> str:
        lines = len(self.code.splitlines())
        if self.origin is None:
            seen = "no page has run it yet (it runs where a browser shows the notebook)"
        else:
            seen = f"the page at {self.origin} logged {len(self.events)} line(s)"
        return translate(f"PageCode({lines} lines of JavaScript for {self.url}: {seen})")

    def _on_page_message(self, _widget, content: dict, _buffers) -> None:
        # ipykernel may call this outside the cells' loop: only plain appends and a send.
        kind, text = content.get("type"), content.get("text")
        if kind == "io":
            self.send({"type": "io", "source": SOCKETIO_CLIENT.read_text()})
        elif not isinstance(text, str):
            logger.debug("ignored a page message %r", content)
        elif kind == "origin":
            self.origin = text
        elif kind == "event":
            self.events.append(text)
        elif kind == "problem":
            self.problems.append(text)
