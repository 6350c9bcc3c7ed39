"""Cost of each structured-output backend on the built-in schemas, outside the model.

For every schema: compile the decoding regex with the bundled model's tokenizer, then
walk the schema's example record token by token, computing the allowed-token mask
before each token as the engine does at every decoding step. Prints compile seconds and
mask milliseconds per token for xgrammar and llguidance, and their ratio.

    python bench/backends.py [--schemas invoice,medical_record,legal_contract]
"""

from __future__ import annotations

import argparse
import json
import time

from fieldmill.model.source import BUNDLED_BASE, materialise
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema


def xgrammar_cost(tokenizer, regex: str, ids: list[int]) -> tuple[float, float]:
    import xgrammar

    info = xgrammar.TokenizerInfo.from_huggingface(tokenizer)
    started = time.perf_counter()
    compiled = xgrammar.GrammarCompiler(info, cache_enabled=False).compile_regex(regex)
    compile_s = time.perf_counter() - started
    matcher = xgrammar.GrammarMatcher(compiled)
    bitmask = xgrammar.allocate_token_bitmask(1, info.vocab_size)
    started = time.perf_counter()
    for token in ids:
        matcher.fill_next_token_bitmask(bitmask)
        if not matcher.accept_token(token):
            raise AssertionError("xgrammar refused the example record")
    return compile_s, (time.perf_counter() - started) / len(ids)


def llguidance_cost(tokenizer, regex: str, ids: list[int]) -> tuple[float, float]:
    import llguidance
    import llguidance.hf
    import llguidance.torch

    lltokenizer = llguidance.hf.from_tokenizer(tokenizer)
    started = time.perf_counter()
    matcher = llguidance.LLMatcher(lltokenizer, llguidance.LLMatcher.grammar_from_regex(regex))
    compile_s = time.perf_counter() - started
    bitmask = llguidance.torch.allocate_token_bitmask(1, lltokenizer.vocab_size)
    started = time.perf_counter()
    for token in ids:
        llguidance.torch.fill_next_token_bitmask(matcher, bitmask, 0)
        if not matcher.consume_token(token):
            raise AssertionError(f"llguidance refused the example record: {matcher.get_error()}")
    return compile_s, (time.perf_counter() - started) / len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemas", default="invoice,medical_record,legal_contract")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(materialise(BUNDLED_BASE))
    print("| schema | regex chars | record tokens | xgrammar compile s | xgrammar mask ms/token | llguidance compile s | llguidance mask ms/token | xgrammar / llguidance per token |")
    print("|---|---|---|---|---|---|---|---|")
    for name in args.schemas.split(","):
        schema = load_schema(name)
        regex = schema.constraint.regex
        ids = tokenizer.encode(json.dumps(example_record(schema.hardened), ensure_ascii=False, separators=(",", ":")), add_special_tokens=False)
        xc, xm = xgrammar_cost(tokenizer, regex, ids)
        lc, lm = llguidance_cost(tokenizer, regex, ids)
        print(f"| {name} | {len(regex)} | {len(ids)} | {xc:.2f} | {xm * 1000:.1f} | {lc:.3f} | {lm * 1000:.2f} | {xm / lm:.0f}x |", flush=True)


if __name__ == "__main__":
    main()
