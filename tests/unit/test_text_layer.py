"""A PDF's text layer read as the page prints it: a value drawn apart from its label joins its row (text_layer.py)."""

from __future__ import annotations

from fieldmill.documents import decode_document
from fieldmill.synth.layout import Page, render_pdf
from fieldmill.text_layer import rejoin


def _columns_pdf(left: list[str], right: list[str], right_aligned: bool = True) -> bytes:
    """Every left-column line drawn first, then every right-column line: the layer holds the columns apart."""
    page = Page(400, 300, font="Helvetica", size=11, margin=20)
    for text in left:
        page.text(page.left, text)
        page.down()
    page.y = page.height - page.margin
    for text in right:
        page.text(page.right if right_aligned else 220, text, align="right" if right_aligned else "left")
        page.down()
    return render_pdf([page])


def test_amounts_drawn_after_their_labels_are_read_on_the_labels_lines():
    pdf = _columns_pdf(["SUBTOTAL", "TAX", "ROUNDING", "TOTAL", "CASH"], ["11.70", "0.70", "-0.02", "12.38", "EUR 20.00"])
    assert decode_document("receipt.pdf", pdf).text.splitlines() == [
        "SUBTOTAL 11.70", "TAX 0.70", "ROUNDING -0.02", "TOTAL 12.38", "CASH EUR 20.00"]


def test_two_blocks_of_words_side_by_side_stay_blocks():
    billing = ["Billed to:", "Francis PLC", "35 Eric Circuit", "Guzmanmouth 2957"]
    delivery = ["Deliver to:", "Francis PLC", "Apt. 559 Morris Brae", "Lake John 2334"]
    assert decode_document("invoice.pdf", _columns_pdf(billing, delivery, right_aligned=False)).text.splitlines() == billing + delivery


def test_a_page_drawn_in_reading_order_reads_as_its_layer():
    page = Page(400, 300, font="Helvetica", size=11, margin=20)
    for text in ["AGREEMENT", "This agreement is made on 1 March 2024 between", "Acme Ltd and Bolt GmbH.", "Total fee: 1,200.00"]:
        page.line(text)
    assert decode_document("a.pdf", render_pdf([page])).text.splitlines() == [
        "AGREEMENT", "This agreement is made on 1 March 2024 between", "Acme Ltd and Bolt GmbH.", "Total fee: 1,200.00"]


def test_a_value_overprinting_a_line_or_on_another_baseline_does_not_join_it():
    assert rejoin([("TOTAL", (10, 100, 60, 110)), ("12.40", (40, 100, 80, 110))]) == ["TOTAL", "12.40"]  # overlapping boxes
    assert rejoin([("TOTAL", (10, 100, 60, 110)), ("12.40", (200, 88, 240, 98))]) == ["TOTAL", "12.40"]  # the next line down
    assert rejoin([("TOTAL", (10, 100, 60, 110)), ("12.40", (200, 101, 240, 111))]) == ["TOTAL 12.40"]
    assert rejoin([("12.40", (200, 101, 240, 111)), ("TOTAL", (10, 100, 60, 110))]) == ["TOTAL 12.40"]  # left to right, whatever came first
    assert rejoin([("a note", None), ("", None)]) == ["a note"]


def test_a_column_joins_its_labels_only_whole_and_only_as_values_beside_words():
    """A label column then a value column: joined. A form's grid (a box's label and value drawn beside the next
    box's) and a value column that is only partly values stay as the layer has them: joining part of a column
    puts the rest of its values out of step with their labels."""
    def placed(texts: list[str], left: float) -> list[tuple[str, tuple[float, float, float, float]]]:
        return [(text, (left, 100 - 12 * i, left + 60, 110 - 12 * i)) for i, text in enumerate(texts)]

    labels = ["SUBTOTAL", "GST @6%", "ROUNDED TOTAL", "VISA"]
    assert rejoin(placed(labels, 10) + placed(["1906,74", "114,40", "2021,14", "2021,14"], 200)) == [
        "SUBTOTAL 1906,74", "GST @6% 114,40", "ROUNDED TOTAL 2021,14", "VISA 2021,14"]
    grid = placed(["FULL NAME", "Amanda Jacobs"], 10) + placed(["DATE OF BIRTH", "06-03-1995"], 200)
    assert rejoin(grid) == ["FULL NAME", "Amanda Jacobs", "DATE OF BIRTH", "06-03-1995"]
    partly = placed(["Name", "MRN", "Seen by"], 10) + placed(["Mart Bellemans-Vos", "4333699", "Dr James Mijsberg"], 200)
    assert rejoin(partly) == ["Name", "MRN", "Seen by", "Mart Bellemans-Vos", "4333699", "Dr James Mijsberg"]
