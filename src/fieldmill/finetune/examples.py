"""Labelled documents -> training pairs: the prompt `run` sends, and the answer the constraint emits.

A *source* is one schema with its labelled documents, in either form:

* `--data DOCS --gold GOLD.jsonl`: gold lines `{"name": relative path, "record": {...}}`,
  as `fieldmill synth` writes them (a name matches the document whose URI ends with it,
  as in `fieldmill eval`);
* corrections: gold lines `{"doc_uri": ..., "record": {...}}`, as `fieldmill review`
  hands them out and a person sends them back; the document is read from `doc_uri`.

A gold line may carry its own JSON Schema (`"schema": {...}`), as `fieldmill synth
--schema generic` writes them: that line is trained on its own schema. A source whose
schema is `from-gold` takes every line's schema from the line.

Documents are read and decoded by `run`'s own code. A gold record that does not
validate, a document that cannot be read or decoded and a pair longer than
`max_seq_tokens` are skipped and counted with their reason, never a crash.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import ValidationError

from fieldmill import documents, storage
from fieldmill.schema.constraint import AnswerError, answer_text
from fieldmill.finetune.variants import VariantPolicy, noisy_document, project, schema_variant, variant_title
from fieldmill.model.prompts import build_prompt, schema_prefix, schema_title
from fieldmill.schema.hardening import SchemaError
from fieldmill.schema.load import LoadedSchema, load_schema, schema_from_document

MAX_DOC_BYTES = 64 << 20
FROM_GOLD = "from-gold"  # a source whose gold lines each carry their own schema
_INLINE: dict[str, LoadedSchema] = {}  # schemas that came inside gold lines, by their key


class DataError(ValueError):
    """A source cannot be used at all (missing gold file, no documents)."""


@dataclass(frozen=True)
class Source:
    schema: str
    gold: str
    data: str | None = None


@dataclass(frozen=True)
class Example:
    """One labelled document: its decoded text and its gold record in the schema's JSON form."""

    schema: str
    name: str
    text: str
    record: dict[str, Any]


@dataclass(frozen=True)
class Pair:
    schema: str  # the spec, as given to load_schema
    name: str
    prompt: str
    answer: str
    varied: bool = False


@dataclass
class Skipped:
    """What was left out, by reason, with a few examples of each."""

    counts: Counter = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, detail: str) -> None:
        self.counts[reason] += 1
        self.samples.setdefault(reason, [])
        if len(self.samples[reason]) < 3:
            self.samples[reason].append(detail[:300])

    def lines(self) -> list[str]:
        return [f"skipped {n} ({reason}), e.g. {self.samples[reason][0]}" for reason, n in sorted(self.counts.items())]


def resolve_schema(spec: str) -> LoadedSchema:
    """A schema by spec: one that came inside a gold line, else `load_schema`."""
    return _INLINE[spec] if spec in _INLINE else load_schema(spec)


def is_inline(spec: str) -> bool:
    return spec in _INLINE


def _line_schema(document: Any) -> LoadedSchema:
    if not isinstance(document, dict):
        raise SchemaError("the line's schema is not a JSON object")
    digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:12]
    key = f"inline:{document.get('title') or 'record'}:{digest}"
    if key not in _INLINE:
        _INLINE[key] = schema_from_document(document, key)
    return _INLINE[key]


def load_examples(source: Source, skipped: Skipped) -> list[Example]:
    default = None if source.schema == FROM_GOLD else load_schema(source.schema)
    lines = _gold_lines(source.gold)
    docs = _listed(source.data) if source.data and any("name" in line for line in lines) else {}
    index = None
    if docs:
        from fieldmill.evaluate import SuffixIndex

        index = SuffixIndex(docs)
    out = []
    for line in lines:
        label = line.get("doc_uri") or line.get("name") or "?"
        uri = line.get("doc_uri") or (index.find(line["name"]) if index and "name" in line else None)
        if not uri:
            skipped.add("no_document", f"{label}: no document under {source.data} matches this gold name")
            continue
        try:
            schema = _line_schema(line["schema"]) if "schema" in line else default
        except SchemaError as exc:
            skipped.add("invalid_schema", f"{label}: {exc}")
            continue
        if schema is None:
            skipped.add("invalid_schema", f"{label}: the source is {FROM_GOLD} but this line has no schema")
            continue
        record = gold_record(schema, line.get("record"))
        if isinstance(record, str):
            skipped.add("invalid_gold", f"{label}: {record}")
            continue
        size = docs[uri] if uri in docs else 0
        decoded = documents.read_document(uri, uri.rsplit("/", 1)[-1], size, MAX_DOC_BYTES)
        if decoded.text is None:
            skipped.add(decoded.reason or "decode_error", f"{label}: {decoded.message}")
            continue
        out.append(Example(schema.spec, label, decoded.text, record))
    return out


