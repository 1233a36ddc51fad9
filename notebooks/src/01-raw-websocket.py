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
# # 01 · Talk over a raw WebSocket: open, message, close, error
#
# **What you will build.** A WebSocket server of three lines, running inside this
# notebook's kernel, and clients that talk to it exactly the way JavaScript in a browser
# page does. Then a server that broadcasts to several clients, one that hangs up in every
# possible way, and a secure `wss://` server with a certificate authority of your own.
#
# **What you will learn.**
# - the browser's `WebSocket` API, line by line in JavaScript and in Python;
# - the four events (`open`, `message`, `error`, `close`), their order, and the ready
#   states a socket goes through;
# - text frames and binary frames;
# - close codes: 1000 (normal), 1001 (going away), 1006 (abnormal: no closing handshake)
#   and your own 4000-4999, each with its reason and `wasClean`;
# - what an error tells you when nothing listens, or when a certificate is not trusted;
# - `ws://` versus `wss://`, and what it takes to trust a local certificate.
#
# **What you need.** Notebook 00 ran without errors. Python's `async def` and `await`:
# a notebook cell can `await` directly, because the kernel runs an event loop; servers
# and clients started here keep running between cells.

# %% [markdown]
# ## The browser's WebSocket, and the same in Python
#
# A web page talks to a WebSocket server with a few lines of JavaScript. The module
# `chatkit.websocket` gives Python the same shape, so what you learn here carries over to
# the browser one for one:
#
# | JavaScript, in a page | Python, in this notebook |
# |---|---|
# | `const ws = new WebSocket("ws://127.0.0.1:8765");` | `ws = WebSocket("ws://127.0.0.1:8765")` |
# | `ws.onopen = (event) => ws.send("hello");` | `ws.onopen = lambda event: ws.send("hello")` |
# | `ws.onmessage = (event) => log.push(event.data);` | `ws.onmessage = lambda event: log.append(event.data)` |
# | `ws.onclose = (event) => log.push([event.code, event.reason, event.wasClean]);` | `ws.onclose = lambda event: log.append((event.code, event.reason, event.was_clean))` |
# | `ws.onerror = (event) => log.push("error");` | `ws.onerror = lambda event: log.append(event.message)` |
# | `ws.send("text")`, `ws.send(new Uint8Array([0, 1]))` | `ws.send("text")`, `ws.send(bytes([0, 1]))` |
# | `ws.close(4000, "bye")` | `ws.close(4000, "bye")` |
# | `ws.readyState === WebSocket.OPEN` | `ws.ready_state == WebSocket.OPEN` |
# | `event.data` is a `Blob` for binary (or an `ArrayBuffer` with `binaryType`) | `event.data` is `bytes` for binary |
# | a page cannot wait; it reacts in handlers | also `await ws.opened()` and `await ws.closed()` |
#
# Two differences on purpose: the Python error event has a `message` that says what went
# wrong (a browser hides it from the page, for privacy, and prints it in the developer
# console instead), and `send` on a socket that is not open raises an exception (a
# browser throws only while connecting; on a closing or closed socket it silently drops
# the data).

# %%
import socket
import ssl

import trustme

from chatkit import exercises, running, websocket
from chatkit.websocket import InvalidStateError, WebSocket

stopped = await running.stop_all()  # a second "Run all" starts from a clean kernel

# %% [markdown]
# ## A server in three lines
#
# A server built with the `websockets` library is one `async` function, the *handler*,
# which runs once for each client that connects. Its argument is the connection: iterate
# over it to receive messages, `send` to answer. The loop ends when the client closes.
# Here is an echo server; `running.serve_websockets` runs it in this kernel on a free port.

# %%
async def echo(connection):
    async for message in connection:
        await connection.send(message)


server = await running.serve_websockets(echo, name="echo")
print(server.url)

# %% [markdown]
# (The port number changes on every run; here it shows as `<PORT>`.) You do not have to
# write servers like this one every time: `chatkit.websocket.echo` and
# `chatkit.websocket.broadcast` are ready-made, a few lines each in
# `chatkit/websocket.py`.

