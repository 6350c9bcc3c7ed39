"""Hostile input through the real CLI, Ray and the bundled model: one row per file, never a crash, never another schema.

The schema is a team's short one (six fields of an invoice): what is tested is the files, not the length of
the record (the built-in invoice schema end to end: test_run, test_synth_run_eval)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fieldmill.schema.load import load_schema
from fieldmill.storage import printable
from helpers import fieldmill, local_rows
from hostile_files import hostile_files

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

SCHEMA = {
    "title": "invoice_header",
    "type": "object",
    "properties": {
        "invoice_number": {"type": ["string", "null"], "description": "Invoice number as printed"},
        "issue_date": {"type": ["string", "null"], "format": "date"},
        "seller": {"type": ["string", "null"], "description": "Company that issued the invoice"},
        "buyer": {"type": ["string", "null"], "description": "Company billed"},
        "total": {"type": ["number", "null"], "description": "Total due"},
        "currency": {"type": ["string", "null"], "description": "ISO 4217 code"},
    },
    "required": ["invoice_number", "issue_date", "seller", "buyer", "total", "currency"],
}


def test_every_hostile_file_is_one_row_and_document_text_cannot_change_the_schema(tmp_path):
    files = hostile_files()
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, (data, _) in files.items():
        (docs / name).write_bytes(data)
    out, spec = tmp_path / "out", tmp_path / "invoice_header.json"
    spec.write_text(json.dumps(SCHEMA))
    result = fieldmill("run", str(docs), "--schema", str(spec), "--output", str(out), "--retries", "0")
    assert result.returncode == 0, result.stderr[-3000:]

    rows = local_rows(str(out))
    # Exactly one row per file, names kept as they are (a name that is not UTF-8 with its bytes escaped).
    assert sorted(r["doc_key"] for r in rows) == sorted(printable(name) for name in files)
    schema = load_schema(str(spec))
    by_printable = {printable(name): content for name, content in files.items()}
    for row in rows:
        expected = by_printable[row["doc_key"]][1]
        if expected is not None:
            assert (row["status"], row["reason"]) == ("failed", expected), row
            assert row["error"].startswith(expected + ": ") and len(row["error"]) > len(expected) + 5
            continue
        # The text reached the model; whatever it says, the answer is a record of the schema's shape.
        assert row["status"] in ("compliant", "noncompliant") and row["prompt_tokens"] > 0, row
        assert re.fullmatch(schema.constraint.regex, row["raw_output"]), row["raw_output"][:300]
        answer = json.loads(row["raw_output"])
        assert list(answer) == list(schema.hardened["properties"])
        assert "password" not in answer and "ssn" not in answer
        assert row["text_source"] == ("ocr" if row["doc_key"].endswith(".png") else "text_layer" if row["doc_key"].endswith(".pdf") else "text")
    again = fieldmill("run", str(docs), "--schema", str(spec), "--output", str(out), "--retries", "0")  # nothing is redone
    assert again.returncode == 0 and "0 processed now" in again.stdout, again.stdout[-2000:]
    assert sorted(p.name for p in Path(out).glob("run_id=*/*")) == ["_SUCCESS", "_index", "_index.parquet", "_manifest", *sorted(p.name for p in Path(out).glob("run_id=*/part-*"))]
