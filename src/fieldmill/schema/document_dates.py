"""The dates a document prints, and which of a schema's fields ask for one and in which form.

A small model reads a printed date well and rewrites it badly: asked for ISO it writes
`2620-05-26` for `26/05/2018` or a month 41, asked for the date "as printed" it writes
ISO anyway. The document says which dates exist, so a date field's decoding can offer
exactly those (`schema/lark_grammar.py`), and the model only chooses:

* `printed_dates(text)`: every date-like span in the text (`14/03/2019`, `26 March 1969`,
  `MAR 5, 2024`, `14-MAR-19`, `09/JAN/2018`, `2019-03-14`, `14.03.2019`, an agreement's
  `14th day of June, 2011`) with each calendar date it can mean (`03/04/2021` is 3 April or
  4 March: both are offered, the model reads the rest of the document, unless the document's other
  numeric dates say which comes first: `26/04/58` beside it means day first);
* `date_ask(name, node)`: whether a schema field asks for a date, and in which form:
  `iso` (a `format: date` string, an ISO-date pattern, words like "YYYY-MM-DD", or an ISO
  date as its example), else `printed`: a text field about a date holds the date as the
  document prints it, whether its description says so ("as printed", "as written"), gives a
  printed example ("e.g. 25/12/2018") or says nothing of the form (a string holds the
  document's text; rewriting it as ISO is a choice the user makes in the schema);
* `named_dates(dates, name, description)`: which of the printed dates a field's words name, by the
  label each date carries (`label_of`: `Signature: ____ Date:`, `Date of birth` on the line above,
  `Payment due :`), so a field asking for the date a form was signed is not offered the birth date.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from fieldmill.schema.patterns import pattern_admits

MONTHS = {name: number for number, names in enumerate((
    ("jan", "january", "janv", "januar", "janvier", "januari"), ("feb", "february", "febr", "februar", "fevr", "févr", "fevrier", "février", "februari"),
    ("mar", "march", "mär", "märz", "maerz", "mars", "maart"), ("apr", "april", "avr", "avril"),
    ("may", "mai", "mei"), ("jun", "june", "juni", "juin"), ("jul", "july", "juli", "juil", "juillet"),
    ("aug", "august", "aout", "août", "augustus"), ("sep", "sept", "september", "septembre"),
    ("oct", "october", "okt", "oktober", "octobre"), ("nov", "november", "novembre"), ("dec", "december", "dez", "dezember", "déc", "décembre", "decembre"),
), start=1) for name in names}
_MONTH = "(?:" + "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th|er|\.)?"
_NUMERIC = re.compile(r"(?<![\d.,/-])(\d{1,4})([/.-])(\d{1,2})\2(\d{2,4})(?![\d/-]|[.,]\d)")
_DAY_MONTH = re.compile(rf"(?<![\w.])(\d{{1,2}}){_ORD}(?:[ /-]|\s+(?:day\s+)?of\s+)?({_MONTH})[ ,./-]*(\d{{4}}|\d{{2}})(?!\d)", re.IGNORECASE)
_MONTH_DAY = re.compile(rf"(?<![\w])({_MONTH})[ ]+(\d{{1,2}}){_ORD},?[ ]+(\d{{4}})(?!\d)", re.IGNORECASE)
_LABEL_WORD = re.compile(r"[^\W\d_]{3}")
_LABEL_WORDS = 6
_RANGE = re.compile(r"\s*(?:-|–|—|to|through|thru|until|till|and)\s*", re.IGNORECASE)
_DEFINED_AFTER = re.compile(r"[ ,]*(\([^()]{1,60}\))")
# Years a printed date can mean: two digits are this century up to ten years ahead, else the last.
_YEARS = range(1850, 2150)


@dataclass(frozen=True)
class PrintedDate:
    text: str  # the span as printed
    start: int
    dates: tuple[str, ...]  # the ISO dates it can mean, most likely first
    label: str = ""  # the words printed before it that say which date it is (`label_of`)


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        pivot = (dt.date.today().year + 10) % 100
        year += 2000 if year <= pivot else 1900
    return year


def _iso(year: int, month: int, day: int) -> str | None:
    if year not in _YEARS:
        return None
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


DAY_FIRST, MONTH_FIRST = "day first", "month first"


def _readings(match: re.Match) -> tuple[str | None, str | None] | None:
    """A numeric date's two readings (day first, month first; None where impossible), or None for a year-first
    (ISO) or malformed one."""
    first, _, second, third = match.groups()
    if len(first) not in (1, 2) or len(third) == 3:
        return None
    year = _year(third)
    return _iso(year, int(second), int(first)), _iso(year, int(first), int(second))


def _numeric(match: re.Match, readings: tuple[str | None, str | None] | None, order: str | None) -> tuple[str, ...]:
    """The calendar dates a numeric date can mean; `order`: the document's, for one that reads both ways."""
    first, _, second, third = match.groups()
    if readings is None:
        return tuple(d for d in (_iso(int(first), int(second), int(third)),) if d) if len(first) == 4 else ()
    day_first, month_first = readings
    if day_first and month_first and day_first != month_first and order is not None:
        return (day_first,) if order == DAY_FIRST else (month_first,)
    return tuple(dict.fromkeys(d for d in (day_first, month_first) if d))


