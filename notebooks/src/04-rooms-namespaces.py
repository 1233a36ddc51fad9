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
# # 04 · Split the conversation: namespaces, rooms, and the map of who hears what
#
# **What you will build.** One socket.io server with two namespaces, `/chat` and
# `/news`, and a few clients spread over them and over rooms. After each step a **map**
# of the server is drawn: namespaces, rooms, and who is in each, as python-socketio
# itself keeps them. Then the course's chat server, where the members of a room see each
# other come and go.
#
# **What you will learn.**
# - namespaces: separate channels on one connection ("message categories"); a client
#   connects to one, the other, or both;
# - a class-based namespace, and why per-client data goes in a *session*, never on the class;
# - rooms: join, leave, emit to a room, to several rooms at once, to everyone but the
#   sender; close a room;
# - the private room every client has, for messages to that client alone;
# - what the server can see and a client cannot, and why the chat protocol has `presence`;
# - how to be sure a message reached *nobody else*, not only the ones it should.
#
# **What you need.** Notebook 02: `emit`, `on`, acks, and `sio.emit(...)` with `to=` and
# `skip_sid=`. Everything runs on this machine, on 127.0.0.1.

# %%
import socketio

from chatkit import exercises, running
from chatkit.client import connect
from chatkit.roommap import RoomMap, snapshot
from chatkit.server import ChatServer
from chatkit.sio import serve, settle
from chatkit.tasks import leftover_tasks

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## Namespaces: channels on one connection
#
# So far every event went through socket.io's default namespace, `/`. A **namespace** is
# a channel of its own: its own handlers, its own events, its own rooms. A client chooses
# the namespaces it connects to; all of them share **one** WebSocket underneath (they are
# *multiplexed*), so a client in both `/chat` and `/news` still has a single connection.
# Namespaces separate kinds of traffic: a chat and a news ticker here, a student side
# and a teacher side in notebook 06.
#
# Handlers are registered per namespace. For `/chat` we use decorated functions, as in
# notebook 02, with `namespace="/chat"` (more of them when we get to rooms):

# %%
sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
names = {}  # sid -> name. A client has one sid in each namespace it connects to.


@sio.on("connect", namespace="/chat")
async def chat_connect(sid, environ, auth):
    names[sid] = auth["name"]

# %% [markdown]
# The same handlers can also be the methods of a class: `on_<event>` methods of a
# `socketio.AsyncNamespace`. `/news` is one. Readers `subscribe` to topics; the class
# keeps each reader's topics in its **session**. One line in it is a mistake, kept on
# purpose: we come back to it below.

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
# Now the clients. Each writes down every event it receives, per namespace, in its
# `inbox`: handlers never print (notebook 01). `namespaces=[...]` picks where a client
# connects: ada only to `/chat`, bob only to `/news`, cy to both.

# %%
clients, inboxes = {}, {}


async def new_client(name, *namespaces):
    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    inbox = inboxes[name] = []
    for ns in namespaces:
        client.on("*", lambda event, data, ns=ns: inbox.append(f"{ns} {event}: {data}"),
                  namespace=ns)
        client.on("sync", lambda: True, namespace=ns)  # for settle(), below
    await running.track(f"nb04-{name}", client.shutdown)
    await client.connect(server.url, namespaces=list(namespaces), auth={"name": name},
                         transports=["websocket"], wait_timeout=5)
    clients[name] = client

# %%
await new_client("ada", "/chat")
await new_client("bob", "/news")
await new_client("cy", "/chat", "/news")

# %% [markdown]
# ## The map
#
# python-socketio keeps, for each namespace, which client is in which room.
# `chatkit.roommap.snapshot(sio, label=...)` copies that into plain data, `{namespace:
# {room: [names]}}`; `RoomMap` draws it (printed, it is a tree). Clients who joined no
# room are listed under "(no room)".

# %%
def draw(title, **options):
    return RoomMap(snapshot(sio, label=names.get, **options), title=title)


draw("three clients, two namespaces")

# %% [markdown]
# cy appears in both namespaces: one client, one connection, but two sids, one per
# namespace (the server sees two connections to two channels):

# %%
print("cy has a different sid in each namespace:",
      clients["cy"].get_sid("/chat") != clients["cy"].get_sid("/news"))
print("bob's sid in /chat:", clients["bob"].get_sid("/chat"))

