"""The chat rules, called directly: no sockets, no event loop."""

import itertools

import pytest

from chatkit.chat import Chat, Limits, Refused, new_join_code
from chatkit.store import MemoryStore


def make_chat(**options):
    sessions = (f"secret-{n}" for n in itertools.count(1))
    ticks = itertools.count(1000)
    options.setdefault("clock", lambda: float(next(ticks)))
    options.setdefault("new_session", lambda: next(sessions))
    return Chat(**options)


def connected(chat, *names):
    for name in names:
        chat.connect(f"conn-{name}", {"name": name})
    return chat


def refusal(call, *args):
    with pytest.raises(Refused) as caught:
        call(*args)
    return str(caught.value)


# -- connecting ----------------------------------------------------------------------------

def test_connect_accepts_a_name_and_issues_a_session():
    """A connection with a name is accepted and gets a session secret."""
    accepted = make_chat().connect("c1", {"name": "ada"})
    assert (accepted.name, accepted.session, accepted.rooms) == ("ada", "secret-1", ())
    assert accepted.offset is None and accepted.replaced is None


def test_connect_trims_the_name():
    """Spaces around a name are removed."""
    assert make_chat().connect("c1", {"name": "  ada lovelace "}).name == "ada lovelace"


@pytest.mark.parametrize(("auth", "why"), [
    (None, "Connect with auth like"),
    ("ada", "Connect with auth like"),
    ({}, 'Pick a name: auth needs a "name".'),
    ({"name": 7}, "A name is text, not a number (7)."),
    ({"name": "   "}, "The name is empty: pick one of 1 to 32 characters."),
    ({"name": "x" * 33}, "The name is too long (33 characters): at most 32."),
    ({"name": "ada\tb"}, "A name can only hold printable characters"),
    ({"name": "ada", "rooms": "lobby"}, '"rooms" is a list of room names, not the text'),
    ({"name": "ada", "rooms": ["no spaces"]}, "Room names use only letters"),
    ({"name": "ada", "offset": -1}, '"offset" is the last message id you saw'),
    ({"name": "ada", "offset": "3"}, '"offset" is the last message id you saw'),
    ({"name": "ada", "offset": True}, '"offset" is the last message id you saw'),
    ({"name": "ada", "session": 5}, '"session" must be the text the server sent'),
])
def test_connect_refuses_bad_auth_with_a_sentence(auth, why):
    """Malformed auth is refused with a message that says what is wrong."""
    assert refusal(make_chat().connect, "c1", auth).startswith(why)


def test_name_of_exactly_the_limit_is_accepted():
    """A name of exactly 32 characters is fine; the limit is configurable."""
    assert make_chat().connect("c1", {"name": "x" * 32}).name == "x" * 32
    chat = make_chat(limits=Limits(name_length=3))
    assert "at most 3" in refusal(chat.connect, "c1", {"name": "abcd"})


def test_join_code_is_required_when_set():
    """Without the code, or with a wrong one, the connection is refused."""
    chat = make_chat(join_code="Maple-Otter-42")
    assert refusal(chat.connect, "c1", {"name": "ada"}) == (
        "This chat needs a join code: ask your teacher for it.")
    assert refusal(chat.connect, "c1", {"name": "ada", "code": "wrong"}) == (
        "Wrong join code: check it with your teacher.")
    assert refusal(chat.connect, "c1", {"name": "ada", "code": 42}) == (
        "Wrong join code: check it with your teacher.")


def test_join_code_ignores_case_and_spaces():
    """A code typed in another case, with spaces around it, is accepted."""
    chat = make_chat(join_code="Maple-Otter-42")
    assert chat.connect("c1", {"name": "ada", "code": " maple-otter-42 "}).name == "ada"


def test_join_code_is_checked_before_the_name():
    """A stranger without the code cannot learn which names are taken."""
    chat = make_chat(join_code="k")
    chat.connect("c1", {"name": "ada", "code": "k"})
    assert refusal(chat.connect, "c2", {"name": "ada"}).startswith("This chat needs a join code")


def test_open_chat_ignores_a_code():
    """A chat without a join code accepts any code or none."""
    assert make_chat().connect("c1", {"name": "ada", "code": "anything"}).name == "ada"


def test_a_name_in_use_is_refused():
    """Two live connections cannot share a name."""
    chat = connected(make_chat(), "ada")
    assert refusal(chat.connect, "c2", {"name": "ada"}) == (
        "The name 'ada' is taken by someone connected now. Pick another name.")


