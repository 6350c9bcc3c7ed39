"""`fieldmill eval` on hand-made results whose per-field numbers are worked out by hand."""

import datetime as dt
import json
import textwrap
from decimal import Decimal

import pyarrow as pa
import pytest

from fieldmill import storage
from fieldmill.document import Document, Source
from fieldmill.extract.merge import Finished
from fieldmill.extract.answer import Answer
from fieldmill.cli import main
from fieldmill.evaluate import evaluate, leaves
from fieldmill.run.rows import row_schema
from fieldmill.run.store import Run, RunConstants
from fieldmill.schema.load import load_schema
from fieldmill.synth import write_corpus
from s3server import client

SCHEMA = """
    import datetime as dt
    from decimal import Decimal
    from typing import Literal, Optional
    from pydantic import BaseModel, Field

    class Item(BaseModel):
        name: str = Field(max_length=20)
        price: Decimal = Field(max_digits=8, decimal_places=2)

    class Doc(BaseModel):
        title: str = Field(max_length=40)
        when: dt.date
        count: int
        weight: float
        kind: Literal["a", "b"]
        ok: bool
        tags: list[str] = Field(max_length=5)
        items: list[Item] = Field(max_length=5)
        note: Optional[str] = Field(None, max_length=40)
"""

GOLD = [
    {"name": "docs/d1.txt", "record": {"title": "Hello World", "when": "2025-01-02", "count": 3, "weight": 10.0, "kind": "a", "ok": True,
                                       "tags": ["x", "y"], "items": [{"name": "A", "price": "1.50"}, {"name": "B", "price": "2.00"}], "note": None}},
    {"name": "docs/d2.txt", "record": {"title": "T2", "when": "2025-02-03", "count": 5, "weight": 2.0, "kind": "b", "ok": False,
                                       "tags": [], "items": [{"name": "C", "price": "3.00"}], "note": "n"}},
    {"name": "docs/d3.txt", "record": {"title": "T3", "when": "2025-03-04", "count": 1, "weight": 1.0, "kind": "a", "ok": True,
                                       "tags": ["q"], "items": [{"name": "D", "price": "4.00"}], "note": None}},
]

PREDICTED = {
    "d1.txt": ("compliant", {"title": "hello   WORLD", "when": dt.date(2025, 1, 2), "count": 3, "weight": 10.005, "kind": "a", "ok": True,
                             "tags": ["x", "z"], "items": [{"name": "A", "price": Decimal("1.5")}], "note": "extra"}),
    "d2.txt": ("compliant", {"title": "T2x", "when": dt.date(2025, 2, 4), "count": 5, "weight": 2.1, "kind": "b", "ok": False,
                             "tags": [], "items": [{"name": "C", "price": Decimal("3")}], "note": None}),
    "d3.txt": ("noncompliant", None),
    "stray.txt": ("compliant", {"title": "x", "when": dt.date(2025, 1, 1), "count": 1, "weight": 1.0, "kind": "a", "ok": True, "tags": [], "items": [], "note": None}),
}


@pytest.fixture
def run(tmp_path):
    path = tmp_path / "doc_schema.py"
    path.write_text(textwrap.dedent(SCHEMA))
    schema = load_schema(f"{path}:Doc")
    output = tmp_path / "out"
    folder = str(output / "run_id=r1")
    writer = Run(folder, 'r').writer(row_schema(schema.hardened), RunConstants("r1", "Doc", schema.hash, "m"))
    for name, (status, record) in PREDICTED.items():
        writer.add(Finished(Document(Source(f"/data/corpus/docs/{name}", name, "e", 1)), Answer(status, record=record or None)))
    writer.flush()
    Run(folder, 'r').complete({"ended_at": "2026-01-01T00:00:00Z"})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(line) + "\n" for line in GOLD))
    return output, gold


def test_leaves_follow_the_record_type(run):
    output, gold = run
    ev = evaluate(str(output), str(gold))
    assert [f.path for f in ev.fields] == ["title", "when", "count", "weight", "kind", "ok", "tags[]", "items[].name", "items[].price", "note"]
    nested = leaves(pa.struct([("a", pa.list_(pa.list_(pa.int64()))), ("b", pa.struct([("c", pa.date32())]))]))
    assert [(leaf.path, leaf.is_list) for leaf in nested] == [("a[][]", True), ("b.c", False)]


