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
# # 04 · Split the conversation: namespaces, rooms, and who hears what
#
# **About 60 minutes: 30 teaching, 30 exercises.**
#
# **What you will build.** Your chat from notebook 02 grows rooms and a whisper: `join` a
# room, `say` something that only that room hears, `whisper` to one person by name.
# First, a server with two namespaces and a few clients, and after each step a **map** of
# who is where, drawn from python-socketio's own bookkeeping.
#
# **What you will learn.**
# - namespaces: channels that share one connection, and which ones a server accepts;
# - class-based namespaces, and why per-client data goes in the *session*;
# - rooms: join, leave, emit to one room or several, to all but the sender; the private
#   room every client has;
# - what the server sees and a client does not, and why the chat protocol has `presence`;
# - the same lines in JavaScript (socket.io 4), server and browser; and this page joining
#   a room itself.
#
# **What you need.** Notebook 02: `emit`, `on`, acks, `to=`, `skip_sid=`, and your chat
# (a cell below rebuilds it). Everything runs on this machine, on 127.0.0.1.

# %%
import socketio

from chatkit import exercises, running
from chatkit.client import ChatError, connect
from chatkit.pagecode import PageCode, from_this_computer
from chatkit.roommap import RoomMap, snapshot
from chatkit.server import ChatServer
from chatkit.sio import serve, settle
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## Namespaces: channels on one connection
#
# So far every event went through socket.io's default namespace, `/`. A **namespace** is
# a channel of its own, with its own handlers, events and rooms. A client picks the
# namespaces it connects to; all of them share **one** WebSocket (they are
# *multiplexed*). Namespaces separate kinds of traffic: a chat and a news ticker here, a
# student side and a teacher side in notebook 06.
#
# For `/chat` we register decorated functions, as in notebook 02, with
# `namespace="/chat"`:

# %%
sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
names = {}  # sid -> name. A client has one sid in each namespace it connects to.


@sio.on("connect", namespace="/chat")
async def chat_connect(sid, environ, auth):
    names[sid] = auth["name"]

# %% [markdown]
# The same handlers can be the `on_<event>` methods of a `socketio.AsyncNamespace`
# class. `/news` is one: readers `subscribe` to topics, kept in each reader's
# **session**. One line in it is a mistake, kept on purpose; we come back to it.

# %%
class NewsDesk(socketio.AsyncNamespace):
    """/news: readers subscribe to topics (rooms of this namespace) and get headlines."""

    async def on_connect(self, sid, environ, auth):
        names[sid] = auth["name"]
        await self.save_session(sid, {"name": auth["name"], "topics": []})
        self.reader = auth["name"]  # THE MISTAKE: one instance serves every client

    async def on_subscribe(self, sid, topic):
        await self.enter_room(sid, topic)
        async with self.session(sid) as session:  # saved back at the end of the block
            session["topics"].append(topic)
            return session["topics"]

    async def on_whoami(self, sid):
        session = await self.get_session(sid)
        return {"session says": session["name"], "self.reader says": self.reader}

# %%
sio.register_namespace(NewsDesk("/news"))
server = await serve(sio, name="nb04")
print(server.url)

# %% [markdown]
# Each client writes every event it gets into its `inbox` (handlers never print).
# `namespaces=[...]` picks where it connects: ada only to `/chat`, bob only to `/news`,
# cy to both.

# %%
clients, inboxes = {}, {}


async def new_client(key, *namespaces, name=None):
    """Connect a client called `name` (default: `key`) to `namespaces`, as clients[key]."""
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    inbox = inboxes[key] = []
    for ns in namespaces:
        client.on("*", lambda event, data, ns=ns: inbox.append(f"{ns} {event}: {data}"),
                  namespace=ns)
        client.on("sync", lambda: True, namespace=ns)  # for settle(), below
    await running.track(f"nb04-{key}", client.shutdown)
    await client.connect(server.url, namespaces=list(namespaces), auth={"name": name or key},
                         transports=["websocket"], wait_timeout=5)
    clients[key] = client

# %%
await new_client("ada", "/chat")
await new_client("bob", "/news")
await new_client("cy", "/chat", "/news")

