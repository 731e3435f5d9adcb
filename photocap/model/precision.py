"""The number format the encoder runs in: `--precision auto|fp32|bf16`.

On CUDA the encoder runs under fp16 autocast with channels-last tensors (auto or bf16 ask for nothing else
there; fp32 turns autocast off). On a CPU, bf16 autocast is worth it only where the CPU computes bf16
natively (Intel AMX or AVX512-BF16, AMD Zen 4 and later): `auto` picks it there and fp32 elsewhere, where
bf16 would be emulated and slower. The decoder and its beam search always run in fp32; only the encoder's
convolutions change, and its feature grid is handed on in fp32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import lru_cache
from pathlib import Path

import torch

PRECISIONS = ("auto", "fp32", "bf16")
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them (empty elsewhere)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


@lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware and PyTorch's oneDNN kernels can use it."""
    if not any(flag in cpu_flags() for flag in NATIVE_BF16_FLAGS):
        return False
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """What `precision` means on `device`: "fp16" (CUDA's autocast), "bf16" or "fp32"."""
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use {', '.join(PRECISIONS)}")
    if device.type == "cuda":
        return "fp32" if precision == "fp32" else "fp16"
    if precision == "auto":
        return "bf16" if cpu_has_native_bf16() else "fp32"
    return precision


def autocast_for(device: torch.device, resolved: str) -> Callable[[], AbstractContextManager]:
    """A factory of the autocast context the encoder runs in, for a resolved precision."""
    if resolved == "fp16":
        return lambda: torch.autocast("cuda", dtype=torch.float16)
    if resolved == "bf16":
        return lambda: torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext


# Convolutional networks on a CPU cost less per photo in small batches: a batch's activations then stay in the
# caches. Measured on 2-core AMD EPYC (fp32, one thread, CPU ms per photo): the encoder 32 at batch 2, 43 at 4,
# 80 at 32; the detector at 384 px 73 at batch 2, 79 at 4, 176 at 32. A GPU wants the whole batch.
CPU_FORWARD_CHUNK = 4


def forward_chunks(batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """`batch` in the pieces a network should see at once: CPU_FORWARD_CHUNK photos on a CPU, all on a GPU."""
    if batch.device.type != "cpu" or batch.shape[0] <= CPU_FORWARD_CHUNK:
        return (batch,)
    return batch.split(CPU_FORWARD_CHUNK)


def forward_in_chunks(forward: Callable[[torch.Tensor], torch.Tensor], batch: torch.Tensor) -> torch.Tensor:
    """forward(batch), run on forward_chunks(batch) and concatenated."""
    chunks = forward_chunks(batch)
    return forward(batch) if len(chunks) == 1 else torch.cat([forward(chunk) for chunk in chunks])
