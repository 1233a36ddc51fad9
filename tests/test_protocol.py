"""The wire contract (chatkit.protocol): payloads, auth, acks, and the documented names."""

import ast
import re
from pathlib import Path

import pytest

from chatkit import protocol
from chatkit.protocol import ChatError, Message, Notice, Presence, Welcome

PROTOCOL_MD = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"

WIRE_MESSAGE = {"id": 42, "room": "lobby", "name": "ada", "text": "hello",
                "ts": 1764000000.25}


# -- Message -------------------------------------------------------------------------------

def test_message_from_a_wire_message():
    """A said payload becomes a Message with the same fields."""
    assert Message.from_dict(WIRE_MESSAGE) == Message(42, "lobby", "ada", "hello",
                                                      1764000000.25)


def test_message_round_trips_through_its_dict():
    """to_dict gives the wire shape, and from_dict reads it back unchanged."""
    message = Message(7, "games", "bob", "  hi  ", 1000.5)
    assert message.to_dict() == {"id": 7, "room": "games", "name": "bob", "text": "  hi  ",
                                 "ts": 1000.5}
    assert Message.from_dict(message.to_dict()) == message


def test_message_accepts_a_whole_number_ts_as_a_float():
    """A ts sent as an integer is a number too, kept as a float."""
    message = Message.from_dict(WIRE_MESSAGE | {"ts": 1764000000})
    assert message.ts == 1764000000.0 and isinstance(message.ts, float)


def test_message_ignores_extra_fields():
    """Fields a newer server may add do not stop a message from being read."""
    assert Message.from_dict(WIRE_MESSAGE | {"extra": 1}).id == 42


def test_message_reads_as_a_chat_line():
    """str(message) is how a chat shows it."""
    assert str(Message.from_dict(WIRE_MESSAGE)) == "[lobby] ada: hello"


@pytest.mark.parametrize("missing", ["id", "room", "name", "text", "ts"])
def test_message_with_a_missing_field_is_a_value_error(missing):
    """A message without one of its five fields is refused, naming the field."""
    data = {key: value for key, value in WIRE_MESSAGE.items() if key != missing}
    with pytest.raises(ValueError, match=f"a message needs '{missing}'"):
        Message.from_dict(data)


@pytest.mark.parametrize(("field", "value", "why"), [
    ("id", True, "a message's id is a whole number, not True"),
    ("id", False, "a message's id is a whole number, not False"),
    ("id", "42", "a message's id is a whole number, not '42'"),
    ("id", 42.0, "a message's id is a whole number, not 42.0"),
    ("id", None, "a message's id is a whole number, not None"),
    ("ts", "now", "a message's ts is a number, not 'now'"),
    ("ts", True, "a message's ts is a number, not True"),
    ("ts", None, "a message's ts is a number, not None"),
    ("name", 7, "a message's room, name and text are text"),
    ("name", None, "a message's room, name and text are text"),
    ("room", ["lobby"], "a message's room, name and text are text"),
    ("text", {"t": 1}, "a message's room, name and text are text"),
])
def test_message_with_a_field_of_the_wrong_kind_is_a_value_error(field, value, why):
    """A bool id, a ts that is not a number, a name that is not text... are refused."""
    with pytest.raises(ValueError) as caught:
        Message.from_dict(WIRE_MESSAGE | {field: value})
    assert str(caught.value) == why


@pytest.mark.parametrize(("data", "why"), [
    ([1, "lobby"], "a message is an object, not list"),
    ("hello", "a message is an object, not str"),
    (None, "a message is an object, not NoneType"),
])
def test_a_message_that_is_not_an_object_is_a_value_error(data, why):
    """Anything but an object is refused, saying what it was."""
    with pytest.raises(ValueError) as caught:
        Message.from_dict(data)
    assert str(caught.value) == why


# -- Presence, Notice, Welcome -------------------------------------------------------------

def test_presence_round_trips():
    """A presence payload reads as Presence and goes back to the same dict."""
    data = {"room": "lobby", "members": ["ada", "bob"]}
    presence = Presence.from_dict(data)
    assert presence == Presence("lobby", ("ada", "bob"))
    assert presence.to_dict() == data
    assert str(presence) == "[lobby] here: ada, bob"


def test_an_empty_presence_round_trips():
    """A room everybody left has an empty member list."""
    assert Presence.from_dict({"room": "x", "members": []}).to_dict() == {
        "room": "x", "members": []}


@pytest.mark.parametrize("data", [
    None, [], {"room": "lobby"}, {"members": []}, {"room": 3, "members": []},
    {"room": "lobby", "members": "ada"},
])
def test_a_malformed_presence_is_a_value_error(data):
    """A presence without a text room and a list of members is refused."""
    with pytest.raises(ValueError, match="not a presence"):
        Presence.from_dict(data)


