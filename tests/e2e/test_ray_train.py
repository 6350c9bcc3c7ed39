"""`fieldmill finetune`'s loop over Ray Train workers, on a tiny Gemma (the real model is not needed to test the distribution)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.train, pytest.mark.timeout(900)]


def test_ray_train_with_two_workers_writes_a_model_that_the_card_describes(tmp_path):
    """The same loop, data parallel over two Ray Train workers (CPU, gloo), on a tiny Gemma with the real tokenizer."""
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    from fieldmill import synth
    from fieldmill.finetune import FinetunePlan, Source, TrainConfig, finetune
    from fieldmill.model.source import BUNDLED_BASE, materialise

    tokenizer = AutoTokenizer.from_pretrained(str(materialise(BUNDLED_BASE)))
    config = Gemma3TextConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                              num_key_value_heads=1, head_dim=8, max_position_embeddings=4096, sliding_window=64,
                              layer_types=["sliding_attention", "full_attention"])
    Gemma3ForCausalLM(config).save_pretrained(str(tmp_path / "tiny"))
    tokenizer.save_pretrained(str(tmp_path / "tiny"))
    synth.write_corpus("invoice", 4, str(tmp_path / "corpus"), seed=9, formats=("txt",))
    plan = FinetunePlan(sources=(Source("invoice", str(tmp_path / "corpus" / "gold.jsonl"), str(tmp_path / "corpus" / "docs")),),
                        output=str(tmp_path / "model"), base=str(tmp_path / "tiny"), workers=2,
                        train=TrainConfig(max_steps=2, checkpoint_every=1, dtype="float32", lora_rank=4, lora_alpha=8))
    result = finetune(plan)
    assert result.card["training"]["steps"] == 2 and result.card["training"]["workers"] == 2
    assert result.card["training"]["examples_seen"] == 4  # two workers, one example each per step
    assert (tmp_path / "model" / "adapter" / "adapter_model.safetensors").is_file() and (tmp_path / "model" / "model.safetensors").is_file()
