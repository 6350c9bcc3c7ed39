"""A stand-in for the model, behind the real `Engine` interface, for tests of the pipeline's bookkeeping.

It answers every prompt at once with the same text, so a test of resuming, S3 faults
or driver memory runs thousands of documents in seconds through the real CLI, Ray
Data and writers. Selected with `fieldmill run --engine standin_engine:StandInEngine`
(the tests put this folder on PYTHONPATH). Tests about extraction use the real model.

Environment:
  FIELDMILL_STANDIN_OUTPUT   file whose text is every answer (default "{}"); or, when it
                             holds a JSON list of strings, the answers, a document saying
                             `[answer N]` getting the N-th (else the first)
  FIELDMILL_STANDIN_DELAY_S  seconds each answer takes (default 0), to give a kill test time
  FIELDMILL_STANDIN_FAIL_ONCE  a file path: a document saying `[fail once]` raises an engine error
                             the first time (the file marks that it happened), then is answered
  FIELDMILL_STANDIN_DIE_AFTER  the engine's process exits after answering this many documents

Each character of an answer is reported as one token of log-probability -0.001, so a
field's confidence is 0.999 to the power of its length and the confidence metrics have
numbers to show.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path

from fieldmill.schema.constraint import Constraint
from fieldmill.engines.base import Engine, EngineConfig, Generation


class StandInEngine(Engine):
    max_model_len = 1 << 17

    def __init__(self, config: EngineConfig):
        path = os.environ.get("FIELDMILL_STANDIN_OUTPUT")
        text = Path(path).read_text() if path else "{}"
        answers = json.loads(text) if text.lstrip().startswith("[") else [text]
        self.answers = [a if isinstance(a, str) else json.dumps(a) for a in answers]
        self.delay_s = float(os.environ.get("FIELDMILL_STANDIN_DELAY_S", "0"))
        if niceness := os.environ.get("FIELDMILL_STANDIN_NICENESS"):
            Path(niceness).write_text(str(os.nice(0)))  # the priority the engine's process runs at

    def count_tokens(self, prompt: str) -> list[int]:
        return list(prompt.encode())  # one "token" per byte, so `generate` can read the document

    async def generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float = 0.0, seed: int | None = None) -> Generation:
        started = time.perf_counter()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        text = bytes(prompt_ids)
        marker = os.environ.get("FIELDMILL_STANDIN_FAIL_ONCE")
        if marker and b"[fail once]" in text and not Path(marker).exists():
            Path(marker).write_text("failed")
            raise RuntimeError("the engine dropped the request (stand-in, once)")
        self.answered = getattr(self, "answered", 0) + 1
        die_after = int(os.environ.get("FIELDMILL_STANDIN_DIE_AFTER", "0"))
        if die_after and self.answered > die_after:
            os._exit(1)  # the worker dies, as an engine that runs out of memory does
        chosen = re.findall(rb"\[answer (\d+)\]", text)
        answer = self.answers[int(chosen[-1]) % len(self.answers)] if chosen else self.answers[0]
        return Generation(answer, len(prompt_ids), len(answer) // 4 + 1, "stop", time.perf_counter() - started,
                          token_logprobs=tuple(-0.001 for _ in answer), token_ends=tuple(range(1, len(answer) + 1)))
