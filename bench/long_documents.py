"""Accuracy and cost by document length, reading every window or only the retrieved ones (--retrieval).

For each length (pages): `fieldmill synth --schema legal_contract --pages P-P` writes N
contracts (seeds no training used), the facts scattered through filler; each retrieval
mode runs them through the real CLI with a team's 4-field schema (parties, effective date,
governing law, initial term: the schema of the real-agreements trial in issue 26) and the
rows are scored against the gold restricted to those fields (`fieldmill eval`); with
`--schema builtin`, with the built-in `legal_contract` schema (44 fields) and its whole gold
instead. One table: micro accuracy, windows read and windows per document, engine seconds
per document. The runs send the engine one request at a time (`--batch-size 1
--concurrent-batches 1`): a request's seconds are then its own cost, where requests batched
together would each count the time they shared (a 60-page document's windows are read side
by side, a 1-page document's one request is not), and the sum per document is what the
document costs the engine.

    python bench/long_documents.py [--pages 1,5,20,60] [--count 3] [--modes off,bm25] [--schema team|builtin] [--model bundled]
        [--work out/bench-long]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from accuracy import fieldmill

from fieldmill.evaluate import evaluate
from fieldmill.run.store import results_runs

AGREEMENT = {"title": "agreement", "type": "object", "properties": {
    "parties": {"type": "array", "items": {"type": "string"}, "description": "Names of the parties to the agreement"},
    "effective_date": {"type": ["string", "null"], "format": "date", "description": "Date the agreement takes effect"},
    "governing_law": {"type": ["string", "null"], "description": "Law that governs the agreement"},
    "initial_term_months": {"type": ["integer", "null"], "description": "Initial term of the agreement, in months"},
}}


def team_gold(record: dict) -> dict:
    return {"parties": [p["name"] for p in record.get("parties") or []], "effective_date": record.get("effective_date"),
            "governing_law": record.get("governing_law"), "initial_term_months": record.get("initial_term_months")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default="1,5,20,60")
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("--seed", type=int, default=8800)
    parser.add_argument("--modes", default="off,bm25")
    parser.add_argument("--schema", choices=("team", "builtin"), default="team", help="the team's 4-field schema, or legal_contract's 44 fields")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--work", default="out/bench-long")
    args = parser.parse_args()

    Path(args.work).mkdir(parents=True, exist_ok=True)
    schema = Path(args.work) / "agreement.json"
    schema.write_text(json.dumps(AGREEMENT, indent=1))
    lines = []
    for pages in map(int, args.pages.split(",")):
        corpus = Path(args.work) / f"pages-{pages}" / "corpus"
        fieldmill("synth", "--schema", "legal_contract", "--count", str(args.count), "--seed", str(args.seed + pages), "--pages", f"{pages}-{pages}",
                  "--formats", "pdf", "--output", str(corpus))
        gold = [json.loads(line) for line in (corpus / "gold.jsonl").read_text().splitlines()]
        (corpus / "team-gold.jsonl").write_text("".join(json.dumps({"name": g["name"], "record": team_gold(g["record"])}) + "\n" for g in gold))
        for mode in args.modes.split(","):
            out = Path(args.work) / f"pages-{pages}" / mode / "out"
            started = time.time()
            fieldmill("run", str(corpus / "docs"), "--schema", str(schema) if args.schema == "team" else "legal_contract", "--output", str(out),
                      "--model", args.model, "--retrieval", mode, "--batch-size", "1", "--concurrent-batches", "1")
            wall = time.time() - started
            ev = evaluate(str(out), str(corpus / ("team-gold.jsonl" if args.schema == "team" else "gold.jsonl")))
            _, (run,) = results_runs(str(out))
            rows = list(run.rows(["chunks", "windows", "generation_s"]))
            per_doc = {k: sum(float(r[k] or 0) for r in rows) / len(rows) for k in ("chunks", "windows", "generation_s")}
            lines.append((pages, mode, ev.micro_accuracy, per_doc, wall))
            print(pages, mode, f"micro {ev.micro_accuracy:.1%}", {k: round(v, 2) for k, v in per_doc.items()}, f"{wall:.0f} s", flush=True)
    print("| pages | retrieval | micro accuracy | windows read / doc | windows / doc | engine s / doc | run wall s |")
    print("|---|---|---|---|---|---|---|")
    for pages, mode, micro, per_doc, wall in lines:
        print(f"| {pages} | {mode} | {micro:.1%} | {per_doc['chunks']:.1f} | {per_doc['windows']:.1f} | {per_doc['generation_s']:.1f} | {wall:.0f} |")


if __name__ == "__main__":
    main()
