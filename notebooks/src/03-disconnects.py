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
# # 03 · When connections end: leave, drop, come back, lose nothing
#
# **About 60 minutes: 30 teaching, 30 exercises (10 + 20).**
#
# **What you will build.** Your chat from notebook 02, made to lose nothing when a line
# drops: the server replays what a returning client missed, the client says what it saw.
# On the way, a server that lets a client leave politely.
#
# **What you will learn.**
# - how a server ends connections: with a goodbye, per namespace or for the whole
#   connection (the `true` in JavaScript's `socket.disconnect(true)`), or without one;
# - the *reason* each side is told for each way a connection ends, in Python and in
#   JavaScript;
# - reconnection with back-off, and what it does not bring back;
# - *resume*: a callable `auth` with the last id seen, a replay, duplicates dropped.
#
# **What you need.** Notebook 02: your socket.io chat (`auth`, `emit`/`on`, acks). 02
# served its server with `sio.attach(app)`, `running.serve_aiohttp` and `stop_server`;
# here `serve(sio)` from `chatkit.sio` does all three in one line.

# %%
import asyncio
import itertools
import time

import socketio

from chatkit import exercises, running
from chatkit.client import ChatClient, Status
from chatkit.faults import relay
from chatkit.server import ChatServer
from chatkit.sio import close_client, serve
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## Every ending has a reason
#
# A tab closes, a laptop sleeps, a train enters a tunnel, a server restarts: socket.io
# tells both sides why, in their `disconnect` handlers (server: `disconnect(sid,
# reason)`; client: `disconnect(reason)`).
#
# `new_server()` writes down `(name, reason)` for every disconnect; its short pings (1 s;
# the defaults are 25 and 20 s) decide how soon a silent connection counts as lost.
# `new_client` writes down its own reasons; `close_client` (`chatkit.sio`) is
# `client.shutdown()` plus closing what python-engineio leaves open after a silent line.

# %%
names = {}        # sid -> name
server_saw = []   # (name, reason): every disconnect the server handled, in order
client_saw = {}   # name -> the reasons its disconnect handler got


def new_server():
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)

    @sio.event
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    @sio.event
    async def disconnect(sid, reason):
        server_saw.append((names[sid], reason))

    return sio


async def new_client(name, url):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    client_saw[name] = []
    client.on("disconnect", client_saw[name].append)
    await running.track(f"nb03-{name}", lambda: close_client(client))
    await client.connect(url, auth={"name": name}, transports=["websocket"])
    return client

# %% [markdown]
# ## The server closes everyone
#
# Node.js has `io.close()`. python-socketio has no `close()`, but it has `shutdown()`.
#
# **Predict:** three clients are connected and the server calls `await sio.shutdown()`.
# A second later, how many are still connected?

# %%
sio = new_server()
server = await serve(sio, name="nb03-close")
trio = {name: await new_client(name, server.url) for name in ("alice", "bob", "carol")}
await sio.shutdown()
await asyncio.sleep(1)
print("after shutdown():", {name: client.connected for name, client in trio.items()})

# %% [markdown]
# All three: `shutdown()` only stops engine.io's background task (the one that drops
# clients that stopped answering pings). To close connections, the server disconnects
# each client it knows (`get_participants` lists a namespace's clients):

# %%
for sid, _ in list(sio.manager.get_participants("/", None)):
    await sio.disconnect(sid)

await running.wait_for(lambda: all(client_saw[name] for name in trio), timeout=5)
print("clients saw:", {name: client_saw[name] for name in trio})
print("server saw: ", server_saw[-3:])

# %% [markdown]
# Each client got socket.io's DISCONNECT packet, a goodbye: `"server disconnect"` on both
# sides, and no socket.io client reconnects after it.
#
# ### One namespace, or the whole connection
#
# One connection can carry several namespaces (notebook 04). `sio.disconnect(sid)` ends
# one, like JavaScript's `socket.disconnect()`. The article's `socket.disconnect(true)`
# passes `close`: "if `true`, closes the underlying connection" (socket.io's source), so
# the client leaves all its namespaces. python-socketio has no such flag: disconnect the
# client in each namespace of its connection.

