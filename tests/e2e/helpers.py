"""Running the real CLI as a subprocess, and reading what it wrote."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pyarrow.dataset as pads
import pyarrow.parquet as pq

RUN_TIMEOUT_S = 1500
TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The stand-in engine (tests/standin_engine.py), for tests about the pipeline's bookkeeping.
STANDIN = ("--engine", "standin_engine:StandInEngine")


def standin_env(answers: str, **extra: str) -> dict[str, str]:
    """Environment for a run with the stand-in engine answering with the text (or JSON list) in `answers`."""
    path = os.pathsep.join(p for p in (TESTS, os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": path, "FIELDMILL_STANDIN_OUTPUT": answers, **extra}


def fieldmill(*args: str, env: dict | None = None, timeout: int = RUN_TIMEOUT_S) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fieldmill.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def summary_line(stdout: str, label: str) -> str:
    return next(line for line in stdout.splitlines() if line.strip().startswith(label))


def local_rows(output: str) -> list[dict]:
    return pads.dataset(output, format="parquet").to_table().to_pylist()


def s3_rows(s3, bucket: str, prefix: str) -> list[dict]:
    """The result rows under a prefix, read as `pyarrow.dataset` reads them: parts, not what `_`/`.` names hide (indexes)."""
    rows = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", ()):
            names = item["Key"][len(prefix):].split("/")
            if names[-1].startswith("part-") and not any(n.startswith(("_", ".")) for n in names):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                rows += pq.read_table(io.BytesIO(body)).to_pylist()
    return rows


def s3_json(s3, bucket: str, key: str) -> dict:
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
