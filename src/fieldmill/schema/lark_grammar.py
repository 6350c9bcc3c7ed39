"""A record's constraint as a Lark grammar (llguidance's dialect), for what one regex cannot say.

The record's regex (`schema/constraint.py`) serves every backend. Three things need more, and
llguidance's Lark grammars have both (vLLM's `guidance` backend, the default, takes them
as a `grammar` structured output):

* **A pattern together with a length.** `{"pattern": "^[A-Z]+$", "maxLength": 3}` is the
  intersection of the two, which llguidance writes as `/pattern/ & /.{0,3}/` inside one
  terminal; an unbounded or unanchored pattern is fine there, since the length bounds
  it. The regex carries only the length (a superset), and validation checks the rest.
* **`--grounding strict`.** Every *free-text* string field (names, identifiers,
  addresses, descriptions: a string without an enum, a format or a pattern) is `null`
  or a JSON string whose value is a contiguous span of the document, through
  llguidance's substring lexeme (`%regex {"substring_chunks": [...]}`). The chunks are
  the document's words, spaces and punctuation marks, each already escaped as JSON string
  content, so any run of them is a valid JSON string body that decodes to that run of
  the document, quotes, backslashes and line breaks included.

* **Values the document prints.** A date field takes one of the dates the document prints,
  a number field one of its numbers, a signer field one of the lines under its closing and a
  patterned field asking for a printed code one of the texts matching its pattern, or only null
  where there is none (`schema/document_dates.py`, `schema/document_numbers.py`,
  `schema/document_signers.py`, `schema/document_codes.py`), as literal alternatives; the model
  still chooses which.

Either kind of string is bounded by the field's `maxLength` in JSON characters, which is
at most its length in characters, so the grammar's longest record is no longer than the
regex's and the token budget derived from the regex still holds. Everything else is
embedded as the constraint's own regex terminals.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

from fieldmill.schema.constraint import exact_pattern, value_node
from fieldmill.schema.grammar import JSON_STRING_CHAR, Repeat
from fieldmill.schema.document_codes import code_ask, printed_codes
from fieldmill.schema.document_dates import ISO, PrintedDate, date_ask, field_words, iso_candidates, named_dates, printed_candidates, printed_dates
from fieldmill.schema.document_numbers import DECIMAL2, NUMBER, PRINTED_AMOUNT, PrintedNumber, decimal2_candidates, number_ask, number_candidates
from fieldmill.schema.document_numbers import amount_texts, names_a_person, names_a_thing, printed_amount_candidates, printed_numbers
from fieldmill.schema.document_signers import signer_ask, signer_title_ask, signers_and_titles
from fieldmill.schema.patterns import pattern_body_regex

# What may pad an amount or a date that a naming field must not be: neither a letter nor a digit next to it, no letter
# further out. Only an amount with cents or a date is excluded padded; a bare number (`0`, `15`) only alone.
_PAD_BEFORE = r"[^A-Za-z0-9\u00C0-\u024F]*"
_PAD_AFTER = r"([^A-Za-z0-9\u00C0-\u024F][^A-Za-z\u00C0-\u024F]*)?"
_PADDED_WHEN = re.compile(r"\d[.,]\d{2}(?!\d)|\d[-/.]\d{1,2}[-/.]\d|[^\W\d_]")
_LABEL_MAX = 120  # longer descriptions are instructions, not what a model copies as a value
_CHUNK = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
_CONTROL = {i: " " for i in range(0x20) if chr(i) not in "\n\r\t"}


def is_free_text(node: dict[str, Any]) -> bool:
    return node.get("type") == "string" and not ({"enum", "const", "format", "pattern"} & set(node))


def _intersected(node: dict[str, Any]) -> bool:
    """A string whose pattern and length only a grammar can say together."""
    return (node.get("type") == "string" and node.get("pattern") is not None and "format" not in node
            and exact_pattern(node) is None and pattern_body_regex(node["pattern"]) is not None)


def _any(node: dict[str, Any], test) -> bool:
    if "anyOf" in node:
        return any(_any(o, test) for o in node["anyOf"])
    if node.get("type") == "array":
        return _any(node["items"], test)
    if node.get("type") == "object":
        return any(_any(s, test) for s in node.get("properties", {}).values())
    return test(node)


def has_free_text(node: dict[str, Any]) -> bool:
    """Whether a schema (node) has a free-text string field anywhere, so that strict grounding changes it."""
    return _any(node, is_free_text)


def needs_grammar(node: dict[str, Any]) -> bool:
    """Whether the schema says something (a pattern with a length) that its regex can only over-approximate."""
    return _any(node, _intersected)


def chunks(text: str) -> list[str]:
    """The document as JSON-escaped words, whitespace runs and single punctuation marks."""
    return [json.dumps(piece, ensure_ascii=False)[1:-1] for piece in _CHUNK.findall(text.translate(_CONTROL))]


def record_grammar(hardened: dict[str, Any], document: str | None = None, spans: bool = False, dates: bool = False,
                   numbers: bool = False, printed: "Printed | None" = None) -> str:
    """The record's Lark grammar: patterns intersected with lengths; for a `document`, free text as its
    spans (`spans`), date fields as the dates it prints (`dates`, `schema/document_dates.py`), number fields
    as the numbers it prints and signer fields as the lines under its closing (`numbers`,
    `schema/document_numbers.py`, `schema/document_signers.py`); `printed`: what was already read of it.

    An answer continued from fixed texts through one value or several: `stretch_grammar`."""
    return stretch_grammar((("", hardened, ""),), "", document, spans, dates, numbers, printed)


def stretch_grammar(values: Sequence[tuple[str, dict[str, Any], str]], tail: str = "", document: str | None = None, spans: bool = False,
                    dates: bool = False, numbers: bool = False, printed: "Printed | None" = None) -> str:
    """The grammar of fixed texts with values between them, each value `(lead, schema, field name)` after its fixed
    `lead`, then the fixed `tail`: an answer continued through its nulls (`extract/doubted.py`: each lead is the
    answer's own text from the value before to the key; the field's name says what a value read from the document
    may be). `document`, `spans`, `dates`, `numbers`, `printed`: as `record_grammar`'s."""
    if printed is None:
        read = numbers and document is not None
        printed = Printed(printed_dates(document) if dates and document is not None else [],
                          printed_numbers(document) if read else [],
                          *(signers_and_titles(document) if read else ([], [])),
                          codes=_codes(document, [p for _, node, name in values for p in code_patterns(node, name)]) if read else {})
    builder = _Builder(spans=spans and document is not None, printed=printed)
    parts = [part for lead, node, name in values for part in (_literal(lead), builder.value(node, "$", name))]
    start = " ".join(part for part in (*parts, _literal(tail)) if part)
    lines = ["%llguidance {}", "start: " + start]
    if builder.spans:
        lines.append(f"SPAN: %regex {json.dumps({'substring_chunks': chunks(document)}, ensure_ascii=False)}")
    lines += [f"{name}: {body}" for name, body in builder.rules]
    return "\n".join(lines) + "\n"


