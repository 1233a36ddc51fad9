"""chatkit.panel: two ChatPanels driven through a real ChatServer; as_task; notebook 05
left live after "Run all", until its Stop button."""

import asyncio
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from chatkit import protocol, running
from chatkit.classroom import ServerProcess
from chatkit.client import ChatClient, Status, TeacherClient
from chatkit.panel import ChatPanel, ChatView, as_task
from chatkit.protocol import Notice
from chatkit.retry import Retry
from chatkit.server import ChatServer
from tests.conftest import timeout

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "05-live-chat-panel.ipynb"
FAST_RECONNECT = {"reconnect_delay": 0.05, "reconnect_delay_max": 0.2,
                  "reconnect_attempts": 40}


def texts(panel: ChatPanel, *kinds: str) -> list[tuple[str, str]]:
    """(name, text) of the rows the panel shows, of the given kinds."""
    return [(row["name"], row["text"]) for row in panel.view.messages if row["kind"] in kinds]


@pytest.fixture
async def server():
    chat = ChatServer(ping_interval=1, ping_timeout=1)
    await chat.start(name="chat")
    yield chat
    await chat.stop()


@pytest.fixture
async def alice_and_bob(server):
    alice = await ChatPanel.connect(server.url, "alice", room="lobby")
    bob = await ChatPanel.connect(server.url, "bob", room="lobby")
    yield alice, bob
    for panel in (alice, bob):
        await panel.client.disconnect()


async def test_enter_sends_and_the_other_panel_shows_it(alice_and_bob):
    """A draft submitted (what Enter does) reaches bob, shows as alice's own, and clears."""
    alice, bob = alice_and_bob
    alice.view.draft = "hello bob"
    alice.view.submit()
    await running.wait_for(lambda: texts(bob, protocol.SAID), timeout(5))
    await running.wait_for(lambda: alice.view.draft == "", timeout(5))
    assert texts(bob, protocol.SAID) == [("alice", "hello bob")]
    assert texts(alice, "mine") == [("alice", "hello bob")]
    assert texts(alice, protocol.SAID) == []


async def test_the_browser_submit_message_takes_the_same_path(alice_and_bob):
    """The front end's {"type": "submit", "text"} message sends that text."""
    alice, bob = alice_and_bob
    alice.view._on_browser_message(alice.view, {"type": "submit", "text": "from the browser"},
                                   [])
    await running.wait_for(lambda: texts(bob, protocol.SAID), timeout(5))
    assert texts(bob, protocol.SAID) == [("alice", "from the browser")]


async def test_empty_draft_sends_nothing(alice_and_bob):
    """Enter on an empty or blank line does not send."""
    alice, bob = alice_and_bob
    alice.view.draft = "   "
    alice.view.submit()
    await alice.say("marker")
    await running.wait_for(lambda: texts(bob, protocol.SAID), timeout(5))
    assert texts(bob, protocol.SAID) == [("alice", "marker")]


async def test_presence_shows_who_joined_and_the_member_list(alice_and_bob):
    """alice sees bob join: a presence row and both names in the member list."""
    alice, _ = alice_and_bob
    await running.wait_for(lambda: texts(alice, protocol.PRESENCE), timeout(5))
    assert texts(alice, protocol.PRESENCE) == [("", "bob joined")]
    assert alice.members["lobby"] == ["alice", "bob"]
    assert "<li>alice</li><li>bob</li>" in alice.member_list.value


async def test_refused_message_is_shown_to_its_sender_only(alice_and_bob):
    """Too long: alice sees why in a refused row and keeps her draft; bob sees nothing."""
    alice, bob = alice_and_bob
    alice.view.draft = "x" * 2001
    assert await alice.say(alice.view.draft) is None
    assert alice.view.messages[-1]["kind"] == "refused"
    assert "too long" in alice.view.messages[-1]["text"]
    assert alice.view.draft == "x" * 2001
    await alice.say("short enough")
    await running.wait_for(lambda: texts(bob, protocol.SAID), timeout(5))
    assert texts(bob, protocol.SAID) == [("alice", "short enough")]


