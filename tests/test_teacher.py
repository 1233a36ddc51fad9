"""chatkit.teacher: TeacherClient against a real ChatServer in this process.

What the tools do to students, seen from real ones, is in tests/test_classroom.py (on
`python -m chatkit serve`); here: the client's own calls, invite included.
"""

import pytest

from chatkit import protocol, running
from chatkit.client import ChatClient
from chatkit.client import TeacherClient as ReExported
from chatkit.pages import join_link
from chatkit.protocol import ChatError
from chatkit.server import ChatServer
from chatkit.teacher import TeacherClient

TOKEN = "owl-7-secret"


@pytest.fixture
async def server():
    chat_server = ChatServer(join_code="maple-otter-fern-42", teacher_token=TOKEN)
    await chat_server.start(name="chat-test")
    yield chat_server
    await running.stop_all()
    await chat_server.stop()


async def test_invite_gives_the_join_links_and_a_qr_code(server):
    server.public_urls = ["http://10.0.0.5:5000", "http://192.168.1.20:5000"]
    teacher = await TeacherClient.connect(server.url, TOKEN)
    invite = await teacher.invite()
    assert invite["links"] == [join_link(url, "maple-otter-fern-42")
                               for url in server.public_urls]
    assert invite["qr"].startswith("data:image/svg+xml")


async def test_rooms_and_kick_and_a_refusal_in_words(server):
    ada = await ChatClient("ada", code="maple-otter-fern-42", rooms=["lobby"]).connect(server.url)
    teacher = await TeacherClient.connect(server.url, TOKEN)
    assert await teacher.rooms() == {"lobby": ["ada"]}
    await teacher.kick("ada")
    await running.wait_for(lambda: not ada.connected, 5)
    with pytest.raises(ChatError, match="nobody-here"):
        await teacher.kick("nobody-here")
    assert repr(teacher).startswith("<TeacherClient 'teacher' to http://127.0.0.1:")


async def test_a_wrong_token_is_the_servers_sentence_and_the_old_import_still_works(server):
    assert ReExported is TeacherClient  # notebook 06 imports it from chatkit.client
    with pytest.raises(protocol.ConnectionRefused, match="Wrong teacher token") as refused:
        await TeacherClient.connect(server.url, "guess")
    assert refused.value.retry_after is None  # a wrong token stays wrong
