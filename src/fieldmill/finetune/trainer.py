"""LoRA fine-tuning of a causal LM on (prompt, answer) pairs: a loop to read top to bottom.

* The sequence is `prompt ids + answer ids + eos`, tokenised exactly as the engine
  tokenises a prompt (special tokens on), the answer as the model emits it.
* Loss on the answer tokens only, and the LM head computed only at the positions that
  predict them: Gemma's 262k-token head over a 2,000-token prompt would be most of the
  step's time and memory.
* LoRA (peft) on the attention and MLP projections; embeddings and head frozen. With
  `train_layers`, only the top layers learn: nothing below them needs a gradient, so
  autograd never records their forward and the backward pass stops at the lowest one.
* A checkpoint (adapter, optimizer, step) every few steps, written aside and then
  switched in, so a killed training resumes with `--resume` where it stopped.

The same `train_loop` runs in-process (CPU or one GPU) and in each Ray Train worker
(data parallel through `ray.train.torch.prepare_model`).
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch
from torch import nn

from fieldmill.model.compute import compute_dtype
from fieldmill.model.prompts import prompt_token_ids

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
CHECKPOINT = "checkpoint"
_STATE = "trainer_state.json"
_OPTIMIZER = "optimizer.pt"


class TrainError(RuntimeError):
    pass


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training (written into the model card)."""

    epochs: float = 1.0
    max_steps: int | None = None
    lr: float = 2e-4
    lora_rank: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.0
    grad_accum: int = 1
    warmup_steps: int = 10
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    seed: int = 0
    checkpoint_every: int = 20
    dtype: str | None = None  # Gemma 3 is unstable in fp16: bf16 or fp32 only; None: what the training device computes fast
    list_weight: float = 1.0  # weight of the tokens that decide a list's length (finetune/weights.py); 1 = plain loss
    train_layers: int | None = None  # train LoRA on the top N decoder layers only (None: all): the backward pass stops below them

    def total_steps(self, examples: int) -> int:
        by_epochs = math.ceil(examples * self.epochs / self.grad_accum)
        return min(by_epochs, self.max_steps) if self.max_steps else by_epochs


@dataclass(frozen=True)
class Sequence:
    ids: list[int]
    answer_start: int  # index of the first answer token in `ids`
    weights: tuple[float, ...] | None = None  # per answer token (eos included); None: all 1


@dataclass
class TrainState:
    step: int = 0
    examples_seen: int = 0
    tokens_seen: int = 0
    losses: list[float] = field(default_factory=list)  # mean loss of each step
    train_s: float = 0.0
    fingerprint: str = ""  # data + config: a checkpoint only resumes the same training

    @property
    def final_loss(self) -> float | None:
        tail = self.losses[-10:]
        return sum(tail) / len(tail) if tail else None


def tokenize(tokenizer, prompt: str, answer: str, list_weight: float = 1.0) -> Sequence:
    """prompt + answer + eos; with `list_weight` > 1, the answer tokens that decide a list's length weigh that much (weights.py)."""
    prompt_ids = prompt_token_ids(tokenizer, prompt)
    encoded = tokenizer(answer, add_special_tokens=False, split_special_tokens=True, return_offsets_mapping=list_weight != 1.0)
    answer_ids = encoded["input_ids"] + [tokenizer.eos_token_id]
    weights = None
    if list_weight != 1.0:
        from fieldmill.finetune.weights import token_weights

        weights = tuple(token_weights(encoded["offset_mapping"], answer, list_weight)) + (1.0,)
    return Sequence(prompt_ids + answer_ids, len(prompt_ids), weights)


class AnswerLoss(nn.Module):
    """Cross-entropy of the answer tokens, the LM head applied at answer positions only.

    A module (not a function) so that data-parallel wrappers see the whole computation.
    """

    def __init__(self, causal_lm: nn.Module):
        super().__init__()
        self.causal_lm = causal_lm

    def forward(self, input_ids: torch.Tensor, answer_start: int, weights: torch.Tensor | None = None) -> torch.Tensor:
        lm = _causal_lm(self.causal_lm)
        hidden = lm.model(input_ids=input_ids).last_hidden_state  # [1, T, H]
        # Position t predicts token t+1: the answer's tokens are predicted from answer_start-1 on.
        logits = lm.lm_head(hidden[:, answer_start - 1 : -1, :]).float()
        cap = getattr(lm.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        targets = input_ids[:, answer_start:]
        if weights is None:
            return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), reduction="none")
        return (losses * weights).sum() / weights.sum()


