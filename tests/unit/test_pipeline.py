"""How the driver cuts the manifest into Ray Data blocks."""

from __future__ import annotations

from fieldmill.store import Run
from fieldmill.pipeline import expand_chunk


def test_chunks_hold_a_blocks_worth_of_pending_documents_and_cover_each_once(tmp_path):
    entries = [{"uri": f"/d/{i}.txt", "key": f"{i}.txt", "size": i, "etag": f"e{i}", "done": i % 3 == 0} for i in range(25)]
    chunks = Run(str(tmp_path), 'r').write_manifest_chunks("a1", iter(entries), chunk_size=10, pending_size=4)
    assert [pending for _, pending in chunks] == [4, 4, 4, 4]
    docs = [d["doc_key"] for uri, _ in chunks for d in expand_chunk({"chunk": uri})]
    assert docs == [e["key"] for e in entries if not e["done"]]
    assert expand_chunk({"chunk": chunks[0][0]})[0] == {"doc_uri": "/d/1.txt", "doc_key": "1.txt", "doc_etag": "e1", "doc_bytes": 1, "doc_tries": 0,
                                                          "doc_raw_uri": b""}


def test_mostly_done_listings_still_cut_chunks_by_size(tmp_path):
    entries = [{"uri": f"/d/{i}", "key": str(i), "size": 1, "etag": "e", "done": i != 24} for i in range(25)]
    chunks = Run(str(tmp_path), 'r').write_manifest_chunks("a1", iter(entries), chunk_size=10, pending_size=4)
    assert chunks == [(str(tmp_path / "_manifest" / "a1" / "chunk-00002.jsonl"), 1)]
    assert len(list((tmp_path / "_manifest" / "a1").iterdir())) == 3
