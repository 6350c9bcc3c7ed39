"""Pages of positioned text, rendered to PDF by reportlab, read back as `run` reads them.

Real documents are not `Label: value` lines. A receipt printer centres the shop's name,
breaks its address over lines, prints a label at the left margin and its amount at the
right; an invoice template fills a box of labels, then a box of values; a form prints a
small caption above each filled-in value; an agreement wraps its paragraphs wherever the
line runs out. A `Page` records text runs at positions in the order a producer draws
them, and `render_pdf` writes them with reportlab (real fonts, real text layer), so the
PDF text layer that `run` decodes has the line order, the breaks and the separations
that producers really leave behind.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

_SAFE = "cp1252"  # the standard PDF fonts' encoding: what a run can read back from the text layer


@dataclass(frozen=True)
class TextRun:
    x: float
    y: float
    text: str
    font: str
    size: float
    align: str = "left"  # left | right | centre


@dataclass
class Page:
    """One page being filled top to bottom; `y` is the next baseline (PDF points from the bottom)."""

    width: float
    height: float
    font: str = "Helvetica"
    size: float = 9.0
    margin: float = 36.0
    left: float = -1.0  # where lines start; the margin unless a block sits further right
    runs: list[TextRun] = field(default_factory=list)
    y: float = 0.0

    def __post_init__(self):
        self.y = self.height - self.margin
        if self.left < 0:
            self.left = self.margin

    @property
    def leading(self) -> float:
        return self.size * 1.3

    @property
    def right(self) -> float:
        return self.width - self.margin

    def text(self, x: float, text: str, align: str = "left", font: str | None = None, size: float | None = None, y: float | None = None) -> None:
        if text:
            self.runs.append(TextRun(x, self.y if y is None else y, safe(text), font or self.font, size or self.size, align))

    def line(self, text: str, align: str = "left", font: str | None = None, size: float | None = None) -> None:
        """One line of text at the margin (or centred, or right-aligned), then down one line."""
        x = {"left": self.left, "right": self.right, "centre": (self.left + self.right) / 2}[align]
        self.text(x, text, align, font, size)
        self.down(size)

    def down(self, size: float | None = None, lines: float = 1.0) -> None:
        self.y -= (size or self.size) * 1.3 * lines

    def wrapped(self, text: str, font: str | None = None, size: float | None = None, indent: float = 0.0) -> None:
        """A paragraph broken into lines where the page's width runs out, as word processors do."""
        from reportlab.lib.utils import simpleSplit

        font, size = font or self.font, size or self.size
        for piece in simpleSplit(safe(text), font, size, self.right - self.left - indent):
            self.text(self.left + indent, piece, font=font, size=size)
            self.down(size)

    def full(self, reserve_lines: float = 2.0) -> bool:
        return self.y < self.margin + reserve_lines * self.leading


def safe(text: str) -> str:
    """Text the standard fonts can print: what cp1252 lacks becomes its closest ASCII form or '?'."""
    return text.encode(_SAFE, errors="replace").decode(_SAFE).replace("\ufffd", "?")


def text_width(text: str, font: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    return stringWidth(safe(text), font, size)


def render_pdf(pages: list[Page]) -> bytes:
    """The pages as a PDF with a real text layer, runs drawn in the order they were recorded."""
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(pages[0].width, pages[0].height), invariant=1, pageCompression=1)
    for page in pages:
        pdf.setPageSize((page.width, page.height))
        for run in page.runs:
            pdf.setFont(run.font, run.size)
            draw = {"left": pdf.drawString, "right": pdf.drawRightString, "centre": pdf.drawCentredString}[run.align]
            draw(run.x, run.y, run.text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def fit_height(page: Page) -> Page:
    """A receipt's paper ends where its text does: shift the runs down to a page of just that height."""
    used = page.height - page.y + page.margin
    shift = page.height - used
    page.runs = [TextRun(r.x, r.y - shift, r.text, r.font, r.size, r.align) for r in page.runs]
    page.height = used
    return page


__all__ = ["Page", "TextRun", "render_pdf", "fit_height", "safe", "text_width"]
