"""Accuracy on realistic documents a model never trained on, with a team's own schema per kind.

For each kind (receipt, invoice, ...): `fieldmill synth --schema realistic --kind K
--one-schema --held-out` writes N rendered PDFs in layout templates no training corpus
uses (and a seed no training used) with one user-style schema; every model in `--models`
runs them through the real CLI (`fieldmill run --schema schema.json`), and the rows are
scored cell by cell against the gold:

* exact: share of (document, field) cells right: text compared case- and space-
  insensitively (as `fieldmill eval` does), numbers to the cent, lists item by item;
* dates as printed: of the cells whose field asks for a date as printed and whose
  document prints one, the share right;
* null for a present value: of the cells whose document states the value, the share the
  model left null (the worst error: it says the document is silent);
* present right: of the cells whose document states the value, the share right.

    python bench/realistic.py --count 8 [--kinds receipt,invoice,agreement,letter,team-receipt]
        [--models bundled,bundled-base] [--seed 9100] [--work out/bench-realistic] [--run-args "--dates any"] [--wrong]

`team-receipt` is the 4-field receipt schema a team wrote in the issue that started this
work (company; date "exactly as printed, e.g. 25/12/2018"; address "as printed"; total
"digits with two decimals") over held-out realistic receipts.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from pathlib import Path

from accuracy import fieldmill

from fieldmill.evaluate import SuffixIndex
from fieldmill.run.store import results_runs
from fieldmill.synth.realistic import KINDS, Asked, HELD_OUT_TEMPLATES, generate

TEAM_RECEIPT = {
    "title": "receipt", "type": "object",
    "properties": {
        "company": {"type": "string", "description": "Name of the company that issued the receipt"},
        "date": {"type": "string", "description": "Date of the receipt exactly as printed, e.g. 25/12/2018"},
        "address": {"type": "string", "description": "Address of the company as printed"},
        "total": {"type": "string", "description": "Total amount paid, digits with two decimals"},
    },
}
TEAM_ASKED = [Asked("company", "company", "text", "printed"), Asked("date", "date", "date", "printed"),
              Asked("address", "address", "address", "printed"), Asked("total", "total", "money", "decimal2")]


def write_team_receipts(count: int, seed: int, folder: Path) -> None:
    """Held-out realistic receipts under the team's own 4-field schema."""
    import random

    rng = random.Random(seed)
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    (folder / "schema.json").write_text(json.dumps(TEAM_RECEIPT, indent=1))
    lines = []
    for index in range(count):
        _, asked, gold, pdf = generate(rng, HELD_OUT_TEMPLATES, "receipt", (TEAM_RECEIPT, TEAM_ASKED))
        name = f"docs/receipt-{index:04d}.pdf"
        (folder / name).write_bytes(pdf)
        lines.append({"name": name, "record": gold, "asked": {a.key: {"fact": a.fact, "kind": a.kind, "form": a.form} for a in asked}})
    (folder / "gold.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def _text(value) -> str:
    return " ".join(str(value).split()).casefold()


def same(gold, predicted) -> bool:
    if gold is None or predicted is None:
        return gold is None and predicted is None
    if isinstance(gold, list):
        return isinstance(predicted, list) and sorted(map(_text, gold)) == sorted(map(_text, predicted))
    if isinstance(gold, float) or isinstance(predicted, float):
        try:
            return abs(float(gold) - float(predicted)) < 0.005
        except (TypeError, ValueError):
            return False
    return _text(gold) == _text(predicted)


def score(out: Path, corpus: Path, wrong: list[str] | None = None) -> dict[str, list[int]]:
    """Counts [right, cells] per measure; each wrong cell described in `wrong` when given."""
    _, (run,) = results_runs(str(out))
    rows = [row for name in run.part_names() for row in run.read_part(name, ["doc_uri", "status", "record"]).to_pylist()]
    index = SuffixIndex(row["doc_uri"] for row in rows)
    by_uri = {row["doc_uri"]: row for row in rows}
    counts = {"exact": [0, 0], "dates as printed": [0, 0], "present right": [0, 0], "null for a present value": [0, 0], "compliant": [0, 0]}
    for line in map(json.loads, (corpus / "gold.jsonl").read_text().splitlines()):
        row = by_uri.get(index.find(line["name"]) or "")
        record = (row or {}).get("record") or {}
        counts["compliant"][0] += bool(row and row["status"] == "compliant")
        counts["compliant"][1] += 1
        for key, asked in line["asked"].items():
            gold, predicted = line["record"][key], record.get(key)
            right = same(gold, predicted)
            if not right and wrong is not None:
                wrong.append(f"{line['name']} {key!r} [{asked['kind']}/{asked['form']}]: gold {gold!r}, got {predicted!r}")
            counts["exact"][0] += right
            counts["exact"][1] += 1
            if gold is None:
                continue
            counts["present right"][0] += right
            counts["present right"][1] += 1
            counts["null for a present value"][0] += predicted is None or predicted == []
            counts["null for a present value"][1] += 1
            if asked["kind"] == "date" and asked["form"] == "printed":
                counts["dates as printed"][0] += right
                counts["dates as printed"][1] += 1
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=9100)
    parser.add_argument("--kinds", default=",".join([*KINDS, "team-receipt"]))
    parser.add_argument("--models", default="bundled,bundled-base", help="comma-separated model specs (a spec may be MODEL+ADAPTER for --lora)")
    parser.add_argument("--work", default="out/bench-realistic")
    parser.add_argument("--wrong", action="store_true", help="also print every wrong cell (document, field, gold, answer)")
    parser.add_argument("--run-args", default="", help="more options for every `fieldmill run` (e.g. \"--dates any\" to compare a decoding option)")
    args = parser.parse_args()

    totals: dict[str, dict[str, list[int]]] = {}
    lines = []
    for offset, kind in enumerate(args.kinds.split(",")):
        corpus = Path(args.work) / kind / "corpus"
        if kind == "team-receipt":
            write_team_receipts(args.count, args.seed + offset, corpus)
        else:
            fieldmill("synth", "--schema", "realistic", "--kind", kind, "--one-schema", "--held-out", "--count", str(args.count),
                      "--seed", str(args.seed + offset), "--output", str(corpus))
        for spec in args.models.split(","):
            model, _, adapter = spec.partition("+")
            out = Path(args.work) / kind / spec.replace("/", "_").replace("+", "_") / "out"
            started = time.time()
            fieldmill("run", str(corpus / "docs"), "--schema", str(corpus / "schema.json"), "--output", str(out), "--model", model,
                      *(["--lora", adapter] if adapter else []), *shlex.split(args.run_args))
            wrong: list[str] = []
            counts = score(out, corpus, wrong)
            if args.wrong:
                print("\n".join(f"  wrong {kind} {spec}: {cell}" for cell in wrong))
            total = totals.setdefault(spec, {k: [0, 0] for k in counts})
            for measure, (right, cells) in counts.items():
                total[measure][0] += right
                total[measure][1] += cells
            lines.append((kind, spec, counts, time.time() - started))
            print(kind, spec, {k: f"{r}/{c}" for k, (r, c) in counts.items()}, f"{time.time() - started:.0f} s", flush=True)
    measures = list(next(iter(totals.values())))
    print("| kind | model | " + " | ".join(measures) + " | wall s |")
    print("|---|---|" + "---|" * len(measures) + "---|")
    for kind, spec, counts, wall in lines + [("all", spec, total, float("nan")) for spec, total in totals.items()]:
        print(f"| {kind} | {spec} | " + " | ".join(_pct(*counts[m]) for m in measures) + f" | {wall:.0f} |")


def _pct(right: int, cells: int) -> str:
    return f"{right / cells:.1%} ({right}/{cells})" if cells else "n/a"


if __name__ == "__main__":
    main()
