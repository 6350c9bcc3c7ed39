"""OUTPUT, owned in one place: runs and their parts, indexes, completion, leases, the done-set, the current view.

    OUTPUT/run_id=<id>/
      _manifest/<attempt>/chunk-<n>.jsonl   what one attempt's listing found
      part-<attempt>-<n>.parquet            result rows, each file written whole
      _index/part-<attempt>-<n>.parquet     beside each part: doc_uri, doc_etag, schema_hash, model_id,
                                            status, reason, tries, attempts, processed_at (a few dozen bytes a row)
      _index.parquet                        the run's index rows in one file, written when it completes
      _lease                                the driver working on the run, and until when
      _SUCCESS                              completion, written once, when every listed document has its row

Names starting with `_` or `.` are skipped by `pyarrow.dataset`, so a run folder (and
OUTPUT) reads as just its rows.

* A part is written before its index. A crash between the two leaves a part without an
  index; the next start rebuilds that index from the part, so a resumed run never
  processes a written document again.
* Start-up reads indexes only: the done-set of a new attempt is the (URI, ETag) of every
  row of this schema version and model in any run, except failures for a passing reason
  (`documents.TRANSIENT`: a read error, an engine error, a document replaced while it was
  read), which the same command tries again until they have been tried `max_tries` times.
* The current view is one schema's: for every document URI, the row the store received last
  among completed runs (when it wrote the row's part, by the store's clock: S3
  `Last-Modified`, the file's mtime; never a driver's), a failure for a passing reason only
  where no run answered. Completion is
  written once, so running a finished command again changes nothing that readers see. An
  OUTPUT holding runs of several schemas has one view per schema: readers name one.
* A lease (`_lease`, renewed while the driver works, expiring after `lease_seconds`) keeps
  two drivers off one run; a crashed driver's lease simply expires.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from fieldmill import storage
from fieldmill.documents import TRANSIENT
from fieldmill.extract.merge import Finished
from fieldmill.run.rows import build_row, index_schema

log = logging.getLogger("fieldmill")

SUCCESS = "_SUCCESS"
RUN_PREFIX = "run_id="
INDEX_DIR = "_index"
RUN_INDEX = "_index.parquet"
LEASE = "_lease"
PART_ROWS = 256
PART_SECONDS = 30.0
MAX_TRIES = 3  # a document failing for a passing reason is tried this many times in all
LEASE_SECONDS = float(os.environ.get("FIELDMILL_LEASE_SECONDS", 300))

INDEX_SCHEMA = index_schema()


class LeaseHeld(storage.StorageError):
    """Another driver works on this run."""


def doc_digest(uri: str, etag: str) -> bytes:
    """The done-set's key of a document version; a URI that is not valid UTF-8 is keyed as its rows write it."""
    return hashlib.blake2b(f"{storage.printable(uri)}\0{etag}".encode(), digest_size=16).digest()


# --- one run folder -------------------------------------------------------------------------


