"""What vLLM's CPU advice does for `fieldmill run` on this machine: model load and documents/s per variant.

vLLM on CPU prints its own advice (tcmalloc and Intel's OpenMP preloaded) and makes its own
choices: its model runs in a worker process of its engine-core process (the MP executor,
forced on CPU), on one OpenMP thread per core it binds, one core per worker kept back for the
scheduler (on 2 cores: the model computes on one). Each variant runs the real CLI on the same
synthetic documents, in a fresh process, with only its environment changed:

* `default`: as fieldmill runs (on a CPU of fewer than 8 cores: every core and the preloads below,
  `engines/vllm.cpu_engine_env`, chosen from this bench);
* `vllm-defaults`: vLLM's own choices (`VLLM_CPU_OMP_THREADS_BIND=auto`, nothing preloaded: what
  the user sets wins), as fieldmill ran before;
* `one-process-fewer`: `VLLM_ENABLE_V1_MULTIPROCESSING=0`: the model runs in the engine-core
  process (the uni executor), one process fewer to start;
* `every-core`: `VLLM_CPU_OMP_THREADS_BIND=0-N` and no core kept back: the model computes on every core;
* `preload`: tcmalloc (Debian's libtcmalloc_minimal) and Intel's OpenMP (the venv's libiomp5) preloaded;
* combinations of these.

Prints model load seconds, extraction seconds and documents/s after the load for each.

    python bench/cpu_env.py [--count 16] [--schema invoice] [--variants default,every-core,...] [--work out/bench-cpu-env]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

TCMALLOC = "/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4"
IOMP = str(Path(sys.prefix) / "lib" / "libiomp5.so")


def variant_env(name: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for part in name.split("+"):
        if part == "default":
            continue
        elif part == "vllm-defaults":
            env["VLLM_CPU_OMP_THREADS_BIND"] = "auto"
            env["LD_PRELOAD"] = ""
        elif part == "one-process-fewer":
            env["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"
        elif part == "every-core":
            env["VLLM_CPU_OMP_THREADS_BIND"] = f"0-{(os.cpu_count() or 1) - 1}"
            env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
        elif part == "preload":
            missing = [lib for lib in (TCMALLOC, IOMP) if not Path(lib).is_file()]
            if missing:
                sys.exit(f"preload needs {missing} (apt-get install libgoogle-perftools4; pip install intel-openmp)")
            env["LD_PRELOAD"] = f"{TCMALLOC}:{IOMP}"
        else:
            sys.exit(f"unknown variant part {part!r}")
    return env


def run(corpus: Path, out: Path, schema: str, model: str, env: dict[str, str]) -> tuple[float, float, int]:
    shutil.rmtree(out, ignore_errors=True)
    started = time.time()
    done = subprocess.run([sys.executable, "-m", "fieldmill.cli", "run", str(corpus / "docs"), "--schema", schema, "--output", str(out),
                           "--model", model, "--retries", "0"], capture_output=True, text=True, env={**os.environ, **env})
    if done.returncode != 0:
        sys.exit(f"fieldmill run failed ({env}):\n{done.stderr[-3000:]}")
    found = re.search(r"model load ([\d.]+) s, extraction ([\d.]+) s wall", done.stdout)
    if found is None:
        sys.exit(f"no timing line in the summary ({time.time() - started:.0f} s):\n{done.stdout[-2000:]}")
    return float(found.group(1)), float(found.group(2)), len(list((corpus / "docs").iterdir()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=16)
    parser.add_argument("--schema", default="invoice")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--seed", type=int, default=9191)
    parser.add_argument("--variants", default="vllm-defaults,default,vllm-defaults+one-process-fewer")
    parser.add_argument("--work", default="out/bench-cpu-env")
    args = parser.parse_args()
    corpus = Path(args.work) / "corpus"
    if not (corpus / "docs").is_dir():
        subprocess.run([sys.executable, "-m", "fieldmill.cli", "synth", "--schema", args.schema, "--count", str(args.count), "--seed", str(args.seed),
                        "--formats", "txt", "--output", str(corpus)], check=True, capture_output=True)
    lines = []
    for name in args.variants.split(","):
        load, extraction, docs = run(corpus, Path(args.work) / name, args.schema, args.model, variant_env(name))
        lines.append((name, load, extraction, docs))
        print(f"{name}: load {load:.1f} s, extraction {extraction:.1f} s, {docs / extraction:.3f} docs/s", flush=True)
    base = lines[0]
    print("| variant | model load s | extraction s | docs/s | docs/s vs first |")
    print("|---|---|---|---|---|")
    for name, load, extraction, docs in lines:
        print(f"| {name} | {load:.1f} | {extraction:.1f} | {docs / extraction:.3f} | {(docs / extraction) / (base[3] / base[2]):.2f}x |")


if __name__ == "__main__":
    main()
