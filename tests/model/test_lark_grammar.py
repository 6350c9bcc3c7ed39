"""`--grounding strict`'s per-document grammar, compiled by llguidance with the bundled model's tokenizer (no mock).

It accepts a record whose free text is copied from the document (quotes, backslashes
and line breaks escaped inside a span included) and refuses a value the document does
not contain; enums, dates and numbers keep their own regexes.
"""

import json

import pytest

from fieldmill import synth
from fieldmill.schema.constraint import answer_text
from fieldmill.schema.lark_grammar import chunks, grounded_grammar
from fieldmill.model.source import BUNDLED_BASE, materialise
from fieldmill.schema.load import load_schema

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def tokenizer():
    import llguidance.hf
    from transformers import AutoTokenizer

    hf = AutoTokenizer.from_pretrained(materialise(BUNDLED_BASE))
    hf.llguidance = llguidance.hf.from_tokenizer(hf)  # built once, as an engine builds it once
    return hf


def matcher(tokenizer, grammar: str):
    """The compiled grammar; `accepts` walks a fresh matcher over each text (a matcher that refused a
    token stays in its error state, reset or not)."""
    import llguidance

    compiled = llguidance.LLMatcher.grammar_from_lark(grammar)
    assert not llguidance.LLMatcher.validate_grammar(compiled), llguidance.LLMatcher.validate_grammar(compiled)
    return compiled


def accepts(tokenizer, compiled, text: str) -> bool:
    import llguidance

    m = llguidance.LLMatcher(tokenizer.llguidance, compiled, log_level=0)
    return m.consume_tokens(tokenizer.encode(text, add_special_tokens=False)) and m.is_accepting()


@pytest.mark.parametrize("name", ["invoice", "legal_contract", "medical_record"])
def test_gold_records_are_spans_and_an_invented_value_is_refused(name, tokenizer, tmp_path):
    """Synthetic gold records whose free text is verbatim in their documents pass; changing one value to text
    the document lacks is refused by the compiled grammar."""
    from fieldmill.documents import read_document

    schema = load_schema(name)
    lines = synth.write_corpus(name, 6, str(tmp_path), seed=5, formats=("txt",))
    checked = 0
    for line in lines:
        text = read_document(str(tmp_path / line["name"]), line["name"], 0, 1 << 26).text
        record = schema.model.model_validate(line["record"]).model_dump(mode="json", by_alias=True)
        strings = [v for v in _free_text_values(record, schema.hardened) if v]
        if not all(v in text for v in strings):
            continue  # a generator paraphrased a value (a date inside a sentence): not a span record
        m = matcher(tokenizer, grounded_grammar(schema.hardened, text))
        answer = answer_text(record, schema.hardened)
        assert accepts(tokenizer, m, answer), answer[:300]
        invented = strings[0]
        assert "Zyxwvut Qopnml" not in text
        assert not accepts(tokenizer, m, answer.replace(json.dumps(invented, ensure_ascii=False), '"Zyxwvut Qopnml"', 1))
        checked += 1
    assert checked >= 2


def test_escaped_characters_inside_a_span_round_trip(tokenizer):
    from pydantic import BaseModel, Field

    from fieldmill.schema.hardening import harden

    class Note(BaseModel):
        quote: str = Field(max_length=80)
        count: int

    text = 'She said "ship it" \\ now\nthen left.'
    hardened = harden(Note.model_json_schema())
    m = matcher(tokenizer, grounded_grammar(hardened, text))
    value = 'said "ship it" \\ now\nthen'
    answer = answer_text({"quote": value, "count": 3}, hardened)
    assert accepts(tokenizer, m, answer)
    assert json.loads(answer)["quote"] == value  # the JSON decodes to the document's own characters
    assert not accepts(tokenizer, m, answer_text({"quote": "ship it now", "count": 3}, hardened))  # not contiguous
    assert "".join(json.loads(f'"{c}"') for c in chunks(text)) == text