# %% [markdown]
# ## Who got what, and nobody else
#
# To show who received a message we must also be sure who did **not**. Waiting for
# "nothing" never ends, so `settle(sio, clients)` (from `chatkit.sio`) makes the server
# ask every client a question in each of its namespaces (`sio.call`; a python-socketio
# client answers any call, notebook 02) and waits for all the answers. A connection
# delivers in order: once a client has answered, everything sent to it before has
# arrived. Then `show()` prints each inbox and empties it.

# %%
async def show():
    await settle(sio, clients.values())
    for name, inbox in inboxes.items():
        print(f"{name:>3}:", " | ".join(inbox) or "-")
        inbox.clear()

# %% [markdown]
# An emit goes to one namespace; without `to=` it reaches every client of that namespace.

# %%
await sio.emit("said", "hello, chat", namespace="/chat")
await sio.emit("headline", "Rooms explained", namespace="/news")
await show()

# %% [markdown]
# A namespace the server has no handlers for does not exist: connecting to it is
# refused. The error is **on purpose**:

# %%
stray = socketio.AsyncClient(handle_sigint=False, reconnection=False)
try:
    await stray.connect(server.url, namespaces=["/sports"], transports=["websocket"],
                        wait_timeout=5)
except socketio.exceptions.ConnectionError as error:
    print("ConnectionError:", error)
await stray.shutdown()

# %% [markdown]
# ## One instance, many clients: sessions
#
# There is **one** `NewsDesk` object, the one we registered, and every client's events
# run on it. So `self.reader` is not "this client's name": it is the name of whoever
# connected last. Ask bob and cy who they are:

# %%
for name in ("bob", "cy"):
    print(f"{name}:", await clients[name].call("whoami", namespace="/news", timeout=5))

# %% [markdown]
# The session got it right for both, the attribute only for cy. Per-client data belongs
# in the **session**: `save_session(sid, data)`, `get_session(sid)`, or
# `async with self.session(sid) as session:` to change it in place. A session belongs to
# one client in one namespace and disappears when that client disconnects. (Attributes
# of the class are fine for what *all* clients share, such as a list of topics.)
#
# The topics each reader subscribed to are in their own session:

# %%
for name, topic in [("bob", "science"), ("cy", "sports"), ("cy", "science")]:
    topics = await clients[name].call("subscribe", topic, namespace="/news", timeout=5)
    print(f"{name} subscribed to {topic!r}; now reads {topics}")
draw("topics are rooms of /news")

# %% [markdown]
# ## Rooms: join, leave, and emit to a room
#
# A **room** is a named group of clients inside one namespace. Only the server puts a
# client in a room (`enter_room`) or takes it out (`leave_room`); a client can only ask,
# with an event such as `join` here. Rooms need no creating: the first `enter_room`
# makes one, and the last one to leave removes it.

# %%
@sio.on("join", namespace="/chat")
async def join(sid, room):
    await sio.enter_room(sid, room, namespace="/chat")


@sio.on("leave", namespace="/chat")
async def leave(sid, room):
    await sio.leave_room(sid, room, namespace="/chat")

# %% [markdown]
# A fourth client, dee, connects to `/chat`; then four joins:

# %%
await new_client("dee", "/chat")
for name, room in [("ada", "lobby"), ("cy", "lobby"), ("cy", "games"), ("dee", "games")]:
    await clients[name].call("join", room, namespace="/chat", timeout=5)
draw("two rooms in /chat")

# %% [markdown]
# (`call` rather than `emit`: its answer tells us the server is done, so the map is
# drawn after the joins, not during.) `to=` takes a room; a list of rooms reaches
# everyone in **any** of them, **once**: cy is in both rooms and gets one copy.

# %%
await sio.emit("said", "lunch at noon", to="lobby", namespace="/chat")
await sio.emit("said", "fire drill at 3", to=["lobby", "games"], namespace="/chat")
await show()

# %% [markdown]
# A chat message usually goes to everyone in the room **except its sender**, who knows
# what they said: `skip_sid=sid` (the JavaScript server writes `socket.to(room).emit`).

# %%
@sio.on("say", namespace="/chat")
async def say(sid, room, text):
    await sio.emit("said", f"[{room}] {names[sid]}: {text}", to=room, skip_sid=sid,
                   namespace="/chat")


await clients["cy"].call("say", ("games", "anyone for chess?"), namespace="/chat", timeout=5)
await show()

# %% [markdown]
# cy leaves the lobby. The lobby's messages no longer reach her; her other room does.

# %%
await clients["cy"].call("leave", "lobby", namespace="/chat", timeout=5)
await sio.emit("said", "the lobby closes at 6", to="lobby", namespace="/chat")
await sio.emit("said", "chess at 5", to="games", namespace="/chat")
await show()
draw("cy left the lobby")

