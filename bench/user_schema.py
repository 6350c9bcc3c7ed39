"""A team's own small schema, with no example: does the model follow its field list?

The schema is a JSON Schema file of four receipt fields under names of its own (no
worked example, so a pretrained model's prompt shows placeholder values); the documents
are synthetic invoices (a seed no training used) whose gold is mapped onto those fields.
Every model in `--models` runs the same documents through the real CLI and is scored by
`fieldmill eval`.

    python bench/user_schema.py --count 12 [--models bundled-base,bundled-finetuned]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from accuracy import fieldmill

from fieldmill.evaluate import evaluate

RECEIPT = {
    "title": "receipt",
    "type": "object",
    "properties": {
        "company": {"type": "string", "maxLength": 120, "description": "Name of the business that issued the receipt"},
        "date": {"type": "string", "format": "date", "description": "Date of the receipt"},
        "grand_total": {"type": "number", "minimum": 0, "maximum": 1e9, "multipleOf": 0.01, "description": "Total paid"},
        "currency": {"type": ["string", "null"], "maxLength": 3, "description": "Currency code"},
    },
    "required": ["company", "date", "grand_total", "currency"],
}


def receipt_gold(invoice: dict) -> dict:
    return {"company": invoice["seller"]["name"], "date": invoice["issue_date"], "grand_total": float(invoice["total"]), "currency": invoice["currency"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--models", default="bundled-base,bundled-finetuned")
    parser.add_argument("--work", default="out/bench-user-schema")
    args = parser.parse_args()

    work = Path(args.work)
    corpus = work / "corpus"
    fieldmill("synth", "--schema", "invoice", "--count", str(args.count), "--seed", str(args.seed), "--output", str(corpus))
    schema = work / "receipt.json"
    schema.write_text(json.dumps(RECEIPT, indent=2))
    lines = [json.loads(line) for line in (corpus / "gold.jsonl").read_text().splitlines()]
    gold = work / "receipt-gold.jsonl"
    gold.write_text("".join(json.dumps({"name": line["name"], "record": receipt_gold(line["record"])}) + "\n" for line in lines))

    print("| model | documents | compliance | micro accuracy | company | date | grand_total | currency | run wall s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for model in args.models.split(","):
        out = work / model.replace("/", "_")
        started = time.time()
        fieldmill("run", str(corpus / "docs"), "--schema", str(schema), "--output", str(out), "--model", model)
        wall = time.time() - started
        ev = evaluate(str(out), str(gold))
        by_field = {f.path: f.accuracy for f in ev.fields}
        print(f"| {model} | {ev.documents} | {(ev.compliance_rate or 0):.1%} | {ev.micro_accuracy:.1%} | "
              + " | ".join(f"{by_field[k]:.0%}" for k in RECEIPT["properties"]) + f" | {wall:.0f} |", flush=True)


if __name__ == "__main__":
    main()