def test_length_limits_hold_inside_spans(tokenizer):
    from pydantic import BaseModel, Field

    from fieldmill.schema.hardening import harden

    class Short(BaseModel):
        code: str = Field(max_length=5)

    hardened = harden(Short.model_json_schema())
    m = matcher(tokenizer, grounded_grammar(hardened, "alpha beta gamma"))
    assert accepts(tokenizer, m, '{"code":"alpha"}') and not accepts(tokenizer, m, '{"code":"alpha beta"}')


def _free_text_values(value, node):
    from fieldmill.schema.lark_grammar import is_free_text

    options = [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]
    if isinstance(value, dict):
        props = next(o["properties"] for o in options if "properties" in o)
        for key, item in value.items():
            yield from _free_text_values(item, props[key])
    elif isinstance(value, list):
        items = next(o["items"] for o in options if o.get("type") == "array")
        for item in value:
            yield from _free_text_values(item, items)
    elif isinstance(value, str) and any(is_free_text(o) for o in options):
        yield value


def _dated_schema():
    from fieldmill.schema.hardening import harden

    return harden({"type": "object", "properties": {
        "issued": {"type": "string", "format": "date"},
        "due": {"type": ["string", "null"], "description": "Due date, exactly as printed"},
        "period_end": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "customer": {"type": "string"},
    }})


def test_date_fields_take_the_dates_the_document_prints_in_the_form_asked(tokenizer):
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = _dated_schema()
    text = "INVOICE 7731\nDate: 03/04/2021\nPayment due 2 May 2021\nPeriod to 31-MAR-21\nBill to: Harbour Foods"
    m = matcher(tokenizer, document_grammar(hardened, text, spans=False, dates=True))

    def record(issued, due, end, customer="Harbour Foods"):
        return json.dumps({"issued": issued, "due": due, "period_end": end, "customer": customer}, separators=(",", ":"))

    assert accepts(tokenizer, m, record("2021-04-03", "2 May 2021", "2021-03-31"))
    assert accepts(tokenizer, m, record("2021-03-04", None, "2021-03-31"))  # 03/04/2021 read month first; a null where allowed
    assert accepts(tokenizer, m, record("2021-04-03", "2 May 2021", "2021-03-31", customer="anyone"))  # free text stays free
    assert not accepts(tokenizer, m, record("2620-04-03", "2 May 2021", "2021-03-31"))  # a date the document never prints
    assert not accepts(tokenizer, m, record("2021-04-03", "2021-05-02", "2021-03-31"))  # ISO where the field asks as printed
    assert not accepts(tokenizer, m, record("2021-04-03", "2 May 2021", "2021-41-64"))  # the pattern alone would allow it


def test_one_fields_value_after_its_key_takes_what_the_field_asks_of_the_document(tokenizer):
    """A doubted null continued from its key (`extract/doubted.py`): the grammar is the key, then the value, not null,
    among what the document prints for a field of that name (the date its label names: `Payment due`, not the issue
    `Date:`); a value-only schema knows its field by `name`."""
    from fieldmill.extract.doubted import field_schema
    from fieldmill.schema.lark_grammar import asks, document_stretch_grammar

    due = field_schema(_dated_schema(), "due")
    text = "INVOICE 7731\nDate: 03/04/2021\nPayment due 2 May 2021"
    m = matcher(tokenizer, document_stretch_grammar(((',"due":', due, "due"),), ",", text, spans=False, dates=True, asked=asks(due, "due")))
    assert accepts(tokenizer, m, ',"due":"2 May 2021",') and not accepts(tokenizer, m, ',"due":"03/04/2021",')
    assert not accepts(tokenizer, m, ',"due":null,') and not accepts(tokenizer, m, ',"due":"9 May 2021",')
    assert not accepts(tokenizer, m, '"2 May 2021",') and not accepts(tokenizer, m, ',"due":"2 May 2021"')  # the key first, the comma after


