"""A light engine for machines without vLLM (macOS, ARM, a laptop): the model in-process with `transformers`.

The constraint is the same one vLLM enforces, reaching the model through outlines: the
constraint's outlines output type (a `Regex`, or a `CFG` under strict grounding) becomes
an outlines logits processor of the llguidance backend, applied at every step of
`generate`. The llguidance tokenizer is built once per engine (262k tokens take seconds).

outlines only *warns* when its matcher rejects a token (and a missing optional
dependency has been seen to leave decoding unconstrained altogether), so every output is
checked again here with a fresh llguidance matcher over the generated tokens: text the
constraint does not accept is an engine error, never a silently unconstrained answer.

Requests are decoded one at a time (a lock, in a thread, so the extractor's event loop
stays free); per-token log-probabilities come from the processed scores, so tokens the
grammar forces have log-probability 0, as with vLLM.
"""

from __future__ import annotations

import asyncio
import threading
import time

from fieldmill.model import source as models
from fieldmill.model.compute import compute_dtype
from fieldmill.schema.constraint import Constraint
from fieldmill.engines.base import Engine, EngineConfig, Generation, token_ends


class ConstraintNotApplied(RuntimeError):
    """The generated text is not in the constraint's language: the constraint was not enforced."""


class TransformersEngine(Engine):
    def __init__(self, config: EngineConfig):
        import outlines
        import torch
        from outlines.backends.llguidance import LLGuidanceBackend
        from fieldmill.model import hf

        path = models.materialise(config.model)
        adapter = models.materialise(config.lora) if config.lora is not None else None
        model, self.tokenizer = hf.load(path, config.dtype or compute_dtype(torch.cuda.is_available()), adapter)
        self.model = model.eval()
        self.prompt_format = models.prompt_format(path)
        if adapter is not None:
            self.prompt_format = models.prompt_format(adapter, default=self.prompt_format)
        self.model_folders = tuple(f for f in (adapter, path) if f is not None)  # beside the adapter first: its calibration was fitted on its answers
        self.max_model_len = config.max_model_len or int(getattr(self.model.config, "max_position_embeddings", 32768))
        self.outlines_model = outlines.from_transformers(self.model, self.tokenizer)
        self.backend = LLGuidanceBackend(self.outlines_model)
        self._lock = threading.Lock()
        self._torch = torch
        configured = self.model.generation_config.eos_token_id
        self.eos_ids = {self.tokenizer.eos_token_id, *(configured if isinstance(configured, list) else [configured])} - {None}

    def count_tokens(self, prompt: str) -> list[int]:
        from fieldmill.model.prompts import prompt_token_ids

        return prompt_token_ids(self.tokenizer, prompt)

    def answer_token_ids(self, answer: str) -> list[int]:
        from fieldmill.model.prompts import answer_token_ids

        return answer_token_ids(self.tokenizer, answer)

    async def generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float = 0.0, seed: int | None = None) -> Generation:
        return await asyncio.to_thread(self._generate, prompt_ids, constraint, max_tokens, temperature, seed)

    def _generate(self, prompt_ids: list[int], constraint: Constraint, max_tokens: int, temperature: float, seed: int | None) -> Generation:
        import warnings

        from transformers import LogitsProcessorList

        torch = self._torch
        processor = self._processor(constraint)
        with self._lock, torch.inference_mode(), warnings.catch_warnings():
            warnings.filterwarnings("error", message="Error in LLMatcher")  # outlines only warns on a rejected token: never decode past it
            started = time.perf_counter()
            if seed is not None:
                torch.manual_seed(seed)
            out = self.model.generate(
                torch.tensor([prompt_ids]),
                attention_mask=torch.ones(1, len(prompt_ids), dtype=torch.long),
                logits_processor=LogitsProcessorList([processor]),
                max_new_tokens=max_tokens,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else None,
                top_p=None,
                top_k=None,
                output_scores=True,
                return_dict_in_generate=True,
                pad_token_id=self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id,
            )
            elapsed = time.perf_counter() - started
        generated = out.sequences[0, len(prompt_ids):].tolist()
        logprobs = [float(torch.log_softmax(score[0].float(), dim=-1)[token]) for score, token in zip(out.scores, generated)]
        finish = "length" if len(generated) >= max_tokens else "stop"
        content = [t for t in generated if t not in self.eos_ids]
        logprobs = logprobs[: len(content)]
        text = self.tokenizer.decode(content, skip_special_tokens=True)
        self._check(constraint, content)
        return Generation(text=text, prompt_tokens=len(prompt_ids), completion_tokens=len(generated), finish_reason=finish, generation_s=elapsed,
                          token_logprobs=tuple(logprobs), token_ends=tuple(token_ends(self.tokenizer, content, text)))

    def _processor(self, constraint: Constraint):
        """outlines' llguidance logits processor for the constraint's outlines output type."""
        from outlines.types.dsl import CFG, python_types_to_terms, to_regex

        term = python_types_to_terms(constraint.output_type())
        if isinstance(term, CFG):
            return self.backend.get_cfg_logits_processor(term.definition)
        return self.backend.get_regex_logits_processor(to_regex(term))

    def _check(self, constraint: Constraint, tokens: list[int]) -> None:
        import llguidance

        grammar = (llguidance.LLMatcher.grammar_from_lark(constraint.grammar) if constraint.grammar
                   else llguidance.LLMatcher.grammar_from_regex(constraint.regex))
        matcher = llguidance.LLMatcher(self.backend.llg_tokenizer, grammar, log_level=0)
        if not matcher.consume_tokens(tokens) or not matcher.is_accepting():
            raise ConstraintNotApplied(f"the output is not in the constraint's language ({matcher.get_error() or 'incomplete'})")


__all__ = ["TransformersEngine", "ConstraintNotApplied"]
