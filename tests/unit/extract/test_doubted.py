"""A null the signals doubt is asked again with null not allowed; the answer is kept only when the document backs it.

The engine is the scripted stand-in: these tests are about what the extractor does with a second answer, not
about what a model writes (the end-to-end tests run the real model with the default, `--nulls reread`).
"""

import asyncio
import json
import re

import pytest

from fieldmill.document import Document
from fieldmill.extract.actor import Extractor
from fieldmill.extract.answer import Answer
from fieldmill.engines.base import Generation
from fieldmill.extract.doubted import accepted, continuations, doubted_nulls, field_schema, joined, own_words, pieces, stretch, stretches, without_null
from fieldmill.schema.constraint import stretch_constraint
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.schema.load import load_schema
from scripted_engine import ContinuingEngine, RawText, ScriptedEngine

LETTER = {
    "title": "letter", "type": "object",
    "properties": {
        "sender": {"type": "string", "description": "Who wrote the letter"},
        "sender_email": {"type": "string", "description": "The writer's e-mail"},
        "recipient_email": {"type": "string", "description": "E-mail of the person the letter is addressed to"},
        "date": {"type": "string", "description": "Date of the letter as printed"},
        "priority": {"type": "string", "enum": ["low", "high"], "description": "How urgent"},
    },
}
TEXT = "From: Ana Ruiz <ana@ruiz.es>\nTo: Bo Li\nEmail: bo.li@example.com\nDate: 3 March 2024\nPriority: high\n\nDear Bo, ...\n"
FIRST = {"sender": "Ana Ruiz", "sender_email": "ana@ruiz.es", "recipient_email": None, "date": None, "priority": None}


@pytest.fixture()
def schema(tmp_path):
    path = tmp_path / "letter.json"
    path.write_text(json.dumps(LETTER))
    return load_schema(str(path))


def read(schema, outputs, nulls="reread", engine_class=ScriptedEngine):
    engine = engine_class(outputs, logprob=-0.001)
    extractor = Extractor(ExtractionSettings(retries=0, nulls=nulls), schema, engine=engine)
    result = asyncio.run(extractor.extract(Document.of_text("/docs/letter.txt", TEXT)))
    return result, engine


def test_doubted_nulls_are_asked_again_without_null_and_kept_when_the_document_prints_them(schema):
    result, engine = read(schema, [FIRST, {"recipient_email": "bo.li@example.com", "date": "3 March 2024"}])
    record = result.record
    assert record["recipient_email"] == "bo.li@example.com" and record["date"] == "3 March 2024"
    assert result.status == "compliant" and len(engine.calls) == 2 and engine.calls[1] == (0.0, None)  # greedy
    second = re.compile(engine.constraints[1].regex)  # only the doubted fields, and not nullable
    assert second.fullmatch('{"recipient_email":"bo.li@example.com","date":"3 March 2024"}')
    assert not second.fullmatch('{"recipient_email":null,"date":null}') and not second.fullmatch('{"recipient_email":"x@y.z","date":null}')
    assert not second.fullmatch('{"recipient_email":"","date":"3 March 2024"}')  # nor empty: asked not to be null, a model answers ""
    evidence = {e["field"]: e for e in result.evidence}
    assert TEXT[evidence["recipient_email"]["start"]:evidence["recipient_email"]["end"]] == "bo.li@example.com"
    signals = {s["field"]: s for s in result.signals}
    assert signals["date"]["grounding"] != "null" and signals["sender"]["grounding"] == "copied"
    assert set(result.confidence) >= {"recipient_email", "date", "sender"}
    assert result.completion_tokens == 200  # both requests are counted


def test_an_answer_the_document_does_not_back_or_another_field_holds_leaves_the_null(schema):
    result, engine = read(schema, [FIRST, {"recipient_email": "ana@ruiz.es", "date": "4 May 2023"}])
    record = result.record
    assert len(engine.calls) == 2
    assert record["recipient_email"] is None  # the sender's address, already the sender_email
    assert record["date"] is None  # printed nowhere
    signals = {s["field"]: s for s in result.signals}
    assert signals["date"]["grounding"] == "null" and signals["date"]["candidates"]


