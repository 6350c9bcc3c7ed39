"""A stand-in for the model, behind the real `Engine` interface, for tests of the pipeline's bookkeeping.

It answers every prompt at once with the same text, so a test of resuming, S3 faults
or driver memory runs thousands of documents in seconds through the real CLI, Ray
Data and writers. Selected with `fieldmill run --engine standin_engine:StandInEngine`
(the tests put this folder on PYTHONPATH). Tests about extraction use the real model.

Environment:
  FIELDMILL_STANDIN_OUTPUT   file whose text is every answer (default "{}")
  FIELDMILL_STANDIN_DELAY_S  seconds each answer takes (default 0), to give a kill test time
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from fieldmill.constraint import Constraint
from fieldmill.engines.base import Engine, EngineConfig, Generation


class StandInEngine(Engine):
    max_model_len = 1 << 17

    def __init__(self, config: EngineConfig):
        path = os.environ.get("FIELDMILL_STANDIN_OUTPUT")
        self.answer = Path(path).read_text() if path else "{}"
        self.delay_s = float(os.environ.get("FIELDMILL_STANDIN_DELAY_S", "0"))

    def count_tokens(self, prompt: str) -> list[int]:
        return [0] * (len(prompt) // 4 + 1)

    async def generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float = 0.0, seed: int | None = None) -> Generation:
        started = time.perf_counter()
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return Generation(self.answer, len(prompt_ids), len(self.answer) // 4 + 1, "stop", time.perf_counter() - started)