# %% [markdown]
# ## The events, in order
#
# Now a client. It starts connecting the moment it is created; from then on, everything
# it has to tell arrives as an *event* in a handler. Our handlers do not print: they
# append to a list, and the cell prints after waiting (with a timeout) for what it
# expects. A `print` inside a handler would end up in whatever cell happens to be
# running, or nowhere.

# %%
log = []
ws = WebSocket(server.url)
states = [ws.ready_state.name]
ws.onopen = lambda event: log.append(event)
ws.onmessage = lambda event: log.append(event)
ws.onerror = lambda event: log.append(event)
ws.onclose = lambda event: log.append(event)
await ws.opened()
states.append(ws.ready_state.name)
ws.send("hello")
await running.wait_for(lambda: len(log) == 2, timeout=5)
ws.close(1000, "done for today")
states.append(ws.ready_state.name)
await ws.closed()
states.append(ws.ready_state.name)

# %%
for event in log:
    print(event)
print("ready states:", " -> ".join(states))

# %% [markdown]
# `open`, then one `message` per message, then exactly one `close`, always last. The
# `error` event did not come: nothing went wrong. When something does, `error` comes
# first and `close` right after it (we will see that below). The ready state goes
# `CONNECTING` (0) → `OPEN` (1) → `CLOSING` (2) → `CLOSED` (3), the same numbers as a
# browser's `ws.readyState`.
#
# The close has a **code** and a **reason**: we closed with 1000 ("normal closure") and
# the reason `"done for today"`; the server answered with the same, as the protocol asks.
# `was_clean` is true because both sides exchanged these *close frames* before the TCP
# connection ended: a closing handshake.

# %% [markdown]
# ## Text and binary
#
# A WebSocket message is either **text** (a `str`, sent as UTF-8) or **binary** (`bytes`).
# The receiver learns which one it is from the frame; an echo sends each back as it came.

# %%
replies = []
ws = WebSocket(server.url)
ws.onmessage = lambda event: replies.append(event.data)
await ws.opened()
ws.send("héllo, wörld")        # str   -> a text frame
ws.send(bytes([0, 1, 2, 255]))  # bytes -> a binary frame
await running.wait_for(lambda: len(replies) == 2, timeout=5)
for data in replies:
    print(type(data).__name__, repr(data))

# %% [markdown]
# Anything else must be turned into text or bytes first: a dict, for example, with
# `json.dumps`. The two errors below are **on purpose**: sending a dict, and sending on a
# socket that is already closed.

# %%
try:
    ws.send({"text": "hi"})
except TypeError as error:
    print("TypeError:", error)
ws.close()
await ws.closed()
try:
    ws.send("anyone there?")
except InvalidStateError as error:
    print("InvalidStateError:", error)

# %% [markdown]
# ## Several clients, one broadcast
#
# A chat needs a server that passes each message to *everyone*. The ready-made
# `websocket.broadcast` handler does that: each message goes to every open connection of
# the server, the sender included. Three clients connect; only alice sends.

# %%
hub = await running.serve_websockets(websocket.broadcast, name="hub")
inboxes = {"alice": [], "bob": [], "carol": []}
clients = {}
for name, inbox in inboxes.items():
    clients[name] = WebSocket(hub.url)
    clients[name].onmessage = lambda event, inbox=inbox: inbox.append(event.data)
    await clients[name].opened()
clients["alice"].send("hi all, it's alice")
await running.wait_for(lambda: all(inboxes.values()), timeout=5)
for name, inbox in inboxes.items():
    print(f"{name:<5} received {inbox}")

# %% [markdown]
# ## Who hangs up, and how: close codes
#
# Every close event carries a code, a reason and `was_clean`. We have seen the client
# close normally, with **1000**. Now the server's side of things. First, the server
# **stops**: it closes every connection with **1001** ("going away"), cleanly, the way a
# browser also closes its sockets when you leave the page.

