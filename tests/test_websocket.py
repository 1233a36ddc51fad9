"""chatkit.websocket: the browser-style client against real servers."""

import ssl

import pytest
import trustme
from websockets.exceptions import ConnectionClosed

from chatkit import running
from chatkit.websocket import (
    CloseEvent,
    InvalidStateError,
    ReadyState,
    WebSocket,
    broadcast,
    echo,
)
from tests.conftest import timeout


def recorder(ws: WebSocket) -> list:
    """Attach all four handlers; each event lands in the returned list as a tuple."""
    events = []
    ws.onopen = lambda event: events.append(("open",))
    ws.onmessage = lambda event: events.append(("message", event.data))
    ws.onerror = lambda event: events.append(("error", event.message))
    ws.onclose = lambda event: events.append(("close", event.code, event.reason,
                                              event.was_clean))
    return events


@pytest.fixture
def certificate_authority():
    return trustme.CA()


@pytest.fixture
async def tls_server(certificate_authority):
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate_authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    return await running.serve_websockets(echo, name="tls-echo", ssl=server_context)


async def test_the_four_events_arrive_in_order(echo_server):
    """open, message(s), then close: with text and binary echoed as they were sent; close()
    without a code sends none, so the close event says 1005, as in a browser."""
    ws = WebSocket(echo_server.url)
    events = recorder(ws)
    assert ws.ready_state is ReadyState.CONNECTING
    await ws.opened(timeout(5))
    assert ws.ready_state is ReadyState.OPEN
    ws.send("hello")
    ws.send(b"\x00\x01\xff")
    await running.wait_for(lambda: len(events) == 3, timeout(5))
    ws.close()
    assert ws.ready_state is ReadyState.CLOSING
    await ws.closed(timeout(5))
    assert ws.ready_state is ReadyState.CLOSED
    assert events == [("open",), ("message", "hello"), ("message", b"\x00\x01\xff"),
                      ("close", 1005, "", True)]
    assert type(events[-1][1]) is int


@pytest.mark.parametrize("arguments, code", [({"code": 1000}, 1000), ({"reason": "done"}, 1000),
                                             ({}, 1005)], ids=["code", "reason-only", "none"])
async def test_close_with_a_reason_but_no_code_is_1000(echo_server, arguments, code):
    """As in the browser: a reason alone goes with 1000; nothing at all sends no code."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    ws.close(**arguments)
    assert (await ws.closed(timeout(5))).code == code


async def test_messages_leave_in_the_order_they_were_sent(echo_server):
    """A burst of sends comes back in the same order, and nothing stays buffered."""
    ws = WebSocket(echo_server.url)
    received = []
    ws.onmessage = lambda event: received.append(event.data)
    await ws.opened(timeout(5))
    for n in range(200):
        ws.send(str(n))
    await running.wait_for(lambda: len(received) == 200, timeout(5))
    assert received == [str(n) for n in range(200)]
    assert ws.buffered_amount == 0


async def test_buffered_amount_counts_bytes_until_they_leave(echo_server):
    """buffered_amount is UTF-8 bytes queued by send(), and drops to 0 once sent."""
    ws = WebSocket(echo_server.url)
    received = []
    ws.onmessage = lambda event: received.append(event.data)
    await ws.opened(timeout(5))
    ws.send("é" * 10)
    ws.send(b"\x00" * 5)
    assert ws.buffered_amount == 25  # nothing has run yet: both are still queued
    await running.wait_for(lambda: len(received) == 2, timeout(5))
    assert ws.buffered_amount == 0


async def test_application_close_code_and_reason_reach_the_server_and_back(echo_server):
    """close(4001, reason) is echoed by the server: a clean close with that code."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    ws.close(4001, "see you")
    assert await ws.closed(timeout(5)) == CloseEvent(4001, "see you", True)


async def test_server_closing_with_an_application_code():
    """A server's close(4000, reason) reaches onclose with that code and reason."""
    async def kick(connection):
        await connection.close(4000, "kicked by the server")

    server = await running.serve_websockets(kick, name="kick")
    ws = WebSocket(server.url)
    events = recorder(ws)
    await ws.closed(timeout(5))
    assert events == [("open",), ("close", 4000, "kicked by the server", True)]


