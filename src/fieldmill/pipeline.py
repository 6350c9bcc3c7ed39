"""The run: list -> manifest -> Ray Data (read+decode tasks -> extractor actors) -> parts.

The driver lists the input once, writes the manifest into the run folder, and hands
Ray Data one row per manifest chunk; tasks expand chunks into documents and decode
them, actors extract, and the driver streams results into Parquet parts. The driver
holds one chunk of listing and one part of results at a time, never the corpus.

A chunk is one Ray Data block, and an actor hands back a block's rows when the block is
done: chunks of `batch_size x concurrent_batches` pending documents keep the actor busy
while results reach the driver (and its parts) steadily, so a crash loses little.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fieldmill import __version__, documents, storage
from fieldmill.config import RunConfig, default_run_id, reprocess_run_id
from fieldmill.extract import Extractor
from fieldmill.metrics import METRIC_COLUMNS, RunMetrics
from fieldmill.models import ModelRef
from fieldmill.output import (
    SUCCESS,
    PartWriter,
    RunConstants,
    doc_digest,
    iter_rows,
    done_digests,
    done_in_output,
    read_success,
    row_schema,
    run_folder,
    run_ids,
    summarise_run,
    write_manifest_chunks,
    write_success,
)
from fieldmill.schemas import LoadedSchema, load_schema

log = logging.getLogger("fieldmill")

# Environment that worker processes need to reach the same stores and stay offline.
# Credentials are never forwarded: workers use the standard AWS chain themselves.
_FORWARDED_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_MAX_ATTEMPTS",
                  "FIELDMILL_S3_CONNECT_TIMEOUT", "FIELDMILL_S3_READ_TIMEOUT", "FIELDMILL_CACHE", "XDG_CACHE_HOME")
_WORKER_ENV = {"VLLM_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_REGEX_COMPILATION_TIMEOUT_S": "1800", "TOKENIZERS_PARALLELISM": "false"}


@dataclass
class RunResult:
    run_id: str
    folder: str
    listed: int
    processed: int
    skipped: int
    wall_s: float
    manifest: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def docs_per_second(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0


def expand_chunk(row: dict[str, Any]) -> list[dict[str, Any]]:
    """A manifest chunk -> its pending documents (Ray Data flat_map)."""
    lines = storage.read_bytes(row["chunk"]).decode().splitlines()
    return [
        {"doc_uri": entry["uri"], "doc_key": entry["key"], "doc_etag": entry["etag"], "doc_bytes": entry["size"]}
        for entry in map(json.loads, lines)
        if not entry["done"]
    ]


def read_and_decode(batch: dict[str, Any], max_doc_bytes: int) -> dict[str, list]:
    """Read and decode documents (Ray Data task); failures become reasons, never exceptions."""
    out: dict[str, list] = {key: list(values) for key, values in batch.items()}
    out["text"], out["pages_json"], out["read_reason"], out["read_message"], out["read_s"] = [], [], [], [], []
    for uri, key, size in zip(batch["doc_uri"], batch["doc_key"], batch["doc_bytes"]):
        started = time.perf_counter()
        decoded = documents.read_document(str(uri), str(key), int(size), max_doc_bytes)
        out["read_s"].append(time.perf_counter() - started)
        out["text"].append(decoded.text or "")
        out["pages_json"].append(json.dumps(decoded.pages) if decoded.pages else "")
        out["read_reason"].append(decoded.reason or "")
        out["read_message"].append(decoded.message or "")
    return out


def plan_run(config: RunConfig) -> tuple[LoadedSchema, str, str, str]:
    """Schema, model id, run id and run folder: everything decided before any work."""
    schema = load_schema(config.schema_spec)
    model_id = ModelRef(config.engine.model, config.engine.lora).model_id()
    if config.engine.kind != "vllm":  # another runtime's answers are not the default engine's
        model_id += f"@{config.engine.kind}"
    input_root = storage.normalise_root(config.input)
    output = storage.normalise_root(config.output)
    run_id = config.run_id or default_run_id(input_root, schema.name, schema.hash, model_id)
    if config.reprocess and not config.run_id:
        runs = run_ids(output)
        completed = {r for r in runs if storage.exists(storage.join(run_folder(output, r), SUCCESS))}
        run_id = reprocess_run_id(run_id, runs, completed, dt.datetime.now(dt.timezone.utc))
    return schema, model_id, run_id, run_folder(output, run_id)


def _listing(config: RunConfig, done: set[bytes], counters: dict[str, int]):
    for info in storage.list_objects(storage.normalise_root(config.input)):
        is_done = doc_digest(info.uri, info.etag) in done
        if not is_done and config.limit is not None and counters["pending"] >= config.limit:
            continue
        counters["listed"] += 1
        counters["pending"] += not is_done
        yield {"uri": info.uri, "key": info.key, "size": info.size, "etag": info.etag, "done": is_done}


def init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    env = {k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}
    # No address means a cluster of our own ("local"), even if `ray start` left one running here.
    options: dict[str, Any] = {"include_dashboard": False} if not address else {}  # a cluster keeps its own dashboard
    ray.init(
        address=address or "local",
        runtime_env={"env_vars": {**_WORKER_ENV, **env}},
        logging_level=logging.WARNING,
        log_to_driver=True,
        **options,
    )


def run(config: RunConfig, on_row: Callable[[dict[str, Any]], None] | None = None, metrics: RunMetrics | None = None) -> RunResult:
    started = time.time()
    reset_peak_rss()
    schema, model_id, run_id, folder = plan_run(config)
    if metrics is not None:
        metrics.start(schema.name, model_id)
        # A resumed run's metrics describe the whole run, the rows of its earlier attempts included.
        for row in iter_rows(folder, METRIC_COLUMNS):
            metrics.observe({**row, "record_value": row.pop("record")}, count_done=False)
    constants = RunConstants(run_id, schema.name, schema.hash, model_id)
    # A reprocess redoes everything its own (unfinished) run does not hold yet; a normal run
    # skips what any run in OUTPUT holds for this schema version and model.
    done = done_digests(folder) if config.reprocess else done_in_output(storage.normalise_root(config.output), schema.hash, model_id)
    counters = {"listed": 0, "pending": 0}
    writer = PartWriter(folder, row_schema(schema.hardened), constants, part_rows=config.part_rows, part_seconds=config.part_seconds)
    chunks = write_manifest_chunks(folder, writer.attempt, _listing(config, done, counters), config.manifest_chunk,
                                   config.block_docs or config.batch_size * config.concurrent_batches)
    timings = {"list_s": time.time() - started, "read_s": 0.0, "engine_load_s": 0.0, "extract_wall_s": 0.0}
    log.info("run %s: %d listed, %d pending", run_id, counters["listed"], counters["pending"])
    if metrics is not None:
        metrics.plan(counters["listed"], counters["listed"] - counters["pending"])

    if chunks:
        extract_started = time.time()
        for row in _results(config, schema, chunks):
            timings["read_s"] += row.pop("read_s", 0.0)
            timings["engine_load_s"] = max(timings["engine_load_s"], row.pop("engine_load_s", 0.0))
            written = writer.add(row)
            if metrics is not None:
                metrics.observe(written)
            if on_row is not None:
                on_row(written)
        writer.flush()
        timings["extract_wall_s"] = time.time() - extract_started
    timings["write_s"] = writer.write_s

    summary = summarise_run(folder)
    ended = time.time()
    previous = read_success(folder) or {}
    manifest = {
        "run_id": run_id,
        "input": storage.normalise_root(config.input),
        "schema_name": schema.name,
        "schema_spec": config.schema_spec,
        "schema_hash": schema.hash,
        "model_id": model_id,
        "backend": config.engine.backend,
        "fieldmill_version": __version__,
        "started_at": previous.get("started_at") or _iso(started),
        "ended_at": _iso(ended),
        "listed": counters["listed"],
        "driver_peak_rss_bytes": peak_rss_bytes(),
        **summary,
    }
    write_success(folder, manifest)
    return RunResult(run_id, folder, counters["listed"], writer.rows_written, counters["listed"] - counters["pending"], ended - started, manifest, timings)


def _results(config: RunConfig, schema: LoadedSchema, chunks: list[tuple[str, int]]):
    import ray

    init_ray(config.ray_address)
    resources = ray.cluster_resources()
    gpus = config.gpus_per_worker if config.gpus_per_worker is not None else (1 if resources.get("GPU", 0) >= 1 else 0)
    log.info("ray cluster: %g CPUs, %g GPUs; %d extraction worker(s) with %g GPU each", resources.get("CPU", 0), resources.get("GPU", 0), config.workers, gpus)
    ds = ray.data.from_items([{"chunk": uri} for uri, _ in chunks], override_num_blocks=len(chunks))
    ds = ds.flat_map(expand_chunk)
    ds = ds.map_batches(read_and_decode, fn_kwargs={"max_doc_bytes": config.max_doc_bytes}, batch_size=8, batch_format="default")
    ds = ds.map_batches(
        Extractor,
        fn_constructor_kwargs={
            "schema_spec": _portable_spec(config.schema_spec),
            "engine_config": config.engine.model_dump(),
            "max_doc_tokens": config.max_doc_tokens,
            "retries": config.retries,
            "retry_temperature": config.retry_temperature,
            "grounding": config.grounding,
        },
        batch_size=config.batch_size,
        batch_format="default",
        compute=ray.data.ActorPoolStrategy(size=config.workers, max_tasks_in_flight_per_actor=config.concurrent_batches),
        max_concurrency=config.concurrent_batches,
        num_cpus=0 if gpus else 1,
        num_gpus=gpus,
    )
    yield from ds.iter_rows()


def _portable_spec(spec: str) -> str:
    """The schema spec with a file path made absolute, so workers find the same file."""
    path, sep, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    if path.endswith((".py", ".json")) and os.path.exists(path):
        return os.path.abspath(path) + sep + attr
    return spec


def reset_peak_rss() -> None:
    """Start the driver's peak-memory count now (Linux). The kernel's count survives fork and exec, so
    without this a driver started by a large parent (a test runner, a notebook) reports the parent's peak."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def peak_rss_bytes() -> int:
    """The driver's own peak resident memory since `reset_peak_rss` (Linux: VmHWM), else since it started."""
    import resource
    import sys

    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _iso(timestamp: float) -> str:
    return dt.datetime.fromtimestamp(timestamp, dt.timezone.utc).isoformat(timespec="seconds")
