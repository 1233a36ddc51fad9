"""chatkit speaks Chinese where a person reads it: the catalogues match the code, each
translation keeps its sentence's slots, and the server words refusals and notices in the
language each connection asked for (or its own, ``--lang``), on real sockets."""

import asyncio
import doctest
import json
import re

import pytest
import socketio
from matplotlib import font_manager, ft2font, rcParams

from chatkit import language, protocol
from chatkit.client import ChatClient, TeacherClient
from chatkit.language import (
    LOCALE,
    _parts,
    current_language,
    language_in,
    speaking,
    translate,
    use_language,
)
from chatkit.limits import Limits
from chatkit.protocol import ConnectionRefused
from chatkit.server import ChatServer
from tests.conftest import timeout

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def english_again():
    """use_language sets the process's language: every test leaves English behind."""
    yield
    use_language("en")


def test_an_english_sentence_becomes_chinese_with_its_values_and_nested_sentences():
    """The finished sentence is matched with its template: values go where the Chinese
    puts them, and a value that is itself a known sentence is translated too."""
    assert translate("You are not in room 'lobby'.", "en") == "You are not in room 'lobby'."
    chinese = translate("You are not in room 'lobby'.", "zh")
    assert "'lobby'" in chinese and CJK.search(chinese) and "room" not in chinese
    nested = translate("A name is text, not a number (42).", "zh")
    assert "42" in nested and not re.search(r"[A-Za-z]{3}", nested), nested
    two_lines = translate("hello\nYou are not in room 'x'.", "zh")
    assert two_lines.startswith("hello\n") and "'x'" in two_lines and CJK.search(two_lines)


def test_sentences_glued_together_are_translated_piece_by_piece():
    """The guard adds " Wait 2 s before the next try." to a wrong code's refusal: each
    sentence is translated, joined without the English space; an unknown one stays."""
    glued = translate("Wrong join code: check it with your teacher. Wait 2 s before the "
                      "next try.", "zh")
    assert "2 s" in glued and not re.search(r"[A-Za-z]{4}", glued) and "。 " not in glued
    kept = translate("Wrong join code: check it with your teacher. Bring tea.", "zh")
    assert kept.endswith("。Bring tea.") and CJK.search(kept)


def test_a_template_of_slots_and_a_short_word_changes_nothing_people_write():
    """A template like "{a} in {b}" (no words of its own at either end) is never used:
    it would turn a teacher's "Meet in room 5" into something nobody wrote."""
    parts = _parts("{tries} in {seconds(wait)}")
    assert not language._anchored(parts) and language._anchored(_parts("try {n} now"))
    assert translate("Meet in room 5", "zh") == "Meet in room 5"


def test_a_sentence_nobody_translated_is_left_as_it_is():
    """Text a person wrote (an announcement, a message) is never changed."""
    for text in ["Break until 11:00", "你好", "", "{not a slot}"]:
        assert translate(text, "zh") == text


def test_the_language_in_force_and_what_a_client_may_ask_for():
    """use_language for the kernel, speaking for a block, language_in for an auth."""
    assert current_language() == "en"
    with speaking("zh"):
        assert current_language() == "zh"
        assert translate("You are not in room 'a'.") != "You are not in room 'a'."
    assert current_language() == "en"
    with pytest.raises(ValueError, match="not 'fr'"):
        use_language("fr")
    assert [language_in(auth) for auth in [{"lang": "zh"}, {"lang": "zh-CN"}, {"lang": "ZH"},
                                           {"lang": "fr"}, {"lang": 7}, {}, None, "zh"]] == \
        ["zh", "zh", "zh", None, None, None, None, None]


def test_in_chinese_matplotlib_has_a_glyph_for_every_character_of_the_plots():
    """use_language("zh") gives matplotlib a font that draws each character of the
    translated plot labels: no missing-glyph boxes."""
    use_language("zh")
    family = rcParams["font.sans-serif"][0]
    path = font_manager.findfont(font_manager.FontProperties(family=family),
                                 fallback_to_default=False)
    font = ft2font.FT2Font(path)
    labels = [text for text in json.loads((LOCALE / "zh" / "polling.json").read_text(
        encoding="utf-8")).values() if text]
    missing = {char for text in labels for char in text
               if CJK.match(char) and font.get_char_index(ord(char)) == 0}
    assert labels and missing == set()


