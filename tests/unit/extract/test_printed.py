"""A free-text value the model nearly copied is written as the document prints it; every other value stays the model's.

The engine is the scripted stand-in: these tests are about what the extractor does with a near copy, not about
what a model writes.
"""

import asyncio
import json

import pytest

from fieldmill.document import Document
from fieldmill.extract.actor import Extractor
from fieldmill.extract.evidence import DocumentIndex, ground
from fieldmill.extract.printed import printed_forms, with_printed
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.schema.load import load_schema
from scripted_engine import ScriptedEngine

RECEIPT = {
    "title": "receipt", "type": "object",
    "properties": {
        "company": {"type": ["string", "null"], "description": "Who issued the receipt"},
        "address": {"type": ["string", "null"], "description": "The company's address as printed"},
        "email": {"type": ["string", "null"], "description": "The shop's e-mail"},
        "code": {"type": ["string", "null"], "pattern": "^[A-Z]{2}[0-9]{4}$", "description": "Store code"},
        "items": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
    },
    "required": ["company", "address", "email", "code", "items"],
}
TEXT = ("UNIHAKKA INTERNATIONAL SDN BHD\n12, JALAN TAMPOI 7/4, KAWASAN PERINDUSTRIAN\nTAMPOI, 81200 JOHOR BAHRU, JOHOR\n"
        "E-mail: cristian57@simmons-harris.com\nSTORE AB1234\nSR 1 MEAT + 1 VEG   5.20\nSR 1 EGG + 1 VEGETABLE 3.30\n")


def near(record, schema, match="fuzzy"):
    """Where grounding found each value only by a near match (or a normalised one), as the extractor hands it over."""
    found = ground(record, schema.hardened, DocumentIndex(TEXT))
    return {e.field: (e.start, e.end) for e in found.evidence if e.match == match}


@pytest.fixture()
def schema(tmp_path):
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(RECEIPT))
    return load_schema(str(path))


def test_a_near_copy_becomes_the_printed_words_on_one_line(schema):
    record = {"company": "UNIHAKKA INTERNATIONAL SDN BHD",  # as printed: stays
              "address": "12, JALAN TAMPOI 7/4, KAWASAN PERINDUSTRIAN TAMPOPOI, 81200 JOHOR BAHRU, JOHOR",  # a slip over two lines
              "email": "christians57@simmons-harris.com",  # a slip inside one word: the word it is in, not the label before it
              "code": "AB1243",  # shaped by a pattern: never replaced
              "items": [{"name": "1 MEAT + 1 VEG"}, {"name": "1 EGG + 1 VEGETABEL"}]}
    assert printed_forms(record, schema.hardened, TEXT, near(record, schema)) == {
        "address": "12, JALAN TAMPOI 7/4, KAWASAN PERINDUSTRIAN TAMPOI, 81200 JOHOR BAHRU, JOHOR",
        "email": "cristian57@simmons-harris.com",
        "items[1].name": "1 EGG + 1 VEGETABLE"}


def test_values_printed_normalised_or_not_near_stay_the_models(schema):
    record = {"company": "Unihakka International Sdn. Bhd.",  # case and punctuation apart: the model's own form
              "address": "12 Jalan Tampoi 7/4, Kawasan Perindustrian Tampoi, 81200 Johor Bahru",
              "email": "sales@unihakka.my",  # printed nowhere, nothing near: ungrounded, not replaced
              "code": None, "items": []}
    assert printed_forms(record, schema.hardened, TEXT, near(record, schema), near(record, schema, "normalised")) == {}


def test_a_value_copied_with_its_case_changed_is_written_with_the_printed_case(schema, tmp_path):
    record = {"company": "Unihakka INTERNATIONAL Sdn Bhd",
              "address": "Tampoi, 81200 Johor Bahru, Johor",
              "email": "CRISTIAN57@simmons-harris.com", "code": None,
              "items": [{"name": "1 meat + 1 veg"}]}
    assert printed_forms(record, schema.hardened, TEXT, {}, near(record, schema, "normalised")) == {
        "company": "UNIHAKKA INTERNATIONAL SDN BHD", "address": "TAMPOI, 81200 JOHOR BAHRU, JOHOR",
        "email": "cristian57@simmons-harris.com", "items[0].name": "1 MEAT + 1 VEG"}
    titled = json.loads(json.dumps(RECEIPT))
    titled["properties"]["company"]["description"] = "Who issued the receipt, in title case"
    path = tmp_path / "titled.json"
    path.write_text(json.dumps(titled))
    asks_case = load_schema(str(path))
    assert "company" not in printed_forms(record, asks_case.hardened, TEXT, {}, near(record, asks_case, "normalised"))
    titled["properties"]["company"]["description"] = "The shop's name as in its title line"  # a title, not a case
    path.write_text(json.dumps(titled))
    named = load_schema(str(path))
    assert printed_forms(record, named.hardened, TEXT, {}, near(record, named, "normalised"))["company"] == "UNIHAKKA INTERNATIONAL SDN BHD"


def test_replacements_reach_list_items_and_a_missing_path_is_refused():
    answer = json.dumps({"a": {"b": "x"}, "items": [{"name": "p"}, {"name": "q"}]})
    assert json.loads(with_printed(answer, {"a.b": "y", "items[1].name": "r"})) == {"a": {"b": "y"}, "items": [{"name": "p"}, {"name": "r"}]}
    assert with_printed(answer, {"items[5].name": "r"}) is None and with_printed("not json", {"a.b": "y"}) is None


def test_the_extractor_writes_the_printed_form_with_its_evidence_and_keeps_the_models_raw_output(schema):
    slipped = {"company": "UNIHAKKA INTERNATIONAL SDN BHD", "address": "12, JALAN TAMPOI 7/4, KAWASAN PERINDUSTRIAN TAMPOPOI, 81200 JOHOR BAHRU, JOHOR",
               "email": None, "code": "AB1234", "items": []}
    extractor = Extractor(ExtractionSettings(retries=0, nulls="keep"), schema, engine=ScriptedEngine([slipped], logprob=-0.001))
    result = asyncio.run(extractor.extract(Document.of_text("/docs/r5.txt", TEXT)))
    assert result.status == "compliant" and result.record["address"] == "12, JALAN TAMPOI 7/4, KAWASAN PERINDUSTRIAN TAMPOI, 81200 JOHOR BAHRU, JOHOR"
    evidence = {e["field"]: e for e in result.evidence}
    assert evidence["address"]["match"] == "normalised" and "address" not in result.ungrounded
    assert "TAMPOPOI" in result.raw_output  # what the model wrote stays on record
