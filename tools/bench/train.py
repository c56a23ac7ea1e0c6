"""`train`: pretraining speed (tokens/s, model GFLOP/s, MFU) for each speed step, in one run.

Every variant trains the roots-base architecture on the hybrid objective for a few steps; the
machine's fp32 GEMM peak (numpy and paddle.matmul, same shape as the FFN) is measured in the same
run, so the MFU figures are ratios of numbers taken together. MKL's fast path on AMD CPUs
(``roots_zh/utils/cpu_blas.py``) can only be chosen before a process's first BLAS call, so the steps
before it run in a child process with ``ROOTS_MKL_FAST_PATH=0`` and the last three rows in this one.
The earlier steps run with the GEMM bias gradient off (``set_gemm_bias_grad(False)``).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict

from .common import format_table, run_context, write_result
from .report import refresh_sections

NAME = "train"
TITLE = "Pretraining speed"
PEAK_THREADS = 2  # paddle.matmul threads while the GEMM peak is measured

# (label, threads, static graph, logits only at predicted positions, bias gradients as GEMMs)
VARIANTS = [
    ("baseline: dygraph, 1 thread, full-sequence logits", 1, False, False, False),
    ("+ logits only at masked/target positions", 1, False, True, False),
    ("+ 2 math threads", 2, False, True, False),
    ("+ to_static graph", 2, True, True, False),
]


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="pretraining tokens/s and MFU, before/after each speed step")
    p.add_argument("--steps", type=int, default=12, help="timed steps per variant")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--quick", action="store_true", help="3 timed steps, batch 8")
    p.add_argument("--rows-json", help=argparse.SUPPRESS)  # child: measure VARIANTS, write rows here
    p.set_defaults(func=run)


def _variant(label, threads, static, masked_only, gemm_bias_grad, args, peak):
    import numpy as np
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForMaskedLM
    from roots_zh.modeling.fast_linear import set_gemm_bias_grad
    from roots_zh.training.flops import encoder_flops_per_token, head_flops
    from roots_zh.training.pretrain import HybridObjective, PretrainArgs, build_optimizer
    from roots_zh.training.pretrain_data import SpecialIds, mlm_batch, prefix_lm_batch

    set_gemm_bias_grad(gemm_bias_grad)
    paddle.base.core.set_num_threads(threads)
    paddle.seed(0)
    pargs = PretrainArgs(data_dir="", output_dir="", batch_size=args.batch_size, seq_len=args.seq_len)
    config = RootsConfig(vocab_size=args.vocab_size, **pargs.model)
    model = RootsForMaskedLM(config)
    opt, _ = build_optimizer(model, pargs)
    objective = HybridObjective(model, static)
    special = SpecialIds(0, 2, 3, 4, args.vocab_size)
    rng = np.random.default_rng(0)
    B, L = args.batch_size, args.seq_len

    def batch(step):
        ids = rng.integers(20, args.vocab_size, (B, L))
        starts = (rng.random((B, L)) < 0.6).astype(np.uint8)
        kind = "prefix" if step % 3 == 2 else "mlm"
        arrays = prefix_lm_batch(ids, rng) if kind == "prefix" else mlm_batch(ids, starts, special, rng)
        if not masked_only:  # the naive head: logits at every position, loss where labelled
            flat = np.arange(B * L)
            labels = np.full(B * L, -100)
            labels[arrays["masked_positions"]] = arrays["labels"]
            arrays = {**arrays, "masked_positions": flat, "labels": labels}
        return kind, arrays

    def step(i):
        kind, arrays = batch(i)
        loss, _ = objective(kind, arrays)
        loss.backward()
        opt.step()
        opt.clear_grad()
        return len(arrays["labels"])

    for i in range(3):  # warm-up: both batch kinds (mlm at 0-1, prefix at 2) traced before timing
        step(i)
    flops, start = 0.0, time.perf_counter()
    for i in range(args.steps):
        n_head = step(i)
        flops += B * L * encoder_flops_per_token(config.hidden_size, config.num_hidden_layers,
                                                 config.intermediate_size, L)
        flops += head_flops(config.hidden_size, config.vocab_size, n_head)
    dt = time.perf_counter() - start
    gflops = flops / dt / 1e9
    return {"variant": label, "threads": threads, "static": static, "tokens_per_s": B * L * args.steps / dt,
            "model_gflops": gflops}


def _measure(variants, args) -> Dict[str, Any]:
    import paddle

    from roots_zh.training.flops import measure_matmul_peak

    paddle.base.core.set_num_threads(PEAK_THREADS)
    peak = measure_matmul_peak()
    return {"peak": peak, "rows": [_variant(*v, args, peak) for v in variants]}


def _without_fast_path(args) -> Dict[str, Any]:
    """VARIANTS measured in a child process whose MKL keeps its default (generic on AMD) path."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        cmd = [sys.executable, str(Path(__file__).resolve().parents[1] / "benchmark.py"), NAME,
               "--steps", str(args.steps), "--batch-size", str(args.batch_size), "--seq-len", str(args.seq_len),
               "--vocab-size", str(args.vocab_size), "--rows-json", str(out)]
        subprocess.run(cmd, check=True, env={**os.environ, "ROOTS_MKL_FAST_PATH": "0"})
        return json.loads(out.read_text(encoding="utf-8"))


