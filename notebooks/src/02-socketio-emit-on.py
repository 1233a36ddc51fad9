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
# # 02 · Talk in events: socket.io `emit` and `on` with python-socketio
#
# **What you will build.** A socket.io server running inside this notebook, and a few
# Python clients that talk to it the way a browser page would: they send named events,
# get answers back, and receive messages meant for everyone, for everyone else, or only
# for them.
#
# **What you will learn.**
# - what socket.io adds on top of a WebSocket, and what it costs;
# - `emit` and `on` with your own event names, with several arguments, dicts and bytes;
# - acknowledgements both ways: a callback, or `await call(...)` that returns the answer,
#   and what a timeout looks like;
# - the event names socket.io keeps for itself, and what goes wrong if you use them;
# - a catch-all handler; broadcast to all, to all but the sender, or to one client;
# - the transports: long-polling, WebSocket, and the upgrade from one to the other;
# - how each line maps to the JavaScript `socket.io-client` a web page would use.
#
# **What you need.** Notebook 01 (a raw WebSocket, `chatkit.running`), and Python's
# `async`/`await`. Everything runs on this machine: the server listens on 127.0.0.1.

# %% [markdown]
# ## Why socket.io on top of WebSocket?
#
# A WebSocket (notebook 01) is a pipe: each side sends messages, and that is all. Every
# real-time app then reinvents the same things on top of it. socket.io is a protocol,
# with libraries in many languages (the official JavaScript ones, python-socketio here),
# that ships them:
#
# | you need | raw WebSocket | socket.io |
# |---|---|---|
# | several kinds of message | invent a `{"type": ...}` field | **named events**: `emit("chat", data)`, `on("chat", handler)` |
# | an answer to a message | invent request ids | **acknowledgements**: the handler's return value comes back |
# | send to a group | keep your own lists | **rooms** and broadcast (notebook 04) |
# | survive a dropped network | write a reconnect loop | **reconnection** with back-off (notebook 03) |
# | a proxy that blocks WebSocket | no connection | **HTTP long-polling** fallback, then upgrade |
# | binary data in a message | a separate binary frame | bytes anywhere in the arguments |
#
# The cost: socket.io is its own protocol on top of WebSocket (or HTTP). A socket.io
# client cannot talk to a plain WebSocket server, nor the other way round. Here is what
# an `emit` looks like on the wire; python-socketio's packet class can show us:

# %%
from socketio import packet

print(packet.Packet(packet.EVENT, data=["chat", {"text": "hi"}]).encode())
print(packet.Packet(packet.EVENT, data=["upper", "hello"], id=1).encode())
print(packet.Packet(packet.ACK, data=["HELLO"], id=1).encode())

# %% [markdown]
# `2` is socket.io's EVENT packet, then a JSON array: the event name and its arguments.
# `21[...]` is an event that asks for an answer (ack id 1); `31[...]` is that answer (an
# ACK for id 1). Under it, engine.io adds one more digit, `4` for "message", so the
# WebSocket frame really reads `42["chat",{"text":"hi"}]`. You will never write these by
# hand, but when you open your browser's network tab, this is what you will see.

# %% [markdown]
# ## A socket.io server in the kernel
#
# python-socketio needs a web server under it. We use aiohttp: `sio.attach(app)` makes
# the aiohttp application answer socket.io requests at `/socket.io/`, and
# `running.serve_aiohttp` serves it from the kernel's own event loop (as
# `serve_websockets` did in notebook 01).
# `stop_server` (from `chatkit.sio`) disconnects every client and ends python-socketio's
# background tasks just before the server stops (`before_stop`), while connections are
# still open to hear the goodbye. The short `ping_interval` and `ping_timeout`
# (in seconds; the defaults are 25 and 20) make a vanished client noticed quickly, and
# let a long-polling client (last section) leave quickly.

# %%
from urllib.parse import parse_qs

import socketio
from aiohttp import web

