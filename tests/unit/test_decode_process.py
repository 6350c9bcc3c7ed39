"""Decoding in a child process: a decoder that hangs or crashes costs its document only (decode_process.py)."""

from __future__ import annotations

import os
import time

from pathlib import Path

from fieldmill import storage
from fieldmill import documents
from fieldmill.decode_process import DecodeProcess, decode_inline
from fieldmill.document import DOCUMENT, Document, Source
from fieldmill.documents import DECODE_ERROR, TOO_LONG, Decoded, decode_batch, read_document


def hangs(name: str, data: bytes) -> Decoded:  # a decoder stuck in a loop (pdfium on a hostile page)
    time.sleep(3600)
    return Decoded("never")


def crashes(name: str, data: bytes) -> Decoded:  # a decoder that takes its process down (a C library's crash)
    os.abort()


def reads(name: str, data: bytes) -> Decoded:
    return Decoded(data.decode() + f" ({os.getpid()})")


def test_a_hanging_decoder_is_stopped_at_the_limit_and_the_next_document_reads():
    process = DecodeProcess(limit_s=20)
    try:
        first = process.decode(reads, "a.txt", b"hello")  # starts the child (spawn: about a second)
        process.limit_s = 2
        started = time.monotonic()
        stuck = process.decode(hangs, "b.pdf", b"%PDF")
        assert time.monotonic() - started < 10
        assert (stuck.text, stuck.reason) == (None, TOO_LONG) and "longer than 2 s" in stuck.message
        process.limit_s = 20
        after = process.decode(reads, "c.txt", b"again")
        assert first.text.startswith("hello") and after.text.startswith("again")
        assert first.text.split()[-1] != after.text.split()[-1]  # a new child: the stuck one was killed
    finally:
        process.close()


def test_a_crashing_decoder_fails_its_document_only():
    process = DecodeProcess(limit_s=30)
    try:
        crashed = process.decode(crashes, "a.pdf", b"%PDF")
        assert (crashed.text, crashed.reason) == (None, DECODE_ERROR) and "crashed" in crashed.message
        assert process.decode(reads, "b.txt", b"fine").text.startswith("fine")
    finally:
        process.close()


def test_a_batch_decodes_the_same_in_a_child(tmp_path):
    """A PDF (pdfium) is decoded in the child; text is decoded inline (Python, bounded by the byte limit)."""
    from fieldmill.decode_process import _SHARED
    from fieldmill.synth import write_corpus

    write_corpus("invoice", 1, str(tmp_path / "corpus"), seed=3, formats=("pdf",))
    (tmp_path / "a.txt").write_text("Invoice INV-1\nTotal 12.50\n")
    uris = [str(tmp_path / "a.txt"), str(next((tmp_path / "corpus" / "docs").iterdir()))]
    batch = {DOCUMENT: [Document(Source(u, k, storage.local_etag(Path(u)), os.path.getsize(u))).to_bytes() for u, k in zip(uris, ["a.txt", "b.pdf"])]}
    inline = [Document.from_bytes(d) for d in decode_batch(batch, max_doc_bytes=1 << 22)[DOCUMENT]]
    isolated = [Document.from_bytes(d) for d in decode_batch(batch, max_doc_bytes=1 << 22, decode_timeout_s=60)[DOCUMENT]]
    assert [d.text for d in isolated] == [d.text for d in inline] and "Total 12.50" in isolated[0].text and len(isolated[1].text) > 100
    assert [d.pages for d in isolated] == [d.pages for d in inline] and isolated[1].pages and isolated[1].text_source == "text_layer"
    assert [d.reason for d in isolated] == ["", ""] and _SHARED[60]._pool is not None  # the PDF went through the child
    _SHARED.pop(60).close()


def test_a_python_decoder_that_loops_is_stopped_in_the_worker(tmp_path, monkeypatch):
    """HTML, JSON and text are decoded in the worker itself, under a timer: a parser stuck on a hostile page
    fails its document as too_long at the limit, without a child process."""
    from fieldmill.decode_process import _SHARED

    def loops(markup: str) -> str:  # pure Python busy in a loop (no sleep: the timer must interrupt bytecode)
        while True:
            try:
                markup = markup[::-1]
            except Exception:  # a decoder that swallows its own exceptions must still be stopped
                pass

    page = tmp_path / "page.html"
    page.write_text("<html><body><p>Total 12.50</p></body></html>")
    before = set(_SHARED)
    monkeypatch.setattr(documents, "html_text", loops)
    started = time.monotonic()
    stuck = read_document(str(page), "page.html", page.stat().st_size, 1 << 20, decode_timeout_s=1)
    assert time.monotonic() - started < 5
    assert (stuck.text, stuck.reason) == (None, TOO_LONG) and "longer than 1 s" in stuck.message
    assert set(_SHARED) == before  # no decode child for an HTML page
    monkeypatch.undo()
    fine = read_document(str(page), "page.html", page.stat().st_size, 1 << 20, decode_timeout_s=1)
    assert fine.reason is None and "Total 12.50" in fine.text
    time.sleep(1.5)  # the timer was cancelled: nothing fires after the decode returned


def test_off_the_main_thread_a_python_decode_runs_without_a_timer():
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        decoded = pool.submit(decode_inline, 0.5, reads, "a.txt", b"from a thread").result()
    assert decoded.text.startswith("from a thread")


def test_the_child_ends_with_the_worker_that_started_it(tmp_path):
    """A worker killed with -9 (Ray stopping, the OOM killer) leaves no decoder process behind."""
    import subprocess
    import sys

    script = ("import os, sys, time\nfrom fieldmill.decode_process import DecodeProcess\nfrom test_decode_process import reads\n"
              "p = DecodeProcess(30)\nprint(p.decode(reads, 'a.txt', b'x').text.split()[-1].strip('()'), flush=True)\ntime.sleep(600)\n")
    worker = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parent,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    child = int(worker.stdout.readline())
    worker.kill()
    worker.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{child}").exists() and "Z" not in _state(child):
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or "Z" in _state(child)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return "Z"
