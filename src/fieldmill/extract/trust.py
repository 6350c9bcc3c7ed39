"""How far each value can be trusted: the model's token probability, combined with what the run knows.

A fine-tuned model is over-sure, most of all about `null` and most of all on documents unlike
its training data, so the token probability (`fieldmill.extract.confidence`) is one signal of several:

* grounding: the value is copied from the document (exact or normalised text), read from it
  (a date, an amount or a number in words that the document prints in another form), near a
  printed string (fuzzy: OCR slips), found nowhere (`ungrounded`), or not checkable (enums,
  booleans: the schema supplies them);
* rules: a rule of the schema names the field (pydantic refused the value);
* candidates: for a `null`, whether the document holds something of the field's kind, a
  date-like string for a date, its label near a number for an amount, its label for a text
  field, one of a choice's options on a line with its label: a `null` while candidates exist
  is not sure. For a field of a list's item, the lines where the item's other values are
  printed are searched instead (a lab result's row printing `H` beside a null flag);
* labelled: for a value found in the document, whether a word of the field's name is printed
  just before it (on its line or the line above): a value under its own label, not a number
  taken from a neighbouring line;
* shared: the value is found where the document states another field's value (the same
  printed span as a value of a differently named field): the sales tax's amount given as the
  payment terms too, a buyer's phone under the seller as well;
* headed: for a list's item, whether a word of the list's name or of the field's own name
  (a table's title or column header) is printed before the item: a row of the table asked
  for, not of a neighbouring table or a heading read as an item;
* confirmed: a number that a rule of the schema ties to other values, and the record keeps
  that rule (`schema.records.confirmed_by_rules`: a line's amount, quantity and unit price
  that multiply out, a total that is the sum of its parts): read in agreement with them.

Without a fitted calibration the combination is conservative: every signal that speaks
against a value caps its confidence (`CAPS`). With one (`fieldmill calibrate`, stored as
`fieldmill-calibration.json` in the model folder or beside the adapter, so it travels with
the model), a logistic model over the same signals maps them to the probability that the
value is right, fitted on labelled results.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from fieldmill.schema.document_dates import printed_dates
from fieldmill.schema.hardening import non_null_options

CALIBRATION_FILE = "fieldmill-calibration.json"
GROUNDINGS = ("copied", "read", "near", "ungrounded", "unchecked", "null")
# What kind of field a value fills (its schema node): a calibration learns each kind's own reliability.
KINDS = ("text", "number", "date", "choice", "other")
_MATCHES = {"exact": "copied", "normalised": "copied", "date": "read", "number": "read", "words": "read", "fuzzy": "near"}
# Without a fitted calibration: what each signal against a value caps its confidence at.
CAPS = {"near": 0.9, "ungrounded": 0.5, "broken_rule": 0.5, "null_with_candidates": 0.5}

_WORD = re.compile(r"[^\W\d_]{2}")  # two letters: a line printing a word, not only punctuation or digits
_INNER_HYPHEN = re.compile(r"(?<=[a-z])-(?=[a-z])")
_ITEM_INDEX = re.compile(r"\[\d+\]")
_AMOUNT_LIKE = re.compile(r"\d[\d,. '\u00a0]*[.,]\d{2}(?!\d)|\d+")
_DATE_WORDS = {"date", "dated", "dob", "day", "birth", "born", "issued", "expiry", "expires", "due", "admission", "discharge", "effective"}
_AMOUNT_WORDS = {"total", "amount", "price", "cost", "fee", "fees", "tax", "vat", "gst", "sum", "balance", "subtotal", "paid", "due", "net", "gross"}
# Words of a field's name that say nothing about where the document states it.
_PLAIN_WORDS = {"the", "of", "and", "or", "a", "an", "no", "nr", "num", "number", "id", "name", "value", "text", "type", "code", "info", "is", "as"}
# Words that label the same thing on documents of many countries: a field named by one is labelled by any
# (a `phone` printed under `TEL`, a `vat_amount` under `GST`, a `buyer` under `Customer`).
PRINTED_AS = ({"vat", "tax", "gst", "hst", "iva", "tva", "mwst", "ust"}, {"phone", "telephone", "tel", "mobile"},
              {"reference", "ref"}, {"postcode", "zip", "postal"}, {"seller", "supplier", "vendor"},
              {"buyer", "customer", "client"}, {"fax", "facsimile"})


@dataclass(frozen=True)
class ValueSignals:
    """What the run knows about one value of one record."""

    path: str
    token_p: float
    grounding: str  # one of GROUNDINGS
    broken_rule: bool = False
    candidates: bool = False  # a null while the document holds candidates of the field's kind
    labelled: bool = False  # a found value with a word of the field's name printed just before it
    kind: str = "other"  # one of KINDS
    in_list: bool = False  # an item of a list (or a field inside one)
    shared: bool = False  # found where the document states a value of another field
    headed: bool = False  # a list item's value under its list's or its own name (a table's title or column header)
    confirmed: bool = False  # a number a kept rule of the schema ties to other values (`schema.records.confirmed_by_rules`)

    def as_row(self) -> dict[str, Any]:
        return {"field": self.path, "token_p": self.token_p, "grounding": self.grounding, "broken_rule": self.broken_rule,
                "candidates": self.candidates, "labelled": self.labelled, "kind": self.kind, "in_list": self.in_list,
                "shared": self.shared, "headed": self.headed, "confirmed": self.confirmed}

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> ValueSignals:
        """A stored signal row; one written before a signal existed reads as that signal absent."""
        return cls(row["field"], float(row["token_p"]), row["grounding"], bool(row["broken_rule"]), bool(row["candidates"]),
                   bool(row.get("labelled", False)), row.get("kind") or "other", bool(row.get("in_list", False)),
                   bool(row.get("shared", False)), bool(row.get("headed", False)), bool(row.get("confirmed", False)))

    def features(self) -> list[float]:
        """The calibration's inputs (`FEATURES`): the signals, and the token probability's log-odds once more per
        grounding and for a list's items (how far the model's certainty can be believed depends on both: a sure
        copied value is right far more often than a sure null), a null per field kind, a value shared with another field
        (text apart: a name or a term shared is rarely right, an amount printed once for two fields often is), a list
        item under its table's header, and a number a rule confirms (with its log-odds once more)."""
        p = min(max(self.token_p, 1e-6), 1 - 1e-6)
        logit = math.log(p / (1 - p))
        null = self.grounding == "null"
        return [logit, *(float(self.grounding == g) for g in GROUNDINGS), float(self.broken_rule),
                float(null and self.candidates), float(self.labelled), *(float(self.kind == k) for k in KINDS),
                float(self.in_list), *(logit * (self.grounding == g) for g in GROUNDINGS), logit * self.in_list,
                *(float(null and self.kind == k) for k in KINDS), float(null and self.in_list),
                float(self.shared and self.kind == "text"), float(self.shared and self.kind != "text"), float(self.in_list and self.headed),
                float(self.confirmed), logit * self.confirmed]


