"""The progress line a person reads: done/planned, compliant share, documents per second, ETA."""

import io

from fieldmill.run.progress import Progress


def test_a_log_gets_a_plain_line_every_interval_and_the_last_one():
    sink = io.StringIO()
    progress = Progress(4, stream=sink, interval=3600)
    for status in ("compliant", "noncompliant", "failed", "compliant"):
        progress.update(status)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2  # the first row, then the end: nothing in between at this interval
    assert lines[-1].startswith("fieldmill progress: 4/4 documents (100%), compliant 67%, failed 1,")
    assert "docs/s" in lines[-1] and "ETA 0 s" in lines[-1]


def test_the_rate_is_the_last_minutes_and_the_last_lines_is_the_runs(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr("fieldmill.run.progress.time.monotonic", lambda: clock[0])
    sink = io.StringIO()
    progress = Progress(200, stream=sink, interval=0)
    clock[0] += 120  # the model loads
    for _ in range(100):  # a block of rows reaches the driver at once
        progress.update("compliant")
    assert "1.67 docs/s" in sink.getvalue().splitlines()[-1]  # 100 in the last minute, not thousands per second
    clock[0] += 90
    for _ in range(99):
        progress.update("compliant")
    assert "1.65 docs/s, ETA 1 s" in sink.getvalue().splitlines()[-1]
    progress.update("compliant")
    assert "200/200" in sink.getvalue().splitlines()[-1] and "0.95 docs/s" in sink.getvalue().splitlines()[-1]  # 200 in 210 s
