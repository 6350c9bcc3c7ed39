"""A Hugging Face model folder loaded in this process: the one place that loads weights with transformers and
merges a LoRA adapter into them with peft (the transformers engine, fine-tuning, a merged model folder)."""

from __future__ import annotations

from pathlib import Path


def load(path: str | Path, dtype: str = "bfloat16", adapter: str | Path | None = None):
    """The model in `path` (with the LoRA `adapter` merged into its weights, when given) and its tokenizer."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(path), dtype=getattr(torch, dtype))
    if adapter is not None:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    return model, load_tokenizer(path)


def load_tokenizer(path: str | Path):
    """The tokenizer of the model folder `path`, without its weights."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(path))


__all__ = ["load", "load_tokenizer"]