# %%
async def disconnect_connection(sio, sid, namespace="/"):
    """JavaScript's socket.disconnect(true): the client leaves every namespace it is in."""
    eio_sid = sio.manager.eio_sid_from_sid(sid, namespace)  # the connection under it
    for each in list(sio.manager.get_namespaces()):
        if (other := sio.manager.sid_from_eio_sid(eio_sid, each)) is not None:
            await sio.disconnect(other, namespace=each)

# %% [markdown]
# eve connects to `/` and `/news` over one connection:

# %%
sio = new_server()
sio.on("connect", lambda sid, environ, auth: None, namespace="/news")
server = await serve(sio, name="nb03-close")
eve = socketio.AsyncClient(handle_sigint=False, reconnection=False)
await running.track("nb03-eve", lambda: close_client(eve))
await eve.connect(server.url, namespaces=["/", "/news"], auth={"name": "eve"},
                  transports=["websocket"])
await sio.disconnect(eve.get_sid("/"))
await running.wait_for(lambda: "/" not in eve.namespaces, timeout=5)
print("after disconnect(sid):           ", list(eve.namespaces), "connected:", eve.connected)
await disconnect_connection(sio, eve.get_sid("/news"), "/news")
await running.wait_for(lambda: not eve.connected, timeout=5)
print("after disconnect_connection(sid):", list(eve.namespaces), "connected:", eve.connected)

# %% [markdown]
# Without its last namespace a socket.io client closes the connection itself, in Python
# and in JavaScript. The server can also close it one layer down, through its engine.io
# server:

# %%
await eve.connect(server.url, namespaces=["/", "/news"], auth={"name": "eve"},
                  transports=["websocket"])
await sio.eio.disconnect(sio.manager.eio_sid_from_sid(eve.get_sid("/"), "/"))
await running.wait_for(lambda: not eve.connected, timeout=5)
print("after sio.eio.disconnect(eio_sid):", list(eve.namespaces), "connected:", eve.connected)

# %% [markdown]
# Python's client leaves both namespaces (`"server disconnect"`, no reconnection);
# JavaScript's does not: python-engineio 4.15 sends engine.io's CLOSE packet over the
# WebSocket, which socket.io-client ignores there. In Node and in Chromium it noticed only
# when the pings stopped (`"ping timeout"`, 45 s by default), and would reconnect.
# `disconnect_connection` works with both.
#
# | to end connections | Node.js server | python-socketio | clients then |
# |---|---|---|---|
# | goodbye, one namespace | `socket.disconnect()`, `io.disconnectSockets()` | `await sio.disconnect(sid, namespace=...)` | stay away: `io server disconnect` (JS), `server disconnect` (Python) |
# | goodbye, whole connections | `socket.disconnect(true)`, `io.disconnectSockets(true)` | `disconnect_connection` above; for everyone, `chatkit.sio.stop_server` | the same, in every namespace |
# | no goodbye | `io.close()` | stop the web server without one (chatkit's `ChatServer.stop()`) | `transport close` (JS), `transport error` (Python); they reconnect |
# | nothing at all | | `await sio.shutdown()` | nothing |

# %% [markdown]
# ## Why did it end? The reasons, on both sides
#
# A **relay** (`chatkit.faults.relay`, a small TCP forwarder in this kernel) breaks
# connections on purpose. The client connects to `link.url`; `link.cut()` resets its
# connection (both ends see it close, as when a server process dies), `link.silence()`
# stops forwarding and tells no one (a pulled cable). `ending(end)` connects a client
# named after `end`, ends its connection that way, and returns what each side was told.

# %%
sio = new_server()
server = await serve(sio, name="nb03")


async def ending(end):
    name = end.__name__
    server_saw.clear()  # only this ending's reasons
    link = await relay(server.url, name="nb03-link")
    client = await new_client(name, link.url)
    await end(client, link)
    await running.wait_for(lambda: client_saw[name] and server_saw, timeout=10)
    await link.stop()
    return client_saw[name][0], server_saw[0][1]

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
# The silent one takes two seconds, `ping_interval + ping_timeout`:

