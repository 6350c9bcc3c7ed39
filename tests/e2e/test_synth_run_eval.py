"""Ground truth end to end, per built-in schema: `synth` -> `run` (bundled model) -> `eval`.

Compliance must be 100 %; accuracy is printed, not asserted (the base model is small).
"""

from __future__ import annotations

import json
import re

import pytest

from helpers import fieldmill

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.mark.parametrize("schema", ["medical_record", "legal_contract", "invoice"])
def test_synth_run_eval(schema, tmp_path):
    corpus, out, report, plot = tmp_path / "corpus", tmp_path / "out", tmp_path / "report.md", tmp_path / "fields.png"
    made = fieldmill("synth", "--schema", schema, "--count", "3", "--seed", "4", "--output", str(corpus))
    assert made.returncode == 0, made.stderr[-2000:]
    ran = fieldmill("run", str(corpus / "docs"), "--schema", schema, "--output", str(out))
    assert ran.returncode == 0, ran.stderr[-3000:]

    scored = fieldmill("eval", "--results", str(out), "--gold", str(corpus / "gold.jsonl"), "--report", str(report), "--plot", str(plot),
                       "--min-compliance", "1.0")
    print(scored.stdout)
    assert scored.returncode == 0, scored.stdout[:3000] + scored.stderr[-2000:]
    assert re.search(r"compliance\s+100% of documents that reached the model \(3 compliant, 0 noncompliant, 0 failed\)", scored.stdout)
    assert re.search(r"field accuracy\s+micro \d+\.\d%, macro \d+\.\d% over \d+ fields", scored.stdout)
    assert plot.read_bytes().startswith(b"\x89PNG") and "fields.png" in report.read_text()
    gold_names = [json.loads(line)["name"] for line in (corpus / "gold.jsonl").read_text().splitlines()]
    assert f"documents       3 in the gold file (compliant 3); 0 results without gold" in scored.stdout, gold_names
