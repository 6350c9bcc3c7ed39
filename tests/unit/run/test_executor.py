"""How the driver cuts the manifest into Ray Data blocks, and how it starts its local Ray node."""

from __future__ import annotations

import pytest
import ray

from fieldmill.document import DOCUMENT, ENGINE_LOAD_S, ENGINE_READY_AT, WINDOW, Document, Source, Window
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.run import executor as pipeline
from fieldmill.run.store import Run
from fieldmill.run.executor import expand_chunk


def test_chunks_hold_a_blocks_worth_of_pending_documents_and_cover_each_once(tmp_path):
    entries = [{"uri": f"/d/{i}.txt", "key": f"{i}.txt", "size": i, "etag": f"e{i}", "done": i % 3 == 0} for i in range(25)]
    chunks = Run(str(tmp_path), 'r').write_manifest_chunks("a1", iter(entries), chunk_size=10, pending_size=4)
    assert [pending for _, pending in chunks] == [4, 4, 4, 4]
    docs = [Document.from_bytes(d[DOCUMENT]).source.key for uri, _ in chunks for d in expand_chunk({"chunk": uri})]
    assert docs == [e["key"] for e in entries if not e["done"]]
    assert expand_chunk({"chunk": chunks[0][0]})[0] == {DOCUMENT: Document(Source("/d/1.txt", "1.txt", "e1", 1, 0, b"")).to_bytes()}


def test_mostly_done_listings_still_cut_chunks_by_size(tmp_path):
    entries = [{"uri": f"/d/{i}", "key": str(i), "size": 1, "etag": "e", "done": i != 24} for i in range(25)]
    chunks = Run(str(tmp_path), 'r').write_manifest_chunks("a1", iter(entries), chunk_size=10, pending_size=4)
    assert chunks == [(str(tmp_path / "_manifest" / "a1" / "chunk-00002.jsonl"), 1)]
    assert len(list((tmp_path / "_manifest" / "a1").iterdir())) == 3


class _FlakyRayStart:
    """ray.init as a loaded 2-core machine saw it: the node misses Ray's fixed 30 s registration wait."""

    def __init__(self, failures: int, error: str = "The current node timed out during startup. This could happen because "
                                                   "some of the raylet failed to startup or the GCS has become overloaded."):
        self.failures, self.error, self.calls, self.shutdowns = failures, error, 0, 0

    def init(self, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise Exception(self.error)

    def shutdown(self):
        self.shutdowns += 1


@pytest.fixture
def flaky_ray(monkeypatch):
    def make(failures: int, **kwargs) -> _FlakyRayStart:
        fake = _FlakyRayStart(failures, **kwargs)
        monkeypatch.setattr(ray, "is_initialized", lambda: False)
        monkeypatch.setattr(ray, "init", fake.init)
        monkeypatch.setattr(ray, "shutdown", fake.shutdown)
        return fake
    return make


def test_a_local_node_that_starts_slowly_is_started_again(flaky_ray):
    fake = flaky_ray(failures=pipeline.RAY_START_ATTEMPTS - 1)
    pipeline.init_ray(None)
    assert (fake.calls, fake.shutdowns) == (pipeline.RAY_START_ATTEMPTS, pipeline.RAY_START_ATTEMPTS - 1)


def test_a_node_that_never_starts_and_other_errors_are_not_retried_forever(flaky_ray):
    fake = flaky_ray(failures=99)
    with pytest.raises(Exception, match="timed out during startup"):
        pipeline.init_ray(None)
    assert fake.calls == pipeline.RAY_START_ATTEMPTS
    other = flaky_ray(failures=99, error="Permission denied: /tmp/ray")
    with pytest.raises(Exception, match="Permission denied"):
        pipeline.init_ray(None)
    assert other.calls == 1
    remote = flaky_ray(failures=99)  # a cluster of someone else's is not ours to restart
    with pytest.raises(Exception, match="timed out"):
        pipeline.init_ray("ray://head:10001")
    assert remote.calls == 1


def test_the_driver_writes_a_document_that_merging_or_typing_its_row_raises_for_as_its_own_failed_row(tmp_path, monkeypatch):

    from fieldmill.extract.merge import WindowAssembler
    from fieldmill.extract.steps import STEP_ERROR
    from fieldmill.run.rows import row_schema
    from fieldmill.run.store import RunConstants
    from fieldmill.schema.load import load_schema

    schema = load_schema("invoice")
    writer = Run(str(tmp_path / "run_id=r"), "r").writer(row_schema(schema.hardened), RunConstants("r", schema.name, schema.hash, "m"))
    assembler = WindowAssembler(schema)
    timings = {"read_s": 0.0, "engine_load_s": 0.0}

    def row(uri: str, answer: Answer, window: Window = Window()) -> dict:
        document = Document(Source(uri, "k", "e", 1), read_s=0.5)
        return {DOCUMENT: document.to_bytes(), WINDOW: window.to_bytes(), ANSWER: answer.to_bytes(), ENGINE_LOAD_S: 3.0,
                ENGINE_READY_AT: 1000.0 + len(uri)}

    def broken(windows):
        raise KeyError("window_index")

    monkeypatch.setattr(assembler, "assemble", broken)
    first = pipeline.settle(row("/d/long.pdf", Answer("compliant"), Window(0, 2)), assembler, writer, timings)
    merged = pipeline.settle(row("/d/long.pdf", Answer("compliant"), Window(1, 2)), assembler, writer, timings)
    untyped = pipeline.settle(row("/d/odd.txt", Answer("compliant", record={"total": object()})), assembler, writer, timings)
    fine = pipeline.settle(row("/d/plain.txt", Answer.failed("empty", "empty")), assembler, writer, timings)
    assert first is None  # waits for its other window
    assert (merged["status"], merged["reason"]) == ("failed", STEP_ERROR) and "merging its windows raised KeyError" in merged["error"]
    assert (untyped["status"], untyped["reason"]) == ("failed", STEP_ERROR) and "writing its row raised" in untyped["error"]
    assert fine["reason"] == "empty" and timings["engine_load_s"] == 3.0 and timings["read_s"] == 0.5 * 3
    assert timings["engine_ready_at"] == 1000.0 + len("/d/odd.txt")  # the first engine ready: the steady state's start
    writer.flush()
    assert writer.rows_written == 3  # every document one row, the run went on