def test_several_values_continued_at_once_each_take_what_their_field_asks_with_the_text_between_fixed(tokenizer):
    """Doubted nulls continued in one request (`doubted.stretch`): each value after its fixed lead, as the document
    bounds a field of its name; the first answer's text between them does not change."""
    from fieldmill.extract.doubted import field_schema
    from fieldmill.schema.lark_grammar import document_stretch_grammar

    hardened = _dated_schema()
    values = [(',"due":', field_schema(hardened, "due"), "due"), (',"period_end":"2021-05-31","customer":', field_schema(hardened, "customer"), "customer")]
    text = "INVOICE 7731\nDate: 03/04/2021\nPayment due 2 May 2021\nCustomer: Ana Ruiz"
    m = matcher(tokenizer, document_stretch_grammar(values, "}", text, spans=True, dates=True))
    assert accepts(tokenizer, m, ',"due":"2 May 2021","period_end":"2021-05-31","customer":"Ana Ruiz"}')
    assert not accepts(tokenizer, m, ',"due":"9 May 2021","period_end":"2021-05-31","customer":"Ana Ruiz"}')  # a date it does not print
    assert not accepts(tokenizer, m, ',"due":"2 May 2021","period_end":"2021-06-30","customer":"Ana Ruiz"}')  # the text between is fixed
    assert not accepts(tokenizer, m, ',"due":"2 May 2021","period_end":"2021-05-31","customer":null}')


def test_a_document_without_dates_or_date_fields_keeps_the_schemas_own_constraint():
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = _dated_schema()
    assert document_grammar(hardened, "no date printed here", spans=False, dates=True) is None
    assert document_grammar(hardened, "Date: 03/04/2021", spans=False, dates=False) is None
    assert document_grammar(load_schema("invoice").hardened, "Date: 03/04/2021", spans=False, dates=True) is not None


def test_number_fields_take_the_numbers_the_document_prints(tokenizer):
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {
        "opening": {"type": "number", "description": "Balance at the start of the period"},
        "total": {"type": ["string", "null"], "description": "Total paid, digits with two decimals"},
        "items": {"type": "integer", "description": "How many lines"},
        "closing": {"type": ["string", "null"], "description": "Closing balance as printed, without the currency"},
    }})
    text = "Balance brought forward 4,127.89\nHardwood flooring 6.25 x 53.13 = 332.06\nTOTAL RM 1.234,50\nINV-2023 ref SW1A"
    m = matcher(tokenizer, document_grammar(hardened, text, spans=False, dates=False, numbers=True))

    def record(opening, total, items=3, closing="1.234,50"):
        return json.dumps({"opening": opening, "total": total, "items": items, "closing": closing}, separators=(",", ":"))

    assert accepts(tokenizer, m, record(4127.89, "1234.50")) and accepts(tokenizer, m, record(332.06, None, items=41, closing=None))
    assert not accepts(tokenizer, m, record(4.12789, "1234.50"))  # a misread group
    assert not accepts(tokenizer, m, record(332, "1234.50"))  # cents dropped
    assert not accepts(tokenizer, m, record(4127.89, "2023-04-06"))  # a date where an amount was asked
    assert not accepts(tokenizer, m, record(4127.89, "2023.00"))  # a code's digits are no amount
    assert not accepts(tokenizer, m, record(4127.89, "1234.50", closing="1234.50"))  # normalised where asked as printed
    assert accepts(tokenizer, m, record(4127.89, "1234.50", closing="4,127.89"))


