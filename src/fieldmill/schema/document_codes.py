"""Codes a document prints: a patterned field that asks for what is printed takes one of them, or null.

A field with a `pattern` whose description says its value is printed ("ICD-10 code of the
diagnosis if printed", "tax id as printed", "order reference exactly as shown") asks for a text
the document holds. A small model asked for such a code on a document that prints none invents
one in the pattern's shape (`C10`, `N00` for diagnoses printed without codes), and it does so
sure of itself. The run reads the document for the texts that match the field's pattern, standing
alone (no letter or digit glued on either side), and the field's grammar offers exactly those,
or only `null` when the document prints none (`schema/lark_grammar.py`).

A pattern field that says nothing of printing may ask the model to normalise or to code
(`^[A-Z]{3}$` for the currency of a document that prints `$`, ICD codes for diagnoses written
in words): it keeps its pattern. A pattern that admits an ISO date or an amount with cents is a
date or a number field (`document_dates`, `document_numbers`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from fieldmill.schema.document_dates import ASKS_PRINTED, date_ask
from fieldmill.schema.document_numbers import number_ask

# What a date field's description says to ask for the printed form (`document_dates`), and what a code's adds: it may be absent.
_SAYS_PRINTED = re.compile(rf"{ASKS_PRINTED.pattern}|\bprint(?:ed|s)?\b|\bif (?:any|present|shown|stated|given|listed|available)\b", re.IGNORECASE)
# More distinct matches than this: the pattern is a shape many words take (`^[A-Z]+$`), not a code's.
MAX_CODES = 64
_ANCHORS = re.compile(r"^(?:\^|\\A)|(?<!\\)(?:\$|\\Z|\\z)$")


def code_ask(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """Whether a field asks for a code as the document prints it: a string with a pattern (no enum, no format), neither a
    date nor an amount, whose description says its value is printed."""
    if node.get("type") != "string" or node.get("pattern") is None or {"enum", "const", "format"} & set(node):
        return False
    if not description or not _SAYS_PRINTED.search(description):
        return False
    return date_ask(name, description, node) is None and number_ask(name, description, node) is None


@functools.lru_cache(maxsize=256)
def _standing_alone(pattern: str) -> re.Pattern | None:
    """The pattern unanchored, with no letter or digit next to a match; None when Python cannot read it."""
    body = _ANCHORS.sub("", pattern)
    try:
        re.compile(pattern)
        return re.compile(rf"(?<![^\W_])(?:{body})(?![^\W_])")
    except re.error:
        return None


def printed_codes(text: str, pattern: str) -> list[str] | None:
    """The texts of `text` that match `pattern` whole and stand alone, each once, in document order; None when the
    pattern cannot be searched for or matches too many texts to be a code's (the field then keeps its pattern)."""
    search = _standing_alone(pattern)
    if search is None:
        return None
    whole = re.compile(pattern)
    found: dict[str, None] = {}
    for match in search.finditer(text):
        value = match.group(0)
        if value and whole.search(value) and value not in found:
            found[value] = None
            if len(found) > MAX_CODES:
                return None
    return list(found)


__all__ = ["code_ask", "printed_codes", "MAX_CODES"]
