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
# **About 80 minutes: 50 teaching, 30 exercises.**
#
# **What you will build.** Your chat from notebook 01, on socket.io: a name given at
# connect, `say` answered with the message's id, `said` sent to everyone.
#
# **What you will learn.** Named events and their answers (acks); the names socket.io
# keeps for itself; broadcasting; Python's handlers keyed by `sid` against Node's
# per-socket closures; long-polling and the upgrade to WebSocket; why a socket.io 2 client cannot
# connect; which web pages a server lets in (origins). Each step has its JavaScript twin,
# and this page runs the article's `io(url)`, `emit` and `on` itself.
#
# **What you need.** Notebook 01 and `async`/`await`. Everything runs on 127.0.0.1.

# %% [markdown]
# ## What socket.io adds
#
# A WebSocket carries messages, nothing more: in notebook 01 you added a `type` field,
# parsed JSON and sent errors back by hand. socket.io, a protocol on top with libraries
# in many languages, brings **named events**, **acks**, **rooms** (notebook 04),
# **reconnection** (03) and an HTTP **long-polling** fallback. The price: a socket.io
# client talks only to a socket.io server. On the wire, an event is a digit and JSON:

# %%
from socketio import packet

print(packet.Packet(packet.EVENT, data=["chat", {"text": "hi"}]).encode())
print(packet.Packet(packet.EVENT, data=["upper", "hello"], id=1).encode())
print(packet.Packet(packet.ACK, data=["HELLO"], id=1).encode())

# %% [markdown]
# `2` is an EVENT, `21` one that asks for answer 1, `31` that answer (an ACK). engine.io,
# underneath, adds `4`: your browser's network tab shows `42["chat",{"text":"hi"}]`.
#
# ## A socket.io server in the kernel
#
# python-socketio runs on a web server, here aiohttp (`sio.attach(app)`), served on the
# kernel's loop. `stop_server` disconnects the clients and ends python-socketio's tasks
# before it stops. One-second pings (the defaults are 25 and 20 s) let a vanished client
# go quickly.

# %%
import logging
from urllib.parse import parse_qs

import aiohttp
import socketio
from aiohttp import web

from chatkit import exercises, running
from chatkit.pagecode import PageCode, from_this_computer
from chatkit.sio import check_event_name, stop_server
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # if this notebook ran before in this kernel, start clean

# %%
sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1,
                           cors_allowed_origins=from_this_computer)  # see "origins" below
app = web.Application()
sio.attach(app)
server = await running.serve_aiohttp(app, name="nb02",
                                     before_stop=lambda: stop_server(sio, grace=1))
print(server.url)


async def name_of(sid):  # the name a client gave, kept in its session (below)
    return (await sio.get_session(sid))["name"]

# %% [markdown]
# `connect` runs once per client, with its `auth`, and keeps the name in the client's
# **session**: a dict python-socketio keeps per connection, found by its `sid`, gone
# when the client leaves. Handlers run in the background and never `print`: they
# append to `log`, and a later cell prints.

# %%
log = []             # what the server saw, in order
first_request = {}   # sid -> transport of the client's very first HTTP request


@sio.event  # a handler for the event named like the function
async def connect(sid, environ, auth):
    await sio.save_session(sid, {"name": (auth or {}).get("name", "anonymous")})
    first_request[sid] = parse_qs(environ["QUERY_STRING"])["transport"][0]


@sio.event
async def disconnect(sid, reason):
    log.append(f"disconnect {await name_of(sid)}: reason={reason!r}")

# %% [markdown]
# ## Connect a client
#
# Always `handle_sigint=False`: by default the client takes over Ctrl-C, and "Interrupt
# kernel" would then cancel every task and stop the kernel's event loop. `reconnection=False`: notebook 03 reconnects. `running.track`
# stops the old client when the cell runs again.

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
print("the server calls it:", await name_of(alice.get_sid()))