def test_a_wrong_session_does_not_take_a_name_over():
    """Only the name's own secret takes it over."""
    chat = connected(make_chat(), "ada")
    assert "is taken" in refusal(chat.connect, "c2", {"name": "ada", "session": "guess"})


def test_session_takes_a_name_over_from_a_stale_connection():
    """With the name's secret, a new connection gets the name and the old one is named."""
    chat = make_chat()
    first = chat.connect("old", {"name": "ada", "rooms": ["lobby"]})
    again = chat.connect("new", {"name": "ada", "session": first.session, "rooms": ["lobby"]})
    assert again.replaced == "old" and again.session == first.session
    assert chat.name_of("new") == "ada" and chat.name_of("old") is None
    assert again.presence == ()  # still in lobby: nobody else needs to hear about it
    assert chat.disconnect("old") == ()  # the stale connection ending changes nothing
    assert chat.members("lobby") == ("ada",)


def test_session_survives_a_clean_disconnect():
    """A client that comes back after its connection ended keeps its secret."""
    chat = make_chat()
    first = chat.connect("c1", {"name": "ada"})
    chat.disconnect("c1")
    assert chat.connect("c2", {"name": "ada", "session": first.session}).session == first.session


def test_someone_else_taking_a_free_name_gets_a_new_session():
    """The old secret stops working once another person holds the name."""
    chat = make_chat()
    first = chat.connect("c1", {"name": "ada"})
    chat.disconnect("c1")
    second = chat.connect("c2", {"name": "ada"})
    assert second.session != first.session
    assert "is taken" in refusal(chat.connect, "c3", {"name": "ada", "session": first.session})


def test_connect_with_rooms_joins_them_and_reports_presence():
    """auth rooms put the name in those rooms and report who is there."""
    chat = connected(make_chat(), "bob")
    chat.join("conn-bob", {"room": "lobby"})
    accepted = chat.connect("c1", {"name": "ada", "rooms": ["lobby", "games", "lobby"]})
    assert accepted.rooms == ("lobby", "games")
    assert {p.room: p.members for p in accepted.presence} == {
        "games": ("ada",), "lobby": ("ada", "bob")}


def test_connect_with_rooms_and_no_offset_replays_nothing():
    """Without an offset, rooms are rejoined without replay."""
    chat = connected(make_chat(), "bob")
    chat.join("conn-bob", {"room": "lobby"})
    chat.say("conn-bob", {"room": "lobby", "text": "hi"})
    accepted = chat.connect("c1", {"name": "ada", "rooms": ["lobby"]})
    assert chat.replay(accepted.rooms, accepted.offset) == ()


def test_resume_replays_what_was_missed_in_id_order():
    """With an offset, the messages of those rooms with a higher id come back in order."""
    chat = connected(make_chat(), "bob")
    for room in ("a", "b", "c"):
        chat.join("conn-bob", {"room": room})
    for text, room in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "a"), ("5", "b")]:
        chat.say("conn-bob", {"room": room, "text": text})
    accepted = chat.connect("c1", {"name": "ada", "rooms": ["b", "a"], "offset": 1})
    assert accepted.offset == 1
    assert [(m.id, m.room, m.text) for m in chat.replay(accepted.rooms, accepted.offset)] == [
        (2, "b", "2"), (4, "a", "4"), (5, "b", "5")]


def test_resume_from_offset_zero_replays_everything_kept():
    """offset 0 means 'I saw nothing yet'."""
    chat = connected(make_chat(), "bob")
    chat.join("conn-bob", {"room": "a"})
    chat.say("conn-bob", {"room": "a", "text": "x"})
    accepted = chat.connect("c1", {"name": "ada", "rooms": ["a"], "offset": 0})
    assert [m.id for m in chat.replay(accepted.rooms, accepted.offset)] == [1]
    assert chat.replay((), 0) == ()


def test_disconnect_leaves_every_room():
    """When a connection ends its name leaves its rooms, and each room is reported."""
    chat = connected(make_chat(), "ada", "bob")
    for name in ("ada", "bob"):
        chat.join(f"conn-{name}", {"room": "lobby"})
    chat.join("conn-ada", {"room": "games"})
    presence = chat.disconnect("conn-ada")
    assert [(p.room, p.members) for p in presence] == [("games", ()), ("lobby", ("bob",))]
    assert chat.snapshot() == {"lobby": ["bob"]}
    assert chat.disconnect("conn-ada") == ()  # twice is harmless


def test_connection_cannot_connect_twice():
    """The same connection key cannot hold two names."""
    chat = connected(make_chat(), "ada")
    assert refusal(chat.connect, "conn-ada", {"name": "eve"}) == (
        "This connection is already connected.")


