"""Cluster mode: `fieldmill run --ray-address` joins a Ray cluster started with `ray start --head`, with the real model."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from fieldmill.schema.load import load_schema
from fieldmill.synth import write_corpus
from helpers import STANDIN, fieldmill, local_rows, standin_env
from s3server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.cluster, pytest.mark.timeout(1200)]


@pytest.fixture
def ray_cluster(monkeypatch):
    """A one-node Ray cluster of its own (3 CPUs, so a run that joins it can tell), stopped afterwards.

    With token authentication, as Ray enables it by default: clients (the CLI here, KubeRay's
    pods in production) get the mode and the token from the environment.
    """
    temp = tempfile.mkdtemp(prefix="fmray-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    token = Path(temp) / "auth_token"
    token.write_text(secrets.token_hex(32))
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    port = free_port()
    ray = str(Path(sys.executable).with_name("ray"))
    head = subprocess.Popen([ray, "start", "--head", "--block", f"--port={port}", "--num-cpus=3", "--num-gpus=0", f"--temp-dir={temp}",
                             "--include-dashboard=false", "--disable-usage-stats"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            # its workers can import the stand-in engine too, and run at the test's priority
                            # (Ray's nice 15 starved the real model beside the other tests, as on a busy node)
                            env={**os.environ, **standin_env(""), "RAY_worker_niceness": "0"})
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while subprocess.run([ray, "status", f"--address={address}"], capture_output=True).returncode != 0:
        assert head.poll() is None, head.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "the Ray head never came up"
        time.sleep(1)
    try:
        yield address
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def test_run_joins_an_existing_cluster(tmp_path, ray_cluster):
    write_corpus("invoice", 1, str(tmp_path / "corpus"), seed=21, formats=("txt",))
    out = tmp_path / "out"
    result = fieldmill("run", str(tmp_path / "corpus" / "docs"), "--schema", "invoice", "--output", str(out),
                       "--ray-address", ray_cluster, "--retries", "0", "--gpus-per-worker", "0")
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"ray cluster: 3 CPUs, 0 GPUs; 1 extraction worker\(s\) with 0 GPU each", result.stderr)  # the cluster's, not a new one
    rows = local_rows(str(out))
    assert len(rows) == 1 and {r["status"] for r in rows} <= {"compliant", "noncompliant"}
    regex = load_schema("invoice").constraint.regex
    assert all(re.fullmatch(regex, r["raw_output"]) for r in rows)
    assert json.loads(next(out.glob("run_id=*/_SUCCESS")).read_text())["rows"] == 1

    # RAY_ADDRESS works as well as the flag (the stand-in engine: this part is about joining, not extracting).
    again = fieldmill("run", str(tmp_path / "corpus" / "docs"), "--schema", "invoice", "--output", str(tmp_path / "out2"), *STANDIN,
                      env={**standin_env(""), "RAY_ADDRESS": ray_cluster})
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 processed now" in again.stdout and "ray cluster: 3 CPUs" in again.stderr
