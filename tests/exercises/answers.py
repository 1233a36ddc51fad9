"""A right answer to each notebook's exercise, for the tests of its check.

The socket.io exercises (02 to 04) are servers: their builders make a fresh right server
each call, with parts replaced where a test gives a wrong one.
"""

import socketio

# -- notebook 00 ------------------------------------------------------------------------


def staleness(published, polls):
    result = []
    for when in published:
        later = [poll for poll in polls if poll >= when]
        result.append(min(later) - when if later else None)
    return result


def values_seen(published, polls):
    seen = set()
    for poll in polls:
        before = [index for index, when in enumerate(published) if when <= poll]
        if before:
            seen.add(before[-1])
    return len(seen)


# -- notebook 01 ------------------------------------------------------------------------

async def shout(connection):
    async for message in connection:
        if message == "bye":
            await connection.close(4000, "bye")
            return
        await connection.send(message.upper())


def json_chat():
    """A fresh right `chat(connection)` for notebook 01's main exercise, with its own
    names and ids (as the notebook's solution, which keeps them in the cell)."""
    import json

    from websockets.asyncio.server import broadcast

    names = {}
    last_id = 0

    def said_for(connection, frame):
        nonlocal last_id
        message = json.loads(frame)
        if not isinstance(message, dict):
            raise ValueError("send a JSON object")
        kind = message.get("type")
        if kind == "hello":
            names[connection] = message.get("name") or "someone"
            return None
        if kind != "say":
            raise ValueError(f"unknown type {kind!r}: send hello or say")
        if connection not in names:
            raise ValueError("say hello first")
        text = message.get("text")
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty string")
        last_id += 1
        return {"type": "said", "id": last_id, "name": names[connection], "text": text}

    async def chat(connection):
        try:
            async for frame in connection:
                try:
                    said = said_for(connection, frame)
                except ValueError as error:
                    await connection.send(json.dumps({"type": "error", "error": str(error)}))
                    continue
                if said:
                    broadcast(names, json.dumps(said))
        finally:
            names.pop(connection, None)

    return chat


# -- notebook 02 ------------------------------------------------------------------------

def right_add(sio):
    @sio.on("add")
    async def add(sid, a, b):
        return a + b


def right_shout(sio):
    @sio.on("shout")
    async def shout(sid, text):
        await sio.emit("shouted", text.upper(), skip_sid=sid)


