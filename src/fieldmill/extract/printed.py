"""A free-text value the model nearly copied, written as the document prints it.

A small model copying a long value (an address over three OCR lines, an e-mail) sometimes slips:
`TAMPOPOI` for the printed `TAMPOI`, `christians57@` for `cristian57@`. Grounding finds such a value
only by a near match (`evidence`, match `fuzzy`: similarity >= 90): the document states it, with
other characters. For a free-text field (no enum, pattern or format shaping the answer) the printed
words are the value, so they replace the model's: the whole words of the near match's region whose
text is most like the model's value, their line breaks and runs of spaces written as one space (a
value that spans lines is one string). A value found only with its case changed (`Greenfield NUTRITION
GMBH` for the printed `GREENFIELD NUTRITION GMBH`) is written with the printed case, unless its field's
description asks for a case ("in upper case", "title case"). A value grounded as printed, or
normalised otherwise (punctuation and spacing aside), is the model's own and stays; so does one for
which no run of printed words is as like it as the near match required.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fieldmill.extract.evidence import FUZZY_MIN_SCORE, leaves, normalise
from fieldmill.extract.trust import set_value_at

_TOKEN = re.compile(r"\S+")
_SHAPED = ("enum", "const", "pattern", "format")  # an answer the schema shapes is not copied as printed
# A description that asks for a case of its own ("in upper case", "title-case", "in capitals"); not "job title".
_ASKS_CASE = re.compile(r"\b(?:upper|lower|title|sentence)[ -]?case|\bcapital(?:s|i[sz]ed| letters)|\ball caps\b|\bcase\b", re.IGNORECASE)


def printed_forms(record: dict[str, Any] | None, hardened: dict[str, Any], text: str, near: dict[str, tuple[int, int]],
                  normalised: dict[str, tuple[int, int]] | None = None) -> dict[str, str]:
    """{path: the printed words} for each free-text value of `record` that grounding found in `text` only by a near
    match (`near`: {path: its span in `text`}) or, with its case changed, by a normalised one (`normalised`)."""
    normalised = normalised or {}
    if not record or not (near or normalised):
        return {}
    out: dict[str, str] = {}
    for path, value, node in leaves(record, hardened):
        if not isinstance(value, str) or any(key in node for key in _SHAPED):
            continue
        if path in near:
            printed = _closest_words(value, text, near[path])
        elif path in normalised and not _ASKS_CASE.search(str(node.get("description") or "")):
            printed = _recased(value, text, normalised[path])
        else:
            continue
        if printed and printed != value and _fits(printed, node):
            out[path] = printed
    return out


def _recased(value: str, text: str, span: tuple[int, int]) -> str | None:
    """The printed text at `span` as one line, when it is `value` with other case (spacing aside), else None."""
    printed = " ".join(text[span[0]:span[1]].split())
    return printed if printed.casefold() == " ".join(value.split()).casefold() else None


def _closest_words(value: str, text: str, span: tuple[int, int]) -> str | None:
    """The run of whole printed words around `span` (one word more each side) most like `value`, as one line."""
    tokens = list(_TOKEN.finditer(text))
    inside = [i for i, t in enumerate(tokens) if t.end() > span[0] and t.start() < span[1]]
    if not inside:
        return None
    first, last = max(inside[0] - 1, 0), min(inside[-1] + 1, len(tokens) - 1)
    from rapidfuzz import fuzz

    wanted = normalise(value)
    best, best_score = None, FUZZY_MIN_SCORE
    for i in range(first, last + 1):
        for j in range(i, last + 1):
            candidate = text[tokens[i].start(): tokens[j].end()]
            score = fuzz.ratio(normalise(candidate), wanted)
            if score > best_score:
                best, best_score = candidate, score
    return " ".join(best.split()) if best is not None else None


def _fits(value: str, node: dict[str, Any]) -> bool:
    return len(value) <= node.get("maxLength", len(value)) and len(value) >= node.get("minLength", 0)


def with_printed(answer_json: str, printed: dict[str, str]) -> str | None:
    """The answer (JSON text) with the values at `printed`'s paths replaced; None when a path is not in it."""
    try:
        answer = json.loads(answer_json)
    except ValueError:
        return None
    if not isinstance(answer, dict) or not all(set_value_at(answer, path, value) for path, value in printed.items()):
        return None
    return json.dumps(answer, ensure_ascii=False, separators=(",", ":"))


__all__ = ["printed_forms", "with_printed"]
