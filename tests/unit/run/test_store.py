"""The run store: parts and their indexes, completion written once, retries of passing failures,
leases, the done-set and the current view, all on a local folder (S3 in test_storage_s3)."""

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from fieldmill import storage
from fieldmill.document import Document, Source
from fieldmill.extract.answer import Answer
from fieldmill.extract.merge import Finished
from fieldmill.cli import main
from fieldmill.run.config import reprocess_run_id
from fieldmill.run.rows import row_schema
from fieldmill.schema.load import load_schema
from fieldmill.run.store import _PID_NAMESPACE, INDEX_DIR, MAX_TRIES, LeaseHeld, NoResults, Run, RunConstants, RunStore, SeveralSchemas, doc_digest

SCHEMA = load_schema("invoice")


def result(uri, status="compliant", etag="e1", reason=None, tries=0, record=None):
    answer = Answer(status, reason if reason is not None else ("empty" if status == "failed" else ""), "",
                    ({"field": "x", "message": "m"},) if status == "noncompliant" else (), record or None, "{}",
                    prompt_tokens=5, completion_tokens=3, latency_s=0.5, generation_s=0.4)
    return Finished(Document(Source(uri, uri.rsplit("/", 1)[-1], etag, 10, tries)), answer)


def write_run(output: Path, run_id: str, rows, complete: bool = True, model: str = "m1", part_each: bool = True) -> Run:
    """rows: results written in this order, each as its own part when `part_each` (as long runs do)."""
    run = RunStore(str(output)).run(run_id)
    writer = run.writer(row_schema(SCHEMA.hardened), RunConstants(run_id, "invoice", SCHEMA.hash, model))
    for row in rows:
        writer.add(row)
        if part_each:
            writer.flush()
    writer.flush()
    if complete:
        run.complete({"run_id": run_id})
    return run


def test_parts_are_whole_with_an_index_beside_each(tmp_path):
    run = write_run(tmp_path, "r1", [result("/d/a.txt"), result("/d/b.txt", "failed"), result("/d/c.txt", "noncompliant")], part_each=False)
    table = ds.dataset(str(tmp_path), format="parquet").to_table()  # the run folder reads as just its rows
    assert table.num_rows == 3 and sorted(table.column("status").to_pylist()) == ["compliant", "failed", "noncompliant"]
    assert not [p for p in Path(run.folder).iterdir() if p.name.endswith(".tmp")]
    assert [p.name for p in (Path(run.folder) / INDEX_DIR).iterdir()] == run.part_names()
    summary = run.summary()
    assert summary["counts"] == {"compliant": 1, "failed": 1, "noncompliant": 1} and summary["failure_reasons"] == {"empty": 1}
    assert summary["rows"] == 3 and summary["files"] == [{"name": run.part_names()[0], "rows": 3}]


def test_a_part_without_its_index_gets_one_back(tmp_path):
    """A driver killed between a part and its index: the next start rebuilds the index, so nothing is done twice."""
    run = write_run(tmp_path, "r1", [result("/d/a.txt"), result("/d/b.txt")], complete=False)
    lost = Path(run.folder) / INDEX_DIR / run.part_names()[1]
    lost.unlink()
    history = RunStore(str(tmp_path)).history(SCHEMA.hash, "m1")
    assert history.done == {doc_digest("/d/a.txt", "e1"), doc_digest("/d/b.txt", "e1")}
    assert lost.exists()


def test_readers_never_write_into_output(tmp_path):
    """results, review and eval read with read-only credentials: a missing index is rebuilt in memory only."""
    run = write_run(tmp_path, "r1", [result("/d/a.txt"), result("/d/b.txt")])
    (Path(run.folder) / "_index.parquet").unlink()
    lost = Path(run.folder) / INDEX_DIR / run.part_names()[1]
    lost.unlink()
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    tmp_path.chmod(0o555), Path(run.folder).chmod(0o555), (Path(run.folder) / INDEX_DIR).chmod(0o555)
    try:
        view = RunStore(str(tmp_path)).write_view()
    finally:
        tmp_path.chmod(0o755), Path(run.folder).chmod(0o755), (Path(run.folder) / INDEX_DIR).chmod(0o755)
    assert view.rows == 2 and sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_startup_reads_indexes_not_parts(tmp_path):
    write_run(tmp_path, "r1", [result("/d/a.txt"), result("/d/b.txt")])
    read = []

    class Counting(storage.Filesystem):  # the store reads through the filesystem it is given
        def open_object(self, uri):
            read.append(uri)
            return super().open_object(uri)

    RunStore(str(tmp_path), Counting()).history(SCHEMA.hash, "m1")
    assert read and not [u for u in read if Path(u).name.startswith("part-")]  # the completed run's one-file index only
    assert [Path(u).name for u in read] == ["_index.parquet"]


