"""The teacher's page at /teacher in a real Chromium, against ``python -m chatkit serve``.

The token is typed in; the page then shows the join link and its QR code (a projector
view), the rooms and who is in them, live, and kicks, mutes and announces to students,
who are Python ``ChatClient`` students and a student on the chat page (``/``). Every test also checks that the page asked
for nothing but loopback, and where the token went: never to the address bar, the
page's storage, its console, or the server's log (the one start-up line printing it
aside).
"""

import json
import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from chatkit import running
from chatkit.classroom import ServerProcess
from chatkit.client import ChatClient, connect
from chatkit.pages import STATIC, join_link
from chatkit.peer import Status
from chatkit.protocol import ChatError, Notice
from chatkit.server import ChatServer
from tests.browser.conftest import assert_in_both_languages, free_port, screenshot
from tests.browser.test_browser_websocket import ServerThread
from tests.conftest import timeout

JOIN_CODE = "maple-otter-fern-42"
WAIT_MS = timeout(15) * 1000  # the server, the page and Chromium share two busy cores
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WRONG = "Wrong teacher token: check what the server printed at start."


@pytest.fixture(scope="module")
def thread():
    """An event loop in a thread for the server process and the Python students."""
    loop_thread = ServerThread()
    yield loop_thread
    loop_thread.close()


@pytest.fixture(scope="module")
def server(thread):
    """``python -m chatkit serve --join-code ...`` with a random teacher token."""
    process = thread.run(ServerProcess.start("--join-code", JOIN_CODE, name="teacher-page"),
                         timeout=timeout(40))
    yield process
    thread.run(process.stop(), timeout=timeout(30))


class Watch:
    """What the page did: requests not to loopback (aborted), WebSockets and the
    Socket.IO events they brought, console lines and navigations of the main frame."""

    def __init__(self, page):
        self.page = page
        self.elsewhere: list[str] = []
        self.websockets: list[str] = []
        self.events: list[list] = []  # [namespace, event, data] from the WebSocket
        self.console: list[str] = []
        self.navigations: list[str] = []
        page.route("**/*", self._route)
        page.on("websocket", self._websocket)
        page.on("console", lambda message: self.console.append(message.text))
        page.on("framenavigated", lambda frame: frame == page.main_frame
                and self.navigations.append(frame.url))

    def _websocket(self, socket) -> None:
        self.websockets.append(socket.url)
        socket.on("framereceived", self._frame)

    def _frame(self, frame) -> None:
        # A Socket.IO event on a namespace is 42/<namespace>,[event, data].
        if isinstance(frame, str) and frame.startswith("42/"):
            namespace, _, packet = frame[2:].partition(",")
            self.events.append([namespace, *json.loads(packet)])

    def _route(self, route):
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            self.elsewhere.append(route.request.url)
            route.abort()

    def only_loopback(self) -> None:
        assert self.elsewhere == []
        assert [url for url in self.websockets if urlsplit(url).hostname not in LOOPBACK] == []


@pytest.fixture
def watch(page):
    return Watch(page)


def open_tools(page, server) -> None:
    """Open /teacher, type the token, press Enter; wait until the tools are connected."""
    page.goto(f"{server.url}/teacher")
    page.get_by_label("Teacher token").fill(server.teacher_token)
    page.get_by_label("Teacher token").press("Enter")
    expect(page.locator("#status")).to_have_text("Connected: the rooms below update live.",
                                                 timeout=WAIT_MS)


def members(page, room: str):
    return page.locator(f'.room[data-room="{room}"] .member .name')


def student(thread, server, name: str, *rooms: str) -> ChatClient:
    return thread.run(connect(server.url, name, code=JOIN_CODE, rooms=list(rooms)))


def token_stays_secret(page, watch, server) -> None:
    """The token is in no address, storage, console line, or server log line but the
    start-up line that prints it for the teacher."""
    token = server.teacher_token
    assert token not in page.url and all(token not in url for url in watch.navigations)
    stored = page.evaluate("""() => JSON.stringify([Object.entries(localStorage),
        Object.entries(sessionStorage), document.cookie, history.length])""")
    assert token not in stored
    assert all(token not in line for line in watch.console)
    printed = [line for line in server.output if token in line]
    assert len(printed) == 1 and printed[0].startswith("Teacher token: ")


