# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Give the chat a face: build a live chat panel from widgets
#
# **About 55 minutes: 30 teaching, 25 exercises.**
#
# **What you build.** Your own chat window in this notebook, made of ipywidgets: a box to
# type in, a Send button and a list of messages, wired to a python-socketio client of
# the course's chat server; then a list of who is in the room. After that, chatkit's
# `ChatPanel`, the polished version of the same window, with a bot and a teacher's server.
#
# **What you learn.**
# - a widget is a Python object that the browser mirrors: values change both ways, and
#   a click calls a Python function;
# - a user interface is events in, widget changes out: `said` adds a line, `presence`
#   updates the members;
# - why a click hands its work to the kernel's event loop, and a handler never prints;
# - why text from other people is shown as text, never as HTML;
# - how to join a workshop: a URL, your name and a join code.
#
# **What you need.** Notebooks 02-04: `emit`, `on` and acks, the course's chat server
# and `ChatClient` (03), rooms (04). The chat protocol is in `docs/protocol.md`; this
# notebook uses a corner of it: connect to the namespace `/chat` with `auth={"name",
# "rooms"}`, `say {"room", "text"}` with an ack, and the events `said` and `presence`.
# Open the notebook in JupyterLab to use the panels with your mouse and keyboard; the
# cells also drive them from code, so everything works when it runs unattended.

# %%
import asyncio
import warnings

import ipywidgets as widgets
import socketio

from chatkit import exercises, running
from chatkit.client import ChatClient
from chatkit.panel import ChatPanel, as_task
from chatkit.server import ChatServer

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel
server = ChatServer()
await server.start(name="chat")
bob = await ChatClient("bob", rooms=["lobby"]).connect(server.url)

# %% [markdown]
# The course's chat server (`ChatServer`, notebooks 03 and 04) runs in this kernel, and
# bob, a `ChatClient` (notebook 03), waits in its lobby. You build a window for ada.
#
# ## A widget is a Python object, shown in the browser
#
# Type something and click Echo:

# %%
typed = widgets.Text(placeholder="type here")
echo_button = widgets.Button(description="Echo")
shown = widgets.Label()


def echo(clicked_button):
    shown.value = f"you typed: {typed.value}"


echo_button.on_click(echo)
widgets.VBox([widgets.HBox([typed, echo_button]), shown])

# %% [markdown]
# `typed.value` is what the box holds, in Python; the browser keeps its copy in sync,
# both ways. A click in the browser reaches the kernel as a message, and ipywidgets calls
# `echo` with the button.
#
# **Predict:** a cell sets `typed.value = "hi"` and calls `echo_button.click()`, with no
# browser involved. What does `shown.value` hold right after?

# %%
typed.value = "hi"
echo_button.click()
print(repr(shown.value))

# %% [markdown]
# `click()` calls the same handlers a real click does, at once, in Python, and the
# browser shows the new label. That is how this notebook drives its widgets when nobody
# is at the keyboard, and how the checks below drive yours.
#
# ## Messages in: each `said` adds a line
#
# ada's client is a plain `socketio.AsyncClient`, as in notebook 02 (`handle_sigint=False`
# always, no reconnection for now). `auth["rooms"]` puts her in the lobby as she connects.
# Her `said` handler never prints (notebook 02): it adds a `widgets.Label` to a box, and
# the browser draws it.

# %%
messages = widgets.VBox()  # one Label per message, newest last
ada = socketio.AsyncClient(handle_sigint=False, reconnection=False)
await running.track("ada", ada.shutdown)  # a second "Run all" stops her first


@ada.on("said", namespace="/chat")
def show_said(message):
    line = widgets.Label(f"{message['name']}: {message['text']}")
    messages.children = (*messages.children, line)


await ada.connect(server.url, namespaces=["/chat"], transports=["websocket"],
                  auth={"name": "ada", "rooms": ["lobby"]})
messages

# %% [markdown]
# The box is empty: nobody has said anything yet. bob speaks; his second message is
# markup.
#
# **Predict:** will ada's box show `is this bold?` in bold?

# %%
before = len(messages.children)
await bob.say("lobby", "hi ada, welcome")
await bob.say("lobby", "<b>is this bold?</b>")
await running.wait_for(lambda: len(messages.children) == before + 2, timeout=5)
print(*(line.value for line in messages.children[before:]), sep="\n")

