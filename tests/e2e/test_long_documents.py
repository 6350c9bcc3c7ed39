"""A 6-page contract is one row read in windows; a document over the page limit is one too_long row (real CLI, Ray, model)."""

from __future__ import annotations

import re

import pytest

from fieldmill.documents import decode_document
from fieldmill.schema.load import load_schema
from fieldmill.synth import write_corpus
from helpers import fieldmill, local_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def test_a_long_contract_is_one_row_from_many_windows_and_an_oversized_one_is_refused(tmp_path):
    write_corpus("legal_contract", 1, str(tmp_path / "long"), seed=31, formats=("pdf",), pages=(6, 6))
    write_corpus("legal_contract", 1, str(tmp_path / "huge"), seed=32, formats=("txt",), pages=(10, 10))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "long.pdf").write_bytes((tmp_path / "long" / "docs" / "legal_contract-0000.pdf").read_bytes())
    (docs / "huge.txt").write_bytes((tmp_path / "huge" / "docs" / "legal_contract-0000.txt").read_bytes())
    out = tmp_path / "out"
    ran = fieldmill("run", str(docs), "--schema", "legal_contract", "--output", str(out), "--max-doc-pages", "8", "--retries", "0")
    assert ran.returncode == 0, ran.stderr[-3000:]
    rows = {r["doc_key"]: r for r in local_rows(str(out))}
    assert set(rows) == {"long.pdf", "huge.txt"}  # one row per document, whatever its length
    huge = rows["huge.txt"]
    assert huge["status"] == "failed" and huge["reason"] == "too_long" and "exceeds --max-doc-pages 8" in huge["error"]
    long = rows["long.pdf"]
    assert long["status"] in ("compliant", "noncompliant") and long["chunks"] > 1 and long["doc_pages"] >= 5
    assert re.fullmatch(load_schema("legal_contract").constraint.regex, long["raw_output"])
    text = decode_document("long.pdf", (docs / "long.pdf").read_bytes()).text
    for evidence in long["evidence"]:  # offsets and pages are the whole document's, not a window's
        assert text[evidence["start"]:evidence["end"]] == evidence["quote"]
        assert 1 <= evidence["page"] <= long["doc_pages"]
    assert any(e["start"] > 20000 for e in long["evidence"]) or long["chunks"] > 1
    # The default, --retrieval bm25: the first window and each field's best (a 44-field schema reads most of them),
    # recorded in document offsets; a later window was read for the fields it names (off: every window, unit-tested).
    read = long["windows_read"]
    # (a second pass reads a spare window again for fields left null: listed after the plan, counted in chunks)
    assert long["chunks"] == len(read) and len({w["window"] for w in read}) <= long["windows"] and read[0]["window"] == 0 and read[0]["start"] == 0
    assert all(w["fields"] for w in read[1:]) and {f for w in read for f in w["fields"]} <= set(load_schema("legal_contract").hardened["properties"])
    assert all(text[w["start"]:w["end"]] and w["end"] <= len(text) for w in read)
