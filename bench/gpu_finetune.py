"""How long the default model's fine-tuning takes on one GPU, where the base weights cannot travel.

`bench/gpu.sh` runs `make default-model` on a GPU machine that can install the package.
A lent GPU machine that reaches no index and takes a 64 MiB working tree cannot hold the
270M base's weights (over 500 MiB in bf16), and a step's time does not depend on the
weights' values. So this bench splits the training in two:

* `prepare` (here, on CPU): a `fieldmill finetune` command's own data path (examples,
  schema variants, pairs that fit, tokenised exactly as the trainer sees them) and the
  base's architecture (its config.json), written to one file;
* `train` (on the GPU): the same architecture with random weights, the product's own
  `with_lora` and `train_loop` (LoRA rank, top layers, one sequence a step, checkpoints)
  on those token sequences; prints steps, tokens/s and wall time.

    python bench/gpu_finetune.py prepare --out .gpu/stage5.npz -- FINETUNE ARGS (as in the Makefile)
    python bench/gpu_finetune.py train .gpu/stage5.npz [...]

The loss it prints is a random model's: only the times are the product's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path


def prepare(out: Path, finetune_args: list[str]) -> None:
    import numpy as np

    from fieldmill.cli import build_parser, finetune_plan
    from fieldmill.finetune import training_data
    from fieldmill.model import hf
    from fieldmill.model import source as models

    plan = finetune_plan(build_parser().parse_args(["finetune", *finetune_args]))
    base_path = Path(models.materialise(plan.base))
    data = training_data(plan, hf.load_tokenizer(base_path))
    ids = [s.ids for s in data.sequences]
    meta = {
        "model_config": json.loads((base_path / "config.json").read_text()),
        "train": asdict(plan.train),
        "init_adapter": plan.init_adapter,
        "pairs": len(ids),
        "tokens": sum(map(len, ids)),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, ids=np.concatenate([np.asarray(i, dtype=np.int32) for i in ids]),
                        lengths=np.asarray([len(i) for i in ids], dtype=np.int32),
                        answer_starts=np.asarray([s.answer_start for s in data.sequences], dtype=np.int32),
                        meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
    print(f"{out}: {meta['pairs']} pairs, {meta['tokens']:,} tokens, train {meta['train']}")


def train(path: Path, max_steps: int | None = None, profile: Path | None = None) -> dict:
    import numpy as np
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from fieldmill.finetune import trainer

    data = np.load(path)
    meta = json.loads(bytes(data["meta"]).decode())
    bounds = np.cumsum(np.concatenate([[0], data["lengths"]]))
    sequences = [trainer.Sequence(data["ids"][a:b].tolist(), int(start)) for a, b, start in zip(bounds, bounds[1:], data["answer_starts"])]
    config = dict(meta["model_config"])
    config_class = AutoConfig.for_model(config.pop("model_type"), **config)
    started = time.perf_counter()
    device = trainer.training_device()
    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config_class, dtype=torch.bfloat16)
    train_config = trainer.TrainConfig(**{**meta["train"], **({"max_steps": max_steps} if max_steps else {})})
    init_adapter = _adapter(meta["init_adapter"])
    peft_model = trainer.with_lora(model, train_config, init_adapter).to(device)
    built_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as workdir, _profiler(profile) as profiler:
        state = trainer.train_loop(peft_model, sequences, Path(workdir), train_config, resume=False, fingerprint="bench", show_progress=False)
    if profiler is not None:
        table = profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=25)
        profile.write_text(table)
        print(table)
    if device.type == "cuda":
        torch.cuda.synchronize()
    result = {
        "data": path.name, "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "pairs": len(sequences), "tokens": state.tokens_seen, "steps": state.step,
        "train_layers": train_config.train_layers, "continued": init_adapter is not None,
        "train_s": round(state.train_s, 1), "tokens_per_s": round(state.tokens_seen / state.train_s),
        "model_built_s": round(built_s, 1), "wall_s": round(time.perf_counter() - started, 1),
        "peak_gib": round(torch.cuda.max_memory_allocated() / 2**30, 1) if device.type == "cuda" else None,
    }
    print(json.dumps(result), flush=True)
    return result


def _profiler(path: Path | None):
    """torch.profiler over the whole training when asked (where a step's time goes, host and device)."""
    import contextlib

    if path is None:
        return contextlib.nullcontext()
    from torch.profiler import ProfilerActivity, profile

    import torch

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
    return profile(activities=activities)


def _adapter(spec: str | None) -> Path | None:
    """A continued training starts from an adapter of the same shape: the shipped one stands in for any (its values do not change the time)."""
    if spec is None:
        return None
    return Path(__file__).resolve().parents[1] / "src" / "fieldmill" / "default_model"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare")
    prep.add_argument("--out", type=Path, required=True)
    prep.add_argument("finetune_args", nargs=argparse.REMAINDER)
    run = commands.add_parser("train")
    run.add_argument("data", type=Path, nargs="+")
    run.add_argument("--report", type=Path)
    run.add_argument("--max-steps", type=int, help="stop after this many steps (a smoke test)")
    run.add_argument("--profile", type=Path, help="write torch.profiler's table of the (last) training here")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.out, [a for a in args.finetune_args if a != "--"])
        return 0
    results = [train(p, args.max_steps, args.profile) for p in args.data]
    if args.report:
        args.report.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
