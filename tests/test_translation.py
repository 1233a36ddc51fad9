"""The Chinese edition stays true to the English one: each translated cell names the
English text it translates (a changed English cell stops the build, naming the cell), a
translated code cell changes only comments and strings, and every glossary term is
translated one way only, everywhere a Chinese reader looks."""

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("editions", ROOT / "notebooks" / "editions.py")
editions = sys.modules["editions"] = importlib.util.module_from_spec(spec)
spec.loader.exec_module(editions)
GLOSSARY = ROOT / "docs" / "zh" / "glossary.md"


def glossary() -> list[tuple[str, str, list[str]]]:
    """The glossary's rows: (English, 中文, the ways it must never be written)."""
    rows = []
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] not in ("English", "") and not cells[0].startswith("-"):
            avoided = [word for word in re.split(r"[、,，]", cells[2]) if word.strip("— ")]
            rows.append((cells[0], cells[1], avoided))
    return rows


def chinese_texts() -> dict[str, str]:
    """Everything a Chinese reader of the course reads, by file."""
    files = [*sorted((ROOT / "notebooks" / "zh" / "src").glob("*.md")),
             *sorted((ROOT / "docs" / "zh").glob("*.md")), ROOT / "README.zh-CN.md",
             *sorted((ROOT / "chatkit" / "static").glob("*.js"))]
    texts = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8") for path in files}
    for path in sorted((ROOT / "chatkit" / "locale" / "zh").glob("*.json")):
        values = json.loads(path.read_text(encoding="utf-8")).values()
        texts[str(path.relative_to(ROOT))] = "\n".join(v for v in values if v)
    texts.pop("docs/zh/glossary.md")  # it names the avoided words on purpose
    return texts


def second_translations(texts: dict[str, str]) -> list[str]:
    """Each place where a glossary term is written in one of its avoided ways."""
    found = []
    for english, chinese, avoided in glossary():
        for name, text in texts.items():
            rest = text.replace(chinese, "\0")  # an avoided word inside the right one is fine
            found += [f"{name}: {english!r} written {word!r}, not {chinese!r}"
                      for word in avoided if word in rest]
    return found


def test_the_glossary_has_the_terms_the_issue_names():
    terms = {chinese for _, chinese, _ in glossary()}
    assert {"握手", "全双工", "长轮询", "升级", "心跳", "命名空间", "房间", "传输"} <= terms
    assert any(chinese.startswith("确认") for _, chinese, _ in glossary())
    assert all(avoided for english, _, avoided in glossary()
               if english in ("long-polling", "namespace", "acknowledgement, ack"))


def test_no_glossary_term_is_translated_a_second_way():
    assert second_translations(chinese_texts()) == []


def test_a_term_translated_a_second_way_is_named():
    """The check above can fail: a planted 名称空间 (namespace) and 回执 (ack) are named."""
    planted = {"planted.md": "每个名称空间都有自己的房间；服务器回一个回执。长轮询很慢。"}
    found = second_translations(planted)
    assert len(found) == 2, found
    assert "'namespace' written '名称空间'" in found[0] and "回执" in found[1]


def test_every_glossary_term_appears_in_the_chinese_course():
    """The glossary is the course's: each term's translation is used in it."""
    text = "\n".join(chinese_texts().values())
    unused = [chinese for _, chinese, _ in glossary()
              if chinese.split("（")[0] not in text]
    assert unused == []


@pytest.mark.parametrize("stem", editions.stems())
def test_every_chinese_notebook_is_up_to_date_with_the_english(stem):
    """Every English cell has its translation, and no translation is left over:
    `python notebooks/editions.py check zh` says the same."""
    assert editions.problems(stem, "zh") == []


@pytest.fixture
def course_copy(tmp_path, monkeypatch):
    """A copy of notebooks/src and notebooks/zh/src that a test may change."""
    shutil.copytree(ROOT / "notebooks" / "src", tmp_path / "src")
    shutil.copytree(ROOT / "notebooks" / "zh" / "src", tmp_path / "zh" / "src")
    monkeypatch.setattr(editions, "SOURCES", tmp_path / "src")
    return tmp_path


def test_a_changed_english_markdown_cell_is_named_and_stops_the_build(course_copy):
    """Plant a change in one English markdown cell: the check names that cell (number and
    first line), and building the Chinese notebook fails with the same sentence."""
    source = course_copy / "src" / "03-disconnects.py"
    text = source.read_text()
    heading = re.search(r"^# (## .+)$", text, re.M).group(1)
    source.write_text(text.replace(f"# {heading}", f"# {heading} (revised)", 1))
    cells = editions.english("03-disconnects").cells
    number = next(n for n, cell in enumerate(cells, start=1)
                  if cell.source.startswith(f"{heading} (revised)"))
    found = editions.problems("03-disconnects", "zh")
    assert any(f"markdown cell {number} ('{heading} (revised)" in line for line in found), found
    assert any("matches no English cell now" in line for line in found)
    with pytest.raises(editions.OutOfDate, match=f"markdown cell {number} "):
        editions.build("03-disconnects", "zh")
    assert editions.problems("01-raw-websocket", "zh") == []  # the others are untouched


def test_a_translation_that_changes_code_is_refused(course_copy):
    """A translated code cell may change comments and strings, never code."""
    catalogue = course_copy / "zh" / "src" / "01-raw-websocket.md"
    entries = editions.read_catalogue(catalogue)
    code = next(entry for entry in entries if entry.kind == "code")
    changed = code.text.replace("(", "( 1 +", 1) if "(" in code.text else code.text + "\nx = 1"
    text = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(text.replace(code.text, changed, 1), encoding="utf-8")
    found = editions.problems("01-raw-websocket", "zh")
    assert any(f"code cell {code.number} " in line and "changes code" in line
               for line in found), found


@pytest.mark.parametrize("stem", editions.stems())
def test_the_built_notebook_has_the_translations_and_the_language_cell(stem):
    """Every markdown cell in Chinese; the same code cells as the English (but comments
    and strings), plus one cell after the title that switches chatkit to Chinese."""
    english = editions.english(stem)
    chinese = editions.build(stem, "zh")
    assert chinese.cells[1].source == editions.LANGUAGE_CELLS["zh"]
    del chinese.cells[1]
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    for ours, theirs in zip(chinese.cells, english.cells, strict=True):
        if ours.cell_type == "code":
            assert editions.code_shape(ours.source) == editions.code_shape(theirs.source)
        else:
            assert re.search(r"[\u4e00-\u9fff]", ours.source), ours.source[:80]
