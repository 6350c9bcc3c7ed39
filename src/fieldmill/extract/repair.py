"""What validation says about a failed answer that a second decoding can use.

A small model sometimes does not know where a list ends: after the last line item of an
invoice it writes more "items" out of the totals below the table, and the schema's own
rules (here, amount = quantity x unit price) refuse every one of them. When the errors of
a record name items of a list from index k on, and the items before k are valid, the
answer is decoded again (greedily) under the same constraint with that list bounded to
exactly k items: the model then writes everything after the list knowing the list ended,
and the record is validated again as a whole. Nothing is cut or invented after the fact;
the rules only tell the decoder where to stop.

Before any decoding, a list is also bounded by what the text can hold (`bounded_by_text`):
every item of a list stands on a line of its own or after a separator (a comma, a
semicolon, a bullet, "and"), so a document of three lines cannot list twelve line items.
A small model that loops on a short document (the same item again and again until the
schema's `maxItems`) stops there; on a page of text the bound is far above any schema's.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_ITEM = re.compile(r"^([^\[\]]+)\[(\d+)\]")


def list_cuts(errors: list[dict[str, str]], hardened: dict[str, Any]) -> dict[str, int]:
    """{list property: the number of items before the first one a rule refused}, for top-level lists
    whose first items are fine (k >= 1)."""
    cuts: dict[str, int] = {}
    for error in errors:
        match = _ITEM.match(error.get("field", ""))
        if not match or "." in match.group(1):
            continue
        name, index = match.group(1), int(match.group(2))
        if _array(hardened.get("properties", {}).get(name)) is not None:
            cuts[name] = min(cuts.get(name, index), index)
    return {name: k for name, k in cuts.items() if k >= 1}


def bounded(hardened: dict[str, Any], cuts: dict[str, int]) -> dict[str, Any]:
    """A copy of the hardened schema whose lists in `cuts` hold exactly that many items."""
    out = copy.deepcopy(hardened)
    for name, count in cuts.items():
        node = _array(out["properties"][name])
        node["minItems"] = node["maxItems"] = min(count, node["maxItems"])
    return out


# What can stand between two items of a list on one line; a number's thousands comma counts too (an upper bound).
_SEPARATOR = re.compile(r"[,;&|\u2022\u00b7]|\b(?:and|und|et|y|e|en|og|och)\b", re.IGNORECASE)


def item_room(text: str) -> int:
    """The most items one list can take from `text`: its non-empty lines plus the separators within them."""
    return sum(1 for line in text.splitlines() if line.strip()) + len(_SEPARATOR.findall(text))


def bounded_by_text(hardened: dict[str, Any], text: str) -> dict[str, Any] | None:
    """A copy of the hardened schema whose lists hold at most `item_room(text)` items (never below their
    `minItems`), or None when no list's `maxItems` is above that."""
    room = item_room(text)
    out = copy.deepcopy(hardened)
    changed = False

    def walk(node: dict[str, Any]) -> None:
        nonlocal changed
        for option in node.get("anyOf", ()):
            walk(option)
        for sub in node.get("properties", {}).values():
            walk(sub)
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"])
        if node.get("type") == "array":
            walk(node["items"])
            if node["maxItems"] > room:
                node["maxItems"] = max(room, node["minItems"])
                changed = True

    walk(out)
    return out if changed else None


def _array(node: dict[str, Any] | None) -> dict[str, Any] | None:
    if not node:
        return None
    for option in node.get("anyOf", [node]):
        if option.get("type") == "array":
            return option
    return None


__all__ = ["list_cuts", "bounded", "bounded_by_text", "item_room"]
