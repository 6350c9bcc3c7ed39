"""Does the confidence tell the truth? Token probability, the capped combination, and a fitted calibration, on values never fitted on.

Input: labelled results, as pairs of a run's OUTPUT and its gold file (for example the
corpora `bench/realistic.py` and `bench/accuracy.py` leave under out/). Each pair is held out
in turn: the calibration is fitted on the other pairs (other kinds of documents, other
schemas) and judged on the held-out one, so every figure is on values the fit never saw:

* ECE: expected calibration error (10 bins) of the token probability, of the capped
  combination (`trust.combined` without a calibration) and of the fitted calibration;
* accept-unseen: the lowest threshold whose accepted values are >= 98% right on the fitting
  data, applied to the held-out values: the share accepted and the share of those right;
* >= 0.9: how often values with confidence >= 0.9 are right;
* inverted buckets: confidence buckets (>= 20 values) less accurate than a lower bucket.

    python bench/calibration.py --pair OUT GOLD [--pair OUT GOLD ...] [--write MODEL_DIR]
    python bench/calibration.py --work out/bench-realistic --model bundled [--write MODEL_DIR]
        [--held-out OUT GOLD ...]

With --held-out, the calibration fitted on every pair (and its threshold, chosen on them) is
also judged on results of another kind never fitted on (for example the built-in schemas'
synthetic documents that `bench/accuracy.py` leaves under out/).

With --write, the calibration fitted on every pair is written into MODEL_DIR (what
`fieldmill calibrate` does).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from fieldmill.calibration import accept_threshold as threshold_for
from fieldmill.calibration import accepted_share, expected_calibration_error, labelled_signals
from fieldmill.evaluate import DEFAULT_REL_TOL, EvalError
from fieldmill.extract.trust import CALIBRATION_FILE, combined, fit

def print_judged(name: str, scored: list[tuple[float, bool]], threshold: float) -> None:
    """One row of the never-fitted table: values, right, ECE, accepted at `threshold`, of them right, >= 0.9 right, inverted."""
    right = [r for _, r in scored]
    coverage, accuracy = accepted_share(scored, threshold)
    high = [r for c, r in scored if c >= 0.9]
    print(f"{name:<40} {len(scored):>6} {pct(sum(right) / len(right) if right else None):>7} "
          f"{expected_calibration_error(scored) or 0:>6.3f} {pct(coverage):>9} {pct(accuracy):>14} "
          f"{pct(sum(high) / len(high) if high else None):>12} {inverted(scored):>9}")


def inverted(scored: list[tuple[float, bool]]) -> int:
    edges = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99, 1.0000001)
    accuracies = []
    for low, high in zip(edges, edges[1:]):
        inside = [r for c, r in scored if low <= c < high]
        if len(inside) >= 20:
            accuracies.append(sum(inside) / len(inside))
    return sum(1 for i, a in enumerate(accuracies) if any(a < b - 1e-9 for b in accuracies[:i]))


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pair", nargs=2, action="append", default=[], metavar=("OUTPUT", "GOLD"))
    parser.add_argument("--work", default=None, help="a bench/realistic.py work folder: every KIND/corpus with its run of --model")
    parser.add_argument("--model", default="bundled")
    parser.add_argument("--write", default=None, help="write the calibration fitted on every pair into this model folder")
    parser.add_argument("--held-out", nargs=2, action="append", default=[], metavar=("OUTPUT", "GOLD"),
                        help="judge the calibration fitted on every pair on these results too (never fitted on)")
    args = parser.parse_args()
    pairs = [(Path(o), Path(g)) for o, g in args.pair]
    work_pairs: set[str] = set()
    if args.work:
        model = args.model.replace("/", "_").replace("+", "_")
        found = [(kind / model / "out", kind / "corpus" / "gold.jsonl") for kind in sorted(Path(args.work).iterdir()) if (kind / model / "out").is_dir()]
        pairs += found
        work_pairs = {str(out) for out, _ in found}
    data = {}
    for out, gold in pairs:
        try:
            data[f"{out}"] = labelled_signals(str(out), str(gold), DEFAULT_REL_TOL)
        except EvalError as exc:
            print(f"skipped {out}: {exc}")
    print(f"{sum(len(v) for v, _ in data.values())} judged values in {len(data)} labelled results")
    token, capped, fitted, rows = [], [], [], []
    work_fitted, work_accepted = [], []  # the --work kinds' held-out values, and those accepted at their fit's threshold
    for held, (values, right) in data.items():
        train_v = [v for name, (vs, _) in data.items() if name != held for v in vs]
        train_r = [r for name, (_, rs) in data.items() if name != held for r in rs]
        if not values or len(set(train_r)) < 2:
            continue
        calibration = fit(train_v, train_r)
        t = threshold_for([(calibration(v), r) for v, r in zip(train_v, train_r)])
        mine = [(calibration(v), r) for v, r in zip(values, right)]
        token += [(v.token_p, r) for v, r in zip(values, right)]
        capped += [(combined(v), r) for v, r in zip(values, right)]
        fitted += mine
        coverage, accuracy = accepted_share(mine, t)
        if held in work_pairs:
            work_fitted += mine
            work_accepted += [r for c, r in mine if c >= t]
        rows.append((Path(held).parts[-3] if len(Path(held).parts) >= 3 else held, len(values), sum(right) / len(values), t, coverage, accuracy))
    print(f"\n{'held out':<16} {'values':>6} {'right':>7} {'t':>6} {'accepted':>9} {'of them right':>14}")
    for name, n, rate, t, coverage, accuracy in rows:
        print(f"{name:<16} {n:>6} {pct(rate):>7} {t:>6.3f} {pct(coverage):>9} {pct(accuracy):>14}")
    print(f"\n{'confidence':<22} {'ECE':>6} {'>=0.9 right':>12} {'inverted buckets':>17}")
    for label, scored in (("token probability", token), ("capped (no calibration)", capped), ("fitted, held out", fitted)):
        high = [r for c, r in scored if c >= 0.9]
        print(f"{label:<22} {expected_calibration_error(scored):>6.3f} {pct(sum(high) / len(high) if high else None):>12} {inverted(scored):>17}")
    if work_fitted:
        high = [r for c, r in work_fitted if c >= 0.9]
        print(f"\n--work kinds, each held out: {len(work_fitted)} values, ECE {expected_calibration_error(work_fitted):.3f}, "
              f"accepted {pct(len(work_accepted) / len(work_fitted))}, of them right {pct(sum(work_accepted) / len(work_accepted) if work_accepted else None)}, "
              f">= 0.9 right {pct(sum(high) / len(high) if high else None)}, inverted buckets {inverted(work_fitted)}")
    every_v = [v for vs, _ in data.values() for v in vs]
    every_r = [r for _, rs in data.values() for r in rs]
    calibration = fit(every_v, every_r)
    if args.held_out:
        t = threshold_for([(calibration(v), r) for v, r in zip(every_v, every_r)])
        print(f"\nfitted on all {len(every_v)} values (threshold {t:.3f}), judged on results never fitted on:")
        print(f"{'held out':<40} {'values':>6} {'right':>7} {'ECE':>6} {'accepted':>9} {'of them right':>14} {'>=0.9 right':>12} {'inverted':>9}")
        pooled: list[tuple[float, bool]] = []
        for out, gold in args.held_out:
            values, right = labelled_signals(out, gold, DEFAULT_REL_TOL)
            scored = [(calibration(v), r) for v, r in zip(values, right)]
            pooled += scored
            print_judged(out[-40:], scored, t)
        if len(args.held_out) > 1:
            print_judged("all of them, pooled", pooled, t)
    if args.write:
        (Path(args.write) / CALIBRATION_FILE).write_text(json.dumps(calibration.to_json(), indent=2) + "\n")
        print(f"\ncalibration fitted on {len(every_v)} values written to {Path(args.write) / CALIBRATION_FILE}")


if __name__ == "__main__":
    main()
