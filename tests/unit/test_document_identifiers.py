"""Numbers that identify something: the fields that ask for one, and the codes a document offers (document_identifiers.py)."""

from __future__ import annotations

import pytest

from fieldmill.document_identifiers import identifier_ask, identifier_candidates
from fieldmill.hardening import harden
from fieldmill.lark_grammar import document_grammar

INVOICE = """Holt-Walker
VAT Reg. No.: FR99 339968014
ABN 95 624 969 067, Sydney
Invoice # : 6117/89
Invoice Date : March 10, 2024 13:01:44
Design revisions 1 22.63 22.63
GST : 1.58
TOTAL (AUD) : 24.21
Phone: (646)840-7432X554
IBAN: DE36 4132 9939 2915 9046 48
"""


@pytest.mark.parametrize("name, description, asks", [
    ("Seller vat", "VAT or tax number of the seller", True),
    ("vat_number", None, True),
    ("Account No.", None, True),
    ("invoiceNumber", None, True),
    ("MRN", "Medical record number", True),
    ("policy reference", None, True),
    ("Tax ID", None, True),
    ("Customer name", None, False),
    ("Number of items", None, False),
    ("Amount due", None, False),
    ("Vat amount", "VAT charged", False),
    ("Invoice date", None, False),  # a date: document_dates
    ("Billing address", "address including the street number", False),
])
def test_which_fields_ask_for_an_identifier(name, description, asks):
    assert identifier_ask(name, description, {"type": "string"}) is asks
    assert not identifier_ask(name, description, {"type": "string", "pattern": "^[A-Z]+$"})  # the schema says what it is
    assert not identifier_ask(name, description, {"type": "integer"})


def test_the_codes_a_document_prints_are_offered_and_its_amounts_dates_and_times_are_not():
    found = identifier_candidates(INVOICE)
    for code in ("FR99 339968014", "339968014", "ABN 95 624 969 067", "95 624 969 067", "6117/89", "(646)840-7432X554",
                 "DE36 4132 9939 2915 9046 48"):
        assert code in found, code
    for other in ("1.58", "22.63", "24.21", "13:01:44", "2024", "10, 2024", "Holt-Walker", "IBAN: DE36", "067, Sydney"):
        assert other not in found, other
    assert len(found) == len(set(found)) and identifier_candidates("No codes here, only words.") == []
    assert identifier_candidates("Confirmation no. AB-2 for 1 seat.") == ["AB-2"]  # a short code, not a count


def test_an_identifier_field_takes_one_of_them_or_decodes_as_free_text_where_none_is_printed():
    hardened = harden({"type": "object", "properties": {"Seller vat": {"type": "string", "description": "VAT or tax number of the seller"}}})
    grammar = document_grammar(hardened, INVOICE, spans=False, dates=True, numbers=True)
    assert '"\\"FR99 339968014\\""' in grammar and '"\\"1.58\\""' not in grammar
    assert document_grammar(hardened, "A letter with no codes at all.", spans=False, dates=True, numbers=True) is None
    assert "FR99" not in (document_grammar(hardened, INVOICE, spans=False, dates=True, numbers=False) or "")  # --numbers any: free text