# %% [markdown]
# `await connect(...)` returns once the server has accepted the client. In a web page:
#
# ```js
# import { io } from "socket.io-client";
# const socket = io("http://127.0.0.1:PORT", { auth: { name: "alice" }, transports: ["websocket"] });
# socket.on("news", (data) => inbox.push(data));   // io() returns at once, connects in the background
# ```
#
# ## emit and on with your own events
#
# `on(event, handler)` registers a handler, `emit(event, data)` sends, both ways; a
# server handler gets the sender's `sid` first. `emit` does not wait for the other side,
# so the cell waits (with a timeout) before printing.

# %%
@sio.on("chat")
async def log_chat(sid, message):
    log.append(f"chat from {await name_of(sid)}: {message['text']}")


seen = len(log)  # count from here: running this cell again waits for the new entries
inboxes["alice"].clear()
await alice.emit("chat", {"text": "hi, server"})
await sio.emit("news", "hello alice, from the server", to=alice.get_sid())
await running.wait_for(lambda: inboxes["alice"] and len(log) > seen, timeout=5)
print("server log:", log[-1])
print("alice got: ", inboxes["alice"])

# %% [markdown]
# ```js
# socket.emit("chat", { text: "hi, server" });          // browser -> server
# io.to(aliceId).emit("news", "hello alice, ...");      // Node server -> one client
# ```
#
# ## Several arguments, lists, dicts and bytes
#
# An event carries any number of arguments: anything JSON can say, or `bytes`, even
# inside a dict. In Python **a tuple means several arguments**; a list is one.

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
# In JavaScript, `socket.emit("show", 3, 4)` sends two; bytes go as a `Uint8Array` and
# come as an `ArrayBuffer`. A `set` or a `datetime` is not JSON: `emit` raises
# `TypeError`.
#
# ## Acknowledgements: an answer to an event
#
# What a handler **returns** goes back to the sender, its ack: to a `callback`, or as
# the value of `await call(...)`.

# %%
@sio.on("upper")
async def upper(sid, text):
    return text.upper()


@sio.on("divide")
async def divide(sid, a, b):
    return divmod(a, b)


answers = []
await alice.emit("upper", "callback style", callback=lambda reply: answers.append(reply))
await running.wait_for(lambda: answers, timeout=5)
print("callback got:", answers[0])
print("call got:    ", await alice.call("upper", "await style", timeout=5))

# %% [markdown]
# **Predict:** `divide` returns `divmod(17, 5)`, a tuple. What does the sender get
# back from `await alice.call("divide", (17, 5))`?

# %%
print("17 / 5 ->", await alice.call("divide", (17, 5), timeout=5))

# %% [markdown]
# A tuple: a returned tuple travels as **several ack values**. A JavaScript callback gets
# both, `(q, r) => ...`, but `await socket.emitWithAck("divide", 17, 5)` keeps only the
# first, `3`. For one answer, return one value, such as a dict.
#
# ```js
# socket.emit("upper", "callback style", (reply) => answers.push(reply));
# const reply = await socket.emitWithAck("upper", "await style");
# socket.on("upper", (text, callback) => callback(text.toUpperCase()));  // a Node handler answers
# ```
#
# ### No answer: a timeout (an error shown on purpose)
#
# A server answers only events it has a handler for; `call` gives up after `timeout`
# seconds (60 by default!):

# %%
try:
    await alice.call("nobody-listens", "hello?", timeout=0.5)
except socketio.exceptions.TimeoutError as error:
    print("no answer within 0.5 s:", type(error).__name__)

# %% [markdown]
# (In JavaScript, `socket.timeout(500).emitWithAck(...)` rejects: `operation has timed
# out`.) The server can ask a client too:

# %%
@alice.on("quiz")
async def quiz(question):
    return "4" if question == "2 + 2?" else "no idea"


print("alice answers:", await sio.call("quiz", "2 + 2?", to=alice.get_sid(), timeout=5))
print("no handler:   ", await sio.call("nobody-listens", to=alice.get_sid(), timeout=5))

# %% [markdown]
# python-socketio's **client** answers every event that asks, with `None` when no
# handler listens; its server and the JavaScript client time out instead.
#
# ## One handler for all clients: Python's `sid`, Node's closures
#
# In Node (the article's server) each connection gets its own handlers, and they
# remember the client in a closure:
#
# ```js
# io.on("connection", (socket) => {             // runs once per client
#   const name = socket.handshake.auth.name;    // this client's state: a closure variable
#   socket.on("whoami", (callback) => callback(name));
# });
# ```
#
# python-socketio registers **one** handler per event, for every client; the `sid` says
# who sent it:

