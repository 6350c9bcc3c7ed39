"""The row: one document's result as written to Parquet, and its Arrow schema.

Where rows go (run folders, parts, indexes, completion) is the run store's business
(`run/store.py`); this module only says what a row is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from fieldmill.extract.merge import Finished
from fieldmill.schema.arrow_types import arrow_type, to_arrow_value
from fieldmill.storage import printable

ERRORS_TYPE = pa.list_(pa.struct([pa.field("field", pa.string()), pa.field("message", pa.string())]))
EVIDENCE_TYPE = pa.list_(pa.struct([pa.field("field", pa.string()), pa.field("start", pa.int64()), pa.field("end", pa.int64()),
                                    pa.field("quote", pa.string()), pa.field("match", pa.string()), pa.field("page", pa.int32())]))
CONFIDENCE_TYPE = pa.map_(pa.string(), pa.float64())
# What the run knew about each value (fieldmill.extract.trust.ValueSignals): what its confidence was made from and what
# `fieldmill calibrate` refits from.
SIGNALS_TYPE = pa.list_(pa.struct([pa.field("field", pa.string()), pa.field("token_p", pa.float64()), pa.field("grounding", pa.string()),
                                   pa.field("broken_rule", pa.bool_()), pa.field("candidates", pa.bool_()), pa.field("labelled", pa.bool_()),
                                   pa.field("kind", pa.string()), pa.field("in_list", pa.bool_()), pa.field("shared", pa.bool_()),
                                   pa.field("headed", pa.bool_()), pa.field("confirmed", pa.bool_())]))
# A long document's windows that were read (extract/retrieval.py): document offsets, and the fields each was chosen for
# (none: read for every field, as the first window is and every window is with --retrieval off). Null: one window.
WINDOWS_READ_TYPE = pa.list_(pa.struct([pa.field("window", pa.int32()), pa.field("start", pa.int64()), pa.field("end", pa.int64()),
                                        pa.field("fields", pa.list_(pa.string()))]))


# The columns of a part's index (run/store.py): what the done-set and the current view read without the rows.
INDEX_COLUMNS = ("doc_uri", "doc_etag", "schema_hash", "model_id", "status", "reason", "tries", "attempts", "processed_at")


def index_schema() -> pa.Schema:
    """The index's columns, typed as the rows type them."""
    rows = row_schema({"type": "object", "properties": {}})
    return pa.schema([rows.field(name).with_nullable(True) for name in INDEX_COLUMNS])


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
            pa.field("signals", SIGNALS_TYPE),
            pa.field("doc_text_sha256", pa.string()),
            pa.field("text_source", pa.string()),
            pa.field("ocr_confidence", pa.float64()),
            pa.field("raw_output", pa.string()),
            pa.field("prompt_tokens", pa.int64()),
            pa.field("completion_tokens", pa.int64()),
            pa.field("latency_s", pa.float64()),
            pa.field("generation_s", pa.float64()),
            pa.field("cached_prompt_tokens", pa.int64()),
            pa.field("attempts", pa.int32()),
            pa.field("tries", pa.int32()),
            pa.field("chunks", pa.int32()),
            pa.field("windows", pa.int32()),
            pa.field("windows_read", WINDOWS_READ_TYPE),
            pa.field("doc_pages", pa.int32()),
            pa.field("processed_at", pa.timestamp("us", tz="UTC")),
        ]
    )


def build_row(finished: Finished, record_type: pa.DataType, constants) -> dict[str, Any]:
    """One finished document (its source, how it was read, its `Answer`) as a row of `row_schema`."""
    document, answer = finished.document, finished.answer
    source = document.source
    confidence = answer.confidence
    return {
        "doc_uri": printable(source.uri),
        "doc_key": printable(source.key),
        "doc_etag": source.etag,
        "doc_bytes": int(source.size),
        "run_id": constants.run_id,
        "schema_name": constants.schema_name,
        "schema_hash": constants.schema_hash,
        "model_id": constants.model_id,
        "status": answer.status,
        "reason": answer.reason or None,
        "error": answer.error or None,
        "errors": list(answer.errors),
        "record": to_arrow_value(answer.record, record_type),
        "evidence": list(answer.evidence),
        "ungrounded_fields": list(answer.ungrounded),
        "confidence": list(confidence.items()),
        "confidence_min": min(confidence.values()) if confidence else None,
        "signals": list(answer.signals),
        "doc_text_sha256": answer.text_sha256 or None,
        "text_source": document.text_source or None,
        "ocr_confidence": float(document.ocr_confidence) if document.ocr_confidence is not None else None,
        "raw_output": answer.raw_output or None,
        "prompt_tokens": int(answer.prompt_tokens),
        "completion_tokens": int(answer.completion_tokens),
        "latency_s": float(answer.latency_s),
        "generation_s": float(answer.generation_s),
        "cached_prompt_tokens": answer.cached_prompt_tokens,
        "attempts": int(answer.attempts),
        "tries": int(source.tries) + 1,
        "chunks": int(finished.chunks),
        "windows": int(document.windows),
        "windows_read": list(document.windows_read) or None,
        "doc_pages": int(document.page_count),
        "processed_at": dt.datetime.now(dt.timezone.utc),
    }


__all__ = ["row_schema", "build_row", "WINDOWS_READ_TYPE", "ERRORS_TYPE", "EVIDENCE_TYPE", "CONFIDENCE_TYPE", "SIGNALS_TYPE"]