async def test_markup_in_names_is_escaped_in_the_member_list(server):
    """A name that looks like HTML is shown as text in the member list."""
    mallory = await ChatPanel.connect(server.url, "<img src=x onerror=alert(1)>")
    try:
        assert "&lt;img src=x onerror=alert(1)&gt;" in mallory.member_list.value
        assert "<img" not in mallory.member_list.value
    finally:
        await mallory.client.disconnect()


async def test_refused_connection_shows_the_servers_reason():
    """A wrong join code: status refused, the reason in the status line, input disabled."""
    chat = ChatServer(join_code="maple-otter-42")
    await chat.start(name="coded")
    panel = await ChatPanel.connect(chat.url, "eve", code="wrong")
    assert panel.status is Status.REFUSED
    assert "refused" in panel.status_label.value
    assert "join code" in panel.status_label.value.lower()
    assert panel.view.enabled is False
    await chat.stop()


async def test_rooms_switch_and_count_unread(alice_and_bob):
    """alice joins math; a lobby message counts as unread until she switches back."""
    alice, bob = alice_and_bob
    await alice.join("math")
    assert alice.room == "math"
    await bob.say("lobby news")
    await running.wait_for(lambda: alice.unread.get("lobby") == 1, timeout(5))
    assert ("lobby (1)", "lobby") in alice.room_picker.options
    alice.room_picker.value = "lobby"
    assert alice.room == "lobby" and "lobby" not in alice.unread
    assert texts(alice, protocol.SAID) == [("bob", "lobby news")]
    await alice.leave("lobby")
    assert alice.room == "math"
    assert [value for _, value in alice.room_picker.options] == ["math"]


async def test_history_is_bounded():
    """A panel keeps at most max_messages rows per room, newest last."""
    view = ChatView(max_messages=50)
    for n in range(200):
        view.append(protocol.SAID, f"message {n}", name="bot")
    assert len(view.messages) == 50
    assert view.messages[0]["text"] == "message 150"
    assert view.messages[-1]["text"] == "message 199"


async def test_server_restart_reconnects_and_loses_nothing(tmp_path):
    """Server stops and restarts on the same port: reconnecting -> connected, all kept."""
    db = tmp_path / "chat.sqlite"
    first = ChatServer(db=db)
    handle = await first.start(name="chat")
    alice = await ChatPanel.connect(handle.url, "alice", room="lobby", **FAST_RECONNECT)
    bob = await ChatPanel.connect(handle.url, "bob", room="lobby", **FAST_RECONNECT)
    await alice.say("before the restart")
    await running.wait_for(lambda: texts(bob, protocol.SAID), timeout(5))

    await first.stop()
    await running.wait_for(lambda: alice.status is Status.RECONNECTING, timeout(5))
    assert "reconnecting" in alice.status_label.value
    alice.view.draft = "while the server was down"
    alice.view.submit()  # typed and sent while reconnecting: kept, sent after the reconnect
    second = ChatServer(db=db)
    await second.start(name="chat", port=handle.port)
    await running.wait_for(lambda: alice.status is Status.CONNECTED
                           and bob.status is Status.CONNECTED, timeout(10))
    await bob.say("after the restart")

    expected = [("alice", "before the restart"), ("alice", "while the server was down"),
                ("bob", "after the restart")]
    await running.wait_for(lambda: len(texts(bob, protocol.SAID, "mine")) == 3, timeout(10))
    await running.wait_for(lambda: len(texts(alice, protocol.SAID, "mine")) == 3, timeout(10))
    assert sorted(texts(bob, protocol.SAID, "mine")) == sorted(expected)
    assert sorted(texts(alice, protocol.SAID, "mine")) == sorted(expected)
    assert "connected" in alice.status_label.value
    assert alice.view.draft == ""
    for panel in (alice, bob):
        await panel.client.disconnect()
    await second.stop()


