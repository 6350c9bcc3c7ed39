"""Numbers that identify something (a VAT registration, an account, a policy): what the document prints as one.

A small model asked for a seller's VAT number on an invoice that prints `VAT Reg. No.:
FR99 339968014` and `GST 1.58` starts with the amount, because "VAT" sits beside amounts
far more often than beside registrations; once it has written `1.58 ` no rule of a free
string stops it, and it pads the field with the document's digits to its length limit.
Like dates, amounts and signers (`document_dates.py`, `document_numbers.py`,
`document_signers.py`), such a field's decoding can offer what the document prints and let
the model choose:

* `identifier_ask(name, description, node)`: a free-text field whose name or description
  says it holds a number, code, reference or ID (`vat_number`, "Account No.", "policy
  reference"), not an amount, a date or a count.
* `identifier_candidates(text)`: every run of up to `_LONGEST_RUN` tokens on one line that
  holds digits (`FR99 339968014`, `INV-06729`, `AC-55102233`, `(646)840-7432X554`),
  perhaps after a short capital prefix (`ABN 95 624 969 067`, `GB 951 9861 71`), and is
  not one of the document's amounts or dates; or nothing when the document prints none
  (then the field decodes as free text).
"""

from __future__ import annotations

import re
from typing import Any

from fieldmill.document_dates import date_ask, field_words, printed_dates
from fieldmill.document_numbers import number_ask

# A field that identifies: a number, a code, a reference, an ID (not a number OF things).
_IDENTIFIES = re.compile(r"(?:\bnumber\b|\bno\b\.?|#|\bids?\b|\bcode\b|reference|\bref\b|\biban\b|registration|\bnr\b)"
                         r"(?! of (?:items|units|days|pages|pieces|people|employees|months|years))", re.IGNORECASE)
# ... and what rules that out: an amount, a quantity, a count, or a name/address that merely mentions a number.
_NOT_AN_IDENTIFIER = re.compile(r"amount|total|price|cost|\bfees?\b|balance|paid|\bsum\b|charge|quantity|\bcount\b|how many"
                                r"|\bname\b|address|street|email|e-mail|url|website", re.IGNORECASE)
_TOKEN = re.compile(r"\S+")
_PART = re.compile(r"[A-Za-z0-9()+#/\\\-._]*\d[A-Za-z0-9()+#/\\\-._]*")  # a token with a digit, of the characters codes use
_PREFIX = re.compile(r"[A-Z]{2,4}")  # a capital prefix: ABN, GB, VAT, NO
_AMOUNT = re.compile(r"[-−(]?[$€£¥]?\d{1,3}(?:[,.' ]?\d{3})*[.,]\d{1,2}\)?%?|\d+%")
_TIME = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?")
_LONGEST_RUN = 6
_MOST_CANDIDATES = 300


def identifier_ask(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A free-text field asking for a number or code that identifies something."""
    if node.get("type") != "string" or {"enum", "const", "pattern", "format"} & set(node):
        return False
    if date_ask(name, description, node) is not None or number_ask(name, description, node) is not None:
        return False
    said = f"{field_words(name)} {description or ''}"
    return bool(_IDENTIFIES.search(said)) and not _NOT_AN_IDENTIFIER.search(said)


def identifier_candidates(text: str) -> list[str]:
    """The identifiers the document prints, in document order, each once."""
    dated = [(d.start, d.start + len(d.text)) for d in printed_dates(text)]
    out: list[str] = []
    for line in re.finditer(r"[^\n]+", text):
        run: list[tuple[str, bool]] = []  # (word, holds a digit) of the current run of code tokens
        for token in _TOKEN.finditer(line.group(0)):
            word = token.group(0).rstrip(",;:")
            inside_date = any(a <= line.start() + token.start() < b for a, b in dated)
            if _PART.fullmatch(word) and not (inside_date or _AMOUNT.fullmatch(word) or _TIME.fullmatch(word)):
                run.append((word, True))
            elif _PREFIX.fullmatch(word) and not inside_date:
                run.append((word, False))
            else:
                out += _runs(run)
                run = []
            if word != token.group(0):  # a label's colon or a list's comma ends the run
                out += _runs(run)
                run = []
        out += _runs(run)
        if len(out) > _MOST_CANDIDATES:
            break
    return list(dict.fromkeys(out))[:_MOST_CANDIDATES]


def _runs(run: list[tuple[str, bool]]) -> list[str]:
    """The candidates in one run of code tokens: every stretch of up to `_LONGEST_RUN` tokens that ends in a
    token with digits, holds a letter or at least two digits, and starts with a token with digits or a capital
    prefix."""
    out = []
    for first in range(len(run)):
        for last in range(first, min(len(run), first + _LONGEST_RUN)):
            if not run[last][1]:
                continue
            value = " ".join(word for word, _ in run[first:last + 1])
            if sum(c.isdigit() for c in value) >= 2 or any(c.isalpha() for c in value):  # `AB-2` is a code, `2` a count
                out.append(value)
    return out


__all__ = ["identifier_ask", "identifier_candidates"]
