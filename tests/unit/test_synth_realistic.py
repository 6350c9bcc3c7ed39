"""`fieldmill synth --schema realistic`: rendered documents, users' schemas, answers that follow each field's form."""

import json
import random
import re

import pytest

from fieldmill.documents import decode_document
from fieldmill.schema.load import model_from_json_schema
from fieldmill.synth import GOLD, SCHEMA_FILE, write_realistic
from fieldmill.synth import realistic
from fieldmill.synth.layout import Page, render_pdf

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _collapse(text: str) -> str:
    return " ".join(text.split()).casefold()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("realistic")
    lines = write_realistic(70, str(root), seed=11)
    texts = {line["name"]: decode_document(line["name"], (root / line["name"]).read_bytes()).text for line in lines}
    return root, lines, texts


def test_every_kind_is_rendered_and_read_back_as_a_pdf(corpus):
    root, lines, texts = corpus
    assert {n.rsplit(".", 1)[1] for n in texts} == {"pdf"} and all(texts.values())
    kinds = {fact for line in lines for fact in (a["fact"] for a in line["asked"].values())}
    assert {"total", "invoice_number", "account_number", "subject", "governing_law", "mrn", "applicant_name"} <= kinds


def test_gold_validates_against_its_own_schema_and_follows_each_fields_form(corpus):
    _, lines, texts = corpus
    seen = set()
    for line in lines:
        model_from_json_schema(line["schema"], line["schema"]["title"]).model_validate(line["record"])
        for key, asked in line["asked"].items():
            value, prop = line["record"][key], line["schema"]["properties"][key]
            if value is None:
                continue
            seen.add((asked["kind"], asked["form"]))
            if asked["form"] in ("iso_typed", "iso_text"):
                assert _ISO.match(value)
            elif asked["form"] == "decimal2":
                assert re.fullmatch(r"-?\d+\.\d{2}", value)
            elif asked["form"] == "number":
                assert isinstance(value, float)
            elif asked["kind"] == "bool":
                assert isinstance(value, bool) and prop["type"] in ("boolean", ["boolean", "null"])
            elif asked["kind"] == "list":
                assert all(_collapse(item) in _collapse(texts[line["name"]]) for item in value)
            else:  # as printed: the document's own text (lines of a multi-line value joined)
                assert _collapse(value) in _collapse(texts[line["name"]]), (key, value)
                assert "format" not in prop
    assert {("date", "printed"), ("date", "iso_typed"), ("date", "iso_text"), ("money", "number"), ("money", "decimal2"), ("money", "printed")} <= seen


def test_printed_dates_are_asked_for_in_words_a_user_would_write(corpus):
    _, lines, _ = corpus
    described = [line["schema"]["properties"][k].get("description", "") for line in lines for k, a in line["asked"].items()
                 if a["kind"] == "date" and a["form"] == "printed"]
    assert described and sum("printed" in d or "as written" in d or "appears" in d for d in described) >= len(described) // 2


def test_absent_facts_are_null_and_present_ones_are_not(corpus):
    _, lines, _ = corpus
    values = [line["record"][k] for line in lines for k in line["asked"]]
    nulls = sum(v is None for v in values)
    assert 0 < nulls < len(values) * 0.3


def test_labels_and_values_come_apart_in_the_text_layer_where_a_template_draws_them_apart():
    """A producer that draws every label, then every value, leaves them in two blocks, as real PDFs do (the
    run reads such rows back together: text_layer.py)."""
    import pypdfium2 as pdfium

    page = Page(300, 200)
    realistic.pairs(page, [("Invoice No", "TX-2210457"), ("Date", "14/03/2019")], "columns")
    layer = pdfium.PdfDocument(render_pdf([page]))[0].get_textpage().get_text_range()
    assert layer.split("\r\n") == ["Invoice No", "Date", "TX-2210457", "14/03/2019"]
    page = Page(300, 200)
    realistic.pairs(page, [("Address", "UNIT 4, 118 HARBOUR ROAD,\n2045 SYDNEY NSW")], "split")
    assert decode_document("a.pdf", render_pdf([page])).text.split("\n") == ["Address", "UNIT 4, 118 HARBOUR ROAD,", "2045 SYDNEY NSW"]


def test_a_multi_line_value_as_printed_is_its_lines_joined():
    fact = realistic.Fact("address", "UNIT 4, 118 HARBOUR ROAD,\nWESTFIELD,\n2045 SYDNEY NSW")
    assert realistic.answer(fact, "printed") == "UNIT 4, 118 HARBOUR ROAD, WESTFIELD, 2045 SYDNEY NSW"


