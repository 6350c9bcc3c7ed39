"""`fieldmill run`'s options are RunConfig's fields: one default and one help text, in one place."""

import argparse

import pytest

from fieldmill.run.config import RunConfig
from fieldmill.run.options import add_options, settings


def parse(argv, monkeypatch=None, **env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    parser = argparse.ArgumentParser(exit_on_error=False)
    paths = add_options(parser, RunConfig)
    return RunConfig.model_validate(settings(parser.parse_args(argv), paths)), paths


def test_every_setting_has_one_option_and_left_out_ones_keep_the_models_defaults():
    config, paths = parse(["in/", "--schema", "invoice", "--output", "out/"])
    assert config == RunConfig(input="in/", schema_spec="invoice", output="out/")
    extraction = RunConfig.model_fields["extraction"].annotation
    nested = {f"extraction.engine.{f}" for f in extraction.model_fields["engine"].annotation.model_fields} | \
             {f"extraction.{f}" for f in extraction.model_fields if f != "engine"} | \
             {f"ocr.{f}" for f in RunConfig.model_fields["ocr"].annotation.model_fields}
    assert set(paths) == (set(RunConfig.model_fields) - {"extraction", "ocr"}) | nested


def test_options_reach_the_nested_settings_by_their_flags(monkeypatch):
    config, _ = parse(["in/", "--schema", "s.json", "--output", "o", "--batch-size", "3", "--model", "m/", "--engine", "transformers",
                       "--no-enforce-eager", "--ocr", "off", "--ocr-lang", "eng+deu", "--reprocess", "--gpus-per-worker", "0.5"], monkeypatch)
    assert (config.batch_size, config.extraction.engine.model, config.extraction.engine.kind, config.extraction.engine.enforce_eager) == (3, "m/", "transformers", False)
    assert (config.ocr.mode, config.ocr.lang, config.reprocess, config.gpus_per_worker) == ("off", "eng+deu", True, 0.5)


def test_an_environment_variable_is_a_default_and_a_flag_wins_over_it(monkeypatch):
    config, _ = parse(["in/", "--schema", "x", "--output", "o"], monkeypatch, FIELDMILL_RETRIES="0", FIELDMILL_OCR_LANG="deu")
    assert config.extraction.retries == 0 and config.ocr.lang == "deu"
    config, _ = parse(["in/", "--schema", "x", "--output", "o", "--retries", "1"], monkeypatch)
    assert config.extraction.retries == 1


def test_choices_come_from_the_fields_patterns():
    with pytest.raises(argparse.ArgumentError):
        parse(["in/", "--schema", "x", "--output", "o", "--grounding", "loose"])
