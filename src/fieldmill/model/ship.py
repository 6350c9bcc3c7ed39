"""Ship a trained model folder's adapter as the default model: `python -m fieldmill.model.ship MODEL_DIR`.

Copies `MODEL_DIR/adapter` (weights cast to bf16, the dtype the base is served in: half
the bytes) and the model card into `src/fieldmill/default_model/`, which `--model bundled`
merges into the pretrained base on first use.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from fieldmill.model.card import CARD
from fieldmill.model.source import default_adapter


def ship(model_dir: Path, target: Path) -> None:
    import torch
    from safetensors.torch import load_file, save_file

    adapter = model_dir / "adapter"
    weights = {k: v.to(torch.bfloat16).contiguous() for k, v in load_file(str(adapter / "adapter_model.safetensors")).items()}
    target.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(target / "adapter_model.safetensors"), metadata={"format": "pt"})
    config = json.loads((adapter / "adapter_config.json").read_text())
    config["base_model_name_or_path"] = "bundled-base"  # a path on the training machine means nothing elsewhere
    (target / "adapter_config.json").write_text(json.dumps(config, indent=2) + "\n")
    shutil.copy(model_dir / CARD, target / CARD)
    shutil.copy(model_dir / "README.md", target / "README.md")


if __name__ == "__main__":
    ship(Path(sys.argv[1]), default_adapter())
    print(f"shipped {sys.argv[1]}/adapter as the default model in {default_adapter()}")
