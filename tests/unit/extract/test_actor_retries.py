"""A record that fails validation is drawn again with sampling; the bookkeeping of those attempts.

The engine here is a scripted stand-in behind the real `Engine` interface: these tests
are about the extractor's attempt loop, not about what a model writes.
"""

import asyncio
import copy
import json
from dataclasses import replace

from fieldmill.engines.base import Generation
from fieldmill.document import Document
from fieldmill.extract.actor import Extractor
from fieldmill.extract.settings import ExtractionSettings
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema
from scripted_engine import ScriptedEngine

SCHEMA = load_schema("invoice")
VALID = example_record(SCHEMA.hardened)
INVALID = copy.deepcopy(VALID) | {"total": 999.0}
PAGE = "INVOICE ...\n" + "".join(f"line {i}\n" for i in range(40))  # room for more items than any list of the schema


def extract(outputs, retries, uri="/docs/a.txt", text="INVOICE ..."):
    engine = ScriptedEngine(outputs)
    extractor = Extractor(ExtractionSettings(retries=retries), "invoice", engine=engine)
    result = asyncio.run(extractor.extract(Document.of_text(uri, text)))
    return result, engine.calls


def test_greedy_success_needs_one_attempt():
    result, calls = extract([VALID], retries=2)
    assert result.status == "compliant" and result.attempts == 1 and calls == [(0.0, None)]


def test_invalid_record_is_retried_with_seeded_sampling():
    result, calls = extract([INVALID, VALID], retries=2)
    assert result.status == "compliant" and result.attempts == 2
    assert result.record["total"] == VALID["total"]
    assert calls[0] == (0.0, None) and calls[1][0] == 0.7 and isinstance(calls[1][1], int)
    assert result.completion_tokens == 200 and result.generation_s == 1.0  # the cost of both attempts is counted
    _, again = extract([INVALID, VALID], retries=2)
    _, moved = extract([INVALID, VALID], retries=2, uri="/elsewhere/a.txt")
    _, other_doc = extract([INVALID, VALID], retries=2, text="INVOICE 2 ...")
    assert again == calls and moved == calls  # same document, same draws, wherever it is stored
    assert other_doc[1][1] != calls[1][1]  # another document, other draws


def test_still_invalid_keeps_the_greedy_answer_and_its_errors():
    first = copy.deepcopy(VALID) | {"total": 111.0}
    result, calls = extract([first, INVALID, INVALID], retries=2)
    assert result.status == "noncompliant" and result.attempts == 3 and len(calls) == 3
    assert json.loads(result.raw_output)["total"] == 111.0 and "total" in result.error


def test_no_retries_means_greedy_only():
    result, calls = extract([INVALID, VALID], retries=0)
    assert result.status == "noncompliant" and result.attempts == 1 and len(calls) == 1


def test_a_list_that_runs_on_is_decoded_again_bounded_where_the_rules_say_it_ended():
    """Two good line items, then 'items' made of the totals (their amount is not quantity x price): the second,
    greedy attempt runs under a constraint that allows exactly two items."""
    import re

    runaway = copy.deepcopy(VALID)
    runaway["line_items"] = VALID["line_items"] + [{"description": "Totals", "quantity": 162, "unit": None, "unit_price": 162.0,
                                                    "tax_rate_percent": None, "amount": 162.0}] * 3
    engine = ScriptedEngine([runaway, VALID])
    extractor = Extractor(ExtractionSettings(retries=2), "invoice", engine=engine)
    result = asyncio.run(extractor.extract(Document.of_text("/docs/a.txt", PAGE)))
    constraints = engine.constraints
    assert result.status == "compliant" and result.attempts == 2
    assert engine.calls[1] == (0.0, None)  # greedy again, not a sampled draw
    second = re.compile(constraints[1].regex)
    assert second.fullmatch(json.dumps(VALID, separators=(",", ":")))
    assert not second.fullmatch(json.dumps(runaway, separators=(",", ":")))  # three items or more cannot be written
    assert constraints[1].max_output_bytes < constraints[0].max_output_bytes


def test_a_short_document_cannot_be_given_more_list_items_than_it_has_lines():
    """A model looping on a three-line document (the same line item again and again) stops where the text ends:
    its constraint allows no more items than the text has lines and separators; a page keeps the schema's bound."""
    import re

    looping = copy.deepcopy(VALID)
    looping["line_items"] = [VALID["line_items"][0]] * 6
    short = "Invoice INV-7\nIssued 3 November 2026 by Acme GmbH to Beta Ltd\nTotal due 1250.00 EUR\n"
    engine = ScriptedEngine([VALID, VALID])
    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=engine)
    asyncio.run(extractor.extract(Document.of_text("/docs/short.txt", short)))
    asyncio.run(extractor.extract(Document.of_text("/docs/page.txt", PAGE)))
    on_short, on_page = (re.compile(c.regex) for c in engine.constraints)
    assert on_short.fullmatch(json.dumps(VALID, separators=(",", ":")))
    assert not on_short.fullmatch(json.dumps(looping, separators=(",", ":")))
    assert on_page.fullmatch(json.dumps(looping, separators=(",", ":")))
    assert engine.constraints[0].max_output_tokens < engine.constraints[1].max_output_tokens


