"""A record that fails validation is drawn again with sampling; the bookkeeping of those attempts.

The engine here is a scripted stand-in behind the real `Engine` interface: these tests
are about the extractor's attempt loop, not about what a model writes.
"""

import asyncio
import copy
import json
import pickle

from fieldmill.engines.base import Engine, Generation
from fieldmill.extract import Extractor
from fieldmill.prompts import example_record
from fieldmill.schemas import load_schema

SCHEMA = load_schema("invoice")
VALID = example_record(SCHEMA.hardened)
INVALID = copy.deepcopy(VALID) | {"total": 999.0}


class ScriptedEngine(Engine):
    max_model_len = 32768

    def __init__(self, outputs):
        self.outputs = list(outputs)
        self.calls = []

    def count_tokens(self, prompt):
        return list(range(len(prompt) // 4 + 1))

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        self.calls.append((temperature, seed))
        text = json.dumps(self.outputs.pop(0), separators=(",", ":"))
        return Generation(text=text, prompt_tokens=len(prompt_ids), completion_tokens=100, finish_reason="stop", generation_s=0.5)


def extract(outputs, retries, uri="/docs/a.txt"):
    engine = ScriptedEngine(outputs)
    extractor = Extractor("invoice", {}, engine=engine, retries=retries)
    result = asyncio.run(extractor.extract({"doc_uri": uri, "text": "INVOICE ..."}))
    return result, engine.calls


def test_greedy_success_needs_one_attempt():
    result, calls = extract([VALID], retries=2)
    assert result["status"] == "compliant" and result["attempts"] == 1 and calls == [(0.0, None)]


def test_invalid_record_is_retried_with_seeded_sampling():
    result, calls = extract([INVALID, VALID], retries=2)
    assert result["status"] == "compliant" and result["attempts"] == 2
    assert pickle.loads(result["record_pickle"])["total"] == VALID["total"]
    assert calls[0] == (0.0, None) and calls[1][0] == 0.7 and isinstance(calls[1][1], int)
    assert result["completion_tokens"] == 200 and result["generation_s"] == 1.0  # the cost of both attempts is counted
    _, again = extract([INVALID, VALID], retries=2)
    _, other_doc = extract([INVALID, VALID], retries=2, uri="/docs/b.txt")
    assert again == calls and other_doc[1][1] != calls[1][1]  # same document, same draws; another document, other draws


def test_still_invalid_keeps_the_greedy_answer_and_its_errors():
    first = copy.deepcopy(VALID) | {"total": 111.0}
    result, calls = extract([first, INVALID, INVALID], retries=2)
    assert result["status"] == "noncompliant" and result["attempts"] == 3 and len(calls) == 3
    assert json.loads(result["raw_output"])["total"] == 111.0 and "total" in result["error"]


def test_no_retries_means_greedy_only():
    result, calls = extract([INVALID, VALID], retries=0)
    assert result["status"] == "noncompliant" and result["attempts"] == 1 and len(calls) == 1


def test_a_list_that_runs_on_is_decoded_again_bounded_where_the_rules_say_it_ended():
    """Two good line items, then 'items' made of the totals (their amount is not quantity x price): the second,
    greedy attempt runs under a constraint that allows exactly two items."""
    import re

    runaway = copy.deepcopy(VALID)
    runaway["line_items"] = VALID["line_items"] + [{"description": "Totals", "quantity": 162, "unit": None, "unit_price": 162.0,
                                                    "tax_rate_percent": None, "amount": 162.0}] * 3
    engine = ScriptedEngine([runaway, VALID])
    extractor = Extractor("invoice", {}, engine=engine, retries=2)
    constraints = []
    original = engine.generate

    async def spy(prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        constraints.append(constraint)
        return await original(prompt_ids, constraint, max_tokens, temperature, seed)

    engine.generate = spy
    result = asyncio.run(extractor.extract({"doc_uri": "/docs/a.txt", "text": "INVOICE ..."}))
    assert result["status"] == "compliant" and result["attempts"] == 2
    assert engine.calls[1] == (0.0, None)  # greedy again, not a sampled draw
    second = re.compile(constraints[1].regex)
    assert second.fullmatch(json.dumps(VALID, separators=(",", ":")))
    assert not second.fullmatch(json.dumps(runaway, separators=(",", ":")))  # three items or more cannot be written
    assert constraints[1].max_output_bytes < constraints[0].max_output_bytes


class SilentEngine(ScriptedEngine):
    """vLLM's answer when a grammar's compilation timed out: no text, no error."""

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        self.calls.append((temperature, seed))
        return Generation(text="", prompt_tokens=len(prompt_ids), completion_tokens=0, finish_reason="stop", generation_s=0.1)


def test_an_engine_that_answers_nothing_fails_the_document_for_a_passing_reason():
    from fieldmill.documents import NO_OUTPUT, TRANSIENT

    extractor = Extractor("invoice", {}, engine=SilentEngine([]), retries=0)
    result = asyncio.run(extractor.extract({"doc_uri": "/docs/a.txt", "text": "INVOICE ..."}))
    assert (result["status"], result["reason"]) == ("failed", NO_OUTPUT) and NO_OUTPUT in TRANSIENT
    assert "no text" in result["error"]
