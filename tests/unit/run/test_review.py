"""`fieldmill review`: low-confidence, ungrounded and rule-breaking values become a file that finetune takes back as corrections."""

import csv
import datetime as dt
import json
import textwrap

from fieldmill.document import Document, Source
from fieldmill.extract.merge import Finished
from fieldmill.extract.answer import Answer
from fieldmill.cli import main
from fieldmill.finetune import examples as ex
from fieldmill.run.rows import row_schema
from fieldmill.run.store import Run, RunConstants
from fieldmill.run.review import value_at
from fieldmill.schema.load import load_schema

SCHEMA = """
    import datetime as dt
    from typing import Optional
    from pydantic import BaseModel, Field

    class Ticket(BaseModel):
        number: str = Field(max_length=20)
        issued: dt.date
        city: Optional[str] = Field(None, max_length=40)
"""


def _run(tmp_path):
    (tmp_path / "ticket.py").write_text(textwrap.dedent(SCHEMA))
    spec = f"{tmp_path / 'ticket.py'}:Ticket"
    schema = load_schema(spec)
    docs = tmp_path / "docs"
    docs.mkdir()
    rows = {
        "sure.txt": ("compliant", {"number": "T-1", "issued": dt.date(2025, 1, 2), "city": "Leeds"}, {"number": 0.99, "issued": 0.98, "city": 0.97}, [], []),
        "unsure.txt": ("compliant", {"number": "T-2", "issued": dt.date(2025, 1, 3), "city": "Paris"}, {"number": 0.99, "issued": 0.5, "city": 0.95}, ["city"], []),
        "broken.txt": ("noncompliant", {"number": "T-3", "issued": None, "city": None}, {"number": 0.99}, [],
                       [{"field": "issued", "message": "invalid date"}]),
    }
    writer = Run(str(tmp_path / "out" / "run_id=r1"), 'r').writer(row_schema(schema.hardened), RunConstants("r1", "Ticket", schema.hash, "m"))
    for name, (status, record, confidence, ungrounded, errors) in rows.items():
        (docs / name).write_text(f"Ticket {record['number']} issued 2 January 2025 in Leeds\n")
        writer.add(Finished(Document(Source(str(docs / name), name, "e", 1)), Answer(status, errors=tuple(errors), record=record, confidence=confidence, ungrounded=tuple(ungrounded),
                                   evidence=({"field": "number", "start": 7, "end": 10, "quote": record["number"], "match": "exact", "page": None},))))
    writer.flush()
    Run(str(tmp_path / "out" / "run_id=r1"), 'r').complete({"ended_at": "2026-01-01T00:00:00Z"})
    return spec, tmp_path / "out"


def test_review_flags_low_confidence_ungrounded_and_broken_records(tmp_path, capsys):
    spec, out = _run(tmp_path)
    assert main(["review", str(out), "--below", "0.9", "--ungrounded", "--to", str(tmp_path / "review.jsonl")]) == 0
    lines = [json.loads(line) for line in (tmp_path / "review.jsonl").read_text().splitlines()]
    by_doc = {line["doc_uri"].rsplit("/", 1)[-1]: line for line in lines}
    assert set(by_doc) == {"unsure.txt", "broken.txt"}
    unsure = {c["field"]: c for c in by_doc["unsure.txt"]["check"]}
    assert unsure["issued"]["why"] == ["low_confidence"] and unsure["issued"]["value"] == "2025-01-03"
    assert unsure["city"]["why"] == ["ungrounded"] and unsure["city"]["value"] == "Paris"
    assert by_doc["broken.txt"]["check"][0]["rule"] == "invalid date"
    assert "2 of 3 documents" in capsys.readouterr().out
    # without --ungrounded, Paris (confidence 0.95) is not flagged
    assert main(["review", str(out), "--below", "0.9", "--to", str(tmp_path / "r2.jsonl")]) == 0
    again = {json.loads(line)["doc_uri"].rsplit("/", 1)[-1]: json.loads(line) for line in (tmp_path / "r2.jsonl").read_text().splitlines()}
    assert [c["field"] for c in again["unsure.txt"]["check"]] == ["issued"]


def test_corrected_review_file_is_what_finetune_takes(tmp_path):
    spec, out = _run(tmp_path)
    assert main(["review", str(out), "--ungrounded", "--to", str(tmp_path / "review.jsonl")]) == 0
    corrected = []
    for line in (tmp_path / "review.jsonl").read_text().splitlines():
        item = json.loads(line)
        item["record"]["issued"] = "2025-01-02"
        item["record"]["city"] = "Leeds"
        corrected.append(json.dumps(item))
    (tmp_path / "corrections.jsonl").write_text("\n".join(corrected) + "\n")
    skipped = ex.Skipped()
    examples = ex.load_examples(ex.Source(spec, str(tmp_path / "corrections.jsonl")), skipped)
    assert not skipped.counts and len(examples) == 2
    assert all(e.record["issued"] == "2025-01-02" and e.record["city"] == "Leeds" for e in examples)
    assert "Ticket T-" in examples[0].text


def test_csv_has_one_line_per_document(tmp_path):
    _, out = _run(tmp_path)
    assert main(["review", str(out), "--ungrounded", "--to", str(tmp_path / "review.csv")]) == 0
    rows = list(csv.DictReader((tmp_path / "review.csv").open()))
    assert len(rows) == 2 and {r["fields"] for r in rows} == {"issued; city", "issued"}


def test_value_at_paths():
    record = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert value_at(record, "a.b[1].c") == 2 and value_at(record, "a.x") is None and value_at(record, "$") == record
