"""`decode`: generation speed of the prefix LM, all in one run, as ratios.

roots-base as a prefix LM (the architecture of every shipped generation model), random source ids of
64 tokens, 64 new tokens (no eos: every row runs the full length), 2 CPU threads:

- the key/value cache against re-encoding the whole prefix for every new token (same tokens), batch 1
  and batch 8: the two timed in alternation, the ratio the median of the per-pair ratios;
- new tokens/s of greedy and beam-4 search in dygraph and on the exported Paddle Inference programs
  (prefill + cached step, ``StaticPrefixLMDecoder``), the same search code for both.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Callable, List

from .common import format_table, run_context, write_result
from .report import refresh_sections

NAME = "decode"
TITLE = "Decoding speed"
SOURCE_TOKENS = 64


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="generation tokens/s: kv cache vs re-encoding; greedy/beam x dygraph/PI")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--new-tokens", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5, help="timed runs per row (median)")
    p.add_argument("--quick", action="store_true", help="4 new tokens, one timed run")
    p.set_defaults(func=run)


def _median_seconds(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def _paired_seconds(fast: Callable[[], object], slow: Callable[[], object], repeats: int):
    """Median seconds of ``fast`` and ``slow`` timed in alternation (this machine's speed drifts between
    minutes: a ratio of two runs taken minutes apart mixes that drift in), and the median per-pair ratio."""
    fast(), slow()  # warm-up
    pairs = []
    for _ in range(repeats):
        times = []
        for fn in (fast, slow):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        pairs.append(times)
    median = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    return median([f for f, _ in pairs]), median([s for _, s in pairs]), median([s / f for f, s in pairs])


def run(args: argparse.Namespace) -> int:
    import numpy as np
    import paddle

    from roots_zh.generation import GenerationConfig, StaticPrefixLMDecoder, generate
    from roots_zh.inference import export_decoder
    from roots_zh.modeling import RootsForPrefixLM

    new, repeats = (4, 1) if args.quick else (args.new_tokens, args.repeats)
    paddle.base.core.set_num_threads(args.threads)
    model = RootsForPrefixLM.from_pretrained("roots-base")
    rng = np.random.default_rng(0)
    one = rng.integers(100, 15000, (1, SOURCE_TOKENS)).tolist()
    eight = rng.integers(100, 15000, (8, SOURCE_TOKENS)).tolist()
    greedy = GenerationConfig(max_new_tokens=new)
    beam4 = GenerationConfig(max_new_tokens=new, num_beams=4)
    no_eos = -1  # a token id that never occurs: every row runs max_new_tokens

    def dygraph(sources, config, use_cache=True):
        return lambda: generate(model, sources, no_eos, 0, config, use_cache=use_cache)

    rows, same = [], {}
    with tempfile.TemporaryDirectory(prefix="roots-decoder-") as tmp:
        static = StaticPrefixLMDecoder(export_decoder(model, Path(tmp) / "dec"), pad_token_id=0, threads=args.threads)

        def exported(sources, config):
            return lambda: generate(model, sources, no_eos, 0, config, decoder=static)

        reference = dygraph(one, greedy)()
        same["recompute"] = dygraph(one, greedy, use_cache=False)() == reference
        same["inference"] = exported(one, greedy)() == reference
        same["beam_inference"] = exported(one, beam4)() == dygraph(one, beam4)()
        plan = [("greedy", "dygraph, kv cache", 1, dygraph(one, greedy)),
                ("greedy", "dygraph, re-encoding", 1, dygraph(one, greedy, use_cache=False)),
                ("greedy", "paddle-inference, kv cache", 1, exported(one, greedy)),
                ("beam 4", "dygraph, kv cache", 1, dygraph(one, beam4)),
                ("beam 4", "paddle-inference, kv cache", 1, exported(one, beam4)),
                ("greedy", "dygraph, kv cache", 8, dygraph(eight, greedy)),
                ("greedy", "dygraph, re-encoding", 8, dygraph(eight, greedy, use_cache=False)),
                ("greedy", "paddle-inference, kv cache", 8, exported(eight, greedy)),
                ("beam 4", "dygraph, kv cache", 8, dygraph(eight, beam4)),
                ("beam 4", "paddle-inference, kv cache", 8, exported(eight, beam4))]
        fns = {(search, runtime, batch): fn for search, runtime, batch, fn in plan}
        seconds, ratios = {}, {}
        for b in (1, 8):  # the cache and re-encoding side by side, pair by pair
            cached, recompute = ("greedy", "dygraph, kv cache", b), ("greedy", "dygraph, re-encoding", b)
            seconds[cached], seconds[recompute], ratios[f"kv_cache_vs_reencode_batch{b}"] = _paired_seconds(
                fns[cached], fns[recompute], repeats)
        for key, fn in fns.items():
            if key not in seconds:
                seconds[key] = _median_seconds(fn, repeats)
        for search, runtime, batch in fns:  # the plan's order
            sec = seconds[(search, runtime, batch)]
            rows.append({"search": search, "runtime": runtime, "batch": batch, "seconds": round(sec, 4),
                         "tokens_per_s": round(batch * new / sec, 1)})
            print(rows[-1], flush=True)

    ratios.update({f"inference_vs_dygraph_{s.replace(' ', '')}_batch{b}": seconds[(s, "dygraph, kv cache", b)]
                   / seconds[(s, "paddle-inference, kv cache", b)] for s in ("greedy", "beam 4") for b in (1, 8)})
    print(format_table(rows, ["search", "runtime", "batch", "seconds", "tokens_per_s"]))
    print({k: round(v, 2) for k, v in ratios.items()}, "identical tokens:", same)
    path = write_result(NAME, {"threads": args.threads, "quick": args.quick, "source_tokens": SOURCE_TOKENS,
                               "new_tokens": new, "rows": rows, "ratios": ratios, "same_tokens": same,
                               "targets": {"kv_cache_vs_reencode_batch1": 5.0}})
    print(f"wrote {path}")
    refresh_sections(NAME, quick=args.quick)
    return 0 if all(same.values()) else 1


def markdown(result: dict) -> str:
    """The decoding-speed table for BENCHMARKS.md."""
    lines = [f"## {TITLE} — `python tools/benchmark.py decode` ({run_context(result)}; {result['threads']} threads, "
             f"prefix LM roots-base, {result['source_tokens']} source + {result['new_tokens']} new tokens)", "",
             "| search | runtime | batch | new tokens/s |", "|---|---|---:|---:|"]
    lines += [f"| {r['search']} | {r['runtime']} | {r['batch']} | {r['tokens_per_s']:.1f} |" for r in result["rows"]]
    ratios = result["ratios"]
    lines += ["", f"Key/value cache vs re-encoding the prefix every token: **{ratios['kv_cache_vs_reencode_batch1']:.2f}×** "
              f"at batch 1 (target ≥ {result['targets']['kv_cache_vs_reencode_batch1']:.0f}×), "
              f"**{ratios['kv_cache_vs_reencode_batch8']:.2f}×** at batch 8. Identical tokens "
              f"(re-encoding / Paddle Inference greedy / Paddle Inference beam 4 vs dygraph): "
              + " / ".join("yes" if v else "**no**" for v in result["same_tokens"].values()) + "."]
    return "\n".join(lines)
