"""The engine interface: what the extractor needs from a model runtime, and no more."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from fieldmill.schema.constraint import Constraint
from fieldmill.model.prompts import WORKED_EXAMPLE

from fieldmill.engines.backends import BACKENDS, DEFAULT_BACKEND  # noqa: E402,F401  (BACKENDS re-exported for engines)


class EngineConfig(BaseModel):
    """How a worker builds its engine. Travels from the driver to every actor."""

    kind: str = Field("vllm", description="Model runtime: 'vllm', 'transformers' (the model in-process, no vLLM: macOS, ARM) or "
                      "package.module:Class implementing fieldmill.engines.Engine.", json_schema_extra={"flag": "--engine", "env": "FIELDMILL_ENGINE"})
    model: str = Field("bundled", description="Model: 'bundled' (Gemma 3 270M with the shipped fieldmill adapter, also 'bundled-finetuned'), "
                       "'bundled-base' (the pretrained model), a model folder, an HF folder, a .gguf file, or s3://.")
    lora: str | None = Field(None, description="LoRA adapter folder (local or s3://) applied on top of the model.")
    backend: str = Field(DEFAULT_BACKEND, description="Structured-output backend enforcing the constraint (guidance = llguidance; see bench/backends.py).",
                         json_schema_extra={"env": "FIELDMILL_BACKEND", "choices": BACKENDS})
    max_model_len: int | None = Field(None, description="Context length; default from the model (32768 for the bundled one).")
    gpu_memory_utilization: float | None = Field(None, description="Share of accelerator memory (CPU memory on CPU); default 0.9 on GPU, 0.3 on CPU.")
    kv_cache_gib: float | None = Field(None, gt=0, description="KV cache size on CPU in GiB (default 2: about 100k tokens of the bundled model). "
                                       "An explicit size also skips vLLM's warm-up pass at start-up.")
    enforce_eager: bool | None = Field(None, description="Skip graph compilation; default on for CPU, where it saves a minute of start-up.")
    repetition_penalty: float = Field(1.0, description="vLLM repetition penalty (1.0 = off).")
    frequency_penalty: float = Field(0.0, description="vLLM frequency penalty (0.0 = off).")
    seed: int = Field(0, description="Sampling seed (decoding is greedy; kept for reproducibility).")
    dtype: str | None = Field(None, description="The dtype the model computes in (default bfloat16 on a GPU or a CPU with bfloat16 instructions, "
                              "float32 on other CPUs, where bfloat16 is emulated: `fieldmill.model.compute`).",
                              json_schema_extra={"env": "FIELDMILL_DTYPE", "choices": ("bfloat16", "float32")})


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str | None
    generation_s: float
    #: Per generated token: log-probability of the chosen token under the constraint (0 when the grammar forced it),
    #: and the character offset in `text` where the token ends. Empty when the engine does not report them.
    token_logprobs: tuple[float, ...] = ()
    token_ends: tuple[int, ...] = ()
    #: Prompt tokens served from the prefix cache, when the engine says.
    cached_prompt_tokens: int | None = None


class Engine(ABC):
    """One loaded model. `generate` may be awaited concurrently: the engine batches."""

    #: Longest prompt + output the engine accepts, in tokens.
    max_model_len: int
    #: The prompt format the model expects (`fieldmill.model.prompts.PROMPT_FORMATS`); a fine-tuned model's card names it.
    prompt_format: str = WORKED_EXAMPLE
    #: Where the model's files are, the adapter's folder first: what is stored with the model (its confidence
    #: calibration, `fieldmill.extract.trust.load_calibration`) is looked up there.
    model_folders: tuple = ()

    @abstractmethod
    def count_tokens(self, prompt: str) -> list[int]:
        """The prompt's token ids (used to refuse prompts that cannot fit)."""

    def answer_token_ids(self, answer: str) -> list[int] | None:
        """The token ids of the start of an answer, to follow a prompt's (`fieldmill.model.prompts.answer_token_ids`): an
        answer is continued from there (a doubted null asked again, `extract/doubted.py`). None: this engine cannot say,
        and the extractor asks such questions in a request of their own."""
        return None

    @abstractmethod
    async def generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float = 0.0, seed: int | None = None) -> Generation:
        """Decode under `constraint`, at most `max_tokens` tokens; greedy unless `temperature` > 0 (then `seed` fixes the draw)."""

    def close(self) -> None:  # pragma: no cover - engines without resources
        pass


def token_ends(tokenizer: Any, token_ids: list[int], text: str) -> list[int]:
    """Character offset in `text` after each token. Decoding token by token is exact for most
    tokens; where it is not (a character split over byte tokens) the prefix is decoded instead."""
    pieces = [tokenizer.decode([t], skip_special_tokens=True) for t in token_ids]
    if "".join(pieces) == text:
        ends, total = [], 0
        for piece in pieces:
            total += len(piece)
            ends.append(total)
        return ends
    return [len(tokenizer.decode(token_ids[: i + 1], skip_special_tokens=True)) for i in range(len(token_ids))]
