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
# # 01 · Talk over a raw WebSocket: the handshake, the events, and your first chat
#
# **About 65 minutes: 35 teaching, 30 exercises.**
#
# **What you will build.** A WebSocket server of three lines, running inside this
# notebook's kernel, and clients that talk to it exactly the way JavaScript in a browser
# page does. Then **your chat**: JSON messages with a `"type"`, numbered by the server and
# sent to everyone. Notebook 02 moves the same chat to socket.io; later notebooks grow it.
#
# **What you will learn.**
# - the opening handshake: an HTTP request that asks to *upgrade*, and the server's
#   `101 Switching Protocols`;
# - the browser's `WebSocket` API, line by line in JavaScript and in Python: the four
#   events (`open`, `message`, `error`, `close`), their order, and the ready states;
#   then the JavaScript itself, run by this very page, beside the Python client;
# - text frames and binary frames; close codes, their reason and `wasClean`;
# - when `error` fires (a connection that *fails*) and when it does not (one that is cut);
# - subprotocols, the second argument of `new WebSocket(url, protocols)`;
# - `ws://` versus `wss://`, and what it takes to trust a local certificate;
# - what a chat protocol costs by hand, and so what socket.io will do for you.
#
# **What you need.** Notebook 00 ran without errors. Python's `async def` and `await`:
# a notebook cell can `await` directly, because the kernel runs an event loop; servers
# and clients started here keep running between cells.

# %% [markdown]
# ## The browser's WebSocket, and the same in Python
#
# A web page talks to a WebSocket server with a few lines of JavaScript. The module
# `chatkit.websocket` gives Python the same shape, so what you learn here carries over to
# the browser one for one (a test of this repository runs both in Chromium and compares):
#
# | JavaScript, in a page | Python, in this notebook |
# |---|---|
# | `const ws = new WebSocket("ws://127.0.0.1:8765");` | `ws = WebSocket("ws://127.0.0.1:8765")` |
# | `new WebSocket(url, ["chat.v2", "chat.v1"])`, then `ws.protocol` | `WebSocket(url, ["chat.v2", "chat.v1"])`, then `ws.protocol` |
# | `ws.onopen = (event) => ws.send("hello");` | `ws.onopen = lambda event: ws.send("hello")` |
# | `ws.onmessage = (event) => log.push(event.data);` | `ws.onmessage = lambda event: log.append(event.data)` |
# | `ws.onclose = (event) => log.push([event.code, event.reason, event.wasClean]);` | `ws.onclose = lambda event: log.append((event.code, event.reason, event.was_clean))` |
# | `ws.onerror = (event) => log.push("error");` | `ws.onerror = lambda event: log.append(event.message)` |
# | `ws.send("text")`, `ws.send(new Uint8Array([0, 1]))` | `ws.send("text")`, `ws.send(bytes([0, 1]))` |
# | `ws.close(4000, "bye")`, or `ws.close()` (no code) | `ws.close(4000, "bye")`, or `ws.close()` (no code) |
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
import asyncio
import base64
import hashlib
import socket
import ssl

import trustme

from chatkit import exercises, running, websocket
from chatkit.pagecode import PageCode
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
# The number after `127.0.0.1:` is the free port the operating system gave the server;
# it changes on every run.

# %% [markdown]
# ## The opening handshake
#
# A WebSocket starts as HTTP. The client sends one `GET` request that asks the server to
# switch protocols; the server answers `101 Switching Protocols`; from then on the same
# TCP connection carries WebSocket *frames*, in both directions, for as long as it lives.
# Here is that request, written by hand and sent over a bare TCP connection, with no
# WebSocket library on our side. The server is one that only notes each handshake it sees.

# %%
handshakes = []


async def remember(connection):
    handshakes.append((connection.request, connection.response))
    await connection.wait_closed()


greeter = await running.serve_websockets(remember, name="handshake")