# %% [markdown]
# ## The map
#
# python-socketio keeps, for each namespace, which client is in which room.
# `chatkit.roommap.snapshot(sio, label=...)` copies that into plain data, `{namespace:
# {room: [names]}}`, and `RoomMap` draws it (printed, it is a tree). Clients in no room
# are listed under "(no room)".

# %%
def draw(title, **options):
    return RoomMap(snapshot(sio, label=names.get, **options), title=title)


draw("three clients, two namespaces")

# %% [markdown]
# cy is in both namespaces over one connection, with one sid in each:

# %%
print("cy has a different sid in each namespace:",
      clients["cy"].get_sid("/chat") != clients["cy"].get_sid("/news"))
print("bob's sid in /chat:", clients["bob"].get_sid("/chat"))

# %% [markdown]
# ## Who got what, and nobody else
#
# To show who received a message we must also be sure who did **not**, and waiting for
# "nothing" never ends. So `settle(sio, clients)` (from `chatkit.sio`) has the server
# call every client once in each of its namespaces and waits for all the answers. One
# connection delivers in order: once a client has answered, everything sent to it before
# has arrived. `show()` then prints each inbox and empties it.

# %%
async def show():
    await settle(sio, clients.values())
    for key, inbox in inboxes.items():
        print(f"{key:>3}:", " | ".join(inbox) or "-")
        inbox.clear()

# %% [markdown]
# An emit goes to one namespace; without `to=` it reaches every client of that namespace.

# %%
await sio.emit("said", "hello, chat", namespace="/chat")
await sio.emit("headline", "Rooms explained", namespace="/news")
await show()

# %% [markdown]
# ## Which namespaces does a server accept?
#
# `knock(url, namespace)` connects a throwaway client to one namespace and says whether
# it got in; a refusal comes with the server's `connect_error` message.
#
# **Predict:** our server has handlers for `/chat` and `/news` only. Will a client get
# into `/`, which has no handler at all? Into `/sports`?

# %%
async def knock(url, namespace):
    refusals = []
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    client.on("connect_error", refusals.append, namespace=namespace)
    try:
        await client.connect(url, namespaces=[namespace], auth={"name": "knocker"},
                             transports=["websocket"], wait_timeout=5)
        return "accepted"
    except socketio.exceptions.ConnectionError:
        return f"refused, connect_error {refusals}"
    finally:
        await client.shutdown()


for namespace in ["/", "/chat", "/sports"]:
    print(f"{namespace:8}", await knock(server.url, namespace))

# %% [markdown]
# `/` is accepted with no handler; `/sports` is refused. The rule (python-socketio 5,
# `AsyncServer._handle_connect`): a namespace is accepted when it has handlers (`on(...,
# namespace=)` or a registered `AsyncNamespace`), or is listed in the server's
# `namespaces=` option, or that option is `"*"`. The default is `namespaces=["/"]`;
# a list of your own replaces it, and then `/` needs handlers too. A server that takes
# any namespace:

# %%
open_sio = socketio.AsyncServer(async_mode="aiohttp", namespaces="*")
open_server = await serve(open_sio, name="nb04-open")
print("/sports with namespaces='*':", await knock(open_server.url, "/sports"))

# %% [markdown]
# A namespace that is accepted but has no handlers ignores every event sent to it. (A
# Node server refuses an unknown namespace too, with "Invalid namespace"; `io.of(name)`
# creates one, and `io.of(/^\/\w+$/)` accepts every name that matches.)
#
# ## One instance, many clients: sessions
#
# There is **one** `NewsDesk` object, the one we registered, and every client's events
# run on it. So `self.reader` is not "this client's name": it is whoever connected last.

# %%
for key in ("bob", "cy"):
    print(f"{key}:", await clients[key].call("whoami", namespace="/news", timeout=5))

# %% [markdown]
# The session is right for both, the attribute only for cy. Per-client data belongs in
# the **session**: `save_session(sid, data)`, `get_session(sid)`, or
# `async with self.session(sid) as session:` to change it in place. A session belongs to
# one client in one namespace and goes when its connection closes. (Class attributes
# are fine for what *all* clients share.) Each reader's topics are in their session:

# %%
for key, topic in [("bob", "science"), ("cy", "sports"), ("cy", "science")]:
    topics = await clients[key].call("subscribe", topic, namespace="/news", timeout=5)
    print(f"{key} subscribed to {topic!r}; now reads {topics}")
