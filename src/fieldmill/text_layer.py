"""A PDF page's text layer as the page prints it: pieces on one row joined into one line.

A text layer holds text in the order the producing program drew it, which is often a
column at a time: a receipt's labels (`SUBTOTAL`, `TAX`, `TOTAL`, `CASH`) and then its
amounts, so `TOTAL` and `12.40` end up four lines apart and the model takes the wrong
amount. pdfium gives every character its box, so each line of the layer is placed on the
page, and a line that sits on the baseline of an earlier one, beside it (not overlapping
it), joins that row at its place from left to right, as OCR's lines do (`ocr.rebuild_lines`),
when the lines drawn after their row-mates form a column of values (amounts, quantities,
numeric dates: digits with at most a currency code or unit of letters) beside a column of
words, and only the whole column (`rejoin`).

Otherwise the layer's order stands: rows keep the order of their first line, so a page
drawn in reading order reads as before, and two blocks of words side by side (a billing
and a delivery address, two columns of running text) stay blocks instead of being
interleaved line by line. Measured on held-out realistic documents (bench/realistic.py,
seed 9300): joining every row cost invoices 9 of 42 cells (their address blocks
interleaved); joining any value beside its row gained receipts and statements 6 cells but
cost forms and clinical notes 5 (a grid's boxes, a column joined in part); whole columns
of values keep the gains without those losses.
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
    """Lines in layer order with their boxes (left, bottom, right, top; None: not placed) -> the page's lines.

    A *column* is a run of consecutive lines each of which sits beside a different earlier row. It joins those
    rows only as a whole, and only when it is a column of values beside a column of words (amounts drawn after
    their labels); a column of words, or of values beside values (the next box of a form's grid, a second
    address block), or one only partly made of values stays as the layer has it: a partial join would put the
    rest of the values out of step with their labels."""
    rows: list[_Row | str] = []
    at = 0
    placed = [(line, box) for line, box in lines if line]
    while at < len(placed):
        line, box = placed[at]
        if box is None:
            rows.append(line)
            at += 1
            continue
        column: list[tuple[str, tuple[float, float, float, float], _Row]] = []
        while at < len(placed) and placed[at][1] is not None:
            row = _row_beside(rows, placed[at][1], {id(r) for _, _, r in column})
            if row is None:
                break
            column.append((*placed[at], row))
            at += 1
        if not column:
            rows.append(_Row(box[1], box[3], [(box[0], box[2], line)]))
            at += 1
        elif _values_beside_words([text for text, _, _ in column], [row.text() for _, _, row in column]):
            for text, (left, bottom, right, top), row in column:
                row.pieces.append((left, right, text))
                row.bottom, row.top = min(row.bottom, bottom), max(row.top, top)
        else:
            rows += [_Row(bottom, top, [(left, right, text)]) for text, (left, bottom, right, top), _ in column]
    return [row if isinstance(row, str) else row.text() for row in rows]


def _values_beside_words(column: list[str], rows: list[str]) -> bool:
    """A column of values beside rows of labels, or (drawn the other way round) of labels beside values: the
    values all values, the labels mostly words (`GST @6%` is a label that reads like a value)."""
    def values(texts: list[str]) -> bool:
        return all(_VALUE.fullmatch(text) for text in texts)

    def words(texts: list[str]) -> bool:
        return sum(not _VALUE.fullmatch(text) for text in texts) * 2 > len(texts)

    return (values(column) and words(rows)) or (words(column) and values(rows))


def _row_beside(rows: list[_Row | str], box: tuple[float, float, float, float], taken: set[int]) -> _Row | None:
    """The latest earlier row on the box's baseline that it does not overlap (and that no line of its column took)."""
    left, bottom, right, top = box
    middle, height = (bottom + top) / 2, top - bottom
    for row in reversed(rows[-LOOK_BACK:]):
        if isinstance(row, str) or id(row) in taken or abs(middle - row.middle) > 0.5 * min(height, row.height):
            continue
        if any(left < other_right and other_left < right for other_left, other_right, _ in row.pieces):
            continue  # overprinted, or another line of the same column: not beside it
        return row
    return None


__all__ = ["page_text", "rejoin"]
