"""What a crash costs and what the driver holds: resumed vs full run time, driver peak RSS by corpus size.

Runs the real CLI (subprocess, real Ray) twice per scenario in one go and prints ratios:

* driver peak RSS for 1,000 and 10,000 (and more with --counts) small documents, with the
  stand-in engine (tests/standin_engine.py) so only the pipeline's bookkeeping is measured;
* a full run, then the same run killed (SIGKILL of the process group) halfway and the same
  command again: resumed time / full time, with the stand-in and with the bundled model;
* driver peak RSS of the real-model run.

    python bench/operations.py                      # stand-in 1k/10k + real model on 8 documents
    python bench/operations.py --counts 1000,10000,50000 --real 0
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STANDIN = ["--engine", "standin_engine:StandInEngine"]


def cli(args: list[str], env: dict, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "fieldmill.cli", *args], env={**os.environ, **env}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, **kwargs)


def timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    process = cli(args, env)
    stdout, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"fieldmill {' '.join(args)} failed with {process.returncode}")
    return time.perf_counter() - started, stdout


def rows_in(out: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(p).num_rows for p in out.glob("run_id=*/part-*.parquet"))


def success(out: Path) -> dict:
    return json.loads(next(out.glob("run_id=*/_SUCCESS")).read_text())


def kill_then_resume(args: list[str], out: Path, env: dict, total: int) -> tuple[float, int, float]:
    """Kill the run once half the rows are written; returns (time to the kill, rows kept, resumed run time)."""
    started = time.perf_counter()
    process = cli(args, env)
    while rows_in(out) < total // 2:
        if process.poll() is not None:
            raise SystemExit("the run finished before half of it was written; use more documents")
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    killed_after = time.perf_counter() - started
    kept = rows_in(out)
    time.sleep(3)  # let Ray's processes notice their driver is gone
    resumed, _ = timed(args, env)
    assert success(out)["rows"] == total
    return killed_after, kept, resumed


def small_docs(folder: Path, count: int) -> None:
    folder.mkdir(parents=True)
    for i in range(count):
        (folder / f"invoice-{i:06d}.txt").write_text(f"Invoice INV-{i}\nTotal due: {i}.00 EUR\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--counts", default="1000,10000", help="corpus sizes for the driver-memory measurement")
    parser.add_argument("--resume-count", type=int, default=2000, help="documents in the stand-in resume scenario")
    parser.add_argument("--delay", type=float, default=2.0, help="seconds per stand-in answer in the resume scenario")
    parser.add_argument("--real", type=int, default=8, help="documents in the real-model resume scenario (0: skip)")
    args = parser.parse_args()

    from fieldmill.schema.load import load_schema

    work = Path(tempfile.mkdtemp(prefix="fieldmill-bench-ops-"))
    answer = work / "answer.json"
    answer.write_text(json.dumps(load_schema("invoice").json_schema["examples"][0]))
    standin = {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT / "tests"), os.environ.get("PYTHONPATH")])),
               "FIELDMILL_STANDIN_OUTPUT": str(answer)}
    try:
        print("driver peak RSS (stand-in engine)")
        for count in (int(c) for c in args.counts.split(",")):
            small_docs(work / f"docs-{count}", count)
            wall, _ = timed(["run", str(work / f"docs-{count}"), "--schema", "invoice", "--output", str(work / f"out-{count}"), *STANDIN], standin)
            print(f"  {count:>7,} documents: {success(work / f'out-{count}')['driver_peak_rss_bytes'] / 2**20:6.0f} MiB  ({wall:.1f} s)", flush=True)

        n = args.resume_count
        small_docs(work / "resume-docs", n)
        slow = {**standin, "FIELDMILL_STANDIN_DELAY_S": str(args.delay)}
        base = ["run", str(work / "resume-docs"), "--schema", "invoice", "--part-rows", "50", *STANDIN]
        full, _ = timed([*base, "--output", str(work / "resume-full")], slow)
        killed, kept, resumed = kill_then_resume([*base, "--output", str(work / "resume-killed")], work / "resume-killed", slow, n)
        print(f"\nresume, stand-in engine ({args.delay} s per answer, 64 in flight), {n} documents")
        print(f"  full run {full:.1f} s; killed after {killed:.1f} s with {kept} rows kept; resumed run {resumed:.1f} s"
              f" = {resumed / full:.2f} x the full run for {n - kept} documents ({(n - kept) / n:.0%})")

        if args.real:
            from fieldmill.synth import write_corpus

            write_corpus("invoice", args.real, str(work / "real"), seed=3, formats=("txt",))
            base = ["run", str(work / "real" / "docs"), "--schema", "invoice", "--part-rows", "1", "--retries", "0", "--batch-size", "1"]
            full, _ = timed([*base, "--output", str(work / "real-full")], {})
            rss = success(work / "real-full")["driver_peak_rss_bytes"] / 2**20
            killed, kept, resumed = kill_then_resume([*base, "--output", str(work / "real-killed")], work / "real-killed", {}, args.real)
            print(f"\nresume, bundled model, {args.real} documents (model load included in every run)")
            print(f"  full run {full:.1f} s (driver peak RSS {rss:.0f} MiB); killed after {killed:.1f} s with {kept} rows kept;"
                  f" resumed run {resumed:.1f} s = {resumed / full:.2f} x the full run for {args.real - kept} documents")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
