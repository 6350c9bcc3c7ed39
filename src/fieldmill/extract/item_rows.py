"""Where a list's items are printed, and where a list the model wrote ran past the document's.

A small model does not always know where a list ends, and the schema's rules do not always say: after a
discharge summary's last lab result it writes more "results" out of the lines below the table (the heading
`Discharge` with a dose from the medication list), or the last row again under its flag (`H`). The items
of a list of objects are the rows of a table or a block: the values an item copies from the document (its
texts, numbers and dates) are printed within a few neighbouring lines (`ROW_LINES`). An item whose values are
all printed, but never together, or one found only on the row of the item before it with that item's numbers,
was not printed as an item: it is a *stray*, and the list is taken to end before the first one (not the first
item, and only in a list whose first item is a row: a text layer that reads a table a column at a time prints
no item as one). The answer is then decoded again with the list bounded to that many items
(`repair.bounded`), as for a list whose tail the rules refused. Nothing is cut after the fact.

A value printed nowhere says nothing of the item's row (a real item with one value misread is still a row), so
only the values the document prints are sought together, and only for an item with a text printed (numbers alone
are printed all over a page). Values the schema supplies rather than the document
(choices, booleans) are not sought, nor counts of 0 or 1 (one of an item is often left unprinted). An item
with nothing to seek is never a stray. On the built-in and realistic corpora's gold records (520 documents) no
list is cut.

A model also stops early: after two of four medications printed alike, it closes the list. A list whose last
item's row (the line printing most of its values, one of them a text copied from the document) is followed by
lines that begin like it (a word, a number or a sign first; a number among the first four tokens, or else the
same first word: `Apixaban 5 mg` after `Insulin glargine 18 units`, not the heading `Follow-up and instructions`),
print a digit when the item printed a number or a date, and hold no other field's value, is *open* (`open_ends`):
the answer is continued where it closed that list, one item per such line decoded there (`extract/actor.py`), and
a new item has gone on to its row when it is printed on that very line, in order (`went_on`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldmill.extract.evidence import DocumentIndex, leaves, locate

_ITEM = re.compile(r"^(.*\[\d+\])\.[^.\[\]]+$")  # a field of a list item: `lab_results[3].flag` -> `lab_results[3]`
_COPIED = ("exact", "normalised")  # evidence of a text copied from the document (`evidence.locate`)
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")
_DIGIT = re.compile(r"\d")
ROW_LINES = 4  # the most non-empty lines one item's values may span (a signature block: party, name, title, date)
_UNPRINTED_COUNTS = {Decimal(0), Decimal(1)}


class PrintedRows:
    """A document's non-empty lines, searched `ROW_LINES` at a time for a list item's values."""

    def __init__(self, text: str):
        self.lines = [line for line in text.splitlines() if line.strip()]
        self._indexes: dict[int, DocumentIndex] = {}
        self._whole = DocumentIndex(text)

    def _window(self, start: int) -> DocumentIndex:
        if start not in self._indexes:
            self._indexes[start] = DocumentIndex("\n".join(self.lines[start: start + ROW_LINES]))
        return self._indexes[start]

    def first_row(self, values: list[tuple[Any, dict[str, Any]]]) -> int | None:
        """The first line from which `ROW_LINES` lines print every one of `values` ((value, schema node) pairs) that
        the document prints at all, or None where none does; -1 where it prints none of their texts."""
        values = [(value, node) for value, node in values if locate(value, node, self._whole) is not None]
        if not any(isinstance(value, str) for value, _ in values):
            return -1  # an item is found by its texts: the numbers of a page are printed everywhere
        for start in range(max(len(self.lines) - ROW_LINES + 1, 1)):
            index = self._window(start)
            if all(locate(value, node, index) is not None for value, node in values):
                return start
        return None


def printed_values(item: Any, node: dict[str, Any]) -> list[tuple[Any, dict[str, Any]]]:
    """The values of a list item that its row should print, longest text first (the likeliest to be missing)."""
    found = [(_typed(value, leaf), leaf) for _, value, leaf in leaves(item, node)
             if not (isinstance(value, bool) or "enum" in leaf or "const" in leaf) and not _unprinted_count(value)]
    return sorted(found, key=lambda pair: -len(str(pair[0])) if isinstance(pair[0], str) else 0)


def stray_cuts(record: Any, hardened: dict[str, Any], text: str) -> dict[str, int]:
    """{top-level list of objects: the number of items before its strays begin} (see the module's docstring)."""
    if not isinstance(record, dict):
        return {}
    rows: PrintedRows | None = None
    cuts: dict[str, int] = {}
    for name, node in hardened.get("properties", {}).items():
        array = next((o for o in node.get("anyOf", [node]) if o.get("type") == "array"), None)
        items = record.get(name)
        if array is None or not isinstance(items, list) or len(items) < 2 or not _of_objects(array["items"]):
            continue
        rows = rows or PrintedRows(text)
        strays = _strays(items, array["items"], rows)
        if strays[0]:
            continue  # the first item is no row either: this list is printed some other way (a column at a time)
        cut = next((k for k in range(1, len(items)) if strays[k]), None)
        if cut is not None:
            cuts[name] = cut
    return cuts


def _strays(items: list[Any], node: dict[str, Any], rows: PrintedRows) -> list[bool]:
    out: list[bool] = []
    previous: tuple[int | None, set[Decimal]] | None = None
    for item in items:
        values = printed_values(item, node)
        if not values:
            out.append(False)
            previous = None
            continue
        row, numbers = rows.first_row(values), _numbers(values)
        out.append(row is None or (previous is not None and bool(numbers) and (row, numbers) == previous))
        previous = (row, numbers)
    return out


def _typed(value: Any, node: dict[str, Any]) -> Any:
    """A date field's value as a date (an answer's JSON holds it as ISO text), so that its printed forms are sought."""
    if isinstance(value, str) and node.get("format") == "date":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def _numbers(values: list[tuple[Any, dict[str, Any]]]) -> set[Decimal]:
    return {_decimal(value) for value, _ in values if isinstance(value, (int, float, Decimal))} - {None}


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)).normalize()
    except InvalidOperation:
        return None