# %% [markdown]
# Not bold: a `Label` shows its value as text (the browser sets it with `textContent`).
# A `widgets.HTML` would treat it as markup, and other people's text would become part
# of your page: `<img src=x onerror=...>` runs a script. Text from others is data.
# Two quirks of a Label: it keeps to one line (a long message ends in "…"), and JupyterLab
# typesets LaTeX in it, so `it costs $5 or $10` shows `5 or` as a formula.
#
# ## Messages out: a click hands the sending to the event loop
#
# Sending is `call("say", ...)`, which waits for the server's ack: a coroutine. A click
# handler is a plain function. This one empties the box once the server has the message,
# and leaves a refused one there to fix:

# %%
draft = widgets.Text(placeholder="message from ada")
send = widgets.Button(description="Send")


async def send_draft(clicked_button):
    ack = await ada.call("say", {"room": "lobby", "text": draft.value},
                         namespace="/chat", timeout=5)
    if ack["ok"]:
        draft.value = ""

# %% [markdown]
# **Predict:** what happens if you pass the `async def` to `on_click` as it is, and click?

# %%
careless = widgets.Button(description="Send")
careless.on_click(send_draft)
draft.value = "does this arrive?"
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    careless.click()
print(caught[0].category.__name__, caught[0].message)
print("the box still holds:", repr(draft.value))

# %% [markdown]
# Nothing is sent. Calling an `async def` only makes a coroutine; ipywidgets drops it,
# and Python warns that it never ran. The coroutine must run as a task on the event loop
# that ada's client lives on, the kernel's. `as_task(send_draft)` (from `chatkit.panel`,
# some fifteen lines) is a plain function that does that on each click: it starts
# `send_draft(button)` as a task on the loop of the cell that called `as_task`, keeps a
# reference to the task until it ends, and logs an exception nobody awaited. (Why not
# `asyncio.ensure_future` in the handler? ipykernel 7 may call a widget's handler on
# another thread, a kernel *subshell*, away from the cells' event loop.)

# %%
send.on_click(as_task(send_draft))
ada_panel = widgets.VBox([messages, widgets.HBox([draft, send])])
ada_panel

# %% [markdown]
# Type in the box and click Send. The server sends `said` to everyone in the room, ada
# included, so her own message shows once, from her `said` handler. A cell clicks too:

# %%
before = len(messages.children)
draft.value = "hello bob, from my own panel"
send.click()  # what your click does
await running.wait_for(lambda: len(messages.children) == before + 1 and not draft.value,
                       timeout=5)
print(messages.children[-1].value)
print("bob got:", bob.messages("lobby")[-1].text)

# %% [markdown]
# ## Exercise 1: your panel, as one function
#
# Put the last two sections into one `async def make_panel(url, name)`. It connects a new
# `socketio.AsyncClient(handle_sigint=False, reconnection=False)` to `url` as `name`,
# into the room `lobby` of `/chat` (register its handlers before connecting), tracks it
# with `await running.track(name, client.shutdown)`, and returns a `widgets.VBox` that
# holds, at any depth:
# - one `widgets.Text` to type in, and one `widgets.Button` with `description="Send"`:
#   a click says the Text's value in the lobby (with `call`, through `as_task`) and
#   empties the Text once the ack says ok, not before;
# - one `widgets.Label` per `said`, reading `name: text`, newest last (no other Labels).
#
# `await exercises.check_panel(make_panel)` starts a chat server of its own with a client
# `check-bob` in the lobby, calls `make_panel(url, "check-ada")`, types in your Text and
# clicks your Button, as you would, and says what is wrong, if anything. (chatkit's
# `ChatPanel` and `ChatClient` are refused: here you do the wiring.)
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `make_panel(url, name)` here, then run
# await exercises.check_panel(make_panel)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
async def make_panel(url, name):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    await running.track(name, client.shutdown)
    lines, draft = widgets.VBox(), widgets.Text(placeholder=f"message from {name}")
    send = widgets.Button(description="Send")

    @client.on("said", namespace="/chat")
    def show_said(message):
        line = widgets.Label(f"{message['name']}: {message['text']}")
        lines.children = (*lines.children, line)

    async def send_draft(clicked_button):
        ack = await client.call("say", {"room": "lobby", "text": draft.value},
                                namespace="/chat", timeout=5)
        if ack["ok"]:
            draft.value = ""

    send.on_click(as_task(send_draft))
    await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                         auth={"name": name, "rooms": ["lobby"]})
    return widgets.VBox([lines, widgets.HBox([draft, send])])


await exercises.check_panel(make_panel)

