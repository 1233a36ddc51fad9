"""chatkit.pagecode without a browser: what the widget holds and syncs, what it answers the
page, its text form, refusals of bad arguments, and the origin rule on real servers.
(tests/browser/test_pagecode_lab.py runs the JavaScript in a real JupyterLab.)"""

import aiohttp
import pytest
import socketio

from chatkit.pagecode import SOCKETIO_CLIENT, PageCode, from_this_computer
from chatkit.server import ChatServer
from chatkit.sio import serve

JS = """
const ws = new WebSocket(url);
ws.onopen = () => log("open");
"""


def test_the_code_url_and_lines_beside_are_synced_to_the_page():
    """The JavaScript (without its blank first and last lines), the url and the lines to
    show beside (as strings) are synced traits; the page's code is pagecode.js."""
    page = PageCode(JS, url="ws://127.0.0.1:8765", beside=["open", 1000])
    assert page.code == 'const ws = new WebSocket(url);\nws.onopen = () => log("open");'
    assert (page.url, page.beside, page.title) == \
        ("ws://127.0.0.1:8765", ["open", "1000"], "JavaScript, in this page")
    synced = set(page.keys)
    assert {"code", "url", "beside", "title"} <= synced and "events" not in synced
    assert "new AsyncFunction(\"url\", \"log\", \"WebSocket\", \"io\"" in page._esm
    assert PageCode(JS, url="http://h:1", title="the page").title == "the page"


def test_the_socketio_client_the_page_imports_is_the_vendored_one():
    """``io`` comes from chatkit's pinned socket.io-client ESM build, which exports it."""
    vendored = SOCKETIO_CLIENT.parent / "socket.io.esm.min.js"
    assert SOCKETIO_CLIENT == vendored and SOCKETIO_CLIENT.is_file()
    source = SOCKETIO_CLIENT.read_text()
    assert source.startswith("/*!\n * Socket.IO v4.8.4")
    assert "_t as io" in source.rsplit("export{", 1)[1]


def test_the_page_asking_for_io_gets_the_vendored_file_back():
    """The page's {"type": "io"} is answered with the file's text, nothing else."""
    page = PageCode("const socket = io(url);", url="http://127.0.0.1:5000")
    sent = []
    page.send = sent.append  # what would go to the page over the widget's comm
    page._on_page_message(page, {"type": "io"}, [])
    assert sent == [{"type": "io", "source": SOCKETIO_CLIENT.read_text()}]


def test_the_pages_lines_problems_and_origin_reach_the_kernel_in_order():
    """Lines and sentences from the page are kept in order; the repr says what ran where;
    a message of unknown shape changes nothing."""
    page = PageCode(JS, url="ws://127.0.0.1:8765")
    assert repr(page) == ("PageCode(2 lines of JavaScript for ws://127.0.0.1:8765: no page "
                          "has run it yet (it runs where a browser shows the notebook))")
    for message in [{"type": "origin", "text": "http://127.0.0.1:8888"},
                    {"type": "event", "text": "open"}, {"type": "event", "text": "close 1000"},
                    {"type": "problem", "text": "Your JavaScript failed: TypeError: x"},
                    {"type": "event", "text": 42}, {"type": "nonsense"}, {}]:
        page._on_page_message(page, message, [])
    assert page.events == ["open", "close 1000"]
    assert page.problems == ["Your JavaScript failed: TypeError: x"]
    assert page.origin == "http://127.0.0.1:8888"
    assert repr(page) == ("PageCode(2 lines of JavaScript for ws://127.0.0.1:8765: the page "
                          "at http://127.0.0.1:8888 logged 2 line(s))")


@pytest.mark.parametrize(("code", "url", "beside", "error", "words"), [
    (None, "ws://127.0.0.1:1", (), TypeError, "takes the JavaScript as a string"),
    ("  \n ", "ws://127.0.0.1:1", (), TypeError, "takes the JavaScript as a string"),
    (JS, "127.0.0.1:8765", (), ValueError, "such as ws://127.0.0.1:8765"),
    (JS, "ftp://127.0.0.1:21", (), ValueError, "not 'ftp://127.0.0.1:21'"),
    (JS, "ws://", (), ValueError, "an address the page can connect to"),
    (JS, None, (), ValueError, "not None"),
    (JS, "ws://127.0.0.1:1", "open", TypeError, "a list of lines, not one string"),
])
def test_bad_arguments_are_refused_with_a_sentence(code, url, beside, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(".", r"\.")):
        PageCode(code, url=url, beside=beside)


@pytest.mark.parametrize(("origin", "allowed"), [
    ("http://127.0.0.1:8888", True), ("http://localhost:8888", True),
    ("https://localhost", True), ("http://[::1]:8888", True),
    ("https://example.org", False), ("http://127.0.0.1.example.org:8888", False),
    ("http://localhost.example.org", False), ("null", False), (None, False),
    ("file://localhost/x.html", False), ("http://10.0.0.5:8888", False),
])
def test_from_this_computer_accepts_only_pages_served_by_this_computer(origin, allowed):
    assert from_this_computer(origin) is allowed


async def handshake_statuses(url: str) -> dict[str, int]:
    """The HTTP status of an engine.io handshake sent as a page of each origin would."""
    statuses = {}
    async with aiohttp.ClientSession() as http:
        for origin in ("http://127.0.0.1:8888", "http://localhost:8888", "https://example.org"):
            async with http.get(f"{url}/socket.io/?EIO=4&transport=polling",
                                headers={"Origin": origin}) as response:
                statuses[origin] = response.status
    return statuses


async def test_a_python_socketio_server_with_it_lets_in_this_computers_pages_only():
    """As notebook 02 uses it: python-socketio calls it with each page's origin."""
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins=from_this_computer,
                               ping_interval=1, ping_timeout=1)
    server = await serve(sio, name="test-pagecode-origins")
    try:
        assert await handshake_statuses(server.url) == {
            "http://127.0.0.1:8888": 200, "http://localhost:8888": 200,
            "https://example.org": 400}
    finally:
        await server.stop()


async def test_chatkits_server_takes_it_too():
    """As notebook 04 uses it: ChatServer passes a callable on to python-engineio."""
    chat = ChatServer(ping_interval=1, ping_timeout=1, cors_allowed_origins=from_this_computer)
    await chat.start(name="test-pagecode-chat")
    try:
        assert await handshake_statuses(chat.url) == {
            "http://127.0.0.1:8888": 200, "http://localhost:8888": 200,
            "https://example.org": 400}
    finally:
        await chat.stop()