def gold_record(schema: LoadedSchema, record: Any) -> dict[str, Any] | str:
    """The gold record in the schema's JSON form (aliases, ISO dates), or why it is unusable."""
    if not isinstance(record, dict):
        return "the gold record is not a JSON object"
    try:
        instance = schema.model.model_validate(record)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        where = ".".join(str(p) for p in first["loc"]) or "$"
        return f"the gold record does not validate against {schema.name}: {len(errors)} error(s), first {where}: {first['msg']}"
    return instance.model_dump(mode="json", by_alias=True)


def run_prompt(schema: LoadedSchema, text: str, prompt_format: str) -> str:
    """The prompt `run` sends for this document to a model trained on `prompt_format`."""
    prefix = schema_prefix(schema.hardened, schema_title(schema.name), schema.example_document, prompt_format=prompt_format)
    return build_prompt(prefix, text)


def exact_pair(schema: LoadedSchema, example: Example, prompt_format: str) -> Pair | str:
    """The pair `run` would see: its prompt byte for byte, the constraint's answer."""
    try:
        answer = answer_text(example.record, schema.hardened)
    except AnswerError as exc:
        return f"the gold record cannot be written under the constraint: {exc}"
    return Pair(example.schema, example.name, run_prompt(schema, example.text, prompt_format), answer)


def varied_pair(schema: LoadedSchema, example: Example, prompt_format: str, rng: random.Random, policy: VariantPolicy) -> Pair | str:
    """A pair for a variant of the schema (other names, subset, order) and a noisier document."""
    hardened, mapping = schema_variant(schema.hardened, rng, policy)
    title = variant_title(schema_title(schema.name), rng, policy)
    prefix = schema_prefix(hardened, title, None, prompt_format=prompt_format)
    try:
        answer = answer_text(project(example.record, mapping), hardened)
    except AnswerError as exc:
        return f"the gold record cannot be written under the variant's constraint: {exc}"
    return Pair(example.schema, example.name, build_prompt(prefix, noisy_document(example.text, rng, policy)), answer, varied=True)


def build_pairs(examples: list[Example], prompt_format: str, seed: int, variant_share: float, skipped: Skipped,
                policy: VariantPolicy = VariantPolicy()) -> list[Pair]:
    """One pair per example: the exact schema, or (with probability `variant_share`) a variant."""
    rng = random.Random(seed)
    schemas: dict[str, LoadedSchema] = {}
    pairs = []
    for example in examples:
        schema = schemas.get(example.schema) or schemas.setdefault(example.schema, resolve_schema(example.schema))
        # A schema that came with its document is already one user's variant: renaming or dropping
        # a description could contradict its answer (a string date asked for as YYYY-MM-DD).
        varied = rng.random() < variant_share and not is_inline(example.schema)
        pair = varied_pair(schema, example, prompt_format, rng, policy) if varied else exact_pair(schema, example, prompt_format)
        if isinstance(pair, str):
            skipped.add("invalid_gold", f"{example.name}: {pair}")
            continue
        pairs.append(pair)
    return pairs


def split_held_out(examples: list[Example], fraction: float, seed: int) -> tuple[list[Example], list[Example]]:
    """A deterministic held-out share of each schema's examples (by name, so it is stable across runs)."""
    if fraction <= 0:
        return examples, []

    def score(example: Example) -> float:
        digest = hashlib.blake2b(f"{seed}\0{example.schema}\0{example.name}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") / 2**64

    held = [e for e in examples if score(e) < fraction]
    train = [e for e in examples if score(e) >= fraction]
    return train, held


def fits(pairs: list[Pair], count_tokens: Callable[[str], int], max_seq_tokens: int, skipped: Skipped) -> list[Pair]:
    out = []
    for pair in pairs:
        length = count_tokens(pair.prompt) + count_tokens(pair.answer) + 1
        if length > max_seq_tokens:
            skipped.add("too_long", f"{pair.name}: {length} tokens > --max-seq-tokens {max_seq_tokens}")
            continue
        out.append(pair)
    return out


def data_digest(examples: list[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.schema, example.name, example.text, example.record], sort_keys=True, ensure_ascii=False).encode())
    return digest.hexdigest()[:16]


def _gold_lines(uri: str) -> list[dict[str, Any]]:
    try:
        text = storage.read_bytes(uri).decode("utf-8")
    except storage.MissingInput as exc:
        raise DataError(f"no gold file at {uri}: {exc}") from None
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{uri} line {number}: not JSON ({exc.msg})") from None
        if not isinstance(item, dict) or "record" not in item or not ("name" in item or "doc_uri" in item):
            raise DataError(f"{uri} line {number}: expected {{\"name\" or \"doc_uri\": ..., \"record\": {{...}}}}")
        lines.append(item)
    if not lines:
        raise DataError(f"{uri} holds no gold records")
    return lines


def _listed(root: str) -> dict[str, int]:
    try:
        return {info.uri: info.size for info in storage.list_objects(storage.normalise_root(root))}
    except storage.MissingInput as exc:
        raise DataError(f"no documents at {root}: {exc}") from None
