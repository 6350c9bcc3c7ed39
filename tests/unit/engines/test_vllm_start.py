"""How the product builds vLLM's engine: with the one tokenizer it needs, not vLLM's pool of deep copies."""

from fieldmill.engines import vllm


def test_the_engine_is_built_without_vllms_pool_of_tokenizer_copies():
    from vllm.renderers import hf as renderer  # where vLLM 0.32's renderer makes its pool: a rename fails here

    original = renderer.maybe_make_thread_pool
    tokenizer = object()
    with vllm._one_tokenizer():
        assert renderer.maybe_make_thread_pool(tokenizer, 2) is tokenizer  # no copy made
    assert renderer.maybe_make_thread_pool is original  # vLLM's own, once the engine is built