def _unprinted_count(value: Any) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) and _decimal(value) in _UNPRINTED_COUNTS


def _of_objects(node: dict[str, Any]) -> bool:
    return any(o.get("type") == "object" and o.get("properties") for o in node.get("anyOf", [node]))


def item_of(path: str) -> str | None:
    """The list item a field path is a field of (`lab_results[3].flag` -> `lab_results[3]`), or None."""
    match = _ITEM.match(path)
    return match.group(1) if match else None


def item_spans(evidence: list[dict[str, Any]], copied: bool = False) -> dict[str, list[tuple[int, int]]]:
    """{list item (`lab_results[3]`, the innermost list's): the spans of its values with evidence (with `copied`, of its
    texts copied from the document only: a page's numbers are printed everywhere)}."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for e in evidence:
        item = item_of(e.get("field", ""))
        if item and e.get("start") is not None and e.get("end") is not None and (not copied or e.get("match") in _COPIED):
            spans.setdefault(item, []).append((int(e["start"]), int(e["end"])))
    return spans


def row_line(text: str, spans: list[tuple[int, int]]) -> tuple[int, int]:
    """(start, end) of the line printing most of an item's values (`spans`; the first such line): where a value is
    also found elsewhere (a unit, a number), its other values say which line is the item's."""
    lines: dict[int, int] = {}
    for start, _ in spans:
        begin = text.rfind("\n", 0, start) + 1
        lines[begin] = lines.get(begin, 0) + 1
    begin = max(sorted(lines), key=lambda b: lines[b])
    end = text.find("\n", begin)
    return begin, len(text) if end < 0 else end


@dataclass(frozen=True)
class OpenEnd:
    """A list that ended before lines like its rows: the items it gave (`given`) and the lines ((start, end) each, in
    order) that its next items should be printed on (`rows`)."""

    given: int
    rows: tuple[tuple[int, int], ...]

    @property
    def items(self) -> int:
        """The items to ask for: those given and one per row left."""
        return self.given + len(self.rows)


