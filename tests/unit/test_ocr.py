"""Scans through the real OCR engine (Tesseract, installed by `make`): images, scanned and mixed PDFs, bounds."""

import io
import random

import pytest
from PIL import Image

from fieldmill import documents
from fieldmill.documents import decode_document
from fieldmill.ocr import OcrSettings, Word, rebuild_lines, skew
from fieldmill.synth.layout import Page, render_pdf
from fieldmill.synth.scan import png_bytes, scan_pdf_bytes, scanned_pages, tiff_bytes


def _receipt_pdf(lines: list[tuple[str, str]]) -> bytes:
    page = Page(300, 260, font="Helvetica", size=11, margin=20)
    for label, value in lines:  # every label, then every value: the text layer holds them apart
        page.text(page.left, label)
        page.down()
    page.y = page.height - page.margin
    for _, value in lines:
        page.text(page.right, value, align="right")
        page.down()
    return render_pdf([page])


RECEIPT = [("SUBTOTAL", "11.70"), ("TAX", "0.70"), ("TOTAL", "12.40"), ("CASH", "20.00")]


@pytest.fixture(scope="module")
def scans():
    pages = scanned_pages(_receipt_pdf(RECEIPT), random.Random(1))
    return pages


def test_an_image_is_read_by_ocr_with_each_label_beside_its_value(scans):
    decoded = decode_document("photo.png", png_bytes(scans))
    assert decoded.reason is None and decoded.text_source == "ocr" and 0.5 < decoded.ocr_confidence <= 1
    lines = decoded.text.split("\n")
    assert "TOTAL 12.40" in lines and "CASH 20.00" in lines  # the text layer had them in two blocks


def test_a_scanned_pdf_is_read_by_ocr_and_a_digital_one_keeps_its_text_layer(scans):
    scanned = decode_document("scan.pdf", scan_pdf_bytes(scans))
    assert scanned.text_source == "ocr" and "TOTAL 12.40" in scanned.text
    digital = decode_document("digital.pdf", _receipt_pdf(RECEIPT))
    assert digital.text_source == "text_layer" and digital.ocr_confidence is None
    assert digital.text.split("\n")[:2] == ["SUBTOTAL 11.70", "TAX 0.70"]  # the layer's own text, its rows rejoined (text_layer.py)


def test_a_mixed_pdf_uses_each_pages_own_source_and_keeps_page_offsets(scans):
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(300, 260))
    pdf.setFont("Helvetica", 11)
    pdf.drawString(20, 220, "Invoice INV-2207 page one")
    pdf.showPage()
    pdf.drawImage(ImageReader(scans[0]), 0, 0, 300, 260)
    pdf.showPage()
    pdf.save()
    decoded = decode_document("mixed.pdf", buffer.getvalue())
    assert decoded.text_source == "mixed" and decoded.text.startswith("Invoice INV-2207 page one")
    assert [number for _, number in decoded.pages] == [1, 2] and "TOTAL 12.40" in decoded.text[decoded.pages[1][0]:]


def test_every_page_of_a_tiff_is_read(scans):
    decoded = decode_document("fax.tiff", tiff_bytes([scans[0], scans[0]]))
    assert len(decoded.pages) == 2 and decoded.text.count("TOTAL 12.40") == 2


def test_an_image_too_large_a_page_bomb_and_a_corrupt_image_are_reasons_not_crashes(scans):
    huge = io.BytesIO()
    Image.new("1", (20000, 20000), 1).save(huge, format="PNG")
    assert decode_document("huge.png", huge.getvalue()).reason == documents.TOO_LONG
    small_limit = OcrSettings(max_pixels=10_000)
    assert "exceeds the OCR limit" in decode_document("photo.png", png_bytes(scans), small_limit).message
    many = decode_document("fax.tiff", tiff_bytes([scans[0]] * 3), OcrSettings(max_pages=2))
    assert many.reason == documents.TOO_LONG and "3 pages" in many.message
    assert decode_document("broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg").reason == documents.DECODE_ERROR


def test_ocr_off_says_so(scans):
    off = OcrSettings(mode="off")
    image = decode_document("photo.png", png_bytes(scans), off)
    assert image.reason == documents.UNSUPPORTED_TYPE and "OCR is off" in image.message
    pdf = decode_document("scan.pdf", scan_pdf_bytes(scans), off)
    assert pdf.reason == documents.EMPTY and "OCR is off" in pdf.message


def test_lines_are_rebuilt_from_word_boxes_top_to_bottom_left_to_right():
    words = [Word(400, 102, 60, 20, 90, "12.40"), Word(10, 100, 80, 20, 95, "TOTAL"), Word(10, 60, 90, 20, 96, "SUBTOTAL"),
             Word(400, 61, 60, 20, 91, "11.70")]
    assert rebuild_lines(words) == ["SUBTOTAL 11.70", "TOTAL 12.40"]
    assert rebuild_lines([]) == []


def test_a_page_scanned_askew_keeps_a_label_and_the_amount_at_the_other_end_of_its_line_together():
    """1.2 degrees down to the right: the amount sits 30 px lower than its label, more than half a line."""
    slope = 0.021

    def at(x: int, y: int, text: str, line: tuple[int, ...]) -> Word:
        return Word(x, round(y + slope * x), 8 * len(text), 20, 90, text, line)

    words = []
    for row, (label, amount) in enumerate([("Sub total due", "609.16"), ("Tax at rate", "115.74"), ("Invoice total CAD", "724.90")]):
        y = 100 + 40 * row
        first, *rest = label.split()
        words += [at(100, y, first, (1, 1, row)), *(at(100 + 120 * (i + 1), y, w, (1, 1, row)) for i, w in enumerate(rest))]
        words.append(at(1500, y, amount, (2, 1, row)))
    assert abs(skew(words) - slope) < 0.002
    assert rebuild_lines(words) == ["Sub total due 609.16", "Tax at rate 115.74", "Invoice total CAD 724.90"]
    assert skew([Word(10, 10, 50, 20, 90, "alone", (1, 1, 1))]) == 0.0  # no line long enough to say
