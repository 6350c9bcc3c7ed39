"""A window that retrieval chose for some fields is read with those fields only (extract.Extractor, retrieval.field_group).

The engine is a scripted stand-in behind the real `Engine` interface that records what it
was asked: these tests are about the prompt, the constraint and the record the extractor
builds for a window, not about what a model writes.
"""

import asyncio
import json
import re

from fieldmill.document import Document, Source, Spare, Window
from fieldmill.extract.actor import Extractor
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema
from scripted_engine import ScriptedEngine

SCHEMA = load_schema("invoice")
DOCUMENT = Document(Source("/d/a.txt"))


def test_a_window_chosen_for_some_fields_is_asked_for_them_only():
    whole = example_record(SCHEMA.hardened)
    engine = ScriptedEngine([whole, {"total": 1234.5, "currency": "EUR"}], prompt_format="fields-v3", completion_tokens=20, generation_s=0.1)
    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=engine)
    engine.prompts.clear()
    first = asyncio.run(extractor.extract(DOCUMENT, Window(0, 2, 0, "INVOICE ...")))
    later = asyncio.run(extractor.extract(DOCUMENT, Window(1, 2, 900, "... Total EUR 1,234.50", ("total", "currency"))))
    whole_prompt, group_prompt = engine.prompts
    assert "line_items" in whole_prompt and "line_items" not in group_prompt and "total" in group_prompt and "currency" in group_prompt
    group_regex = re.compile(engine.constraints[1].regex)
    assert group_regex.fullmatch('{"currency":"EUR","total":1234.5}') or group_regex.fullmatch('{"total":1234.5,"currency":"EUR"}')
    assert not group_regex.fullmatch(json.dumps(whole, separators=(",", ":")))
    assert engine.constraints[1].max_output_bytes < engine.constraints[0].max_output_bytes  # a shorter answer
    record = later.record
    assert set(record) == set(SCHEMA.hardened["properties"]) and record["total"] == 1234.5 and record["currency"] == "EUR"
    assert record["invoice_number"] is None and first.record["invoice_number"] == whole["invoice_number"]
    assert json.loads(later.raw_output) == {"total": 1234.5, "currency": "EUR"}  # what the model wrote, as it wrote it


def test_a_field_the_window_left_null_is_read_again_in_its_next_ranked_window():
    """The second pass (`Window.reserve`): only the fields still null, in the spare window, its value with its evidence."""
    whole = {**example_record(SCHEMA.hardened), "total": None, "currency": "USD"}
    engine = ScriptedEngine([whole, {"total": 1234.5}], prompt_format="fields-v3", completion_tokens=20, generation_s=0.1)
    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=engine)
    engine.prompts.clear()
    spare = "Balance carried over.\nTotal EUR 1,234.50\n"
    reserve = (Spare(7, 5000, spare, ("total", "currency")),)
    result = asyncio.run(extractor.extract(DOCUMENT, Window(0, 3, 0, "INVOICE ...", reserve=reserve)))
    record = result.record
    assert record["total"] == 1234.5 and record["currency"] == "USD" and record["invoice_number"] == whole["invoice_number"]
    group_prompt = engine.prompts[-1]
    assert "Total EUR 1,234.50" in group_prompt and "- total (" in group_prompt and "- currency (" not in group_prompt  # only what is still null
    total = next(e for e in result.evidence if e["field"] == "total")
    assert 5000 <= total["start"] < total["end"] <= 5000 + len(spare)  # in document offsets
    assert result.windows_reread == ({"window": 7, "start": 5000, "end": 5000 + len(spare), "fields": ["total"]},)
    assert result.completion_tokens == 40 and result.prompt_tokens > 0  # both reads are the document's cost
    filled = ScriptedEngine([{**whole, "total": 99.0}], prompt_format="fields-v3")
    again = asyncio.run(Extractor(ExtractionSettings(retries=0), "invoice", engine=filled).extract(
        Document(Source("/d/b.txt")), Window(0, 3, 0, "INVOICE ... Total 99.00", reserve=reserve)))
    assert not filled.outputs and not again.windows_reread  # nothing left null: no second read