def test_the_teacher_page_mutes_and_kicks_a_student(page, watch, thread, server):
    """Mute ada (the default 60 s) and kick bob from the page: ada's say is refused,
    bob is told and disconnected, and the rooms view drops bob without a reload."""
    ada, bob = student(thread, server, "ada", "lobby"), student(thread, server, "bob", "lobby")
    open_tools(page, server)
    expect(members(page, "lobby")).to_have_text(["ada", "bob"], timeout=WAIT_MS)
    screenshot(page, "teacher-page-tools")

    page.get_by_role("button", name="Mute ada").click()
    expect(page.locator("#result")).to_have_text("Muted ada for 60 s: they were told.",
                                                 timeout=WAIT_MS)
    notice = thread.run(ada.next("notice", timeout=timeout(10)))
    assert notice.data == Notice("The teacher muted you for 60 s.")
    with pytest.raises(ChatError, match=r"^The teacher muted you: you can speak again in \d+ s\.$"):
        thread.run(ada.say("lobby", "can I still speak?"))

    page.get_by_role("button", name="Kick bob").click()
    expect(page.locator("#result")).to_have_text(
        "Removed bob from the chat: they were told, and may come back after the kick period.",
        timeout=WAIT_MS)
    notice = thread.run(bob.next("notice", timeout=timeout(10)))
    assert notice.data == Notice("The teacher removed you from the chat. You can come back "
                                 "in 60 s.")
    thread.run(running.wait_for(lambda: bob.status is Status.DISCONNECTED, timeout(10),
                                what="bob to be disconnected"))
    expect(members(page, "lobby")).to_have_text(["ada"], timeout=WAIT_MS)

    # Lifting the mute (0 s) from the page lets ada speak again.
    page.get_by_label("Mute for").fill("0")
    page.get_by_role("button", name="Mute ada").click()
    expect(page.locator("#result")).to_have_text("Lifted ada's mute: they can speak again.",
                                                 timeout=WAIT_MS)
    assert thread.run(ada.say("lobby", "thank you")) > 0
    assert len(watch.navigations) == 1  # all of it without a reload
    token_stays_secret(page, watch, server)
    watch.only_loopback()


def test_the_teacher_page_mutes_and_kicks_a_student_on_the_chat_page(browser, page, watch,
                                                                    server):
    """The students' own page (/, in another browser context): muted from the teacher's
    page, its say is refused in the server's words; kicked, it says why and stops."""
    student_context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        pupil = student_context.new_page()
        pupil_watch = Watch(pupil)
        pupil.goto(join_link(server.url, JOIN_CODE))
        pupil.get_by_label("Your name").fill("pia")
        pupil.get_by_label("Your name").press("Enter")
        expect(pupil.locator("#status")).to_have_text("Connected as pia.", timeout=WAIT_MS)
        expect(pupil.locator("#room-title")).to_have_text("lobby", timeout=WAIT_MS)

        open_tools(page, server)
        expect(page.locator(".member[data-name='pia']")).to_have_count(1, timeout=WAIT_MS)
        page.get_by_role("button", name="Mute pia").click()
        expect(page.locator("#result")).to_have_text("Muted pia for 60 s: they were told.",
                                                     timeout=WAIT_MS)
        expect(pupil.locator("#messages .msg.notice .text").last).to_have_text(
            "The teacher muted you for 60 s.", timeout=WAIT_MS)
        pupil.get_by_label("Message", exact=True).fill("may I speak?")
        pupil.get_by_label("Message", exact=True).press("Enter")
        expect(pupil.locator("#alert")).to_have_text(re.compile(
            r"^Not sent: The teacher muted you: you can speak again in \d+ s\.$"),
            timeout=WAIT_MS)

        page.get_by_role("button", name="Kick pia").click()
        expect(page.locator("#result")).to_have_text(re.compile("^Removed pia from the chat"),
                                                     timeout=WAIT_MS)
        expect(pupil.locator("#status")).to_have_text("Disconnected by the server.",
                                                      timeout=WAIT_MS)
        expect(pupil.locator("#alert")).to_have_text(
            "The teacher removed you from the chat. You can come back in 60 s.")
        expect(page.locator(".member[data-name='pia']")).to_have_count(0, timeout=WAIT_MS)
        screenshot(pupil, "teacher-page-kicked-student")
        pupil_watch.only_loopback()
    finally:
        student_context.close()
    token_stays_secret(page, watch, server)
    watch.only_loopback()