def test_per_field_numbers(run):
    output, gold = run
    ev = evaluate(str(output), str(gold), rel_tol=1e-3)
    f = {s.path: s for s in ev.fields}
    third = pytest.approx(1 / 3)
    # title: d1 right (case, whitespace), d2 wrong while filled, d3 noncompliant -> missed
    assert (f["title"].accuracy, f["title"].rate(f["title"].filled), f["title"].rate(f["title"].wrong_filled), f["title"].rate(f["title"].missed)) == (third, pytest.approx(2 / 3), third, third)
    assert f["when"].accuracy == third  # dates exact: 2025-02-04 is wrong
    assert f["count"].accuracy == pytest.approx(2 / 3)
    assert f["weight"].accuracy == third  # 10.005 within 0.1 % of 10.0; 2.1 is not within 0.1 % of 2.0
    assert f["kind"].accuracy == pytest.approx(2 / 3) and f["ok"].accuracy == pytest.approx(2 / 3)  # False == False is right and filled
    tags = f["tags[]"]
    assert (tags.tp, tags.fp, tags.fn, tags.cells, tags.right) == (1, 1, 2, 5, 2)
    assert (tags.precision, tags.recall, tags.f1) == (0.5, pytest.approx(1 / 3), pytest.approx(0.4))
    assert tags.accuracy == pytest.approx(0.4) and tags.rate(tags.gold_filled) == pytest.approx(2 / 3)
    for path in ("items[].name", "items[].price"):  # Decimal 1.5 == 1.50
        item = f[path]
        assert (item.accuracy, item.precision, item.recall, item.f1) == (0.5, 1.0, 0.5, pytest.approx(2 / 3))
    note = f["note"]  # d1 invented a note, d2 missed it, d3 both empty (right)
    assert (note.accuracy, note.rate(note.wrong_filled), note.rate(note.missed), note.rate(note.gold_filled)) == (third, third, third, third)
    assert ev.micro_accuracy == pytest.approx(16 / 34)
    assert ev.macro_accuracy == pytest.approx((10 / 3 + 1.4) / 10)
    assert ev.compliance_rate == pytest.approx(2 / 3) and ev.documents == 3 and ev.unmatched_results == 1


def test_noncompliant_rows_are_scored_field_by_field(run):
    """A noncompliant row that kept its valid values scores them; only its failed fields count as missed."""
    output, gold = run
    schema_path = output.parent / "doc_schema.py"
    schema = load_schema(f"{schema_path}:Doc")
    folder = str(output / "run_id=r2")
    writer = Run(folder, 'r').writer(row_schema(schema.hardened), RunConstants("r2", "Doc", schema.hash, "m"))
    kept = {"title": "T3", "when": dt.date(2025, 3, 4), "count": None, "weight": 1.0, "kind": "a", "ok": True, "tags": ["q"],
            "items": [{"name": "D", "price": Decimal("4")}], "note": None}
    writer.add(Finished(Document(Source("/data/corpus/docs/d3.txt", "d3.txt", "e2", 1)), Answer("noncompliant", record=kept)))
    writer.flush()
    Run(folder, 'r').complete({"ended_at": "2026-02-01T00:00:00Z"})
    f = {s.path: s for s in evaluate(str(output), str(gold)).fields}
    assert f["title"].accuracy == pytest.approx(2 / 3)  # d1 right, d2 wrong, d3 right from the noncompliant row
    assert f["count"].missed == 1  # d3's count failed its own check: null, missed
    assert f["items[].name"].tp == 3  # A (d1), C (d2) and D from the noncompliant d3


def test_float_tolerance_is_a_parameter(run):
    output, gold = run
    strict = {s.path: s for s in evaluate(str(output), str(gold), rel_tol=0).fields}
    loose = {s.path: s for s in evaluate(str(output), str(gold), rel_tol=0.1).fields}
    assert strict["weight"].accuracy == 0 and loose["weight"].accuracy == pytest.approx(2 / 3)


def test_missing_documents_count_as_empty_predictions(run, tmp_path):
    output, gold = run
    with gold.open("a") as handle:
        handle.write(json.dumps({"name": "docs/never_run.txt", "record": GOLD[2]["record"]}) + "\n")
    ev = evaluate(str(output), str(gold))
    assert ev.documents == 4 and ev.statuses["no_result"] == 1
    assert {s.path: s for s in ev.fields}["count"].missed == 2


