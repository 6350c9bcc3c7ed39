"""What validation says about a failed answer that a second decoding can use.

A small model sometimes does not know where a list ends: after the last line item of an
invoice it writes more "items" out of the totals below the table, and the schema's own
rules (here, amount = quantity x unit price) refuse every one of them. When the errors of
a record name items of a list from index k on, and the items before k are valid, the
answer is decoded again (greedily) under the same constraint with that list bounded to
exactly k items: the model then writes everything after the list knowing the list ended,
and the record is validated again as a whole. Nothing is cut or invented after the fact;
the rules only tell the decoder where to stop.
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


def _array(node: dict[str, Any] | None) -> dict[str, Any] | None:
    if not node:
        return None
    for option in node.get("anyOf", [node]):
        if option.get("type") == "array":
            return option
    return None


__all__ = ["list_cuts", "bounded"]
