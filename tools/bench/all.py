"""`all`: every benchmark in one command (each in its own process), then the BENCHMARKS.md report.

``python tools/benchmark.py all --quick`` is what CI runs: minutes, subsets, and a non-zero exit
when any shipped model falls below its recorded floor or any benchmark fails.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

NAME = "all"
# (command, extra args in quick mode, extra args in full mode)
PLAN = [
    ("accuracy", ["--quick"], []),
    ("infer", ["--quick"], []),
    ("decode", ["--quick"], []),
    ("tokenize", ["--quick"], []),
    ("imports", ["--quick"], []),
    ("train", ["--quick"], []),
    ("knowledge", ["--quick"], []),
    ("robustness", ["--quick"], []),
    ("serve", ["--quick"], []),  # ~30 s: levels 1/16/64/256 clients, gates only on correctness
]


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="run every benchmark, then regenerate BENCHMARKS.md")
    p.add_argument("--quick", action="store_true", help="subsets and short runs (what CI runs)")
    p.add_argument("--skip", nargs="*", default=[], help="commands to leave out")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bench import command_modules

    available = {getattr(m, "NAME", m.__name__.rsplit(".", 1)[-1]) for m in command_modules()}
    script = Path(__file__).resolve().parents[1] / "benchmark.py"
    failed = []
    for name, quick_args, full_args in PLAN:
        if name in args.skip:
            continue
        if name not in available:
            print(f"== {name}: not available, skipped", flush=True)
            continue
        cmd = [sys.executable, str(script), name] + (quick_args if args.quick else full_args)
        print(f"== {' '.join(cmd[1:])}", flush=True)
        start = time.time()
        code = subprocess.run(cmd).returncode
        print(f"== {name}: exit {code} in {time.time() - start:.0f} s", flush=True)
        if code:
            failed.append(f"{name} (exit {code})")
    subprocess.run([sys.executable, str(script), "report"], check=False)
    if failed:
        print("BENCHMARKS FAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0
