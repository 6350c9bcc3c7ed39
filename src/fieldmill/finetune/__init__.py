"""`fieldmill finetune`: labelled documents -> a LoRA adapter and a merged model folder that `run` serves.

    sources -> examples (decoded as `run` decodes) -> held-out split -> pairs (the run's
    prompt in the model's prompt format, the constraint's answer; some on schema variants)
    -> token sequences -> train (in-process, or Ray Train workers) -> MODEL_DIR:
       adapter/, merged weights + tokenizer, fieldmill-model.json, README.md

Imports of torch/transformers/peft happen inside the functions that need them, so
`fieldmill --help` stays light.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fieldmill.finetune.examples import (
    FROM_GOLD,
    DataError,
    Example,
    Pair,
    Skipped,
    Source,
    build_pairs,
    data_digest,
    fits,
    is_inline,
    load_examples,
    resolve_schema,
    split_held_out,
)
from fieldmill.run.local_ray import local_node_options
from fieldmill.run.cost import price_per_hour, run_cost
from fieldmill.finetune.trainer import TrainConfig, TrainError
from fieldmill.model.prompts import FINETUNE_DEFAULT

__all__ = ["FinetunePlan", "FinetuneResult", "finetune", "Source", "TrainConfig", "DataError", "TrainError", "FROM_GOLD"]


@dataclass(frozen=True)
class FinetunePlan:
    sources: tuple[Source, ...]
    output: str
    base: str = "bundled-base"
    train: TrainConfig = field(default_factory=TrainConfig)
    max_seq_tokens: int = 4096
    eval_fraction: float = 0.0
    variant_share: float = 0.5
    prompt_format: str = FINETUNE_DEFAULT
    resume: bool = False
    ray_address: str | None = None
    workers: int = 1
    gpus_per_worker: float = 0.0
    name: str | None = None
    price_per_hour: float | None = None  # of one worker (GPU or CPU machine), for the training's cost
    init_adapter: str | None = None  # continue training this LoRA adapter (a folder, or "bundled": the shipped default's)


@dataclass
class FinetuneResult:
    output: Path
    card: dict[str, Any]
    skipped: Skipped
    held_out: list[Example]


def finetune(plan: FinetunePlan) -> FinetuneResult:
    from fieldmill.model import source as models
    from fieldmill.model import card as cards
    from fieldmill.model import hf
    from fieldmill.finetune import trainer

    output = Path(plan.output).expanduser().resolve()
    output.mkdir(parents=True, exist_ok=True)
    base_path = models.materialise(plan.base)
    base_id = models.ModelRef(plan.base).model_id()
    data = training_data(plan, hf.load_tokenizer(base_path))
    examples, train_examples, held_out, pairs, sequences, skipped = (
        data.examples, data.train_examples, data.held_out, data.pairs, data.sequences, data.skipped)
    model, tokenizer = trainer.load_base(base_path, plan.train.dtype)
    init_adapter = _init_adapter(plan.init_adapter)
    fingerprint = _fingerprint(base_id, pairs, plan)
    started = time.time()
    if plan.workers > 1 or plan.ray_address:
        state = _train_with_ray(plan, base_path, sequences, output, fingerprint, init_adapter)
        peft_model = trainer.with_lora(model, plan.train)
        trainer.load_adapter(peft_model, output / trainer.CHECKPOINT, fingerprint)
    else:
        peft_model = trainer.with_lora(model, plan.train, init_adapter).to(trainer.training_device())
        state = trainer.train_loop(peft_model, sequences, output, plan.train, plan.resume, fingerprint)
        peft_model.to("cpu")  # merged and saved from host memory
    trainer.save_model(peft_model, tokenizer, output)
    card = {
        "name": plan.name or output.name,
        "format_version": 1,
        "prompt_format": plan.prompt_format,
        "base": {"spec": plan.base, "id": base_id},
        "continued_from": ({"adapter": plan.init_adapter, "digest": models.content_digest(init_adapter)[:16]} if init_adapter else None),
        "schemas": _schema_entries(pairs, train_examples),
        "data": {
            "digest": data_digest(train_examples),
            "examples": len(examples),
            "train_pairs": len(pairs),
            "varied_pairs": sum(p.varied for p in pairs),
            "held_out": len(held_out),
            "held_out_names": [e.name for e in held_out],
            "skipped": dict(skipped.counts),
            "tokens": sum(len(s.ids) for s in sequences),
        },
        "hyperparameters": {**asdict(plan.train), "dtype": str(model.dtype).removeprefix("torch."), "max_seq_tokens": plan.max_seq_tokens, "variant_share": plan.variant_share,
                            "lora_targets": list(trainer.LORA_TARGETS)},
        "training": {"steps": state.step, "examples_seen": state.examples_seen, "tokens_seen": state.tokens_seen,
                     "final_loss": round(state.final_loss, 5) if state.final_loss is not None else None,
                     "first_loss": round(state.losses[0], 5) if state.losses else None, "train_s": round(state.train_s, 1),
                     "wall_s": round(time.time() - started, 1), "workers": plan.workers,
                     "cost": run_cost(time.time() - started, plan.workers * (plan.gpus_per_worker or 1), 0, price_per_hour(plan.price_per_hour))},
    }
    cards.write_card(output, card)
    shutil.copy(output / cards.CARD, output / "adapter" / cards.CARD)  # the adapter alone serves with the same prompt format
    shutil.rmtree(output / trainer.CHECKPOINT, ignore_errors=True)
    return FinetuneResult(output, card, skipped, held_out)


@dataclass
class TrainingData:
    examples: list[Example]
    train_examples: list[Example]
    held_out: list[Example]
    pairs: list[Pair]
    sequences: list  # trainer.Sequence, one per pair
    skipped: Skipped


def training_data(plan: FinetunePlan, tokenizer) -> TrainingData:
    """The plan's examples read, split, turned into (prompt, answer) pairs that fit, and tokenised as the trainer sees them."""
    from fieldmill.finetune import trainer

    skipped = Skipped()
    examples: list[Example] = []
    for source in plan.sources:
        examples += load_examples(source, skipped)
    if not examples:
        raise DataError("no usable training examples: " + ("; ".join(skipped.lines()) or "the gold files are empty"))
    train_examples, held_out = split_held_out(examples, plan.eval_fraction, plan.train.seed)
    pairs = build_pairs(train_examples, plan.prompt_format, plan.train.seed, plan.variant_share, skipped)
    pairs = fits(pairs, lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]), plan.max_seq_tokens - 2, skipped)
    if not pairs:
        raise DataError("no training pair fits --max-seq-tokens: " + "; ".join(skipped.lines()))
    sequences = [trainer.tokenize(tokenizer, p.prompt, p.answer, plan.train.list_weight) for p in pairs]
    return TrainingData(examples, train_examples, held_out, pairs, sequences, skipped)


