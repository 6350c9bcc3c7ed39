"""Operating the monthly job: kill -9 and resume, S3 faults, unsafe keys, credentials, driver memory.

These tests are about the pipeline's bookkeeping, so the model is the stand-in engine
(`tests/standin_engine.py`, through the real `Engine` interface); everything else is
real: the CLI in a subprocess, Ray, the writers, a moto S3 server, and the project's
fault-injecting proxy in front of it. Extraction under hostile input, with the real
model, is in `test_hostile_input.py`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq
import pytest

from faultproxy import Rule, fault_proxy
from fieldmill.schema.load import load_schema
from fieldmill.synth import write_corpus
from helpers import STANDIN, fieldmill, local_rows, s3_rows, standin_env, summary_line
from promservers import get, pushgateway, samples
from s3server import client

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]



@pytest.fixture
def standin(tmp_path):
    """Environment for a run with the stand-in engine answering the invoice schema's example record."""
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(load_schema("invoice").json_schema["examples"][0]))
    return standin_env(str(answer))


def write_docs(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f"invoice-{i:05d}.txt" for i in range(count)]
    for i, name in enumerate(names):
        (folder / name).write_text(f"Invoice INV-{i}\nTotal due: {i}.00 EUR\n")
    return names


def run_folder(out: Path) -> Path:
    (folder,) = out.glob("run_id=*")
    return folder


def parts(out: Path) -> list[Path]:
    return sorted(out.glob("run_id=*/part-*.parquet"))


RUN_MARK = "FIELDMILL_TEST_RUN_MARK"


