"""Prometheus metrics of one run: one registry, owned by the driver.

Per-document numbers (latency, engine time, tokens, field errors) are measured in the
extraction actors and reach the driver in the result rows; the driver turns each written
row into metric updates, serves them live (`--metrics-port`) and pushes them to a
Pushgateway at the end (`--pushgateway`), grouped by job and schema.
`fieldmill_last_success_timestamp_seconds` is pushed only by a run that succeeded, with
pushadd semantics, so a failed run never hides the last good one.

Labels are bounded: schema, model, status, reason, field (list indices folded: `line_items[].amount`),
kind. Never a document id or URI.
"""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, pushadd_to_gateway, start_http_server

from fieldmill.schema.records import COMPLIANT, FAILED, NONCOMPLIANT

disable_created_metrics()  # `_created` series only add noise at a Pushgateway

PREFIX = "fieldmill_"
DEFAULT_JOB = "fieldmill"
# Seconds per document: milliseconds on a GPU up to minutes for a long record on a CPU.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000)
# Per-field confidence: the decisions live near 1.
CONFIDENCE_BUCKETS = (0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0)
REVIEW_BELOW = 0.9  # a field below this confidence, or ungrounded, needs a person (`fieldmill review`'s default)
_SEGMENT = re.compile(r"\[\]|[^.\[\]]+")
_INDEX = re.compile(r"\[\d+\]")


def field_label(location: str, hardened: dict[str, Any] | None = None) -> str:
    """`line_items[3].amount` -> `line_items[].amount`: one series per schema field, not per list item; with the
    schema, a map's keys (chosen by the model from the document) collapse to the map's path, so series never
    grow with the corpus."""
    folded = _INDEX.sub("[]", location or "$")
    if hardened is None or folded == "$":
        return folded
    node, kept = hardened, []
    for segment in _SEGMENT.findall(folded.removeprefix("$").lstrip(".")):
        options = [o for o in node.get("anyOf", [node]) if o.get("type") != "null"]
        if segment == "[]":
            node = next((o["items"] for o in options if o.get("type") == "array"), None)
        else:
            node = next((o["properties"][segment] for o in options if segment in (o.get("properties") or {})), None)
        if node is None:  # a map's key, or a path the schema does not have
            break
        kept.append(segment)
    return "".join(s if s == "[]" or not i else "." + s for i, s in enumerate(kept)) or "$"


def filled_paths(value: Any, path: str = "") -> set[str]:
    """Leaf paths holding a value (lists of scalars count as one leaf `name[]`)."""
    if isinstance(value, dict):
        out: set[str] = set()
        for key, item in value.items():
            out |= filled_paths(item, f"{path}.{key}" if path else key)
        return out
    if isinstance(value, list):
        out = set()
        for item in value:
            out |= filled_paths(item, path + "[]") if isinstance(item, (dict, list)) else ({path + "[]"} if item not in (None, "") else set())
        return out
    return {path} if value not in (None, "") and path else set()


