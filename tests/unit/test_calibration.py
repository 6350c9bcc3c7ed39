"""Calibration in `fieldmill eval`: accuracy by confidence and grounding, the coverage/accuracy curve, worked out by hand."""

import json
import textwrap

import pytest

from fieldmill.document import Document, Source
from fieldmill.extract.merge import Finished
from fieldmill.extract.answer import Answer
from fieldmill.cli import main
from fieldmill.evaluate import evaluate
from fieldmill.run.rows import row_schema
from fieldmill.run.store import Run, RunConstants
from fieldmill.schema.load import load_schema

SCHEMA = """
    from typing import Optional
    from pydantic import BaseModel, Field

    class Rec(BaseModel):
        name: str = Field(max_length=20)
        city: Optional[str] = Field(None, max_length=20)
        tags: list[str] = Field(max_length=4)
"""

# per document: gold, predicted, confidence by concrete path, ungrounded paths
DOCS = {
    "a.txt": ({"name": "Ann", "city": "Leeds", "tags": ["x", "y"]}, {"name": "Ann", "city": "Leeds", "tags": ["x", "q"]},
              {"name": 0.99, "city": 0.97, "tags[0]": 0.96, "tags[1]": 0.4}, ["tags[1]"]),
    "b.txt": ({"name": "Bob", "city": None, "tags": []}, {"name": "Rob", "city": "York", "tags": []},
              {"name": 0.85, "city": 0.6, "tags": 0.99}, ["city"]),
}


@pytest.fixture
def output(tmp_path):
    (tmp_path / "rec.py").write_text(textwrap.dedent(SCHEMA))
    schema = load_schema(f"{tmp_path / 'rec.py'}:Rec")
    folder = str(tmp_path / "out" / "run_id=r")
    writer = Run(folder, 'r').writer(row_schema(schema.hardened), RunConstants("r", "Rec", schema.hash, "m"))
    for name, (_, predicted, confidence, ungrounded) in DOCS.items():
        evidence = [{"field": p, "start": 0, "end": 1, "quote": "q", "match": "exact", "page": None} for p in confidence if p not in ungrounded]
        writer.add(Finished(Document(Source(f"/d/{name}", name, "e", 1)), Answer("compliant", record=predicted, confidence=confidence, ungrounded=tuple(ungrounded), evidence=tuple(evidence))))
    writer.flush()
    Run(folder, 'r').complete({"ended_at": "2026-01-01T00:00:00Z"})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps({"name": f"docs/{n}", "record": g}) + "\n" for n, (g, *_rest) in DOCS.items()))
    return tmp_path / "out", gold


def test_values_buckets_grounding_and_curve(output):
    out, gold = output
    cal = evaluate(str(out), str(gold)).calibration
    # judged: a.name right .99, a.city right .97, a.tags[0] right .96, a.tags[1] wrong .4, b.name wrong .85, b.city wrong .6 (gold empty)
    assert sorted((v.path, v.right) for v in cal.values) == [("city", False), ("city", True), ("name", False), ("name", True),
                                                              ("tags[0]", True), ("tags[1]", False)]
    buckets = {f"{low:.2f}": (n, acc) for low, _, n, acc in cal.buckets()}
    assert buckets["0.00"] == (1, 0.0) and buckets["0.50"] == (1, 0.0) and buckets["0.80"] == (1, 0.0) and buckets["0.95"] == (2, 1.0) and buckets["0.99"] == (1, 1.0)
    assert cal.by_grounding()["ungrounded"] == (2, 0.0) and cal.by_grounding()["grounded"] == (4, 0.75)
    curve = {t: (c, a) for t, c, a in cal.curve()}
    assert curve[0.0] == (1.0, 0.5) and curve[0.9] == (0.5, 1.0)
    wrong, right = cal.flagged(0.9)
    assert wrong == 1.0 and right == 0.0  # every wrong value is below 0.9 or ungrounded; no right value is


def test_eval_prints_calibration_and_writes_the_curve(output, tmp_path, capsys):
    out, gold = output
    assert main(["eval", "--results", str(out), "--gold", str(gold), "--curve", str(tmp_path / "curve.png"), "--report", str(tmp_path / "r.md")]) == 0
    printed = capsys.readouterr().out
    assert "Coverage and accuracy" in printed and "wrong values flagged" in printed
    assert (tmp_path / "curve.png").read_bytes().startswith(b"\x89PNG")
    assert "![Coverage and accuracy](curve.png)" in (tmp_path / "r.md").read_text()


def test_accuracy_against_document_length(tmp_path, capsys):
    (tmp_path / "rec.py").write_text(textwrap.dedent(SCHEMA))
    schema = load_schema(f"{tmp_path / 'rec.py'}:Rec")
    folder = str(tmp_path / "out" / "run_id=r")
    writer = Run(folder, "r").writer(row_schema(schema.hardened), RunConstants("r", "Rec", schema.hash, "m"))
    gold = []
    for name, pages, city in [("short.txt", 1, "Leeds"), ("long.pdf", 30, "Paris"), ("longer.pdf", 45, None)]:
        predicted = {"name": "Ann", "city": city, "tags": []}
        writer.add(Finished(Document(Source(f"/d/{name}", name, "e", 1), page_count=pages), Answer("compliant", record=predicted)))
        gold.append({"name": f"docs/{name}", "record": {"name": "Ann", "city": "Leeds", "tags": []}})
    writer.flush()
    Run(folder, "r").complete({})
    (tmp_path / "gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold))
    ev = evaluate(str(tmp_path / "out"), str(tmp_path / "gold.jsonl"))
    assert ev.length_table() == [("1", 1, 1.0), ("21-60", 2, pytest.approx(4 / 6))]
    assert main(["eval", "--results", str(tmp_path / "out"), "--gold", str(tmp_path / "gold.jsonl"), "--length-plot", str(tmp_path / "len.png")]) == 0
    assert "Accuracy by document length" in capsys.readouterr().out and (tmp_path / "len.png").read_bytes().startswith(b"\x89PNG")
