"""A record's constraint as a Lark grammar (llguidance's dialect), for what one regex cannot say.

The record's regex (`constraint.py`) serves every backend. Two things need more, and
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

Either kind of string is bounded by the field's `maxLength` in JSON characters, which is
at most its length in characters, so the grammar's longest record is no longer than the
regex's and the token budget derived from the regex still holds. Everything else is
embedded as the constraint's own regex terminals.
"""

from __future__ import annotations

import json
import re
from typing import Any

from fieldmill.constraint import exact_pattern, value_node
from fieldmill.document_dates import EITHER, ISO, PRINTED, PrintedDate, date_ask, iso_candidates, printed_candidates, printed_dates
from fieldmill.patterns import pattern_body_regex

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


def record_grammar(hardened: dict[str, Any], document: str | None = None, spans: bool = False, dates: bool = False) -> str:
    """The record's Lark grammar: patterns intersected with lengths; for a `document`, free text as
    its spans (`spans`) and date fields as the dates it prints (`dates`, see `document_dates.py`)."""
    printed = printed_dates(document) if dates and document is not None else []
    builder = _Builder(spans=spans and document is not None, dates=printed)
    start = builder.value(hardened, "$")
    lines = ["%llguidance {}", f"start: {start}"]
    if builder.spans:
        lines.append(f"SPAN: %regex {json.dumps({'substring_chunks': chunks(document)}, ensure_ascii=False)}")
    lines += [f"{name}: {body}" for name, body in builder.rules]
    return "\n".join(lines) + "\n"


def grounded_grammar(hardened: dict[str, Any], document: str) -> str:
    """`--grounding strict`: the record's grammar with every free-text field a span of `document` (or null)."""
    return record_grammar(hardened, document, spans=True)


def document_grammar(hardened: dict[str, Any], document: str, spans: bool, dates: bool) -> str | None:
    """The grammar for one document, or None when nothing in it depends on the document (no free text
    to ground, no date field, or a document that prints no date): the schema's own constraint then serves."""
    spans = spans and has_free_text(hardened)
    dates = dates and has_date_field(hardened) and bool(printed_dates(document))
    return record_grammar(hardened, document, spans=spans, dates=dates) if spans or dates else None


def has_date_field(hardened: dict[str, Any]) -> bool:
    """Whether any field of the schema asks for a date (`document_dates.date_ask`)."""
    def walk(node: dict[str, Any], name: str, description: str | None) -> bool:
        description = node.get("description", description)
        if "anyOf" in node:
            return any(walk(o, name, description) for o in node["anyOf"])
        if node.get("type") == "array":
            return walk(node["items"], name, description)
        if node.get("type") == "object":
            return any(walk(sub, key, None) for key, sub in node.get("properties", {}).items())
        return date_ask(name, description, node) is not None
    return walk(hardened, "", None)


class _Builder:
    def __init__(self, spans: bool, dates: list[PrintedDate]):
        self.spans = spans
        self.dates = dates
        self.rules: list[tuple[str, str]] = []
        self._terminals: dict[str, str] = {}

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

    def _date_choices(self, node: dict[str, Any], name: str, description: str | None) -> list[str]:
        """The values a date field may take in this document (none: the field is not a date field, or no date fits)."""
        ask = date_ask(name, description, node) if self.dates else None
        if ask is None:
            return []
        iso = iso_candidates(self.dates) if ask in (ISO, EITHER) else []
        printed = printed_candidates(self.dates) if ask in (PRINTED, EITHER) else []
        if ask == PRINTED:  # a document that prints ISO dates prints them "as printed" too
            printed += [d for d in iso_candidates(self.dates) if d in printed]
        return [v for v in dict.fromkeys(printed + iso) if node.get("minLength", 0) <= len(v) <= node.get("maxLength", len(v)) and _matches(node, v)]

    def _special(self, node: dict[str, Any], name: str, description: str | None) -> bool:
        return _intersected(node) or (self.spans and is_free_text(node)) or bool(self._date_choices(node, name, description))

    def _has_special(self, node: dict[str, Any], name: str, description: str | None) -> bool:
        description = node.get("description", description)
        if "anyOf" in node:
            return any(self._has_special(o, name, description) for o in node["anyOf"])
        if node.get("type") == "array":
            return self._has_special(node["items"], name, description)
        if node.get("type") == "object":
            return any(self._has_special(sub, key, None) for key, sub in node.get("properties", {}).items())
        return self._special(node, name, description)

    def value(self, node: dict[str, Any], path: str, name: str = "", description: str | None = None) -> str:
        """A Lark expression for `node` (the field `name`, described by `description` where the node is not):
        a regex terminal where nothing special is inside, else rules."""
        description = node.get("description", description)
        if not self._has_special(node, name, description):
            return _regex_terminal(value_node(node, path).regex())
        if "anyOf" in node:
            return "(" + " | ".join(self.value(o, f"{path}|{i}", name, description) for i, o in enumerate(node["anyOf"])) + ")"
        kind = node.get("type")
        if kind == "string":
            choices = self._date_choices(node, name, description)
            if choices:
                return self.terminal(" | ".join(json.dumps(json.dumps(v, ensure_ascii=False), ensure_ascii=False) for v in choices))
            length = f"/(?s:.{{{node.get('minLength', 0)},{node['maxLength']}}})/"
            if _intersected(node):
                return self.terminal(f'"\\"" (/{_slashes(pattern_body_regex(node["pattern"]))}/ & {length}) "\\""')
            return self.terminal(f'"\\"" (SPAN & {length}) "\\""')
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


def _matches(node: dict[str, Any], value: str) -> bool:
    pattern = node.get("pattern")
    if pattern is None:
        return True
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return False


def _slashes(regex: str) -> str:
    return regex.replace("/", "\\/")


def _regex_terminal(regex: str) -> str:
    return "/" + _slashes(regex) + "/"


__all__ = ["record_grammar", "grounded_grammar", "document_grammar", "has_date_field", "needs_grammar", "has_free_text", "is_free_text", "chunks"]
