"""A team's own calibration, end to end with the real model: `run` -> `calibrate` -> `run` again.

The model folder is the shipped default as `run` materialises it, seen through a folder of links (its
weights are not copied) that holds no calibration: the first run's confidence is the uncalibrated
combination; `fieldmill calibrate` fits on that run's labelled values and writes the calibration into the
folder; the second run, with the same folder, gives every value the calibration's confidence of its signals.
"""

from __future__ import annotations

import json
import re

import pytest

from fieldmill.calibration import labelled_signals
from fieldmill.evaluate import DEFAULT_REL_TOL
from fieldmill.extract.trust import CALIBRATION_FILE, Calibration, ValueSignals, combined
from fieldmill.model.source import materialise
from helpers import fieldmill, local_rows

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _values(output: str) -> dict[tuple[str, str], tuple[ValueSignals, float]]:
    """{(document name, path): (what the run knew of the value, the confidence its row gives it)} for every value of a run."""
    out = {}
    for row in local_rows(output):
        name, confidence = row["doc_uri"].rsplit("/", 1)[-1], dict(row["confidence"] or [])
        for entry in row["signals"] or []:
            value = ValueSignals.from_row(entry)
            out[(name, value.path)] = (value, confidence[value.path])
    return out


def test_a_calibration_fitted_on_a_teams_labelled_results_travels_with_the_model_and_sets_the_confidence(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    for item in materialise("bundled").iterdir():
        if item.name != CALIBRATION_FILE:
            (model / item.name).symlink_to(item)
    corpus, first, second = tmp_path / "corpus", tmp_path / "first", tmp_path / "second"
    made = fieldmill("synth", "--schema", "invoice", "--count", "2", "--seed", "4", "--output", str(corpus))
    assert made.returncode == 0, made.stderr[-2000:]
    run = ("--schema", "invoice", "--model", str(model), "--retries", "0")
    ran = fieldmill("run", str(corpus / "docs"), *run, "--output", str(first))
    assert ran.returncode == 0, ran.stderr[-3000:]
    values, right = labelled_signals(str(first), str(corpus / "gold.jsonl"), DEFAULT_REL_TOL)
    uncalibrated = _values(str(first))
    assert uncalibrated and all(confidence == pytest.approx(combined(v), abs=1e-6) for v, confidence in uncalibrated.values())

    fitted = fieldmill("calibrate", "--results", str(first), "--gold", str(corpus / "gold.jsonl"), "--model", str(model))
    assert fitted.returncode == 0, fitted.stdout + fitted.stderr[-2000:]
    assert re.search(rf"fitted on {len(values)} values \({sum(right)} right\)", fitted.stdout)
    calibration = Calibration.from_json(json.loads((model / CALIBRATION_FILE).read_text()))

    one = tmp_path / "one"  # the calibration applied: one document is enough, a run's cost is the model's load
    one.mkdir()
    name = sorted((corpus / "docs").iterdir())[0]
    (one / name.name).write_bytes(name.read_bytes())
    ran = fieldmill("run", str(one), *run, "--output", str(second))
    assert ran.returncode == 0, ran.stderr[-3000:]
    calibrated = _values(str(second))
    assert calibrated and all(confidence == pytest.approx(combined(v, calibration), abs=1e-6) for v, confidence in calibrated.values())
    assert any(calibrated[key][1] != pytest.approx(uncalibrated[key][1], abs=1e-3) for key in calibrated.keys() & uncalibrated.keys())

