"""Scans of synthetic documents: a PDF's pages as images with a scanner's or a phone's defects.

`fieldmill synth --formats png,scan-pdf` writes documents whose only text is in pixels:
a PNG (a phone photo or screenshot; the pages stacked) or a PDF of page images (what a
scanner writes, no text layer). The gold records are the same as the digital document's,
so OCR and extraction can be scored on scans. Defects: a slight rotation, blur, JPEG
artefacts, uneven grey. Deterministic for a seed.
"""

from __future__ import annotations

import io
import random

SCAN_DPI = 200


def scanned_pages(pdf: bytes, rng: random.Random, dpi: int = SCAN_DPI) -> list:
    """Each page of the PDF rendered to a greyscale image with scan defects (PIL images)."""
    import pypdfium2 as pdfium
    from PIL import Image, ImageFilter

    document = pdfium.PdfDocument(pdf)
    try:
        pages = []
        for index in range(len(document)):
            page = document[index]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            page.close()
            image = image.rotate(rng.uniform(-1.2, 1.2), resample=Image.BICUBIC, expand=True, fillcolor=255)
            image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 0.8)))
            image = image.point(lambda v, lift=rng.randint(0, 30): min(255, v + lift) if v > 128 else v)  # greyish paper
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=rng.randint(45, 80))
            pages.append(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
        return pages
    finally:
        document.close()


def png_bytes(pages: list) -> bytes:
    """The pages stacked top to bottom in one PNG, as a long photo or screenshot."""
    from PIL import Image

    width = max(p.width for p in pages)
    sheet = Image.new("L", (width, sum(p.height for p in pages)), 255)
    top = 0
    for page in pages:
        sheet.paste(page, (0, top))
        top += page.height
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def scan_pdf_bytes(pages: list, dpi: int = SCAN_DPI) -> bytes:
    """A PDF of page images and no text layer, as scanners write them."""
    buffer = io.BytesIO()
    pages[0].save(buffer, format="PDF", save_all=True, append_images=pages[1:], resolution=float(dpi))
    return buffer.getvalue()


def tiff_bytes(pages: list) -> bytes:
    """A multi-page TIFF, one frame per page (fax and archive scans)."""
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return buffer.getvalue()


__all__ = ["scanned_pages", "png_bytes", "scan_pdf_bytes", "tiff_bytes", "SCAN_DPI"]