async def test_server_stop_is_going_away(echo_server):
    """Stopping the server closes its clients with 1001."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    await echo_server.stop()
    assert (await ws.closed(timeout(5))).code == 1001


async def test_dropped_connection_is_abnormal_1006_without_an_error():
    """A TCP connection cut after open, without a close frame: close 1006 alone, as in a
    browser (no error event: the connection did not fail, it was lost)."""
    async def drop(connection):
        await connection.recv()
        connection.transport.abort()

    server = await running.serve_websockets(drop, name="drop")
    ws = WebSocket(server.url)
    events = recorder(ws)
    await ws.opened(timeout(5))
    ws.send("anything")
    await ws.closed(timeout(5))
    assert events == [("open",), ("close", 1006, "", False)]


async def test_nothing_listening_is_an_error_then_close(echo_server):
    """Connecting where nothing listens: onerror says so, onclose gets 1006, no onopen."""
    port = echo_server.port
    await echo_server.stop()
    ws = WebSocket(f"ws://127.0.0.1:{port}")
    events = recorder(ws)
    with pytest.raises(ConnectionError, match="nothing is listening"):
        await ws.opened(timeout(5))
    await ws.closed(timeout(5))
    assert events == [("error", f"connection refused: nothing is listening at 127.0.0.1:{port}"),
                      ("close", 1006, "", False)]


async def test_http_endpoint_that_is_not_websocket():
    """An HTTP server that does not upgrade is reported with its status code."""
    from aiohttp import web

    server = await running.serve_aiohttp(web.Application(), name="plain-http")
    ws = WebSocket(f"ws://127.0.0.1:{server.port}/")
    with pytest.raises(ConnectionError, match="HTTP 404 instead of switching"):
        await ws.opened(timeout(5))


async def test_wss_with_a_trusted_local_authority(tls_server, certificate_authority):
    """wss:// works when the client trusts the certificate's authority."""
    assert tls_server.url.startswith("wss://")
    client_context = ssl.create_default_context()
    certificate_authority.configure_trust(client_context)
    ws = WebSocket(tls_server.url, ssl=client_context)
    received = []
    ws.onmessage = lambda event: received.append(event.data)
    await ws.opened(timeout(5))
    ws.send("secret")
    await running.wait_for(lambda: received, timeout(5))
    assert received == ["secret"]


async def test_wss_with_an_unknown_certificate_is_refused(tls_server):
    """Without trusting the local authority the connection fails with a TLS reason."""
    ws = WebSocket(tls_server.url)
    events = recorder(ws)
    await ws.closed(timeout(5))
    assert events[0][0] == "error"
    assert "certificate was rejected" in events[0][1]
    assert "pass ssl=" in events[0][1]
    assert events[1] == ("close", 1006, "", False)


async def test_ws_url_to_a_tls_server_is_explained(tls_server):
    """Plain ws:// to a TLS server fails with a hint about wss://."""
    ws = WebSocket(tls_server.url.replace("wss://", "ws://"))
    with pytest.raises(ConnectionError, match="WebSocket handshake"):
        await ws.opened(timeout(5))


async def test_broadcast_reaches_every_client_including_the_sender():
    """The broadcast server relays one client's message to all."""
    server = await running.serve_websockets(broadcast, name="broadcast")
    clients = [WebSocket(server.url) for _ in range(3)]
    inboxes = [[] for _ in clients]
    for ws, inbox in zip(clients, inboxes, strict=True):
        ws.onmessage = lambda event, inbox=inbox: inbox.append(event.data)
    for ws in clients:
        await ws.opened(timeout(5))
    clients[0].send("news")
    await running.wait_for(lambda: all(inboxes), timeout(5))
    assert inboxes == [["news"], ["news"], ["news"]]


async def test_a_failing_handler_does_not_break_the_connection(echo_server, caplog):
    """An exception in onmessage is logged; later messages still arrive."""
    ws = WebSocket(echo_server.url)
    received = []

    def picky(event):
        if event.data == "bad":
            raise ValueError("handler bug")
        received.append(event.data)

    ws.onmessage = picky
    await ws.opened(timeout(5))
    ws.send("bad")
    ws.send("good")
    await running.wait_for(lambda: received, timeout(5))
    assert received == ["good"]
    assert "the message handler" in caplog.text


async def test_add_event_listener_runs_alongside_the_handler(echo_server):
    """Listeners added with add_event_listener run after the on... handler."""
    ws = WebSocket(echo_server.url)
    order = []
    ws.onopen = lambda event: order.append("onopen")
    ws.add_event_listener("open", lambda event: order.append("listener"))
    await ws.opened(timeout(5))
    assert order == ["onopen", "listener"]
    with pytest.raises(ValueError, match="unknown event type"):
        ws.add_event_listener("opened", print)


# -- bad input: clear errors, no hang ------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:80/", "must start with ws:// or wss:// \\(use ws:// for http"),
    ("127.0.0.1:8765", "not a WebSocket URL"),
    ("ws:///path", "no host name"),
    ("ws://127.0.0.1:1/#frag", "fragment"),
])
async def test_non_websocket_urls_are_refused_at_once(url, message):
    """Like the browser's SyntaxError: a bad URL fails in the constructor."""
    with pytest.raises(ValueError, match=message):
        WebSocket(url)