def test_notice_round_trips_with_and_without_a_room():
    """A notice to everyone has only text; one to a room carries the room."""
    assert Notice.from_dict({"text": "Break!"}) == Notice("Break!")
    assert Notice("Break!").to_dict() == {"text": "Break!"}
    assert Notice.from_dict({"text": "Lobby", "room": "lobby"}) == Notice("Lobby", "lobby")
    assert Notice("Lobby", "lobby").to_dict() == {"text": "Lobby", "room": "lobby"}
    assert str(Notice("Break!")) == "notice: Break!"


def test_a_notice_room_that_is_not_text_is_dropped():
    """A room that is not text is read as no room."""
    assert Notice.from_dict({"text": "hi", "room": 5}) == Notice("hi", None)


@pytest.mark.parametrize("data", [None, "hi", {}, {"text": 5}])
def test_a_malformed_notice_is_a_value_error(data):
    """A notice without a text is refused."""
    with pytest.raises(ValueError, match="not a notice"):
        Notice.from_dict(data)


def test_welcome_round_trips_with_history_on_the_wire():
    """Welcome's history_id travels as "history"."""
    data = {"name": "ada", "session": "secret-1", "history": "h1"}
    welcome = Welcome.from_dict(data)
    assert welcome == Welcome("ada", "secret-1", "h1") and welcome.history_id == "h1"
    assert welcome.to_dict() == data


def test_welcome_reads_without_its_secret():
    """str(welcome) names the person and leaves the session out."""
    assert str(Welcome("ada", "secret-1", "h1")) == "welcome, ada"
    assert "secret-1" not in str(Welcome("ada", "secret-1", "h1"))


@pytest.mark.parametrize("data", [
    None, {}, {"name": "ada", "session": "s"}, {"name": "ada", "session": 1, "history": "h"},
    {"name": "ada", "session": "s", "history_id": "h"},
])
def test_a_malformed_welcome_is_a_value_error(data):
    """A welcome without text name, session and history is refused."""
    with pytest.raises(ValueError, match="not a welcome"):
        Welcome.from_dict(data)


# -- auth ----------------------------------------------------------------------------------

def test_chat_auth_leaves_out_none():
    """Only the fields given are in the auth."""
    assert protocol.chat_auth("ada") == {"name": "ada"}
    assert protocol.chat_auth("ada", code="maple-otter-42") == {"name": "ada",
                                                                "code": "maple-otter-42"}


def test_chat_auth_with_everything_names_history_on_the_wire():
    """Every field is sent; history_id goes as "history", and offset 0 or [] are kept."""
    assert protocol.chat_auth("ada", code="c", session="s", rooms=["lobby"], offset=4,
                              history_id="h") == {
        "name": "ada", "code": "c", "session": "s", "rooms": ["lobby"], "offset": 4,
        "history": "h"}
    assert protocol.chat_auth("ada", rooms=[], offset=0) == {"name": "ada", "rooms": [],
                                                             "offset": 0}


def test_teacher_auth_carries_the_token():
    """The teacher's auth is {"token": ...}."""
    assert protocol.teacher_auth("s3cret") == {"token": "s3cret"}


# -- acks ----------------------------------------------------------------------------------

def test_ok_and_refused_make_the_two_acks():
    """ok(**fields) accepts with fields; refused(why) refuses with a sentence."""
    assert protocol.ok() == {"ok": True}
    assert protocol.ok(id=7) == {"ok": True, "id": 7}
    assert protocol.refused("No.") == {"ok": False, "error": "No."}


def test_check_ack_returns_an_accepting_ack():
    """An ack with ok true comes back as it is."""
    ack = {"ok": True, "id": 7}
    assert protocol.check_ack(ack, protocol.SAY) is ack


def test_check_ack_raises_the_servers_sentence():
    """A refusing ack raises ChatError whose text is the server's error."""
    with pytest.raises(ChatError) as caught:
        protocol.check_ack(protocol.refused("You are not in room 'x'."), protocol.LEAVE)
    assert str(caught.value) == "You are not in room 'x'."


def test_check_ack_without_a_reason_says_which_request_was_refused():
    """A refusal with no error still says what was refused."""
    with pytest.raises(ChatError) as caught:
        protocol.check_ack({"ok": False}, protocol.JOIN)
    assert str(caught.value) == "the server refused join, without saying why"
    with pytest.raises(ChatError) as caught:
        protocol.check_ack({})
    assert str(caught.value) == "the server refused the request, without saying why"


@pytest.mark.parametrize("ack", [None, "ok", [True], 1])
def test_check_ack_of_something_not_an_object_is_a_clear_chat_error(ack):
    """An ack that is not an object raises ChatError naming the request and the answer."""
    with pytest.raises(ChatError) as caught:
        protocol.check_ack(ack, protocol.SAY)
    assert str(caught.value) == f"the server answered say with {ack!r}, not an object"


def test_a_refused_connection_is_a_chat_error():
    """ConnectionRefused is caught by whoever catches ChatError."""
    assert issubclass(protocol.ConnectionRefused, ChatError)


