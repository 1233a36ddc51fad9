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
# # 03 · When connections end: close, leave, come back, lose nothing
#
# **What you will build.** A socket.io server that writes down every connection that
# ends and why, a relay that breaks connections on purpose, and then the course's chat
# server restarted under a client's feet, and a conversation that goes on while one
# listener's connection drops, with every message counted.
#
# **What you will learn.**
# - how a server closes every connection at once, and the two ways to do it: with a
#   goodbye (clients stay away) or without (clients come back);
# - the *reasons* a disconnect handler gets, on the client and on the server, for each
#   way a connection can end, and the names JavaScript gives them;
# - how a client asks the server to let it go, and why that beats hanging up;
# - automatic reconnection with back-off, after a server restart;
# - *resume*: coming back after a drop with every message exactly once, in order,
#   and what a client without it loses.
#
# **What you need.** Notebook 02 (`emit`, `on`, acks, `chatkit.sio.serve`). Everything
# runs on this machine, on 127.0.0.1.

# %%
import asyncio
import tempfile
from pathlib import Path

import socketio

from chatkit import exercises, running
from chatkit.client import ChatClient, Status
from chatkit.protocol import Message
from chatkit.server import ChatServer
from chatkit.faults import relay
from chatkit.sio import check_event_name, close_client, serve
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## A server that writes down every ending
#
# Connections end all the time: a tab closes, a laptop sleeps, a train enters a tunnel,
# a server restarts. socket.io tells both sides, with a **reason**: python-socketio calls
# a `disconnect` handler with it, on the server (`disconnect(sid, reason)`) and on the
# client (`disconnect(reason)`).
#
# `new_server()` makes a socket.io server that remembers each client's name and writes
# down `(name, reason)` for every disconnect. Its `ping_interval` and `ping_timeout` are
# short (1 s each, the defaults are 25 and 20): they decide how soon a silent connection
# counts as lost, and we will make one go silent.

# %%
names = {}        # sid -> name
server_saw = []   # (name, reason): every disconnect the server handled, in order


def new_server():
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)

    @sio.event
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    @sio.event
    async def disconnect(sid, reason):
        server_saw.append((names[sid], reason))

    return sio

# %% [markdown]
# Each client writes down the reasons its own `disconnect` handler gets, and any
# `goodbye` event (we will need it later). As in notebook 02: `handle_sigint=False`
# always, and `reconnection=False` for now. `close_client` (from `chatkit.sio`) stops a
# client like `client.shutdown()` and also closes what python-engineio can leave open
# after a connection that went silent (aiohttp would complain about it on stderr later).

# %%
client_saw = {}   # name -> reasons its disconnect handler got
goodbyes = {}     # name -> "goodbye" events it got


async def new_client(name, url):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    client_saw[name], goodbyes[name] = [], []
    client.on("disconnect", client_saw[name].append)
    client.on("goodbye", goodbyes[name].append)
    await running.track(f"nb03-{name}", lambda: close_client(client))
    await client.connect(url, auth={"name": name}, transports=["websocket"])
    return client

# %% [markdown]
# ## The server closes everyone
#
# A Node.js socket.io server has `io.close()`: every socket closes (the server's reason:
# `"server shutting down"`), then the connections underneath close. Three clients
# connect to a fresh server; python-socketio has no `close()`, so let us try the
# method whose name sounds right, `shutdown()`:

# %%
sio = new_server()
server = await serve(sio, name="nb03-close")
trio = {name: await new_client(name, server.url) for name in ("alice", "bob", "carol")}
await sio.shutdown()
await asyncio.sleep(1)  # a whole ping interval later:
print("after shutdown():", {name: client.connected for name, client in trio.items()})

# %% [markdown]
# Nobody was disconnected. `AsyncServer.shutdown()` only stops engine.io's background
# task (the one that notices clients that stopped answering pings); connections stay
# open, events still flow. To close every connection, disconnect each client: the server
# knows them all (`get_participants` lists the clients of a namespace, here `/`).

# %%
for sid, _ in list(sio.manager.get_participants("/", None)):
    await sio.disconnect(sid)

