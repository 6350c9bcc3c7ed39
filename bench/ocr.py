"""OCR on scans of realistic documents: characters right, seconds per page, and field accuracy against the digital text.

1. Engine: each held-out realistic document (templates and seeds no training used) is
   rendered as a PDF and as a scan of it (`synth --formats scan-pdf`: rotation, blur, JPEG);
   the scan goes through OCR and is compared with the PDF's own text layer: character
   error rate (Levenshtein distance / reference length) on the words in reading order and
   on the sorted words (which forgives a different line order), seconds per page, peak
   memory of the OCR process.
2. Extraction: with `--models`, the same documents are run through `fieldmill run` as PDFs
   and as scans with one user schema per kind; field accuracy on both (bench/realistic.py's
   scoring), and the share of the run's worker time that reading (OCR included) took.

    python bench/ocr.py --count 6 [--kinds receipt,invoice,letter] [--models bundled] [--work out/bench-ocr]
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path

from accuracy import fieldmill
from rapidfuzz.distance import Levenshtein
from realistic import score

from fieldmill.documents import decode_document
from fieldmill.run.store import results_runs


def cer(reference: str, hypothesis: str) -> float:
    return Levenshtein.distance(reference, hypothesis) / max(1, len(reference))


def _words(text: str, ordered: bool = True) -> str:
    words = text.split()
    return " ".join(words if ordered else sorted(words))


def engine_table(corpora: dict[str, tuple[Path, Path]]) -> None:
    print("| kind | pages | CER (reading order) | CER (sorted words) | s/page | mean OCR confidence |")
    print("|---|---|---|---|---|---|")
    all_pages = all_seconds = 0.0
    all_ref = all_err = all_err_sorted = 0
    for kind, (digital, scans) in corpora.items():
        pages = seconds = 0.0
        errors = errors_sorted = chars = 0
        confidences = []
        for line in map(json.loads, (digital / "gold.jsonl").read_text().splitlines()):
            reference = decode_document(line["name"], (digital / line["name"]).read_bytes())
            started = time.perf_counter()
            read = decode_document(line["name"], (scans / line["name"]).read_bytes())
            seconds += time.perf_counter() - started
            pages += max(1, len(read.pages))
            ref, hyp = reference.text or "", read.text or ""
            chars += len(_words(ref))
            errors += Levenshtein.distance(_words(ref), _words(hyp))
            errors_sorted += Levenshtein.distance(_words(ref, False), _words(hyp, False))
            if read.ocr_confidence is not None:
                confidences.append(read.ocr_confidence)
        print(f"| {kind} | {pages:.0f} | {errors / chars:.2%} | {errors_sorted / chars:.2%} | {seconds / pages:.2f}"
              f" | {sum(confidences) / max(1, len(confidences)):.3f} |")
        all_pages += pages
        all_seconds += seconds
        all_ref += chars
        all_err += errors
        all_err_sorted += errors_sorted
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"| all | {all_pages:.0f} | {all_err / all_ref:.2%} | {all_err_sorted / all_ref:.2%} | {all_seconds / all_pages:.2f} | |")
    print(f"peak memory of one OCR process: {peak:.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--seed", type=int, default=9300)
    parser.add_argument("--kinds", default="receipt,invoice,letter,form")
    parser.add_argument("--models", default="", help="comma-separated models to run on the digital and the scanned documents (none: engine only)")
    parser.add_argument("--work", default="out/bench-ocr")
    args = parser.parse_args()

    corpora = {}
    for offset, kind in enumerate(args.kinds.split(",")):
        folders = []
        for fmt in ("pdf", "scan-pdf"):
            folder = Path(args.work) / kind / fmt
            fieldmill("synth", "--schema", "realistic", "--kind", kind, "--one-schema", "--held-out", "--count", str(args.count),
                      "--seed", str(args.seed + offset), "--formats", fmt, "--output", str(folder))
            folders.append(folder)
        corpora[kind] = tuple(folders)
    engine_table(corpora)

    if not args.models:
        return
    print("\n| kind | model | text | exact | present right | null for a present value | read s (share of worker time) |")
    print("|---|---|---|---|---|---|---|")
    for kind, folders in corpora.items():
        for model in args.models.split(","):
            for label, folder in zip(("digital", "scan"), folders):
                out = folder.parent / f"out-{label}-{model.replace('/', '_')}"
                ran = fieldmill("run", str(folder / "docs"), "--schema", str(folders[0] / "schema.json"), "--output", str(out), "--model", model)
                counts = score(out, folder)
                _, (run,) = results_runs(str(out))
                rows = [r for name in run.part_names() for r in run.read_part(name, ["latency_s"]).to_pylist()]
                extract = sum(r["latency_s"] or 0 for r in rows)
                found = re.search(r"reading\+decoding ([\d.]+) s", ran.stdout)
                read = float(found.group(1)) if found else float("nan")
                pct = lambda m: f"{counts[m][0] / max(1, counts[m][1]):.1%}"  # noqa: E731
                print(f"| {kind} | {model} | {label} | {pct('exact')} | {pct('present right')} | {pct('null for a present value')}"
                      f" | {read:.1f} of {read + extract:.1f} s |", flush=True)


if __name__ == "__main__":
    main()
