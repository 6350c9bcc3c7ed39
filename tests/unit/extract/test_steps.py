"""The step contract (extract/steps.py): a step that raises for one document fails that document alone."""

import asyncio

from fieldmill.document import DOCUMENT, WINDOW, Document, Source, Window
from fieldmill.extract import windows
from fieldmill.extract.actor import Extractor
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.extract.steps import STEP_ERROR
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema
from scripted_engine import ScriptedEngine

READ = Document(Source("/d/a.txt", "a.txt", "e", 10), "INVOICE 7\n\n" * 400, text_sha256="x")


def test_a_document_that_windowing_raises_for_is_one_row_the_extractor_fails_with_the_steps_error(monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a page of nothing")

    monkeypatch.setattr(windows, "split", broken)
    (row,) = windows.window_rows({DOCUMENT: READ.to_bytes()}, chunk_tokens=200, overlap_tokens=20, max_pages=100)
    document, window = Document.from_bytes(row[DOCUMENT]), Window.from_bytes(row[WINDOW])
    assert document.reason == STEP_ERROR and window.count == 1 and not document.text and not window.text
    assert "windowing raised ZeroDivisionError: a page of nothing" in document.message
    result = asyncio.run(Extractor(ExtractionSettings(retries=0), "invoice", engine=ScriptedEngine([])).extract(document, window))
    assert (result.status, result.reason) == ("failed", STEP_ERROR) and "ZeroDivisionError" in result.error


def test_a_document_extraction_raises_for_fails_alone_and_the_batch_goes_on(monkeypatch):
    schema = load_schema("invoice")
    engine = ScriptedEngine([example_record(schema.hardened)] * 2)
    extractor = Extractor(ExtractionSettings(retries=0), schema, engine=engine)
    question = extractor._question

    def picky(window):
        if "8" in window.text:
            raise RecursionError("a grammar too deep")
        return question(window)

    monkeypatch.setattr(extractor, "_question", picky)
    good, bad = Document(Source("/d/good.txt")), Document(Source("/d/bad.txt"))
    batch = {DOCUMENT: [good.to_bytes(), bad.to_bytes()], WINDOW: [Window(text="INVOICE 7").to_bytes(), Window(text="INVOICE 8").to_bytes()]}
    out = asyncio.run(extractor(batch))
    assert [Document.from_bytes(d).uri for d in out[DOCUMENT]] == ["/d/good.txt", "/d/bad.txt"]
    assert not any(Window.from_bytes(w).text for w in out[WINDOW])  # the driver gets the windows' places, not their texts again
    good, bad = (Answer.from_bytes(answer) for answer in out[ANSWER])
    assert good.status == "compliant" and good.record
    assert (bad.status, bad.reason) == ("failed", STEP_ERROR) and "extract raised RecursionError" in bad.error