# %%
closes = {}
for name, client in clients.items():
    client.onclose = lambda event, name=name: closes.update({name: event})
await hub.stop()
await running.wait_for(lambda: len(closes) == 3, timeout=5)
for name in clients:  # in a fixed order: the three closes race each other
    print(f"{name:<5}", closes[name])

# %% [markdown]
# A handler can also end a connection on purpose, in two very different ways:
#
# - `await connection.close(4001, "kicked")`: a closing handshake with an **application
#   code**. Codes 4000-4999 are yours to define (3000-3999 are registered with IANA for
#   libraries and frameworks; below 3000 belongs to the protocol). After closing, leave
#   the handler with `return`: with a code other than 1000 or 1001, the `async for` loop
#   would raise an exception instead of ending.
# - `connection.transport.abort()`: drop the TCP connection, no goodbye at all. That is
#   what a crash, a pulled network cable or a killed process looks like to the other
#   side. No close frame ever arrives, so the client reports the reserved code **1006**
#   ("abnormal closure"); 1006 is never sent on the wire.

# %%
async def strict(connection):
    async for message in connection:
        if message == "kick me":
            await connection.close(4001, "kicked")
            return
        if message == "pull the plug":
            connection.transport.abort()
            return
        await connection.send(message)


strict_server = await running.serve_websockets(strict, name="strict")

# %%
async def close_after_sending(message):
    """Connect, send one message, and return what the client saw: errors, then the close."""
    seen = []
    ws = WebSocket(strict_server.url)
    ws.onerror = lambda event: seen.append(event)
    await ws.opened()
    ws.send(message)
    seen.append(await ws.closed())
    return seen


for message in ("kick me", "pull the plug"):
    print(f"sent {message!r}:", *await close_after_sending(message), sep="\n  ")

# %% [markdown]
# All four, side by side:
#
# | what happened | code | reason | `was_clean` | `error` event first? |
# |---|---|---|---|---|
# | the client called `close(1000, "done for today")` | 1000 | `"done for today"` | true | no |
# | the server stopped | 1001 | `""` | true | no |
# | the server closed with its own code | 4001 | `"kicked"` | true | no |
# | the TCP connection was dropped | 1006 | `""` | **false** | yes |
#
# A client that wants to reconnect usually looks at exactly this: after 1000 or your
# "kicked" code, do not; after 1001 or 1006, try again a little later (notebook 03).

# %% [markdown]
# ## When nothing listens
#
# What does a client see when there is no server? To get a port where surely nothing
# listens, we reserve one (bind a socket) without ever listening on it. The error is
# **on purpose**.

# %%
with socket.socket() as placeholder:  # holds a free port, never listens on it
    placeholder.bind(("127.0.0.1", 0))
    nowhere = WebSocket(f"ws://127.0.0.1:{placeholder.getsockname()[1]}")
    seen = []
    nowhere.onerror = lambda event: seen.append(event)
    nowhere.onclose = lambda event: seen.append(event)
    await nowhere.closed()
for event in seen:
    print(event)

# %% [markdown]
# `error`, then `close` with 1006: the socket never opened. A browser would give the
# page the same two events, but with no message in the error (the reason, "connection
# refused", only shows in the developer console). `await nowhere.opened()` would raise
# `ConnectionError` with the same message.

# %% [markdown]
# ## `ws://` and `wss://`
#
# `ws://` is plain TCP: anyone on the network path can read and change the messages.
# `wss://` is the same protocol inside TLS, like `https://`; a page served over `https://`
# may only open `wss://` sockets. TLS needs a certificate that the *client trusts*. On the
# internet a public certificate authority (CA) signs it; for a local test we make our
# own CA with the `trustme` package, and let it sign a certificate for `127.0.0.1`.

# %%
authority = trustme.CA()  # a certificate authority that exists only in this notebook
certificate = authority.issue_cert("127.0.0.1", "localhost")
server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
certificate.configure_cert(server_tls)  # the server presents this certificate

