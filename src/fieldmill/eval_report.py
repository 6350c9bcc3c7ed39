"""An evaluation as a printed table, a markdown report and a PNG bar chart."""

from __future__ import annotations

import io

from fieldmill.evaluate import Evaluation, FieldScore
from fieldmill.records import COMPLIANT, FAILED, NONCOMPLIANT


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def headline(ev: Evaluation) -> list[tuple[str, str]]:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(ev.statuses.items()))
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(ev.reasons.items())) or "none"
    return [
        ("results", f"{ev.results} (run {', '.join(ev.run_ids)}; schema {', '.join(ev.schema_names)})"),
        ("gold", ev.gold),
        ("documents", f"{ev.documents} in the gold file ({statuses}); {ev.unmatched_results} results without gold"),
        ("compliance", f"{_pct(ev.compliance_rate)} of documents that reached the model "
                       f"({ev.statuses.get(COMPLIANT, 0)} compliant, {ev.statuses.get(NONCOMPLIANT, 0)} noncompliant, {ev.statuses.get(FAILED, 0)} failed)"),
        ("failure reasons", reasons),
        ("field accuracy", f"micro {ev.micro_accuracy:.1%}, macro {ev.macro_accuracy:.1%} over {len(ev.fields)} fields"),
    ]


_COLUMNS = ("field", "accuracy", "fill", "gold fill", "wrong when filled", "missed", "P / R / F1 (lists)")


def _row(f: FieldScore) -> tuple[str, ...]:
    prf = f"{_pct(f.precision)} / {_pct(f.recall)} / {_pct(f.f1)}" if f.is_list else ""
    return (f.path, _pct(f.accuracy), _pct(f.rate(f.filled)), _pct(f.rate(f.gold_filled)), _pct(f.rate(f.wrong_filled)), _pct(f.rate(f.missed)), prf)


def text_report(ev: Evaluation) -> str:
    lines = [f"{label:<16}{value}" for label, value in headline(ev)]
    rows = [_COLUMNS] + [_row(f) for f in ev.fields]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines.append("")
    for row in rows:
        lines.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip())
    return "\n".join(lines)


def markdown_report(ev: Evaluation, plot_link: str | None = None) -> str:
    out = ["# Extraction evaluation", ""]
    out += [f"- **{label}**: {value}" for label, value in headline(ev)]
    if plot_link:
        out += ["", f"![Per-field accuracy]({plot_link})"]
    out += ["", "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in _row(f)) + " |" for f in ev.fields]
    out += ["", "Accuracy: right cells / cells (a scalar field is one cell per document; a list field one per value in the union of gold and"
            " prediction). *Wrong when filled*: the prediction had a value that was not right; *missed*: empty while the gold had a value."
            " Documents without a compliant record count as empty predictions.", ""]
    return "\n".join(out)


def plot_png(ev: Evaluation) -> bytes:
    """Horizontal bars of per-field accuracy, worst at the top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores = sorted(ev.fields, key=lambda f: (f.accuracy, f.path), reverse=True)
    height = max(3.0, 0.22 * len(scores) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height))
    try:
        values = [f.accuracy for f in scores]
        colours = ["#2b8a3e" if v >= 0.9 else "#e8a33d" if v >= 0.5 else "#c92a2a" for v in values]
        ax.barh([f.path for f in scores], values, color=colours)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("accuracy")
        ax.set_title(f"{', '.join(ev.schema_names)}: {ev.documents} documents, compliance {_pct(ev.compliance_rate)}, "
                     f"micro {ev.micro_accuracy:.0%}, macro {ev.macro_accuracy:.0%}", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        sink = io.BytesIO()
        fig.savefig(sink, format="png", dpi=110)
        return sink.getvalue()
    finally:
        plt.close(fig)