@dataclass
class Run:
    folder: str
    run_id: str
    fs: storage.Filesystem = storage.PROCESS

    def part_names(self) -> list[str]:
        return [n for n in self.fs.list_names(self.folder) if n.startswith("part-") and n.endswith(".parquet")]

    def read_part(self, name: str, columns: list[str] | None = None) -> pa.Table:
        """A part's rows; of `columns`, those the part has (parts of an older fieldmill lack newer columns)."""
        return _read_parquet(self.fs, storage.join(self.folder, name), columns)

    def rows(self, columns: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """The run's rows, one part in memory at a time."""
        for name in self.part_names():
            yield from self.read_part(name, columns).to_pylist()

    # completion

    def completion(self) -> dict[str, Any] | None:
        uri = storage.join(self.folder, SUCCESS)
        if not self.fs.exists(uri):
            return None
        return json.loads(self.fs.read_bytes(uri))

    @property
    def completed(self) -> bool:
        return self.fs.exists(storage.join(self.folder, SUCCESS))

    def part_written(self) -> dict[str, float]:
        """{part name: when the store wrote it, by the store's own clock}: the order of rows that several
        drivers (on machines whose clocks disagree) wrote."""
        return {n: t for n, t in self.fs.list_modified(self.folder).items() if n.startswith("part-") and n.endswith(".parquet")}

    def complete(self, manifest: dict[str, Any], lease: "Lease | None" = None) -> bool:
        """Write completion once (False when it was already written) and the run's one-file index;
        with the driver's `lease`, only while it still holds it (and completion names its generation)."""
        if lease is not None:
            lease.verify()
            manifest = {**manifest, "lease_generation": lease.generation}
        self.write_run_index()
        if self.completed:
            return False
        self.fs.write_bytes(storage.join(self.folder, SUCCESS), json.dumps(manifest, indent=2, sort_keys=True).encode())
        return True

    # indexes

    def index_tables(self, repair: bool = False) -> Iterator[pa.Table]:
        """The run's index rows, a table at a time."""
        for _, table in self.part_indexes(repair):
            yield table

    def part_indexes(self, repair: bool = False) -> Iterator[tuple[str, pa.Table]]:
        """(part name, its index rows in the part's row order): from the one-file index when it covers
        every part, else from the parts' own indexes, rebuilt from a part whose index is missing (and
        written back when `repair`: only a driver does, so readers with read-only credentials can read)."""
        parts = self.part_names()
        whole = storage.join(self.folder, RUN_INDEX)
        if parts and self.fs.exists(whole):
            table = _read_parquet(self.fs, whole, None)
            counts = Counter(table.column("part").to_pylist())
            if set(counts) == set(parts):
                start = 0
                for name in parts:
                    count = counts[name]
                    yield name, table.slice(start, count).drop_columns(["part"])
                    start += count
                return
        indexed = set(self.fs.list_names(storage.join(self.folder, INDEX_DIR)))
        for name in parts:
            if name in indexed:
                yield name, _read_parquet(self.fs, storage.join(self.folder, INDEX_DIR, name), None)
            else:  # the driver died between a part and its index
                table = index_of(self.read_part(name, INDEX_SCHEMA.names))
                if repair:
                    self.fs.write_bytes(storage.join(self.folder, INDEX_DIR, name), _parquet_bytes(table))
                yield name, table

    def write_run_index(self) -> None:
        """All part indexes in one file (with a `part` column), so a completed run costs one read."""
        tables = [table.append_column("part", pa.array([name] * table.num_rows, pa.string())) for name, table in self.part_indexes(repair=True)]
        table = pa.concat_tables(tables) if tables else INDEX_SCHEMA.append(pa.field("part", pa.string())).empty_table()
        self.fs.write_bytes(storage.join(self.folder, RUN_INDEX), _parquet_bytes(table))

    def summary(self) -> dict[str, Any]:
        """Counts over the run's rows, from its indexes."""
        counts: Counter = Counter()
        reasons: Counter = Counter()
        rows = retried = recovered = 0
        files = []
        for name, table in self.part_indexes():
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

    # writing

    def writer(self, schema: pa.Schema, constants: "RunConstants", part_rows: int = PART_ROWS, part_seconds: float = PART_SECONDS,
               lease: "Lease | None" = None) -> "PartWriter":
        return PartWriter(self, schema, constants, part_rows=part_rows, part_seconds=part_seconds, lease=lease)

    def write_manifest_chunks(self, attempt: str, entries: Iterable[dict[str, Any]], chunk_size: int,
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
                uri = storage.join(self.folder, "_manifest", attempt, f"chunk-{index:05d}.jsonl")
                self.fs.write_bytes(uri, ("\n".join(buffer) + "\n").encode())
                if pending:
                    chunks.append((uri, pending))
                index += 1
            buffer, pending = [], 0

        for entry in entries:
            buffer.append(json.dumps(entry))  # ASCII escapes: a local name that is not UTF-8 survives as written
            pending += not entry["done"]
            if len(buffer) >= chunk_size or (pending_size is not None and pending >= pending_size):
                flush()
        flush()
        return chunks

    # leases

    def lease(self, seconds: float = LEASE_SECONDS) -> "Lease":
        return Lease(storage.join(self.folder, LEASE), seconds, self.fs)


def index_of(rows: pa.Table) -> pa.Table:
    """The index rows of a part's rows."""
    columns = []
    for f in INDEX_SCHEMA:
        if f.name in rows.column_names:
            columns.append(rows.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(rows.num_rows, f.type))
    return pa.Table.from_arrays(columns, schema=INDEX_SCHEMA)


@dataclass
class RunConstants:
    run_id: str
    schema_name: str
    schema_hash: str
    model_id: str


@dataclass
class PartWriter:
    """Buffers result rows and writes them as whole Parquet parts, each followed by its index."""

    run: Run
    schema: pa.Schema
    constants: RunConstants
    part_rows: int = PART_ROWS
    part_seconds: float = PART_SECONDS
    attempt: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6])
    rows_written: int = 0
    write_s: float = 0.0
    lease: "Lease | None" = None

    def __post_init__(self):
        self._rows: list[pa.Table] = []  # one row each
        self._parts = 0
        self._last_flush = time.monotonic()
        self._record_type = self.schema.field("record").type

    def add(self, finished: Finished) -> dict[str, Any]:
        """Add one finished document (its `Document` and `Answer`); returns the row as written (with `record_value`,
        for metrics)."""
        record = finished.answer.record
        row = build_row(finished, self._record_type, self.constants)
        # Typed here, alone: a row its part cannot hold fails now, not the part with it when it is written.
        self._rows.append(pa.Table.from_pylist([row], schema=self.schema))
        if len(self._rows) >= self.part_rows or time.monotonic() - self._last_flush >= self.part_seconds:
            self.flush()
        return {**row, "record_value": record}

    def flush(self) -> None:
        self._last_flush = started = time.monotonic()
        if not self._rows:
            return
        if self.lease is not None:
            self.lease.check()
        table = pa.concat_tables(self._rows).combine_chunks()
        name = f"part-{self.attempt}-{self._parts:05d}.parquet"
        self.run.fs.write_bytes(storage.join(self.run.folder, name), _parquet_bytes(table))
        self.run.fs.write_bytes(storage.join(self.run.folder, INDEX_DIR, name), _parquet_bytes(index_of(table)))
        self._parts += 1
        self.rows_written += len(self._rows)
        self._rows = []
        self.write_s += time.monotonic() - started