# %%
@sio.on("whoami")              # registered once, for every client
async def whoami(sid):         # the sid says which client sent it
    return await name_of(sid)  # its state: the session, found by sid


print("alice is", await alice.call("whoami", timeout=5))

# %% [markdown]
# So per-client state lives in the session (`save_session`, `get_session`) or in a dict
# keyed by sid (cleaned up in `disconnect`). One global `name` would be overwritten by
# each `connect`: every message would carry the last client's name. Node's
# `callback(...)` is Python's `return`; `socket.emit(...)` is `sio.emit(..., to=sid)`.

# %% [markdown]
# ## Reserved event names
#
# socket.io keeps six names: `connect`, `connect_error`, `disconnect`, `disconnecting`,
# `newListener`, `removeListener`. The JavaScript client and server refuse to emit them
# (`Error: "disconnect" is a reserved event name`). python-socketio sends them all the
# same, and the other side takes them for its own: a Python server runs its
# **lifecycle** handler of that name with your data (a JavaScript client, its listeners).
# A mistake, on purpose:

# %%
seen = len(log)
await alice.emit("disconnect", "just kidding")
await running.wait_for(lambda: len(log) > seen, timeout=5)
print("server log:     ", log[-1])
print("alice connected:", alice.connected)

# %% [markdown]
# The `disconnect` handler ran, with "just kidding" as the reason, while alice is still
# connected: its cleanup would be wrong. `chatkit.sio.check_event_name` is the
# JavaScript guard, in Python:

# %%
for event in ["chat", "disconnect", "message"]:
    try:
        print(f"{check_event_name(event)!r} is fine")
    except ValueError as error:
        print("refused:", error)

# %% [markdown]
# `message` is not reserved, but taken: `send(data)` is `emit("message", data)` in both
# languages, so a `message` handler gets whatever anyone `send`s. Name your own events
# otherwise. A **catch-all**, `@sio.on("*")`, shows it: it gets each event that has no
# handler of its own (never `connect` or `disconnect`), name first; it returns the ack.

# %%
unhandled = []


@sio.on("*")
async def any_event(event, sid, *args):
    unhandled.append((event, await name_of(sid), args))
    return f"nobody handles {event!r}, but I saw it"


print(await alice.call("nobody-listens", "hello?", timeout=5))
await alice.send("hi, via send()")
await running.wait_for(lambda: len(unhandled) == 2, timeout=5)
print(*unhandled, sep="\n")

# %% [markdown]
# (JavaScript's `socket.onAny(...)` sees every event, handled or not.)
#
# ## Broadcast: to all, to all but the sender, to one
#
# Two more clients join. `sio.emit(event, data)` goes to every client; with
# `skip_sid=sid`, to all but the sender; with `to=sid`, to one (or a room, notebook 04).

# %%
@sio.on("announce")
async def announce(sid, text):
    await sio.emit("news", f"{await name_of(sid)} to all: {text}")


@sio.on("gossip")
async def gossip(sid, text):
    await sio.emit("news", f"{await name_of(sid)} to the others: {text}", skip_sid=sid)


@sio.on("whisper")
async def whisper(sid, to_name, text):
    await sio.emit("news", f"{await name_of(sid)} to {to_name} only: {text}",
                   to=sid_of[to_name])

# %%
bob, carol = new_client("bob"), new_client("carol")
for name, client in [("bob", bob), ("carol", carol)]:
    await running.track(name, client.shutdown)
    await client.connect(server.url, auth={"name": name}, transports=["websocket"])
sid_of = {"alice": alice.get_sid(), "bob": bob.get_sid(), "carol": carol.get_sid()}
print("connected:", *sid_of)

# %% [markdown]
# **Predict:** alice emits `announce`, whose handler calls `sio.emit("news", ...)` with
# neither `to` nor `skip_sid`. Does alice get her own announcement?

# %%
def counts(alice_n, bob_n, carol_n):
    return lambda: [len(inboxes[n]) for n in ("alice", "bob", "carol")] == [alice_n, bob_n, carol_n]