def test_refusals_show_the_servers_sentence_and_text_stays_text(page, watch, thread, server):
    """A mute the server refuses, an empty announcement: the server's sentence is shown;
    an announcement of HTML reaches the room as text and runs nothing on the page."""
    cy = student(thread, server, "cy", "games")
    open_tools(page, server)
    expect(members(page, "games")).to_have_text(["cy"], timeout=WAIT_MS)

    page.get_by_label("Mute for").fill("100000")
    page.get_by_role("button", name="Mute cy").click()
    expect(page.locator("#result")).to_have_text(
        '"seconds" is how long to mute for: a number from 0 (to lift a mute) to 86,400, '
        "not a number (100000).", timeout=WAIT_MS)
    page.get_by_label("Mute for").fill("")
    page.get_by_role("button", name="Mute cy").click()
    expect(page.locator("#result")).to_have_text(
        "Type how many seconds to mute for (0 lifts a mute).")

    page.get_by_role("button", name="Announce").click()
    expect(page.locator("#result")).to_have_text("The message is empty: say something.",
                                                 timeout=WAIT_MS)

    html = '<img src=x onerror="window.__pwned = 1"><b>Break</b> until 11:00'
    page.get_by_label("Send to").select_option(label="room games")
    page.get_by_label("Announcement").fill(html)
    page.get_by_label("Announcement").press("Enter")
    expect(page.locator("#result")).to_have_text(f"Announced to room games: “{html}”",
                                                 timeout=WAIT_MS)
    notice = thread.run(cy.next("notice", timeout=timeout(10)))
    assert notice.data == Notice(html, "games")
    assert page.locator("#result img, #result b").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    expect(page.get_by_label("Announcement")).to_have_value("")
    token_stays_secret(page, watch, server)
    watch.only_loopback()


def test_the_rooms_update_live_as_students_come_and_go(page, watch, thread, server):
    """A Python student joining, joining a second room, leaving one and disconnecting
    shows on the open page without a reload."""
    open_tools(page, server)
    # Once on a WebSocket, the events pushed to the page can be seen below.
    page.wait_for_function("() => socket.io.engine.transport.name === 'websocket'",
                           timeout=WAIT_MS)
    dee = student(thread, server, "dee", "physics")
    expect(members(page, "physics")).to_have_text(["dee"], timeout=WAIT_MS)
    expect(page.locator(".room[data-room='physics'] h3")).to_have_text("physics (1)")
    thread.run(dee.join("chemistry"))
    expect(members(page, "chemistry")).to_have_text(["dee"], timeout=WAIT_MS)
    expect(page.get_by_label("Send to").locator("option")).to_contain_text(
        ["everyone", "room chemistry", "room physics"], timeout=WAIT_MS)
    thread.run(dee.leave("physics"))
    expect(page.locator(".room[data-room='physics']")).to_have_count(0, timeout=WAIT_MS)
    thread.run(dee.disconnect())
    expect(page.locator(".member[data-name='dee']")).to_have_count(0, timeout=WAIT_MS)
    assert watch.navigations == [f"{server.url}/teacher"]
    # Pushed by the server, not only found by the page's periodic refresh:
    pushed = [data for namespace, event, data in watch.events if event == "presence"]
    assert {"room": "physics", "members": ["dee"]} in pushed
    assert {"room": "physics", "members": []} in pushed
    assert {namespace for namespace, *_ in watch.events} == {"/teacher"}
    token_stays_secret(page, watch, server)
    watch.only_loopback()


def test_the_projector_view_shows_the_join_link_and_its_qr_code(page, watch, server):
    """The join link (the code after #) and a QR code that loads, large, for the projector;
    Escape goes back to the tools."""
    open_tools(page, server)
    link = join_link(server.url, JOIN_CODE)
    expect(page.locator(".join-link").first).to_have_text(link, timeout=WAIT_MS)
    expect(page.locator(".join-link").first).to_have_attribute("href", link)
    expect(page.locator("#join-code")).to_have_text(f"Join code: {JOIN_CODE}")
    qr = page.get_by_role("img", name="QR code of the join link")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    page.get_by_role("button", name="Show on the projector").click()
    expect(page.locator("#people")).to_be_hidden()
    expect(qr).to_be_visible()
    page.wait_for_function("() => { const img = document.getElementById('qr');"
                           " return img.complete && img.naturalWidth > 0; }")
    box = qr.bounding_box()
    assert box["height"] >= 0.5 * page.viewport_size["height"]  # readable from the back
    screenshot(page, "teacher-page")
    page.keyboard.press("Escape")
    expect(page.locator("#people")).to_be_visible()
    token_stays_secret(page, watch, server)
    watch.only_loopback()


