"""Only the logits a grammar allows, computed on a CPU: a vLLM plugin (entry point `vllm.general_plugins`).

Each decoding step projects every request's hidden state onto the whole vocabulary (Gemma 3: 262,144 rows of 640,
a 335 MB matrix read once a step, then a 640-wide dot product per token and request) and only then applies the
grammar's mask. Under the product's constraints most steps allow a handful of tokens: in `fieldmill run` on 16
synthetic invoices, 52% of the rows a grammar masked allowed one token (a key, a quote, a comma the grammar forces),
72% at most 256 (a value copied from the document), and 40% of the steps allowed at most 16,384 in every row. On this
CPU the projection alone takes 29 ms a step for one request and 86 ms for 64, of a step of 60 to 250 ms.

Here the projection waits for the mask (vLLM computes the logits before the scheduler hands the step's grammar
bitmask to the sampler; on a CPU nothing runs in between): a row whose grammar allows at most `SPARSE_AT_MOST`
tokens gets those tokens' logits only (their embedding rows dotted with its hidden state), every other row of the
step goes through the model's own projection together, and the tokens the grammar forbids are -inf as the mask would
make them. The sampler, the mask and the log-probabilities then run on the same logits as before (the allowed tokens'
values are the same dot products, summed in float32 as the projection sums them).

It applies where the projection is the plain one: vLLM's `LogitsProcessor` on an unquantised head on one device, no
soft cap or scale, no LoRA, no speculative decoding; a GPU, and any other model, keep vLLM's own code.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import importlib.util
import sys
from types import ModuleType
from typing import Any, Callable, Sequence

import numpy as np

from fieldmill.engines.cpu_grammar_mask import rows_of

_PATCHED = "_fieldmill_cpu_sparse_logits"
# Above this many allowed tokens a row goes through the projection with the dense rows: gathering an embedding row
# costs about what the projection spends on 250 tokens in a batch of 64 on this CPU, and a row of the projection
# costs little once its matrix is read for another row.
SPARSE_AT_MOST = 1024


def register() -> None:
    """Defer the step's logits from `execute_model` to `sample_tokens`, where the grammar's bitmask is known: in the
    process that imports vLLM's model runner (its worker), when it does; vLLM's other processes never import it and
    are spared the import (0.4 s)."""
    after_import(_RUNNER, _patch)


_RUNNER = "vllm.v1.worker.gpu_model_runner"


def _patch(module) -> None:
    runner = module.GPUModelRunner
    execute_model, sample_tokens = runner.execute_model, runner.sample_tokens
    if getattr(execute_model, _PATCHED, False):
        return

    def deferring_execute_model(self, *args, **kwargs):
        model = getattr(self, "model", None)
        if not _plain_head(self, model):
            return execute_model(self, *args, **kwargs)
        project = model.compute_logits
        model.compute_logits = lambda hidden_states: DeferredLogits(hidden_states, project, model)
        try:
            return execute_model(self, *args, **kwargs)
        finally:
            del model.compute_logits

    def resolving_sample_tokens(self, grammar_output):
        state = getattr(self, "execute_model_state", None)
        if state is not None and isinstance(state.logits, DeferredLogits):
            logits, grammar_output = state.logits.resolve(grammar_output, self.input_batch.req_ids)
            self.execute_model_state = state._replace(logits=logits)
        return sample_tokens(self, grammar_output)

    setattr(deferring_execute_model, _PATCHED, True)
    runner.execute_model = deferring_execute_model
    runner.sample_tokens = resolving_sample_tokens


def after_import(name: str, callback: Callable[[ModuleType], None]) -> None:
    """`callback(module)` once the module `name` is imported: now if it is, else right after its code runs."""
    if name in sys.modules:
        callback(sys.modules[name])
        return

    class AfterImport(importlib.abc.MetaPathFinder):
        def find_spec(self, fullname, path, target=None):
            if fullname != name:
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
                run = spec.loader.exec_module

                def exec_module(module):
                    run(module)
                    callback(module)

                spec.loader.exec_module = exec_module
            return spec

    sys.meta_path.insert(0, AfterImport())


def _plain_head(runner, model) -> bool:
    """Whether `model`'s logits are its hidden states times its head's weight, on a CPU, and nothing else."""
    try:
        from vllm.model_executor.layers.logits_processor import LogitsProcessor
        from vllm.model_executor.layers.vocab_parallel_embedding import UnquantizedEmbeddingMethod
    except ImportError:
        return False
    processor, head = getattr(model, "logits_processor", None), getattr(model, "lm_head", None)
    weight = getattr(head, "weight", None)
    return (
        type(processor) is LogitsProcessor
        and processor.soft_cap is None and processor.scale == 1.0 and not processor.logits_as_input
        and processor.head_dtype in (None, getattr(weight, "dtype", None))
        and isinstance(getattr(head, "quant_method", None), UnquantizedEmbeddingMethod)
        and getattr(head, "tp_size", 1) == 1 and getattr(head, "bias", None) is None
        and weight is not None and weight.ndim == 2 and weight.is_cpu and not weight.is_meta
        and getattr(runner, "speculative_config", None) is None and getattr(runner, "lora_config", None) is None
        and not getattr(runner, "broadcast_pp_output", False)  # that path copies the logits in execute_model
    )


class DeferredLogits:
    """A step's logits not computed yet: the hidden states of its sampled positions and how to project them."""

    def __init__(self, hidden_states, project, model):
        self.hidden_states = hidden_states
        self.project = project
        self.weight = model.lm_head.weight
        self.vocab = min(model.logits_processor.org_vocab_size, self.weight.shape[0])

    def resolve(self, grammar_output: Any, batch_ids: Sequence[str]):
        """The step's logits, and what of `grammar_output` is left to apply to them: the projection's logits for rows
        no grammar narrows to `SPARSE_AT_MOST` tokens, the allowed tokens' alone for the others (the rest -inf: their
        mask is applied already, and they leave the grammar output)."""
        if grammar_output is None or self.hidden_states.shape[0] == 0:
            return self.project(self.hidden_states), grammar_output
        rows = rows_of(batch_ids, grammar_output.structured_output_request_ids)
        logits, applied = sparse_logits(self.hidden_states, self.weight, self.vocab, grammar_output.grammar_bitmask, rows, self.project,
                                        SPARSE_AT_MOST)
        if not applied:
            return logits, grammar_output
        left = [i for i in range(len(rows)) if i not in applied]
        if not left:
            return logits, None
        ids = grammar_output.structured_output_request_ids
        return logits, dataclasses.replace(grammar_output, structured_output_request_ids=[ids[i] for i in left],
                                           grammar_bitmask=grammar_output.grammar_bitmask[left])