def test_an_engine_that_tokenises_an_answer_continues_the_first_answer_through_its_doubted_nulls_in_one_request(schema):
    result, engine = read(schema, [FIRST, RawText(',"recipient_email":"bo.li@example.com","date":"3 March 2024",')],
                          engine_class=ContinuingEngine)
    assert result.record["recipient_email"] == "bo.li@example.com" and result.record["date"] == "3 March 2024"
    assert result.status == "compliant" and len(engine.calls) == 2 and engine.calls[1] == (0.0, None)
    first_text = json.dumps(FIRST, separators=(",", ":"))
    head = first_text[:first_text.index(',"recipient_email"')]  # the first answer up to the separator before the first doubted key
    assert engine.prompt_ids[1] == engine.prompt_ids[0] + engine.answer_token_ids(head)  # the document's prompt again: cached
    both = re.compile(engine.constraints[1].regex)  # each key, its value (not null, not empty), the separator after the last
    assert both.fullmatch(',"recipient_email":"bo.li@example.com","date":"3 March 2024",')
    assert not both.fullmatch(',"recipient_email":null,"date":"3 March 2024",') and not both.fullmatch(',"recipient_email":"x@y.z","date":"",')
    assert not both.fullmatch(',"recipient_email":"bo.li@example.com","date":"3 March 2024"')  # a model closes a string and writes the comma in one token
    evidence = {e["field"]: e for e in result.evidence}
    assert TEXT[evidence["date"]["start"]:evidence["date"]["end"]] == "3 March 2024"
    assert 0.5 < result.confidence["date"] < 1.0  # its own tokens' probability, where the value now stands
    assert result.completion_tokens == 200  # the first answer and the continuation


def test_one_continuation_reads_nulls_apart_with_the_fields_between_them_fixed_unless_they_are_long():
    first = '{"a":null,"b":"x","c":{"d":null,"e":1},"f":null}'
    stretched, tail = stretch(first, continuations(first, ["f", "a", "c.d"]))
    assert [(lead, c.path) for lead, c in stretched] == [('{"a":', "a"), (',"b":"x","c":{"d":', "c.d"), (',"e":1},"f":', "f")] and tail == "}"
    values = [(lead, {"type": "string", "minLength": 1, "maxLength": 9}, c.path) for lead, c in stretched]
    regex = re.compile(stretch_constraint(values, tail).regex)
    assert regex.fullmatch('{"a":"one","b":"x","c":{"d":"two","e":1},"f":"3"}')
    assert not regex.fullmatch('{"a":"one","b":"y","c":{"d":"two","e":1},"f":"3"}')  # the fields between stay as they were

    long = '{"a":null,"b":"' + "x" * 300 + '","c":null,"d":null}'  # decoding 300 fixed characters again costs more than a new prompt
    assert [[c.path for _, c in group] for group, _ in stretches(long, continuations(long, ["d", "a", "c"]), 200)] == [["a"], ["c", "d"]]
    assert [len(group) for group, _ in stretches(long, continuations(long, ["a", "c", "d"]), 400)] == [3]

    text = '{"a":"one","b":"x","c":{"d":"two","e":1},"f":"3"}'
    generation = Generation(text, 900, len(text), "stop", 0.2, (-0.01,) * len(text), tuple(range(1, len(text) + 1)), 896)
    whole = joined(first, pieces(stretched, generation))
    assert json.loads(whole.text) == {"a": "one", "b": "x", "c": {"d": "two", "e": 1}, "f": "3"}
    assert (whole.prompt_tokens, whole.completion_tokens, whole.cached_prompt_tokens) == (900, len(text), 896)  # one request's costs
    assert list(whole.token_ends) == sorted(whole.token_ends) and all(0 < end <= len(whole.text) for end in whole.token_ends)
    cut = Generation(text[:30], 900, 30, "length", 0.2, (-0.01,) * 30, tuple(range(1, 31)), 896)  # stopped inside "two"
    partly = joined(first, pieces(stretched, cut))
    assert json.loads(partly.text) == {"a": "one", "b": "x", "c": {"d": None, "e": 1}, "f": None} and partly.finish_reason == "length"
    nothing = joined(first, pieces(stretched, Generation('{"a":', 900, 3, "length", 0.2)))
    assert nothing.text == first and nothing.prompt_tokens == 900