def test_done_spans_every_run_of_the_same_schema_version_and_model(tmp_path):
    for run_id, model, uri in [("r1", "m", "/d/a.txt"), ("r2", "m", "/d/b.txt"), ("r3", "other-model", "/d/c.txt")]:
        write_run(tmp_path, run_id, [result(uri)], model=model)
    store = RunStore(str(tmp_path))
    assert store.history(SCHEMA.hash, "m").done == {doc_digest("/d/a.txt", "e1"), doc_digest("/d/b.txt", "e1")}
    assert store.history("another-schema-version", "m").done == set()


def test_failures_for_a_passing_reason_are_tried_again_a_bounded_number_of_times(tmp_path):
    write_run(tmp_path, "r1", [result("/d/throttled.txt", "failed", reason="read_error"), result("/d/engine.txt", "failed", reason="engine_error"),
                               result("/d/broken.txt", "failed", reason="decode_error"),
                               result("/d/gave-up.txt", "failed", reason="read_error", tries=MAX_TRIES - 1)])
    history = RunStore(str(tmp_path)).history(SCHEMA.hash, "m1")
    assert doc_digest("/d/broken.txt", "e1") in history.done  # undecodable: done
    assert doc_digest("/d/gave-up.txt", "e1") in history.done  # tried MAX_TRIES times: its failed row stays
    assert doc_digest("/d/throttled.txt", "e1") not in history.done and history.tries[doc_digest("/d/throttled.txt", "e1")] == 1
    assert doc_digest("/d/engine.txt", "e1") not in history.done


def test_completion_is_written_once(tmp_path):
    run = write_run(tmp_path, "r1", [result("/d/a.txt")])
    first = Path(run.folder, "_SUCCESS").read_bytes()
    time.sleep(0.01)
    assert run.complete({"run_id": "r1", "ended_at": "later"}) is False
    assert Path(run.folder, "_SUCCESS").read_bytes() == first


def test_the_current_row_is_the_one_produced_last_among_completed_runs(tmp_path):
    """A reprocess replaces its documents' rows; the monthly command run again afterwards processes nothing and
    changes nothing readers see; an unfinished run waits."""
    out = tmp_path / "out"
    write_run(out, "monthly", [result("/in/a"), result("/in/b", "failed"), result("/in/c", "noncompliant"), result("/in/b", etag="2")])
    write_run(out, "monthly-r20261110T000000", [result("/in/c")], model="m2")
    write_run(out, "monthly-r20261120T000000", [result("/in/a", "failed")], complete=False)  # killed
    RunStore(str(out)).run("monthly").complete({"run_id": "monthly"})  # the monthly command, again: nothing to do
    view = RunStore(str(out)).write_view(str(tmp_path / "view"))
    assert view.rows == 3 and view.skipped_runs == ["monthly-r20261120T000000"]
    rows = {r["doc_uri"]: r for r in ds.dataset(str(tmp_path / "view"), format="parquet").to_table().to_pylist()}
    assert sorted(rows) == ["/in/a", "/in/b", "/in/c"]
    assert (rows["/in/a"]["run_id"], rows["/in/a"]["status"]) == ("monthly", "compliant")
    assert (rows["/in/b"]["doc_etag"], rows["/in/b"]["status"]) == ("2", "compliant")  # changed document: its newer row
    assert (rows["/in/c"]["run_id"], rows["/in/c"]["model_id"]) == ("monthly-r20261110T000000", "m2")  # the reprocess wins
    assert sorted(view.runs) == [("monthly", 2), ("monthly-r20261110T000000", 1)]