# %%
print(f"{'what happened':17} | {'Python client':17} | Python server")
for end in [client_leaves, server_ends_it, line_is_cut, line_goes_silent]:
    client_reason, server_reason = await ending(end)
    print(f"{end.__name__:17} | {client_reason:17} | {server_reason}")

# %% [markdown]
# The JavaScript client, socket.io-client 4.8.4, observed through the same relay and kind
# of server, in Node 20 and in Chromium 156 (the same in both); the Node.js server's
# reasons are from socket.io 4.8's source:
#
# | what happened | socket.io-client | socket.io server (Node) |
# |---|---|---|
# | client_leaves | `io client disconnect` | `client namespace disconnect` |
# | server_ends_it | `io server disconnect` | `server namespace disconnect` |
# | line_is_cut, or the server process killed | `transport close` | `transport close` |
# | line_goes_silent | `ping timeout` | `ping timeout` |
# | the server sends bytes that are not a WebSocket frame, or not engine.io | `transport error` | |
# | ... engine.io, but not socket.io | `parse error` | |
#
# A cut line gives the browser's WebSocket `close` (code 1006) and no `error`; only the
# malformed frame brought an `error` first. So:
# - **The Python server cannot tell a Python client that left from one cut off**: both
#   read `"transport close"`, since that client closes its WebSocket before its
#   DISCONNECT packet has gone out (python-engineio 4.15). The JavaScript client's arrives:
#   `"client disconnect"`.
# - **The Python client has three reasons**; `transport error` covers every failure.
# - **Only the heartbeat finds a silent line**: 45 s with the defaults.
# - The two goodbyes are final; after every other reason socket.io clients reconnect.

# %% [markdown]
# ## Exercise 1 (warm-up): leave politely, and tell the others
#
# A client that wants the server to *know* it leaves on purpose must say so. The article
# emits `close`, and the server answers `socket.disconnect(true)`. `close` is not reserved
# in socket.io, but it names an event one layer down (the WebSocket's, engine.io's, the
# JavaScript Manager's): call yours `bye`.
#
# Write a server `ex = socketio.AsyncServer(async_mode="aiohttp")`; clients connect with
# `auth={"name": ...}`.
# 1. **`bye`** (no arguments): send that client a `goodbye` event with
#    `"goodbye, <name>"`, then disconnect it.
# 2. **`left`**: whenever a client goes, after `bye` **or in any other way**, every client
#    still connected gets `left` with the name of the one who went.
#
# `await exercises.check_bye_and_left(ex)` serves it, connects three clients, makes one
# say `bye` and another hang up. Write it in the next cell, then run the check there.
# Stuck? The solution is below, folded (running it replaces your version with ours).

# %%
# Your answer: make `ex` and its handlers here, then run
# await exercises.check_bye_and_left(ex)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
ex = socketio.AsyncServer(async_mode="aiohttp")
ex_names = {}  # sid -> name


@ex.on("connect")
async def ex_connect(sid, environ, auth):
    ex_names[sid] = auth["name"]


@ex.on("bye")
async def ex_bye(sid):
    # the goodbye first: after the disconnect, nothing reaches that client
    await ex.emit("goodbye", f"goodbye, {ex_names[sid]}", to=sid)
    await ex.disconnect(sid)


@ex.on("disconnect")
async def ex_disconnect(sid, reason):  # runs however the client went, after bye too
    await ex.emit("left", ex_names.pop(sid), skip_sid=sid)

await exercises.check_bye_and_left(ex)

# %% [markdown]
# ## Coming back: reconnection with back-off
#
# After any other reason, `AsyncClient` tries again (`reconnection=True`, the default):
# it waits `reconnection_delay` seconds, then twice as long after each failure, up to
# `reconnection_delay_max`. To its clients a restarting server looks like a line that is
# down for a while: the connection breaks, and every try fails until it is back.
# `link.down()` does that, until `link.up()`.
#
# **Predict:** cy waits 0.25 s before her first try, then 0.5 s, 1 s, 2 s... Her line is
# down for 1 s. When is she back?

