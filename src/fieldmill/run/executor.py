"""The run: plan the listing against the store, read and extract in Ray Data, sink rows into the store, complete.

    plan       the schema, the model's id, the run (`store.RunStore`), a lease on it, and the listing
               against the store's done-set: every document is done or pending
    stages     Ray Data: manifest chunks -> pending documents -> read + decode (tasks) -> extract (actors)
    sink       rows into whole Parquet parts with their indexes, metrics, a progress line
    complete   `_SUCCESS`, once, when every listed document has its row (a `--limit`ed run stays partial)

The driver holds one chunk of listing and one part of results at a time, never the
corpus. A chunk is one Ray Data block, and an actor hands back a block's rows when the
block is done: chunks of `batch_size x concurrent_batches` pending documents keep the
actor busy while results reach the driver (and its parts) steadily, so a crash loses
little.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from fieldmill import __version__, storage
from fieldmill.run.config import FOLLOW_UP_MARK, RunConfig, default_run_id, reprocess_run_id
from fieldmill.run.cost import price_per_hour, run_cost
from fieldmill.document import DOCUMENT, Document, Source
from fieldmill.documents import decode_batch
from fieldmill.extract.actor import Extractor
from fieldmill.extract.merge import WindowAssembler
from fieldmill.run.metrics import METRIC_COLUMNS, RunMetrics
from fieldmill.model.source import ModelRef
from fieldmill.run.rows import row_schema
from fieldmill.run.progress import Progress
from fieldmill.schema.load import LoadedSchema, load_schema, shipped_source
from fieldmill.run.store import History, Lease, PartWriter, Run, RunConstants, RunStore, doc_digest
from fieldmill.extract.retrieval import RETRIEVAL_BM25, field_queries, list_fields
from fieldmill.extract.steps import failed_document
from fieldmill.extract.windows import window_rows
from fieldmill.run.local_ray import local_node_options

log = logging.getLogger("fieldmill")

# What worker processes need to find the same model cache and stay offline. They reach S3 through the run's
# `storage.Filesystem`, handed to each task: its own settings when it has them, else the worker's environment, which
# holds the driver's `storage.S3Settings` (credentials never travel so: workers use the standard AWS chain themselves).
_FORWARDED_ENV = ("FIELDMILL_CACHE", "XDG_CACHE_HOME")
_WORKER_ENV = {"VLLM_LOGGING_LEVEL": "WARNING", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "VLLM_REGEX_COMPILATION_TIMEOUT_S": "1800", "TOKENIZERS_PARALLELISM": "false"}
# An extraction actor stops its engine on its way out (extract/actor.py). By default Ray kills a worker's child
# processes before that, vLLM's engine core among them, and the engine's orphaned worker process then found
# multiprocessing's resource tracker dead and printed tracebacks at the end of a run. Ray still kills whatever is
# left of the actor's process group once it has exited. (Only the actors: other workers' trackers die silently.)
_EXTRACTOR_ENV = {"RAY_kill_child_processes_on_worker_exit": "0"}


# Starts of the local Ray node before a run gives up (see `is_slow_node_start`).
RAY_START_ATTEMPTS = 3


class WorkerDied(RuntimeError):
    """An extraction actor died after the run had produced rows (not a model that cannot load)."""


def _is_actor_death(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(marker in text for marker in ("ActorDiedError", "RayActorError", "ActorUnavailableError", "WorkerCrashedError"))


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
    left: int = 0  # pending documents a --limit left for the next run: the run is partial until they are done

    @property
    def docs_per_second(self) -> float:
        return self.processed / self.wall_s if self.wall_s > 0 else 0.0


def expand_chunk(row: dict[str, Any], fs: storage.Filesystem = storage.PROCESS) -> list[dict[str, Any]]:
    """A manifest chunk -> its pending documents (Ray Data flat_map)."""
    lines = fs.read_bytes(row["chunk"]).decode().splitlines()
    return [
        {DOCUMENT: Document(Source(storage.printable(entry["uri"]), storage.printable(entry["key"]), entry["etag"], entry["size"],
                                   entry.get("tries", 0), raw_uri(entry["uri"]))).to_bytes()}
        for entry in map(json.loads, lines)
        if not entry["done"]
    ]


def raw_uri(uri: str) -> bytes:
    """A local file name that is not UTF-8 travels as its bytes (rows carry its printable form); b"" for every other."""
    return b"" if storage.printable(uri) == uri else uri.encode("utf-8", "surrogateescape")


def plan_run(config: RunConfig, fs: storage.Filesystem = storage.PROCESS) -> tuple[LoadedSchema, str, RunStore, Run]:
    """Schema, model id, store and run: everything decided before any work (INPUT and OUTPUT reached through `fs`)."""
    schema = load_schema(config.schema_spec)
    model_id = ModelRef(config.extraction.engine.model, config.extraction.engine.lora).model_id()
    if config.extraction.engine.kind != "vllm":  # another runtime's answers are not the default engine's
        model_id += f"@{config.extraction.engine.kind}"
    store = RunStore(config.output, fs)
    run_id = config.run_id or default_run_id(storage.normalise_root(config.input), schema.name, schema.hash, model_id)
    if config.reprocess and not config.run_id:
        runs = store.runs()
        run_id = reprocess_run_id(run_id, [r.run_id for r in runs], {r.run_id for r in runs if r.completed}, dt.datetime.now(dt.timezone.utc))
    elif not config.run_id and store.run(run_id).completed:
        # A completed run never changes (its _SUCCESS counts and one row per document hold): new documents, and
        # passing failures tried again, go to a follow-up run of the same command, which the view adds when it
        # completes; an unfinished follow-up is resumed even when its rows are all written (killed before _SUCCESS).
        runs = store.runs()
        follow_up = reprocess_run_id(run_id, [r.run_id for r in runs], {r.run_id for r in runs if r.completed}, dt.datetime.now(dt.timezone.utc),
                                     FOLLOW_UP_MARK)
        if follow_up in {r.run_id for r in runs} or _has_pending(config, store, schema, model_id):
            run_id = follow_up
    return schema, model_id, store, store.run(run_id)


def _has_pending(config: RunConfig, store: RunStore, schema: LoadedSchema, model_id: str) -> bool:
    """Whether INPUT holds a document the done-set lacks (one listing, stopped at the first)."""
    history = store.history(schema.hash, model_id, max_tries=config.max_tries)
    return any(doc_digest(info.uri, info.etag) not in history.done for info in store.fs.list_objects(storage.normalise_root(config.input)))


def _listing(config: RunConfig, fs: storage.Filesystem, history: History, counters: dict[str, int]):
    for info in fs.list_objects(storage.normalise_root(config.input)):
        digest = doc_digest(info.uri, info.etag)
        is_done = digest in history.done
        if not is_done and config.limit is not None and counters["pending"] >= config.limit:
            counters["left"] += 1
            continue
        counters["listed"] += 1
        counters["pending"] += not is_done
        yield {"uri": info.uri, "key": info.key, "size": info.size, "etag": info.etag, "done": is_done, "tries": history.tries.get(digest, 0)}


def init_ray(address: str | None) -> None:
    import ray

    if ray.is_initialized():
        return
    # The run prints its own progress line; Ray Data's block counters ("Total Progress: 0/?") say nothing to a person.
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    env = {**storage.s3_settings().as_env(), **{k: os.environ[k] for k in _FORWARDED_ENV if k in os.environ}}
    # No address means a cluster of our own ("local"), even if `ray start` left one running here.
    options = local_node_options() if not address else {}  # a cluster keeps its own dashboard and settings
    for attempt in range(1, RAY_START_ATTEMPTS + 1):
        try:
            ray.init(
                address=address or "local",
                runtime_env={"env_vars": {**_WORKER_ENV, **env}},
                logging_level=logging.WARNING,
                log_to_driver=True,
                **options,
            )
            return
        except Exception as exc:  # Ray raises a bare Exception for this
            if address or not is_slow_node_start(exc) or attempt == RAY_START_ATTEMPTS:
                raise
            log.warning("the local Ray node did not register within Ray's 30 s (a busy machine); starting it again (%d/%d)",
                        attempt + 1, RAY_START_ATTEMPTS)
            ray.shutdown()


def is_slow_node_start(exc: BaseException) -> bool:
    """Ray gave up on its own node's start-up: it waits a fixed 30 s for the raylet to register,
    which a machine busy loading a model on every core can miss. Starting again succeeds."""
    return "timed out during startup" in str(exc)


def run(config: RunConfig, on_row: Callable[[dict[str, Any]], None] | None = None, metrics: RunMetrics | None = None,
        fs: storage.Filesystem = storage.PROCESS) -> RunResult:
    """One run of `config`: INPUT listed and read, OUTPUT written, through `fs` (the process's own by default)."""
    started = time.time()
    reset_peak_rss()
    schema, model_id, store, run = plan_run(config, fs)
    if metrics is not None:  # a run that fails from here on still reports its own (zero) numbers
        metrics.start(schema.name, model_id, schema.hardened)
    with run.lease() as lease:
        return _run(config, schema, model_id, store, run, lease, started, on_row, metrics)


def _run(config: RunConfig, schema: LoadedSchema, model_id: str, store: RunStore, run: Run, lease: Lease, started: float,
         on_row: Callable[[dict[str, Any]], None] | None, metrics: RunMetrics | None) -> RunResult:
    if metrics is not None:
        # A resumed run's metrics describe the whole run, the rows of its earlier attempts included.
        for row in run.rows(METRIC_COLUMNS):
            metrics.observe({**row, "record_value": row.pop("record")}, count_done=False)
    # A reprocess redoes everything its own (unfinished) run does not hold yet; a normal run
    # skips what any run in OUTPUT holds for this schema version and model.
    history = store.history(None, None, runs=[run], max_tries=config.max_tries) if config.reprocess \
        else store.history(schema.hash, model_id, max_tries=config.max_tries)
    counters = {"listed": 0, "pending": 0, "left": 0}
    writer = run.writer(row_schema(schema.hardened), RunConstants(run.run_id, schema.name, schema.hash, model_id), config.part_rows, config.part_seconds,
                        lease=lease)
    chunks = run.write_manifest_chunks(writer.attempt, _listing(config, store.fs, history, counters), config.manifest_chunk,
                                       config.block_docs or config.batch_size * config.concurrent_batches)
    timings = {"list_s": time.time() - started, "read_s": 0.0, "engine_load_s": 0.0, "extract_wall_s": 0.0}
    log.info("run %s: %d listed, %d pending%s", run.run_id, counters["listed"], counters["pending"],
             f", {counters['left']} left for later (--limit)" if counters["left"] else "")
    if metrics is not None:
        metrics.plan(counters["listed"], counters["listed"] - counters["pending"])

    if chunks:
        extract_started = time.time()
        progress = Progress(counters["pending"])
        assembler = WindowAssembler(schema)
        try:
            for window in _results(config, schema, chunks, store.fs):
                written = settle(window, assembler, writer, timings)
                if written is None:
                    continue
                progress.update(written["status"])
                if metrics is not None:
                    metrics.observe(written)
                if on_row is not None:
                    on_row(written)
            writer.flush()
        finally:
            progress.close()
        timings["extract_wall_s"] = time.time() - extract_started
        ready_at = timings.pop("engine_ready_at", None)
        if ready_at is not None:  # Ray's start, the worker's, the model's load; then the documents, at the engine's pace
            timings["start_s"] = min(max(ready_at - extract_started, 0.0), timings["extract_wall_s"])
            timings["after_load_s"] = timings["extract_wall_s"] - timings["start_s"]
    timings["write_s"] = writer.write_s

    ended = time.time()
    previous = run.completion() or {}
    manifest = {
        "run_id": run.run_id,
        "input": storage.normalise_root(config.input),
        "schema_name": schema.name,
        "schema_spec": config.schema_spec,
        "schema_hash": schema.hash,
        "model_id": model_id,
        "backend": config.extraction.engine.backend,
        "grounding": config.extraction.grounding,
        "dates": config.extraction.dates,
        "numbers": config.extraction.numbers,
        "nulls": config.extraction.nulls,
        "fieldmill_version": __version__,
        "started_at": previous.get("started_at") or _iso(started),
        "ended_at": previous.get("ended_at") or _iso(ended),
        "listed": counters["listed"],
        "driver_peak_rss_bytes": peak_rss_bytes(),
        "cost": run_cost(timings["extract_wall_s"], config.workers * (config.gpus_per_worker or 1), writer.rows_written, price_per_hour(config.price_per_hour)),
        **run.summary(),
    }
    if metrics is not None and writer.rows_written:
        metrics.cost(manifest["cost"])
    if counters["left"]:
        log.info("run %s is partial: %d documents left by --limit; the same command without --limit (or again) continues it", run.run_id, counters["left"])
    else:
        run.complete(manifest, lease)
    return RunResult(run.run_id, run.folder, counters["listed"], writer.rows_written, counters["listed"] - counters["pending"], ended - started, manifest,
                     timings, left=counters["left"])


def settle(window: dict[str, Any], assembler: WindowAssembler, writer: PartWriter, timings: dict[str, float]) -> dict[str, Any] | None:
    """One result from the actors -> its document's row, written (None: the document's other windows are still out).

    The driver's steps keep the step contract: a document that merging or typing its row raises for is written as
    its own failed row; only an output that cannot be written at all ends the run."""
    try:
        finished = assembler.add(window)  # a long document's windows wait for each other; one document leaves
    except Exception as exc:  # noqa: BLE001 - the document fails alone
        finished = failed_document(Document.from_bytes(window[DOCUMENT]), "merging its windows", exc)
    if finished is None:
        return None
    timings["read_s"] += finished.document.read_s
    timings["engine_load_s"] = max(timings["engine_load_s"], finished.engine_load_s)
    if finished.engine_ready_at:  # the first engine ready starts the steady state
        timings["engine_ready_at"] = min(timings.get("engine_ready_at") or finished.engine_ready_at, finished.engine_ready_at)
    try:
        return writer.add(finished)
    except (storage.StorageError, OSError):
        raise  # the run's output is unwritable: the run's failure, not the document's
    except Exception as exc:  # noqa: BLE001 - a row its part cannot hold: the document fails alone
        return writer.add(failed_document(finished.document, "writing its row", exc))


def _results(config: RunConfig, schema: LoadedSchema, chunks: list[tuple[str, int]], fs: storage.Filesystem):
    import ray

    init_ray(config.ray_address)
    resources = ray.cluster_resources()
    gpus = config.gpus_per_worker if config.gpus_per_worker is not None else (1 if resources.get("GPU", 0) >= 1 else 0)
    log.info("ray cluster: %g CPUs, %g GPUs; %d extraction worker(s) with %g GPU each", resources.get("CPU", 0), resources.get("GPU", 0), config.workers, gpus)
    engines = ray.remote(num_cpus=0)(EngineCount).remote()
    ds = ray.data.from_items([{"chunk": uri} for uri, _ in chunks], override_num_blocks=len(chunks))
    ds = ds.flat_map(expand_chunk, fn_kwargs={"fs": fs})
    # Reading runs in CPU tasks (OCR included, bounded per document), beside the extraction actors, never on a GPU worker.
    ds = ds.map_batches(decode_batch, fn_kwargs={"max_doc_bytes": config.max_doc_bytes, "ocr": config.ocr.model_dump(),
                                                 "max_pages": config.max_doc_pages, "decode_timeout_s": config.decode_limit_s, "fs": fs},
                        batch_size=8,
                        batch_format="default", num_cpus=1)
    # A long document becomes windows here, so its windows spread over the actor pool like documents.
    queries = field_queries(schema.hardened) if config.retrieval == RETRIEVAL_BM25 else None
    ds = ds.flat_map(window_rows, fn_kwargs={"chunk_tokens": config.chunk_tokens, "overlap_tokens": config.overlap_tokens,
                                             "max_pages": config.max_doc_pages, "queries": queries, "per_field": config.retrieval_windows,
                                             "lists": list_fields(schema.hardened)})
    ds = ds.map_batches(
        Extractor,
        fn_constructor_kwargs={
            "settings": config.extraction,
            "schema": config.schema_spec,
            "schema_source": shipped_source(config.schema_spec),  # the file's text: worker nodes do not have the file
            "engines": engines,
        },
        batch_size=config.batch_size,
        batch_format="default",
        compute=ray.data.ActorPoolStrategy(size=config.workers, max_tasks_in_flight_per_actor=config.concurrent_batches),
        max_concurrency=config.concurrent_batches,
        runtime_env={"env_vars": _EXTRACTOR_ENV},  # merged with the run's own
        num_cpus=0 if gpus else 1,
        num_gpus=gpus,
        # A dying actor is restarted (its documents are redone) a few times, then the run stops and says so: a
        # worker that keeps dying (memory, a broken engine) must not loop forever.
        max_restarts=WORKER_RESTARTS,
        max_task_retries=WORKER_RESTARTS,
    )
    try:
        yield from ds.iter_rows()
    except Exception as exc:
        # An actor that dies after its engine had loaded is a dead worker, not a model that cannot load.
        if _is_actor_death(exc) and ray.get(engines.loaded.remote()) > 0:
            cause = str(exc).strip().splitlines()
            raise WorkerDied(f"{type(exc).__name__}: {cause[-1] if cause else ''}"[:500]) from exc
        raise
    # The dataset is done and Ray Data lets its actors go; an extractor that is released gracefully
    # stops its engine on the way out. Wait until every engine on this node is closed or its process
    # is gone before the driver (and with it a local Ray cluster) exits, so no engine is killed
    # mid-close; a released actor's process ends within a second or two, so this never waits long.
    node = ray.get_runtime_context().get_node_id()
    deadline = time.monotonic() + ENGINE_CLOSE_S
    while any(_process_alive(pid) for engine_node, pid in ray.get(engines.open.remote()) if engine_node == node) \
            and time.monotonic() < deadline:
        time.sleep(0.2)


def _process_alive(pid: int) -> bool:
    """Whether a process of this machine still runs (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except (OSError, IndexError):
        return False


class EngineCount:
    """Which extraction engines are open, by node and process: a tiny actor the extractors report to."""

    def __init__(self):
        self.engines: set[tuple[str, int]] = set()
        self.total = 0

    def opened(self, node: str, pid: int) -> None:
        self.engines.add((node, pid))
        self.total += 1

    def loaded(self) -> int:
        """Engines that ever finished loading."""
        return self.total

    def closed(self, node: str, pid: int) -> None:
        self.engines.discard((node, pid))

    def open(self) -> list[tuple[str, int]]:
        return sorted(self.engines)


ENGINE_CLOSE_S = 60.0
WORKER_RESTARTS = 2


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
