"""Long documents: windows cut at boundaries with overlap and full coverage; window records merged field by field."""

from decimal import Decimal

from pydantic import BaseModel

from fieldmill.document import DOCUMENT, WINDOW, Document, Source, Window
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.schema.hardening import harden
from fieldmill.extract.merge import WindowResult, merge_windows
from fieldmill.extract.windows import blocks, page_count, split


def test_windows_cover_every_character_cut_at_paragraphs_and_overlap():
    paragraphs = [f"Clause {i}. " + ("word " * (20 + i % 7)).strip() for i in range(40)]
    text = "\n\n".join(paragraphs)
    windows = split(text, size=600, overlap=150)
    assert len(windows) > 3 and all(len(w.text) <= 600 for w in windows)
    covered = set()
    for w in windows:
        assert text[w.start:w.start + len(w.text)] == w.text
        covered.update(range(w.start, w.start + len(w.text)))
        assert w.start == 0 or text[w.start - 2:w.start] == "\n\n"  # starts at a paragraph
    assert covered == set(range(len(text)))
    for before, after in zip(windows, windows[1:]):
        assert after.start < before.start + len(before.text)  # they overlap ...
        assert before.start + len(before.text) - after.start <= 150 + 1  # ... by at most the overlap


def test_page_starts_are_boundaries_and_a_huge_block_is_cut_at_lines():
    text = "A" * 50 + "B" * 50 + "\n".join("line %03d" % i for i in range(200))
    pages = [(0, 1), (50, 2), (100, 3)]
    assert (50, 100) in blocks(text, pages)
    windows = split(text, size=300, overlap=0, pages=pages)
    assert all(len(w.text) <= 300 for w in windows)
    assert all(w.text.endswith("\n") or w.start + len(w.text) == len(text) or w.text.endswith(("A", "B")) for w in windows)
    assert page_count(text, pages) == 3 and page_count("x" * 7000, None) == 3


class Line(BaseModel):
    item: str
    qty: int | None = None


class Rec(BaseModel):
    party: str | None = None
    amount: Decimal | None = None
    lines: list[Line] = []
    tags: list[str] = []
    address: dict | None = None


HARD = harden(Rec.model_json_schema())


def test_scalar_conflict_prefers_grounded_then_confident_then_first():
    windows = [
        WindowResult({"party": "Draft Co", "amount": None}, {"party": 0.99}, {}),  # ungrounded
        WindowResult({"party": "Acme Ltd", "amount": Decimal("10")}, {"party": 0.6, "amount": 0.7}, {"party": {"start": 900, "end": 908, "quote": "Acme Ltd"}}),
        WindowResult({"party": "Acme Limited", "amount": Decimal("12")}, {"party": 0.9, "amount": 0.95},
                     {"party": {"start": 5000, "end": 5012, "quote": "Acme Limited"}, "amount": {"start": 5100, "end": 5102, "quote": "12"}}),
    ]
    merged = merge_windows(windows, HARD)
    assert merged.record["party"] == "Acme Limited"  # grounded, and surer than the other grounded one
    assert merged.record["amount"] == Decimal("12")
    assert merged.evidence(windows) == [{"start": 5000, "end": 5012, "quote": "Acme Limited", "field": "party"},
                                        {"start": 5100, "end": 5102, "quote": "12", "field": "amount"}]
    assert merged.confidence(windows)["amount"] == 0.95


def test_lists_are_unions_without_near_duplicates_and_objects_complete_each_other():
    windows = [
        WindowResult({"lines": [{"item": "Bolts", "qty": None}, {"item": "Nuts", "qty": 4}], "tags": ["Urgent", "paid"]}),
        WindowResult({"lines": [{"item": "bolts ", "qty": 12}, {"item": "Washers", "qty": 2}], "tags": ["urgent", "late"]}),
    ]
    merged = merge_windows(windows, HARD).record
    assert merged["lines"] == [{"item": "Bolts", "qty": 12}, {"item": "Nuts", "qty": 4}, {"item": "Washers", "qty": 2}]
    assert merged["tags"] == ["Urgent", "paid", "late"]


def test_nested_objects_merge_and_all_null_stays_null():
    windows = [WindowResult({"party": None, "address": {"city": "Leeds"}}), WindowResult(None), WindowResult({"party": None, "address": None})]
    merged = merge_windows(windows, HARD).record
    assert merged["party"] is None and merged["address"] == {"city": "Leeds"} and merged["lines"] is None
    assert merge_windows([WindowResult(None)], HARD).record is None


def _row(document: Document, window: Window, answer: Answer | None = None) -> dict:
    """A row as Ray Data carries it between the steps."""
    return {DOCUMENT: document.to_bytes(), WINDOW: window.to_bytes(), **({ANSWER: answer.to_bytes()} if answer is not None else {})}


