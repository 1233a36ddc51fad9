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


# -- notebook 01 ------------------------------------------------------------------------

async def shout(connection):
    async for message in connection:
        if message == "bye":
            await connection.close(4000, "bye")
            return
        await connection.send(message.upper())


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


# -- notebook 04 ------------------------------------------------------------------------

NS = "/chat"


def rooms_server(join=None, whisper=None, forget=True) -> socketio.AsyncServer:
    """A right server for the exercise, with `join` or `whisper` replaced when given.

    The replacements are functions ``(sio, names) -> handler``; ``names`` maps sid -> name.
    With ``forget=False`` a disconnect does not forget the client's name.
    """
    sio = socketio.AsyncServer(async_mode="aiohttp")
    names = {}

    @sio.on("connect", namespace=NS)
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    @sio.on("disconnect", namespace=NS)
    async def disconnect(sid, reason):
        if forget:
            names.pop(sid, None)

    async def right_join(sid, room):
        await sio.enter_room(sid, room, namespace=NS)
        return sorted(names[s] for s, _ in sio.manager.get_participants(NS, room))

    async def right_whisper(sid, to_name, text):
        for other, name in names.items():
            if name == to_name:
                await sio.emit("whispered", {"from": names[sid], "text": text}, to=other,
                               namespace=NS)
                return True
        return False

    sio.on("join", join(sio, names) if join else right_join, namespace=NS)
    sio.on("whisper", whisper(sio, names) if whisper else right_whisper, namespace=NS)
    return sio


# -- notebook 05 ------------------------------------------------------------------------

async def say_with_me(panel, text):
    if text.startswith("/me "):
        text = f"* {panel.client.name} {text[4:]}"
    return await panel.say(text)


# -- notebook 06 ------------------------------------------------------------------------

async def announce_to_busiest(teacher, text):
    rooms = await teacher.rooms()
    await teacher.announce(text, room=min(rooms, key=lambda room: (-len(rooms[room]), room)))