from chatkit import exercises, running
from chatkit.sio import check_event_name, stop_server
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # if this notebook ran before in this kernel, start clean

# %%
sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
app = web.Application()
sio.attach(app)
server = await running.serve_aiohttp(app, name="nb02",
                                     before_stop=lambda: stop_server(sio, grace=1))
print(server.url)

# %% [markdown]
# The server needs to know who is who. Its `connect` handler runs once per client; the
# client's `auth` dict arrives there. We keep names by session id (`sid`, a random id
# socket.io gives each connection) and write down what happens in `log`. `@sio.event`
# registers a handler under the function's own name; `@sio.on("name")` names it.
#
# Handlers never `print`: they run in the background, and their output would land in the
# wrong cell or nowhere. They append to lists; a later cell waits, then prints.

# %%
names = {}           # sid -> name
log = []             # what the server saw, in order
first_request = {}   # sid -> transport of the client's very first HTTP request


@sio.event
async def connect(sid, environ, auth):
    names[sid] = (auth or {}).get("name", "anonymous")
    first_request[sid] = parse_qs(environ["QUERY_STRING"])["transport"][0]
    log.append(f"connect {names[sid]}")


@sio.event
async def disconnect(sid, reason):
    log.append(f"disconnect {names.get(sid)}: reason={reason!r}")

# %% [markdown]
# ## Connect a client
#
# We pass `handle_sigint=False` always: by default the client installs its own Ctrl-C
# (SIGINT) handler, which turns "Interrupt kernel" into stopping the kernel's event loop,
# and the kernel dies instead of the cell. `reconnection=False` keeps this notebook
# simple; notebook 03 is about reconnecting. `running.track` remembers how to stop the
# client, so running this cell again first stops the old one.

# %%
inboxes = {}  # name -> the "news" events that client received


def new_client(name):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    inboxes[name] = []
    client.on("news", lambda data: inboxes[name].append(data))
    return client


alice = new_client("alice")
await running.track("alice", alice.shutdown)
await alice.connect(server.url, auth={"name": "alice"}, transports=["websocket"])
print("connected:", alice.connected, "| transport:", alice.transport(), "| sid:", alice.get_sid())
print(log)

# %% [markdown]
# `await connect(...)` returns once the server has accepted the client, so the server's
# `connect` handler has already run. (`transports=["websocket"]` skips the long-polling
# start; the last section shows it.) The same in a web page, with `socket.io-client`:
#
# ```js
# import { io } from "socket.io-client";
# const socket = io("http://127.0.0.1:PORT", { auth: { name: "alice" }, transports: ["websocket"] });
# socket.on("connect", () => console.log("connected", socket.id));
# socket.on("news", (data) => inbox.push(data));
# ```
#
# In JavaScript `io(...)` returns at once and connects in the background; in Python
# `connect` is awaited.

# %% [markdown]
# ## emit and on with your own events
#
# `on(name, handler)` registers a handler; `emit(name, data)` sends an event. Both work in
# both directions. On the server a handler gets the sender's `sid` first.

# %%
@sio.on("chat")
async def chat(sid, message):
    log.append(f"chat from {names[sid]}: {message['text']}")


await alice.emit("chat", {"text": "hi, server"})
await sio.emit("news", "hello alice, from the server", to=alice.get_sid())

await running.wait_for(lambda: len(inboxes["alice"]) == 1, timeout=5)
await running.wait_for(lambda: log[-1].startswith("chat"), timeout=5)
print("server log:", log[-1])
print("alice got: ", inboxes["alice"])

# %% [markdown]
# ```js
# socket.emit("chat", { text: "hi, server" });          // browser -> server
# io.to(aliceId).emit("news", "hello alice, ...");      // Node server -> one client
# ```
#
# `emit` does not wait for the other side: it only sends. That is why the cell waits
# (with a timeout) for the results to show up before printing them.