# %%
server = await serve(new_server(), name="nb03-back")
link = await relay(server.url, name="nb03-link")
refused = []  # one entry per failed try
cy = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.25, randomization_factor=0)
cy.on("connect_error", refused.append)
await running.track("nb03-cy", lambda: close_client(cy))
await cy.connect(link.url, auth={"name": "cy"}, transports=["websocket"])
started = time.monotonic()
link.down()
await asyncio.sleep(1)
link.up()
await running.wait_for(lambda: cy.connected, timeout=10)
waited = time.monotonic() - started
waits = [0.25 * 2**n for n in range(len(refused) + 1)]  # 0.25, 0.5, 1, ...
print(f"{len(refused)} tries refused; back on try {len(waits)}, after waiting",
      " + ".join(f"{wait:g}" for wait in waits), f"= {sum(waits):g} s")
print("measured the same, to half a second:", sum(waits) <= waited < sum(waits) + 0.5)

# %% [markdown]
# At the first try after the line came back, 0.75 s late; after a longer outage, up to
# `reconnection_delay_max` (5 s) late. Each wait also moves by up to ±`randomization_factor`
# (0.5) so that a class does not reconnect at once: python-socketio 5.18 adds that many
# *seconds*, not the ±50 % its docstring says. JavaScript's defaults, the factor a
# fraction there:
#
# ```js
# const socket = io(url, { reconnectionDelay: 1000, reconnectionDelayMax: 5000,
#                          randomizationFactor: 0.5 });  // the defaults
# socket.io.on("reconnect_attempt", (attempt) => console.log("try", attempt));
# ```
#
# Coming back is the easy half. What about what was said meanwhile?

# %% [markdown]
# ## What was said while you were away
#
# Your chat so far, from notebook 02 (paste your own if you like): a name in `auth`,
# `say {"text"}` acknowledged with the message's id, `said {"id", "name", "text"}` to
# everyone. `join_so_far` is a client of it that reconnects by itself.

# %%
def new_chat():
    """Notebook 02's chat, as a function that makes a fresh one."""
    chat = socketio.AsyncServer(async_mode="aiohttp")
    ids = itertools.count(1)  # the ids of the next messages

    @chat.event
    async def connect(sid, environ, auth):
        name = (auth or {}).get("name")
        if not name:
            raise socketio.exceptions.ConnectionRefusedError("Pick a name: auth needs a 'name'.")
        await chat.save_session(sid, {"name": name})

    @chat.on("say")
    async def say(sid, data):
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text:
            return {"ok": False, "error": "say needs a text, as in {'text': 'hi'}"}
        name = (await chat.get_session(sid))["name"]
        message = {"id": next(ids), "name": name, "text": text}
        await chat.emit("said", message)
        return {"ok": True, "id": message["id"]}

    return chat

# %%
async def join_so_far(url, name, received, auth=None):
    client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.25)
    client.on("said", received.append)
    await running.track(f"nb03-{name}", lambda: close_client(client))
    await client.connect(url, auth=auth or {"name": name}, transports=["websocket"])
    return client


def count(who, received, said):
    got = [message["text"] for message in received if message["text"] in said]
    lost = [text for text in said if text not in got]
    print(f"{who}: lost={len(lost)} duplicated={len(got) - len(set(got))}", *lost)

# %% [markdown]
# bob talks; cy listens through a relay that is down while bob says three things:

# %%
chat_server = await serve(new_chat(), name="nb03-chat")
link = await relay(chat_server.url, name="nb03-link")
bob = await join_so_far(chat_server.url, "bob", [])
cy_got = []
cy = await join_so_far(link.url, "cy", cy_got)
said = [f"bob #{n}" for n in range(1, 8)]
for text in said[:3]:
    await bob.call("say", {"text": text}, timeout=5)
link.down()
for text in said[3:6]:
    await bob.call("say", {"text": text}, timeout=5)
link.up()
await running.wait_for(lambda: cy.connected, timeout=10)
await bob.call("say", {"text": said[6]}, timeout=5)
await running.wait_for(lambda: cy_got and cy_got[-1]["text"] == said[6], timeout=5)
count("cy", cy_got, said)

