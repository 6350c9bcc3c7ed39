"""The packages' order (README, Layout): each part of fieldmill imports only the parts before it, never one after.

Imports inside functions count too: a lazy import is still a dependency. A part is a package or a top-level
module; modules that serve one concept together (a document's decoding, the evaluation) form one part.
"""

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "fieldmill"

# Lowest first; a part may import its own layer and the layers before it.
LAYERS = [
    {"storage"},
    {"documents"},
    {"schema"},
    {"model"},
    {"engines"},
    {"extract"},
    {"run"},
    {"evaluation", "finetune", "synth", "cli"},
]
PARTS = {"document": "documents", "decode_process": "documents", "text_layer": "documents", "ocr": "documents",
         "evaluate": "evaluation", "eval_report": "evaluation", "calibration": "evaluation"}


def _part(module: str) -> str | None:
    """`fieldmill.schema.load` -> schema; `fieldmill.ocr` -> documents; the package itself -> None."""
    head = module.split(".")[1] if module.count(".") >= 1 else None
    return PARTS.get(head, head) if head not in (None, "__init__") else None


def _imports(path: Path) -> set[str]:
    package = "fieldmill." + ".".join(path.relative_to(SRC).with_suffix("").parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("fieldmill.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fieldmill") and not node.level:
            if node.module == "fieldmill":  # from fieldmill import documents: the module named
                found |= {f"fieldmill.{alias.name}" for alias in node.names if alias.name != "__version__"}
            else:
                found.add(node.module)
    return {m for m in found if not m.startswith(package + ".")}


def _edges() -> dict[tuple[str, str], list[str]]:
    edges: dict[tuple[str, str], list[str]] = {}
    for path in SRC.rglob("*.py"):
        here = _part("fieldmill." + ".".join(path.relative_to(SRC).with_suffix("").parts))
        for module in _imports(path):
            there = _part(module)
            if here and there and here != there:
                edges.setdefault((here, there), []).append(f"{path.relative_to(SRC)} imports {module}")
    return edges


def _layer(part: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if part in layer)


def test_every_part_has_a_place_in_the_order():
    parts = {_part("fieldmill." + ".".join(p.relative_to(SRC).with_suffix("").parts)) for p in SRC.rglob("*.py")} - {None}
    placed = set().union(*LAYERS)
    assert parts - {"default_model"} <= placed, f"not in LAYERS: {sorted(parts - placed)}"


def test_no_part_imports_one_after_it():
    upward = [why for (here, there), whys in _edges().items() if _layer(there) > _layer(here) for why in whys]
    assert not upward, "\n".join(sorted(upward))


def test_the_parts_import_each_other_without_a_loop():
    edges = _edges()
    graph: dict[str, set[str]] = {}
    for here, there in edges:
        graph.setdefault(here, set()).add(there)
    done: set[str] = set()

    def visit(part: str, trail: list[str]) -> None:
        assert part not in trail, "import loop: " + " -> ".join(trail[trail.index(part):] + [part])
        if part in done:
            return
        for there in sorted(graph.get(part, ())):
            visit(there, trail + [part])
        done.add(part)

    for part in sorted(graph):
        visit(part, [])
