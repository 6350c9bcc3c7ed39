"""Where an extraction actor's start-up goes: imports, the model folder, the tokenizer, vLLM's engine.

Each step is timed in a fresh process (nothing cached in memory between variants), for the
engine as fieldmill builds it and, for comparison, with vLLM sizing the CPU KV cache itself
(which runs a warm-up forward pass first). Last, fieldmill's `VllmEngine` whole, as an
extraction actor builds it (its CPU environment, the adapter; the tokenizer is vLLM's own).

    python bench/engine_start.py [--model bundled] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

STEPS = r"""
import json, time, os
marks = {{}}
t = time.perf_counter()
import torch, transformers
marks["import torch+transformers"] = time.perf_counter() - t
t = time.perf_counter()
import vllm  # noqa: F401
from vllm.engine.arg_utils import AsyncEngineArgs
from vllm.v1.engine.async_llm import AsyncLLM
marks["import vllm"] = time.perf_counter() - t
t = time.perf_counter()
from fieldmill.model import source as models
path = models.materialise({model!r})
marks["model folder (cached)"] = time.perf_counter() - t
t = time.perf_counter()
tok = transformers.AutoTokenizer.from_pretrained(str(path))
marks["tokenizer"] = time.perf_counter() - t
t = time.perf_counter()
kv = {kv}
args = AsyncEngineArgs(model=str(path), tokenizer=str(path), max_model_len=32768, gpu_memory_utilization=0.3, enforce_eager=True,
                       enable_prefix_caching=True, structured_outputs_config={{"backend": "guidance", "disable_any_whitespace": True}},
                       disable_log_stats=True, **({{"kv_cache_memory_bytes": kv}} if kv else {{}}))
engine = AsyncLLM.from_engine_args(args)
marks["vLLM engine (load, KV cache{extra})"] = time.perf_counter() - t
engine.shutdown()
print(json.dumps(marks))
"""


WHOLE = r"""
import json, time
if __name__ == "__main__":
    t = time.perf_counter()
    from fieldmill.engines.base import EngineConfig
    from fieldmill.engines.vllm import VllmEngine
    engine = VllmEngine(EngineConfig(model={model!r}))
    marks = {{"VllmEngine(EngineConfig(model=...))": time.perf_counter() - t}}
    engine.engine.shutdown()
    print(json.dumps(marks))
"""


def measure(model: str, kv: int | None, whole: bool = False) -> dict:
    code = WHOLE.format(model=model) if whole else STEPS.format(model=model, kv=kv, extra=", warm-up" if kv is None else "")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    variants = (("step by step (explicit 2 GiB KV cache)", 2 << 30, False), ("vLLM sizing the KV cache itself", None, False),
                ("fieldmill's engine, as an actor starts it", None, True))
    for label, kv, whole in variants:
        runs = [measure(args.model, kv, whole) for _ in range(args.repeat)]
        best = {k: min(r[k] for r in runs) for k in runs[0]}
        print(f"{label}: {sum(best.values()):.1f} s in all (best of {args.repeat})")
        for step, seconds in best.items():
            print(f"  {step:<45} {seconds:6.1f} s")


if __name__ == "__main__":
    main()
