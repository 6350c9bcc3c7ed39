"""The step contract (extract/steps.py): a step that raises for one document fails that document alone."""

import asyncio

from fieldmill.extract import windows
from fieldmill.extract.actor import Extractor
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.extract.steps import STEP_ERROR
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema
from scripted_engine import ScriptedEngine

ROW = {"doc_uri": "/d/a.txt", "doc_key": "a.txt", "doc_etag": "e", "doc_bytes": 10, "text": "INVOICE 7\n\n" * 400, "pages_json": "", "read_reason": ""}


def test_a_document_that_windowing_raises_for_is_one_row_the_extractor_fails_with_the_steps_error(monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a page of nothing")

    monkeypatch.setattr(windows, "split", broken)
    (row,) = windows.window_rows(ROW, chunk_tokens=200, overlap_tokens=20, max_pages=100)
    assert row["read_reason"] == STEP_ERROR and row["window_count"] == 1 and not row["text"]
    assert "windowing raised ZeroDivisionError: a page of nothing" in row["read_message"]
    result = asyncio.run(Extractor(ExtractionSettings(retries=0), "invoice", engine=ScriptedEngine([])).extract(row))
    assert (result.status, result.reason) == ("failed", STEP_ERROR) and "ZeroDivisionError" in result.error


def test_a_document_extraction_raises_for_fails_alone_and_the_batch_goes_on(monkeypatch):
    schema = load_schema("invoice")
    engine = ScriptedEngine([example_record(schema.hardened)] * 2)
    extractor = Extractor(ExtractionSettings(retries=0), schema, engine=engine)
    reading = extractor._reading

    def picky(row):
        if row["doc_uri"].endswith("bad.txt"):
            raise RecursionError("a grammar too deep")
        return reading(row)

    monkeypatch.setattr(extractor, "_reading", picky)
    batch = {key: [value, value] for key, value in ROW.items()} | {"doc_uri": ["/d/good.txt", "/d/bad.txt"], "text": ["INVOICE 7", "INVOICE 8"]}
    out = asyncio.run(extractor(batch))
    assert out["doc_uri"] == ["/d/good.txt", "/d/bad.txt"]
    good, bad = (Answer.from_bytes(answer) for answer in out[ANSWER])
    assert good.status == "compliant" and good.record
    assert (bad.status, bad.reason) == ("failed", STEP_ERROR) and "extract raised RecursionError" in bad.error
