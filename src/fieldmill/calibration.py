"""Is the confidence worth trusting? Accuracy of the values by confidence, by grounding, and as a curve.

Every value a record asserts is judged against the gold: a scalar field that is filled in
the prediction or in the gold (both empty says nothing), and every item of a list field
(right when the gold list holds it, matched as a multiset). Each judged value has its
confidence (from the row's `confidence` column) and its grounding: `grounded` (the
document states it), `ungrounded` (stated nowhere), or unchecked (an enum, a boolean, a
null).

The coverage/accuracy curve answers the question a team asks before trusting the output:
if every value with confidence >= t is accepted without a person looking, what share of
values is accepted (coverage) and how many of those are right (accuracy)? The second
curve also sends every ungrounded value to a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fieldmill.evaluate import Leaf, normalise, same

THRESHOLDS = (0.0, 0.5, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
BUCKETS = ((0.0, 0.5), (0.5, 0.8), (0.8, 0.9), (0.9, 0.95), (0.95, 0.99), (0.99, 1.0000001))
DEFAULT_REVIEW_BELOW = 0.9  # what `fieldmill review` flags by default


@dataclass(frozen=True)
class Judged:
    path: str
    confidence: float | None
    grounding: str  # grounded | ungrounded | unchecked
    right: bool
    filled: bool


@dataclass
class Calibration:
    values: list[Judged] = field(default_factory=list)

    @property
    def scored(self) -> list[Judged]:
        return [v for v in self.values if v.confidence is not None]

    def buckets(self) -> list[tuple[float, float, int, float | None]]:
        out = []
        for low, high in BUCKETS:
            inside = [v for v in self.scored if low <= v.confidence < high]
            out.append((low, min(high, 1.0), len(inside), _accuracy(inside)))
        return out

    def reliability(self, bins: int = 10) -> list[tuple[float, float, int, float | None, float | None]]:
        """(low, high, values, accuracy, mean confidence) per equal-width bin: the reliability diagram's points."""
        return [(low, high, len(inside), sum(r for _, r in inside) / len(inside) if inside else None,
                 sum(c for c, _ in inside) / len(inside) if inside else None)
                for low, high, inside in confidence_bins([(v.confidence, v.right) for v in self.scored], bins)]

    def ece(self) -> float | None:
        """Expected calibration error of the judged values' confidence."""
        return expected_calibration_error([(v.confidence, v.right) for v in self.scored])

    def by_grounding(self) -> dict[str, tuple[int, float | None]]:
        filled = [v for v in self.values if v.filled]
        return {kind: (len(group), _accuracy(group)) for kind in ("grounded", "ungrounded", "unchecked")
                for group in [[v for v in filled if v.grounding == kind]]}

    def curve(self, require_grounded: bool = False) -> list[tuple[float, float, float | None]]:
        """(threshold, coverage, accuracy of the accepted values) for each threshold."""
        values = self.scored
        out = []
        for t in THRESHOLDS:
            accepted = [v for v in values if v.confidence >= t and not (require_grounded and v.grounding == "ungrounded")]
            out.append((t, len(accepted) / len(values) if values else 0.0, _accuracy(accepted)))
        return out

    def flagged(self, below: float = DEFAULT_REVIEW_BELOW) -> tuple[float | None, float | None]:
        """Share of wrong values and of right values that a review (confidence below `below`, or ungrounded) would flag."""
        def is_flagged(v: Judged) -> bool:
            return v.grounding == "ungrounded" or (v.confidence is not None and v.confidence < below)

        wrong = [v for v in self.values if not v.right]
        right = [v for v in self.values if v.right]
        share = lambda group: sum(map(is_flagged, group)) / len(group) if group else None  # noqa: E731
        return share(wrong), share(right)

    def add_record(self, gold: dict[str, Any] | None, predicted: dict[str, Any] | None, row: dict[str, Any], all_leaves: list[Leaf], rel_tol: float) -> None:
        confidence = dict(row.get("confidence") or [])
        if predicted is None or not confidence:
            return
        grounded = {e["field"] for e in row.get("evidence") or []}
        ungrounded = set(row.get("ungrounded_fields") or [])

        def grounding(path: str, value: Any) -> str:
            return "grounded" if path in grounded else "ungrounded" if path in ungrounded else "unchecked"

        for leaf in all_leaves:
            if not leaf.is_list:
                g, p = (normalise(_at(r, leaf.steps), leaf.type) for r in (gold, predicted))
                if g is None and p is None:
                    continue
                right = g is not None and p is not None and same(g, p, rel_tol)
                self.values.append(Judged(leaf.path, confidence.get(leaf.path), grounding(leaf.path, p), right, p is not None))
                continue
            remaining = [normalise(v, leaf.type) for _, v in concrete(gold, leaf.steps) if v is not None]
            for path, value in concrete(predicted, leaf.steps):
                p = normalise(value, leaf.type)
                if p is None:
                    continue
                hit = next((i for i, g in enumerate(remaining) if same(g, p, rel_tol)), None)
                if hit is not None:
                    del remaining[hit]
                self.values.append(Judged(path, confidence.get(path), grounding(path, p), hit is not None, True))