FEATURES = ("token_logit", *(f"grounding_{g}" for g in GROUNDINGS), "broken_rule", "null_with_candidates", "labelled",
            *(f"kind_{k}" for k in KINDS), "in_list", *(f"token_logit_{g}" for g in GROUNDINGS), "token_logit_in_list",
            *(f"null_{k}" for k in KINDS), "null_in_list", "shared_text", "shared_other", "in_list_headed", "confirmed", "token_logit_confirmed")
# How far before a list item its table's title or column header may be printed (characters).
HEADER_REACH = 1500


def signals(token_confidence: dict[str, float], answer: Any, hardened: dict[str, Any], evidence: list[dict[str, Any]],
            ungrounded: list[str], errors: list[dict[str, Any]], text: str, confirmed: frozenset[str] = frozenset()) -> list[ValueSignals]:
    """The signals of every value the model gave a token probability for (`answer` is the parsed JSON it wrote;
    the evidence's offsets are in `text`; `confirmed`: the paths of the numbers the schema's rules confirm)."""
    matched = {e["field"]: _MATCHES.get(e.get("match", ""), "copied") for e in evidence}
    starts = {e["field"]: int(e["start"]) for e in evidence if e.get("start") is not None}
    refused = {e.get("field") for e in errors}
    lowered = text.lower()
    item_lines = _item_lines(evidence, text)
    shared = _shared(evidence)
    item_starts = {item: start for item, (start, _) in _item_spans(evidence, _top_item).items()}
    out = []
    for path, p in token_confidence.items():
        value = value_at(answer, path)
        if value is None:
            grounding = "null"
        elif path in matched:
            grounding = matched[path]
        elif path in ungrounded:
            grounding = "ungrounded"
        else:
            grounding = "unchecked"
        node = node_at(hardened, path)
        item = item_lines.get(_item_of(path)) if "[" in path else None
        candidates = grounding == "null" and has_candidates(path, node, lowered, item)
        labelled = path in starts and label_before(path, lowered, starts[path])
        headed = "[" in path and _headed(path, lowered, item_starts.get(_top_item(path)))
        out.append(ValueSignals(path, p, grounding, path in refused, candidates, labelled, field_kind(node), "[" in path, path in shared, headed,
                                path in confirmed and path not in refused))
    return out