draw("topics are rooms of /news")

# %% [markdown]
# ## Rooms: join, leave, and emit to a room
#
# A **room** is a named group of clients inside one namespace. Only the server puts a
# client in a room (`enter_room`) or takes it out (`leave_room`); a client can only ask,
# with an event such as `join`. Rooms need no creating: the first `enter_room` makes one,
# and the last to leave removes it. As in the course's chat protocol, each event carries
# one dict:

# %%
@sio.on("join", namespace="/chat")
async def join(sid, data):
    await sio.enter_room(sid, data["room"], namespace="/chat")


@sio.on("leave", namespace="/chat")
async def leave(sid, data):
    await sio.leave_room(sid, data["room"], namespace="/chat")

# %%
await new_client("dee", "/chat")
for key, room in [("ada", "lobby"), ("cy", "lobby"), ("cy", "games"), ("dee", "games")]:
    await clients[key].call("join", {"room": room}, namespace="/chat", timeout=5)
draw("two rooms in /chat")

# %% [markdown]
# (`call`, not `emit`: its answer means the server is done, so the map is drawn after the
# joins.) `to=` takes a room; a list of rooms reaches everyone in **any** of them,
# **once**: cy is in both and gets one copy.

# %%
await sio.emit("said", "lunch at noon", to="lobby", namespace="/chat")
await sio.emit("said", "fire drill at 3", to=["lobby", "games"], namespace="/chat")
await show()

# %% [markdown]
# `skip_sid=sid` reaches everyone in the room but the sender (JavaScript:
# `socket.to(room).emit`). Here is a `say` that uses it.
#
# **Predict:** cy has the chat open in a second tab: a second connection, in `games` too.
# She says something from her first tab. Does her second tab get it?

# %%
@sio.on("say", namespace="/chat")
async def say(sid, data):
    line = f"[{data['room']}] {names[sid]}: {data['text']}"
    await sio.emit("said", line, to=data["room"], skip_sid=sid, namespace="/chat")


await new_client("cy-tab2", "/chat", name="cy")
await clients["cy-tab2"].call("join", {"room": "games"}, namespace="/chat", timeout=5)
await clients["cy"].call("say", {"room": "games", "text": "chess?"}, namespace="/chat",
                         timeout=5)
await show()

# %% [markdown]
# It does. `skip_sid` skips one *connection*, not one person (so does JavaScript's
# `socket.to(room)`): the server knows sids, and "cy" is just a name two of them sent. That is one reason the course's chat sends
# `said` to the whole room, the sender included: every tab shows each message once, with
# the id the server gave it.
#
# cy closes her second tab and leaves the lobby. The lobby no longer reaches her; `games`
# does.

# %%
await running.stop("nb04-cy-tab2")  # cy closes her second tab
clients.pop("cy-tab2", None)
inboxes.pop("cy-tab2", None)
await clients["cy"].call("leave", {"room": "lobby"}, namespace="/chat", timeout=5)
await sio.emit("said", "the lobby closes at 6", to="lobby", namespace="/chat")
await sio.emit("said", "chess at 5", to="games", namespace="/chat")
await show()
draw("cy left the lobby")

# %% [markdown]
# `close_room` takes everyone out of a room at once, without asking them. Nobody is
# told: clients learn about rooms only from what the server sends.

# %%
await sio.close_room("games", namespace="/chat")
draw("games closed")

# %% [markdown]
# ## Every client has a private room
#
# `sio.rooms(sid, namespace)` lists the rooms a client is in (`rooms_of` below shows
# them by name, not by sid).
#
# **Predict:** ada joined one room, `lobby`. How many rooms does `sio.rooms` list for her?

# %%
def rooms_of(key, ns="/chat"):
    sid = clients[key].get_sid(ns)
    return sorted(f"(own room of {key})" if room == sid else room
                  for room in sio.rooms(sid, namespace=ns))


print("ada:", rooms_of("ada"), "| cy in /news:", rooms_of("cy", "/news"))
draw("private rooms too", private_rooms=True)