class SilentEngine(ScriptedEngine):
    """vLLM's answer when a grammar's compilation timed out: no text, no error."""

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        self.calls.append((temperature, seed))
        return Generation(text="", prompt_tokens=len(prompt_ids), completion_tokens=0, finish_reason="stop", generation_s=0.1)


def test_an_engine_that_answers_nothing_fails_the_document_for_a_passing_reason():
    from fieldmill.documents import NO_OUTPUT, TRANSIENT

    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=SilentEngine([]))
    result = asyncio.run(extractor.extract(Document.of_text("/docs/a.txt", "INVOICE ...")))
    assert (result.status, result.reason) == ("failed", NO_OUTPUT) and NO_OUTPUT in TRANSIENT
    assert "no text" in result.error


class EngineDeadError(RuntimeError):
    """Named as vLLM names it: its engine core process is gone."""


class DyingEngine(ScriptedEngine):
    def __init__(self, outputs, answers_before_death):
        super().__init__(outputs)
        self.left = answers_before_death
        self.closed = False

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        if self.left == 0:
            raise EngineDeadError("EngineCore encountered an issue")
        self.left -= 1
        return await super().generate(prompt_ids, constraint, max_tokens, temperature, seed)

    def close(self):
        self.closed = True


def test_an_engine_that_dies_in_a_live_actor_is_started_again_not_used_to_fail_the_rest():
    from fieldmill.extract.actor import MAX_ENGINE_RESTARTS

    first = DyingEngine([VALID] * 5, answers_before_death=1)
    started = []

    def factory():
        started.append(DyingEngine([VALID] * 5, answers_before_death=2))
        return started[-1]

    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=first, engine_factory=factory)

    async def four_documents_in_flight():
        return await asyncio.gather(*(extractor.extract(Document.of_text(f"/docs/{i}.txt", "INVOICE ...")) for i in range(4)))

    results = asyncio.run(four_documents_in_flight())
    assert [r.status for r in results] == ["compliant"] * 4
    assert first.closed and len(started) == 2 and extractor.engine_restarts == 2  # one restart per death, not one per document
    hopeless = Extractor(ExtractionSettings(retries=0), "invoice", engine=DyingEngine([], 0), engine_factory=lambda: DyingEngine([], 0))
    failed = asyncio.run(hopeless.extract(Document.of_text("/docs/x.txt", "INVOICE ...")))
    assert (failed.status, failed.reason) == ("failed", "engine_error") and hopeless.engine_restarts == MAX_ENGINE_RESTARTS
    again = asyncio.run(hopeless.extract(Document.of_text("/docs/y.txt", "INVOICE ...")))
    assert again.reason == "engine_error" and hopeless.engine_restarts == MAX_ENGINE_RESTARTS  # bounded: no restarts forever


def test_an_extractor_let_go_closes_the_engine_it_made_at_once_and_a_lent_engine_stays_open():
    # Ray Data lets the extractor go at the actor's graceful end, before Ray kills the worker's child processes:
    # the engine must close then, not at the interpreter's exit when its processes are already dead.
    made = []

    def factory():
        made.append(DyingEngine([VALID], answers_before_death=1))
        return made[-1]

    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine_factory=factory)
    assert asyncio.run(extractor.extract(Document.of_text("/docs/a.txt", "INVOICE ..."))).status == "compliant"
    del extractor
    assert made[0].closed
    lent = DyingEngine([VALID], answers_before_death=1)
    borrower = Extractor(ExtractionSettings(retries=0), "invoice", engine=lent)
    del borrower
    assert not lent.closed


def test_the_engines_death_at_the_actors_end_is_not_logged_but_a_death_during_work_is():
    import logging

    from fieldmill.engines.vllm import IdleShutdownFilter

    class Idle:
        in_flight = 0

    engine = Idle()
    quiet = IdleShutdownFilter(engine)

    def record(message, exc=None):
        return logging.LogRecord("vllm.v1.engine.async_llm", logging.ERROR, "async_llm.py", 906, message, None,
                                 (type(exc), exc, None) if exc else None)

    shutdown = [record("AsyncLLM output_handler failed.", EngineDeadError("EngineCore encountered an issue")),
                record("[shutdown] MPClient: engine core exited unexpectedly; starting cleanup")]
    assert not any(quiet.filter(r) for r in shutdown)
    assert quiet.filter(record("Added request fm-1"))
    engine.in_flight = 2
    assert all(quiet.filter(r) for r in shutdown)