def test_continuations_start_at_the_separator_before_a_doubted_key_and_join_in_place():
    first = '{"a":"x","b":null,"c":{"d":1,"e":null},"f":null}'
    found = {c.path: c for c in continuations(first, ["b", "c.e", "missing"])}
    assert set(found) == {"b", "c.e"}
    assert first[:found["b"].cut] == '{"a":"x"' and found["b"].lead == ',"b":' and first[found["b"].end:].startswith(',"c"')
    assert found["b"].tail == "," and found["c.e"].tail == "}"
    assert found["c.e"].lead == ',"e":' and first[:found["c.e"].cut].endswith('"d":1')
    assert continuations('{"a": "x", "b": null}', ["b"]) == []  # not compact: not continued
    assert continuations("not json", ["b"]) == []

    def generation(text, logprob):
        return Generation(text, 500, len(text), "stop", 0.1, (logprob,) * len(text), tuple(range(1, len(text) + 1)), 480)

    reads = [(found["c.e"], generation(',"e":"two"}', -0.01)), (found["b"], generation(',"b":"one",', -0.02))]
    whole = joined(first, reads)
    assert json.loads(whole.text) == {"a": "x", "b": "one", "c": {"d": 1, "e": "two"}, "f": None}
    for end, logprob in zip(whole.token_ends, whole.token_logprobs):  # each token ends where its character now stands
        assert whole.text[end - 1] in ',"be:onetw}' and logprob in (-0.01, -0.02)
    side_by_side = '{"a":null,"b":null}'  # the first one's tail is the second one's lead
    a, b = continuations(side_by_side, ["a", "b"])
    both = joined(side_by_side, [(a, generation('{"a":"one",', -0.01)), (b, generation(',"b":"two"}', -0.01))])
    assert json.loads(both.text) == {"a": "one", "b": "two"} and list(both.token_ends) == sorted(both.token_ends)
    assert whole.completion_tokens == 22 and whole.prompt_tokens == 1000 and whole.cached_prompt_tokens == 960
    assert field_schema(load_schema("invoice").hardened, "buyer.email")["type"] == "string"


def test_keep_leaves_the_first_answer_alone(schema):
    result, engine = read(schema, [FIRST], nulls="keep")
    assert len(engine.calls) == 1 and result.record["date"] is None


def test_which_nulls_are_doubted():
    signals = [
        {"field": "date", "grounding": "null", "candidates": True, "kind": "text"},
        {"field": "priority", "grounding": "null", "candidates": True, "kind": "choice"},  # an option cannot be checked in the text
        {"field": "lines[0].amount", "grounding": "null", "candidates": True, "kind": "number"},  # a list item's own row judges it
        {"field": "cashier", "grounding": "null", "candidates": False, "kind": "text"},  # nothing of its kind printed
        {"field": "total", "grounding": "copied", "candidates": False, "kind": "number"},
        {"field": "service_period_start", "grounding": "null", "candidates": True, "kind": "date"},  # no word of its name printed
    ]
    assert doubted_nulls(signals, "Invoice\nDate: 3 March 2024\nDue: 2 April 2024\nCashier:") == ["date"]
    # An answer is kept only under a word of the field's own name: unprinted, asking cannot fill it.
    assert doubted_nulls(signals, "Invoice 3 March 2024") == []


def test_without_null_reaches_inside_objects():
    invoice = load_schema("invoice").hardened
    group = without_null(invoice, ["buyer.email", "due_date"])
    assert list(group["properties"]) == [k for k in invoice["properties"] if k in ("buyer", "due_date")]
    buyer = group["properties"]["buyer"]
    assert "anyOf" not in buyer and buyer["properties"]["email"].get("type") == "string" and "email" in buyer["required"]
    assert any(o.get("type") == "null" for o in buyer["properties"]["phone"].get("anyOf", []))  # the others keep their null
    assert any(o.get("type") == "null" for o in invoice["properties"]["buyer"]["properties"]["email"]["anyOf"])  # the schema is untouched


INVOICE = ("Invoice 7\nIssue date: 01/03/2024\nOrder date: 05/03/2024\nSeller: a@x.io\nBill to: Bo Li\n12 Oak Road\nLeeds\nTax ID: DE-77\nBuyer email: b@y.io\n"
           "VAT 20%: 4.10\nAmount due 724.90\n")


