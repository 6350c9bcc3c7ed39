"""Nulls the run doubts, read again with `null` not allowed.

A fine-tuned model is most often wrong, and most sure, when it says a document does not state a
field (`trust`: a `null` while the document holds candidates of the field's kind, a date-like
string for a date, the field's label for a text). Such a null is asked again, once per document:
the fields it doubts, in one short request whose schema lets them be anything but null (the
document's dates and numbers still bound them, `lark_grammar`). What the second answer gives
is kept only when the document backs it and it is new:

* grounded: copied from the document (exact or normalised) or read from it (a date, an amount
  printed in another form); a value found nowhere, only near a printed string, or not checkable
  (a choice) stays null;
* under its own label: a word of the field's name that names it rather than its kind, or a word documents
  print for it (`Tax` or `GST` for a VAT, `Tel` for a phone), is printed just before it (`Email:` before an
  address, `VAT` before an amount, `Due` before a due date, not any `date`), on its own line when that line
  prints words before it (the total under the tax line is not the tax): a forced answer with no label of its
  own is most often a neighbour's value (the subtotal offered as the tax, the order date as the due date);
* in its object's block: a field of an object (the buyer's tax id) is printed where most of the nearest
  values are that object's (the buyer's lines, not the seller's or the totals);
* new: no other field of the record already holds it (a due date that is the issue date, the
  seller's e-mail offered as the buyer's: what a forced answer reaches for when the field is
  really absent);
* likely: its own confidence (token probability and signals, calibrated) is at least even odds
  (`KEEP_FROM`): the model forced to answer and unsure is guessing;
* the record still passes the schema's rules with it.

Fields inside lists are not asked here (an item's null is judged on its own row: a choice its row prints
is asked with these, `row_choices`); a long document's windows have their own second reads
(`retrieval.plan_reads`).

A null is asked again where the first answer wrote it (`continuations`): the prompt and the first answer up to the
first doubted field's key, then the answer continued from there (`stretch`): each doubted value, not null, is
decoded; the first answer's text between them (the other fields' values as they were, the next key) is fixed and
decoded too, so where that text is long a new request starts at the next doubted key instead (`stretches`). The engine finds the document already in its prefix cache, and the model reads its other answers before each
value, as it was trained to; the values are put in their nulls' places (`pieces`, `joined`). An engine that cannot
tokenise an answer's start asks the doubted fields in a request of their own instead (`without_null`: a prompt of
those fields only).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from fieldmill.engines.base import Generation
from fieldmill.extract.confidence import SpanError, value_spans
from fieldmill.extract.trust import (AMOUNT_ASK, DATE_ASK, amounts_in, label_before, label_pattern, label_words, node_at, set_value_at, unhyphenated,
                                    value_ask, value_at)
from fieldmill.schema.document_dates import printed_dates
from fieldmill.schema.hardening import non_null_options

NULLS_REREAD = "reread"
NULLS_KEPT = "keep"
NULLS_MODES = (NULLS_REREAD, NULLS_KEPT)
# How a value read again must be found in the document (`trust.GROUNDINGS`) to replace a null.
BACKED = ("copied", "read")
# Words that say what kind of value a field holds, not which one: any date is printed under some `date`.
_KIND_WORDS = {"date", "amount", "total", "value", "number", "sum"}
KEEP_FROM = 0.5  # the least confidence a value read again needs to replace a null
_AMOUNT = re.compile(r"[^\d\s.,-]{0,3}\s?-?\d{1,3}(,?\d{3})*(\.\d+)?")  # 724.90, $1,234.5, 12 (not a date, a phone, an id with letters)


def doubted_nulls(signals: list[dict[str, Any]], text: str, record: Any = None, hardened: dict[str, Any] | None = None) -> list[str]:
    """The paths of the nulls worth asking again: outside lists, not a choice (its answer cannot be checked
    against the text), with candidates of the field's kind in the document (`text`), and under a word of the field's
    own name something a second read could keep (`answerable`: the first answer, `record`, holds the values no other
    field may take; `hardened` says what each field asks): an answer is kept only under its own label and only when
    new (`accepted`), so a field the document never names (an invoice's service period, where any printed date is a
    candidate), or whose label is followed only by other fields' values (`Payment: Bank transfer` for a payment
    reference), is not worth a request."""
    lowered = unhyphenated(text.lower())
    held = _held_texts(record)
    held_plain = {_plain(h) for h in held}  # the same for every path: computed once
    labels = label_pattern(set().union(*(label_words(s["field"]) for s in signals))) if signals else None
    return [s["field"] for s in signals
            if s.get("grounding") == "null" and s.get("candidates") and "[" not in s["field"] and s.get("kind") != "choice"
            and answerable(s["field"], node_at(hardened, s["field"]) if hardened else None, lowered, held, labels, held_plain)]


def answerable(path: str, node: dict[str, Any] | None, lowered: str, held: list[str], labels: re.Pattern[str] | None = None,
               held_plain: set[str] | None = None) -> bool:
    """Whether the document (`lowered`: lower case, `unhyphenated`) prints, after a word of the field's own name (on
    that word's line, or on the next line when nothing follows it), something a second read could keep: a date for a
    field that asks a date, an amount for an amount, other text for text; not a value of `held` (the first answer's,
    `_held_texts`; `held_plain`: their `_plain` forms, when the caller has them), nor for text only labels (`labels`:
    the record's fields' label words) or a date alone."""
    own = label_pattern(own_words(path))
    if own is None:
        return False
    ask = value_ask(path, node)
    held_plain = held_plain if held_plain is not None else {_plain(h) for h in held}
    for match in own.finditer(lowered):
        after = _after_label(lowered, match)
        for value in held:
            after = after.replace(value, " ")
        if ask == DATE_ASK:
            if printed_dates(after):
                return True
        elif ask == AMOUNT_ASK:
            if any(_plain(amount) not in held_plain for amount in amounts_in(after)):
                return True
        else:
            rest = (labels.sub(" ", after) if labels else after).strip(" \t:;-#.,|")
            if not _WORDISH.search(rest) or _plain(rest) in held_plain:
                continue
            dates = printed_dates(rest)
            if not dates or sum(len(d.text) for d in dates) < 0.8 * len(re.sub(r"\s", "", rest)):
                return True
    return False


_WORDISH = re.compile(r"[^\W_]{2}")


def _after_label(lowered: str, match: re.Match[str]) -> str:
    """The label's line from the label on, or the next line when nothing follows the label on its own."""
    end = lowered.find("\n", match.end())
    end = len(lowered) if end < 0 else end
    if _WORDISH.search(lowered[match.end():end]) or re.search(r"\d", lowered[match.end():end]):
        return lowered[match.start():end]
    following = lowered.find("\n", end + 1)
    return lowered[end + 1:len(lowered) if following < 0 else following]