for inbox in inboxes.values():
    inbox.clear()  # count from zero, also when this cell runs again
await alice.emit("announce", "lunch at noon")
await running.wait_for(counts(1, 1, 1), timeout=5)
await bob.emit("gossip", "alice always picks pizza")
await running.wait_for(counts(2, 1, 2), timeout=5)
await carol.emit("whisper", ("alice", "pizza sounds good"))
await running.wait_for(counts(3, 1, 2), timeout=5)
for name in ("alice", "bob", "carol"):
    print(f"{name}:", *inboxes[name], sep="\n  ")

# %% [markdown]
# Yes: without `to`, every client, the sender too. Bob did not get his own gossip; only
# alice got the whisper. (Each step waited for its messages, so the order is fixed.)
#
# ```js
# io.emit("news", text);                 // Node: everyone, the sender too
# socket.broadcast.emit("news", text);   // everyone but this socket
# io.to(aliceId).emit("news", text);     // one client (or a room)
# ```
#
# ## Transports: long-polling, WebSocket, and the upgrade
#
# engine.io, under socket.io, carries packets by **HTTP long-polling** (a GET held open
# until the server has news, a POST to send: slower, but it passes proxies that block
# WebSocket) or by **WebSocket**.
#
# **Predict:** `default` below connects without `transports=`. Which transport does its
# first request use, and which is it on once `connect` has returned?

# %%
clients, after_connect = {}, {}
for name, transports in [("polly", ["polling"]), ("webster", ["websocket"]), ("default", None)]:
    clients[name] = new_client(name)
    await running.track(name, clients[name].shutdown)
    await clients[name].connect(server.url, auth={"name": name}, transports=transports)
    after_connect[name] = clients[name].transport()  # right after connect() returned

for name, client in clients.items():
    print(f"{name:8} first request: {first_request[client.get_sid()]:9} "
          f"after connect: {after_connect[name]}")

# %% [markdown]
# Long-polling first, since it works wherever plain HTTP does, then the **upgrade** to
# WebSocket, already done when `connect()` returns in Python (a browser upgrades after
# `connect`, in the background). The server agrees:

# %%
print({name: sio.transport(client.get_sid()) for name, client in clients.items()})
print(await clients["polly"].call("upper", "long-polling works too", timeout=5))

# %% [markdown]
# ### The article's socket.io 2 clients cannot connect
#
# The article's socket.io 2 client speaks Engine.IO protocol 3, so its first request
# carries `EIO=3`; socket.io-client 3 and 4 send `EIO=4`. Ask our server both ways:

# %%
engineio_log = logging.getLogger("engineio.server")
engineio_log.disabled = True  # it logs the refusal too, and the log would land in another cell
try:
    async with aiohttp.ClientSession() as http:
        for version in (3, 4):
            url = f"{server.url}/socket.io/?EIO={version}&transport=polling"
            async with http.get(url) as response:
                print(f"EIO={version}:", response.status, await response.text())
finally:
    engineio_log.disabled = False

# %% [markdown]
# `400` for the old one. python-socketio 5 speaks only protocol 4 (its 4.x spoke to
# socket.io 2); a Node server can let old clients in with `allowEIO3: true`,
# python-socketio cannot. Use socket.io-client 4 (or 3). The `200` is a handshake: a
# session id, the upgrade on offer, the pings.
#
# ## The same from this page: `io(url)`, `emit` and `on`
#
# ### Origins: which pages may connect
#
# A browser sends, with each request a page makes, that page's **origin**: scheme, host
# and port, such as `http://127.0.0.1:8888` for JupyterLab. A python-socketio server
# lets in only its own pages by default (same origin), and JupyterLab is not ours. Our
# server says which pages it accepts with `cors_allowed_origins=from_this_computer`, a
# function that python-socketio calls with each origin: pages served by this computer
# (127.0.0.1, `localhost`), not websites. `"*"` would let every page in, so any site you
# visit could talk to your server as you: 127.0.0.1 is out of the network's reach, not
# of your browser's. (Only browsers send an honest origin; a Python client sends none.)
#
# **Predict:** which of these three pages will the server accept?