def grounded_grammar(hardened: dict[str, Any], document: str) -> str:
    """`--grounding strict`: the record's grammar with every free-text field a span of `document` (or null)."""
    return record_grammar(hardened, document, spans=True)


@dataclass(frozen=True)
class Asks:
    """Which kinds of field a schema has that read a document's printed values: what `document_grammar` looks
    for in each document. It depends on the schema only, so a reader computes it once per schema (`asks`)."""

    free_text: bool
    naming: bool
    dates: bool
    numbers: bool
    signers: bool
    codes: tuple[str, ...] = ()  # the patterns of the fields that ask for a printed code (`schema/document_codes.py`)


def asks(hardened: dict[str, Any], name: str = "") -> Asks:
    """`name`: the field's, when `hardened` is one field's value."""
    return Asks(free_text=has_free_text(hardened),
                naming=_any_leaf(hardened, lambda node, name, description: names_a_thing(name, description, node), name),
                dates=_any_leaf(hardened, lambda node, name, description: date_ask(name, description, node) is not None, name),
                numbers=_any_leaf(hardened, lambda node, name, description: number_ask(name, description, node) is not None, name),
                signers=_any_leaf(hardened, lambda node, name, description: signer_ask(name, description, node)
                                  or signer_title_ask(name, description, node), name),
                codes=code_patterns(hardened, name))


def code_patterns(hardened: dict[str, Any], name: str = "") -> tuple[str, ...]:
    """The patterns of the fields under `hardened` that ask for a code as printed (`schema/document_codes.py`), each once."""
    return tuple(dict.fromkeys(leaf["pattern"] for leaf, field, description in _leaves(hardened, name) if code_ask(field, description, leaf)))


def document_grammar(hardened: dict[str, Any], document: str, spans: bool, dates: bool, numbers: bool = False,
                     asked: Asks | None = None) -> str | None:
    """The grammar for one document, or None when nothing in it depends on the document (no free text to
    ground, no date, number or signer field, or a document that prints none): the schema's own constraint then
    serves. The document is read for dates, numbers and signers once, and only for the kinds of field the
    schema has (`asked`: `asks(hardened)`, computed here when not given; `numbers` governs every value read
    from the document that is not a date)."""
    return document_stretch_grammar((("", hardened, ""),), "", document, spans, dates, numbers, asked)