class RunMetrics:
    """The metrics of one run; `observe` each written row."""

    def __init__(self, job: str = DEFAULT_JOB):
        self.job = job
        self.registry = CollectorRegistry()
        self.schema = self.model = ""
        self.hardened: dict[str, Any] | None = None
        r = self.registry
        self.documents = Counter(PREFIX + "documents", "Documents with a row in this run, by status.", ["schema", "model", "status"], registry=r)
        self.failures = Counter(PREFIX + "failures", "Failed documents by reason.", ["schema", "reason"], registry=r)
        self.compliance = Gauge(PREFIX + "compliance_ratio", "Compliant share of the documents of this run that reached the model.", ["schema", "model"], registry=r)
        self.field_errors = Counter(PREFIX + "field_errors", "Validation errors by schema field.", ["schema", "field"], registry=r)
        self.field_filled = Counter(PREFIX + "field_filled", "Compliant records with the field filled.", ["schema", "field"], registry=r)
        self.latency = Histogram(PREFIX + "document_latency_seconds", "Per document, end to end in the extraction actor.", ["schema", "model"], buckets=LATENCY_BUCKETS, registry=r)
        self.generation = Histogram(PREFIX + "generation_seconds", "Per document, time in the engine (all attempts).", ["schema", "model"], buckets=LATENCY_BUCKETS, registry=r)
        self.tokens = Counter(PREFIX + "tokens", "Tokens through the engine.", ["schema", "model", "kind"], registry=r)
        self.planned = Gauge(PREFIX + "documents_planned", "Documents listed for this run.", ["schema"], registry=r)
        self.done = Gauge(PREFIX + "documents_done", "Documents of this run with a row so far.", ["schema"], registry=r)
        self.duration = Gauge(PREFIX + "run_duration_seconds", "Wall time of the run so far, or in total once it ended.", ["schema"], registry=r)
        self.field_ungrounded = Counter(PREFIX + "field_ungrounded", "Filled values the document states nowhere, by schema field.", ["schema", "field"], registry=r)
        self.confidence = Histogram(PREFIX + "field_confidence", "Per-field confidence of the values of this run's records.", ["schema"],
                                    buckets=CONFIDENCE_BUCKETS, registry=r)
        self.grounded = Gauge(PREFIX + "grounded_ratio", "Share of this run's checkable filled values that the document states.", ["schema", "model"], registry=r)
        self.review = Gauge(PREFIX + "review_ratio", f"Share of this run's fields needing review (confidence below {REVIEW_BELOW} or ungrounded).",
                            ["schema", "model"], registry=r)
        self._started = time.time()
        self._counts = {COMPLIANT: 0, NONCOMPLIANT: 0}
        self._values = {"grounded": 0, "ungrounded": 0, "fields": 0, "review": 0}

    def start(self, schema: str, model: str, hardened: dict[str, Any] | None = None) -> None:
        self.schema, self.model, self.hardened = schema, model, hardened
        for status in (COMPLIANT, NONCOMPLIANT, FAILED):  # every series exists from the start, at 0
            self.documents.labels(schema, model, status)
        for kind in ("prompt", "completion"):
            self.tokens.labels(schema, model, kind)
        self.latency.labels(schema, model)
        self.generation.labels(schema, model)

    def plan(self, listed: int, already_done: int) -> None:
        self.planned.labels(self.schema).set(listed)
        self.done.labels(self.schema).set(already_done)

    def observe(self, row: dict[str, Any], count_done: bool = True) -> None:
        """One written row (`record_value`: the record as Python values, or None)."""
        schema, model, status = self.schema, self.model, row["status"]
        self.documents.labels(schema, model, status).inc()
        if count_done:
            self.done.labels(schema).inc()
        if status == FAILED:
            self.failures.labels(schema, row.get("reason") or "unknown").inc()
        else:
            self._counts[status] = self._counts.get(status, 0) + 1
            reached = self._counts[COMPLIANT] + self._counts[NONCOMPLIANT]
            self.compliance.labels(schema, model).set(self._counts[COMPLIANT] / reached)
        for error in row.get("errors") or ():
            self.field_errors.labels(schema, field_label(error.get("field", "$"), self.hardened)).inc()
        if status == COMPLIANT and row.get("record_value"):
            for path in {field_label(p, self.hardened) for p in filled_paths(row["record_value"])}:
                self.field_filled.labels(schema, path).inc()
        if status != FAILED:
            self._observe_values(row)
        if status != FAILED or row.get("prompt_tokens"):
            self.latency.labels(schema, model).observe(float(row.get("latency_s") or 0.0))
            self.generation.labels(schema, model).observe(float(row.get("generation_s") or 0.0))
        self.tokens.labels(schema, model, "prompt").inc(int(row.get("prompt_tokens") or 0))
        self.tokens.labels(schema, model, "completion").inc(int(row.get("completion_tokens") or 0))
        self.duration.labels(schema).set(time.time() - self._started)

    def _observe_values(self, row: dict[str, Any]) -> None:
        """Grounding and confidence of one record's values."""
        schema, model = self.schema, self.model
        ungrounded = list(row.get("ungrounded_fields") or [])
        for path in ungrounded:
            self.field_ungrounded.labels(schema, field_label(path, self.hardened)).inc()
        confidence = dict(row.get("confidence") or [])
        for score in confidence.values():
            self.confidence.labels(schema).observe(score)
        values = self._values
        values["grounded"] += len(row.get("evidence") or [])
        values["ungrounded"] += len(ungrounded)
        fields = set(confidence) | set(ungrounded)
        values["fields"] += len(fields)
        values["review"] += sum(1 for f in fields if f in ungrounded or confidence.get(f, 1.0) < REVIEW_BELOW)
        if values["grounded"] + values["ungrounded"]:
            self.grounded.labels(schema, model).set(values["grounded"] / (values["grounded"] + values["ungrounded"]))
        if values["fields"]:
            self.review.labels(schema, model).set(values["review"] / values["fields"])

    def cost(self, cost: dict[str, Any]) -> None:
        """The run's worker-seconds (and money, with a price) per 1,000 documents."""
        if "worker_seconds_per_1k_docs" in cost:
            Gauge(PREFIX + "worker_seconds_per_1k_docs", "Worker-seconds (GPU or CPU machine) per 1,000 documents in this run.", ["schema", "model"],
                  registry=self.registry).labels(self.schema, self.model).set(cost["worker_seconds_per_1k_docs"])
        if "cost_per_1k_docs" in cost:
            Gauge(PREFIX + "cost_per_1k_docs", "Cost per 1,000 documents in this run, at the operator's price per worker-hour.", ["schema", "model"],
                  registry=self.registry).labels(self.schema, self.model).set(cost["cost_per_1k_docs"])

    def finish(self, succeeded: bool) -> None:
        if not self.schema:
            return  # the run stopped before it knew its schema
        self.duration.labels(self.schema).set(time.time() - self._started)
        if succeeded:
            Gauge(PREFIX + "last_success_timestamp_seconds", "End time of the last successful run (Unix seconds).", ["schema"],
                  registry=self.registry).labels(self.schema).set(time.time())

    def serve(self, port: int, address: str = "0.0.0.0") -> None:
        start_http_server(port, addr=address, registry=self.registry)

    def push(self, gateway: str) -> None:
        """Add this run's series to the gateway's group {job, schema}, replacing same-named ones only."""
        if not self.schema:
            return  # the run stopped before it knew its schema: nothing to say about one
        pushadd_to_gateway(gateway, job=self.job, grouping_key={"schema": self.schema}, registry=self.registry, timeout=30)


#: Row columns `observe` reads (from a part file, `record` becomes `record_value`).
METRIC_COLUMNS = ["status", "reason", "errors", "record", "latency_s", "generation_s", "prompt_tokens", "completion_tokens", "evidence",
                  "ungrounded_fields", "confidence"]
