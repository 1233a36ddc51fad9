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
# **What you will build.** The workshop set-up, seen from the teacher's desk: the chat
# server started as a program (`python -m chatkit serve`), a class of simulated
# students chatting in group rooms, the teacher moderating them, a crash of the server
# that loses nothing, and two server processes sharing one chat through Redis.
#
# **What you will learn.**
# - what a server exposed to a classroom network needs: a join code, a secret teacher
#   token, limits that stop a flood without the teacher's attention;
# - moderation over a second namespace, `/teacher`: rooms, announce, mute, kick;
# - why `--db` makes a restart (even a `kill -9`) lose nothing;
# - how several processes make one chat: python-socketio's Redis manager, and ids from
#   one sequence.
#
# **What you need.** Notebooks 02-05. `redis-server` for the last part (`make redis`
# installs it on Debian/Ubuntu). If you teach, read `docs/instructor-guide.md` too.

# %%
import time
from pathlib import Path

import matplotlib.pyplot as plt

from chatkit import exercises, running
from chatkit.classroom import RedisProcess, ServerProcess, simulate_class
from chatkit.client import ChatClient, ChatError, Status, TeacherClient

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
# `ServerProcess.start` runs exactly that command as a child process of this kernel and
# reads what it prints. (We keep the default host, 127.0.0.1: this computer only. A
# classroom needs `--host 0.0.0.0`, and then the server prints one address per network
# of the laptop.)

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
# `--burst`). Here `lu` sends 30 at once. Some are refused, with a sentence that says to
# slow down, and the rest of the class carries on.

# %%
results = []
for n in range(30):
    try:
        results.append(await students["lu"].say("group-c", f"spam {n}"))
    except ChatError as refusal:
        results.append(str(refusal))
refused = [r for r in results if isinstance(r, str)]
print("some of lu's messages refused:", 0 < len(refused) < 30)
await students["ivy"].say("group-c", "can we go on?")
await running.wait_for(lambda: students["jo"].messages("group-c")[-1].text == "can we go on?", 5)
print("ivy's message still arrives:", students["jo"].messages("group-c")[-1].name == "ivy")

# %% [markdown]
# ## A crash, and nothing lost
#
# With `--db`, every message is written to SQLite before the server acknowledges it. So
# we can `kill -9` the server (no goodbye to anyone, as in a crash), start it again
# on the same port with the same file, and count. The students' clients notice the lost
# connection, reconnect with back-off, and resume (notebook 03).

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
# read from the file the killed server wrote.

# %%
late = await ChatClient("mo", code="blue-fox").connect(server.url)
history = (await late.join("group-a"))["history"]
print([f"{m.name}: {m.text}" for m in history])

# %% [markdown]
# ## Two server processes, one chat: Redis
#
# One process serves a classroom well (`make bench BENCH=fanout` measures how well).
# For more, start several with the same `--redis URL`. python-socketio's
# `AsyncRedisManager` passes every broadcast to the other processes, and chatkit keeps
# messages, ids, names, kicks and mutes in Redis, so ids come from one sequence.
# Here is a real `redis-server` and two processes.

# %%
redis = await RedisProcess.start()
options = ["--join-code", "blue-fox", "--teacher-token", "owl-7-secret", "--redis", redis.url]
east = await ServerProcess.start(*options, name="east")
west = await ServerProcess.start(*options, name="west")
nia = await ChatClient("nia", code="blue-fox", rooms=["lab"]).connect(east.url)
oz = await ChatClient("oz", code="blue-fox", rooms=["lab"]).connect(west.url)
ids = [await nia.say("lab", "hi from east"), await oz.say("lab", "hi from west"),
       await nia.say("lab", "east again")]
await running.wait_for(lambda: len(nia.messages("lab")) == 3 and len(oz.messages("lab")) == 3, 10)
print("nia (east) saw:", [m.text for m in nia.messages("lab")])
print("oz (west) saw: ", [m.text for m in oz.messages("lab")])
print("one id sequence, increasing:", ids == sorted(ids) and len(set(ids)) == 3)

# %% [markdown]
# Both clients saw the three messages in the same order, the order of their ids. Across
# machines, run the processes behind a load balancer with sticky sessions (or have every
# client use WebSocket only, as chatkit's do): see the README's "Scaling out".

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
# ## Summary
#
# - A classroom server is a program: `python -m chatkit serve` prints the address, the
#   join code and the teacher token, logs who comes and goes, and stops on Ctrl-C.
# - Safety by default: loopback unless `--host` says otherwise, a join code, a secret
#   token for the teacher, limits on rate, size, students and rooms.
# - The teacher moderates over `/teacher`: rooms, announce, mute, kick.
# - `--db` writes before it acknowledges, so even `kill -9` loses nothing; clients
#   resume by themselves.
# - `--redis` makes several processes one chat, with one id sequence.
#
# **Further reading.** `docs/instructor-guide.md` (before, on the day, troubleshooting),
# `docs/protocol.md` (the `/teacher` namespace), python-socketio's
# [using a message queue](https://python-socketio.readthedocs.io/en/stable/server.html#using-a-message-queue),
# [Redis](https://redis.io/docs/latest/).
#
# **Used here:** `chatkit.classroom` (`ServerProcess`, `TeacherClient`, `RedisProcess`,
# `simulate_class`), `chatkit.client.ChatClient`, `chatkit.running`.

# %% [markdown]
# ## Exercise: an announcement for the busiest room
#
# Write `announce_to_busiest(teacher, text)`: ask the server for its rooms, pick the one
# with the most students (ties: the first in alphabetical order), and announce `text`
# there only. Check it with `await exercises.check_announce_to_busiest(announce_to_busiest)`,
# which starts a server of its own and seats two classes of different shapes in it.
# `teacher.rooms()` lists the rooms in alphabetical order.
#
# Try it yourself first; here is one solution.

# %%
async def announce_to_busiest(teacher, text):
    rooms = await teacher.rooms()
    busiest = max(rooms, key=lambda room: len(rooms[room]))  # the first of the biggest
    await teacher.announce(text, room=busiest)


await exercises.check_announce_to_busiest(announce_to_busiest)

# %% [markdown]
# ## Clean up
#
# Stop every client and process this notebook started, and check that none is left.

# %%
processes = [server, east, west]
await running.stop_all()
print("server processes still running:", sum(p.process.returncode is None for p in processes))
print("redis still running:", redis.process.returncode is None)
for file in DB_FILES:
    file.unlink(missing_ok=True)