await running.wait_for(lambda: all(client_saw[name] for name in trio), timeout=5)
print("clients saw:", client_saw)
print("server saw: ", server_saw)
await server.stop()

# %% [markdown]
# Every client got socket.io's **DISCONNECT** packet, a goodbye: the reason on both
# sides is `"server disconnect"`, and a client that reconnects on its own (JavaScript's
# does, by default) does **not** reconnect after it: the server asked it to go.
# (`server.stop()` from `chatkit.sio.serve` does this loop for you before the web
# server stops.)
#
# `io.close()` in Node.js does not say goodbye: it closes the connections underneath,
# so the clients see a lost connection (`"transport close"`) and **try to come back**.
# That is what you want when the server restarts, and what the course's chat server
# does when it stops (later in this notebook). Side by side:
#
# | to end every connection | Node.js server | python-socketio | clients see |
# |---|---|---|---|
# | with a goodbye: stay away | `io.disconnectSockets(true)` | `await sio.disconnect(sid)` for each sid | `io server disconnect` (JS), `server disconnect` (Python); no reconnection |
# | without: come back later | `io.close()` | stop the web server (`ChatServer.stop()`) | `transport close` (JS), `transport error` (Python); they reconnect |
# | neither | | `await sio.shutdown()` | nothing: it stops a background task only |

# %% [markdown]
# ## Why did it end? The reasons, on both sides
#
# To break connections on purpose we put a **relay** between a client and the server
# (`chatkit.faults.relay`): a small TCP forwarder in this kernel. The client connects to
# `link.url` instead of `server.url`, and the relay can `cut()` the connection (both
# ends see it close at once, as when a server process dies or a router resets it), or
# `silence()` it: nothing passes any more and nobody is told, like a pulled cable or a
# Wi-Fi network that vanished. Then only missing pings give it away.
#
# `ending(end)` connects a client named after the function `end`, ends its connection
# with it, and returns what each side's `disconnect` handler was told.

# %%
sio = new_server()
server = await serve(sio, name="nb03")


async def ending(end):
    name = end.__name__
    link = await relay(server.url, name="nb03-link")
    client = await new_client(name, link.url)
    await end(client, link)
    await running.wait_for(lambda: client_saw[name] and name in dict(server_saw), timeout=10)
    await link.stop()
    return client_saw[name][0], dict(server_saw)[name]

# %% [markdown]
# Four ways to end:

# %%
async def client_leaves(client, link):
    await client.disconnect()


async def server_ends_it(client, link):
    await sio.disconnect(client.get_sid())


async def line_is_cut(client, link):
    link.cut()


async def line_goes_silent(client, link):
    link.silence()

# %% [markdown]
# Each one runs for real; the silent one takes about two seconds, the time the two
# sides need to give up on each other (`ping_interval` + `ping_timeout`).

# %%
observed = {}
for end in [client_leaves, server_ends_it, line_is_cut, line_goes_silent]:
    observed[end.__name__] = await ending(end)

# %% [markdown]
# Next to them, the names the JavaScript libraries use for the same endings (from the
# socket.io documentation, not from this run):

# %%
javascript = {  # what happened: (socket.io-client in a browser, socket.io on Node.js)
    "client_leaves": ("io client disconnect", "client namespace disconnect"),
    "server_ends_it": ("io server disconnect", "server namespace disconnect"),
    "line_is_cut": ("transport close", "transport close"),
    "line_goes_silent": ("ping timeout", "ping timeout"),
}
print(f"{'what happened':17} | {'Python client':17} | {'Python server':17} | "
      f"{'JS client':20} | JS server")
for case, (client_reason, server_reason) in observed.items():
    js_client, js_server = javascript[case]
    print(f"{case:17} | {client_reason:17} | {server_reason:17} | {js_client:20} | {js_server}")