# %% [markdown]
# `close_room` takes everyone out of a room at once, without asking them (the server
# decides). Nobody is told: clients learn about rooms only from what the server sends.

# %%
await sio.close_room("games", namespace="/chat")
draw("games closed")

# %% [markdown]
# ## Every client has a private room
#
# socket.io puts each client, in each namespace, in a room named by its own sid. That is
# what `to=sid` in notebook 02 really was: an emit to a room with one member. The map
# shows these rooms when asked, and `sio.rooms(sid, namespace)` lists a client's rooms,
# its own included (shown here by name, not by sid):

# %%
def rooms_of(name, ns="/chat"):
    sid = clients[name].get_sid(ns)
    return sorted(f"(own room of {name})" if room == sid else room
                  for room in sio.rooms(sid, namespace=ns))


print("ada:", rooms_of("ada"), "| cy in /news:", rooms_of("cy", "/news"))
draw("private rooms too", private_rooms=True)

# %% [markdown]
# A private message is an emit to that room. python-socketio guards private rooms: no
# one else can be put in one, and it cannot be closed. Both errors are **on purpose**:

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
# The server knows every room and every member; `sio.manager.get_participants(namespace,
# room)` lists a room's `(sid, engine.io sid)` pairs. A client knows **none** of this:
# there is no call that lists its rooms or their members, in python-socketio or in the
# JavaScript client (`socket.rooms` exists only on the server's side). A client cannot
# even address a room: its `emit` goes to the server, and the server decides who else
# hears it. The `TypeError` is **on purpose**:

# %%
await clients["dee"].call("join", "lobby", namespace="/chat", timeout=5)
lobby = sorted(names[sid] for sid, _ in sio.manager.get_participants("/chat", "lobby"))
print("the server knows who is in the lobby:", lobby)
try:
    await clients["ada"].emit("said", "hi lobby", to="lobby", namespace="/chat")
except TypeError as error:
    print("TypeError:", error)

# %% [markdown]
# So ada does not know that dee just walked in, unless the server tells her. That is why
# the course's [chat protocol](../docs/protocol.md) has a **`presence`** event: whenever
# a room's members change, everyone in it gets `{"room", "members"}`; and the `join` ack
# carries the members too.

# %% [markdown]
# ## Presence in the course's chat server
#
# `ChatServer` speaks that protocol on its `/chat` namespace; `ChatClient` (made by
# `connect(url, name)`) keeps every event it receives, and `next("presence")` hands them
# out in order. ada joins the lobby first; bob and cy follow (`rooms=[...]` joins right
# after connecting). The map reads the chat server's own python-socketio server,
# `chat.sio`, with the chat's names (`chat.rules.name_of(sid)`).

# %%
chat = ChatServer(ping_interval=1, ping_timeout=1)
await chat.start(name="nb04-chat")
ada = await connect(chat.url, "ada")
print("ada joins; the ack says who is here:", (await ada.join("lobby"))["members"])
bob = await connect(chat.url, "bob", rooms=["lobby"])
cy = await connect(chat.url, "cy", rooms=["lobby", "games"])
RoomMap(snapshot(chat.sio, label=chat.rules.name_of), title="the chat server")

# %% [markdown]
# Now bob leaves the lobby and cy closes her connection. ada never asked anything; she
# was told every change, in order:

# %%
await bob.leave("lobby")
await cy.disconnect()
for _ in range(5):
    print(await ada.next("presence", timeout=5))
RoomMap(snapshot(chat.sio, label=chat.rules.name_of), title="bob left, cy is gone")

# %% [markdown]
# bob is still connected, in no room: he hears nothing from the lobby any more, not even
# that cy left. What he heard while he was in it:

# %%
print(*[event for event in bob.events if event.type == "presence"], sep="\n")