def again(values: dict, grounding: str = "copied", confidence: float = 0.9) -> Answer:
    """A second read's answer: each value found in INVOICE where `values` says it is printed."""
    found = {path: INVOICE.index(printed) for path, (_, printed) in values.items()}
    return Answer("compliant", record=with_paths({path: value for path, (value, _) in values.items()}),
                  evidence=tuple({"field": path, "start": start, "end": start + len(values[path][1])} for path, start in found.items()),
                  signals=tuple({"field": path, "grounding": grounding} for path in values),
                  confidence={path: confidence for path in values})


def with_paths(values: dict) -> dict:
    out: dict = {}
    for path, value in values.items():
        *parents, last = path.split(".")
        target = out
        for step in parents:
            target = target.setdefault(step, {})
        target[last] = value
    return out


def test_a_value_read_again_must_be_printed_under_its_own_label_in_its_block_new_and_likely():
    record = {"issue_date": "2024-03-01", "seller": {"email": "a@x.io", "tax_id": None}, "amount_due": "724.90", "due_date": None,
              "buyer": {"name": "Bo Li", "email": None, "tax_id": None}, "vat_amount": None, "tax": None}
    first = Answer("compliant", record=record, evidence=tuple(
        {"field": path, "start": INVOICE.index(printed), "end": INVOICE.index(printed) + len(printed)}
        for path, printed in [("issue_date", "01/03/2024"), ("seller.email", "a@x.io"), ("buyer.name", "Bo Li"), ("buyer.address.street", "12 Oak Road"),
                              ("buyer.address.city", "Leeds"), ("amount_due", "724.90")]))
    assert accepted(["buyer.email"], first, again({"buyer.email": ("b@y.io", "b@y.io")}), INVOICE) == {"buyer.email": "b@y.io"}
    assert accepted(["vat_amount"], first, again({"vat_amount": (4.1, "4.10")}, "read"), INVOICE) == {"vat_amount": 4.1}
    assert accepted(["buyer.tax_id"], first, again({"buyer.tax_id": ("DE-77", "DE-77")}), INVOICE) == {"buyer.tax_id": "DE-77"}
    assert not accepted(["seller.tax_id"], first, again({"seller.tax_id": ("DE-77", "DE-77")}), INVOICE)  # printed among the buyer's lines
    assert not accepted(["buyer.email"], first, again({"buyer.email": ("A@X.IO", "a@x.io")}), INVOICE)  # the seller's, already held
    assert not accepted(["due_date"], first, again({"due_date": ("2024-03-05", "05/03/2024")}, "read"), INVOICE)  # under "Order date"
    assert not accepted(["due_date"], first, again({"due_date": ("2024-03-01", "01/03/2024")}, "read"), INVOICE)  # the issue date
    assert not accepted(["tax"], first, again({"tax": (724.9, "724.90")}, "read"), INVOICE)  # the amount due, as a number
    assert not accepted(["vat_amount"], first, again({"vat_amount": (4.1, "4.10")}, "near"), INVOICE)  # only near a printed string
    assert not accepted(["vat_amount"], first, again({"vat_amount": (4.1, "4.10")}, "read", confidence=0.36), INVOICE)  # a guess
    misplaced = Answer("compliant", record=record, evidence=first.evidence + (
        {"field": "seller.country", "start": INVOICE.index("Bo Li"), "end": INVOICE.index("Bo Li") + 5},))  # the first answer's slip
    assert not accepted(["seller.tax_id"], misplaced, again({"seller.tax_id": ("DE-77", "DE-77")}), INVOICE)  # one slip is not a block
    assert own_words("due_date") == {"due"} and own_words("date") == {"date"}
    assert {"vat", "tax", "gst"} <= own_words("vat_amount") and "amount" not in own_words("vat_amount")  # what documents print for it
    assert "tel" in own_words("buyer.phone") and own_words("payment_terms") == {"payment", "terms"}