# %% [markdown]
# ## Several arguments, lists, dicts and bytes
#
# An event can carry any number of arguments, each a string, number, bool, `None`, list
# or dict (anything JSON can say), or `bytes`. In Python **a tuple means several
# arguments**; a list is one argument. Bytes can sit anywhere, even inside a dict:
# socket.io sends them as binary attachments, not as text.

# %%
received = []


@sio.on("show")
async def show(sid, *args):
    received.append(args)


await alice.emit("show", (3, 4))                                       # two arguments
await alice.emit("show", [3, 4])                                       # one list
await alice.emit("show", {"name": "dot.png", "data": b"\x89PNG\r\n"})  # a dict with bytes
await alice.emit("show", b"\x00\xff")                                  # raw bytes
await running.wait_for(lambda: len(received) == 4, timeout=5)
for args in received:
    print(len(args), "argument(s):", args)

# %% [markdown]
# ```js
# socket.emit("show", 3, 4);                                  // two arguments
# socket.emit("show", [3, 4]);                                // one array
# socket.emit("show", { name: "dot.png", data: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 13, 10]) });
# socket.emit("show", new Uint8Array([0x00, 0xff]));          // an ArrayBuffer or typed array
# ```
#
# Bytes from JavaScript arrive in Python as `bytes`; Python `bytes` arrive in a browser as
# an `ArrayBuffer` (in Node as a `Buffer`). Other Python objects (a `set`, a `datetime`)
# are not JSON: convert them first, or `emit` raises `TypeError`.

# %% [markdown]
# ## Acknowledgements: an answer to an event
#
# Whatever a handler **returns** goes back to the sender as an acknowledgement ("ack").
# Returning a tuple sends several values. The sender either passes a `callback`, called
# when the answer arrives, or awaits `call(...)`, which returns the answer.

# %%
@sio.on("upper")
async def upper(sid, text):
    return text.upper()


@sio.on("divide")
async def divide(sid, a, b):
    return divmod(a, b)  # a tuple: two values in the ack


answers = []
await alice.emit("upper", "callback style", callback=lambda reply: answers.append(reply))
await running.wait_for(lambda: answers, timeout=5)
print("callback got:", answers[0])
print("call got:    ", await alice.call("upper", "await style", timeout=5))
print("17 / 5 ->    ", await alice.call("divide", (17, 5), timeout=5))

# %% [markdown]
# ```js
# socket.emit("upper", "callback style", (reply) => answers.push(reply));
# const reply = await socket.emitWithAck("upper", "await style");
# // on a Node server, the handler gets a callback instead of returning:
# socket.on("upper", (text, callback) => callback(text.toUpperCase()));
# ```
#
# ### When no answer comes: a timeout (an error shown on purpose)
#
# A server answers only events it has a handler for. `call` waits at most `timeout`
# seconds (the default is 60!), then raises `socketio.exceptions.TimeoutError`. Always
# pass a timeout you can live with. The next cell catches the error on purpose.

# %%
try:
    await alice.call("nobody-listens", "hello?", timeout=0.5)
except socketio.exceptions.TimeoutError as error:
    print("no answer within 0.5 s:", type(error).__name__)

# %% [markdown]
# In JavaScript: `await socket.timeout(500).emitWithAck("nobody-listens", "hello?")`
# rejects with `Error: operation has timed out`.
#
# ### The server can ask too
#
# `sio.call(event, data, to=sid)` asks one client and awaits its handler's return value.
# A handler on the client returns its answer the same way.

# %%
@alice.on("quiz")
async def quiz(question):
    return "4" if question == "2 + 2?" else "no idea"


print("alice answers:", await sio.call("quiz", "2 + 2?", to=alice.get_sid(), timeout=5))
print("no handler:   ", await sio.call("nobody-listens", to=alice.get_sid(), timeout=5))

