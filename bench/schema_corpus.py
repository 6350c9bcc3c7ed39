"""How many JSON Schemas the product has never seen does it serve? Acceptance over a corpus, and why the rest are refused.

The corpus: the hand-written schemas in tests/fixtures/schema_corpus (the shapes public
schemas have: package.json, GeoJSON, JSON Resume, FHIR-like observations, root arrays and
maps, recursive outlines and expression trees, untyped properties, conditionals) and
`--generated` schemas that vary the keywords users combine (tests/schema_corpus.py).

    python bench/schema_corpus.py [--generated 300] [--seed 1]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from schema_corpus import generated, hand_written  # noqa: E402

from fieldmill.schema.hardening import SchemaError  # noqa: E402
from fieldmill.schema.load import schema_from_document  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generated", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    for label, corpus in (("hand-written", hand_written()), ("generated", generated(args.generated, args.seed))):
        refused: Counter = Counter()
        grammars = 0
        started = time.perf_counter()
        for name, document in corpus.items():
            try:
                schema = schema_from_document(document, name)
                grammars += schema.constraint.grammar is not None
            except SchemaError as exc:
                refused[str(exc).split(": ", 1)[-1]] += 1
        served = len(corpus) - sum(refused.values())
        print(f"{label}: {served}/{len(corpus)} served ({served / len(corpus):.1%}), {grammars} with a Lark grammar for pattern and length,"
              f" {time.perf_counter() - started:.1f} s")
        for why, count in refused.most_common():
            print(f"  refused {count}: {why}")


if __name__ == "__main__":
    main()
