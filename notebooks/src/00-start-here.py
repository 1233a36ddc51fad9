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
# # 00 · Start here: check your set-up and measure why servers push
#
# **About 30 minutes: 20 teaching, 10 exercises.**
#
# **What you will build.** Nothing big yet: a check that this notebook's kernel can run
# servers, then a small experiment. A value changes at irregular moments on a server;
# four clients follow it, three by asking again and again over HTTP (*polling*) and one
# by keeping a WebSocket open so that the server tells it (*push*). You will measure, on
# this machine, how out of date each client is and what each one costs.
#
# **What you will learn.**
# - what the course builds, notebook by notebook;
# - that a server can run *inside* a notebook kernel, next to the code that talks to it;
# - what *staleness* is, why polling cannot avoid it, and what push costs instead;
# - how to read a measurement that varies from run to run without being fooled by it.
#
# **What you need.** Python 3.11 or newer and the course's packages (`make lab` installs
# them), and basic Python. `await` in a cell is explained as we go: a notebook cell can
# `await` directly, because the kernel runs an event loop.

# %% [markdown]
# ## The course
#
# You start with a single raw WebSocket and end with a chat panel in your notebook,
# talking to your classmates through a server your teacher runs.
#
# | notebook | you build | you learn |
# |---|---|---|
# | **00 · start here** | a measurement of polling versus push | why servers push; your set-up works |
# | 01 · raw WebSocket | your chat, as JSON over a raw WebSocket | the handshake, open / message / close / error, close codes, subprotocols, `ws://` and `wss://` |
# | 02 · socket.io `emit` and `on` | the same chat on socket.io | named events, acknowledgements, reserved names, long-polling and the upgrade |
# | 03 · disconnects | your chat loses nothing across a dropped line | who disconnects whom and why, reconnection, resuming |
# | 04 · rooms and namespaces | rooms and a whisper in your chat | who hears what |
# | 05 · live chat panel | your own chat window in the notebook | ipywidgets driven by events |
# | 06 · classroom | a moderation rule on the teacher's server | join codes, moderation, persistence, scaling out |
#
# From 01 on you grow **one chat**, a piece per notebook; each notebook rebuilds what it
# needs of the previous one, so you can start anywhere. The package `chatkit` (in this
# repository) holds what you should not have to retype. Each module holds one idea and
# says in its first lines which notebook introduces it; open them, they are short. This notebook uses `chatkit.running` (servers inside the
# kernel), `chatkit.websocket` (a WebSocket client) and `chatkit.polling` (the
# experiment).
#
# The whole course is also in Chinese, cell for cell: **[中文版](zh/00-start-here.ipynb)**
# (the folder `zh/` beside these notebooks).

# %% [markdown]
# ## Check your set-up
#
# First the Python version and the packages the course imports. The first line should
# say `True` and each other one `ok`; if one fails, run `make lab` again from the repository folder (it installs
# what is missing) and restart the kernel.

# %%
import importlib
import sys

print("Python 3.11 or newer:", sys.version_info >= (3, 11))
for name in ["aiohttp", "websockets", "socketio", "ipywidgets", "matplotlib", "trustme"]:
    importlib.import_module(name)
    print(f"{name:<11} ok")

# %% [markdown]
# Now the important part: can a server run *in this kernel*? The cell below starts a
# tiny WebSocket server that echoes what it receives, connects to it, sends `ping`, and
# stops the server again. The server gets a free port from the operating system (port 0),
# so the number after `127.0.0.1:` differs on every run. A server has a *name*
# (`"check"`): starting one under a name that is already running stops the old one
# first, so running this notebook twice never leaves two servers behind.

# %%
from chatkit import exercises, running, websocket

await running.stop_all()  # a second "Run all" starts from a clean kernel
server = await running.serve_websockets(websocket.echo, name="check")
replies = []
client = websocket.WebSocket(server.url)
client.onmessage = lambda event: replies.append(event.data)
await client.opened()
client.send("ping")
await running.wait_for(lambda: replies, timeout=5)
client.close()
await client.closed()
await server.stop()
print(f"a server at {server.url} answered {replies} and stopped: {server.stopped}")

# %% [markdown]
# If you see `answered ['ping'] and stopped: True`, your set-up works. (Notice the
# pattern, you will meet it in every notebook: the client's `onmessage` handler only
# *collects* into a list; the cell *waits*, with a timeout, until the list has what we
# expect, and only then prints. Printing from inside a handler would land in the wrong
# cell, or nowhere.)

