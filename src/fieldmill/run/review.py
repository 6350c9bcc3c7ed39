"""`fieldmill review`: the short list of values a person should look at, as a file to correct.

From the current view of an OUTPUT (one row per document), a document needs a look when
its record broke a rule (`noncompliant`), when a field's confidence is below the
threshold, or (with `ungrounded`) when a filled value is stated nowhere in the document.
Each line names the fields to check with their value, the quote the evidence found and
the confidence, and carries the whole record:

    {"doc_uri": ..., "record": {...}, "status": ..., "check": [{"field", "value", "quote", "confidence", "why", "rule"?}, ...]}

`why` is `rule` (a validation error names the field; `$` is the record as a whole),
`low_confidence` or `ungrounded`.

A person corrects `record` in place and hands the file to `fieldmill finetune --gold`
as corrections (it reads `doc_uri` and `record`, nothing else), which closes the loop:
extract, review, correct, fine-tune. CSV has one line per document with the same facts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Iterator

from fieldmill import storage
from fieldmill.schema.records import NONCOMPLIANT
from fieldmill.extract.trust import value_at

DEFAULT_BELOW = 0.9
_COLUMNS = ["doc_uri", "status", "record", "errors", "evidence", "ungrounded_fields", "confidence", "confidence_min"]


@dataclass
class ReviewSummary:
    documents: int = 0  # in the current view, with a record
    flagged: int = 0
    fields: int = 0  # values to check
    why: dict[str, int] = field(default_factory=dict)


def review_lines(output: str, below: float = DEFAULT_BELOW, ungrounded: bool = False, summary: ReviewSummary | None = None,
                 schema: str | None = None) -> Iterator[dict[str, Any]]:
    """The review line of every current document (of `schema`, where OUTPUT holds several) that needs a look."""
    from fieldmill.run.store import results_runs

    summary = summary if summary is not None else ReviewSummary()
    store, runs = results_runs(output, schema)
    for _, table in store.current(_COLUMNS, runs):
        for row in table.to_pylist():
            if row["record"] is None:
                continue
            summary.documents += 1
            line = review_line(row, below, ungrounded)
            if line is not None:
                summary.flagged += 1
                summary.fields += len(line["check"])
                for item in line["check"]:
                    for why in item["why"]:
                        summary.why[why] = summary.why.get(why, 0) + 1
                yield line


def review_line(row: dict[str, Any], below: float, ungrounded: bool) -> dict[str, Any] | None:
    confidence = dict(row.get("confidence") or [])
    quotes = {e["field"]: e["quote"] for e in row.get("evidence") or []}
    reasons: dict[str, list[str]] = {}
    messages: dict[str, str] = {}
    for error in row.get("errors") or []:
        reasons.setdefault(error["field"], []).append("rule")
        messages[error["field"]] = "; ".join(filter(None, [messages.get(error["field"]), error["message"]]))
    for path, score in confidence.items():
        if score < below:
            reasons.setdefault(path, []).append("low_confidence")
    if ungrounded:
        for path in row.get("ungrounded_fields") or []:
            reasons.setdefault(path, []).append("ungrounded")
    if not reasons and row["status"] != NONCOMPLIANT:
        return None
    record = _json_value(row["record"])
    check = [{"field": path, "value": value_at(record, path), "quote": quotes.get(path), "confidence": confidence.get(path), "why": why,
              **({"rule": messages[path]} if path in messages else {})} for path, why in reasons.items()]
    return {"doc_uri": row["doc_uri"], "record": record, "status": row["status"], "confidence_min": row.get("confidence_min"), "check": check}


def _json_value(value: Any) -> Any:
    """A record from Parquet in the JSON form gold records use (ISO dates, decimals as strings)."""
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(v, tuple) and len(v) == 2 for v in value):  # a map column
            return {str(k): _json_value(v) for k, v in value}
        return [_json_value(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def write_review(lines: list[dict[str, Any]], to: str) -> None:
    if to.endswith(".csv"):
        sink = io.StringIO()
        writer = csv.writer(sink)
        writer.writerow(["doc_uri", "status", "confidence_min", "fields", "values", "quotes", "confidences", "why", "record"])
        for line in lines:
            check = line["check"]
            writer.writerow([line["doc_uri"], line["status"], line["confidence_min"], "; ".join(c["field"] for c in check),
                             "; ".join(json.dumps(c["value"], ensure_ascii=False) for c in check), "; ".join(str(c["quote"] or "") for c in check),
                             "; ".join("" if c["confidence"] is None else f"{c['confidence']:.3f}" for c in check),
                             "; ".join(",".join(c["why"]) for c in check), json.dumps(line["record"], ensure_ascii=False)])
        data = sink.getvalue().encode("utf-8")
    else:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")
    storage.write_bytes(to, data)


__all__ = ["review_lines", "review_line", "write_review", "value_at", "ReviewSummary", "DEFAULT_BELOW"]
