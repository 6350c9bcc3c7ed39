"""Synthetic documents with gold records, for demos, tests and evaluation.

Each built-in schema's generator module exposes `generate(rng) -> (gold, sections, title)`;
the corpus writer renders the sections as text, HTML or PDF and writes `gold.jsonl`
beside the documents. `generic` is different: every document comes with its own
user-style JSON Schema (`synth/generic.py`), written into its gold line
(`{"name", "schema", "record"}`), so one corpus teaches many schemas. Output is
deterministic for a seed.
"""

from __future__ import annotations

import importlib
import json
import random
from typing import Any

from fieldmill import storage
from fieldmill.synth.pdf import text_pdf
from fieldmill.synth.surface import render

FORMATS = ("txt", "html", "pdf")  # the default mix
SCAN_FORMATS = ("png", "scan-pdf")  # documents whose text is only in pixels (synth/scan.py)
ALL_FORMATS = FORMATS + SCAN_FORMATS
GOLD = "gold.jsonl"
DOCS = "docs"
GENERIC = "generic"  # documents of many kinds, each with its own schema
REALISTIC = "realistic"  # rendered documents read back as `run` reads them, each with a user's schema
SCHEMA_FILE = "schema.json"


def generators() -> list[str]:
    """Built-in schemas that have a synthetic document generator."""
    return ["invoice", "legal_contract", "medical_record"]


def generator_module(schema_name: str):
    if schema_name not in generators():
        raise ValueError(f"no synthetic generator for {schema_name!r}; available: {', '.join(generators() + [GENERIC, REALISTIC])}")
    return importlib.import_module(f"fieldmill.synth.{schema_name}")


LONG = ("legal_contract", "medical_record")  # generators that can write long documents (`pages`)