# %% [markdown]
# ## Why push beats polling
#
# A chat, a live score, a shared document: something changes on a server, and clients
# should know soon. Plain HTTP has one shape: the **client asks, the server answers**. A
# server cannot speak first. So a client that wants news has two options:
#
# - **polling**: ask again every *N* milliseconds, "anything new?". Most answers are
#   "no", and news waits on the server until the next question;
# - **push**: open one connection that stays open, a WebSocket, and let the server send
#   each change the moment it happens.
#
# We will measure both. One aiohttp server (from `chatkit.polling`) holds a value, a
# version number that a *publisher* increases at irregular moments. It offers:
#
# - `GET /latest`, which answers `{"version": n}`, for pollers;
# - `/live`, a WebSocket on which it sends `{"version": n}` at each change.
#
# For each published version and each client, the **staleness** is the time from the
# publication until that client first knew it (or something newer).

# %%
from chatkit import polling

publisher = polling.Publisher()
news = await running.serve_aiohttp(polling.make_app(publisher), name="news")
print("poll here:", news.url + "/latest")
print("push here:", polling.live_url(news.url))

# %% [markdown]
# One polling client by hand, with aiohttp's HTTP client: it asks three times, and the
# publisher publishes once, between the second and the third question.
#
# **Predict:** nothing changes between poll 1 and poll 2. What will poll 2 answer, and
# will it cost the server less than poll 1?

# %%
import aiohttp

async with aiohttp.ClientSession() as session:
    async def ask():
        async with session.get(news.url + "/latest") as response:
            return await response.json()

    print("poll 1:", await ask())
    print("poll 2:", await ask(), "  <- nothing new: a wasted request")
    await publisher.publish()
    print("poll 3:", await ask())

# %% [markdown]
# Poll 2 answers the same as poll 1, and costs just as much: a full HTTP request and
# response, only to learn that nothing changed. The server knew that already, but it
# cannot speak until it is asked.
#
# And one push client by hand. It connects once; after that, it does not ask: each
# `publish()` reaches it without a request.

# %%
pushed = []
live = websocket.WebSocket(polling.live_url(news.url))
live.onmessage = lambda event: pushed.append(event.data)
await live.opened()
await running.wait_for(lambda: publisher.subscribers, timeout=5)  # the server has us
await publisher.publish()
await publisher.publish()
await running.wait_for(lambda: len(pushed) == 2, timeout=5)
live.close()
await live.closed()
print("pushed, without asking:", pushed)

# %% [markdown]
# ### The measurement
#
# Now all four clients at once, for 3 seconds. The publisher makes 30 changes at
# irregular moments (the same moments on every run, drawn from a seeded random
# generator). Three clients poll `/latest`, every 50, 200 and 500 ms; one listens on
# `/live`. `polling.measure` records when each client saw what; read it in
# `chatkit/polling.py` (the function `staleness` does the arithmetic).
#
# **Predict:** in these 3 seconds, how many requests will the 50 ms poller send? And how
# many messages will the push client receive, for the 30 changes?

# %%
results = await polling.measure(news.url, publisher, intervals=(0.05, 0.2, 0.5),
                                duration=3.0, updates=30)
print(f"{'client':<21} {'requests sent':>13} {'messages received':>18}")
for result in results:
    print(f"{result.name:<21} {result.requests:>13} {result.messages:>18}")

# %% [markdown]
# The costs are exact: a poller sends one request per interval, news or not (3 s / 50 ms
# = 60 requests for 30 changes); the push client sent one request, the WebSocket
# handshake, and received exactly one message per change, no more, no less.
#
# The delays are real measurements, so their values change a little from run to run (and
# more on a busy machine). We print only what every run agrees on, and look at the
# numbers themselves in the plot below.
#
# **Predict:** on average, how long does a change wait before the 200 ms poller sees it:
# about 200 ms, about 100 ms, or almost nothing? And before the push client sees it?

# %%
*pollers, push = results
print("every client caught up with every change:", all(r.missed == 0 for r in results))
print("push median staleness is lower than every polling interval:",
      all(push.median < p.interval for p in pollers))
medians = [p.median for p in pollers]
print("polling median staleness grows with the interval:", medians == sorted(medians))
fastest = pollers[0]
print(f"{fastest.name}: {fastest.requests} requests for 30 changes, so at least "
      f"{fastest.requests - 30} of them brought nothing new")

# %%
figure = polling.plot(results)

# %% [markdown]
# **Reading the plot.** Left: each dot is one change, placed at how long that client took
# to see it (log scale: each grid step is ten times more). A poller's dots spread from
# almost 0 (a poll came right after the change) to almost its interval (a poll had just
# gone); the median sits near **half the interval**: about 100 ms for the 200 ms poller.
# The push client's dots sit near a millisecond or below, far left: the time for one
# message to cross a socket on this machine. Right: the grey part of a bar is answers
# that brought nothing new. The 50 ms poller is fresher than the others only because it
# pays with many wasted requests; the 500 ms poller is cheap but saw only a few of the
# 30 values, the others were overwritten before it looked (exercise 2 counts them).
#
# So polling trades staleness against load, and one number fixes both: halve the
# interval, halve the staleness, double the requests. Push gets the freshness without
# the requests. For a class of 30 students whose pages poll every 200 ms:

# %%
students, interval = 30, 0.2
print(f"{students} students polling every {interval * 1000:g} ms: "
      f"{students / interval:g} requests per second, even when nobody types")

# %% [markdown]
# Push is not free either: the server keeps one open connection per client, and must
# know whom to tell (notebooks 03 and 04 are about that). And polling has its place:
# socket.io (notebook 02) starts every connection with *long-polling*, a request the
# server holds open until it has news, because plain HTTP gets through proxies and
# firewalls that may block a WebSocket; then it upgrades to a WebSocket when it can.

# %% [markdown]
# ## Exercise 1: compute staleness yourself
#
# Write a function `staleness(published, polls)`. Both arguments are sorted lists of
# times in seconds: when each change was published, and when a client polled. For each
# change, return how long it waited to be seen: the time from its publication to the
# **first poll at or after it**, or `None` when no poll came after it. For example,
# `staleness([0.1, 0.9], [0.0, 0.5, 1.0])` is about `[0.4, 0.1]`.
#
# Then run `exercises.check_staleness(staleness)`: it tries your function on a few cases,
# says what is wrong if something is, and finally checks that polling every 0.2 s leaves
# a change 0.1 s stale on average.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `staleness(published, polls)` here, then run
# exercises.check_staleness(staleness)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
def staleness(published, polls):
    waits = []
    for when in published:
        later = [poll for poll in polls if poll >= when]
        waits.append(min(later) - when if later else None)
    return waits


exercises.check_staleness(staleness)

# %% [markdown]
# ## Exercise 2: how many values does a poller see?
#
# The 500 ms poller made 6 requests while 30 values were published: most values were
# replaced by a newer one before it asked. Write `values_seen(published, polls)`, with
# the same arguments as `staleness`: a poll sees the value published **last at or before
# it**; return how many of the published values some poll saw. For example,
# `values_seen([0.1, 0.2, 0.9], [0.0, 0.5, 1.0])` is `2`: the poll at 0.5 sees 0.2's
# value, the one at 1.0 sees 0.9's, and 0.1's was replaced before anyone looked.
#
# Check it with `exercises.check_values_seen(values_seen)`. Write it in the next cell,
# then run the check there. Stuck? The solution is below, folded.

# %%
# Your answer: write `values_seen(published, polls)` here, then run
# exercises.check_values_seen(values_seen)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
def values_seen(published, polls):
    seen = set()
    for poll in polls:
        before = [index for index, when in enumerate(published) if when <= poll]
        if before:
            seen.add(before[-1])  # the newest value at the time of this poll
    return len(seen)


exercises.check_values_seen(values_seen)

# %% [markdown]
# ## Summary
#
# - Your kernel can run servers: `chatkit.running` starts them on a free port, by name,
#   and stops them; `chatkit.websocket.WebSocket` talks to them like a browser would.
# - With polling, news waits for the next question: on average half the polling
#   interval, at worst a whole one. Faster polling means more requests, mostly wasted.
# - With push, the server sends each change when it happens: staleness is the time to
#   cross one socket, and the cost is one message per change plus an open connection.
# - A timing varies between runs; conclusions that hold in every run (orders of
#   magnitude, comparisons) are what to print and rely on.
# - A poll shows the latest value only: the values in between are never seen. For a
#   score that is fine; for a chat, every message counts (notebook 03 comes back to it).
#
# **Further reading**
# - MDN, [The WebSocket API](https://developer.mozilla.org/en-US/docs/Web/API/WebSockets_API)
#   and [Server-sent events](https://developer.mozilla.org/en-US/docs/Web/API/Server-sent_events)
#   (push in one direction, over plain HTTP).
# - [RFC 6202](https://www.rfc-editor.org/rfc/rfc6202): known issues and best practices
#   for long polling and streaming in bidirectional HTTP.
# - aiohttp, [client quickstart](https://docs.aiohttp.org/en/stable/client_quickstart.html)
#   and [web server quickstart](https://docs.aiohttp.org/en/stable/web_quickstart.html).
# - Functions used here: `chatkit.running.serve_websockets`, `serve_aiohttp`, `wait_for`,
#   `stop_all`; `chatkit.websocket.WebSocket`, `echo`; `chatkit.polling.measure`,
#   `staleness`, `plot`; `chatkit.exercises.check_staleness`, `check_values_seen`.
#
# **Next:** [01 · raw WebSocket](01-raw-websocket.ipynb): what happens on the wire when a
# WebSocket opens, and the first version of your chat.

# %% [markdown]
# ## Clean up
#
# Stop every server this notebook started (here: the `news` server). Run this cell
# before closing the notebook; running the notebook again also starts clean.

# %%
await running.stop_all()
print("still running:", running.running())