# %% [markdown]
# Look at the second line: python-socketio's **client** acknowledges every event that
# asks for an answer, handler or not; with no handler the answer is `None`, right away.
# The **server** (above) and the JavaScript client do not: there you get a timeout. So
# `None` from a client can mean "handled, returned nothing" or "nobody listened".
#
# ```js
# const answer = await io.timeout(5000).to(aliceId).emitWithAck("quiz", "2 + 2?"); // a list, one per client
# const answer1 = await socket.timeout(5000).emitWithAck("quiz", "2 + 2?");         // one client's socket
# ```

# %% [markdown]
# ## Reserved event names
#
# socket.io uses some event names for itself. Handle them, never emit them:
#
# | name | who raises it | meaning |
# |---|---|---|
# | `connect` | server and client | a connection was accepted (the server handler may refuse it) |
# | `connect_error` | client | the connection failed or was refused |
# | `disconnect` | server and client | the connection ended; the handler gets a reason |
# | `message` | `send(data)` | the event `send` emits; not forbidden, but don't mix it with your own events |
# | `disconnecting`, `newListener`, `removeListener` | JavaScript only | reserved by the JS libraries |
#
# The JavaScript client refuses to emit these: `socket.emit("disconnect")` throws
# `Error: "disconnect" is a reserved event name`. python-socketio sends them without a
# word, and the other side then runs its **lifecycle** handler with your data. Here alice
# emits `disconnect`; watch the server's log (a mistake shown on purpose):

# %%
await alice.emit("disconnect", "just kidding")
await running.wait_for(lambda: log[-1].startswith("disconnect"), timeout=5)
print("server log:     ", log[-1])
print("alice connected:", alice.connected)

# %% [markdown]
# The server's `disconnect` handler ran, with "just kidding" as the reason, yet alice is
# still connected: any cleanup that handler does (leave rooms, tell others "alice left")
# would now be wrong. A guard like the JavaScript one, `check_event_name` from
# `chatkit.sio`, stops the mistake before it is sent; the error is caught on purpose:

# %%
for event in ["chat", "disconnect", "message"]:
    try:
        check_event_name(event)
        print(f"{event!r} is fine")
    except ValueError as error:
        print("refused:", error)

# %% [markdown]
# ## A catch-all handler
#
# `@sio.on("*")` receives every event that has no handler of its own, with the event
# name first (on a client: `@client.on("*")`, `def handler(event, *args)`). Its return
# value is the ack, so the event that timed out above now gets an answer. `connect` and
# `disconnect` never reach it (the server keeps them for its lifecycle handlers), but
# `message`, what `send()` emits, does when no `message` handler is registered.

# %%
unhandled = []


@sio.on("*")
async def any_event(event, sid, *args):
    unhandled.append((event, names[sid], args))
    return f"nobody handles {event!r}, but I saw it"


print(await alice.call("nobody-listens", "hello?", timeout=5))
print(unhandled)

# %% [markdown]
# ```js
# socket.onAny((event, ...args) => console.log(event, args));   // client, and Node server sockets
# ```
# (In JavaScript `onAny` sees every incoming event, handled or not.)

# %% [markdown]
# ## Broadcast: to all, to all but the sender, to one
#
# Two more clients join. The server offers three events; each sends `news` differently:
# - `sio.emit(event, data)`: every connected client, the sender too;
# - `sio.emit(event, data, skip_sid=sid)`: everyone except the sender;
# - `sio.emit(event, data, to=sid)`: one client (`to` also takes a room, notebook 04).

# %%
sid_of = {}  # name -> sid, filled by "hello" below


@sio.on("announce")
async def announce(sid, text):
    await sio.emit("news", f"{names[sid]} to all: {text}")


@sio.on("gossip")
async def gossip(sid, text):
    await sio.emit("news", f"{names[sid]} to the others: {text}", skip_sid=sid)


@sio.on("whisper")
async def whisper(sid, to_name, text):
    await sio.emit("news", f"{names[sid]} to {to_name} only: {text}", to=sid_of[to_name])