# --- leases -----------------------------------------------------------------------------------


_HELD: set[str] = set()  # owners of the leases this process holds


class Lease:
    """`_lease` in a run folder: {owner, generation, seconds}. Taken with a conditional write, renewed by a thread.

    Fencing: the writer checks the lease before every part and before completion, so a driver that
    stalled past its lease (and was replaced) writes nothing more. Expiry is judged by the store's
    clock (the lease object's age, `Filesystem.read_with_age`), never by comparing two machines'
    clocks; and a renewal whose answer was lost (the write happened, the reply did not arrive) is
    recognised as our own on the next try instead of being taken for another driver.
    """

    def __init__(self, uri: str, seconds: float, fs: storage.Filesystem = storage.PROCESS):
        self.uri = uri
        self.fs = fs
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{_PID_NAMESPACE}"
        self.generation = 0
        self._version: str | None = None
        self._renewed = 0.0  # time.monotonic() of the last write that certainly holds
        self._lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _body(self) -> bytes:
        # `expires` is for a person reading the file; drivers judge expiry by the object's age.
        return json.dumps({"owner": self.owner, "generation": self.generation, "seconds": self.seconds,
                           "expires": time.time() + self.seconds}).encode()

    def acquire(self) -> "Lease":
        current = self.fs.read_with_age(self.uri)
        if current is not None:
            held = json.loads(current[0] or b"{}")
            left = float(held.get("seconds", self.seconds)) - current[2]
            if held.get("owner") != self.owner and left > 0 and not _owner_gone(held.get("owner", "")):
                raise LeaseHeld(f"another driver ({held.get('owner')}) is working on this run for {left:.0f} s more (it renews while alive); "
                                f"this one stops without writing. If that driver is gone, run again after that")
            self.generation = int(held.get("generation", 0)) + 1
        else:
            self.generation = 1
        try:
            self._version = self.fs.write_if(self.uri, self._body(), None if current is None else current[1])
        except storage.Changed:
            raise LeaseHeld("another driver took this run at the same moment; this one stops without writing") from None
        self._renewed = time.monotonic()
        _HELD.add(self.owner)
        self._thread = threading.Thread(target=self._renew_loop, name="fieldmill-lease", daemon=True)
        self._thread.start()
        return self

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            try:
                self._version = self.fs.write_if(self.uri, self._body(), self._version)
                self._renewed = time.monotonic()
            except storage.Changed:
                if not self._still_mine():
                    self._lost = "another driver took over this run's lease (this driver stalled past its expiry)"
                    return
            except storage.StorageError as exc:
                log.warning("cannot renew the run's lease (will retry): %s", exc)

    def _still_mine(self) -> bool:
        """After a refused renewal: whether the lease is still ours (an earlier write landed but its answer was lost)."""
        try:
            current = self.fs.read_versioned(self.uri)
        except storage.StorageError:
            return True  # cannot tell yet: the next renewal asks again (check() fences by time meanwhile)
        if current is None:
            return False
        held = json.loads(current[0] or b"{}")
        if held.get("owner") == self.owner and int(held.get("generation", 0)) == self.generation:
            self._version = current[1]
            return True
        return False

    def check(self) -> None:
        """Raise before writing when the lease was lost, or has not been renewed for so long that another driver may hold it."""
        if self._lost:
            raise LeaseHeld(self._lost + "; this driver stops, the other one finishes the run")
        if self._version is not None and time.monotonic() - self._renewed > self.seconds:
            raise LeaseHeld(f"this driver could not renew the run's lease for {self.seconds:.0f} s (another driver may hold it now); "
                            "it stops without writing more, and the same command resumes the run")

    def verify(self) -> None:
        """`check`, then read the lease itself: the last fence before completion is written."""
        self.check()
        current = self.fs.read_versioned(self.uri)
        held = json.loads(current[0] or b"{}") if current is not None else {}
        if held.get("owner") != self.owner or int(held.get("generation", 0)) != self.generation:
            self._lost = f"the run's lease now belongs to {held.get('owner') or 'nobody'}"
            self.check()

    def release(self) -> None:
        _HELD.discard(self.owner)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._lost is None and self._version is not None:
            try:
                current = self.fs.read_versioned(self.uri)
                if current is not None and current[1] == self._version:
                    self.fs.delete(self.uri)
            except storage.StorageError as exc:
                log.warning("cannot release the run's lease (it expires by itself): %s", exc)

    def __enter__(self) -> "Lease":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:").strip("[]")
    except OSError:
        return ""


