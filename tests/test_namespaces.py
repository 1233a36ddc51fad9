"""chatkit.namespaces: each event becomes one rule call; what is not a request is ignored,
and what fails is answered. Over real sockets, with raw python-socketio clients."""

import logging

import pytest

from chatkit import protocol
from chatkit.server import ChatServer
from tests.test_server import connected

NS = protocol.CHAT


@pytest.fixture
async def server():
    chat_server = ChatServer()
    await chat_server.start(name="chat-test")
    yield chat_server
    await chat_server.stop()


async def test_unknown_events_are_ignored_and_the_sender_stays(server, raw_peers, caplog):
    """Unknown events (and events named like reserved ones) are ignored and logged."""
    caplog.set_level(logging.INFO, logger="chatkit.server")
    ada = await connected(raw_peers, server, "ada", "lobby")
    await ada.emit("dance", {"style": "tango"})
    await ada.emit("message", "hello?")
    await ada.emit("disconnect", "pretend")
    await ada.emit("connect", {"name": "eve"})
    assert (await ada.call("say", {"room": "lobby", "text": "still here"}))["ok"]
    assert ada.connected and server.snapshot() == {NS: {"lobby": ["ada"]}}
    assert "ignored unknown event 'dance'" in caplog.text
    assert "ignored an event named 'disconnect'" in caplog.text


async def test_a_handler_failure_becomes_an_error_ack(server, raw_peers, monkeypatch, caplog):
    """An unexpected exception in the rules is logged and answered, never a crash."""
    ada = await connected(raw_peers, server, "ada", "lobby")

    def broken(conn, payload):
        raise RuntimeError("boom")

    monkeypatch.setattr(server.rules, "say", broken)
    ack = await ada.call("say", {"room": "lobby", "text": "hi"})
    assert ack["ok"] is False and ack["error"].startswith("The server failed to handle")
    assert "boom" in caplog.text
    assert (await ada.call("join", {"room": "games"}))["ok"]


async def test_a_join_socketio_refuses_is_undone_in_the_rules(server, raw_peers, monkeypatch,
                                                              caplog):
    """If entering the socket.io room fails, the rules do not count the member either."""
    ada = await connected(raw_peers, server, "ada")

    async def broken_enter_room(*args, **kwargs):
        raise ValueError("cannot enter")

    monkeypatch.setattr(server.sio, "enter_room", broken_enter_room)
    ack = await ada.call("join", {"room": "lobby"})
    assert ack["ok"] is False and ack["error"].startswith("The server failed")
    assert await server.rules.members("lobby") == () and server.rules.rooms_of("ada") == ()
    assert (await ada.call("say", {"room": "lobby", "text": "leak?"}))["error"] == (
        "Join room 'lobby' before saying something there.")
