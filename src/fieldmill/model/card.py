"""The model card: what a fine-tuned model folder is, written beside its weights.

`fieldmill-model.json` is read by `run` (the prompt format) and by people (the rest);
README.md says the same in prose.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD = "fieldmill-model.json"


def read_card(folder: str | Path) -> dict[str, Any] | None:
    path = Path(folder) / CARD
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return card if isinstance(card, dict) else None


def write_card(folder: Path, card: dict[str, Any]) -> None:
    (folder / CARD).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (folder / "README.md").write_text(readme(card), encoding="utf-8")


def readme(card: dict[str, Any]) -> str:
    lines = [
        f"# {card.get('name', 'fieldmill model')}",
        "",
        f"A LoRA fine-tune of `{card['base']['id']}` for record extraction with fieldmill, made by `fieldmill finetune`.",
        "",
        f"- Prompt format: `{card['prompt_format']}` (`fieldmill run` reads it from `{CARD}`)",
        "- Schemas: " + ", ".join(f"`{s['name']}` (version {s['version']}, {s['examples']} examples)" for s in card["schemas"]),
        f"- Data: {card['data']['train_pairs']} training pairs ({card['data']['varied_pairs']} on schema variants), "
        f"{card['data']['held_out']} held out; digest `{card['data']['digest']}`",
        f"- Skipped: {card['data']['skipped'] or 'none'}",
        f"- Training: {card['training']['steps']} steps, final loss {card['training']['final_loss']}, {card['training']['train_s']:.0f} s",
        "- Hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in card["hyperparameters"].items()),
    ]
    held = card.get("held_out_scores")
    if held:
        lines += ["", "## Held-out scores", "", "| schema | documents | compliance | micro | macro |", "|---|---|---|---|---|"]
        lines += [f"| {s} | {v['documents']} | {v['compliance']:.1%} | {v['micro']:.1%} | {v['macro']:.1%} |" for s, v in held.items()]
    lines += ["", "Serve it: `fieldmill run INPUT --schema SCHEMA --model <this folder> --output OUT`;",
              "or the adapter alone on top of the base: `--model <base> --lora <this folder>/adapter`.", ""]
    return "\n".join(lines)