def open_ends(record: Any, hardened: dict[str, Any], evidence: list[dict[str, Any]], text: str) -> dict[str, OpenEnd]:
    """{top-level list of objects: its `OpenEnd`} for each list whose last item's row is followed by lines like a row
    that no other field's value was found on (see the module's docstring), as many as the list has room for."""
    if not isinstance(record, dict):
        return {}
    spans, texts = item_spans(evidence), item_spans(evidence, copied=True)
    out = {}
    for name, node in hardened.get("properties", {}).items():
        array = next((o for o in node.get("anyOf", [node]) if o.get("type") == "array"), None)
        items = record.get(name)
        last = f"{name}[{len(items) - 1}]" if isinstance(items, list) else ""
        if array is None or not items or len(items) >= array.get("maxItems", 0) or not _of_objects(array["items"]) or last not in spans:
            continue
        begin, end = row_line(text, spans[last])
        if not any(begin <= start < end for start, _ in texts.get(last, [])):
            continue  # the row is found by a text of its item, not by its numbers alone
        # The lines other fields' values were copied from (a choice is read, not copied: where its word is found says
        # little, nor where the list's own values are found again further down, a unit or a dose printed on every row).
        starts = [int(e["start"]) for e in evidence if e.get("start") is not None and e.get("match") != "words"
                  and not e.get("field", "").startswith(f"{name}[")]
        shape = _shape(text[begin:end])
        numbered = any(isinstance(value, (int, float, Decimal, dt.date)) for value, _ in printed_values(items[-1], array["items"]))
        rows = []
        following = _next_line(text, end)
        while following is not None and len(items) + len(rows) < array["maxItems"]:
            line = text[following[0]:following[1]]
            if any(following[0] <= start < following[1] for start in starts) or _shape(line) != shape or (numbered and not _DIGIT.search(line)):
                break
            rows.append(following)
            following = _next_line(text, following[1])
        if rows:
            out[name] = OpenEnd(len(items), tuple(rows))
    return out


def went_on(record: Any, evidence: list[dict[str, Any]], name: str, end: OpenEnd, text: str) -> int:
    """How many of the rows `end` expected an answer's list `name` went on to, in order: its item after those the first
    answer gave printed on the first row (most of its values with evidence on that line), the next on the next, ..."""
    items = record.get(name) if isinstance(record, dict) else None
    spans = item_spans(evidence)
    count = 0
    for offset, row in enumerate(end.rows):
        own = spans.get(f"{name}[{end.given + offset}]")
        if not isinstance(items, list) or len(items) <= end.given + offset or not own or row_line(text, own)[0] != row[0]:
            break
        count += 1
    return count


def _shape(line: str) -> tuple[str, ...]:
    """How a line begins: with a word, a number or a sign, and whether a number is among its first four tokens; a
    line with none there, by its first word too. The rows of one table or list begin alike (`Furosemide 40 mg` as
    `Insulin glargine 18 units`, `Secondary diagnosis 3` as `Secondary diagnosis 2`, `Allergy: latex` as `Allergy:
    penicillin`), a heading after them (`Hospital course`, `1. TERM`, `Laboratory results`) most often does not."""
    tokens = _TOKEN.findall(line)[:4]
    first = tokens[0] if tokens else ""
    kind = "N" if first[:1].isdigit() else "W" if first[:1].isalpha() else "P"
    if any(token[0].isdigit() for token in tokens):
        return kind, "numbered"
    return kind, first.casefold()


def _next_line(text: str, end: int) -> tuple[int, int] | None:
    """(start, end) of the first non-empty line after offset `end` (a line's end), or None."""
    at = end
    while at < len(text):
        stop = text.find("\n", at + 1)
        stop = len(text) if stop < 0 else stop
        if text[at + 1:stop].strip():
            return at + 1, stop
        at = stop
    return None


__all__ = ["ROW_LINES", "PrintedRows", "printed_values", "stray_cuts", "item_of", "item_spans", "row_line", "OpenEnd", "open_ends", "went_on"]