# %% [markdown]
# cy came back by herself and lost all three: socket.io keeps nothing for a client that
# is away (it delivers "at most once"). Losing nothing takes both sides: the server keeps
# its messages and replays those after the last one a returning client saw; the client
# tells it that last id, at *every* reconnection.
#
# **Predict:** two clients connect; `fixed` passes `auth={"name": "fixed", "offset":
# last_id}`, `live` passes `auth=lambda: {"name": "live", "offset": last_id}`. Then
# `last_id` becomes 6 and both lines are cut. What offsets does the server get from each?

# %%
offsets = {"fixed": [], "live": []}  # name -> the offset of each auth the server got
spy = socketio.AsyncServer(async_mode="aiohttp")
spy.on("connect", lambda sid, environ, auth: offsets[auth["name"]].append(auth["offset"]))
spy_server = await serve(spy, name="nb03-spy")
link = await relay(spy_server.url, name="nb03-link")
last_id = 0
fixed = await join_so_far(link.url, "fixed", [], auth={"name": "fixed", "offset": last_id})
live = await join_so_far(link.url, "live", [], auth=lambda: {"name": "live", "offset": last_id})
last_id = 6
link.cut()
await running.wait_for(lambda: all(len(seen) == 2 for seen in offsets.values()), timeout=10)
print(offsets)

# %% [markdown]
# `fixed`'s dict was made once, with the 0 that `last_id` was then, and python-socketio
# sends that same dict again: a server would replay everything (duplicates), or, with no
# offset at all, nothing (lost). A function is called again: "the client will invoke it
# to obtain the authentication data each time a connection or reconnection is attempted"
# (`AsyncClient.connect`'s documentation; the same for `url` and `headers`). In
# JavaScript, `io(url, { auth: (cb) => cb({ offset: lastId }) })` is called at each
# attempt too.

# %% [markdown]
# ## Exercise 2: your chat loses nothing
#
# 1. **The server**, `new_chat()` changed: keep every message in a list; in `connect`,
#    if `auth` has an `"offset"`, send that client alone (`to=sid`), in order, each
#    `said` with a greater id. (A first connection, like bob's, sends only a name.)
# 2. **The client**, `async def join(url, name, received)`: make a
#    `socketio.AsyncClient(handle_sigint=False)` (it reconnects by itself) whose `said`
#    handler appends each *new* message (the dict) to the list `received`, connect it to
#    `url` with a **callable** `auth`, `{"name": name, "offset": <the greatest id kept>}`,
#    and return it. Drop an id you have (keep a set of them): a replay can overlap what
#    arrived live (the check makes your server send one old message again).
#
# `await exercises.check_nothing_lost(new_chat(), join)` tries your server's replay with
# clients of its own, then calls `join` and drops ada's line while bob says three things;
# it prints lost=0 duplicated=0 when she has each message once, in order.
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `new_chat()` (copy it from above and change it) and `join` here,
# then run
# await exercises.check_nothing_lost(new_chat(), join)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
def new_chat():
    """Notebook 02's chat, keeping its messages and replaying them after an offset."""
    chat = socketio.AsyncServer(async_mode="aiohttp")
    history = []  # every message said, oldest first

    @chat.event
    async def connect(sid, environ, auth):
        name = (auth or {}).get("name")
        if not name:
            raise socketio.exceptions.ConnectionRefusedError("Pick a name: auth needs a 'name'.")
        await chat.save_session(sid, {"name": name})
        if "offset" in auth:  # coming back: what it missed, in order, to it alone
            for message in history:
                if message["id"] > auth["offset"]:
                    await chat.emit("said", message, to=sid)

    @chat.on("say")
    async def say(sid, data):
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text:
            return {"ok": False, "error": "say needs a text, as in {'text': 'hi'}"}
        name = (await chat.get_session(sid))["name"]
        message = {"id": len(history) + 1, "name": name, "text": text}
        history.append(message)  # kept before anyone is told
        await chat.emit("said", message)
        return {"ok": True, "id": message["id"]}

    return chat

# %% jupyter={"source_hidden": true}
async def join(url, name, received):
    client = socketio.AsyncClient(handle_sigint=False, reconnection_delay=0.25)
    kept = set()  # the ids of the messages in received

    @client.on("said")
    def said(message):
        if message["id"] not in kept:  # in kept: a copy of one we have
            kept.add(message["id"])
            received.append(message)

    await client.connect(url, transports=["websocket"],  # auth is called at each try:
                         auth=lambda: {"name": name, "offset": max(kept, default=0)})
    return client

