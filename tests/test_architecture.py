"""docs/architecture.md's map stays true: every module is on it, imports go one way up its
table, each module's first docstring names a notebook, and every module has tests."""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "chatkit"
MAP = (ROOT / "docs" / "architecture.md").read_text().split("## The path of one message")[0]
#: The modules in the order of the map's table ("exercises/" is the package).
LAYERS = [name.rstrip("/") for name in re.findall(r"^\|[^|]*\| `([a-z_/]+)`", MAP, re.M)]


def module_of(path: Path) -> str:
    """The map's name for a file of the package: ``chat`` or ``exercises``."""
    parts = path.relative_to(PACKAGE).parts
    return parts[0].removesuffix(".py")


def imported_modules(path: Path) -> set[str]:
    """The chatkit modules that ``path`` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chatkit"):
            parts = node.module.split(".")
            found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names
                         if a.name.startswith("chatkit."))
    return found


MODULES = sorted(path for path in PACKAGE.rglob("*.py") if path.name != "__init__.py"
                 or path.parent != PACKAGE)


def test_every_module_is_on_the_map_once():
    """Each module of chatkit has one row in the table of docs/architecture.md."""
    on_disk = {module_of(path) for path in MODULES}
    assert sorted(LAYERS) == sorted(on_disk)


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_imports_go_one_way_up_the_map(path):
    """A module imports only modules listed before it in the map (none after it)."""
    here = LAYERS.index(module_of(path))
    later = [name for name in imported_modules(path)
             if name in LAYERS and LAYERS.index(name) > here]
    assert later == []


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(PACKAGE)))
def test_each_module_names_its_notebook_and_stays_small(path):
    """The first docstring names a notebook; no module is much over 450 lines."""
    docstring = ast.get_docstring(ast.parse(path.read_text())) or ""
    assert re.search(r"notebooks? \d\d", docstring, re.I), "name the notebook introducing it"
    # "~450": a few lines over is fine, a second idea in the module is not.
    assert len(path.read_text().splitlines()) <= 480


def test_every_module_has_a_test_module():
    """tests/ mirrors the package: test_<module>.py, and tests/exercises/ for the checks."""
    tests = {path.stem.removeprefix("test_") for path in (ROOT / "tests").glob("test_*.py")}
    tests |= {"__main__"} if "cli" in tests else set()
    untested = [name for name in LAYERS if name not in tests and name != "exercises"]
    assert untested == []
    assert {module_of(path) for path in MODULES if module_of(path) == "exercises"}
    exercise_tests = {path.stem.removeprefix("test_")
                      for path in (ROOT / "tests" / "exercises").glob("test_*.py")}
    checks = {path.stem for path in (PACKAGE / "exercises").glob("*.py")
              if path.stem != "__init__"}
    assert checks <= exercise_tests