def test_refusal_reason_reads_a_connect_error():
    """The server's {"message"} is the reason; a bare string (unreachable) is none."""
    assert protocol.refusal_reason({"message": "Wrong join code: check it with your "
                                               "teacher."}) == (
        "Wrong join code: check it with your teacher.")
    assert protocol.refusal_reason({}) == "the server refused the connection"
    assert protocol.refusal_reason({"message": ""}) == "the server refused the connection"
    assert protocol.refusal_reason("Connection refused by the server") is None
    assert protocol.refusal_reason(None) is None


def test_server_failed_is_the_documented_sentence():
    """A request the server failed on is answered with the sentence the docs print."""
    assert protocol.SERVER_FAILED in PROTOCOL_MD.read_text(encoding="utf-8")


# -- the names match docs/protocol.md ------------------------------------------------------

def at_a_glance() -> list[tuple[str, str]]:
    """The (direction, event cell) of each row of the "At a glance" table."""
    text = PROTOCOL_MD.read_text(encoding="utf-8")
    section = text.split("## At a glance", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]
    assert rows and cells, "no At a glance table in docs/protocol.md"
    return [(row[0], row[1]) for row in cells]


def documented_events(direction: str | None = None) -> set[str]:
    return {name for row_direction, cell in at_a_glance()
            if "*connect*" not in cell and direction in (None, row_direction)
            for name in re.findall(r"`([^`]+)`", cell)}


def test_the_event_names_are_the_documented_ones():
    """Every event of the At a glance table is a protocol constant, and no other."""
    assert documented_events() == (protocol.CHAT_REQUESTS | protocol.SERVER_EVENTS
                                   | protocol.TEACHER_REQUESTS)


def test_each_set_of_events_goes_the_documented_way():
    """Chat requests go client to server, events server to client, teacher's requests
    teacher to server."""
    assert documented_events("client → server") == protocol.CHAT_REQUESTS
    assert documented_events("server → client") == protocol.SERVER_EVENTS
    assert documented_events("teacher → server") == protocol.TEACHER_REQUESTS


def test_the_namespaces_are_the_documented_ones():
    """The /chat and /teacher namespaces are those the table connects to."""
    namespaces = {direction: re.findall(r"`([^`]+)`", cell)
                  for direction, cell in at_a_glance() if "*connect*" in cell}
    assert namespaces == {"client → server": [protocol.CHAT],
                          "teacher → server": [protocol.TEACHER]}


def test_the_constants_are_distinct_event_names():
    """The three sets do not overlap, and each constant is in its set."""
    assert not protocol.CHAT_REQUESTS & protocol.SERVER_EVENTS
    assert not protocol.CHAT_REQUESTS & protocol.TEACHER_REQUESTS
    assert not protocol.SERVER_EVENTS & protocol.TEACHER_REQUESTS
    assert protocol.CHAT_REQUESTS == {protocol.JOIN, protocol.LEAVE, protocol.SAY}
    assert protocol.SERVER_EVENTS == {protocol.WELCOME, protocol.SAID, protocol.PRESENCE,
                                      protocol.NOTICE}
    assert protocol.TEACHER_REQUESTS == {protocol.ROOMS, protocol.KICK, protocol.MUTE,
                                         protocol.ANNOUNCE, protocol.INVITE}


def test_no_event_uses_a_reserved_socketio_name():
    """message, connect, connect_error, disconnect... are never chat events."""
    reserved = {"message", "connect", "connect_error", "disconnect", "disconnecting",
                "newListener", "removeListener"}
    assert not reserved & (protocol.CHAT_REQUESTS | protocol.SERVER_EVENTS
                           | protocol.TEACHER_REQUESTS)


# Where an event's name may be spelled out: the contract itself, and the checks of the raw
# socket.io lessons, whose events (join, say...) are the learner's own.
SPELLED_OUT_ALLOWED = {"protocol.py", "exercises/rooms.py", "exercises/events.py",
                       "exercises/leaving.py", "exercises/shout.py"}


def bare_event_names(path: Path) -> list[str]:
    """The string literals of ``path`` that equal a chat event name, docstrings left out."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef
                                | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)}
    # The teacher's request names double as field names ("rooms" in auth, a "mute" or
    # "kick" restriction): only the /chat events are checked.
    names = protocol.CHAT_REQUESTS | protocol.SERVER_EVENTS
    return [f"{path.name}:{node.lineno} {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in names
            and id(node) not in docstrings]


def test_no_module_but_protocol_spells_out_an_event_name():
    """Every /chat event name in chatkit comes from chatkit.protocol (one place to change it)."""
    package = PROTOCOL_MD.parent.parent / "chatkit"
    found = [hit for path in sorted(package.rglob("*.py"))
             if str(path.relative_to(package)) not in SPELLED_OUT_ALLOWED
             for hit in bare_event_names(path)]
    assert found == []


def test_the_event_name_check_finds_a_bare_name(tmp_path):
    """The check above is not vacuous: a bare "said" outside a docstring is found."""
    planted = tmp_path / "planted.py"
    planted.write_text('"""Mentions "said" in a docstring."""\nEVENT = "said"\n')
    assert bare_event_names(planted) == ["planted.py:2 'said'"]
