"""The class over TLS in Chromium: `python -m chatkit serve --certfile --keyfile` serves the
chat page over https, and socket.io from that page connects over wss (and https polling).

The certificate comes from a trustme CA that Chromium does not know; a browser cannot
easily be given a CA, so the context ignores certificate errors (what a student does by
clicking through the warning of a self-signed certificate). What is checked is that
everything goes over TLS, and that the page needed nothing but loopback.
"""

import json
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
import trustme
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

CODE = "blue-fox-12"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    """`python -m chatkit serve` with a trustme certificate for 127.0.0.1; yields what its
    ready file says."""
    folder = tmp_path_factory.mktemp("tls-server")
    issued = trustme.CA().issue_cert("127.0.0.1", "localhost")
    issued.cert_chain_pems[0].write_to_path(str(folder / "cert.pem"))
    issued.private_key_pem.write_to_path(str(folder / "key.pem"))
    ready = folder / "ready.json"
    log = open(folder / "serve.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "chatkit", "serve", "--port", "0", "--join-code", CODE,
         "--certfile", str(folder / "cert.pem"), "--keyfile", str(folder / "key.pem"),
         "--ready-file", str(ready)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert process.poll() is None, (folder / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server did not get ready in 30 s"
            time.sleep(0.1)
        yield json.loads(ready.read_text())
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    assert process.returncode == 0, (folder / "serve.log").read_text()
    assert "Traceback" not in (folder / "serve.log").read_text()


@pytest.fixture
def tls_page(browser):
    """A page in a context that accepts the test CA's certificate (as a student who
    clicked through the browser's warning), recording every request that leaves loopback
    (aborted) and every WebSocket the page opens."""
    context = browser.new_context(ignore_https_errors=True, viewport={"width": 1200,
                                                                      "height": 900})
    page = context.new_page()
    page.outside, page.sockets = [], []

    def only_loopback(route):
        if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            page.outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.on("websocket", lambda socket: page.sockets.append(socket.url))
    yield page
    context.close()


PROBE = """async ([code, transports]) => {
  // A fresh socket.io client of its own (forceNew), beside whatever the page does.
  const socket = io("/chat", { auth: { name: `probe-${transports[0]}`, code },
                               transports, forceNew: true, reconnection: false });
  const welcome = await new Promise((resolve, reject) => {
    socket.on("welcome", resolve);
    socket.on("connect_error", (error) => reject(new Error(error.message)));
  });
  const joined = await socket.timeout(5000).emitWithAck("join", { room: "tls" });
  const said = await socket.timeout(5000).emitWithAck("say", { room: "tls", text: "over TLS" });
  const result = { transport: socket.io.engine.transport.name, name: welcome.name,
                   joined: joined.ok, said: said.ok };
  socket.disconnect();
  return result;
}"""


def test_the_page_loads_over_https_and_socketio_connects_over_wss_and_polling(
        tls_server, tls_page):
    """The chat page arrives over https in a secure context; the vendored socket.io client
    connects to /chat over wss, and also over https long-polling, and chats."""
    url = tls_server["url"]
    assert url.startswith("https://127.0.0.1:")
    response = tls_page.goto(url + "/")
    assert response.ok and response.url == url + "/"
    assert tls_page.evaluate("[location.protocol, window.isSecureContext]") == ["https:", True]
    tls_page.wait_for_function("typeof io === 'function'")
    for transports in (["websocket"], ["polling"]):
        assert tls_page.evaluate(PROBE, [CODE, transports]) == {
            "transport": transports[0], "name": f"probe-{transports[0]}", "joined": True,
            "said": True}
    port = tls_server["port"]
    assert tls_page.sockets and all(socket.startswith(f"wss://127.0.0.1:{port}/socket.io/")
                                    for socket in tls_page.sockets)
    assert tls_page.outside == []


def test_a_student_joins_through_the_link_over_tls(tls_server, tls_page):
    """The students' link (the code after '#', over https) fills in the code; the
    student joins and chats, over a wss connection."""
    link = f"{tls_server['url']}/#code={CODE}"
    tls_page.goto(link)
    expect(tls_page.locator("#code")).to_have_value(CODE)
    tls_page.locator("#name").fill("ada")
    tls_page.locator("#name").press("Enter")
    expect(tls_page.locator("#chat")).to_be_visible()
    tls_page.locator("#text").fill("hello over wss")
    tls_page.locator("#text").press("Enter")
    expect(tls_page.locator("#messages")).to_contain_text("hello over wss")
    port = tls_server["port"]
    assert [socket for socket in tls_page.sockets
            if socket.startswith(f"wss://127.0.0.1:{port}/socket.io/")]
    assert not [socket for socket in tls_page.sockets if socket.startswith("ws://")]
    screenshot(tls_page, "tls-chat-page")
    assert tls_page.outside == []