class CutShortEngine(ScriptedEngine):
    """Ends its first answer mid-string, as vLLM does when llguidance gives up on a document's grammar."""

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        if not self.constraints:
            self.constraints.append(constraint)
            return Generation(text='{"document_type":"invoice","invoice_number":"RX-22', prompt_tokens=len(prompt_ids), completion_tokens=12,
                              finish_reason="stop", generation_s=0.2)
        return await super().generate(prompt_ids, constraint, max_tokens, temperature, seed)


def test_an_answer_the_documents_grammar_cut_short_is_read_again_under_the_schemas_constraint():
    engine = CutShortEngine([VALID])
    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=engine)
    text = "INVOICE RX-2207\nIssued 12 March 2025, due 11 April 2025\nTotal GBP 162.00"
    result = asyncio.run(extractor.extract(Document.of_text("/docs/a.txt", text)))
    assert result.status == "compliant" and len(engine.constraints) == 2
    assert engine.constraints[0].grammar is not None and engine.constraints[1] == SCHEMA.constraint  # the document's grammar, then the schema's
    assert result.completion_tokens == 112  # both answers are paid for


def test_the_confidence_follows_the_calibration_stored_with_the_engines_model(tmp_path):
    from fieldmill.extract.trust import CALIBRATION_FILE, FEATURES, Calibration

    adapter, model = tmp_path / "adapter", tmp_path / "model"
    adapter.mkdir(), model.mkdir()
    (model / CALIBRATION_FILE).write_text(json.dumps(Calibration((0.0,) * len(FEATURES), 3.0).to_json()))  # every value: sigmoid(3)
    (adapter / CALIBRATION_FILE).write_text(json.dumps(Calibration((0.0,) * len(FEATURES), -3.0).to_json()))  # beside the adapter: wins
    class ProbableEngine(ScriptedEngine):  # reports a probability for each character of its answer, as real engines do per token
        async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
            generation = await super().generate(prompt_ids, constraint, max_tokens, temperature, seed)
            return replace(generation, token_logprobs=(-0.001,) * len(generation.text), token_ends=tuple(range(1, len(generation.text) + 1)))

    plain, calibrated = ProbableEngine([VALID]), ProbableEngine([VALID])
    calibrated.model_folders = (adapter, model)
    confidences = []
    for engine in (plain, calibrated):
        result = asyncio.run(Extractor(ExtractionSettings(retries=0), "invoice", engine=engine).extract(Document.of_text("/d/a.txt", "INVOICE ...")))
        confidences.append(set(result.confidence.values()))
    assert confidences[1] == {round(1 / (1 + 2.718281828459045 ** 3), 6)} and confidences[0] != confidences[1]


def test_a_list_that_runs_past_the_documents_rows_is_decoded_again_ended_before_its_stray():
    """The rules accept a third 'item' made of the heading `Totals` and a line's amount printed seven lines above it;
    no row of the document prints them together (`extract/item_rows`): the answer is decoded again, greedily, under a
    constraint that allows exactly the two items printed as rows, and that answer is the one kept."""
    import re

    text = ("INVOICE RX-2207\nCordless drill 2 45.00 20% 90.00\nDelivery and set-up 1.5 hours 30.00 20% 45.00\n"
            "Thank you for your order.\nPayment within 30 days.\nBank account 12345678, sort code 20-00-00.\n"
            "Questions? Call us.\nTotals\nTotal 162.00\n")
    stray = {"description": "Totals", "quantity": 1, "unit": None, "unit_price": 90.0, "tax_rate_percent": 20, "amount": 90.0}
    runaway = copy.deepcopy(VALID)
    runaway["line_items"] = VALID["line_items"] + [stray]
    runaway.update(subtotal=225.0, tax_total=45.0, total=270.0, amount_due=270.0)  # its sums agree: the rules accept it
    engine = ScriptedEngine([runaway, VALID])
    extractor = Extractor(ExtractionSettings(retries=2), "invoice", engine=engine)
    result = asyncio.run(extractor.extract(Document.of_text("/docs/a.txt", text)))
    assert len(engine.calls) == 2 and engine.calls[1] == (0.0, None)
    assert result.status == "compliant" and len(result.record["line_items"]) == 2 and result.attempts == 1
    assert result.completion_tokens == 200  # both decodings are counted
    second = re.compile(engine.constraints[1].regex)
    assert second.fullmatch(json.dumps(VALID, separators=(",", ":")))
    assert not second.fullmatch(json.dumps(runaway, separators=(",", ":")))


