"""`fieldmill results`: one current row per document across immutable runs; `--reprocess` run ids."""

import datetime as dt

import pyarrow.dataset as ds

from fieldmill.cli import main
from fieldmill.config import reprocess_run_id
from fieldmill.output import PartWriter, RunConstants, row_schema, write_success
from fieldmill.results_view import current_view
from fieldmill.schemas import load_schema

SCHEMA = load_schema("invoice")


def write_run(output, run_id, rows, ended_at=None, model="m1"):
    """rows: (uri, etag, status) in processing order, each written as its own part (as long runs do)."""
    folder = str(output / f"run_id={run_id}")
    writer = PartWriter(folder, row_schema(SCHEMA.hardened), RunConstants(run_id, "invoice", SCHEMA.hash, model), attempt="20260101T000000-aaaaaa")
    for uri, etag, status in rows:
        writer.add({"doc_uri": uri, "doc_key": uri, "doc_etag": etag, "doc_bytes": 1, "status": status, "reason": "empty" if status == "failed" else ""})
        writer.flush()
    if ended_at:
        write_success(folder, {"ended_at": ended_at})


def test_newest_completed_run_wins_and_unfinished_runs_wait(tmp_path):
    out = tmp_path / "out"
    write_run(out, "monthly", [("/in/a", "1", "compliant"), ("/in/b", "1", "failed"), ("/in/c", "1", "noncompliant"), ("/in/b", "2", "compliant")],
              ended_at="2026-11-01T00:00:00Z")
    write_run(out, "monthly-r20261110T000000", [("/in/c", "1", "compliant")], ended_at="2026-11-10T00:00:00Z", model="m2")
    write_run(out, "monthly-r20261120T000000", [("/in/a", "1", "failed")])  # killed: no _SUCCESS
    view = current_view(str(out), str(tmp_path / "view"))
    assert view.rows == 3 and view.skipped_runs == ["monthly-r20261120T000000"]
    rows = {r["doc_uri"]: r for r in ds.dataset(str(tmp_path / "view"), format="parquet").to_table().to_pylist()}
    assert sorted(rows) == ["/in/a", "/in/b", "/in/c"]
    assert (rows["/in/a"]["run_id"], rows["/in/a"]["status"]) == ("monthly", "compliant")
    assert (rows["/in/b"]["doc_etag"], rows["/in/b"]["status"]) == ("2", "compliant")  # changed document: its newer row
    assert (rows["/in/c"]["run_id"], rows["/in/c"]["model_id"]) == ("monthly-r20261110T000000", "m2")  # reprocessed answer wins
    assert view.runs == [("monthly-r20261110T000000", 1), ("monthly", 2)]


def test_cli_prints_the_view(tmp_path, capsys):
    write_run(tmp_path / "out", "r1", [("/in/a", "1", "compliant")], ended_at="2026-11-01T00:00:00Z")
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
