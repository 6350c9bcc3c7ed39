"""What travels through a run for one document, as typed values: where it is (`Source`), what reading made of it
(`Document`), and the part of it one request reads (`Window`).

    listing   -> Document(source)                        run/executor.expand_chunk
    reading   -> Document(text, pages, digest | reason)  documents.decode_batch
    windowing -> (Document without its text, Window)     extract/windows.window_rows
    extract   -> (Document, Window, Answer)              extract/actor.Extractor
    merge     -> (Document, Answer), one per document    extract/merge.WindowAssembler
    write     -> the row                                 run/rows.build_row

Ray Data carries each as one column of its row (`DOCUMENT`, `WINDOW`, and `extract.answer.ANSWER`), the value
pickled: no step encodes a field of its own into a column, and none decodes another's.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, replace
from typing import Any

DOCUMENT = "document"  # the column of a Ray Data row that carries its Document
WINDOW = "window"  # the column that carries the Window one request reads
ENGINE_LOAD_S = "engine_load_s"  # the column of an extractor's rows: how long its engine took to load (the run's timings)
ENGINE_READY_AT = "engine_ready_at"  # ... and when (seconds since the epoch) it was ready: the run's steady state starts there


@dataclass(frozen=True)
class Source:
    """A listed document: where it is and which version of it was listed."""

    uri: str  # printable (a local name that is not UTF-8 is escaped; `raw_uri` holds its bytes)
    key: str = ""
    etag: str = ""
    size: int = 0
    tries: int = 0  # earlier runs' tries of this version
    raw_uri: bytes = b""  # a local file name that is not UTF-8, as its bytes; b"" for every other

    @property
    def location(self) -> str:
        """Where to read it: the name as the filesystem spells it."""
        return self.raw_uri.decode("utf-8", "surrogateescape") if self.raw_uri else self.uri


@dataclass(frozen=True)
class Document:
    """One document as the run knows it: its source, then its text and pages, or the reason it has none."""

    source: Source
    text: str = ""  # the decoded text; empty once windowed (each Window holds its own part)
    pages: tuple[tuple[int, int], ...] = ()  # PDF: (offset in `text` where a page starts, page number from 1)
    text_sha256: str = ""
    reason: str = ""  # why it has no text (`documents`: decode_error, too_long, ...; `extract.steps.STEP_ERROR`)
    message: str = ""
    read_s: float = 0.0
    text_source: str = ""  # text | text_layer | ocr | mixed
    ocr_confidence: float | None = None
    page_count: int = 0  # real pages, else pages of text (`extract.windows.page_count`)
    windows: int = 1  # windows the document has
    windows_read: tuple[dict[str, Any], ...] = ()  # a long document's windows that were read: window, start, end, fields

    @classmethod
    def of_text(cls, uri: str, text: str) -> Document:
        """A document known only by its name and text (a finetune report's example, a test)."""
        from fieldmill.documents import text_digest

        return cls(Source(uri, uri), text, text_sha256=text_digest(text) if text else "", text_source="text")

    @property
    def uri(self) -> str:
        return self.source.uri

    def failed(self, reason: str, message: str) -> Document:
        """This document, not read any further: `reason` says why."""
        return replace(self, text="", reason=reason, message=message)

    def to_bytes(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def from_bytes(data: bytes) -> Document:
        return pickle.loads(data)


@dataclass(frozen=True)
class Spare:
    """A window kept in reserve: read for `fields` when the window that reads them last leaves them null."""

    window: int  # its number among the document's windows
    start: int
    text: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Window:
    """The part of a document one request reads: the whole text of a short one, or one window of a long one."""

    index: int = 0  # its place among the windows read (0: the first, read for every field)
    count: int = 1  # how many windows of the document are read
    start: int = 0  # offset of its first character in the document
    text: str = ""
    fields: tuple[str, ...] = ()  # the fields retrieval chose it for; empty: the whole schema
    reserve: tuple[Spare, ...] = field(default=(), repr=False)  # next-ranked windows of the fields it reads last

    @property
    def end(self) -> int:
        return self.start + len(self.text)

    def to_bytes(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def from_bytes(data: bytes) -> Window:
        return pickle.loads(data)


def whole(document: Document) -> Window:
    """A short document's one window: all of its text."""
    return Window(text=document.text)


__all__ = ["DOCUMENT", "WINDOW", "ENGINE_LOAD_S", "ENGINE_READY_AT", "Source", "Document", "Window", "Spare", "whole"]
