"""Accuracy of a run against gold records, field by field.

Fields are the leaves of the record: `seller.address.city` for a nested model,
`line_items[].amount` for a leaf inside a list of models, `allergies[]` for a list
of scalars. Leaf types come from the run's Arrow `record` type, so any schema a run
used can be scored without importing it.

Comparison per leaf type: strings ignore case and runs of whitespace; dates,
integers, booleans, decimals and enums are exact; floats equal within a relative
tolerance. A scalar field scores 1 or 0 per document (both empty counts as right).
A list field compares multisets: true positives, false positives and false
negatives per document, pooled into precision, recall and F1.

Accuracy of a field = right cells / cells, where a scalar field gives one cell per
document and a list field one cell per value in the union of gold and prediction
(one right cell when both are empty). Micro accuracy pools cells over all fields;
macro accuracy is the mean of the fields' accuracies. A noncompliant row is scored
field by field with the values it keeps (a field that failed its own check is null
there); a failed row, or a document without a row, is scored as an empty prediction:
accuracy is what the product delivers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable

import pyarrow as pa

from fieldmill import storage
from fieldmill.run.store import NoResults, results_runs
from fieldmill.schema.records import COMPLIANT, NONCOMPLIANT
from fieldmill.run.summary import compliance_rate

DEFAULT_REL_TOL = 1e-3
NO_RESULT = "no_result"


class EvalError(ValueError):
    """The results or the gold file cannot be evaluated."""


@dataclass(frozen=True)
class Leaf:
    path: str
    steps: tuple[str, ...]  # property names, "[]" for "each item of the list"
    type: pa.DataType

    @property
    def is_list(self) -> bool:
        return "[]" in self.steps


def leaves(record_type: pa.DataType) -> list[Leaf]:
    """The record's leaf fields in schema order."""
    out: list[Leaf] = []

    def walk(kind: pa.DataType, steps: tuple[str, ...]):
        if pa.types.is_struct(kind):
            for child in kind:
                walk(child.type, steps + (child.name,))
        elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
            walk(kind.value_type, steps + ("[]",))
        else:
            path = ""
            for step in steps:
                path += "[]" if step == "[]" else (f".{step}" if path else step)
            out.append(Leaf(path, steps, kind))

    walk(record_type, ())
    return out


def values_at(record: dict[str, Any] | None, leaf: Leaf) -> Any:
    """The leaf's value (scalar leaves) or its non-empty values (list leaves)."""
    current: list[Any] = [record]
    for step in leaf.steps:
        if step == "[]":
            current = [item for value in current if isinstance(value, list) for item in value]
        else:
            current = [value.get(step) if isinstance(value, dict) else None for value in current]
    if leaf.is_list:
        return [v for v in current if not _empty(v)]
    return current[0]


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def normalise(value: Any, kind: pa.DataType) -> Any:
    """The comparable form of a value of this Arrow type (gold JSON or a Parquet value)."""
    if _empty(value):
        return None
    try:
        if pa.types.is_date(kind):
            return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
        if pa.types.is_timestamp(kind):
            stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
            return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)
        if pa.types.is_decimal(kind):
            return Decimal(str(value)).normalize()
        if pa.types.is_integer(kind):
            return int(Decimal(str(value)))
        if pa.types.is_floating(kind):
            return float(value)
        if pa.types.is_boolean(kind):
            return value if isinstance(value, bool) else str(value).strip().lower() == "true"
    except (ValueError, InvalidOperation, TypeError):
        pass  # a value of the wrong shape compares as text, and will simply not match
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return " ".join(str(value).casefold().split())


def same(gold: Any, predicted: Any, rel_tol: float) -> bool:
    if isinstance(gold, float) and isinstance(predicted, float):
        return math.isclose(gold, predicted, rel_tol=rel_tol, abs_tol=1e-12)
    return gold == predicted


def match_count(gold: list[Any], predicted: list[Any], rel_tol: float) -> int:
    """Size of the multiset intersection (greedy; exact up to the float tolerance)."""
    unmatched = list(gold)
    hits = 0
    for value in predicted:
        for index, candidate in enumerate(unmatched):
            if same(candidate, value, rel_tol):
                del unmatched[index]
                hits += 1
                break
    return hits


