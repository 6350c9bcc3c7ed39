"""Where a list's items are printed: the items a model wrote past the end of a document's list (`extract/item_rows`)."""

import datetime as dt
from decimal import Decimal

from fieldmill.extract.evidence import DocumentIndex, ground
from fieldmill.extract.item_rows import open_ends, stray_cuts, went_on
from fieldmill.schema.load import load_schema

MEDICAL = load_schema("medical_record").hardened
INVOICE = load_schema("invoice").hardened
CONTRACT = load_schema("legal_contract").hardened

SUMMARY = """Laboratory results
Creatinine 1.16 mg/dL
Glucose 176 mg/dL (H)

Discharge
Condition at discharge Stable
Discharged to Home

Discharge medications
Metformin 500 mg PO twice daily
Atorvastatin 40 mg PO at bedtime
"""


def lab(test, value, unit, flag=None):
    return {"test": test, "value": value, "unit": unit, "flag": flag}


def test_an_item_whose_values_are_printed_but_never_together_ends_the_list():
    record = {"lab_results": [lab("Creatinine", 1.16, "mg/dL"), lab("Glucose", 176.0, "mg/dL", "high"),
                              lab("Discharge", 500.0, "mg/dL")]}  # a heading, a dose four lines below it, the labs' unit
    assert stray_cuts(record, MEDICAL, SUMMARY) == {"lab_results": 2}


def test_the_previous_row_again_under_another_name_ends_the_list():
    record = {"lab_results": [lab("Creatinine", 1.16, "mg/dL"), lab("Glucose", 176.0, "mg/dL"), lab("H", 176.0, "mg/dL")]}
    assert stray_cuts(record, MEDICAL, SUMMARY) == {"lab_results": 2}


def test_rows_as_printed_are_kept_and_a_value_printed_nowhere_does_not_end_a_list():
    record = {"lab_results": [lab("Creatinine", 1.16, "mg/dL"), lab("Glucose", 176.0, "mg/dL", "high")],
              "discharge_medications": [{"name": "Metformin", "dose": "500 mg", "route": "oral", "frequency": "twice daily"},
                                        {"name": "Atorvastatin", "dose": "40 mg", "route": "oral", "frequency": "nightly"}]}
    assert stray_cuts(record, MEDICAL, SUMMARY) == {}  # `nightly` is not printed: the item still has its row


def test_a_table_row_with_single_spaces_between_its_numbers_is_a_row():
    text = "Items\nForklift rental 10 157.12 0% 1571.20\nCloud hosting 7 418.73 0 2931.11\n\nTotals\nSubtotal 4502.31\n"
    items = [{"description": "Forklift rental", "quantity": Decimal(10), "unit": None, "unit_price": Decimal("157.12"),
              "tax_rate_percent": Decimal(0), "amount": Decimal("1571.20")},
             {"description": "Cloud hosting", "quantity": Decimal(7), "unit": None, "unit_price": Decimal("418.73"),
              "tax_rate_percent": Decimal(0), "amount": Decimal("2931.11")}]
    assert stray_cuts({"line_items": items}, INVOICE, text) == {}
    numbers = {value for _, _, readings in DocumentIndex(text).numbers() for value in readings}
    assert {Decimal(10), Decimal("157.12"), Decimal(7), Decimal("418.73")} <= numbers  # `10 157.12` is also its two parts


def test_a_table_read_a_column_at_a_time_is_not_judged_by_rows():
    text = "Items\nCordless drill\nDelivery and set-up\nPaint, white 10L\nWall plugs\nQty\n2\n3\n12\n5\nAmount\n90.00\n45.00\n706.68\n4.95\n"
    items = [{"description": d, "quantity": Decimal(q), "unit": None, "unit_price": None, "tax_rate_percent": None, "amount": Decimal(a)}
             for d, q, a in (("Cordless drill", 2, "90.00"), ("Delivery and set-up", 3, "45.00"), ("Paint, white 10L", 12, "706.68"),
                             ("Wall plugs", 5, "4.95"))]
    assert stray_cuts({"line_items": items}, INVOICE, text) == {}


def test_an_item_whose_description_is_wrapped_over_many_lines_is_a_row():
    """Nine lines of one description: any four of them are a near match of it (evidence's fuzzy match aligns the
    shorter text inside the longer), so the item still has its row."""
    text = ("Items\nCordless drill 2 90.00\nInstallation of the shelving system in the\nnorth warehouse, including\n"
            "anchoring to the concrete floor,\nlevelling, the removal of the old racks,\nthe disposal of packaging,\n"
            "a walk-through with the site manager,\ntwo spare brackets per bay\nand the safety inspection certificate 1 450.00\n"
            "\nTotal 540.00\n")
    items = [{"description": "Cordless drill", "quantity": Decimal(2), "unit": None, "unit_price": None, "tax_rate_percent": None,
              "amount": Decimal("90.00")},
             {"description": "Installation of the shelving system in the north warehouse, including anchoring to the concrete "
                             "floor, levelling, the removal of the old racks, the disposal of packaging, a walk-through with the site "
                             "manager, two spare brackets per bay and the safety inspection certificate", "quantity": Decimal(1), "unit": None,
              "unit_price": None, "tax_rate_percent": None, "amount": Decimal("450.00")}]
    assert stray_cuts({"line_items": items}, INVOICE, text) == {}


