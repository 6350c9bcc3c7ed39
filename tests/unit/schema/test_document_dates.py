"""Which dates a document prints, and which fields ask for a date in which form (schema/document_dates.py)."""

from __future__ import annotations

import pytest

from fieldmill.schema.document_dates import DAY_FIRST, MONTH_FIRST, numeric_order, ISO, PRINTED, date_ask, iso_candidates, printed_candidates, printed_dates


def test_printed_dates_in_the_forms_documents_print_them():
    text = ("DATE : 14/03/2019 10:42:07 AM\nInvoice date: March 5, 2024   Due 5th April 2024\n"
            "D.O.B. 26 March 1969  Visit 14-MAR-19  printed 2019-03-14  Datum 14.03.2019  le 3 févr. 2020\n"
            "DATE 09/JAN/2018\nentered into on this 14th day of June, 2011 (the \"Signing Date\")")
    found = {d.text: d.dates for d in printed_dates(text)}
    assert found == {"14/03/2019": ("2019-03-14",), "March 5, 2024": ("2024-03-05",), "5th April 2024": ("2024-04-05",),
                     "26 March 1969": ("1969-03-26",), "14-MAR-19": ("2019-03-14",), "2019-03-14": ("2019-03-14",),
                     "14.03.2019": ("2019-03-14",), "3 févr. 2020": ("2020-02-03",), "09/JAN/2018": ("2018-01-09",),
                     "14th day of June, 2011": ("2011-06-14",)}


def test_an_ambiguous_date_offers_both_readings_and_an_impossible_one_neither():
    assert [d.dates for d in printed_dates("on 03/04/21 and 31/02/2020")] == [("2021-04-03", "2021-03-04")]


def test_an_ambiguous_date_reads_as_the_documents_other_numeric_dates_do():
    # 26/04/58 can only be day first, so 04/10/21 is 4 October (a clinical note's review date), not 10 April
    assert [d.dates for d in printed_dates("D.O.B. 26/04/58  Visit 20/09/21  Review on 04/10/21")] == [
        ("1958-04-26",), ("2021-09-20",), ("2021-10-04",)]
    assert [d.dates for d in printed_dates("Date 04/26/2021, due 05/06/2021")] == [("2021-04-26",), ("2021-05-06",)]
    assert numeric_order("03/04/21 and 13/04/2021") == DAY_FIRST and numeric_order("12/31/2020") == MONTH_FIRST
    # dates that disagree, or none that reads one way only, leave both readings to the model
    assert numeric_order("13/04/2021 and 04/13/2021") is None and numeric_order("03/04/21 and 31/02/2020") is None
    assert printed_dates("13/04/2021, 04/13/2021, 03/04/21")[-1].dates == ("2021-04-03", "2021-03-04")
    assert printed_dates("2021-04-13 and 03/04/21")[-1].dates == ("2021-04-03", "2021-03-04")  # ISO says nothing of the order


@pytest.mark.parametrize("text", ["tel 012-345-6789", "amount 1.234,56", "version 1.2.3", "card 12/2019", "ref 4411-22-33-44",
                                  "total 14.03.20199", "IP 10.1.2.300"])
def test_numbers_that_are_not_dates_are_not_offered(text):
    assert printed_dates(text) == []


def test_candidates_keep_document_order_each_once():
    dates = printed_dates("Issued 02/01/2020, paid 2020-01-02, due 15 Jan 2020")
    assert printed_candidates(dates) == ["02/01/2020", "2020-01-02", "15 Jan 2020"]
    assert iso_candidates(dates) == ["2020-01-02", "2020-02-01", "2020-01-15"]
    assert printed_candidates(printed_dates("made on the 14th day of\nJune, 2011")) == ["14th day of June, 2011"]  # a value is one line


