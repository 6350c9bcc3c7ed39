"""Which windows of a long document to read: rank them for each field, then extract.

Reading every window of a 60-page contract costs 20 decodes and gives every window of
boilerplate a chance to produce a plausible wrong value. With `--retrieval bm25`, the
windows are ranked for each top-level field by BM25 (`bm25s`) over the window texts,
queried with what the schema says about the field: the words of its name and of the names
and descriptions below it, its description, and type cues (month names for a date field).
A document is read in its first window (titles, parties and dates sit there), with the
whole schema, and in each field's best `per_field` windows where they stand out from the
first (`STANDS_OUT`), with only the fields each was chosen for (`field_group`: a shorter
prompt, a smaller constraint, a shorter answer); other fields rely on the first. A scalar
field the window read for it last leaves null gets a second pass: its next-ranked window
(`plan_reads`), with the fields it was kept for that are still null. The row records which
windows were read and for which fields (`windows_read`), second passes included.

    plan = choose(window_texts, field_queries(hardened))  # [(window, [fields])], in document order
    plan_reads(window_texts, field_queries(hardened)).reserve  # {position in plan: [(window, [fields])]}
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

from fieldmill.schema.document_dates import date_ask, field_words
from fieldmill.schema.hardening import non_null_options

RETRIEVAL_OFF = "off"
RETRIEVAL_BM25 = "bm25"
RETRIEVAL_MODES = (RETRIEVAL_OFF, RETRIEVAL_BM25)
# A later window is read for a field only when its BM25 score is at least this many times the first window's:
# with a wide schema (44 fields) every window is some field's best by a hair, each window read adds its
# chances of a plausible wrong value, and the first window is read with every field anyway. bench/long_documents.py
# (the team's 4-field schema, 20 pages): at 1.25 an appendix's superseded date (1.4x) was read for the effective
# date and won the merge, at 1.5 not (90 -> 100%); bench/retrieval_recall.py (gold values in a window read for their
# field, 8 contracts of 10 and of 30 pages, 44 fields): 1.5 reaches 82.8 / 82.6%, 1.0 85.1 / 87.1%.
STANDS_OUT = 1.5
# A list's items come from the later window chosen for it, replacing the first window's (`merge.focus`), so a
# list must stand out further (1.25 x 1.5 = 1.9 times the first window's score): a preamble naming the parties
# scores close to a signatures block that mentions "the parties" (1.4x), which must not take the list from it;
# a contract's signatories score 2-5 times as high in its signatures block as in a preamble listing the parties.
LIST_STANDS_OUT = 1.25
# ... and at least this score: a field whose words are in every window (`parties` in a contract) scores near
# zero everywhere, and the best of such scores is noise, not a place. A word found in about half of the
# windows or fewer scores above it.
FLOOR = 0.5
# Second reads per document (`plan_reads`): each costs a decode when a field it backs up was left null, so a
# 60-page document with a 44-field schema costs at most this many windows more than its plan.
SECOND_READS = 2

_DATE_CUES = ["date", "dated", "day", "january", "february", "march", "april", "may", "june", "july", "august", "september",
              "october", "november", "december"]


def english_stem(tokens: list[str]) -> list[str]:
    """Snowball's English stemmer (PyStemmer): `governed`, `governing` -> govern, `cured` -> cure, `laws` -> law,
    so a field's words meet the document's in any of their forms."""
    return _snowball().stemWords(tokens)


@lru_cache(maxsize=1)
def _snowball():
    import Stemmer

    return Stemmer.Stemmer("english")


def _said(node: dict[str, Any], name: str, description: str | None) -> tuple[list[str], bool]:
    """The words a schema says about a field and everything below it, and whether it holds a date."""
    description = node.get("description", description)
    words = [field_words(name), description or ""]
    options = non_null_options(node) if "anyOf" in node else [node]
    dated = False
    for option in options:
        if option.get("type") == "object":
            for key, sub in option.get("properties", {}).items():
                more, sub_dated = _said(sub, key, None)
                words += more
                dated = dated or sub_dated
        elif option.get("type") == "array":
            more, sub_dated = _said(option["items"], name, None)
            words += more
            dated = dated or sub_dated
        elif date_ask(name, description, option) is not None:
            dated = True
    return words, dated


def field_queries(hardened: dict[str, Any]) -> dict[str, str]:
    """{top-level field: its query text}."""
    queries = {}
    for key, node in hardened.get("properties", {}).items():
        words, dated = _said(node, key, None)
        queries[key] = " ".join(w for w in words + (_DATE_CUES if dated else []) if w)
    return queries


def rank(texts: list[str], queries: dict[str, str], stem: Callable[[list[str]], list[str]] = english_stem) -> dict[str, list[tuple[int, float]]]:
    """{field: [(window, score)] best first, windows without any of its words left out}."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize(texts, stopwords="en", stemmer=stem, show_progress=False), show_progress=False)
    ranked = {}
    for field, query in queries.items():
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stem, return_ids=False, show_progress=False)[0]
        scores = retriever.get_scores(list(dict.fromkeys(tokens))) if tokens else [0.0] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: (-float(scores[i]), i))
        ranked[field] = [(i, float(scores[i])) for i in order if scores[i] > 0]
    return ranked