@pytest.fixture
def fresh_server(thread):
    """A server of its own, so that its wrong tries slow down no other test."""
    process = thread.run(ServerProcess.start("--join-code", JOIN_CODE, name="teacher-guesses"),
                         timeout=timeout(40))
    yield process
    thread.run(process.stop(), timeout=timeout(30))


WAITING = re.compile(r"^Too many wrong tries of the teacher token from your address: "
                     r"wait (\d+) s before trying again\.$")


def test_a_wrong_token_shows_the_servers_sentence_and_its_back_off(page, watch, fresh_server):
    """No token, wrong tokens, the guard's back-off: each shows the server's sentence
    (or, for nothing typed, the page's own); the right token then opens the tools."""
    server = fresh_server
    page.goto(f"{server.url}/teacher")
    # Every sentence shown under the form, in order (the same sentence twice counts twice).
    page.evaluate("""() => {
        window.__shown = [];
        const message = document.getElementById('login-message');
        new MutationObserver(() => {
            if (message.textContent) window.__shown.push(message.textContent);
        }).observe(message, {childList: true, characterData: true, subtree: true});
    }""")
    token = page.get_by_label("Teacher token")

    def try_token(typed: str) -> str:
        count = page.evaluate("() => window.__shown.length")
        token.fill(typed)
        token.press("Enter")
        page.wait_for_function(f"() => window.__shown.length > {count}", timeout=WAIT_MS)
        expect(token).to_have_value("")  # not left in the field either
        return page.evaluate("() => window.__shown.at(-1)")

    assert try_token("") == "Type the teacher token: the server printed it when it started."
    assert try_token("guess-1") == WRONG
    assert try_token("guess-2") == WRONG
    assert try_token("guess-3") == f"{WRONG} Wait 1 s before the next try."
    screenshot(page, "teacher-page-wrong-token")
    # The next try comes during that wait, or (on a slow machine) just after it.
    fourth = try_token("guess-4")
    assert WAITING.match(fourth) or fourth == f"{WRONG} Wait 2 s before the next try."
    expect(page.locator("#status")).to_have_text("Not connected.")
    expect(page.locator("#tools")).to_be_hidden()

    # The right token is refused too while the address waits, then let in.
    status = page.locator("#status")
    for _ in range(10):
        count = page.evaluate("() => window.__shown.length")
        token.fill(server.teacher_token)
        token.press("Enter")
        page.wait_for_function(f"""() => window.__shown.length > {count} ||
            document.getElementById('status').textContent.startsWith('Connected')""",
                               timeout=WAIT_MS)
        if status.text_content().startswith("Connected"):
            break
        waiting = WAITING.match(page.evaluate("() => window.__shown.at(-1)"))
        assert waiting, page.evaluate("() => window.__shown.at(-1)")
        page.wait_for_timeout(int(waiting.group(1)) * 1000)  # the wait the server asked for
    expect(page.locator("#tools")).to_be_visible()
    expect(page.locator(".join-link").first).to_have_text(join_link(server.url, JOIN_CODE),
                                                          timeout=WAIT_MS)
    assert not [line for line in server.output if "guess-" in line]
    token_stays_secret(page, watch, server)
    watch.only_loopback()


def test_the_page_reconnects_by_itself_and_says_so(page, watch, thread):
    """The server killed: the page says it lost the connection and is trying again; the
    server back on its port: connected again, rooms and link asked afresh. Back with
    another token: the server's refusal, and the token form."""
    port, token = str(free_port()), "a-token-typed-once"

    def start(teacher_token: str) -> ServerProcess:
        return thread.run(ServerProcess.start(
            "--join-code", JOIN_CODE, "--port", port, "--teacher-token", teacher_token,
            name="teacher-restarts"), timeout=timeout(40))

    server = start(token)
    open_tools(page, server)
    thread.run(server.kill(), timeout=timeout(30))
    expect(page.locator("#status")).to_have_text(
        re.compile(r"^(Connection lost|Cannot reach the chat server)"), timeout=WAIT_MS)
    server = start(token)
    eve = student(thread, server, "eve", "art")
    expect(page.locator("#status")).to_have_text("Connected: the rooms below update live.",
                                                 timeout=timeout(60) * 1000)
    expect(members(page, "art")).to_have_text(["eve"], timeout=WAIT_MS)
    token_stays_secret(page, watch, server)
    thread.run(eve.disconnect())
    thread.run(server.kill(), timeout=timeout(30))

    server = start("another-token")
    expect(page.locator("#login-message")).to_have_text(WRONG, timeout=timeout(60) * 1000)
    expect(page.get_by_label("Teacher token")).to_be_visible()
    expect(page.locator("#tools")).to_be_hidden()
    assert len(watch.navigations) == 1
    thread.run(server.stop(), timeout=timeout(30))
    watch.only_loopback()