# %% [markdown]
# What the table says:
# - **The server cannot tell a client that left from one that was cut off.** Both read
#   `"transport close"`: python-socketio's client closes its WebSocket before the
#   DISCONNECT packet it queued has gone out (python-engineio 4.15), so the server never
#   hears that it was on purpose. The JavaScript client sends it, and a Node server then
#   says `"client namespace disconnect"`. Over HTTP long-polling the packet does arrive,
#   and the Python server says `"client disconnect"`.
# - **The Python client has three reasons only**: `"client disconnect"`,
#   `"server disconnect"`, and `"transport error"` for everything that went wrong, a
#   cut line and a silent one alike. The browser tells `"transport close"`,
#   `"transport error"` and `"ping timeout"` apart.
# - **Only the heartbeat finds a silent line.** The server pings every `ping_interval`;
#   a client that does not answer within `ping_timeout` is dropped: `"ping timeout"`.
#   The client, for its part, gives up when nothing at all arrived for
#   `ping_interval + ping_timeout`. With the defaults (25 s + 20 s) a vanished client
#   stays "connected" for up to 45 s.
# - Explicit endings (`client disconnect`, `server disconnect`) are final: socket.io
#   clients reconnect only after the others.

# %% [markdown]
# ## A client asks to leave
#
# So a client that wants the server to *know* it left on purpose had better ask. It
# emits an event of its own; the server says goodbye and disconnects it:
#
# ```js
# // the same in JavaScript: browser and Node.js server
# socket.emit("bye");
# io.on("connection", (socket) => {
#   socket.on("bye", () => { socket.emit("goodbye", "goodbye!"); socket.disconnect(true); });
# });
# ```
#
# Why `bye` and not `close`? `close` is not a reserved socket.io name: the reserved ones
# are `connect`, `connect_error`, `disconnect`, `disconnecting`, `newListener` and
# `removeListener` (and `message` is what `send()` emits). A `close` event would work.
# But `close` is already the name of an event one layer down, where it means something
# else: the browser's WebSocket `onclose` (notebook 01), engine.io's socket, and the
# JavaScript client's Manager (`socket.io.on("close", ...)`, the connection closed).
# A reader of `socket.on("close", ...)` cannot tell which one you meant; `bye` says it.
# The guard from notebook 02 agrees (its refusal of `disconnect` is shown on purpose):

# %%
for event in ["close", "bye", "disconnect"]:
    try:
        print(f"{check_event_name(event)!r} is free to use")
    except ValueError as error:
        print("refused:", error)

# %% [markdown]
# The handler sends the goodbye **first**: one connection delivers in order, so the
# goodbye arrives before the DISCONNECT packet. After `disconnect(sid)`, nothing sent to
# that client reaches it.

# %%
@sio.on("bye")
async def bye(sid):
    await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
    await sio.disconnect(sid)


dave = await new_client("dave", server.url)
await dave.emit("bye")
await running.wait_for(lambda: client_saw["dave"], timeout=5)
print("dave got:  ", goodbyes["dave"], "| connected:", dave.connected)
print("dave saw:  ", client_saw["dave"])
print("server saw:", server_saw[-1])

# %% [markdown]
# Both sides now agree on what happened: `"server disconnect"`, a deliberate ending, so
# no client library will try to reconnect. And the server did its part: its `bye`
# handler is the place to clean up (leave rooms, tell the others, save state). `bye`
# also arrived after every event dave sent before it, since one connection keeps its
# order; `await dave.disconnect()`, on the other hand, returns before the server has
# even noticed.

# %% [markdown]
# ## The server restarts: reconnection with back-off
#
# Now the course's chat server, `chatkit.server.ChatServer`, and its client,
# `chatkit.client.ChatClient`. They speak the chat protocol of this course
# (`docs/protocol.md`): a client connects to the namespace `/chat` with its name,
# `join`s rooms, `say`s things, and everyone in the room receives each message as a
# `said` event with an **id** that grows with every message.
#
# `ChatServer(db=...)` keeps messages in a SQLite file, so that they, and their ids,
# survive a restart. ada connects and says something:

# %%
chat_dir = tempfile.TemporaryDirectory()  # removed again by running.stop_all()
await running.track("nb03-chat-dir", lambda: asyncio.to_thread(chat_dir.cleanup))
db = Path(chat_dir.name) / "chat.db"
chat = ChatServer(db=db, ping_interval=1, ping_timeout=1)
first = await chat.start(name="nb03-chat")
ada = await ChatClient("ada", rooms=["lobby"], reconnect_delay=0.25).connect(chat.url)
print("ada is", ada.status.value, "| her message got id", await ada.say("lobby", "hi all"))

# %% [markdown]
# The server stops. `ChatServer.stop()` closes every WebSocket with code 1001 ("going
# away"), no socket.io goodbye: the `io.close()` way, so clients come back. ada's client
# waits 0.25 s before it tries again (less a random part of it, so that a classroom
# does not reconnect all at once), then twice as long after each failure, up to 5
# attempts. We start a new server **on the same port** while she waits for her third:

# %%
await chat.stop()
await running.wait_for(lambda: ada.detail == "attempt 3 of 5", timeout=10)
chat = ChatServer(db=db, ping_interval=1, ping_timeout=1)
await chat.start(name="nb03-chat", port=first.port)
await running.wait_for(lambda: ada.connected, timeout=10)
print(*ada.statuses, sep="\n")
print("and her next message got id", await ada.say("lobby", "back again"))

# %% [markdown]
# Her statuses went connected → reconnecting (attempt 1, 2, 3) → connected, on their
# own. The ids went on from where they were, because the messages are in the file.
# (Without `db`, the new server would start again at id 1, and ada's client, which
# already saw id 1, would take the next messages for ones it had: a client that resumes
# by id needs ids that never go back.)
#
# In JavaScript this is on by default, with the same idea and other numbers:
#
# ```js
# const socket = io(url, { reconnectionDelay: 1000, reconnectionDelayMax: 5000,
#                          randomizationFactor: 0.5, reconnectionAttempts: Infinity });
# socket.io.on("reconnect_attempt", (attempt) => console.log("attempt", attempt));
# socket.io.on("reconnect", () => console.log("back"));
# ```
#
# python-socketio's own `AsyncClient(reconnection=True)` does it too
# (`reconnection_delay`, `reconnection_delay_max`, `reconnection_attempts`,
# `randomization_factor`). Coming back is the easy half, though. What about what was
# said while you were away?

# %% [markdown]
# ## A drop in the middle of a conversation
#
# bob joins the lobby and talks. Two listen:
# - **ada**, a `ChatClient`: when it reconnects it sends, in `auth`, its `rooms`, the
#   last message id it saw (`offset`) and its `session`; the server replays every
#   `said` of those rooms after `offset`, in order, before anything new. It also sends
#   again, with the same `client_id`, any message of hers the server had not
#   acknowledged, and the server keeps each `client_id` once. That is **resume**.
# - **cy**, a plain python-socketio client with its own automatic reconnection, that
#   asks to be put back in the lobby (`rooms`) but sends no `offset`: no resume. She
#   connects through a relay, so that we can cut her line, and waits exactly one second
#   before reconnecting (`randomization_factor=0`), so that this notebook counts the
#   same on every run.

# %%
bob = await ChatClient("bob", rooms=["lobby"]).connect(chat.url)
cy_link = await relay(chat.url, name="nb03-cy-link")
cy_got = []  # every `said` event cy received
cy = socketio.AsyncClient(handle_sigint=False, reconnection_delay=1, randomization_factor=0)
cy.on("said", lambda data: cy_got.append(Message.from_dict(data)), namespace="/chat")
await running.track("nb03-cy", lambda: close_client(cy))
await cy.connect(cy_link.url, namespaces=["/chat"], transports=["websocket"],
                 auth={"name": "cy", "rooms": ["lobby"]})
print("ada:", ada.status.value, "| bob:", bob.status.value, "| cy connected:", cy.connected)

# %% [markdown]
# bob says ten things, numbered, and each arrives at both listeners:

# %%
sent = []  # what bob said, in order


async def bob_says(first, last):
    for number in range(first, last + 1):
        sent.append(f"bob #{number}")
        await bob.say("lobby", sent[-1])


