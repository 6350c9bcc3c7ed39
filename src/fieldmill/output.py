"""A run folder: Parquet parts, the resume index, and the `_SUCCESS` manifest.

Layout of `OUTPUT/run_id=<id>/`:

* `part-<attempt>-<n>.parquet`: result rows, each file written whole (temp name and
  rename locally, one PUT on S3), so a crash leaves only whole parts;
* `_manifest/<attempt>/chunk-<n>.jsonl`: what the listing found, per attempt;
* `_SUCCESS`: JSON written last, once every listed document has its row.

Names starting with `_` or `.` are skipped by `pyarrow.dataset`, so the folder
reads as just its rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import pickle
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from fieldmill import storage
from fieldmill.arrow_types import arrow_type, to_arrow_value

SUCCESS = "_SUCCESS"
PART_ROWS = 256
PART_SECONDS = 30.0

ERRORS_TYPE = pa.list_(pa.struct([pa.field("field", pa.string()), pa.field("message", pa.string())]))
EVIDENCE_TYPE = pa.list_(pa.struct([pa.field("field", pa.string()), pa.field("start", pa.int64()), pa.field("end", pa.int64()),
                                    pa.field("quote", pa.string()), pa.field("match", pa.string()), pa.field("page", pa.int32())]))
CONFIDENCE_TYPE = pa.map_(pa.string(), pa.float64())


RUN_PREFIX = "run_id="


def run_folder(output: str, run_id: str) -> str:
    return storage.join(output, f"{RUN_PREFIX}{run_id}")


def run_ids(output: str) -> list[str]:
    """Ids of the run folders under OUTPUT."""
    return [name[len(RUN_PREFIX):] for name in storage.list_folders(output) if name.startswith(RUN_PREFIX)]


def row_schema(hardened: dict[str, Any]) -> pa.Schema:
    return pa.schema(
        [
            pa.field("doc_uri", pa.string(), nullable=False),
            pa.field("doc_key", pa.string()),
            pa.field("doc_etag", pa.string()),
            pa.field("doc_bytes", pa.int64()),
            pa.field("run_id", pa.string()),
            pa.field("schema_name", pa.string()),
            pa.field("schema_hash", pa.string()),
            pa.field("model_id", pa.string()),
            pa.field("status", pa.string()),
            pa.field("reason", pa.string()),
            pa.field("error", pa.string()),
            pa.field("errors", ERRORS_TYPE),
            pa.field("record", arrow_type(hardened)),
            pa.field("evidence", EVIDENCE_TYPE),
            pa.field("ungrounded_fields", pa.list_(pa.string())),
            pa.field("confidence", CONFIDENCE_TYPE),
            pa.field("confidence_min", pa.float64()),
            pa.field("doc_text_sha256", pa.string()),
            pa.field("raw_output", pa.string()),
            pa.field("prompt_tokens", pa.int64()),
            pa.field("completion_tokens", pa.int64()),
            pa.field("latency_s", pa.float64()),
            pa.field("generation_s", pa.float64()),
            pa.field("cached_prompt_tokens", pa.int64()),
            pa.field("attempts", pa.int32()),
            pa.field("processed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def doc_digest(uri: str, etag: str) -> bytes:
    return hashlib.blake2b(f"{uri}\0{etag}".encode(), digest_size=16).digest()


def part_names(folder: str) -> list[str]:
    return [n for n in storage.list_names(folder) if n.startswith("part-") and n.endswith(".parquet")]


def read_part(folder: str, name: str, columns: list[str] | None = None) -> pa.Table:
    """A part's rows; of `columns`, those the part has (parts written by an older fieldmill lack newer columns)."""
    data = io.BytesIO(storage.read_bytes(storage.join(folder, name)))
    if columns is not None:
        present = set(pq.read_schema(data).names)
        columns = [c for c in columns if c in present]
        data.seek(0)
    return pq.read_table(data, columns=columns)


