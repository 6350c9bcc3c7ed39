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
_LINES_AFTER = 3
_LONGEST_NAME = 60


def signer_ask(name: str, description: str | None, node: dict[str, Any]) -> bool:
    """A free-text field asking for the person who signed."""
    if node.get("type") != "string" or {"enum", "const", "pattern", "format"} & set(node) or date_ask(name, description, node):
        return False
    said = f"{field_words(name)} {description or ''}"
    return bool(_SIGNER.search(said)) and not _ABOUT_THE_SIGNER.search(said)


def signer_candidates(text: str) -> list[str]:
    """The names a signer field may take: the first lines under the last closing (none without a closing)."""
    closings = list(_CLOSING.finditer(text))
    if not closings:
        return []
    out: list[str] = []
    lines = [line.strip() for line in text[closings[-1].end():].splitlines()]
    for line in [line for line in lines if line][:_LINES_AFTER]:
        if len(line) > _LONGEST_NAME or sum(c.isalpha() for c in line) < 2:
            continue  # a paragraph, a scrawl, a rule to sign on
        out.append(line)
        if "," in line:
            out.append(line.split(",", 1)[0].strip())
    return list(dict.fromkeys(o for o in out if o))


__all__ = ["signer_ask", "signer_candidates"]