_PID_NAMESPACE = _pid_namespace()  # a pid means this process only within this namespace (and host)


def _owner_gone(owner: str) -> bool:
    """A lease owner on this machine whose process has ended (killed, crashed, or a restarted
    container whose new driver got the same pid) holds nothing: the same command takes over at once.
    Only a pid of this host name *and* this pid namespace says so: two containers can share a name."""
    host, pid, _, namespace = (owner.split(":") + ["", "", "", ""])[:4]
    if host != socket.gethostname() or not pid.isdigit() or not namespace or namespace != _PID_NAMESPACE:
        return False  # another machine's (or namespace's) driver: only its expiry says it is gone
    if int(pid) == os.getpid():
        return owner not in _HELD  # not held in this process: an earlier incarnation's with the same pid
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


# --- OUTPUT: runs, done-set, current view -----------------------------------------------------


@dataclass
class History:
    """What earlier rows settle for a new attempt: documents done, and tries so far of those to try again."""

    done: set[bytes] = field(default_factory=set)
    tries: dict[bytes, int] = field(default_factory=dict)

    def add(self, table: pa.Table, schema_hash: str | None, model_id: str | None, max_tries: int) -> None:
        columns = [table.column(c).to_pylist() for c in ("doc_uri", "doc_etag", "schema_hash", "model_id", "status", "reason", "tries")]
        for uri, etag, schema, model, status, reason, tries in zip(*columns):
            if schema_hash not in (None, schema) or model_id not in (None, model):
                continue
            digest = doc_digest(uri, etag)
            if status == "failed" and reason in TRANSIENT:
                tries = max(self.tries.get(digest, 0), tries or 1)
                self.tries[digest] = tries
                if tries >= max_tries:
                    self.done.add(digest)
            else:
                self.done.add(digest)


@dataclass
class View:
    runs: list[tuple[str, int]] = field(default_factory=list)  # (run id, rows it contributes)
    skipped_runs: list[str] = field(default_factory=list)  # unfinished
    counts: Counter = field(default_factory=Counter)
    rows: int = 0
    parts: list[str] = field(default_factory=list)
    location: str | None = None  # where the view was written (the version a reader should read)


