"""Window records -> one record for the document, field by field.

* **A scalar** takes the best-supported value among the windows that filled it: a value
  the document states (it has evidence) before one it does not, then the one the model was
  surest of (its confidence), then the first in document order. Grounding comes first
  because an ungrounded value is the likeliest invention; confidence next because the
  window that states a fact plainly is read with more certainty than one that merely
  mentions it; document order last, because the parties, dates and amounts of a contract
  or a discharge summary are stated first and referred to (or superseded in an appendix)
  later.
* **A list** is the union of the windows' lists in document order; an item equal to one
  already taken (strings compared without case and spacing, objects field by field, a
  null agreeing with anything) is the same item seen twice (overlapping windows, a table
  repeated on the next page), and its fields complete the one already taken.
* **An object** merges field by field; a field no window filled stays null.

Each value of the merged record remembers the window and path it came from, so its
evidence (already in document offsets) and confidence follow it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from fieldmill.document import DOCUMENT, ENGINE_LOAD_S, ENGINE_READY_AT, WINDOW, Document, Window
from fieldmill.documents import TRANSIENT
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.schema.hardening import non_null_options


@dataclass
class WindowResult:
    """What one window's extraction gave: the record and, by the window's own paths, its evidence and confidence."""

    record: dict[str, Any] | None
    confidence: dict[str, float] = field(default_factory=dict)
    evidence: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> evidence entry (document offsets)
    signals: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> what the window's run knew of the value (trust)


@dataclass
class Merged:
    record: dict[str, Any] | None
    source: dict[str, tuple[int, str]]  # merged path -> (window, path in that window's record)

    def confidence(self, windows: list[WindowResult]) -> dict[str, float]:
        return {path: windows[w].confidence[p] for path, (w, p) in self.source.items() if p in windows[w].confidence}

    def signals(self, windows: list[WindowResult], refused: set[str]) -> list[dict[str, Any]]:
        """Each merged value's signals, from the window it came from; the merged record's own rules decide `broken_rule`."""
        return [{**windows[w].signals[p], "field": path, "broken_rule": path in refused}
                for path, (w, p) in self.source.items() if p in windows[w].signals]

    def evidence(self, windows: list[WindowResult]) -> list[dict[str, Any]]:
        return [{**windows[w].evidence[p], "field": path} for path, (w, p) in self.source.items() if p in windows[w].evidence]


def focus(windows: list[WindowResult], plan: list[dict[str, Any]]) -> list[WindowResult]:
    """With retrieval (`plan`: the windows read, in order, each with the fields it was chosen for), a later
    window speaks only for the fields it was chosen for (a window of boilerplate read for one field cannot add
    values to the others). A list speaks from where retrieval found it: a later window was chosen for a list
    only because it stands out from the first (`retrieval.choose`), so its items replace the first window's
    (the signatures block's signatories, not the preamble's parties copied into them), and the first window's
    stand where the chosen ones gave none. A scalar is then merged as always (the best supported of the first
    window's and the chosen window's). Windows read for every field (no retrieval) are merged as they are."""
    if len(plan) != len(windows) or windows[0].record is None:
        return windows
    focused = [windows[0]]
    found: set[str] = set()  # lists a chosen window gave items for
    for window, entry in zip(windows[1:], plan[1:]):
        fields = set(entry.get("fields") or [])
        if not fields or window.record is None:
            focused.append(window)
            continue
        record = {key: value if key in fields else None for key, value in window.record.items()}
        found |= {key for key, value in record.items() if isinstance(value, list) and value}
        focused.append(replace(window, record=record))
    if found:
        first = windows[0].record
        focused[0] = replace(windows[0], record={key: None if key in found else value for key, value in first.items()})
    return focused


def merge_windows(windows: list[WindowResult], hardened: dict[str, Any]) -> Merged:
    source: dict[str, tuple[int, str]] = {}
    candidates = [(i, w.record, "") for i, w in enumerate(windows) if w.record is not None]
    record = _merge(candidates, hardened, "", windows, source) if candidates else None
    return Merged(record, source)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _merge(candidates: list[tuple[int, Any, str]], node: dict[str, Any], path: str, windows: list[WindowResult],
           source: dict[str, tuple[int, str]]) -> Any:
    present = [(w, v, p) for w, v, p in candidates if v is not None]
    if not present:
        # Null everywhere: as sure as the least sure window that the document does not state it.
        unsure = min(candidates, key=lambda c: windows[c[0]].confidence.get(c[2], 1.0))
        if unsure[2] in windows[unsure[0]].confidence:
            source[path] = (unsure[0], unsure[2])
        return None
    options = non_null_options(node)
    objects = [o for o in options if o.get("type") == "object" and "properties" in o]
    arrays = [o for o in options if o.get("type") == "array"]
    if objects and all(isinstance(v, dict) for _, v, _ in present):
        props = objects[0]["properties"]
        return {key: _merge([(w, v.get(key), _join(p, key)) for w, v, p in present], sub, _join(path, key), windows, source)
                for key, sub in props.items()}
    if arrays and all(isinstance(v, list) for _, v, _ in present):
        return _union(present, arrays[0]["items"], path, windows, source)
    chosen = max(present, key=lambda c: _support(c, windows))
    _record_sources(chosen[1], chosen[0], chosen[2], path, source)
    return chosen[1]


def _support(candidate: tuple[int, Any, str], windows: list[WindowResult]) -> tuple:
    window, _, path = candidate
    result = windows[window]
    return (path in result.evidence, result.confidence.get(path, 0.0), -window)


def _union(present: list[tuple[int, Any, str]], items_node: dict[str, Any], path: str, windows: list[WindowResult],
           source: dict[str, tuple[int, str]]) -> list[Any]:
    groups: list[list[tuple[int, Any, str]]] = []  # each merged item: the window items it came from, in document order
    for window, values, list_path in present:
        for index, item in enumerate(values):
            if item is None:
                continue
            here = (window, item, f"{list_path}[{index}]")
            same = next((g for g in groups if all(_compatible(item, other) for _, other, _ in g) and window not in {w for w, _, _ in g}), None)
            if same is not None:
                same.append(here)
            else:
                groups.append([here])
    return [_merge(group, items_node, f"{path}[{i}]", windows, source) for i, group in enumerate(groups)]


def _compatible(a: Any, b: Any) -> bool:
    """The same item seen twice: equal after normalisation, or objects whose filled fields agree (at least one)."""
    if isinstance(a, dict) and isinstance(b, dict):
        shared = [k for k in a.keys() & b.keys() if a[k] is not None and b[k] is not None]
        return bool(shared) and all(_compatible(a[k], b[k]) for k in shared)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_compatible(x, y) for x, y in zip(a, b))
    return _norm(a) == _norm(b)


def _norm(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.casefold().split())
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return Decimal(str(value)).normalize()
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return value


def _record_sources(value: Any, window: int, window_path: str, path: str, source: dict[str, tuple[int, str]]) -> None:
    """Remember where each leaf of a chosen value came from (a chosen scalar, or a map taken whole)."""
    if isinstance(value, dict):
        for key, item in value.items():
            _record_sources(item, window, _join(window_path, key), _join(path, key), source)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _record_sources(item, window, f"{window_path}[{i}]", f"{path}[{i}]", source)
    else:
        source[path] = (window, window_path)




@dataclass(frozen=True)
class Finished:
    """A document done: what its row is written from."""

    document: Document
    answer: Answer
    chunks: int = 1  # requests its windows took: the windows read, and those read again
    engine_load_s: float = 0.0  # how long the engine that read it took to load (the run's timings)
    engine_ready_at: float | None = None  # when that engine was ready (seconds since the epoch)


class WindowAssembler:
    """The driver's side of long documents: window rows wait here until all of their document's have
    arrived, then become one result, merged and validated as one record.

    Only whole documents leave, so a crash loses at most the windows of unfinished documents, which
    the next run reads again; memory is the windows in flight, never the corpus.
    """

    def __init__(self, schema):
        self.schema = schema
        self.pending: dict[tuple[str, str], dict[int, tuple[Document, Window, Answer]]] = {}

    def add(self, row: dict[str, Any]) -> Finished | None:
        """An actor's output row (`DOCUMENT`, `WINDOW`, `ANSWER`) -> its document finished, or None while its other windows are out."""
        document, window, answer = Document.from_bytes(row[DOCUMENT]), Window.from_bytes(row[WINDOW]), Answer.from_bytes(row[ANSWER])
        load_s = float(row.get(ENGINE_LOAD_S) or 0.0)
        ready_at = float(row[ENGINE_READY_AT]) if row.get(ENGINE_READY_AT) else None
        if window.count <= 1:
            return Finished(document, answer, 1, load_s, ready_at)
        key = (document.source.uri, document.source.etag)
        bucket = self.pending.setdefault(key, {})
        bucket[window.index] = (document, window, answer)
        if len(bucket) < window.count:
            return None
        del self.pending[key]
        return replace(self.assemble([bucket[i] for i in range(window.count)]), engine_load_s=load_s, engine_ready_at=ready_at)

    def assemble(self, windows: list[tuple[Document, Window, Answer]]) -> Finished:
        """A document's windows, each with its answer -> the document with one answer: theirs merged and validated as one record."""
        document = windows[0][0]
        answers = [answer for _, _, answer in windows]
        merged = self.merged(answers, list(document.windows_read), [window.index for _, window, _ in windows])
        reread = tuple(entry for a in answers for entry in a.windows_reread)  # second passes (actor)
        return Finished(replace(document, windows_read=document.windows_read + reread), merged, len(windows) + len(reread))

    def merged(self, answers: list[Answer], plan: list[dict[str, Any]], indexes: list[int]) -> Answer:
        import json

        from fieldmill.schema.constraint import AnswerError, answer_text
        from fieldmill.extract.evidence import leaves
        from fieldmill.schema.records import check_output

        totals = {"prompt_tokens": sum(a.prompt_tokens for a in answers), "completion_tokens": sum(a.completion_tokens for a in answers),
                  "generation_s": sum(a.generation_s for a in answers), "latency_s": max(a.latency_s for a in answers),
                  "attempts": max(a.attempts for a in answers),
                  "cached_prompt_tokens": sum(a.cached_prompt_tokens or 0 for a in answers) or None,
                  "text_sha256": answers[0].text_sha256}
        windows = [WindowResult(a.record, dict(a.confidence), {e["field"]: {k: v for k, v in e.items() if k != "field"} for e in a.evidence},
                                {s["field"]: s for s in a.signals})
                   for a in answers]
        # A window that failed for a passing reason (an engine error) would lose its facts for good if the others
        # were merged: the document fails for that reason, so the next run reads it again. Every window failed:
        # the document failed, for the first window's reason.
        passing = next((i for i, a in enumerate(answers) if a.status == "failed" and a.reason in TRANSIENT), None)
        if passing is not None or all(w.record is None for w in windows):
            failed = answers[passing] if passing is not None else next((a for a in answers if a.status == "failed"), answers[0])
            error = failed.error
            if passing is not None:
                error = f"window {indexes[passing] + 1} of {len(answers)} failed ({failed.reason}): {error}"
            return Answer(failed.status, failed.reason, error, failed.errors, raw_output=failed.raw_output, **totals)
        merged = merge_windows(focus(windows, plan), self.schema.hardened)
        try:
            text = answer_text(_jsonable(merged.record), self.schema.hardened)
        except AnswerError:  # a required field no window filled: plain JSON, and validation says which
            text = json.dumps(_jsonable(merged.record), ensure_ascii=False, default=float)
        checked = check_output(text, self.schema.model, self.schema.hardened, self.schema.validator)
        evidence = merged.evidence(windows)
        found = {e["field"] for e in evidence}
        record = checked.record if checked.record is not None else merged.record
        ungrounded = [path for path, value, node in leaves(record, self.schema.hardened)
                      if path not in found and not isinstance(value, bool) and "enum" not in node and "const" not in node]
        return Answer(checked.status, "", checked.error or "", tuple(checked.errors), record, text, tuple(evidence), tuple(ungrounded),
                      merged.confidence(windows), tuple(merged.signals(windows, {e.get("field") for e in checked.errors or []})), **totals)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return value
    if hasattr(value, "value") and not isinstance(value, (int, float, str, bool)):  # an Enum
        return value.value
    return value


__all__ = ["WindowResult", "Merged", "merge_windows", "WindowAssembler", "Finished"]