def _shared(evidence: list[dict[str, Any]]) -> set[str]:
    """The paths whose value is found at the very span where a value of a differently named field is (the items of
    one list share their fields' names: a unit printed once for every row is not shared)."""
    names: dict[tuple[int, int], set[str]] = {}
    for e in evidence:
        if e.get("start") is not None and e.get("end") is not None:
            names.setdefault((int(e["start"]), int(e["end"])), set()).add(without_indexes(e["field"]))
    return {e["field"] for e in evidence if e.get("start") is not None and e.get("end") is not None
            and len(names[(int(e["start"]), int(e["end"]))]) > 1}


def _headed(path: str, lowered_text: str, item_start: int | None) -> bool:
    """Whether a word of the list's name or of the field's own name is printed in the `HEADER_REACH` characters
    before the item's first value (`Lab results` over the table, or its `Test  Value  Unit` header)."""
    if item_start is None:
        return False
    words = label_words(path[: path.index("[")]) | label_words(path)
    return label_seen(words, lowered_text[max(0, item_start - HEADER_REACH): item_start])


def field_kind(node: dict[str, Any] | None) -> str:
    """The kind of field a schema node is (one of KINDS): a date is one typed as a date (a text that asks for a printed date is text)."""
    node = node or {}
    options = non_null_options(node)
    kinds = {t for o in options for t in (o.get("type") if isinstance(o.get("type"), list) else [o.get("type")])}
    if "enum" in node or "const" in node or "boolean" in kinds or any("enum" in o for o in options):
        return "choice"
    if kinds & {"number", "integer"}:
        return "number"
    if {o.get("format") for o in options} & {"date", "date-time"}:
        return "date"
    if "string" in kinds:
        return "text"
    return "other"


def label_before(path: str, lowered_text: str, start: int, reach: int = 80, words: set[str] | None = None,
                 own_line: bool = False) -> bool:
    """Whether a word of the field's name (or of `words`) is printed just before offset `start`: on its line or the
    line above, at most `reach` characters back (`Total: 12.50`, or `INVOICE NO` over `: TX-2210457`). With `own_line`,
    a value whose line prints words before it is labelled by them alone (`Invoice total 724.90` under `Tax 115.74` is
    not the tax)."""
    line_start = lowered_text.rfind("\n", 0, start) + 1
    above = lowered_text.rfind("\n", 0, max(0, line_start - 1)) + 1
    if own_line and _WORD.search(lowered_text[line_start:start]):
        above = line_start
    context = lowered_text[max(above, start - reach):start]
    return label_seen(label_words(path) if words is None else words, context)