def from_bob(messages):
    return [message.text for message in messages if message.name == "bob"]

# %%
await bob_says(1, 10)
await running.wait_for(lambda: from_bob(ada.messages("lobby"))[-1:] == ["bob #10"], timeout=5)
await running.wait_for(lambda: from_bob(cy_got)[-1:] == ["bob #10"], timeout=5)
print("ada has", len(from_bob(ada.messages("lobby"))), "| cy has", len(from_bob(cy_got)))

# %% [markdown]
# Now both lines break: ada's client drops its WebSocket (`drop_connection()`, what a
# network failure does to it), and cy's relay cuts hers. While they are away, bob goes
# on talking, and ada, whose client is reconnecting, asks a question.

# %%
await ada.drop_connection()
cy_link.cut()
await running.wait_for(lambda: ada.status is Status.RECONNECTING and not cy.connected,
                       timeout=5)
question = asyncio.ensure_future(ada.say("lobby", "did I miss anything?"))
await bob_says(11, 20)
await running.wait_for(lambda: ada.connected and cy.connected, timeout=10)
await running.wait_for(question, timeout=10)  # answered once she is back
await bob_says(21, 30)
print("ada:", *ada.statuses[-2:], "| cy connected:", cy.connected)

# %% [markdown]
# Count. One connection keeps its order, so once `bob #30` has arrived, everything
# that will ever arrive has. For each listener: how many of bob's 30 messages it got,
# how many it lost, how many it got twice, and whether they came in the order bob said
# them.

# %%
def count(who, got):
    lost = [text for text in sent if text not in got]
    print(f"{who}: got {len(got)} of {len(sent)}, lost {len(lost)}, "
          f"duplicated {len(got) - len(set(got))}, "
          f"in order: {got == [text for text in sent if text in got]}")
    if lost:
        print(f"    lost: {lost[0]} to {lost[-1]}")


await running.wait_for(lambda: "bob #30" in from_bob(ada.messages("lobby")), timeout=5)
await running.wait_for(lambda: "bob #30" in from_bob(cy_got), timeout=5)
count("ada", from_bob(ada.messages("lobby")))
count("cy ", from_bob(cy_got))

# %% [markdown]
# ada lost nothing and got nothing twice: the ten messages said while she was away were
# replayed when she came back, in order, before the new ones. cy got everything after
# her reconnection, and nothing of what was said in between: socket.io itself does not
# keep messages for a client that is away. And ada's question, said while she was
# offline, reached bob once:

# %%
asked = [m.text for m in bob.messages("lobby")].count("did I miss anything?")
print("bob received ada's question", asked, "time(s)")

# %% [markdown]
# How would cy fix it? She would need what ada's client does: remember the last id,
# send it on reconnect, and drop an id she has seen already (a replay can overlap what
# arrived live). In JavaScript, socket.io 4.6+ can do part of it for short outages
# itself: the server option `connectionStateRecovery` keeps a client's rooms and missed
# packets for a while (`socket.recovered` says whether it worked). With the default
# adapter that state lives in the server's memory, and a restart loses it; our protocol
# keeps ids and messages in the store instead.