def _schema_entries(pairs: list[Pair], examples: list[Example]) -> list[dict[str, Any]]:
    """One entry per named schema; the schemas that came inside gold lines as one entry."""
    names = sorted({e.schema for e in examples})
    out = []
    for name in (n for n in names if not is_inline(n)):
        schema = resolve_schema(name)
        out.append({"name": schema.name, "spec": name, "version": schema.hash, "examples": sum(p.schema == name for p in pairs)})
    inline = [n for n in names if is_inline(n)]
    if inline:
        out.append({"name": f"per-document ({len(inline)} schemas)", "spec": FROM_GOLD, "version": "per-document",
                    "examples": sum(is_inline(p.schema) for p in pairs)})
    return out


def _init_adapter(spec: str | None) -> Path | None:
    if spec is None:
        return None
    from fieldmill.model import source as models

    folder = models.default_adapter() if spec == "bundled" else Path(models.materialise(spec))
    if not (folder / "adapter_config.json").is_file():
        raise DataError(f"--init-adapter {spec}: no LoRA adapter (adapter_config.json) in {folder}")
    return folder


def _fingerprint(base_id: str, pairs: list[Pair], plan: FinetunePlan) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([base_id, asdict(plan.train), plan.max_seq_tokens, plan.prompt_format, plan.workers, plan.init_adapter], sort_keys=True).encode())
    for pair in pairs:
        digest.update(pair.prompt.encode())
        digest.update(pair.answer.encode())
    return digest.hexdigest()[:16]


def _train_with_ray(plan: FinetunePlan, base_path: Path, sequences, output: Path, fingerprint: str, init_adapter: Path | None = None):
    """Data-parallel training through Ray Train: one `train_loop` per worker, gradients all-reduced."""
    import ray

    started_ray = not ray.is_initialized()
    if started_ray:
        ray.init(address=plan.ray_address or "local", runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}},
                 **(local_node_options() if not plan.ray_address else {}))
    try:
        return _fit(plan, base_path, sequences, output, fingerprint, init_adapter)
    finally:
        if started_ray:
            ray.shutdown()


def _fit(plan: FinetunePlan, base_path: Path, sequences, output: Path, fingerprint: str, init_adapter: Path | None = None):
    from ray.train import ScalingConfig
    from ray.train.torch import TorchTrainer

    from fieldmill.finetune import trainer

    seq_data = [(s.ids, s.answer_start, s.weights) for s in sequences]

    def loop(config: dict[str, Any]) -> None:
        import ray.train

        from fieldmill.finetune import trainer as worker_trainer

        context = ray.train.get_context()
        model, _ = worker_trainer.load_base(config["base_path"], config["train"]["dtype"])
        train_config = worker_trainer.TrainConfig(**config["train"])
        peft_model = worker_trainer.with_lora(model, train_config, config["init_adapter"])
        if ray.train.torch.get_device().type != "cpu":
            peft_model.to(ray.train.torch.get_device())
        seqs = [worker_trainer.Sequence(ids, start, tuple(weights) if weights else None) for ids, start, weights in config["sequences"]]
        worker_trainer.train_loop(peft_model, seqs, Path(config["output"]), train_config, config["resume"], config["fingerprint"],
                                  rank=context.get_world_rank(), world=context.get_world_size())

    run = TorchTrainer(
        loop,
        train_loop_config={"base_path": str(base_path), "train": asdict(plan.train), "sequences": seq_data, "output": str(output),
                           "resume": plan.resume, "fingerprint": fingerprint, "init_adapter": str(init_adapter) if init_adapter else None},
        scaling_config=ScalingConfig(num_workers=plan.workers, use_gpu=plan.gpus_per_worker > 0,
                                     resources_per_worker={"GPU": plan.gpus_per_worker} if plan.gpus_per_worker > 0 else None),
    )
    result = run.fit()
    if result.error:
        raise TrainError(f"Ray Train failed: {result.error}")
    state_path = output / trainer.CHECKPOINT / "trainer_state.json"
    return trainer.TrainState(**json.loads(state_path.read_text()))


def env_threads() -> None:
    """Use every core for torch on CPU (the default may be half of them)."""
    import torch

    torch.set_num_threads(max(1, os.cpu_count() or 1))