await exercises.check_nothing_lost(new_chat(), join)

# %% [markdown]
# ## The polished version: `ChatClient` and `ChatServer`
#
# chatkit's chat (`docs/protocol.md`) is this idea, with what a classroom needs on top:
# - rooms in `auth`, next to the offset;
# - a **history id**, so that an offset from a server that restarted without its
#   database makes it replay everything;
# - a **session** secret, so that a returning client takes its name back from a
#   connection the server still thinks alive;
# - a **lock**: a message said during a replay waits until the replay is out. (In your
#   chat it can arrive in the middle of one, which is why your client keeps a set of ids
#   instead of dropping every id below the last.)
# - **pending says**: one made while offline is sent again with the same `client_id`
#   until acknowledged, and the server keeps each `client_id` once.
#
# ada asks something while her line is down:

# %%
chat = ChatServer()
await chat.start(name="nb03-chatserver")
link = await relay(chat.url, name="nb03-link")
ada = await ChatClient("ada", rooms=["lobby"], reconnect_delay=0.25).connect(link.url)
bob = await ChatClient("bob", rooms=["lobby"]).connect(chat.url)
link.down()
await running.wait_for(lambda: ada.status is Status.RECONNECTING, timeout=5)
question = asyncio.ensure_future(ada.say("lobby", "did I miss anything?"))
for n in range(1, 4):
    await bob.say("lobby", f"bob #{n}")
link.up()
print("her question, acknowledged once she is back, has id",
      await running.wait_for(question, timeout=10))

# %%
await bob.say("lobby", "bob #4")  # once it is in, so is all before it (one connection)
await running.wait_for(lambda: all(who.messages("lobby")[-1].text == "bob #4"
                                   for who in (ada, bob)), timeout=5)
count("ada", [{"text": m.text} for m in ada.messages("lobby")], [f"bob #{n}" for n in range(1, 5)])
asked = [m.text for m in bob.messages("lobby")].count("did I miss anything?")
print("bob got her question", asked, "time(s)")

# %% [markdown]
# ## Summary
#
# - `sio.disconnect(sid)` says goodbye in one namespace (JavaScript's
#   `socket.disconnect()`); `socket.disconnect(true)` ends the whole connection, in Python
#   by disconnecting the client in each namespace. `shutdown()` disconnects nobody.
#   Stopping without a goodbye (`io.close()`) lets clients come back.
# - Each side gets a reason. Python's client knows three; the JavaScript client tells a
#   cut line (`transport close`) from a silent one (`ping timeout`) and from garbage
#   (`transport error`, `parse error`). Only the heartbeat finds a silent line.
# - A client that leaves on purpose asks (`bye`); the server says goodbye, then
#   disconnects it; the `disconnect` handler runs however a client went.
# - Reconnection brings a client back at its next try, and nothing said meanwhile.
# - Resume: the server keeps messages and replays those after the client's offset; the
#   client sends its last id from a *callable* `auth`, and drops ids it has.
#
# **Further reading.** socket.io: [client](https://socket.io/docs/v4/client-socket-instance/#disconnect)
# and [server](https://socket.io/docs/v4/server-socket-instance/#disconnect) disconnect
# reasons, [reconnection options](https://socket.io/docs/v4/client-options/#reconnection),
# [delivery guarantees](https://socket.io/docs/v4/delivery-guarantees),
# [connection state recovery](https://socket.io/docs/v4/connection-state-recovery) (Node,
# 4.6+: missed packets of a short outage, kept in the server's memory). python-socketio:
# [the client](https://python-socketio.readthedocs.io/en/stable/client.html). The chat
# protocol: `docs/protocol.md`, "Resuming after a lost connection".
#
# **Next:** [04 · rooms and namespaces](04-rooms-namespaces.ipynb), where the chat splits
# into rooms and a whisper reaches one name.

# %% [markdown]
# ## Clean up
#
# Stop every client, relay and server (newest first), and check that python-socketio
# left no background task behind.

# %%
print("stopped:", await running.stop_all())
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
