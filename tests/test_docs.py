"""The course's own documents point at places that exist.

docs/from-the-article.md maps the article's claims to "notebook NN, *section*": each such
section must be a heading of that notebook, or the map silently goes stale when a notebook
is reworked. The glossary's "shown in" notebooks must exist too.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PLACE = re.compile(r"notebook (\d\d), \*(.+?)\*(?=[;| ])")


def headings(number: str) -> set[str]:
    """The section headings (## and ###) of notebook ``number``, as written."""
    [source] = (ROOT / "notebooks" / "src").glob(f"{number}-*.py")
    return {match.group(1).strip() for match in
            re.finditer(r"^# #{2,3} (.+)$", source.read_text(), re.M)}


def test_the_article_map_names_only_sections_that_exist():
    text = (DOCS / "from-the-article.md").read_text()
    places = PLACE.findall(text)
    assert len(places) >= 20, "the map should point at the course's sections"
    missing = [f"notebook {number}, *{section}*" for number, section in places
               if section not in headings(number)]
    assert missing == [], "rename these in docs/from-the-article.md"


def test_every_row_of_the_article_map_says_where():
    """Each table row of the map ends with at least one place in the course."""
    rows = [line for line in (DOCS / "from-the-article.md").read_text().splitlines()
            if line.startswith("| ") and not line.startswith(("| the article", "|---"))]
    assert rows and [row for row in rows if not PLACE.search(row.rsplit("|", 2)[-2] + " ")] == []


@pytest.mark.parametrize("document", ["from-the-article.md", "glossary.md"])
def test_the_documents_are_linked_from_the_readme(document):
    assert f"docs/{document}" in (ROOT / "README.md").read_text()


def test_the_glossary_points_at_notebooks_that_exist():
    numbers = {path.name[:2] for path in (ROOT / "notebooks" / "src").glob("[0-9][0-9]-*.py")}
    rows = [line for line in (DOCS / "glossary.md").read_text().splitlines()
            if line.startswith("| **")]
    assert len(rows) >= 10
    for row in rows:
        shown_in = row.rstrip(" |").rsplit("|", 1)[-1]
        assert set(re.findall(r"\d\d", shown_in)) <= numbers and re.search(r"\d\d", shown_in), row


def test_the_instructor_guide_times_are_the_notebooks_own():
    """The guide's time table says what each notebook's header says."""
    header = re.compile(r"About (\d+) min(?:utes)?\W+(\d+) teaching, (\d+) exercises")
    guide = (DOCS / "instructor-guide.md").read_text()
    for source in sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]-*.py")):
        total, teaching, exercises = header.search(source.read_text()).groups()
        assert int(teaching) + int(exercises) == int(total), source.name
        row = re.search(rf"^\| {source.name[:2]} [^|]+\| (\d+) \| (\d+) \| (\d+) min \|$", guide, re.M)
        assert row and row.groups() == (teaching, exercises, total), source.name


# ---- the Chinese edition's documents ------------------------------------------------

PLACE_ZH = re.compile(r"笔记本 (\d\d)，\*(.+?)\*(?=[；| ])")


def chinese_headings(number: str) -> set[str]:
    """The section headings (## and ###) of the Chinese notebook ``number``."""
    [catalogue] = (ROOT / "notebooks" / "zh" / "src").glob(f"{number}-*.md")
    return {match.group(1).strip() for match in
            re.finditer(r"^#{2,3} (.+)$", catalogue.read_text(encoding="utf-8"), re.M)}


def test_the_chinese_article_map_names_only_sections_that_exist():
    """docs/zh/from-the-article.md cites the Chinese notebooks' headings as written."""
    text = (DOCS / "zh" / "from-the-article.md").read_text(encoding="utf-8")
    places = PLACE_ZH.findall(text)
    assert len(places) >= 20, "the map should point at the course's sections"
    missing = [f"笔记本 {number}，*{section}*" for number, section in places
               if section not in chinese_headings(number)]
    assert missing == [], "rename these in docs/zh/from-the-article.md"


@pytest.mark.parametrize("document", ["from-the-article.md", "glossary.md",
                                      "instructor-guide.md"])
def test_the_chinese_documents_are_linked_from_the_chinese_readme(document):
    assert f"docs/zh/{document}" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")


def test_the_chinese_instructor_guide_times_are_the_notebooks_own():
    """The Chinese guide's time table says what each notebook's header says."""
    guide = (DOCS / "zh" / "instructor-guide.md").read_text(encoding="utf-8")
    header = re.compile(r"About (\d+) min(?:utes)?\W+(\d+) teaching, (\d+) exercises")
    for source in sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]-*.py")):
        total, teaching, exercises = header.search(source.read_text()).groups()
        row = re.search(rf"^\| {source.name[:2]} [^|]+\| (\d+) \| (\d+) \| (\d+) 分钟 \|$",
                        guide, re.M)
        assert row and row.groups() == (teaching, exercises, total), source.name