def test_creating_outside_an_event_loop_is_explained():
    """Without a running loop, the error says where to create the socket."""
    with pytest.raises(RuntimeError, match="needs a running event loop"):
        WebSocket("ws://127.0.0.1:1")


async def test_send_while_connecting_is_refused(echo_server):
    """send() before open raises InvalidStateError pointing to onopen."""
    ws = WebSocket(echo_server.url)
    with pytest.raises(InvalidStateError, match="still connecting"):
        ws.send("too early")
    ws.close()
    await ws.closed(timeout(5))


async def test_send_on_a_closed_socket_is_refused(echo_server):
    """send() after close raises InvalidStateError with the close code."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    ws.close(4002, "done")
    await ws.closed(timeout(5))
    with pytest.raises(InvalidStateError, match="CLOSED \\(closed with code 4002\\)"):
        ws.send("too late")


async def test_send_of_a_dict_is_a_type_error_with_a_hint(echo_server):
    """Only str and bytes-like go on the wire; the error suggests json.dumps."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    with pytest.raises(TypeError, match="json.dumps"):
        ws.send({"text": "hi"})


@pytest.mark.parametrize("code", [999, 1001, 1006, 2999, 5000])
async def test_close_codes_reserved_for_the_protocol_are_refused(echo_server, code):
    """close() accepts 1000 and 3000-4999 only, as in the browser."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    with pytest.raises(ValueError, match="not allowed"):
        ws.close(code)
    assert ws.ready_state is ReadyState.OPEN


async def test_overlong_close_reason_is_refused(echo_server):
    """A reason over 123 bytes of UTF-8 is refused before anything is sent."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    with pytest.raises(ValueError, match="123 bytes"):
        ws.close(1000, "é" * 62)


async def test_message_over_the_server_limit_closes_with_1009():
    """The server refuses a message over its max_size: a clean close 1009 with its reason,
    and no error event (the server closed; this side did not fail), as in a browser."""
    server = await running.serve_websockets(echo, name="small", max_size=1024)
    ws = WebSocket(server.url)
    events = recorder(ws)
    await ws.opened(timeout(5))
    ws.send("x" * 1025)
    await ws.closed(timeout(5))
    assert events == [("open",), ("close", 1009, "frame with 1025 bytes exceeds limit of "
                                              "1024 bytes", True)]


async def test_message_over_the_client_limit_closes_with_1009(echo_server):
    """The client refuses an echo over its max_size: the error says so, close is 1006.

    1006, not 1009: the close code an application sees is the one it *received*, and
    the client that fails the connection receives none (RFC 6455, 7.1.5).
    """
    ws = WebSocket(echo_server.url, max_size=100)
    events = recorder(ws)
    await ws.opened(timeout(5))
    ws.send("y" * 101)
    assert (await ws.closed(timeout(5))).code == 1006
    assert events[-2][0] == "error" and "message too big" in events[-2][1]


async def test_a_text_frame_that_is_not_utf8_is_an_error_then_close_1006():
    """A server that sends invalid UTF-8 as text: the client fails the connection, as
    Chromium does, with an error event (which says so) and then close 1006."""
    async def garbler(connection):
        async with connection.send_context():  # one raw text frame, bytes not UTF-8
            connection.protocol.send_text(b"\xff\xfe not text")
        await connection.wait_closed()

    server = await running.serve_websockets(garbler, name="garbler")
    try:
        ws = WebSocket(server.url)
        events = recorder(ws)
        close = await ws.closed(timeout(5))
        assert close.code == 1006 and not close.was_clean
        assert [kind for kind, *_ in events] == ["open", "error", "close"]
        assert "not valid UTF-8" in events[1][1]
    finally:
        await server.stop()


async def test_close_while_connecting_never_opens(echo_server):
    """close() before the handshake ends: no open event, close 1006 as in the browser."""
    ws = WebSocket(echo_server.url)
    events = recorder(ws)
    ws.close()
    await ws.closed(timeout(5))
    assert [event[0] for event in events] == ["error", "close"]
    assert events[-1][1] == 1006


# -- subprotocols: new WebSocket(url, protocols) -------------------------------------------

async def opened_or_refused(ws: WebSocket) -> list:
    """The events of ``ws`` until it opens (then it is closed) or fails."""
    events = recorder(ws)
    try:
        await ws.opened(timeout(5))
    except ConnectionError:
        pass
    ws.close()
    await ws.closed(timeout(5))
    return events


