"""Does retrieval read the window where a fact is stated? Measured without the model, on labelled long documents.

For each document of the corpora (`fieldmill synth --pages`, as bench/long_documents.py
writes them), the text is decoded and split into windows as `run` does; each gold value
that the document states somewhere (`evidence.locate` finds it) counts as *reached* when
the window holding its first statement is read for its top-level field: the first window
(read for every field) or a window `retrieval.choose` picked for that field. One line per
variant: reached share, windows read per document. Variants: the stand-out margin and floor,
and the stemmer (`light`: plural endings only; `snowball`: PyStemmer's English stemmer).

    python bench/retrieval_recall.py --corpus out/bench-long/pages-20/corpus [--corpus ...] [--schema legal_contract]
        [--gold gold.jsonl] [--margins 1.0,1.5,2.0] [--floors 0.5] [--stemmers light,snowball]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fieldmill.extract import retrieval
from fieldmill.documents import decode_document
from fieldmill.extract.evidence import DocumentIndex, leaves, locate
from fieldmill.schema.load import load_schema
from fieldmill.extract.windows import CHARS_PER_TOKEN, split


def _light(tokens: list[str]) -> list[str]:
    out = []
    for token in tokens:
        if len(token) > 4 and token.endswith("ies"):
            token = token[:-3] + "y"
        elif len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.append(token)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True)
    parser.add_argument("--schema", default="legal_contract")
    parser.add_argument("--gold", default="gold.jsonl", help="the gold file's name inside each corpus folder")
    parser.add_argument("--margins", default="1.0,1.5,2.0")
    parser.add_argument("--stemmers", default="light,snowball")
    parser.add_argument("--floors", default=str(retrieval.FLOOR))
    parser.add_argument("--chunk-tokens", type=int, default=1500)
    args = parser.parse_args()

    schema = load_schema(args.schema)
    queries = retrieval.field_queries(schema.hardened)
    lists = retrieval.list_fields(schema.hardened)
    documents = []  # (windows' texts, [(top-level field, window of its statement)])
    for corpus in map(Path, args.corpus):
        for line in (corpus / args.gold).read_text().splitlines():
            gold = json.loads(line)
            path = corpus / gold["name"]
            decoded = decode_document(path.name, path.read_bytes())
            windows = split(decoded.text, int(args.chunk_tokens * CHARS_PER_TOKEN), int(150 * CHARS_PER_TOKEN), list(decoded.pages))
            index = DocumentIndex(decoded.text, list(decoded.pages))
            record = schema.model.model_validate(gold["record"]).model_dump(by_alias=True)
            stated = []
            for leaf_path, value, node in leaves(record, schema.hardened):
                found = locate(value, node, index) if not isinstance(value, bool) else None
                if found is not None:
                    start = found[0][0]
                    window = max(i for i, w in enumerate(windows) if w.start <= start)
                    stated.append((leaf_path.split(".")[0].split("[")[0], window))
            documents.append(([w.text for w in windows], stated))
    print(f"{len(documents)} documents, {sum(len(s) for _, s in documents)} stated gold values, "
          f"{sum(len(t) for t, _ in documents) / len(documents):.1f} windows per document")
    print("| stemmer | margin | floor | reached | windows read / doc |")
    print("|---|---|---|---|---|")
    variants = [(s, m, f) for s in args.stemmers.split(",") for m in map(float, args.margins.split(",")) for f in map(float, args.floors.split(","))]
    for stemmer, margin, floor in variants:
        stem = retrieval.english_stem if stemmer == "snowball" else _light
        reached = total = read = 0
        for texts, stated in documents:
            plan = dict(retrieval.choose(texts, queries, margin=margin, floor=floor, stem=stem, lists=lists)) if len(texts) > 1 else {0: []}
            read += len(plan)
            for field, window in stated:
                total += 1
                reached += window == 0 or field in plan.get(window, [])
        print(f"| {stemmer} | {margin} | {floor} | {reached / total:.1%} ({reached}/{total}) | {read / len(documents):.2f} |")


if __name__ == "__main__":
    main()
