"""The web pages ``ChatServer`` serves: any browser joins the class without Python.

Introduced in notebook 06 (the classroom). A student opens ``http://<server>/`` (the chat
page), a teacher ``http://<server>/teacher`` (the teacher's page). Both are plain HTML and
JavaScript files in ``chatkit/static/`` that speak the documented protocol
(docs/protocol.md) through the official socket.io JavaScript client, which the server
serves itself from a pinned copy in ``chatkit/static/vendor/`` (``make vendor`` refreshes
it): a classroom is often offline, so nothing comes from a CDN.

The join link carries the join code after ``#`` (``http://10.0.0.5:5000/#code=maple-otter-42``):
a browser never sends that part to the server, so the code stays out of access logs
and ``Referer`` headers::

    join_link("http://10.0.0.5:5000", "maple-otter-42")
    # 'http://10.0.0.5:5000/#code=maple-otter-42'
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

import segno
from aiohttp import web

__all__ = ["HTML_LANG", "PAGES", "SECURITY_HEADERS", "STATIC", "VENDORED_CLIENT", "add_pages",
           "join_link", "qr_data_uri", "qr_text", "vendored_client_version"]

#: Where the pages, their scripts and styles, and the vendored client live.
STATIC = Path(__file__).with_name("static")

#: The official socket.io browser client, as ``make vendor`` copies it from npm.
VENDORED_CLIENT = STATIC / "vendor" / "socket.io.min.js"

#: Page address -> the HTML file that answers it.
PAGES = {"/": "chat.html", "/teacher": "teacher.html"}

#: The pages' ``<html lang>`` for each language they speak (their sentences are in
#: ``chat-text.js`` and ``teacher-text.js``): a page starts in the server's language,
#: unless the address (``?lang=en``), the reader's own choice on either page (one choice
#: for both) or, with no server language, the browser's says otherwise.
HTML_LANG = {"en": "en", "zh": "zh-CN"}

#: Sent with every page and file: no script but the server's own files runs (a message
#: that smuggles in ``<script>`` or ``onerror=`` does nothing even if it reached the DOM
#: as HTML), the page cannot be framed by another site, and types are not guessed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}

_CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                  ".svg": "image/svg+xml", ".LICENSE": "text/plain"}

#: The socket.io ESM build may be imported by pages of other origins (the notebook's
#: own page, see :mod:`chatkit.pagecode`): it is a public library, not chat data.
_SHAREABLE = {"vendor/socket.io.esm.min.js", "vendor/socket.io.min.js"}


def join_link(base_url: str, join_code: str | None) -> str:
    """The address that opens the chat page with the join code filled in.

    >>> join_link("http://10.0.0.5:5000", "maple-otter-42")
    'http://10.0.0.5:5000/#code=maple-otter-42'
    >>> join_link("http://10.0.0.5:5000/", None)
    'http://10.0.0.5:5000/'
    """
    base = base_url.rstrip("/") + "/"
    return base if not join_code else f"{base}#code={quote(join_code, safe='')}"


def qr_data_uri(link: str) -> str:
    """A QR code of ``link`` as an SVG ``data:`` URI, for an ``<img src>`` on the teacher's
    page (the projector): a phone's camera opens the chat page from it."""
    return segno.make(link, error="m").svg_data_uri(scale=8, border=2)


def qr_text(link: str) -> str:
    """A QR code of ``link`` drawn with block characters, two rows a line, for a terminal."""
    out = io.StringIO()
    segno.make(link, error="m").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def vendored_client_version(path: Path = VENDORED_CLIENT) -> str:
    """The version in the vendored client's banner (``"4.8.4"``), read from the file."""
    found = re.search(r"Socket\.IO v(\d+\.\d+\.\d+)", path.read_text()[:300])
    if found is None:
        raise ValueError(f"{path} has no 'Socket.IO vX.Y.Z' banner")
    return found.group(1)


def _files() -> dict[str, Path]:
    """Every file the server may send under ``/static/``: what is in the folder, by name
    (a request can never name a path outside it)."""
    return {path.relative_to(STATIC).as_posix(): path for path in STATIC.rglob("*")
            if path.is_file() and path.suffix in _CONTENT_TYPES}


def _respond(path: Path, *, shareable: bool = False, body: bytes | None = None) -> web.Response:
    headers = dict(SECURITY_HEADERS)
    if shareable:
        headers["Access-Control-Allow-Origin"] = "*"
    content_type = _CONTENT_TYPES[path.suffix]
    return web.Response(body=path.read_bytes() if body is None else body, headers=headers,
                        content_type=content_type, charset="utf-8")


def _in_language(html: str, language: str | None) -> bytes:
    """A page with the ``lang`` of its ``<html>`` tag set to ``language``'s
    (no ``lang`` for None: the browser's language decides)."""
    lang = "" if language is None else f' lang="{HTML_LANG[language]}"'
    return re.sub(r"<html(\s+lang=\"[^\"]*\")?>", f"<html{lang}>", html, count=1).encode()


def add_pages(app: web.Application, *, language: str | None = "en") -> None:
    """Serve the chat page at ``/``, the teacher's page at ``/teacher`` and their files
    under ``/static/`` from ``app`` (GET and HEAD; aiohttp answers 405 to other methods,
    and an unknown file is 404).

    ``language`` ("en" or "zh") is the one both pages start in (their ``<html lang>``);
    None leaves the choice to the browser's language. A student or the teacher may still
    pick another on the page, or with ``?lang=zh`` in the address.
    """
    if language is not None and language not in HTML_LANG:
        raise ValueError(f"the chat page speaks {' and '.join(HTML_LANG)}, not {language!r}")
    files = _files()

    async def page(request: web.Request) -> web.Response:
        path = STATIC / PAGES[request.path]
        return _respond(path, body=_in_language(path.read_text(encoding="utf-8"), language))

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound(text=f"No file /static/{name} here.")
        return _respond(files[name], shareable=name in _SHAREABLE)

    for address in PAGES:
        app.router.add_get(address, page)
    app.router.add_get("/static/{name:.+}", static)
