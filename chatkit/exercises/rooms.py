"""Notebook 04, rooms and namespaces: the learner's chat (notebook 02's, moved to the
``/chat`` namespace) grows rooms and a whisper. Two checks, in the notebook's order:

* :func:`check_join`: ``join {"room"}`` puts the client in the room and answers
  ``{"ok": True, "room", "members"}``; a missing or empty room is refused.
* :func:`check_rooms_and_whispers`: ``say {"room", "text"}`` reaches that room's members
  only, the sender included; ``whisper {"to", "text"}`` reaches the one client of that
  name as ``whispered {"name", "text"}``.

Both refuse chatkit's own :class:`~chatkit.server.ChatServer`: it is the polished chat
the notebook shows after these exercises, not the learner's. ``/chat``, ``join``,
``say``, ``whisper`` and their fields are spelled out, not taken from
:mod:`chatkit.protocol`: here they are the learner's own namespace and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import socketio

from chatkit import running
from chatkit.engine import SocketIOServer
from chatkit.exercises.harness import (
    Served,
    SocketIOClient,
    awaitable_check,
    failure_hint,
    hint,
    require_server,
    say_right,
    serving,
    show_args,
    signature_advice,
)
from chatkit.language import phrase
from chatkit.server import ChatServer

__all__ = ["check_join", "check_rooms_and_whispers"]

NS = "/chat"


@awaitable_check
async def check_join(sio: socketio.AsyncServer, *, timeout: float = 2.0) -> None:
    """Notebook 04, exercise 1: check the ``join`` handler of the learner's ``/chat``.

    Clients connect to ``/chat`` with ``auth={"name": ...}``. ``join`` comes with
    ``{"room": <name>}``: the server puts the client in that room and answers ``{"ok":
    True, "room": <name>, "members": <the sorted names of everyone in it now>}``. A
    missing or empty room is answered ``{"ok": False, "error": <a sentence>}``.

    The check serves ``sio`` itself (don't serve it first) on a free port, connects
    alice, bob and carol over WebSocket, tries four joins and two bad ones, then
    disconnects them and stops the server. ``timeout`` bounds each wait for an answer.
    """
    _require_own_server(sio, "join")
    async with serving(sio, "exercise-join", timeout) as served:
        for name in ("alice", "bob", "carol"):
            await served.connect(SocketIOClient(name, timeout, NS))
        for name, room, members in [("alice", "lobby", ["alice"]),
                                    ("bob", "lobby", ["alice", "bob"]),
                                    ("carol", "games", ["carol"]),
                                    ("bob", "games", ["bob", "carol"])]:
            await _try_join(served, name, room, members)
        await _try_bad_join(served, {"room": ""}, "an empty room name")
        await _try_bad_join(served, {}, "no room at all")
    _crashed(served)
    say_right("Right: join puts the client in the room and answers who is there; a bad "
          "room is refused.")


@awaitable_check
async def check_rooms_and_whispers(sio: socketio.AsyncServer, *,
                                   timeout: float = 2.0) -> None:
    """Notebook 04, exercise 2: check ``say`` in rooms and ``whisper`` on ``/chat``.

    ``join`` works as :func:`check_join` checks. ``say {"room", "text"}`` from a member
    of the room: every member, the sender included, and nobody else, gets ``said {"id",
    "room", "name", "text"}``; the ack is ``{"ok": True, "id": <that id>}``, ids going up.
    A ``say`` in a room the sender is not in is refused (``{"ok": False, "error"}``) and
    reaches nobody. ``whisper {"to", "text"}``: only the client named ``to`` gets
    ``whispered {"name": <sender's name>, "text"}``; the ack is ``{"ok": True}``, or
    ``{"ok": False, "error"}`` when nobody of that name is connected (any more).

    The check serves ``sio`` itself on a free port, connects alice, bob, carol and dave,
    puts alice and bob in "lobby" and carol in "games" (dave in no room), tries both
    events, then disconnects everyone and stops the server.
    """
    _require_own_server(sio, "join", "say", "whisper")
    async with serving(sio, "exercise-rooms", timeout) as served:
        for name in ("alice", "bob", "carol", "dave"):
            await served.connect(SocketIOClient(name, timeout, NS))
        for name, room in [("alice", "lobby"), ("bob", "lobby"), ("carol", "games")]:
            await _join_before_saying(served, name, room)
        first = await _try_say(served, "alice", "lobby", "hi, lobby", {"alice", "bob"})
        second = await _try_say(served, "carol", "games", "anyone for chess?", {"carol"})
        hint(second > first, f"the ids were {first} then {second}: number the messages "
                             f"1, 2, 3... in the order the server accepts them, one count "
                             f"for all rooms")
        await _try_say_outside(served)
        await _try_whisper(served, "alice", "carol", "psst, carol")
        await _try_whisper(served, "dave", "bob", "hi bob, it's dave")
        await _try_whisper_to_nobody(served, "carol", "nobody")
        await _try_whisper_after_disconnect(served)
    _crashed(served)
    say_right("Right: a room hears only its members, the sender included, and a whisper "
          "reaches one person.")


# -- what every check does first and last -------------------------------------------

def _require_own_server(sio: Any, *events: str) -> None:
    hint(not isinstance(sio, ChatServer),
         "that is chatkit's ChatServer, the polished chat this notebook shows after the "
         "exercises: the check wants your own. Pass the socketio.AsyncServer that your "
         "handlers are on (my_chat)")
    hint(not isinstance(sio, SocketIOServer),
         "that is the socket.io server inside chatkit's ChatServer (its .sio): the "
         "check wants your own. Pass the socketio.AsyncServer that your handlers are on "
         "(my_chat)")
    require_server(sio)
    for event in events:  # the check's clients are on /chat only: these would never run
        hint(event not in sio.handlers.get("/", {}),
             f"your {event!r} handler is on the default namespace \"/\", but the chat is on "
             f"\"/chat\": register it with @my_chat.on(\"{event}\", namespace=CHAT)")


_ADVICE: dict[Any, str] = {
    **signature_advice(join="data", say="data", whisper="data"),
    KeyError: "Keep each client's name from its `connect` (auth[\"name\"]), by sid, and "
              "read the event's fields with data[\"room\"], data[\"text\"], data[\"to\"].",
}


def _crashed(served: Served, advice: Mapping[Any, str] | None = None) -> None:
    """If a handler of the learner's raised, say which, what and where, with advice."""
    if served.failures:
        event, exc = served.failures[0]
        if isinstance(exc, TypeError) and "unhashable" in str(exc):
            advice = {TypeError: "An event's data arrives as one dict: take the room out "
                                 "of it, data[\"room\"], before enter_room or to=."}
        if isinstance(exc, ValueError) and "namespace" in str(exc):
            advice = {ValueError: "The client is connected to /chat, not /: pass "
                                  "namespace=\"/chat\" to enter_room and leave_room too."}
    failure_hint(served.failures, {**(advice or {}), **_ADVICE})


def _sid(served: Served, name: str) -> str:
    return served.clients[name].sio.get_sid(NS)


def _is_refusal(ack: Any) -> bool:
    return (isinstance(ack, dict) and ack.get("ok") is False
            and isinstance(ack.get("error"), str) and bool(ack["error"].strip()))


def _others_got(client: SocketIOClient, event: str) -> str:
    """A hint's ending when ``client`` got events, but none named ``event``."""
    others = sorted({name for name, _ in client.events if name != event})
    return f" (it got {', '.join(map(repr, others))}: the event is named {event!r})" \
        if others else ""


# -- exercise 1: join -------------------------------------------------------------

async def _try_join(served: Served, name: str, room: str, expected: list[str]) -> None:
    did = phrase(f"{name} joined {room!r}")
    got = await served.clients[name].call("join", {"room": room}, did)
    _crashed(served)
    hint(room in served.sio.rooms(_sid(served, name), namespace=NS),
         f"{did}, but the server has not put {name} in that room: "
         f"`await sio.enter_room(sid, data[\"room\"], namespace=\"/chat\")`")
    right = {"ok": True, "room": room, "members": expected}
    hint(got is not None, f"{did} and the ack had no value: return {right!r} from the "
                          f"handler (its return value is the ack)")
    hint(isinstance(got, dict), f"{did} and the ack was {got!r}: answer one dict, "
                                f"{right!r} (a tuple would become several values)")
    hint(got.get("ok") is True and got.get("room") == room,
         f"{did} and the ack was {got!r}: it starts {{\"ok\": True, \"room\": {room!r}, "
         f"...}}")
    members = got.get("members")
    hint(isinstance(members, list) and all(isinstance(n, str) for n in members),
         f"{did} and the ack's \"members\" was {members!r}: a list of the names in the "
         f"room, sorted")
    sids = {_sid(served, other) for other in served.clients}
    hint(not set(members) & sids,
         f"{did} and \"members\" holds sids ({members!r}): answer with names; keep each "
         f"client's name from its `connect` (auth[\"name\"]) by sid")
    hint(sorted(members) != expected or members == expected,
         f"{did}: the members {members!r} are right, sort them: {expected!r}")
    hint(not set(members) < set(expected),
         f"{did}: \"members\" was {members!r}, expected {expected!r}: list everyone in "
         f"the room, not only the newcomer. The server sees who is in a room: "
         f"sio.manager.get_participants(\"/chat\", room) gives (sid, engine.io sid) pairs")
    hint(members == expected, f"{did}: \"members\" was {members!r}, expected {expected!r}")


async def _try_bad_join(served: Served, data: dict, what: str) -> None:
    carol = served.clients["carol"]
    did = phrase(f"carol joined with {data!r} ({what})")
    before = set(served.sio.rooms(_sid(served, "carol"), namespace=NS))
    got = await carol.call("join", data, did)
    _crashed(served, {("join", Exception): f"A join with {what} must be answered {{\"ok\": False, "
                              f"\"error\": \"<a sentence>\"}}, not fail: read the room with "
                              f"data.get(\"room\") and check it first."})
    hint(set(served.sio.rooms(_sid(served, "carol"), namespace=NS)) <= before,
         f"{did}, and the server put her in a room anyway: check the room before "
         f"enter_room")
    hint(_is_refusal(got), f"{did} and the ack was {got!r}: refuse it with {{\"ok\": "
                           f"False, \"error\": \"<a sentence for a person>\"}}")


# -- exercise 2: say in a room, whisper -----------------------------------------------

async def _join_before_saying(served: Served, name: str, room: str) -> None:
    did = phrase(f"{name} joined {room!r}")
    got = await served.clients[name].call("join", {"room": room}, did)
    _crashed(served)
    hint(isinstance(got, dict) and got.get("ok") is True
         and room in served.sio.rooms(_sid(served, name), namespace=NS),
         f"{did} and the ack was {got!r}: `join` must work first, run "
         f"exercises.check_join(...) on this server")


async def _quiet(served: Served) -> None:
    for client in served.clients.values():
        client.events.clear()


async def _try_say(served: Served, sender: str, room: str, text: str,
                   members: set[str]) -> int:
    """``sender`` says ``text`` in ``room``; return the id of the message."""
    clients = served.clients
    await _quiet(served)
    did = phrase(f"{sender} said {text!r} in {room!r}")
    ack = await clients[sender].call("say", {"room": room, "text": text}, did)
    await served.settle()
    _crashed(served)
    hint(not (isinstance(ack, dict) and ack.get("ok") is False),
         f"{did}, where {sender} is a member, and the ack was {ack!r}: accept it. Do you "
         f"read the rooms of /chat, sio.rooms(sid, namespace=\"/chat\")?")
    got = {name: client.got("said") for name, client in clients.items()}
    outsiders = sorted(name for name in clients if got[name] and name not in members)
    hint(not outsiders,
         f"{did}, and {' and '.join(outsiders)} got it too, not in {room!r}: emit to the "
         f"room only, to=data[\"room\"]")
    hint(got[sender] or not any(got[name] for name in members),
         f"{did}: the others in {room!r} got it, {sender} did not. The sender is a member "
         f"too (each of their tabs shows the message with its id): drop skip_sid")
    for name in sorted(members):
        hint(got[name], f"{did}, and {name} got no 'said' event"
                        f"{_others_got(clients[name], 'said')}: emit 'said' to the room, "
                        f"to=data[\"room\"], namespace=\"/chat\"")
        hint(len(got[name]) == 1, f"{did}, and {name} got it {len(got[name])} times")
    hint(isinstance(ack, dict) and ack.get("ok") is True and isinstance(ack.get("id"), int),
         f"{did} and the ack was {ack!r}: answer {{\"ok\": True, \"id\": <the message's "
         f"id>}}")
    expected = {"id": ack["id"], "room": room, "name": sender, "text": text}
    message = got[sender][0]
    if len(message) == 1 and isinstance(message[0], dict) and "room" not in message[0]:
        hint(False, f"{did}; the 'said' event was {message[0]!r}: add \"room\": {room!r}, so "
                    f"that a client in several rooms knows where it was said")
    hint(message == (expected,), f"{did}; {sender} got {show_args(message)}, expected "
                                 f"{expected!r} (the id is the ack's)")
    return ack["id"]


async def _try_say_outside(served: Served) -> None:
    await _quiet(served)
    did = phrase("dave, who is in no room, said 'let me in' in 'lobby'")
    ack = await served.clients["dave"].call("say", {"room": "lobby", "text": "let me in"},
                                            did)
    await served.settle()
    _crashed(served)
    heard = sorted(name for name, client in served.clients.items() if client.got("said"))
    went_through = f" and {' and '.join(heard)} got it" if heard else ""
    hint(not heard and not (isinstance(ack, dict) and ack.get("ok") is True),
         f"{did}: the ack was {ack!r}{went_through}. Refuse a say in a room the sender "
         f"has not joined, with {{\"ok\": False, \"error\": \"...\"}}: "
         f"`if data[\"room\"] not in sio.rooms(sid, namespace=\"/chat\")`")
    hint(_is_refusal(ack), f"{did}; the ack was {ack!r}: answer {{\"ok\": False, "
                           f"\"error\": \"<a sentence for a person>\"}}")


_WHISPER_ADVICE = {
    ("whisper", KeyError): "Look the name up among the connected clients' names (sid -> "
                           "name), then send to that sid.",
}


async def _try_whisper(served: Served, sender: str, to: str, text: str) -> None:
    clients = served.clients
    await _quiet(served)
    did = phrase(f"{sender} whispered {text!r} to {to}")
    ack = await clients[sender].call("whisper", {"to": to, "text": text}, did)
    await served.settle()
    _crashed(served, _WHISPER_ADVICE)
    got = {name: client.got("whispered") for name, client in clients.items()}
    others = sorted(name for name in clients if got[name] and name not in (sender, to))
    hint(not others, f"{did}, and {' and '.join(others)} got it too: send it to {to}'s "
                     f"sid only, to=<sid>: a client's own room is named by its sid")
    hint(not got[sender], f"{did}, and {sender} got it back: a whisper reaches {to} "
                          f"alone; {sender} learns it was sent from the ack")
    hint(got[to], f"{did}; {to} got nothing{_others_got(clients[to], 'whispered')}: emit "
                  f"'whispered' with to=<{to}'s sid>. A client's own room is named by its "
                  f"sid, not its name (to=\"{to}\" is a room nobody is in): find the sid "
                  f"whose name is data[\"to\"]")
    hint(len(got[to]) == 1, f"{did}; {to} got it {len(got[to])} times")
    hint(isinstance(ack, dict) and ack.get("ok") is True,
         f"{did} and the ack was {ack!r}: answer {{\"ok\": True}} once it is sent")
    expected = {"name": sender, "text": text}
    hint(got[to][0] == (expected,), f"{did}; {to} got {show_args(got[to][0])}, expected "
                                    f"{expected!r}")


async def _try_whisper_to_nobody(served: Served, sender: str, to: str) -> None:
    await _quiet(served)
    did = phrase(f"{sender} whispered to {to!r}, a name nobody has")
    ack = await served.clients[sender].call("whisper", {"to": to, "text": "anyone?"}, did)
    await served.settle()
    _crashed(served, {("whisper", Exception): "A whisper to a name nobody has must be answered "
                                 "{\"ok\": False, \"error\": \"...\"}, not fail."})
    heard = sorted(name for name, client in served.clients.items()
                   if client.got("whispered"))
    hint(not heard, f"{did}, and {' and '.join(heard)} got it: send only to the client "
                    f"of that name, and to nobody when there is none")
    hint(_is_refusal(ack), f"{did}; the ack was {ack!r}: answer {{\"ok\": False, "
                           f"\"error\": \"<a sentence for a person>\"}}")


async def _try_whisper_after_disconnect(served: Served) -> None:
    sio, dave, timeout = served.sio, served.clients["dave"], served.timeout
    sid = _sid(served, "dave")
    await dave.sio.disconnect()
    try:  # until the server's disconnect handler (if any) has run
        await running.wait_for(lambda: sid not in sio.manager.rooms.get(NS, {}).get(
            None, {}) and not served.guard.running, timeout)
    except TimeoutError:
        _crashed(served)
        hint(False, f"dave disconnected and the server did not notice within "
                    f"{timeout:g} s: does your `disconnect` handler return?")
    _crashed(served)
    did = phrase("dave disconnected; then alice whispered to him")
    ack = await served.clients["alice"].call("whisper", {"to": "dave", "text": "still there?"},
                                             did)
    _crashed(served, _WHISPER_ADVICE)
    hint(not (isinstance(ack, dict) and ack.get("ok") is True),
         f"{did}, and the ack was {ack!r}: forget a client's name when it disconnects "
         f"(in a `disconnect` handler). An emit to a sid that is gone reaches nobody, "
         f"silently")
    hint(_is_refusal(ack), f"{did}; the ack was {ack!r}, expected {{\"ok\": False, "
                           f"\"error\": \"...\"}}")