@pytest.mark.parametrize("name, description, node, ask", [
    ("issue_date", None, {"type": "string", "format": "date"}, ISO),
    ("when", None, {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}, ISO),
    ("periodStart", "First day of the period in YYYY-MM-DD format.", {"type": "string"}, ISO),
    ("date", "The date exactly as printed, e.g. 25/12/2018", {"type": "string"}, PRINTED),
    ("birthDate", "Patient's date of birth as written", {"type": "string"}, PRINTED),
    ("visit", "when the patient came, e.g. 25/12/2018", {"type": "string"}, PRINTED),  # a printed example shows the form
    ("visit", "when the patient came, e.g. 2019-03-14", {"type": "string"}, ISO),
    ("Invoice Date", None, {"type": "string"}, PRINTED),  # a text field holds the date as the document prints it
    ("candidate_name", "who applied", {"type": "string"}, None),
    ("company", "Name of the company that issued the receipt", {"type": "string"}, None),
    ("terms", "Payment terms, e.g. due 30 days after the invoice date", {"type": "string"}, None),
    ("when", "Date of the visit", {"type": "string"}, PRINTED),
    ("signed", "the signature date, as written", {"type": "string"}, PRINTED),
    ("updated_by", None, {"type": "string"}, None),
    ("code", None, {"type": "string", "pattern": "^[A-Z]{2}-[0-9]{7}$"}, None),
    ("date_kind", None, {"type": "string", "enum": ["issue", "due"]}, None),
    ("started", None, {"type": "string", "format": "date-time"}, None),
    ("date", None, {"type": "number"}, None),
])
def test_which_fields_ask_for_a_date_and_in_which_form(name, description, node, ask):
    assert date_ask(name, description, node) == ask


FORM = """EXPENSE CLAIM
Please complete in BLOCK CAPITALS and sign overleaf.
Date of birth
23 Aug 1972
D.O.B. 23/08/1972
I declare that the information given on this form is true and complete.
Signature: ____________ Date: August 22, 2025
"""


def test_each_printed_date_carries_the_words_that_say_which_date_it_is():
    labels = {d.text: d.label for d in printed_dates(FORM)}
    assert labels == {"23 Aug 1972": "Date of birth", "23/08/1972": "D.O.B.", "August 22, 2025": "Signature: ____________ Date:"}
    ranged = printed_dates("Invoice 12\nBilling period : 11/26/23 through 12/25/23\nDue date 01/08/24")
    assert [d.label for d in ranged] == ["Billing period :", "Billing period : through", "Due date"]  # a range shares its label
    defined = printed_dates('This Lease (the "Agreement") is made as of 03/26/2024 (the "Effective\nDate") by and between')
    assert defined[0].label == '(the "Agreement") is made as of (the "Effective Date")'  # the last words, and a definition after


@pytest.mark.parametrize("name, description, offered", [
    ("date", "Date the form was signed as it appears on the document.", ["August 22, 2025"]),
    ("date-of-birth", "Applicant's date of birth", ["23 Aug 1972", "23/08/1972"]),
    ("dob", None, ["23 Aug 1972", "23/08/1972"]),
    ("date", "Date of the form", ["23 Aug 1972", "23/08/1972", "August 22, 2025"]),  # no word but the document's: every date
    ("next_visit", "date of the follow-up visit", ["23 Aug 1972", "23/08/1972", "August 22, 2025"]),  # no label says next
])
def test_a_field_is_offered_the_dates_its_words_label_when_some_but_not_all_do(name, description, offered):
    from fieldmill.schema.document_dates import named_dates

    assert [d.text for d in named_dates(printed_dates(FORM), name, description)] == offered


def test_a_qualified_field_takes_only_a_date_labelled_with_its_qualifier():
    from fieldmill.schema.document_dates import named_dates

    note = "Visit date: 20/09/21\nNext visit on 04/10/21\nD.O.B. 26/04/58"
    assert [d.text for d in named_dates(printed_dates(note), "next_visit", "Date of the next visit")] == ["04/10/21"]
    assert [d.text for d in named_dates(printed_dates(note), "visit_date", "Date of the visit")] == ["20/09/21", "04/10/21"]


def test_a_date_field_s_grammar_offers_only_the_dates_its_label_names():
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {"signed": {"type": "string", "description": "Date the form was signed, as printed"}}})
    grammar = document_grammar(hardened, FORM, spans=False, dates=True)
    assert "August 22, 2025" in grammar and "23 Aug 1972" not in grammar