# %% [markdown]
# Two: socket.io puts each client, in each namespace, in a room named by its own sid.
# That is what `to=sid` in notebook 02 was: an emit to a room with one member. So a
# private message is an emit to that room. python-socketio guards private rooms: no one
# else can be put in one, and it cannot be closed. Both errors are **on purpose**:

# %%
dee_sid = clients["dee"].get_sid("/chat")
await sio.emit("said", "psst, dee: you won the chess", to=dee_sid, namespace="/chat")
await show()
try:
    await sio.enter_room(clients["ada"].get_sid("/chat"), dee_sid, namespace="/chat")
except ValueError as error:
    print("putting ada in dee's room -> ValueError:", error)
try:
    await sio.close_room(dee_sid, namespace="/chat")
except ValueError as error:
    print("closing dee's room -> ValueError:", error)

# %% [markdown]
# ## What the server sees, and a client does not
#
# The server knows every room and member: `sio.manager.get_participants(namespace, room)`
# lists a room's `(sid, engine.io sid)` pairs. A client knows **none** of this: no call
# lists its rooms or their members, in python-socketio or in the JavaScript client
# (`socket.rooms` exists only on the server). A client cannot even address a room: its
# `emit` goes to the server, which decides who else hears it. The `TypeError` is **on
# purpose**:

# %%
await clients["dee"].call("join", {"room": "lobby"}, namespace="/chat", timeout=5)
lobby = sorted(names[sid] for sid, _ in sio.manager.get_participants("/chat", "lobby"))
print("the server knows who is in the lobby:", lobby)
try:
    await clients["ada"].emit("said", "hi lobby", to="lobby", namespace="/chat")
except TypeError as error:
    print("TypeError:", error)

# %% [markdown]
# So ada does not know that dee just walked in unless the server tells her. That is why
# the course's [chat protocol](../docs/protocol.md) has a **`presence`** event (whenever
# a room's members change, everyone in it gets `{"room", "members"}`), and why its
# `join` ack carries the members.
#
# ## The same in JavaScript
#
# A Node server (`socket.io` 4) and a browser (`socket.io-client` 4) say the same things;
# notebook 02 paired the basic calls. Each JavaScript line here was run against socket.io
# 4.8:
#
# | what | Python (python-socketio) | JavaScript (socket.io 4) |
# |---|---|---|
# | connect to a namespace | `await client.connect(url, namespaces=["/chat"])` | `const socket = io(url + "/chat")` |
# | ask, with an answer | `await client.call("join", {"room": "lobby"}, namespace="/chat")` | `socket.emit("join", { room: "lobby" }, (ack) => ...)` |
# | a namespace's handlers | `@sio.on("join", namespace="/chat")`, or an `AsyncNamespace("/chat")` | `io.of("/chat").on("connection", (socket) => ...)` |
# | put a client in a room | `await sio.enter_room(sid, room, namespace="/chat")` | `socket.join(room)` |
# | take it out | `await sio.leave_room(sid, room, namespace="/chat")` | `socket.leave(room)` |
# | the whole room | `await sio.emit("said", msg, to=room, namespace="/chat")` | `io.of("/chat").to(room).emit("said", msg)` (`io.to(room)` on `/`) |
# | the room but the sender | `..., to=room, skip_sid=sid, ...` | `socket.to(room).emit("said", msg)` |
# | several rooms, once each | `to=["lobby", "games"]` | `io.of("/chat").to(["lobby", "games"]).emit(...)` |
# | one client | `to=sid` | `io.of("/chat").to(socket.id).emit(...)` |
# | a client's rooms | `sio.rooms(sid, namespace="/chat")` | `socket.rooms` (a `Set`, server side) |
# | who is in a room | `sio.manager.get_participants("/chat", room)` | `await io.of("/chat").in(room).fetchSockets()` |
# | empty a room | `await sio.close_room(room, namespace="/chat")` | `io.of("/chat").in(room).socketsLeave(room)` |
# | per-client data | `save_session`, `get_session` | `socket.data` |
# | another namespace | `@sio.on("connect", namespace="/teacher")` | `io.of("/teacher")` |
#
# In Node each connection gets its own closures: `socket` (and `name` below) belong to
# that one client. In Python one handler serves every client and tells them apart by
# `sid`, which is why our handlers look names up in a dict. A Node version of the chat's
# rooms:
#
# ```js
# const chat = io.of("/chat");
# chat.on("connection", (socket) => {
#   const name = socket.handshake.auth.name;          // this client's, for all its handlers
#   socket.on("join", ({ room }, ack) => { socket.join(room); ack({ ok: true, room }); });
#   socket.on("say", ({ room, text }) => chat.to(room).emit("said", { room, name, text }));
# });
# const teacher = io.of("/teacher");                    // its own handlers, its own rooms
# teacher.use((socket, next) =>                         // refuse a connection: connect_error
#   socket.handshake.auth.token === TOKEN ? next() : next(new Error("wrong token")));
# ```
#
# And a page that uses it:
#
# ```js
# const socket = io("http://127.0.0.1:PORT/chat", { auth: { name: "ada" } });
# socket.emit("join", { room: "lobby" }, (ack) => console.log("in", ack.room));
# socket.on("said", (msg) => console.log(`[${msg.room}] ${msg.name}: ${msg.text}`));
# ```
#
# (Against python-socketio, a page knocking on an unknown namespace gets a
# `connect_error` whose `message` is empty: the server sends the bare text "Unable to
# connect" where socket.io-client reads `{message}`.)

