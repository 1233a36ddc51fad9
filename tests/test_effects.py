"""What a rule decided (chatkit.effects): the effects, and each Result's ack."""

import dataclasses

import pytest

from chatkit import protocol
from chatkit.effects import (
    Accepted,
    Disconnect,
    Emit,
    Enter,
    Exit,
    Joined,
    Note,
    Result,
    Rooms,
    Said,
)
from chatkit.protocol import Message, Presence

HELLO = Message(1, "lobby", "ada", "hello", 1000.5)
HI = Message(2, "lobby", "bob", "hi", 1001.0)


# -- acks ------------------------------------------------------------------------------

def test_a_plain_result_acks_ok():
    """A Result with nothing more to say answers {"ok": True}."""
    assert Result().ack() == {"ok": True}
    assert Result(effects=(Note("x"),)).ack() == {"ok": True}


def test_joined_acks_room_members_and_history_as_wire_dicts():
    """A join's ack carries the room, the members as a list, and history as wire messages."""
    ack = Joined("lobby", ("ada", "bob"), (HELLO, HI)).ack()
    assert ack == {"ok": True, "room": "lobby", "members": ["ada", "bob"],
                   "history": [HELLO.to_dict(), HI.to_dict()]}
    assert [Message.from_dict(wire) for wire in ack["history"]] == [HELLO, HI]


def test_joined_an_empty_room_acks_empty_lists():
    """A join of a room with no history acks an empty history list."""
    assert Joined("games", ("ada",), ()).ack() == {"ok": True, "room": "games",
                                                   "members": ["ada"], "history": []}


def test_said_acks_the_id():
    """A say's ack is {"ok": True, "id"}, also when the message was a repeat."""
    assert Said(42, HELLO).ack() == {"ok": True, "id": 42}
    assert Said(42, None).ack() == {"ok": True, "id": 42}


def test_rooms_acks_rooms_and_people():
    """The teacher's rooms ack has every room's members and everyone, as lists."""
    ack = Rooms({"lobby": ["ada", "bob"], "games": ["ada"]}, ("ada", "bob", "cy")).ack()
    assert ack == {"ok": True, "rooms": {"lobby": ["ada", "bob"], "games": ["ada"]},
                   "people": ["ada", "bob", "cy"]}
    assert isinstance(ack["people"], list)


def test_accepted_acks_ok():
    """An accepted connection's result answers like a plain Result."""
    accepted = Accepted("ada", "secret", ("lobby",), None, None,
                        (Presence("lobby", ("ada",)),))
    assert accepted.ack() == {"ok": True}


def test_every_ack_is_accepted_by_check_ack():
    """Each Result's ack is an accepting ack as a client checks it."""
    results = [Result(), Joined("lobby", ("ada",), (HELLO,)), Said(1, HELLO),
               Rooms({}, ())]
    for result in results:
        assert protocol.check_ack(result.ack())["ok"] is True


# -- effects ---------------------------------------------------------------------------

def test_effects_compare_by_value():
    """Two effects built from the same values are equal; different values are not."""
    assert Enter("sid-1", "lobby") == Enter("sid-1", "lobby")
    assert Enter("sid-1", "lobby") != Exit("sid-1", "lobby")
    assert Exit("sid-1", "lobby") != Exit("sid-1", "games")
    assert Disconnect("sid-1") == Disconnect("sid-1")
    assert Note("ada connected") != Note("bob connected")
    assert Emit(protocol.PRESENCE, {"room": "lobby"}, room="lobby") == \
        Emit(protocol.PRESENCE, {"room": "lobby"}, room="lobby")
    assert Emit(protocol.SAID, {}, to="sid-1") != Emit(protocol.SAID, {}, room="sid-1")


def test_effects_without_a_dict_are_hashable():
    """Enter, Exit, Disconnect and Note can go in a set; equal ones collapse."""
    effects = {Enter("sid-1", "lobby"), Enter("sid-1", "lobby"), Exit("sid-1", "lobby"),
               Disconnect("sid-1"), Note("hi"), Note("hi")}
    assert len(effects) == 4


@pytest.mark.parametrize("effect", [
    Emit(protocol.NOTICE, {"text": "hi"}), Enter("sid-1", "lobby"), Exit("sid-1", "lobby"),
    Disconnect("sid-1"), Note("hi"),
])
def test_effects_are_frozen(effect):
    """An effect cannot be changed once made."""
    field = dataclasses.fields(effect)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(effect, field, "other")


def test_emit_goes_to_everyone_unless_told():
    """An Emit has no target, room or skip unless given."""
    emit = Emit(protocol.NOTICE, {"text": "hi"})
    assert (emit.to, emit.room, emit.skip) == (None, None, None)


def test_results_are_frozen_and_keep_their_effects_in_order():
    """A Result keeps its effects as given, and cannot be changed."""
    effects = (Enter("sid-1", "lobby"), Note("ada joined lobby"))
    result = Joined("lobby", ("ada",), (), effects=effects)
    assert result.effects == effects
    assert Result().effects == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.room = "games"


def test_results_compare_by_value_and_hash():
    """Equal results are equal and hash alike; a Said with another id is not equal."""
    assert Said(1, HELLO) == Said(1, HELLO)
    assert hash(Said(1, HELLO)) == hash(Said(1, HELLO))
    assert Said(1, HELLO) != Said(2, HELLO)
    assert hash(Joined("lobby", ("ada",), (HELLO,))) == hash(Joined("lobby", ("ada",), (HELLO,)))