class RunStore:
    """One OUTPUT folder (local or s3://), reached through `fs`."""

    def __init__(self, output: str, fs: storage.Filesystem = storage.PROCESS):
        self.output = storage.normalise_root(output)
        self.fs = fs

    def run(self, run_id: str) -> Run:
        return Run(storage.join(self.output, f"{RUN_PREFIX}{run_id}"), run_id, self.fs)

    def run_ids(self) -> list[str]:
        return [name[len(RUN_PREFIX):] for name in self.fs.list_folders(self.output) if name.startswith(RUN_PREFIX)]

    def runs(self) -> list[Run]:
        return [self.run(run_id) for run_id in self.run_ids()]

    def completed(self) -> tuple[list[Run], list[Run]]:
        done, unfinished = [], []
        for run in self.runs():
            (done if run.completed else unfinished).append(run)
        return done, unfinished

    def history(self, schema_hash: str, model_id: str, runs: list[Run] | None = None, max_tries: int = MAX_TRIES) -> History:
        """The done-set over `runs` (default: every run in OUTPUT), from indexes only."""
        history = History()
        for run in self.runs() if runs is None else runs:
            for table in run.index_tables(repair=True):  # the driver's start-up
                history.add(table, schema_hash, model_id, max_tries)
        return history

    def view_runs(self, schema: str | None = None) -> tuple[list[Run], list[Run]]:
        """The completed runs of one schema, and the unfinished runs. `schema` (a run's schema name, or the
        --schema it was run with) picks one where OUTPUT holds several; several and none named is an error
        that names them."""
        done, unfinished = self.completed()
        described = [(run, run.completion() or {}) for run in done]
        names = Counter(str(completion.get("schema_name")) for _, completion in described)
        if schema is not None:
            picked = [run for run, c in described if schema in (c.get("schema_name"), c.get("schema_spec"))]
            if described and not picked:
                raise NoResults(f"no completed run of schema {schema!r} under {self.output}; its runs are of {_named(names)}")
            return picked, unfinished
        if len(names) > 1:
            raise SeveralSchemas(f"{self.output} holds runs of several schemas ({_named(names)}): name one with --schema NAME")
        return done, unfinished

    def current(self, columns: list[str] | None = None, runs: list[Run] | None = None) -> Iterator[tuple[Run, pa.Table]]:
        """(run, rows of one of its parts that are current): for every document URI, the row the store
        received last among `runs` (default: the completed runs of OUTPUT's one schema), chosen from the
        indexes, then read from the parts."""
        runs = self.view_runs()[0] if runs is None else runs
        chosen: dict[bytes, tuple] = {}
        for order, run in enumerate(runs):
            written = run.part_written()
            for name, index in run.part_indexes():
                fields = [index.column(c).to_pylist() for c in ("doc_uri", "status", "reason")]
                for position, (uri, status, reason) in enumerate(zip(*fields)):
                    # A failure for a passing reason (a reprocess whose engine died) never hides an answer an earlier run gave.
                    # Order: when the store wrote the part (its clock, never a driver's), then the run and the part's name.
                    answered = not (status == "failed" and reason in TRANSIENT)
                    key = (answered, written.get(name, 0.0), order, name, position)
                    digest = doc_digest(uri, "")
                    if digest not in chosen or key > chosen[digest]:
                        chosen[digest] = key
        wanted: dict[tuple[int, str], list[int]] = {}
        for _, _, order, name, position in chosen.values():
            wanted.setdefault((order, name), []).append(position)
        needed = None if columns is None else sorted({"doc_uri", *columns})
        for (order, name), positions in sorted(wanted.items()):
            run = runs[order]
            table = run.read_part(name, needed).take(pa.array(sorted(positions), pa.int64()))
            yield run, table

    def write_view(self, to: str | None = None, schema: str | None = None) -> View:
        """The current view (of `schema` where OUTPUT holds several); written under `to` when given,
        replacing the previous view in one switch."""
        runs, unfinished = self.view_runs(schema)
        view = View(skipped_runs=[r.run_id for r in unfinished])
        contributed: Counter = Counter()
        target = ViewTarget(to, self.fs) if to else None
        for run, table in self.current(runs=runs):
            contributed[run.run_id] += table.num_rows
            view.rows += table.num_rows
            view.counts.update(table.column("status").to_pylist())
            if target is not None:
                view.parts.append(target.write_part(table))
        if target is not None and not view.rows:  # never switch readers to an empty view (a mistyped OUTPUT, no completed run yet)
            raise NoResults(f"no rows in completed runs under {self.output}: {to} still shows its previous view")
        if target is not None:
            view.location = target.publish()
        view.runs = [(r.run_id, contributed[r.run_id]) for r in runs if contributed[r.run_id]]
        return view


