"""Documents are decoded under a time limit: native decoders in a child process of the worker, Python ones under a timer.

The decoders are libraries (pdfium in C, Tesseract through a subprocess, Python's HTML
parser) fed with whatever a team's bucket holds. In the worker's own process, a PDF whose
page makes pdfium loop never returns and one that makes it crash takes the worker down
with every document of its batch. In a child:

* a decode that runs past `limit_s` is stopped (the child is killed; the next document
  starts a new one) and its document fails as `too_long`, naming the limit;
* a decoder that crashes kills only the child: its document fails as `decode_error`
  ("the decoder crashed"), and the next document starts a new child.

Text, HTML and JSON are decoded by Python code in the worker itself (`decode_inline`): a
timer (SIGALRM) interrupts a decode that runs past the limit, and the document fails as
`too_long` the same way. A child's round trip would cost more than decoding a small text.

One child per worker process, started on its first document (about a second) and reused
for every later one (a document costs a pipe round trip of its bytes). It is started with
`spawn`: a Ray worker runs threads, which `fork` must not copy.
"""

from __future__ import annotations

import multiprocessing
import signal
import threading
from concurrent.futures import ProcessPoolExecutor, TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from fieldmill.documents import DECODE_ERROR, TOO_LONG, Decoded


class DecodeProcess:
    """Runs a decoder (a function returning `Decoded`, importable by name) in a child process with a time limit."""

    def __init__(self, limit_s: float):
        self.limit_s = limit_s
        self._pool: ProcessPoolExecutor | None = None

    def decode(self, decoder: Callable[..., Decoded], *args: Any) -> Decoded:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_die_with_parent)
        try:
            future = self._pool.submit(decoder, *args)
        except BrokenProcessPool:  # the child died after the last document: start another
            self.close()
            return self.decode(decoder, *args)
        try:
            return future.result(timeout=self.limit_s)
        except FutureTimeout:
            self.close()
            return _too_long(self.limit_s)
        except BrokenProcessPool:
            self.close()
            return Decoded(None, DECODE_ERROR, "the decoder crashed on this document (its process died); the next document starts a new one")

    def close(self) -> None:
        """Kill the child (a decode in progress included) and forget it."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.kill()
        pool.shutdown(wait=False, cancel_futures=True)


class _TimeUp(BaseException):  # not an Exception: a decoder's own `except Exception` must not swallow it
    pass


def decode_inline(limit_s: float, decoder: Callable[..., Decoded], *args: Any) -> Decoded:
    """Runs a Python decoder in this process, stopped after `limit_s` by a timer signal. Python delivers
    signals on the main thread only (where Ray runs a task); elsewhere the decode runs without a timer
    (its input is still bounded by --max-doc-bytes)."""
    if threading.current_thread() is not threading.main_thread():
        return decoder(*args)

    def time_up(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    try:
        try:
            signal.setitimer(signal.ITIMER_REAL, limit_s)
            return decoder(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _TimeUp:  # raised in the decoder, or just as it returned: either way it used its time
        return _too_long(limit_s)
    finally:
        signal.signal(signal.SIGALRM, previous)


def _too_long(limit_s: float) -> Decoded:
    return Decoded(None, TOO_LONG, f"decoding took longer than {limit_s:g} s (--decode-timeout-s): it was stopped")


def _die_with_parent() -> None:
    """In the child: end when the worker that started it ends (killed included), never linger as an orphan."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        PR_SET_PDEATHSIG = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_SHARED: dict[float, DecodeProcess] = {}


def shared(limit_s: float) -> DecodeProcess:
    """This worker process's decode child for `limit_s` (Ray reuses a worker for many tasks)."""
    if limit_s not in _SHARED:
        _SHARED[limit_s] = DecodeProcess(limit_s)
    return _SHARED[limit_s]


__all__ = ["DecodeProcess", "decode_inline", "shared"]