def _held_texts(record: Any) -> list[str]:
    """The first answer's values as a document may print them (lower case; a choice's `bank_transfer` also as `bank
    transfer`), longest first so that a value is removed before any value inside it."""
    values = {str(v).lower() for v in _scalars(record)} if record is not None else set()
    values |= {v.replace("_", " ") for v in values}
    return sorted((v for v in values if len(v.strip()) >= 2), key=len, reverse=True)


def without_null(hardened: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """The schema of the top-level fields holding `paths`, each path (and the objects above it) no longer nullable (a
    free-text one not empty either)."""
    tops = list(dict.fromkeys(path.split(".", 1)[0] for path in paths))
    properties = hardened.get("properties") or {}
    out = {**hardened, "properties": {key: copy.deepcopy(properties[key]) for key in properties if key in tops}}
    out["required"] = [key for key in properties if key in tops]
    out.pop("examples", None)
    for path in paths:
        parent = out
        steps = path.split(".")
        for index, step in enumerate(steps):
            node = _not_null(parent["properties"][step])
            parent["properties"][step] = node
            if index < len(steps) - 1:
                parent = next(o for o in node.get("anyOf", [node]) if "properties" in o)
                parent["required"] = list(dict.fromkeys([*parent.get("required", []), steps[index + 1]]))
    return out


def field_schema(hardened: dict[str, Any], path: str) -> dict[str, Any]:
    """The schema of the value at `path` (a list item's field too: `lab_results[3].flag`), not nullable."""
    return _not_null(node_at(hardened, path))


@dataclass(frozen=True)
class Continuation:
    """Where a first answer is continued to ask one of its nulls again: from `cut` (the separator ahead of the field's
    key), the fixed `lead` (that separator and the key), then the value, which replaces the null ending at `end`, then
    the fixed `tail` (the separator after it: a model closes a string and writes the comma in one token, `",`)."""

    path: str
    cut: int
    lead: str
    end: int
    tail: str


def continuations(first: str, paths: list[str]) -> list[Continuation]:
    """The continuations of the first answer's JSON text (compact, as the constraint writes it) that ask `paths` again;
    a path it does not hold as a compact key and value is left out."""
    try:
        spans = value_spans(first)
    except (SpanError, ValueError, IndexError):
        return []
    out = []
    for path in paths:
        if path not in spans:
            continue
        start, end = spans[path]
        key = json.dumps(path.rsplit(".", 1)[-1], ensure_ascii=False) + ":"
        cut = start - len(key) - 1
        if cut >= 0 and first[cut] in ",{" and first[cut + 1:start] == key and first[end:end + 1] in (",", "}"):
            out.append(Continuation(path, cut, first[cut:start], end, first[end]))
    return out


def list_close(first: str, name: str) -> int | None:
    """The offset of the `]` that closes the top-level list `name` in a first answer's JSON text, or None where the
    answer holds no such list."""
    decoder = json.JSONDecoder()
    try:
        at = first.index("{") + 1
        while first[at] != "}":
            key, at = decoder.raw_decode(first, at)
            at = first.index(":", at) + 1
            value, end = decoder.raw_decode(first, at)
            if key == name:
                return end - 1 if isinstance(value, list) and first[end - 1] == "]" else None
            at = end + 1 if first[end] == "," else end
    except (ValueError, IndexError):
        return None
    return None


def added_items(text: str) -> list[str]:
    """The items a continuation after a list's last item wrote (`,{...},{...}]`), each with its comma, complete ones only."""
    decoder = json.JSONDecoder()
    out, at = [], 0
    while text.startswith(",", at):
        try:
            _, end = decoder.raw_decode(text, at + 1)
        except ValueError:
            break
        out.append(text[at:end])
        at = end
    return out


def stretch(first: str, found: list[Continuation]) -> tuple[list[tuple[str, Continuation]], str]:
    """The one continuation of the first answer's JSON text (`first`) that asks all `found` again: from the first one's
    cut, each value after its lead (the first's own; the others' the first answer's text from the value before, the
    fields between as they were, to the key), then the last one's tail. Returns ([(lead, continuation)], tail)."""
    ordered = sorted(found, key=lambda c: c.cut)
    leads = [ordered[0].lead] + [first[before.end:after.cut + len(after.lead)] for before, after in zip(ordered, ordered[1:])]
    return list(zip(leads, ordered)), ordered[-1].tail


def stretches(first: str, found: list[Continuation], gap: int) -> list[tuple[list[tuple[str, Continuation]], str]]:
    """`found` as the stretches (`stretch`) that read them, in the answer's order: a new one wherever the first answer's
    text between two values is longer than `gap` characters (decoding that text again would cost more than a new
    request's prompt)."""
    ordered = sorted(found, key=lambda c: c.cut)
    groups = [[ordered[0]]]
    for before, after in zip(ordered, ordered[1:]):
        if after.cut + len(after.lead) - before.end > gap:
            groups.append([])
        groups[-1].append(after)
    return [stretch(first, group) for group in groups]


def pieces(stretched: list[tuple[str, Continuation]], generation: Generation) -> list[tuple[Continuation, Generation]]:
    """A stretch's generation (`stretch`) as one read per continuation, as `joined` puts them in place: each its own
    lead, value and tail, with the tokens that end there (forced tokens between are the first answer's own); the
    request's costs on the first. A generation cut short gives the values it finished."""
    text, decoder = generation.text, json.JSONDecoder()
    out: list[tuple[Continuation, Generation]] = []
    at = 0
    for lead, continuation in stretched:
        if not text.startswith(lead, at):
            break
        try:
            _, end = decoder.raw_decode(text, at + len(lead))
        except ValueError:
            break
        stop = end + len(continuation.tail)
        if text[end:stop] != continuation.tail:
            break
        begin = at + len(lead) - len(continuation.lead)
        tokens = [(e - begin, p) for e, p in zip(generation.token_ends, generation.token_logprobs) if begin < e <= stop]
        out.append((continuation, Generation(text[begin:stop], 0, 0, "stop", 0.0, tuple(p for _, p in tokens), tuple(e for e, _ in tokens), 0)))
        at = end
    costs = dict(prompt_tokens=generation.prompt_tokens, completion_tokens=generation.completion_tokens, finish_reason=generation.finish_reason,
                 generation_s=generation.generation_s, cached_prompt_tokens=generation.cached_prompt_tokens)
    if not out:
        return [(stretched[0][1], Generation("", **costs))]  # nothing to put in place: the costs still count
    return [(out[0][0], replace(out[0][1], **costs)), *out[1:]]


def joined(first: str, reads: list[tuple[Continuation, Generation]]) -> Generation:
    """The first answer with each continuation's value in its null's place, as one generation: the text, each read's tokens
    where its lead and value now stand (none when a read reports none), the reads' costs summed."""
    pieces: list[str] = []
    ends: list[int] = []
    logprobs: list[float] = []
    tokens = all(len(read.token_ends) == len(read.token_logprobs) > 0 for _, read in reads)
    at = 0
    for continuation, read in sorted(reads, key=lambda r: r[0].cut):
        if not (read.text.startswith(continuation.lead) and read.text.endswith(continuation.tail)):
            continue
        shared = max(0, at - continuation.cut)  # the separator the read before wrote as its tail
        pieces.append(first[at:continuation.cut])
        offset = sum(map(len, pieces)) - shared
        pieces.append(read.text[shared:])
        ends += [max(offset + end, ends[-1] if ends else 0) for end in read.token_ends]
        logprobs += read.token_logprobs
        at = continuation.end + len(continuation.tail)
    pieces.append(first[at:])
    return Generation(text="".join(pieces), prompt_tokens=sum(r.prompt_tokens for _, r in reads),
                      completion_tokens=sum(r.completion_tokens for _, r in reads),
                      finish_reason=next((r.finish_reason for _, r in reads if r.finish_reason != "stop"), "stop"),
                      generation_s=sum(r.generation_s for _, r in reads), token_logprobs=tuple(logprobs) if tokens else (),
                      token_ends=tuple(ends) if tokens else (), cached_prompt_tokens=sum(r.cached_prompt_tokens or 0 for _, r in reads))


def _not_null(node: dict[str, Any]) -> dict[str, Any]:
    options = [_not_empty(o) for o in non_null_options(node)]
    meta = {k: node[k] for k in ("title", "description") if k in node}
    if "enum" in node:
        return {**node, "enum": [v for v in node["enum"] if v is not None]}
    if len(options) == 1:
        return {**meta, **options[0]} if "anyOf" in node else _not_empty(node)
    return {**meta, "anyOf": options}


def _not_empty(option: dict[str, Any]) -> dict[str, Any]:
    """A free-text option that must hold a character: asked not to be null, a model otherwise answers `""`."""
    if option.get("type") == "string" and not option.get("minLength") and not {"pattern", "format", "enum", "const"} & set(option):
        return {**option, "minLength": 1}
    return option


def accepted(paths: list[str], first, again, text: str) -> dict[str, Any]:
    """{path: value} of the answers read again (`again`, an `Answer` of the fields in `paths`, read from `text`) that may
    replace the nulls of the first answer (`first`): backed by the document, under their own label, in their object's
    block, new and likely."""
    by_path = {s["field"]: s for s in again.signals}
    starts = {e["field"]: int(e["start"]) for e in again.evidence if e.get("start") is not None}
    held = {_plain(v) for v in _scalars(first.record) if _plain(v)}
    lowered = text.lower()
    confidence = again.confidence
    out: dict[str, Any] = {}
    for path in paths:
        value, signal = value_at(again.record, path), by_path.get(path, {})
        if value is None or isinstance(value, (dict, list)) or signal.get("grounding") not in BACKED or path not in starts:
            continue
        if not label_before(path, lowered, starts[path], words=own_words(path), own_line=True):
            continue
        if not in_block(path, starts[path], first.evidence):
            continue
        if confidence.get(path, 0.0) < KEEP_FROM:
            continue
        if _plain(value) in held:
            continue
        held.add(_plain(value))
        out[path] = value
    return out


def in_block(path: str, start: int, evidence, neighbours: int = 3) -> bool:
    """For a field of a top-level object (`buyer.tax_id`): whether most of the values printed nearest to `start` (the
    first answer's evidence, `neighbours` of them) are that object's. A first answer can misplace one value (the buyer's
    country also given to the seller), not most. Other fields: always."""
    if "." not in path:
        return True
    top = path.split(".", 1)[0]
    others = [e for e in evidence if e.get("start") is not None and e.get("field") != path and "[" not in e.get("field", "")]
    if not others:
        return True
    nearest = sorted(others, key=lambda e: max(int(e["start"]) - start, start - int(e["end"]), 0))[:neighbours]
    return sum(e["field"].startswith(top + ".") for e in nearest) * 2 > len(nearest)


def own_words(path: str) -> set[str]:
    """The words of a field's label (`trust.label_words`: its name's, and those documents print for them instead) that
    name it rather than its kind (`due_date` -> {due}; `date` -> {date}; `vat_amount` -> {vat, tax, gst, ...})."""
    words = label_words(path)
    return (words - _KIND_WORDS) or words


def with_json_values(first: dict[str, Any], answer: dict[str, Any], paths: list[str]) -> str:
    """The first answer (parsed JSON) with the second's values at `paths`, as JSON text to validate again."""
    out = copy.deepcopy(first)
    for path in paths:
        set_value_at(out, path, value_at(answer, path))
    return json.dumps(out, ensure_ascii=False)


def _scalars(value: Any):
    if isinstance(value, dict):
        for item in value.values():
            yield from _scalars(item)
    elif isinstance(value, list):
        for item in value:
            yield from _scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield value


def _plain(value: Any) -> str:
    """A value as compared for sameness: a number as its digits (`724.90` = 724.9 = `$724.90`), other text without case,
    spaces or punctuation (`+44 20 7946 0018` = `+442079460018`)."""
    text = str(value)
    if isinstance(value, (int, float, Decimal)) or _AMOUNT.fullmatch(text.strip()):
        try:
            number = Decimal(re.sub(r"[^\d.-]", "", text)).normalize()
            return format(number, "f")
        except InvalidOperation:
            pass
    return re.sub(r"[\W_]+", "", text.lower())


__all__ = ["list_close", "added_items", "doubted_nulls", "without_null", "field_schema", "Continuation", "continuations", "stretch", "stretches", "pieces", "joined", "accepted", "with_json_values", "NULLS_MODES", "NULLS_REREAD", "NULLS_KEPT", "BACKED", "KEEP_FROM", "own_words", "in_block", "answerable"]
