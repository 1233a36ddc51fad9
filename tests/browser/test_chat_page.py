"""The students' chat page (``/`` of ``python -m chatkit serve``) in a real Chromium.

The servers here are real ``python -m chatkit serve`` processes (``ServerProcess``) on
127.0.0.1, but for one ``ChatServer`` in the loop thread, with a ``Guard`` setting that
``serve`` has no flag for; Python students (a ``ChatPanel``, ``ChatClient``s) and Node's official
socket.io client talk to the page through it. Each test also proves that the page asked
nothing of any host but loopback.
"""

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from chatkit import protocol, running
from chatkit.classroom import ServerProcess
from chatkit.client import ChatClient, Status, TeacherClient
from chatkit.panel import ChatPanel
from tests.browser.conftest import ROOT, assert_in_both_languages, free_port, screenshot

CODE = "maple-otter-fern-42"
NODE_MODULES = ROOT / "benchmarks" / "node_modules"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
WAIT = 20_000  # ms: what a slow, shared machine may need for a round trip
RECONNECT_WAIT = 60_000  # ms: socket.io's next try may be up to 30 s away

# Markup, script and template syntax, direction overrides and unbreakable words: each
# must show as the very text that was sent, and nothing may run.
CORPUS = [
    "<script>window.__pwned = 'script'</script>",
    "<img src=x onerror=\"window.__pwned = 'img'\">",
    "<img src=x onerror=alert(1)><body onload=confirm(2)>",
    "\"><svg onload=\"window.__pwned = 'svg'\"><x y=\"",
    "<a href=\"javascript:window.__pwned = 'link'\">click me</a>",
    "javascript:window.__pwned = 'bare'",
    "<iframe src=\"javascript:parent.__pwned = 'iframe'\"></iframe>",
    "{{constructor.constructor('window.__pwned = 1')()}} ${window.__pwned = 2}",
    "&lt;b&gt; is not <b>bold</b> &amp; <style>body { display: none }</style>",
    "\u202eevil\u202c and \u2067isolated\u2069: a right-to-left override",
    "w" * 400,
    "two\nlines   and  spaces",
]


class LoopThread:
    """An event loop in a thread: Playwright's sync API holds the test's own thread, so
    servers and Python students live here."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, coroutine):
        """Run ``coroutine`` without waiting; its future says when it is done."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self):
        self.run(running.stop_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def loop():
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def served(loop):
    """One classroom server for the module: texts up to 1,000 characters (so that the
    page lets a longer one go and the server refuses it), bursts of 100 messages."""
    server = loop.run(ServerProcess.start("--join-code", CODE, "--max-text", "1000",
                                          "--burst", "100", name="chat-page-server"))
    yield server
    loop.run(server.stop())


class Watched:
    """A page whose every request and WebSocket is recorded; any host but loopback is
    refused (and recorded). Uncaught errors and dialogs are recorded too."""

    def __init__(self, page):
        self.page = page
        self.hosts: list[str] = []
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.route(re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])"), self._refuse)
        page.on("request", lambda request: self.hosts.append(urlsplit(request.url).hostname))
        page.on("websocket", lambda ws: self.hosts.append(urlsplit(ws.url).hostname))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("dialog", self._dialog)
        # Before any page script: notes every Content-Security-Policy violation, so a
        # message that reached the DOM as HTML and tried to run would show up here.
        page.add_init_script("window.__violations = []; document.addEventListener("
                             "'securitypolicyviolation', (e) => window.__violations.push("
                             "e.violatedDirective + ' ' + e.blockedURI));")

    def _refuse(self, route):
        self.foreign.append(route.request.url)
        route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def check(self):
        """Nothing but loopback was asked for; no script error, no dialog."""
        assert self.hosts, "no request recorded at all"
        assert self.foreign == [], self.foreign
        assert set(self.hosts) <= LOOPBACK, set(self.hosts)
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


def open_chat(page, url: str, code: str | None = CODE) -> Watched:
    watched = Watched(page)
    page.goto(f"{url}/#code={code}" if code else f"{url}/")
    return watched


