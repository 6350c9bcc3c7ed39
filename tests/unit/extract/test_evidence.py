"""Evidence: where each value is stated, on hand-made texts whose offsets are known."""

import datetime as dt
from decimal import Decimal
from typing import Literal, Optional

import pytest
from pydantic import BaseModel

from fieldmill.documents import decode_document
from fieldmill.documents import text_digest
from fieldmill.extract.evidence import DocumentIndex, ground, locate, number_readings
from fieldmill.schema.hardening import harden
from fieldmill.synth.pdf import text_pdf

TEXT = (
    "INVOICE RX-2207\n"
    "Issued: September 18, 2024    Due: 18/10/2024\n"
    "Buyer: ACME  Corp., Leeds\n"
    "Subtotal 17.969,82 EUR   Total: $ 17,969.82\n"
    "Seats: twenty-four\n"
    "Ref RX-2207 again\n"
)


def where(value, node=None):
    found = locate(value, node or {}, DocumentIndex(TEXT))
    return None if found is None else (TEXT[found[0][0]:found[0][1]], found[0][0], found[1])


def test_exact_text_and_the_first_of_two_places():
    assert where("RX-2207") == ("RX-2207", 8, "exact")  # printed twice: the first place counts


def test_normalised_text_ignores_case_spacing_and_punctuation_but_not_word_edges():
    assert where("acme corp") == ("ACME  Corp", TEXT.index("ACME"), "normalised")
    assert where("eds") is None  # inside "Leeds": not a whole word, and too far for a near match


def test_near_match_for_an_ocr_slip():
    assert where("Septenber 18, 2024")[2] == "fuzzy"


@pytest.mark.parametrize("value, printed", [(dt.date(2024, 9, 18), "September 18, 2024"), (dt.date(2024, 10, 18), "18/10/2024")])
def test_dates_in_their_printed_forms(value, printed):
    assert where(value) == (printed, TEXT.index(printed), "date")


def test_amounts_in_either_decimal_convention_and_integers_in_words():
    assert where(Decimal("17969.82")) == ("17.969,82", TEXT.index("17.969,82"), "number")
    assert where(24) == ("twenty-four", TEXT.index("twenty-four"), "words")
    assert number_readings("1,234") == {Decimal("1234"), Decimal("1.234")}
    assert number_readings("17 969,82") == {Decimal("17969.82")}


def test_a_value_the_document_does_not_state_is_ungrounded_but_enums_and_booleans_never_are():
    class Rec(BaseModel):
        number: str
        city: str
        total: Decimal
        paid: bool
        method: Literal["bank_transfer", "card"]
        note: Optional[str] = None

    record = {"number": "RX-2207", "city": "Paris", "total": Decimal("17969.82"), "paid": True, "method": "card", "note": None}
    grounding = ground(record, harden(Rec.model_json_schema()), DocumentIndex(TEXT))
    assert [(e.field, e.quote) for e in grounding.evidence] == [("number", "RX-2207"), ("total", "17.969,82")]
    assert grounding.ungrounded == ["city"]


def test_list_items_are_paths_with_indexes():
    class Line(BaseModel):
        name: str

    class Rec(BaseModel):
        lines: list[Line]

    grounding = ground({"lines": [{"name": "Leeds"}, {"name": "Rome"}]}, harden(Rec.model_json_schema()), DocumentIndex(TEXT))
    assert [e.field for e in grounding.evidence] == ["lines[0].name"] and grounding.ungrounded == ["lines[1].name"]


def test_pdf_evidence_carries_the_page_and_offsets_into_the_decoded_text():
    text = "\n".join(f"line {i}" for i in range(60)) + "\nContract number CX-99\n"  # past the first page
    decoded = decode_document("c.pdf", text_pdf(text))
    index = DocumentIndex(decoded.text, list(decoded.pages))
    found = locate("CX-99", {}, index)
    start, end = found[0]
    assert decoded.text[start:end] == "CX-99" and index.page_of(start) == 2 and index.page_of(0) == 1
    assert len(text_digest(decoded.text)) == 64
