"""Training code on a tiny randomly initialised Gemma 3 (seconds): pairs, loss mask, resume, bad data."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

from fieldmill import synth  # noqa: E402
from fieldmill.schema.constraint import AnswerError, answer_text  # noqa: E402
from fieldmill.extract.actor import Extractor  # noqa: E402
from fieldmill.extract.settings import ExtractionSettings  # noqa: E402
from fieldmill.finetune import examples as ex  # noqa: E402
from fieldmill.finetune import trainer  # noqa: E402
from fieldmill.finetune.variants import VariantPolicy, project, schema_variant  # noqa: E402
from fieldmill.model.prompts import FIELDS_COMPACT, FIELDS_ONLY, build_prompt  # noqa: E402
from fieldmill.schema.load import load_schema  # noqa: E402
from standin_engine import StandInEngine  # noqa: E402


def tiny_model(vocab: int = 300):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=vocab, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                              num_key_value_heads=1, head_dim=16, max_position_embeddings=512, sliding_window=16,
                              layer_types=["sliding_attention", "full_attention"])
    return Gemma3ForCausalLM(config).to(torch.float32)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    synth.write_corpus("invoice", 4, str(root), seed=3, formats=("txt", "pdf"))
    return root


@pytest.mark.parametrize("name", synth.generators())
def test_answer_is_what_the_constraint_emits(name):
    """Gold records of every built-in schema, written as training targets, are in the constraint's language."""
    schema = load_schema(name)
    rng = random.Random(7)
    generator = synth.generator_module(name)
    regex = re.compile(schema.constraint.regex)
    for _ in range(5):
        gold = schema.model.model_validate(generator.generate(rng)[0]).model_dump(mode="json", by_alias=True)
        answer = answer_text(gold, schema.hardened)
        assert regex.fullmatch(answer), answer[:200]
        assert list(json.loads(answer)) == list(schema.hardened["properties"])  # every key, in schema order
        assert answer == json.dumps(json.loads(answer), ensure_ascii=False, separators=(",", ":"))  # compact: no free whitespace


def test_answer_numbers_and_nulls_are_canonical():
    schema = {"type": "object", "properties": {
        "total": {"type": "number", "minimum": -1e6, "maximum": 1e6, "multipleOf": 0.01},
        "count": {"type": "integer", "minimum": 0, "maximum": 100},
        "note": {"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}]},
    }, "required": ["total", "count", "note"]}
    assert answer_text({"total": "162.00", "count": 3}, schema) == '{"total":162,"count":3,"note":null}'
    assert answer_text({"total": 0.5, "count": 0, "note": 'a"b'}, schema) == '{"total":0.5,"count":0,"note":"a\\"b"}'
    with pytest.raises(AnswerError):
        answer_text({"total": 1, "count": 2.5, "note": None}, schema)


@pytest.mark.parametrize("prompt_format", [FIELDS_ONLY, FIELDS_COMPACT])
def test_training_prompt_is_byte_for_byte_the_runs_prompt(corpus, prompt_format):
    """The pair's prompt is what the extractor sends for a model whose card names this prompt format."""
    skipped = ex.Skipped()
    examples = ex.load_examples(ex.Source("invoice", str(corpus / "gold.jsonl"), str(corpus / "docs")), skipped)
    assert len(examples) == 4 and not skipped.counts
    engine = StandInEngine.__new__(StandInEngine)
    engine.prompt_format = prompt_format
    extractor = Extractor(ExtractionSettings(retries=0), "invoice", engine=engine)
    schema = load_schema("invoice")
    for example in examples:
        pair = ex.exact_pair(schema, example, prompt_format)
        assert pair.prompt == build_prompt(extractor.prefix, example.text)
        assert pair.answer == answer_text(example.record, schema.hardened)
        assert "Worked example" not in pair.prompt and '"..."' not in pair.prompt  # nothing to copy


def test_gold_lines_with_their_own_schemas_train_on_them_as_run_would_serve_them(tmp_path):
    """`synth --schema generic` lines carry their schema; each pair is the prompt `run` sends with that schema as a .json file."""
    synth.write_corpus("generic", 6, str(tmp_path / "g"), seed=11)
    skipped = ex.Skipped()
    examples = ex.load_examples(ex.Source(ex.FROM_GOLD, str(tmp_path / "g" / "gold.jsonl"), str(tmp_path / "g" / "docs")), skipped)
    assert len(examples) == 6 and not skipped.counts
    assert len({e.schema for e in examples}) == 6  # one schema per document
    lines = [json.loads(line) for line in (tmp_path / "g" / "gold.jsonl").read_text().splitlines()]
    for example, line in zip(examples, lines):
        path = tmp_path / "schemas" / f"{line['schema']['title']}.json"  # what a user would hand to `run --schema`
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(line["schema"]))
        engine = StandInEngine.__new__(StandInEngine)
        engine.prompt_format = FIELDS_COMPACT
        extractor = Extractor(ExtractionSettings(retries=0), str(path), engine=engine)
        pair = ex.exact_pair(ex.resolve_schema(example.schema), example, FIELDS_COMPACT)
        assert pair.prompt == build_prompt(extractor.prefix, example.text)
        assert re.fullmatch(extractor.constraint.regex, pair.answer)


