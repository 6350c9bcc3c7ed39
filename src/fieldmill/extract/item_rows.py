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
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldmill.extract.evidence import DocumentIndex, leaves, locate

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


__all__ = ["ROW_LINES", "PrintedRows", "printed_values", "stray_cuts"]
