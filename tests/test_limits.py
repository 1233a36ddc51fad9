"""What the chat accepts (chatkit.limits): sizes, rates, join codes, secrets; no sockets."""

import pytest

from chatkit.limits import (
    MAX_MUTE_SECONDS,
    Limits,
    RateLimit,
    Refused,
    Throttled,
    TokenBucket,
    describe,
    kind,
    new_join_code,
    new_teacher_token,
    same_secret,
    seconds,
)


def refusal(check, value):
    with pytest.raises(Refused) as caught:
        check(value)
    return str(caught.value)


# -- Limits: the defaults, and limits that cannot be ----------------------------------------

def test_default_limits_are_the_documented_ones():
    """200 people, 20 rooms each, bursts of 10, kicks for 60 s, no rate, the sizes."""
    limits = Limits()
    assert (limits.clients, limits.rooms_per_client, limits.burst, limits.kick_seconds) == (
        200, 20, 10, 60)
    assert limits.messages_per_second is None
    assert (limits.name_length, limits.room_length, limits.text_length, limits.history,
            limits.client_id_length) == (32, 32, 2000, 100, 64)


@pytest.mark.parametrize("options", [
    {"messages_per_second": 0}, {"messages_per_second": -1}, {"burst": 0}, {"clients": 0},
    {"rooms_per_client": 0}, {"kick_seconds": -1},
])
def test_impossible_limits_are_refused(options):
    """A limit that would lock everyone out is a ValueError at once."""
    with pytest.raises(ValueError):
        Limits(**options)


def test_none_disables_the_limits_that_can_be_none():
    """clients, rooms_per_client and messages_per_second may be None: no limit."""
    limits = Limits(clients=None, rooms_per_client=None, messages_per_second=None)
    assert limits.check_rooms([f"r{n}" for n in range(100)]) == tuple(
        f"r{n}" for n in range(100))


def test_max_mute_is_a_day():
    """A teacher may mute for at most 86,400 seconds."""
    assert MAX_MUTE_SECONDS == 86_400


# -- Limits.check_name ---------------------------------------------------------------------

def test_check_name_trims_spaces():
    """Spaces around a name are removed; inner spaces stay."""
    assert Limits().check_name("  ada lovelace ") == "ada lovelace"


def test_a_name_of_exactly_the_limit_is_accepted():
    """A name of exactly name_length characters is fine, one more is not."""
    assert Limits().check_name("x" * 32) == "x" * 32
    assert refusal(Limits(name_length=3).check_name, "abcd") == (
        "The name is too long (4 characters): at most 3.")


@pytest.mark.parametrize(("name", "why"), [
    (None, 'Pick a name: auth needs a "name".'),
    (7, "A name is text, not a number (7)."),
    (["ada"], "A name is text, not a list."),
    ("   ", "The name is empty: pick one of 1 to 32 characters."),
    ("", "The name is empty: pick one of 1 to 32 characters."),
    ("x" * 33, "The name is too long (33 characters): at most 32."),
    ("ada\tb", "A name can only hold printable characters (no tabs, line breaks or control "
               "characters)."),
    ("ada\nb", "A name can only hold printable characters (no tabs, line breaks or control "
               "characters)."),
    ("a\ud800", "A name can only hold printable characters (no tabs, line breaks or control "
                "characters)."),
])
def test_check_name_refuses_with_a_sentence(name, why):
    """A name that is not 1 to 32 printable characters is refused, saying why."""
    assert refusal(Limits().check_name, name) == why


# -- Limits.check_room ---------------------------------------------------------------------

def test_room_names_use_the_allowed_characters():
    """Letters, digits, '_' and '-' up to 32 characters make a room name, unchanged."""
    room = "Room_2-b" + "x" * 24
    assert Limits().check_room(room) == room


@pytest.mark.parametrize(("room", "why"), [
    (3, "A room name is text, not a number (3)."),
    (None, "A room name is text, not nothing (null)."),
    (True, "A room name is text, not true/false (true)."),
    ("", "The room name is empty."),
    ("r" * 33, "The room name is too long (33 characters): at most 32."),
    ("my room", "Room names use only letters A-Z, digits, '_' and '-' (not 'my room')."),
    ("café", "Room names use only letters A-Z, digits, '_' and '-' (not 'café')."),
    ("lobby!", "Room names use only letters A-Z, digits, '_' and '-' (not 'lobby!')."),
    ("lobby\n", "Room names use only letters A-Z, digits, '_' and '-' (not 'lobby\\n')."),
])
def test_check_room_refuses_with_a_sentence(room, why):
    """A room name that is not 1 to 32 of A-Z a-z 0-9 _ - is refused, saying why."""
    assert refusal(Limits().check_room, room) == why