async def test_a_panel_keeps_one_bounded_copy_of_each_rooms_rows(server):
    """Per room at most max_messages rows; the view shows the room's own rows, no copy."""
    carol = await ChatPanel.connect(server.url, "carol", room="lobby", max_messages=5)
    dave = await ChatPanel.connect(server.url, "dave", room="lobby")
    await carol.join("math")
    await dave.join("math")
    for n in range(12):
        await dave.client.say("lobby", f"lobby {n}")
        await dave.client.say("math", f"math {n}")
    await running.wait_for(lambda: carol.unread.get("lobby") == 12, timeout(5))
    await running.wait_for(lambda: texts(carol, protocol.SAID)[-1:] == [("dave", "math 11")],
                           timeout(5))
    assert carol.view.messages is carol._by_room["math"]
    assert [text for _, text in texts(carol, protocol.SAID)] == [f"math {n}" for n in range(7, 12)]
    assert len(carol._by_room["lobby"]) == 5
    carol.room_picker.value = "lobby"
    assert carol.view.messages is carol._by_room["lobby"]
    assert [text for _, text in texts(carol, protocol.SAID)] == [f"lobby {n}" for n in range(7, 12)]
    for panel in (carol, dave):
        await panel.client.disconnect()


async def test_a_notice_is_shown_in_the_room_it_names(server):
    """A notice to one room is a row there, from the parsed Notice."""
    alice = await ChatPanel.connect(server.url, "alice", room="lobby")
    await server.sio.emit(protocol.NOTICE, Notice("class ends at 5", "lobby").to_dict(),
                          namespace=protocol.CHAT)
    await running.wait_for(lambda: texts(alice, protocol.NOTICE), timeout(5))
    assert alice.transcript()[-1] == "* class ends at 5"
    await alice.client.disconnect()


# -- layout and state fixes (issue 11) ---------------------------------------------------

async def test_a_kicked_students_member_list_is_emptied():
    """Kicked (the server closes the connection): the panel lists nobody any more."""
    chat = ChatServer(teacher_token="secret")
    await chat.start(name="classroom")
    alice = await ChatPanel.connect(chat.url, "alice", room="lobby")
    bob = await ChatPanel.connect(chat.url, "bob", room="lobby")
    await running.wait_for(lambda: bob.members.get("lobby") == ["alice", "bob"], timeout(5))
    teacher = await TeacherClient.connect(chat.url, "secret")
    await teacher.kick("bob")
    await running.wait_for(lambda: bob.status is Status.DISCONNECTED, timeout(5))
    assert bob.members == {}
    assert bob.reconnect_button.layout.display == "none"  # coming back cannot help
    assert "<li>" not in bob.member_list.value and "here (0)" in bob.member_list.value
    await running.wait_for(lambda: alice.members["lobby"] == ["alice"], timeout(5))
    assert "<li>bob</li>" not in alice.member_list.value
    await teacher.disconnect()
    await alice.client.disconnect()
    await chat.stop()


async def test_long_names_wrap_in_a_member_list_without_a_fixed_width(server):
    """A 32-character name wraps inside the member list, which is as wide as it needs
    up to 40% of the panel, instead of being cut at 150 px."""
    long_name = "Maximilianatheodorawolfeschlegel"  # 32 characters, nowhere to break
    panel = await ChatPanel.connect(server.url, long_name, room="lobby")
    layout = panel.member_list.layout
    assert layout.width is None and layout.max_width == "40%" and layout.min_width == "60px"
    assert f"<li>{long_name}</li>" in panel.member_list.value
    assert "overflow-wrap:anywhere" in panel.member_list.value
    await panel.client.disconnect()


async def test_a_narrow_panel_shrinks_and_wraps_its_room_controls(alice_and_bob):
    """No fixed 560 px: the panel shrinks to 220 px, and the room controls (Leave last)
    wrap onto a second line rather than being cut off."""
    alice, _ = alice_and_bob
    assert alice.layout.width is None
    assert (alice.layout.min_width, alice.layout.max_width) == ("220px", "560px")
    controls = alice.children[1]
    assert alice.leave_button in controls.children
    assert controls.layout.flex_flow == "row wrap"
    assert alice.view.layout.min_width == "0"  # the message list gives way to the members


async def test_a_panel_around_a_connected_client_shows_who_is_there(server):
    """ChatPanel(client) for a client already in a room lists its members at once, and
    later arrivals as rows and in the list."""
    bob = await ChatClient("bob", rooms=["lobby"]).connect(server.url)
    carol = await ChatClient("carol", rooms=["lobby"]).connect(server.url)
    await running.wait_for(lambda: [e for e in bob.events if e.type == protocol.PRESENCE
                                    and "carol" in e.data.members], timeout(5))
    panel = ChatPanel(bob, room="lobby")
    assert panel.members["lobby"] == ["bob", "carol"]
    assert "<li>bob</li><li>carol</li>" in panel.member_list.value
    dave = await ChatClient("dave", rooms=["lobby"]).connect(server.url)
    await running.wait_for(lambda: "<li>dave</li>" in panel.member_list.value, timeout(5))
    assert panel.transcript()[-1] == "* dave joined"
    for client in (bob, carol, dave):
        await client.disconnect()


