"""Translate a schema's `pattern` into a bounded grammar node, or say it cannot be.

A pattern is used for decoding only when it is anchored at both ends (`^...$`), has a
finite longest match, and uses the plain subset every backend reads alike. Anything
else (lookarounds, back-references, `*`/`+`, negated categories) is dropped from the
decoding constraint; pydantic still enforces it at validation, so such a field can
come back `noncompliant` but never unbounded.

The node matches the string's *JSON body*: a literal quote or backslash in the pattern
becomes its JSON escape, and character classes leave out what JSON must escape.
"""

from __future__ import annotations

import re

import functools

try:  # Python 3.11+
    import re._constants as sre_constants
    import re._parser as sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants  # type: ignore[no-redef]
    import sre_parse  # type: ignore[no-redef]

from dataclasses import dataclass

from fieldmill.schema.grammar import CharClass, Literal, Node, Repeat, alt, escape_class_char, seq

_JSON_CHAR = r'[^"\\\x00-\x1f]'  # one character of a JSON string body that needs no escape

MAX_PATTERN_BYTES = 4096
_JSON_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\b": "\\b", "\f": "\\f"}
_FORBIDDEN_IN_CLASS = set('"\\') | {chr(c) for c in range(0x20)}


class _Unsupported(Exception):
    pass


@functools.lru_cache(maxsize=256)
def bounded_pattern(pattern: str) -> Node | None:
    """The grammar node for an anchored, bounded pattern; None when it cannot be used."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    items = list(parsed)
    if len(items) < 2 or items[0] != (sre_constants.AT, sre_constants.AT_BEGINNING):
        return None
    if items[-1] not in ((sre_constants.AT, sre_constants.AT_END), (sre_constants.AT, sre_constants.AT_END_STRING)):
        return None
    try:
        node = _sequence(items[1:-1])
    except _Unsupported:
        return None
    if node.max_bytes() > MAX_PATTERN_BYTES:
        return None
    return node


@dataclass(frozen=True)
class _Open(Node):
    """`node{low,}`: no longest match. Only inside a grammar terminal that a length bound intersects."""

    node: Node
    low: int

    def regex(self) -> str:
        return f"{self.node.atom()}{{{self.low},}}"

    def atom(self) -> str:
        return f"({self.regex()})"

    def max_bytes(self) -> int:
        raise _Unsupported


@functools.lru_cache(maxsize=256)
def pattern_admits(pattern: str, wholes: tuple[str, ...], nowhere: tuple[str, ...]) -> bool:
    """Whether a JSON Schema `pattern` (searched, as JSON Schema does) matches each of `wholes` entirely
    and none of `nowhere` anywhere: how a field's pattern says which shape of value it asks for."""
    try:
        compiled = re.compile(pattern)
    except re.error:
        return False
    return all(compiled.fullmatch(w) for w in wholes) and not any(compiled.search(n) for n in nowhere)


def pattern_widths(pattern: str) -> tuple[int, int]:
    """The fewest and most characters a match of the (anchored) pattern has."""
    low, high = sre_parse.parse(pattern).getwidth()
    return low, high


@functools.lru_cache(maxsize=256)
def pattern_body_regex(pattern: str) -> str | None:
    """The pattern as a regex over a JSON string's body, unbounded repeats allowed and an unanchored
    side open (JSON Schema patterns match anywhere), for a terminal a length bound intersects; None
    when the pattern uses what the plain dialect cannot say (lookarounds, back-references...)."""
    try:
        items = list(sre_parse.parse(pattern))
    except Exception:
        return None
    start = bool(items) and items[0] == (sre_constants.AT, sre_constants.AT_BEGINNING)
    end = bool(items) and items[-1] in ((sre_constants.AT, sre_constants.AT_END), (sre_constants.AT, sre_constants.AT_END_STRING))
    body = items[int(start): len(items) - int(end)]
    try:
        node = _sequence(body, open_repeats=True)
    except _Unsupported:
        return None
    anywhere = f"{_JSON_CHAR}*"
    return ("" if start else anywhere) + (node.regex() if not isinstance(node, Literal) or node.text else "") + ("" if end else anywhere)


def _sequence(items, open_repeats: bool = False) -> Node:
    parts = [_item(op, av, open_repeats) for op, av in items]
    return seq(*parts) if parts else Literal("")


def _item(op, av, open_repeats: bool = False) -> Node:
    if op is sre_constants.LITERAL:
        ch = chr(av)
        return Literal(_JSON_ESCAPES.get(ch, ch)) if ord(ch) >= 0x20 or ch in _JSON_ESCAPES else _raise()
    if op is sre_constants.ANY:
        return CharClass('[^"\\\\\\x00-\\x1f]', 4)
    if op is sre_constants.IN:
        return _char_class(av)
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
        low, high, sub = av
        if high is sre_constants.MAXREPEAT or high >= 10_000:
            if not open_repeats:
                raise _Unsupported
            return _Open(_sequence(list(sub), open_repeats), low)
        return Repeat(_sequence(list(sub), open_repeats), low, high)
    if op is sre_constants.SUBPATTERN:
        sub = av[-1]
        return _sequence(list(sub), open_repeats)
    if op is sre_constants.BRANCH:
        return alt(*(_sequence(list(b), open_repeats) for b in av[1]))
    raise _Unsupported


def _raise() -> Node:
    raise _Unsupported


def _char_class(items) -> Node:
    negate = False
    chars: list[str] = []
    widest = 1
    for op, av in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif op is sre_constants.LITERAL:
            ch = chr(av)
            if ch not in _FORBIDDEN_IN_CLASS:
                chars.append(escape_class_char(ch))
                widest = max(widest, len(ch.encode("utf-8")))
        elif op is sre_constants.RANGE:
            lo, hi = av
            if lo < 0x20 or (lo <= ord('"') <= hi) or (lo <= ord("\\") <= hi):
                raise _Unsupported
            chars.append(f"{escape_class_char(chr(lo))}-{escape_class_char(chr(hi))}")
            widest = max(widest, len(chr(hi).encode("utf-8")))
        elif op is sre_constants.CATEGORY:
            if av is sre_constants.CATEGORY_DIGIT:
                chars.append("0-9")
            elif av is sre_constants.CATEGORY_WORD:
                chars.append("A-Za-z0-9_")
            elif av is sre_constants.CATEGORY_SPACE:
                chars.append(" ")
            else:
                raise _Unsupported
        else:
            raise _Unsupported
    if negate:
        # Leave out what a JSON body must escape; the widest character is then 4 bytes.
        return CharClass(f'[^{"".join(chars)}"\\\\\\x00-\\x1f]', 4)
    if not chars:
        raise _Unsupported
    return CharClass(f"[{''.join(chars)}]", widest)
