"""One extraction's result as one typed value: what the model answered and what the run knows of it.

An `Answer` is what the extractor gives for a document (or for one window of a long one), what the
driver merges a long document's windows into, and what its row is written from. Ray Data carries it
between them as one column (`ANSWER`, the value pickled): nothing on the way encodes or decodes its parts.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field, replace
from typing import Any

from fieldmill.schema.records import FAILED, NONCOMPLIANT

ANSWER = "answer"  # the column of a Ray Data row that carries a document's (or window's) Answer
_COSTS = ("prompt_tokens", "completion_tokens", "generation_s")


@dataclass(frozen=True)
class Answer:
    status: str  # compliant, noncompliant or failed (`schema.records`)
    reason: str = ""  # why it failed (`documents`: decode_error, too_long, engine_error, ...)
    error: str = ""
    errors: tuple[dict[str, str], ...] = ()  # per-field errors of the schema's rules
    record: Any = None  # the record as Python values (the valid fields of a noncompliant one)
    raw_output: str = ""  # what the model wrote (a long document: the merged record's JSON)
    evidence: tuple[dict[str, Any], ...] = ()  # where each value is stated, in document offsets (`extract.evidence`)
    ungrounded: tuple[str, ...] = ()  # filled fields found nowhere in the document
    confidence: dict[str, float] = field(default_factory=dict)  # path -> calibrated confidence (`extract.trust`)
    signals: tuple[dict[str, Any], ...] = ()  # path by path, what the confidence was computed from
    text_sha256: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    generation_s: float = 0.0
    latency_s: float = 0.0
    attempts: int = 0
    cached_prompt_tokens: int | None = None
    windows_reread: tuple[dict[str, Any], ...] = ()  # a long document's windows read again for this window's nulls

    @classmethod
    def failed(cls, reason: str, error: str, prompt_tokens: int = 0, latency_s: float = 0.0) -> Answer:
        """What a document that failed carries instead of an answer."""
        return cls(FAILED, reason, error, prompt_tokens=prompt_tokens, latency_s=latency_s)

    @property
    def error_count(self) -> int:
        """How many of the schema's rules refuse it (a noncompliant answer without per-field errors counts one)."""
        return len(self.errors) or int(self.status == NONCOMPLIANT)

    def costs(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in (*_COSTS, "cached_prompt_tokens")}

    def plus_costs(self, other) -> Answer:
        """This answer, with another request's tokens, generation time and prompt tokens served from the engine's
        prefix cache (an `Answer` or an engine `Generation`) added; cached tokens stay None where no engine said."""
        cached = (self.cached_prompt_tokens, getattr(other, "cached_prompt_tokens", None))
        return replace(self, **{key: getattr(self, key) + (getattr(other, key) or 0) for key in _COSTS},
                       cached_prompt_tokens=None if cached == (None, None) else sum(c or 0 for c in cached))

    def with_values_of(self, other: Answer, fields: list[str]) -> Answer:
        """The evidence, confidence and signals of the values under `fields` taken from `other` (a second read)."""
        return replace(self, evidence=_replaced(self.evidence, other.evidence, fields),
                       confidence=dict(_replaced(tuple(self.confidence.items()), tuple(other.confidence.items()), fields)),
                       signals=_replaced(self.signals, other.signals, fields))

    def to_bytes(self) -> bytes:
        return pickle.dumps(self)

    @staticmethod
    def from_bytes(data: bytes) -> Answer:
        return pickle.loads(data)


def _under(path: str, fields: list[str]) -> bool:
    """Whether a value's path (`parties[0].name`) lies under one of these fields (top-level or deeper)."""
    return any(path == field or path.startswith((f"{field}.", f"{field}[")) for field in fields)


def _replaced(entries: tuple, found: tuple, fields: list[str]) -> tuple:
    """Per-value entries (evidence and signals: dicts with a `field`; confidence: (path, value) pairs) with those under
    `fields` taken from `found` instead."""
    path = lambda entry: entry["field"] if isinstance(entry, dict) else entry[0]  # noqa: E731
    return tuple(e for e in entries if not _under(path(e), fields)) + tuple(e for e in found if _under(path(e), fields))


__all__ = ["Answer", "ANSWER"]
