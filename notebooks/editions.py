"""The course's other editions, built from the English notebooks so that code cannot drift.

An edition (today ``zh``, Chinese) is the English source ``notebooks/src/NN-*.py`` plus a
catalogue ``notebooks/<edition>/src/NN-*.md`` of its translated cells. Each entry of the
catalogue names the English cell it translates by a hash of that cell's text::

    <!-- markdown 3 · en 5d41402abc4b -->
    ## 第一个连接
    ...

    <!-- code 7 · en 7d793037a076 -->
    ```python
    print("已连接:", ws.ready_state)  # the English code, only its comments and texts translated
    ```

Every markdown cell needs an entry; a code cell may have one, and then its translation
may change only comments and string literals (checked token by token). When an English
cell changes, its hash no longer matches and the build stops, naming the cell, until the
translation is brought up to date. Each built notebook gets one more cell, right after
its title, that switches chatkit to the edition's language.

    python notebooks/editions.py build zh            # notebooks/zh/*.ipynb (not executed)
    python notebooks/editions.py skeleton zh 01      # a catalogue to translate, in English
    python notebooks/editions.py check zh            # what is out of date, cell by cell
"""

from __future__ import annotations

import ast
import hashlib
import io
import re
import sys
import tokenize
from dataclasses import dataclass
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent
SOURCES = ROOT / "src"

#: The cell each edition's notebooks get after their title, and what it says.
LANGUAGE_CELLS = {
    "zh": ('import chatkit\n\n'
           'chatkit.use_language("zh")  # 从这里起，chatkit 的提示、图表、聊天面板和服务器的话都用中文'),
}

ENTRY = re.compile(r"^<!-- (markdown|code) (\d+) · en ([0-9a-f]{12}) -->$", re.M)
FENCE = re.compile(r"\A```python\n(.*)\n```\Z", re.S)