async def test_as_task_runs_a_click_on_the_loop_of_the_cell_that_made_it():
    """as_task(f) is a plain function; called from another thread, f still runs as a
    task on the loop as_task was called on, and a failure is logged, not lost."""
    import asyncio
    import logging
    import threading

    ran, loop = [], asyncio.get_running_loop()

    async def record(button):
        ran.append((button, asyncio.get_running_loop() is loop))

    on_click = as_task(record)
    assert not asyncio.iscoroutinefunction(on_click)
    threading.Thread(target=on_click, args=("clicked",)).start()
    await running.wait_for(lambda: ran, timeout(5))
    assert ran == [("clicked", True)]

    async def fail(button):
        raise ValueError("no such room")

    failures = []
    handler = logging.Handler()
    handler.emit = failures.append
    logging.getLogger("chatkit.panel").addHandler(handler)
    try:
        as_task(fail)("clicked")
        await running.wait_for(lambda: failures, timeout(5))
    finally:
        logging.getLogger("chatkit.panel").removeHandler(handler)
    assert isinstance(failures[0].exc_info[1], ValueError)
    with pytest.raises(TypeError, match="takes an `async def` function"):
        as_task(lambda button: None)


def test_notebook_05_stays_live_after_run_all_and_its_stop_button_ends_everything():
    """After "Run all" of notebook 05 its servers, clients and panels are connected (nothing
    stops them in a last cell); the Stop button then stops them all, leaving no task."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    cells = [nbformat.v4.new_code_cell(c.source) for c in notebook.cells if c.cell_type == "code"]
    after = nbformat.v4.new_code_cell(AFTER_RUN_ALL)
    run = nbformat.v4.new_notebook(metadata=notebook.metadata, cells=[*cells, after])
    NotebookClient(run, timeout=120, resources={"metadata": {"path": str(NOTEBOOK.parent)}},
                   record_timing=False).execute()
    out = "".join(o.get("text", "") for o in after.outputs if o.output_type == "stream")
    live, stopped, left = out.splitlines()
    assert live == ("live: ada True | alice connected lobby True | bob connected lobby | "
                    "ada, chat, client:alice, client:bob, teacher")
    assert stopped.startswith("stopped: ") and {"chat", "teacher", "ada", "client:alice",
                                                "client:bob"} <= set(stopped[9:].split(", "))
    assert left == "running: {} | tasks left: 0"


AFTER_RUN_ALL = """
from chatkit.tasks import leftover_tasks
names = ", ".join(sorted(set(running.running()) & {"chat", "teacher", "ada", "client:alice",
                                                    "client:bob"}))
print("live: ada", ada.connected, "| alice", alice.status.value, alice.room, alice.view.enabled,
      "| bob", bob_panel.status.value, bob_panel.room, "|", names)