def test_a_from_gold_line_without_a_schema_is_skipped(corpus):
    skipped = ex.Skipped()
    assert ex.load_examples(ex.Source(ex.FROM_GOLD, str(corpus / "gold.jsonl"), str(corpus / "docs")), skipped) == []
    assert skipped.counts == {"invalid_schema": 4}


def test_bad_gold_missing_document_and_undecodable_document_are_skipped_and_counted(corpus, tmp_path):
    lines = [json.loads(line) for line in (corpus / "gold.jsonl").read_text().splitlines()]
    lines[0]["record"]["currency"] = "EURO"  # not ISO 4217: the gold does not validate
    lines.append({"name": "docs/missing.txt", "record": lines[1]["record"]})
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "broken.pdf").write_bytes(b"%PDF-1.4 truncated")
    lines.append({"doc_uri": str(tmp_path / "docs" / "broken.pdf"), "record": lines[1]["record"]})
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(line) + "\n" for line in lines))
    skipped = ex.Skipped()
    examples = ex.load_examples(ex.Source("invoice", str(gold), str(corpus / "docs")), skipped)
    assert len(examples) == 3
    assert skipped.counts == {"invalid_gold": 1, "no_document": 1, "decode_error": 1}
    assert "currency" in skipped.samples["invalid_gold"][0]


def test_schema_variant_renames_subsets_and_projects_the_gold():
    schema = load_schema("invoice")
    gold = schema.model.model_validate(synth.generator_module("invoice").generate(random.Random(1))[0]).model_dump(mode="json", by_alias=True)
    seen_renamed = seen_dropped = False
    for seed in range(20):
        variant, mapping = schema_variant(schema.hardened, random.Random(seed), VariantPolicy(subset=1.0, rename=0.5))
        target = project(gold, mapping)
        answer = answer_text(target, variant)
        assert re.fullmatch(load_schema_regex(variant), answer)
        assert set(schema.hardened["required"]) <= {old for old, _ in mapping.values()}  # required fields stay
        for new, (old, _) in mapping.items():
            if not isinstance(gold[old], (dict, list)):
                assert target[new] == gold[old]
        seen_renamed |= any(new != old for new, (old, _) in mapping.items())
        seen_dropped |= len(mapping) < len(schema.hardened["properties"])
    assert seen_renamed and seen_dropped


def load_schema_regex(hardened):
    from fieldmill.schema.constraint import build_constraint

    return build_constraint(hardened).regex


def test_loss_covers_the_answer_only():
    model = tiny_model()
    ids = torch.randint(4, 300, (1, 40))
    start = 25
    loss = trainer.AnswerLoss(model)(ids, start)
    logits = model(input_ids=ids).logits[0]
    expected = torch.nn.functional.cross_entropy(logits[start - 1 : -1].float(), ids[0, start:])
    assert torch.allclose(loss, expected, atol=1e-5)
    changed = ids.clone()
    changed[0, start - 1] = (changed[0, start - 1] + 1) % 300  # a prompt token is an input, never a target
    assert not torch.allclose(trainer.AnswerLoss(model)(changed, start), loss)
    grads = torch.autograd.grad(trainer.AnswerLoss(model)(ids, start), model.lm_head.weight)[0]
    assert grads.abs().sum() > 0


def _sequences(count=6):
    generator = torch.Generator().manual_seed(1)
    return [trainer.Sequence(torch.randint(4, 300, (30,), generator=generator).tolist(), 20) for _ in range(count)]


