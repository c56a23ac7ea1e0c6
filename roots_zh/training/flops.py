"""Model FLOPs and the machine's measured matmul peak, for MFU reports."""
from __future__ import annotations

import time

import numpy as np


def encoder_flops_per_token(hidden: int, layers: int, intermediate: int, seq_len: int) -> float:
    """Forward+backward FLOPs of one token through the encoder (matmuls only, 3x forward)."""
    dense = layers * (2 * 4 * hidden * hidden + 2 * 2 * hidden * intermediate)  # qkv+out, ffn
    attention = layers * 2 * 2 * seq_len * hidden  # scores and context
    return 3.0 * (dense + attention)


def head_flops(hidden: int, vocab: int, positions: int) -> float:
    """Forward+backward FLOPs of the LM head at ``positions`` gathered rows."""
    return 3.0 * positions * (2 * hidden * hidden + 2 * hidden * vocab)


def measure_matmul_peak(size: int = 1024, seconds: float = 1.0) -> dict:
    """fp32 GEMM GFLOP/s of numpy (MKL/OpenBLAS) and of ``paddle.matmul`` on this machine, now."""
    import paddle

    a = np.random.default_rng(0).random((size * 4, size // 4), dtype=np.float32)
    b = np.random.default_rng(1).random((size // 4, size), dtype=np.float32)
    flop = 2.0 * a.shape[0] * a.shape[1] * b.shape[1]
    out = {}
    for name, fn, args in (("numpy", np.matmul, (a, b)),
                           ("paddle", paddle.matmul, (paddle.to_tensor(a), paddle.to_tensor(b)))):
        fn(*args)
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            r = fn(*args)
            n += 1
        if name == "paddle":
            float(r[0, 0])
        out[f"{name}_gflops"] = flop * n / (time.perf_counter() - start) / 1e9
    out["shape"] = [a.shape[0], a.shape[1], b.shape[1]]
    return out
