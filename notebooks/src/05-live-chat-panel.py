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
# # 05 · Chat live inside the notebook with a ChatPanel
#
# **What you will build.** A chat window made of ipywidgets, running in this notebook:
# two of them side by side (alice and bob) talking through a chat server in this
# kernel, a bot that answers, and the same panel pointed at a teacher's server.
#
# **What you will learn.**
# - how a user interface is driven by events: each socket.io event (`said`, `presence`,
#   `notice`) and each connection status becomes a change to a widget;
# - why the panel never prints, and never rebuilds its whole message list;
# - why text from other people is data, never markup;
# - how to join a workshop: a URL, your name and a join code.
#
# **What you need.** Notebooks 02-04 (emit/on and acks, disconnects and resume, rooms).
# This notebook runs on its own, but each piece of the panel is one you built there.
# Open it in JupyterLab to use the panels with your mouse and keyboard; the cells also
# drive them from code, so everything below works when the notebook runs unattended.

# %%
import asyncio

import ipywidgets as widgets

from chatkit import exercises, running
from chatkit.client import ChatClient
from chatkit.panel import ChatPanel
from chatkit.server import ChatServer

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## A server, and two panels side by side
#
# The chat server of notebook 02 runs in this kernel. Each panel makes its own
# `ChatClient` (notebook 03), connects, and joins the room `lobby`.

# %%
server = ChatServer()
await server.start(name="chat")
alice = await ChatPanel.connect(server.url, "alice", room="lobby")
bob = await ChatPanel.connect(server.url, "bob", room="lobby")
widgets.HBox([alice, bob])

# %% [markdown]
# Type in alice's input line and press Enter (or click Send): the message appears in
# both panels, in blue on alice's side because it is her own. The status line says
# `connected`; the member list says who is in the room.
#
# Pressing Enter hands the draft to `alice.view.submit()`. A cell can do the same,
# which is how this notebook talks when nobody is at the keyboard:

# %%
alice.view.draft = "hi bob, can you see this?"
alice.view.submit()  # exactly what Enter does
await running.wait_for(lambda: len(bob.transcript()) == 1, timeout=5)
await bob.say("loud and clear")
await running.wait_for(lambda: len(alice.transcript()) == 3, timeout=5)
print("\n".join(alice.transcript()))
print("alice's input line after the ack:", repr(alice.view.draft))

# %% [markdown]
# Alice saw bob arrive (`* bob joined`: a `presence` event turned into a row), her own
# message, and bob's answer. Her input line was cleared only once the server had
# acknowledged the message, so a message that is refused stays there to be fixed:

# %%
refused = await alice.say("x" * 2001)
print("id:", refused)
print(alice.transcript()[-1])
print("bob saw it:", any("xxxx" in line for line in bob.transcript()))

# %% [markdown]
# The refusal is shown to alice only, as a row in red: it is not a chat message.

# %% [markdown]
# ## How the panel is built from the pieces you know
#
# | what happens | socket.io (notebooks 02-04) | what the panel changes |
# |---|---|---|
# | you press Enter | `say {"room", "text", "client_id"}` with an ack | clears the input after the ack; shows a refusal in red |
# | someone says something | `said` event | appends **one** row to the message list |
# | someone joins or leaves | `presence {"room", "members"}` | a `* bob joined` row and the member list |
# | the teacher announces | `notice {"text"}` | a grey row |
# | the connection drops | `disconnect`, then reconnection (notebook 03) | the status line: `reconnecting (attempt 1 of 5)`, then `connected` |
# | the server says no | `connect_error` with a reason | the status line: `refused (...)` and the reason |
# | you pick a room | `join` ack with history and members | the list shows that room; others count unread messages |
#
# The client calls the panel back (`client.watch(on_status=..., on_event=...)`); those
# callbacks only change widgets. Three rules make it a real chat window:
#
# - **Never print from a callback.** Output from a background task lands in whatever
#   cell runs at that moment, or nowhere (notebook 02). The panel writes to widgets;
#   cells print, after waiting for a condition.
# - **Append, don't re-render.** A new message travels to the browser on its own
#   (a custom widget message), so the 5,000th costs what the 10th did. The panel keeps
#   the last 500 per room (`max_messages`); the server keeps the history, and a join
#   sends the last 100.
# - **Other people's text is data.** The browser side sets it with `textContent`, never
#   as HTML, so a message like `<img src=x onerror=alert(1)>` shows as those characters:

# %%
await bob.say('<img src=x onerror="alert(1)"> <b>not bold</b>')
await running.wait_for(lambda: "not bold" in alice.transcript()[-1], timeout=5)
print(alice.transcript()[-1])

# %% [markdown]
# (The browser test of this course types that very message into a real JupyterLab and
# checks that no script ran and no image was made.)

# %% [markdown]
# ## A bot that answers
#
# A bot is a client whose event callback answers some messages. It must not print, and
# its answer is a coroutine, so the callback starts a task and keeps a reference to it
# (an unreferenced task can be garbage-collected mid-flight).

# %%
members = {}  # room -> names, as the bot learns them from `presence` events
bot_tasks = set()


def answer(event):
    if event.type == "presence":
        members[event.data.room] = event.data.members
    elif event.type == "said" and event.data.text.strip() == "!who":
        room = event.data.room
        reply = "here: " + ", ".join(members.get(room, []))
        task = asyncio.ensure_future(bot.say(room, reply))
        bot_tasks.add(task)
        task.add_done_callback(bot_tasks.discard)


bot = await ChatClient("bot", rooms=["lobby"], on_event=answer).connect(server.url)

# %%
await bob.say("!who")
await running.wait_for(lambda: alice.transcript()[-1].startswith("bot:"), timeout=5)
print("\n".join(alice.transcript()[-3:]))

# %% [markdown]
# ## Rooms in the panel
#
# The room picker lists the rooms you are in; another room is one Join away. Messages
# in a room you are not looking at are counted as unread next to its name.

# %%
await alice.join("math")
await bob.say("anyone still in the lobby?")
await running.wait_for(lambda: alice.unread.get("lobby") == 1, timeout=5)
print("alice looks at:", alice.room)
print("room picker:", [label for label, _ in alice.room_picker.options])

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
widgets.HBox([wrong, right])

# %% [markdown]
# ## Summary
#
# - A chat window is events in, widget changes out: `said` appends a row, `presence`
#   updates the members, the connection status colours the status line.
# - Callbacks change widgets and never print; cells print after awaiting a condition.
# - One message, one update: the panel appends instead of re-rendering, and keeps a
#   bounded list.
# - Text from others is data, shown with `textContent`.
# - A workshop needs a URL, a name and a join code.
#
# **Further reading.** [ipywidgets: widget events](https://ipywidgets.readthedocs.io/en/stable/examples/Widget%20Events.html),
# [anywidget](https://anywidget.dev) (how the message list talks to the browser),
# `chatkit/panel.py` and `chatkit/panel_view.js` (the whole panel, about 400 lines).
#
# **Used here:** `chatkit.panel.ChatPanel` (`connect`, `say`, `join`, `transcript`,
# `view.draft`, `view.submit`, `members`, `unread`, `room_picker`),
# `chatkit.client.ChatClient` (`connect`, `say`, `on_event`, `statuses`),
# `chatkit.server.ChatServer` (`start`), `chatkit.running` (`wait_for`, `stop_all`),
# `ipywidgets.HBox`, `chatkit.exercises.check_me_command`.

# %% [markdown]
# ## Exercise: a `/me` command
#
# Chat programs turn `/me waves` into `* alice waves`. Write `say_with_me(panel, text)`:
# if `text` starts with `/me ` it says `* <name> <rest>` in the panel's room, otherwise
# it says `text` unchanged. Use `await panel.say(...)` and `panel.client.name`. Then
# check it: `await exercises.check_me_command(say_with_me)` connects real panels to a
# server of its own.
#
# Try it yourself first; here is one solution.

# %%
async def say_with_me(panel, text):
    if text.startswith("/me "):
        text = f"* {panel.client.name} {text[4:]}"
    return await panel.say(text)


await exercises.check_me_command(say_with_me)

# %% [markdown]
# ## Clean up
#
# Stop the servers and the clients this notebook started (each panel's client and the
# bot are tracked by `chatkit.running`, like the servers).

# %%
print("stopped:", await running.stop_all())
