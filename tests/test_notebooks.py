"""The notebooks as a whole: built from their sources, executed, and safe to run twice.

Strict nbval (run on notebooks/*.ipynb by the same `make test`) compares each stored
output; these tests check what nbval cannot: that the committed notebook is the one its
source builds, and that "Run all" twice in one kernel gives the same outputs again.
"""

import configparser
import re
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CHINESE = sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]-*.ipynb"))
NOTEBOOKS = ENGLISH + CHINESE
SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]-*.py"))


def edition_id(path: Path) -> str:
    return f"zh/{path.stem}" if path.parent.name == "zh" else path.stem


def built(path: Path):
    """What the committed notebook ``path`` must hold: its source's cells (the Chinese
    edition's: built by notebooks/editions.py)."""
    if path.parent.name == "zh":
        sys.path.insert(0, str(ROOT / "notebooks"))
        try:
            import editions
        finally:
            sys.path.remove(str(ROOT / "notebooks"))
        return editions.build(path.stem, "zh")
    return jupytext.read(ROOT / "notebooks" / "src" / f"{path.stem}.py")


def sanitizer():
    """The nbval sanitize patterns, as one function over text."""
    config = configparser.ConfigParser()
    config.read(ROOT / "tests" / "nbval-sanitize.cfg")
    patterns = [(re.compile(config[s]["regex"]), config[s]["replace"])
                for s in config.sections()]

    def sanitize(text: str) -> str:
        for pattern, replacement in patterns:
            text = pattern.sub(replacement, text)
        return text

    return sanitize


def comparable_outputs(cell, sanitize) -> list[str]:
    """A cell's outputs as nbval sees them: streams merged, images and widget ids left out."""
    texts, stream = [], {}
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            stream[output["name"]] = stream.get(output["name"], "") + output["text"]
        elif output["output_type"] == "error":
            texts.append(f"error: {output['ename']}: {output['evalue']}")
        else:
            data = output.get("data", {})
            texts.extend(f"{kind}: {value}" for kind, value in sorted(data.items())
                         if kind in ("text/plain", "text/html", "text/markdown"))
    texts.extend(f"{name}: {text}" for name, text in sorted(stream.items()))
    return [sanitize(text) for text in texts]


def test_there_are_notebooks_and_each_has_a_source():
    """Every committed notebook has its notebooks/src/*.py, and the reverse; the Chinese
    edition has every one too."""
    assert ENGLISH, "no notebooks found"
    assert [p.stem for p in ENGLISH] == [p.stem for p in SOURCES]
    assert [p.stem for p in CHINESE] == [p.stem for p in SOURCES]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=edition_id)
def test_notebook_matches_its_source_and_was_executed(path):
    """The committed notebook has its source's cells, every code cell executed in order."""
    committed = nbformat.read(path, as_version=4)
    assert [(c.cell_type, c.source) for c in committed.cells] == \
           [(c.cell_type, c.source) for c in built(path).cells], \
        f"{path.name} is out of date: run `make notebooks NB={path.stem[:2]}`"
    counts = [c.execution_count for c in committed.cells
              if c.cell_type == "code" and c.source.strip()]
    assert counts == list(range(1, len(counts) + 1)), "run `make notebooks` and commit"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=edition_id)
def test_running_all_twice_in_one_kernel_gives_the_same_outputs(path):
    """Run all, then run all again in the same kernel: no error, the same outputs."""
    notebook = nbformat.read(path, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    twice = nbformat.v4.new_notebook(metadata=notebook.metadata)
    twice.cells = [nbformat.v4.new_code_cell(c.source) for c in code + code]
    NotebookClient(twice, timeout=120, resources={"metadata": {"path": str(path.parent)}},
                   record_timing=False).execute()
    sanitize = sanitizer()
    first, second = twice.cells[:len(code)], twice.cells[len(code):]
    for number, (one, two) in enumerate(zip(first, second, strict=True), start=1):
        assert comparable_outputs(two, sanitize) == comparable_outputs(one, sanitize), \
            f"code cell {number} differs on the second run:\n{one.source}"


@pytest.mark.parametrize("path", CHINESE, ids=edition_id)
def test_the_chinese_editions_checks_answer_in_chinese(path):
    """In the Chinese edition the exercises' checks say "正确：…" (and a hint would say
    "还没对：…"): no verdict of chatkit's is left in English."""
    notebook = nbformat.read(path, as_version=4)
    lines = [line for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.get("outputs", [])
             for text in [output.get("text", ""), output.get("evalue", ""),
                          *output.get("data", {}).get("text/plain", "").splitlines()]
             for line in str(text).splitlines()]
    assert [line for line in lines if re.match(r"\s*(Right|Not yet):", line)] == []
    assert any(line.startswith("正确：") for line in lines), "no check ran?"
