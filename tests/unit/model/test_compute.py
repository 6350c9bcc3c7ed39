"""The dtype the model computes in: bfloat16 where the hardware has it, float32 where it would be emulated."""

import pytest

from fieldmill.model import compute

EPYC_AVX2 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse sse2 avx f16c fma avx2 bmi2 sha_ni\n\nprocessor\t: 1\n"
XEON_BF16 = "processor\t: 0\nflags\t\t: fpu avx2 avx512f avx512bw avx512_bf16 amx_tile\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\n"


@pytest.mark.parametrize("cpuinfo, has_bf16", [(EPYC_AVX2, False), (XEON_BF16, True), (GRAVITON3, True)])
def test_bfloat16_in_hardware_is_read_from_the_cpus_flags(cpuinfo, has_bf16):
    assert bool(compute.cpu_flags(cpuinfo) & compute._BF16_FLAGS) is has_bf16


def test_a_cpu_without_bfloat16_computes_in_float32_and_an_accelerator_in_bfloat16(monkeypatch):
    monkeypatch.setattr(compute, "cpu_has_bf16", lambda: False)
    assert compute.compute_dtype(accelerator=False) == "float32" and compute.compute_dtype(accelerator=True) == "bfloat16"
    monkeypatch.setattr(compute, "cpu_has_bf16", lambda: True)
    assert compute.compute_dtype(accelerator=False) == "bfloat16"


def test_training_loads_the_base_in_what_the_machine_computes_fast(monkeypatch, tmp_path):
    from fieldmill.finetune import trainer
    from fieldmill.model import hf

    loaded = []
    monkeypatch.setattr(hf, "load", lambda path, dtype: loaded.append(dtype) or ("model", "tokenizer"))
    monkeypatch.setattr(compute, "cpu_has_bf16", lambda: False)
    monkeypatch.setattr(trainer.torch.cuda, "is_available", lambda: False)
    trainer.load_base(tmp_path, None)
    trainer.load_base(tmp_path, "bfloat16")  # asked for: kept
    assert loaded == ["float32", "bfloat16"]