def test_a_value_read_again_may_stand_under_the_word_a_document_prints_for_its_name():
    text = "KEDAI MAJU\nTEL: 03-6156 7788\nTOTAL 20.50\nGST 6%: 1.16\n"
    spans = {path: (text.index(printed), text.index(printed) + len(printed))
             for path, printed in [("total", "20.50"), ("phone", "03-6156 7788"), ("vat_amount", "1.16")]}
    evidence = lambda paths: tuple({"field": p, "start": spans[p][0], "end": spans[p][1]} for p in paths)  # noqa: E731
    first = Answer("compliant", record={"phone": None, "vat_amount": None, "total": "20.50"}, evidence=evidence(["total"]))
    second = Answer("compliant", record={"phone": "03-6156 7788", "vat_amount": 1.16}, evidence=evidence(["phone", "vat_amount"]),
                    signals=({"field": "phone", "grounding": "copied"}, {"field": "vat_amount", "grounding": "read"}),
                    confidence={"phone": 0.9, "vat_amount": 0.9})
    assert accepted(["phone", "vat_amount"], first, second, text) == {"phone": "03-6156 7788", "vat_amount": 1.16}
    assert doubted_nulls([{"field": "phone", "grounding": "null", "candidates": True, "kind": "text"}], text) == ["phone"]


def test_a_value_whose_line_prints_its_own_label_is_not_labelled_by_the_line_above():
    text = "Subtotal 609.16\nTax @ rate 115.74\nInvoice total (CAD) 724.90\nINVOICE NO\n: TX-2210457\n"
    first = Answer("compliant", record={"vat_amount": None, "number": None})

    def second(path, value, printed):
        start = text.index(printed)
        return Answer("compliant", record={path: value}, evidence=({"field": path, "start": start, "end": start + len(printed)},),
                      signals=({"field": path, "grounding": "read"},), confidence={path: 0.9})

    assert not accepted(["vat_amount"], first, second("vat_amount", 724.9, "724.90"), text)  # the total, under "Tax" one line up
    assert accepted(["vat_amount"], first, second("vat_amount", 115.74, "115.74"), text) == {"vat_amount": 115.74}
    assert accepted(["invoice_no"], first, second("invoice_no", "TX-2210457", "TX-2210457"), text) == {"invoice_no": "TX-2210457"}


def test_a_null_is_asked_again_only_where_its_label_is_followed_by_something_a_read_could_keep():
    text = ("INVOICE\nInvoice no: A-1001\nPayment method: Bank transfer\nPayment terms: Net 30\nDue date: 12 May 2024\n"
            "Customer VAT\nGB 123 4567 89\nTotal 724.90\n")
    record = {"invoice_number": "A-1001", "payment_method": "bank_transfer", "payment_terms": "Net 30", "payment_reference": None,
              "due_date": None, "customer_vat": None, "total": 724.9, "amount_paid": None, "notes": None}
    signals = [{"field": field, "grounding": "null", "candidates": True, "kind": kind}
               for field, kind in [("payment_reference", "text"), ("due_date", "date"), ("customer_vat", "text"), ("amount_paid", "number"),
                                   ("notes", "text")]]
    signals += [{"field": field, "grounding": "copied", "candidates": False, "kind": "text"} for field in ("invoice_number", "payment_method", "payment_terms", "total")]
    # `Payment` is followed only by other fields' labels and values, `Total`'s amount is the total's, `notes` is printed nowhere;
    # the due date's label has a date after it, the VAT's a value on the next line.
    assert doubted_nulls(signals, text, record) == ["due_date", "customer_vat"]
    assert doubted_nulls(signals, text.replace("Payment terms: Net 30", "Payment ref: RF18 5390")) == ["payment_reference", "due_date", "customer_vat"]
    assert doubted_nulls(signals, text + "Amount paid: 200.00\n", record) == ["due_date", "customer_vat", "amount_paid"]


def test_a_lists_closing_bracket_is_found_at_the_top_level_and_a_continuations_complete_items_are_read():
    from fieldmill.extract.doubted import added_items, list_close

    first = '{"parties":[{"name":"A","roles":["x"]}],"roles":[{"a":1},{"a":2}],"total":3}'
    assert first[list_close(first, "roles")] == "]" and first[:list_close(first, "roles") + 1].endswith('{"a":2}]')
    assert list_close(first, "total") is None and list_close(first, "missing") is None and list_close("not json", "roles") is None
    assert added_items(',{"a":3},{"a":4}]') == [',{"a":3}', ',{"a":4}']
    assert added_items(',{"a":3},{"a":') == [',{"a":3}']  # cut short: the complete items only