def document_stretch_grammar(values: Sequence[tuple[str, dict[str, Any], str]], tail: str, document: str, spans: bool, dates: bool,
                             numbers: bool = False, asked: Asks | None = None) -> str | None:
    """`document_grammar` of fixed texts with values between them (`stretch_grammar`); `asked`: what all the values
    ask together (`asks`, merged), computed here when not given."""
    asked = asked or merged([asks(node, name) for _, node, name in values])
    spans = spans and asked.free_text
    signers = numbers and asked.signers
    dates = dates and (asked.naming or asked.dates)
    codes = _codes(document, asked.codes) if numbers else {}
    numbers = numbers and (asked.naming or asked.numbers)
    printed = Printed(printed_dates(document) if dates else [], printed_numbers(document) if numbers else [],
                      *(signers_and_titles(document) if signers else ([], [])), codes=codes)
    if not (spans or printed.dates or printed.numbers or printed.signers or printed.titles or printed.codes):
        return None
    return stretch_grammar(values, tail, document, spans=spans, printed=printed)


def merged(each: Sequence[Asks]) -> Asks:
    """What several values ask, together."""
    return Asks(*(any(getattr(a, kind) for a in each) for kind in ("free_text", "naming", "dates", "numbers", "signers")),
                codes=tuple(dict.fromkeys(pattern for a in each for pattern in a.codes)))


def _codes(document: str, patterns: Sequence[str]) -> dict[str, list[str]]:
    """The codes `document` prints for each pattern that can be searched for (`schema/document_codes.py`)."""
    found = {pattern: printed_codes(document, pattern) for pattern in patterns}
    return {pattern: codes for pattern, codes in found.items() if codes is not None}


def _leaves(node: dict[str, Any], name: str = "", description: str | None = None) -> Iterator[tuple[dict[str, Any], str, str | None]]:
    """Each leaf under `node` with its field's name and description (a field's description sits on its anyOf, not
    always on its options, so it is carried down), lazily: a test over them stops at the first that holds."""
    description = node.get("description", description)
    if "anyOf" in node:
        for option in node["anyOf"]:
            yield from _leaves(option, name, description)
    elif node.get("type") == "array":
        yield from _leaves(node["items"], name, description)
    elif node.get("type") == "object":
        for key, sub in node.get("properties", {}).items():
            yield from _leaves(sub, key, None)
    else:
        yield node, name, description


def _any_leaf(node: dict[str, Any], test, name: str = "", description: str | None = None) -> bool:
    """Whether `test(leaf, field name, field description)` holds for a leaf under `node`."""
    return any(test(*leaf) for leaf in _leaves(node, name, description))


@dataclass(frozen=True)
class Printed:
    """What one document prints that fields may take (empty: that kind of field decodes as the schema says)."""

    dates: list[PrintedDate]
    numbers: list[PrintedNumber]
    signers: list[str] = field(default_factory=list)  # the lines under the closing of a letter (`schema/document_signers.py`)
    titles: list[str] = field(default_factory=list)  # the signer's title among them
    codes: dict[str, list[str]] = field(default_factory=dict)  # per pattern asked as printed, the texts matching it (none: null)