def test_a_field_that_names_a_thing_is_never_exactly_an_amount_or_a_date_of_the_document(tokenizer):
    """A VAT number answered with the VAT amount, an account number with the statement date: refused; the
    field may still hold any other text (or a span of it under strict grounding)."""
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {
        "sellerVat": {"type": "string", "description": "VAT or tax number of the seller, as printed"},
        "accountNumber": {"type": ["string", "null"]},
        "note": {"type": "string"},
    }})
    text = "VAT Reg No GB 982 7140\nAccount 6909 0908 5173\nStatement date 15-12-2016\nVAT 20% 1,158.40\nSort code 41-1400-1223115"

    def record(vat, account, note="1,158.40"):
        return json.dumps({"sellerVat": vat, "accountNumber": account, "note": note}, separators=(",", ":"))

    for spans in (False, True):
        m = matcher(tokenizer, document_grammar(hardened, text, spans=spans, dates=True, numbers=True))
        assert accepts(tokenizer, m, record("GB 982 7140", "6909 0908 5173")) and accepts(tokenizer, m, record("GB 982 7140", None))
        for vat in ("1,158.40", "1158.40", "1158.4"):
            assert not accepts(tokenizer, m, record(vat, "6909 0908 5173"))
        assert not accepts(tokenizer, m, record("GB 982 7140", "15-12-2016")) and not accepts(tokenizer, m, record("GB 982 7140", "2016-12-15"))
        for padded in ("1158.40 1158.40", "1,158.40 ", "1,158.40 •", "15-12-2016-", "15-12-2016 03-08-2018"):  # the amount or date, padded
            assert not accepts(tokenizer, m, record(padded, "6909 0908 5173"))
        assert accepts(tokenizer, m, record("41-1400-1223115", "6909 0908 5173"))  # digits and dashes: an identifier
        if not spans:  # a tax number that opens with digits and dots is no amount
            assert accepts(tokenizer, m, record("12.345.678-9", None)) and accepts(tokenizer, m, record("9.5 Tower Road", None))
            assert accepts(tokenizer, m, record("GB 982 7140", "12-34-56"))  # shaped like a date, but none the document prints
            assert accepts(tokenizer, m, record("GB 982 7140", "1158.405"))  # the amount is no prefix of another number


def test_a_document_of_whole_numbers_leaves_a_naming_field_free(tokenizer):
    """A ticket printing only `3` (no amount with cents, no date): nothing to avoid, and the grammar is valid."""
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {"reference": {"type": "string", "description": "Booking reference"},
                                                        "seats": {"type": "integer"}}})
    m = matcher(tokenizer, document_grammar(hardened, "Booking reference TK-4821\nSeats: 3", spans=False, dates=True, numbers=True))
    assert accepts(tokenizer, m, '{"reference":"TK-4821","seats":3}') and accepts(tokenizer, m, '{"reference":"3","seats":3}')


def test_a_free_text_field_never_holds_its_own_description_or_name(tokenizer):
    """A receipt without a cashier: the model copied the question, `NAME OF THE CASHIER`; any case, with or without
    the description's full stop, is refused, while a value that only contains those words is not."""
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {
        "cashier": {"type": ["string", "null"], "description": "Name of the cashier."},
        "store_name": {"type": "string"}, "total": {"type": "number"}}})
    text = "KEDAI RUNCIT (M) SDN BHD\nTOTAL 12.50\n12/03/2019"
    m = matcher(tokenizer, document_grammar(hardened, text, spans=False, dates=True, numbers=True))

    def record(cashier, store="KEDAI RUNCIT (M) SDN BHD"):
        return json.dumps({"cashier": cashier, "store_name": store, "total": 12.5}, separators=(",", ":"))

    assert accepts(tokenizer, m, record(None)) and accepts(tokenizer, m, record("Name of the cashier Anna"))
    for copied in ("NAME OF THE CASHIER", "Name of the cashier.", "name of the cashier", "Cashier"):
        assert not accepts(tokenizer, m, record(copied))
    assert not accepts(tokenizer, m, record(None, store="STORE NAME")) and accepts(tokenizer, m, record(None, store="STORE"))


def test_a_field_that_holds_a_persons_name_holds_no_digit(tokenizer):
    """A letter's addressee after its reply-by date: the model wrote that date, padded (`2025-05-17\\`) or in another
    form, which no single date of the document matches; a person's name holds no digit."""
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {"deadline": {"type": "string", "format": "date"},
                                                        "to": {"type": "string", "description": "Person the letter is addressed to"},
                                                        "reference": {"type": "string"}}})
    text = "12 October 2025\nMr Darren Moore\n4 Angela Groves\nRef: 55/KB/10\nPlease reply by 17 May 2025."
    m = matcher(tokenizer, document_grammar(hardened, text, spans=False, dates=True, numbers=True))

    def record(to):
        return json.dumps({"deadline": "2025-05-17", "to": to, "reference": "55/KB/10"}, separators=(",", ":"), ensure_ascii=False)

    assert accepts(tokenizer, m, record("Mr Darren Moore")) and accepts(tokenizer, m, record("Zoë Ødegård-Nguyễn"))
    for slip in ("2025-05-17\\", "12 October 2025", "Darren Moore 4", "March  １９, ２０٢０", "October ๑ ๒", "September  Ⅰ, Ⅱ"):
        assert not accepts(tokenizer, m, record(slip))


