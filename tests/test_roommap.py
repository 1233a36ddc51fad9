"""chatkit.roommap: the map of namespaces, rooms and clients, from a server's own state."""

import xml.etree.ElementTree as ET

import socketio

from chatkit import running
from chatkit.roommap import NO_ROOM, RoomMap, snapshot
from chatkit.sio import serve
from tests.conftest import timeout


def server_with_clients() -> tuple[socketio.Server, dict[str, str]]:
    """A server whose manager holds: /chat lobby {alice, bob}, math {bob}, dave in no
    room; /news carol. Built through the manager's own calls, without sockets."""
    sio = socketio.Server()
    names = {}

    def connect(name: str, namespace: str, *rooms: str) -> str:
        sid = sio.manager.connect(f"eio-{name}-{namespace}", namespace)
        names[sid] = name
        for room in rooms:
            sio.manager.basic_enter_room(sid, namespace, room)
        return sid

    connect("alice", "/chat", "lobby")
    connect("bob", "/chat", "lobby", "math")
    connect("dave", "/chat")
    connect("carol", "/news")
    return sio, names


def test_snapshot_lists_rooms_and_members_by_name():
    """Each joined room lists its members; clients in no room are under NO_ROOM."""
    sio, names = server_with_clients()
    assert snapshot(sio, label=names.get) == {
        "/chat": {NO_ROOM: ["dave"], "lobby": ["alice", "bob"], "math": ["bob"]},
        "/news": {NO_ROOM: ["carol"]},
    }


def test_snapshot_hides_private_rooms_unless_asked():
    """Each client's own sid room appears only with private_rooms=True."""
    sio, names = server_with_clients()
    layout = snapshot(sio, label=names.get, private_rooms=True)
    assert layout["/news"] == {NO_ROOM: ["carol"], "private: carol": ["carol"]}


def test_snapshot_follows_leave_and_disconnect():
    """After a leave and a disconnect the snapshot changes accordingly."""
    sio, names = server_with_clients()
    bob = next(sid for sid, name in names.items() if name == "bob")
    carol = next(sid for sid, name in names.items() if name == "carol")
    sio.manager.basic_leave_room(bob, "/chat", "lobby")
    sio.manager.basic_disconnect(carol, "/news")
    assert snapshot(sio, label=names.get) == {
        "/chat": {NO_ROOM: ["dave"], "lobby": ["alice"], "math": ["bob"]},
    }


def test_snapshot_leaves_out_clients_still_connecting_or_disconnecting():
    """A client whose connect or disconnect handler is running is not on the map."""
    sio, names = server_with_clients()
    bob = next(sid for sid, name in names.items() if name == "bob")
    sio.manager.pre_disconnect(bob, "/chat")  # what python-socketio does before `disconnect`
    newcomer = sio.manager.pre_connect("eio-erin", "/news")  # its `connect` handler runs
    names[newcomer] = "erin"
    assert snapshot(sio, label=names.get, private_rooms=True) == {
        "/chat": {NO_ROOM: ["dave"], "lobby": ["alice"], "private: alice": ["alice"],
                  "private: dave": ["dave"]},
        "/news": {NO_ROOM: ["carol"], "private: carol": ["carol"]},
    }


def test_unlabelled_clients_show_their_sid():
    """Without a label function a client is shown by its sid."""
    sio, names = server_with_clients()
    layout = snapshot(sio)
    assert sorted(layout["/chat"]["lobby"]) == sorted(
        sid for sid, name in names.items() if name in ("alice", "bob"))


def test_text_form_is_an_indented_tree():
    """str(RoomMap) prints namespaces, then each room with its members."""
    sio, names = server_with_clients()
    assert str(RoomMap(snapshot(sio, label=names.get), title="live")) == "\n".join([
        "live",
        "/chat",
        f"  {NO_ROOM}: dave",
        "  lobby: alice, bob",
        "  math: bob",
        "/news",
        f"  {NO_ROOM}: carol",
    ])
    assert str(RoomMap({})) == "(nobody is connected)"


def test_svg_has_a_group_per_namespace_room_and_membership():
    """The SVG is well-formed and holds one group per namespace, room and member chip."""
    sio, names = server_with_clients()
    root = ET.fromstring(RoomMap(snapshot(sio, label=names.get))._repr_svg_())
    groups = {}
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        groups.setdefault(group.get("class"), []).append(group.get("data-name"))
    assert groups["namespace"] == ["/chat", "/news"]
    assert groups["room"] == [NO_ROOM, "lobby", "math", NO_ROOM]
    assert groups["client"] == ["dave", "alice", "bob", "bob", "carol"]


def test_svg_escapes_names():
    """A client named like markup is drawn as text, never as SVG elements."""
    svg = RoomMap({"/chat": {"lobby": ["<script>alert(1)</script>"]}}).svg()
    root = ET.fromstring(svg)
    assert not list(root.iter("script")) and not list(root.iter("{http://www.w3.org/2000/svg}script"))
    assert "&lt;script&gt;" in svg


def test_svg_is_the_same_for_the_same_layout():
    """Drawing is deterministic, so a stored notebook output can be compared."""
    layout = {"/chat": {"lobby": ["alice", "bob"]}}
    assert RoomMap(layout).svg() == RoomMap(dict(layout)).svg()


async def test_snapshot_of_a_live_server_with_real_clients(new_server, new_client):
    """Real clients joining real rooms show up on the map of the running server."""
    sio = new_server()
    names = {}

    @sio.event
    async def connect(sid, environ, auth):
        names[sid] = auth["name"]

    @sio.event
    async def join(sid, room):
        await sio.enter_room(sid, room)
        return "ok"

    server = await serve(sio, name="map-server")
    clients = []
    for name, room in [("alice", "lobby"), ("bob", "lobby"), ("carol", None)]:
        client = new_client()
        await client.connect(server.url, auth={"name": name}, transports=["websocket"],
                             wait_timeout=timeout(5))
        clients.append(client)
        if room:
            assert await client.call("join", room, timeout=timeout(5)) == "ok"
    assert snapshot(sio, label=names.get) == {
        "/": {NO_ROOM: ["carol"], "lobby": ["alice", "bob"]}}
    await clients[1].disconnect()
    await running.wait_for(lambda: len(sio.manager.rooms["/"][None]) == 2, timeout(5))
    assert snapshot(sio, label=names.get) == {"/": {NO_ROOM: ["carol"], "lobby": ["alice"]}}