class _Builder:
    def __init__(self, spans: bool, printed: Printed):
        self.spans = spans
        self.printed = printed
        self.rules: list[tuple[str, str]] = []
        self._terminals: dict[str, str] = {}
        self._avoid: str | None = None
        self._labels: dict[tuple[str, str | None], str] = {}

    def rule(self, body: str) -> str:
        name = f"r{len(self.rules)}"
        self.rules.append((name, body))
        return name

    def terminal(self, body: str) -> str:
        if body not in self._terminals:
            name = f"T{len(self._terminals)}"
            self._terminals[body] = name
            self.rules.append((name, body))
        return self._terminals[body]

    def _choices(self, node: dict[str, Any], name: str, description: str | None) -> list[str]:
        """The JSON texts a date or number field may take in this document (none: not such a field, or nothing fits)."""
        dates, numbers = self.printed.dates, self.printed.numbers
        for offered, ask in ((self.printed.signers, signer_ask), (self.printed.titles, signer_title_ask)):
            if offered and ask(name, description, node):
                fits = [v for v in offered if node.get("minLength", 0) <= len(v) <= node.get("maxLength", len(v))]
                return [json.dumps(v, ensure_ascii=False) for v in fits]
        ask = date_ask(name, description, node) if dates else None
        if ask is not None:
            named = named_dates(dates, name, description)
            strings = iso_candidates(named) if ask == ISO else printed_candidates(named)  # an ISO date printed is among the printed
        else:
            ask = number_ask(name, description, node) if numbers else None
            if ask == NUMBER:
                return number_candidates(numbers, node)
            strings = (decimal2_candidates(numbers) if ask == DECIMAL2 else printed_amount_candidates(numbers) if ask == PRINTED_AMOUNT
                       else [])
        fits = [v for v in strings if node.get("minLength", 0) <= len(v) <= node.get("maxLength", len(v)) and _matches(node, v)]
        return [json.dumps(v, ensure_ascii=False) for v in fits]

    def _codes(self, node: dict[str, Any], name: str, description: str | None) -> list[str] | None:
        """The JSON texts a field asking for a printed code may take in this document (empty: none, the field is null),
        or None when it is not such a field or the document was not read for its pattern."""
        if not self.printed.codes or not code_ask(name, description, node) or node["pattern"] not in self.printed.codes:
            return None
        fits = [v for v in self.printed.codes[node["pattern"]] if node.get("minLength", 0) <= len(v) <= node.get("maxLength", len(v))]
        return [json.dumps(v, ensure_ascii=False) for v in fits]

    def _avoided(self, node: dict[str, Any], name: str, description: str | None) -> str:
        """What a field that names or identifies something must not be in a document that prints amounts or
        dates, as a Lark regex (empty: nothing): one of its amounts or dates, alone or, for an amount with cents or a
        date, padded with what is neither a letter nor, next to it, a digit (`59.92 `, `1,158.40 •`, `15-12-2016-`: a
        model kept from the amount pads it). It names the document's own texts, not any text shaped like an amount
        or a date: llguidance computes a mask in full at every token while a value may still become what it
        excludes, and a value that leaves every printed amount and date behind after a character or two (`GB 982
        7140`) is cheap again (`bench/grammar_cost.py`)."""
        if not (self.printed.numbers or self.printed.dates) or not names_a_thing(name, description, node):
            return ""
        if self._avoid is None:  # the same for every such field of the document: built once
            texts = amount_texts(self.printed.numbers) + [d.text for d in self.printed.dates] + iso_candidates(self.printed.dates)
            padded, alone = [], []
            for text in dict.fromkeys(texts):
                (padded if _PADDED_WHEN.search(text) else alone).append("".join(map(_class_char, json.dumps(text, ensure_ascii=False)[1:-1])))
            either = ([f"{_PAD_BEFORE}(?:{'|'.join(padded)}){_PAD_AFTER}"] if padded else []) + alone
            self._avoid = "/" + "|".join(either) + "/" if either else ""  # whole numbers only (`3 seats`): nothing to avoid
        return self._avoid

    def _own_label(self, node: dict[str, Any], name: str, description: str | None) -> str:
        """What a free-text field never holds, in a document read for its dates or numbers: its own description or name,
        in any case (a small model with nothing to read copies the question: `NAME OF THE CASHIER` for a receipt's
        cashier, `The party issuing the invoice` for a seller), as a Lark regex; empty: nothing."""
        if not (self.printed.numbers or self.printed.dates) or not is_free_text(node):
            return ""
        key = (name, description)
        if key not in self._labels:  # asked once to decide a leaf is special, once to build it
            labels = [text.strip().rstrip(".:").strip() for text in (description or "", field_words(name))]
            labels = [text for text in dict.fromkeys(labels) if 2 < len(text) <= _LABEL_MAX]
            self._labels[key] = ("/(" + "|".join(_any_case(json.dumps(text, ensure_ascii=False)[1:-1]) for text in labels) + r")[.:]?/"
                                 if labels else "")
        return self._labels[key]

    def _person(self, node: dict[str, Any], name: str, description: str | None) -> bool:
        """A field that holds a person's name, in a document that prints amounts or dates: it holds no digit, of any script
        (a model kept from writing a date there wrote it in full-width or Thai digits)."""
        return bool(self.printed.numbers or self.printed.dates) and names_a_person(name, description, node)

    def _special(self, node: dict[str, Any], name: str, description: str | None) -> bool:  # a leaf the regex cannot say
        return (_intersected(node) or (self.spans and is_free_text(node)) or bool(self._choices(node, name, description))
                or self._codes(node, name, description) is not None
                or bool(self._avoided(node, name, description)) or self._person(node, name, description)
                or bool(self._own_label(node, name, description)))

    def value(self, node: dict[str, Any], path: str, name: str = "", description: str | None = None) -> str:
        """A Lark expression for `node` (the field `name`, described by `description` where the node is not):
        a regex terminal where nothing special is inside, else rules."""
        description = node.get("description", description)
        if not _any_leaf(node, self._special, name, description):
            return _regex_terminal(value_node(node, path).regex())
        if "anyOf" in node:
            options = list(enumerate(node["anyOf"]))
            if self.printed.titles and any(signer_title_ask(name, description, o) for _, o in options):
                options = [(i, o) for i, o in options if o.get("type") != "null"]  # a title printed under the name is stated
            if any(o.get("type") == "null" for _, o in options):  # a code the document does not print is null
                options = [(i, o) for i, o in options if self._codes(o, name, description) != []]
            return "(" + " | ".join(self.value(o, f"{path}|{i}", name, description) for i, o in options) + ")"
        kind = node.get("type")
        choices = self._choices(node, name, description) or self._codes(node, name, description)
        if choices:
            return self.terminal(" | ".join(json.dumps(text, ensure_ascii=False) for text in choices))
        if kind == "string":
            low, high = node.get("minLength", 0), node["maxLength"]
            if _intersected(node):
                return self.terminal(f'"\\"" (/{_slashes(pattern_body_regex(node["pattern"]))}/ & {_json_string_body(low, high)}) "\\""')
            avoided = self._avoided(node, name, description)
            unless = f" & ~({avoided})" if avoided else ""
            unless += " & /\\P{N}*/" if self._person(node, name, description) else ""  # no digit of any script (１９, ๒, Ⅳ)
            label = self._own_label(node, name, description)
            unless += f" & ~{label}" if label else ""
            body = f"SPAN & /(?s:.{{{low},{high}}})/" if self.spans and is_free_text(node) else _json_string_body(low, high)
            return self.terminal(f'"\\"" ({body}{unless}) "\\""')
        if kind == "array":
            item = self.rule(self.value(node["items"], f"{path}[]", name, description))
            low, high = node["minItems"], node["maxItems"]
            if high == 0:
                return '"[]"'
            rest = f'("," {item}){{{max(low - 1, 0)},{high - 1}}}' if high > 1 else ""
            body = f"{item} {rest}".strip()
            return f'"[" {body} "]"' if low > 0 else f'"[" ({body})? "]"'
        # an object with properties (maps keep the regex: their keys are neither spans nor patterns)
        parts = []
        for i, (key, sub) in enumerate(node["properties"].items()):
            parts.append(json.dumps(("{" if i == 0 else ",") + json.dumps(key, ensure_ascii=False) + ":", ensure_ascii=False))
            parts.append(self.value(sub, f"{path}.{key}", key, None))
        parts.append('"}"' if node["properties"] else '"{}"')
        return self.rule(" ".join(parts))


