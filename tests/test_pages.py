"""chatkit.pages: what the server sends a browser, over real HTTP from a running ChatServer.

The pages themselves are driven by Chromium in tests/browser/; here: the routes, the
headers that keep user text from running as code, and the vendored socket.io client.
"""

import hashlib
import json
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from chatkit.pages import (
    HTML_LANG,
    PAGES,
    SECURITY_HEADERS,
    STATIC,
    VENDORED_CLIENT,
    add_pages,
    join_link,
    qr_data_uri,
    qr_text,
    vendored_client_version,
)
from chatkit.server import ChatServer

ROOT = Path(__file__).resolve().parent.parent
NODE_CLIENT = ROOT / "benchmarks" / "node_modules" / "socket.io-client"


def pinned_client_version() -> str:
    lock = json.loads((ROOT / "benchmarks" / "package-lock.json").read_text())
    return lock["packages"]["node_modules/socket.io-client"]["version"]


def test_the_vendored_client_is_the_pinned_version():
    assert vendored_client_version() == pinned_client_version()
    esm = STATIC / "vendor" / "socket.io.esm.min.js"
    assert vendored_client_version(esm) == pinned_client_version()
    licence = (STATIC / "vendor" / "socket.io-client.LICENSE").read_text()
    assert "MIT License" in licence and "Guillermo Rauch" in licence


def test_the_vendored_client_is_npms_file_unchanged():
    """`make vendor` copies the files as they are; an edit by hand would show here."""
    if not NODE_CLIENT.exists():
        pytest.fail("benchmarks/node_modules is missing: `make test` installs it with npm")
    for name in ("socket.io.min.js", "socket.io.esm.min.js"):
        ours = hashlib.sha256((STATIC / "vendor" / name).read_bytes()).hexdigest()
        npms = hashlib.sha256((NODE_CLIENT / "dist" / name).read_bytes()).hexdigest()
        assert ours == npms, f"{name} differs from npm's: run `make vendor`"


def test_join_link_keeps_the_code_out_of_the_request():
    assert join_link("http://10.0.0.5:5000", "maple-otter-42") == \
        "http://10.0.0.5:5000/#code=maple-otter-42"
    assert join_link("https://h:1/", "a b&c") == "https://h:1/#code=a%20b%26c"
    assert join_link("http://h:1", None) == "http://h:1/"


@pytest.fixture
async def served():
    server = ChatServer(join_code="maple-otter-42")
    handle = await server.start(name="pages-test")
    async with aiohttp.ClientSession() as session:
        yield handle.url, session
    await server.stop()


@pytest.mark.parametrize("address", sorted(PAGES))
async def test_each_page_is_served_with_its_security_headers(served, address):
    url, session = served
    async with session.get(url + address) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        body = await response.text()
        for header, value in SECURITY_HEADERS.items():
            assert response.headers[header] == value
    assert body.lstrip().lower().startswith("<!doctype html>")
    assert "maple-otter-42" not in body  # the code is never in a page anyone can fetch


async def test_the_policy_lets_no_inline_script_run(served):
    url, session = served
    async with session.get(url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy


async def test_static_files_and_the_client_are_served(served):
    url, session = served
    async with session.get(url + "/static/vendor/socket.io.min.js") as response:
        assert response.status == 200
        assert response.content_type == "text/javascript"
        assert await response.read() == VENDORED_CLIENT.read_bytes()
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    async with session.get(url + "/static/chat.html") as response:
        assert response.status == 200 and "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize("name", ["nope.js", "../pages.py", "..%2Fpages.py", "vendor/../../server.py",
                                  "%2e%2e/%2e%2e/pyproject.toml"])
async def test_nothing_outside_the_static_folder_is_served(served, name):
    url, session = served
    async with session.get(f"{url}/static/{name}") as response:
        assert response.status == 404
        text = await response.text()
    assert "import" not in text and "[project]" not in text


async def test_socketio_still_answers_beside_the_pages(served):
    url, session = served
    async with session.get(url + "/socket.io/?EIO=4&transport=polling") as response:
        assert response.status == 200
        assert (await response.text()).startswith("0{")


def test_the_qr_codes_encode_the_link():
    """segno draws them; here: the same link gives the same code, another link another,
    and both forms are what a terminal and an <img> can show."""
    link = join_link("http://10.0.0.5:5000", "maple-otter-42")
    drawn = qr_text(link)
    rows = drawn.splitlines()
    assert drawn == qr_text(link) != qr_text(link + "x")
    assert len({len(row) for row in rows}) == 1 and set(drawn) <= set("█▀▄ \n")
    uri = qr_data_uri(link)
    assert uri.startswith("data:image/svg+xml") and uri != qr_data_uri(link + "x")


async def page_texts(language, *addresses):
    """The pages at ``addresses`` of an app whose pages speak ``language``."""
    app = web.Application()
    add_pages(app, language=language)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            texts = []
            for address in addresses:
                async with session.get(server.make_url(address)) as response:
                    assert response.status == 200
                    texts.append(await response.text())
            return texts
    finally:
        await server.close()


@pytest.mark.parametrize("language", [*HTML_LANG, None])
async def test_the_chat_page_starts_in_the_pages_language(language):
    """add_pages(app, language=...) sets the chat page's <html lang> (the page's script
    starts in it; None: the browser's language decides) and changes nothing else:
    /static/chat.html is the file as it is."""
    chat, raw = await page_texts(language, "/", "/static/chat.html")
    on_disk = (STATIC / "chat.html").read_text(encoding="utf-8")
    tag = "<html>" if language is None else f'<html lang="{HTML_LANG[language]}">'
    assert chat == on_disk.replace('<html lang="en">', tag, 1)
    assert chat.count("<html") == 1 and tag in chat
    assert raw == on_disk


@pytest.mark.parametrize("language", [*HTML_LANG, None])
async def test_the_teacher_page_starts_in_the_pages_language(language):
    """The teacher's page gets the same <html lang> as the chat page (teacher.js starts in
    it, as chat.js does), and nothing else changes: /static/teacher.html is the file."""
    chat, teacher, raw = await page_texts(language, "/", "/teacher", "/static/teacher.html")
    on_disk = (STATIC / "teacher.html").read_text(encoding="utf-8")
    tag = "<html>" if language is None else f'<html lang="{HTML_LANG[language]}">'
    assert teacher == on_disk.replace('<html lang="en">', tag, 1)
    assert teacher.count("<html") == 1 and tag in teacher and tag in chat
    assert raw == on_disk


def test_the_pages_speak_english_and_chinese_only():
    assert HTML_LANG == {"en": "en", "zh": "zh-CN"}
    with pytest.raises(ValueError, match="not 'fr'"):
        add_pages(web.Application(), language="fr")


async def test_a_chinese_server_serves_the_chat_page_in_chinese():
    """``serve --lang zh`` (ChatServer(language="zh")) serves <html lang="zh-CN">, on the
    chat page and on the teacher's page."""
    server = ChatServer(language="zh")
    handle = await server.start(name="pages-zh")
    try:
        async with aiohttp.ClientSession() as session:
            for address in ("/", "/teacher"):
                async with session.get(handle.url + address) as response:
                    assert '<html lang="zh-CN">' in await response.text(), address
    finally:
        await server.stop()
