"""A list item's null choice is asked again when its own row prints one of the options, and kept only when it does.

The engine is the scripted stand-in: these tests are about which nulls are asked and what is kept, not about what a
model writes (the accuracy bench runs the real model on discharge summaries whose lab rows print `(H)` and `(L)`).
"""

import asyncio
import json
import re

import pytest

from fieldmill.document import Document
from fieldmill.extract.actor import Extractor
from fieldmill.extract.row_choices import accepted_choices, doubted_choices, row_texts
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.schema.load import load_schema
from scripted_engine import ContinuingEngine, RawText

LABS = {
    "title": "labs", "type": "object",
    "properties": {
        "patient": {"type": "string", "maxLength": 40},
        "labs": {"type": "array", "maxItems": 6, "items": {"type": "object", "properties": {
            "test": {"type": "string", "maxLength": 30}, "value": {"type": "number"}, "unit": {"type": ["string", "null"], "maxLength": 10},
            "flag": {"type": ["string", "null"], "enum": ["high", "low", "normal", "critical", None]}}}},
    },
}
TEXT = "Patient: Ana Ruiz\nLaboratory results\nGlucose 176 mg/dL (H)\nSodium 138 mmol/L\nVitamin C 0.2 mg/dL\n"
FIRST = {"patient": "Ana Ruiz", "labs": [{"test": "Glucose", "value": 176, "unit": "mg/dL", "flag": None},
                                         {"test": "Sodium", "value": 138, "unit": "mmol/L", "flag": None},
                                         {"test": "Vitamin C", "value": 0.2, "unit": "mg/dL", "flag": None}]}


def _evidence(text, record):
    """Evidence as the run writes it: each item value's first occurrence from its item's row on."""
    out, at = [], 0
    for index, item in enumerate(record["labs"]):
        row = text.index(item["test"], at)
        for key in ("test", "value", "unit"):
            printed = str(item[key])
            start = text.index(printed, row)
            out.append({"field": f"labs[{index}].{key}", "start": start, "end": start + len(printed)})
        at = row + 1
    return out


def _signals(record):
    return [{"field": f"labs[{i}].flag", "grounding": "null" if item["flag"] is None else "copied"} for i, item in enumerate(record["labs"])]


@pytest.fixture()
def schema(tmp_path):
    path = tmp_path / "labs.json"
    path.write_text(json.dumps(LABS))
    return load_schema(str(path))


def test_only_the_null_choices_whose_rows_print_an_option_are_doubted(schema):
    rows = row_texts(_evidence(TEXT, FIRST), TEXT)
    assert rows["labs[0]"].strip() == "(H)" and rows["labs[1]"].strip() == "" and rows["labs[2]"].strip() == ""  # a test's own name is no flag
    assert doubted_choices(_signals(FIRST), schema.hardened, rows) == ["labs[0].flag"]


def test_items_printed_on_one_line_each_have_their_own_row(schema):
    text = "Patient: Ana Ruiz\nLabs: Glucose 176 mg/dL (H); Sodium 138 mmol/L; Vitamin C 0.2 mg/dL (L).\n"
    rows = row_texts(_evidence(text, FIRST), text)
    assert "(H)" in rows["labs[0]"] and "(H)" not in rows["labs[1]"] and "(L)" not in rows["labs[1]"] and "(L)" in rows["labs[2]"]
    assert doubted_choices(_signals(FIRST), schema.hardened, rows) == ["labs[0].flag", "labs[2].flag"]


def test_a_row_is_the_line_printing_most_of_the_items_values():
    text = "Units: mg/dL unless stated\nLaboratory results\nGlucose 176 mg/dL (H)\n"
    evidence = [{"field": "labs[0].test", "start": text.index("Glucose"), "end": text.index("Glucose") + 7},
                {"field": "labs[0].value", "start": text.index("176"), "end": text.index("176") + 3},
                {"field": "labs[0].unit", "start": text.index("mg/dL"), "end": text.index("mg/dL") + 5}]  # the unit found on the first line
    assert row_texts(evidence, text)["labs[0]"].strip() == "mg/dL (H)"


def test_a_choice_read_again_is_kept_only_where_its_row_prints_it():
    rows = {"labs[0]": "      (H)", "labs[1]": "  mmol/L  "}
    again = {"labs": [{"flag": "high"}, {"flag": "low"}]}
    assert accepted_choices(["labs[0].flag", "labs[1].flag"], again, rows) == {"labs[0].flag": "high"}  # not the L of mmol/L
    assert accepted_choices(["labs[0].flag"], {"labs": [{"flag": "low"}]}, rows) == {}


def read(schema, outputs, text=TEXT):
    engine = ContinuingEngine(outputs, logprob=-0.001)
    extractor = Extractor(ExtractionSettings(retries=0), schema, engine=engine)
    return asyncio.run(extractor.extract(Document.of_text("/docs/summary.txt", text))), engine


def test_a_flag_its_row_prints_is_read_again_in_its_place_and_kept(schema):
    result, engine = read(schema, [FIRST, RawText(',"flag":"high"}')])
    assert [item["flag"] for item in result.record["labs"]] == ["high", None, None]
    assert len(engine.calls) == 2 and engine.calls[1] == (0.0, None)
    first_text = json.dumps(FIRST, separators=(",", ":"))
    head = first_text[:first_text.index(',"flag"')]  # the first item's flag: the first answer up to its key
    assert engine.prompt_ids[1] == engine.prompt_ids[0] + engine.answer_token_ids(head)
    again = re.compile(engine.constraints[1].regex)
    assert again.fullmatch(',"flag":"high"}') and again.fullmatch(',"flag":"low"}') and not again.fullmatch(',"flag":null}')
    assert result.confidence["labs[0].flag"] > 0.5 and result.completion_tokens == 200


def test_a_flag_read_again_that_its_row_does_not_print_leaves_the_null(schema):
    result, engine = read(schema, [FIRST, RawText(',"flag":"low"}')])
    assert len(engine.calls) == 2 and [item["flag"] for item in result.record["labs"]] == [None, None, None]


def test_rows_that_print_no_flag_are_not_asked_again(schema):
    result, engine = read(schema, [FIRST], text=TEXT.replace(" (H)", ""))
    assert len(engine.calls) == 1 and result.record == FIRST