def sparse_logits(hidden_states, weight, vocab: int, bitmask: np.ndarray, rows: Sequence[int], project,
                  at_most: int = SPARSE_AT_MOST) -> tuple[Any, set[int]]:
    """Logits for `hidden_states` (one row per sampled position) over `vocab` tokens of `weight`, and the rows of
    `bitmask` applied to them: a bitmask row i (for logits row `rows[i]`, -1 none) that allows at most `at_most` tokens
    gives its logits row those tokens' dot products and -inf elsewhere; the other logits rows are `project`'s."""
    import torch

    count = hidden_states.shape[0]
    sparse: dict[int, np.ndarray] = {}
    applied: set[int] = set()
    if vocab <= bitmask.shape[1] * 32:  # a mask narrower than the vocabulary leaves its tail allowed: not this path
        words = np.ascontiguousarray(bitmask).view(np.uint32)
        sizes = allowed_counts(words)
        for i, row in enumerate(rows):
            if 0 <= row < count and row not in sparse and sizes[i] <= at_most:
                sparse[row] = allowed_ids(words[i], vocab)
                applied.add(i)
    if not sparse:
        return project(hidden_states), applied
    dense = [row for row in range(count) if row not in sparse]
    first = project(hidden_states[dense]) if dense else None
    dtype = first.dtype if first is not None else weight.dtype
    logits = torch.full((count, vocab), float("-inf"), dtype=dtype)
    if first is not None:
        logits[dense] = first[:, :vocab]
    token_ids = torch.from_numpy(np.concatenate(list(sparse.values())))
    row_ids = torch.from_numpy(np.repeat(np.fromiter(sparse.keys(), dtype=np.int64), [len(ids) for ids in sparse.values()]))
    values = (weight.index_select(0, token_ids).float() * hidden_states.index_select(0, row_ids).float()).sum(-1)
    logits[row_ids, token_ids] = values.to(dtype)
    return logits, applied


def allowed_counts(words: np.ndarray) -> np.ndarray:
    """How many tokens each packed row allows (numpy 2's popcount; numpy 1 unpacks the bits)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).sum(axis=1, dtype=np.int64)
    return np.unpackbits(words.view(np.uint8), axis=1).sum(axis=1, dtype=np.int64)


def allowed_ids(words: np.ndarray, vocab: int) -> np.ndarray:
    """The tokens a packed row allows (bit j of word k: token 32k + j), below `vocab`, read from its non-zero words."""
    nonzero = np.flatnonzero(words)
    bits = np.unpackbits(words[nonzero].astype("<u4", copy=False).view(np.uint8), bitorder="little").reshape(len(nonzero), 32)
    ids = (nonzero[:, None].astype(np.int64) * 32 + np.arange(32))[bits.astype(bool)]
    return ids[ids < vocab]
