"""Which numbers a document prints, and which fields take one (schema/document_numbers.py)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fieldmill.schema.document_numbers import DECIMAL2, NUMBER, PRINTED_AMOUNT, decimal2_candidates, json_number, number_ask, number_candidates
from fieldmill.schema.document_numbers import amount_texts, names_a_person, names_a_thing, printed_amount_candidates, printed_numbers


def readings(text: str) -> dict[str, list[str]]:
    return {p.text: [str(v) for v in p.values] for p in printed_numbers(text)}


def test_grouped_and_local_forms_read_as_the_same_amount():
    assert readings("TOTAL RM1,234.56 | Summe 1.234,56 EUR | 1'234.56 CHF | 4,127.89") == {
        "1,234.56": ["1234.56"], "1.234,56": ["1234.56"], "1'234.56": ["1234.56"], "4,127.89": ["4127.89"]}


def test_an_ambiguous_group_offers_both_readings_and_signs_offer_both_signs():
    assert readings("Menge 1.234  Rabatt (12.50)  Korrektur -3,00") == {
        "1.234": ["1234", "1.234"], "(12.50)": ["-12.50", "12.50"], "-3,00": ["-3.00", "3.00"]}


def test_table_columns_stay_separate_numbers():
    assert readings("2 45.00 90.00") == {"2": ["2"], "45.00": ["45.00"], "90.00": ["90.00"]}


def test_candidates_are_written_as_the_constraint_writes_numbers_within_bounds_and_steps():
    numbers = printed_numbers("Qty 6.25 x 53.13 = 332.06, VAT 20%, paid 1,000.00, ref 0.001")
    node = {"type": "number", "minimum": 0, "maximum": 999.99, "multipleOf": 0.01}
    assert number_candidates(numbers, node) == ["6.25", "53.13", "332.06", "20"]  # 1000 is out of bounds, 0.001 off the step
    assert json_number(Decimal("120.00")) == "120" and json_number(Decimal("-0.0")) == "0" and json_number(Decimal("1E+3")) == "1000"
    assert decimal2_candidates(printed_numbers("Total 1.234,5 | 12.50 | 7 | 0.125")) == ["1234.50", "12.50", "7.00"]


@pytest.mark.parametrize("name, description, node, ask", [
    ("total", None, {"type": "number"}, NUMBER),
    ("total", "Total paid, digits with two decimals", {"type": "string"}, DECIMAL2),
    ("amountDue", "as a number with 2 decimal places, no currency symbol", {"type": "string"}, DECIMAL2),
    ("total", None, {"type": "string", "pattern": "^-?[0-9]+\\.[0-9]{2}$"}, DECIMAL2),
    ("closingBalance", "Balance at the end of the period as printed, without the currency", {"type": "string"}, PRINTED_AMOUNT),
    ("total", "Total exactly as shown on the receipt", {"type": "string"}, PRINTED_AMOUNT),
    ("Seller vat", "VAT or tax number of the seller, as printed", {"type": "string"}, None),  # an identifier, not an amount
    ("accountNumber", "account number as printed", {"type": "string"}, None),
    ("dueDate", "Date payment is due, as printed", {"type": "string"}, None),  # a date: document_dates offers it
    ("note", "anything as printed", {"type": "string"}, None),
    ("count", None, {"type": "integer"}, None),
    ("code", "two decimals of precision in the lab value", {"type": "string", "enum": ["a"]}, None),
    ("note", "mentions 12.50 somewhere", {"type": "string"}, None),
    ("payment_terms", "Payment terms as written, e.g. 'Net 30'.", {"type": "string"}, None),  # how money is paid, not how much
    ("paymentMethod", "Payment method as printed", {"type": "string"}, None),
    ("payment", "Payment received as printed", {"type": "string"}, PRINTED_AMOUNT),
])
def test_which_fields_take_a_printed_number(name, description, node, ask):
    assert number_ask(name, description, node) == ask


def test_the_parts_of_dates_and_times_are_not_amounts():
    assert readings("Date 06/04/2023 10:42:07 AM  Due 5 May 2023  Total 2,023.50") == {"2,023.50": ["2023.50"]}


def test_numbers_inside_codes_are_not_amounts_but_glued_currency_is():
    text = "Invoice # : INV-06729  Port Julie, S4J 4K2  SW1A 7QG  order 2024-0042  RM12.50  12.50EUR  Balance -3.10"
    assert readings(text) == {"12.50": ["12.50"], "-3.10": ["-3.10", "3.10"]}


def test_an_amount_asked_as_printed_is_offered_as_printed():
    numbers = printed_numbers("Opening 1,169.34  Closing 3.289,38  Fee (12.50)")
    assert printed_amount_candidates(numbers) == ["1,169.34", "3.289,38", "(12.50)"]


@pytest.mark.parametrize("name, description, names", [
    ("Seller vat", "VAT or tax number of the seller, as printed", True),
    ("accountNumber", "account number", True),
    ("Bill to", "Customer the invoice is addressed to", True),
    ("sender-name", "person who signed the letter.", True),
    ("invoice_no", None, True),
    ("Amount due", None, False),  # money
    ("total", "total as a number", False),
    ("dueDate", "Date payment is due", False),  # a date: document_dates
    ("notes", None, False),  # says nothing of what it holds
    ("to", None, True),  # a letter's addressee, named by its header's word
    ("From", None, True),
    ("valid_to", None, False),  # an end, not a person
    ("to", "the last day covered", False),  # its description says otherwise
])
def test_which_fields_name_a_thing(name, description, names):
    assert names_a_thing(name, description, {"type": "string"}) is names
    assert not names_a_thing(name, description, {"type": "string", "enum": ["a"]})


@pytest.mark.parametrize("name, description, person", [
    ("to", "Person the letter is addressed to", True),
    ("patient_name", None, True),
    ("primary_care_physician", None, True),
    ("signatory", "Who signed", True),
    ("signatoryTitle", None, False),  # their title
    ("patient_address", "Patient's address", False),
    ("mrn", "Patient's medical record number", False),
    ("buyer", "Company billed", False),  # a company may hold digits (3M, 7-Eleven)
    ("allergies", "Allergies the patient reports", False),  # mentions a person, holds no name
    ("name", "Name of the person who signed", True),
])
def test_which_fields_hold_a_persons_name(name, description, person):
    assert names_a_person(name, description, {"type": "string"}) is person


def test_amounts_in_every_form_a_model_writes_them():
    assert amount_texts(printed_numbers("Total 1,158.40  Qty 3  Rabatt (2,5)")) == ["1,158.40", "1158.40", "1158.4", "(2,5)", "-2.50", "2.50", "-2.5", "2.5"]


def test_a_whole_number_before_a_word_is_a_street_number_or_a_count_not_an_amount():
    numbers = printed_numbers("25737 West Ports Suite 911\nPayment within 30 days, 3 items\nTotal 25 EUR, tip 5 dollars\nQty 2 45.00")
    assert decimal2_candidates(numbers) == ["911.00", "25.00", "5.00", "2.00", "45.00"]
    assert printed_amount_candidates(numbers) == ["911", "25", "5", "2", "45.00"]
    assert "25737" in number_candidates(numbers, {"type": "number"})  # still a number: a count field may want it