@dataclass
class FieldScore:
    path: str
    is_list: bool
    documents: int = 0
    cells: int = 0
    right: int = 0
    gold_filled: int = 0  # documents where the gold has a value
    filled: int = 0  # documents where the prediction has a value
    wrong_filled: int = 0  # filled but not right ("hallucination")
    missed: int = 0  # empty while the gold has a value
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: Any, predicted: Any, rel_tol: float) -> None:
        self.documents += 1
        if self.is_list:
            hits = match_count(gold, predicted, rel_tol)
            self.tp += hits
            self.fp += len(predicted) - hits
            self.fn += len(gold) - hits
            exact = hits == len(gold) == len(predicted)
            self.cells += max(1, len(gold) + len(predicted) - hits)
            self.right += hits if (gold or predicted) else 1
            has_gold, has_prediction = bool(gold), bool(predicted)
        else:
            exact = (gold is None and predicted is None) or (gold is not None and predicted is not None and same(gold, predicted, rel_tol))
            self.cells += 1
            self.right += exact
            has_gold, has_prediction = gold is not None, predicted is not None
        self.gold_filled += has_gold
        self.filled += has_prediction
        self.wrong_filled += has_prediction and not exact
        self.missed += has_gold and not has_prediction

    @property
    def accuracy(self) -> float:
        return self.right / self.cells if self.cells else 0.0

    def rate(self, count: int) -> float:
        return count / self.documents if self.documents else 0.0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    results: str
    gold: str
    run_ids: list[str]
    documents: int
    statuses: Counter
    reasons: Counter
    fields: list[FieldScore]
    unmatched_results: int = 0
    schema_names: list[str] = field(default_factory=list)
    calibration: Any = None  # fieldmill.calibration.Calibration: accuracy against confidence and grounding
    by_length: list[tuple[str, int, int, int]] = field(default_factory=list)  # (pages, documents, right cells, cells) per length bucket

    def length_table(self) -> list[tuple[str, int, float]]:
        """(pages, documents, micro accuracy) per length bucket, shortest first."""
        return [(label, docs, right / cells if cells else 0.0) for label, docs, right, cells in self.by_length]

    @property
    def compliance_rate(self) -> float | None:
        return compliance_rate(self.statuses)

    @property
    def micro_accuracy(self) -> float:
        cells = sum(f.cells for f in self.fields)
        return sum(f.right for f in self.fields) / cells if cells else 0.0

    @property
    def macro_accuracy(self) -> float:
        return sum(f.accuracy for f in self.fields) / len(self.fields) if self.fields else 0.0


def read_gold(uri: str) -> list[dict[str, Any]]:
    try:
        lines = storage.read_bytes(uri).decode("utf-8").splitlines()
    except storage.MissingInput as exc:
        raise EvalError(f"no gold file at {uri}: {exc}") from None
    gold = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            gold.append({"name": str(item["name"]), "record": item["record"]})
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise EvalError(f"{uri} line {number}: expected {{\"name\": ..., \"record\": {{...}}}} ({exc})") from None
    if not gold:
        raise EvalError(f"{uri} holds no gold records")
    return gold


_COLUMNS = ["doc_uri", "run_id", "schema_name", "status", "reason", "record", "confidence", "evidence", "ungrounded_fields", "doc_pages"]
LENGTH_BUCKETS = ((1, 1, "1"), (2, 5, "2-5"), (6, 20, "6-20"), (21, 60, "21-60"), (61, 10**9, "61+"))


def read_rows(results: str, columns: list[str] = _COLUMNS, schema: str | None = None) -> tuple[str, pa.DataType, dict[str, dict[str, Any]]]:
    """Where the rows come from, the record type, and the current row of every document URI (of `schema`
    where RESULTS holds runs of several)."""
    try:
        store, runs = results_runs(results, schema)
    except NoResults as exc:
        raise EvalError(str(exc)) from None
    by_uri: dict[str, dict[str, Any]] = {}
    record_type = None
    for _, table in store.current(columns, runs):
        record_type = record_type or table.schema.field("record").type
        by_uri.update((row["doc_uri"], row) for row in table.to_pylist())
    if record_type is None:
        raise EvalError(f"no result rows under {results}")
    return runs[0].folder if len(runs) == 1 else storage.normalise_root(results), record_type, by_uri


