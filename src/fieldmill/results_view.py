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

import io
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from fieldmill import storage
from fieldmill.output import doc_digest, part_names, read_part, read_success, run_folder, run_ids


@dataclass
class View:
    runs: list[tuple[str, int]] = field(default_factory=list)  # (run id, rows it contributes), newest first
    skipped_runs: list[str] = field(default_factory=list)  # unfinished
    counts: Counter = field(default_factory=Counter)
    rows: int = 0
    parts: list[str] = field(default_factory=list)


def completed_runs(output: str) -> tuple[list[str], list[str]]:
    """Ids of the completed runs, newest first, and of the unfinished ones."""
    ended, unfinished = [], []
    for run_id in run_ids(output):
        manifest = read_success(run_folder(output, run_id))
        if manifest is None:
            unfinished.append(run_id)
        else:
            ended.append((str(manifest.get("ended_at", "")), run_id))
    return [run_id for _, run_id in sorted(ended, reverse=True)], unfinished


def current_rows(folders: list[str], columns: list[str] | None = None) -> Iterator[tuple[str, pa.Table]]:
    """(run folder, the rows of one of its parts that are current), `folders` taken newest first."""
    seen: set[bytes] = set()
    for folder in folders:
        for name in sorted(part_names(folder), reverse=True):
            table = read_part(folder, name, None if columns is None else sorted({"doc_uri", *columns}))
            table = table.take(pa.array(range(table.num_rows - 1, -1, -1), pa.int64()))  # newest row first
            keep = []
            for uri in table.column("doc_uri").to_pylist():
                digest = doc_digest(uri, "")
                keep.append(digest not in seen)
                seen.add(digest)
            chosen = table.filter(pa.array(keep, pa.bool_()))
            if chosen.num_rows:
                yield folder, chosen


def current_view(output: str, to: str | None = None) -> View:
    """Select the current row of every document; write them as Parquet parts under `to` when given."""
    output = storage.normalise_root(output)
    runs, unfinished = completed_runs(output)
    view = View(skipped_runs=unfinished)
    contributed: Counter = Counter()
    folders = {run_folder(output, run_id): run_id for run_id in runs}
    for folder, chosen in current_rows(list(folders)):
        contributed[folders[folder]] += chosen.num_rows
        view.rows += chosen.num_rows
        view.counts.update(chosen.column("status").to_pylist())
        if to:
            part = storage.join(to, f"part-{len(view.parts):05d}.parquet")
            sink = io.BytesIO()
            pq.write_table(chosen, sink, compression="zstd")
            storage.write_bytes(part, sink.getvalue())
            view.parts.append(part)
    view.runs = [(run_id, contributed[run_id]) for run_id in runs]
    return view