# %% [markdown]
# ## Exercise 2: who is here
#
# A chat window shows who is in the room. The server tells every member of a room
# `presence {"room", "members"}` whenever that changes: someone connects into it, joins,
# leaves or disconnects. `members` is the whole list, sorted, you included.
#
# Add a member list to `make_panel`: a `widgets.Select` (a list box; `rows=4` shows four
# names) in the VBox, whose `options` are the `members` of the lobby's latest `presence`.
# `await exercises.check_member_list(make_panel)` connects your panel where `check-bob`
# waits, then `check-carol` joins and leaves, and checks your list each time.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: add the member list to `make_panel`, then run
# await exercises.check_member_list(make_panel)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
async def make_panel(url, name):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    await running.track(name, client.shutdown)
    lines, draft = widgets.VBox(), widgets.Text(placeholder=f"message from {name}")
    send, here = widgets.Button(description="Send"), widgets.Select(options=[], rows=4)

    @client.on("said", namespace="/chat")
    def show_said(message):
        line = widgets.Label(f"{message['name']}: {message['text']}")
        lines.children = (*lines.children, line)

    @client.on("presence", namespace="/chat")
    def show_members(presence):
        if presence["room"] == "lobby":
            here.options = presence["members"]

    async def send_draft(clicked_button):
        ack = await client.call("say", {"room": "lobby", "text": draft.value},
                                namespace="/chat", timeout=5)
        if ack["ok"]:
            draft.value = ""

    send.on_click(as_task(send_draft))
    await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                         auth={"name": name, "rooms": ["lobby"]})
    return widgets.VBox([lines, widgets.HBox([draft, send]), here])


await exercises.check_member_list(make_panel)

# %% [markdown]
# ## The polished version: chatkit's ChatPanel
#
# `ChatPanel` is the window you just built, with what a class needs on top. Each piece
# is one you wrote, in this notebook or an earlier one:
#
# | you built | in ChatPanel |
# |---|---|
# | a click hands `say` to the loop (`as_task`); the Text empties after the ack | the input line (Enter or Send) empties only if you have not typed more meanwhile; a refusal shows in red, to you only |
# | `said` adds one Label | `said` sends one row to the browser on its own (your VBox sends its whole list of children again each time), and the panel keeps the last 500; rows wrap, and a `$` stays a dollar |
# | a `Select` from `presence` | the member list, and a `* bob joined` row |
# | losing nothing across a drop (notebook 03) | `ChatClient` reconnects and resumes, trying for as long as the notebook is open; the status line says `reconnecting in 8 s`, with a *Reconnect now* button |
# | rooms (notebook 04) | a room picker; other rooms count their unread messages |
#
# bob's client, from the first cell, gets chatkit's window; alice gets a new one:

# %%
bob_panel = ChatPanel(bob, room="lobby")  # the client bob used all along
alice = await ChatPanel.connect(server.url, "alice", room="lobby")
widgets.HBox([alice, bob_panel], layout=widgets.Layout(flex_flow="row wrap"))

# %% [markdown]
# alice's list starts with the lobby's history (the `join` ack carries it); bob's shows
# what his client received. Type in alice's line and press Enter, or in ada's box above
# and click Send: all three windows show it, as they speak the same protocol. Enter
# hands the draft to `alice.view.submit()`; a cell can do the same. (`flex_flow="row
# wrap"` puts bob's panel below alice's when the window is narrow.)

# %%
alice.view.draft = "hi bob, can you see this?"
alice.view.submit()  # exactly what Enter does
await running.wait_for(lambda: bob_panel.transcript()[-1].startswith("alice: hi"), timeout=5)
await bob_panel.say("loud and clear")
await running.wait_for(lambda: messages.children[-1].value == "bob: loud and clear"
                       and alice.transcript()[-1] == "bob: loud and clear", timeout=5)
print(*alice.transcript(), sep="\n")
print("ada's panel ends with:", messages.children[-1].value)

# %% [markdown]
# A refused message is shown to its sender only, in red, and stays in her input line;
# other people's markup is text, in ChatPanel too:

# %%
print("id:", await alice.say("x" * 2001))
print(alice.transcript()[-1])
await bob_panel.say('<img src=x onerror="alert(1)"> <b>not bold</b>')
await running.wait_for(lambda: "not bold" in alice.transcript()[-1], timeout=5)
print(alice.transcript()[-1])

# %% [markdown]
# (The browser test of this course types that very message into a real JupyterLab and
# checks that no script ran and no image was made.)
#
# ## A bot that answers
#
# A bot is a client whose event callback answers some messages: `said` in, `say` out.
# Its callback is a plain function, like a click handler, so it starts the answer as a
# task and keeps a reference to it, as `as_task` does.

# %%
members = {}  # room -> names, as the bot learns them from `presence` events
bot_tasks = set()


def answer(event):
    if event.type == "presence":
        members[event.data.room] = event.data.members
    elif event.type == "said" and event.data.text.strip() == "!who":
        reply = "here: " + ", ".join(members.get(event.data.room, []))
        task = asyncio.ensure_future(bot.say(event.data.room, reply))
        bot_tasks.add(task)
        task.add_done_callback(bot_tasks.discard)


