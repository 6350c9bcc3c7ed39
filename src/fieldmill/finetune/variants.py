"""Training variety: teach the task (read the field list, copy from the document), not three schemas.

Users bring schemas the default model has never seen, with their own names, order and
(often) no descriptions. A model trained on three fixed field lists learns those lists;
one trained on many *variants* of them learns to follow whatever list it is given.
A variant is a change of the hardened schema, so the prompt and the target of a variant
come out of the same code as `run`'s: `schema_prefix` and `answer_text` on the variant.

* a random subset of each object's properties (required ones kept, at least one left);
* properties renamed (case styles, synonyms), descriptions kept, dropped or shortened;
* property order shuffled;
* the record's title changed.

Documents get noise too: page headers and footers, extra blank lines, runs of spaces,
as scanned and exported documents have.
"""

from __future__ import annotations

import copy
import random
import re
from dataclasses import dataclass
from typing import Any

# Words swapped for another word of the same meaning when a field is renamed.
_SYNONYMS = {
    "number": ["no", "num", "id", "ref"], "date": ["day", "dt", "on"], "name": ["full_name", "title", "label"],
    "address": ["addr", "location"], "amount": ["value", "sum"], "total": ["grand_total", "sum"], "email": ["e_mail", "mail"],
    "phone": ["telephone", "tel"], "description": ["desc", "text", "item"], "quantity": ["qty", "count"],
    "price": ["cost", "rate"], "code": ["id", "identifier"], "start": ["begin", "from"], "end": ["until", "to"],
    "patient": ["person", "subject"], "party": ["entity", "counterparty"], "diagnoses": ["conditions", "problems"],
    "medications": ["drugs", "meds"], "seller": ["vendor", "supplier"], "buyer": ["customer", "client"],
}
_TITLES = {
    "invoice": ["invoice", "bill", "sales invoice", "billing document", "receipt or invoice"],
    "legal contract": ["legal contract", "contract", "agreement", "commercial agreement"],
    "medical record": ["medical record", "discharge summary", "patient record", "clinical note"],
}
_HEADERS = ["CONFIDENTIAL", "Page 1 of 1", "Scanned copy", "-- Printed from the records system --", "COPY", "Internal use only",
            "Received: see stamp", "Fax transmission"]


@dataclass(frozen=True)
class VariantPolicy:
    """How often each kind of change happens (0 turns it off)."""

    subset: float = 0.5  # chance that an object keeps only a random subset of its optional properties
    keep_share: tuple[float, float] = (0.4, 1.0)
    rename: float = 0.35  # chance per property of a new name
    drop_description: float = 0.2  # chance per property
    shuffle: float = 0.4  # chance per object
    retitle: float = 0.5
    noise: float = 0.4  # chance that a document gets headers, footers or spacing noise


def schema_variant(hardened: dict[str, Any], rng: random.Random, policy: VariantPolicy = VariantPolicy()) -> tuple[dict[str, Any], dict[str, Any]]:
    """A changed copy of `hardened`, and the map from the variant's names to the original's.

    The map mirrors the schema's shape: `{"new_name": ("old_name", submap)}` for each kept
    property, so `project(record, mapping)` turns a gold record into the variant's target.
    """
    variant = copy.deepcopy(hardened)
    mapping = _vary_node(variant, rng, policy, top=True)
    return variant, mapping


def project(value: Any, mapping: dict[str, Any] | None) -> Any:
    """The gold record seen through a variant's names and properties."""
    if mapping is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, mapping) for v in value]
    if isinstance(value, dict):
        return {new: project(value.get(old), sub) for new, (old, sub) in mapping.items()}
    return value


def variant_title(title: str, rng: random.Random, policy: VariantPolicy = VariantPolicy()) -> str:
    if rng.random() >= policy.retitle:
        return title
    return rng.choice(_TITLES.get(title, [title]))


def noisy_document(text: str, rng: random.Random, policy: VariantPolicy = VariantPolicy()) -> str:
    """`text` as a scan or an export might give it; the facts in it are unchanged."""
    if rng.random() >= policy.noise:
        return text
    lines = text.splitlines()
    if rng.random() < 0.5:
        lines.insert(0, rng.choice(_HEADERS))
    if rng.random() < 0.5:
        lines.append(rng.choice(["Page 1", "- 1 -", "Thank you for your business.", "Generated electronically; valid without signature."]))
    if rng.random() < 0.4:
        lines = [line + ("\n" if line and rng.random() < 0.15 else "") for line in lines]
    if rng.random() < 0.4:  # runs of spaces where a layout had columns
        lines = [re.sub(r"(?<=\S) (?=\S)", lambda m: " " * rng.choice((1, 1, 1, 2, 3)), line) for line in lines]
    return "\n".join(lines)


def _vary_node(node: dict[str, Any], rng: random.Random, policy: VariantPolicy, top: bool = False) -> dict[str, Any] | None:
    """Vary an object (or the object inside an anyOf/array) in place; its name map, or None for a scalar."""
    if "anyOf" in node:
        maps = [_vary_node(option, rng, policy) for option in node["anyOf"]]
        return next((m for m in maps if m is not None), None)
    if node.get("type") == "array":
        return _vary_node(node["items"], rng, policy)
    if node.get("type") != "object" or not node.get("properties"):
        return None
    props: dict[str, Any] = node["properties"]
    required = set(node.get("required", ()))
    names = list(props)
    if rng.random() < policy.subset:
        optional = [n for n in names if n not in required]
        share = rng.uniform(*policy.keep_share)
        kept_optional = set(rng.sample(optional, max(0 if required else 1, round(len(optional) * share)))) if optional else set()
        names = [n for n in names if n in required or n in kept_optional]
    if rng.random() < policy.shuffle:
        rng.shuffle(names)
    new_props: dict[str, Any] = {}
    mapping: dict[str, Any] = {}
    new_required = []
    for name in names:
        sub = props[name]
        new_name = _rename(name, rng) if rng.random() < policy.rename else name
        if new_name in new_props:
            new_name = name if name not in new_props else f"{name}_{len(new_props)}"
        if rng.random() < policy.drop_description:
            _drop_description(sub)
        mapping[new_name] = (name, _vary_node(sub, rng, policy))
        new_props[new_name] = sub
        if name in required:
            new_required.append(new_name)
    node["properties"] = new_props
    node["required"] = new_required
    return mapping


def _drop_description(node: dict[str, Any]) -> None:
    node.pop("description", None)
    for option in node.get("anyOf", ()):
        option.pop("description", None)


def _rename(name: str, rng: random.Random) -> str:
    words = [w for w in name.split("_") if w]
    words = [rng.choice(_SYNONYMS[w]) if w in _SYNONYMS and rng.random() < 0.5 else w for w in words]
    words = "_".join(words).split("_")
    style = rng.choice(("snake", "camel", "pascal", "kebab", "upper", "space"))
    if style == "camel":
        return words[0] + "".join(w.title() for w in words[1:])
    if style == "pascal":
        return "".join(w.title() for w in words)
    if style == "kebab":
        return "-".join(words)
    if style == "upper":
        return "_".join(words).upper()
    if style == "space":
        return " ".join(words).capitalize()
    return "_".join(words)
