"""Compliance and field accuracy of a model on synthetic documents, per built-in schema.

For each schema: `fieldmill synth` N documents, `fieldmill run` them (real CLI, Ray,
engine), `fieldmill eval` against the gold records; then one table, with the share of
fields whose value equals the prompt's worked example (a small base model copies it).

    python bench/accuracy.py --count 20 [--schemas invoice,medical_record] [--model PATH] [--work DIR]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from fieldmill.evaluate import evaluate, leaves, normalise, values_at
from fieldmill.output import part_names, read_part
from fieldmill.prompts import example_record
from fieldmill.schemas import load_schema


def fieldmill(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "fieldmill.cli", *args], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"fieldmill {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return done


def example_share(run_folder: str, schema_name: str) -> float:
    """Share of filled scalar leaves in compliant records that equal the worked example's value."""
    schema = load_schema(schema_name)
    example = example_record(schema.hardened)
    tables = [read_part(run_folder, name, ["status", "record"]) for name in part_names(run_folder)]
    record_type = tables[0].schema.field("record").type
    same = filled = 0
    for table in tables:
        for row in table.to_pylist():
            if row["status"] != "compliant":
                continue
            for leaf in leaves(record_type):
                if leaf.is_list:
                    continue
                value = normalise(values_at(row["record"], leaf), leaf.type)
                if value is not None:
                    filled += 1
                    same += value == normalise(values_at(example, leaf), leaf.type)
    return same / filled if filled else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--schemas", default="invoice,medical_record,legal_contract")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--work", default="out/bench-accuracy")
    args = parser.parse_args()

    rows = []
    for name in args.schemas.split(","):
        work = Path(args.work) / name
        corpus, out = work / "corpus", work / "out"
        fieldmill("synth", "--schema", name, "--count", str(args.count), "--seed", str(args.seed), "--output", str(corpus))
        started = time.time()
        ran = fieldmill("run", str(corpus / "docs"), "--schema", name, "--output", str(out), "--model", args.model)
        wall = time.time() - started
        scored = fieldmill("eval", "--results", str(out), "--gold", str(corpus / "gold.jsonl"),
                           "--report", str(work / "report.md"), "--plot", str(work / "fields.png"))
        ev = evaluate(str(out), str(corpus / "gold.jsonl"))
        load = re.search(r"model load ([\d.]+) s", ran.stdout)
        rows.append((name, ev.documents, ev.compliance_rate or 0.0, ev.micro_accuracy, ev.macro_accuracy, example_share(ev.results, name),
                     wall, float(load.group(1)) if load else float("nan")))
        print(scored.stdout.split("\n\n")[0], flush=True)
        print(f"  report: {work / 'report.md'}\n", flush=True)

    print("| schema | documents | compliance | micro accuracy | macro accuracy | filled values equal to the example | run wall s | model load s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, docs, compliance, micro, macro, parroted, wall, load in rows:
        print(f"| {name} | {docs} | {compliance:.0%} | {micro:.1%} | {macro:.1%} | {parroted:.0%} | {wall:.0f} | {load:.0f} |")


if __name__ == "__main__":
    main()
