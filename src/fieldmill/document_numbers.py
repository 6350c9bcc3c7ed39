"""The numbers a document prints, as the JSON numbers and two-decimal strings they can mean.

The model reads `4,127.89` and writes `4.12789`, or a line amount `332` for `332.06`, or a
date where an amount was asked. Like dates (`document_dates.py`), a number field's decoding
can offer the numbers the document prints and let the model choose:

* `printed_numbers(text)`: every number-like span (not a part of a date or a time) with each value it can mean: `1,234.56`
  and `1.234,56` are 1234.56; `1.234` is 1.234 or 1234 (both offered); `(12.50)` and
  `-12.50` are also -12.5; currency signs and codes around them are not part of the span.
* `number_ask(name, description, node)`: a `number` field that is not an integer
  (`type: number`; integers are often counted or computed, never offered), or a string
  field that asks for an amount with two decimals (its description says so, or its
  pattern is `^-?[0-9]+\\.[0-9]{2}$`-like).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldmill.document_dates import printed_dates
from fieldmill.patterns import pattern_admits

NUMBER = "number"
DECIMAL2 = "decimal2"

# A grouped number (1,234,567.89 / 1.234.567,89 / 1'234.50) or a plain one (1234.5 / 1234,5 / 12); glued currency
# (RM12.50, 12.50EUR) is not part of it. Space-grouped thousands are not read as one number: a table's columns are.
_SPAN = re.compile(r"(?<![\d.,])(\(|-|−)?([1-9]\d{0,2}(?:([,.'’])\d{3})(?:\3\d{3})*(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(\))?(?!\d|[.,]\d)")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_ASKS_TWO_DECIMALS = re.compile(r"two decimals|2 decimals|two decimal places|2 decimal places|\b\d+\.\d{2}\b|cents", re.IGNORECASE)
_ABOUT_AN_AMOUNT = re.compile(r"amount|total|price|cost|fee|balance|paid|due|tax|vat|gst|sum|charge|payment|subtotal|rent|salary|value|deposit",
                              re.IGNORECASE)


@dataclass(frozen=True)
class PrintedNumber:
    text: str
    start: int
    values: tuple[Decimal, ...]  # what it can mean, most likely first


def _readings(body: str, group: str | None) -> list[Decimal]:
    """The values a printed number body can mean (without sign)."""
    if group:  # a grouped number: the separator after the last group, if any, is the decimal mark
        last = max(body.rfind("."), body.rfind(","))
        mark = body[last] if last >= 0 else None
        if mark is not None and mark != group and len(body) - last - 1 >= 1:
            whole, fraction = body[:last], body[last + 1:]
            return [Decimal(whole.replace(group, "") + "." + fraction)]
        whole = body.replace(group, "")
        readings = [Decimal(whole)]
        if group in ".," and body.count(group) == 1:  # 1.234 or 1,234: a thousand, or one and a fraction
            readings.append(Decimal(body.replace(group, ".")))
        return readings
    return [Decimal(body.replace(",", "."))]


def printed_numbers(text: str) -> list[PrintedNumber]:
    """Every number the text prints, except the parts of its dates (a year is not an amount) and times."""
    taken = [(d.start, d.start + len(d.text)) for d in printed_dates(text)] + [m.span() for m in _TIME.finditer(text)]
    out = []
    for match in _SPAN.finditer(text):
        if any(start <= match.start() < end for start, end in taken):
            continue
        sign, body, group, close = match.group(1), match.group(2), match.group(3), match.group(4)
        try:
            readings = _readings(body, group)
        except InvalidOperation:
            continue
        negative = sign in ("-", "−") or (sign == "(" and close == ")")
        values = tuple(dict.fromkeys([-v for v in readings] + readings if negative else readings))
        out.append(PrintedNumber(match.group(0).strip(), match.start(), values))
    return out


def json_number(value: Decimal) -> str:
    """A number as the constraint writes it (`constraint.answer_text`): no exponent, no trailing zeros."""
    text = format(value.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def number_candidates(numbers: list[PrintedNumber], node: dict[str, Any]) -> list[str]:
    """The JSON numbers a `number` field may take in this document: printed, within the field's bounds and steps."""
    low, high = node.get("minimum"), node.get("maximum")
    step = node.get("multipleOf")
    out = []
    for printed in numbers:
        for value in printed.values:
            if (low is not None and value < Decimal(str(low))) or (high is not None and value > Decimal(str(high))):
                continue
            if step is not None and value % Decimal(str(step)) != 0:
                continue
            out.append(json_number(value))
    return list(dict.fromkeys(out))


def decimal2_candidates(numbers: list[PrintedNumber]) -> list[str]:
    """The two-decimal strings (`1234.50`) an amount field may take in this document."""
    return list(dict.fromkeys(f"{value:.2f}" for printed in numbers for value in printed.values if value == value.quantize(Decimal("0.01"))))


def number_ask(name: str, description: str | None, node: dict[str, Any]) -> str | None:
    """How a field asks for a number the document prints (`NUMBER`, `DECIMAL2`), or None."""
    if {"enum", "const"} & set(node):
        return None
    if node.get("type") == "number":
        return NUMBER
    if node.get("type") != "string" or node.get("format") is not None:
        return None
    pattern = node.get("pattern")
    if pattern is not None:
        return DECIMAL2 if pattern_admits(pattern, ("1234.50", "7.00"), ("1234.50x", "1,234.50", "1234.5")) else None
    said = f"{name} {description or ''}"
    if description and _ASKS_TWO_DECIMALS.search(description) and _ABOUT_AN_AMOUNT.search(said):
        return DECIMAL2
    return None


__all__ = ["PrintedNumber", "printed_numbers", "number_candidates", "decimal2_candidates", "number_ask", "json_number", "NUMBER", "DECIMAL2"]
