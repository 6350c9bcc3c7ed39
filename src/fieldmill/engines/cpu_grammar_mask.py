"""The grammar's mask applied to a CPU's logits in their own dtype: a vLLM plugin (entry point `vllm.general_plugins`).

Every decoding step of a constrained request sets the logits of the tokens its grammar forbids to -inf. On a
CPU, vLLM 0.32 converts the whole step's logits to float32, runs xgrammar's one-threaded CPU kernel and converts
them back: 103 ms a step for 64 requests on Gemma's 262,144-token vocabulary in bfloat16 on the 2-core CPU, about a
third of the step, which is most of why a constrained token cost 1.58x an unconstrained one (`bench/throughput.py`).
Unpacking the bits with numpy and one `masked_fill_` in the logits' own dtype gives the same logits in 30 ms
(`tests/unit/test_cpu_grammar_mask.py`). vLLM loads general plugins in each of its processes (the worker before
it imports its model runner); a GPU's logits, and a step with speculative tokens, keep vLLM's own code.
"""

from __future__ import annotations

import sys
from typing import Sequence

import numpy as np

_PATCHED = "_fieldmill_cpu_grammar_mask"


def register() -> None:
    """Install the CPU mask in place of vLLM's `apply_grammar_bitmask` (once per process)."""
    from vllm.v1.structured_output import utils

    original = utils.apply_grammar_bitmask
    if getattr(original, _PATCHED, False):
        return

    def apply_grammar_bitmask(scheduler_output, grammar_output, input_batch, logits) -> None:
        if not logits.is_cpu or scheduler_output.scheduled_spec_decode_tokens:
            return original(scheduler_output, grammar_output, input_batch, logits)
        mask_in_place(logits, grammar_output.grammar_bitmask, rows_of(input_batch.req_ids, grammar_output.structured_output_request_ids))

    setattr(apply_grammar_bitmask, _PATCHED, True)
    utils.apply_grammar_bitmask = apply_grammar_bitmask
    runner = sys.modules.get("vllm.v1.worker.gpu_model_runner")  # imported it already: its own name for the function too
    if runner is not None:
        runner.apply_grammar_bitmask = apply_grammar_bitmask


def rows_of(batch_ids: Sequence[str], constrained_ids: Sequence[str]) -> list[int]:
    """The logits row of each constrained request, in the bitmask's order (-1: not in this step's batch)."""
    row = {request: index for index, request in enumerate(batch_ids)}
    return [row.get(request, -1) for request in constrained_ids]


def mask_in_place(logits, bitmask: np.ndarray, rows: Sequence[int]) -> None:
    """Set to -inf each logit whose bit is 0 in its request's row of `bitmask` (int32 words, bit j of word k for token
    32k + j, as xgrammar packs them); bitmask row i is logits row `rows[i]`, other rows are left alone."""
    import torch

    vocab = min(logits.shape[1], bitmask.shape[1] * 32)
    present = [i for i, row in enumerate(rows) if row >= 0]
    if not present:
        return
    words = np.ascontiguousarray(np.invert(bitmask[present]).astype("<i4", copy=False))
    forbidden = np.unpackbits(words.view(np.uint8), axis=1, bitorder="little")[:, :vocab].view(np.bool_)
    targets = [rows[i] for i in present]
    if targets == list(range(logits.shape[0])):
        logits[:, :vocab].masked_fill_(torch.from_numpy(forbidden), float("-inf"))
        return
    full = np.zeros((logits.shape[0], vocab), dtype=np.bool_)
    full[targets] = forbidden
    logits[:, :vocab].masked_fill_(torch.from_numpy(full), float("-inf"))