# %%
bob, carol = new_client("bob"), new_client("carol")
for name, client in [("bob", bob), ("carol", carol)]:
    await running.track(name, client.shutdown)
    await client.connect(server.url, auth={"name": name}, transports=["websocket"])
sid_of.update(alice=alice.get_sid(), bob=bob.get_sid(), carol=carol.get_sid())
for inbox in inboxes.values():
    inbox.clear()
print(log[-2:])

# %% [markdown]
# Each step waits until its messages have arrived, so the inboxes fill in a fixed order:

# %%
def counts(alice_n, bob_n, carol_n):
    return lambda: [len(inboxes[n]) for n in ("alice", "bob", "carol")] == [alice_n, bob_n, carol_n]


await alice.emit("announce", "lunch at noon")
await running.wait_for(counts(1, 1, 1), timeout=5)
await bob.emit("gossip", "alice always picks pizza")
await running.wait_for(counts(2, 1, 2), timeout=5)
await carol.emit("whisper", ("alice", "pizza sounds good"))
await running.wait_for(counts(3, 1, 2), timeout=5)
for name, inbox in inboxes.items():
    print(f"{name}:", *inbox, sep="\n  ")

# %% [markdown]
# Bob did not get his own gossip; only alice got carol's whisper. On a Node server:
#
# ```js
# io.emit("news", text);                 // everyone, the sender too
# socket.broadcast.emit("news", text);   // everyone but this socket
# io.to(aliceId).emit("news", text);     // one client (or a room)
# ```
#
# `sio.emit` to everyone is not "everyone who will ever connect": a client that connects
# later gets nothing of it. Keeping a history for late-comers is the server's job.

# %% [markdown]
# ## Transports: long-polling, WebSocket, and the upgrade
#
# socket.io runs on engine.io, which can carry the same packets two ways:
# - **HTTP long-polling**: the client keeps one GET request open, and the server answers
#   it when it has something to say; the client sends with POST requests. Slower, but it
#   gets through proxies and firewalls that block WebSocket;
# - **WebSocket**: one connection, both directions, little overhead.
#
# By default a client starts with long-polling (which always works), then tries to
# **upgrade** to WebSocket. `transports=[...]` narrows the choice. Our server's `connect`
# handler wrote down which transport each client's first request used:

# %%
clients = {}
for name, transports in [("polly", ["polling"]), ("webster", ["websocket"]), ("default", None)]:
    clients[name] = new_client(name)
    await running.track(name, clients[name].shutdown)
    await clients[name].connect(server.url, auth={"name": name}, transports=transports)

await running.wait_for(lambda: clients["default"].transport() == "websocket", timeout=5)
for name, client in clients.items():
    print(f"{name:8} first request: {first_request[client.get_sid()]:9} now: {client.transport()}")

# %% [markdown]
# `default` started with long-polling and now uses WebSocket: that is the upgrade. In a
# browser the upgrade happens **after** `connect`, in the background:
#
# ```js
# const socket = io(url);                       // by default: polling first, then upgrade
# socket.on("connect", () => {
#   console.log(socket.io.engine.transport.name);                      // "polling"
#   socket.io.engine.once("upgrade", (t) => console.log(t.name));      // "websocket"
# });
# ```
#
# python-engineio's client does the upgrade **inside** `connect()`, so by the time
# `await connect(...)` returns it is done. The cell still waits for the condition (with a
# timeout) instead of assuming it: that keeps it right on a client that upgrades later.
# The server sees the same:

# %%
print({name: sio.transport(client.get_sid()) for name, client in clients.items()})
print(await clients["polly"].call("upper", "long-polling works too", timeout=5))

