"""Who signed a letter: the lines under its closing, offered to a field that asks for the signer.

A small model asked for "the person who signed the letter" answers the letterhead's company
or the recipient's name: both are names near the top, where it looks first. A letter puts
its signer in one place, under the closing (`Yours sincerely,`, `Kind regards,`), perhaps
after a scrawl that OCR turned into noise, followed by a title. Like dates and amounts
(`schema/document_dates.py`, `schema/document_numbers.py`), such a field's decoding can offer what the
document prints there and let the model choose:

* `signer_ask(name, description, node)`: a free-text field whose name or description says
  it holds the person who signed (`signatory`, `signed_by`, "person who signed the letter"),
  not that person's title, role or the date of signing.
* `signer_candidates(text)`: the first lines under the document's last closing, each whole
  and up to its first comma (`Jane Doe, Director`), or nothing when the document has no
  closing (then the field decodes as free text).

The signer's title is asked the same way, and answered with the signer's name when left free (the name
is the line the model knows belongs to the signer):

* `signer_title_ask(name, description, node)`: a free-text field whose name or description asks for the
  title, position or role of the person who signed (`signatory_title`, "job title of the person who signed").
* `signer_title_candidates(text)`: the lines under the closing after the first (the name), and what follows
  the first comma of a `Jane Doe, Director` line; not a line with a digit (an address), one that signs for the
  organisation (`For and on behalf of Brown PLC`) or one printed above the closing too (the letterhead's
  company). Where there are some, the field takes one of them and is not null (offered them and null, the model
  wrote null); none: the field decodes as free text.
"""

from __future__ import annotations

import re
from typing import Any

from fieldmill.schema.document_dates import date_ask, field_words

# A closing on a line of its own ("Yours sincerely," / "Kind regards" / "Sincerely yours,").
_CLOSING = re.compile(r"^\s*(?:yours\s+(?:sincerely|faithfully|truly|respectfully)|sincerely(?:\s+yours)?|respectfully(?:\s+yours)?"
                      r"|(?:with\s+)?(?:kind|best|warm|warmest|many)?\s*(?:regards|wishes)|cordially|faithfully)\s*[,.!]?\s*$",
                      re.IGNORECASE | re.MULTILINE)
_SIGNER = re.compile(r"\bsign(?:ed|er|ers|atory|atories)\b|\bsigned\s+by\b|who\s+signs?\b", re.IGNORECASE)
# ... but not what is said about the signer: a title, a role, a date, a signature image.
_ABOUT_THE_SIGNER = re.compile(r"\b(?:title|position|role|job|capacity|designation|occupation|date|when|place|signature)\b", re.IGNORECASE)
_TITLE = re.compile(r"\b(?:title|position|role|job|capacity|designation|occupation)\b", re.IGNORECASE)
_ON_BEHALF = re.compile(r"\bon\s+behalf\b|^\s*(?:for|pp\.?|p\.p\.?)\s", re.IGNORECASE)
_LINES_AFTER = 3
_LONGEST_NAME = 60


def signer_ask(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A free-text field asking for the person who signed."""
    said = _free_text_said(name, description, node)
    return bool(said and _SIGNER.search(said)) and not _ABOUT_THE_SIGNER.search(said)


def _free_text_said(name: str, description: str | None, node: dict[str, Any]) -> str:
    """What a free-text field's name and description say ("": not a free-text field, or one asking a date)."""
    if node.get("type") != "string" or {"enum", "const", "pattern", "format"} & set(node) or date_ask(name, description, node):
        return ""
    return f"{field_words(name)} {description or ''}"


def signer_title_ask(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A free-text field asking for the title, position or role of the person who signed."""
    said = _free_text_said(name, description, node)
    return bool(said and _SIGNER.search(said) and _TITLE.search(said))


def _last_closing(text: str) -> re.Match[str] | None:
    closing = None
    for closing in _CLOSING.finditer(text):
        pass
    return closing


def signature_lines(text: str, closing: re.Match[str] | None = None) -> list[str]:
    """The first lines under the document's last closing (`closing`, when the caller found it) that may name or describe
    its signer (none without a closing): a paragraph, a scrawl or a rule to sign on left out."""
    closing = closing or _last_closing(text)
    if closing is None:
        return []
    lines = [line.strip() for line in text[closing.end():].splitlines()]
    return [line for line in [line for line in lines if line][:_LINES_AFTER] if len(line) <= _LONGEST_NAME and sum(c.isalpha() for c in line) >= 2]


def signers_and_titles(text: str) -> tuple[list[str], list[str]]:
    """`signer_candidates` and `signer_title_candidates` of one document, its closing found once."""
    closing = _last_closing(text)
    if closing is None:
        return [], []
    lines = signature_lines(text, closing)
    return _signers(lines), _titles(lines, text[:closing.start()])


def signer_candidates(text: str) -> list[str]:
    """The names a signer field may take: the lines under the last closing, whole and up to a first comma."""
    return signers_and_titles(text)[0]


def signer_title_candidates(text: str) -> list[str]:
    """The titles a signer's title field may take: the lines under the last closing after the name, and what follows
    the name's comma; not an address line (a digit), a line signing for the organisation, nor a line the letter
    prints above its closing too (the letterhead's company: a title is printed once, under the name)."""
    return signers_and_titles(text)[1]


def _signers(lines: list[str]) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.append(line)
        if "," in line:
            out.append(line.split(",", 1)[0].strip())
    return list(dict.fromkeys(o for o in out if o))


def _titles(lines: list[str], before_closing: str) -> list[str]:
    above = {line.strip().lower() for line in before_closing.splitlines()}
    out = [lines[0].split(",", 1)[1].strip()] if lines and "," in lines[0] else []
    out += [line for line in lines[1:] if not any(c.isdigit() for c in line) and not _ON_BEHALF.search(line)]
    return list(dict.fromkeys(o for o in out if sum(c.isalpha() for c in o) >= 2 and o.lower() not in above))


__all__ = ["signer_ask", "signers_and_titles", "signer_candidates", "signer_title_ask", "signer_title_candidates", "signature_lines"]
