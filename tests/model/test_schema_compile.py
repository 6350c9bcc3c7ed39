"""Each built-in schema's constraint compiles in the engine's structured-output backends.

A real compile with the bundled model's tokenizer (xgrammar for `--backend xgrammar`,
llguidance for `--backend guidance`), then a check that the compiled grammar accepts
the schema's own example record and refuses prose.
"""

import json

import pytest

from fieldmill.model.source import BUNDLED_BASE, materialise
from fieldmill.model.prompts import example_record
from fieldmill.schema.load import load_schema

pytestmark = pytest.mark.model

BUILTINS = ["invoice", "legal_contract", "medical_record"]


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(materialise(BUNDLED_BASE))


def _example_json(schema) -> str:
    return json.dumps(example_record(schema.hardened), ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("name", BUILTINS)
def test_xgrammar_compiles_and_enforces(name, tokenizer):
    import xgrammar

    schema = load_schema(name)
    compiler = xgrammar.GrammarCompiler(xgrammar.TokenizerInfo.from_huggingface(tokenizer))
    compiled = compiler.compile_regex(schema.constraint.regex)
    matcher = xgrammar.GrammarMatcher(compiled, terminate_without_stop_token=True)
    assert matcher.accept_string(_example_json(schema))
    assert matcher.is_terminated()
    assert not xgrammar.GrammarMatcher(compiled).accept_string("Sure! Here is the record:")


@pytest.mark.parametrize("name", BUILTINS)
def test_llguidance_compiles_and_enforces(name, tokenizer):
    import llguidance
    import llguidance.hf

    schema = load_schema(name)
    lltokenizer = llguidance.hf.from_tokenizer(tokenizer)
    grammar = llguidance.LLMatcher.grammar_from_regex(schema.constraint.regex)
    matcher = llguidance.LLMatcher(lltokenizer, grammar)
    assert not matcher.is_error(), matcher.get_error()
    assert matcher.consume_tokens(tokenizer.encode(_example_json(schema), add_special_tokens=False)), matcher.get_error()
    assert matcher.is_accepting()
    prose = llguidance.LLMatcher(lltokenizer, grammar)
    assert not prose.consume_tokens(tokenizer.encode("Sure! Here is the record:", add_special_tokens=False))
