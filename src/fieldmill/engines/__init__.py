"""Engines turn a prompt and a decoding constraint into text.

`base.Engine` is the interface; `vllm.VllmEngine` the production implementation;
`transformers.TransformersEngine` runs the model in-process where vLLM does not install.
Another runtime (llama.cpp, a remote server) plugs in as `--engine package.module:Class`.
Importing this package imports no engine library: each implementation imports its
own on construction.
"""

from fieldmill.engines.base import Engine, EngineConfig, Generation

__all__ = ["Engine", "EngineConfig", "Generation", "create_engine"]


def create_engine(config: EngineConfig) -> Engine:
    """The engine `config.kind` names: 'vllm', or 'package.module:Class' implementing `Engine`."""
    if config.kind == "vllm":
        from fieldmill.engines.vllm import VllmEngine

        return VllmEngine(config)
    if config.kind == "transformers":
        from fieldmill.engines.transformers import TransformersEngine

        return TransformersEngine(config)
    module_name, _, class_name = config.kind.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"unknown engine {config.kind!r}: use 'vllm', 'transformers' or 'package.module:Class'")
    import importlib

    engine_class = getattr(importlib.import_module(module_name), class_name, None)
    if not (isinstance(engine_class, type) and issubclass(engine_class, Engine)):
        raise ValueError(f"engine {config.kind!r} is not a fieldmill.engines.Engine subclass")
    return engine_class(config)