# %% [markdown]
# ## Your chat so far
#
# Notebook 02's chat, moved to the `/chat` namespace (every `on` and `emit` names it):
# `auth={"name"}` on connect, `say {"text"}` acked `{"ok": True, "id": n}`, everyone gets
# `said {"id", "name", "text"}`. (Notebook 03's replay is left out, to keep it short.)
# Names are kept by sid in a dict, which the whisper will search. Paste your own instead
# if you like, with `namespace=CHAT` added. The exercises grow this server, `my_chat`.

# %%
CHAT = "/chat"
my_chat = socketio.AsyncServer(async_mode="aiohttp")
my_names = {}     # sid -> name, of everyone connected to /chat
my_messages = []  # every message said; its id is its place in this list: 1, 2, 3...


@my_chat.on("connect", namespace=CHAT)
async def my_connect(sid, environ, auth):
    if not (auth or {}).get("name"):
        raise socketio.exceptions.ConnectionRefusedError("Pick a name: auth needs a 'name'.")
    my_names[sid] = auth["name"]


@my_chat.on("disconnect", namespace=CHAT)
async def my_disconnect(sid, reason):
    my_names.pop(sid, None)

# %%
@my_chat.on("say", namespace=CHAT)
async def my_say(sid, data):
    text = data.get("text") if isinstance(data, dict) else None
    if not isinstance(text, str) or not text:
        return {"ok": False, "error": "say needs a text, as in {'text': 'hi'}"}
    message = {"id": len(my_messages) + 1, "name": my_names[sid], "text": text}
    my_messages.append(message)
    await my_chat.emit("said", message, namespace=CHAT)  # everyone: exercise 2 changes it
    return {"ok": True, "id": message["id"]}

# %% [markdown]
# ## Exercise 1: join a room, and hear who is there
#
# Add a `join` handler to `my_chat`. A client calls `join` with `{"room": "lobby"}`:
# put it in that room, and answer `{"ok": True, "room": "lobby", "members": [...]}`, the
# **sorted names** of everyone in the room now, the newcomer included (the server can
# list a room: `my_chat.manager.get_participants(CHAT, room)`). A missing or empty room
# is answered `{"ok": False, "error": "<a sentence>"}`, and the client stays where it was.
#
# `await exercises.check_join(my_chat)` serves your server on a free port, connects
# alice, bob and carol, tries four joins and two bad ones, and says what is wrong, if
# anything.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `join` here (@my_chat.on("join", namespace=CHAT)), then run
# await exercises.check_join(my_chat)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
@my_chat.on("join", namespace=CHAT)
async def my_join(sid, data):
    room = data.get("room") if isinstance(data, dict) else None
    if not isinstance(room, str) or not room:
        return {"ok": False, "error": "join needs a room name"}
    await my_chat.enter_room(sid, room, namespace=CHAT)
    members = [my_names[other] for other, _ in my_chat.manager.get_participants(CHAT, room)]
    return {"ok": True, "room": room, "members": sorted(members)}