def test_window_rows_carry_offsets_and_a_document_over_the_page_limit_is_too_long():
    from fieldmill.extract.windows import window_rows

    def windows(document: Document, *args, **kwargs) -> list[tuple[Document, Window]]:
        rows = window_rows({DOCUMENT: document.to_bytes()}, *args, **kwargs)
        return [(Document.from_bytes(r[DOCUMENT]), Window.from_bytes(r[WINDOW])) for r in rows]

    text = "\n\n".join(f"Paragraph {i}. " + "text " * 60 for i in range(30))
    long = Document(Source("/d/long.txt", etag="e"), text)
    read = windows(long, chunk_tokens=300, overlap_tokens=50, max_pages=100)
    assert len(read) > 1 and {w.count for _, w in read} == {len(read)} and {d.windows for d, _ in read} == {len(read)}
    assert all(text[w.start:w.end] == w.text for _, w in read)
    ((document, window),) = windows(Document(Source("/d/short.txt"), "short"), 300, 50, 100)
    assert window == Window(text="short") and document.page_count == 1 and not document.text
    ((pdf, window),) = windows(Document(Source("/d/c.pdf"), "x" * 30, pages=((0, 1), (10, 2), (20, 7))), 300, 50, max_pages=5)
    assert pdf.reason == "too_long" and "7 pages exceeds --max-doc-pages 5" in pdf.message and not window.text


def test_the_assembler_writes_one_validated_row_per_document_with_document_offsets():
    from dataclasses import replace

    from fieldmill.extract.merge import WindowAssembler
    from fieldmill.schema.load import load_schema

    schema = load_schema("legal_contract")
    document = Document(Source("/d/c.pdf", "c.pdf", "e", 1), text_sha256="f" * 64, page_count=30)
    first = {"contract_title": "Supply Agreement", "contract_type": "supply", "parties": [{"name": "Acme Ltd", "role": "supplier"}]}
    second = {"contract_title": None, "contract_type": None, "parties": [{"name": "ACME LTD", "role": "supplier"}, {"name": "Bolt GmbH", "role": "customer"}]}
    answers = [Answer("noncompliant", record=record, prompt_tokens=100, completion_tokens=50, confidence={"contract_title": 0.9} if i == 0 else {},
                      evidence=({"field": "parties[1].name", "start": 9000, "end": 9009, "quote": "Bolt GmbH", "match": "exact", "page": 27},) if i else (),
                      windows_reread=({"window": 9, "start": 12000, "end": 12900, "fields": ["governing_law"]},) if i == 0 else ())
               for i, record in enumerate([first, second])]
    rows = [_row(document, Window(i, 2), answer) for i, answer in enumerate(answers)]
    assembler = WindowAssembler(schema)
    assert assembler.add(rows[1]) is None  # waits for its sibling
    finished = assembler.add(rows[0])
    answer = finished.answer
    assert finished.chunks == 3 and answer.prompt_tokens == 200 and not assembler.pending  # two windows, and one read again
    record = answer.record
    assert [p["name"] for p in record["parties"]] == ["Acme Ltd", "Bolt GmbH"] and record["contract_title"] == "Supply Agreement"
    assert list(answer.evidence) == [{"start": 9000, "end": 9009, "quote": "Bolt GmbH", "match": "exact", "page": 27, "field": "parties[1].name"}]
    assert "contract_title" in answer.ungrounded and answer.confidence == {"contract_title": 0.9}
    assert answer.status == "noncompliant" and any(e["field"] == "effective_date" for e in answer.errors)  # the merged record is validated as one
    # a window's second pass (the actor read a spare window for fields it left null) is listed where it was read
    plan = ({"window": 0, "start": 0, "end": 900, "fields": []}, {"window": 5, "start": 8800, "end": 9700, "fields": ["parties"]})
    rows = [_row(replace(document, windows_read=plan), Window(i, 2), answer) for i, answer in enumerate(answers)]
    finished = assembler.add(rows[0]) or assembler.add(rows[1])
    assert finished.chunks == 3 and list(finished.document.windows_read) == [*plan, {"window": 9, "start": 12000, "end": 12900, "fields": ["governing_law"]}]


def test_a_window_that_failed_for_a_passing_reason_fails_its_document_so_the_next_run_reads_it_again():

    from fieldmill.documents import ENGINE_ERROR, TRANSIENT
    from fieldmill.extract.merge import WindowAssembler
    from fieldmill.schema.load import load_schema

    schema = load_schema("legal_contract")
    document = Document(Source("/d/c.pdf", "c.pdf", "e", 1), text_sha256="f" * 64, page_count=30)
    good = {"contract_title": "Supply Agreement", "contract_type": "supply", "parties": [{"name": "Acme Ltd", "role": "supplier"}]}
    rows = [_row(document, Window(0, 3), Answer("noncompliant", record=good)),
            _row(document, Window(1, 3), Answer.failed(ENGINE_ERROR, "EngineDeadError: engine core died")),
            _row(document, Window(2, 3), Answer("noncompliant", record=good))]
    assembler = WindowAssembler(schema)
    assert assembler.add(rows[0]) is None and assembler.add(rows[1]) is None
    answer = assembler.add(rows[2]).answer
    assert (answer.status, answer.reason) == ("failed", ENGINE_ERROR) and answer.reason in TRANSIENT
    assert answer.error == "window 2 of 3 failed (engine_error): EngineDeadError: engine core died" and answer.record is None
