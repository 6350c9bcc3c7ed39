"""Engines turn a prompt and a decoding constraint into text.

`base.Engine` is the interface; `vllm.VllmEngine` the production implementation.
Importing this package imports no engine library: each implementation imports its
own on construction.
"""

from fieldmill.engines.base import Engine, EngineConfig, Generation

__all__ = ["Engine", "EngineConfig", "Generation", "create_engine"]


def create_engine(config: EngineConfig) -> Engine:
    if config.kind == "vllm":
        from fieldmill.engines.vllm import VllmEngine

        return VllmEngine(config)
    raise ValueError(f"unknown engine {config.kind!r}")