await exercises.check_join(my_chat)

# %% [markdown]
# ## Exercise 2: talk in a room, whisper to one
#
# Change `say` and add `whisper`, both on `my_chat`:
# 1. **`say {"room", "text"}`**: every member of that room, the sender included, and
#    nobody else, gets `said {"id", "room", "name", "text"}`; the ack stays `{"ok": True,
#    "id": n}`. A `say` in a room the sender has not joined is refused with `{"ok": False,
#    "error": ...}` and reaches nobody.
# 2. **`whisper {"to", "text"}`**: only the person named `to` gets `whispered {"name":
#    <the sender's name>, "text"}`; the ack is `{"ok": True}`, or `{"ok": False, "error":
#    ...}` when nobody of that name is connected.
#
# `await exercises.check_rooms_and_whispers(my_chat)` connects alice, bob, carol and
# dave, puts alice and bob in "lobby" and carol in "games", and tries both events.
# (Passing chatkit's `ChatServer` is refused: that is the polished version, shown next.)
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `say` and `whisper` here, then run
# await exercises.check_rooms_and_whispers(my_chat)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
@my_chat.on("say", namespace=CHAT)
async def my_say(sid, data):
    room, text = data.get("room"), data.get("text")
    if room not in my_chat.rooms(sid, namespace=CHAT):
        return {"ok": False, "error": f"join {room!r} before you say something there"}
    if not isinstance(text, str) or not text:
        return {"ok": False, "error": "say needs a text"}
    message = {"id": len(my_messages) + 1, "room": room, "name": my_names[sid], "text": text}
    my_messages.append(message)
    await my_chat.emit("said", message, to=room, namespace=CHAT)  # the sender is a member
    return {"ok": True, "id": message["id"]}

# %% jupyter={"source_hidden": true}
@my_chat.on("whisper", namespace=CHAT)
async def my_whisper(sid, data):
    for other, name in my_names.items():
        if name == data.get("to"):  # `other` is that client's sid: the name of its own room
            whisper = {"name": my_names[sid], "text": data.get("text")}
            await my_chat.emit("whispered", whisper, to=other, namespace=CHAT)
            return {"ok": True}
    return {"ok": False, "error": f"nobody called {data.get('to')!r} is here"}


await exercises.check_rooms_and_whispers(my_chat)

# %% [markdown]
# ## The polished version: chatkit's ChatServer
#
# `ChatServer` speaks your chat's protocol on `/chat` (without the whisper) and adds what a
# class needs: the `join` ack carries the room's **history** (its last 100 messages) with
# its members; each change of a room's members is a **`presence`** event to the room;
# names, rooms and texts have **limits**, each refusal a sentence. `connect(url, name)`
# gives a `ChatClient` that keeps every event it gets (`rooms=[...]` joins at once).

# %%
chat = ChatServer(ping_interval=1, ping_timeout=1,
                  cors_allowed_origins=from_this_computer)  # this page too (the end)
await chat.start(name="nb04-chat")
ada = await connect(chat.url, "ada", rooms=["lobby"])
print("ada says, and gets id", await ada.say("lobby", "hello, lobby"))
bob = await connect(chat.url, "bob")
joined = await bob.join("lobby")
print("bob joins; members:", joined["members"], "| history:", *joined["history"])
RoomMap(snapshot(chat.sio, label=chat.rules.name_of), title="the chat server")

# %% [markdown]
# The map reads the chat server's own python-socketio server, `chat.sio`. Now the limits,
# each refused with a sentence (`ChatError`); then bob closes his connection, and ada,
# who never asked, has been told every change in order:

# %%
for attempt in [bob.join("lobby!"), bob.say("lobby", "x" * 2001), bob.say("games", "hi")]:
    try:
        await attempt
    except ChatError as refused:
        print("refused:", refused)
await bob.disconnect()
await running.wait_for(lambda: str(ada.events[-1]) == "[lobby] here: ada", timeout=5)
print(*ada.events, sep="\n")

# %% [markdown]
# ## This page joins the lobby
#
# The same protocol from JavaScript, run by this page (`PageCode`, notebook 01; `io` is
# the official client). The namespace is part of the URL, as in the table above. The
# server accepts the page because it was made with
# `cors_allowed_origins=from_this_computer` (notebook 02: pages of this computer only).