def test_room_length_is_a_limit():
    """Limits(room_length=...) sets the longest room name."""
    assert Limits(room_length=3).check_room("abc") == "abc"
    assert refusal(Limits(room_length=3).check_room, "abcd") == (
        "The room name is too long (4 characters): at most 3.")


# -- Limits.check_text ---------------------------------------------------------------------

def test_check_text_keeps_the_text_exactly():
    """A message's text is kept as sent, spaces included."""
    assert Limits().check_text("  hi  ") == "  hi  "


def test_text_of_exactly_the_limit_is_accepted():
    """A 2,000-character message is fine; text_length is configurable."""
    assert Limits().check_text("x" * 2000) == "x" * 2000
    assert refusal(Limits(text_length=5).check_text, "x" * 6) == (
        "The message is too long (6 characters): at most 5.")


@pytest.mark.parametrize(("text", "why"), [
    (5, "The text of a message is text, not a number (5)."),
    ([], "The text of a message is text, not a list."),
    ({}, "The text of a message is text, not an object."),
    ("", "The message is empty: say something."),
    (" \n ", "The message is empty: say something."),
    ("x" * 2001, "The message is too long (2001 characters): at most 2000."),
])
def test_check_text_refuses_with_a_sentence(text, why):
    """Text that is not 1 to 2,000 characters, not all blank, is refused, saying why."""
    assert refusal(Limits().check_text, text) == why


# -- Limits.check_client_id ----------------------------------------------------------------

def test_check_client_id_accepts_none_and_short_text():
    """No client_id is None; one of 1 to 64 characters comes back unchanged."""
    limits = Limits()
    assert limits.check_client_id(None) is None
    assert limits.check_client_id("m") == "m"
    assert limits.check_client_id("x" * 64) == "x" * 64


@pytest.mark.parametrize("client_id", [12, "", "x" * 65, True, ["m1"]])
def test_check_client_id_refuses_with_a_sentence(client_id):
    """A client_id that is not 1 to 64 characters of text is refused, saying why."""
    assert refusal(Limits().check_client_id, client_id) == (
        '"client_id" is text of 1 to 64 characters that you choose for each message.')


def test_client_id_length_is_a_limit():
    """Limits(client_id_length=...) sets the longest client_id."""
    assert refusal(Limits(client_id_length=2).check_client_id, "abc") == (
        '"client_id" is text of 1 to 2 characters that you choose for each message.')


# -- Limits.check_rooms (auth["rooms"]) ----------------------------------------------------

def test_check_rooms_keeps_order_and_drops_duplicates():
    """auth rooms come back in their order, each once; None is no rooms."""
    limits = Limits()
    assert limits.check_rooms(["lobby", "games", "lobby"]) == ("lobby", "games")
    assert limits.check_rooms(("a", "b")) == ("a", "b")
    assert limits.check_rooms(None) == ()
    assert limits.check_rooms([]) == ()


@pytest.mark.parametrize(("rooms", "why"), [
    ("lobby", "\"rooms\" is a list of room names, not the text 'lobby'."),
    ({"lobby": 1}, '"rooms" is a list of room names, not an object.'),
    (3, '"rooms" is a list of room names, not a number (3).'),
    (["no spaces"], "Room names use only letters A-Z, digits, '_' and '-' (not 'no spaces')."),
    (["lobby", 7], "A room name is text, not a number (7)."),
])
def test_check_rooms_refuses_with_a_sentence(rooms, why):
    """auth rooms that are not a list of valid room names are refused, saying why."""
    assert refusal(Limits().check_rooms, rooms) == why


def test_check_rooms_counts_distinct_rooms_against_the_limit():
    """Past rooms_per_client distinct rooms, auth rooms are refused; duplicates count once."""
    limits = Limits(rooms_per_client=2)
    assert limits.check_rooms(["a", "b", "a", "b"]) == ("a", "b")
    assert refusal(limits.check_rooms, ["a", "b", "c"]) == (
        '"rooms" lists 3 rooms: one person may be in at most 2.')


def test_default_rooms_per_client_is_20():
    """21 rooms are too many by default, as the protocol says."""
    assert refusal(Limits().check_rooms, [f"r{n}" for n in range(21)]) == (
        '"rooms" lists 21 rooms: one person may be in at most 20.')


