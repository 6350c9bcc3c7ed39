"""The line a person watches while a run goes on: done / planned, compliant share, documents per second, ETA.

On a terminal it is one line rewritten in place; in a log (a pod, CI) it is a plain line
every `interval` seconds, so logs stay readable.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, planned: int, stream: TextIO | None = None, interval: float | None = None):
        self.planned = planned
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 30.0)
        self.done = self.compliant = self.reached = self.failed = 0
        self.started = time.monotonic()
        self._first: float | None = None  # when the first row arrived: the rate leaves model loading out
        self._shown: float | None = None  # the first row is always shown

    def update(self, status: str) -> None:
        now = time.monotonic()
        if self._first is None:
            self._first = now
        self.done += 1
        self.failed += status == "failed"
        self.reached += status != "failed"
        self.compliant += status == "compliant"
        if self._shown is None or now - self._shown >= self.interval or self.done == self.planned:
            self._shown = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        rate = (self.done - 1) / (now - self._first) if self._first is not None and now > self._first and self.done > 1 else 0.0
        left = self.planned - self.done
        eta = f"{left / rate:.0f} s" if rate > 0 else "?"
        share = f"{self.compliant / self.reached:.0%}" if self.reached else "n/a"
        return (f"{self.done}/{self.planned} documents ({self.done / self.planned:.0%}), compliant {share}, failed {self.failed}, "
                f"{rate:.2f} docs/s, ETA {eta}, {now - self.started:.0f} s elapsed")

    def _write(self, line: str) -> None:
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
        else:
            self.stream.write("fieldmill progress: " + line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self.done:
            self.stream.write("\n")
            self.stream.flush()


__all__ = ["Progress"]