def confidence_bins(scored: list[tuple[float, bool]], bins: int = 10) -> list[tuple[float, float, list[tuple[float, bool]]]]:
    """(low, high, the (confidence, right) pairs inside) per equal-width bin; 1.0 falls in the last."""
    return [(b / bins, (b + 1) / bins, [(c, r) for c, r in scored if b / bins <= c < (b + 1) / bins or (b == bins - 1 and c >= 1.0)])
            for b in range(bins)]


def expected_calibration_error(scored: list[tuple[float, bool]], bins: int = 10) -> float | None:
    """Expected calibration error: over equal-width confidence bins, the share-weighted gap between a bin's
    mean confidence and its accuracy (0 when the confidence says exactly how often values are right)."""
    if not scored:
        return None
    return sum(len(inside) / len(scored) * abs(sum(c for c, _ in inside) / len(inside) - sum(r for _, r in inside) / len(inside))
               for _, _, inside in confidence_bins(scored, bins) if inside)


ACCEPT_TARGET = 0.98  # the share of accepted values that must be right for a team to accept them unseen
ACCEPT_THRESHOLDS = [t / 1000 for t in range(500, 1000, 5)] + [0.995, 0.999]


def accepted_share(scored: list[tuple[float, bool]], threshold: float) -> tuple[float, float | None]:
    """Of (confidence, right) pairs, the share a team accepts unseen at `threshold` (confidence >= it) and the share
    of those that are right (None when it accepts none)."""
    accepted = [r for c, r in scored if c >= threshold]
    return len(accepted) / len(scored) if scored else 0.0, (sum(accepted) / len(accepted) if accepted else None)


def accept_threshold(scored: list[tuple[float, bool]], target: float = ACCEPT_TARGET) -> float:
    """The lowest confidence threshold whose accepted values (confidence >= it) are at least `target` right, of
    (confidence, right) pairs: where a team can stop looking (1.0 when no threshold reaches the target)."""
    for t in ACCEPT_THRESHOLDS:
        _, right = accepted_share(scored, t)
        if right is not None and right >= target:
            return t
    return 1.0


def labelled_signals(results: str, gold_uri: str, rel_tol: float) -> tuple[list[Any], list[bool]]:
    """Every value of the results that the gold can judge, with what the run knew of it (`trust.ValueSignals`) and
    whether it is right: the data `fieldmill calibrate` fits on. A null is right when the gold has none either;
    a list item when the gold list holds it."""
    import re

    from fieldmill.evaluate import SuffixIndex, leaves, read_gold, read_rows, values_at
    from fieldmill.extract.trust import ValueSignals, value_at

    _, record_type, by_uri = read_rows(results, ["doc_uri", "run_id", "schema_name", "status", "record", "signals"])
    leaf_of = {leaf.path: leaf for leaf in leaves(record_type)}
    index = SuffixIndex(by_uri)
    values, right = [], []
    for item in read_gold(gold_uri):
        uri = index.find(item["name"])
        row = by_uri.get(uri) if uri else None
        if not row or row["status"] not in ("compliant", "noncompliant"):
            continue
        for entry in row.get("signals") or []:
            value = ValueSignals.from_row(entry)
            leaf = leaf_of.get(re.sub(r"\[\d+\]", "[]", value.path))
            if leaf is None:
                continue
            predicted = normalise(value_at(row["record"], value.path), leaf.type)
            if leaf.is_list:
                golds = [normalise(g, leaf.type) for g in values_at(item["record"], leaf)]
                ok = any(same(g, predicted, rel_tol) for g in golds if g is not None) if predicted is not None else not golds
            else:
                wanted = normalise(values_at(item["record"], leaf), leaf.type)
                ok = (wanted is None and predicted is None) or (wanted is not None and predicted is not None and same(wanted, predicted, rel_tol))
            values.append(value)
            right.append(bool(ok))
    return values, right


def _accuracy(values: list[Judged]) -> float | None:
    return sum(v.right for v in values) / len(values) if values else None


def _at(record: Any, steps: tuple[str, ...]) -> Any:
    for step in steps:
        record = record.get(step) if isinstance(record, dict) else None
    return record


def concrete(record: Any, steps: tuple[str, ...], path: str = "") -> list[tuple[str, Any]]:
    """(concrete path such as `line_items[2].amount`, value) of every value a leaf's steps reach."""
    if not steps:
        return [(path, record)]
    step, rest = steps[0], steps[1:]
    if step == "[]":
        if not isinstance(record, list):
            return []
        return [pair for i, item in enumerate(record) for pair in concrete(item, rest, f"{path}[{i}]")]
    return concrete(record.get(step) if isinstance(record, dict) else None, rest, f"{path}.{step}" if path else step)


__all__ = ["Calibration", "Judged", "accept_threshold", "accepted_share", "ACCEPT_TARGET", "THRESHOLDS", "BUCKETS", "concrete", "expected_calibration_error", "labelled_signals"]