# -- Refused -------------------------------------------------------------------------------

def test_a_refusal_is_a_sentence_with_no_effects_by_default():
    """Refused("...") reads as its sentence and asks the server to do nothing."""
    refused = Refused("You are not in room 'x'.")
    assert str(refused) == "You are not in room 'x'." and refused.effects == ()


def test_a_refusal_carries_its_effects():
    """Refused(..., effects=...) keeps what the server must still do."""
    assert Refused("no", effects=("an effect",)).effects == ("an effect",)


# -- TokenBucket ---------------------------------------------------------------------------

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


def test_token_bucket_refusing_takes_nothing():
    """A refused take leaves the bucket as it was: the wait shrinks as time goes on."""
    bucket = TokenBucket(rate=1, burst=1, now=0)
    bucket.take(0)
    assert bucket.take(0) == pytest.approx(1.0)
    assert bucket.take(0.25) == pytest.approx(0.75)
    assert bucket.take(1.0) == 0.0


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (1, 0)])
def test_token_bucket_refuses_an_impossible_rate(rate, burst):
    """rate must be above 0 and burst at least 1."""
    with pytest.raises(ValueError):
        TokenBucket(rate=rate, burst=burst, now=0)


def test_token_bucket_repr_shows_its_tokens():
    """repr says how many tokens are left and the rate."""
    assert repr(TokenBucket(rate=2, burst=3, now=0)) == "<TokenBucket 3.00/3 tokens, 2/s>"


# -- join codes and teacher tokens ---------------------------------------------------------

def test_new_join_code_reads_well():
    """A join code is three words and a number, joined by dashes."""
    for _ in range(20):
        words = new_join_code().split("-")
        assert len(words) == 4 and all(word.isalpha() for word in words[:3])
        assert 10 <= int(words[3]) <= 99


def test_the_join_code_space_is_bigger_than_four_words():
    """Issue 14: the default codes (about 207,000) fell in 1.5 minutes of guessing. Now
    48**3 * 90 codes, more than four words of the list would give."""
    from chatkit.limits import _CODE_WORDS
    words = len(set(_CODE_WORDS))
    assert words >= 48 and words ** 3 * 90 > words ** 4 > 5_000_000


def test_new_teacher_token_is_long_and_random():
    """Two tokens differ and are long enough not to be guessed."""
    first, second = new_teacher_token(), new_teacher_token()
    assert first != second and len(first) >= 16


# -- same_secret ---------------------------------------------------------------------------

def test_same_secret_compares_exactly():
    """Equal secrets are the same; any difference, case included, is not."""
    assert same_secret("s3cret", "s3cret")
    assert not same_secret("S3CRET", "s3cret")
    assert not same_secret("s3cre", "s3cret")
    assert not same_secret("", "s3cret")
    assert same_secret("é", "é")


@pytest.mark.parametrize(("given", "expected"), [
    ("\ud800", "s3cret"), ("s3cret", "\udfff"), ("\ud800", "\udc00"), ("a\ud800b", "ab"),
])
def test_same_secret_with_a_lone_surrogate_is_false_never_an_error(given, expected):
    """Text UTF-8 cannot encode (a lone surrogate) compares as unequal, without raising."""
    assert same_secret(given, expected) is False


def test_same_secret_of_one_lone_surrogate_with_itself_is_true():
    """A lone surrogate is still equal to itself: the comparison is exact."""
    assert same_secret("\ud800", "\ud800") is True


# -- describe, seconds, kind ---------------------------------------------------------------

def test_describe_says_the_limits_in_one_sentence():
    """describe() names the rate, the text size, the people, the rooms and the kick."""
    assert describe(Limits(messages_per_second=5)) == (
        "5 messages per second per student (bursts of 10); messages up to 2,000 "
        "characters; 200 students, 20 rooms each; a kick lasts 60 s")


def test_describe_says_when_there_is_no_limit():
    """Limits that are off read as such."""
    assert describe(Limits(clients=None, rooms_per_client=None, kick_seconds=2.5)) == (
        "no rate limit; messages up to 2,000 characters; any number of students, any "
        "number of rooms each; a kick lasts 2.5 s")


@pytest.mark.parametrize(("wait", "reads"), [
    (0, "1 s"), (0.2, "1 s"), (1, "1 s"), (1.01, "2 s"), (42.5, "43 s"), (86_400, "86,400 s"),
])
def test_seconds_rounds_a_wait_up_to_whole_seconds(wait, reads):
    """A wait reads as whole seconds, rounded up, at least 1."""
    assert seconds(wait) == reads


