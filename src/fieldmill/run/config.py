"""Settings for one `fieldmill run`, as a pydantic model whose fields document themselves."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from pydantic import BaseModel, Field, field_validator

from fieldmill.extract.settings import ExtractionSettings
from fieldmill.ocr import OcrSettings

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class RunConfig(BaseModel):
    input: str = Field(description="Local folder or s3://bucket/prefix/ of documents.", json_schema_extra={"flag": "INPUT"})
    schema_spec: str = Field(description="Schema: a built-in name, file.py:Class, package.module:Class or schema.json.", json_schema_extra={"flag": "--schema"})
    output: str = Field(description="Local folder or s3://bucket/prefix/ for the run folders.")
    extraction: ExtractionSettings = Field(default_factory=ExtractionSettings)
    workers: int = Field(1, ge=1, description="Extraction actors, one engine each.")
    batch_size: int = Field(16, ge=1, description="Documents per batch sent to an actor.")
    concurrent_batches: int = Field(4, ge=1, description="Batches (Ray Data blocks) an actor works on at once, so its engine never idles at a batch "
                                    "boundary: the engine sees batch size x this many requests.")
    run_id: str | None = Field(None, description="Run folder name; default derived from input, schema version and model.")
    limit: int | None = Field(None, ge=1, description="Process at most this many pending documents; the run stays partial (no _SUCCESS, not in the "
                              "current view) until the same command finishes it.")
    max_doc_bytes: int = Field(64 << 20, ge=1, description="Larger objects are not read: they fail as too_long.")
    chunk_tokens: int = Field(1500, ge=200, description="A document longer than this (in tokens, estimated) is read in overlapping windows "
                              "of this size whose records are merged into one (see extract/windows.py, extract/merge.py).")
    overlap_tokens: int = Field(150, ge=0, description="How much consecutive windows share, in whole paragraphs of up to this many tokens.")
    retrieval: str = Field("bm25", pattern="^(off|bm25)$", description="bm25: a document longer than one window is read in its first window "
                           "and in each field's best-ranked windows (BM25 over the windows, queried with the schema's words for the field), "
                           "a later window speaking only for the fields it was chosen for; off: every window is read, for every field. "
                           "The row's windows_read says which were read, for which fields.",
                           json_schema_extra={"env": "FIELDMILL_RETRIEVAL"})
    retrieval_windows: int = Field(1, ge=1, le=10, description="With --retrieval bm25: the best-ranked windows read per field.")
    max_doc_pages: int = Field(500, ge=1, description="Longer documents (PDF pages, else pages of 3,000 characters) fail as too_long.")
    decode_timeout_s: float | None = Field(None, gt=0, description="Longest decode of one document: PDFs and images in a child process of "
                                           "the reader (a decoder that crashes fails only its document), text, HTML and JSON under a timer; "
                                           "past it the document fails as too_long. Default: the OCR document limit plus a minute.")
    price_per_hour: float | None = Field(None, ge=0, description="Price of one worker-hour (a GPU, or a CPU machine): the summary, _SUCCESS and "
                                       "metrics then give the cost per 1,000 documents.", json_schema_extra={"env": "FIELDMILL_PRICE_PER_HOUR"})
    max_tries: int = Field(3, ge=1, le=20, description="A document that failed for a passing reason (read error, engine error, changed while read) "
                           "is tried again by the same command until it was tried this many times; then its failed row stays.")
    reprocess: bool = Field(False, description="Start a new run over INPUT even if its documents were done (resuming an unfinished reprocess run).")
    ray_address: str | None = Field(None, description="Existing Ray cluster to join (e.g. 'auto'); else a local one is started.",
                                    json_schema_extra={"env": "RAY_ADDRESS"})
    gpus_per_worker: float | None = Field(None, ge=0, description="GPUs each extraction actor requests; else 1 when the cluster has GPUs when the run "
                                          "starts, and 0 otherwise (set 1 for GPU workers that autoscale from zero).",
                                          json_schema_extra={"env": "FIELDMILL_GPUS_PER_WORKER"})
    part_rows: int = Field(256, ge=1, description="Rows per Parquet part. A crash redoes the rows not yet in a part and the documents in flight "
                           "(per worker, concurrent_batches blocks of block_docs documents).")
    part_seconds: float = Field(30.0, gt=0, description="A part is also written when this many seconds passed since the last one.")
    block_docs: int | None = Field(None, ge=1, description="Pending documents per manifest chunk, i.e. per Ray Data block; default batch_size x concurrent_batches. An actor returns a block's rows together.")
    manifest_chunk: int = Field(1000, ge=1, description="Most entries (done or pending) per manifest chunk.")
    ocr: OcrSettings = Field(default_factory=OcrSettings, description="How scans (images, PDF pages without a text layer) are read.",
                             json_schema_extra={"prefix": "ocr-"})

    @property
    def decode_limit_s(self) -> float:
        return self.decode_timeout_s if self.decode_timeout_s is not None else self.ocr.document_timeout_s + 60

    @field_validator("run_id")
    @classmethod
    def _safe_run_id(cls, value: str | None) -> str | None:
        if value is not None and not _RUN_ID.match(value):
            raise ValueError("run id: letters, digits, '.', '_' and '-' only, starting with a letter or digit")
        if value is not None and ".." in value:
            raise ValueError("run id must not contain '..'")
        return value


def default_run_id(input_root: str, schema_name: str, schema_hash: str, model_id: str) -> str:
    digest = hashlib.sha256(f"{input_root}\0{schema_hash}\0{model_id}".encode()).hexdigest()[:12]
    return f"{schema_name}-{digest}"


REPROCESS_MARK = "-r"
FOLLOW_UP_MARK = "-f"


def reprocess_run_id(base: str, existing: list[str], completed: set[str], now: dt.datetime, mark: str = REPROCESS_MARK) -> str:
    """The run id of a reprocess (or, with FOLLOW_UP_MARK, of a follow-up): the newest unfinished
    `<base><mark><stamp>` run if one exists (resume), else a new one."""
    mine = sorted(r for r in existing if r.startswith(base + mark) and r[len(base) + len(mark):].replace("T", "").isdigit())
    if mine and mine[-1] not in completed:
        return mine[-1]
    return f"{base}{mark}{now.strftime('%Y%m%dT%H%M%S')}"