def test_cli_report_plot_and_compliance_gate(run, tmp_path, capsys):
    output, gold = run
    report, plot = tmp_path / "r" / "report.md", tmp_path / "r" / "fields.png"
    assert main(["eval", "--results", str(output), "--gold", str(gold), "--report", str(report), "--plot", str(plot), "--min-compliance", "60%"]) == 0
    printed = capsys.readouterr().out
    assert "micro 47.1%, macro 47.3%" in printed and "items[].price" in printed
    assert plot.read_bytes().startswith(b"\x89PNG") and "![Per-field accuracy](fields.png)" in report.read_text()
    assert main(["eval", "--results", str(output / "run_id=r1"), "--gold", str(gold), "--min-compliance", "0.9"]) == 1
    assert "below --min-compliance" in capsys.readouterr().err


def test_cli_reports_missing_results(tmp_path, capsys):
    (tmp_path / "gold.jsonl").write_text(json.dumps(GOLD[0]) + "\n")
    assert main(["eval", "--results", str(tmp_path / "nothing"), "--gold", str(tmp_path / "gold.jsonl")]) == 3
    assert "no run folders" in capsys.readouterr().err


def _perfect_run(schema_name, corpus, output):
    """A run whose records are the gold records, through the real Parquet writer."""
    schema = load_schema(schema_name)
    lines = write_corpus(schema_name, 6, corpus, seed=9)
    folder = storage.join(output, "run_id=perfect")
    writer = Run(folder, 'r').writer(row_schema(schema.hardened), RunConstants("perfect", schema_name, schema.hash, "m"))
    for line in lines:
        record = schema.model.model_validate(line["record"]).model_dump(mode="python")
        writer.add(Finished(Document(Source(storage.join(corpus, line["name"]), line["name"], "e", 1)), Answer("compliant", record=record)))
    writer.flush()
    Run(folder, 'r').complete({"ended_at": "2026-01-01T00:00:00Z"})


@pytest.mark.parametrize("schema_name", ["invoice", "legal_contract", "medical_record"])
def test_gold_records_as_predictions_score_one_hundred_percent(schema_name, tmp_path):
    _perfect_run(schema_name, str(tmp_path / "corpus"), str(tmp_path / "out"))
    ev = evaluate(str(tmp_path / "out"), str(tmp_path / "corpus" / "gold.jsonl"))
    assert ev.compliance_rate == 1 and ev.micro_accuracy == 1 and ev.macro_accuracy == 1, [f.path for f in ev.fields if f.accuracy < 1]


@pytest.mark.s3
def test_results_gold_and_report_on_s3(s3_endpoint, s3_fs, capsys):
    client(s3_endpoint).create_bucket(Bucket="evals")
    with storage.using(s3_fs.s3):  # the command's process reaches the endpoint as configured
        _perfect_run("invoice", "s3://evals/corpus", "s3://evals/out")
        assert main(["eval", "--results", "s3://evals/out", "--gold", "s3://evals/corpus/gold.jsonl",
                     "--report", "s3://evals/reports/r.md", "--plot", "s3://evals/reports/fields.png", "--min-compliance", "1"]) == 0
    assert "micro 100.0%, macro 100.0%" in capsys.readouterr().out
    assert "![Per-field accuracy](fields.png)" in s3_fs.read_bytes("s3://evals/reports/r.md").decode()


def test_an_output_is_scored_through_its_current_view(run, tmp_path):
    """A newer completed run that reprocessed d3 replaces d3's noncompliant row; the older run's other rows stay."""
    output, gold = run
    schema = load_schema(f"{tmp_path / 'doc_schema.py'}:Doc")
    folder = str(output / "run_id=r1-r20260201T000000")
    writer = Run(folder, 'r').writer(row_schema(schema.hardened), RunConstants("r1-r20260201T000000", "Doc", schema.hash, "m2"))
    record = schema.model.model_validate(GOLD[2]["record"]).model_dump(mode="python")
    writer.add(Finished(Document(Source("/data/corpus/docs/d3.txt", "d3.txt", "e", 1)), Answer("compliant", record=record)))
    writer.flush()
    Run(folder, 'r').complete({"ended_at": "2026-02-01T00:00:00Z"})
    ev = evaluate(str(output), str(gold))
    assert ev.statuses == {"compliant": 3} and ev.run_ids == ["r1", "r1-r20260201T000000"]
    assert {s.path: s for s in ev.fields}["count"].accuracy == 1


def test_cli_says_in_one_line_when_the_gold_file_is_missing(run, tmp_path, capsys):
    output, _ = run
    assert main(["eval", "--results", str(output), "--gold", str(tmp_path / "no-such-gold.jsonl")]) == 3
    err = capsys.readouterr().err
    assert err.startswith("fieldmill: error: no gold file at") and err.count("\n") == 1