def has_candidates(path: str, node: dict[str, Any] | None, lowered_text: str, item_text: str | None = None) -> bool:
    """Whether the document holds something of the field's kind: a date-like string for a date, the field's
    label with a number for an amount or count, the field's label for a text, one of a choice's options on a
    line with the field's label. With `item_text` (the lines printing a list item's other values, as printed),
    those lines are searched instead of the document, and for a choice its option's initial (`H` for high) too."""
    node = node or {}
    if item_text is not None:
        lowered_text = item_text.lower()
    words = label_words(path)
    kind = field_kind(node)
    if kind == "choice":
        choices = options_of(node)
        if not choices:
            return False  # a yes/no is read from wording, not printed as a value: its absence is a reading, not a miss
        if item_text is not None:
            return option_printed(choices, item_text, initials=True)
        return any(option_printed(choices, line) for line in lowered_text.splitlines() if label_seen(words, line))
    ask = value_ask(path, node)
    if ask == DATE_ASK:
        return bool(printed_dates(lowered_text))  # one reader of printed dates: the one that decodes them (document_dates)
    label = label_seen(words - _DATE_WORDS if words - _DATE_WORDS else words, lowered_text)
    if ask == AMOUNT_ASK:
        return label and bool(_AMOUNT_LIKE.search(lowered_text))
    return label


DATE_ASK, AMOUNT_ASK, TEXT_ASK = "date", "amount", "text"


def value_ask(path: str, node: dict[str, Any] | None) -> str:
    """What a field that is not a choice asks the document for, as its candidates are found: a date (typed as one, or a
    text whose name or description speaks of a date), an amount (a number, or a name that speaks of money), or text."""
    node = node or {}
    words, kind = label_words(path), field_kind(node)
    if kind == "date" or (kind != "number" and (words & _DATE_WORDS or "date" in str(node.get("description") or "").lower())):
        return DATE_ASK
    return AMOUNT_ASK if kind == "number" or words & _AMOUNT_WORDS else TEXT_ASK


def amounts_in(text: str) -> list[str]:
    """The amount-like strings of a text (`724.90`, `1,234.50`, `30`), as candidates for an amount are found."""
    return [m.group(0) for m in _AMOUNT_LIKE.finditer(text)]


def options_of(node: dict[str, Any] | None) -> list[str]:
    """A choice's options (its enum's values, nullable or not), as text."""
    node = node or {}
    return [str(c) for o in [node, *non_null_options(node)] for c in o.get("enum", []) if c is not None]


def option_printed(choices: list[str], text: str, initials: bool = False) -> bool:
    """Whether one of a choice's options is printed in `text` as a word (any case), or with `initials`, as its
    capital initial standing alone between spaces or brackets (`H`, `(L)` in a lab result's row, not the L of mmol/L)."""
    lowered = text.lower()
    for choice in choices:
        words = re.findall(r"[a-z0-9]+", choice.lower())
        if words and re.search(r"\b" + r"[\s_-]+".join(map(re.escape, words)) + r"\b", lowered):
            return True
        if initials and words and re.search(rf"(?<![^\s(\[]){re.escape(words[0][0].upper())}(?![^\s)\],;:*!])", text):  # not mmol/L
            return True
    return False


def _item_of(path: str) -> str:
    """The innermost list item a field path is in (`orders[0].lines[3].sku` -> `orders[0].lines[3]`)."""
    return path[: path.rindex("]") + 1]


def _top_item(path: str) -> str:
    """The top-level list item a field path is in (`orders[0].lines[3].sku` -> `orders[0]`)."""
    return path[: path.index("]") + 1]


