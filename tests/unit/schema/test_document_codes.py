"""Which fields ask for a printed code, and which texts of a document are such codes."""

from fieldmill.schema.document_codes import MAX_CODES, code_ask, printed_codes

ICD = r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$"


def test_a_patterned_field_asks_for_a_printed_code_only_when_its_description_says_so():
    node = {"type": "string", "pattern": ICD}
    for said in ("ICD-10 code of the diagnosis if printed, e.g. 'J18.9'", "Tax id exactly as shown", "Order reference as written",
                 "Customer code, if any"):
        assert code_ask("code", said, node), said
    for said in (None, "The ICD-10 code for the diagnosis", "Currency code (ISO 4217)"):
        assert not code_ask("code", said, node), said
    assert not code_ask("code", "as printed", {"type": "string"})  # no pattern: free text
    assert not code_ask("code", "as printed", {"type": "string", "pattern": ICD, "enum": ["J18.9"]})
    assert not code_ask("issued", "as printed", {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"})  # a date field
    assert not code_ask("total", "as printed", {"type": "string", "pattern": r"^\d+\.\d{2}$"})  # an amount


def test_the_codes_a_document_prints_stand_alone_and_match_the_pattern_whole():
    text = "Sepsis (A41.9), anemia D50.9. Cellulitis L03.115\nward B12X, room 4A41.9, again A41.9"
    assert printed_codes(text, ICD) == ["A41.9", "D50.9", "L03.115"]
    assert printed_codes("Diagnoses: sepsis, anemia", ICD) == []
    assert printed_codes("Ref: INV-2023-0042 / inv-1", r"^INV-\d{4}-\d{4}$") == ["INV-2023-0042"]


def test_a_pattern_too_loose_or_unreadable_is_not_searched():
    words = " ".join(f"W{i:03d}" for i in range(MAX_CODES + 1))
    assert printed_codes(words, r"^[A-Z][0-9]+$") is None
    assert printed_codes("A41.9", r"^(?P<x[$") is None
