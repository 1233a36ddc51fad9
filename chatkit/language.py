"""The language chatkit speaks to a person: English, or Chinese in the Chinese edition.

Introduced in notebook 00 of the Chinese edition (notebooks/zh/), whose second cell is::

    import chatkit
    chatkit.use_language("zh")   # hints, plots, panels and in-kernel servers speak Chinese

English stays the source of every sentence: the code words them, in English, as before.
A catalogue per module (``chatkit/locale/zh/<module>.json``) maps each English sentence,
as its source writes it (``"You are not in room {room!r}."``), to its translation, and
:func:`translate` turns a finished English sentence into the language asked for, so the
rules need not know who reads them. The server translates per connection: a client that
sends ``"lang": "zh"`` in its auth hears its refusals and notices in Chinese, whatever the
server's own language (``python -m chatkit serve --lang zh``).

    >>> translate("Wrong join code: check it with your teacher.", "zh")
    '加入码不对：请找老师核对。'

:mod:`chatkit.catalogues` keeps the catalogues up to date with the code
(``make translations``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import itertools
import json
import re
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

__all__ = ["LANGUAGES", "current_language", "language_in", "phrase", "speaking", "translate",
           "use_language"]

#: The languages chatkit speaks; the first is the default.
LANGUAGES = ("en", "zh")
PACKAGE = Path(__file__).resolve().parent
LOCALE = PACKAGE / "locale"
_process_language = "en"
_speaking: contextvars.ContextVar[str | None] = contextvars.ContextVar("speaking", default=None)


def use_language(language: str) -> None:
    """Speak ``language`` ("en" or "zh") from now on in this kernel or program: check
    hints, plots (with a CJK font for matplotlib), the chat panel, and the servers it
    starts.

    >>> use_language("zh")   # the Chinese notebooks' second cell
    """
    global _process_language
    _process_language = _checked(language)
    if language == "zh":
        use_cjk_font()
    _show_errors_in(language)


def _show_errors_in(language: str) -> None:
    """In IPython, show the message of an error chatkit raised in ``language``: the
    sentences chatkit words for a learner ("cannot send yet: the socket is still
    connecting ...") are in the catalogues like the rest."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    if language == "en":
        shell.set_custom_exc((), None)
        return

    def translated(shell, kind, error, tb, tb_offset=None):
        raised_by_chatkit = any(frame.f_code.co_filename.startswith(str(PACKAGE))
                                for frame, _ in traceback.walk_tb(tb))
        if raised_by_chatkit and error.args and isinstance(error.args[0], str):
            error.args = (translate(error.args[0]), *error.args[1:])
        shell.showtraceback((kind, error, tb), tb_offset=tb_offset)  # as IPython does

    shell.set_custom_exc((Exception,), translated)


def current_language() -> str:
    """The language in force here: :func:`speaking`'s, else :func:`use_language`'s."""
    return _speaking.get() or _process_language


@contextlib.contextmanager
def speaking(language: str | None) -> Iterator[None]:
    """Speak ``language`` inside the ``with`` block only (None: no change)."""
    token = _speaking.set(_checked(language) if language else _speaking.get())
    try:
        yield
    finally:
        _speaking.reset(token)


def language_in(auth: object) -> str | None:
    """The language a client asked for in its auth (``"lang": "zh"``), if chatkit speaks it.
    Anything else is no choice: the server's language applies (as with Accept-Language,
    an unknown language is not an error)."""
    asked = auth.get("lang") if isinstance(auth, dict) else None
    if isinstance(asked, str) and asked.lower().split("-")[0] in LANGUAGES:
        return asked.lower().split("-")[0]
    return None


def _checked(language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"chatkit speaks {' and '.join(LANGUAGES)}, not {language!r}")
    return language


def translate(sentence: str, language: str | None = None) -> str:
    """``sentence``, worded in English by chatkit's code, in ``language`` (default: the
    :func:`current_language`). A sentence the catalogue does not know is returned as it
    is: text a person wrote (an announcement, a chat message) is never changed.

    >>> translate("You are not in room 'lobby'.", "zh")
    "你不在房间 'lobby' 里。"
    """
    language = language or current_language()
    if language == "en" or not sentence:
        return sentence
    found = _translated(sentence, language, 0, None)
    return sentence if found is None else _tidy(found)


def phrase(text: str) -> str:
    """Mark ``text`` as words a person reads that end up inside a sentence ("a number
    (5)" in "A room name is text, not a number (5)."): it is catalogued like the
    sentences, and translated with the sentence it ends up in. Returns ``text``."""
    return text


#: Where one English sentence ends and the next begins ("... teacher. Wait 2 s ...").
_NEXT_SENTENCE = re.compile(r"(?<=[.!?)])\s+(?=[A-Z\"'(`])")


def _translated(text: str, language: str, depth: int, family: str | None) -> str | None:
    """``text`` translated, keeping the spaces around it; a text of several lines or
    sentences is translated piece by piece. None if no piece is known."""
    core = text.strip()
    if not core:
        return None
    found = _matched(core, language, depth, family)
    if found is None:
        for splitter, joiner in (("\n", "\n"), (_NEXT_SENTENCE, "")):
            pieces = _whole(core.split(splitter) if isinstance(splitter, str)
                            else splitter.split(core), "\n" if joiner else " ")
            if len(pieces) > 1:
                done = [_translated(piece, language, depth, family) for piece in pieces]
                if any(done):
                    # a piece nobody translated keeps the space English had before it
                    found = joiner.join(
                        piece if done_piece is None else done_piece
                        for done_piece, piece in zip(done, [pieces[0]] + [
                            piece if joiner else " " + piece for piece in pieces[1:]],
                            strict=True))
                    break
    if found is None:
        return None
    start = text[:len(text) - len(text.lstrip())]
    return start + found + text[len(text.rstrip()):]


def _whole(pieces: list[str], glue: str) -> list[str]:
    """``pieces`` with each one that opens a bracket or backtick joined to the next
    ones until it is closed: no sentence ends inside someone's code."""
    whole: list[str] = []
    for piece in pieces:
        if whole and not _balanced(whole[-1]):
            whole[-1] += glue + piece
        else:
            whole.append(piece)
    return whole


def _matched(sentence: str, language: str, depth: int, family: str | None) -> str | None:
    """The translation of the first template ``sentence`` matches. Inside a slot
    (``family`` given) only templates of the same family of modules count, and the rules'
    pieces: a library's words quoted in an error are not a check's hint."""
    for pattern, parts, target, families in _patterns(language):
        if family is not None and not families & {family, "rules"}:
            continue
        matched = pattern.fullmatch(sentence)
        if matched is None:
            continue
        groups = list(matched.groups())
        slots = [slot for slot, _ in parts]
        if not all(map(_balanced, groups)) or any(a and b for a, b in itertools.pairwise(slots)):
            groups = _best_reading(parts, sentence, language, depth, families) or groups
        placeholders = [text for slot, text in parts if slot]
        values = {}
        for name, value in zip(placeholders, groups, strict=True):
            nested = (_translated(value, language, depth + 1, min(families))
                      if depth < 3 else None)
            values.setdefault(name, value if nested is None else nested)
        return "".join(values.get(part, "") if is_slot else part
                       for is_slot, part in _parts(target))
    return None


def _balanced(text: str) -> bool:
    """Whether ``text`` closes every bracket and backtick it opens: a slot's value is a
    whole piece, never half of a learner's line of code."""
    if text.count("`") % 2:
        return False
    opened = []
    for char in text:
        if char in "([{":
            opened.append(char)
        elif char in ")]}" and (not opened or opened.pop() != "([{"[")]}".index(char)]):
            return False
    return not opened


def _best_reading(parts: list[tuple[bool, str]], sentence: str, language: str,
                  depth: int, families: frozenset[str]) -> list[str] | None:
    """The slots' values when the shortest ones cut a bracket or backtick in two, or two
    slots touch: of the balanced readings (at most 200), the one with the most values
    that are sentences of their own. None if there is no balanced reading."""
    best, best_known, left = None, -1, [200]
    for reading in _readings(parts, sentence, 0, 0, left):
        known = sum(1 for value in reading
                    if value and _translated(value, language, depth + 1, min(families)))
        if known > best_known:
            best, best_known = reading, known
    return best


def _readings(parts: list[tuple[bool, str]], text: str, index: int, at: int,
              left: list[int]) -> Iterator[list[str]]:
    """Every way to give ``parts[index:]``'s slots balanced values that spell
    ``text[at:]``, shortest values first."""
    if left[0] <= 0:
        return
    if index == len(parts):
        if at == len(text):
            left[0] -= 1
            yield []
        return
    slot, piece = parts[index]
    if not slot:
        if text.startswith(piece, at):
            yield from _readings(parts, text, index + 1, at + len(piece), left)
        return
    if index + 1 == len(parts):
        ends: Iterable[int] = [len(text)]
    elif parts[index + 1][0]:  # two slots touch: any split
        ends = range(at, len(text) + 1)
    else:
        following = parts[index + 1][1]
        ends = [i for i in range(at, len(text)) if text.startswith(following, i)]
    for end in ends:
        if _balanced(text[at:end]):
            for rest in _readings(parts, text, index + 1, end, left):
                yield [text[at:end], *rest]


_CJK_PUNCTUATION = "，。：；！？、）」』】”"


def _tidy(text: str) -> str:
    """No space next to Chinese punctuation (pieces glued with spaces in English)."""
    text = re.sub(f"(?<=[{_CJK_PUNCTUATION}]) +", "", text)
    return re.sub(r" +(?=[（，。：；！？、])", "", text)


def _parts(template: str) -> list[tuple[bool, str]]:
    """A template in literal text and ``{placeholder}`` slots; ``{{`` and ``}}`` are
    literal braces, as in an f-string."""
    parts, literal, i = [], [], 0
    while i < len(template):
        pair = template[i:i + 2]
        if pair in ("{{", "}}"):
            literal.append(pair[0])
            i += 2
        elif template[i] == "{":
            depth, j = 0, i
            while j < len(template):
                depth += {"{": 1, "}": -1}.get(template[j], 0)
                if depth == 0:
                    break
                j += 1
            if literal:
                parts.append((False, "".join(literal)))
                literal = []
            parts.append((True, template[i + 1:j]))
            i = j + 1
        else:
            literal.append(template[i])
            i += 1
    if literal:
        parts.append((False, "".join(literal)))
    return parts


@functools.cache
def _patterns(language: str) -> list[tuple[re.Pattern, list, str, frozenset[str]]]:
    """Each English template as a pattern, most literal text first (so that the most
    specific one wins), with its parts (see :func:`_parts`), its translation and the
    families of the modules that say it."""
    found = []
    families: dict[str, set[str]] = {}
    for path in (LOCALE / language).glob("*.json"):
        for english in json.loads(path.read_text(encoding="utf-8")):
            families.setdefault(english, set()).add(_family(path.stem))
    for english, target in catalogue(language).items():
        # Matched without the spaces around it: a text keeps its own (see _translated).
        parts, target = _parts(english.strip()), (target or "").strip()
        if not target or not _anchored(parts):
            continue
        regex = "".join("(.*?)" if slot else re.escape(text) for slot, text in parts)
        found.append((sum(len(text) for slot, text in parts if not slot),
                      re.compile(regex, re.S), parts, target, frozenset(families[english])))
    found.sort(key=lambda item: -item[0])
    return [item[1:] for item in found]


#: Modules whose sentences quote each other's pieces; "rules" are everyone's (kind(),
#: refusals quoted in a client's or a check's error).
_FAMILIES = {"limits": "rules", "chat": "rules", "moderation": "rules", "guard": "rules",
             "namespaces": "rules", "protocol": "rules", "__main__": "rules", "peer": "client",
             "client": "client", "retry": "client", "resume": "client", "panel": "client",
             "words": "client"}


def _family(module: str) -> str:
    return module.split(".")[0] if module.startswith("exercises") else _FAMILIES.get(
        module, module)


def _anchored(parts: list[tuple[bool, str]]) -> bool:
    """Whether a template begins or ends with words of its own, or has many: "{a} in
    {b}" would match half the sentences people write, and change what nobody translated."""
    ends = [parts[0], parts[-1]] if parts else []
    literal = " ".join(text for slot, text in parts if not slot)
    return (all(not slot for slot, _ in parts) or len(literal.replace(" ", "")) >= 12
            or re.search(r"[A-Za-z]{6}", literal) is not None
            or any(not slot and len(text.strip()) >= 2 for slot, text in ends))


@functools.cache
def catalogue(language: str) -> dict[str, str | None]:
    """Every English template and its translation into ``language`` (None: not for a
    learner's eyes, it stays English)."""
    merged: dict[str, str | None] = {}
    for path in sorted((LOCALE / language).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def use_cjk_font() -> None:
    """Let matplotlib draw Chinese: the Noto Sans SC that the course installs
    (``pylopdf-fonts-zh-cn``), else a CJK font the system has."""
    from matplotlib import font_manager, rcParams  # only a plotting kernel needs it

    try:
        from pylopdf_fonts_zh_cn import sans_path
        font_manager.fontManager.addfont(str(sans_path()))
        family = font_manager.FontProperties(fname=str(sans_path())).get_name()
    except ImportError:
        names = {font.name for font in font_manager.fontManager.ttflist}
        family = next((name for name in ("Noto Sans SC", "Noto Sans CJK SC", "Source Han Sans SC",
                                         "WenQuanYi Micro Hei", "PingFang SC",
                                         "Microsoft YaHei") if name in names), None)
        if family is None:
            print("No Chinese font found: plots will show boxes. Run `make setup` again.",
                  file=sys.stderr)
            return
    rcParams["font.sans-serif"] = [family, *[f for f in rcParams["font.sans-serif"]
                                             if f != family]]
    rcParams["font.family"] = "sans-serif"