def _item_spans(evidence: list[dict[str, Any]], item_of) -> dict[str, tuple[int, int]]:
    """{list item (as `item_of` names it): (start, end) of the text from its first to its last value with evidence}."""
    spans: dict[str, tuple[int, int]] = {}
    for e in evidence:
        field, start, end = e.get("field", ""), e.get("start"), e.get("end")
        if "[" not in field or start is None or end is None:
            continue
        item = item_of(field)
        low, high = spans.get(item, (int(start), int(end)))
        spans[item] = (min(low, int(start)), max(high, int(end)))
    return spans


def _item_lines(evidence: list[dict[str, Any]], text: str) -> dict[str, str]:
    """{list item: the lines of `text` where its values with evidence are printed}."""
    lines = {}
    for item, (start, end) in _item_spans(evidence, _item_of).items():
        first = text.rfind("\n", 0, start) + 1
        last = text.find("\n", end)
        lines[item] = text[first: len(text) if last < 0 else last]
    return lines


def label_words(path: str) -> set[str]:
    """The words of a field's own name (`line_items[0].unitPrice` -> {unit, price}), the words documents print for them
    instead (`PRINTED_AS`: `phone` -> tel, telephone, mobile) and, for a name of three words or more, its initials
    (`primary_care_physician` -> `pcp`, `date_of_birth` -> `dob`): documents print them as the label. Initials are
    marked with a trailing `$`: they label only as a whole word (`DOB`, not `Dobson`)."""
    name = _ITEM_INDEX.sub("", path).rsplit(".", 1)[-1]
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    all_words = [w for w in re.split(r"[^a-zA-Z]+", name.lower()) if w]
    words = {w for w in all_words if len(w) >= 2 and w not in _PLAIN_WORDS}
    words = words.union(*(group for group in PRINTED_AS if words & group))
    if len(all_words) >= 3:
        words.add("".join(w[0] for w in all_words) + _WHOLE)
    return words


_WHOLE = "$"  # a label word that labels only as a whole word (a name's initials)


def label_seen(words: set[str], lowered_text: str) -> bool:
    """Whether one of the words starts a word of the text (a word marked `_WHOLE`: is a word of it); a hyphen inside a word
    is ignored (`e-mail` is email)."""
    pattern = label_pattern(words)
    return bool(pattern and pattern.search(unhyphenated(lowered_text)))


def label_pattern(words: set[str]) -> re.Pattern[str] | None:
    """A regex that finds the words as `label_seen` does, each match running to the end of the text's word it starts
    (None: no word long enough to label)."""
    patterns = [rf"\b{re.escape(w[:-1])}\b" if w.endswith(_WHOLE) else rf"\b{re.escape(w)}\w*" for w in words if len(w.rstrip(_WHOLE)) >= 3]
    return re.compile("|".join(patterns)) if patterns else None


def unhyphenated(lowered_text: str) -> str:
    """The text as labels are sought in it: without hyphens inside words (`e-mail` is email)."""
    return _INNER_HYPHEN.sub("", lowered_text)


def value_at(record: Any, path: str) -> Any:
    """The value at a field path (`seller.address.city`, `line_items[2].amount`; `$` is the whole record), else None."""
    for step in path_steps(path):
        if step.startswith("["):
            index = int(step[1:-1])
            record = record[index] if isinstance(record, list) and index < len(record) else None
        else:
            record = record.get(step) if isinstance(record, dict) else None
    return record


def set_value_at(record: dict[str, Any], path: str, value: Any) -> bool:
    """Put `value` at a field path of `record` (parsed JSON), making the objects above it where they are missing or null;
    False (nothing changed) when a list item on the way is not there."""
    *parents, last = path_steps(path)
    target: Any = record
    for step, following in zip(parents, [*parents[1:], last]):
        if step.startswith("["):
            index = int(step[1:-1])
            if not isinstance(target, list) or index >= len(target):
                return False
            target = target[index]
        else:
            if not isinstance(target, dict):
                return False
            if not isinstance(target.get(step), (dict, list)):
                if following.startswith("["):
                    return False
                target[step] = {}
            target = target[step]
    if last.startswith("["):
        index = int(last[1:-1])
        if not isinstance(target, list) or index >= len(target):
            return False
        target[index] = value
    elif isinstance(target, dict):
        target[last] = value
    else:
        return False
    return True