def _causal_lm(module: nn.Module) -> nn.Module:
    """The *ForCausalLM inside peft/DDP wrappers (it has `.model` and `.lm_head`)."""
    while True:
        if hasattr(module, "get_base_model"):  # peft (its __getattr__ would hand out the inner model's attributes)
            module = module.get_base_model()
        elif isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        else:
            return module


def load_base(path: str | Path, dtype: str | None):
    """The base model and its tokenizer, in `dtype` (None: bfloat16 where this process trains on a GPU or a CPU with
    bfloat16 instructions, else float32: `model.compute`)."""
    from fieldmill.model import hf

    dtype = dtype or compute_dtype(torch.cuda.is_available())
    if dtype not in ("bfloat16", "float32"):
        raise TrainError(f"dtype {dtype!r}: Gemma 3 trains in bfloat16 or float32 (fp16 overflows)")
    return hf.load(path, dtype)


def training_device() -> torch.device:
    """One GPU when this process sees one, else the CPU: `finetune` in one process trains where it runs.

    On a GPU, cuDNN's attention is off: it builds an execution plan for every new sequence length
    (about 40 ms of host time a call, measured on an H200: 85% of a step), and every training
    sequence has its own length; the memory-efficient kernel needs no plan.
    """
    device = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    plan_free_attention(device)
    return device


def plan_free_attention(device: torch.device) -> None:
    """On a GPU, attention without cuDNN's per-shape plans (see `training_device`); every training loop, Ray Train's
    workers too, trains so."""
    if device.type == "cuda":
        torch.backends.cuda.enable_cudnn_sdp(False)


def with_lora(model: nn.Module, config: TrainConfig, init_adapter: str | Path | None = None):
    """The model with LoRA on LORA_TARGETS; its LoRA weights taken from `init_adapter` (continued training) when given."""
    from peft import LoraConfig, get_peft_model

    layers = model.config.num_hidden_layers
    trained = range(max(0, layers - config.train_layers), layers) if config.train_layers else range(layers)
    lora = LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout, target_modules=list(LORA_TARGETS),
                      bias="none", task_type="CAUSAL_LM", layers_to_transform=None if init_adapter is not None else list(trained))
    peft_model = get_peft_model(model, lora)
    if init_adapter is not None:
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        folder = Path(init_adapter)
        settings = json.loads((folder / "adapter_config.json").read_text())
        if int(settings["r"]) != config.lora_rank or int(settings.get("lora_alpha", config.lora_alpha)) != config.lora_alpha:
            raise TrainError(f"{folder} is a rank-{settings['r']} adapter (alpha {settings.get('lora_alpha')}): train on with --lora-rank {settings['r']}")
        state = {k: v.to(next(peft_model.parameters()).dtype) for k, v in load_file(str(folder / "adapter_model.safetensors")).items()}
        result = set_peft_model_state_dict(peft_model, state)
        if getattr(result, "unexpected_keys", None):
            raise TrainError(f"{folder} does not fit this model: unexpected weights {result.unexpected_keys[:3]}")
        for name, parameter in peft_model.named_parameters():  # the adapter's lower layers keep what they learned
            if "lora_" in name and layer_of(name) not in trained:
                parameter.requires_grad_(False)
    return peft_model


def layer_of(parameter_name: str) -> int | None:
    """The decoder layer a parameter belongs to (`...layers.7.self_attn...` -> 7)."""
    parts = parameter_name.split(".")
    for before, index in zip(parts, parts[1:]):
        if before == "layers" and index.isdigit():
            return int(index)
    return None


