"""What the product's per-document grammar costs the engine's grammar step, against the schema's own regex.

Every decoding step asks llguidance for the mask of the tokens the constraint allows next (vLLM's
`fill_next_token_bitmask`, on the scheduler's path). The product sends each document its own Lark grammar
(`extract.actor.within_text`: dates and numbers among those printed, names that are not an amount or a
date, no field's own label); this replays each document's gold answer through a matcher of each
constraint, on the model's tokenizer, and prints per document the matcher's build time and per token the
mask's time, and their ratio. No model runs, so it is quick and may run beside other work (the ratio holds;
the milliseconds are this machine's).

    python bench/grammar_cost.py [--schema invoice] [--count 16] [--seed 9090] [--model bundled] [--work out/bench-grammar]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path


def replay(matcher, ids: list[int], mask, fill) -> tuple[float, int]:
    """Seconds spent computing masks along `ids`, and how many of them the constraint took (it stops at the first refused)."""
    spent, taken = 0.0, 0
    for token in ids:
        started = time.perf_counter()
        fill(matcher, mask, 0)
        spent += time.perf_counter() - started
        if not matcher.consume_token(token):
            break
        taken += 1
    return spent, taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", default="invoice")
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--seed", type=int, default=9090)
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--work", default="out/bench-grammar")
    args = parser.parse_args()

    import llguidance
    import llguidance.hf
    import llguidance.torch
    from outlines.models.vllm_offline import VLLMOfflineTypeAdapter
    from transformers import AutoTokenizer
    from vllm.v1.structured_output.backend_guidance import serialize_guidance_grammar
    from vllm.v1.structured_output.request import StructuredOutputOptions

    from fieldmill.documents import read_document
    from fieldmill.extract.actor import Question, within_text
    from fieldmill.extract.settings import ExtractionSettings
    from fieldmill.model import source as models
    from fieldmill.model.prompts import answer_token_ids
    from fieldmill.schema.constraint import answer_text
    from fieldmill.schema.lark_grammar import asks
    from fieldmill.schema.load import load_schema

    corpus = Path(args.work) / f"{args.schema}-{args.seed}-{args.count}"
    if not (corpus / "gold.jsonl").exists():
        subprocess.run([sys.executable, "-m", "fieldmill.cli", "synth", "--schema", args.schema, "--count", str(args.count), "--seed", str(args.seed),
                        "--output", str(corpus)], check=True, capture_output=True)
    schema = load_schema(args.schema)
    tokenizer = AutoTokenizer.from_pretrained(str(models.materialise(args.model)))
    ll_tokenizer = llguidance.hf.from_tokenizer(tokenizer, len(tokenizer))
    mask = llguidance.torch.allocate_token_bitmask(1, ll_tokenizer.vocab_size)
    adapter, settings = VLLMOfflineTypeAdapter(), ExtractionSettings()
    question = Question(schema.hardened, schema.constraint, "", asks(schema.hardened))
    kinds = {"regex": StructuredOutputOptions.REGEX, "grammar": StructuredOutputOptions.GRAMMAR}

    def matcher(constraint):
        (kind, spec), = adapter.format_output_type(constraint.output_type()).items()
        return llguidance.LLMatcher(ll_tokenizer, serialize_guidance_grammar(kinds[kind], spec, True, False), log_level=1)

    regex, grammar = "schema's regex", "per-document grammar"
    totals = {regex: [0.0, 0.0, 0], grammar: [0.0, 0.0, 0]}
    documents = 0
    for line in (corpus / "gold.jsonl").read_text(encoding="utf-8").splitlines():
        gold = json.loads(line)
        path = corpus / gold["name"]
        text = read_document(str(path.resolve()), gold["name"], path.stat().st_size, 1 << 26).text
        ids = answer_token_ids(tokenizer, answer_text(gold["record"], schema.hardened))
        documents += 1
        for name, constraint in ((regex, schema.constraint), (grammar, within_text(settings, question, text))):
            started = time.perf_counter()
            built = matcher(constraint)
            build_s = time.perf_counter() - started
            mask_s, taken = replay(built, ids, mask, llguidance.torch.fill_next_token_bitmask)
            total = totals[name]
            total[0] += build_s
            total[1] += mask_s
            total[2] += taken
    print(f"{documents} {args.schema} documents, gold answers replayed on {args.model}'s tokenizer ({ll_tokenizer.vocab_size} tokens)")
    print("| constraint | matcher build ms/document | mask ms/token | tokens replayed |")
    print("|---|---|---|---|")
    per_token = {}
    for name, (build_s, mask_s, taken) in totals.items():
        per_token[name] = mask_s / max(taken, 1)
        print(f"| {name} | {build_s * 1000 / documents:.1f} | {per_token[name] * 1000:.3f} | {taken} |")
    print(f"{grammar} / {regex}, mask per token: {per_token[grammar] / per_token[regex]:.2f}x")


if __name__ == "__main__":
    main()
