"""The chat rules, called directly: no sockets, no event loop."""

import itertools

import pytest

from chatkit.chat import (Announcement, Chat, Limits, Refused, Throttled, TokenBucket,
                          new_join_code, new_teacher_token)
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


# -- limits: how fast, how many ------------------------------------------------------------

class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def say(chat, name, text="hi", room="lobby", **fields):
    return chat.say(f"conn-{name}", {"room": room, "text": text, **fields})


def in_lobby(chat, *names):
    for name in names:
        chat.connect(f"conn-{name}", {"name": name})
        chat.join(f"conn-{name}", {"room": "lobby"})
    return chat


def test_token_bucket_allows_a_burst_then_the_rate():
    """A full bucket allows `burst` actions at once, then one per 1/rate seconds."""
    bucket = TokenBucket(rate=2, burst=3, now=0)
    assert [bucket.take(0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0) == pytest.approx(0.5)
    assert bucket.take(0.5) == 0.0 and bucket.take(0.5) == pytest.approx(0.5)


def test_token_bucket_never_holds_more_than_the_burst():
    """A long pause refills the bucket to `burst`, no more."""
    bucket = TokenBucket(rate=1, burst=2, now=0)
    bucket.take(0)
    assert [bucket.take(100) for _ in range(3)] == [0.0, 0.0, pytest.approx(1.0)]


def test_token_bucket_ignores_a_clock_going_back():
    """A clock that steps back gives no extra tokens and no negative wait."""
    bucket = TokenBucket(rate=1, burst=1, now=10)
    bucket.take(10)
    assert bucket.take(5) == pytest.approx(1.0)


def test_no_rate_limit_by_default():
    """Limits() sets no rate: a notebook's server accepts any number of messages."""
    assert Limits().messages_per_second is None
    chat = in_lobby(make_chat(clock=Clock()), "ada")
    assert [say(chat, "ada").id for _ in range(50)] == list(range(1, 51))


def test_a_flooding_name_is_throttled_with_one_notice_and_a_sentence():
    """Past the burst, say is refused (Throttled) with how long to wait; one notice per flood."""
    clock = Clock()
    chat = in_lobby(make_chat(clock=clock,
                              limits=Limits(messages_per_second=2, burst=3)), "ada", "bob")
    for _ in range(3):
        say(chat, "ada")
    with pytest.raises(Throttled) as first:
        say(chat, "ada")
    with pytest.raises(Throttled) as second:
        say(chat, "ada")
    assert str(first.value) == ("You are sending messages too fast: wait 0.5 s before "
                                "saying more (at most 2 per second).")
    assert first.value.notice == ("Slow down: you may say at most 2 messages per second. "
                                  "Messages sent faster are refused.")
    assert second.value.notice is None and first.value.wait == pytest.approx(0.5)
    assert say(chat, "bob").id == 4  # others are not slowed down
    clock.now += 0.5
    assert say(chat, "ada").id == 5
    with pytest.raises(Throttled) as again:
        say(chat, "ada")
    assert again.value.notice is not None  # a new flood gets a new notice


def test_a_repeated_client_id_costs_no_token():
    """Re-sending a message after a reconnect is answered even when the bucket is empty."""
    chat = in_lobby(make_chat(clock=Clock(), limits=Limits(messages_per_second=1, burst=1)),
                    "ada")
    assert say(chat, "ada", client_id="m1").id == 1
    assert say(chat, "ada", client_id="m1").id == 1
    with pytest.raises(Throttled):
        say(chat, "ada", client_id="m2")


def test_the_chat_refuses_newcomers_when_full_but_not_a_takeover():
    """Past `limits.clients` a new name is refused; a session takeover still works."""
    chat = make_chat(limits=Limits(clients=2))
    session = chat.connect("c1", {"name": "ada"}).session
    chat.connect("c2", {"name": "bob"})
    assert refusal(chat.connect, "c3", {"name": "cy"}) == (
        "The chat is full: 2 people are connected, the most this server allows. "
        "Try again later, or tell your teacher.")
    assert chat.connect("c4", {"name": "ada", "session": session}).replaced == "c1"
    chat.disconnect("c2")
    assert chat.connect("c3", {"name": "cy"}).name == "cy"


def test_one_person_may_be_in_a_limited_number_of_rooms():
    """Past `limits.rooms_per_client` a join, or a resume with too many rooms, is refused."""
    chat = connected(make_chat(limits=Limits(rooms_per_client=2)), "ada")
    chat.join("conn-ada", {"room": "a"})
    chat.join("conn-ada", {"room": "b"})
    assert refusal(chat.join, "conn-ada", {"room": "c"}) == (
        "You are in 2 rooms, the most allowed: leave one before joining 'c'.")
    assert refusal(chat.connect, "c2", {"name": "bob", "rooms": ["a", "b", "c"]}) == (
        '"rooms" lists 3 rooms: one person may be in at most 2.')
    chat.leave("conn-ada", {"room": "a"})
    assert chat.join("conn-ada", {"room": "c"}).room == "c"


def test_default_limits_are_the_documented_ones():
    """200 people, 20 rooms each, bursts of 10, kicks for 60 s."""
    limits = Limits()
    assert (limits.clients, limits.rooms_per_client, limits.burst, limits.kick_seconds) == (
        200, 20, 10, 60)


@pytest.mark.parametrize("options", [
    {"messages_per_second": 0}, {"burst": 0}, {"clients": 0}, {"rooms_per_client": 0},
    {"kick_seconds": -1},
])
def test_impossible_limits_are_refused(options):
    """A limit that would lock everyone out is a ValueError at once."""
    with pytest.raises(ValueError):
        Limits(**options)


# -- the teacher's tools -------------------------------------------------------------------

def teacher_chat(**options):
    options.setdefault("clock", Clock())
    return in_lobby(make_chat(teacher_token="s3cret", **options), "ada", "bob")


@pytest.mark.parametrize(("token", "auth", "why"), [
    (None, {"token": "anything"}, "This server has no teacher token"),
    ("s3cret", None, "The teacher's tools need the teacher token"),
    ("s3cret", {}, "The teacher's tools need the teacher token"),
    ("s3cret", {"token": " "}, "The teacher's tools need the teacher token"),
    ("s3cret", {"token": "S3CRET"}, "Wrong teacher token"),
    ("s3cret", {"token": 42}, "Wrong teacher token"),
])
def test_the_teachers_tools_need_the_exact_token(token, auth, why):
    """Without a token, with a wrong one, or on a server without one: refused."""
    assert refusal(make_chat(teacher_token=token).check_teacher, auth).startswith(why)


def test_the_right_token_opens_the_teachers_tools():
    """The exact token (spaces around it forgiven) is accepted."""
    make_chat(teacher_token="s3cret").check_teacher({"token": " s3cret "})


def test_new_teacher_token_is_long_and_random():
    """Two tokens differ and are long enough not to be guessed."""
    first, second = new_teacher_token(), new_teacher_token()
    assert first != second and len(first) >= 16


def test_kick_returns_the_connection_and_bars_the_name_for_a_while():
    """A kicked name is refused with how long is left, and let in once the time is up."""
    clock = Clock()
    chat = teacher_chat(clock=clock)
    kicked = chat.kick({"name": "ada"})
    assert (kicked.name, kicked.conn, kicked.seconds) == ("ada", "conn-ada", 60)
    assert kicked.notice == "The teacher removed you from the chat. You can come back in 60 s."
    chat.disconnect("conn-ada")
    clock.now += 17.5
    assert refusal(chat.connect, "c2", {"name": "ada"}) == (
        "The teacher removed 'ada' from the chat: you can come back in 43 s.")
    clock.now += 42.5
    assert chat.connect("c2", {"name": "ada"}).name == "ada"


def test_a_kicked_name_cannot_come_back_with_its_session():
    """The session secret does not get around a kick."""
    chat = teacher_chat()
    session = chat.connect("c-cy", {"name": "cy"}).session
    chat.kick({"name": "cy"})
    assert refusal(chat.connect, "c2", {"name": "cy", "session": session}).startswith(
        "The teacher removed 'cy' from the chat")


def test_kick_duration_is_a_limit():
    """Limits(kick_seconds=...) sets how long a kick lasts."""
    chat = teacher_chat(limits=Limits(kick_seconds=5))
    assert chat.kick({"name": "ada"}).seconds == 5


@pytest.mark.parametrize(("payload", "why"), [
    ({"name": "zed"}, "Nobody named 'zed' is connected (names are case-sensitive)."),
    ({"name": "Ada"}, "Nobody named 'Ada' is connected (names are case-sensitive)."),
    ({}, 'kick needs a "name", as in {"name": "ada"}.'),
    ("ada", 'kick takes one object like {"name": "ada"}, not the text \'ada\'.'),
    ({"name": 3}, "A name is text, not a number (3)."),
])
def test_kick_refuses_what_it_cannot_do_with_a_sentence(payload, why):
    """Kicking nobody, or with a malformed payload, is refused."""
    assert refusal(teacher_chat().kick, payload) == why


def test_a_muted_name_is_refused_with_how_long_is_left():
    """While muted, say is refused with the time left; afterwards it works again."""
    clock = Clock()
    chat = teacher_chat(clock=clock)
    muted = chat.mute({"name": "ada", "seconds": 30})
    assert (muted.conn, muted.notice) == ("conn-ada", "The teacher muted you for 30 s.")
    clock.now += 10.2
    assert refusal(say, chat, "ada") == "The teacher muted you: you can speak again in 20 s."
    assert say(chat, "bob").id == 1
    clock.now += 20
    assert say(chat, "ada").id == 2


def test_mute_for_zero_seconds_lifts_a_mute():
    """seconds=0 ends a mute at once, with a notice that says so."""
    chat = teacher_chat()
    chat.mute({"name": "ada", "seconds": 600})
    assert chat.mute({"name": "ada", "seconds": 0}).notice == (
        "The teacher lifted your mute: you can speak again.")
    assert say(chat, "ada").id == 1


def test_a_mute_outlives_a_reconnect():
    """Reconnecting does not end a mute: it belongs to the name."""
    chat = teacher_chat()
    chat.mute({"name": "ada", "seconds": 30})
    chat.disconnect("conn-ada")
    in_lobby(chat, "ada")
    assert refusal(say, chat, "ada").startswith("The teacher muted you")


@pytest.mark.parametrize("seconds", [-1, 86_401, "30", True, None])
def test_mute_refuses_a_bad_duration(seconds):
    """seconds must be a number from 0 to a day."""
    assert refusal(teacher_chat().mute, {"name": "ada", "seconds": seconds}).startswith(
        '"seconds" is how long to mute for: a number from 0 (to lift a mute) to 86,400')


def test_announce_checks_text_and_room():
    """An announcement is a message-like text, for everyone or a room someone is in."""
    chat = teacher_chat()
    assert chat.announce({"text": "Break!"}) == Announcement("Break!", None)
    assert chat.announce({"text": "Lobby only", "room": "lobby"}).room == "lobby"
    assert refusal(chat.announce, {"text": "hi", "room": "empty"}) == (
        "Nobody is in room 'empty' now, so nobody would hear it.")
    assert refusal(chat.announce, {"text": " "}) == "The message is empty: say something."
    assert refusal(chat.announce, {"room": "lobby"}).startswith('announce needs a "text"')
    assert refusal(chat.announce, {"text": "x", "room": "a b"}).startswith("Room names use")


def test_people_lists_everyone_connected():
    """people() names every connection, in a room or not."""
    chat = teacher_chat()
    chat.connect("c-cy", {"name": "cy"})
    assert chat.people() == ("ada", "bob", "cy")


def test_kicks_and_mutes_live_in_the_store_so_servers_sharing_it_agree():
    """Two Chats on one store (two server processes) see each other's kicks and mutes."""
    store = MemoryStore()
    first = teacher_chat(store=store)
    second = make_chat(store=store, clock=Clock())
    first.kick({"name": "ada"})
    first.mute({"name": "bob", "seconds": 30})
    assert refusal(second.connect, "c1", {"name": "ada"}).startswith("The teacher removed")
    in_lobby(second, "bob")
    assert refusal(say, second, "bob").startswith("The teacher muted you")


# -- several server processes: what the others have (Chat(elsewhere=...)) -----------------

class Roster:
    """One process's view of a shared in-memory roster: what RedisRoster does with Redis."""

    def __init__(self, shared: dict, process: str):
        self.shared, self.process = shared, process

    def update(self, here):
        self.shared[self.process] = dict(here)

    def _others(self):
        return [here for process, here in self.shared.items() if process != self.process]

    def people(self):
        return {name: conn for here in self._others() for name, (conn, _) in here.items()}

    def rooms(self):
        rooms = {}
        for here in self._others():
            for name, (_, names_rooms) in here.items():
                for room in names_rooms:
                    rooms.setdefault(room, set()).add(name)
        return rooms


def two_processes():
    """Two Chats on one store and one roster, as two server processes on one Redis."""
    shared, store = {}, MemoryStore()
    return [make_chat(store=store, teacher_token="t", elsewhere=Roster(shared, process))
            for process in ("one", "two")]


def test_a_name_connected_elsewhere_is_taken():
    """A name in use on another process is refused here too."""
    one, two = two_processes()
    one.connect("sid-1", {"name": "ada"})
    assert refusal(two.connect, "sid-2", {"name": "ada"}) == (
        "The name 'ada' is taken by someone connected now. Pick another name.")
    one.disconnect("sid-1")
    assert two.connect("sid-2", {"name": "ada"}).name == "ada"


def test_a_session_takes_a_name_over_from_another_process():
    """With its session a client takes its name back from a connection on another process."""
    one, two = two_processes()
    session = one.connect("sid-1", {"name": "ada", "rooms": ["lobby"]}).session
    accepted = two.connect("sid-2", {"name": "ada", "session": session, "rooms": ["lobby"]})
    assert (accepted.replaced, accepted.session) == ("sid-1", session)


def test_members_rooms_and_people_count_every_process():
    """presence, joins, the teacher's rooms and people cover both processes."""
    one, two = two_processes()
    one.connect("sid-1", {"name": "ada"})
    assert one.join("sid-1", {"room": "lobby"}).members == ("ada",)
    two.connect("sid-2", {"name": "bob"})
    assert two.join("sid-2", {"room": "lobby"}).members == ("ada", "bob")
    two.connect("sid-3", {"name": "cy"})
    assert one.snapshot() == two.snapshot() == {"lobby": ["ada", "bob"]}
    assert one.people() == ("ada", "bob", "cy") and one.rooms_here() == ("lobby",)
    assert one.announce({"text": "hi", "room": "lobby"}).room == "lobby"


def test_the_teacher_reaches_a_student_of_another_process():
    """kick and mute name the connection on the other process."""
    one, two = two_processes()
    two.connect("sid-2", {"name": "bob"})
    assert one.kick({"name": "bob"}).conn == "sid-2"
    assert one.mute({"name": "bob", "seconds": 5}).conn == "sid-2"


def test_an_offset_from_another_history_replays_everything():
    """An offset whose history is not this store's means nothing here: replay it all."""
    chat = connected(make_chat(), "bob")
    chat.join("conn-bob", {"room": "a"})
    for text in ("x", "y"):
        chat.say("conn-bob", {"room": "a", "text": text})
    same = chat.connect("c1", {"name": "ada", "rooms": ["a"], "offset": 1,
                               "history": chat.store.history})
    assert [m.text for m in chat.replay(same.rooms, same.offset)] == ["y"]
    other = chat.connect("c2", {"name": "cy", "rooms": ["a"], "offset": 5,
                                "history": "a history from another server"})
    assert [m.text for m in chat.replay(other.rooms, other.offset)] == ["x", "y"]
    with pytest.raises(Refused, match='"history"'):
        chat.connect("c3", {"name": "di", "rooms": ["a"], "offset": 1, "history": 7})
