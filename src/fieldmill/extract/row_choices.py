"""Choices a list item left null while its own row prints one of them.

A discharge summary's lab table prints a flag beside a result (`Glucose 176 mg/dL (H)`); a fine-tuned
model copies the test, the value and the unit and most often leaves the flag null: an option of a choice
is printed as its initial, or as a word of its own, and not as the value the schema wants (`high`). A
null choice of a list item (`lab_results[3].flag`) whose *row* prints one of its options (as a word, or
as its capital initial standing alone, `H`, `(L)`) is asked again with null not allowed, with the other
nulls the run doubts (`doubted`); the option read again is kept only when that row prints it.

An item's row is the line that prints most of its values with evidence (a unit or a number is often found
elsewhere too), from its first value there to the line's end, cut where the list's next item begins (a
compact `WBC 14.2 (H); CRP 87 (H); Sodium 138` prints three rows on one line), with the item's own values
blanked out: an initial inside a test's name (`Vitamin C`) is not a flag. An item with no value found in
the document has no row, and its choices are not asked.
"""

from __future__ import annotations

import re
from typing import Any

from fieldmill.extract.item_rows import item_of, item_spans, row_line
from fieldmill.extract.trust import field_kind, node_at, option_printed, options_of, value_at

_INDEX = re.compile(r"\[(\d+)\]$")


def row_texts(evidence: list[dict[str, Any]], text: str) -> dict[str, str]:
    """{list item (`lab_results[3]`): its row (see the module's docstring)} for every item with a value found."""
    spans = item_spans(evidence)
    rows = {}
    for item, own in spans.items():
        line = row_line(text, own)
        on_line = [(s, e) for s, e in own if line[0] <= s < line[1]]
        start, end = min(s for s, _ in on_line), line[1]
        following = [s for s, _ in spans.get(_next_item(item), []) if start < s < end]
        end = min(following, default=end)
        row = list(text[start:end])
        for s, e in on_line:
            row[s - start: min(e, end) - start] = " " * max(0, min(e, end) - s)
        rows[item] = "".join(row)
    return rows


def _next_item(item: str) -> str:
    return _INDEX.sub(lambda m: f"[{int(m.group(1)) + 1}]", item)


def doubted_choices(signals: list[dict[str, Any]], hardened: dict[str, Any], rows: dict[str, str]) -> list[str]:
    """The paths of the null choices of list items whose rows (`row_texts`) print one of their options."""
    out = []
    for s in signals:
        path = s["field"]
        item = item_of(path)
        if s.get("grounding") != "null" or item not in rows:
            continue
        node = node_at(hardened, path)
        options = options_of(node)
        if field_kind(node) == "choice" and options and option_printed(options, rows[item], initials=True):
            out.append(path)
    return out


def accepted_choices(paths: list[str], again: Any, rows: dict[str, str]) -> dict[str, Any]:
    """{path: option} of the choices read again (`again`, the parsed record) that their rows print."""
    out = {}
    for path in paths:
        value = value_at(again, path)
        if isinstance(value, str) and option_printed([value], rows.get(item_of(path) or "", ""), initials=True):
            out[path] = value
    return out


__all__ = ["row_texts", "doubted_choices", "accepted_choices"]