# %%
page = PageCode("""
const socket = io(url + "/chat", { auth: { name: "page" } });
socket.on("said", (message) => log("said", `${message.name}: ${message.text}`));
socket.on("presence", (presence) => log("presence", presence.room, presence.members));
const joined = await socket.emitWithAck("join", { room: "lobby" });
log("joined", joined.room, "members", joined.members);
for (const message of joined.history) log("history", `${message.name}: ${message.text}`);
await socket.emitWithAck("say", { room: "lobby", text: "hello from the page" });
""", url=chat.url, beside=ada.events, title="the page, in /chat")
page

# %% [markdown]
# In JupyterLab the page joins with ada there, gets the lobby's history (ada's "hello,
# lobby") and says hello, which ada receives like any `said`: `ada.events[-1]` in a cell
# of your own. (No browser, as in the course's tests: the column stays empty.) Try a
# name that is taken, `"ada"`: the widget shows the server's refusal, in its words.

# %% [markdown]
# ## Summary
#
# - A **namespace** is a channel with its own handlers, events and rooms; a client
#   connects to the ones it names, over one connection, with one sid in each. A
#   python-socketio server accepts `/` by default, any namespace it has handlers for, those
#   listed in `namespaces=`, and all of them with `namespaces="*"`; it refuses the rest.
# - A class-based namespace (`socketio.AsyncNamespace`, methods `on_<event>`) has **one
#   instance for all clients**: per-client data goes in the session.
# - A **room** is a group inside a namespace that only the server manages:
#   `enter_room`, `leave_room`, `close_room`. `to=room` reaches its members, `to=[rooms]`
#   each member of any of them once, `skip_sid=sid` all but that one *connection*.
# - Every client has a **private room** named by its sid: `to=sid` is a private message.
#   A whisper by name looks the sid up first.
# - The server sees all rooms and members; a client sees nothing it is not told: hence
#   `presence` and the members in the `join` ack.
# - To show that a message reached nobody else, wait until something sent *after* it has
#   reached everyone (`settle`): one connection delivers in order.
#
# **Further reading**
# - python-socketio, the server guide: [namespaces](https://python-socketio.readthedocs.io/en/stable/server.html#namespaces),
#   [class-based namespaces](https://python-socketio.readthedocs.io/en/stable/server.html#class-based-namespaces),
#   [rooms](https://python-socketio.readthedocs.io/en/stable/server.html#rooms),
#   [user sessions](https://python-socketio.readthedocs.io/en/stable/server.html#user-sessions).
# - socket.io: [namespaces](https://socket.io/docs/v4/namespaces/),
#   [rooms](https://socket.io/docs/v4/rooms/),
#   [broadcasting](https://socket.io/docs/v4/broadcasting-events/),
#   [the emit cheatsheet](https://socket.io/docs/v4/emit-cheatsheet/).
# - The course's [chat protocol](../docs/protocol.md): `join`, `leave`, `say`, `presence`.
#   Disconnecting a client from one namespace or from all of them, `disconnect(true)`:
#   notebook 03.
# - Used here: `socketio.AsyncServer` (`on`, `register_namespace`, `namespaces=`, `emit`
#   with `to` and `skip_sid`, `enter_room`, `leave_room`, `close_room`, `rooms`,
#   `manager.get_participants`), `socketio.AsyncNamespace` (`save_session`,
#   `get_session`, `session`), `socketio.AsyncClient` (`connect` with `namespaces`,
#   `get_sid`, `call`); `chatkit.roommap.snapshot`, `RoomMap`; `chatkit.sio.serve`,
#   `settle`; `chatkit.server.ChatServer`; `chatkit.client.connect`; `chatkit.running`;
#   `chatkit.exercises.check_join`, `check_rooms_and_whispers`.
#
# **Next:** [05 · a live chat panel](05-live-chat-panel.ipynb), where your chat gets a
# face: your own ipywidgets panel, driven by `said` events, then chatkit's `ChatPanel`.

# %% [markdown]
# ## Clean up
#
# Stop every client and server (newest first, so clients leave before the servers go),
# and check that python-socketio left no background task behind.

# %%
print("stopped:", await running.stop_all())
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
