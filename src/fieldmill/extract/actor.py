"""The extraction actor: prompts -> engine -> validated rows.

One `Extractor` per Ray actor. It builds the engine once, loads the schema once
(the engine compiles its grammar on first use and caches it), and handles several
batches at once (`max_concurrency`), each row as its own engine request, so the
engine's scheduler, not the batch boundary, decides what runs together. A window of a long
document that retrieval chose for some fields is asked for those fields only (`Question`).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any, Callable

from fieldmill import documents
from fieldmill.document import DOCUMENT, ENGINE_LOAD_S, ENGINE_READY_AT, WINDOW, Document, Window, whole
from fieldmill.engines import Engine, create_engine
from fieldmill.engines.base import Generation
from fieldmill.extract import trust
from fieldmill.extract.answer import ANSWER, Answer
from fieldmill.extract.confidence import field_confidence
from fieldmill.extract.doubted import (KEEP_FROM, NULLS_REREAD, Continuation, accepted, added_items, continuations, doubted_nulls, field_schema, joined,
                                      list_close, pieces, stretches, with_json_values, without_null)
from fieldmill.extract.evidence import DocumentIndex, ground
from fieldmill.extract.item_rows import open_ends, stray_cuts, went_on
from fieldmill.extract.row_choices import accepted_choices, doubted_choices, row_texts
from fieldmill.extract.printed import printed_forms, with_printed
from fieldmill.extract.repair import bounded, bounded_by_text, list_cuts
from fieldmill.extract.retrieval import field_group
from fieldmill.extract.settings import FROM_DOCUMENT, GROUNDING_STRICT, ExtractionSettings
from fieldmill.extract.steps import STEP_ERROR, step_message
from fieldmill.model.prompts import build_prompt, in_schema_order, schema_prefix, schema_title
from fieldmill.schema.constraint import build_constraint, stretch_constraint
from fieldmill.schema.lark_grammar import Asks, asks, document_stretch_grammar, merged
from fieldmill.schema.load import LoadedSchema, load_schema
from fieldmill.schema.records import NONCOMPLIANT, check_output, confirmed_by_rules

log = logging.getLogger("fieldmill")

# Engine restarts per actor before its documents fail as engine_error (a machine that cannot keep one alive).
MAX_ENGINE_RESTARTS = 3
# Characters per token no tokenizer beats by much; longer texts are refused before
# tokenising them (a multi-megabyte document would otherwise stall the actor).
_MAX_CHARS_PER_TOKEN = 32
# Questions kept per actor (schema groups and sets of doubted nulls), each with its compiled constraint.
# The longest text of the first answer (characters) that one read of its doubted nulls decodes between two of them
# (`doubted.stretches`): about 60 tokens, where decoding them costs what a new request's prompt does on a CPU.
STRETCH_GAP = 200
_MAX_QUESTIONS = 256
# The smallest document room that makes a schema usable with a model.
MIN_DOC_TOKENS = 256


def is_dead_engine(exc: BaseException) -> bool:
    """An engine that can answer nothing more (vLLM: its engine core process died), as opposed to one request's error."""
    return "EngineDead" in type(exc).__name__ or "EngineDeadError" in str(exc)


def _this_process() -> tuple[str, int]:
    """This worker's node and process id, as the driver's engine count (pipeline.EngineCount) keys them."""
    import ray

    return ray.get_runtime_context().get_node_id(), os.getpid()


def _close_if_alive(extractor: "weakref.ref[Extractor]") -> None:
    """At the interpreter's exit: close an extractor's engine unless the extractor has already gone (and closed it)."""
    alive = extractor()
    if alive is not None:
        alive.close()


class ContextTooSmall(RuntimeError):
    pass


@dataclass(frozen=True)
class Question:
    """What a window is asked: the whole schema, or the group of fields a window of a long document was chosen for."""

    hardened: dict[str, Any]
    constraint: Any
    prefix: str
    asked: Asks  # which of its fields read the document's printed values (`lark_grammar.asks`), once per schema or group


