"""Where each value of a record is stated in its document: character offsets, a quote, a page.

For every filled leaf of a record (`seller.address.city`, `line_items[2].amount`):

1. text: the exact text; else a normalised match (case, whitespace and punctuation
   ignored, whole words); else a near match (rapidfuzz, similarity >= 90, values of at
   least 4 characters) for OCR slips and hyphenation;
2. dates: the date's printed forms (ISO, both day/month orders with 2- and 4-digit
   years, month names and abbreviations, ordinals) as normalised text;
3. numbers: every number printed in the document, read with either decimal convention
   (`17,969.82`, `17.969,82`, `17 969,82`, `$17969.82`) and compared by value;
   integers also as English words (`twenty-four`);
4. enums and booleans: their words when printed (`bank_transfer` as "Bank transfer").
   They are never *ungrounded*: the schema's closed set, not the document, supplies them.

A filled value found nowhere is *ungrounded*: the model may have invented it. Offsets
are into the decoded text that the model read (`fieldmill.documents`); its SHA-256 is
kept with them (`documents.text_digest`) so a reader can check them. A PDF's evidence carries
its page number. When a value is printed several times, the first place counts.

rapidfuzz does the near matching (a small C++ library, linear in the text per value);
dates and numbers are parsed here because their printed forms are few and known,
which `dateparser` or `babel` would only slow down.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator

FUZZY_MIN_SCORE = 90.0
FUZZY_MIN_CHARS = 4
_NUMBER = re.compile(r"(?<![\w])[-+]?\d{1,3}(?:[ ,.'\u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|(?<![\w])[-+]?\d+(?:[.,]\d+)?(?!\d)")
_SPACE_GROUP = re.compile(r"[ \u00a0\u202f]")
_SPACED_PART = re.compile(r"[^ \u00a0\u202f]+")
_ONES = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


@dataclass(frozen=True)
class Evidence:
    field: str
    start: int
    end: int
    quote: str
    match: str  # exact | normalised | fuzzy | date | number | words
    page: int | None = None

    def as_row(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "quote": self.quote, "match": self.match, "page": self.page}


@dataclass
class Grounding:
    evidence: list[Evidence]
    ungrounded: list[str]  # filled leaves found nowhere in the text


class DocumentIndex:
    """A decoded document, ready for searching: its normalised form and where its numbers are."""

    def __init__(self, text: str, pages: list[tuple[int, int]] | None = None):
        self.text = text
        self.pages = sorted(pages or [])  # (start offset, page number)
        chars, where = [" "], [0]
        for index, char in enumerate(text):
            if char.isalnum():
                chars.append(char.casefold())
                where.append(index)
            elif chars[-1] != " ":
                chars.append(" ")
                where.append(index)
        chars.append(" ")
        where.append(len(text))
        self.norm = "".join(chars)
        self.where = where
        self._numbers: list[tuple[int, int, set[Decimal]]] | None = None

    def page_of(self, offset: int) -> int | None:
        if not self.pages:
            return None
        index = bisect.bisect_right([start for start, _ in self.pages], offset) - 1
        return self.pages[max(index, 0)][1]

    def span(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Original offsets of a normalised span (its first and last kept characters)."""
        return self.where[norm_start], self.where[norm_end - 1] + 1

    def find_exact(self, value: str) -> tuple[int, int] | None:
        """The first place the text holds `value` as is, not inside a longer word or number."""
        if not value.strip():
            return None
        at = self.text.find(value)
        while at >= 0:
            end = at + len(value)
            before_ok = at == 0 or not (value[0].isalnum() and self.text[at - 1].isalnum())
            after_ok = end == len(self.text) or not (value[-1].isalnum() and self.text[end].isalnum())
            if before_ok and after_ok:
                return at, end
            at = self.text.find(value, at + 1)
        return None

    def find_normalised(self, value: str) -> tuple[int, int] | None:
        needle = normalise(value)
        if not needle:
            return None
        at = self.norm.find(f" {needle} ")
        return None if at < 0 else self.span(at + 1, at + 1 + len(needle))

    def find_fuzzy(self, value: str) -> tuple[int, int] | None:
        needle = normalise(value)
        if len(needle) < FUZZY_MIN_CHARS:
            return None
        from rapidfuzz import fuzz

        found = fuzz.partial_ratio_alignment(needle, self.norm, score_cutoff=FUZZY_MIN_SCORE)
        if found is None or found.dest_end <= found.dest_start:
            return None
        start, end = found.dest_start, found.dest_end
        while start < end and self.norm[start] == " ":
            start += 1
        while end > start and self.norm[end - 1] == " ":
            end -= 1
        return self.span(start, end) if end > start else None

    def numbers(self) -> list[tuple[int, int, set[Decimal]]]:
        """Every number printed in the text: (start, end, the values it can be read as). A number grouped by spaces
        is also each of its parts (`10 157.12` in a table row is 10157.12, or a quantity of 10 and a price of 157.12)."""
        if self._numbers is None:
            self._numbers = []
            for m in _NUMBER.finditer(self.text):
                self._numbers.append((m.start(), m.end(), number_readings(m.group())))
                if _SPACE_GROUP.search(m.group()):
                    self._numbers.extend((m.start() + p.start(), m.start() + p.end(), number_readings(p.group()))
                                         for p in _SPACED_PART.finditer(m.group()))
        return self._numbers


def normalise(value: str) -> str:
    out, space = [], False
    for char in value:
        if char.isalnum():
            out.append(char.casefold())
            space = False
        elif out and not space:
            out.append(" ")
            space = True
    return "".join(out).strip()


