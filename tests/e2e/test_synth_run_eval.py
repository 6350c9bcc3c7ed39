"""Ground truth end to end, per built-in schema: `synth` -> `run` (bundled model) -> `eval`.

Every document must reach the model and come back as a record of the schema's shape and
types (the constraint's guarantee): 100 % type compliance. Pydantic compliance also
counts the cross-field rules (totals add up, follow-up after discharge...), which the
model breaks on some documents; greedy only here (the retries have their own tests), so a
rule broken is printed with the accuracy, and any violation must be one of those
cross-field rules, never a type or bound.
"""

from __future__ import annotations

import json
import re

import pytest

from fieldmill.schema.load import load_schema
from helpers import fieldmill, local_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("schema", ["medical_record", "legal_contract", "invoice"])
def test_synth_run_eval(schema, tmp_path):
    corpus, out, report, plot = tmp_path / "corpus", tmp_path / "out", tmp_path / "report.md", tmp_path / "fields.png"
    made = fieldmill("synth", "--schema", schema, "--count", "2", "--seed", "4", "--output", str(corpus))
    assert made.returncode == 0, made.stderr[-2000:]
    ran = fieldmill("run", str(corpus / "docs"), "--schema", schema, "--output", str(out), "--retries", "0")  # retries: test_run, unit/extract/test_actor_retries
    assert ran.returncode == 0, ran.stderr[-3000:]

    rows = local_rows(str(out))
    regex = load_schema(schema).constraint.regex
    assert len(rows) == 2
    for row in rows:
        assert row["status"] in ("compliant", "noncompliant"), row["error"]
        assert re.fullmatch(regex, row["raw_output"]) and isinstance(json.loads(row["raw_output"]), dict)  # shape and types: always
        for error in row["errors"]:  # what pydantic refused can only be a cross-field rule of the domain
            assert error["message"].startswith("Value error, "), error

    scored = fieldmill("eval", "--results", str(out), "--gold", str(corpus / "gold.jsonl"), "--report", str(report), "--plot", str(plot))
    print(scored.stdout)
    assert scored.returncode == 0, scored.stdout[:3000] + scored.stderr[-2000:]
    compliant = sum(row["status"] == "compliant" for row in rows)
    assert re.search(rf"compliance\s+\d+% of documents that reached the model \({compliant} compliant, {2 - compliant} noncompliant, 0 failed\)", scored.stdout)
    assert re.search(r"field accuracy\s+micro \d+\.\d%, macro \d+\.\d% over \d+ fields", scored.stdout)
    assert "2 in the gold file" in scored.stdout and "0 results without gold" in scored.stdout
    assert plot.read_bytes().startswith(b"\x89PNG") and "fields.png" in report.read_text()