def list_fields(hardened: dict[str, Any]) -> frozenset[str]:
    """The top-level fields that hold lists (a later window's items replace the first window's: `merge.focus`)."""
    return frozenset(key for key, node in hardened.get("properties", {}).items()
                     if any(option.get("type") == "array" for option in (non_null_options(node) if "anyOf" in node else [node])))


def choose(texts: list[str], queries: dict[str, str], per_field: int = 1, margin: float = STANDS_OUT,
           floor: float = FLOOR, stem: Callable[[list[str]], list[str]] = english_stem,
           lists: frozenset[str] = frozenset()) -> list[tuple[int, list[str]]]:
    """The windows to read, in document order, each with the fields it was chosen for: the first window
    always, and among each field's `per_field` best those that stand out from the first (a score at least
    `margin` times the first window's, and at least `floor`; for a list, one of `lists`, `LIST_STANDS_OUT`
    times more): a field the first window speaks of about as much as any other, or one no window speaks of
    distinctly, is left to the first window, which reads the whole schema anyway."""
    return plan_reads(texts, queries, per_field, margin, floor, stem, lists).chosen


@dataclass(frozen=True)
class ReadPlan:
    """`chosen`: the windows read first, in document order, each with its fields (`choose`). `reserve`: the
    second pass, by the position in `chosen` of the window that reads a field last, the next-ranked windows
    for its scalar fields, [(window, [fields])]: read for a field only when that window leaves it null."""

    chosen: list[tuple[int, list[str]]]
    reserve: dict[int, list[tuple[int, list[str]]]]


def plan_reads(texts: list[str], queries: dict[str, str], per_field: int = 1, margin: float = STANDS_OUT,
               floor: float = FLOOR, stem: Callable[[list[str]], list[str]] = english_stem,
               lists: frozenset[str] = frozenset(), second_reads: int = SECOND_READS) -> ReadPlan:
    """`choose`'s windows, and for each scalar field the best-ranked window not read for it that speaks of it
    (a score at least `floor`): where its second pass looks when the window read for it last (its chosen
    window, else the first) leaves it null. A list is left alone: its items come from where it stands out.
    At most `second_reads` second reads per document (a spare window for a window read first), those scoring
    highest for some field: a wide schema has a spare for nearly every field, and a document must not cost a
    window per field it does not state."""
    ranked = rank(texts, queries, stem)
    chosen: dict[int, list[str]] = {0: []}
    for field, order in ranked.items():
        first = next((score for window, score in order if window == 0), 0.0)
        needed = margin * (LIST_STANDS_OUT if field in lists else 1.0) * first
        for window, score in order[:per_field]:
            if window == 0 or (score >= needed and score >= floor):
                chosen.setdefault(window, []).append(field)
    plan = sorted(chosen.items())
    position = {window: i for i, (window, _) in enumerate(plan)}
    spares: list[tuple[float, str, int, int]] = []  # (score, field, spare window, position of the window it backs up)
    for field, order in ranked.items():
        if field in lists:
            continue
        read = {0} | {window for window, fields in plan if field in fields}
        spare = next(((window, score) for window, score in order if window not in read and score >= floor), None)
        if spare is not None:
            spares.append((spare[1], field, spare[0], position[max(read)]))
    kept: list[tuple[int, int]] = []  # (window read first, its spare): the reads that speak most distinctly of some field
    for _, _, window, last in sorted(spares, key=lambda s: (-s[0], s[2], s[3])):
        if (last, window) not in kept and len(kept) < second_reads:
            kept.append((last, window))
    backups: dict[int, dict[int, list[str]]] = {}
    for _, field, window, last in spares:
        if (last, window) in kept:
            backups.setdefault(last, {}).setdefault(window, []).append(field)
    reserve = {last: sorted(by_window.items()) for last, by_window in sorted(backups.items())}
    return ReadPlan(plan, reserve)


def field_group(hardened: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The hardened schema with only `fields` of its top-level properties (in the schema's order), to read a
    window chosen for them; the schema itself when that would leave nothing out or nothing in."""
    properties = hardened.get("properties") or {}
    keep = [key for key in properties if key in set(fields)]
    if not keep or len(keep) == len(properties):
        return hardened
    group = {**hardened, "properties": {key: properties[key] for key in keep}}
    if "required" in hardened:
        group["required"] = [key for key in hardened["required"] if key in keep]
    group.pop("examples", None)  # a worked example of the whole record is not one of the group's
    return group


__all__ = ["field_queries", "list_fields", "rank", "choose", "plan_reads", "ReadPlan", "english_stem", "field_group", "RETRIEVAL_OFF", "RETRIEVAL_BM25", "RETRIEVAL_MODES"]