stop_button.click()
await running.wait_for(lambda: stop_report.value.startswith("stopped:"), timeout=10)
await running.wait_for(lambda: not leftover_tasks(), timeout=5)
print(stop_report.value)
print("running:", running.running(), "| tasks left:", len(leftover_tasks()))
"""


# -- the class comes back (issue 14) ---------------------------------------------------------

def shown(panel: ChatPanel) -> bool:
    return panel.reconnect_button.layout.display != "none"


async def test_reconnect_now_reconnects_at_once_and_the_line_counts_down(tmp_path):
    """While reconnecting the line says when it tries next, counting down, and shows
    "Reconnect now"; a click reconnects at once instead of after the wait."""
    db = tmp_path / "chat.sqlite"
    first = ChatServer(db=db)
    handle = await first.start(name="chat")
    alice = await ChatPanel.connect(handle.url, "alice", room="lobby",
                                    retry=Retry(first=600, cap=600))
    assert not shown(alice)
    await first.stop()
    await running.wait_for(lambda: "reconnecting in" in alice.status_label.value, timeout(5))
    assert shown(alice)
    seconds_left = int(alice.status_label.value.split("reconnecting in ")[1].split()[0])
    assert 300 <= seconds_left <= 600
    await running.wait_for(lambda: f"in {seconds_left - 1} s" in alice.status_label.value,
                           timeout(5))  # it counts down by itself
    second = ChatServer(db=db)
    await second.start(name="chat", port=handle.port)
    alice.reconnect_button.click()
    await running.wait_for(lambda: alice.status is Status.CONNECTED, timeout(5))
    assert "● connected" in alice.status_label.value and not shown(alice)
    assert await alice.say("back") is not None
    await alice.client.disconnect()
    await second.stop()


async def test_a_panel_that_gave_up_comes_back_with_the_button():
    first = ChatServer()
    handle = await first.start(name="chat")
    alice = await ChatPanel.connect(handle.url, "alice", room="lobby",
                                    retry=Retry(first=0.01, cap=0.02, attempts=2))
    await first.stop()
    await running.wait_for(lambda: alice.status is Status.DISCONNECTED, timeout(5))
    assert "gave up after 2 tries" in alice.status_label.value and shown(alice)
    second = ChatServer()
    await second.start(name="chat", port=handle.port)
    alice.reconnect_button.click()
    await running.wait_for(lambda: alice.status is Status.CONNECTED, timeout(5))
    assert not shown(alice)
    await alice.client.disconnect()
    await second.stop()


async def test_a_class_comes_back_after_its_server_is_stopped_for_30_s(tmp_path):
    """The teacher stops `python -m chatkit serve --db` (SIGTERM) for 30 s, longer than
    any fixed number of quick tries, then starts it again with the same --db and port:
    every client and panel is back by itself, with nothing lost and nothing twice, what
    was said while the server was down included."""
    db = str(tmp_path / "class.db")
    server = await ServerProcess.start("--open", "--db", db, name="class")
    port = server.url.rsplit(":", 1)[1]
    patient = {"retry": Retry(first=0.2, cap=2), "say_timeout": timeout(90)}
    clients = [await ChatClient(name, rooms=["lobby"], **patient).connect(server.url)
               for name in ("ada", "bob", "cy")]
    panel = await ChatPanel.connect(server.url, "dee", room="lobby", **patient)
    for client in clients:
        await client.say("lobby", f"{client.name}: before")
    await panel.say("dee: before")

    assert (await server.stop()) == 0
    everyone = [*clients, panel.client]
    await running.wait_for(lambda: all(c.status is Status.RECONNECTING for c in everyone),
                           timeout(10))
    said_while_down = asyncio.create_task(clients[0].say("lobby", "ada: while down"))
    panel.view.draft = "dee: while down"
    panel.view.submit()
    await asyncio.sleep(30)
    for client in everyone:  # still trying, after many more than the old 5 tries
        tries = [c for c in client.statuses if c.status is Status.RECONNECTING
                 and c.detail.endswith(" now")]
        assert client.status is Status.RECONNECTING and len(tries) > 5, client.statuses[-3:]
    assert "reconnecting" in panel.status_label.value and shown(panel)

    again = await ServerProcess.start("--open", "--db", db, "--port", port, name="class")
    await running.wait_for(lambda: all(c.connected for c in everyone), timeout(15))
    await asyncio.wait_for(said_while_down, timeout(15))
    for client in clients:
        await client.say("lobby", f"{client.name}: after")
    await panel.say("dee: after")
    texts_now = sorted(f"{n}: {w}" for n in ("ada", "bob", "cy", "dee")
                       for w in ("before", "after")) + ["ada: while down", "dee: while down"]
    await running.wait_for(lambda: all(len(c.messages("lobby")) == len(texts_now)
                                       for c in everyone), timeout(15))
    for client in everyone:
        lobby = client.messages("lobby")
        assert sorted(m.text for m in lobby) == sorted(texts_now)  # nothing lost or twice
        assert [m.id for m in lobby] == sorted({m.id for m in lobby})  # in order, once
    rows = [text for _, text in texts(panel, protocol.SAID, "mine")]
    assert sorted(rows) == sorted(texts_now)  # the panel's rows too: each message once
    assert "● connected" in panel.status_label.value and not shown(panel)
    assert [line for line in server.output if "Stopped" in line]
    for client in everyone:
        await client.disconnect()
    await again.stop()