bot = await ChatClient("bot", rooms=["lobby"], on_event=answer).connect(server.url)

# %%
await bob_panel.say("!who")
await running.wait_for(lambda: alice.transcript()[-1].startswith("bot:"), timeout=5)
print(*alice.transcript()[-3:], sep="\n")

# %% [markdown]
# ## Rooms in the panel
#
# The room picker lists the rooms you are in; another room is one Join away. Messages
# in a room you are not looking at are counted next to its name until you look.

# %%
await alice.join("math")
await bob_panel.say("anyone still in the lobby?")
await running.wait_for(lambda: alice.unread.get("lobby") == 1, timeout=5)
print("alice looks at:", alice.room)
print("room picker:", [label for label, _ in alice.room_picker.options])
alice.room_picker.value = "lobby"  # what picking it in the browser does
print("alice looks at:", alice.room, "| last row:", alice.transcript()[-1])

# %% [markdown]
# ## Joining a teacher's server
#
# In a workshop the teacher runs `python -m chatkit serve --host 0.0.0.0` (notebook 06)
# and writes its URL and join code on the board. Point a panel at it:
#
# ```python
# me = await ChatPanel.connect("http://192.168.1.20:5000", "your name", code="maple-otter-42")
# me
# ```
#
# Here a server in this kernel plays the teacher's, with a join code. With a wrong code
# the panel does not raise: it shows what the server said, as a chat app would.

# %%
teacher = ChatServer(join_code="maple-otter-42")
await teacher.start(name="teacher")
wrong = await ChatPanel.connect(teacher.url, "carol", code="maple-otter-24")
right = await ChatPanel.connect(teacher.url, "dave", code="maple-otter-42")
print("wrong code:", wrong.client.statuses[-1])
print("right code:", right.client.statuses[-1], "in", right.room)
widgets.HBox([wrong, right], layout=widgets.Layout(flex_flow="row wrap"))

# %% [markdown]
# ## Summary
#
# - A widget is a Python object mirrored in the browser: set `.value`, and a click (or
#   `.click()`) calls its handlers.
# - A chat window is events in, widget changes out: `said` adds a line, `presence`
#   replaces the member list, the connection status colours a status line.
# - Handlers change widgets and never print; a click that must await something hands
#   a coroutine to the kernel's loop (`as_task`); cells print after awaiting a condition.
# - Text from others is data: a `Label` (or `textContent`) shows it as text.
# - chatkit's `ChatPanel` is the same window with resume, rooms and refusals, and sends
#   one row per message to the browser.
# - A workshop needs a URL, a name and a join code.
#
# **Further reading.** [ipywidgets: widget events](https://ipywidgets.readthedocs.io/en/stable/examples/Widget%20Events.html),
# [ipywidgets: layout](https://ipywidgets.readthedocs.io/en/stable/examples/Widget%20Layout.html),
# [anywidget](https://anywidget.dev) (how ChatPanel's message list talks to the
# browser), `chatkit/panel.py` and `chatkit/panel_view.js` (the whole panel).
#
# **Used here:** `ipywidgets` (`Text`, `Button.on_click`, `Button.click`, `Label`,
# `Select`, `VBox`, `HBox`, `Layout`), `socketio.AsyncClient` (`on`, `connect` with
# `auth`, `call`, `shutdown`), `chatkit.panel.as_task`, `chatkit.panel.ChatPanel`
# (`connect`, `say`, `join`, `transcript`, `view.draft`, `view.submit`, `unread`,
# `room_picker`), `chatkit.client.ChatClient` (`connect`, `say`, `messages`,
# `on_event`, `statuses`), `chatkit.server.ChatServer`, `chatkit.running` (`track`,
# `wait_for`, `stop_all`), `chatkit.exercises.check_panel`, `check_member_list`.
#
# ## When you are done: stop the chat
#
# "Run all" leaves the chat running, so that the panels above are live: type in ada's
# box, or in alice's or bob's line. Nothing here stops them by itself. Click the button
# below when you are done, or shut the kernel down (Kernel > Shut Down Kernel): a process
# that ends closes its connections. Running the notebook again stops them first.

# %%
stop_button = widgets.Button(description="Stop the chat", button_style="warning")
stop_report = widgets.Label()


async def stop_everything(clicked_button):
    stop_report.value = "stopped: " + ", ".join(await running.stop_all())


stop_button.on_click(as_task(stop_everything))
widgets.HBox([stop_button, stop_report])

# %% [markdown]
# **Next:** notebook 06, the classroom: the teacher's server as a process, join codes,
# moderation (kick, mute, announce), and several servers sharing one Redis.
