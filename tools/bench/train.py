"""`train`: pretraining speed (tokens/s, model GFLOP/s, MFU) for each speed step, in one run.

Every variant trains the roots-base architecture on the hybrid objective for a few steps; the
machine's fp32 GEMM peak (numpy and paddle.matmul, same shape as the FFN) is measured in the same
run, so the MFU figures are ratios of numbers taken together.
"""
from __future__ import annotations

import argparse
import time
from typing import Any, Dict

from .common import format_table, run_context, write_result
from .report import refresh_sections

NAME = "train"
TITLE = "Pretraining speed"
PEAK_THREADS = 2  # paddle.matmul threads while the GEMM peak is measured

# (label, threads, static graph, logits only at predicted positions)
VARIANTS = [
    ("baseline: dygraph, 1 thread, full-sequence logits", 1, False, False),
    ("+ logits only at masked/target positions", 1, False, True),
    ("+ 2 math threads", 2, False, True),
    ("+ to_static graph (what tools/pretrain.py runs)", 2, True, True),
]


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="pretraining tokens/s and MFU, before/after each speed step")
    p.add_argument("--steps", type=int, default=12, help="timed steps per variant")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=128)
    p.add_argument("--vocab-size", type=int, default=16000)
    p.add_argument("--quick", action="store_true", help="3 timed steps, batch 8")
    p.set_defaults(func=run)


def _variant(label, threads, static, masked_only, args, peak):
    import numpy as np
    import paddle

    from roots_zh.modeling import RootsConfig, RootsForMaskedLM
    from roots_zh.training.flops import encoder_flops_per_token, head_flops
    from roots_zh.training.pretrain import HybridObjective, PretrainArgs, build_optimizer
    from roots_zh.training.pretrain_data import SpecialIds, mlm_batch, prefix_lm_batch

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

    for i in range(2):  # warm-up (and tracing for to_static)
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
            "model_gflops": gflops, "mfu_vs_numpy_peak": gflops / peak["numpy_gflops"],
            "mfu_vs_paddle_peak": gflops / peak["paddle_gflops"]}


def run(args: argparse.Namespace) -> int:
    import paddle

    from roots_zh.training.flops import measure_matmul_peak

    if args.quick:
        args.steps, args.batch_size = 3, 8
    paddle.base.core.set_num_threads(PEAK_THREADS)
    peak = measure_matmul_peak()
    rows = [_variant(*v, args, peak) for v in VARIANTS]
    base = rows[0]["tokens_per_s"]
    for row in rows:
        row["speedup_vs_baseline"] = row["tokens_per_s"] / base
    print(f"fp32 GEMM peak {peak['shape']}: numpy {peak['numpy_gflops']:.1f} GFLOP/s, "
          f"paddle.matmul ({PEAK_THREADS} threads) {peak['paddle_gflops']:.1f} GFLOP/s")
    print(format_table(rows, ["variant", "tokens_per_s", "model_gflops", "mfu_vs_numpy_peak",
                              "mfu_vs_paddle_peak", "speedup_vs_baseline"]))
    write_result(NAME, {"matmul_peak": {**peak, "paddle_threads": PEAK_THREADS}, "batch_size": args.batch_size,
                        "seq_len": args.seq_len, "vocab_size": args.vocab_size, "steps": args.steps,
                        "rows": rows, "quick": bool(args.quick)})
    refresh_sections(NAME, quick=args.quick)
    return 0


def _row(row: Dict[str, Any], last: bool) -> str:
    speedup = f"{row['speedup_vs_baseline']:.2f}"
    return (f"| {row['variant']} | {row['tokens_per_s']:,.0f} | {row['model_gflops']:.1f} | "
            f"{row['mfu_vs_numpy_peak']:.2f} | {row['mfu_vs_paddle_peak']:.2f} | "
            f"{f'**{speedup}**' if last else speedup} |")


def markdown(result: Dict[str, Any]) -> str:
    """The pretraining-speed table (tokens/s, GFLOP/s, MFU vs both GEMM peaks) for BENCHMARKS.md."""
    quick = " --quick" if result.get("quick") else ""
    peak, rows = result.get("matmul_peak", {}), result.get("rows", [])
    shape = "×".join(str(d) for d in peak.get("shape", []))
    lines = [f"## {TITLE} — `python tools/benchmark.py train{quick}` ({run_context(result)}; roots-base "
             f"architecture, batch {result.get('batch_size')} × {result.get('seq_len')}, vocab "
             f"{result.get('vocab_size', 0):,}, {result.get('steps')} timed steps per variant)", "",
             f"fp32 GEMM peak in the same run ({shape}): numpy {peak.get('numpy_gflops', 0):.1f} GFLOP/s, "
             f"`paddle.matmul` ({peak.get('paddle_threads', PEAK_THREADS)} threads) "
             f"{peak.get('paddle_gflops', 0):.1f} GFLOP/s.", "",
             "| step | tokens/s | model GFLOP/s | MFU vs numpy peak | MFU vs paddle peak | speed-up |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [_row(r, i == len(rows) - 1) for i, r in enumerate(rows)]
    if result.get("note"):
        lines += ["", str(result["note"])]
    return "\n".join(lines)
