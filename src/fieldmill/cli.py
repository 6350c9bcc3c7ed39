"""The `fieldmill` command line.

Imports here stay light (argparse and the standard library): engines, Ray and
pyarrow load inside the command that needs them, so `fieldmill --help` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

# Exit codes when a run cannot proceed (0: every listed document has its row).
EXIT_SCHEMA = 2
EXIT_MISSING_INPUT = 3
EXIT_CREDENTIALS = 4
EXIT_MODEL = 5
EXIT_STORAGE = 6
EXIT_METRICS = 7
EXIT_BUSY = 8  # another driver holds the run's lease
EXIT_WORKER = 9  # an extraction worker died after the run had started producing rows



def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from fieldmill import storage

    try:
        return args.handler(args)
    except Fatal as exc:
        print(f"fieldmill: error: {exc.message}", file=sys.stderr)
        return exc.code
    except storage.NoCredentials as exc:  # any command on S3 without credentials: one line, not a traceback
        print(f"fieldmill: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_CREDENTIALS
    except storage.MissingInput as exc:
        print(f"fieldmill: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_MISSING_INPUT
    except storage.StorageError as exc:
        print(f"fieldmill: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_STORAGE
    except KeyboardInterrupt:
        print("fieldmill: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


class Fatal(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = " ".join(str(message).split())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldmill", description="Turn documents into typed, validated records with a small language model.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="extract records from a folder or S3 prefix into Parquet")
    from fieldmill.run.config import RunConfig
    from fieldmill.run.options import add_options

    # Every setting of a run is a field of RunConfig (and of the engine and OCR settings it holds): its option,
    # default and help come from there.
    run.set_defaults(config_paths=add_options(run, RunConfig))
    run.add_argument("--metrics-port", type=int, default=_env("FIELDMILL_METRICS_PORT", int), help="serve Prometheus /metrics on this port while the run goes on")
    run.add_argument("--pushgateway", default=os.environ.get("FIELDMILL_PUSHGATEWAY"), help="push the run's metrics to this Prometheus Pushgateway at the end (URL)")
    run.add_argument("--metrics-job", default=os.environ.get("FIELDMILL_METRICS_JOB", "fieldmill"), help="job label of the pushed metrics (default: fieldmill)")
    run.set_defaults(handler=cmd_run)

    schema = commands.add_parser("schema", help="print the hardened JSON schema, the decoding constraint size and the token budget")
    schema.add_argument("schema", metavar="SCHEMA")
    schema.add_argument("--regex", action="store_true", help="also print the decoding regex")
    schema.set_defaults(handler=cmd_schema)

    synth = commands.add_parser("synth", help="write synthetic documents with their gold records (gold.jsonl)")
    synth.add_argument("--schema", required=True,
                       help="built-in schema with a generator; 'generic': documents of many kinds, each with its own JSON Schema in its gold line;"
                            " 'realistic': rendered PDFs (receipts, invoices, statements, letters, agreements, clinic notes, forms) with users' schemas")
    synth.add_argument("--count", type=int, required=True)
    synth.add_argument("--output", required=True, help="folder or s3:// prefix; documents go under docs/, answers in gold.jsonl")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--formats", default=None,
                       help="comma-separated, used in turn, from txt,html,pdf and the scans png (pages as one image) and scan-pdf (page images, no"
                            " text layer); default txt,html,pdf (realistic: pdf, which also takes png,scan-pdf)")
    synth.add_argument("--pages", default=None, help="long documents of N or LOW-HIGH pages, the facts scattered through filler (legal_contract, medical_record)")
    synth.add_argument("--kind", default=None, help="realistic: only this kind of document (receipt, invoice, statement, letter, agreement, clinical_note, form)")
    synth.add_argument("--one-schema", action="store_true", help="realistic: one user schema for the whole corpus, written to OUTPUT/schema.json (needs --kind)")
    synth.add_argument("--held-out", action="store_true", help="realistic: only the layout templates that training corpora never use")
    synth.add_argument("--look-alikes", action="store_true",
                       help="realistic: schemas that ask look-alike facts apart (a job title without the name, one of two addresses, one of "
                            "three dates) and list fields out of the document's order more often: for training corpora")
    synth.set_defaults(handler=cmd_synth)

    results = commands.add_parser("results", help="the current view: one row per document across runs, the newest completed run winning")
    results.add_argument("output", metavar="OUTPUT", help="the --output of the runs (local folder or s3://)")
    results.add_argument("--to", default=None, help="write the view as Parquet parts here (local folder or s3://)")
    results.add_argument("--schema", default=None, help="the schema whose view this is, where OUTPUT holds runs of several (its name or the --schema of its runs)")
    results.set_defaults(handler=cmd_results)

    review = commands.add_parser("review", help="list the documents whose values a person should check (low confidence, ungrounded, broken rules), as a file to correct")
    review.add_argument("output", metavar="OUTPUT", help="the --output of the runs (its current view), or OUTPUT/run_id=ID")
    review.add_argument("--below", type=_fraction, default=0.9, help="flag fields whose confidence is below this (default 0.9)")
    review.add_argument("--ungrounded", action="store_true", help="also flag filled values that the document states nowhere")
    review.add_argument("--schema", default=None, help="the schema whose current view to review, where OUTPUT holds runs of several")
    review.add_argument("--to", required=True, help="review.jsonl (one {doc_uri, record, check} per document: correct `record`, then give the file to"
                                                   " `fieldmill finetune --gold`) or review.csv; local or s3://")
    review.set_defaults(handler=cmd_review)

    monthly = commands.add_parser("monthly", help="create this month's RayJob once (deterministic name), wait for it, exit with its result (for the CronJob)")
    monthly.add_argument("--template", required=True, help="RayJob manifest with ${MONTH}, ${NAME}, ${SCHEMA} and parameter placeholders")
    monthly.add_argument("--schema", default=os.environ.get("SCHEMA"), required="SCHEMA" not in os.environ, help="schema of the run (default $SCHEMA)")
    monthly.add_argument("--month", default=os.environ.get("MONTH") or None, help="YYYY-MM (default: from --month-offset)")
    monthly.add_argument("--month-offset", type=int, default=int(os.environ.get("MONTH_OFFSET", -1)),
                         help="months from the current one, in UTC (default -1: the month that just ended)")
    monthly.add_argument("--namespace", default=None, help="default: the pod's namespace")
    monthly.add_argument("--api-server", default=None, help="Kubernetes API URL (default: the in-cluster service)")
    monthly.add_argument("--poll-seconds", type=float, default=30.0)
    monthly.add_argument("--timeout", type=float, default=7 * 86400.0, help="give up waiting after this many seconds")
    monthly.set_defaults(handler=cmd_monthly)

    tune = commands.add_parser("finetune", help="fine-tune a LoRA adapter (and a merged model folder that `run --model` serves) on labelled documents")
    tune.add_argument("--schema", action="append", default=[],
                      help="schema of the next --data/--gold pair (repeat for several schemas); 'from-gold' when every gold line carries its own \"schema\" (fieldmill synth --schema generic)")
    tune.add_argument("--data", action="append", default=[],
                      help="documents (folder or s3://) for the --gold of the same position; omit when the gold lines carry doc_uri (corrections)")
    tune.add_argument("--gold", action="append", default=[],
                      help="gold.jsonl: {\"name\": path, \"record\": ...} lines (fieldmill synth), or corrections {\"doc_uri\": ..., \"record\": ...}")
    tune.add_argument("--plan", default=None, help="JSON or YAML file: {sources: [{schema, data, gold}, ...]} instead of the repeated flags")
    tune.add_argument("--output", required=True, help="model folder to write: adapter/, merged weights, fieldmill-model.json, README.md")
    tune.add_argument("--base", default="bundled-base", help="model to start from: bundled-base (pretrained Gemma 3 270M), bundled-finetuned, a model folder, an HF folder or s3://")
    tune.add_argument("--epochs", type=float, default=1.0)
    tune.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    tune.add_argument("--lr", type=float, default=2e-4)
    tune.add_argument("--lora-rank", type=int, default=16)
    tune.add_argument("--list-weight", type=float, default=4.0,
                      help="weight of the answer tokens that decide a list's length (where an item ends and the next begins, or the list ends);"
                           " 1 = every answer token alike (default: 4)")
    tune.add_argument("--init-adapter", default=None,
                      help="continue training this LoRA adapter (a folder, s3://, or 'bundled': the shipped default's) instead of a fresh one")
    tune.add_argument("--train-layers", type=int, default=None,
                      help="train LoRA on the top N decoder layers only (default: all); the backward pass stops below them, so a step costs less")
    tune.add_argument("--grad-accum", type=int, default=1, help="examples per optimizer step")
    tune.add_argument("--dtype", choices=("bfloat16", "float32"), default=None,
                      help="what the model trains in (default: bfloat16 on a GPU or a CPU with bfloat16 instructions, float32 on other CPUs)")
    tune.add_argument("--max-seq-tokens", type=int, default=4096, help="longer (prompt + answer) pairs are skipped and counted")
    tune.add_argument("--eval-fraction", type=float, default=0.1, help="share of the documents held out and scored at the end (default 0.1; 0 = none)")
    tune.add_argument("--variant-share", type=float, default=0.5, help="share of pairs shown with a varied schema (subset, renamed, shuffled fields)")
    tune.add_argument("--seed", type=int, default=0)
    tune.add_argument("--prompt-format", default="fields-v3", choices=("fields-v1", "fields-v2", "fields-v3"),
                      help="prompt format the model learns (written into its card; `run` follows it): fields-v3 (default) lets each field's description"
                           " decide its form; fields-v2 rewrites every date as ISO")
    tune.add_argument("--checkpoint-every", type=int, default=20, help="steps between checkpoints (a killed training resumes from the last)")
    tune.add_argument("--resume", action="store_true", help="continue the training whose checkpoint is in --output")
    tune.add_argument("--name", default=None, help="model name in its card (default: the folder's name)")
    tune.add_argument("--ray-address", default=None, help="train with Ray Train on this cluster ('auto', or a head address)")
    tune.add_argument("--workers", type=int, default=1, help="data-parallel Ray Train workers (more than 1 uses Ray Train)")
    tune.add_argument("--gpus-per-worker", type=float, default=0.0, help="GPUs per Ray Train worker (default 0: CPU)")
    tune.add_argument("--price-per-hour", type=float, default=_env("FIELDMILL_PRICE_PER_HOUR", float),
                      help="price of one worker-hour (a GPU, or a CPU machine): the summary and the card then give the training's cost")
    tune.set_defaults(handler=cmd_finetune)

    evaluate = commands.add_parser("eval", help="compare a run's records with gold records: compliance and per-field accuracy")
    evaluate.add_argument("--results", required=True, help="OUTPUT (its newest completed run) or OUTPUT/run_id=ID")
    evaluate.add_argument("--gold", required=True, help="gold.jsonl: one {\"name\": relative path, \"record\": {...}} per line")
    evaluate.add_argument("--schema", default=None, help="the schema whose current view to score, where RESULTS holds runs of several")
    evaluate.add_argument("--report", default=None, help="also write a markdown report here (local path or s3://)")
    evaluate.add_argument("--plot", default=None, help="also write a PNG bar chart of per-field accuracy here (embedded in --report)")
    evaluate.add_argument("--length-plot", default=None, help="also write micro accuracy against document length (pages) as a PNG here")
    evaluate.add_argument("--curve", default=None, help="also write the coverage/accuracy curve (values accepted above a confidence threshold) as a PNG here")
    evaluate.add_argument("--rel-tol", type=float, default=None, help="relative tolerance for float fields (default: 0.001)")
    evaluate.add_argument("--min-compliance", type=_fraction, default=None,
                          help="exit with status 1 when the compliance rate (of documents that reached the model) is below this, e.g. 0.95 or 95%%")
    evaluate.set_defaults(handler=cmd_eval)

    calibrate = commands.add_parser("calibrate", help="fit the confidence calibration of a model on labelled results (a run's output and its gold or corrections) and store it with the model")
    calibrate.add_argument("--results", required=True, action="append",
                           help="OUTPUT (its current view) or OUTPUT/run_id=ID, made by `run` with this model; repeat with --gold for several schemas")
    calibrate.add_argument("--gold", required=True, action="append",
                           help="gold.jsonl (or `review`'s corrections) of the --results before it: one {\"name\": ..., \"record\": {...}} per line")
    calibrate.add_argument("--model", required=True, help="the model folder (or its LoRA adapter folder) the results came from; the calibration is written into it")
    calibrate.add_argument("--rel-tol", type=float, default=None, help="relative tolerance for float fields (default: 0.001)")
    calibrate.set_defaults(handler=cmd_calibrate)
    return parser


def _env(name: str, cast=str):
    """An optional setting from the environment (unset or empty: None)."""
    value = os.environ.get(name)
    return cast(value) if value else None


def _fraction(text: str) -> float:
    value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction between 0 and 1 (or a percentage)")
    return value


def _version() -> str:
    from fieldmill import __version__

    return __version__


def _load_schema(spec: str):
    from fieldmill.schema.hardening import SchemaError
    from fieldmill.schema.load import load_schema

    try:
        return load_schema(spec)
    except SchemaError as exc:
        raise Fatal(EXIT_SCHEMA, str(exc)) from None


def cmd_schema(args) -> int:
    schema = _load_schema(args.schema)
    print(json.dumps(schema.hardened, indent=2, ensure_ascii=False))
    print(
        f"\nschema {schema.name} version {schema.hash}: longest record {schema.constraint.max_output_bytes} bytes"
        f" -> max_tokens {schema.constraint.max_output_tokens}; constraint regex {len(schema.constraint.regex)} characters",
    )
    policy = schema.policy
    print(f"policy: recursive definitions unrolled {policy.max_recursion} levels (lists inside them at most {policy.recursive_array_max_items} items"
          f" unless the schema says); strings without maxLength at most {policy.string_max_length} characters, lists without maxItems"
          f" at most {policy.array_max_items}; untyped properties are scalar JSON values")
    if schema.constraint.grammar:
        print("the schema pairs patterns with lengths: decoding follows a Lark grammar that intersects them (guidance backend);"
              " the regex above carries the lengths only")
    if schema.validator is not None:
        print("records are also checked against the schema file as written (JSON Schema validator)")
    if args.regex:
        print(schema.constraint.regex)
    return 0


def cmd_synth(args) -> int:
    from fieldmill import synth

    formats = tuple(f.strip() for f in (args.formats or ("pdf" if args.schema == synth.REALISTIC else ",".join(synth.FORMATS))).split(",") if f.strip())
    unknown = set(formats) - set(synth.ALL_FORMATS)
    if unknown or not formats:
        raise Fatal(2, f"unknown formats {sorted(unknown)}; choose from {', '.join(synth.ALL_FORMATS)}")
    pages = None
    if args.pages:
        try:
            low, _, high = args.pages.partition("-")
            pages = (int(low), int(high or low))
        except ValueError:
            raise Fatal(2, f"--pages {args.pages!r}: give N or LOW-HIGH") from None
    try:
        if args.schema == synth.REALISTIC:
            lines = synth.write_realistic(args.count, args.output, args.seed, held_out=args.held_out, kind=args.kind, one_schema=args.one_schema,
                                          formats=formats, look_alikes=args.look_alikes)
        elif args.kind or args.one_schema or args.held_out or args.look_alikes:
            raise ValueError("--kind, --one-schema, --held-out and --look-alikes are options of --schema realistic")
        else:
            lines = synth.write_corpus(args.schema, args.count, args.output, seed=args.seed, formats=formats, pages=pages)
    except ValueError as exc:
        raise Fatal(EXIT_SCHEMA, str(exc)) from None
    print(f"wrote {len(lines)} documents under {args.output.rstrip('/')}/{synth.DOCS}/ and their answers in {args.output.rstrip('/')}/{synth.GOLD}")
    return 0


def cmd_results(args) -> int:
    from fieldmill.run.store import RunStore

    view = RunStore(args.output).write_view(args.to, args.schema)  # storage errors: one line and their exit code (main)
    if not view.runs:
        raise Fatal(EXIT_MISSING_INPUT, f"no completed runs under {args.output}")
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(view.counts.items()))
    print(f"documents    {view.rows} ({statuses})")
    print("runs         " + ", ".join(f"{run} ({rows} rows)" for run, rows in view.runs))
    if view.skipped_runs:
        print("unfinished   " + ", ".join(view.skipped_runs) + " (not in the view until they complete)")
    if args.to:
        print(f"written      {len(view.parts)} parts under {view.location} (readers of {args.to} see the new view from now on)")
    return 0


def cmd_review(args) -> int:
    from fieldmill.run.review import ReviewSummary, review_lines, write_review

    summary = ReviewSummary()
    lines = list(review_lines(args.output, args.below, args.ungrounded, summary, schema=args.schema))  # storage errors: one line (main)
    write_review(lines, args.to)
    share = summary.flagged / summary.documents if summary.documents else 0.0
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(summary.why.items())) or "none"
    print(f"review       {summary.flagged} of {summary.documents} documents ({share:.1%}) need a look: {summary.fields} values ({reasons})")
    print(f"written      {args.to}")
    return 0


def cmd_monthly(args) -> int:
    from fieldmill.run.monthly import MonthlyError, main as monthly_main

    try:
        return monthly_main(args)
    except MonthlyError as exc:
        raise Fatal(1, str(exc)) from None


def cmd_eval(args) -> int:
    import posixpath

    from fieldmill import storage
    from fieldmill.eval_report import curve_png, length_png, markdown_report, plot_png, text_report
    from fieldmill.evaluate import DEFAULT_REL_TOL, EvalError, evaluate

    try:
        ev = evaluate(args.results, args.gold, rel_tol=DEFAULT_REL_TOL if args.rel_tol is None else args.rel_tol, schema=args.schema)
    except EvalError as exc:
        raise Fatal(EXIT_MISSING_INPUT, str(exc)) from None
    print(text_report(ev), flush=True)
    if args.plot:
        storage.write_bytes(args.plot, plot_png(ev))
        print(f"\nplot written to {args.plot}")
    curve = curve_png(ev) if args.curve else None
    if curve is not None:
        storage.write_bytes(args.curve, curve)
        print(f"curve written to {args.curve}")
    by_length = length_png(ev) if args.length_plot else None
    if by_length is not None:
        storage.write_bytes(args.length_plot, by_length)
        print(f"accuracy against length written to {args.length_plot}")
    if args.report:
        def link(target: str | None) -> str | None:
            if not target:
                return None
            if storage.is_s3(target) != storage.is_s3(args.report):
                return target
            return posixpath.relpath(storage.normalise_root(target), posixpath.dirname(storage.normalise_root(args.report)))

        storage.write_bytes(args.report, markdown_report(ev, link(args.plot), link(args.curve) if curve is not None else None,
                                                         link(args.length_plot) if by_length is not None else None).encode())
        print(f"report written to {args.report}")
    rate = ev.compliance_rate
    if args.min_compliance is not None and (rate is None or rate < args.min_compliance):
        shown = "n/a" if rate is None else f"{rate:.1%}"
        print(f"fieldmill: compliance {shown} is below --min-compliance {args.min_compliance:.1%}", file=sys.stderr)
        return 1
    return 0


def cmd_calibrate(args) -> int:
    import json
    from pathlib import Path

    from fieldmill.calibration import ACCEPT_TARGET, accept_threshold, accepted_share, expected_calibration_error, labelled_signals
    from fieldmill.evaluate import DEFAULT_REL_TOL, EvalError
    from fieldmill.extract.trust import CALIBRATION_FILE, combined, fit

    folder = Path(args.model)
    if not ((folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()):
        raise Fatal(EXIT_MISSING_INPUT, f"{folder} is not a model folder or a LoRA adapter folder")
    if len(args.results) != len(args.gold):
        raise Fatal(2, "give one --gold per --results")
    values, right = [], []
    for results, gold in zip(args.results, args.gold):
        try:
            more, judged = labelled_signals(results, gold, DEFAULT_REL_TOL if args.rel_tol is None else args.rel_tol)
        except EvalError as exc:
            raise Fatal(EXIT_MISSING_INPUT, str(exc)) from None
        values += more
        right += judged
    if len(values) < 20 or all(right) or not any(right):
        raise Fatal(2, f"{len(values)} judged values ({sum(right)} right): a calibration needs at least 20, some right and some wrong")
    calibration = fit(values, right)
    before = expected_calibration_error([(combined(v), r) for v, r in zip(values, right)])
    after = expected_calibration_error([(calibration(v), r) for v, r in zip(values, right)])
    (folder / CALIBRATION_FILE).write_text(json.dumps(calibration.to_json(), indent=2) + "\n")
    print(f"calibration  fitted on {len(values)} values ({sum(right)} right), written to {folder / CALIBRATION_FILE}")
    print(f"ECE          {before:.3f} uncalibrated -> {after:.3f} on the fitting data (measure held-out data with `eval`)")
    scored = [(calibration(v), r) for v, r in zip(values, right)]
    threshold = accept_threshold(scored)
    coverage, right_share = accepted_share(scored, threshold)
    if right_share is not None:
        print(f"accept       confidence >= {threshold:.3f}: {coverage:.1%} of these values, {right_share:.1%} of them right "
              f"(review the rest: `fieldmill review OUTPUT --below {threshold:.3f}`)")
    else:
        print(f"accept       no threshold leaves {ACCEPT_TARGET:.0%} of the accepted values right: review every value")
    return 0


def _finetune_sources(args):
    from fieldmill.finetune import FROM_GOLD, Source

    if args.plan:
        from fieldmill import storage

        import yaml

        try:
            plan = yaml.safe_load(storage.read_bytes(args.plan).decode("utf-8"))
            return tuple(Source(schema=s.get("schema", FROM_GOLD), gold=s["gold"], data=s.get("data")) for s in plan["sources"])
        except (storage.StorageError, yaml.YAMLError, KeyError, TypeError) as exc:
            raise Fatal(2, f"cannot read plan {args.plan}: expected {{sources: [{{schema, gold, data}}]}} ({type(exc).__name__}: {exc})") from None
    if not args.schema or len(args.schema) != len(args.gold):
        raise Fatal(2, "give one --gold per --schema (or a --plan file)")
    if args.data and len(args.data) != len(args.schema):
        raise Fatal(2, "give one --data per --schema, or none when every gold line names its doc_uri")
    data = args.data or [None] * len(args.schema)
    return tuple(Source(schema=s, gold=g, data=d) for s, g, d in zip(args.schema, args.gold, data))


def finetune_plan(args):
    """The `FinetunePlan` that `fieldmill finetune` ARGS describe (sources checked, schemas loaded)."""
    sources = _finetune_sources(args)
    from fieldmill.finetune import FROM_GOLD, FinetunePlan, TrainConfig

    for source in sources:
        if source.schema != FROM_GOLD:
            _load_schema(source.schema)
    if not 0 <= args.eval_fraction < 1:
        raise Fatal(2, "--eval-fraction must be in [0, 1)")
    return FinetunePlan(
        sources=sources, output=args.output, base=args.base,
        train=TrainConfig(epochs=args.epochs, max_steps=args.max_steps, lr=args.lr, lora_rank=args.lora_rank, lora_alpha=2 * args.lora_rank,
                          grad_accum=args.grad_accum, seed=args.seed, checkpoint_every=args.checkpoint_every, list_weight=args.list_weight,
                          train_layers=args.train_layers, dtype=args.dtype),
        max_seq_tokens=args.max_seq_tokens, eval_fraction=args.eval_fraction, variant_share=args.variant_share, resume=args.resume,
        prompt_format=args.prompt_format,
        ray_address=args.ray_address, workers=args.workers, gpus_per_worker=args.gpus_per_worker, name=args.name, price_per_hour=args.price_per_hour,
        init_adapter=args.init_adapter,
    )


def cmd_finetune(args) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s fieldmill %(message)s", stream=sys.stderr)
    plan = finetune_plan(args)
    from fieldmill.finetune import DataError, TrainError, env_threads, finetune
    from fieldmill.finetune.report import evaluate_held_out, print_finetune_summary
    from fieldmill.model.source import ModelError

    env_threads()
    try:
        result = finetune(plan)
    except DataError as exc:
        raise Fatal(EXIT_MISSING_INPUT, str(exc)) from None
    except (TrainError, ModelError) as exc:
        raise Fatal(EXIT_MODEL, str(exc)) from None
    if result.held_out:
        evaluate_held_out(result)
    print_finetune_summary(result)
    return 0


def cmd_run(args) -> int:
    import logging

    from pydantic import ValidationError

    from fieldmill.run.config import RunConfig
    from fieldmill.run.options import settings
    from fieldmill.model.source import ModelError
    from fieldmill.storage import MissingInput, NoCredentials, StorageError
    from fieldmill.run.store import LeaseHeld

    logging.basicConfig(level=logging.INFO, format="%(asctime)s fieldmill %(message)s", stream=sys.stderr)
    schema = _load_schema(args.schema_spec)  # one-line error before anything starts
    try:
        config = RunConfig.model_validate(settings(args, args.config_paths))
    except ValidationError as exc:
        raise Fatal(2, "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())) from None
    _check_backend(config.extraction.engine.backend, schema)

    from fieldmill.run import executor as pipeline
    from fieldmill.run.metrics import RunMetrics
    from fieldmill.run.summary import print_summary

    # Metrics cost a pass over a resumed run's parts: only when someone reads them.
    metrics = RunMetrics(job=args.metrics_job) if args.metrics_port is not None or args.pushgateway else None
    if args.metrics_port is not None:
        try:
            metrics.serve(args.metrics_port)
        except OSError as exc:
            raise Fatal(2, f"cannot serve metrics on port {args.metrics_port}: {exc}") from None
    succeeded = False
    try:
        result = pipeline.run(config, metrics=metrics)
        succeeded = True
    except MissingInput as exc:
        raise Fatal(EXIT_MISSING_INPUT, str(exc)) from None
    except NoCredentials as exc:
        raise Fatal(EXIT_CREDENTIALS, str(exc)) from None
    except ModelError as exc:
        raise Fatal(EXIT_MODEL, str(exc)) from None
    except LeaseHeld as exc:
        raise Fatal(EXIT_BUSY, str(exc)) from None
    except StorageError as exc:
        raise Fatal(EXIT_STORAGE, f"{exc}; the parts written so far are kept: run the same command again to resume") from None
    except pipeline.WorkerDied as exc:
        raise Fatal(EXIT_WORKER, f"an extraction worker died during the run ({exc}); the rows written so far are kept: "
                                 "run the same command again to resume (if it keeps dying, look for memory limits or engine errors in the worker's log)") from None
    except Exception as exc:
        if _is_model_failure(exc):
            raise Fatal(EXIT_MODEL, f"the model cannot load: {_root_cause(exc)}") from None
        raise
    finally:
        pushed = _finish_metrics(metrics, succeeded, args.pushgateway)
    print_summary(result)
    if not pushed:
        raise Fatal(EXIT_METRICS, f"the results are complete, but the metrics could not be pushed to {args.pushgateway}; run the same command again to push them")
    return 0


# outlines-core builds a token index for the whole regex up front. Measured on a 2-core CPU with Gemma's
# 262k-token vocabulary (bench/backends.py): a 4-field receipt schema (a 213-character regex) took 116 s;
# the built-in 50-field schemas did not finish in 15 minutes. Past this size it is refused, not left to hang.
OUTLINES_MAX_REGEX = int(os.environ.get("FIELDMILL_OUTLINES_MAX_REGEX", 256))


def _check_backend(backend: str, schema) -> None:
    size = len(schema.constraint.regex)
    if backend == "outlines" and size > OUTLINES_MAX_REGEX:
        raise Fatal(2, f"--backend outlines cannot serve schema {schema.name}: its constraint is a {size}-character regex, and outlines-core "
                       f"needs minutes for a 213-character one (116 s measured) and more than 15 for the built-in schemas. Use --backend guidance "
                       f"(the default) or xgrammar; FIELDMILL_OUTLINES_MAX_REGEX raises this limit ({OUTLINES_MAX_REGEX})")


def _finish_metrics(metrics, succeeded: bool, gateway: str | None) -> bool:
    """Close the run's metrics and push them; False when the push failed."""
    if metrics is None:
        return True
    metrics.finish(succeeded)
    if not gateway:
        return True
    try:
        metrics.push(gateway)
        return True
    except OSError as exc:
        print(f"fieldmill: warning: cannot push metrics to {gateway}: {exc}", file=sys.stderr)
        return False


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def _is_model_failure(exc: BaseException) -> bool:
    """An actor that died while building its engine (Ray wraps the original error)."""
    text = f"{type(exc).__name__} {exc}"
    return any(marker in text for marker in ("ModelError", "ContextTooSmall", "Engine core initialization failed", "ActorDiedError", "RayActorError"))


if __name__ == "__main__":
    sys.exit(main())
