"""What an answer's requests cost, summed over attempts, second reads and continuations."""

from fieldmill.engines.base import Generation
from fieldmill.extract.answer import Answer


def test_costs_add_up_and_cached_prompt_tokens_stay_unknown_until_an_engine_says():
    first = Generation("{}", 1000, 40, "stop", 2.0, cached_prompt_tokens=0)
    continued = Generation(',"a":1}', 1100, 4, "stop", 0.5, cached_prompt_tokens=1024)
    spent = Answer("compliant").plus_costs(first).plus_costs(continued)
    assert (spent.prompt_tokens, spent.completion_tokens, spent.generation_s) == (2100, 44, 2.5)
    assert spent.cached_prompt_tokens == 1024 and spent.costs()["cached_prompt_tokens"] == 1024
    unknown = Answer("compliant").plus_costs(Generation("{}", 10, 2, "stop", 0.1))
    assert unknown.cached_prompt_tokens is None and unknown.prompt_tokens == 10