# %% [markdown]
# ## Summary
#
# - To close every connection, python-socketio has no `close()`, and `shutdown()`
#   disconnects nobody. `await sio.disconnect(sid)` for each client says goodbye:
#   `"server disconnect"` on both sides, and no client comes back. Stopping the web
#   server without a goodbye (`ChatServer.stop()`, like Node's `io.close()`) lets
#   clients reconnect.
# - A disconnect handler gets a reason. Python client: `client disconnect`,
#   `server disconnect`, `transport error`. Python server: `client disconnect` (polling
#   only), `server disconnect`, `transport close`, `transport error`, `ping timeout`.
#   JavaScript has its own names (`io server disconnect`, `io client disconnect`,
#   `ping timeout`, `transport close`, `transport error`).
# - A connection that goes silent is found only by the heartbeat: after
#   `ping_interval + ping_timeout` at most. Keep them short in tests, sane in
#   production.
# - A client that wants the server to know it is leaving asks (`bye`); the server says
#   goodbye first, then `disconnect(sid)`. Pick event names that say what they mean:
#   `close` is free in socket.io, but taken one layer down.
# - Reconnection with back-off brings a client back; only **resume** (rooms, `offset`,
#   replay in order, duplicates dropped by id, messages re-sent with a `client_id`)
#   brings back what was said meanwhile. A plain client loses it, silently.
#
# **Further reading**
# - socket.io: [client socket and its disconnect reasons](https://socket.io/docs/v4/client-socket-instance/#disconnect),
#   [server socket and its reasons](https://socket.io/docs/v4/server-socket-instance/#disconnect),
#   [how reconnection works and its options](https://socket.io/docs/v4/client-options/#reconnection),
#   [offline behaviour and buffered events](https://socket.io/docs/v4/client-offline-behavior/),
#   [connection state recovery](https://socket.io/docs/v4/connection-state-recovery),
#   [delivery guarantees](https://socket.io/docs/v4/delivery-guarantees) (at most once,
#   unless you build more, as our protocol does)
# - python-socketio: [client guide, disconnecting and reconnecting](https://python-socketio.readthedocs.io/en/stable/client.html),
#   [server guide, disconnect handler reasons](https://python-socketio.readthedocs.io/en/stable/server.html)
# - The chat protocol, `docs/protocol.md`: resuming after a lost connection
# - Used here: `socketio.AsyncServer` (`disconnect`, `shutdown`,
#   `manager.get_participants`), `socketio.AsyncClient` (`disconnect`, reconnection
#   options); `chatkit.sio.serve`, `close_client`, `check_event_name`;
#   `chatkit.faults.relay` (`cut`, `silence`); `chatkit.tasks.leftover_tasks`;
#   `chatkit.server.ChatServer` (`db`, `start(port=...)`, `stop`);
#   `chatkit.client.ChatClient` (`statuses`, `detail`, `say`, `messages`,
#   `drop_connection`); `chatkit.running.track`, `wait_for`, `stop_all`;
#   `chatkit.exercises.check_bye_and_left`.
#
# **Next:** notebook 04, where a conversation splits into rooms and namespaces.

# %% [markdown]
# ## Exercise: leave politely, and tell the others
#
# Write a socket.io server `ex` (a new `socketio.AsyncServer(async_mode="aiohttp")`).
# Clients connect with `auth={"name": ...}`.
# 1. **`bye`** (no arguments): send that client a `goodbye` event whose data is
#    `"goodbye, <name>"`, then disconnect it from the server side.
# 2. **`left`**: whenever a client goes, after `bye` **or in any other way** (it calls
#    `disconnect()` itself, its connection breaks), every client still connected gets a
#    `left` event whose data is the name of the one who went.
#
# Don't serve it: `exercises.check_bye_and_left(ex)` serves it on a free port, connects
# three clients, makes one say `bye` and another hang up, and tells you what is wrong,
# if anything. (A hint: one handler runs however a client goes.)
#
# **Try it yourself first** (in a new cell, or replace the solution below with your own).
# Here is one solution, in two cells:

# %%
# SOLUTION (try it yourself first: replace this cell and the next with your own code)
ex = socketio.AsyncServer(async_mode="aiohttp")
ex_names = {}  # sid -> name


@ex.on("connect")
async def ex_connect(sid, environ, auth):
    ex_names[sid] = auth["name"]

# %%
# SOLUTION, continued
@ex.on("bye")
async def ex_bye(sid):
    await ex.emit("goodbye", f"goodbye, {ex_names[sid]}", to=sid)
    await ex.disconnect(sid)  # this runs ex_disconnect below, too


@ex.on("disconnect")
async def ex_disconnect(sid, reason):  # runs however the client went
    await ex.emit("left", ex_names.pop(sid), skip_sid=sid)

# %%
await exercises.check_bye_and_left(ex)

# %% [markdown]
# ## Clean up
#
# Stop every client, relay and server (newest first, so clients leave before the
# servers go), and check that python-socketio left no background task behind.

# %%
print("stopped:", await running.stop_all())
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
