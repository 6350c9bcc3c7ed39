"""The numbers a document prints, as the JSON numbers and two-decimal strings they can mean.

The model reads `4,127.89` and writes `4.12789`, or a line amount `332` for `332.06`, or a
date where an amount was asked. Like dates (`schema/document_dates.py`), a number field's decoding
can offer the numbers the document prints and let the model choose:

* `printed_numbers(text)`: every number-like span (not a part of a date or a time) with each value it can mean: `1,234.56`
  and `1.234,56` are 1234.56; `1.234` is 1.234 or 1234 (both offered); `(12.50)` and
  `-12.50` are also -12.5; currency signs and codes around them are not part of the span.
  A number inside an identifier (`INV-06729`, `SW1A`, `L8K2K5`) is not read: the hyphen of
  `INV-06729` is not a sign, and a code's digits are not an amount (`RM12.50`, `12.50EUR`
  still are: glued letters are a currency when the number has decimals). A whole number
  followed by a word (`25737 West Ports`, `3 items`, `30 days`) is a street number or a
  count: read as a number, never offered as an amount (`decimal2_candidates`,
  `printed_amount_candidates`) unless the word is a currency (`25 EUR`, `40 dollars`).
* `number_ask(name, description, node)`: a `number` field that is not an integer
  (`type: number`; integers are often counted or computed, never offered), a string
  field that asks for an amount with two decimals (its description says so, or its
  pattern is `^-?[0-9]+\\.[0-9]{2}$`-like), or a string field that asks for an amount as
  the document prints it (`1,169.34`, `3.289,38`: `printed_amount_candidates`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldmill.schema.document_dates import date_ask, field_words, printed_dates
from fieldmill.schema.patterns import pattern_admits

NUMBER = "number"
DECIMAL2 = "decimal2"
PRINTED_AMOUNT = "printed_amount"

# A grouped number (1,234,567.89 / 1.234.567,89 / 1'234.50) or a plain one (1234.5 / 1234,5 / 12); glued currency
# (RM12.50, 12.50EUR) is not part of it. Space-grouped thousands are not read as one number: a table's columns are.
_SPAN = re.compile(r"(?<![\d.,])(\(|-|−)?([1-9]\d{0,2}(?:([,.'’])\d{3})(?:\3\d{3})*(?:[.,]\d+)?|\d+(?:[.,]\d+)?)(\))?(?!\d|[.,]\d)")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?(?!\d)")
_ASKS_TWO_DECIMALS = re.compile(r"two decimals|2 decimals|two decimal places|2 decimal places|\b\d+\.\d{2}\b|cents", re.IGNORECASE)
_ASKS_AS_PRINTED = re.compile(r"\bas (?:it is |it's )?(?:printed|written|shown|stated|appears|on the (?:document|page|receipt|invoice|statement))"
                              r"|exactly as|verbatim|\bas in the (?:document|text)", re.IGNORECASE)
# Money a document prints (not tax or VAT alone: "VAT number", "tax ID" are identifiers) ...
_MONEY = re.compile(r"amount|total|price|cost|\bfees?\b|balance|paid|\bdue\b|\bsum\b|charge|payment|subtotal|\brent\b|salary|deposit",
                    re.IGNORECASE)
# ... unless the field is a number that identifies something (an account, a VAT registration, an invoice).
_IDENTIFIER = re.compile(r"(?:number|\bno\b\.?|#|\bid\b|code|reference|\bref\b|iban|registration)(?! of (?:items|units|days|pages))",
                         re.IGNORECASE)
# ... nor a field whose name says it holds how or when money is paid, not how much (`payment_terms`: `Net 30`; `payment method`).
_NOT_AN_AMOUNT = re.compile(r"\b(?:terms?|method|means|mode|status|instructions?|conditions?|schedule|frequency|type|currency|reference)\b",
                            re.IGNORECASE)
_ABOUT_AN_AMOUNT = re.compile(r"amount|total|price|cost|fee|balance|paid|due|tax|vat|gst|sum|charge|payment|subtotal|rent|salary|value|deposit",
                              re.IGNORECASE)


# A whole number's next word that makes it an amount all the same.
_CURRENCY_WORD = re.compile(r"USD|EUR|GBP|JPY|CNY|RMB|INR|MYR|SGD|AUD|CAD|CHF|NZD|HKD|SEK|NOK|DKK|ZAR|BRL|MXN|IDR|THB|PHP|VND|KRW|AED|SAR|PLN"
                            r"|CZK|HUF|TRY|RUB|NGN|KES|EGP|(?i:(?:dollar|euro|pound|rupee|ringgit|peso|franc|krona|krone|kronor|rand|real|yen"
                            r"|yuan|dinar|dirham|shilling|naira|baht|won|zloty|lira|cent|buck)s?|rs|rm|eur|usd|gbp)")


@dataclass(frozen=True)
class PrintedNumber:
    text: str
    start: int
    values: tuple[Decimal, ...]  # what it can mean, most likely first
    amount: bool = True  # False: a whole number followed by a word (a street number, a count), never an amount



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


def _in_identifier(text: str, match: re.Match) -> bool:
    """Whether a number span is part of a code (`INV-06729`, `SW1A`, `N97`, `4K2`) rather than a number."""
    body_start = match.start(2)
    before = text[body_start - 1] if body_start > 0 else " "
    after = text[match.end()] if match.end() < len(text) else " "
    if match.group(1) == "-" and match.start() > 0 and text[match.start() - 1].isalnum():
        return True  # INV-06729, 2024-0042: the hyphen joins, it is no minus sign
    if before in "-/" and body_start > 1 and text[body_start - 2].isalnum():
        return True
    has_fraction = bool(re.search(r"[.,]\d{1,2}$", match.group(2)))
    glued = before.isalpha() or after.isalpha() or after == "-" and match.end() + 1 < len(text) and text[match.end() + 1].isalnum()
    return glued and not (has_fraction and not (before.isalpha() and after.isalpha()))


def printed_numbers(text: str) -> list[PrintedNumber]:
    """Every number the text prints, except the parts of its dates (a year is not an amount), times and codes."""
    taken = [(d.start, d.start + len(d.text)) for d in printed_dates(text)] + [m.span() for m in _TIME.finditer(text)]
    out = []
    for match in _SPAN.finditer(text):
        if any(start <= match.start() < end for start, end in taken) or _in_identifier(text, match):
            continue
        sign, body, group, close = match.group(1), match.group(2), match.group(3), match.group(4)
        try:
            readings = _readings(body, group)
        except InvalidOperation:
            continue
        negative = sign in ("-", "−") or (sign == "(" and close == ")")
        values = tuple(dict.fromkeys([-v for v in readings] + readings if negative else readings))
        out.append(PrintedNumber(match.group(0).strip(), match.start(), values, amount=not _leads_words(text, match)))
    return out


def _leads_words(text: str, match: re.Match) -> bool:
    """A whole number followed on its line by a word that is not a currency (`25737 West Ports`, `3 items`)."""
    if match.group(1) or match.group(3) or re.search(r"[.,]", match.group(2)):
        return False
    word = re.match(r"[ \t]+([^\W\d_]{2,})", text[match.end():match.end() + 40])
    return word is not None and not _CURRENCY_WORD.fullmatch(word.group(1))


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
    return list(dict.fromkeys(f"{value:.2f}" for printed in numbers if printed.amount for value in printed.values
                              if value == value.quantize(Decimal("0.01"))))


_NAMES_A_THING = re.compile(r"name|company|customer|client|vendor|supplier|seller|buyer|merchant|store|shop|\bbill(?:ed)? to|\bship(?:ped)? to"
                            r"|address|\bpart(?:y|ies)\b|signator|signed|person|recipient|sender|payee|payer|issuer|employer|patient"
                            r"|physician|doctor|bank|city|country|street", re.IGNORECASE)
# A field named only by a preposition or salutation of a letter's header names its addressee or sender (`to`, `from`, `attn`);
# `valid to` or `paid from` does not.
_NAMES_BY_HEADER = re.compile(r"\s*(?:to|from|attn|attention|addressee|dear|cc)\s*", re.IGNORECASE)


def names_a_thing(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A free-text field that names or identifies something (a VAT or account number, a customer, an
    address, a signer): its value is never exactly one of the document's amounts or dates, which is the
    commonest slip of a small model on invoices and statements (a VAT number answered with the VAT amount)."""
    if node.get("type") != "string" or {"enum", "const", "pattern", "format"} & set(node):
        return False
    if date_ask(name, description, node) is not None or number_ask(name, description, node) is not None:
        return False
    said = f"{field_words(name)} {description or ''}"
    return not _MONEY.search(said) and bool(_IDENTIFIER.search(said) or _NAMES_A_THING.search(said)
                                            or (not description and _NAMES_BY_HEADER.fullmatch(field_words(name))))