class Extractor:
    def __init__(self, settings: ExtractionSettings, schema: str | LoadedSchema, schema_source: str | None = None, engines=None,
                 engine: Engine | None = None, engine_factory: Callable[[], Engine] | None = None):
        """`settings`: the run's `RunConfig.extraction`; `schema`: its spec (`schema_source`: the file's text where this worker
        lacks the file) or the schema already loaded; `engines`: the driver's count of open engines (run/executor.py's
        EngineCount), or None; `engine`/`engine_factory`: an engine already made (the caller's: it stays open), or how to make
        one (default: from `settings.engine`)."""
        started = time.perf_counter()
        self.settings = settings
        self.engines = engines
        self.schema = schema if isinstance(schema, LoadedSchema) else load_schema(schema, source=schema_source)
        # How to build the engine again when it dies inside this live actor (vLLM's EngineDeadError): restarted,
        # a bounded number of times, instead of failing every remaining document.
        self.engine_factory = engine_factory or (None if engine is not None else (lambda: create_engine(settings.engine)))
        self.owns_engine = engine is None  # an engine it made is closed with it; a lent one is its owner's
        self.engine = engine or self.engine_factory()
        self.engine_restarts = 0
        self._restart_lock = asyncio.Lock()
        self.constraint = self.schema.constraint
        self.calibration = trust.load_calibration(*self.engine.model_folders)  # stored with the model (`fieldmill calibrate`), else None
        # The prompt format the model was trained on (its card says; a pretrained model: the worked example).
        self.prefix = schema_prefix(self.schema.hardened, schema_title(self.schema.name), self.schema.example_document,
                                    prompt_format=self.engine.prompt_format)
        self._questions = {(): Question(self.schema.hardened, self.constraint, self.prefix, asks(self.schema.hardened))}
        overhead = len(self.engine.count_tokens(build_prompt(self.prefix, "")))
        room = self.engine.max_model_len - self.constraint.max_output_tokens - overhead
        if room < MIN_DOC_TOKENS:
            raise ContextTooSmall(
                f"schema {self.schema.name}: its longest record ({self.constraint.max_output_tokens} tokens) and the prompt "
                f"({overhead} tokens) leave {room} tokens of the model's {self.engine.max_model_len} for a document; "
                "tighten maxLength/maxItems or use a model with a longer context"
            )
        self.max_prompt_tokens = overhead + min(room, settings.max_doc_tokens or room)
        self.load_s = time.perf_counter() - started
        self.ready_at = time.time()
        if self.engines is not None:
            self.engines.opened.remote(*_this_process())
        # Ray Data lets the UDF go at the actor's graceful end (`__ray_shutdown__`), and Ray kills the worker's
        # child processes only after that: the engine closes then, while its processes live. Held strongly here,
        # the extractor outlived that moment, closed at the interpreter's exit after the engine core had been
        # killed, and the orphaned vLLM worker printed resource_tracker tracebacks. An extractor nobody let go
        # is still closed at exit, before multiprocessing's own exit handler (registered earlier, so run later).
        atexit.register(_close_if_alive, weakref.ref(self))

    def __del__(self):
        self.close()

    def close(self) -> None:
        """Stop the engine it made (a lent one stays open) and tell the driver. Ray Data deletes the UDF at graceful
        shutdown: the engine stops before the process goes, so vLLM's engine core does not die under a live client,
        and the driver, which waits for it, shuts Ray down after."""
        engine = getattr(self, "engine", None)
        if engine is not None and getattr(self, "owns_engine", True):
            self.engine = None
            try:
                engine.close()
            except Exception:
                pass
            engines = getattr(self, "engines", None)
            if engines is not None:
                try:
                    import ray

                    ray.get(engines.closed.remote(*_this_process()), timeout=10)
                except Exception:
                    pass

    async def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        await self.warm_prefix()
        windows = [Window.from_bytes(data) for data in batch[WINDOW]]
        answers = await asyncio.gather(*(self._extract_alone(Document.from_bytes(data), w) for data, w in zip(batch[DOCUMENT], windows)))
        # The document passes through as it came; the driver needs the window's place, not its text: it merges answers,
        # never reads windows again.
        return {DOCUMENT: list(batch[DOCUMENT]), WINDOW: [replace(w, text="", reserve=()).to_bytes() for w in windows],
                ANSWER: [a.to_bytes() for a in answers], ENGINE_LOAD_S: [self.load_s] * len(answers),
                ENGINE_READY_AT: [self.ready_at] * len(answers)}

    async def warm_prefix(self) -> None:
        """Prefill the schema's part of the prompt once, alone, before the first batch: every prompt of the run
        starts with it, and requests sent together would otherwise all miss the prefix cache."""
        lock = self.__dict__.setdefault("_warm_lock", asyncio.Lock())
        async with lock:
            if self.__dict__.get("_warmed"):
                return
            self._warmed = True
            try:
                await self.engine.generate(self.engine.count_tokens(build_prompt(self.prefix, "")), self.constraint, 1)
            except Exception:
                pass  # only a cache warm-up: the documents themselves report any engine error

    async def _extract_alone(self, document: Document, window: Window) -> Answer:
        """`extract`, under the step contract: a document it raises for fails alone, the batch goes on."""
        started = time.perf_counter()
        try:
            return await self.extract(document, window)
        except Exception as exc:  # noqa: BLE001 - one document's surprise is its own failed row
            log.exception("%s: extraction failed", document.uri)
            return _failed(STEP_ERROR, step_message("extract", exc), started)

    async def extract(self, document: Document, window: Window | None = None) -> Answer:
        """One document (or one window of it; default: all of its text) -> its answer."""
        started = time.perf_counter()
        if document.reason:
            return _failed(document.reason, document.message or document.reason, started)
        window = window if window is not None else whole(document)
        text = window.text
        question = self._question(window)
        if len(text) > self.max_prompt_tokens * _MAX_CHARS_PER_TOKEN:
            return _failed(documents.TOO_LONG, f"document of {len(text)} characters cannot fit {self.max_prompt_tokens} prompt tokens", started)
        prompt_ids = self.engine.count_tokens(build_prompt(question.prefix, text))
        if len(prompt_ids) > self.max_prompt_tokens:
            return _failed(
                documents.TOO_LONG,
                f"prompt of {len(prompt_ids)} tokens exceeds the limit of {self.max_prompt_tokens}",
                started,
                prompt_tokens=len(prompt_ids),
            )
        constraint = self._within_text(question, text)
        best = None
        spent = Answer(NONCOMPLIANT)  # what every attempt cost
        # A window of a long document is not a whole record (its sums and rules may need other windows):
        # its one greedy answer is kept and the merged record is validated.
        retries = self.settings.retries if window.count == 1 else 0
        bound = None  # a constraint with a runaway list bounded where the rules say it ended (extract/repair.py)
        for attempt in range(1 + retries):
            # Greedy first; then, when the rules refused the tail of a list, greedy again with that list bounded;
            # otherwise a record that fails validation is drawn again with sampling, seeded by the document's text
            # and the attempt: a rerun repeats the same draws, wherever the document is stored.
            sampling = {} if attempt == 0 or bound is not None else {"temperature": self.settings.retry_temperature, "seed": _seed(text, attempt)}
            use = bound or constraint
            bound = None
            try:
                generation = await self._generate(prompt_ids, use, sampling)
                if use is not question.constraint and _cut_short(generation):
                    # The document's grammar stopped the answer mid-way (llguidance gave up on it, and vLLM then allows
                    # only the end of the sequence): this document is read under the schema's own constraint instead.
                    log.warning("%s: the document's grammar stopped the answer (%r); reading it with the schema's constraint",
                                document.uri, generation.text[-60:])
                    spent = spent.plus_costs(generation)
                    constraint = use = question.constraint
                    generation = await self._generate(prompt_ids, use, sampling)
            except Exception as exc:
                if best is not None:
                    break
                return _failed(documents.ENGINE_ERROR, f"{type(exc).__name__}: {exc}"[:2000], started, prompt_tokens=len(prompt_ids))
            spent = spent.plus_costs(generation)
            result = self._result(generation, started, document, window, question)
            if best is None or result.error_count < best.error_count:
                best = result  # of the invalid answers, the one the rules refuse least (the greedy one on a tie)
            if result.status != NONCOMPLIANT:
                break
            if attempt == 0:
                bound = self._bounded(result, text)
        chosen = replace(result if result.status != NONCOMPLIANT else best, **spent.costs(), attempts=attempt + 1)
        if window.count == 1 and question.hardened is self.schema.hardened and chosen.record is not None:
            chosen = await self._lists_ended(document, window, question, chosen, prompt_ids)
            chosen = await self._lists_continued(document, window, question, chosen, prompt_ids)
        if self.settings.nulls == NULLS_REREAD and window.count == 1 and question.hardened is self.schema.hardened \
                and chosen.record is not None:
            chosen = await self._reread_nulls(document, window, chosen, prompt_ids)
        if window.reserve and chosen.record is not None:
            chosen = await self._second_pass(document, window, chosen)
        return replace(chosen, latency_s=time.perf_counter() - started)

    async def _lists_ended(self, document: Document, window: Window, question: Question, result: Answer,
                           prompt_ids: list[int]) -> Answer:
        """The answer decoded again (greedily) with each list ended before its first stray item (`item_rows`), when
        one has strays: kept when the rules refuse it no more than the first, else the first (with the second's costs)."""
        cuts = stray_cuts(result.record, self.schema.hardened, window.text)
        if not cuts:
            return result
        started = time.perf_counter()
        try:
            generation = await self._generate(prompt_ids, self._bounded_to(cuts, window.text), {})
        except Exception as exc:  # noqa: BLE001 - the first answer stands
            log.warning("%s: reading again with its lists ended failed: %s: %s", document.uri, type(exc).__name__, exc)
            return result
        again = self._result(generation, started, document, window, question)
        spent = result.plus_costs(generation)
        if again.record is None or again.error_count > result.error_count:
            return spent
        return replace(again, **spent.costs(), attempts=result.attempts)

    async def _lists_continued(self, document: Document, window: Window, question: Question, result: Answer,
                               prompt_ids: list[int]) -> Answer:
        """Each list that ended just before lines like its rows (`item_rows.open_ends`) continued where the first answer
        closed it: the prompt and the answer up to its `]`, then one item per such line and the `]` decoded there. The
        new items printed on those very lines, in order (`went_on`), go into the answer's text, the rest of it as it
        was, when the record passes the rules as well as before; they carry their own evidence, confidence and signals."""
        text = window.text
        for name, end in open_ends(result.record, self.schema.hardened, list(result.evidence), text).items():
            first = result.raw_output
            close = list_close(first, name)
            head = self.engine.answer_token_ids(first[:close]) if close is not None else None
            if head is None:
                continue
            item = trust.node_at(self.schema.hardened, f"{name}[0]")
            values = [(",", item, name)] * len(end.rows)
            try:
                generation = await self._generate(prompt_ids + head, stretched_document_constraint(self.settings, values, "]", text, asks(item, name)), {})
            except Exception as exc:  # noqa: BLE001 - the first answer stands
                log.warning("%s: continuing list %s failed: %s: %s", document.uri, name, type(exc).__name__, exc)
                continue
            result = result.plus_costs(generation)
            added = added_items(generation.text)
            tried = self._result(_spliced(first, close, added, generation), 0.0, document, window, question)
            kept = went_on(tried.record, list(tried.evidence), name, end, text) if tried.record is not None else 0
            if not kept:
                log.info("%s: list %s did not go on to its next rows", document.uri, name)
                continue
            again = tried if kept == len(added) else self._result(_spliced(first, close, added[:kept], generation), 0.0, document, window,
                                                                   question)
            if again.record is None or again.error_count > result.error_count:
                log.info("%s: list %s went on to %d more rows, which the rules refuse", document.uri, name, kept)
                continue
            paths = [f"{name}[{end.given + index}]" for index in range(kept)]
            log.info("%s: list %s went on to %d more rows", document.uri, name, kept)
            result = replace(result.with_values_of(again, paths), status=again.status, error=again.error, errors=again.errors,
                             record=again.record, raw_output=first[:close] + "".join(added[:kept]) + first[close:])
        return result

    async def _second_pass(self, document: Document, window: Window, result: Answer) -> Answer:
        """The fields this window reads last and left null, read again in their next-ranked windows (`Window.reserve`,
        `retrieval.plan_reads`) with those fields only: a value found there takes the null's place, with its evidence
        (in document offsets), confidence and signals; the windows read again are listed in `windows_reread`."""
        record = dict(result.record)
        reread = []
        for spare in window.reserve:
            fields = [field for field in spare.fields if record.get(field) is None]
            if not fields:
                continue
            again = await self.extract(document, Window(window.index, window.count, spare.start, spare.text, tuple(fields)))
            reread.append({"window": spare.window, "start": spare.start, "end": spare.start + len(spare.text), "fields": fields})
            result = result.plus_costs(again)
            found = again.record or {}
            filled = [field for field in fields if found.get(field) is not None]
            if not filled:
                continue
            record.update({field: found[field] for field in filled})
            result = result.with_values_of(again, filled)
        return replace(result, record=record, windows_reread=tuple(reread))

    async def _reread_nulls(self, document: Document, window: Window, result: Answer, prompt_ids: list[int]) -> Answer:
        """The nulls the signals doubt (`doubted`), and the null choices of list items whose rows print one of their options
        (`row_choices`), asked again without allowing them to be null (`_read_doubted`): an answer the document backs and
        no other field holds (a choice: that its row prints) takes the null's place, with its evidence, confidence and
        signals, when the record still passes the rules as well as before."""
        text = window.text
        paths = doubted_nulls(list(result.signals), text, result.record, self.schema.hardened)
        rows = row_texts(list(result.evidence), text)
        choices = doubted_choices(list(result.signals), self.schema.hardened, rows)
        first = _parsed(result.raw_output)
        if not (paths or choices) or not isinstance(first, dict):
            return result
        try:
            read = await self._read_doubted(prompt_ids, result.raw_output, paths + choices, text)
        except Exception as exc:  # noqa: BLE001 - the first answer stands
            log.warning("%s: reading doubted nulls again failed: %s: %s", document.uri, type(exc).__name__, exc)
            return result
        if read is None:
            return result
        generation, question = read
        result = result.plus_costs(generation)
        answer = _parsed(generation.text)
        if not isinstance(answer, dict):
            return result
        again = self._result(generation, 0.0, document, window, question)
        values = accepted(paths, result, again, text)
        values.update({path: value for path, value in accepted_choices(choices, answer, rows).items()
                       if again.confidence.get(path, 0.0) >= KEEP_FROM})
        if not values:
            return result
        checked = check_output(with_json_values(first, answer, list(values)), self.schema.model, self.schema.hardened, self.schema.validator)
        filled = replace(result.with_values_of(again, list(values)), status=checked.status, error=checked.error or "",
                         errors=tuple(checked.errors), record=checked.record)
        if checked.record is None or filled.error_count > result.error_count:
            return result
        log.info("%s: %d of %d doubted nulls read again: %s", document.uri, len(values), len(paths) + len(choices), ", ".join(values))
        return filled

    async def _read_doubted(self, prompt_ids: list[int], first: str, paths: list[str], text: str) -> tuple[Any, Question] | None:
        """The doubted nulls read again, as a generation of the whole record (its first answer with the values read again
        in their places, `doubted.joined`) or of those fields only, and the question it answers; None: not asked.

        Each null is asked where the first answer wrote it, all in one request: the prompt and the first answer up to the
        first doubted key, then each value, not null, with the first answer's text between them fixed (`doubted.stretch`):
        the document is in the engine's prefix cache already. An engine that cannot tokenise an answer's start gets one
        request of the doubted fields (`_doubting`), document and all."""
        found = continuations(first, paths)
        groups = stretches(first, found, STRETCH_GAP) if found else []
        heads = [self.engine.answer_token_ids(first[:stretched[0][1].cut]) for stretched, _ in groups]
        if not groups or any(head is None for head in heads):
            paths = [path for path in paths if "[" not in path]  # a list item's field is asked in its place only
            if not paths:
                return None
            question = self._doubting(tuple(paths))
            ids = self.engine.count_tokens(build_prompt(question.prefix, text))
            if len(ids) > self.max_prompt_tokens:
                return None
            return await self._generate(ids, self._for_document(question.constraint, question.hardened, text, question.asked), {}), question
        # The prompt is the document's and the first answer's start; from the first doubted key, what lies between the
        # doubted values is fixed. vLLM 0.32 with Gemma 3 caches none of the tokens it generated, so a request per null
        # computed most of each prompt again (at 64 invoices on the 2-core CPU, 84k prompt tokens computed against the
        # raw engine's 23k), and one request through all of them decoded the fixed text between, 26k tokens more, at
        # about 2.5 times a prompt token's cost (slower still); so a stretch ends where the text to the next doubted value
        # is long (`STRETCH_GAP`), and the next starts there, its prompt extending this one's (bench/throughput.py).
        reads = []
        for (stretched, tail), head in zip(groups, heads):
            generation = await self._generate(prompt_ids + head, self._stretching(stretched, tail, text), {})
            reads += pieces(stretched, generation)
        return joined(first, reads), self._questions[()]

    def _stretching(self, stretched: list[tuple[str, Continuation]], tail: str, text: str):
        """The constraint of a first answer continued through its doubted nulls (`doubted.stretch`): each value, not null,
        as this document bounds it, after its fixed lead; then the fixed tail."""
        values, each = [], []
        for lead, continuation in stretched:
            key, name = ("continued", trust.without_indexes(continuation.path)), continuation.path.rsplit(".", 1)[-1]
            if key not in self._questions:
                if len(self._questions) > _MAX_QUESTIONS:
                    for old in [k for k in self._questions if k[:1] == ("continued",)][: _MAX_QUESTIONS // 2]:
                        del self._questions[old]
                node = field_schema(self.schema.hardened, continuation.path)
                self._questions[key] = Question(node, None, "", asks(node, name))  # its constraint: the stretch's, per document
            question = self._questions[key]
            values.append((lead, question.hardened, name))
            each.append(question.asked)
        return stretched_document_constraint(self.settings, values, tail, text, merged(each))

    def _doubting(self, paths: tuple[str, ...]) -> Question:
        """The question of doubted nulls: their top-level fields, those paths not nullable (built once per set of paths)."""
        key = ("doubted", *paths)
        if key not in self._questions:
            if len(self._questions) > _MAX_QUESTIONS:
                for old in [k for k in self._questions if k[:1] == ("doubted",)][: _MAX_QUESTIONS // 2]:
                    del self._questions[old]
            self._questions[key] = self._question_of(without_null(self.schema.hardened, list(paths)))
        return self._questions[key]

    async def _generate(self, prompt_ids: list[int], constraint, sampling: dict[str, Any]):
        while True:
            engine = self.engine
            try:
                return await engine.generate(prompt_ids, constraint, constraint.max_output_tokens, **sampling)
            except Exception as exc:
                if not is_dead_engine(exc) or self.engine_factory is None:
                    raise
                async with self._restart_lock:  # documents in flight all see the death; one of them restarts the engine
                    if self.engine is engine:
                        if self.engine_restarts >= MAX_ENGINE_RESTARTS:
                            raise
                        self.engine_restarts += 1
                        log.warning("the engine died (%s: %s); starting it again (%d/%d)", type(exc).__name__, str(exc)[:200],
                                    self.engine_restarts, MAX_ENGINE_RESTARTS)
                        try:
                            engine.close()
                        except Exception:  # noqa: BLE001 - a dead engine may not close cleanly; its replacement matters
                            pass
                        self.engine = await asyncio.to_thread(self.engine_factory)
                        self.owns_engine = True
            # then this document again, on the engine now running

    def _question(self, window: Window) -> Question:
        """The whole schema, or for a window that retrieval chose for some fields (`Window.fields`), those fields
        only: a shorter prompt, a smaller constraint and a shorter answer (built once per group, then reused)."""
        if window.fields not in self._questions:
            self._questions[window.fields] = self._question_of(field_group(self.schema.hardened, list(window.fields)))
        return self._questions[window.fields]

    def _question_of(self, hardened: dict[str, Any]) -> Question:
        """A schema (or a part of it) ready to ask: its constraint, its prompt prefix, what it asks."""
        return Question(hardened, build_constraint(hardened),
                       schema_prefix(hardened, schema_title(self.schema.name), prompt_format=self.engine.prompt_format), asks(hardened))

    def _whole_record(self, text: str, question: Question) -> str:
        """A group's answer as a record of the whole schema (the other fields null), for validation and merging."""
        if question.hardened is self.schema.hardened:
            return text
        try:
            answer = json.loads(text)
        except ValueError:
            return text
        if not isinstance(answer, dict):
            return text
        whole = in_schema_order({key: answer.get(key) for key in self.schema.hardened.get("properties", {})}, self.schema.hardened)
        return json.dumps(whole, ensure_ascii=False, separators=(",", ":"))

    def _within_text(self, question: Question, text: str):
        return within_text(self.settings, question, text)

    def _bounded(self, result: Answer, text: str):
        """The constraint with each list the rules refused from item k on bounded to k items, or None."""
        cuts = list_cuts(list(result.errors), self.schema.hardened)
        return self._bounded_to(cuts, text) if cuts else None

    def _bounded_to(self, cuts: dict[str, int], text: str):
        """The document's constraint with each list in `cuts` holding exactly that many items."""
        schema = bounded(self.schema.hardened, cuts)
        schema = bounded_by_text(schema, text) or schema
        return self._for_document(build_constraint(schema), schema, text, self._questions[()].asked)  # bounds change no field's kind

    def _for_document(self, constraint, hardened: dict[str, Any], text: str, asked: Asks):
        return document_constraint(self.settings, constraint, hardened, text, asked)

    def _result(self, generation, started: float, document: Document, window: Window, question: Question) -> Answer:
        if not generation.text.strip():
            return replace(_failed(documents.NO_OUTPUT, f"the engine returned no text (finish reason {generation.finish_reason})", started),
                           raw_output=generation.text)
        answer = self._whole_record(generation.text, question)
        checked = check_output(answer, self.schema.model, self.schema.hardened, self.schema.validator)
        found = self._provenance(checked, answer, document, window, generation)
        # A free-text value grounded only by a near match, or with its case changed, is written as the window prints it
        # (`extract/printed.py`), when the record passes the rules as well as before; its evidence is then found again
        # (rare: a slip in copying).
        spans = {match: {e["field"]: (e["start"] - window.start, e["end"] - window.start) for e in found["evidence"] if e["match"] == match}
                 for match in ("fuzzy", "normalised")}
        printed = printed_forms(checked.record, self.schema.hardened, window.text, spans["fuzzy"], spans["normalised"])
        fixed = with_printed(answer, printed) if printed else None
        if fixed is not None:
            again = check_output(fixed, self.schema.model, self.schema.hardened, self.schema.validator)
            if again.record is not None and len(again.errors or []) <= len(checked.errors or []):
                checked, found = again, self._provenance(again, fixed, document, window, generation)
        if generation.finish_reason == "length" and checked.status == NONCOMPLIANT:
            checked.error = f"output cut off at {generation.completion_tokens} tokens; " + (checked.error or "")
        return Answer(checked.status, "", checked.error or "", tuple(checked.errors), checked.record, generation.text, **found)

    def _provenance(self, checked, answer: str, document: Document, window: Window, generation) -> dict[str, Any]:
        """`answer`: the whole record's JSON, as validated (`checked`)."""
        # Rules that tie numbers together are a pydantic schema's (a JSON Schema cannot say amount = quantity x price).
        confirmed = confirmed_by_rules(_parsed(answer), self.schema.model, self.schema.hardened) \
            if self.schema.original is None else frozenset()
        return provenance(checked.record, self.schema.hardened, window.text, document.pages, generation,
                          window.start, document.text_sha256 or None, checked.errors or [], self.calibration, confirmed)


def within_text(settings: ExtractionSettings, question: Question, text: str):
    """The question's constraint for this text: its lists no longer than the text can hold (`bounded_by_text`),
    then `document_constraint`."""
    schema = bounded_by_text(question.hardened, text)
    if schema is None:
        return document_constraint(settings, question.constraint, question.hardened, text, question.asked)
    return document_constraint(settings, build_constraint(schema), schema, text, question.asked)  # bounds change no field's kind


def document_constraint(settings: ExtractionSettings, constraint, hardened: dict[str, Any], text: str, asked: Asks):
    """The constraint for one document: free text grounded in it (`--grounding strict`), date and number
    fields among the dates and numbers it prints (`--dates/--numbers document`); else the schema's own."""
    return _in_document(settings, constraint, (("", hardened, ""),), "", text, asked)


def stretched_document_constraint(settings: ExtractionSettings, values, tail: str, text: str, asked: Asks):
    """`document_constraint` of fixed texts with values between them, each `(lead, schema, field name)`, then `tail`
    (`schema.constraint.stretch_constraint`: an answer continued through its doubted nulls)."""
    return _in_document(settings, stretch_constraint(values, tail), values, tail, text, asked)


def _in_document(settings: ExtractionSettings, constraint, values, tail: str, text: str, asked: Asks):
    grammar = document_stretch_grammar(values, tail, text, spans=settings.grounding == GROUNDING_STRICT, dates=settings.dates == FROM_DOCUMENT,
                                       numbers=settings.numbers == FROM_DOCUMENT, asked=asked)
    return replace(constraint, grammar=grammar) if grammar is not None else constraint


def provenance(record: dict[str, Any] | None, hardened: dict[str, Any], text: str, pages: tuple[tuple[int, int], ...], generation,
               offset: int = 0, digest: str | None = None, errors: list[dict[str, Any]] = (),
               calibration: trust.Calibration | None = None, confirmed: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Evidence (where each value is stated, in document offsets), ungrounded fields and per-field confidence of one answer:
    the token probability combined with grounding, the schema's rules and, for a null, the document's candidates (`trust`).

    `text` may be a window of the document starting at `offset`; the pages are the document's."""
    pages = [tuple(p) for p in pages] or None
    if pages and offset:  # the window's own view of the pages: the one it starts in, then the ones starting inside it
        first = max((n for s, n in pages if s <= offset), default=pages[0][1])
        pages = [(0, first)] + [(s - offset, n) for s, n in pages if offset < s < offset + len(text)]
    grounding = ground(record, hardened, DocumentIndex(text, pages))
    token_confidence = field_confidence(generation.text, list(generation.token_ends), list(generation.token_logprobs))
    in_window = [e.as_row() for e in grounding.evidence]  # offsets in `text`, as the signals read them
    evidence = [{**e, "start": e["start"] + offset, "end": e["end"] + offset} for e in in_window]
    values = trust.signals(token_confidence, _parsed(generation.text), hardened, in_window, grounding.ungrounded, list(errors), text, confirmed)
    return {
        "evidence": tuple(evidence),
        "ungrounded": tuple(grounding.ungrounded),
        "confidence": {v.path: trust.combined(v, calibration) for v in values},
        "signals": tuple(v.as_row() for v in values),
        "text_sha256": digest or documents.text_digest(text),
        "cached_prompt_tokens": generation.cached_prompt_tokens,
    }


def _spliced(first: str, close: int, added: list[str], generation: Generation) -> Generation:
    """The first answer's text with `added` items (`doubted.added_items` of `generation`, a continuation from offset
    `close`, the list's `]`) before that `]`: their tokens where they now stand, no costs (the caller counts them)."""
    length = sum(map(len, added))
    tokens = [(close + end, p) for end, p in zip(generation.token_ends, generation.token_logprobs) if end <= length]
    return Generation(first[:close] + "".join(added) + first[close:], 0, 0, "stop", 0.0, tuple(p for _, p in tokens), tuple(e for e, _ in tokens))


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _cut_short(generation) -> bool:
    """An answer the engine ended (not at its length limit) before its JSON was complete: under a JSON
    constraint only a grammar that failed does that."""
    return generation.finish_reason == "stop" and bool(generation.text.strip()) and _parsed(generation.text) is None


def _seed(text: str, attempt: int) -> int:
    return int.from_bytes(hashlib.blake2b(f"{text}\0{attempt}".encode(), digest_size=4).digest(), "big")


def _failed(reason: str, message: str, started: float, prompt_tokens: int = 0) -> Answer:
    return Answer.failed(reason, f"{reason}: {message}", prompt_tokens, time.perf_counter() - started)
