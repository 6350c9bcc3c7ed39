"""The current view of an OUTPUT folder: one row per document across its runs.

Runs stay immutable (each row says which run, schema version and model produced it);
the view picks, for every document URI, the row of the newest *completed* run (ordered
by its `_SUCCESS` end time), and within a run the newest row (a document whose ETag
changed was processed again). Unfinished runs are left out until they complete.

The view is streamed: runs newest first, parts newest first, rows newest first; a row
is kept when its document has not been seen. Memory is one part plus 16 bytes per
document.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from fieldmill import storage
from fieldmill.output import part_names, read_part, read_success


@dataclass
class View:
    runs: list[tuple[str, int]] = field(default_factory=list)  # (run id, rows it contributes), newest first
    skipped_runs: list[str] = field(default_factory=list)  # unfinished
    counts: Counter = field(default_factory=Counter)
    rows: int = 0
    parts: list[str] = field(default_factory=list)


def completed_runs(output: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(ended_at, run folder) of completed runs, newest first; and the unfinished run folders."""
    done, unfinished = [], []
    for name in storage.list_folders(output):
        if not name.startswith("run_id="):
            continue
        folder = storage.join(output, name)
        manifest = read_success(folder)
        if manifest is None:
            unfinished.append(folder)
        else:
            done.append((str(manifest.get("ended_at", "")), folder))
    return sorted(done, reverse=True), unfinished


def current_view(output: str, to: str | None = None) -> View:
    """Select the current row of every document; write them as Parquet parts under `to` when given."""
    output = storage.normalise_root(output)
    runs, unfinished = completed_runs(output)
    view = View(skipped_runs=[f.rsplit("run_id=", 1)[-1] for f in unfinished])
    seen: set[bytes] = set()
    for _, folder in runs:
        contributed = 0
        for name in sorted(part_names(folder), reverse=True):
            table = read_part(folder, name)
            table = table.take(pa.array(range(table.num_rows - 1, -1, -1), pa.int64()))  # newest row first
            keep = []
            for uri in table.column("doc_uri").to_pylist():
                digest = hashlib.blake2b(uri.encode(), digest_size=16).digest()
                keep.append(digest not in seen)
                seen.add(digest)
            chosen = table.filter(pa.array(keep, pa.bool_()))
            if not chosen.num_rows:
                continue
            contributed += chosen.num_rows
            view.rows += chosen.num_rows
            view.counts.update(chosen.column("status").to_pylist())
            if to:
                part = storage.join(to, f"part-{len(view.parts):05d}.parquet")
                sink = io.BytesIO()
                pq.write_table(chosen, sink, compression="zstd")
                storage.write_bytes(part, sink.getvalue())
                view.parts.append(part)
        view.runs.append((folder.rsplit("run_id=", 1)[-1], contributed))
    return view