def test_a_naming_field_stopped_at_an_amount_can_always_go_on(tokenizer):
    """A model that wrote one of the document's amounts into a VAT-number field must be able to go on: the
    negation of what a naming field avoids, with its length, must stay within llguidance's lexer limits (a
    richer negation -- an amount, a space, then anything -- made the lexer give up right there, and vLLM ended
    the answer mid-string: a failed row)."""
    import numpy as np
    import llguidance

    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    hardened = harden({"type": "object", "properties": {"Seller vat": {"type": "string", "description": "VAT or tax number of the seller"},
                                                        "Vat amount": {"type": "number"}}})
    text = "VAT Reg. No.: FR99 339968014\nSubtotal 22.63\nVAT 1.58\nTotal 24.21\nPaid 6.05\nDue 18.16\nDate March 10, 2024"
    compiled = matcher(tokenizer, document_grammar(hardened, text, spans=False, dates=True, numbers=True))
    for prefix in ('{"Seller vat":"1.58', '{"Seller vat":"1.58 1.58 9046 48', '{"Seller vat":"24.21 '):
        m = llguidance.LLMatcher(tokenizer.llguidance, compiled, log_level=0)
        assert m.consume_tokens(tokenizer.encode(prefix, add_special_tokens=False))
        allowed = np.frombuffer(m.compute_bitmask(), dtype=np.uint32)
        assert not m.get_error() and sum(bin(int(x)).count("1") for x in allowed) > 1000, (prefix, m.get_error()[:200])


def test_a_code_asked_as_printed_is_one_the_document_prints_or_null(tokenizer):
    """Diagnoses written without their ICD codes: the model wrote `C10`, `N00`, sure of itself. A patterned field that
    asks for what is printed takes the document's texts matching its pattern, or null where it prints none; a patterned
    field that says nothing of printing (it may ask the model to code) keeps its pattern."""
    from fieldmill.schema.hardening import harden
    from fieldmill.schema.lark_grammar import document_grammar

    icd = r"^[A-TV-Z][0-9][0-9AB](\.[0-9A-TV-Z]{1,4})?$"
    hardened = harden({"type": "object", "properties": {
        "diagnoses": {"type": "array", "maxItems": 3, "items": {"type": "object", "properties": {
            "description": {"type": "string", "maxLength": 60},
            "code": {"type": ["string", "null"], "pattern": icd, "description": "ICD-10 code of the diagnosis if printed"}}}},
        "coded": {"type": ["string", "null"], "pattern": icd, "description": "The ICD-10 code for the principal diagnosis"},
    }})

    def record(*codes, coded=None):
        items = [{"description": "Sepsis", "code": code} for code in codes]
        return json.dumps({"diagnoses": items, "coded": coded}, separators=(",", ":"))

    printed = "Diagnoses: Sepsis (A41.9); Anemia D50.9.\nTemp 38.2, BP 120/80, ward B12X"
    m = matcher(tokenizer, document_grammar(hardened, printed, spans=False, dates=True, numbers=True))
    assert accepts(tokenizer, m, record("A41.9", "D50.9", None, coded="J18.9"))
    assert not accepts(tokenizer, m, record("J18.9")) and not accepts(tokenizer, m, record("B12"))  # not printed; glued to X

    unprinted = "Diagnoses: Sepsis, Anemia.\nTemp 38.2, discharged home"
    m = matcher(tokenizer, document_grammar(hardened, unprinted, spans=False, dates=True, numbers=True))
    assert accepts(tokenizer, m, record(None, None, coded="A41.9"))
    assert not accepts(tokenizer, m, record("A41.9")) and not accepts(tokenizer, m, record("C10"))