def start(args: list[str], env: dict) -> subprocess.Popen:
    """The CLI in its own process group, as a scheduler would start it."""
    return subprocess.Popen([sys.executable, "-m", "fieldmill.cli", *args], env={**os.environ, **env}, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def kill_group_when(process: subprocess.Popen, ready, timeout_s: float = 300) -> None:
    """SIGKILL the whole process group (driver, Ray and its workers) once `ready()` holds."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert process.poll() is None, "the run ended before it could be killed: " + process.stderr.read()[-2000:]
        assert time.monotonic() < deadline, "the run never reached the point to kill it"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def marked(mark: str) -> list[str]:
    """Living processes whose environment carries `mark`: the run's driver, Ray's daemons and workers inherit it,
    while another test's processes (xdist runs tests side by side) do not."""
    alive = []
    for proc in psutil.process_iter(["pid", "cmdline", "status"]):
        if proc.info["pid"] == os.getpid() or proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if proc.environ().get(RUN_MARK) == mark:
                alive.append(f"{proc.info['pid']} {' '.join(proc.info['cmdline'] or ())[:120]}")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return alive


def marked_gone(mark: str, timeout_s: float = 60) -> list[str]:
    """Processes of the killed run still alive after the kill (waits for them to go)."""
    deadline = time.monotonic() + timeout_s
    while (alive := marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return alive


@pytest.mark.metrics
@pytest.mark.parametrize("moment", ["before the first part", "after some parts, twice"])
def test_kill_minus_nine_then_the_same_command_finishes_only_the_rest(tmp_path, standin, moment):
    names = write_docs(tmp_path / "docs", 600)
    out = tmp_path / "out"
    args = ["run", str(tmp_path / "docs"), "--schema", "invoice", "--output", str(out), "--part-rows", "20", *STANDIN]
    env = {**standin, "FIELDMILL_STANDIN_DELAY_S": "0.5"}

    kills = [lambda: any(out.glob("run_id=*/_manifest/*/chunk-*.jsonl"))] if moment == "before the first part" else \
        [lambda: len(parts(out)) >= 3, lambda: len(parts(out)) >= 12]
    for attempt, ready in enumerate(kills):
        mark = f"{tmp_path.name}-{attempt}"
        kill_group_when(start(args, {**env, RUN_MARK: mark}), lambda: ready() and len(marked(mark)) > 1)
        assert marked_gone(mark) == [], "processes of the killed run survived"
        assert not (run_folder(out) / "_SUCCESS").exists()
        for part in parts(out):  # parts appear whole or not at all
            assert pq.read_table(part).num_rows > 0
        held = len(local_rows(str(out))) if parts(out) else 0
        assert held < len(names)

    with pushgateway() as gateway:
        resumed = fieldmill(*args, "--pushgateway", gateway, env=env)
        pushed = get(f"{gateway}/metrics").decode()
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{len(names) - held} processed now, {held} already done" in resumed.stdout
    # The resumed run's metrics describe the whole run, the rows written before the kill included.
    assert samples(pushed, "fieldmill_documents_total", status="compliant") == [len(names)]
    assert samples(pushed, "fieldmill_documents_done") == samples(pushed, "fieldmill_documents_planned") == [len(names)]
    rows = local_rows(str(out))
    assert sorted(r["doc_key"] for r in rows) == names  # exactly one row per document
    assert {r["status"] for r in rows} == {"compliant"}
    success = json.loads((run_folder(out) / "_SUCCESS").read_text())
    assert success["rows"] == len(names) == sum(f["rows"] for f in success["files"]) and success["listed"] == len(names)


def test_a_changed_document_is_processed_again_by_the_same_command(tmp_path, standin):
    names = write_docs(tmp_path / "docs", 3)
    out = str(tmp_path / "out")
    args = ["run", str(tmp_path / "docs"), "--schema", "invoice", "--output", out, *STANDIN]
    assert fieldmill(*args, env=standin).returncode == 0
    time.sleep(0.01)
    (tmp_path / "docs" / names[1]).write_text("Invoice INV-1 (corrected)\nTotal due: 2.00 EUR\n")
    again = fieldmill(*args, env=standin)
    assert again.returncode == 0 and "1 processed now, 2 already done" in again.stdout
    rows = local_rows(out)
    assert sorted(r["doc_key"] for r in rows) == sorted([*names, names[1]])  # the run keeps both answers for audit
    view = fieldmill("results", out, "--to", str(tmp_path / "view"))
    assert view.returncode == 0, view.stderr
    current = local_rows(str(tmp_path / "view"))
    assert sorted(r["doc_key"] for r in current) == names  # the current view: the newer answer only
    newest = max((r for r in rows if r["doc_key"] == names[1]), key=lambda r: r["processed_at"])
    assert next(r for r in current if r["doc_key"] == names[1])["doc_etag"] == newest["doc_etag"]


@pytest.mark.s3
def test_s3_faults_are_retried_and_an_unreadable_document_is_one_failed_row(tmp_path, standin, s3_endpoint, s3_env):
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="faulty-in")
    s3.create_bucket(Bucket="faulty-out")
    count = 60
    for i in range(count):
        s3.put_object(Bucket="faulty-in", Key=f"2026-11/clinic-42/invoice-{i:03d}.txt", Body=f"Invoice INV-{i}\nTotal {i}.00 EUR\n".encode() * 40)
    s3.put_object(Bucket="faulty-in", Key="2026-11/clinic-42/doomed.txt", Body=b"Invoice that cannot be read")

    with fault_proxy(s3_endpoint, hold_s=2.0) as proxy:
        proxy.rules += [
            Rule("slowdown", "list", times=2),
            Rule("timeout", "list", times=1),
            Rule("slowdown", "get", key="doomed"),  # always: the document cannot be read
            Rule("slowdown", "get", key=r"invoice-\d+\.txt", every=5),
            Rule("drop", "get", key=r"invoice-\d+\.txt", every=7),
            Rule("truncate", "get", key=r"invoice-\d+\.txt", every=11),
            Rule("timeout", "get", key=r"invoice-\d+\.txt", every=13, times=3),
            Rule("slowdown", "put", key="part-", times=2),
            Rule("drop", "put", key="_manifest", times=1),
            Rule("drop", "put", key="_SUCCESS", times=1),
            Rule("slowdown", "head", times=1),
        ]
        env = {**standin, **s3_env, "AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "6", "FIELDMILL_S3_READ_TIMEOUT": "1"}
        result = fieldmill("run", "s3://faulty-in/2026-11/", "--schema", "invoice", "--output", "s3://faulty-out/invoice/", "--part-rows", "25", *STANDIN, env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        faults, requests = dict(proxy.faults), dict(proxy.requests)

    print(f"\nS3 requests by operation {requests}; faults injected (each one retried) {sum(faults.values())}: {faults}")
    retried = sum(n for (op, fault), n in faults.items() if not (op == "get" and fault == "slowdown"))
    assert retried >= 20 and all(faults.get(k) for k in [("list", "slowdown"), ("list", "timeout"), ("get", "drop"), ("get", "truncate"), ("get", "timeout"), ("put", "slowdown"), ("put", "drop")])
    rows = s3_rows(s3, "faulty-out", "invoice/")
    assert len(rows) == count + 1 and len({r["doc_uri"] for r in rows}) == count + 1
    doomed = next(r for r in rows if r["doc_key"].endswith("doomed.txt"))
    assert doomed["status"] == "failed" and doomed["reason"] == "read_error" and "SlowDown" in doomed["error"]
    assert all(r["status"] == "compliant" for r in rows if r is not doomed)
    assert "read_error 1" in summary_line(result.stdout, "failed")
    assert "after the first worker's model was ready" in summary_line(result.stdout, "steady")  # the steady state, start-up apart


@pytest.mark.s3
def test_output_that_cannot_be_written_fails_the_run_loudly_and_a_rerun_resumes(tmp_path, standin, s3_endpoint, s3_env):
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="lossy-out")
    names = write_docs(tmp_path / "docs", 40)
    args = ["run", str(tmp_path / "docs"), "--schema", "invoice", "--output", "s3://lossy-out/x/", "--part-rows", "10", *STANDIN]
    with fault_proxy(s3_endpoint) as proxy:
        # The first part lands; every later part is refused for good.
        proxy.rules.append(Rule("slowdown", "put", key=r"part-.*-000(0[1-9]|[1-9]\d)\.parquet"))
        env = {**standin, **s3_env, "AWS_ENDPOINT_URL": proxy.url, "AWS_MAX_ATTEMPTS": "3"}
        failed = fieldmill(*args, env=env)
    assert failed.returncode == 6, failed.stdout + failed.stderr[-3000:]
    assert "cannot write s3://lossy-out/x/run_id=" in failed.stderr and "run the same command again" in failed.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lossy-out", Prefix="x/").get("Contents", [])]
    assert not any(k.endswith("_SUCCESS") for k in keys)
    held = len(s3_rows(s3, "lossy-out", "x/"))
    assert held == 10

    again = fieldmill(*args, env={**standin, **s3_env})  # the store works again
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{len(names) - held} processed now, {held} already done" in again.stdout
    assert sorted(r["doc_key"] for r in s3_rows(s3, "lossy-out", "x/")) == names


SECRET = "fieldmill-Secret-Never-Printed-7Qz"


@pytest.mark.s3
def test_unsafe_keys_stay_inside_output_and_credentials_are_never_written(tmp_path, standin, s3_endpoint, s3_env):
    s3 = client(s3_endpoint)
    s3.create_bucket(Bucket="odd-keys")
    keys = ["in/../../escape.txt", "in//double slash.txt", "in/abs/../../../etc/passwd.txt", "in/Rechnung #7 Müller é.txt", "in/%2e%2e/enc.txt", "in/sub/./dot.txt"]
    for key in keys:
        s3.put_object(Bucket="odd-keys", Key=key, Body=b"Invoice INV-1\nTotal 1.00 EUR\n")
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    before = {p for p in tmp_path.rglob("*")}
    ray_tmp = Path("/tmp") / f"fm-ray-{os.getpid()}"
    env = {**standin, **s3_env, "AWS_SECRET_ACCESS_KEY": SECRET, "RAY_TMPDIR": str(ray_tmp)}
    result = fieldmill("run", "s3://odd-keys/in/", "--schema", "invoice", "--output", str(out), *STANDIN, env=env)
    assert result.returncode == 0, result.stderr[-3000:]

    rows = local_rows(str(out))
    assert sorted(r["doc_key"] for r in rows) == sorted(k[len("in/"):] for k in keys) and {r["status"] for r in rows} == {"compliant"}
    created = {p for p in tmp_path.rglob("*")} - before
    outside = [p for p in created if out not in p.parents and p != out]
    assert outside == [], f"written outside OUTPUT: {outside}"
    assert not Path("/etc/passwd.txt").exists() and not (tmp_path / "escape.txt").exists()

    # The secret key reaches boto3 through the standard chain and nowhere else: not the
    # output, not the terminal, not Ray's session logs of the driver and the workers.
    try:
        assert SECRET not in result.stdout + result.stderr
        logs = [p for p in ray_tmp.rglob("*.log") if p.is_file()]
        assert len(logs) > 5
        for path in [*out.rglob("*"), *ray_tmp.rglob("*")]:
            if path.is_file() and not path.is_symlink():
                assert SECRET.encode() not in path.read_bytes(), f"credential written to {path}"
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)


def test_driver_memory_does_not_grow_with_the_corpus(tmp_path, standin):
    peaks = {}
    for count in (1000, 10000):
        write_docs(tmp_path / f"docs-{count}", count)
        out = tmp_path / f"out-{count}"
        result = fieldmill("run", str(tmp_path / f"docs-{count}"), "--schema", "invoice", "--output", str(out), *STANDIN, env=standin)
        assert result.returncode == 0, result.stderr[-3000:]
        success = json.loads((run_folder(out) / "_SUCCESS").read_text())
        assert success["rows"] == count
        peaks[count] = success["driver_peak_rss_bytes"] / 2**20
        assert f"peak memory {peaks[count]:.0f} MiB" in result.stdout
    print(f"\ndriver peak RSS: 1,000 documents {peaks[1000]:.0f} MiB, 10,000 documents {peaks[10000]:.0f} MiB")
    assert peaks[10000] - peaks[1000] < 64, peaks  # ten times the documents, (nearly) the same memory
    assert peaks[10000] < 1024


def test_a_passing_failure_is_tried_again_by_the_same_command(tmp_path, standin):
    """An engine error is not done: the same command tries the document again and the current view holds its answer."""
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    (docs / "flaky.txt").write_text("Invoice X [fail once]\n")
    env = {**standin, "FIELDMILL_STANDIN_FAIL_ONCE": str(tmp_path / "failed-once")}
    args = ("run", str(docs), "--schema", "invoice", "--output", str(tmp_path / "out"), "--retries", "0", *STANDIN)
    first = fieldmill(*args, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    flaky = [r for r in local_rows(str(tmp_path / "out")) if r["doc_key"] == "flaky.txt"]
    assert [(r["status"], r["reason"], r["tries"]) for r in flaky] == [("failed", "engine_error", 1)]
    second = fieldmill(*args, env=env)
    assert second.returncode == 0 and "1 processed now" in second.stdout, second.stdout
    flaky = sorted((r for r in local_rows(str(tmp_path / "out")) if r["doc_key"] == "flaky.txt"), key=lambda r: r["processed_at"])
    assert [(r["status"], r["tries"]) for r in flaky] == [("failed", 1), ("compliant", 2)]
    view = fieldmill("results", str(tmp_path / "out"), "--to", str(tmp_path / "view"))
    assert view.returncode == 0
    current = {r["doc_key"]: r for r in local_rows(str(tmp_path / "view"))}
    assert current["flaky.txt"]["status"] == "compliant" and len(current) == 4


def test_a_limited_run_stays_partial_until_the_same_command_finishes_it(tmp_path, standin):
    docs = tmp_path / "docs"
    write_docs(docs, 5)
    out = tmp_path / "out"
    limited = fieldmill("run", str(docs), "--schema", "invoice", "--output", str(out), "--limit", "2", *STANDIN, env=standin)
    assert limited.returncode == 0 and "partial" in limited.stdout, limited.stdout
    assert not (run_folder(out) / "_SUCCESS").exists()
    assert fieldmill("results", str(out)).returncode == 3  # nothing completed: not in the current view
    rest = fieldmill("run", str(docs), "--schema", "invoice", "--output", str(out), *STANDIN, env=standin)
    assert rest.returncode == 0 and "3 processed now" in rest.stdout and (run_folder(out) / "_SUCCESS").exists()
    assert len(local_rows(str(out))) == 5


def test_a_second_driver_on_the_same_run_exits_without_writing(tmp_path, standin):
    docs = tmp_path / "docs"
    write_docs(docs, 40)
    args = ["run", str(docs), "--schema", "invoice", "--output", str(tmp_path / "out"), *STANDIN]
    env = {**standin, "FIELDMILL_STANDIN_DELAY_S": "0.5"}
    first = start(args, env)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "out").glob("run_id=*/_lease")) and time.monotonic() < deadline:
        time.sleep(0.2)
    second = fieldmill(*args, env=env)
    assert second.returncode == 8 and "another driver" in second.stderr, second.stderr[-2000:]
    first.communicate(timeout=600)
    assert first.returncode == 0
    rows = local_rows(str(tmp_path / "out"))
    assert len(rows) == 40 and len({r["doc_uri"] for r in rows}) == 40  # one row per document: the second wrote nothing