def test_items_printed_as_rows_are_decoded_once():
    text = "INVOICE RX-2207\nCordless drill 2 45.00 20% 90.00\nDelivery and set-up 1.5 hours 30.00 20% 45.00\nTotal 162.00\n"
    result, calls = extract([VALID], retries=2, text=text)
    assert result.status == "compliant" and len(calls) == 1


def _summary(meds, labs=None):
    from fieldmill.model.prompts import example_record

    record = example_record(load_schema("medical_record").hardened) | {"discharge_medications": meds}
    return record | ({"lab_results": labs} if labs is not None else {})


MEDS = [{"name": "Insulin glargine", "dose": "18 units", "route": "subcutaneous", "frequency": "at bedtime"},
        {"name": "Furosemide", "dose": "40 mg", "route": "oral", "frequency": "once daily"},
        {"name": "Apixaban", "dose": "5 mg", "route": "oral", "frequency": "BID"}]
SUMMARY = ("Discharge medications\nInsulin glargine 18 units SC at bedtime\nFurosemide 40 mg oral once daily\nApixaban 5 mg PO BID\n\n"
           "Follow-up and instructions\n")


def _continue(outputs, text=SUMMARY):
    from scripted_engine import ContinuingEngine

    engine = ContinuingEngine(outputs, logprob=-0.01)
    result = asyncio.run(Extractor(ExtractionSettings(retries=0, nulls="keep"), "medical_record", engine=engine)
                         .extract(Document.of_text("/docs/summary.txt", text)))
    return result, engine


def item_text(item):
    return "," + json.dumps(item, separators=(",", ":"))


def test_a_list_that_stops_before_lines_like_its_rows_is_continued_where_it_closed():
    """The model closed the medications after one of three rows printed alike: the answer is continued from the `]`
    that closed them, two items and the `]` decoded there, and both items, printed on those lines in order, go into
    the answer; the rest of the first answer stays as it was."""
    import re

    from scripted_engine import RawText

    first = _summary(MEDS[:1])
    result, engine = _continue([first, RawText(item_text(MEDS[1]) + item_text(MEDS[2]) + "]")])
    assert [m["name"] for m in result.record["discharge_medications"]] == ["Insulin glargine", "Furosemide", "Apixaban"]
    assert len(engine.calls) == 2 and engine.calls[1] == (0.0, None)
    first_text = json.dumps(first, separators=(",", ":"))
    close = first_text.index("]", first_text.index('"discharge_medications"'))
    assert engine.prompt_ids[1] == engine.prompt_ids[0] + engine.answer_token_ids(first_text[:close])  # the answer up to its `]`
    continued = re.compile(engine.constraints[1].regex)  # two items, then the `]`
    assert continued.fullmatch(item_text(MEDS[1]) + item_text(MEDS[2]) + "]") and not continued.fullmatch(item_text(MEDS[1]) + "]")
    assert json.loads(result.raw_output) == _summary(MEDS)
    assert 0.5 < result.confidence["discharge_medications[2].name"] < 1.0  # the new items' own tokens
    assert result.completion_tokens == 200


def test_only_the_new_items_printed_on_the_lines_expected_in_order_are_kept():
    from scripted_engine import RawText

    stray = {"name": "Dr. Ana Ruiz", "dose": None, "route": None, "frequency": None}
    result, engine = _continue([_summary(MEDS[:1]), RawText(item_text(MEDS[1]) + item_text(stray) + "]")])
    assert len(engine.calls) == 2 and result.record["discharge_medications"] == MEDS[:2]  # the second new item is no row of them

    result, engine = _continue([_summary(MEDS[:1]), RawText(item_text(MEDS[2]) + item_text(MEDS[1]) + "]")])
    assert len(engine.calls) == 2 and result.record["discharge_medications"] == MEDS[:1]  # out of order: none went on


def test_each_open_list_is_continued_in_its_own_place():
    from scripted_engine import RawText

    text = ("Laboratory results\nGlucose 176 mg/dL (H)\nPotassium 3.1 mmol/L\n\nDischarge medications\n"
            "Furosemide 40 mg oral once daily\nApixaban 5 mg PO BID\n\nFollow-up and instructions\n")
    labs = [{"test": "Glucose", "value": 176.0, "unit": "mg/dL", "flag": "high"}, {"test": "Potassium", "value": 3.1, "unit": "mmol/L", "flag": None}]
    first = _summary(MEDS[1:2], labs[:1])
    wrong_lab = {"test": "Furosemide", "value": 40.0, "unit": "mg", "flag": None}  # not the Potassium row
    result, engine = _continue([first, RawText(item_text(wrong_lab) + "]"), RawText(item_text(MEDS[2]) + "]")], text=text)
    assert len(engine.calls) == 3 and result.record["lab_results"] == labs[:1] and result.record["discharge_medications"] == MEDS[1:]
    assert result.completion_tokens == 300