def _order(readings: list[tuple[str | None, str | None] | None]) -> str | None:
    orders = {DAY_FIRST if pair[0] else MONTH_FIRST for pair in readings if pair is not None and bool(pair[0]) != bool(pair[1])}
    return orders.pop() if len(orders) == 1 else None


def numeric_order(text: str) -> str | None:
    """Whether the text's numeric dates put the day or the month first, from those that read one way only
    (`26/04/58`: day first; `04/26/58`: month first); None when none does, or they disagree."""
    return _order([_readings(match) for match in _NUMERIC.finditer(text)])


def _month(text: str) -> int:
    return MONTHS[text.rstrip(".").lower()]


def printed_dates(text: str) -> list[PrintedDate]:
    """Every date the text prints, in document order, with the calendar dates each can mean: a numeric date that
    reads both ways (`04/10/21`) means only the one the document's other numeric dates say (`numeric_order`)."""
    found: dict[int, PrintedDate] = {}
    numeric = [(match, _readings(match)) for match in _NUMERIC.finditer(text)]  # the text scanned once
    order = _order([readings for _, readings in numeric])
    for match, readings in numeric:
        dates = _numeric(match, readings, order)
        if dates:
            found[match.start()] = PrintedDate(match.group(0), match.start(), dates)
    for match in _DAY_MONTH.finditer(text):
        day = _iso(_year(match.group(3)), _month(match.group(2)), int(match.group(1)))
        if day:
            found[match.start()] = PrintedDate(match.group(0).rstrip(" ,.-"), match.start(), (day,))
    for match in _MONTH_DAY.finditer(text):
        day = _iso(_year(match.group(3)), _month(match.group(1)), int(match.group(2)))
        if day:
            found[match.start()] = PrintedDate(match.group(0), match.start(), (day,))
    spans = [(start, start + len(found[start].text)) for start in sorted(found)]
    return [replace(found[start], label=label_of(text, spans, index)) for index, (start, _) in enumerate(spans)]


def label_of(text: str, spans: list[tuple[int, int]], index: int) -> str:
    """What the document prints to say which date the span at `spans[index]` is: the last words before it on its line,
    after the previous date (`Payment due :`, `... will expire on`); the line above where its own line has no word before it
    (a form's `Date of birth` over `23 Aug 1972`); and a definition in brackets right after it (`(the "Effective Date")`)."""
    start, end = spans[index]
    line_start = text.rfind("\n", 0, start) + 1
    previous_end = spans[index - 1][1] if index else 0
    label = text[max(line_start, previous_end): start]
    if previous_end > line_start and _RANGE.fullmatch(label):  # `Period : 11/26/23 through 12/25/23`: the range's label
        return label_of(text, spans, index - 1) + " " + " ".join(label.split())
    if not _LABEL_WORD.search(label) and line_start > previous_end:
        above = text.rfind("\n", 0, line_start - 1) + 1
        label = text[max(above, previous_end): line_start] + label
    after = _DEFINED_AFTER.match(text, end)
    words = label.split()[-_LABEL_WORDS:]  # what a sentence says just before the date, not a defined term it mentions earlier
    return " ".join(words + (after.group(1).split() if after else []))


def iso_candidates(dates: list[PrintedDate]) -> list[str]:
    """The ISO dates the document can mean, each once, in document order."""
    return list(dict.fromkeys(day for printed in dates for day in printed.dates))


def printed_candidates(dates: list[PrintedDate]) -> list[str]:
    """The printed forms, each once, in document order; one printed over two lines (`14th day of` / `June, 2011`) on one."""
    return list(dict.fromkeys(" ".join(printed.text.split()) for printed in dates))


# --- which fields ask for a date, and how -----------------------------------------------------

