"""Compliance and field accuracy of models on synthetic documents, per built-in schema.

For each schema: `fieldmill synth` N documents (a seed no training used), then for each
model `fieldmill run` them (real CLI, Ray, engine) and `fieldmill eval` against the gold
records; one table with compliance, micro/macro accuracy, the share of filled values
equal to the schema's worked example (a small base model copies it), prompt tokens per
document and documents per second after the model loaded.

    python bench/accuracy.py --count 16 [--schemas invoice,medical_record] [--models bundled-base,bundled-finetuned]
        [--grounding off,strict] [--work DIR] [--run-args "--nulls keep"]

Calibration columns (from `fieldmill eval`): the share of wrong values and of right values
that a review at confidence 0.9 or ungrounded would flag, and the largest share of values
that can be accepted unseen while those accepted stay at least 99% right.
"""

from __future__ import annotations

import argparse
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

from fieldmill.evaluate import SuffixIndex, evaluate, leaves, normalise, read_gold, values_at
from fieldmill.run.store import results_runs
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema


def fieldmill(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "fieldmill.cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"fieldmill {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def example_share(run_folder: str, schema_name: str, gold_path: str) -> tuple[float, float]:
    """Of the filled scalar leaves in compliant records: the share equal to the worked example's value,
    and the share equal to it while the gold says otherwise (copied, not read)."""
    schema = load_schema(schema_name)
    example = example_record(schema.hardened)
    gold = {item["name"]: item["record"] for item in read_gold(gold_path)}
    _, (run,) = results_runs(run_folder)
    tables = [run.read_part(name, ["doc_uri", "status", "record"]) for name in run.part_names()]
    rows = [row for table in tables for row in table.to_pylist()]
    index = SuffixIndex(row["doc_uri"] for row in rows)
    gold_by_uri = {index.find(name): record for name, record in gold.items()}
    record_type = tables[0].schema.field("record").type
    same = copied = filled = 0
    for row in rows:
        if row["status"] != "compliant":
            continue
        for leaf in leaves(record_type):
            if leaf.is_list:
                continue
            value = normalise(values_at(row["record"], leaf), leaf.type)
            if value is not None:
                filled += 1
                equal = value == normalise(values_at(example, leaf), leaf.type)
                same += equal
                copied += equal and value != normalise(values_at(gold_by_uri.get(row["doc_uri"]), leaf), leaf.type)
    return (same / filled, copied / filled) if filled else (0.0, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--schemas", default="invoice,medical_record,legal_contract")
    parser.add_argument("--models", default="bundled-base,bundled-finetuned", help="comma-separated model specs to compare")
    parser.add_argument("--grounding", default="off", help="comma-separated grounding modes to run each model with (off, strict)")
    parser.add_argument("--work", default="out/bench-accuracy")
    parser.add_argument("--run-args", default="", help="more options for every `fieldmill run` (e.g. \"--nulls keep\" to compare a decoding option)")
    args = parser.parse_args()

    rows = []
    for name in args.schemas.split(","):
        corpus = Path(args.work) / name / "corpus"
        fieldmill("synth", "--schema", name, "--count", str(args.count), "--seed", str(args.seed), "--output", str(corpus))
        for model, grounding in [(m, g) for m in args.models.split(",") for g in args.grounding.split(",")]:
            work = Path(args.work) / name / (model.replace("/", "_") + ("" if grounding == "off" else f"-{grounding}"))
            out = work / "out"
            started = time.time()
            ran = fieldmill("run", str(corpus / "docs"), "--schema", name, "--output", str(out), "--model", model, "--grounding", grounding,
                            *shlex.split(args.run_args))
            wall = time.time() - started
            scored = fieldmill("eval", "--results", str(out), "--gold", str(corpus / "gold.jsonl"),
                               "--report", str(work / "report.md"), "--plot", str(work / "fields.png"))
            ev = evaluate(str(out), str(corpus / "gold.jsonl"))
            load = re.search(r"model load ([\d.]+) s", ran.stdout)
            load_s = float(load.group(1)) if load else float("nan")
            tokens = [row["prompt_tokens"] / max(1, row["attempts"]) for row in results_runs(ev.results)[1][0].rows(["prompt_tokens", "attempts"])
                      if row["attempts"]]
            rows.append((name, model if grounding == "off" else f"{model} (grounding {grounding})", ev.documents, ev.compliance_rate or 0.0, ev.micro_accuracy,
                         ev.macro_accuracy, *example_share(ev.results, name, str(corpus / "gold.jsonl")), sum(tokens) / len(tokens) if tokens else 0.0,
                         ev.documents / max(1e-9, wall - load_s), wall, *calibration_columns(ev)))
            print(f"{name} / {model}: " + scored.stdout.split("\n\n")[0], flush=True)
            print(f"  report: {work / 'report.md'}\n", flush=True)

    print("| schema | model | documents | compliance | micro accuracy | macro accuracy | filled values equal to the example"
          " | ... and wrong (copied) | prompt tokens/doc | docs/s after load | run wall s | wrong values flagged | right values flagged"
          " | coverage at >= 99% right | grounded share |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, model, docs, compliance, micro, macro, same, copied, tokens, rate, wall, wrong, right, coverage, grounded in rows:
        print(f"| {name} | {model} | {docs} | {compliance:.1%} | {micro:.1%} | {macro:.1%} | {same:.1%} | {copied:.1%} | {tokens:.0f} | {rate:.3f}"
              f" | {wall:.0f} | {_pct(wrong)} | {_pct(right)} | {_pct(coverage)} | {_pct(grounded)} |")


def calibration_columns(ev) -> tuple:
    """Share of wrong and of right values a review flags; the largest coverage whose accepted values are >= 99% right; grounded share."""
    cal = ev.calibration
    if cal is None:
        return None, None, None, None
    wrong, right = cal.flagged()
    coverage = max((c for _, c, a in cal.curve() if a is not None and a >= 0.99), default=0.0)
    groups = cal.by_grounding()
    checkable = groups["grounded"][0] + groups["ungrounded"][0]
    return wrong, right, coverage, groups["grounded"][0] / checkable if checkable else None


def _pct(value) -> str:
    return "n/a" if value is None else f"{value:.1%}"


if __name__ == "__main__":
    main()
