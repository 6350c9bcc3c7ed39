"""A small regular-expression AST whose every language is finite.

The decoding constraint is built from these nodes, so two facts come with it for
free: the regex handed to the structured-output backend, and the largest number of
UTF-8 bytes any matching output can have. Every token a tokenizer with byte
fallback (or byte-level BPE) can emit covers at least one byte, so the byte bound
plus one (for the end-of-sequence token) bounds the output tokens: a `max_tokens`
set from it can never cut a record short.

The emitted dialect is deliberately plain (literals, bracket classes, groups,
alternation, bounded `{m,n}`) so outlines-core, xgrammar and llguidance all read it
the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters that must be escaped outside a bracket class in every backend's dialect.
_META = set(".^$*+?()[]{}|\\")
# Characters that must be escaped inside a bracket class.
_CLASS_META = set("]\\^-[")


def escape_literal(text: str) -> str:
    """Escape `text` so it matches itself literally."""
    out = []
    for ch in text:
        if ch in _META:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def escape_class_char(ch: str) -> str:
    if ch in _CLASS_META:
        return "\\" + ch
    if ord(ch) < 0x20 or ord(ch) == 0x7F:
        return f"\\x{ord(ch):02x}"
    return ch


class Node:
    """A regular language with a finite longest word."""

    def regex(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def max_bytes(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError


    def atom(self) -> str:
        """The regex wrapped in a group when a quantifier or a neighbour could split it."""
        return f"({self.regex()})"


@dataclass(frozen=True)
class Literal(Node):
    text: str

    def regex(self) -> str:
        return escape_literal(self.text)

    def atom(self) -> str:
        return self.regex() if len(self.text) == 1 else f"({self.regex()})"

    def max_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


@dataclass(frozen=True)
class CharClass(Node):
    """One character out of a bracket class, written in the plain dialect."""

    spec: str  # e.g. "[0-9]" or '[^"\\\\\\x00-\\x1f]'
    widest_char_bytes: int  # UTF-8 size of the widest character the class admits

    def regex(self) -> str:
        return self.spec

    def atom(self) -> str:
        return self.spec

    def max_bytes(self) -> int:
        return self.widest_char_bytes


@dataclass(frozen=True)
class Seq(Node):
    parts: tuple[Node, ...]

    def regex(self) -> str:
        return "".join(p.regex() if not isinstance(p, Alt) else p.atom() for p in self.parts)

    def max_bytes(self) -> int:
        return sum(p.max_bytes() for p in self.parts)


@dataclass(frozen=True)
class Alt(Node):
    options: tuple[Node, ...]

    def regex(self) -> str:
        return "|".join(o.regex() for o in self.options)

    def max_bytes(self) -> int:
        return max(o.max_bytes() for o in self.options)


@dataclass(frozen=True)
class Repeat(Node):
    node: Node
    low: int
    high: int

    def __post_init__(self) -> None:
        if not 0 <= self.low <= self.high:
            raise ValueError(f"bad repetition bounds {{{self.low},{self.high}}}")

    def regex(self) -> str:
        if self.high == 0:
            return ""
        if self.low == 0 and self.high == 1:
            return f"{self.node.atom()}?"
        if self.low == self.high:
            return f"{self.node.atom()}{{{self.low}}}"
        return f"{self.node.atom()}{{{self.low},{self.high}}}"

    def atom(self) -> str:
        return f"({self.regex()})"

    def max_bytes(self) -> int:
        return self.high * self.node.max_bytes()


def seq(*parts: Node) -> Node:
    flat: list[Node] = []
    for p in parts:
        if isinstance(p, Seq):
            flat.extend(p.parts)
        else:
            flat.append(p)
    merged: list[Node] = []
    for p in flat:
        if merged and isinstance(p, Literal) and isinstance(merged[-1], Literal):
            merged[-1] = Literal(merged[-1].text + p.text)
        else:
            merged.append(p)
    return merged[0] if len(merged) == 1 else Seq(tuple(merged))


def alt(*options: Node) -> Node:
    unique: list[Node] = []
    for o in options:
        for inner in o.options if isinstance(o, Alt) else (o,):
            if inner not in unique:
                unique.append(inner)
    return unique[0] if len(unique) == 1 else Alt(tuple(unique))


def optional(node: Node) -> Node:
    return Repeat(node, 0, 1)


def separated(item: Node, separator: str, low: int, high: int) -> Node:
    """`item (sep item){low-1,high-1}`, or nothing when low == 0."""
    if high == 0:
        return Literal("")
    rest = Repeat(seq(Literal(separator), item), max(low - 1, 0), high - 1)
    body = seq(item, rest) if high > 1 else item
    return body if low > 0 else optional(body)


# --- JSON building blocks -------------------------------------------------------

DIGIT = CharClass("[0-9]", 1)
NONZERO_DIGIT = CharClass("[1-9]", 1)
# One character of a JSON string body: anything but a quote, a backslash or a control
# character, or one of JSON's short escapes. The widest is a 4-byte UTF-8 code point.
JSON_STRING_CHAR = alt(
    CharClass('[^"\\\\\\x00-\\x1f]', 4),
    seq(Literal("\\"), CharClass('["\\\\/bfnrt]', 1)),
)


def json_string(min_length: int, max_length: int) -> Node:
    return seq(Literal('"'), Repeat(JSON_STRING_CHAR, min_length, max_length), Literal('"'))


def json_integer(digits: int, negative: bool) -> Node:
    magnitude = alt(Literal("0"), seq(NONZERO_DIGIT, Repeat(DIGIT, 0, digits - 1)))
    return seq(optional(Literal("-")), magnitude) if negative else magnitude


def integer_range(low: int, high: int) -> Node:
    """Exactly the JSON integers from `low` to `high`: no leading zeros, no `-0`, and no value
    outside the bounds (an age of 0..120 can never decode as 200)."""
    options = []
    if high >= 0:
        options.append(_magnitudes(max(low, 0), high))
    if low < 0:
        options.append(seq(Literal("-"), _magnitudes(max(-high, 1), -low)))
    return alt(*options)


def number_range(low: int, high: int, frac_digits: int) -> Node:
    """JSON numbers from `low` to `high` (whole bounds, `high` >= 0) with at most `frac_digits`
    decimals: below a bound any fraction, at a bound only zeros."""
    zeros = optional(seq(Literal("."), Repeat(Literal("0"), 1, frac_digits)))
    fraction = optional(seq(Literal("."), Repeat(DIGIT, 1, frac_digits)))
    options = [seq(Literal(str(high)), zeros)]
    if max(low, 0) <= high - 1:
        options.append(seq(_magnitudes(max(low, 0), high - 1), fraction))
    if low < 0:
        below = [seq(Literal(str(-low)), zeros)] + ([seq(_magnitudes(0, -low - 1), fraction)] if -low >= 1 else [])
        options.append(seq(Literal("-"), alt(*below)))
    return alt(*options)


def _magnitudes(low: int, high: int) -> Node:
    """The canonical decimals of `low`..`high` (0 <= low <= high), one option per width; the
    widths the range covers whole share one option."""
    options: list[Node] = []
    if low == 0:
        options.append(Literal("0"))
        if high == 0:
            return options[0]
        low = 1
    widths = range(len(str(low)), len(str(high)) + 1)
    whole = [w for w in widths if low <= 10 ** (w - 1) and 10**w - 1 <= high]
    for width in widths:
        if width not in whole:
            options.append(_same_width(str(max(low, 10 ** (width - 1))), str(min(high, 10**width - 1))))
    if whole:
        options.append(seq(NONZERO_DIGIT, Repeat(DIGIT, whole[0] - 1, whole[-1] - 1)) if whole[-1] > 1 else NONZERO_DIGIT)
    return alt(*options)


def _same_width(low: str, high: str) -> Node:
    """The decimals from `low` to `high`, two strings of digits of one width."""
    if low == high:
        return Literal(low)
    if low[0] == high[0]:
        return seq(Literal(low[0]), _same_width(low[1:], high[1:]))
    rest = len(low) - 1
    first, last = int(low[0]), int(high[0])
    if rest == 0:
        return CharClass(f"[{first}-{last}]", 1)
    options: list[Node] = []
    if low[1:] != "0" * rest:
        options.append(seq(Literal(low[0]), _same_width(low[1:], "9" * rest)))
        first += 1
    top = None
    if high[1:] != "9" * rest:
        top = seq(Literal(high[0]), _same_width("0" * rest, high[1:]))
        last -= 1
    if first <= last:
        lead = Literal(str(first)) if first == last else CharClass(f"[{first}-{last}]", 1)
        options.append(seq(lead, Repeat(DIGIT, rest, rest)))
    if top is not None:
        options.append(top)
    return alt(*options)


def json_number(int_digits: int, frac_digits: int, negative: bool) -> Node:
    whole = json_integer(int_digits, negative)
    if frac_digits == 0:
        return whole
    return seq(whole, optional(seq(Literal("."), Repeat(DIGIT, 1, frac_digits))))
