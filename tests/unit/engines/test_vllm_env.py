"""The environment vLLM's engine processes start with on a CPU: every core on a small machine, vLLM's preloads,
and whatever the user set left alone."""

import os

from fieldmill.engines import vllm


def test_a_small_machine_computes_on_every_core_it_may_use(monkeypatch):
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {2, 3})
    env = vllm.cpu_engine_env()
    assert env["VLLM_CPU_OMP_THREADS_BIND"] == "2,3" and env["VLLM_CPU_NUM_OF_RESERVED_CPU"] == "0"


def test_a_large_machine_keeps_vllms_own_binding(monkeypatch):
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(32)))
    env = vllm.cpu_engine_env()
    assert "VLLM_CPU_OMP_THREADS_BIND" not in env and "VLLM_CPU_NUM_OF_RESERVED_CPU" not in env


def test_what_the_user_set_wins(monkeypatch):
    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "0")
    monkeypatch.setenv("LD_PRELOAD", "/opt/my/malloc.so")
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1})
    env = vllm.cpu_engine_env()
    assert "VLLM_CPU_OMP_THREADS_BIND" not in env and "LD_PRELOAD" not in env


def test_the_preloads_are_libraries_that_exist(monkeypatch):
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    for lib in vllm.cpu_engine_env().get("LD_PRELOAD", "").split(":"):
        assert not lib or "/" not in lib or os.path.isfile(lib)  # a bare soname is found by the loader's own search


def test_the_engines_environment_is_set_only_while_it_starts(monkeypatch):
    monkeypatch.setenv("FIELDMILL_TEST_KEPT", "before")
    monkeypatch.delenv("FIELDMILL_TEST_NEW", raising=False)
    with vllm._environment({"FIELDMILL_TEST_KEPT": "during", "FIELDMILL_TEST_NEW": "x"}):
        assert os.environ["FIELDMILL_TEST_KEPT"] == "during" and os.environ["FIELDMILL_TEST_NEW"] == "x"
    assert os.environ["FIELDMILL_TEST_KEPT"] == "before" and "FIELDMILL_TEST_NEW" not in os.environ
