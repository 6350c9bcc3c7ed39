"""Bytes to text, with typed reasons when that is impossible.

`decode_document(name, data)` never raises for bad input: it returns a `Decoded` whose
`text` is set, or whose `reason` says why not (`unsupported_type`, `empty`,
`decode_error`, `too_long`). Types come from the file extension; content that contradicts
it (binary under `.txt`, a truncated or encrypted PDF, a corrupt image) is a `decode_error`.

Scans are read by OCR (`ocr.py`): images (PNG, JPEG, TIFF with all its pages, ...) and
the PDF pages whose text layer is missing or clearly not the page's (a few characters over
a full-page image). A digital PDF keeps its text layer, page by page, so a mixed PDF uses
each page's own best source; `text_source` says which (`text`, `text_layer`, `ocr`, `mixed`).
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import warnings
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any

from fieldmill import storage
from fieldmill.document import DOCUMENT, Document
from fieldmill.ocr import IMAGE_TYPES, OcrError, OcrSettings

TEXT_TYPES = (".txt", ".md", ".markdown", ".text")
HTML_TYPES = (".html", ".htm", ".xhtml")
SUPPORTED_TYPES = TEXT_TYPES + HTML_TYPES + (".pdf", ".json") + IMAGE_TYPES
NATIVE_DECODED = (".pdf",) + IMAGE_TYPES  # decoded by native code (pdfium, Pillow, Tesseract): in a child process, under a time limit
# A PDF page whose text layer has fewer characters than this, over an image covering most of the page, is a scan.
_SCAN_TEXT_CHARS = 40
_SCAN_IMAGE_SHARE = 0.5
_DEFAULT_OCR = OcrSettings()

# Reasons a document ends as a `failed` row.
READ_ERROR = "read_error"
UNSUPPORTED_TYPE = "unsupported_type"
EMPTY = "empty"  # the document holds no text
DECODE_ERROR = "decode_error"
TOO_LONG = "too_long"
ENGINE_ERROR = "engine_error"
CHANGED = "changed"  # replaced between listing and reading: the next run reads the new version
NO_OUTPUT = "no_output"  # the engine answered nothing without an error (vLLM does when a grammar's compilation times out)
# Reasons that may pass: the same command tries such a document again (a bounded number of times).
TRANSIENT = (READ_ERROR, ENGINE_ERROR, CHANGED, NO_OUTPUT)

# Share of control characters above which "text" is really binary.
_MAX_CONTROL_SHARE = 0.05


@dataclass(frozen=True)
class Decoded:
    text: str | None
    reason: str | None = None
    message: str | None = None
    pages: tuple[tuple[int, int], ...] = ()  # PDF: (offset in `text` where a page starts, page number from 1)
    text_source: str | None = None  # text | text_layer | ocr | mixed
    ocr_confidence: float | None = None  # mean OCR word confidence (0..1) when any page was read by OCR


def read_document(uri: str, key: str, size: int, max_doc_bytes: int, etag: str | None = None, ocr: OcrSettings = _DEFAULT_OCR,
                  max_pages: int | None = None, decode_timeout_s: float | None = None, fs: storage.Filesystem = storage.PROCESS) -> Decoded:
    """Read (through `fs`) and decode one listed document, as `run` does; failures are reasons, never exceptions.

    With `etag`, the read is pinned to the listed version: a document replaced since it
    was listed is a `changed` row (the next run reads the new version under its new ETag).
    With `decode_timeout_s`, the decode is stopped after that long (`decode_process.py`): native
    decoders (PDF, images) run in a child process, so that one that hangs or crashes costs this
    document only; text, HTML and JSON are decoded in this process under a timer (a child's round
    trip per document costs more than decoding a small text).
    """
    if not is_supported(key):
        return decode_document(key, b"")
    if size > max_doc_bytes:
        return Decoded(None, TOO_LONG, f"object of {size} bytes exceeds the {max_doc_bytes}-byte limit")
    try:
        data = fs.read_bytes(uri, max_bytes=max_doc_bytes, etag=etag)
    except storage.Changed as exc:
        return Decoded(None, CHANGED, f"{exc}; the next run reads the new version")
    except (OSError, storage.StorageError) as exc:
        return Decoded(None, READ_ERROR, str(exc)[:1000])
    if len(data) > max_doc_bytes:
        return Decoded(None, TOO_LONG, f"object grew past the {max_doc_bytes}-byte limit while listed")
    try:
        if decode_timeout_s is None:
            return decode_document(key, data, ocr, max_pages)
        from fieldmill.decode_process import decode_inline, shared

        if doc_type(key) in NATIVE_DECODED:
            return shared(decode_timeout_s).decode(decode_document, key, data, ocr, max_pages)
        return decode_inline(decode_timeout_s, decode_document, key, data, ocr, max_pages)
    except Exception as exc:  # a decoder library's own bug must not lose the document
        return Decoded(None, DECODE_ERROR, f"{type(exc).__name__}: {exc}"[:1000])


def decode_batch(batch: dict[str, Any], max_doc_bytes: int, ocr: dict[str, Any] | None = None, max_pages: int | None = None,
                 decode_timeout_s: float | None = None, fs: storage.Filesystem = storage.PROCESS) -> dict[str, list]:
    """Read (through `fs`) and decode a batch of listed documents (a Ray Data task): each `Document` comes back with its text and
    pages, or with the reason it has none; failures become reasons, never exceptions."""
    settings = OcrSettings(**ocr) if ocr else _DEFAULT_OCR
    read = []
    for data in batch[DOCUMENT]:
        document = Document.from_bytes(data)
        source = document.source
        started = time.perf_counter()
        try:
            decoded = read_document(source.location, source.key, int(source.size), max_doc_bytes, etag=source.etag, ocr=settings,
                                    max_pages=max_pages, decode_timeout_s=decode_timeout_s, fs=fs)
            digest = text_digest(decoded.text) if decoded.text else ""
        except Exception as exc:  # one document's surprise is its own failed row, never the run's end
            decoded, digest = Decoded(None, DECODE_ERROR, f"{type(exc).__name__}: {exc}"[:1000]), ""
        read.append(replace(document, text=decoded.text or "", pages=tuple(decoded.pages), text_sha256=digest, reason=decoded.reason or "",
                            message=decoded.message or "", read_s=time.perf_counter() - started, text_source=decoded.text_source or "",
                            ocr_confidence=decoded.ocr_confidence).to_bytes())
    return {DOCUMENT: read}


def text_digest(text: str) -> str:
    """The digest of a document's decoded text, kept with its row and evidence so a reader can check them."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def doc_type(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def is_supported(name: str) -> bool:
    return doc_type(name) in SUPPORTED_TYPES


