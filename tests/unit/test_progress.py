"""The progress line a person reads: done/planned, compliant share, documents per second, ETA."""

import io

from fieldmill.progress import Progress


def test_a_log_gets_a_plain_line_every_interval_and_the_last_one():
    sink = io.StringIO()
    progress = Progress(4, stream=sink, interval=3600)
    for status in ("compliant", "noncompliant", "failed", "compliant"):
        progress.update(status)
    lines = sink.getvalue().splitlines()
    assert len(lines) == 2  # the first row, then the end: nothing in between at this interval
    assert lines[-1].startswith("fieldmill progress: 4/4 documents (100%), compliant 67%, failed 1,")
    assert "docs/s" in lines[-1] and "ETA 0 s" in lines[-1]
