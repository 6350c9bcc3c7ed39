"""A 10-page contract is one row read in windows; a document over the page limit is one too_long row (real CLI, Ray, model)."""

from __future__ import annotations

import json
import re

import pytest

from fieldmill.documents import decode_document
from fieldmill.schemas import load_schema
from fieldmill.synth import write_corpus
from helpers import fieldmill, local_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_a_long_contract_is_one_row_from_many_windows_and_an_oversized_one_is_refused(tmp_path):
    write_corpus("legal_contract", 1, str(tmp_path / "long"), seed=31, formats=("pdf",), pages=(10, 10))
    write_corpus("legal_contract", 1, str(tmp_path / "huge"), seed=32, formats=("txt",), pages=(16, 16))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.pdf").write_bytes((tmp_path / "long" / "docs" / "legal_contract-0000.pdf").read_bytes())
    (docs / "huge.txt").write_bytes((tmp_path / "huge" / "docs" / "legal_contract-0000.txt").read_bytes())
    out = tmp_path / "out"
    ran = fieldmill("run", str(docs), "--schema", "legal_contract", "--output", str(out), "--max-doc-pages", "12", "--retries", "0", "--retrieval", "off")
    assert ran.returncode == 0, ran.stderr[-3000:]
    rows = {r["doc_key"]: r for r in local_rows(str(out))}
    assert set(rows) == {"long.pdf", "huge.txt"}  # one row per document, whatever its length
    huge = rows["huge.txt"]
    assert huge["status"] == "failed" and huge["reason"] == "too_long" and "exceeds --max-doc-pages 12" in huge["error"]
    long = rows["long.pdf"]
    assert long["status"] in ("compliant", "noncompliant") and long["chunks"] > 1 and long["doc_pages"] >= 8
    assert re.fullmatch(load_schema("legal_contract").constraint.regex, long["raw_output"])
    text = decode_document("long.pdf", (docs / "long.pdf").read_bytes()).text
    for evidence in long["evidence"]:  # offsets and pages are the whole document's, not a window's
        assert text[evidence["start"]:evidence["end"]] == evidence["quote"]
        assert 1 <= evidence["page"] <= long["doc_pages"]
    assert any(e["start"] > 20000 for e in long["evidence"]) or long["chunks"] > 1
    read = long["windows_read"]  # --retrieval off: every window, each for every field
    assert long["windows"] == long["chunks"] == len(read) and all(w["fields"] == [] for w in read) and read[0]["start"] == 0
    assert read[-1]["end"] == len(text)

    # The default (--retrieval bm25) with a team's 4-field schema: the first window and each field's best, recorded;
    # evidence still in document offsets.
    (docs / "huge.txt").unlink()
    (tmp_path / "agreement.json").write_text(json.dumps(AGREEMENT))
    ranked = fieldmill("run", str(docs), "--schema", str(tmp_path / "agreement.json"), "--output", str(tmp_path / "ranked"), "--retries", "0")
    assert ranked.returncode == 0, ranked.stderr[-3000:]
    (row,) = local_rows(str(tmp_path / "ranked"))
    assert row["status"] in ("compliant", "noncompliant") and row["windows"] == long["windows"]
    assert row["chunks"] < row["windows"] and len(row["windows_read"]) == row["chunks"] and row["windows_read"][0]["window"] == 0
    assert {f for w in row["windows_read"] for f in w["fields"]} <= set(AGREEMENT["properties"])
    for evidence in row["evidence"]:
        assert text[evidence["start"]:evidence["end"]] == evidence["quote"]


AGREEMENT = {"title": "agreement", "type": "object", "properties": {
    "parties": {"type": "array", "items": {"type": "string"}, "description": "Names of the parties to the agreement"},
    "effective_date": {"type": ["string", "null"], "format": "date", "description": "Date the agreement takes effect"},
    "governing_law": {"type": ["string", "null"], "description": "Law that governs the agreement"},
    "term": {"type": ["string", "null"], "description": "Initial term of the agreement"}}}