def node_at(hardened: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The schema node of a field path."""
    node: dict[str, Any] | None = hardened
    for step in path_steps(path):
        options = non_null_options(node)
        if step.startswith("["):
            node = next((o["items"] for o in options if o.get("type") == "array"), None)
        else:
            node = next((o["properties"][step] for o in options if step in o.get("properties", {})), None)
        if node is None:
            return None
    return node


def without_indexes(path: str) -> str:
    """A field path as every item of its lists shares it (`lab_results[3].flag` -> `lab_results[].flag`)."""
    return _ITEM_INDEX.sub("[]", path)


def path_steps(path: str) -> list[str]:
    """A field path's property names and `[i]` indexes (`$`, the record itself, has none)."""
    return re.findall(r"[^.\[\]$]+|\[\d+\]", path)


@dataclass(frozen=True)
class Calibration:
    """A logistic model over `ValueSignals.features()`: the probability that a value is right."""

    weights: tuple[float, ...]
    bias: float
    fitted_values: int = 0

    def __call__(self, value: ValueSignals) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, value.features()))
        return 1 / (1 + math.exp(-max(-60.0, min(60.0, z))))

    def to_json(self) -> dict[str, Any]:
        return {"kind": "logistic", "features": list(FEATURES), "weights": list(self.weights), "bias": self.bias,
                "fitted_values": self.fitted_values}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        """A stored calibration; one fitted before a signal existed gives that signal no weight."""
        names = list(data.get("features", []))
        if data.get("kind") != "logistic" or not set(names) <= set(FEATURES) or len(names) != len(data.get("weights", [])):
            raise ValueError(f"a calibration of kind {data.get('kind')!r} over {names} is not one this fieldmill reads")
        weight = dict(zip(names, (float(w) for w in data["weights"])))
        return cls(tuple(weight.get(name, 0.0) for name in FEATURES), float(data["bias"]), int(data.get("fitted_values", 0)))


def fit(values: list[ValueSignals], right: list[bool], l2: float = 1.0, steps: int = 50) -> Calibration:
    """Fit the logistic calibration by Newton's method (L2-regularised, so a signal never seen stays neutral)."""
    import numpy as np

    if not values:
        raise ValueError("no labelled values to fit a calibration on")
    x = np.array([[1.0, *v.features()] for v in values])
    y = np.array([float(r) for r in right])
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[0] = 1e-6  # the intercept is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -60, 60)))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return Calibration(tuple(float(v) for v in w[1:]), float(w[0]), len(values))


def combined(value: ValueSignals, calibration: Calibration | None = None) -> float:
    """The value's confidence: the fitted calibration's probability, else the token probability capped by every signal against it."""
    if calibration is not None:
        return round(calibration(value), 6)
    p = value.token_p
    if value.grounding in ("near", "ungrounded"):
        p = min(p, CAPS[value.grounding])
    if value.broken_rule:
        p = min(p, CAPS["broken_rule"])
    if value.grounding == "null" and value.candidates:
        p = min(p, CAPS["null_with_candidates"])
    return round(p, 6)


def load_calibration(*folders) -> Calibration | None:
    """The calibration stored with a model: beside its adapter first, else in the model folder."""
    for folder in folders:
        if folder is None:
            continue
        path = folder / CALIBRATION_FILE
        if path.is_file():
            return Calibration.from_json(json.loads(path.read_text()))
    return None


__all__ = ["ValueSignals", "Calibration", "signals", "combined", "fit", "load_calibration", "has_candidates", "label_before", "label_words", "label_pattern", "unhyphenated",
           "value_ask", "amounts_in", "option_printed", "options_of", "field_kind", "node_at", "without_indexes", "DATE_ASK", "AMOUNT_ASK", "TEXT_ASK", "value_at", "set_value_at", "CALIBRATION_FILE", "FEATURES"]