ISO = "iso"
PRINTED = "printed"
# A field is about a date when its name says so, or its description starts by saying so, spells a date's
# shape, or gives a date as its example; a text field that only mentions a date ("payment terms, e.g. due
# 30 days after the invoice date") stays free text.
_DATE_WORDS = re.compile(r"(?<!candi)(?<!vali)(?<!up)(?<!man)(?<!accommo)date|\bdob\b|birth|\bday\b|\bdated\b", re.IGNORECASE)
_STARTS_WITH_A_DATE = re.compile(r"\s*(?:the\s+|a\s+)?(?:\w+\s+)?(?:date|day)\b", re.IGNORECASE)
_DATE_SHAPE = re.compile(r"yyyy|dd[/.-]mm|mm[/.-]dd", re.IGNORECASE)
_ASKS_ISO = re.compile(r"yyyy-mm-dd|iso[ -]?8601|\biso\b", re.IGNORECASE)
ASKS_PRINTED = re.compile(r"as (?:it is |it's )?(?:printed|written|shown|stated|it appears|appears|on the)|exactly|verbatim|keep the format"
                           r"|same format|original format|\bas is\b", re.IGNORECASE)
_ISO_EXAMPLE = "2019-03-14"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def field_words(name: str) -> str:
    """A field name as words: `encounterDate` and `encounter_date` both read 'encounter date'."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])|[_\-.]", " ", name)


def date_ask(name: str, description: str | None, node: dict[str, Any]) -> str | None:
    """How a string field asks for a date (`ISO` or `PRINTED`), or None when it does not ask for one."""
    if node.get("type") != "string" or {"enum", "const"} & set(node):
        return None
    if node.get("format") == "date":
        return ISO
    if node.get("format") is not None:
        return None
    pattern = node.get("pattern")
    if pattern is not None:
        return ISO if pattern_admits(pattern, (_ISO_EXAMPLE,), (_ISO_EXAMPLE + "x", "x" + _ISO_EXAMPLE)) else None
    description = description or ""
    examples = printed_dates(description)
    if not (_DATE_WORDS.search(field_words(name)) or _STARTS_WITH_A_DATE.match(description) or _DATE_SHAPE.search(description) or examples):
        return None
    if _ASKS_ISO.search(description):
        return ISO
    if ASKS_PRINTED.search(description):
        return PRINTED
    if examples and all(_ISO_DATE.fullmatch(example.text) for example in examples):
        return ISO  # "e.g. 2019-03-14"
    return PRINTED


# --- which printed dates a field names ----------------------------------------------------------

# Words of a field's name or description that say nothing about which date it is.
_PLAIN = frozenset("""date dates dated day days time the and for was were are which when where what who whom how this that these
 those with from into onto its his her their our your document documents printed print appears appear shown written stated exactly
 format formatted like example value field given string text number digits any not none null empty missing leave write
 give return exact same original keep verbatim yyyy iso all one only must should use used has have had been being
 agreement agreements contract letter invoice receipt statement note record report bill page""".split())  # and what the document is
_SAME_MEANING = {"dob": "birth", "born": "birth", "expiry": "expir", "signature": "sign", "signatory": "sign", "execution": "execut",
                 "executed": "execut", "admitted": "admi", "admission": "admi"}
_DOTTED_INITIAL = re.compile(r"(?<=\b[^\W\d_])\.(?=[^\W\d_]\b)")
_SUFFIXES = ("ations", "ation", "ature", "ments", "ment", "ings", "ing", "ies", "ied", "ed", "es", "s", "y", "e")


def _stem(word: str) -> str:
    word = _SAME_MEANING.get(word, word)
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


_QUALIFIERS = frozenset(map(_stem, """next follow following previous prior last final first initial new old end ending start
 starting begin beginning renewal renewed""".split()))


def _stems(text: str) -> set[str]:
    text = _DOTTED_INITIAL.sub("", text.lower())  # `D.O.B.` is dob
    return {_stem(w) for w in re.findall(r"[^\W\d_]{3,}", text) if w not in _PLAIN}


def _same_word(one: str, other: str) -> bool:
    shorter, longer = sorted((one, other), key=len)
    return longer.startswith(shorter) and (len(shorter) >= 4 or shorter == longer)


def named_dates(dates: list[PrintedDate], name: str, description: str | None) -> list[PrintedDate]:
    """The dates whose printed label shares a word with the field's name or description (`Payment due :` for "date
    payment is due", `Signature: ____ Date:` for "date the form was signed", `Date of birth` for `dob`), when some but
    not all do; else every date: a label is a hint for choosing among the dates, never a reason to drop them all."""
    asked = _stems(field_words(name) + " " + (description or ""))
    if not asked:
        return dates
    qualifiers = asked & _QUALIFIERS  # "next visit" is not the `Visit date`: a label names it only with its qualifier

    def names(label: str) -> bool:
        said = _stems(label)
        return any(_same_word(a, s) for a in (qualifiers or asked) for s in said)

    named = [d for d in dates if names(d.label)]
    return named if named and len(named) < len(dates) else dates


__all__ = ["named_dates", "label_of", "field_words", "PrintedDate", "printed_dates", "numeric_order", "DAY_FIRST", "MONTH_FIRST", "iso_candidates", "printed_candidates", "date_ask", "ISO", "PRINTED", "ASKS_PRINTED"]