# ---- the page in Chinese (issue 13) -------------------------------------------------------

WRONG_ZH = "老师令牌不对：请核对服务器启动时打印的令牌。"


def speaks_chinese(page) -> None:
    """The token form in Chinese: <html lang>, the title, headings, label, button, hint and
    status, exactly (the hint's command kept as <code>)."""
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page).to_have_title("chatkit：老师页面")
    expect(page.locator("h1")).to_have_text("老师页面")
    expect(page.locator("#login h2")).to_have_text("打开老师工具")
    expect(page.get_by_label("老师令牌", exact=True)).to_be_visible()
    expect(page.locator("#login button[type=submit]")).to_have_text("连接")
    expect(page.locator("#login .hint")).to_have_text("python -m chatkit serve 启动时打印了这个令牌。")
    expect(page.locator("#login .hint code")).to_have_text("python -m chatkit serve")
    expect(page.locator("#status")).to_have_text("未连接：请输入老师令牌。")
    expect(page.get_by_role("button", name="中文")).to_have_attribute("aria-pressed", "true")


def test_the_teacher_page_switches_to_chinese_and_remembers_the_choice(page, watch, thread,
                                                                       server):
    """?lang=zh on an English server: the page's own words in Chinese (the form, the status,
    the rooms, the buttons, the results), and the server's answers too, since the page asks
    for Chinese in its auth ("lang"). The English / 中文 switch changes it all at once, and
    is remembered for both pages (localStorage "chatkit-language", as the chat page)."""
    lan = student(thread, server, "lan", "hanzi")  # a room of her own, on this shared server
    page.goto(f"{server.url}/teacher?lang=zh")
    speaks_chinese(page)
    token = page.get_by_label("老师令牌", exact=True)
    token.press("Enter")
    expect(page.locator("#login-message")).to_have_text("请输入老师令牌：服务器启动时打印过它。")
    token.fill(server.teacher_token)
    token.press("Enter")
    expect(page.locator("#status")).to_have_text("已连接：下面的房间会实时更新。", timeout=WAIT_MS)
    expect(members(page, "hanzi")).to_have_text(["lan"], timeout=WAIT_MS)
    expect(page.locator(".room[data-room='hanzi'] h3")).to_have_text("hanzi（1 人）")
    expect(page.locator("#join-code")).to_have_text(f"加入码：{JOIN_CODE}", timeout=WAIT_MS)
    expect(page.get_by_role("img", name="加入链接的二维码")).to_be_visible()
    expect(page.get_by_role("button", name="在投影上显示")).to_be_visible()
    expect(page.locator("#rooms-title")).to_have_text("房间和里面的人")
    expect(page.locator(".mute-for")).to_have_text(re.compile(r"^\s*禁言时长\s+秒（0 表示解除禁言）\s*$"))
    expect(page.get_by_label("发给").locator("option")).to_contain_text(["所有人", "房间 hanzi"])
    expect(page.locator("#announce button")).to_have_text("发布")

    page.get_by_role("button", name="禁言 lan").click()
    expect(page.locator("#result")).to_have_text("已对 lan 禁言 60 s：已通知对方。", timeout=WAIT_MS)
    # lan asked for nothing, so her notice is in the server's language (English).
    assert thread.run(lan.next("notice", timeout=timeout(10))).data == Notice(
        "The teacher muted you for 60 s.")
    page.get_by_role("button", name="发布", exact=True).click()  # an empty announcement
    expect(page.locator("#result")).to_have_text("消息是空的：说点什么吧。", timeout=WAIT_MS)
    page.get_by_label("禁言时长").fill("0")
    page.get_by_role("button", name="禁言 lan").click()
    expect(page.locator("#result")).to_have_text("已解除 lan 的禁言：对方可以再次发言了。",
                                                 timeout=WAIT_MS)
    expect(page.get_by_role("button", name="移出 lan")).to_have_text("移出")
    screenshot(page, "teacher-page-zh")

    page.get_by_role("button", name="English").click()  # at once, without a reload
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#status")).to_have_text("Connected: the rooms below update live.")
    expect(page.locator("#result")).to_have_text("Lifted lan's mute: they can speak again.")
    expect(page.locator(".room[data-room='hanzi'] h3")).to_have_text("hanzi (1)")
    expect(page.get_by_role("button", name="Kick lan")).to_have_text("Kick")
    expect(page.locator("#join-code")).to_have_text(f"Join code: {JOIN_CODE}")
    expect(page.get_by_label("Send to").locator("option")).to_contain_text(["everyone", "room hanzi"])
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    assert "lang=" not in page.url  # else the address would win over the choice at a reload
    assert page.evaluate("localStorage.getItem('chatkit-language')") == "en"

    page.get_by_role("button", name="中文").click()
    expect(page.locator("#status")).to_have_text("已连接：下面的房间会实时更新。")
    page.reload()  # the choice is kept (the token is not: it is typed again)
    speaks_chinese(page)
    page.goto(f"{server.url}/")  # and the chat page makes the same choice
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#join-form h2")).to_have_text("加入课堂聊天")
    thread.run(lan.disconnect())
    token_stays_secret(page, watch, server)
    watch.only_loopback()


