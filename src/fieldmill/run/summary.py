"""The few lines a person reads at the end of a run."""

from __future__ import annotations

from fieldmill.schema.records import COMPLIANT, FAILED, NONCOMPLIANT


def compliance_rate(counts: dict[str, int]) -> float | None:
    """Compliant share of the documents that reached the model (failed ones never did)."""
    reached = counts.get(COMPLIANT, 0) + counts.get(NONCOMPLIANT, 0)
    return counts.get(COMPLIANT, 0) / reached if reached else None


def print_summary(result) -> None:
    manifest = result.manifest
    counts = manifest.get("counts", {})
    rate = compliance_rate(counts)
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(manifest.get("failure_reasons", {}).items())) or "none"
    lines = [
        f"run {result.run_id}",
        f"  documents    {manifest.get('rows', 0)} in the run ({result.processed} processed now, {result.skipped} already done)",
        f"  compliant    {counts.get(COMPLIANT, 0)}",
        f"  noncompliant {counts.get(NONCOMPLIANT, 0)}",
        f"  failed       {counts.get(FAILED, 0)} (reasons: {reasons})",
        f"  compliance   {'n/a' if rate is None else f'{rate:.1%}'} of documents that reached the model"
        f" ({manifest.get('retried', 0)} retried after failing validation, {manifest.get('recovered_by_retry', 0)} of them made compliant)",
        f"  throughput   {result.docs_per_second:.2f} documents/s over {result.wall_s:.1f} s (model load included)",
        f"  output       {result.folder}",
    ]
    if getattr(result, "left", 0):
        lines.insert(2, f"  partial      {result.left} documents left by --limit: not complete, not in the current view; the same command continues")
    t = result.timings
    if t.get("extract_wall_s"):
        lines.insert(-1, f"  time         listing {t['list_s']:.1f} s, reading+decoding {t['read_s']:.1f} s (in tasks), model load {t['engine_load_s']:.1f} s,"
                         f" extraction {t['extract_wall_s']:.1f} s wall, writing {t['write_s']:.2f} s")
    if t.get("after_load_s") and result.processed:
        lines.insert(-1, f"  steady       {result.processed / t['after_load_s']:.3f} documents/s over {t['after_load_s']:.1f} s after the first worker's model was ready"
                         f" ({t['start_s']:.1f} s to start Ray, the worker and the model)")
    if manifest.get("cost") and result.processed:
        from fieldmill.run.cost import describe

        lines.insert(-1, f"  cost         {describe(manifest['cost'])}")
    if manifest.get("driver_peak_rss_bytes"):
        lines.insert(-1, f"  driver       peak memory {manifest['driver_peak_rss_bytes'] / 2**20:.0f} MiB")
    print("\n".join(lines), flush=True)