def test_signature_blocks_of_four_lines_are_rows():
    text = ("SIGNATURES\nFor Acme GmbH:\nBy: Mirja Cichorius\nTitle: CEO\nDate: June 30, 2025\n"
            "For Beta AG:\nBy: Felix Trubin\nTitle: Chief Executive Officer\nDate: June 30, 2025\n")
    signatories = [{"name": "Mirja Cichorius", "title": "CEO", "party": "Acme GmbH", "signed_date": dt.date(2025, 6, 30)},
                   {"name": "Felix Trubin", "title": "Chief Executive Officer", "party": "Beta AG", "signed_date": dt.date(2025, 6, 30)}]
    assert stray_cuts({"signatories": signatories}, CONTRACT, text) == {}


def test_lists_of_strings_and_single_items_are_not_judged():
    record = {"lab_results": [lab("Discharge", 500.0, "mg/dL")], "medications_stopped": ["Creatinine", "Discharge"]}
    assert stray_cuts(record, MEDICAL, SUMMARY) == {}


def evidence_of(record, hardened, text):
    """The evidence the run writes for an answer (the real grounding)."""
    return [e.as_row() for e in ground(record, hardened, DocumentIndex(text)).evidence]


def med(name, dose, route, frequency):
    return {"name": name, "dose": dose, "route": route, "frequency": frequency}


MEDICATIONS = """Discharge medications
Insulin glargine 18 units SC at bedtime
Furosemide 40 mg oral once daily
Apixaban 5 mg PO BID

Follow-up and instructions
Follow-up Dr. Ana Ruiz on 25.08.2025
"""


def test_a_list_that_stops_before_lines_like_its_rows_is_open_and_its_next_rows_are_known():
    record = {"discharge_medications": [med("Insulin glargine", "18 units", "subcutaneous", "at bedtime")]}
    ends = open_ends(record, MEDICAL, evidence_of(record, MEDICAL, MEDICATIONS), MEDICATIONS)
    assert list(ends) == ["discharge_medications"] and ends["discharge_medications"].given == 1 and ends["discharge_medications"].items == 3
    assert [MEDICATIONS[start:end] for start, end in ends["discharge_medications"].rows] == ["Furosemide 40 mg oral once daily", "Apixaban 5 mg PO BID"]


def test_a_list_followed_by_a_heading_or_by_a_line_the_answer_holds_is_not_open():
    whole = {"discharge_medications": [med("Insulin glargine", "18 units", "subcutaneous", "at bedtime"),
                                       med("Furosemide", "40 mg", "oral", "once daily"), med("Apixaban", "5 mg", "oral", "BID")]}
    assert open_ends(whole, MEDICAL, evidence_of(whole, MEDICAL, MEDICATIONS), MEDICATIONS) == {}  # `Follow-up and instructions`: no row
    lab_table = "Laboratory results\nGlucose 176 mg/dL (H)\nHospital course\nTreated on day 2.\n"
    labs = {"lab_results": [lab("Glucose", 176.0, "mg/dL", "high")]}
    assert open_ends(labs, MEDICAL, evidence_of(labs, MEDICAL, lab_table), lab_table) == {}  # a row prints a number, a heading none
    claimed = "Laboratory results\nGlucose 176 mg/dL (H)\nWeight 81 kg\n"
    weighed = {"lab_results": [lab("Glucose", 176.0, "mg/dL", "high")], "weight_kg": 81.0}
    assert open_ends(weighed, MEDICAL, evidence_of(weighed, MEDICAL, claimed), claimed) == {}  # the next line is another field's


def test_an_answer_asked_for_more_items_went_on_as_far_as_its_new_items_are_the_rows_expected_in_order():
    short = {"discharge_medications": [med("Insulin glargine", "18 units", "subcutaneous", "at bedtime")]}
    end = open_ends(short, MEDICAL, evidence_of(short, MEDICAL, MEDICATIONS), MEDICATIONS)["discharge_medications"]
    given = short["discharge_medications"]

    def gone(items):
        record = {"discharge_medications": items}
        return went_on(record, evidence_of(record, MEDICAL, MEDICATIONS), "discharge_medications", end, MEDICATIONS)

    furosemide, apixaban = med("Furosemide", "40 mg", "oral", "once daily"), med("Apixaban", "5 mg", "oral", "BID")
    assert gone(given + [furosemide, apixaban]) == 2
    assert gone(given + [furosemide, med("Dr. Ana Ruiz", None, None, "25.08.2025")]) == 1  # the follow-up line is no row of it
    assert gone(given + [apixaban, furosemide]) == 0  # out of order
    assert gone(given) == 0
