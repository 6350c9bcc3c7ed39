"""Bytes to text, with typed reasons when that is impossible.

`decode_document(name, data)` never raises for bad input: it returns a `Decoded` whose
`text` is set, or whose `reason` says why not (`unsupported_type`, `empty`,
`decode_error`). Types come from the file extension; content that contradicts it
(binary under `.txt`, a truncated or encrypted PDF) is a `decode_error`.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

from fieldmill import storage

TEXT_TYPES = (".txt", ".md", ".markdown", ".text")
HTML_TYPES = (".html", ".htm", ".xhtml")
SUPPORTED_TYPES = TEXT_TYPES + HTML_TYPES + (".pdf", ".json")

# Reasons a document ends as a `failed` row.
READ_ERROR = "read_error"
UNSUPPORTED_TYPE = "unsupported_type"
EMPTY = "empty"
DECODE_ERROR = "decode_error"
TOO_LONG = "too_long"
ENGINE_ERROR = "engine_error"
CHANGED = "changed"  # replaced between listing and reading: the next run reads the new version
# Reasons that may pass: the same command tries such a document again (a bounded number of times).
TRANSIENT = (READ_ERROR, ENGINE_ERROR, CHANGED)

# Share of control characters above which "text" is really binary.
_MAX_CONTROL_SHARE = 0.05


@dataclass(frozen=True)
class Decoded:
    text: str | None
    reason: str | None = None
    message: str | None = None
    pages: tuple[tuple[int, int], ...] = ()  # PDF: (offset in `text` where a page starts, page number from 1)


def read_document(uri: str, key: str, size: int, max_doc_bytes: int, etag: str | None = None) -> Decoded:
    """Read and decode one listed document, as `run` does; failures are reasons, never exceptions.

    With `etag`, the read is pinned to the listed version: a document replaced since it
    was listed is a `changed` row (the next run reads the new version under its new ETag).
    """
    if not is_supported(key):
        return decode_document(key, b"")
    if size > max_doc_bytes:
        return Decoded(None, TOO_LONG, f"object of {size} bytes exceeds the {max_doc_bytes}-byte limit")
    try:
        data = storage.read_bytes(uri, max_bytes=max_doc_bytes, etag=etag)
    except storage.Changed as exc:
        return Decoded(None, CHANGED, f"{exc}; the next run reads the new version")
    except (OSError, storage.StorageError) as exc:
        return Decoded(None, READ_ERROR, str(exc)[:1000])
    if len(data) > max_doc_bytes:
        return Decoded(None, TOO_LONG, f"object grew past the {max_doc_bytes}-byte limit while listed")
    try:
        return decode_document(key, data)
    except Exception as exc:  # a decoder library's own bug must not lose the document
        return Decoded(None, DECODE_ERROR, f"{type(exc).__name__}: {exc}"[:1000])


def decode_batch(batch: dict[str, Any], max_doc_bytes: int) -> dict[str, list]:
    """Read and decode a batch of listed documents (a Ray Data task); failures become reasons, never exceptions."""
    out: dict[str, list] = {key: list(values) for key, values in batch.items()}
    out["text"], out["pages_json"], out["text_sha256"], out["read_reason"], out["read_message"], out["read_s"] = [], [], [], [], [], []
    for uri, key, size, etag in zip(batch["doc_uri"], batch["doc_key"], batch["doc_bytes"], batch["doc_etag"]):
        started = time.perf_counter()
        decoded = read_document(str(uri), str(key), int(size), max_doc_bytes, etag=str(etag))
        out["read_s"].append(time.perf_counter() - started)
        out["text"].append(decoded.text or "")
        out["pages_json"].append(json.dumps(decoded.pages) if decoded.pages else "")
        out["text_sha256"].append(hashlib.sha256(decoded.text.encode("utf-8")).hexdigest() if decoded.text else "")
        out["read_reason"].append(decoded.reason or "")
        out["read_message"].append(decoded.message or "")
    return out


def doc_type(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def is_supported(name: str) -> bool:
    return doc_type(name) in SUPPORTED_TYPES


def decode_document(name: str, data: bytes) -> Decoded:
    kind = doc_type(name)
    if kind not in SUPPORTED_TYPES:
        return Decoded(None, UNSUPPORTED_TYPE, f"unsupported file type {kind or '(none)'!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    if not data.strip():
        return Decoded(None, EMPTY, "the file is empty")
    try:
        if kind == ".pdf":
            return _pdf_decoded(pdf_pages(data))
        else:
            text = bytes_to_text(data)
            if kind in HTML_TYPES:
                text = html_text(text)
            elif kind == ".json":
                text = json_text(text)
    except DecodeError as exc:
        return Decoded(None, DECODE_ERROR, str(exc))
    text = normalise_whitespace(text)
    if not text:
        return Decoded(None, EMPTY, "no text in the document" + (" (a scanned PDF without a text layer?)" if kind == ".pdf" else ""))
    return Decoded(text)


class DecodeError(ValueError):
    pass


def bytes_to_text(data: bytes) -> str:
    """UTF-8 (with or without BOM, UTF-16 by BOM), else the most likely legacy encoding."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _guess_decode(data)
    text = text.replace("\x00", "")
    controls = sum(1 for c in text if ord(c) < 32 and c not in "\n\r\t\f")
    if controls > _MAX_CONTROL_SHARE * max(len(text), 1) or text.count("\ufffd") > _MAX_CONTROL_SHARE * max(len(text), 1):
        raise DecodeError("the file looks binary, not text")
    return text


def _guess_decode(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is None:
        raise DecodeError("cannot determine the text encoding (binary data?)")
    return data.decode(best.encoding, errors="replace")


class _TextExtractor(HTMLParser):
    _SKIP = {"script", "style", "noscript", "template", "head", "svg"}
    _BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "section", "article", "header", "footer", "ul", "ol", "dt", "dd", "pre", "blockquote", "hr", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self.skipping += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append("\t")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def html_text(markup: str) -> str:
    """Visible text of an HTML page: scripts, styles and the head dropped, blocks on their own lines."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def json_text(text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DecodeError(f"invalid JSON: {exc}") from None
    return json.dumps(value, ensure_ascii=False, indent=1)


def _pdf_decoded(pages: list[str]) -> Decoded:
    """Pages normalised one by one and joined by a blank line; where each page starts, for evidence."""
    parts, starts, offset = [], [], 0
    for number, page in enumerate(pages, 1):
        page = normalise_whitespace(page)
        if not page:
            continue
        if parts:
            offset += 2
        starts.append((offset, number))
        parts.append(page)
        offset += len(page)
    if not parts:
        return Decoded(None, EMPTY, "no text in the document (a scanned PDF without a text layer?)")
    return Decoded("\n\n".join(parts), pages=tuple(starts))


def pdf_pages(data: bytes) -> list[str]:
    """The text layer of a PDF, page by page."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DecodeError("the PDF is encrypted (it needs a password to open)") from None
        raise DecodeError(f"cannot open PDF: {exc}") from None
    try:
        pages = []
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                pages.append(textpage.get_text_range())
                textpage.close()
            finally:
                page.close()
        return [page.replace("\r\n", "\n").replace("\r", "\n") for page in pages]
    except pdfium.PdfiumError as exc:
        raise DecodeError(f"cannot read PDF text: {exc}") from None
    finally:
        pdf.close()


def normalise_whitespace(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
