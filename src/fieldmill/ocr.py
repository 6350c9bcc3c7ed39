"""Text from page images: Tesseract (Debian's `tesseract-ocr`, models from the package), lines rebuilt from its boxes.

Tesseract reports words with their boxes and confidences (TSV). Its own line order
follows its layout analysis, which splits a label from the value printed at the other
end of the same line (`TOTAL` ... `12.40`) into different blocks. So lines are rebuilt
here: words whose boxes share a baseline band become one line, left to right, and lines
go top to bottom, so the model sees `TOTAL 12.40` where the page prints it on one line.

Every call is bounded: pixels per page (checked before decoding the image), pages per
document and seconds per page (the engine runs as a subprocess with a timeout); going
past a bound is an `OcrError` whose reason becomes the document's failed row.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import time
from dataclasses import dataclass
from statistics import median

from pydantic import BaseModel, Field

ENGINE = "tesseract"
IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")


class OcrSettings(BaseModel):
    """How a run reads scans (the `--ocr*` options)."""

    mode: str = Field("auto", pattern="^(auto|off)$", description="auto: images and PDF pages without a usable text layer are read by OCR "
                      "(Tesseract); off: they fail, saying so.", json_schema_extra={"flag": "--ocr", "env": "FIELDMILL_OCR"})
    lang: str = Field("eng", pattern="^[A-Za-z_]+(\\+[A-Za-z_]+)*$", description="OCR language(s), e.g. eng or eng+deu (Debian package "
                      "tesseract-ocr-LANG).", json_schema_extra={"env": "FIELDMILL_OCR_LANG"})
    dpi: int = Field(300, ge=72, le=600, description="Resolution at which PDF pages are rendered for OCR.")
    max_pages: int = Field(100, ge=1, description="Most pages of one document that go through OCR; more fail as too_long.")
    max_pixels: int = Field(60_000_000, ge=1, description="Largest page image (width x height); larger fail as too_long before being decoded.")
    page_timeout_s: float = Field(120.0, gt=0, description="Longest OCR of one page.")
    document_timeout_s: float = Field(900.0, gt=0, description="Longest OCR of one document, all its pages.")

    @property
    def enabled(self) -> bool:
        return self.mode != "off"


class OcrError(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Word:
    left: int
    top: int
    width: int
    height: int
    conf: float
    text: str
    line: tuple[int, ...] = ()  # Tesseract's own line (block, paragraph, line): its words share one baseline

    @property
    def middle(self) -> tuple[float, float]:
        return self.left + self.width / 2, self.top + self.height / 2


@dataclass(frozen=True)
class OcrPage:
    text: str
    words: int
    confidence: float | None  # mean word confidence, 0..1


def available() -> bool:
    return shutil.which(ENGINE) is not None


def check_pixels(width: int, height: int, settings: OcrSettings) -> None:
    if width * height > settings.max_pixels:
        raise OcrError("too_long", f"page image of {width}x{height} pixels exceeds the OCR limit of {settings.max_pixels:,} pixels")


def ocr_image(image, settings: OcrSettings, deadline: float | None = None) -> OcrPage:
    """One page image (PIL) -> its text, lines rebuilt from the word boxes."""
    if not available():
        raise OcrError("decode_error", "OCR needs Tesseract (Debian: apt-get install tesseract-ocr tesseract-ocr-eng); it is not installed")
    check_pixels(*image.size, settings)
    buffer = io.BytesIO()
    image.convert("L").save(buffer, format="PNG")
    timeout = settings.page_timeout_s if deadline is None else max(0.1, min(settings.page_timeout_s, deadline - time.monotonic()))
    try:
        done = subprocess.run([ENGINE, "stdin", "stdout", "-l", settings.lang, "--psm", "3", "tsv"], input=buffer.getvalue(),
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise OcrError("too_long", f"OCR of one page took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError("decode_error", f"OCR failed: {message[-1] if message else 'tesseract exit ' + str(done.returncode)}"[:500])
    words = parse_tsv(done.stdout.decode("utf-8", "replace"))
    confidences = [w.conf for w in words if w.conf >= 0]
    return OcrPage("\n".join(rebuild_lines(words)), len(words), sum(confidences) / len(confidences) / 100 if confidences else None)


def parse_tsv(tsv: str) -> list[Word]:
    words = []
    for line in tsv.splitlines()[1:]:
        cells = line.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        try:
            words.append(Word(int(cells[6]), int(cells[7]), int(cells[8]), int(cells[9]), float(cells[10]), cells[11].strip(),
                              (int(cells[2]), int(cells[3]), int(cells[4]))))
        except ValueError:
            continue
    return words


def rebuild_lines(words: list[Word]) -> list[str]:
    """Words on one baseline band as one line (left to right), lines top to bottom. A page scanned or
    photographed a degree askew drops a baseline by half a line across the page, which would put a label and
    the amount printed at the other end of its line on different lines (`Subtotal` under `609.16`), so
    heights are measured across the page's slope (`skew`)."""
    if not words:
        return []
    typical = median(w.height for w in words) or 1
    slope = skew(words)
    levels = [word.middle[1] - slope * word.middle[0] for word in words]  # heights with the page's slope taken out

    rows: list[list[Word]] = []
    row_levels: list[float] = []  # the current row's levels
    for level, word in sorted(zip(levels, words), key=lambda pair: (pair[0], pair[1].left)):
        if rows and abs(level - median(row_levels)) <= 0.5 * min(typical, max(word.height, 1)):
            rows[-1].append(word)
            row_levels.append(level)
            continue
        rows.append([word])
        row_levels = [level]
    return [" ".join(w.text for w in sorted(row, key=lambda w: w.left)) for row in rows]


def skew(words: list[Word], most: float = 0.1) -> float:
    """The page's slope (pixels down per pixel right), from the lines Tesseract found: the median slope of its
    lines that span a few word heights or more, each line's fitted through its words' middles, longer lines
    counting more; 0 when no line says (a page of single words), never more than `most` (about 6 degrees)."""
    typical = median(w.height for w in words) or 1
    lines: dict[tuple[int, ...], list[Word]] = {}
    for word in words:
        if word.line:
            lines.setdefault(word.line, []).append(word)
    fitted: list[tuple[float, float]] = []  # (slope, span)
    for members in lines.values():
        xs, ys = zip(*(w.middle for w in members)) if len(members) > 1 else ((), ())
        span = max(xs) - min(xs) if xs else 0
        if span < 3 * typical:
            continue
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        spread = sum((x - mean_x) ** 2 for x in xs)
        fitted.append((sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / spread, span))
    if not fitted:
        return 0.0
    fitted.sort()
    half, total = sum(span for _, span in fitted) / 2, 0.0
    for slope, span in fitted:
        total += span
        if total >= half:
            return max(-most, min(most, slope))
    return 0.0


__all__ = ["OcrSettings", "OcrError", "OcrPage", "ocr_image", "available", "check_pixels", "rebuild_lines", "skew", "parse_tsv", "IMAGE_TYPES"]