secure = await running.serve_websockets(echo, name="secure", ssl=server_tls)
print(secure.url)

# %% [markdown]
# A client that trusts our CA connects as usual; the messages are now encrypted.

# %%
client_tls = ssl.create_default_context()
authority.configure_trust(client_tls)  # trust our CA, in this client only
answers = []
trusting = WebSocket(secure.url, ssl=client_tls)
trusting.onmessage = lambda event: answers.append(event.data)
await trusting.opened()
trusting.send("a secret")
await running.wait_for(lambda: answers, timeout=5)
trusting.close()
print("with our CA trusted:", answers, (await trusting.closed()).code)

# %% [markdown]
# A client that only trusts the system's certificate authorities (the default, and what
# a browser does) refuses the same server. This refusal is **on purpose**: it is TLS
# doing its job.

# %%
seen = []
wary = WebSocket(secure.url)  # no ssl=...: the system's trusted CAs only
wary.onerror = lambda event: seen.append(event)
wary.onclose = lambda event: seen.append(event)
await wary.closed()
for event in seen:
    print(event)

# %% [markdown]
# To make a *browser* trust such a certificate you would add the CA to its trust store;
# for a classroom, a server behind a real domain name with a free certificate (for
# example from Let's Encrypt) is simpler.

# %% [markdown]
# ## Summary
#
# - A `websockets` server is one `async` handler per connection: `async for message in
#   connection` to receive, `await connection.send(...)` to answer.
#   `running.serve_websockets` runs it in the kernel; `chatkit.websocket.echo` and
#   `broadcast` are ready-made.
# - `WebSocket(url)` behaves like the browser's: events `open`, `message`..., and one
#   `close` at the end, with `error` just before it when something failed; ready states
#   CONNECTING → OPEN → CLOSING → CLOSED.
# - Messages are text (`str`) or binary (`bytes`); anything else you encode yourself.
# - Close codes tell who hung up and how: 1000 normal, 1001 going away, 4000-4999 your
#   application's, 1006 when the connection was lost without a closing handshake
#   (`was_clean` false).
# - `wss://` is WebSocket over TLS; the client must trust the server's certificate.
#
# **Further reading**
# - MDN, [WebSocket](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket) and
#   [CloseEvent.code](https://developer.mozilla.org/en-US/docs/Web/API/CloseEvent/code).
# - [RFC 6455](https://www.rfc-editor.org/rfc/rfc6455), The WebSocket Protocol (section 7:
#   closing; section 7.4: status codes); the
#   [IANA registry](https://www.iana.org/assignments/websocket/websocket.xhtml#close-code-number)
#   of close codes.
# - websockets, [Getting started](https://websockets.readthedocs.io/en/stable/intro/index.html)
#   and [Broadcasting](https://websockets.readthedocs.io/en/stable/topics/broadcast.html).
# - trustme, [documentation](https://trustme.readthedocs.io/).
# - Used here: `chatkit.running.serve_websockets`, `wait_for`, `stop_all`;
#   `chatkit.websocket.WebSocket`, `broadcast`; `chatkit.exercises.check_shout_server`.

# %% [markdown]
# ## Exercise: a server that shouts, and says goodbye
#
# Write a handler `shout(connection)` that answers every text message with the same text
# in capitals (`"hello"` → `"HELLO"`), except `"bye"`: then it closes the connection
# with code **4000** and reason **`"bye"`** instead of answering. Check it with
# `await exercises.check_shout_server(shout)`: it runs your handler on a server of its
# own, talks to it, tells you what is wrong if something is, and stops the server again.
#
# **Try it yourself first** (in a new cell). Here is one solution:

# %%
async def shout(connection):
    async for message in connection:
        if message == "bye":
            await connection.close(4000, "bye")
            return
        await connection.send(message.upper())


await exercises.check_shout_server(shout)

# %% [markdown]
# ## Clean up
#
# Stop every server this notebook started. Run this cell before closing the notebook;
# running the notebook again also starts clean.

# %%
await running.stop_all()
print("still running:", running.running())
