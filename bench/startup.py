"""Start-up cost with a long history: what a new attempt reads to know what is done, before and after the run store.

Builds an OUTPUT with `--runs` completed runs of `--docs` documents each (rows as a run
writes them, with a raw output of realistic size, parts of 256 rows; the history of a
monthly job after some years), then measures, each in a fresh process:

* before: the start-up of fieldmill before the run store (commit a92e736, loaded from git):
  every part of every run read in full to build the done-set, and the new run's own parts
  read again for its summary;
* after: `RunStore.history` (one index file per completed run) and the summary from indexes.

It prints seconds, bytes read and the process's peak memory for each.

    python bench/startup.py [--runs 100] [--docs 10000] [--work out/bench-startup]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BEFORE = "a92e736"


def build(output: Path, runs: int, docs: int) -> None:
    from fieldmill.document import Document, Source
    from fieldmill.extract.answer import Answer
    from fieldmill.extract.merge import Finished
    from fieldmill.run.rows import row_schema
    from fieldmill.schema.load import load_schema
    from fieldmill.run.store import RunConstants, RunStore

    schema = load_schema("invoice")
    store = RunStore(str(output))
    rng = random.Random(0)
    answer = json.dumps(schema.json_schema["examples"][0])
    for r in range(runs):
        run = store.run(f"invoice-month-{r:03d}")
        if run.completed:
            continue
        writer = run.writer(row_schema(schema.hardened), RunConstants(run.run_id, "invoice", schema.hash, "m"), part_rows=256, part_seconds=1e9)
        for d in range(docs):
            status = rng.choice(["compliant"] * 8 + ["noncompliant", "failed"])
            source = Source(f"s3://records/2026-{r:03d}/doc-{d:06d}.pdf", f"doc-{d:06d}.pdf", f"{rng.getrandbits(64):x}", 1000)
            writer.add(Finished(Document(source), Answer(status, "decode_error" if status == "failed" else "", raw_output=answer, prompt_tokens=1500,
                                                         completion_tokens=450, latency_s=1.0, generation_s=0.9, attempts=1)))
        writer.flush()
        run.complete({"run_id": run.run_id})
        print(f"built {run.run_id}", file=sys.stderr, flush=True)


MEASURE = r"""
import json, sys, time
sys.path.insert(0, {src!r})
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({{"seconds": elapsed, "peak_bytes": peak, "done": done}}))
"""

BEFORE_BODY = """
from fieldmill.schema.load import load_schema
import importlib.util, types
source = {old!r}
old = types.ModuleType("old_output"); sys.modules["old_output"] = old; exec(compile(source, "run/rows.py@{rev}", "exec"), old.__dict__)
schema = load_schema("invoice")
done_set = old.done_in_output({output!r}, schema.hash, "m")
old.summarise_run(old.run_folder({output!r}, "invoice-month-000"))
done = len(done_set)
"""

AFTER_BODY = """
from fieldmill.schema.load import load_schema
from fieldmill.run.store import RunStore
schema = load_schema("invoice")
store = RunStore({output!r})
history = store.history(schema.hash, "m")
store.run("invoice-month-000").summary()
done = len(history.done)
"""


def measure(body: str) -> dict:
    code = MEASURE.format(src=str(ROOT / "src"), body=body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"the measurement failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--work", default="out/bench-startup")
    args = parser.parse_args()
    output = Path(args.work) / "out"
    build(output, args.runs, args.docs)
    parts = sum(1 for _ in output.glob("run_id=*/part-*.parquet"))
    part_bytes = sum(p.stat().st_size for p in output.glob("run_id=*/part-*.parquet"))
    index_bytes = sum(p.stat().st_size for p in output.glob("run_id=*/_index.parquet"))
    old = subprocess.run(["git", "-C", str(ROOT), "show", f"{BEFORE}:src/fieldmill/output.py"], capture_output=True, text=True, check=True).stdout
    before = measure(BEFORE_BODY.format(old=old, rev=BEFORE, output=str(output)))
    after = measure(AFTER_BODY.format(output=str(output)))
    print(f"history: {args.runs} runs x {args.docs} documents, {parts} parts ({part_bytes / 2**20:.0f} MiB), run indexes {index_bytes / 2**20:.1f} MiB")
    print("| start-up | seconds | bytes read | peak memory | documents done |")
    print("|---|---|---|---|---|")
    print(f"| before the run store ({BEFORE}) | {before['seconds']:.1f} | {part_bytes / 2**20:.0f} MiB | {before['peak_bytes'] / 2**20:.0f} MiB | {before['done']} |")
    print(f"| run store (indexes) | {after['seconds']:.1f} | {index_bytes / 2**20:.1f} MiB | {after['peak_bytes'] / 2**20:.0f} MiB | {after['done']} |")
    print(f"ratio: {before['seconds'] / max(after['seconds'], 1e-9):.1f}x faster, {part_bytes / max(index_bytes, 1):.0f}x fewer bytes")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
