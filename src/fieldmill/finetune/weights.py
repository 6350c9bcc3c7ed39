"""Where an answer decides how long a list is, so that training can weigh those tokens more.

A list of n items has n - 1 tokens that say "another item" and one that says "the list
ends here", among hundreds of tokens copied from the document. A model trained with every
token weighed alike learns to copy well and to end lists badly: the measured failure of
the small model was a table of line items followed by "items" made of the totals below
it. The decision sits in the token that holds an item's last character (`}` of an
object, `"` of a string) and the one after it (`,` or `]`), and, for an empty list, its
brackets; `decision_chars` finds those characters in the compact JSON of an answer.
"""

from __future__ import annotations

LIST_DECISION_WEIGHT = 4.0


def decision_chars(text: str) -> set[int]:
    """Character offsets in the compact JSON `text` where a list's length is decided."""
    out: set[int] = set()
    stack: list[str] = []  # "[" or "{" for each open container
    in_string = False
    escaped = False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
                if stack and stack[-1] == "[" and _scalar_element_ends(text, index):
                    out.update((index, index + 1))  # the closing quote, and the `,` or `]` after it
            continue
        if char == '"':
            in_string = True
        elif char in "[{":
            if char == "[" and text.startswith("[]", index):
                out.update((index, index + 1))  # an empty list: as decided as a long one
            stack.append(char)
        elif char in "]}":
            if stack:
                stack.pop()
            if char == "}" and stack and stack[-1] == "[":
                out.update((index, index + 1))  # an object item's closing brace, and the `,` or `]` after it
        elif stack and stack[-1] == "[" and char not in ",]" and _scalar_element_ends(text, index):
            out.update((index, index + 1))  # the last character of a number, true, false or null item
    return {i for i in out if i < len(text)}


def _scalar_element_ends(text: str, index: int) -> bool:
    return index + 1 < len(text) and text[index + 1] in ",]"


def token_weights(offsets: list[tuple[int, int]], text: str, weight: float = LIST_DECISION_WEIGHT) -> list[float]:
    """A weight per answer token (from its character offsets): `weight` where it holds a list decision, else 1."""
    marked = decision_chars(text)
    return [weight if any(start <= i < end for i in marked) else 1.0 for start, end in offsets]


__all__ = ["decision_chars", "token_weights", "LIST_DECISION_WEIGHT"]