class ViewTarget:
    """Where `fieldmill results --to DEST` writes: a new version beside the old, then one switch.

    Each view is written into its own hidden folder `DEST/_view-<time>/`. Locally, `DEST/current`
    is a symbolic link to the newest, replaced atomically (`pyarrow.dataset("DEST")` reads only
    `current`: names starting with `_` are skipped). On S3, `DEST/_CURRENT` names the newest
    folder, written in one PUT after every part. The previous version is kept (a reader in the
    middle of a scan keeps its files); older ones are removed.
    """

    def __init__(self, to: str, fs: storage.Filesystem = storage.PROCESS):
        self.root = storage.normalise_root(to)
        self.fs = fs
        self.version = "_view-" + dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
        self.folder = storage.join(self.root, self.version)
        self._count = 0

    def write_part(self, table: pa.Table) -> str:
        uri = storage.join(self.folder, f"part-{self._count:05d}.parquet")
        self.fs.write_bytes(uri, _parquet_bytes(table))
        self._count += 1
        return uri

    def publish(self) -> str:
        if self._count == 0:
            self.fs.write_bytes(storage.join(self.folder, ".empty"), b"")
        if storage.is_s3(self.root):
            self.fs.write_bytes(storage.join(self.root, "_CURRENT"), self.version.encode())
            self._prune(self.fs.list_folders(self.root))
            return self.folder
        from pathlib import Path

        link = Path(self.root) / "current"
        temp = Path(self.root) / f".current-{uuid.uuid4().hex[:8]}"
        os.symlink(self.version, temp)
        os.replace(temp, link)
        self.fs.write_bytes(storage.join(self.root, "_CURRENT"), self.version.encode())
        self._prune(self.fs.list_folders(self.root))
        return str(link)

    def _prune(self, folders: list[str]) -> None:
        versions = sorted(f for f in folders if f.startswith("_view-"))
        for old in versions[:-2]:
            for info in list(self.fs.list_objects(storage.join(self.root, old))):
                self.fs.delete(info.uri)
            if not storage.is_s3(self.root):
                import shutil

                shutil.rmtree(storage.join(self.root, old), ignore_errors=True)


class NoResults(storage.MissingInput):
    """RESULTS names no run folder and no OUTPUT with a completed run."""


class SeveralSchemas(NoResults):
    """OUTPUT holds completed runs of several schemas and the reader named none."""


def _named(names: Counter) -> str:
    return ", ".join(f"{name} ({count} run{'s' if count > 1 else ''})" for name, count in sorted(names.items()))


def results_runs(results: str, schema: str | None = None, fs: storage.Filesystem = storage.PROCESS) -> tuple[RunStore, list[Run]]:
    """The runs a reader of RESULTS means: the run folder it names, or the completed runs of an OUTPUT
    (of `schema` where it holds several; its one unfinished run when nothing completed yet)."""
    root = storage.normalise_root(results)
    name = root.rstrip("/").rsplit("/", 1)[-1]
    if name.startswith(RUN_PREFIX):
        run = Run(root, name[len(RUN_PREFIX):], fs)
        if not run.part_names():
            raise NoResults(f"no result parts under {results}")
        return RunStore(root.rstrip("/").rsplit("/", 1)[0] or "/", fs), [run]
    store = RunStore(root, fs)
    runs, unfinished = store.view_runs(schema)
    if not runs and len(unfinished) == 1:
        runs = unfinished
    if not runs:
        if not unfinished:
            raise NoResults(f"no run folders (run_id=...) with results under {results}")
        raise NoResults(f"{len(unfinished)} runs under {results} and none completed ({SUCCESS} missing); name one: {results.rstrip('/')}/run_id=ID")
    return store, runs


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def _read_parquet(fs: storage.Filesystem, uri: str, columns: list[str] | None) -> pa.Table:
    """Only `columns` travel: the footer and those column chunks, by ranged reads on S3. Of `columns`,
    those the file has (parts written by an older fieldmill lack newer columns)."""
    with fs.open_object(uri) as handle:
        parquet = pq.ParquetFile(handle)
        if columns is not None:
            present = set(parquet.schema_arrow.names)
            columns = [c for c in columns if c in present]
        return parquet.read(columns=columns)


__all__ = ["RunStore", "Run", "results_runs", "NoResults", "SeveralSchemas", "PartWriter", "RunConstants", "Lease", "LeaseHeld", "History", "View", "doc_digest", "index_of",
           "SUCCESS", "MAX_TRIES"]