def test_a_newer_failure_for_a_passing_reason_never_hides_an_answer(tmp_path):
    """A reprocess whose engine died writes engine_error rows; the view keeps the earlier answers, and a final
    failure or a newer answer still replaces them."""
    out = tmp_path / "out"
    write_run(out, "monthly", [result("/in/a"), result("/in/b", "noncompliant"), result("/in/c"), result("/in/d", "failed", reason="engine_error")])
    write_run(out, "monthly-r20261110T000000", [result("/in/a", "failed", reason="engine_error"), result("/in/b", "failed", reason="no_output"),
                                                result("/in/c", "failed", reason="decode_error"), result("/in/d", "failed", reason="read_error")])
    RunStore(str(out)).write_view(str(tmp_path / "view"))
    rows = {r["doc_uri"]: r for r in ds.dataset(str(tmp_path / "view"), format="parquet").to_table().to_pylist()}
    assert {uri: (r["run_id"], r["status"], r["reason"]) for uri, r in rows.items()} == {
        "/in/a": ("monthly", "compliant", None), "/in/b": ("monthly", "noncompliant", None),
        "/in/c": ("monthly-r20261110T000000", "failed", "decode_error"),  # a final failure is an answer about the document
        "/in/d": ("monthly-r20261110T000000", "failed", "read_error")}  # no run answered: the newest failure