def events_server(*parts) -> socketio.AsyncServer:
    """A server made of the given parts (each a function that registers a handler);
    without parts, the right one."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    for part in parts or (right_add, right_shout):
        part(sio)
    return sio


class ChatState:
    """What the right chat of notebook 02 keeps: names by sid, and the last id."""

    def __init__(self):
        self.names = {}
        self.last_id = 0


def right_connect(sio, state):
    async def connect(sid, environ, auth):
        name = (auth or {}).get("name")
        if not name:
            raise socketio.exceptions.ConnectionRefusedError("Pick a name: auth needs a 'name'.")
        state.names[sid] = name
    return connect


def right_say(sio, state):
    async def say(sid, data):
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text:
            return {"ok": False, "error": "say needs a text, as in {'text': 'hi'}"}
        state.last_id += 1
        await sio.emit("said", {"id": state.last_id, "name": state.names[sid], "text": text})
        return {"ok": True, "id": state.last_id}
    return say


def chat_server(connect=right_connect, say=right_say) -> socketio.AsyncServer:
    """The chat of notebook 02 (right by default); ``connect`` and ``say`` are functions
    ``(sio, state) -> handler`` (``state`` a :class:`ChatState`), None leaves it out."""
    sio = socketio.AsyncServer(async_mode="aiohttp")
    state = ChatState()
    for event, make in (("connect", connect), ("say", say)):
        if make is not None:
            sio.on(event, make(sio, state))
    return sio


# -- notebook 03 ------------------------------------------------------------------------

def leaving_server(bye=None, disconnect=None) -> socketio.AsyncServer:
    """A right server for the exercise, with `bye` or `disconnect` replaced when given.

    The replacements are functions ``(sio, names) -> handler``; ``names`` maps sid -> name.
    """
    sio = socketio.AsyncServer(async_mode="aiohttp")
    names = {}

    @sio.on("connect")
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    async def right_bye(sid):
        await sio.emit("goodbye", f"goodbye, {names[sid]}", to=sid)
        await sio.disconnect(sid)

    async def right_disconnect(sid, reason):
        await sio.emit("left", names.pop(sid), skip_sid=sid)

    sio.on("bye", bye(sio, names) if bye else right_bye)
    sio.on("disconnect", disconnect(sio, names) if disconnect else right_disconnect)
    return sio


def nothing_lost_server(connect=None, say=None) -> socketio.AsyncServer:
    """02's chat that keeps its messages and replays to a client connecting with an
    offset; `connect` or `say` replaced when given, by ``(sio, names, history) -> handler``."""
    sio = socketio.AsyncServer(async_mode="aiohttp", ping_interval=1, ping_timeout=1)
    names, history = {}, []

    async def right_connect(sid, environ, auth):
        names[sid] = auth["name"]
        if "offset" in auth:
            for message in history:
                if message["id"] > auth["offset"]:
                    await sio.emit("said", message, to=sid)

    async def right_say(sid, data):
        message = {"id": len(history) + 1, "name": names[sid], "text": data["text"]}
        history.append(message)
        await sio.emit("said", message)
        return {"ok": True, "id": message["id"]}

    sio.on("connect", connect(sio, names, history) if connect else right_connect)
    sio.on("say", say(sio, names, history) if say else right_say)
    return sio


async def resuming_join(url, name, received, *, auth="function", dedupe=True, **options):
    """A right join for check_nothing_lost; ``auth="dict"`` sends a dict made once,
    ``auth="name"`` only the name (notebook 02's client); ``dedupe=False`` keeps copies."""
    client = socketio.AsyncClient(**{"handle_sigint": False, "reconnection_delay": 0.1,
                                     "randomization_factor": 0, **options})
    last_id = 0

    def said(message):
        nonlocal last_id
        if dedupe and message["id"] <= last_id:
            return
        last_id = max(last_id, message["id"])
        received.append(message)

    client.on("said", said)
    made = {"function": lambda: {"name": name, "offset": last_id},
            "dict": {"name": name, "offset": last_id}, "name": {"name": name}}[auth]
    await client.connect(url, transports=["websocket"], auth=made)
    return client


# -- notebook 04 ------------------------------------------------------------------------

NS = "/chat"


def rooms_server(*, join=None, say=None, whisper=None, forget=True) -> socketio.AsyncServer:
    """The learner's chat with rooms and whispers, right, with `join`, `say` or `whisper`
    replaced when given.

    The replacements are functions ``(sio, names) -> handler``; ``names`` maps sid -> name.
    With ``forget=False`` a disconnect does not forget the client's name.
    """
    sio = socketio.AsyncServer(async_mode="aiohttp")
    names, said = {}, []

    @sio.on("connect", namespace=NS)
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    @sio.on("disconnect", namespace=NS)
    async def disconnect(sid, reason):
        if forget:
            names.pop(sid, None)

    async def right_join(sid, data):
        room = data.get("room")
        if not isinstance(room, str) or not room:
            return {"ok": False, "error": "join needs a room name"}
        await sio.enter_room(sid, room, namespace=NS)
        members = sorted(names[s] for s, _ in sio.manager.get_participants(NS, room))
        return {"ok": True, "room": room, "members": members}

    async def right_say(sid, data):
        room = data.get("room")
        if room not in sio.rooms(sid, namespace=NS):
            return {"ok": False, "error": f"join {room!r} before you say something there"}
        message = {"id": len(said) + 1, "room": room, "name": names[sid], "text": data["text"]}
        said.append(message)
        await sio.emit("said", message, to=room, namespace=NS)
        return {"ok": True, "id": message["id"]}

    async def right_whisper(sid, data):
        for other, name in names.items():
            if name == data["to"]:
                await sio.emit("whispered", {"name": names[sid], "text": data["text"]},
                               to=other, namespace=NS)
                return {"ok": True}
        return {"ok": False, "error": f"nobody called {data['to']!r} is here"}

    sio.on("join", join(sio, names) if join else right_join, namespace=NS)
    sio.on("say", say(sio, names) if say else right_say, namespace=NS)
    sio.on("whisper", whisper(sio, names) if whisper else right_whisper, namespace=NS)
    return sio


# -- notebook 05 ------------------------------------------------------------------------

async def make_panel(url, name, *, members=False):
    """The notebook's solution: exercise 1 (Text, Send, a Label per message), and with
    ``members=True`` exercise 2 (a Select of the lobby's members)."""
    import ipywidgets as widgets

    from chatkit import running
    from chatkit.panel import as_task

    client = socketio.AsyncClient(handle_sigint=False, reconnection=False)
    await running.track(name, client.shutdown)
    lines = widgets.VBox()
    draft = widgets.Text(placeholder=f"message from {name}")
    send = widgets.Button(description="Send")
    here = widgets.Select(options=[], rows=4)

    @client.on("said", namespace="/chat")
    def show_said(message):
        lines.children = (*lines.children, widgets.Label(f"{message['name']}: "
                                                         f"{message['text']}"))

    @client.on("presence", namespace="/chat")
    def show_members(presence):
        if presence["room"] == "lobby":
            here.options = presence["members"]

    async def send_draft(clicked_button):
        ack = await client.call("say", {"room": "lobby", "text": draft.value},
                                namespace="/chat", timeout=5)
        if ack["ok"]:
            draft.value = ""

    send.on_click(as_task(send_draft))
    await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                         auth={"name": name, "rooms": ["lobby"]})
    return widgets.VBox([lines, widgets.HBox([draft, send]), *([here] if members else [])])


async def make_panel_with_members(url, name):
    return await make_panel(url, name, members=True)


# -- notebook 06 ------------------------------------------------------------------------

async def announce_to_busiest(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=min(rooms, key=lambda room: (-len(rooms[room]), room)))


async def three_strikes(teacher, eyes):
    import math
    from collections import Counter

    strikes = Counter()
    while True:
        message = (await eyes.next("said", timeout=math.inf)).data
        if "spam" in message.text.lower():
            strikes[message.name] += 1
            if strikes[message.name] == 3:
                await teacher.mute(message.name, seconds=60)