def test_one_schema_corpus_is_runnable_as_a_teams_schema_and_held_out_templates_are_apart(tmp_path):
    lines = write_realistic(4, str(tmp_path), seed=3, held_out=True, kind="receipt", one_schema=True)
    schema = json.loads((tmp_path / SCHEMA_FILE).read_text())
    assert all("schema" not in line and set(line["record"]) == set(schema["properties"]) for line in lines)
    assert (tmp_path / GOLD).read_text().count("\n") == 4
    assert not set(realistic.HELD_OUT_TEMPLATES) & set(realistic.TRAIN_TEMPLATES)
    with pytest.raises(ValueError, match="--kind"):
        write_realistic(2, str(tmp_path / "x"), one_schema=True)
    with pytest.raises(ValueError, match="kind 'poem'"):
        write_realistic(2, str(tmp_path / "y"), kind="poem")


def test_same_seed_same_bytes(tmp_path):
    write_realistic(5, str(tmp_path / "a"), seed=9)
    write_realistic(5, str(tmp_path / "b"), seed=9)
    files = lambda root: {p.name: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}  # noqa: E731
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_numbers_as_printed_keep_the_locales_decimal_comma():
    ctx = realistic.Ctx(random.Random(0), None, next(l for l in realistic.LOCALES if l.code == "DE"), random.Random(0))
    fact = realistic.money_fact(ctx, realistic._money(1234.5))
    assert fact.printed == "1.234,50" and realistic.answer(fact, "decimal2") == "1234.50" and realistic.answer(fact, "number") == 1234.5
    assert realistic.answer(fact, "printed") == "1.234,50"


def test_an_unpaid_invoices_amount_due_is_its_total_and_a_part_paid_ones_is_the_balance():
    seen = set()
    for seed in range(40):
        facts = realistic.draft(random.Random(seed), "invoice", 0).facts
        paid = facts["amount_paid"].typed
        assert facts["balance_due"].typed == facts["total"].typed - (paid or 0)
        seen.add(paid is None)
    assert seen == {True, False}


def test_a_filed_agreements_labels_stand_above_its_title_and_its_date_may_be_the_nth_day_of_a_month():
    labelled = day_of = 0
    for seed in range(40):
        drafted = realistic.draft(random.Random(seed), "agreement", 0)
        title = drafted.facts["title"].printed
        lines = [line for line in decode_document("a.pdf", render_pdf(drafted.pages)).text.splitlines() if line.strip()]
        above = lines[:lines.index(title)]
        labelled += bool(above)
        assert all("AGREEMENT" not in line.upper() for line in above)  # a filing's label, never the agreement's name
        effective = drafted.facts["effective_date"]
        if " day of " in effective.printed:
            day_of += 1
            assert re.fullmatch(r"\d{1,2}(st|nd|rd|th) day of [A-Z][a-z]+, \d{4}", effective.printed) and _ISO.match(effective.typed)
    assert 5 <= labelled <= 30 and 5 <= day_of <= 25


def test_a_letters_subject_may_name_someone_other_than_the_person_it_is_written_to():
    others = 0
    for seed in range(40):
        facts = realistic.draft(random.Random(seed), "letter", 0).facts
        subject, recipient = facts["subject"].printed, facts["recipient_name"].printed
        assert recipient not in subject
        others += " - " in subject
    assert 4 <= others <= 24


def test_a_letters_sender_address_may_stand_in_its_footer_or_on_a_return_line_and_its_date_after_the_recipient():
    """Letters are not one layout: the sender's address under the letterhead, in the footer (after the signature in the
    text) or on one line above the recipient's (then as printed there, commas and all); the date before or after the
    recipient's block. The gold is what the text says wherever it stands."""
    places = set()
    for template in range(8):
        drafted = realistic.draft(random.Random(template), "letter", template)
        facts = drafted.facts
        text = decode_document("l.pdf", render_pdf(drafted.pages)).text
        recipient, date = text.index(facts["recipient_name"].printed), text.index(facts["letter_date"].printed)
        address, collapsed = facts["sender_address"].printed, _collapse(text)
        if f"{facts['sender_organisation'].printed}, {address}" in text:
            place = "return line"
        elif collapsed.index(_collapse(address)) > collapsed.rindex(_collapse(facts["signatory"].printed)):
            place = "footer"
        else:
            place = "letterhead"
        places.add((place, "date after" if date > recipient else "date before"))
    assert {p[0] for p in places} == {"letterhead", "footer", "return line"}
    assert {p[1] for p in places} == {"date before", "date after"}


