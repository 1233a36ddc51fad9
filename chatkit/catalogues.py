"""chatkit's catalogues of translations, kept up to date with the code.

Used by the Chinese edition (notebooks 00-06 in notebooks/zh/). A catalogue
``chatkit/locale/zh/<module>.json`` maps each sentence of a module, as its source writes
it, to its translation (:mod:`chatkit.language` uses them). Which strings are sentences is
read from the source: every string or f-string of three words or more, and whatever is
given to ``translate``, ``phrase``, ``hint``, ``CheckFailed``, ``Refused`` or
``print_line``, however short. ``make translations`` runs :func:`main`::

    update_catalogues("zh")   # {"limits": 0, "exercises.rooms": 2, ...}: still to translate

A new sentence gets an empty translation, which tests/test_catalogues.py refuses until
it is filled in; a sentence gone from the code goes from its catalogue.
"""

from __future__ import annotations

import ast
import itertools
import json
import re
from pathlib import Path

from chatkit.language import LOCALE, PACKAGE

__all__ = ["MARKED_ONLY", "TRANSLATED", "main", "module_name", "templates_in",
           "translated_sources", "update_catalogues"]

#: The modules whose sentences reach a learner (the others speak to the teacher's
#: terminal or to programmers, in English).
TRANSLATED = ("limits", "chat", "moderation", "guard", "namespaces", "protocol", "peer",
              "client", "retry", "panel", "polling", "fanout", "roommap", "websocket", "sio",
              "running", "resume", "pagecode", "exercises", "__main__")
#: Of these, the modules where only what is marked (``translate``, ``print_line``...) is
#: for a person: ``serve``'s start lines, not its ``--help``.
MARKED_ONLY = ("__main__",)


def module_name(path: Path) -> str:
    """A catalogue's name for a source file: ``limits``, ``exercises.rooms``."""
    return ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def translated_sources() -> list[Path]:
    """The source files whose sentences have translations."""
    paths = []
    for name in TRANSLATED:
        folder = PACKAGE / name
        paths += sorted(p for p in folder.glob("*.py") if p.name != "__init__.py") \
            if folder.is_dir() else [PACKAGE / f"{name}.py"]
    return paths


#: Calls whose text argument is for a person however short it is: the argument's position.
_MARKERS = {"translate": 0, "phrase": 0, "CheckFailed": 0, "Refused": 0, "hint": 1,
            "print_line": 0}


def templates_in(source: str, *, marked_only: bool = False) -> list[str]:
    """The sentences of a module's source, as templates: every string or f-string of three
    words or more (an f-string's ``{expression}`` kept as written), and every argument of
    a ``translate(...)`` call; not docstrings, not what goes to a logger."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                isinstance(node.func.value, ast.Name) and node.func.value.id == "logger":
            skip.update(id(inner) for inner in ast.walk(node))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(inner) for inner in ast.walk(node) if inner is not node)
    labels = set()
    for node in ast.walk(tree):
        called = getattr(getattr(node, "func", None), "id", None) or getattr(
            getattr(node, "func", None), "attr", None)
        if isinstance(node, ast.Call) and called in _MARKERS:
            for arg in node.args[_MARKERS[called]:][:1]:
                # "a" if x else "b": both are
                labels.update((id(arg.body), id(arg.orelse)) if isinstance(arg, ast.IfExp)
                              else (id(arg),))
    found = []
    nodes = sorted((node for node in ast.walk(tree) if isinstance(node, ast.expr)),
                   key=lambda node: (node.lineno, node.col_offset))
    for node in nodes:
        if id(node) in skip and id(node) not in labels:
            continue
        template = _template(node)
        words = [word for word in re.sub(r"\{[^{}]*\}", " ", template or "").split()
                 if re.search(r"[A-Za-z]{2}", word)]
        enough = id(node) in labels or (len(words) >= 3 and not marked_only)
        if template and enough and template not in found:
            found.append(template)
    return found


_FORMAT_SLOT = re.compile(r"(\{[A-Za-z_]\w*(?:![rsa])?(?::[^{}]*)?\})")


def _template(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        # A plain string's braces are literal, but for str.format's {name} slots.
        pieces = _FORMAT_SLOT.split(node.value)
        return "".join(piece if odd else piece.replace("{", "{{").replace("}", "}}")
                       for odd, piece in zip(itertools.cycle((False, True)), pieces))
    if isinstance(node, ast.JoinedStr):
        out = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.append(value.value.replace("{", "{{").replace("}", "}}"))
                continue
            slot = ast.unparse(value.value)
            if value.conversion != -1:
                slot += "!" + chr(value.conversion)
            if value.format_spec is not None:
                slot += ":" + "".join(
                    part.value if isinstance(part, ast.Constant)
                    else "{" + ast.unparse(part.value) + "}"
                    for part in value.format_spec.values)
            out.append("{" + slot + "}")
        return "".join(out)
    return None


def update_catalogues(language: str = "zh") -> dict[str, int]:
    """Bring ``locale/<language>/*.json`` up to date with the code: keep translations,
    add new sentences untranslated (""), drop gone ones. Returns the untranslated count
    per catalogue."""
    folder = LOCALE / language
    folder.mkdir(parents=True, exist_ok=True)
    left = {}
    for path in translated_sources():
        name = module_name(path)
        target = folder / f"{name}.json"
        old = json.loads(target.read_text(encoding="utf-8")) if target.exists() else {}
        new = {template: old.get(template, "") for template in templates_in(
            path.read_text(), marked_only=name in MARKED_ONLY)}
        target.write_text(json.dumps(new, ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")
        left[name] = sum(1 for text in new.values() if text == "")
    return left


def main() -> None:
    """``make translations``: update the catalogues, say what is left to translate."""
    for name, count in update_catalogues().items():
        if count:
            print(f"{name}: {count} sentences to translate")


if __name__ == "__main__":
    main()
