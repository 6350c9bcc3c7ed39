"""The step contract: a document leaves every step as its rows, whatever the step does with it.

A step that raises for one document (a bug, or an input nobody foresaw) turns that document into its own
failed row, with the step and the exception in its error, and the run goes on: the steps do not each guard
against their own surprises, the contract does. Reading guards itself the same way (`documents.decode_batch`
turns any exception into a `decode_error`), because its failures have reasons of their own.
"""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from fieldmill.document import DOCUMENT, WINDOW, Document, Window
from fieldmill.extract.answer import Answer
from fieldmill.extract.merge import Finished

log = logging.getLogger("fieldmill")

STEP_ERROR = "step_error"  # a step raised for this document: not passing, so the next run does not try it again


def step_message(step: str, exc: BaseException) -> str:
    return f"{step} raised {type(exc).__name__}: {exc}"[:2000]


def per_document(step: str) -> Callable:
    """For a step that maps one document's row to its rows (a Ray Data flat_map): a row whose step raises becomes
    one row that is not read any further, and the extractor fails it with the step's error."""

    def wrap(function: Callable[..., list[dict[str, Any]]]) -> Callable[..., list[dict[str, Any]]]:
        @functools.wraps(function)
        def guarded(row: dict[str, Any], *args, **kwargs) -> list[dict[str, Any]]:
            try:
                return function(row, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the contract: one document's surprise is its own failed row
                document = Document.from_bytes(row[DOCUMENT])
                log.exception("%s: %s failed", document.uri, step)
                return [{DOCUMENT: document.failed(STEP_ERROR, step_message(step, exc)).to_bytes(), WINDOW: Window().to_bytes()}]

        return guarded

    return wrap


def failed_document(document: Document, step: str, exc: BaseException) -> Finished:
    """A document's one result when a step after extraction (merging its windows, writing its row) raised for it."""
    log.error("%s: %s failed: %s: %s", document.uri, step, type(exc).__name__, exc)
    return Finished(document, Answer.failed(STEP_ERROR, f"{STEP_ERROR}: {step_message(step, exc)}"))


__all__ = ["STEP_ERROR", "per_document", "failed_document", "step_message"]
