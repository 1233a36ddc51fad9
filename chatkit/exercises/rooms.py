"""Notebook 04, rooms and namespaces: the exercise writes a socket.io server whose
``/chat`` namespace answers ``join`` with who is in the room and delivers a ``whisper``
to one client only.

``/chat``, ``join`` and ``whisper`` are spelled out, not taken from :mod:`chatkit.protocol`:
here they are the learner's own namespace and events, what the lesson asks to write.
"""

from __future__ import annotations

import socketio

from chatkit import running
from chatkit.exercises.harness import (
    Served,
    SocketIOClient,
    awaitable_check,
    failure_hint,
    hint,
    require_server,
    serving,
    show_args,
    signature_advice,
)


@awaitable_check
async def check_rooms_and_whispers(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 04: check a server whose ``/chat`` namespace has rooms and whispers.

    Clients connect to ``/chat`` with ``auth={"name": ...}``.

    * ``join`` comes with a room name: the server puts the client in that room and
      acknowledges with the sorted names of everyone in the room now, the client included.
    * ``whisper`` comes with two arguments, a name and a text: the client of that name, and
      no one else, gets a ``whispered`` event with ``{"from": <sender's name>, "text":
      text}``. The ack is True, or False when nobody of that name is connected (any more).

    The check serves ``sio`` itself (don't serve it first) on a free port, connects four
    clients over WebSocket (alice, bob, carol, dave), tries both events, then disconnects
    them and stops the server. ``timeout`` is how long to wait for each answer.
    """
    require_server(sio)
    async with serving(sio, "exercise-rooms", timeout) as served:
        for name in ("alice", "bob", "carol", "dave"):
            await served.connect(SocketIOClient(name, timeout, "/chat"))
        await _try_joins(served)
        await _try_whisper(served, "alice", "carol", "psst, carol")
        await _try_whisper(served, "dave", "bob", "hi bob, it's dave")
        await _try_whisper(served, "carol", "nobody", "anyone?")
        await _try_whisper_after_disconnect(served)
    failure_hint(served.failures, _ROOMS_ADVICE)
    print("Right: join answers who is in the room, and a whisper reaches one client only.")


_ROOMS_ADVICE = {**signature_advice(join="room", whisper="to_name, text"),
                 KeyError: "Whispering to a name nobody has must answer False, not fail."}


async def _try_joins(served: Served) -> None:
    sio, clients = served.sio, served.clients
    sid_of = {name: client.sio.get_sid("/chat") for name, client in clients.items()}
    for name, room, expected in [("alice", "lobby", ["alice"]),
                                 ("bob", "lobby", ["alice", "bob"]),
                                 ("carol", "games", ["carol"]),
                                 ("bob", "games", ["bob", "carol"])]:
        did = f"{name} joined {room!r}"
        got = await clients[name].call("join", room, did)
        failure_hint(served.failures, _ROOMS_ADVICE)
        hint(room in sio.rooms(sid_of[name], namespace="/chat"),
             f"{did}, but the server has not put {name} in that room: "
             f"`await sio.enter_room(sid, room, namespace=\"/chat\")`")
        hint(got is not None, f"{did} and the ack had no value: return the sorted list of "
                              f"the names in the room")
        hint(isinstance(got, list) and all(isinstance(n, str) for n in got),
             f"{did} and the ack was {got!r}: return a list of names (a tuple would "
             f"become several values)")
        hint(not set(got) & set(sid_of.values()),
             f"{did} and the ack holds sids ({got!r}): answer with names; keep each "
             f"client's name from its `connect` (auth[\"name\"]) by sid")
        hint(sorted(got) != expected or got == expected,
             f"{did}: the ack {got!r} has the right names, sort them: {expected!r}")
        hint(got == expected or set(got) < set(expected),
             f"{did}: expected {expected!r}, got {got!r}")
        hint(got == expected,
             f"{did}: expected {expected!r}, got {got!r}: list everyone in the room, not "
             f"only the newcomer. The server can see who is in a room: "
             f"sio.manager.get_participants(\"/chat\", room) gives (sid, eio_sid) pairs "
             f"(or keep your own lists)")


async def _try_whisper(served: Served, sender: str, to: str, text: str) -> None:
    clients = served.clients
    for client in clients.values():
        client.events.clear()
    did = f"{sender} whispered {text!r} to {to}"
    got = await clients[sender].call("whisper", (to, text), did)
    await served.settle()
    failure_hint(served.failures, _ROOMS_ADVICE)
    delivered = to in clients
    hint(got is delivered,
         f"{did} and the ack was {got!r}, expected {delivered}: return True when the "
         f"whisper was sent, False when nobody of that name is connected")
    for name, client in clients.items():
        received = client.got("whispered")
        if name != to:
            if received:
                hint(False, f"{did}, and {name} got it too ({show_args(received[0])}): "
                            f"send it to {to} only, with to=<{to}'s sid>: a client's own "
                            f"room is named by its sid")
            continue
        if not received:
            others = sorted({event for event, _ in client.events})
            hint(not others, f"{did}; {to} got {', '.join(map(repr, others))} but no "
                             f"'whispered' event: emit the event named 'whispered'")
            hint(False, f"{did}; {to} got nothing: emit 'whispered' with to=<{to}'s sid>. "
                        f"Each client's own room is named by its sid, not its name "
                        f"(to=\"{to}\" is a room nobody is in)")
        expected = {"from": sender, "text": text}
        hint(len(received) == 1, f"{did}; {to} got it {len(received)} times")
        hint(received[0] == (expected,), f"{did}; {to} got {show_args(received[0])}, "
                                         f"expected {expected!r}")


async def _try_whisper_after_disconnect(served: Served) -> None:
    sio, dave, timeout = served.sio, served.clients["dave"], served.timeout
    sid = dave.sio.get_sid("/chat")
    await dave.sio.disconnect()
    try:  # until the server's disconnect handler (if any) has run
        await running.wait_for(lambda: sid not in sio.manager.rooms.get("/chat", {}).get(
            None, {}), timeout)
    except TimeoutError:
        failure_hint(served.failures, _ROOMS_ADVICE)
        hint(False, f"dave disconnected and the server did not notice within "
                    f"{timeout:g} s: does your `disconnect` handler return?")
    did = "dave disconnected; then alice whispered to him"
    got = await served.clients["alice"].call("whisper", ("dave", "still there?"), did)
    failure_hint(served.failures, _ROOMS_ADVICE)
    hint(got is not True,
         f"{did}, and the ack was True: forget a client's name when it disconnects (in "
         f"a `disconnect` handler). An emit to a sid that is gone reaches nobody, "
         f"silently")
    hint(got is False, f"{did}, and the ack was {got!r}, expected False")