def _json_string_body(low: int, high: int) -> str:
    """What a JSON string of `low` to `high` characters holds between its quotes, as a Lark regex: the schema's own
    regex for it (an escape is one character, as `maxLength` counts). A repetition, never an intersection with
    `/.{low,high}/`: llguidance walks the whole vocabulary at every token of an intersected length (the per-document
    grammar's mask cost 12.2x the schema regex's per token with it, 6.0x without: `bench/grammar_cost.py`)."""
    return _regex_terminal(Repeat(JSON_STRING_CHAR, low, high).regex())


def _matches(node: dict[str, Any], value: str) -> bool:
    pattern = node.get("pattern")
    if pattern is None:
        return True
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _any_case(text: str) -> str:
    """`text` as a regex body matching it in any letter case (llguidance's regex has no case-insensitive flag we rely on)."""
    out = []
    for char in text:
        if char.lower() != char.upper() and len(char.lower()) == len(char.upper()) == 1:
            out.append(f"[{_class_char(char.lower())}{_class_char(char.upper())}]")
        else:
            out.append(_class_char(char))
    return "".join(out)


def _class_char(char: str) -> str:
    """One character, escaped wherever a regex or a Lark /.../ would read it as syntax."""
    return "\\" + char if char in "\\.+*?()|[]{}^$#&-~/" else char


def _literal(text: str) -> str:
    """A fixed text as a Lark string literal; nothing for no text."""
    return json.dumps(text, ensure_ascii=False) if text else ""


def _slashes(regex: str) -> str:
    return regex.replace("/", "\\/")


def _regex_terminal(regex: str) -> str:
    return "/" + _slashes(regex) + "/"


__all__ = ["record_grammar", "stretch_grammar", "document_stretch_grammar", "merged", "grounded_grammar", "document_grammar", "Asks", "asks", "needs_grammar", "has_free_text", "is_free_text", "chunks"]