# -- rooms -------------------------------------------------------------------------------

def test_join_returns_members_and_history():
    """A join answers with who is in the room and its last messages."""
    chat = connected(make_chat(), "ada", "bob")
    chat.join("conn-bob", {"room": "lobby"})
    chat.say("conn-bob", {"room": "lobby", "text": "first"})
    joined = chat.join("conn-ada", {"room": "lobby"})
    assert joined.to_ack() == {
        "ok": True, "room": "lobby", "members": ["ada", "bob"],
        "history": [{"id": 1, "room": "lobby", "name": "bob", "text": "first", "ts": 1000.0}]}


def test_join_history_is_limited_to_the_last_messages():
    """History carries the last ``limits.history`` messages, oldest first."""
    chat = connected(make_chat(limits=Limits(history=3)), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    for n in range(5):
        chat.say("conn-ada", {"room": "lobby", "text": str(n)})
    chat.leave("conn-ada", {"room": "lobby"})
    assert [m.text for m in chat.join("conn-ada", {"room": "lobby"}).history] == ["2", "3", "4"]


def test_default_history_is_100_messages():
    """The join ack carries the room's last 100 messages by default."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    for n in range(120):
        chat.say("conn-ada", {"room": "lobby", "text": str(n)})
    chat.leave("conn-ada", {"room": "lobby"})
    history = chat.join("conn-ada", {"room": "lobby"}).history
    assert len(history) == 100 and history[0].text == "20"


@pytest.mark.parametrize(("payload", "why"), [
    ("lobby", 'join takes one object like {"room": "lobby"}, not the text'),
    (None, 'join takes one object like {"room": "lobby"}, not nothing (null).'),
    ({}, 'join needs a "room", as in {"room": "lobby"}.'),
    ({"room": 3}, "A room name is text, not a number (3)."),
    ({"room": ""}, "The room name is empty."),
    ({"room": "r" * 33}, "The room name is too long (33 characters): at most 32."),
    ({"room": "my room"}, "Room names use only letters A-Z, digits, '_' and '-' (not 'my room')."),
    ({"room": "café"}, "Room names use only letters"),
])
def test_join_refuses_bad_rooms_with_a_sentence(payload, why):
    """A malformed join is refused with a message that says what is wrong."""
    chat = connected(make_chat(), "ada")
    assert refusal(chat.join, "conn-ada", payload).startswith(why)


def test_room_names_use_the_allowed_characters():
    """Letters, digits, '_' and '-' up to 32 characters make a room name."""
    chat = connected(make_chat(), "ada")
    assert chat.join("conn-ada", {"room": "Room_2-b" + "x" * 24}).room == "Room_2-b" + "x" * 24


def test_join_twice_is_refused():
    """Joining a room you are in is refused."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    assert refusal(chat.join, "conn-ada", {"room": "lobby"}) == "You are already in room 'lobby'."


def test_leave_a_room_you_are_not_in_is_refused():
    """Leaving a room you are not in is refused."""
    chat = connected(make_chat(), "ada")
    assert refusal(chat.leave, "conn-ada", {"room": "lobby"}) == "You are not in room 'lobby'."


def test_leave_reports_who_is_left():
    """After a leave, the room's remaining members are known; an empty room disappears."""
    chat = connected(make_chat(), "ada", "bob")
    chat.join("conn-ada", {"room": "lobby"})
    chat.join("conn-bob", {"room": "lobby"})
    assert chat.leave("conn-ada", {"room": "lobby"}).members == ("bob",)
    chat.leave("conn-bob", {"room": "lobby"})
    assert chat.snapshot() == {} and chat.rooms_of("bob") == ()


def test_requests_from_an_unknown_connection_are_refused():
    """A connection the rules never accepted cannot join, leave or say."""
    chat = make_chat()
    for call, payload in [(chat.join, {"room": "a"}), (chat.leave, {"room": "a"}),
                          (chat.say, {"room": "a", "text": "x"})]:
        assert refusal(call, "ghost", payload) == "You are not connected to the chat."


# -- messages ----------------------------------------------------------------------------

def test_say_gives_increasing_ids_across_rooms():
    """Ids are one sequence for the whole chat, whatever the room."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "a"})
    chat.join("conn-ada", {"room": "b"})
    ids = [chat.say("conn-ada", {"room": room, "text": "x"}).id for room in "abab"]
    assert ids == [1, 2, 3, 4]


def test_say_returns_the_message_to_send():
    """A new message carries id, room, name, text and the server's timestamp."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    said = chat.say("conn-ada", {"room": "lobby", "text": "  hi  "})
    assert said.to_ack() == {"ok": True, "id": 1}
    assert said.message.to_dict() == {"id": 1, "room": "lobby", "name": "ada",
                                      "text": "  hi  ", "ts": 1000.0}


@pytest.mark.parametrize(("payload", "why"), [
    ("hi", 'say takes one object like {"room": "lobby", "text": "hello"}, not the text'),
    ([], 'say takes one object like {"room": "lobby", "text": "hello"}, not a list.'),
    ({"text": "hi"}, 'say needs a "room", as in'),
    ({"room": "lobby"}, 'say needs a "text", as in'),
    ({"room": "lobby", "text": 5}, "The text of a message is text, not a number (5)."),
    ({"room": "lobby", "text": ""}, "The message is empty: say something."),
    ({"room": "lobby", "text": " \n "}, "The message is empty: say something."),
    ({"room": "lobby", "text": "x" * 2001}, "The message is too long (2001 characters): at most 2000."),
    ({"room": "lobby", "text": "hi", "client_id": 12}, '"client_id" is text of 1 to 64 characters'),
    ({"room": "lobby", "text": "hi", "client_id": ""}, '"client_id" is text of 1 to 64 characters'),
    ({"room": "elsewhere", "text": "hi"}, "Join room 'elsewhere' before saying something there."),
])
def test_say_refuses_bad_messages_with_a_sentence(payload, why):
    """A malformed or misplaced say is refused with a message that says what is wrong."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    assert refusal(chat.say, "conn-ada", payload).startswith(why)


def test_text_of_exactly_the_limit_is_accepted():
    """A 2,000-character message is fine."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    assert chat.say("conn-ada", {"room": "lobby", "text": "x" * 2000}).id == 1


def test_say_with_a_known_client_id_returns_the_first_id():
    """Saying again with the same client_id is acknowledged with the first id, nothing new."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    first = chat.say("conn-ada", {"room": "lobby", "text": "hi", "client_id": "m1"})
    again = chat.say("conn-ada", {"room": "lobby", "text": "other text", "client_id": "m1"})
    assert (again.id, again.message) == (first.id, None)
    assert chat.store.last_id() == 1


def test_client_ids_belong_to_a_name():
    """Two names may use the same client_id for different messages."""
    chat = connected(make_chat(), "ada", "bob")
    for name in ("ada", "bob"):
        chat.join(f"conn-{name}", {"room": "lobby"})
    ada = chat.say("conn-ada", {"room": "lobby", "text": "hi", "client_id": "m1"})
    bob = chat.say("conn-bob", {"room": "lobby", "text": "hi", "client_id": "m1"})
    assert (ada.id, bob.id) == (1, 2) and bob.message is not None


def test_client_id_survives_a_reconnect_under_the_same_name():
    """A message re-sent from a new connection of the same name is not kept twice."""
    chat = make_chat()
    first = chat.connect("c1", {"name": "ada", "rooms": ["lobby"]})
    said = chat.say("c1", {"room": "lobby", "text": "hi", "client_id": "m1"})
    chat.connect("c2", {"name": "ada", "session": first.session, "rooms": ["lobby"]})
    assert chat.say("c2", {"room": "lobby", "text": "hi", "client_id": "m1"}).message is None
    assert chat.store.last_id() == said.id


def test_repeated_client_id_is_answered_even_after_leaving_the_room():
    """A late re-send of an acknowledged message gets its id, not a refusal."""
    chat = connected(make_chat(), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    chat.say("conn-ada", {"room": "lobby", "text": "hi", "client_id": "m1"})
    chat.leave("conn-ada", {"room": "lobby"})
    assert chat.say("conn-ada", {"room": "lobby", "text": "hi", "client_id": "m1"}).id == 1


def test_chat_uses_the_store_it_is_given():
    """The rules keep messages in the store passed to them."""
    store = MemoryStore()
    chat = connected(make_chat(store=store), "ada")
    chat.join("conn-ada", {"room": "lobby"})
    chat.say("conn-ada", {"room": "lobby", "text": "hi"})
    assert [m.text for m in store.recent("lobby", 10)] == ["hi"]


def test_new_join_code_reads_well():
    """A join code is two words and a number, joined by dashes."""
    words = new_join_code().split("-")
    assert len(words) == 3 and words[0].isalpha() and words[1].isalpha()
    assert 10 <= int(words[2]) <= 99