def test_a_worker_that_dies_mid_run_is_reported_as_such_and_the_run_resumes(tmp_path, standin):
    docs = tmp_path / "docs"
    write_docs(docs, 30)
    args = ("run", str(docs), "--schema", "invoice", "--output", str(tmp_path / "out"), "--part-rows", "1", "--batch-size", "1", *STANDIN)
    died = fieldmill(*args, env={**standin, "FIELDMILL_STANDIN_DIE_AFTER": "5"}, timeout=600)  # dies after 5 answers, every time it is restarted
    assert died.returncode == 9, died.stderr[-2000:]
    assert "an extraction worker died" in died.stderr and "model cannot load" not in died.stderr
    resumed = fieldmill(*args, env=standin)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    rows = local_rows(str(tmp_path / "out"))
    assert len({r["doc_uri"] for r in rows}) == 30 == len(rows)


def test_a_successful_run_ends_without_tracebacks_and_its_engine_ran_at_the_runs_priority(tmp_path, standin):
    docs = tmp_path / "docs"
    write_docs(docs, 3)
    niceness = tmp_path / "engine-niceness"
    done = fieldmill("run", str(docs), "--schema", "invoice", "--output", str(tmp_path / "out"), *STANDIN,
                     env={**standin, "FIELDMILL_STANDIN_NICENESS": str(niceness)})
    assert done.returncode == 0
    assert int(niceness.read_text()) == os.nice(0)  # not Ray's nice 15, starved by any other work on the machine
    assert "Traceback" not in done.stderr and "EngineDeadError" not in done.stderr, done.stderr[-3000:]
    assert "fieldmill progress: 3/3 documents" in done.stderr  # the progress line, not Ray's block counters
    assert "Total Progress" not in done.stderr