# %% [markdown]
# ## Summary
#
# - A **namespace** is a channel with its own handlers, events and rooms; a client
#   connects to the ones it names, all over one connection, with one sid in each. An
#   emit reaches one namespace; a namespace with no handlers refuses connections.
# - A class-based namespace (`socketio.AsyncNamespace`, methods `on_<event>`) has **one
#   instance for all clients**: per-client data goes in the session (`save_session`,
#   `get_session`, `async with self.session(sid)`), which dies with the connection.
# - A **room** is a group inside a namespace that only the server manages:
#   `enter_room`, `leave_room`, `close_room`. `emit(..., to=room)` reaches its members,
#   `to=[rooms]` each member of any of them once, `skip_sid=sid` all but the sender.
# - Every client has a **private room** named by its sid; `to=sid` is a private message;
#   `sio.rooms(sid, namespace)` lists a client's rooms.
# - The server sees all rooms and members; a client sees nothing it is not told. Hence
#   `presence` in the chat protocol, and the members in the `join` ack.
# - To show that a message reached nobody else, wait for something sent *after* it to
#   reach everyone (`settle`): one connection delivers in order.
#
# **Further reading**
# - python-socketio, the server guide: [namespaces](https://python-socketio.readthedocs.io/en/stable/server.html#namespaces),
#   [class-based namespaces](https://python-socketio.readthedocs.io/en/stable/server.html#class-based-namespaces),
#   [rooms](https://python-socketio.readthedocs.io/en/stable/server.html#rooms),
#   [user sessions](https://python-socketio.readthedocs.io/en/stable/server.html#user-sessions).
# - socket.io: [namespaces](https://socket.io/docs/v4/namespaces/),
#   [rooms](https://socket.io/docs/v4/rooms/),
#   [broadcasting](https://socket.io/docs/v4/broadcasting-events/).
# - The course's [chat protocol](../docs/protocol.md): `join`, `leave`, `say`, `presence`.
# - Used here: `socketio.AsyncServer` (`on`, `register_namespace`, `emit` with `to` and
#   `skip_sid`, `call`, `enter_room`, `leave_room`, `close_room`, `rooms`,
#   `manager.get_participants`), `socketio.AsyncNamespace` (`save_session`,
#   `get_session`, `session`), `socketio.AsyncClient` (`connect` with `namespaces`,
#   `get_sid`, `call`); `chatkit.roommap.snapshot`, `RoomMap`; `chatkit.sio.serve`,
#   `settle`; `chatkit.tasks.leftover_tasks`; `chatkit.server.ChatServer`;
#   `chatkit.client.connect` (`join`, `leave`, `next`, `events`); `chatkit.running.track`,
#   `wait_for`, `stop_all`; `chatkit.exercises.check_rooms_and_whispers`.
#
# **Next:** notebook 05, a chat panel in the notebook, two users side by side.

# %% [markdown]
# ## Exercise: rooms that answer, and whispers
#
# Write a socket.io server `ex` (a new `socketio.AsyncServer(async_mode="aiohttp")`)
# whose **`/chat`** namespace has:
# 1. **`join`**, with a room name: put the client in that room, and answer (the ack) with
#    the **sorted names** of everyone in the room now, the client included. Clients
#    connect with `auth={"name": ...}`.
# 2. **`whisper`**, with two arguments, a name and a text: the client of that name, and
#    nobody else, gets a `whispered` event with `{"from": <sender's name>, "text": text}`.
#    Answer `True`, or `False` when nobody of that name is connected (any more).
#
# Don't serve it: `exercises.check_rooms_and_whispers(ex)` serves it on a free port,
# connects four clients, tries both events (and a client who left) and tells you what
# is wrong, if anything.
#
# **Try it yourself first** (in a new cell, or replace the solution below with your own).
# Here is one solution, in two cells:

# %%
# SOLUTION (try it yourself first: replace this cell and the next with your own code)
ex = socketio.AsyncServer(async_mode="aiohttp")
ex_names = {}  # sid -> name, for every client connected to /chat


@ex.on("connect", namespace="/chat")
async def ex_connect(sid, environ, auth):
    ex_names[sid] = auth["name"]


@ex.on("disconnect", namespace="/chat")
async def ex_disconnect(sid, reason):
    del ex_names[sid]  # or a whisper to someone gone would answer True

# %%
# SOLUTION, continued
@ex.on("join", namespace="/chat")
async def ex_join(sid, room):
    await ex.enter_room(sid, room, namespace="/chat")
    return sorted(ex_names[other] for other, _ in ex.manager.get_participants("/chat", room))


@ex.on("whisper", namespace="/chat")
async def ex_whisper(sid, to_name, text):
    for other, name in ex_names.items():
        if name == to_name:  # `other` is the sid: the name of that client's own room
            await ex.emit("whispered", {"from": ex_names[sid], "text": text}, to=other,
                          namespace="/chat")
            return True
    return False

# %%
await exercises.check_rooms_and_whispers(ex)

# %% [markdown]
# ## Clean up
#
# Stop every client and both servers (newest first, so clients leave before the servers
# go), and check that python-socketio left no background task behind.

# %%
print("stopped:", await running.stop_all())
await running.wait_for(lambda: not leftover_tasks(), timeout=5, what="no socket.io task")
print("socket.io tasks left:", len(leftover_tasks()))
