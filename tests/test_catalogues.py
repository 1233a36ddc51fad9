"""The catalogues of translations match the code: every sentence a module says to a
person is in its catalogue, translated, with the same {slots}; none is left over."""

import json
import re

import pytest

from chatkit.catalogues import MARKED_ONLY, module_name, templates_in, translated_sources
from chatkit.language import LOCALE, _parts, catalogue
from chatkit.peer import Status

CJK = re.compile(r"[\u4e00-\u9fff]")
CATALOGUES = sorted((LOCALE / "zh").glob("*.json"))


def slots(template: str) -> set[str]:
    return {text for slot, text in _parts(template) if slot}


@pytest.mark.parametrize("path", translated_sources(), ids=module_name)
def test_each_catalogue_holds_its_modules_sentences_all_translated(path):
    """locale/zh/<module>.json has exactly the module's sentences (run `python -m
    chatkit.language` after changing them) and none is left untranslated ("")."""
    target = LOCALE / "zh" / f"{module_name(path)}.json"
    entries = json.loads(target.read_text(encoding="utf-8"))
    found = templates_in(path.read_text(), marked_only=module_name(path) in MARKED_ONLY)
    assert sorted(entries) == sorted(found), \
        f"run `python -m chatkit.language` and translate what it adds to {target.name}"
    untranslated = [english for english, chinese in entries.items() if chinese == ""]
    assert untranslated == []


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda path: path.stem)
def test_each_translation_keeps_its_slots_and_is_chinese(path):
    """A translation has its English sentence's {slots}, each one (order may change),
    and Chinese in it; None means "not read by a person" and stays English."""
    wrong = [(english, chinese) for english, chinese in
             json.loads(path.read_text(encoding="utf-8")).items()
             if chinese is not None and (slots(chinese) != slots(english)
                                         or not CJK.search(chinese))]
    assert wrong == []


def test_the_hand_made_words_are_the_clients_statuses():
    """words.json holds what code builds from values: the statuses' names."""
    words = json.loads((LOCALE / "zh" / "words.json").read_text(encoding="utf-8"))
    assert sorted(words) == sorted(status.value for status in Status)
    assert str(catalogue("zh")["connected"])


def test_what_counts_as_a_sentence():
    """Three words or more, or given to a marker however short; not a docstring, not a
    log line; an f-string's expressions kept as written, literal braces doubled (and a
    plain string's, but for str.format's {name} slots)."""
    source = "\n".join([
        '"""A docstring of many words."""',
        'logger.info("a log line of many words")',
        'hint(ok, f"{did} raised {kind}")',
        'x = "just two"',
        'y = f"you have {n} new messages: {{not a slot}}"',
        'z = phrase("a list")',
        """w = 'Connect with {name} and {"room": 1} now'""",
    ])
    assert templates_in(source) == [
        "{did} raised {kind}", "you have {n} new messages: {{not a slot}}", "a list",
        'Connect with {name} and {{"room": 1}} now']
    assert templates_in(source, marked_only=True) == ["{did} raised {kind}", "a list"]
