"""An evaluation as a printed table, a markdown report and a PNG bar chart."""

from __future__ import annotations

import io

from fieldmill.evaluate import Evaluation, FieldScore
from fieldmill.schema.records import COMPLIANT, FAILED, NONCOMPLIANT


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


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    rows = [header] + rows
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


def _markdown_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]


_CURVE = ("accept confidence >=", "coverage", "accuracy", "coverage (and grounded)", "accuracy (and grounded)")


def calibration_tables(ev: Evaluation) -> list[tuple[str, tuple[str, ...], list[tuple[str, ...]]]]:
    """(title, header, rows) of the calibration tables; none when the run has no confidence."""
    length = [(f"{pages} pages", str(docs), _pct1(acc)) for pages, docs, acc in ev.length_table()]
    tables = [("Accuracy by document length", ("length", "documents", "micro accuracy"), length)] if len(length) > 1 else []
    cal = ev.calibration
    if cal is None:
        return tables
    buckets = [(f"{low:.2f}-{high:.2f}", str(n), _pct1(acc)) for low, high, n, acc in cal.buckets()]
    grounding = [(kind, str(n), _pct1(acc)) for kind, (n, acc) in cal.by_grounding().items()]
    plain, grounded = cal.curve(), cal.curve(require_grounded=True)
    curve = [(f"{t:g}", _pct1(c), _pct1(a), _pct1(gc), _pct1(ga)) for (t, c, a), (_, gc, ga) in zip(plain, grounded)]
    wrong, right = cal.flagged()
    flagged = [("wrong values flagged", _pct1(wrong)), ("right values flagged", _pct1(right))]
    ece = cal.ece()
    reliability = [(f"{low:.2f}-{high:.2f}", str(n), _pct1(acc), "" if mean is None else f"{mean:.3f}") for low, high, n, acc, mean in cal.reliability()]
    return tables + [
        (f"Accuracy by confidence ({len(cal.scored)} values)", ("confidence", "values", "accuracy"), buckets),
        (f"Reliability (expected calibration error {'n/a' if ece is None else f'{ece:.3f}'})", ("confidence", "values", "accuracy", "mean confidence"),
         reliability),
        ("Accuracy by grounding (filled values)", ("evidence", "values", "accuracy"), grounding),
        ("Coverage and accuracy when values above a threshold are accepted unseen", _CURVE, curve),
        ("A review at confidence < 0.9 or ungrounded", ("", "share"), flagged),
    ]


def _pct1(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def text_report(ev: Evaluation) -> str:
    lines = [f"{label:<16}{value}" for label, value in headline(ev)]
    lines += [""] + _table(_COLUMNS, [_row(f) for f in ev.fields])
    for title, header, rows in calibration_tables(ev):
        lines += ["", title] + _table(header, rows)
    return "\n".join(lines)


def markdown_report(ev: Evaluation, plot_link: str | None = None, curve_link: str | None = None, length_link: str | None = None) -> str:
    out = ["# Extraction evaluation", ""]
    out += [f"- **{label}**: {value}" for label, value in headline(ev)]
    if plot_link:
        out += ["", f"![Per-field accuracy]({plot_link})"]
    out += [""] + _markdown_table(_COLUMNS, [_row(f) for f in ev.fields])
    for title, header, rows in calibration_tables(ev):
        out += ["", f"## {title}", ""] + _markdown_table(header, rows)
    if curve_link:
        out += ["", f"![Coverage and accuracy]({curve_link})"]
    if length_link:
        out += ["", f"![Accuracy against document length]({length_link})"]
    out += ["", "Accuracy: right cells / cells (a scalar field is one cell per document; a list field one per value in the union of gold and"
            " prediction). *Wrong when filled*: the prediction had a value that was not right; *missed*: empty while the gold had a value."
            " A noncompliant record is scored with the values it kept; a failed document counts as an empty prediction.", ""]
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
        return _png(fig)
    finally:
        plt.close(fig)


def curve_png(ev: Evaluation) -> bytes | None:
    """Accuracy of the accepted values against the share accepted, one point per confidence threshold."""
    if ev.calibration is None:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    try:
        for require, label in ((False, "confidence >= t"), (True, "confidence >= t and grounded")):
            points = [(c, a, t) for t, c, a in ev.calibration.curve(require) if a is not None]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=label)
            if not require:
                for c, a, t in points:
                    ax.annotate(f"{t:g}", (c, a), textcoords="offset points", xytext=(4, -10), fontsize=7)
        ax.set_xlabel("coverage: share of values accepted without review")
        ax.set_ylabel("accuracy of the accepted values")
        ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        ax.set_title(f"{', '.join(ev.schema_names)}: {len(ev.calibration.scored)} values", fontsize=9)
        return _png(fig)
    finally:
        plt.close(fig)


def _png(fig) -> bytes:
    fig.tight_layout()
    sink = io.BytesIO()
    fig.savefig(sink, format="png", dpi=110)
    return sink.getvalue()


def length_png(ev: Evaluation) -> bytes | None:
    """Micro accuracy against document length (pages), one point per length bucket."""
    table = ev.length_table()
    if not table:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        labels = [pages for pages, _, _ in table]
        ax.plot(labels, [acc for _, _, acc in table], marker="o")
        for x, (_, docs, acc) in enumerate(table):
            ax.annotate(f"{docs} docs", (x, acc), textcoords="offset points", xytext=(0, 6), ha="center", fontsize=7)
        ax.set_ylim(0, 1.02)
        ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
        ax.set_xlabel("pages")
        ax.set_ylabel("micro accuracy")
        ax.grid(alpha=0.3)
        ax.set_title(f"{', '.join(ev.schema_names)}: accuracy against document length", fontsize=9)
        return _png(fig)
    finally:
        plt.close(fig)
