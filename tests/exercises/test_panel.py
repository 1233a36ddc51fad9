"""Notebook 05's check_panel and check_member_list drive the learner's own widgets and
explain what is wrong with a panel, refusing chatkit's ChatPanel and ChatClient."""

import logging

import ipywidgets as widgets
import pytest
import socketio

from chatkit import exercises, running
from chatkit.client import ChatClient
from chatkit.panel import ChatPanel, as_task
from chatkit.server import ChatServer
from chatkit.tasks import leftover_tasks
from tests.conftest import timeout
from tests.exercises import answers


async def check(make_panel, wait=5):
    """check_panel with waits scaled for slow machines."""
    await exercises.check_panel(make_panel, timeout=timeout(wait))


async def check_members(make_panel, wait=5):
    await exercises.check_member_list(make_panel, timeout=timeout(wait))


def show_said(lines, message):
    lines.children = (*lines.children, widgets.Label(f"{message['name']}: {message['text']}"))


async def say_draft(client, draft):
    ack = await client.call("say", {"room": "lobby", "text": draft.value}, namespace="/chat",
                            timeout=5)
    if ack["ok"]:
        draft.value = ""


def panel_with(*, show=show_said, send=say_draft, wrap=as_task, auth=None, presence=None,
               extra=(), connect=True):
    """A make_panel like the notebook's, with one part replaced: ``show(lines, message)``
    for `said`, ``send(client, draft)`` for a click (made a handler by ``wrap``), the
    ``auth``, a ``presence(here, data)`` handler for a Select (added when given)."""
    async def make_panel(url, name):
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        await running.track(name, client.shutdown)
        lines, draft = widgets.VBox(), widgets.Text()
        button, here = widgets.Button(description="Send"), widgets.Select(options=[])
        if show is not None:
            client.on("said", lambda message: show(lines, message), namespace="/chat")
        if presence is not None:
            client.on("presence", lambda data: presence(here, data), namespace="/chat")

        async def send_draft(clicked_button):
            await send(client, draft)

        if send is not None:
            button.on_click(wrap(send_draft) if wrap else send_draft)
        if connect:
            await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                                 auth=auth or {"name": name, "rooms": ["lobby"]})
        return widgets.VBox([lines, widgets.HBox([draft, button]), *extra,
                             *([here] if presence else [])])
    return make_panel


def set_members(here, data):
    here.options = data["members"]


async def fails(make_panel, match, wait=5, members=False):
    """The check fails with a hint matching ``match`` and leaves nothing running."""
    with pytest.raises(AssertionError, match=match):
        await (check_members if members else check)(make_panel, wait)
    assert running.running() == {}
    await running.wait_for(lambda: not leftover_tasks(), timeout(5), what="no tasks left")


# -- check_panel: right ---------------------------------------------------------------

async def test_the_notebooks_answer_passes_and_spares_the_learners_clients(capsys):
    """The solution passes; clients the learner made elsewhere, as ada, stay connected."""
    server = ChatServer()
    await server.start(name="chat")
    ada = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    await running.track("ada", ada.shutdown)
    await ada.connect(server.url, namespaces=["/chat"], auth={"name": "ada"})
    bob = await ChatClient("bob").connect(server.url)
    await check(answers.make_panel)
    assert capsys.readouterr().out.startswith("Right: your panel shows each message once")
    assert ada.connected and bob.connected
    assert set(running.running()) == {"chat", "ada", "client:bob"}


async def test_a_panel_made_with_a_plain_async_handler_of_its_own_passes(capsys):
    """as_task is a convenience: a plain handler that schedules the send itself passes."""
    import asyncio
    loop_tasks = set()

    def schedule(send_draft):
        def on_click(button):
            task = asyncio.ensure_future(send_draft(button))
            loop_tasks.add(task)
            task.add_done_callback(loop_tasks.discard)
        return on_click

    await check(panel_with(wrap=schedule))
    assert "Right:" in capsys.readouterr().out


# -- check_panel: chatkit's own panel and client are refused ---------------------------

async def test_chatpanel_connect_is_refused_as_a_shortcut():
    """Passing ChatPanel.connect itself is refused before anything starts."""
    await fails(ChatPanel.connect, "that is chatkit's ChatPanel")


async def test_a_function_returning_a_chatpanel_is_refused():
    """A make_panel that returns chatkit's ChatPanel is refused, and its client stopped."""
    async def make_panel(url, name):
        return await ChatPanel.connect(url, name, room="lobby")

    await fails(make_panel, "that is chatkit's ChatPanel, the polished panel")


async def test_a_panel_on_chatkits_chatclient_is_refused():
    """Widgets around chatkit's ChatClient skip the wiring: refused, naming ChatClient."""
    async def make_panel(url, name):
        await ChatClient(name, rooms=["lobby"]).connect(url)
        return widgets.VBox([widgets.Text(), widgets.Button(description="Send")])

    await fails(make_panel, "connected chatkit's ChatClient")


# -- check_panel: wrong answers, each with its own hint --------------------------------