_PERSON = r"person|patient|physician|doctor|nurse|signatory|signer|addressee|employee|witness|attn|attention"
_NAMES_A_PERSON = re.compile(rf"\b(?:{_PERSON})", re.IGNORECASE)  # in a field's name
# A description that opens with the person ("Person the letter is addressed to", "Name of the patient"), not one that
# only mentions a person ("Allergies the patient reports").
_DESCRIBES_A_PERSON = re.compile(rf"^\W*(?:the\s+|a\s+)?(?:(?:full\s+)?name\s+of\s+(?:the\s+|a\s+)?)?(?:{_PERSON})", re.IGNORECASE)
# What a field about a person holds when it is not their name: their title, address, number, date, practice...
_NOT_THE_NAME = re.compile(r"\b(?:title|role|position|job|address|number|no|id|code|date|phone|e-?mail|organi[sz]ation|company|practice"
                           r"|clinic|hospital|department|specialty|speciality|initials)\b", re.IGNORECASE)


def names_a_person(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A naming field whose value is a person's name (the patient, the physician, the signatory, the person a letter
    is addressed to): it holds no digit. A small model fills such a field after a date field with that date, padded
    or in another form (`2025-05-17\\\\`, `12 October 2025`), which no single date of the document matches."""
    if not names_a_thing(name, description, node):
        return False
    words = field_words(name)
    if _NOT_THE_NAME.search(f"{words} {description or ''}"):
        return False
    return bool(_NAMES_A_PERSON.search(words) or (description and _DESCRIBES_A_PERSON.match(description)))


def amount_texts(numbers: list[PrintedNumber]) -> list[str]:
    """The document's amounts (numbers with decimals) in every form a model writes them: as printed, with
    two decimals, as a JSON number (what a field that names a thing must not be)."""
    out = []
    for printed in numbers:
        if not re.search(r"[.,]\d{1,2}\)?$", printed.text):
            continue
        out.append(printed.text)
        out += [f"{value:.2f}" for value in printed.values] + [json_number(value) for value in printed.values]
    return list(dict.fromkeys(out))


def printed_amount_candidates(numbers: list[PrintedNumber]) -> list[str]:
    """The amounts as the document prints them (`1,169.34`, `(12.50)`), for a field that asks for them so."""
    return list(dict.fromkeys(printed.text for printed in numbers if printed.amount))


def number_ask(name: str, description: str | None, node: dict[str, Any]) -> str | None:
    """How a field asks for a number the document prints (`NUMBER`, `DECIMAL2`, `PRINTED_AMOUNT`), or None."""
    if {"enum", "const"} & set(node):
        return None
    if node.get("type") == "number":
        return NUMBER
    if node.get("type") != "string" or node.get("format") is not None or date_ask(name, description, node) is not None:
        return None  # a date field takes the document's dates (document_dates), never its numbers
    pattern = node.get("pattern")
    if pattern is not None:
        return DECIMAL2 if pattern_admits(pattern, ("1234.50", "7.00"), ("1234.50x", "1,234.50", "1234.5")) else None
    said = f"{name} {description or ''}"
    if _NOT_AN_AMOUNT.search(field_words(name)):
        return None
    if description and _ASKS_TWO_DECIMALS.search(description) and _ABOUT_AN_AMOUNT.search(said):
        return DECIMAL2
    if description and _ASKS_AS_PRINTED.search(description) and _MONEY.search(said) and not _IDENTIFIER.search(said):
        return PRINTED_AMOUNT
    return None


__all__ = ["PrintedNumber", "printed_numbers", "number_candidates", "decimal2_candidates", "printed_amount_candidates", "number_ask",
           "json_number", "names_a_thing", "amount_texts", "NUMBER", "DECIMAL2", "PRINTED_AMOUNT"]