def schedule(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warm-up, then cosine decay to 10%."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def example_order(count: int, total_steps: int, grad_accum: int, seed: int) -> list[int]:
    """Which example each micro-step sees: a fresh shuffle per epoch, fixed by the seed."""
    order: list[int] = []
    epoch = 0
    while len(order) < total_steps * grad_accum:
        indices = list(range(count))
        random.Random(seed * 1000 + epoch).shuffle(indices)
        order += indices
        epoch += 1
    return order[: total_steps * grad_accum]


def train_loop(model, sequences: list[Sequence], workdir: Path, config: TrainConfig, resume: bool, fingerprint: str,
               rank: int = 0, world: int = 1, report: Callable[[Path, TrainState], None] | None = None, show_progress: bool = True) -> TrainState:
    """Train `model` (a peft model) on `sequences`; checkpoints in `workdir/checkpoint`."""
    torch.manual_seed(config.seed)
    loss_module = AnswerLoss(model)
    if world > 1:
        import ray.train.torch

        loss_module = ray.train.torch.prepare_model(loss_module)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    total = config.total_steps(len(sequences) // world or 1)
    state = TrainState(fingerprint=fingerprint)
    checkpoint = workdir / CHECKPOINT
    if resume and checkpoint.exists():
        state = _load_checkpoint(model, optimizer, checkpoint, fingerprint)
    elif checkpoint.exists() and not resume:
        raise TrainError(f"{checkpoint} holds a checkpoint: pass --resume to continue it, or choose another --output")
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: schedule(s, total, config.warmup_steps), last_epoch=state.step - 1)
    order = example_order(len(sequences), total * world, config.grad_accum, config.seed)[rank::world]
    device = next(model.parameters()).device
    plan_free_attention(device)
    model.train()
    bar = _progress(total, state.step, show_progress and rank == 0)
    started = time.perf_counter()
    smoothed = None
    while state.step < total:
        micro = order[state.step * config.grad_accum : (state.step + 1) * config.grad_accum]
        step_loss, step_tokens = 0.0, 0
        for index in micro:
            seq = sequences[index]
            ids = torch.tensor([seq.ids], device=device)
            weights = torch.tensor(seq.weights, device=device) if seq.weights is not None else None
            loss = loss_module(ids, seq.answer_start, weights) / len(micro)
            loss.backward()
            step_loss += loss.item()
            step_tokens += len(seq.ids)
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        state.step += 1
        state.examples_seen += len(micro) * world
        state.tokens_seen += step_tokens * world
        state.losses.append(step_loss)
        state.train_s += time.perf_counter() - started
        started = time.perf_counter()
        smoothed = step_loss if smoothed is None else 0.9 * smoothed + 0.1 * step_loss
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{smoothed:.4f}", ex_s=f"{state.examples_seen / state.train_s:.2f}", tok_s=f"{state.tokens_seen / state.train_s:.0f}")
        if rank == 0 and (state.step % config.checkpoint_every == 0 or state.step == total):
            _save_checkpoint(model, optimizer, checkpoint, state)
            if report is not None:
                report(checkpoint, state)
    if bar is not None:
        bar.close()
    return state


def _progress(total: int, initial: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    tty = sys.stderr.isatty()
    return tqdm(total=total, initial=initial, desc="finetune", unit="step", mininterval=0.5 if tty else 30.0, dynamic_ncols=tty)


def _save_checkpoint(model, optimizer, checkpoint: Path, state: TrainState) -> None:
    """Write aside, then switch: a kill leaves the previous checkpoint whole."""
    partial = checkpoint.with_name(CHECKPOINT + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    _causal_lm_peft(model).save_pretrained(str(partial))
    torch.save(optimizer.state_dict(), partial / _OPTIMIZER)
    (partial / _STATE).write_text(json.dumps(asdict(state)))
    old = checkpoint.with_name(CHECKPOINT + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if checkpoint.exists():
        os.replace(checkpoint, old)
    os.replace(partial, checkpoint)
    shutil.rmtree(old, ignore_errors=True)


def _load_checkpoint(model, optimizer, checkpoint: Path, fingerprint: str) -> TrainState:
    state = load_adapter(model, checkpoint, fingerprint)
    optimizer.load_state_dict(torch.load(checkpoint / _OPTIMIZER, weights_only=True))
    return state


def load_adapter(model, checkpoint: Path, fingerprint: str) -> TrainState:
    """Put a checkpoint's adapter weights into `model` (a peft model); its training state."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    state = TrainState(**json.loads((checkpoint / _STATE).read_text()))
    if state.fingerprint != fingerprint:
        raise TrainError(f"{checkpoint} is from another training (other data or hyper-parameters): it cannot be resumed with these")
    set_peft_model_state_dict(_causal_lm_peft(model), load_file(str(checkpoint / "adapter_model.safetensors")))
    return state


def _causal_lm_peft(model):
    """The PeftModel inside a DDP wrapper (or the model itself)."""
    while not hasattr(model, "save_pretrained") and hasattr(model, "module"):
        model = model.module
    return model


def save_model(peft_model, tokenizer, output: Path) -> None:
    """The adapter under `output/adapter`, the merged model (bf16 safetensors + tokenizer) in `output`."""
    peft_model.save_pretrained(str(output / "adapter"))
    merged = peft_model.merge_and_unload()
    merged.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))