def join(page, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your name").press("Enter")


def joined(page, name: str) -> None:
    expect(page.locator("#status")).to_have_text(f"Connected as {name}.", timeout=WAIT)
    expect(page.locator("#room-title")).to_have_text("lobby", timeout=WAIT)


def send(page, text: str) -> None:
    box = page.get_by_label("Message", exact=True)
    box.fill(text)
    box.press("Enter")


def said(page, name: str | None = None) -> list[str]:
    """The texts of the messages shown (``name``'s only, if given), exactly as in the DOM."""
    return page.evaluate("""(name) => [...document.querySelectorAll('#messages .msg.said')]
        .filter((row) => name === null || row.querySelector('.name').textContent === name)
        .map((row) => row.querySelector('.text').textContent)""", name)


def wait_until_said(page, name: str, count: int) -> None:
    page.wait_for_function("""([name, count]) => [...document.querySelectorAll(
        '#messages .msg.said .name')].filter((n) => n.textContent === name).length >= count""",
        arg=[name, count], timeout=WAIT)


def shows_a_sentence(page) -> str:
    """The page is not blank and shows no stack trace or raw error object."""
    text = page.locator("body").inner_text()
    assert page.locator("#status").inner_text().strip(), "no status line"
    for sign in ("Traceback", "undefined", "[object", "at http", "TypeError", "stack"):
        assert sign not in text, f"{sign!r} on the page: {text}"
    return text


def test_a_page_student_and_a_chat_panel_student_talk_both_ways(page, loop, served):
    """The join code comes from the link and leaves the address bar; a notebook
    ChatPanel (driven from Python as its widgets are: a draft submitted, a Join button
    clicked) and the page hear each other in the lobby and in a room joined later, with
    members, unread counts, and notices shown apart."""
    watched = open_chat(page, served.url)
    expect(page.get_by_label("Join code (from your teacher)")).to_have_value(CODE)
    assert "#" not in page.url and CODE not in page.url
    join(page, "pia")
    joined(page, "pia")

    panel = loop.run(panel_in_loop(served.url, "nia"))
    expect(page.locator("#member-list li")).to_have_text(["nia", "pia"], timeout=WAIT)
    expect(page.locator("#messages .msg.presence")).to_have_text(["nia joined"])

    panel.view.draft = "hello from the notebook"
    panel.view.submit()  # what Enter in the panel's input line does
    wait_until_said(page, "nia", 1)
    assert said(page, "nia") == ["hello from the notebook"]
    assert page.locator("#messages .msg.said.mine").count() == 0

    send(page, "hello from the page")
    wait_until_said(page, "pia", 1)
    expect(page.locator("#messages .msg.mine .text")).to_have_text(["hello from the page"])
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    loop.run(running.wait_for(lambda: "pia: hello from the page" in panel.transcript(), 10))

    # Another room: the page joins it, the panel follows with its own Join button.
    page.get_by_label("Join a room").fill("math")
    page.get_by_label("Join a room").press("Enter")
    expect(page.locator("#room-title")).to_have_text("math", timeout=WAIT)
    panel.new_room.value = "math"
    panel.join_button.click()
    expect(page.locator("#member-list li")).to_have_text(["nia", "pia"], timeout=WAIT)
    loop.run(running.wait_for(lambda: panel.room == "math", 10))
    panel.view.submit("2 + 2 = 4")
    wait_until_said(page, "nia", 1)
    send(page, "and 3 + 3 = 6")
    loop.run(running.wait_for(lambda: "pia: and 3 + 3 = 6" in panel.transcript(), 10))

    # The lobby is not shown: what is said there is counted, then shown on a click.
    loop.run(panel.client.say("lobby", "back in the lobby?"))
    loop.run(panel.client.say("lobby", "anyone?"))
    lobby = page.locator(".room", has_text="lobby")
    expect(lobby.locator(".unread")).to_have_text("2", timeout=WAIT)
    expect(page).to_have_title("(2) chatkit chat")
    lobby.click()
    expect(page.locator("#room-title")).to_have_text("lobby")
    expect(lobby.locator(".unread")).to_have_count(0)
    assert said(page, "nia") == ["hello from the notebook", "back in the lobby?", "anyone?"]

    page.locator("#leave-room").click()  # leaves the lobby: math is shown
    expect(page.locator("#room-title")).to_have_text("math", timeout=WAIT)
    expect(page.locator(".room")).to_have_text(["math"])
    loop.run(running.wait_for(lambda: "* pia left" in panel.transcript()
                              or panel.members.get("lobby") == ["nia"], 10))
    loop.run(panel.client.disconnect())
    expect(page.locator("#messages .msg.presence").last).to_have_text("nia left", timeout=WAIT)
    watched.check()


async def panel_in_loop(url: str, name: str) -> ChatPanel:
    return await ChatPanel.connect(url, name, code=CODE, room="lobby")


def test_a_sigkilled_server_restarted_with_its_db_loses_nothing_and_repeats_nothing(
        page, loop, tmp_path):
    """The server is SIGKILLed and started again on the same port and --db. While the
    page cannot reconnect, a Python student says something (acknowledged by the new
    server) and the page sends something (it waits in the page's outbox). Once back,
    the page shows every acknowledged message once, before, during and after, and its
    own message reached the server once. A reload of the tab resumes the same way, and
    drops the copies a replay from too old an offset brings."""
    args = ("--join-code", CODE, "--db", str(tmp_path / "chat.db"), "--port", str(free_port()))
    server = loop.run(ServerProcess.start(*args, name="killed-server"))
    watched = open_chat(page, server.url)
    join(page, "pia")
    joined(page, "pia")
    bob = loop.run(ChatClient("bob", code=CODE, rooms=["lobby"]).connect(server.url))
    loop.run(bob.say("lobby", "before"))
    send(page, "page before")
    wait_until_said(page, "bob", 1)
    wait_until_said(page, "pia", 1)

    # Socket.IO's first request of every try is an HTTP poll: refusing it keeps the page
    # away from the new server until the test lets it in.
    page.route("**/socket.io/**", lambda route: route.abort())
    loop.run(server.kill())
    expect(page.locator("#status")).to_contain_text("Reconnecting", timeout=WAIT)
    loop.run(running.wait_for(lambda: bob.status is Status.RECONNECTING, 10))
    during = loop.start(bob.say("lobby", "during"))  # waits in bob's outbox
    send(page, "page while the server is down")
    expect(page.locator("#outbox .msg")).to_have_text(
        re.compile("page while the server is down.*waiting for the connection"))

    server = loop.run(ServerProcess.start(*args, name="killed-server"))
    bob.reconnect_now()
    during.result(30)
    page.unroute("**/socket.io/**")
    # "Try now" if socket.io is still waiting (it may have tried by itself meanwhile).
    page.evaluate("() => { const button = document.getElementById('try-now'); "
                  "if (!button.hidden) button.click(); }")
    expect(page.locator("#status")).to_have_text("Connected as pia.", timeout=RECONNECT_WAIT)
    expect(page.locator("#outbox .msg")).to_have_count(0, timeout=WAIT)
    loop.run(bob.say("lobby", "after"))
    wait_until_said(page, "bob", 3)
    wait_until_said(page, "pia", 2)
    assert said(page, "bob") == ["before", "during", "after"]
    assert said(page, "pia") == ["page before", "page while the server is down"]
    loop.run(running.wait_for(lambda: [m.text for m in bob.messages() if m.name == "pia"]
                              == ["page before", "page while the server is down"], 10))
    assert_kept_once(loop, server.url, ["before", "page before", "during",
                                        "page while the server is down", "after"])

    # A reload: the conversation comes back from sessionStorage, the connection resumes
    # from the offset, and what was said meanwhile (a message of its own included,
    # waiting in the outbox across the reload) arrives once.
    page.route("**/socket.io/**", lambda route: route.abort())
    loop.run(server.kill())
    expect(page.locator("#status")).to_contain_text("Reconnecting", timeout=WAIT)
    send(page, "sent, then the tab reloaded")
    server = loop.run(ServerProcess.start(*args, name="killed-server"))
    bob.reconnect_now()
    loop.run(bob.say("lobby", "while the page reloads"))
    page.unroute("**/socket.io/**")
    # As if the tab had saved its state before the last messages came: the resume then
    # asks for more than it missed, and the page must drop the copies itself.
    page.evaluate("() => { const state = JSON.parse(sessionStorage.getItem('chatkit-chat'));"
                  " state.offset = 0; sessionStorage.setItem('chatkit-chat', "
                  "JSON.stringify(state)); }")
    page.reload()
    expect(page.locator("#status")).to_have_text("Connected as pia.", timeout=RECONNECT_WAIT)
    wait_until_said(page, "bob", 4)
    wait_until_said(page, "pia", 3)
    assert said(page, "bob") == ["before", "during", "after", "while the page reloads"]
    assert said(page, "pia") == ["page before", "page while the server is down",
                                 "sent, then the tab reloaded"]
    assert_kept_once(loop, server.url, ["before", "page before", "during",
                                        "page while the server is down", "after",
                                        "while the page reloads",
                                        "sent, then the tab reloaded"], sorted_by_text=True)
    loop.run(bob.disconnect())
    loop.run(server.stop())
    watched.check()


def assert_kept_once(loop, url: str, texts: list[str], *, sorted_by_text: bool = False):
    """A newcomer's join history holds each of ``texts`` once (in id order unless
    ``sorted_by_text``: two senders' messages may be kept in either order)."""
    async def history():
        cy = await ChatClient("cy", code=CODE).connect(url)
        ack = await cy.join("lobby")
        await cy.disconnect()
        return [message.text for message in ack["history"]]

    kept = loop.run(history())
    assert (sorted(kept) == sorted(texts)) if sorted_by_text else (kept == texts), kept


def test_an_injection_corpus_from_python_node_and_the_page_runs_nothing_and_shows_literally(
        page, loop, served, tmp_path):
    """The corpus said by a Python client, by Node's official socket.io client and typed
    into the page itself: every message's text node is the text sent, no element of it
    reaches the page (no img, svg, script, link, iframe), no script runs, no dialog
    opens, and the Content-Security-Policy never had to block anything."""
    node = shutil.which("node")
    assert node is not None and (NODE_MODULES / "socket.io-client").exists(), \
        "needs Node.js and `npm ci --prefix benchmarks`"
    watched = open_chat(page, served.url)
    join(page, "pax")
    joined(page, "pax")

    async def from_python():
        client = await ChatClient("pyra", code=CODE, rooms=["lobby"]).connect(served.url)
        for text in CORPUS:
            await client.say("lobby", text)
        await client.disconnect()

    loop.run(from_python())
    run_node_client(node, tmp_path, served.url, "noor", CORPUS)
    for text in CORPUS:
        send(page, text)
        expect(page.locator("#outbox .msg")).to_have_count(0, timeout=WAIT)
    for name in ("pyra", "noor", "pax"):
        wait_until_said(page, name, len(CORPUS))
        assert said(page, name) == CORPUS, name
    messages = page.locator("#messages")
    assert messages.locator("img, svg, script, a, iframe, style, b, x").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.evaluate("window.__violations") == []
    assert page.locator("body").is_visible()
    screenshot(page, "chat-page-injection")
    watched.check()


def run_node_client(node: str, folder, url: str, name: str, texts: list[str]) -> None:
    """Node's socket.io-client joins the lobby and says each of ``texts``, in order."""
    script = folder / "corpus.mjs"
    script.write_text("""
import { io } from "socket.io-client";
const [url, name, code, texts] = JSON.parse(process.argv[2]);
const socket = io(url + "/chat", { transports: ["websocket"], auth: { name, code } });
socket.on("connect_error", (error) => { console.error(error.message); process.exit(2); });
socket.once("welcome", async () => {
  const ask = (event, payload) => socket.timeout(10000).emitWithAck(event, payload);
  if (!(await ask("join", { room: "lobby" })).ok) process.exit(3);
  for (const [n, text] of texts.entries()) {
    const answer = await ask("say", { room: "lobby", text, client_id: `${name}-${n}` });
    if (!answer.ok) { console.error(answer.error); process.exit(4); }
  }
  socket.disconnect();
  process.exit(0);
});
""")
    (folder / "node_modules").symlink_to(NODE_MODULES)
    done = subprocess.run([node, str(script), json.dumps([url, name, CODE, texts])],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_bad_input_is_answered_with_a_sentence(page, loop, served):
    """An empty name, a wrong code, a taken name, a text over the page's limit and one
    over the server's, an empty one, a mute and a kick by the teacher (and coming back
    too soon), a server gone before and after joining: each shows a sentence,
    the page stays (never blank), and no stack trace or raw error shows."""
    watched = open_chat(page, served.url, code="wrong-code-words-10")
    alert = page.get_by_role("alert")
    join(page, "   ")
    expect(alert).to_have_text("Type your name first: 1 to 32 characters.")
    join(page, "pat")
    expect(alert).to_have_text("Wrong join code: check it with your teacher.", timeout=WAIT)
    expect(page.locator("#join-form")).to_be_visible()
    shows_a_sentence(page)
    screenshot(page, "chat-page-wrong-code")

    tom = loop.run(ChatClient("tom", code=CODE).connect(served.url))
    page.get_by_label("Join code (from your teacher)").fill(CODE)
    join(page, "Tom")
    expect(alert).to_have_text("The name 'Tom' is taken: 'tom' is connected now, and names "
                               "do not differ by case or width. Pick another name.",
                               timeout=WAIT)
    loop.run(tom.disconnect())
    join(page, "pat")
    joined(page, "pat")

    box = page.get_by_label("Message", exact=True)
    box.fill("x" * 2001)
    box.press("Enter")
    expect(alert).to_have_text("The message is too long (2001 characters): at most 2000.")
    expect(box).to_have_value("x" * 2001)  # kept, to shorten
    box.fill("é" * 1200)  # within the page's limit, over this server's 1,000
    box.press("Enter")
    expect(alert).to_have_text("Not sent: The message is too long (1200 characters): "
                               "at most 1000.", timeout=WAIT)
    expect(page.locator("#messages .msg.refused .why")).to_have_text(
        ["Not sent: The message is too long (1200 characters): at most 1000."])
    expect(box).to_have_value("é" * 1200)  # back in the box, to fix
    box.fill("   ")
    box.press("Enter")
    expect(alert).to_have_text("The message is empty: say something.")
    shows_a_sentence(page)

    # The teacher mutes, then removes, the page's student: sentences, and no reconnect.
    teacher = loop.run(TeacherClient.connect(served.url, served.teacher_token))
    loop.run(teacher.mute("pat", 30))
    expect(page.locator("#messages .msg.notice .text").last).to_have_text(
        "The teacher muted you for 30 s.", timeout=WAIT)
    send(page, "am I muted?")
    expect(alert).to_have_text(re.compile(
        r"^Not sent: The teacher muted you: you can speak again in \d+ s\.$"), timeout=WAIT)
    loop.run(teacher.kick("pat"))
    expect(alert).to_have_text(re.compile(
        r"^The teacher removed you from the chat\. You can come back in \d+ s\.$"), timeout=WAIT)
    expect(page.locator("#status")).to_have_text("Disconnected by the server.")
    expect(page.locator("#join-form")).to_be_visible()
    join(page, "pat")
    expect(alert).to_have_text(re.compile(
        r"^The teacher removed 'pat' from the chat: you can come back in \d+ s\.$"),
        timeout=WAIT)
    loop.run(teacher.disconnect())
    shows_a_sentence(page)

    # A server that goes away while the page is in the chat...
    gone = loop.run(ServerProcess.start("--join-code", CODE, name="going-server"))
    page.goto(f"{gone.url}/#code={CODE}")
    join(page, "pat")
    joined(page, "pat")
    loop.run(gone.stop())
    # "Connection lost (transport close). Reconnecting in 1 s…", then, once a try has
    # failed, "Connection lost: the chat server does not answer (xhr poll error): ..."
    expect(page.locator("#status")).to_have_text(re.compile(
        r"^Connection lost( \(transport close\)\.|: the chat server does not answer \(.+\): "
        r"it may have stopped, or the network is down\.) Reconnecting"), timeout=WAIT)
    expect(page.get_by_role("button", name="Try now")).to_be_visible()
    expect(page.get_by_label("Message", exact=True)).to_be_visible()  # still there, to type into
    shows_a_sentence(page)
    screenshot(page, "chat-page-server-gone")
    # ... and one that is gone before a student joins (the page was open already).
    page.get_by_role("button", name="Leave the chat").click()
    expect(page.locator("#status")).to_have_text("You left the chat.")
    join(page, "pat")
    expect(page.locator("#status")).to_have_text(re.compile(
        r"^Cannot reach the chat server \(.+\): it may have stopped, or the network is "
        r"down\. Reconnecting"), timeout=WAIT)
    shows_a_sentence(page)
    watched.check()


def test_a_page_turned_away_at_the_door_says_why_and_gets_in_once_it_may(page, loop):
    """An address that kept connecting after its refusals is answered HTTP 429 at the
    handshake (docs/protocol.md, "Limits"): the page shows the server's sentence, waits,
    and is in as soon as the address may connect again, without a click."""
    import socketio

    from chatkit.guard import Guard
    from chatkit.server import ChatServer

    server = ChatServer(guard=Guard(connects_per_second=0.25, connect_burst=1, door_after=1))
    url = loop.run(server.start(name="chat-page-door")).url

    async def use_up_the_door():
        first = socketio.AsyncClient(reconnection=False)
        await first.connect(url, namespaces=[protocol.CHAT], auth={"name": "ada"})
        refused = socketio.AsyncClient(reconnection=False)
        with contextlib.suppress(socketio.exceptions.ConnectionError):
            await refused.connect(url, namespaces=[protocol.CHAT], auth={"name": "bob"})
        return first

    first = loop.run(use_up_the_door())
    watched = open_chat(page, url, code=None)
    join(page, "cy")
    expect(page.locator("#status")).to_contain_text(
        "Too many connections from your address: wait", timeout=WAIT)
    shows_a_sentence(page)
    joined(page, "cy")  # socket.io tried again by itself, once a connect was allowed
    loop.run(first.disconnect())
    loop.run(server.stop())
    watched.check()


def test_rooms_named_like_javascripts_own_properties_are_rooms_like_any(page, loop, served):
    """Room names are the students' own: "__proto__" and "constructor" once broke the
    page's plain-object maps (lost rows, no duplicate check, a page that would not
    connect after a reload). Counted, shown and kept across a reload like any room."""
    uma = loop.run(ChatClient("uma", code=CODE, rooms=["__proto__", "constructor"])
                   .connect(served.url))
    watched = open_chat(page, served.url)
    join(page, "vic")
    joined(page, "vic")
    for room in ("__proto__", "constructor"):
        page.get_by_label("Join a room").fill(room)
        page.get_by_label("Join a room").press("Enter")
        expect(page.locator("#room-title")).to_have_text(room, timeout=WAIT)
    expect(page.locator("#member-list li")).to_have_text(["uma", "vic"], timeout=WAIT)
    loop.run(uma.say("__proto__", "first"))
    loop.run(uma.say("__proto__", "second"))
    proto = page.locator(".room", has_text="__proto__")
    expect(proto.locator(".unread")).to_have_text("2", timeout=WAIT)
    proto.click()
    wait_until_said(page, "uma", 2)
    page.reload()  # back from sessionStorage, still in __proto__
    expect(page.locator("#status")).to_have_text("Connected as vic.", timeout=WAIT)
    expect(page.locator("#room-title")).to_have_text("__proto__", timeout=WAIT)
    loop.run(uma.say("__proto__", "third"))
    wait_until_said(page, "uma", 3)
    assert said(page, "uma") == ["first", "second", "third"]
    loop.run(uma.disconnect())
    watched.check()


def test_a_refusal_that_passes_with_time_is_tried_again_by_the_page(page, loop):
    """"Too many connections from your address: wait …" comes with data.retry_after
    (a class behind one router after a restart): the page shows it, waits, tries again
    by itself and is in, with no click."""
    from chatkit.guard import Guard
    from chatkit.server import ChatServer

    server = ChatServer(guard=Guard(connects_per_second=0.5, connect_burst=1))
    url = loop.run(server.start(name="chat-page-retry")).url
    first = loop.run(ChatClient("ada").connect(url))
    watched = open_chat(page, url, code=None)
    join(page, "cy")
    expect(page.get_by_role("alert")).to_contain_text(
        "Too many connections from your address: wait", timeout=WAIT)
    expect(page.locator("#status")).to_contain_text("trying again in", timeout=WAIT)
    joined(page, "cy")
    loop.run(first.disconnect())
    loop.run(server.stop())
    watched.check()


def test_on_a_phone_sized_screen_everything_fits_and_the_send_box_shows(browser, loop, served):
    """At 390x844 (a phone) after a short conversation in two rooms: nothing is wider
    than the screen (a 400-letter word and a 32-letter name included), the send box and
    its button are on screen, the text is at least 14 px; the screenshot is
    test-artifacts/chat-page-phone.png."""
    context = browser.new_context(viewport={"width": 390, "height": 844},
                                  device_scale_factor=2, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        watched = open_chat(page, served.url)
        join(page, "Zoë")
        joined(page, "Zoë")
        page.get_by_label("Join a room").fill("math")
        page.get_by_role("button", name="Join room").tap()
        expect(page.locator("#room-title")).to_have_text("math", timeout=WAIT)
        page.locator(".room", has_text="lobby").tap()
        expect(page.locator("#room-title")).to_have_text("lobby")
        students = loop.run(phone_class(served.url))
        wait_until_said(page, "bob", 1)
        send(page, "Hi! I am on my phone.")
        wait_until_said(page, "Zoë", 1)
        wait_until_said(page, LONG_NAME, 2)
        expect(page.locator(".room", has_text="math").locator(".unread")).to_have_text(
            "1", timeout=WAIT)
        expect(page.locator("#member-list li")).to_have_count(4, timeout=WAIT)
        sizes = page.evaluate("""() => ({
            scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
            body: document.body.scrollWidth,
            font: parseFloat(getComputedStyle(document.querySelector('#messages .text')).fontSize),
        })""")
        assert sizes["scroll"] <= sizes["inner"] and sizes["body"] <= sizes["inner"], sizes
        assert sizes["font"] >= 14, sizes
        box = page.get_by_label("Message", exact=True)
        expect(box).to_be_in_viewport()
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()
        send_box = box.bounding_box()
        assert send_box["y"] + send_box["height"] <= 844 and send_box["x"] >= 0
        assert send_box["x"] + send_box["width"] <= 390
        shot = screenshot(page, "chat-page-phone")
        assert shot.stat().st_size > 10_000
        for student in students:
            loop.run(student.disconnect())
        watched.check()
    finally:
        context.close()


LONG_NAME = "Maximilianatheodorawolfeschlegel"  # 32 letters, nowhere to break


async def phone_class(url: str) -> list[ChatClient]:
    ada = await ChatClient("ada", code=CODE, rooms=["lobby"]).connect(url)
    long_name = await ChatClient(LONG_NAME, code=CODE, rooms=["lobby", "math"]).connect(url)
    bob = await ChatClient("bob", code=CODE, rooms=["lobby"]).connect(url)
    await long_name.say("lobby", "w" * 400)
    await ada.say("lobby", "Good morning! Today: rooms and namespaces.")
    await long_name.say("lobby", "Sorry, my cat walked on the keyboard.")
    await bob.say("lobby", "Could you share the link to notebook 04?")
    await long_name.say("math", "Is 0.1 + 0.2 == 0.3 in JavaScript?")
    return [ada, long_name, bob]


def test_the_page_sets_no_html_and_loads_only_its_own_files():
    """Read, not run: chat.js and chat-text.js never write HTML (no innerHTML, outerHTML,
    insertAdjacentHTML, document.write, eval), chat.html has no inline script, style or
    handler, and everything it loads is under /static/."""
    static = ROOT / "chatkit" / "static"
    script = "".join((static / name).read_text()
                     for name in ("chat.js", "chat-text.js", "page-language.js"))
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function"):
        assert sink not in script, sink
    page = (static / "chat.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page), "an inline <script>"
    assert not re.search(r"\sstyle=|<style|\son[a-z]+=", page), "inline style or handler"
    loaded = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert loaded == ["/static/chat.css", "/static/vendor/socket.io.min.js",
                      "/static/page-language.js", "/static/chat-text.js",
                      "/static/chat.js"], loaded


# ---- the page in Chinese (issue 13) -------------------------------------------------------

# A few of the page's own labels and sentences, exactly, in each language.
ENGLISH = {"heading": "Join the class chat", "name": "Your name", "code": "Join code (from your teacher)",
           "join": "Join", "status": "Not connected."}
CHINESE = {"heading": "加入课堂聊天", "name": "你的名字", "code": "加入码（向老师要）", "join": "加入",
           "status": "未连接。"}


def speaks(page, words: dict[str, str], html_lang: str) -> None:
    """The join form shows ``words`` (labels, button, status), and <html lang> is ``html_lang``."""
    expect(page.locator("html")).to_have_attribute("lang", html_lang)
    expect(page.locator("#join-form h2")).to_have_text(words["heading"])
    expect(page.get_by_label(words["name"], exact=True)).to_be_visible()
    expect(page.get_by_label(words["code"], exact=True)).to_be_visible()
    expect(page.locator("#join")).to_have_text(words["join"])
    expect(page.locator("#status")).to_have_text(words["status"])


def test_the_page_switches_to_chinese_and_back_and_remembers_the_choice(page, loop, served):
    """?lang=zh starts the page in Chinese on an English server: labels, placeholders,
    statuses, the members' heading and its own rows ("nia 加入了"); the English / 中文
    switch changes them at once, rows already drawn included, and is remembered (a reload
    without ?lang keeps it). The page asks for its language in its auth ("lang"): this
    English server refuses a wrong join code in Chinese, and that sentence of the server's
    stays as it came when the page switches to English."""
    watched = Watched(page)
    page.goto(f"{served.url}/?lang=zh#code={CODE}")
    speaks(page, CHINESE, "zh-CN")
    expect(page.get_by_label("你的名字")).to_have_attribute("placeholder", "例如：ada")
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")
    assert page.title() == "chatkit 聊天"
    screenshot(page, "chat-page-zh-join")
    page.get_by_label("你的名字").fill("lin")
    page.get_by_label("你的名字").press("Enter")
    expect(page.locator("#status")).to_have_text("已连接，你是 lin。", timeout=WAIT)
    expect(page.locator("#room-title")).to_have_text("lobby", timeout=WAIT)
    expect(page.locator("#members-title")).to_have_text("成员（1）")
    expect(page.get_by_role("button", name="离开房间")).to_be_visible()
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    expect(page.get_by_label("消息", exact=True)).to_have_attribute(
        "placeholder", "输入消息：Enter 发送，Shift+Enter 换行")
    nia = loop.run(ChatClient("nia", code=CODE, rooms=["lobby"]).connect(served.url))
    expect(page.locator("#messages .msg.presence")).to_have_text(["nia 加入了"], timeout=WAIT)
    screenshot(page, "chat-page-zh")

    page.get_by_role("button", name="English").click()  # at once, without a reload
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#status")).to_have_text("Connected as lin.")
    expect(page.locator("#members-title")).to_have_text("Here (2)")
    expect(page.locator("#messages .msg.presence")).to_have_text(["nia joined"])
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    assert "lang=" not in page.url  # else the address would win over the choice at a reload
    assert page.evaluate("localStorage.getItem('chatkit-language')") == "en"
    page.reload()
    expect(page.locator("#status")).to_have_text("Connected as lin.", timeout=WAIT)
    expect(page.get_by_role("button", name="Leave room")).to_be_visible()

    page.get_by_role("button", name="中文").click()
    expect(page.locator("#status")).to_have_text("已连接，你是 lin。")
    page.get_by_role("button", name="退出聊天").click()
    expect(page.locator("#status")).to_have_text("你已退出聊天。")
    loop.run(nia.disconnect())

    # The page asks for Chinese in its auth, so this English server refuses in Chinese;
    # the server's sentence then stays as it came when the page switches to English.
    page.get_by_label("加入码（向老师要）").fill("wrong-code-words-10")
    page.get_by_label("你的名字").press("Enter")
    refusal = page.get_by_role("alert")
    expect(refusal).to_have_text("加入码不对：请找老师核对。", timeout=WAIT)
    page.get_by_role("button", name="English").click()
    speaks(page, ENGLISH, "en")
    expect(refusal).to_have_text("加入码不对：请找老师核对。")
    shows_a_sentence(page)
    watched.check()


def test_a_chinese_server_serves_a_chinese_page_and_refuses_in_chinese(page, loop):
    """`serve --lang zh`: the page starts in Chinese (the server's <html lang="zh-CN">), and
    a wrong join code is refused in the server's Chinese sentence, as the page got it
    from the official socket.io client (the page sends "lang" in its auth)."""
    server = loop.run(ServerProcess.start("--lang", "zh", "--join-code", CODE, name="chat-page-zh"))
    try:
        watched = open_chat(page, server.url, code="wrong-code-words-10")
        speaks(page, CHINESE, "zh-CN")
        page.get_by_label("你的名字").fill("   ")
        page.get_by_label("你的名字").press("Enter")
        expect(page.get_by_role("alert")).to_have_text("请先输入你的名字：1 到 32 个字符。")
        page.get_by_label("你的名字").fill("lin")
        page.get_by_label("你的名字").press("Enter")
        expect(page.get_by_role("alert")).to_have_text("加入码不对：请找老师核对。", timeout=WAIT)
        expect(page.locator("#status")).to_have_text("未连接。")
        shows_a_sentence(page)
        screenshot(page, "chat-page-zh-wrong-code")
        # ?lang=en wins over the server's language, and asks the server for English.
        page.goto(f"{server.url}/?lang=en#code=wrong-code-words-10")
        speaks(page, ENGLISH, "en")
        join(page, "lin")
        expect(page.get_by_role("alert")).to_have_text(
            re.compile(r"^Wrong join code: check it with your teacher\."), timeout=WAIT)
        watched.check()
    finally:
        loop.run(server.stop())


def test_without_a_server_language_the_browsers_decides(browser, loop):
    """Pages served with no language (add_pages(app, language=None)) start in the
    browser's first language that the page speaks; a page with the server's <html lang>
    starts in that one, whatever the browser prefers."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    from chatkit.pages import add_pages

    async def serve(language):
        app = web.Application()
        add_pages(app, language=language)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        return server

    servers = {language: loop.run(serve(language)) for language in (None, "en")}
    try:
        for locale, html_language, words in (("zh-CN", None, CHINESE), ("fr-FR", None, ENGLISH),
                                             ("zh-TW", "en", ENGLISH)):
            context = browser.new_context(locale=locale)
            try:
                page = context.new_page()
                page.goto(str(servers[html_language].make_url("/")))
                speaks(page, words, "zh-CN" if words is CHINESE else "en")
            finally:
                context.close()
    finally:
        for server in servers.values():
            loop.run(server.close())


def test_every_sentence_of_the_page_is_in_both_languages(page, served):
    """CHAT_TEXT (chat-text.js) has the same keys in English and Chinese, each with the same
    {slots}, every Chinese one in Chinese; every key chat.html and chat.js name is there."""
    open_chat(page, served.url, code=None)
    catalogue = page.evaluate("CHAT_TEXT")
    assert_in_both_languages(catalogue)
    static = ROOT / "chatkit" / "static"
    named = set(re.findall(r'data-(?:text|placeholder|label)="(\w+)"',
                           (static / "chat.html").read_text()))
    for call in re.findall(r"words\(([^,)]*)", (static / "chat.js").read_text()):
        named.update(re.findall(r'"(\w+)"', call))
    assert len(named) > 40 and named - catalogue["en"].keys() == set(), \
        named - catalogue["en"].keys()
