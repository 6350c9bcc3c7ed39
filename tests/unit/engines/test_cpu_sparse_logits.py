"""On a CPU a step's logits are computed for the tokens its grammar allows: the same logits the projection and the mask
give, the projection run only for the rows a grammar leaves wide."""

import importlib
import sys
import types

import numpy as np
import pytest
import torch

from fieldmill.engines import cpu_sparse_logits
from fieldmill.engines.cpu_grammar_mask import mask_in_place
from fieldmill.engines.cpu_sparse_logits import after_import, sparse_logits

VOCAB, WIDTH = 300, 16


def bitmask_allowing(*allowed: list[int] | None) -> np.ndarray:
    """One packed row per list of allowed tokens (None: every token)."""
    words = np.zeros((len(allowed), (VOCAB + 31) // 32), dtype=np.uint32)
    for row, tokens in enumerate(allowed):
        for token in (range(VOCAB) if tokens is None else tokens):
            words[row, token // 32] |= np.uint32(1 << (token % 32))
    return words.view(np.int32)


class Projection:
    """The model's projection, counting the rows it was asked for."""

    def __init__(self, weight):
        self.weight, self.rows = weight, []

    def __call__(self, hidden):
        self.rows.append(hidden.shape[0])
        return hidden @ self.weight.T


@pytest.fixture
def model():
    generator = torch.Generator().manual_seed(5)
    return torch.randn(VOCAB, WIDTH, generator=generator), torch.randn(4, WIDTH, generator=generator)


def test_the_logits_are_the_masked_projection(model):
    weight, hidden = model
    # row 0: one token forced; row 1: five tokens; row 2: every token; row 3: no grammar this step
    bitmask = bitmask_allowing([7], [1, 33, 64, 250, 299], None)
    rows = [0, 1, 2]
    project = Projection(weight)
    logits, applied = sparse_logits(hidden, weight, VOCAB, bitmask, rows, project, at_most=10)
    expected = hidden @ weight.T
    mask_in_place(expected, bitmask, rows)
    assert torch.equal(torch.isinf(logits), torch.isinf(expected))
    assert torch.allclose(logits[torch.isfinite(logits)], expected[torch.isfinite(expected)], atol=1e-5)
    assert project.rows == [2]  # rows 2 and 3 only: the narrow rows never went through the projection
    assert applied == {0, 1}  # their masks are applied: the wide row's is left to the mask


def test_a_step_whose_grammars_are_all_narrow_never_projects(model):
    weight, hidden = model
    project = Projection(weight)
    logits, applied = sparse_logits(hidden, weight, VOCAB, bitmask_allowing([3], [4, 5], [6], [299]), [3, 2, 1, 0], project)
    assert project.rows == [] and applied == {0, 1, 2, 3}
    assert [torch.isfinite(row).nonzero().flatten().tolist() for row in logits] == [[299], [6], [4, 5], [3]]
    assert torch.allclose(logits[0, 299], hidden[0] @ weight[299], atol=1e-5)


def test_a_step_without_narrow_grammars_is_the_projection_itself(model):
    weight, hidden = model
    project = Projection(weight)
    logits, applied = sparse_logits(hidden, weight, VOCAB, bitmask_allowing(None, None), [0, -1], project, at_most=10)
    assert project.rows == [4] and torch.equal(logits, hidden @ weight.T) and not applied


def test_bfloat16_logits_keep_their_dtype(model):
    weight, hidden = (t.to(torch.bfloat16) for t in model)
    logits, _ = sparse_logits(hidden, weight, VOCAB, bitmask_allowing([1, 2], None), [1, 0], Projection(weight))
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits[0]).all() and torch.isfinite(logits[1]).sum() == 2


def test_the_patch_waits_for_its_module(monkeypatch):
    seen = []
    name = "fieldmill_test_late_module"
    module = types.ModuleType(name)
    monkeypatch.setitem(sys.modules, name, module)
    after_import(name, seen.append)  # imported already: now
    assert seen == [module]
    monkeypatch.delitem(sys.modules, "json.tool", raising=False)  # a real module, imported later
    after_import("json.tool", seen.append)
    assert len(seen) == 1
    importlib.import_module("json.tool")
    assert seen[-1] is sys.modules["json.tool"] and len(seen) == 2


def test_vllm_finds_the_plugin():
    from importlib.metadata import entry_points

    assert "fieldmill.engines.cpu_sparse_logits:register" in {e.value for e in entry_points(group="vllm.general_plugins")}


def test_vllms_runner_defers_its_logits_once_patched():
    from vllm.v1.worker import gpu_model_runner

    cpu_sparse_logits.register()
    runner = gpu_model_runner.GPUModelRunner
    assert getattr(runner.execute_model, "_fieldmill_cpu_sparse_logits", False)
    patched = runner.execute_model, runner.sample_tokens
    cpu_sparse_logits.register()  # a second load changes nothing
    assert (runner.execute_model, runner.sample_tokens) == patched


def test_the_grammar_output_keeps_the_rows_left_to_the_mask(model, monkeypatch):
    from vllm.v1.core.sched.output import GrammarOutput

    monkeypatch.setattr(cpu_sparse_logits, "SPARSE_AT_MOST", 10)
    weight, hidden = model
    deferred = cpu_sparse_logits.DeferredLogits.__new__(cpu_sparse_logits.DeferredLogits)
    deferred.hidden_states, deferred.project, deferred.weight, deferred.vocab = hidden, Projection(weight), weight, VOCAB
    bitmask = bitmask_allowing([5], None)
    logits, left = deferred.resolve(GrammarOutput(["b", "d"], bitmask), ["a", "b", "c", "d"])
    assert left.structured_output_request_ids == ["d"] and np.array_equal(left.grammar_bitmask, bitmask[[1]])
    mask_in_place(logits, left.grammar_bitmask, [3])
    expected = hidden @ weight.T
    mask_in_place(expected, bitmask, [1, 3])
    assert torch.equal(torch.isinf(logits), torch.isinf(expected))
    _, none_left = deferred.resolve(GrammarOutput(["b"], bitmask[:1]), ["a", "b", "c", "d"])
    assert none_left is None


@pytest.mark.parametrize("numpy_popcount", [True, False])
@pytest.mark.parametrize("vocab", [300, 290])
def test_the_allowed_tokens_are_read_from_the_packed_words(vocab, numpy_popcount, monkeypatch):
    if not numpy_popcount:  # numpy 1 has no bitwise_count: the bits are unpacked and summed
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    allowed = [0, 31, 32, 63, 64, 200, 289, 295]
    words = bitmask_allowing(allowed).view(np.uint32)
    assert cpu_sparse_logits.allowed_ids(words[0], vocab).tolist() == [t for t in allowed if t < vocab]
    assert cpu_sparse_logits.allowed_counts(words).tolist() == [len(allowed)]