# %%
engineio_log.disabled = True  # again: a refused origin is logged too
try:
    async with aiohttp.ClientSession() as http:
        for origin in ("http://127.0.0.1:8888", "http://localhost:8888", "https://example.org"):
            url = f"{server.url}/socket.io/?EIO=4&transport=polling"
            async with http.get(url, headers={"Origin": origin}) as response:
                refusal = "" if response.ok else await response.text()
                print(f"{origin:22} ->", response.status, refusal)
finally:
    engineio_log.disabled = False

# %% [markdown]
# The two pages of this computer get the handshake; the website gets `400`.
#
# ### The page's own socket.io client
#
# `PageCode` (notebook 01) runs JavaScript in this page; `io` is the official socket.io
# client (chatkit's pinned copy, sent by the kernel: no internet needed). The page asks
# what alice asked, and announces, which reaches everyone:

# %%
alice_got = [f"ack {await alice.call('upper', 'from the page', timeout=5)}",
             f"whoami {await alice.call('whoami', timeout=5)}"]
page = PageCode("""
const socket = io(url, { auth: { name: "page" } });
socket.on("connect", () => log("connect", socket.id));
socket.on("news", (text) => log("news", text));
log("ack", await socket.emitWithAck("upper", "from the page"));
log("whoami", await socket.emitWithAck("whoami"));
socket.emit("announce", "hello from the page");
""", url=server.url, beside=alice_got)
page

# %% [markdown]
# In JupyterLab the page logs `connect` with its sid, `ack FROM THE PAGE`,
# `whoami page` and `news page to all: hello from the page`; alice's inbox has that news
# too. (No browser, as in the course's tests: the column stays empty.) The page starts
# on long-polling and upgrades, as `default` did above. If it cannot connect, the widget
# says so: the address must be one *your browser* can reach (not so on a remote
# JupyterHub), and the server must accept the page's origin.
#
# ## Exercise 1 (warm-up): a calculator and a megaphone
#
# Make `warm_up = socketio.AsyncServer(async_mode="aiohttp")` with two handlers:
# 1. **`add`**, called with two numbers (two arguments), answers their sum:
#    `await client.call("add", (2, 3))` returns `5`.
# 2. **`shout`**, emitted with a text, sends every **other** client `shouted` with the
#    text in upper case.
#
# Don't serve it: `await exercises.check_add_and_shout(warm_up)` serves it, tries it with
# three clients and says what is wrong. Write it in the next cell, then run the check
# there. Stuck? The solution is below, folded (running it replaces your version with
# ours).

# %%
# Your answer: make `warm_up` with its `add` and `shout` handlers here, then run
# await exercises.check_add_and_shout(warm_up)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
warm_up = socketio.AsyncServer(async_mode="aiohttp")


@warm_up.on("add")
async def add(sid, a, b):
    return a + b


@warm_up.on("shout")
async def shout(sid, text):
    await warm_up.emit("shouted", text.upper(), skip_sid=sid)


await exercises.check_add_and_shout(warm_up)

# %% [markdown]
# ## Your chat from notebook 01, on socket.io
#
# | in notebook 01 you wrote | on socket.io |
# |---|---|
# | `json.loads`, and an error for what is not a JSON object | events arrive as Python values |
# | `if data["type"] == "say": ...` | `@sio.on("say")` |
# | a `hello` first, and an error for `say` before it | `auth={"name": ...}` at connect; refuse with `ConnectionRefusedError` |
# | `{"type": "error"}` to the sender, matched to its `say` by hand | the ack: `say`'s return value answers that very `say` |
# | a dict from connection to name, and `broadcast(names, ...)` | the session, found by `sid`; `await sio.emit("said", ...)` |
# | nothing when the line drops | reconnection (notebook 03) |
#
# ## Exercise 2: your chat on socket.io
#
# Make `chat = socketio.AsyncServer(async_mode="aiohttp")`:
# - **`connect`**: a client comes with `auth={"name": "ada"}`; keep its name. Refuse one
#   without a name (no `auth`, no `"name"`, or `""`) with
#   `raise socketio.exceptions.ConnectionRefusedError("<why>")`.
# - **`say`** with `{"text": "hi"}` answers `{"ok": True, "id": n}` (ids 1, 2, 3... in
#   the order accepted) and sends everyone, the sender too, `said` with
#   `{"id": n, "name": "ada", "text": "hi"}`. A text missing, not a string or empty gets
#   `{"ok": False, "error": "<why>"}`, and no `said`.
#
# `await exercises.check_socketio_chat(chat)` has ada and bob say things, right and
# wrong, then tries clients without a name. Write it in the next cell, then run the
# check there. Stuck? The solution is below, folded (running it replaces your version
# with ours).