@pytest.mark.parametrize(("value", "reads"), [
    (None, "nothing (null)"), (True, "true/false (true)"), (False, "true/false (false)"),
    (7, "a number (7)"), (2.5, "a number (2.5)"), ("ada", "the text 'ada'"),
    ("x" * 50, f"the text {'x' * 40!r}"), ([1], "a list"), ((1,), "a list"),
    ({}, "an object"), (b"x", "binary data"), (object(), "object"),
])
def test_kind_names_what_was_sent(value, reads):
    """An error message names what was sent in words a person reads."""
    assert kind(value) == reads


# -- RateLimit --------------------------------------------------------------------------

def test_a_rate_limit_lets_a_burst_through_then_refuses_with_the_wait():
    """burst messages pass at once; the next is Throttled with how long to wait."""
    limit = RateLimit(rate=2, burst=3)
    for _ in range(3):
        limit.check("ada", now=0)
    with pytest.raises(Throttled) as caught:
        limit.check("ada", now=0)
    assert caught.value.wait == pytest.approx(0.5)
    assert str(caught.value) == ("You are sending messages too fast: wait 0.5 s before "
                                 "saying more (at most 2 per second).")


def test_a_rate_limit_warns_once_per_flood():
    """Only the first refusal since the last accepted message carries a notice."""
    limit = RateLimit(rate=1, burst=1)
    limit.check("ada", now=0)
    notices = []
    for _ in range(3):
        with pytest.raises(Throttled) as caught:
            limit.check("ada", now=0)
        notices.append(caught.value.notice)
    assert notices == ["Slow down: you may say at most 1 messages per second. Messages "
                       "sent faster are refused.", None, None]
    limit.check("ada", now=1)  # accepted again: the next flood is warned again
    with pytest.raises(Throttled) as caught:
        limit.check("ada", now=1)
    assert caught.value.notice is not None


def test_a_rate_limit_counts_each_name_apart_and_forgets():
    """One name's flood does not slow another; forget() gives a fresh bucket."""
    limit = RateLimit(rate=1, burst=1)
    limit.check("ada", now=0)
    limit.check("bob", now=0)
    with pytest.raises(Throttled):
        limit.check("ada", now=0)
    limit.forget("ada")
    limit.check("ada", now=0)


# == issue 14, item 3: every input gets its answer; names normalised =========================

@pytest.mark.parametrize(("typed", "kept"), [
    ("Ａｄａ", "Ada"),                   # fullwidth letters: NFKC
    ("\u00a0ada\u00a0", "ada"),          # no-break spaces: NFKC makes them spaces, trimmed
    ("ﬁona", "fiona"),                   # a ligature
    ("Zoë", "Zoë"), ("Zoe\u0308", "Zoë"),  # one ë, however it was typed
    ("Ада", "Ада"), ("Σοφία", "Σοφία"), ("小明", "小明"), ("さくら アキ", "さくら アキ"),
    ("김민준", "김민준"), ("ada_2-b.c'd", "ada_2-b.c'd"), ("Ада 7", "Ада 7"),
])
def test_check_name_keeps_what_was_typed_in_nfkc_form(typed, kept):
    """A name is kept as typed once in NFKC form and trimmed; one script (CJK counting as
    one) plus digits and punctuation is fine."""
    assert Limits().check_name(typed) == kept


@pytest.mark.parametrize(("name", "mixed"), [
    ("\u0430da", "Cyrillic and Latin"),   # Cyrillic а, then Latin da
    ("Ad\u0430", "Latin and Cyrillic"),
    ("ad\u03b1", "Latin and Greek"),
    ("Ада Lovelace", "Cyrillic and Latin"),
])
def test_a_name_that_mixes_scripts_is_refused_with_a_sentence(name, mixed):
    """Look-alike letters of another script cannot hide in a name."""
    assert refusal(Limits().check_name, name) == (
        f"A name is written in one alphabet (digits and punctuation go with any), so that "
        f"no two names look alike: {name!r} mixes {mixed} letters.")


def test_name_key_folds_case_and_width():
    """Names compare by NFKC_Casefold: Ada, ADA, ａｄａ and ada are one name; the
    Cyrillic аda is another (and refused by check_name anyway)."""
    from chatkit.limits import name_key

    assert {name_key(name) for name in ("Ada", "ADA", "ａｄａ", "ada")} == {"ada"}
    assert name_key("Straße") == name_key("STRASSE") == "strasse"
    assert name_key("\u0430da") != name_key("ada")


