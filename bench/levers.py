"""What each prompt/decoding lever does to compliance and tokens per record.

Loads the engine once, extracts the same synthetic documents under each variant and
prints, per variant: compliant share, mean completion tokens, mean list length.

    python bench/levers.py --schema invoice --count 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time

from fieldmill.documents import decode_document
from fieldmill.engines import EngineConfig, create_engine
from fieldmill.model.prompts import build_prompt, schema_prefix
from fieldmill.schema.records import COMPLIANT, check_output
from fieldmill.schema.load import load_schema
from fieldmill.synth import generator_module
from fieldmill.synth.surface import render


def documents(schema, count: int, seed: int) -> tuple[list[str], list[dict]]:
    generator = generator_module(schema.name)
    rng = random.Random(seed)
    texts, golds = [], []
    for _ in range(count):
        gold, sections, title = generator.generate(rng)
        texts.append(decode_document("doc.txt", render(rng, title, sections, "text").encode()).text)
        golds.append(json.loads(schema.model.model_validate(gold).model_dump_json()))
    return texts, golds


def scalar_agreement(output: str, reference: dict) -> float:
    """Share of the reference's top-level scalar fields that the output states identically."""
    try:
        value = json.loads(output)
    except ValueError:
        return 0.0
    keys = [k for k, v in reference.items() if not isinstance(v, (dict, list))]
    same = sum(str(value.get(k)).strip().lower() == str(reference[k]).strip().lower() for k in keys)
    return same / len(keys) if keys else 0.0


async def run_variant(engine, schema, prefix: str, texts: list[str], golds: list[dict], example: dict) -> dict:
    started = time.perf_counter()
    prompts = [engine.count_tokens(build_prompt(prefix, t)) for t in texts]
    outs = await asyncio.gather(*(engine.generate(p, schema.constraint, schema.constraint.max_output_tokens) for p in prompts))
    checked = [check_output(o.text, schema.model, schema.hardened) for o in outs]
    lists = [len(v) for o in outs for v in _lists(o.text)]
    return {
        "compliant": sum(c.status == COMPLIANT for c in checked) / len(checked),
        "tokens": statistics.mean(o.completion_tokens for o in outs),
        "max_tokens": max(o.completion_tokens for o in outs),
        "list_len": statistics.mean(lists) if lists else 0.0,
        "seconds": time.perf_counter() - started,
        "gold": statistics.mean(scalar_agreement(o.text, g) for o, g in zip(outs, golds)),
        "copied": statistics.mean(scalar_agreement(o.text, example) for o in outs) if example else 0.0,
        "errors": [c.error for c in checked if c.status != COMPLIANT][:2],
    }


def _lists(text: str):
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return [v for v in value.values() if isinstance(v, list)] if isinstance(value, dict) else []


async def main_async(args) -> None:
    schema = load_schema(args.schema)
    engine = create_engine(EngineConfig(backend=args.backend))
    texts, golds = documents(schema, args.count, args.seed)
    example = json.loads(json.dumps(schema.hardened.get("examples", [{}])[0]))
    title = schema.name.replace("_", " ")
    no_examples = {k: v for k, v in schema.hardened.items() if k != "examples"}
    variants = [
        ("no example", "\n".join(schema_prefix(no_examples, title).split("\nExample of the output format")[:1]) + "\n", {}),
        ("skeleton example", schema_prefix(no_examples, title), {}),
        ("example record", schema_prefix(schema.hardened, title), {}),
        ("worked example (doc + record)", schema_prefix(schema.hardened, title, schema.example_document), {}),
        ("example as path: value lines", schema_prefix(schema.hardened, title, example_style="lines"), {}),
        ("worked example, record as lines", schema_prefix(schema.hardened, title, schema.example_document, example_style="lines"), {}),
        ("worked example + repetition_penalty 1.1", schema_prefix(schema.hardened, title, schema.example_document), {"repetition_penalty": 1.1}),
        ("worked example + frequency_penalty 0.3", schema_prefix(schema.hardened, title, schema.example_document), {"frequency_penalty": 0.3}),
    ]
    base_config = engine.config
    print(f"schema {schema.name}: {args.count} documents, budget {schema.constraint.max_output_tokens} tokens, backend {args.backend}")
    print(f"{'variant':45} {'compliant':>9} {'=gold':>6} {'=example':>8} {'tok/rec':>8} {'max tok':>8} {'list len':>8} {'s':>6}")
    chosen = {int(i) for i in args.only.split(",")} if args.only else set(range(1, len(variants) + 1))
    for number, (name, prefix, overrides) in enumerate(variants, start=1):
        if number not in chosen:
            continue
        engine.config = base_config.model_copy(update=overrides)
        result = await run_variant(engine, schema, prefix, texts, golds, example)
        print(f"{name:45} {result['compliant']:>9.0%} {result['gold']:>6.0%} {result['copied']:>8.0%} {result['tokens']:>8.0f} {result['max_tokens']:>8} {result['list_len']:>8.1f} {result['seconds']:>6.0f}")
        for error in result["errors"]:
            print(f"{'':47}{(error or '')[:150]}")
    engine.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schema", default="invoice")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", default="xgrammar")
    parser.add_argument("--only", default=None, help="comma-separated variant numbers to run (1-based)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