def test_reprocess_a_prefix_then_the_current_view(tmp_path):
    """A month of two clinics; clinic-2 is reprocessed; the view holds one row per document, the newer answer for clinic-2.
    (The stand-in engine answers: this is about runs and views, not extraction.)"""
    corpus = tmp_path / "corpus"
    write_corpus("invoice", 2, str(corpus), seed=5, formats=("txt",))
    month = corpus / "2026-11"
    for index, clinic in enumerate(("clinic-1", "clinic-2")):
        (month / clinic).mkdir(parents=True)
        (corpus / "docs" / f"invoice-000{index}.txt").rename(month / clinic / f"invoice-000{index}.txt")
    out = str(tmp_path / "out")
    answer = tmp_path / "answer.json"
    answer.write_text(json.dumps(load_schema("invoice").json_schema["examples"][0]))
    standin = {"env": standin_env(str(answer))}
    first = fieldmill("run", str(month), "--schema", "invoice", "--output", out, *STANDIN, **standin)
    assert first.returncode == 0, first.stderr[-3000:]
    plain = fieldmill("run", str(month / "clinic-2"), "--schema", "invoice", "--output", out, *STANDIN, **standin)
    assert plain.returncode == 0 and "0 processed now, 1 already done" in plain.stdout  # done in the month's run
    again = fieldmill("run", str(month / "clinic-2"), "--schema", "invoice", "--output", out, "--reprocess", *STANDIN, **standin)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 processed now, 0 already done" in again.stdout

    view = fieldmill("results", out, "--to", str(tmp_path / "view"))
    assert view.returncode == 0, view.stderr
    rows = {Path(r["doc_uri"]).parent.name: r for r in local_rows(str(tmp_path / "view"))}
    assert sorted(rows) == ["clinic-1", "clinic-2"] and len(local_rows(str(tmp_path / "view"))) == 2
    runs = {r["run_id"] for r in local_rows(out)}
    reprocess_run = next(r for r in runs if "-r2" in r)
    assert rows["clinic-2"]["run_id"] == reprocess_run and rows["clinic-1"]["run_id"] != reprocess_run
    assert len(local_rows(out)) == 3  # runs are immutable: the first answer for clinic-2 is still there


