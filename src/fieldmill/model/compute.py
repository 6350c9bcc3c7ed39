"""The floating-point type the model computes in on this machine: one answer for serving and for training.

Weights are stored in bfloat16. A GPU, and a CPU with bfloat16 instructions (x86 AVX-512 BF16 or AMX, Arm's
BF16 extension), compute in it at full speed. A CPU without them (AVX2-only x86: many AMD EPYC and older Xeons)
emulates it: on such a 2-core machine a 2048 x 2048 matmul takes 58 s in bfloat16 and 0.13 s in float32, vLLM's
oneDNN linear layers refuse bfloat16 there and fall back to torch's slowest path, and a training step takes minutes.
There the model computes in float32: twice the memory for weights and cache, and the speed of the machine.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

BF16 = "bfloat16"
FP32 = "float32"
# CPU flags (/proc/cpuinfo) of bfloat16 arithmetic in hardware: x86 `flags`, Arm `Features`.
_BF16_FLAGS = {"avx512_bf16", "amx_bf16", "bf16"}


def cpu_flags(cpuinfo: str) -> set[str]:
    """The flags of the first processor listed in a /proc/cpuinfo text."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return set(value.split())
    return set()


@lru_cache(maxsize=1)
def cpu_has_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware; True where /proc/cpuinfo cannot tell (not Linux): keep the default."""
    try:
        flags = cpu_flags(Path("/proc/cpuinfo").read_text())
    except OSError:
        return True
    return not flags or bool(flags & _BF16_FLAGS)


def compute_dtype(accelerator: bool) -> str:
    """bfloat16 on an accelerator or a CPU with bfloat16 instructions, else float32."""
    return BF16 if accelerator or cpu_has_bf16() else FP32


__all__ = ["compute_dtype", "cpu_has_bf16", "cpu_flags", "BF16", "FP32"]