# %%
# Your answer: make `chat` with its `connect` and `say` handlers here, then run
# await exercises.check_socketio_chat(chat)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
chat = socketio.AsyncServer(async_mode="aiohttp")
last_id = 0  # the id of the last message accepted


@chat.event
async def connect(sid, environ, auth):
    name = (auth or {}).get("name")
    if not name:
        raise socketio.exceptions.ConnectionRefusedError("Pick a name: auth needs a 'name'.")
    await chat.save_session(sid, {"name": name})

# %% jupyter={"source_hidden": true}
@chat.on("say")
async def say(sid, data):
    global last_id
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text:
        return {"ok": False, "error": "say needs a text, as in {'text': 'hi'}"}
    last_id += 1
    name = (await chat.get_session(sid))["name"]
    await chat.emit("said", {"id": last_id, "name": name, "text": text})
    return {"ok": True, "id": last_id}


await exercises.check_socketio_chat(chat)

# %% [markdown]
# ## The same chat in chatkit
#
# chatkit's `ChatServer` (notebook 03) is this chat, polished: the same `say`, ack and
# `said`, in the namespace `/chat` (notebook 04), with rooms to `join`:

# %%
from chatkit.server import ChatServer

polished = ChatServer(ping_interval=1, ping_timeout=1)
await polished.start(name="nb02-chatkit")
ada = new_client("ada")
await running.track("ada", ada.shutdown)
await ada.connect(polished.url, namespaces=["/chat"], auth={"name": "ada"},
                  transports=["websocket"])
for event, data in [("join", {"room": "lobby"}), ("say", {"room": "lobby", "text": "hi"}),
                    ("say", {"room": "lobby", "text": ""})]:
    print(event, data, "->", await ada.call(event, data, namespace="/chat", timeout=5))

# %% [markdown]
# It adds a time on each message, limits with a sentence for each refusal, messages
# kept for a client that drops (notebook 03) and a teacher's namespace (06). Its
# handlers, in `chatkit/server.py`, are a few lines each.
#
# ## Summary
#
# - `emit(event, *args)` on one side, `on(event, handler)` on the other, both ways; a
#   tuple is several arguments. A handler's **return value is the ack**; a returned
#   tuple is several values.
# - One handler serves every client; the `sid` says who. Per-client state lives in the
#   session or a dict keyed by sid.
# - Six names are reserved: Python emits them anyway, and a lifecycle handler on the
#   other side misfires. `message` is `send()`'s.
# - `sio.emit` goes to all, the sender too; `skip_sid=sid` to the others; `to=sid` to one.
# - Clients start on long-polling, then upgrade. socket.io 2 clients get `400`: use
#   socket.io-client 4.
#
# **Further reading:** python-socketio's
# [server](https://python-socketio.readthedocs.io/en/stable/server.html) and
# [client](https://python-socketio.readthedocs.io/en/stable/client.html) guides;
# socket.io's [emitting](https://socket.io/docs/v4/emitting-events/),
# [broadcasting](https://socket.io/docs/v4/broadcasting-events/),
# [how it works](https://socket.io/docs/v4/how-it-works/),
# [migrating from 2.x](https://socket.io/docs/v4/migrating-from-2-x-to-3-0/).
#
# **Next:** [03 · disconnects](03-disconnects.ipynb): where connections end, who closed
# them and why, and how your chat comes back without losing a message.
#
# ## Clean up
#
# Stop every client and server, newest first; check that no task is left behind.

# %%
print("stopped:", await running.stop_all())
# Cancelled tasks finish on the next turns of the loop: wait for them, at most 5 s.
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