async def test_the_server_picks_one_of_the_offered_subprotocols():
    """Offering chat.v2 then chat.v1 to a server that speaks chat.v1 opens with chat.v1."""
    server = await running.serve_websockets(echo, name="v1", subprotocols=["chat.v1"])
    ws = WebSocket(server.url, ["chat.v2", "chat.v1"])
    assert ws.protocol == ""  # as in a browser: empty until open
    chosen = []
    ws.onopen = lambda event: chosen.append(ws.protocol)
    await ws.opened(timeout(5))
    assert chosen == ["chat.v1"] and ws.protocol == "chat.v1"


async def test_among_several_shared_subprotocols_the_servers_order_wins():
    """websockets picks the first of the server's list that the client offers."""
    server = await running.serve_websockets(echo, name="both",
                                            subprotocols=["chat.v1", "chat.v2"])
    ws = WebSocket(server.url, ["chat.v2", "chat.v1"])
    await ws.opened(timeout(5))
    assert ws.protocol == "chat.v1"


async def test_one_subprotocol_may_be_given_as_a_string():
    """protocols="chat.v1" is the list ["chat.v1"], as in the browser."""
    server = await running.serve_websockets(echo, name="v1", subprotocols=["chat.v1"])
    ws = WebSocket(server.url, "chat.v1")
    await ws.opened(timeout(5))
    assert ws.protocols == ("chat.v1",) and ws.protocol == "chat.v1"


async def test_no_subprotocol_offered_and_none_spoken_gives_an_empty_protocol(echo_server):
    """Without protocols, against a server without any, protocol stays ""."""
    ws = WebSocket(echo_server.url)
    await ws.opened(timeout(5))
    assert ws.protocol == ""


async def test_a_subprotocol_mismatch_is_refused_by_the_server_with_http_400():
    """A server that speaks only chat.v1 refuses chat.v2 in the handshake: error, close 1006."""
    server = await running.serve_websockets(echo, name="v1", subprotocols=["chat.v1"])
    events = await opened_or_refused(WebSocket(server.url, ["chat.v2"]))
    assert events == [("error", "the server refused the handshake with HTTP 400 (invalid "
                                "subprotocol; expected one of chat.v1)"),
                      ("close", 1006, "", False)]


async def test_offering_no_subprotocol_to_a_server_that_requires_one_is_refused():
    """websockets' server refuses a client that offers none when it has a list."""
    server = await running.serve_websockets(echo, name="v1", subprotocols=["chat.v1"])
    events = await opened_or_refused(WebSocket(server.url))
    assert events[0] == ("error", "the server refused the handshake with HTTP 400 "
                                  "(missing subprotocol)")
    assert events[1] == ("close", 1006, "", False)


async def test_a_server_that_picks_none_of_the_offered_subprotocols_fails_the_connection():
    """A server without subprotocols opens without one; like a browser (and unlike
    websockets' own client), the WebSocket then fails: error, close 1006, never open;
    the server sees the line dropped, without a close frame."""
    ended = []

    async def watch(connection):
        try:
            await connection.recv()
        except ConnectionClosed as closed:
            ended.append(closed.rcvd)

    server = await running.serve_websockets(watch, name="plain")
    events = await opened_or_refused(WebSocket(server.url, ["chat.v1"]))
    assert events == [("error", "the server chose none of the subprotocols offered "
                                "(chat.v1): its handshake has no Sec-WebSocket-Protocol"),
                      ("close", 1006, "", False)]
    await running.wait_for(lambda: ended, timeout(5))
    assert ended == [None]


@pytest.mark.parametrize("chooses, offered, message", [
    (lambda connection, offered: "chat.v9", ["chat.v1"], "unsupported subprotocol: chat.v9"),
    (lambda connection, offered: "chat.v1", [], "no subprotocols supported"),
], ids=["not-offered", "none-offered"])
async def test_a_server_that_picks_a_subprotocol_not_offered_fails_the_connection(
        chooses, offered, message):
    """A Sec-WebSocket-Protocol the client did not offer fails the connection (RFC 6455,
    4.1), with what the server chose in the error."""
    server = await running.serve_websockets(echo, name="odd", select_subprotocol=chooses)
    events = await opened_or_refused(WebSocket(server.url, offered))
    assert events[0][0] == "error" and message in events[0][1]
    assert events[1] == ("close", 1006, "", False)


@pytest.mark.parametrize("protocols, message", [
    (["chat v1"], "not a valid name"),
    (["chat,v1"], "not a valid name"),
    ([""], "not a valid name"),
    ([1], "not a valid name"),
    (["chat.v1", "chat.v1"], "name one twice"),
])
async def test_invalid_subprotocol_names_are_refused_at_once(protocols, message):
    """Like the browser's SyntaxError: a name that is not a token, or twice, fails at once."""
    with pytest.raises(ValueError, match=message):
        WebSocket("ws://127.0.0.1:1", protocols)