@pytest.fixture
def chinese_server(thread):
    """A ChatServer speaking Chinese (as `serve --lang zh`), with a teacher token."""
    chat = ChatServer(join_code=JOIN_CODE, teacher_token="a-chinese-token", language="zh")
    handle = thread.run(chat.start(name="teacher-page-zh"), timeout=timeout(30))
    yield handle
    thread.run(chat.stop(), timeout=timeout(30))


def test_a_chinese_server_refuses_a_wrong_token_in_chinese(page, watch, chinese_server):
    """On a Chinese server the page starts in Chinese (<html lang="zh-CN">) and a wrong
    token is refused in the server's Chinese sentence; ?lang=en asks for English and gets
    the English one; switched back to 中文, the page asks in Chinese again (its auth is
    made at each connection), so the server's answers are Chinese once connected."""
    url = chinese_server.url
    page.goto(f"{url}/teacher")
    speaks_chinese(page)
    token = page.get_by_label("老师令牌", exact=True)
    token.fill("guess-1")
    token.press("Enter")
    expect(page.locator("#login-message")).to_have_text(WRONG_ZH, timeout=WAIT_MS)
    expect(page.locator("#status")).to_have_text("未连接。")
    expect(page.locator("#tools")).to_be_hidden()
    screenshot(page, "teacher-page-zh-wrong-token")

    page.goto(f"{url}/teacher?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_label("Teacher token").fill("guess-2")
    page.get_by_label("Teacher token").press("Enter")
    expect(page.locator("#login-message")).to_have_text(WRONG, timeout=WAIT_MS)
    expect(page.locator("#status")).to_have_text("Not connected.")

    page.get_by_role("button", name="中文").click()
    expect(page.locator("#login-message")).to_have_text(WRONG)  # the server's, as it came
    token.fill("a-chinese-token")
    token.press("Enter")
    expect(page.locator("#status")).to_have_text("已连接：下面的房间会实时更新。", timeout=WAIT_MS)
    expect(page.locator("#nobody")).to_have_text("还没有人连接。")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator("#result")).to_have_text("消息是空的：说点什么吧。", timeout=WAIT_MS)
    watch.only_loopback()


def test_every_sentence_of_the_teacher_page_is_in_both_languages(page, server):
    """TEACHER_TEXT (teacher-text.js) has the same keys in English and Chinese, each with
    the same {slots}, every Chinese one in Chinese; every key teacher.html and teacher.js
    name is there."""
    page.goto(f"{server.url}/teacher")
    catalogue = page.evaluate("TEACHER_TEXT")
    assert_in_both_languages(catalogue)
    named = set(re.findall(r'data-(?:text|label|alt)="(\w+)"',
                           (STATIC / "teacher.html").read_text()))
    for call in re.findall(r"words\(([^,)]*)", (STATIC / "teacher.js").read_text()):
        named.update(re.findall(r'"(\w+)"', call))
    assert len(named) > 40 and named - catalogue["en"].keys() == set(), \
        named - catalogue["en"].keys()
    assert catalogue["en"].keys() - named == set()  # no sentence left unused