def number_readings(token: str) -> set[Decimal]:
    """The values a printed number can mean: `1,234` is 1234 or 1.234; `1.234,5` is 1234.5."""
    sign = "-" if token.startswith("-") else ""
    body = token.lstrip("+-")
    for space in (" ", "'", "\u00a0", "\u202f"):
        body = body.replace(space, "")
    readings = set()
    for decimal_mark, group_mark in ((".", ","), (",", ".")):
        if body.count(decimal_mark) > 1:
            continue
        whole, _, frac = body.partition(decimal_mark)
        groups = whole.split(group_mark)
        if len(groups) > 1 and not all(len(g) == 3 for g in groups[1:]):
            continue
        if group_mark in frac:
            continue
        try:
            readings.add(Decimal(sign + "".join(groups) + ("." + frac if frac else "")).normalize())
        except InvalidOperation:
            continue
    return readings


def number_words(value: int) -> str | None:
    """English words for 0..999 ('twenty-four', 'one hundred and five'), None beyond."""
    if not 0 <= value < 1000:
        return None
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    hundreds, rest = divmod(value, 100)
    return f"{_ONES[hundreds]} hundred" + (f" and {number_words(rest)}" if rest else "")


def date_forms(day: dt.date) -> list[str]:
    """Printed forms of a date, most specific first."""
    months = [day.strftime("%B"), day.strftime("%b")] + (["Sept"] if day.month == 9 else [])
    ordinal = f"{day.day}{'th' if 10 <= day.day % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day.day % 10, 'th')}"
    forms = [day.isoformat(), f"{day.year}/{day.month:02d}/{day.day:02d}"]
    for year in (f"{day.year}", f"{day.year % 100:02d}"):
        for d, m in ((f"{day.day:02d}", f"{day.month:02d}"), (str(day.day), str(day.month))):
            forms += [f"{d}/{m}/{year}", f"{m}/{d}/{year}", f"{d}.{m}.{year}", f"{d}-{m}-{year}"]
    for month in months:
        for d in (ordinal, str(day.day), f"{day.day:02d}"):
            forms += [f"{month} {d} {day.year}", f"{d} {month} {day.year}", f"{d} of {month} {day.year}", f"{d}-{month}-{day.year}"]
    return forms


def ground(record: dict[str, Any] | None, hardened: dict[str, Any], index: DocumentIndex) -> Grounding:
    """Evidence for every filled leaf of `record` (Python values, as validated), and the leaves found nowhere."""
    evidence: list[Evidence] = []
    ungrounded: list[str] = []
    for path, value, node in leaves(record, hardened):
        found = locate(value, node, index)
        if found is not None:
            (start, end), how = found
            evidence.append(Evidence(path, start, end, index.text[start:end], how, index.page_of(start)))
        elif not _closed_set(node, value):
            ungrounded.append(path)
    return Grounding(evidence, ungrounded)


def locate(value: Any, node: dict[str, Any], index: DocumentIndex) -> tuple[tuple[int, int], str] | None:
    """Where the document states `value` (a leaf of the schema node `node`), and how it was matched."""
    if isinstance(value, bool):
        return None  # "true" is rarely printed; a boolean is read from a sentence, not copied
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        for form in date_forms(value):
            span = index.find_normalised(form)
            if span:
                return span, "date"
        return None
    if isinstance(value, (int, float, Decimal)):
        return _number(value, index)
    if isinstance(value, dt.time):
        span = index.find_normalised(value.strftime("%H:%M"))
        return (span, "normalised") if span else None
    text = str(value)
    if "enum" in node or "const" in node:
        return _words(text, index)
    span = index.find_exact(text)
    if span:
        return span, "exact"
    span = index.find_normalised(text)
    if span:
        return span, "normalised"
    span = index.find_fuzzy(text)
    return (span, "fuzzy") if span else None


def _words(text: str, index: DocumentIndex) -> tuple[tuple[int, int], str] | None:
    span = index.find_normalised(text.replace("_", " ")) if text else None
    return (span, "words") if span else None


def _number(value: int | float | Decimal, index: DocumentIndex) -> tuple[tuple[int, int], str] | None:
    try:
        wanted = Decimal(str(value)).normalize()
    except InvalidOperation:
        return None
    for start, end, readings in index.numbers():
        if wanted in readings:
            return (start, end), "number"
    if isinstance(value, int) or wanted == wanted.to_integral_value():
        words = number_words(int(wanted))
        span = index.find_normalised(words) if words else None
        if span:
            return span, "words"
    return None


def _closed_set(node: dict[str, Any], value: Any) -> bool:
    """Enums, consts and booleans: the schema, not the document, supplies the value."""
    return isinstance(value, bool) or "enum" in node or "const" in node


def leaves(value: Any, node: dict[str, Any], path: str = "") -> Iterator[tuple[str, Any, dict[str, Any]]]:
    """(path, value, schema node) of every filled scalar in `value`, in schema order."""
    if value is None or value == "" or value == [] or value == {}:
        return
    options = [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]
    if isinstance(value, dict):
        objects = [o for o in options if o.get("type") == "object" and "properties" in o]
        props = objects[0]["properties"] if objects else {}
        for key, item in value.items():
            yield from leaves(item, props.get(key, {}), f"{path}.{key}" if path else key)
        return
    if isinstance(value, list):
        arrays = [o for o in options if o.get("type") == "array"]
        items = arrays[0]["items"] if arrays else {}
        for i, item in enumerate(value):
            yield from leaves(item, items, f"{path}[{i}]")
        return
    yield path, value, options[0] if options else node


__all__ = ["DocumentIndex", "Evidence", "Grounding", "ground", "locate", "leaves", "date_forms", "number_readings"]
