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


def record_grammar(hardened: dict[str, Any], document: str | None = None) -> str:
    """The record's Lark grammar: patterns intersected with lengths; with `document`, free text as its spans."""
    builder = _Builder(spans=document is not None)
    start = builder.value(hardened, "$")
    lines = ["%llguidance {}", f"start: {start}"]
    if document is not None:
        lines.append(f"SPAN: %regex {json.dumps({'substring_chunks': chunks(document)}, ensure_ascii=False)}")
    lines += [f"{name}: {body}" for name, body in builder.rules]
    return "\n".join(lines) + "\n"


def grounded_grammar(hardened: dict[str, Any], document: str) -> str:
    """`--grounding strict`: the record's grammar with every free-text field a span of `document` (or null)."""
    return record_grammar(hardened, document)


class _Builder:
    def __init__(self, spans: bool):
        self.spans = spans
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

    def _special(self, node: dict[str, Any]) -> bool:
        return _intersected(node) or (self.spans and is_free_text(node))

    def value(self, node: dict[str, Any], path: str) -> str:
        """A Lark expression for `node`: a regex terminal where nothing special is inside, else rules."""
        if not _any(node, self._special):
            return _regex_terminal(value_node(node, path).regex())
        if "anyOf" in node:
            return "(" + " | ".join(self.value(o, f"{path}|{i}") for i, o in enumerate(node["anyOf"])) + ")"
        kind = node.get("type")
        if kind == "string":
            length = f"/(?s:.{{{node.get('minLength', 0)},{node['maxLength']}}})/"
            if _intersected(node):
                return self.terminal(f'"\\"" (/{_slashes(pattern_body_regex(node["pattern"]))}/ & {length}) "\\""')
            return self.terminal(f'"\\"" (SPAN & {length}) "\\""')
        if kind == "array":
            item = self.rule(self.value(node["items"], f"{path}[]"))
            low, high = node["minItems"], node["maxItems"]
            if high == 0:
                return '"[]"'
            rest = f'("," {item}){{{max(low - 1, 0)},{high - 1}}}' if high > 1 else ""
            body = f"{item} {rest}".strip()
            return f'"[" {body} "]"' if low > 0 else f'"[" ({body})? "]"'
        # an object with properties (maps keep the regex: their keys are neither spans nor patterns)
        parts = []
        for i, (name, sub) in enumerate(node["properties"].items()):
            parts.append(json.dumps(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":", ensure_ascii=False))
            parts.append(self.value(sub, f"{path}.{name}"))
        parts.append('"}"' if node["properties"] else '"{}"')
        return self.rule(" ".join(parts))


def _slashes(regex: str) -> str:
    return regex.replace("/", "\\/")


def _regex_terminal(regex: str) -> str:
    return "/" + _slashes(regex) + "/"


__all__ = ["record_grammar", "grounded_grammar", "needs_grammar", "has_free_text", "is_free_text", "chunks"]