def evaluate(results: str, gold_uri: str, rel_tol: float = DEFAULT_REL_TOL, schema: str | None = None) -> Evaluation:
    from fieldmill.calibration import Calibration

    calibration = Calibration()
    source, record_type, by_uri = read_rows(results, schema=schema)
    gold = read_gold(gold_uri)
    all_leaves = leaves(record_type)
    fields = [FieldScore(leaf.path, leaf.is_list) for leaf in all_leaves]
    statuses: Counter = Counter()
    reasons: Counter = Counter()
    used: set[str] = set()
    index = SuffixIndex(by_uri)
    lengths: dict[str, list[int]] = {}
    for item in gold:
        uri = index.find(item["name"])
        row = by_uri.get(uri) if uri else None
        if uri:
            used.add(uri)
        status = row["status"] if row else NO_RESULT
        statuses[status] += 1
        if row and row.get("reason"):
            reasons[row["reason"]] += 1
        predicted = row["record"] if row and status in (COMPLIANT, NONCOMPLIANT) else None
        score_record(fields, all_leaves, item["record"], predicted, rel_tol)
        if row:
            calibration.add_record(item["record"], predicted, row, all_leaves, rel_tol)
        if row and row.get("doc_pages"):  # accuracy against document length
            mine = [FieldScore(leaf.path, leaf.is_list) for leaf in all_leaves]
            score_record(mine, all_leaves, item["record"], predicted, rel_tol)
            label = next(label for low, high, label in LENGTH_BUCKETS if low <= row["doc_pages"] <= high)
            bucket = lengths.setdefault(label, [0, 0, 0])
            bucket[0] += 1
            bucket[1] += sum(f.right for f in mine)
            bucket[2] += sum(f.cells for f in mine)
    return Evaluation(
        results=source, gold=gold_uri, run_ids=sorted({r["run_id"] for r in by_uri.values()}), documents=len(gold), statuses=statuses,
        reasons=reasons, fields=fields, unmatched_results=len(by_uri) - len(used), schema_names=sorted({r["schema_name"] for r in by_uri.values()}),
        calibration=calibration if calibration.scored else None,
        by_length=[(label, *lengths[label]) for _, _, label in LENGTH_BUCKETS if label in lengths],
    )


def score_record(fields: list[FieldScore], all_leaves: list[Leaf], gold: dict[str, Any] | None, predicted: dict[str, Any] | None,
                 rel_tol: float = DEFAULT_REL_TOL) -> None:
    """Add one document's cells to each field's score (`predicted` None: nothing delivered)."""
    for score, leaf in zip(fields, all_leaves):
        g, p = values_at(gold, leaf), values_at(predicted, leaf)
        if leaf.is_list:
            score.add([normalise(v, leaf.type) for v in g], [normalise(v, leaf.type) for v in p], rel_tol)
        else:
            score.add(normalise(g, leaf.type), normalise(p, leaf.type), rel_tol)


class SuffixIndex:
    """Finds the result whose URI ends with a gold name (gold names are relative paths)."""

    def __init__(self, uris: Iterable[str]):
        self._by_base: dict[str, list[str]] = {}
        for uri in uris:
            self._by_base.setdefault(uri.rsplit("/", 1)[-1], []).append(uri)

    def find(self, name: str) -> str | None:
        """The one URI ending with the longest tail of `name` that any URI ends with (None when ambiguous)."""
        parts = name.strip("/").split("/")
        candidates = self._by_base.get(parts[-1], ())
        for cut in range(len(parts)):
            tail = "/".join(parts[cut:])
            hits = [uri for uri in candidates if uri == tail or uri.endswith("/" + tail)]
            if hits:
                return hits[0] if len(hits) == 1 else None
        return None


__all__ = ["Evaluation", "FieldScore", "EvalError", "evaluate", "leaves", "values_at", "normalise", "read_gold", "score_record", "SuffixIndex", "DEFAULT_REL_TOL", "NO_RESULT"]
