"""Which OCR engine: Tesseract (Debian's package, what `run` uses) against RapidOCR (a PyPI wheel carrying its ONNX models).

Both read the same page images (scans rendered at 300 dpi from `fieldmill synth --formats
scan-pdf`, held-out realistic documents) and are compared with the same documents' digital
text: character error rate in reading order and on the sorted words (which forgives a
different line order), seconds per page, peak memory. RapidOCR is not a dependency of the
product: it runs in a separate virtual environment given by `--rapidocr-python`
(`python3.11 -m venv /tmp/ocrvenv && /tmp/ocrvenv/bin/pip install rapidocr_onnxruntime`).

    python bench/ocr_engines.py --corpus out/bench-ocr/invoice [--corpus ...] --rapidocr-python /tmp/ocrvenv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from rapidfuzz.distance import Levenshtein

from fieldmill.documents import decode_document

_TESSERACT = r"""
import json, resource, sys, time
from pathlib import Path
from PIL import Image
from fieldmill.ocr import OcrSettings, ocr_image
out = {}
for path in sorted(Path(sys.argv[1]).glob("*.png")):
    t = time.perf_counter()
    out[path.name] = {"text": ocr_image(Image.open(path), OcrSettings()).text, "s": time.perf_counter() - t}
out["_peak_kib"] = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps(out))
"""
_RAPIDOCR = r"""
import json, resource, sys, time
from pathlib import Path
from rapidocr_onnxruntime import RapidOCR
engine = RapidOCR()
out = {}
for path in sorted(Path(sys.argv[1]).glob("*.png")):
    t = time.perf_counter()
    found, _ = engine(str(path))
    lines = sorted(found or [], key=lambda r: (round(r[0][0][1] / 20), r[0][0][0]))  # top to bottom, then left to right
    out[path.name] = {"text": "\n".join(r[1] for r in lines), "s": time.perf_counter() - t}
out["_peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps(out))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", action="append", required=True, help="a bench/ocr.py kind folder (pdf/ and scan-pdf/ inside)")
    parser.add_argument("--rapidocr-python", help="python of a virtual environment with rapidocr_onnxruntime")
    args = parser.parse_args()
    import pypdfium2 as pdfium

    with tempfile.TemporaryDirectory() as pages:
        refs = {}
        for corpus in map(Path, args.corpus):
            for scan in sorted((corpus / "scan-pdf" / "docs").glob("*.pdf")):
                digital = corpus / "pdf" / "docs" / scan.name
                pdf = pdfium.PdfDocument(scan.read_bytes())
                if len(pdf) != 1:
                    continue  # one page per document: the digital text is the page's
                name = f"{corpus.name}-{scan.stem}.png"
                pdf[0].render(scale=300 / 72, grayscale=True).to_pil().save(Path(pages) / name)
                refs[name] = decode_document(digital.name, digital.read_bytes()).text
        engines = {"tesseract": [sys.executable, "-c", _TESSERACT, pages]}
        if args.rapidocr_python:
            engines["rapidocr"] = [args.rapidocr_python, "-c", _RAPIDOCR, pages]
        print(f"{len(refs)} pages")
        print("| engine | kind | CER, reading order | CER, sorted words | s / page | peak memory MiB |")
        print("|---|---|---|---|---|---|")
        for engine, command in engines.items():
            read = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
            kinds: dict[str, list[float]] = {}
            for name, ref in refs.items():
                hyp = read[name]["text"]
                order = Levenshtein.distance(" ".join(ref.split()), " ".join(hyp.split()))
                words = Levenshtein.distance(" ".join(sorted(ref.split())), " ".join(sorted(hyp.split())))
                k = kinds.setdefault(name.split("-")[0], [0, 0, 0, 0.0, 0])
                k[0] += order
                k[1] += words
                k[2] += len(" ".join(ref.split()))
                k[3] += read[name]["s"]
                k[4] += 1
            for kind, (order, words, chars, seconds, count) in kinds.items():
                print(f"| {engine} | {kind} | {order / chars:.1%} | {words / chars:.1%} | {seconds / count:.1f} | {read['_peak_kib'] / 1024:.0f} |")


if __name__ == "__main__":
    main()