def _adapter(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items() if "lora_" in k}


def test_training_lowers_the_loss_and_a_resumed_training_continues_from_its_checkpoint(tmp_path):
    config = trainer.TrainConfig(epochs=2, lr=1e-2, lora_rank=4, lora_alpha=8, warmup_steps=1, checkpoint_every=2, dtype="float32")
    sequences = _sequences()

    straight = trainer.with_lora(tiny_model(), config)
    state = trainer.train_loop(straight, sequences, tmp_path / "a", config, resume=False, fingerprint="f", show_progress=False)
    assert state.step == 12 and sum(state.losses[-3:]) < sum(state.losses[:3])

    killed = trainer.with_lora(tiny_model(), config)
    with pytest.raises(KeyboardInterrupt):
        trainer.train_loop(killed, sequences, tmp_path / "c", config, resume=False, fingerprint="f", show_progress=False,
                           report=_interrupt_at(6))
    resumed = trainer.with_lora(tiny_model(), config)
    with pytest.raises(trainer.TrainError, match="--resume"):
        trainer.train_loop(resumed, sequences, tmp_path / "c", config, resume=False, fingerprint="f", show_progress=False)
    with pytest.raises(trainer.TrainError, match="another training"):
        trainer.train_loop(resumed, sequences, tmp_path / "c", config, resume=True, fingerprint="other", show_progress=False)
    state = trainer.train_loop(resumed, sequences, tmp_path / "c", config, resume=True, fingerprint="f", show_progress=False)
    assert state.step == 12 and len(state.losses) == 12
    a, b = _adapter(straight), _adapter(resumed)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k], atol=1e-5) for k in a)


def _interrupt_at(step):
    def report(_checkpoint: Path, state: trainer.TrainState) -> None:
        if state.step == step:
            raise KeyboardInterrupt

    return report


def test_example_order_is_a_fresh_shuffle_per_epoch():
    order = trainer.example_order(5, 10, 1, seed=3)
    assert sorted(order[:5]) == sorted(order[5:]) == list(range(5)) and order[:5] != order[5:]


def test_list_decisions_are_found_and_weighed():
    from fieldmill.finetune.weights import decision_chars, token_weights

    text = '{"a":[{"x":1},{"x":2}],"b":["p"],"c":[],"d":"s"}'
    marked = decision_chars(text)
    assert {text[i] for i in marked} == {"}", ",", "]", '"', "["}
    assert text.index("},{") in marked and text.index("}]") in marked and text.index("[]") in marked
    assert text.index('"s"') not in marked  # a string outside a list decides nothing about a length
    offsets = [(0, 12), (12, 14), (14, 22), (22, len(text))]  # "},"... as a tokenizer might cut it
    assert token_weights(offsets, text, 4.0)[:2] == [1.0, 4.0] and len(token_weights(offsets, text)) == 4


def test_weighted_loss_is_the_plain_loss_with_unit_weights_and_leans_on_the_heavy_tokens():
    model = tiny_model()
    ids = torch.randint(4, 300, (1, 40))
    plain = trainer.AnswerLoss(model)(ids, 25)
    assert torch.allclose(trainer.AnswerLoss(model)(ids, 25, torch.ones(15)), plain, atol=1e-6)
    heavy = torch.ones(15)
    heavy[3] = 50.0
    logits = model(input_ids=ids).logits[0, 24:-1].float()
    single = torch.nn.functional.cross_entropy(logits[3:4], ids[0, 28:29])
    weighted = trainer.AnswerLoss(model)(ids, 25, heavy)
    assert abs(weighted - single) < abs(plain - single)


def test_training_can_continue_from_an_adapter(tmp_path):
    config = trainer.TrainConfig(epochs=1, lr=1e-2, lora_rank=4, lora_alpha=8, warmup_steps=1, dtype="float32")
    first = trainer.with_lora(tiny_model(), config)
    trainer.train_loop(first, _sequences(), tmp_path / "a", config, resume=False, fingerprint="f", show_progress=False)
    first.save_pretrained(str(tmp_path / "adapter"))
    continued = trainer.with_lora(tiny_model(), config, tmp_path / "adapter")
    a, b = _adapter(first), _adapter(continued)
    assert a.keys() == b.keys() and all(torch.allclose(a[k], b[k]) for k in a)
    with pytest.raises(trainer.TrainError, match="rank-4"):
        trainer.with_lora(tiny_model(), trainer.TrainConfig(lora_rank=8, lora_alpha=16, dtype="float32"), tmp_path / "adapter")