def iter_rows(folder: str, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a run folder, one part in memory at a time."""
    for name in part_names(folder):
        yield from read_part(folder, name, columns).to_pylist()


def done_digests(folder: str, schema_hash: str | None = None, model_id: str | None = None) -> set[bytes]:
    """(uri, etag) digests of the rows in a run folder; only rows of this schema version and model when given."""
    done: set[bytes] = set()
    for name in part_names(folder):
        table = read_part(folder, name, ["doc_uri", "doc_etag", "schema_hash", "model_id"])
        for uri, etag, schema, model in zip(*(table.column(c).to_pylist() for c in table.column_names)):
            if schema_hash in (None, schema) and model_id in (None, model):
                done.add(doc_digest(uri, etag))
    return done


def done_in_output(output: str, schema_hash: str, model_id: str) -> set[bytes]:
    """(uri, etag) digests of documents any run under OUTPUT holds for this schema version and model."""
    return set().union(*(done_digests(run_folder(output, run_id), schema_hash, model_id) for run_id in run_ids(output)))


@dataclass
class RunConstants:
    run_id: str
    schema_name: str
    schema_hash: str
    model_id: str


@dataclass
class PartWriter:
    """Buffers result rows and writes them as whole Parquet parts."""

    folder: str
    schema: pa.Schema
    constants: RunConstants
    part_rows: int = PART_ROWS
    part_seconds: float = PART_SECONDS
    attempt: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6])
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)
    rows_written: int = 0
    write_s: float = 0.0

    def __post_init__(self):
        self._rows: list[dict[str, Any]] = []
        self._parts = 0
        self._last_flush = time.monotonic()
        self._record_type = self.schema.field("record").type

    def add(self, result: dict[str, Any]) -> dict[str, Any]:
        """Add one extractor result; returns the row as written (for metrics)."""
        record = pickle.loads(result["record_pickle"]) if result.get("record_pickle") else None
        confidence = json.loads(result["confidence_json"]) if result.get("confidence_json") else {}
        row = {
            "doc_uri": result["doc_uri"],
            "doc_key": result["doc_key"],
            "doc_etag": result["doc_etag"],
            "doc_bytes": int(result["doc_bytes"]),
            "run_id": self.constants.run_id,
            "schema_name": self.constants.schema_name,
            "schema_hash": self.constants.schema_hash,
            "model_id": self.constants.model_id,
            "status": result["status"],
            "reason": result.get("reason") or None,
            "error": result.get("error") or None,
            "errors": json.loads(result["errors_json"]) if result.get("errors_json") else [],
            "record": to_arrow_value(record, self._record_type),
            "evidence": json.loads(result["evidence_json"]) if result.get("evidence_json") else [],
            "ungrounded_fields": json.loads(result["ungrounded_json"]) if result.get("ungrounded_json") else [],
            "confidence": list(confidence.items()),
            "confidence_min": min(confidence.values()) if confidence else None,
            "doc_text_sha256": result.get("text_sha256") or None,
            "raw_output": result.get("raw_output") or None,
            "prompt_tokens": int(result.get("prompt_tokens") or 0),
            "completion_tokens": int(result.get("completion_tokens") or 0),
            "latency_s": float(result.get("latency_s") or 0.0),
            "generation_s": float(result.get("generation_s") or 0.0),
            "cached_prompt_tokens": result.get("cached_prompt_tokens"),
            "attempts": int(result.get("attempts") or 0),
            "processed_at": dt.datetime.now(dt.timezone.utc),
        }
        self._rows.append(row)
        self.counts[row["status"]] += 1
        if row["reason"]:
            self.reasons[row["reason"]] += 1
        if len(self._rows) >= self.part_rows or time.monotonic() - self._last_flush >= self.part_seconds:
            self.flush()
        return {**row, "record_value": record}

    def flush(self) -> None:
        self._last_flush = started = time.monotonic()
        if not self._rows:
            return
        table = pa.Table.from_pylist(self._rows, schema=self.schema)
        sink = io.BytesIO()
        pq.write_table(table, sink, compression="zstd")
        name = f"part-{self.attempt}-{self._parts:05d}.parquet"
        storage.write_bytes(storage.join(self.folder, name), sink.getvalue())
        self._parts += 1
        self.rows_written += len(self._rows)
        self._rows = []
        self.write_s += time.monotonic() - started


def write_manifest_chunks(folder: str, attempt: str, entries: Iterable[dict[str, Any]], chunk_size: int,
                          pending_size: int | None = None) -> list[tuple[str, int]]:
    """Write the listing as JSONL chunks of at most `chunk_size` entries and `pending_size` pending ones;
    returns (chunk uri, pending count) per chunk with pending work."""
    chunks: list[tuple[str, int]] = []
    buffer: list[str] = []
    pending = 0
    index = 0

    def flush():
        nonlocal buffer, pending, index
        if buffer:
            uri = storage.join(folder, "_manifest", attempt, f"chunk-{index:05d}.jsonl")
            storage.write_bytes(uri, ("\n".join(buffer) + "\n").encode())
            if pending:
                chunks.append((uri, pending))
            index += 1
        buffer, pending = [], 0

    for entry in entries:
        buffer.append(json.dumps(entry, ensure_ascii=False))
        pending += not entry["done"]
        if len(buffer) >= chunk_size or (pending_size is not None and pending >= pending_size):
            flush()
    flush()
    return chunks


def summarise_run(folder: str) -> dict[str, Any]:
    """Counts over every part in the run folder."""
    counts: Counter = Counter()
    reasons: Counter = Counter()
    files = []
    rows = retried = recovered = 0
    for name in part_names(folder):
        table = read_part(folder, name, ["status", "reason", "attempts"])
        files.append({"name": name, "rows": table.num_rows})
        rows += table.num_rows
        statuses = table.column("status").to_pylist()
        counts.update(statuses)
        reasons.update(r for r in table.column("reason").to_pylist() if r)
        for status, attempts in zip(statuses, table.column("attempts").to_pylist()):
            if (attempts or 0) > 1:
                retried += 1
                recovered += status == "compliant"
    return {"files": files, "rows": rows, "counts": dict(counts), "failure_reasons": dict(reasons),
            "retried": retried, "recovered_by_retry": recovered}


def write_success(folder: str, manifest: dict[str, Any]) -> None:
    storage.write_bytes(storage.join(folder, SUCCESS), json.dumps(manifest, indent=2, sort_keys=True).encode())


def read_success(folder: str) -> dict[str, Any] | None:
    uri = storage.join(folder, SUCCESS)
    if not storage.exists(uri):
        return None
    return json.loads(storage.read_bytes(uri))
