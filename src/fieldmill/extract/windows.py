"""A long document as overlapping windows cut at paragraph and page boundaries.

A 270M model reads a few thousand tokens well (five of every six of its layers attend
to 512 tokens only), so a document longer than one window is read window by window and
the window records are merged (`extract/merge.py`). Windows are cut where the text breaks
anyway: at page starts (PDF), at blank lines (paragraphs; decoded HTML puts block
elements on lines of their own), then at line ends, and only as a last resort inside a
line. Consecutive windows overlap by up to `overlap` characters of whole blocks, so a
fact on a boundary is whole in at least one window. Together the windows cover every
character of the document.

Sizes are in characters, from a token budget at `CHARS_PER_TOKEN` (English prose and
forms run at 3.5-4.5 characters per token with Gemma's tokenizer); the extractor still
measures each window's prompt in real tokens.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from fieldmill.document import DOCUMENT, WINDOW, Document, Spare, Window
from fieldmill.documents import TOO_LONG
from fieldmill.extract.steps import per_document

CHARS_PER_TOKEN = 3.5
CHARS_PER_PAGE = 3000  # a page of a text document, for --max-doc-pages when it has no real pages
_PARAGRAPH = re.compile(r"\n\s*\n")


def page_count(text: str, pages: list[tuple[int, int]] | tuple[tuple[int, int], ...] | None) -> int:
    """Real pages (PDF), else the text's length in pages of `CHARS_PER_PAGE` characters."""
    if pages:
        return max(number for _, number in pages)
    return max(1, -(-len(text) // CHARS_PER_PAGE))


def blocks(text: str, pages: list[tuple[int, int]] | None = None) -> list[tuple[int, int]]:
    """(start, end) of paragraphs, the text between two paragraphs included, cut at page starts; they tile the text."""
    cuts = {0, len(text)}
    cuts.update(m.end() for m in _PARAGRAPH.finditer(text))
    cuts.update(start for start, _ in pages or [] if 0 < start < len(text))
    ordered = sorted(cuts)
    return [(a, b) for a, b in zip(ordered, ordered[1:]) if b > a]


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """A block longer than a window, cut at line ends, then at spaces, then anywhere."""
    out = []
    while end - start > size:
        cut = text.rfind("\n", start + 1, start + size + 1)
        if cut <= start:
            cut = text.rfind(" ", start + 1, start + size + 1)
        cut = cut + 1 if cut > start else start + size
        out.append((start, cut))
        start = cut
    out.append((start, end))
    return out


def split(text: str, size: int, overlap: int, pages: list[tuple[int, int]] | None = None) -> list[Window]:
    """Windows of at most `size` characters (a block longer than that is cut first), each starting with up to
    `overlap` characters of whole blocks from the end of the one before."""
    if len(text) <= size:
        return [Window(text=text)]
    spans = [piece for a, b in blocks(text, pages) for piece in _pieces(text, a, b, size)]
    windows: list[tuple[int, int]] = []
    current: list[tuple[int, int]] = []
    for span in spans:
        if current and span[1] - current[0][0] > size:
            windows.append((current[0][0], current[-1][1]))
            carried: list[tuple[int, int]] = []
            for previous in reversed(current):  # the last blocks of this window open the next one
                if previous[1] - previous[0] + sum(b - a for a, b in carried) > overlap or span[1] - previous[0] > size:
                    break
                carried.insert(0, previous)
            current = carried
        current.append(span)
    windows.append((current[0][0], current[-1][1]))
    return [Window(i, len(windows), a, text[a:b]) for i, (a, b) in enumerate(windows)]


@per_document("windowing")
def window_rows(row: dict[str, Any], chunk_tokens: int, overlap_tokens: int, max_pages: int, queries: dict[str, str] | None = None,
                per_field: int = 1, lists: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """A read document -> the windows to read, one row each (Ray Data flat_map); a short one is one window of all its text.

    Each row carries the document (its text dropped: each window holds its part) and its `Window`: its place among
    those read, its offset, and with `queries` (field: query text, `extract/retrieval.py`; `lists`: the fields that
    hold lists) only the first window and each field's `per_field` best are read, a later window for its fields only
    (`Window.fields`; empty: the whole schema), and a window carries the next-ranked windows of the fields it reads
    last (`Window.reserve`), read when it leaves them null. The document says how many windows it has and which were
    read, for which fields. A document longer than `max_pages` pages fails `too_long`, never hours of a worker's time.
    """
    document = Document.from_bytes(row[DOCUMENT])
    text = document.text
    document = replace(document, text="", page_count=page_count(text, document.pages) if text else 0)
    if document.reason or not text:
        return [_row(document, Window())]
    if document.page_count > max_pages:
        unit = "pages" if document.pages else f"pages of {CHARS_PER_PAGE} characters"
        return [_row(document.failed(TOO_LONG, f"document of {document.page_count} {unit} exceeds --max-doc-pages {max_pages}"), Window())]
    windows = split(text, int(chunk_tokens * CHARS_PER_TOKEN), int(overlap_tokens * CHARS_PER_TOKEN), list(document.pages) or None)
    if len(windows) == 1:
        return [_row(document, Window(text=text))]
    reserve: dict[int, list[tuple[int, list[str]]]] = {}
    if queries:
        from fieldmill.extract.retrieval import plan_reads

        reads = plan_reads([w.text for w in windows], queries, per_field, lists=lists)
        plan = [(windows[i], fields) for i, fields in reads.chosen]
        reserve = reads.reserve
    else:
        plan = [(w, []) for w in windows]
    document = replace(document, windows=len(windows),
                       windows_read=tuple({"window": w.index, "start": w.start, "end": w.end, "fields": fields} for w, fields in plan))
    return [_row(document, Window(position, len(plan), w.start, w.text, tuple(fields) if position else (),
                                  tuple(Spare(i, windows[i].start, windows[i].text, tuple(spare)) for i, spare in reserve.get(position, []))))
            for position, (w, fields) in enumerate(plan)]


def _row(document: Document, window: Window) -> dict[str, Any]:
    return {DOCUMENT: document.to_bytes(), WINDOW: window.to_bytes()}


__all__ = ["split", "blocks", "page_count", "window_rows", "CHARS_PER_TOKEN", "CHARS_PER_PAGE"]
