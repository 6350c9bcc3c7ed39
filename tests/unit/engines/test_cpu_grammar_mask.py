"""The CPU grammar mask gives exactly the logits vLLM's own path (xgrammar's kernel in float32) gives."""

import numpy as np
import pytest
import torch

from fieldmill.engines.cpu_grammar_mask import mask_in_place, rows_of


def reference(logits: torch.Tensor, bitmask: np.ndarray, rows: list[int]) -> torch.Tensor:
    """Bit j of word k of a row allows token 32k + j; a row's forbidden tokens become -inf (xgrammar's contract)."""
    out = logits.clone().float()
    for i, row in enumerate(rows):
        if row < 0:
            continue
        for token in range(min(out.shape[1], bitmask.shape[1] * 32)):
            if not (int(bitmask[i, token // 32]) >> (token % 32)) & 1:
                out[row, token] = float("-inf")
    return out.to(logits.dtype)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float32])
@pytest.mark.parametrize("rows", [[0, 1, 2], [2, 0, 1], [1, -1, 0]])
def test_the_mask_matches_the_bitwise_contract(dtype, rows):
    generator = np.random.default_rng(7)
    logits = torch.randn(3, 100, dtype=dtype)
    bitmask = generator.integers(-2**31, 2**31 - 1, size=(3, 4), dtype=np.int32)  # 128 bits for 100 tokens: padded
    expected = reference(logits, bitmask, rows)
    mask_in_place(logits, bitmask, rows)
    assert torch.equal(logits, expected)


def test_a_vocabulary_wider_than_the_bitmask_keeps_its_tail():
    logits = torch.zeros(1, 40)
    mask_in_place(logits, np.zeros((1, 1), dtype=np.int32), [0])  # 32 bits, all forbidden
    assert torch.isinf(logits[0, :32]).all() and (logits[0, 32:] == 0).all()


def test_each_constrained_request_finds_its_row_of_the_step():
    assert rows_of(["a", "b", "c"], ["c", "a", "x"]) == [2, 0, -1]


def test_vllm_finds_the_plugin():
    from importlib.metadata import entry_points

    assert "fieldmill.engines.cpu_grammar_mask:register" in {e.value for e in entry_points(group="vllm.general_plugins")}


def test_the_mask_is_vllms_own_on_a_cpu():
    """vLLM 0.32's CPU path: float32, xgrammar's kernel, back to the logits' dtype."""
    import xgrammar

    generator = np.random.default_rng(3)
    logits = torch.randn(4, 300, dtype=torch.bfloat16)
    bitmask = generator.integers(-2**31, 2**31 - 1, size=(4, 10), dtype=np.int32)
    as_float = logits.float()
    xgrammar.apply_token_bitmask_inplace(as_float, torch.from_numpy(bitmask))
    mask_in_place(logits, bitmask, [0, 1, 2, 3])
    assert torch.equal(logits, as_float.to(torch.bfloat16))