# %%
key = "dGhlIHNhbXBsZSBub25jZQ=="  # 16 random bytes in base64; this one is RFC 6455's example
request = (f"GET /chat HTTP/1.1\r\nHost: 127.0.0.1:{greeter.port}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
reader, writer = await asyncio.open_connection(greeter.host, greeter.port)
writer.write(request.encode())
response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
writer.close()
for line in (request + response.decode()).strip().splitlines():
    if not line.startswith(("Date:", "Server:")):  # the time, and the server's version
        print(line)

# %% [markdown]
# `Upgrade: websocket` and `Connection: Upgrade` ask for the switch;
# `Sec-WebSocket-Version: 13` is the protocol's version (RFC 6455). The key is a
# random value the client makes up for each connection; the server proves that it read a
# *WebSocket* handshake, not some other HTTP request, by sending back
# `Sec-WebSocket-Accept`, computed from the key with a fixed GUID, SHA-1 and base64:

# %%
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # in RFC 6455, the same for every server


def accept(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


print(accept(key))

# %% [markdown]
# The same as the server's answer above. Now the server's end of a handshake, made this
# time by `WebSocket`, which draws a new random key, as a browser does. The handler saw
# the request it answered and the response it sent:

# %%
handshakes.clear()
client = WebSocket(greeter.url + "/chat")
await client.opened()
await running.wait_for(lambda: handshakes, timeout=5)
request, response = handshakes[-1]
print("request: GET", request.path, "with", [name for name, _ in request.headers.raw_items()])
print("response:", response.status_code, response.reason_phrase, "with",
      [name for name, _ in response.headers.raw_items()])
print("Accept == accept(Key):",
      response.headers["Sec-WebSocket-Accept"] == accept(request.headers["Sec-WebSocket-Key"]))
client.close()

# %% [markdown]
# ## The events, in order
#
# Now a client of the echo server. It starts connecting the moment it is created; from
# then on, everything it has to tell arrives as an *event* in a handler. As in notebook
# 00, handlers only collect; the cell prints after waiting, with a timeout.

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
# `error` event did not come: it comes only when a connection *fails*, and then right
# before `close` (below). The ready state goes `CONNECTING` (0) → `OPEN` (1) → `CLOSING`
# (2) → `CLOSED` (3), the same numbers as a browser's `ws.readyState`.
#
# The close has a **code** and a **reason**: we closed with 1000 ("normal closure") and
# the reason `"done for today"`; the server answered with the same, as the protocol asks.
# `was_clean` is true because both sides exchanged these *close frames* before the TCP
# connection ended: a closing handshake.

# %% [markdown]
# ## The same in JavaScript, run by this page
#
# The page that shows you this notebook is a browser page: it can run the JavaScript
# itself. `PageCode` takes JavaScript as a Python string (edit it, run the cell again)
# and the page runs it while drawing the widget, with `url` set to the address given and
# `log(...)`, which writes one line in the widget. The same echo server, the same steps
# as the Python client above, whose events are shown beside:

# %%
page = PageCode("""
const ws = new WebSocket(url);
log("readyState", ws.readyState);
ws.onopen = () => { log("open"); ws.send("hello"); };
ws.onmessage = (event) => { log("message", event.data); ws.close(1000, "done for today"); };
ws.onerror = () => log("error");
ws.onclose = (event) => log("close", event.code, event.reason, event.wasClean);
""", url=server.url, beside=log)
page

# %% [markdown]
# In JupyterLab the page's column reads `readyState 0`, `open`, `message hello`,
# `close 1000 done for today true`: the events of the Python client, in the same order.
# (Where no browser shows the notebook, as when the course's tests run it, the column
# stays empty.) In the kernel, `page.events` holds the page's lines once it has run; try
# it in a cell of your own.
#
# That code runs in *your browser*, not in the kernel: `url` must be an address the
# browser can reach. With `make lab` the browser, Jupyter and the kernel are one
# computer, so 127.0.0.1 is right. On a remote JupyterHub, 127.0.0.1 is your own
# laptop; the widget then says it could not connect. And the page is a stranger to the
# server: its origin, JupyterLab's (`http://127.0.0.1:8888`, say), is not the server's.
# A `websockets` server lets any origin in by default (`origins=[...]` restricts it);
# socket.io's refuses other pages (notebook 02).

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
# 1005 ("no status received"): `close()` without a code sends a close frame with no code
# in it, and 1005 is how the other side reports that. A browser's `ws.close()` does the
# same; pass `close(1000)` to say "normal" explicitly.

# %% [markdown]
# ## Several clients, one broadcast
#
# A chat passes each message to *everyone*. The ready-made `websocket.broadcast` handler
# relays each message to every open connection, the sender included. Only alice sends.

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
# close, with 1000 or with no code (1005). Now the server's side of things. First, the
# server **stops**: it closes every connection with **1001** ("going away"), cleanly, the
# way a browser also closes its sockets when you leave the page.

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
#   what a crashed or killed process looks like to the other side (a pulled network
#   cable too, once the other side notices: notebook 03).

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

# %% [markdown]
# A small helper for the rest of the notebook: it collects everything a client reports.

# %%
async def story(ws, message=None):
    """Every event of `ws` until it is closed. Once open, it sends `message`, or closes."""
    seen = []

    def opened(event):
        seen.append(event)
        if message is None:
            ws.close()
        else:
            ws.send(message)

    ws.onopen = opened
    ws.onerror = ws.onclose = seen.append
    await ws.closed()
    return seen

# %% [markdown]
# **Predict:** when the server pulls the plug, no close frame ever arrives. Which close
# code will the client report, with which `was_clean`? And will an `error` event come
# before the close?

# %%
for message in ("kick me", "pull the plug"):
    print(f"sent {message!r}:", *await story(WebSocket(strict_server.url), message), sep="\n  ")

# %% [markdown]
# The plug pulled gives **1006** ("abnormal closure"), a code reserved for exactly this:
# the connection ended with no close frame, so `was_clean` is false. 1006 is never sent
# on the wire; the client makes it up. And no `error`: the connection did not *fail*, it
# was *lost*. A browser does the same (Chromium reports only `close` 1006 here).
#
# All of them, side by side:
#
# | what happened | code | reason | `was_clean` | `error` event first? |
# |---|---|---|---|---|
# | the client called `close(1000, "done for today")` | 1000 | `"done for today"` | true | no |
# | the client called `close()`, no code | 1005 | `""` | true | no |
# | the server stopped | 1001 | `""` | true | no |
# | the server closed with its own code | 4001 | `"kicked"` | true | no |
# | the TCP connection was dropped | 1006 | `""` | **false** | **no** |
#
# A client that wants to reconnect usually looks at exactly this: after 1000 or your
# "kicked" code, do not; after 1001 or 1006, try again a little later (notebook 03).

# %% [markdown]
# ## When nothing listens
#
# What does a client see when there is no server? To get a port where surely nothing
# listens, we reserve one (bind a socket) without ever listening on it. The error is
# **on purpose**.
#
# **Predict:** which events will this client report, and in which order?

# %%
with socket.socket() as placeholder:  # holds a free port, never listens on it
    placeholder.bind(("127.0.0.1", 0))
    nowhere = WebSocket(f"ws://127.0.0.1:{placeholder.getsockname()[1]}")
    seen = await story(nowhere)
for event in seen:
    print(event)

# %% [markdown]
# No `open`; `error`, then `close` with 1006: the connection **failed**, which is what
# `error` is for. (A browser's error event carries no message; "connection refused"
# shows only in its developer console. `await nowhere.opened()` would raise
# `ConnectionError`.)
#
# A connection also fails when this side refuses what it received: a browser, text that
# is not valid UTF-8; `WebSocket` here, a message larger than its `max_size` (1 MiB by
# default). An echo server sends back more than this client accepts (chatkit's
# `websocket.echo`, which ends quietly when the client fails the connection; our
# three-line one would log a traceback, and it would land in an earlier cell's output):

# %%
strict_echo = await running.serve_websockets(websocket.echo, name="echo-to-a-small-client")
print(*await story(WebSocket(strict_echo.url, max_size=10), "more than ten bytes"), sep="\n")

# %% [markdown]
# The rule, the same in a browser (the WHATWG standard) and here: `error` comes only when
# a connection *fails*, to open or later, and `close` 1006 follows it. A connection that
# opened and was then cut, or closed by the server with any code, gives `close` alone.

# %% [markdown]
# ## Subprotocols: `new WebSocket(url, protocols)`
#
# The second argument of the browser's constructor lists the *application* protocols the
# client speaks, in order of preference: for example two versions of your chat's
# messages. They travel in the handshake as `Sec-WebSocket-Protocol`; the server picks
# one and names it in its `101` answer; `ws.protocol` then says which (`""` if none was
# offered). A `websockets` server lists what it speaks with `subprotocols=[...]`
# (`running.serve_websockets` passes it on).

# %%
v1 = await running.serve_websockets(websocket.echo, name="chat-v1", subprotocols=["chat.v1"])
both = WebSocket(v1.url, ["chat.v2", "chat.v1"])
await both.opened()
print("offered chat.v2 and chat.v1; the server chose", repr(both.protocol))
both.close()

# %% [markdown]
# **Predict:** a client that offers only `"chat.v2"` connects to this server. Will it
# open without a subprotocol, or fail? And one that offers none at all?

# %%
for offered in (["chat.v2"], []):
    print(f"offered {offered}:", *await story(WebSocket(v1.url, offered)), sep="\n  ")

# %% [markdown]
# Both fail: the `websockets` server refuses them in the handshake itself, with HTTP 400
# and the reason, so the client reports `error` and `close` 1006 and never opens. (That
# is `websockets`' choice; in RFC 6455 a server that agrees to none of them leaves the
# header out of its answer.)
#
# The other way round, a server with no subprotocols at all accepts the connection
# without choosing one. A browser then fails it: the WHATWG standard establishes a
# connection only if the server selected one of the offered subprotocols (Chromium's
# console says "Sent non-empty 'Sec-WebSocket-Protocol' header but no response was
# received"). `websockets`' own client would carry on; `WebSocket` does what a browser
# does:

# %%
no_subprotocols = await running.serve_websockets(websocket.echo, name="plain")
print(*await story(WebSocket(no_subprotocols.url, "chat.v1")), sep="\n")

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
trusting.close(1000)
print("with our CA trusted:", answers, (await trusting.closed()).code)

# %% [markdown]
# A client that only trusts the system's certificate authorities (the default, and what
# a browser does) refuses the same server. This refusal is **on purpose**: it is TLS
# doing its job.

# %%
for event in await story(WebSocket(secure.url)):  # no ssl=...: the system's trusted CAs only
    print(event)

# %% [markdown]
# A *browser* would need our CA in its trust store; for a classroom, a server with a real
# domain name and a free certificate (Let's Encrypt, for example) is simpler.

# %% [markdown]
# ## Exercise 1 (warm-up): a server that shouts, and says goodbye
#
# Write a handler `shout(connection)` that answers every text message with the same text
# in capitals (`"hello"` → `"HELLO"`), except `"bye"`: then it closes the connection
# with code **4000** and reason **`"bye"`** instead of answering. Check it with
# `await exercises.check_shout_server(shout)`: it runs your handler on a server of its
# own, talks to it, tells you what is wrong if something is, and stops the server again.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded (running it replaces your version with ours).

# %%
# Your answer: write `shout(connection)` here, then run
# await exercises.check_shout_server(shout)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
async def shout(connection):
    async for message in connection:
        if message == "bye":
            await connection.close(4000, "bye")
            return
        await connection.send(message.upper())


await exercises.check_shout_server(shout)

# %% [markdown]
# ## Exercise 2: your chat, over a raw WebSocket
#
# Now the chat that the rest of the course grows. Every message, both ways, is a JSON
# object (a text frame made with `json.dumps`) with a `"type"`:
#
# - a client first sends `{"type": "hello", "name": "ada"}`, then any number of
#   `{"type": "say", "text": "hi"}`;
# - for each say, the server sends `{"type": "said", "id": 1, "name": "ada", "text":
#   "hi"}` to **every client that said hello, the sender included**; ids go 1, 2, 3... in
#   the order the server accepts the messages, one sequence for the whole server;
# - anything wrong (not JSON, not an object, an unknown type, a say before hello, a say
#   with no text or empty text) gets `{"type": "error", "error": "<a sentence>"}`, **to
#   the sender only**, and the connection stays open.
#
# Write the handler `chat(connection)`. What it needs lives *outside* it, since it runs
# once per client: a dict from connection to name, and the last id. `json.loads` raises
# `ValueError` on text that is not JSON. To send one text to many connections,
# `websockets` has the function `broadcast(connections, text)` (`from
# websockets.asyncio.server import broadcast`; not chatkit's `websocket.broadcast`
# handler, which relays frames unchanged and which the check refuses). Check it with
# `await exercises.check_json_chat(chat)`: four clients connect, talk (at times all at
# once), send bad messages and leave.
#
# Write it in the next cell, then run the check there. Stuck? The solution is below,
# folded, in three cells: the server's state, its rules, the handler.

# %%
# Your answer: write `chat(connection)` here (and any helper it needs), then run
# await exercises.check_json_chat(chat)

# %% [markdown]
# ### Solution

# %% jupyter={"source_hidden": true}
import json

from websockets.asyncio.server import broadcast

names = {}   # connection -> name, for each client that said hello
last_id = 0  # one counter for the whole server, not one per connection


# %% jupyter={"source_hidden": true}
def said_for(connection, frame):
    """The said to send everyone for one frame, or None; ValueError says what is wrong."""
    global last_id
    message = json.loads(frame)  # text that is not JSON raises ValueError
    if not isinstance(message, dict):
        raise ValueError("send a JSON object")
    kind, text = message.get("type"), message.get("text")
    if kind == "hello":
        names[connection] = str(message.get("name") or "someone")
    elif kind != "say":
        raise ValueError(f"unknown type {kind!r}: send hello or say")
    elif connection not in names:
        raise ValueError("say hello first")
    elif not isinstance(text, str) or not text:
        raise ValueError("text must be a non-empty string")
    else:
        last_id += 1  # no await between taking the id and sending the said
        return {"type": "said", "id": last_id, "name": names[connection], "text": text}
    return None


# %% jupyter={"source_hidden": true}
async def chat(connection):
    try:
        async for frame in connection:
            try:
                said = said_for(connection, frame)
            except ValueError as error:
                await connection.send(json.dumps({"type": "error", "error": str(error)}))
                continue
            if said:
                broadcast(names, json.dumps(said))  # every client that said hello
    finally:
        names.pop(connection, None)  # gone: no more saids for this one


await exercises.check_json_chat(chat)

# %% [markdown]
# ## What socket.io will spare you
#
# Every line of your chat was yours to get right. socket.io (notebook 02) does each of
# these for you:
#
# - **Parsing and checking every frame**: `json.loads`, "is it an object?", `.get`
#   everywhere. socket.io encodes and decodes events and their arguments.
# - **Dispatch by type**: the `if type == "hello" ... elif type == "say"` ladder.
#   socket.io calls the handler registered for the event's name, `@sio.on("say")`.
# - **No answers to a request**: to know that *its* say was accepted, and with which id,
#   a client must wait for a `said` with its text, or add a reference of its own to each
#   say and match it by hand. socket.io has acknowledgements: `await sio.call("say",
#   ...)` returns what the server's handler returned, for that one message.
# - **Who is who**: the `names` dict, keyed by connection, cleaned up in `finally`.
#   socket.io gives every client a session id, a session to keep data in, and a
#   `disconnect` handler.
# - **Reconnection**: a cut line (1006) ends your chat for that client; it must connect
#   again, say hello again, and it never learns what was said meanwhile. socket.io
#   clients reconnect by themselves (notebook 03 makes them lose nothing).
# - **Rooms**: "everyone" is the only audience you wrote. socket.io has rooms and
#   namespaces (notebook 04).
#
# chatkit's own chat server (`chatkit.server.ChatServer`, shown at the end of notebook 02)
# speaks the same `say` and `said` with ids, on socket.io, and adds rooms, history, resuming after a
# cut, and limits; its wire contract is in `docs/protocol.md`.

# %% [markdown]
# ## Summary
#
# - A WebSocket opens with an HTTP `GET` that asks to `Upgrade: websocket`, and the
#   server's `101 Switching Protocols`, with `Sec-WebSocket-Accept` computed from the
#   client's key (SHA-1 of key + GUID, in base64). Then the TCP connection carries frames.
# - A `websockets` server is one `async` handler per connection: `async for message in
#   connection` to receive, `await connection.send(...)` to answer.
#   `running.serve_websockets` runs it in the kernel; `chatkit.websocket.echo` and
#   `broadcast` are ready-made.
# - `WebSocket(url)` behaves like the browser's: events `open`, `message`..., and one
#   `close` at the end; `error` just before it only when the connection *failed*;
#   ready states CONNECTING → OPEN → CLOSING → CLOSED.
# - Messages are text (`str`) or binary (`bytes`); anything else you encode yourself.
# - Close codes tell who hung up and how: 1000 normal, 1005 no code given, 1001 going
#   away, 4000-4999 your application's, 1006 when the connection was lost without a
#   closing handshake (`was_clean` false).
# - Subprotocols are offered by the client and chosen by the server; none chosen when
#   some were offered fails the connection.
# - `wss://` is WebSocket over TLS; the client must trust the server's certificate.
# - A chat on a raw WebSocket needs you to parse, dispatch, number, fan out and clean up
#   by hand.
#
# **Further reading**
# - MDN, [WebSocket](https://developer.mozilla.org/en-US/docs/Web/API/WebSocket) and
#   [CloseEvent.code](https://developer.mozilla.org/en-US/docs/Web/API/CloseEvent/code).
# - [RFC 6455](https://www.rfc-editor.org/rfc/rfc6455), The WebSocket Protocol (section 4:
#   the opening handshake; section 7: closing; 7.4: status codes); the
#   [IANA registry](https://www.iana.org/assignments/websocket/websocket.xhtml#close-code-number)
#   of close codes; the [WHATWG WebSockets standard](https://websockets.spec.whatwg.org/)
#   (what a browser does, events included).
# - websockets, [Getting started](https://websockets.readthedocs.io/en/stable/intro/index.html)
#   and [Broadcasting](https://websockets.readthedocs.io/en/stable/topics/broadcast.html).
# - trustme, [documentation](https://trustme.readthedocs.io/).
# - Used here: `chatkit.running.serve_websockets`, `wait_for`, `stop_all`;
#   `chatkit.websocket.WebSocket`, `echo`, `broadcast`;
#   `chatkit.exercises.check_shout_server`, `check_json_chat`.
#
# **Next:** [02 · socket.io `emit` and `on`](02-socketio-emit-on.ipynb): the same chat on
# socket.io, with named events and acknowledgements.

# %% [markdown]
# ## Clean up
#
# Stop every server this notebook started. Run this cell before closing the notebook;
# running the notebook again also starts clean.

# %%
await running.stop_all()
print("still running:", running.running())
