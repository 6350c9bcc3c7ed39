"""After training: score the held-out documents with the new model, and tell the user what was made.

The held-out documents are read as `run` reads a document, by its extractor (the schema's constraint and
the document's printed values, validation, retries), and scored by `fieldmill eval`'s per-field rules.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from fieldmill.finetune import FinetuneResult
from fieldmill.model.card import write_card


def evaluate_held_out(result: FinetuneResult, engine=None) -> dict[str, Any]:
    """Scores per schema, written into the model card (`held_out_scores`)."""
    from fieldmill.engines import EngineConfig, create_engine

    own_engine = engine is None
    engine = engine or create_engine(EngineConfig(model=str(result.output)))
    try:
        answers = asyncio.run(_extract_all(engine, result.held_out))
    finally:
        if own_engine:
            engine.close()
    scores = score_answers(result.held_out, answers)
    result.card["held_out_scores"] = scores
    write_card(result.output, result.card)
    return scores


async def _extract_all(engine, examples) -> list[tuple[str, dict[str, Any] | None]]:
    """(status, record) of each example, read by an extractor of its schema on the one engine."""
    from fieldmill.document import Document
    from fieldmill.extract.actor import Extractor
    from fieldmill.extract.settings import ExtractionSettings
    from fieldmill.finetune.examples import resolve_schema

    extractors: dict[str, Extractor] = {}

    async def one(example):
        if example.schema not in extractors:
            extractors[example.schema] = Extractor(ExtractionSettings(), resolve_schema(example.schema), engine=engine)
        answer = await extractors[example.schema].extract(Document.of_text(example.name, example.text))
        return answer.status, answer.record

    return list(await asyncio.gather(*(one(e) for e in examples)))


def score_answers(examples, answers: list[tuple[str, dict[str, Any] | None]]) -> dict[str, Any]:
    """Per schema: documents, compliance, micro and macro accuracy of the answers against the gold records."""
    from fieldmill.evaluate import FieldScore, leaves, score_record
    from fieldmill.finetune.examples import is_inline, resolve_schema
    from fieldmill.run.rows import row_schema
    from fieldmill.schema.records import COMPLIANT

    per_schema: dict[str, dict[str, Any]] = {}  # by spec
    for example, (status, record) in zip(examples, answers):
        schema = resolve_schema(example.schema)
        entry = per_schema.get(example.schema)
        if entry is None:
            all_leaves = leaves(row_schema(schema.hardened).field("record").type)
            group = "per-document schemas" if is_inline(example.schema) else schema.name
            entry = per_schema[example.schema] = {"group": group, "leaves": all_leaves, "fields": [FieldScore(l.path, l.is_list) for l in all_leaves],
                                                  "statuses": Counter()}
        entry["statuses"][status] += 1
        score_record(entry["fields"], entry["leaves"], example.record, record)
    groups: dict[str, dict[str, Any]] = {}
    for entry in per_schema.values():  # schemas that came inside gold lines pool into one group
        group = groups.setdefault(entry["group"], {"statuses": Counter(), "fields": []})
        group["statuses"].update(entry["statuses"])
        group["fields"] += entry["fields"]
    out = {}
    for name, group in groups.items():
        fields, statuses = group["fields"], group["statuses"]
        cells = sum(f.cells for f in fields)
        documents = sum(statuses.values())
        out[name] = {
            "documents": documents,
            "compliance": statuses[COMPLIANT] / documents if documents else 0.0,
            "micro": sum(f.right for f in fields) / cells if cells else 0.0,
            "macro": sum(f.accuracy for f in fields) / len(fields) if fields else 0.0,
        }
    return out


def print_finetune_summary(result: FinetuneResult) -> None:
    card = result.card
    training, data = card["training"], card["data"]
    print(f"model        {result.output} (prompt format {card['prompt_format']}, base {card['base']['id']})")
    print("schemas      " + ", ".join(f"{s['name']} ({s['examples']} pairs)" for s in card["schemas"]))
    print(f"data         {data['train_pairs']} training pairs, {data['varied_pairs']} on schema variants, {data['held_out']} held out, {data['tokens']} tokens")
    for line in result.skipped.lines():
        print(f"             {line}")
    print(f"training     {training['steps']} steps in {training['train_s']:.0f} s, loss {training['first_loss']} -> {training['final_loss']}")
    if training.get("cost"):
        from fieldmill.run.cost import describe

        print(f"cost         {describe(training['cost'])}")
    for name, score in card.get("held_out_scores", {}).items():
        print(f"held out     {name}: {score['documents']} documents, compliance {score['compliance']:.1%}, micro {score['micro']:.1%}, macro {score['macro']:.1%}")
    print(f"serve it     fieldmill run INPUT --schema SCHEMA --model {result.output} --output OUT")