def test_training_only_the_top_layers_leaves_the_lower_ones_as_they_were(tmp_path):
    """--train-layers: a fresh adapter exists on the top layers only; a continued one keeps its lower layers' weights."""
    fresh = trainer.with_lora(tiny_model(), trainer.TrainConfig(lora_rank=4, lora_alpha=8, dtype="float32", train_layers=1))
    layers = {trainer.layer_of(name) for name, _ in fresh.named_parameters() if "lora_" in name}
    assert layers == {1}

    config = trainer.TrainConfig(epochs=1, lr=1e-2, lora_rank=4, lora_alpha=8, warmup_steps=1, dtype="float32")
    first = trainer.with_lora(tiny_model(), config)
    trainer.train_loop(first, _sequences(), tmp_path / "a", config, resume=False, fingerprint="f", show_progress=False)
    first.save_pretrained(str(tmp_path / "adapter"))
    top_only = trainer.TrainConfig(epochs=1, lr=1e-2, lora_rank=4, lora_alpha=8, warmup_steps=1, dtype="float32", train_layers=1)
    continued = trainer.with_lora(tiny_model(), top_only, tmp_path / "adapter")
    before = _adapter(continued)
    trainer.train_loop(continued, _sequences(), tmp_path / "b", top_only, resume=False, fingerprint="f", show_progress=False)
    after = _adapter(continued)
    moved = {trainer.layer_of(k) for k in after if not torch.equal(after[k], before[k])}
    assert moved == {1}


def test_one_process_trains_on_the_gpu_it_sees_without_cudnn_attention(monkeypatch):
    """`finetune` without Ray trains where it runs; on a GPU without cuDNN's attention (a plan per sequence length)."""
    assert trainer.training_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    cudnn_was = torch.backends.cuda.cudnn_sdp_enabled()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    try:
        assert trainer.training_device() == torch.device("cuda")
        assert not torch.backends.cuda.cudnn_sdp_enabled()
    finally:
        torch.backends.cuda.enable_cudnn_sdp(cudnn_was)


def test_layer_of_reads_the_decoder_layer_from_a_parameter_name():
    assert trainer.layer_of("base_model.model.model.layers.17.mlp.up_proj.lora_A.default.weight") == 17
    assert trainer.layer_of("base_model.model.lm_head.weight") is None


def test_a_schema_that_came_with_its_document_is_never_varied(tmp_path):
    """Realistic corpora carry one user's schema per document: a variant could contradict its answer."""
    synth.write_realistic(6, str(tmp_path), seed=2)
    skipped = ex.Skipped()
    examples = ex.load_examples(ex.Source(ex.FROM_GOLD, str(tmp_path / "gold.jsonl"), str(tmp_path / "docs")), skipped)
    pairs = ex.build_pairs(examples, "fields-v3", seed=0, variant_share=1.0, skipped=skipped)
    assert len(pairs) == 6 and not any(p.varied for p in pairs) and not skipped.counts


def test_held_out_documents_are_read_as_run_reads_them_and_scored_into_the_card(corpus, tmp_path):
    from scripted_engine import ScriptedEngine

    from fieldmill.finetune import FinetuneResult
    from fieldmill.finetune.report import evaluate_held_out
    from fieldmill.model import source as models
    from fieldmill.model.card import CARD

    examples = ex.load_examples(ex.Source("invoice", str(corpus / "gold.jsonl"), str(corpus / "docs")), ex.Skipped())[:2]
    wrong = {**examples[1].record, "invoice_number": "NOT-ON-THE-PAGE"}
    engine = ScriptedEngine([examples[0].record, wrong], prompt_format=FIELDS_COMPACT)
    card = json.loads((models.default_adapter() / CARD).read_text())
    result = FinetuneResult(tmp_path, card, ex.Skipped(), examples)
    scores = evaluate_held_out(result, engine=engine)
    (score,) = scores.values()
    assert score["documents"] == 2 and 0.9 < score["micro"] < 1.0
    assert len(engine.prompts) >= 2 and all(examples[0].text in p or examples[1].text in p for p in engine.prompts[-2:])
    assert json.loads((tmp_path / CARD).read_text())["held_out_scores"] == scores  # written into the card