def test_the_store_orders_rows_not_the_drivers_clocks(tmp_path, monkeypatch):
    """A driver whose clock runs an hour ahead wrote its row first; a second driver (right clock) wrote the
    document's row after it: the view takes the row the store received last."""
    out = tmp_path / "out"
    real_now = dt.datetime.now

    class Ahead(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return real_now(tz) + dt.timedelta(hours=1)

    monkeypatch.setattr("fieldmill.run.rows.dt.datetime", Ahead)
    write_run(out, "monthly", [result("/in/a", "noncompliant")])
    monkeypatch.undo()
    time.sleep(0.05)
    write_run(out, "monthly-r20261110T000000", [result("/in/a")])
    stamps = {r["run_id"]: r["processed_at"] for r in ds.dataset(str(out), format="parquet").to_table().to_pylist()}
    assert stamps["monthly"] > stamps["monthly-r20261110T000000"]  # the drivers' clocks say the other way round
    RunStore(str(out)).write_view(str(tmp_path / "view"))
    (row,) = ds.dataset(str(tmp_path / "view"), format="parquet").to_table().to_pylist()
    assert (row["run_id"], row["status"]) == ("monthly-r20261110T000000", "compliant")


def test_one_view_per_schema(tmp_path, capsys):
    """Runs of two schemas in one OUTPUT never mix in one view: readers name one, and are told which exist."""
    out = tmp_path / "out"
    write_run(out, "invoices", [result("/in/a"), result("/in/b")], complete=False).complete({"run_id": "invoices", "schema_name": "invoice"})
    receipts = write_run(out, "receipts", [result("/in/b", "noncompliant"), result("/in/c")], complete=False)
    receipts.complete({"run_id": "receipts", "schema_name": "receipt", "schema_spec": "schemas/receipt.json"})
    with pytest.raises(SeveralSchemas, match=r"several schemas \(invoice \(1 run\), receipt \(1 run\)\): name one with --schema"):
        RunStore(str(out)).write_view()
    assert main(["results", str(out)]) == 3 and "name one with --schema" in capsys.readouterr().err
    assert main(["results", str(out), "--schema", "schemas/receipt.json", "--to", str(tmp_path / "view")]) == 0
    rows = ds.dataset(str(tmp_path / "view"), format="parquet").to_table().to_pylist()
    assert sorted((r["doc_uri"], r["status"]) for r in rows) == [("/in/b", "noncompliant"), ("/in/c", "compliant")]
    view = RunStore(str(out)).write_view(schema="invoice")
    assert view.rows == 2 and view.runs == [("invoices", 2)]
    with pytest.raises(NoResults, match="no completed run of schema 'contract'.*invoice \\(1 run\\), receipt"):
        RunStore(str(out)).write_view(schema="contract")


def test_an_empty_view_never_replaces_the_current_one(tmp_path):
    out, dest = tmp_path / "out", tmp_path / "view"
    write_run(out, "r1", [result("/in/a")])
    assert main(["results", str(out), "--to", str(dest)]) == 0
    before = os.readlink(dest / "current")
    assert main(["results", str(tmp_path / "ouy"), "--to", str(dest)]) == 3  # a mistyped OUTPUT
    write_run(tmp_path / "new", "r1", [result("/in/a")], complete=False)  # no completed run yet
    assert main(["results", str(tmp_path / "new"), "--to", str(dest)]) == 3
    assert os.readlink(dest / "current") == before and len([p for p in dest.iterdir() if p.name.startswith("_view-")]) == 1
    assert [r["doc_uri"] for r in ds.dataset(str(dest), format="parquet").to_table().to_pylist()] == ["/in/a"]


def test_a_new_view_replaces_the_old_in_one_switch(tmp_path):
    out, dest = tmp_path / "out", tmp_path / "view"
    write_run(out, "r1", [result("/in/a"), result("/in/b")])
    RunStore(str(out)).write_view(str(dest))
    write_run(out, "r2", [result("/in/b", "noncompliant")])
    RunStore(str(out)).write_view(str(dest))
    rows = ds.dataset(str(dest), format="parquet").to_table().to_pylist()  # only the current version, never both
    assert sorted((r["doc_uri"], r["status"]) for r in rows) == [("/in/a", "compliant"), ("/in/b", "noncompliant")]
    assert (dest / "current").is_symlink() and (dest / "_CURRENT").read_text() == os.readlink(dest / "current")
    for _ in range(3):
        RunStore(str(out)).write_view(str(dest))
    assert len([p for p in dest.iterdir() if p.name.startswith("_view-")]) == 2  # the newest and the one before


def test_a_lease_keeps_a_second_driver_off_and_expires_after_a_crash(tmp_path):
    run = RunStore(str(tmp_path)).run("r1")
    with run.lease(seconds=60):
        with pytest.raises(LeaseHeld, match="another driver"):
            run.lease(seconds=60).acquire()
    assert not Path(run.folder, "_lease").exists()  # released at the end
    crashed = run.lease(seconds=0.2).acquire()
    crashed._stop.set()  # the driver died: no renewal
    time.sleep(0.3)
    with run.lease(seconds=60):  # its lease expired: the next driver takes the run
        pass


def test_a_lease_whose_driver_on_this_machine_has_died_is_taken_at_once(tmp_path):
    run = RunStore(str(tmp_path)).run("r1")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lease = Path(run.folder, "_lease")
    lease.parent.mkdir(parents=True)
    here = _PID_NAMESPACE
    for owner in (f"{socket.gethostname()}:{dead.pid}:0123abcd:{here}", f"{socket.gethostname()}:{os.getpid()}:0123abcd:{here}"):  # killed; an earlier incarnation's pid
        lease.write_text(json.dumps({"owner": owner, "expires": time.time() + 600}))
        with run.lease(seconds=60):
            pass
    for owner in (f"other-host:{dead.pid}:0123abcd:{here}", f"{socket.gethostname()}:{dead.pid}:0123abcd:4026531999"):
        lease.write_text(json.dumps({"owner": owner, "expires": time.time() + 600}))
        with pytest.raises(LeaseHeld):  # another machine's (or pid namespace's) driver is gone only when its lease expires
            run.lease(seconds=60).acquire()


def test_expiry_is_judged_by_the_stores_clock_not_by_the_drivers_clocks(tmp_path):
    run = RunStore(str(tmp_path)).run("r1")
    lease = Path(run.folder, "_lease")
    lease.parent.mkdir(parents=True)
    # Written long ago by a driver whose clock ran a day ahead: its "expires" is still in the future, the object is old.
    lease.write_text(json.dumps({"owner": "other-host:1:0123abcd", "generation": 4, "seconds": 60, "expires": time.time() + 86400}))
    os.utime(lease, (time.time() - 120, time.time() - 120))
    with run.lease(seconds=60) as taken:
        assert taken.generation == 5
    # Just renewed by a driver whose clock runs behind: its "expires" is in the past, the object is fresh.
    lease.write_text(json.dumps({"owner": "other-host:1:0123abcd", "generation": 5, "seconds": 60, "expires": time.time() - 3600}))
    with pytest.raises(LeaseHeld, match="another driver"):
        run.lease(seconds=60).acquire()


def test_a_driver_that_lost_its_lease_writes_no_part_and_no_completion(tmp_path):
    run = RunStore(str(tmp_path)).run("r1")
    lease = run.lease(seconds=1.5).acquire()
    writer = run.writer(row_schema(SCHEMA.hardened), RunConstants("r1", "invoice", SCHEMA.hash, "m1"), lease=lease)
    writer.add(result("/d/a.txt"))
    writer.flush()
    # This driver stalls; its lease expires and a second driver takes the run.
    lease._stop.set()
    time.sleep(1.6)
    with run.lease(seconds=60) as other:
        writer.add(result("/d/b.txt"))
        with pytest.raises(LeaseHeld):
            writer.flush()
        with pytest.raises(LeaseHeld):
            run.complete({"run_id": "r1"}, lease)
        assert len(run.part_names()) == 1 and not run.completed
        assert run.complete({"run_id": "r1"}, other) and json.loads(Path(run.folder, "_SUCCESS").read_text())["lease_generation"] == 2


def test_a_renewal_whose_answer_was_lost_keeps_the_lease(tmp_path):
    """The write landed but its reply never arrived: the next renewal is refused (the version moved) and finds the lease its own."""
    writes, lost = [], []

    class LosingAnswers(storage.Filesystem):
        def write_if(self, uri, data, version):
            answer = super().write_if(uri, data, version)
            writes.append(uri)
            if len(writes) == 2:  # the first renewal (the first write takes the lease)
                lost.append(uri)
                raise storage.StorageError("read timeout on endpoint URL")
            return answer

    run = RunStore(str(tmp_path), LosingAnswers()).run("r1")
    with run.lease(seconds=3) as lease:
        deadline = time.monotonic() + 30  # renewals every second: the first loses its answer, the next is refused and recovers
        while len(writes) < 3 and time.monotonic() < deadline:  # the take, the lost one, one after the refusal
            time.sleep(0.05)
        assert lost and len(writes) >= 3 and lease._lost is None
        lease.check()
        lease.verify()


def test_manifest_chunks_keep_only_chunks_with_pending_work(tmp_path):
    entries = [{"uri": f"/d/{i}", "key": str(i), "size": 1, "etag": "e", "done": i < 4} for i in range(7)]
    chunks = Run(str(tmp_path), "r").write_manifest_chunks("a1", iter(entries), chunk_size=3)
    assert [pending for _, pending in chunks] == [2, 1]
    assert len(list((tmp_path / "_manifest" / "a1").iterdir())) == 3


def test_local_writes_are_atomic_and_listing_is_sorted(tmp_path):
    storage.write_bytes(str(tmp_path / "b" / "x.txt"), b"1")
    storage.write_bytes(str(tmp_path / "a.txt"), b"22")
    infos = list(storage.list_objects(str(tmp_path)))
    assert [i.key for i in infos] == ["a.txt", "b/x.txt"] and infos[0].size == 2


def test_a_read_is_pinned_to_the_listed_version(tmp_path):
    from fieldmill.documents import CHANGED, read_document

    path = tmp_path / "doc.txt"
    path.write_text("first")
    (info,) = storage.list_objects(str(tmp_path))
    time.sleep(0.01)
    path.write_text("second version")
    decoded = read_document(info.uri, info.key, info.size, 1 << 20, etag=info.etag)
    assert decoded.reason == CHANGED and "changed" in decoded.message


def test_cli_prints_the_view(tmp_path, capsys):
    write_run(tmp_path / "out", "r1", [result("/in/a")])
    assert main(["results", str(tmp_path / "out"), "--to", str(tmp_path / "v")]) == 0
    printed = capsys.readouterr().out
    assert "documents    1 (compliant 1)" in printed and "r1 (1 rows)" in printed
    assert main(["results", str(tmp_path / "empty")]) == 3


def test_reprocess_run_ids_resume_an_unfinished_reprocess():
    now = dt.datetime(2026, 11, 25, 3, 4, 5, tzinfo=dt.timezone.utc)
    assert reprocess_run_id("inv-abc", ["inv-abc"], {"inv-abc"}, now) == "inv-abc-r20261125T030405"
    unfinished = ["inv-abc", "inv-abc-r20261101T000000"]
    assert reprocess_run_id("inv-abc", unfinished, {"inv-abc"}, now) == "inv-abc-r20261101T000000"
    assert reprocess_run_id("inv-abc", unfinished, set(unfinished), now) == "inv-abc-r20261125T030405"
    assert reprocess_run_id("inv-abc", ["inv-abcdef-r20261101T000000"], set(), now) == "inv-abc-r20261125T030405"