def decode_document(name: str, data: bytes, ocr: OcrSettings = _DEFAULT_OCR, max_pages: int | None = None) -> Decoded:
    kind = doc_type(name)
    if kind not in SUPPORTED_TYPES:
        return Decoded(None, UNSUPPORTED_TYPE, f"unsupported file type {kind or '(none)'!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    if not data.strip():
        return Decoded(None, EMPTY, "the file is empty")
    if kind in IMAGE_TYPES and not ocr.enabled:
        return Decoded(None, UNSUPPORTED_TYPE, f"{kind} is an image: it is read by OCR, and OCR is off (--ocr off)")
    try:
        if kind == ".pdf":
            return _pdf_decoded(pdf_pages(data, ocr, max_pages), ocr)
        if kind in IMAGE_TYPES:
            return _pdf_decoded(image_pages(data, ocr), ocr)
        else:
            text = bytes_to_text(data)
            if kind in HTML_TYPES:
                text = html_text(text)
            elif kind == ".json":
                text = json_text(text)
    except TooManyPages as exc:
        return Decoded(None, TOO_LONG, str(exc))
    except DecodeError as exc:
        return Decoded(None, DECODE_ERROR, str(exc))
    except OcrError as exc:
        return Decoded(None, exc.reason, str(exc))
    text = normalise_whitespace(valid_unicode(text))
    if not text:
        return Decoded(None, EMPTY, "no text in the document" + (" (a scanned PDF without a text layer?)" if kind == ".pdf" else ""))
    return Decoded(text, text_source="text")


def valid_unicode(text: str) -> str:
    """Lone surrogates (a JSON "\\ud800" escape decodes to one) become U+FFFD: the text must encode as UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


class DecodeError(ValueError):
    pass


class TooManyPages(DecodeError):
    """A PDF longer than --max-doc-pages: refused from its page count, before any page is read."""


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


@dataclass(frozen=True)
class PageText:
    text: str
    source: str = "text_layer"  # or "ocr"
    confidence: float | None = None


def _pdf_decoded(pages: list[PageText], ocr: OcrSettings = _DEFAULT_OCR) -> Decoded:
    """Pages normalised one by one and joined by a blank line; where each page starts, for evidence."""
    parts, starts, sources, offset = [], [], set(), 0
    for number, page in enumerate(pages, 1):
        text = normalise_whitespace(page.text)
        if not text:
            continue
        if parts:
            offset += 2
        starts.append((offset, number))
        parts.append(text)
        sources.add(page.source)
        offset += len(text)
    if not parts:
        scanned = any(p.source == "ocr" for p in pages)
        hint = " (OCR found no text either)" if scanned else "" if ocr.enabled else " (a scan? OCR is off: --ocr off)"
        return Decoded(None, EMPTY, "no text in the document" + hint)
    confidences = [p.confidence for p in pages if p.confidence is not None]
    return Decoded("\n\n".join(parts), pages=tuple(starts), text_source=sources.pop() if len(sources) == 1 else "mixed",
                   ocr_confidence=sum(confidences) / len(confidences) if confidences else None)


def pdf_pages(data: bytes, ocr: OcrSettings = _DEFAULT_OCR, max_pages: int | None = None) -> list[PageText]:
    """The text of a PDF, page by page: its text layer, or OCR of the rendered page where the layer is not the page's text."""
    import pypdfium2 as pdfium

    from fieldmill.text_layer import page_text

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise DecodeError("the PDF is encrypted (it needs a password to open)") from None
        raise DecodeError(f"cannot open PDF: {exc}") from None
    if max_pages is not None and len(pdf) > max_pages:
        count = len(pdf)
        pdf.close()
        raise TooManyPages(f"document of {count} pages exceeds --max-doc-pages {max_pages}")
    deadline = time.monotonic() + ocr.document_timeout_s
    try:
        pages, scanned = [], 0
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                textpage = page.get_textpage()
                text = page_text(textpage)
                textpage.close()
                if ocr.enabled and _is_scan(page, text):
                    scanned += 1
                    if scanned > ocr.max_pages:
                        raise OcrError(TOO_LONG, f"more than {ocr.max_pages} scanned pages need OCR (--ocr-max-pages)")
                    if time.monotonic() > deadline:
                        raise OcrError(TOO_LONG, f"OCR of the document took longer than {ocr.document_timeout_s:.0f} s")
                    pages.append(_ocr_rendered(page, ocr, deadline))
                else:
                    pages.append(PageText(text))
            finally:
                page.close()
        return pages
    except pdfium.PdfiumError as exc:
        raise DecodeError(f"cannot read PDF text: {exc}") from None
    finally:
        pdf.close()


def _is_scan(page, text: str) -> bool:
    """No usable text layer: (almost) no text, over an image that covers most of the page (or no text at all)."""
    chars = len("".join(text.split()))
    if chars >= _SCAN_TEXT_CHARS:
        return False
    import pypdfium2.raw as pdfium_c

    width, height = page.get_size()
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        covered += max(0.0, right - left) * max(0.0, top - bottom)
    return covered > 0 if chars == 0 else covered >= _SCAN_IMAGE_SHARE * width * height


def _ocr_rendered(page, ocr: OcrSettings, deadline: float) -> PageText:
    from fieldmill.ocr import check_pixels, ocr_image

    width, height = page.get_size()
    scale = ocr.dpi / 72
    check_pixels(int(width * scale), int(height * scale), ocr)
    image = page.render(scale=scale, grayscale=True).to_pil()
    read = ocr_image(image, ocr, deadline)
    return PageText(read.text, "ocr", read.confidence)


def image_pages(data: bytes, ocr: OcrSettings = _DEFAULT_OCR) -> list[PageText]:
    """Every frame of an image file (a multi-page TIFF has several) through OCR, bounded in pixels, pages and time."""
    from PIL import Image, ImageSequence, UnidentifiedImageError

    from fieldmill.ocr import check_pixels, ocr_image

    deadline = time.monotonic() + ocr.document_timeout_s
    try:
        with warnings.catch_warnings():  # the size is checked below, against our own bound
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        check_pixels(*image.size, ocr)  # from the header, before any pixel is decoded
        frames = getattr(image, "n_frames", 1)
        if frames > ocr.max_pages:
            raise OcrError(TOO_LONG, f"the image has {frames} pages; at most {ocr.max_pages} go through OCR (--ocr-max-pages)")
        pages = []
        for frame in ImageSequence.Iterator(image):
            check_pixels(*frame.size, ocr)
            if time.monotonic() > deadline:
                raise OcrError(TOO_LONG, f"OCR of the document took longer than {ocr.document_timeout_s:.0f} s")
            frame.load()
            read = ocr_image(frame, ocr, deadline)
            pages.append(PageText(read.text, "ocr", read.confidence))
        return pages
    except Image.DecompressionBombError as exc:
        raise OcrError(TOO_LONG, f"the image is too large to decode: {exc}"[:500]) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise DecodeError(f"cannot read the image: {type(exc).__name__}: {exc}"[:500]) from None


def normalise_whitespace(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()