def test_an_agreement_states_the_facts_users_ask_of_contracts_beside_their_near_misses():
    seen = {"renews": 0, "exclusive": set(), "non_compete": set(), "commitment": 0, "signed_apart": 0}
    for seed in range(40):
        drafted = realistic.draft(random.Random(seed), "agreement", seed % 6)
        facts = drafted.facts
        text = _collapse(decode_document("a.pdf", render_pdf(drafted.pages)).text)
        printed = {name: fact.printed for name, fact in facts.items() if fact.kind not in ("list", "bool") and fact.printed is not None}
        assert all(_collapse(value) in text for value in printed.values()), printed
        renewal, non_renewal = facts["renewal_term"].printed, facts["non_renewal_notice"].printed
        assert (renewal is None) == (non_renewal is None)  # both come with a renewal clause, and only with one
        if renewal:
            seen["renews"] += 1
            assert "terminate this agreement for convenience upon " + _collapse(facts["notice_period"].printed) in text
        seen["exclusive"].add(facts["exclusivity"].printed)
        seen["non_compete"].add(facts["non_compete"].printed)
        assert facts["non_compete"].printed == ("shall not, directly or indirectly, engage" in text)
        seen["commitment"] += facts["minimum_commitment"].printed is not None
        signed = facts["signature_date"]
        if signed.printed is not None:
            assert "date: " + _collapse(signed.printed) in text
            seen["signed_apart"] += signed.typed != facts["effective_date"].typed
        else:
            assert "date:" not in text
    assert 10 <= seen["renews"] <= 30 and seen["exclusive"] == seen["non_compete"] == {True, False}
    assert 5 <= seen["commitment"] <= 25 and seen["signed_apart"] >= 5


def test_look_alike_schemas_ask_look_alikes_apart():
    def schemas(look_alikes):
        rng = random.Random(11)
        return [realistic.user_schema(rng, kind, realistic.draft(rng, kind, 0).facts, look_alikes)[1]
                for kind in list(realistic.KINDS) * 30]

    def together(asked_lists):  # how often a schema asks two or more facts of one look-alike group
        kinds = list(realistic.KINDS) * 30
        return sum(any(len({a.fact for a in asked} & set(group)) > 1 for group in realistic.LOOK_ALIKES[kind])
                   for kind, asked in zip(kinds, asked_lists))

    plain, apart = schemas(False), schemas(True)
    assert together(apart) < 0.9 * together(plain)
    assert all(len(asked) >= 2 for asked in apart)
    asked_facts = {kind: {ask.fact for ask in asks} for kind, asks in realistic.ASKS.items()}
    assert all(set(group) <= asked_facts[kind] for kind, groups in realistic.LOOK_ALIKES.items() for group in groups)


def test_look_alike_schemas_name_some_fields_vaguely_and_then_always_describe_them():
    kinds = list(realistic.KINDS) * 30

    def vague_fields(look_alikes):
        rng = random.Random(12)
        found = []
        for kind in kinds:
            schema, asked = realistic.user_schema(rng, kind, realistic.draft(rng, kind, 0).facts, look_alikes)
            names = {ask.fact: ask.names for ask in realistic.ASKS[kind]}
            for a in asked:
                plain = {n.replace("_", "").lower() for n in names[a.fact]}
                if a.key.replace("_", "").replace("-", "").replace(" ", "").lower() not in plain:
                    found.append(schema["properties"][a.key])
        return found

    assert vague_fields(False) == []  # held-out schemas keep the names users give these facts
    vague = vague_fields(True)
    assert len(vague) >= 30
    assert all(prop.get("description") for prop in vague)


def test_look_alike_schemas_name_some_fields_by_a_documents_header_word_and_then_always_describe_them():
    rng = random.Random(13)
    named: dict[str, set[str]] = {}
    for kind in list(realistic.HEADER_NAMES) * 40:
        schema, asked = realistic.user_schema(rng, kind, realistic.draft(rng, kind, 0).facts, look_alikes=True)
        for a in asked:
            word = a.key.replace("-", "_").replace(" ", "_").lower()
            if word in realistic.HEADER_NAMES[kind].get(a.fact, ()):
                named.setdefault(word, set()).add(f"{kind}.{a.fact}")
                if word not in _names(kind, a.fact):
                    assert schema["properties"][a.key].get("description"), (kind, a.key)
    assert {"letter.recipient_name", "statement.period_end", "invoice.buyer"} <= named["to"]  # one word, the description says which
    assert {"invoice.balance_due", "invoice.due_date"} <= named["due"]
    rng = random.Random(13)
    plain = [realistic.user_schema(rng, "letter", realistic.draft(rng, "letter", 0).facts)[0] for _ in range(40)]
    assert not any(key.lower() in ("attn", "attention") for schema in plain for key in schema["properties"])  # held-out schemas do not


def _names(kind, fact):
    return next(ask.names for ask in realistic.ASKS[kind] if ask.fact == fact)
