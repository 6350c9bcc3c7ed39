import json
import pickle
from pathlib import Path

import pyarrow.dataset as ds

from fieldmill import storage
from fieldmill.output import PartWriter, RunConstants, done_digests, done_in_output, doc_digest, row_schema, summarise_run, write_manifest_chunks
from fieldmill.schemas import load_schema


def result(uri, status="compliant", record=None):
    return {"doc_uri": uri, "doc_key": uri.rsplit("/", 1)[-1], "doc_etag": "e1", "doc_bytes": 10, "status": status,
            "reason": "empty" if status == "failed" else "", "error": "", "errors_json": json.dumps([{"field": "x", "message": "m"}]) if status == "noncompliant" else "",
            "record_pickle": pickle.dumps(record) if record else b"", "raw_output": "{}", "prompt_tokens": 5, "completion_tokens": 3,
            "latency_s": 0.5, "generation_s": 0.4}


def test_parts_are_whole_readable_and_resumable(tmp_path):
    schema = load_schema("invoice")
    folder = str(tmp_path / "run_id=r1")
    writer = PartWriter(folder, row_schema(schema.hardened), RunConstants("r1", "invoice", schema.hash, "m"))
    writer.add(result("/d/a.txt"))
    writer.add(result("/d/b.txt", "failed"))
    writer.add(result("/d/c.txt", "noncompliant"))
    writer.flush()
    table = ds.dataset(str(tmp_path), format="parquet").to_table()
    assert table.num_rows == 3
    assert sorted(table.column("status").to_pylist()) == ["compliant", "failed", "noncompliant"]
    assert not [p for p in Path(folder).iterdir() if p.name.endswith(".tmp")]
    assert done_digests(folder) == {doc_digest(f"/d/{n}.txt", "e1") for n in "abc"}
    summary = summarise_run(folder)
    assert summary["counts"] == {"compliant": 1, "failed": 1, "noncompliant": 1} and summary["failure_reasons"] == {"empty": 1}


def test_manifest_chunks_keep_only_chunks_with_pending_work(tmp_path):
    entries = [{"uri": f"/d/{i}", "key": str(i), "size": 1, "etag": "e", "done": i < 4} for i in range(7)]
    chunks = write_manifest_chunks(str(tmp_path), "a1", iter(entries), chunk_size=3)
    assert [pending for _, pending in chunks] == [2, 1]
    assert len(list((tmp_path / "_manifest" / "a1").iterdir())) == 3


def test_local_writes_are_atomic_and_listing_is_sorted(tmp_path):
    storage.write_bytes(str(tmp_path / "b" / "x.txt"), b"1")
    storage.write_bytes(str(tmp_path / "a.txt"), b"22")
    infos = list(storage.list_objects(str(tmp_path)))
    assert [i.key for i in infos] == ["a.txt", "b/x.txt"] and infos[0].size == 2


def test_done_spans_every_run_of_the_same_schema_version_and_model(tmp_path):
    schema = load_schema("invoice")
    for run_id, model, uri in [("r1", "m", "/d/a.txt"), ("r2", "m", "/d/b.txt"), ("r3", "other-model", "/d/c.txt")]:
        writer = PartWriter(str(tmp_path / f"run_id={run_id}"), row_schema(schema.hardened), RunConstants(run_id, "invoice", schema.hash, model))
        writer.add(result(uri))
        writer.flush()
    assert done_in_output(str(tmp_path), schema.hash, "m") == {doc_digest("/d/a.txt", "e1"), doc_digest("/d/b.txt", "e1")}
    assert done_in_output(str(tmp_path), "another-schema-version", "m") == set()