# %% [markdown]
# ## Summary
#
# - socket.io turns a connection into **named events**: `emit(name, *args)` on one side,
#   `on(name, handler)` on the other, in both directions; a tuple means several
#   arguments; lists, dicts and bytes travel as they are.
# - A handler's **return value is the ack**. Get it with a `callback`, or with
#   `await call(..., timeout=...)`; `socketio.exceptions.TimeoutError` means no answer.
#   A python-socketio client acks every event, with `None` when nothing handles it.
# - `connect`, `connect_error`, `disconnect` (and `message`, and in JavaScript
#   `disconnecting`, `newListener`, `removeListener`) belong to socket.io. Python does not
#   stop you emitting them; the other side's lifecycle handler then runs with your data.
# - `@sio.on("*")` catches events with no handler of their own.
# - `sio.emit(...)` goes to all; `skip_sid=sid` to all but the sender; `to=sid` to one.
# - The default transport starts with HTTP long-polling and upgrades to WebSocket;
#   `transports=["websocket"]` skips the polling start, `["polling"]` never upgrades.
# - In a notebook: `AsyncClient(handle_sigint=False, ...)`, never `print` in handlers,
#   wait for conditions with a timeout, and stop everything at the end.
#
# **Further reading**
# - python-socketio: [server](https://python-socketio.readthedocs.io/en/stable/server.html)
#   and [client](https://python-socketio.readthedocs.io/en/stable/client.html) guides,
#   [API reference](https://python-socketio.readthedocs.io/en/stable/api.html)
# - socket.io: [emitting events](https://socket.io/docs/v4/emitting-events/),
#   [broadcasting](https://socket.io/docs/v4/broadcasting-events/),
#   [listening to events](https://socket.io/docs/v4/listening-to-events/) (catch-all),
#   [how it works](https://socket.io/docs/v4/how-it-works/) (transports and upgrade),
#   [the client API](https://socket.io/docs/v4/client-api/)
# - The wire format: [socket.io protocol](https://socket.io/docs/v4/socket-io-protocol/)
#   and [engine.io protocol](https://socket.io/docs/v4/engine-io-protocol/)
# - Used here: `socketio.AsyncServer` (`attach`, `on`, `event`, `emit`, `call`,
#   `transport`), `socketio.AsyncClient` (`connect`, `on`, `emit`, `call`, `transport`,
#   `get_sid`, `shutdown`); `chatkit.running.serve_aiohttp`, `track`, `wait_for`,
#   `stop_all`; `chatkit.sio.stop_server`, `check_event_name`;
#   `chatkit.tasks.leftover_tasks`; `chatkit.exercises.check_add_and_shout`.
#
# **Next:** notebook 03, where connections end: who closed them, why, and how to come
# back without losing a message.

# %% [markdown]
# ## Exercise: a calculator and a megaphone
#
# Write a socket.io server `ex` (a new `socketio.AsyncServer(async_mode="aiohttp")`) with
# two handlers:
# 1. **`add`**: a client calls `add` with two numbers, as two arguments; the ack is their
#    sum. `await client.call("add", (2, 3))` returns `5`.
# 2. **`shout`**: a client emits `shout` with a text; every **other** connected client
#    gets a `shouted` event whose data is the text in upper case. The sender gets nothing.
#
# Don't serve it: `exercises.check_add_and_shout(ex)` serves it on a free port, connects
# three real clients, tries both events and tells you what is wrong, if anything.
#
# **Try it yourself first** (in a new cell, or replace the solution below with your own).
# Here is one solution:

# %%
# SOLUTION (try it yourself first: replace this cell with your own code)
ex = socketio.AsyncServer(async_mode="aiohttp")


@ex.on("add")
async def add(sid, a, b):
    return a + b


@ex.on("shout")
async def shout(sid, text):
    await ex.emit("shouted", text.upper(), skip_sid=sid)

# %%
await exercises.check_add_and_shout(ex)

# %% [markdown]
# ## Clean up
#
# Stop every client and the server (newest first, so clients leave before the server
# goes), and check that python-socketio left no background task behind.

# %%
print("stopped:", await running.stop_all())
# Cancelled tasks finish on the next turns of the loop: wait for them, at most 5 s.
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
