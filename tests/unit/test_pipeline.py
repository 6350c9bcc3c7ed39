"""How the driver cuts the manifest into Ray Data blocks."""

from __future__ import annotations

from fieldmill.output import write_manifest_chunks
from fieldmill.pipeline import expand_slice, slices


def test_slices_cover_every_pending_document_once_and_skip_done_ones(tmp_path):
    entries = [{"uri": f"/d/{i}.txt", "key": f"{i}.txt", "size": i, "etag": f"e{i}", "done": i % 3 == 0} for i in range(25)]
    chunks = write_manifest_chunks(str(tmp_path), "a1", iter(entries), chunk_size=10)
    assert [pending for _, pending in chunks] == [6, 7, 3]
    items = slices(chunks, 4)
    assert [(i["skip"], i["take"]) for i in items] == [(0, 4), (4, 4), (0, 4), (4, 4), (0, 4)]
    docs = [d["doc_key"] for item in items for d in expand_slice(item)]
    assert docs == [e["key"] for e in entries if not e["done"]]
    assert expand_slice(items[0])[0] == {"doc_uri": "/d/1.txt", "doc_key": "1.txt", "doc_etag": "e1", "doc_bytes": 1}