async def test_a_plain_def_is_told_to_be_async():
    """A make_panel that is not async (it cannot await connect) is told to be."""
    def make_panel(url, name):
        return widgets.VBox([widgets.Text(), widgets.Button(description="Send")])

    await fails(make_panel, r"returned VBox\(.*not something to await: write `async def "
                            r"make_panel\(url, name\)`")


async def test_a_panel_that_never_connects_is_told_how():
    """Widgets without a connected client: told to connect to /chat with the auth."""
    await fails(panel_with(connect=False), "no socket.io client of yours is connected",
                wait=1)


async def test_a_client_outside_the_lobby_is_told_about_rooms():
    """Connected without "rooms": told to put "rooms": ["lobby"] in auth."""
    await fails(panel_with(auth={"name": "check-ada"}), "not in the lobby", wait=1)


async def test_a_client_under_another_name_is_told_to_use_the_parameter():
    """Connected as "ada" instead of the name given: told to use `name`."""
    await fails(panel_with(auth={"name": "ada", "rooms": ["lobby"]}),
                "joined the lobby as 'ada'", wait=1)


async def test_two_texts_are_ambiguous():
    """Two Text widgets: told to keep the one to type in."""
    await fails(panel_with(extra=[widgets.Text()]), "holds 2 Text widgets: keep one")


async def test_messages_without_the_name_are_told_the_format():
    """A Label with the text alone is told `name: text`."""
    def text_only(lines, message):
        lines.children = (*lines.children, widgets.Label(message["text"]))

    await fails(panel_with(show=text_only), r"shows 'hello check-ada': show each message as "
                                            r"`name: text`, here 'check-bob: hello check-ada'",
                wait=1)


async def test_messages_in_html_are_told_to_use_labels():
    """Messages put into a widgets.HTML are told that HTML would run others' markup."""
    board = widgets.HTML()

    def as_html(lines, message):
        board.value += f"<p>{message['name']}: {message['text']}</p>"

    await fails(panel_with(show=as_html, extra=[board]), "in a widgets.HTML: use one "
                                                         "widgets.Label per message", wait=1)


async def test_a_panel_that_shows_nothing_is_told_to_handle_said():
    """No `said` handler: told to register one and add a Label in it."""
    await fails(panel_with(show=None), r"showed no Label 'check-bob: hello check-ada': "
                                       r"register `@client.on\(\"said\"", wait=1)


async def test_an_async_click_handler_without_as_task_is_explained():
    """on_click(send_draft) with an async def: told the coroutine never runs, use as_task."""
    await fails(panel_with(wrap=None), r"is an `async def`: a click calls it and drops the "
                                       r"coroutine.*as_task\(send_draft\)")


async def test_a_handler_returning_a_coroutine_is_explained(recwarn):
    """A lambda that calls the async def (a coroutine dropped): told to use as_task."""
    await fails(panel_with(wrap=lambda send_draft: lambda button: send_draft(button)),
                r"made a coroutine and dropped it, so it never ran.*as_task")
    assert not [w for w in recwarn if "never awaited" in str(w.message)]


async def test_a_button_without_a_handler_is_told_to_add_one():
    """A Send button with no on_click handler is told to give it one."""
    await fails(panel_with(send=None), "your Button has no click handler")


async def test_the_wrong_event_name_is_named():
    """Sending "chat" instead of "say" names the event the server listens for."""
    async def chat(client, draft):
        await client.emit("chat", {"room": "lobby", "text": draft.value}, namespace="/chat")

    await fails(panel_with(send=chat), r"your client sent the event 'chat'; the chat "
                                       r"server listens for \"say\"", wait=1)


async def test_a_refused_say_shows_the_servers_answer():
    """A say without a room is told what it sent and what the server answered."""
    async def no_room(client, draft):
        await client.call("say", {"text": draft.value}, namespace="/chat", timeout=5)

    await fails(panel_with(send=no_room), r"your client sent say \{'text': 'hello check-bob'"
                                          r"\} and the server answered \{'ok': False", wait=1)


async def test_saying_something_else_than_typed_is_explained():
    """A send that adds the name to the text is told to say exactly what the Text holds."""
    async def with_name(client, draft):
        await client.call("say", {"room": "lobby", "text": f"me: {draft.value}"},
                          namespace="/chat", timeout=5)
        draft.value = ""

    await fails(panel_with(send=with_name), r"check-bob got 'me: hello check-bob': say "
                                            r"exactly what the Text holds")


async def test_your_own_message_shown_twice_is_explained():
    """Adding a Label when sending, and again from `said`: told to add only in `said`."""
    shown = {}

    def remember(lines, message):
        shown["lines"] = lines
        show_said(lines, message)

    async def echo_locally(client, draft):
        show_said(shown["lines"], {"name": "check-ada", "text": draft.value})
        await say_draft(client, draft)

    await fails(panel_with(show=remember, send=echo_locally),
                "your own message shows 2 times: the server sends `said` to the sender too")