def run(args: argparse.Namespace) -> int:
    if args.rows_json:  # the child
        Path(args.rows_json).write_text(json.dumps(_measure(VARIANTS, args)), encoding="utf-8")
        return 0
    if args.quick:
        args.steps, args.batch_size = 3, 8
    before = _without_fast_path(args)
    _, threads, static, masked_only, _ = VARIANTS[-1]
    after = _measure([("+ MKL fast path", threads, static, masked_only, False),
                      ("MKL fast path, dygraph (no to_static)", threads, False, masked_only, False),
                      ("+ bias gradients as GEMMs (dygraph only)", threads, False, masked_only, True)],
                     args)
    peaks = {"numpy_gflops": max(before["peak"]["numpy_gflops"], after["peak"]["numpy_gflops"]),
             "paddle_default_gflops": before["peak"]["paddle_gflops"],
             "paddle_fast_path_gflops": after["peak"]["paddle_gflops"], "shape": after["peak"]["shape"]}
    peaks["best_gflops"] = max(peaks["numpy_gflops"], peaks["paddle_default_gflops"], peaks["paddle_fast_path_gflops"])
    rows = before["rows"] + after["rows"]
    base = rows[0]["tokens_per_s"]
    for row in rows:
        row["speedup_vs_baseline"] = row["tokens_per_s"] / base
        row["mfu"] = row["model_gflops"] / peaks["best_gflops"]
        row["mfu_vs_numpy_peak"] = row["model_gflops"] / peaks["numpy_gflops"]
    print(f"fp32 GEMM peak {peaks['shape']}: numpy {peaks['numpy_gflops']:.1f} GFLOP/s, paddle.matmul "
          f"({PEAK_THREADS} threads) {peaks['paddle_default_gflops']:.1f} by default, "
          f"{peaks['paddle_fast_path_gflops']:.1f} with the MKL fast path")
    print(format_table(rows, ["variant", "tokens_per_s", "model_gflops", "mfu", "mfu_vs_numpy_peak",
                              "speedup_vs_baseline"]))
    write_result(NAME, {"matmul_peak": {**peaks, "paddle_threads": PEAK_THREADS}, "batch_size": args.batch_size,
                        "seq_len": args.seq_len, "vocab_size": args.vocab_size, "steps": args.steps,
                        "rows": rows, "quick": bool(args.quick)})
    refresh_sections(NAME, quick=args.quick)
    return 0


def _row(row: Dict[str, Any], last: bool) -> str:
    speedup = f"{row['speedup_vs_baseline']:.2f}"
    return (f"| {row['variant']} | {row['tokens_per_s']:,.0f} | {row['model_gflops']:.1f} | "
            f"{row['mfu']:.2f} | {row['mfu_vs_numpy_peak']:.2f} | {f'**{speedup}**' if last else speedup} |")


def markdown(result: Dict[str, Any]) -> str:
    """The pretraining-speed table (tokens/s, GFLOP/s, MFU vs the best GEMM peak) for BENCHMARKS.md."""
    quick = " --quick" if result.get("quick") else ""
    peak, rows = result.get("matmul_peak", {}), result.get("rows", [])
    shape = "×".join(str(d) for d in peak.get("shape", []))
    env = result.get("environment") or {}
    lines = [f"## {TITLE} — `python tools/benchmark.py train{quick}` ({run_context(result)}; roots-base "
             f"architecture, batch {result.get('batch_size')} × {result.get('seq_len')}, vocab "
             f"{result.get('vocab_size', 0):,}, {result.get('steps')} timed steps per variant)", "",
             f"fp32 GEMM peak in the same run ({shape}): numpy {peak.get('numpy_gflops', 0):.1f} GFLOP/s, "
             f"`paddle.matmul` ({peak.get('paddle_threads', PEAK_THREADS)} threads) "
             f"{peak.get('paddle_default_gflops', 0):.1f} GFLOP/s by default, "
             f"{peak.get('paddle_fast_path_gflops', 0):.1f} with the MKL fast path. "
             f"MFU is model GFLOP/s over the best of these ({peak.get('best_gflops', 0):.1f}). CPU: "
             f"{env.get('cpu_vendor') or 'vendor not recorded'}; MKL fast path: "
             f"{env.get('mkl_fast_path') or 'not recorded'}.", "",
             "| step | tokens/s | model GFLOP/s | MFU | MFU vs numpy peak | speed-up |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [_row(r, i == len(rows) - 1) for i, r in enumerate(rows)]
    if result.get("note"):
        lines += ["", str(result["note"])]
    return "\n".join(lines)