def write_corpus(schema_name: str, count: int, output: str, seed: int = 0, formats: tuple[str, ...] = FORMATS,
                 pages: tuple[int, int] | None = None) -> list[dict[str, Any]]:
    """Write `count` documents under OUTPUT/docs/ and OUTPUT/gold.jsonl; returns the gold lines.

    `pages` (lowest, highest): long documents of that many pages, the facts scattered through
    filler (`synth/longdoc.py`); contracts and medical records only."""
    if pages is not None and schema_name not in LONG:
        raise ValueError(f"long documents (--pages) are written for {', '.join(LONG)}, not {schema_name!r}")
    from fieldmill.schema.load import load_schema

    if schema_name == GENERIC:
        return _write_generic(count, output, seed, formats)
    if schema_name == REALISTIC:
        return write_realistic(count, output, seed)
    generator = generator_module(schema_name)
    model = load_schema(schema_name).model
    rng = random.Random(seed)
    lines = []
    root = storage.normalise_root(output)
    for index in range(count):
        gold, sections, title = generator.generate(rng)
        record = model.model_validate(gold).model_dump(mode="json")  # the gold must be schema-valid
        if pages is not None:
            from fieldmill.synth.longdoc import lengthen

            sections = lengthen(rng, schema_name, gold, sections, rng.randint(*pages))
        fmt = formats[index % len(formats)]
        text = render(rng, title, sections, "html" if fmt == "html" else "text")
        name = f"{DOCS}/{schema_name}-{index:04d}.{extension(fmt)}"
        data = document_bytes(fmt, text, _scan_rng(seed, index))
        storage.write_bytes(storage.join(root, name), data)
        lines.append({"name": name, "record": record})
    storage.write_bytes(storage.join(root, GOLD), "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines).encode())
    return lines


def extension(fmt: str) -> str:
    return "pdf" if fmt == "scan-pdf" else fmt


def _scan_rng(seed: int, index: int) -> random.Random:
    """A scan's defects have their own random stream, so a corpus is the same documents in every format."""
    return random.Random(f"scan:{seed}:{index}")


def document_bytes(fmt: str, text: str, rng: random.Random) -> bytes:
    """A document's text in a file format: as it is, a digital PDF, or a scan of that PDF."""
    if fmt in SCAN_FORMATS:
        return scan_bytes(fmt, text_pdf(text), rng)
    return text_pdf(text) if fmt == "pdf" else text.encode("utf-8")


def scan_bytes(fmt: str, pdf: bytes, rng: random.Random) -> bytes:
    from fieldmill.synth.scan import png_bytes, scan_pdf_bytes, scanned_pages

    pages = scanned_pages(pdf, rng)
    return png_bytes(pages) if fmt == "png" else scan_pdf_bytes(pages)


def _write_generic(count: int, output: str, seed: int, formats: tuple[str, ...]) -> list[dict[str, Any]]:
    from fieldmill.schema.load import model_from_json_schema
    from fieldmill.synth import generic

    rng = random.Random(seed)
    root = storage.normalise_root(output)
    lines = []
    for index in range(count):
        schema, gold, text, fmt = generic.generate(rng, html="html" in formats)
        record = model_from_json_schema(schema, schema["title"]).model_validate(gold).model_dump(mode="json", by_alias=True)
        if fmt != "html":
            fmt = [f for f in formats if f != "html"][index % len([f for f in formats if f != "html"])] if set(formats) - {"html"} else "html"
        name = f"{DOCS}/{schema['title'].replace(' ', '_')}-{index:04d}.{extension(fmt)}"
        data = document_bytes(fmt, text, _scan_rng(seed, index))
        storage.write_bytes(storage.join(root, name), data)
        lines.append({"name": name, "schema": schema, "record": record})
    storage.write_bytes(storage.join(root, GOLD), "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines).encode())
    return lines


def write_realistic(count: int, output: str, seed: int = 0, held_out: bool = False, kind: str | None = None,
                    one_schema: bool = False, formats: tuple[str, ...] = ("pdf",), look_alikes: bool = False) -> list[dict[str, Any]]:
    """`count` rendered PDFs under OUTPUT/docs/ and OUTPUT/gold.jsonl (`synth/realistic.py`).

    Each gold line carries its document's schema and what each field asks (`asked`). With
    `one_schema`, every document of the corpus uses one schema (drawn from the first
    document, so `kind` is needed), written to OUTPUT/schema.json as a team's own schema
    is: the corpus can then be run and scored with `fieldmill run --schema schema.json`.
    `held_out` uses only the templates no training corpus uses. `formats` from pdf, png and
    scan-pdf, in turn: the rendered PDF, or scans of it. `look_alikes`: schemas that ask look-alike facts apart
    (`realistic.user_schema`), for training corpora.
    """
    from fieldmill.schema.load import model_from_json_schema
    from fieldmill.synth import realistic

    if one_schema and kind is None:
        raise ValueError("one schema for a whole corpus needs one kind of document (--kind)")
    templates = realistic.HELD_OUT_TEMPLATES if held_out else realistic.TRAIN_TEMPLATES
    rng = random.Random(seed)
    root = storage.normalise_root(output)
    lines, fixed = [], None
    for index in range(count):
        schema, asked, gold, pdf = realistic.generate(rng, templates, kind, fixed, look_alikes)
        if one_schema and fixed is None:  # a team's schema cannot require what some of its documents leave out
            schema = {k: v for k, v in schema.items() if k != "required"}
            fixed = (schema, asked)
            storage.write_bytes(storage.join(root, SCHEMA_FILE), (json.dumps(schema, indent=1, ensure_ascii=False) + "\n").encode())
        record = model_from_json_schema(schema, schema["title"]).model_validate(gold).model_dump(mode="json", by_alias=True)
        fmt = formats[index % len(formats)]
        if fmt not in ("pdf", *SCAN_FORMATS):
            raise ValueError(f"realistic documents are rendered as pdf, png or scan-pdf, not {fmt!r}")
        name = f"{DOCS}/{schema['title'].replace(' ', '_')}-{index:04d}.{extension(fmt)}"
        storage.write_bytes(storage.join(root, name), pdf if fmt == "pdf" else scan_bytes(fmt, pdf, _scan_rng(seed, index)))
        line = {"name": name, "record": record, "asked": {a.key: {"fact": a.fact, "kind": a.kind, "form": a.form} for a in asked}}
        lines.append(line if one_schema else {"name": name, "schema": schema} | line)
    storage.write_bytes(storage.join(root, GOLD), "".join(json.dumps(l, ensure_ascii=False) + "\n" for l in lines).encode())
    return lines