# ---- the server, on real sockets ---------------------------------------------------

async def test_a_chinese_server_refuses_a_wrong_join_code_in_chinese():
    """ChatServer(language="zh") (``serve --lang zh``): a client that asks for nothing
    hears the refusal in Chinese; one that asks for English hears English."""
    server = ChatServer(join_code="maple-otter-42", language="zh")
    await server.start(name="zh-refusal")
    try:
        with pytest.raises(ConnectionRefused) as refused:
            await ChatClient("ada", code="wrong", reconnect=False).connect(server.url)
        assert CJK.search(str(refused.value)), refused.value
        raw = socketio.AsyncClient()
        heard = asyncio.get_running_loop().create_future()
        raw.on("connect_error", lambda data: heard.set_result(data), namespace=protocol.CHAT)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await raw.connect(server.url, namespaces=[protocol.CHAT],
                              auth={"name": "bo", "code": "wrong", "lang": "en"},
                              transports=["websocket"])
        said = await asyncio.wait_for(heard, timeout(5))
        assert said["message"].startswith("Wrong join code"), said
        await raw.disconnect()
    finally:
        await server.stop()


async def test_each_connection_hears_its_own_language_from_an_english_server():
    """An English server, two students: the one whose auth says "lang": "zh" gets its
    error acks and its notices (slow down, muted) in Chinese, the other in English."""
    server = ChatServer(teacher_token="t", limits=Limits(messages_per_second=0.5, burst=1))
    await server.start(name="zh-per-connection")
    try:
        with speaking("zh"):  # ChatClient sends chatkit's language in its auth
            li = await ChatClient("li", rooms=["lobby"]).connect(server.url)
        bob = await ChatClient("bob", rooms=["lobby"]).connect(server.url)
        li_sid = li.sio.get_sid(protocol.CHAT)
        assert server.languages == {li_sid: "zh"}
        for client, chinese in [(li, True), (bob, False)]:
            await client.say("lobby", "one")
            with pytest.raises(protocol.ChatError) as too_fast:
                await client.say("lobby", "two")
            assert bool(CJK.search(str(too_fast.value))) is chinese, too_fast.value
            notice = await client.next(protocol.NOTICE, timeout=timeout(5))
            assert bool(CJK.search(notice.data.text)) is chinese, notice.data.text
        teacher = await TeacherClient.connect(server.url, token="t")
        await teacher.mute("li", seconds=60)
        muted = await li.next(protocol.NOTICE, timeout=timeout(5))
        assert CJK.search(muted.data.text) and "60" in muted.data.text, muted.data.text
        await teacher.disconnect()
        await li.disconnect()
        await asyncio.sleep(0.1)
        assert server.languages == {}
        await bob.disconnect()
    finally:
        await server.stop()


def test_the_docstrings_examples_are_true():
    """What chatkit.language's docstrings show a reader is what it does."""
    failed, tried = doctest.testmod(language)
    assert (failed, tried >= 3) == (0, True)


def test_in_a_chinese_kernel_an_error_chatkit_worded_is_shown_in_chinese():
    """A real kernel: after use_language("zh"), the error of a wrong call into chatkit
    comes out in Chinese (IPython's handler translates it), the learner's own error is
    left as written even if chatkit says the same, and use_language("en") puts English
    back."""
    import nbformat
    from nbclient import NotebookClient

    cells = ['import chatkit\nchatkit.use_language("zh")',
             "from chatkit.websocket import WebSocket\nawait WebSocket(42).opened()",
             'raise ValueError("You are not in room \'lobby\'.")  # my own words',
             'chatkit.use_language("en")\nawait WebSocket(42).opened()']
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(notebook, timeout=60, allow_errors=True).execute()
    errors = [next((o for o in cell.outputs if o.output_type == "error"), None)
              for cell in notebook.cells]
    assert errors[0] is None
    assert errors[1].ename == "TypeError" and CJK.search(errors[1].evalue), errors[1]
    assert errors[2].evalue == "You are not in room 'lobby'."  # not chatkit's: as written
    assert errors[3].evalue.startswith("url must be a str"), errors[3]