def text_hash(text: str) -> str:
    """The 12 hex digits that name one English cell's text (SHA-256)."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass
class Entry:
    """One translated cell: which English cell (kind, number, hash) and its translation."""

    kind: str
    number: int
    english_hash: str
    text: str


class OutOfDate(Exception):
    """The catalogue does not match the English notebook; the message names each cell."""


def read_catalogue(path: Path) -> list[Entry]:
    """The entries of one catalogue file, in order."""
    text = path.read_text(encoding="utf-8")
    marks = list(ENTRY.finditer(text))
    entries = []
    for mark, after in zip(marks, marks[1:] + [None]):
        body = text[mark.end():after.start() if after else len(text)].strip("\n")
        if mark.group(1) == "code":
            fenced = FENCE.match(body)
            if not fenced:
                raise OutOfDate(f"{path.name}: code entry {mark.group(2)} is not one "
                                f"```python block")
            body = fenced.group(1)
        entries.append(Entry(mark.group(1), int(mark.group(2)), mark.group(3), body))
    return entries


def english(stem: str) -> nbformat.NotebookNode:
    """The English notebook ``stem`` as its source builds it (no outputs)."""
    return jupytext.read(SOURCES / f"{stem}.py")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 60 else line[:57] + "..."


def code_shape(source: str) -> list[tuple[int, str]]:
    """A code cell's tokens without its comments and string literals: what a
    translation must leave exactly as it is."""
    shape = []
    for token in tokenize.generate_tokens(io.StringIO(source + "\n").readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE):
            continue
        if token.type == tokenize.STRING:
            shape.append((tokenize.STRING, _expressions(token.string)))
        elif token.type in _FSTRING_TEXT:
            shape.append((tokenize.STRING, ""))
        else:
            shape.append((token.type, token.string))
    return shape


_FSTRING_TEXT = {getattr(tokenize, name) for name in ("FSTRING_MIDDLE",)
                 if hasattr(tokenize, name)}


def _expressions(literal: str) -> str:
    """The code inside an f-string's braces (before Python 3.12 the whole f-string is one
    token): a translation may change the text around it, never it."""
    try:
        tree = ast.parse(literal, mode="eval").body
    except SyntaxError:
        return ""
    return " | ".join(ast.unparse(node) for node in ast.walk(tree)
                      if isinstance(node, ast.FormattedValue))


def problems(stem: str, edition: str) -> list[str]:
    """Each way the catalogue of ``stem`` is out of date, as a sentence naming the cell."""
    catalogue = SOURCES.parent / edition / "src" / f"{stem}.md"
    if not catalogue.exists():
        return [f"{stem}: no catalogue {catalogue.relative_to(ROOT.parent)}"]
    try:
        entries = read_catalogue(catalogue)
    except OutOfDate as error:
        return [str(error)]
    by_hash = {(e.kind, e.english_hash): e for e in entries}
    found, used = [], set()
    for number, cell in enumerate(english(stem).cells, start=1):
        key = (cell.cell_type, text_hash(cell.source))
        if key in by_hash:
            used.add(key)
            entry = by_hash[key]
            if cell.cell_type == "code" and code_shape(entry.text) != code_shape(cell.source):
                found.append(f"{stem}: code cell {number} ({_first_line(cell.source)!r}): its "
                             f"translation changes code, not only comments and strings")
        elif cell.cell_type == "markdown":
            found.append(f"{stem}: markdown cell {number} ({_first_line(cell.source)!r}) "
                         f"changed after its translation, or is new: en {key[1]}")
    for entry in entries:
        if (entry.kind, entry.english_hash) not in used:
            found.append(f"{stem}: the translation of {entry.kind} cell {entry.number} "
                         f"(en {entry.english_hash}) matches no English cell now: update it")
    return found


def build(stem: str, edition: str) -> nbformat.NotebookNode:
    """The notebook ``stem`` in ``edition``: the English cells with their translations,
    and the language cell after the title. Raises :class:`OutOfDate`."""
    found = problems(stem, edition)
    if found:
        raise OutOfDate("\n".join(found))
    entries = {(e.kind, e.english_hash): e
               for e in read_catalogue(SOURCES.parent / edition / "src" / f"{stem}.md")}
    notebook = english(stem)
    for cell in notebook.cells:
        entry = entries.get((cell.cell_type, text_hash(cell.source)))
        if entry is not None:
            cell.source = entry.text
    language_cell = nbformat.v4.new_code_cell(LANGUAGE_CELLS[edition])
    notebook.cells.insert(1, language_cell)
    for number, cell in enumerate(notebook.cells, start=1):
        cell.id = f"{edition}-{number}"  # the same ids at every build: small diffs
    return notebook


def skeleton(stem: str) -> str:
    """A catalogue for ``stem`` whose entries still hold the English text: every markdown
    cell, and the code cells that have comments or strings to translate."""
    parts = []
    for number, cell in enumerate(english(stem).cells, start=1):
        if cell.cell_type == "markdown":
            parts.append(f"<!-- markdown {number} · en {text_hash(cell.source)} -->\n"
                         f"{cell.source}\n")
        elif cell.cell_type == "code" and ("#" in cell.source or "print(" in cell.source
                                           or "set_xlabel" in cell.source):
            parts.append(f"<!-- code {number} · en {text_hash(cell.source)} -->\n"
                         f"```python\n{cell.source}\n```\n")
    return "\n".join(parts)


def write(stem: str, edition: str) -> Path:
    """Build ``stem`` in ``edition`` into notebooks/<edition>/ (``make notebooks`` then
    runs it and saves its outputs, as it does the English ones)."""
    target = SOURCES.parent / edition / f"{stem}.ipynb"
    nbformat.write(build(stem, edition), target)
    return target


def stems(pick: str = "") -> list[str]:
    """The notebooks' names, e.g. ``01-raw-websocket``; ``pick`` ("01") chooses one."""
    return [p.stem for p in sorted(SOURCES.glob(f"{pick}-*.py" if pick else "[0-9][0-9]-*.py"))]


def main(argv: list[str]) -> int:
    command, edition, *pick = argv
    if command == "skeleton":
        for stem in stems(*pick):
            target = SOURCES.parent / edition / "src" / f"{stem}.md"
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                print(f"{target} exists: not overwritten")
                continue
            target.write_text(skeleton(stem), encoding="utf-8")
            print(target)
        return 0
    found = [line for stem in stems(*pick) for line in problems(stem, edition)]
    if found:
        print("\n".join(found), file=sys.stderr)
        print(f"\n{len(found)} cells of the {edition} edition are out of date: translate them "
              f"again (the English is in notebooks/src/; `git log -p` shows what changed)",
              file=sys.stderr)
        return 1
    if command == "build":
        for stem in stems(*pick):
            print(write(stem, edition))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
