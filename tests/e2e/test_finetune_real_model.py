"""`fieldmill finetune` with the real Gemma 3 270M, then `fieldmill run` serving what it made.

A user's own 3-field JSON schema and a handful of short documents, a few dozen cheap
steps: the loss falls, the merged folder loads in vLLM (real CLI, Ray) and its greedy,
constrained answer equals the in-process PEFT model's greedy answer on the same prompt
(an adapter vLLM silently ignored would answer like the base); `--lora` on the base
serves the same answers; the model's id is not the base's.
"""

from __future__ import annotations

import json

import pytest

from helpers import fieldmill, local_rows

pytestmark = [pytest.mark.slow, pytest.mark.train, pytest.mark.timeout(1800)]

SCHEMA = {
    "title": "ticket",
    "type": "object",
    "properties": {
        "reference": {"type": "string", "maxLength": 20, "description": "Booking reference"},
        "city": {"type": "string", "maxLength": 30, "description": "City of departure"},
        "seats": {"type": "integer", "minimum": 0, "maximum": 99, "description": "Seats booked"},
    },
    "required": ["reference", "city", "seats"],
}
DOCS = {
    "a.txt": ("Booking confirmation\nReference: TK-4821\nDeparting from: Lisbon\nSeats reserved: 3\n", ["TK-4821", "Lisbon", 3]),
    "b.txt": ("Your trip\nFrom Oslo, 2 seats.\nBooking ref QX-77\n", ["QX-77", "Oslo", 2]),
    "c.txt": ("E-TICKET  ZZ-1009\nseats: 5   departure city: Porto\n", ["ZZ-1009", "Porto", 5]),
    "d.txt": ("Confirmation no. AB-2 for 1 seat leaving Graz.\n", ["AB-2", "Graz", 1]),
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("finetune")
    (root / "ticket.json").write_text(json.dumps(SCHEMA))
    (root / "docs").mkdir()
    gold = []
    for name, (text, (reference, city, seats)) in DOCS.items():
        (root / "docs" / name).write_text(text)
        gold.append({"name": f"docs/{name}", "record": {"reference": reference, "city": city, "seats": seats}})
    (root / "gold.jsonl").write_text("".join(json.dumps(g) + "\n" for g in gold))
    done = fieldmill("finetune", "--schema", str(root / "ticket.json"), "--data", str(root / "docs"), "--gold", str(root / "gold.jsonl"),
                     "--output", str(root / "model"), "--max-steps", "32", "--epochs", "8", "--lr", "1e-3", "--eval-fraction", "0",
                     "--variant-share", "0", "--checkpoint-every", "8")
    assert done.returncode == 0, done.stderr[-3000:]
    return root, done


def test_finetune_writes_a_model_folder_whose_loss_fell(trained):
    root, done = trained
    model = root / "model"
    card = json.loads((model / "fieldmill-model.json").read_text())
    assert card["prompt_format"] == "fields-v3" and card["training"]["steps"] == 32
    assert card["training"]["final_loss"] < card["training"]["first_loss"] / 4
    assert card["schemas"][0]["name"] == "ticket" and card["data"]["train_pairs"] == 4
    for name in ("config.json", "model.safetensors", "tokenizer.json", "README.md", "adapter/adapter_model.safetensors", "adapter/adapter_config.json"):
        assert (model / name).is_file(), name
    assert not (model / "checkpoint").exists()
    assert "training     32 steps" in done.stdout


def test_served_model_answers_like_the_in_process_peft_model_and_has_its_own_id(trained, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from fieldmill.documents import decode_document
    from fieldmill.finetune.examples import run_prompt
    from fieldmill.model.compute import compute_dtype
    from fieldmill.model.source import ModelRef, materialise
    from fieldmill.schema.load import load_schema

    root, _ = trained
    spec = str(root / "ticket.json")
    merged = fieldmill("run", str(root / "docs"), "--schema", spec, "--model", str(root / "model"), "--output", str(tmp_path / "merged"), "--retries", "0")
    assert merged.returncode == 0, merged.stderr[-3000:]
    lora = fieldmill("run", str(root / "docs"), "--schema", spec, "--model", "bundled-base", "--lora", str(root / "model" / "adapter"),
                     "--output", str(tmp_path / "lora"), "--retries", "0")
    assert lora.returncode == 0, lora.stderr[-3000:]
    served = {row["doc_uri"].rsplit("/", 1)[-1]: row for row in local_rows(str(tmp_path / "merged"))}
    via_lora = {row["doc_uri"].rsplit("/", 1)[-1]: row for row in local_rows(str(tmp_path / "lora"))}

    schema = load_schema(spec)
    base_path = materialise("bundled-base")
    tokenizer = AutoTokenizer.from_pretrained(str(base_path))
    served_dtype = getattr(torch, compute_dtype(torch.cuda.is_available()))  # what `run` computes in on this machine
    peft = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base_path), dtype=served_dtype), str(root / "model" / "adapter")).eval()
    for name, (text, _) in DOCS.items():
        prompt = run_prompt(schema, decode_document(name, text.encode()).text, "fields-v3")
        ids = tokenizer(prompt, add_special_tokens=True, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = peft.generate(input_ids=ids, max_new_tokens=48, do_sample=False)
        expected = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
        assert served[name]["raw_output"] == expected, name
        assert via_lora[name]["raw_output"] == expected, name
        assert served[name]["status"] == "compliant"

    model_id = next(iter(served.values()))["model_id"]
    assert model_id == ModelRef(str(root / "model")).model_id() != ModelRef("bundled-base").model_id()
    assert next(iter(via_lora.values()))["model_id"].endswith("+lora:adapter@" + ModelRef(str(root / "model" / "adapter")).model_id().rsplit("@", 1)[1])
