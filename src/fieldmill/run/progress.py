"""The line a person watches while a run goes on: done / planned, compliant share, documents per second, ETA.

On a terminal it is one line rewritten in place; in a log (a pod, CI) it is a plain line
every `interval` seconds, so logs stay readable. While the run goes on, the rate is the
documents of the last minute over that minute (rows reach the driver a block at a time, so
a rate between two rows of one block would read thousands per second); the last line's
rate is the run's own: its documents over its whole time.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

RATE_WINDOW_S = 60.0


class Progress:
    def __init__(self, planned: int, stream: TextIO | None = None, interval: float | None = None):
        self.planned = planned
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.interval = interval if interval is not None else (0.5 if self.tty else 30.0)
        self.done = self.compliant = self.reached = self.failed = 0
        self.started = time.monotonic()
        self._recent: deque[float] = deque()  # arrival times within the rate window
        self._shown: float | None = None  # the first row is always shown

    def update(self, status: str) -> None:
        now = time.monotonic()
        self._recent.append(now)
        self.done += 1
        self.failed += status == "failed"
        self.reached += status != "failed"
        self.compliant += status == "compliant"
        if self._shown is None or now - self._shown >= self.interval or self.done == self.planned:
            self._shown = now
            self._write(self.line(now))

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = now - self.started
        if self.done >= self.planned:
            rate = self.done / elapsed if elapsed > 0 else 0.0
        else:
            while self._recent and self._recent[0] < now - RATE_WINDOW_S:
                self._recent.popleft()
            window = min(RATE_WINDOW_S, elapsed)
            rate = len(self._recent) / window if window > 0 else 0.0
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
