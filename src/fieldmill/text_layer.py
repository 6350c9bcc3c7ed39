"""A PDF page's text layer as the page prints it: pieces on one row joined into one line.

A text layer holds text in the order the producing program drew it, which is often a
column at a time: a receipt's labels (`SUBTOTAL`, `TAX`, `TOTAL`, `CASH`) and then its
amounts, so `TOTAL` and `12.40` end up four lines apart and the model takes the wrong
amount. pdfium gives every character its box, so each line of the layer is placed on the
page, and a line that sits on the baseline of an earlier one, beside it (not overlapping
it), joins that row at its place from left to right, as OCR's lines do (`ocr.rebuild_lines`),
when one side of the join is a value (an amount, a quantity, a numeric date: digits with at
most a currency code or unit of letters).

Otherwise the layer's order stands: rows keep the order of their first line, so a page
drawn in reading order reads as before, and two blocks of words side by side (a billing
and a delivery address, two columns of running text) stay blocks instead of being
interleaved line by line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A value: digits, with at most one run of up to three letters (a currency code, a unit, a month's abbreviation).
_VALUE = re.compile(r"(?=.*\d)[^A-Za-z]*(?:[A-Za-z]{1,3}[^A-Za-z]*)?")
# How far back a line looks for the row it belongs to (rows of the page so far).
LOOK_BACK = 200


@dataclass
class _Row:
    bottom: float
    top: float
    pieces: list[tuple[float, float, str]] = field(default_factory=list)  # (left, right, text)

    @property
    def middle(self) -> float:
        return (self.bottom + self.top) / 2

    @property
    def height(self) -> float:
        return self.top - self.bottom

    def text(self) -> str:
        return " ".join(text for _, _, text in sorted(self.pieces))


def page_text(textpage) -> str:
    """The text of one page (a `pypdfium2.PdfTextPage`), rows rejoined; the layer's own text where its
    characters cannot be placed."""
    text = textpage.get_text_range()
    if len(text) != textpage.count_chars():  # characters and boxes out of step: keep the layer as it is
        return text.replace("\r\n", "\n").replace("\r", "\n")
    lines, start = [], 0
    for index, char in enumerate(text + "\n"):
        if char in "\r\n":
            if index > start:
                lines.append((start, index))
            start = index + 1
    placed = []
    for start, end in lines:
        boxes = [textpage.get_charbox(i) for i in range(start, end) if not text[i].isspace()]
        boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
        line = text[start:end].strip()
        if not boxes:
            placed.append((line, None))
        else:
            placed.append((line, (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))))
    return "\n".join(rejoin(placed))


def rejoin(lines: list[tuple[str, tuple[float, float, float, float] | None]]) -> list[str]:
    """Lines in layer order with their boxes (left, bottom, right, top; None: not placed) -> the page's lines,
    each line that shares a row with an earlier one joined to it."""
    rows: list[_Row | str] = []
    for line, box in lines:
        if not line:
            continue
        if box is None:
            rows.append(line)
            continue
        left, bottom, right, top = box
        row = _row_of(rows, line, left, bottom, right, top)
        if row is None:
            rows.append(_Row(bottom, top, [(left, right, line)]))
        else:
            row.pieces.append((left, right, line))
            row.bottom, row.top = min(row.bottom, bottom), max(row.top, top)
    return [row if isinstance(row, str) else row.text() for row in rows]


def _row_of(rows: list[_Row | str], line: str, left: float, bottom: float, right: float, top: float) -> _Row | None:
    middle, height = (bottom + top) / 2, top - bottom
    for row in reversed(rows[-LOOK_BACK:]):
        if isinstance(row, str) or abs(middle - row.middle) > 0.5 * min(height, row.height):
            continue
        if any(left < other_right and other_left < right for other_left, other_right, _ in row.pieces):
            continue  # overprinted, or another line of the same column: not beside it
        if not _may_join(line, [text for _, _, text in row.pieces]):
            continue
        return row
    return None


def _may_join(line: str, row: list[str]) -> bool:
    """A value beside words joins them; words beside words are two blocks, kept apart."""
    return bool(_VALUE.fullmatch(line) or all(_VALUE.fullmatch(text) for text in row))


__all__ = ["page_text", "rejoin"]
