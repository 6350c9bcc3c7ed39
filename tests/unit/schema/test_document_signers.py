"""Who signed a letter: the fields that ask for it, and the lines a letter offers (schema/document_signers.py)."""

from __future__ import annotations

import pytest

from fieldmill.schema.document_signers import signer_ask, signer_candidates, signer_title_ask, signer_title_candidates
from fieldmill.schema.hardening import harden
from fieldmill.schema.lark_grammar import document_grammar

LETTER = """Brown PLC
4423 Jeffrey Avenue, Port Mary
June 5, 2017
Jonathan Mccall
809 Lisa Fields, Kennethbury
Dear Mr Mccall,
We write regarding termination of services. Please reply no later than 26 June 2017.
Yours sincerely,
~~/\\~~
Dr Jane Doe, Head of Accounts
Brown PLC
"""


@pytest.mark.parametrize("name, description, asks", [
    ("sender-name", "person who signed the letter.", True),
    ("signatory", None, True),
    ("signed_by", None, True),
    ("signer", "Name of the signer", True),
    ("job-title", "Job title of the person who signed.", False),  # about the signer, not the signer
    ("date_signed", None, False),  # a date: document_dates
    ("sender", "Company that sent the letter", False),
    ("signature", "Whether the letter is signed", False),
    ("recipient", "Person the letter is addressed to", False),
])
def test_which_fields_ask_for_the_person_who_signed(name, description, asks):
    assert signer_ask(name, description, {"type": "string"}) is asks
    assert not signer_ask(name, description, {"type": "string", "enum": ["a"]})


def test_the_lines_under_the_last_closing_are_offered_scrawls_left_out():
    assert signer_candidates(LETTER) == ["Dr Jane Doe, Head of Accounts", "Dr Jane Doe", "Brown PLC"]
    assert signer_candidates("Kind regards\n\nSam Lee\n") == ["Sam Lee"]
    assert signer_candidates("An invoice with no closing\nTotal 12.50") == []


def test_a_signer_field_takes_one_of_those_lines_or_null():
    hardened = harden({"type": "object", "properties": {"sender-name": {"type": "string", "description": "person who signed the letter."},
                                                        "job-title": {"type": "string", "description": "Job title of the person who signed."}}})
    grammar = document_grammar(hardened, LETTER, spans=False, dates=True, numbers=True)
    choice = next(line for line in grammar.splitlines() if '"\\"Dr Jane Doe\\""' in line)
    assert choice.split(": ", 1)[1] == '"\\"Dr Jane Doe, Head of Accounts\\"" | "\\"Dr Jane Doe\\"" | "\\"Brown PLC\\""'
    assert document_grammar(hardened, LETTER, spans=False, dates=True, numbers=False) is None or "Jane" not in \
        document_grammar(hardened, LETTER, spans=False, dates=True, numbers=False)  # --numbers any: free text


def test_what_a_schema_asks_of_a_document_is_known_from_the_schema_alone():
    """The reader computes it once per schema or field group (extract.Reading), not per document."""
    from fieldmill.schema.lark_grammar import Asks, asks

    letter = harden({"type": "object", "properties": {"sender-name": {"type": "string", "description": "person who signed the letter."}}})
    assert asks(letter).signers and not asks(letter).dates
    dated = harden({"type": "object", "properties": {"issued": {"type": "string", "format": "date"}, "total": {"type": "number"}}})
    assert asks(dated).dates and asks(dated).numbers and not asks(dated).signers
    # given or not, the document's grammar is the same
    assert document_grammar(letter, LETTER, spans=False, dates=True, numbers=True, asked=asks(letter)) == \
        document_grammar(letter, LETTER, spans=False, dates=True, numbers=True)
    nothing = Asks(free_text=False, naming=False, dates=False, numbers=False, signers=False)
    assert document_grammar(letter, LETTER, spans=False, dates=True, numbers=True, asked=nothing) is None  # it reads what it is told


@pytest.mark.parametrize("name, description, asks", [
    ("signatoryTitle", None, True),
    ("job-title", "Job title of the person who signed.", True),
    ("position", "Position of the signatory", True),
    ("title_of_signer", None, True),
    ("signatory", None, False),  # the signer, not the title
    ("job_title", "Applicant's occupation", False),  # nobody signing
    ("date_signed", None, False),
])
def test_which_fields_ask_for_the_signers_title(name, description, asks):
    assert signer_title_ask(name, description, {"type": "string"}) is asks


def test_the_signers_title_is_a_line_after_the_name_never_the_name_an_address_or_the_organisation_signed_for():
    assert signer_title_candidates(LETTER) == ["Head of Accounts"]  # Brown PLC is the letterhead's
    closing = "Yours sincerely,\n\nSean Barry\nConference centre manager\nFor and on behalf of Ali Group\n5 Charlie Fork,\n"
    assert signer_title_candidates("Dear Ms Moore,\nThank you.\n" + closing) == ["Conference centre manager"]
    assert signer_title_candidates("Kind regards,\nEmily Cruz\nFor and on behalf of Taylor LLC\n929 Evan Crest Suite 720,\n") == []
    hardened = harden({"type": "object", "properties": {"signatoryTitle": {"type": "string"}}})
    grammar = document_grammar(hardened, "Dear Ms Moore,\nThank you.\n" + closing, spans=False, dates=True, numbers=True)
    assert '"\\"Conference centre manager\\""' in grammar and "Sean Barry" not in grammar
    nullable = harden({"type": "object", "properties": {"signatoryTitle": {"type": ["string", "null"]}}})
    assert "null" not in document_grammar(nullable, "Dear Ms Moore,\nThank you.\n" + closing, spans=False, dates=True, numbers=True)
    assert "null" in document_grammar(nullable, "Dear Ms Moore,\nThank you.\nKind regards,\nEmily Cruz\nTotal 12.50\n", spans=False, dates=True,
                                       numbers=True)  # no title under the name: free, or null