async def test_skipping_your_own_messages_is_explained():
    """A said handler that skips the panel's own name: told the sender gets `said` too."""
    def others_only(lines, message):
        if message["name"] != "check-ada":
            show_said(lines, message)

    await fails(panel_with(show=others_only), "your own panel shows no 'check-ada: hello "
                                              "check-bob'", wait=1)


async def test_a_text_never_emptied_is_told_to_empty_it():
    """The Text keeps what was sent: told to empty it once the ack says ok."""
    async def keeps(client, draft):
        await client.call("say", {"room": "lobby", "text": draft.value}, namespace="/chat",
                          timeout=5)

    await fails(panel_with(send=keeps), r"Text still holds 'hello check-bob': empty it",
                wait=1)


async def test_emptying_the_text_before_the_ack_loses_a_refused_message():
    """Emptying the Text before the server answers loses a refused message: explained."""
    async def empties_first(client, draft):
        text, draft.value = draft.value, ""
        await client.call("say", {"room": "lobby", "text": text}, namespace="/chat",
                          timeout=5)

    await fails(panel_with(send=empties_first), r"the server refused it \(\{'ok': False, "
                                                r"'error': .*too long.*empty the Text only "
                                                r"when the ack says ok")


# -- check_panel: crashes in the learner's code ----------------------------------------

async def test_make_panel_that_raises_names_the_line():
    """An exception in make_panel itself is reported with the learner's line."""
    async def make_panel(url, name):
        client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
        await client.conect(url)  # a typo

    await fails(make_panel, r"make_panel\(url, 'check-ada'\) raised AttributeError.*conect.*"
                            r"line \d+ of your code")


async def test_a_said_handler_that_raises_is_reported(caplog):
    """A `said` handler raising is a hint naming it, not a traceback printed somewhere."""
    def wrong_key(lines, message):
        lines.children = (*lines.children, widgets.Label(message["user"]))

    with caplog.at_level(logging.ERROR):
        await fails(panel_with(show=wrong_key), r"a handler of yours raised KeyError: 'user'.*"
                                                r"line \d+ of your code", wait=1)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_click_task_that_raises_is_reported():
    """The click's task raising (logged by as_task) is a hint with the learner's line."""
    async def bad_ack(client, draft):
        ack = await client.call("say", {"room": "lobby", "text": draft.value},
                                namespace="/chat", timeout=5)
        draft.value = ack.text  # a dict has no .text

    await fails(panel_with(send=bad_ack), r"a handler of yours raised AttributeError: 'dict' "
                                          r"object has no attribute 'text'.*line \d+", wait=1)


async def test_a_click_handler_that_raises_at_once_is_reported():
    """A plain click handler raising is a hint (ipywidgets would print a traceback)."""
    def broken(send_draft):
        def on_click(button):
            raise ValueError("not wired yet")
        return on_click

    await fails(panel_with(wrap=broken), "your click handler raised ValueError: not wired yet")


# -- check_member_list -----------------------------------------------------------------

async def test_the_member_list_answer_passes(capsys):
    """The notebook's exercise 2 solution passes and leaves nothing running."""
    await check_members(answers.make_panel_with_members)
    assert capsys.readouterr().out.startswith("Right: your member list follows presence")
    assert running.running() == {}


async def test_a_member_list_needs_a_select():
    """Without a Select: told to add one."""
    await fails(answers.make_panel, "your panel holds no Select: add a widgets.Select",
                members=True)


async def test_a_member_list_without_presence_is_told_to_handle_it():
    """A Select nobody updates: told to handle `presence`."""
    def ignore(here, data):
        pass

    await fails(panel_with(presence=ignore), r"member list is still empty: register "
                                             r"`@client.on\(\"presence\"", wait=1, members=True)


async def test_a_member_list_that_only_adds_names_is_told_to_replace():
    """Adding each new name and never removing one: told presence carries the whole list."""
    def add_names(here, data):
        here.options = sorted({*here.options, *data["members"]})

    await fails(panel_with(presence=add_names), r"after check-carol left, your member list "
                                                r"shows .*replace the options with it",
                wait=1, members=True)


async def test_a_member_list_set_once_is_told_to_follow_every_presence():
    """Set from the first presence only: told to follow every presence event."""
    def first_only(here, data):
        if not here.options:
            here.options = data["members"]

    await fails(panel_with(presence=first_only), r"when check-carol joined the lobby, your "
                                                 r"member list shows \['check-ada', "
                                                 r"'check-bob'\], not", wait=1, members=True)


async def test_a_presence_handler_that_raises_is_reported():
    """A `presence` handler raising is a hint naming the learner's line."""
    def wrong_field(here, data):
        here.options = data["names"]

    await fails(panel_with(presence=wrong_field), r"a handler of yours raised KeyError: "
                                                  r"'names'", wait=1, members=True)


async def test_the_member_list_check_refuses_chatpanel_too():
    """check_member_list refuses ChatPanel.connect like check_panel."""
    await fails(ChatPanel.connect, "that is chatkit's ChatPanel", members=True)