@pytest.mark.parametrize(("text", "odd"), [
    ("hi\ud800", "half of a UTF-16 pair on its own (U+D800)"),
    ("\udfff", "half of a UTF-16 pair on its own (U+DFFF)"),
    ("hi\x00there", "a NUL character (U+0000)"),
])
def test_text_no_store_can_keep_is_refused_with_a_sentence(text, odd):
    """A lone surrogate or a NUL is refused whatever the store (SQLite cannot encode the
    one and cuts SQL's view of text at the other), in a message and in a client_id."""
    assert refusal(Limits().check_text, text) == (
        f"The message holds {odd}, which the chat cannot keep: remove it and send it again.")
    assert refusal(Limits().check_client_id, text) == (
        f'"client_id" holds {odd}, which the chat cannot keep: use plain text (a UUID is '
        f"fine).")


def test_text_with_whole_characters_beyond_the_bmp_is_kept():
    """An emoji (a surrogate *pair* in UTF-16, one character here) is fine."""
    assert Limits().check_text("hi 👋🏽") == "hi 👋🏽"
    assert Limits().check_client_id("👋") == "👋"


def test_check_offset_takes_ids_up_to_the_largest():
    from chatkit.limits import MAX_ID

    assert Limits().check_offset(None) is None
    assert Limits().check_offset(0) == 0
    assert Limits().check_offset(MAX_ID) == MAX_ID == 2**63 - 1


@pytest.mark.parametrize(("offset", "why"), [
    (-1, '"offset" is the last message id you saw: a whole number, 0 or more.'),
    (1.5, '"offset" is the last message id you saw: a whole number, 0 or more.'),
    (True, '"offset" is the last message id you saw: a whole number, 0 or more.'),
    ("7", '"offset" is the last message id you saw: a whole number, 0 or more.'),
    (2**63, '"offset" is too big to be a message id (the largest is '
            '9,223,372,036,854,775,807): send the last id you saw, or 0.'),
    (10**4000, '"offset" is too big to be a message id (the largest is '
               '9,223,372,036,854,775,807): send the last id you saw, or 0.'),
])
def test_check_offset_refuses_with_a_sentence(offset, why):
    assert refusal(Limits().check_offset, offset) == why


def test_kind_never_spells_out_a_huge_number():
    """A 4,000-digit number reads as its size in a refusal, not as 4,000 digits."""
    assert kind(10**3999) == "a huge number (about 4,000 digits)"
    assert kind(-(10**20)) == "a huge number (about 21 digits)"
    assert kind(123) == "a number (123)"


# -- issue 14: rate limits on every path (join/leave, reconnecting does not refill) ------------

def test_room_changes_have_their_own_sentences():
    """join/leave over the limit is refused with a sentence about rooms, and a notice once."""
    limit = RateLimit.for_room_changes(rate=2, burst=1)
    limit.check("ada", now=0)
    with pytest.raises(Throttled) as first:
        limit.check("ada", now=0)
    assert str(first.value) == ("You are joining and leaving rooms too fast: wait 0.5 s "
                                "before the next join or leave (at most 2 per second).")
    assert first.value.notice.startswith("Slow down: you may join or leave rooms at most 2")


def test_forgetting_at_a_time_keeps_a_bucket_that_is_not_full():
    """Issue 14: a flooder reconnecting must not get a fresh bucket; a full one is dropped."""
    limit = RateLimit(rate=1, burst=2)
    limit.check("ada", now=0)
    limit.check("ada", now=0)
    limit.forget("ada", now=0.5)
    with pytest.raises(Throttled):
        limit.check("ada", now=0.5)
    limit.forget("ada", now=10)
    assert "ada" not in limit._buckets


def test_check_name_free_refuses_a_name_that_only_differs_by_case_or_width():
    """"Ada" may not join while "ada" is connected (nor "ＡＤＡ"); the same spelling is
    left to the rules (a session takes it over), and other names are free."""
    limits = Limits()
    for name in ("Ada", "ADA", limits.check_name("ＡＤＡ")):
        assert refusal(lambda typed: limits.check_name_free(typed, ["bob", "ada"]), name) == (
            f"The name {name!r} is taken: 'ada' is connected now, and names do not differ by "
            f"case or width. Pick another name.")
    limits.check_name_free("ada", ["bob", "ada"])
    limits.check_name_free("adam", ["bob", "ada"])
