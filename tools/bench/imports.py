"""`imports`: cost of `import roots_zh` against `import paddle`, each in a fresh interpreter."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from .common import format_table, write_result

NAME = "imports"


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="import time of roots_zh vs paddle (fresh processes)")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="3 rounds")
    p.set_defaults(func=run)


def _time(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], check=True, capture_output=True)
    return time.perf_counter() - start


def run(args: argparse.Namespace) -> int:
    rounds = 3 if args.quick else args.rounds
    cases = {"python -c pass": "pass", "import paddle": "import paddle", "import roots_zh": "import roots_zh",
             "import roots_zh; roots_zh.RootsModel": "import roots_zh; roots_zh.RootsModel"}
    times = {name: [] for name in cases}
    for _ in range(rounds):  # interleaved, so load changes hit every case alike
        for name, stmt in cases.items():
            times[name].append(_time(stmt))
    rows = [{"case": n, "median_s": statistics.median(t), "min_s": min(t)} for n, t in times.items()]
    paddle_s = statistics.median(times["import paddle"])
    for row in rows:
        row["ratio_vs_import_paddle"] = row["median_s"] / paddle_s
    print(format_table(rows, ["case", "median_s", "min_s", "ratio_vs_import_paddle"]))
    write_result(NAME, {"rounds": rounds, "rows": rows, "quick": bool(args.quick)})
    return 0