def test_a_completed_run_never_changes_new_documents_go_to_a_follow_up_run(tmp_path, standin):
    docs, out = tmp_path / "docs", tmp_path / "out"
    write_docs(docs, 2)
    args = ["run", str(docs), "--schema", "invoice", "--output", str(out), *STANDIN]
    assert fieldmill(*args, env=standin).returncode == 0
    (base,) = out.glob("run_id=*")
    success = (base / "_SUCCESS").read_text()
    files = sorted(p.name for p in base.rglob("*"))
    (docs / "invoice-new.txt").write_text("Invoice INV-9\nTotal due: 9.00 EUR\n")
    later = fieldmill(*args, env=standin)
    assert later.returncode == 0 and "1 processed now, 2 already done" in later.stdout, later.stdout
    assert (base / "_SUCCESS").read_text() == success and sorted(p.name for p in base.rglob("*")) == files  # untouched
    (follow_up,) = [p for p in out.glob("run_id=*") if p != base]
    assert follow_up.name.startswith(base.name + "-f") and json.loads((follow_up / "_SUCCESS").read_text())["rows"] == 1
    again = fieldmill(*args, env=standin)  # nothing new: no further run
    assert again.returncode == 0 and len(list(out.glob("run_id=*"))) == 2
    assert fieldmill("results", str(out), "--to", str(tmp_path / "view")).returncode == 0
    assert sorted(r["doc_key"] for r in local_rows(str(tmp_path / "view"))) == ["invoice-00000.txt", "invoice-00001.txt", "invoice-new.txt"]
