"""A scripted stand-in for the model behind the real `Engine` interface, for unit tests of the extractor.

It answers each call with the next of its scripted records (as compact JSON) and records what it was
asked: the prompts it counted, the constraints and the (temperature, seed) of each generation. Tests
of the extractor's attempt loop, field groups and fallbacks use it; what a model writes is the real
model's tests' business.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fieldmill.engines.base import Engine, Generation


class RawText(str):
    """A scripted output written as it is (the continuation of an answer, `,"date":"3 March 2024"`), not as JSON."""


class ScriptedEngine(Engine):
    max_model_len = 32768

    def __init__(self, outputs: list[Any], prompt_format: str | None = None, completion_tokens: int = 100, generation_s: float = 0.5,
                 logprob: float | None = None):
        self.outputs = list(outputs)
        self.logprob = logprob  # given: every character of an answer is one token of this log-probability (confidence, signals)
        if prompt_format is not None:
            self.prompt_format = prompt_format
        self.completion_tokens, self.generation_s = completion_tokens, generation_s
        self.calls: list[tuple[float, int | None]] = []
        self.prompts: list[str] = []
        self.constraints: list[Any] = []
        self.prompt_ids: list[list[int]] = []
        self.in_flight = 0
        self.beside: list[int] = []  # per call: how many other calls were in flight when it was made

    def count_tokens(self, prompt):
        self.prompts.append(prompt)
        return list(range(len(prompt) // 4 + 1))

    async def generate(self, prompt_ids, constraint, max_tokens, temperature=0.0, seed=None):
        self.calls.append((temperature, seed))
        self.constraints.append(constraint)
        self.prompt_ids.append(list(prompt_ids))
        self.beside.append(self.in_flight)
        output = self.outputs.pop(0)
        self.in_flight += 1
        await asyncio.sleep(0)  # calls sent together overlap, as they do in an engine
        self.in_flight -= 1
        text = output if isinstance(output, RawText) else json.dumps(output, separators=(",", ":"))
        per_token = {} if self.logprob is None else {"token_logprobs": (self.logprob,) * len(text), "token_ends": tuple(range(1, len(text) + 1))}
        return Generation(text=text, prompt_tokens=len(prompt_ids), completion_tokens=self.completion_tokens, finish_reason="stop",
                          generation_s=self.generation_s, **per_token)


class ContinuingEngine(ScriptedEngine):
    """A scripted engine that tokenises an answer's start (four characters a token, ids from 10,000), so the extractor
    continues a first answer where it asks a doubted null again."""

    def answer_token_ids(self, answer):
        return [10_000 + i for i in range(len(answer) // 4 + 1)]
