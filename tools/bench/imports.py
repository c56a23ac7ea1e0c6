"""`imports`: cost of `import roots_zh` against `import paddle`, each in a fresh interpreter."""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from typing import Any, Dict

from .common import format_table, run_context, write_result
from .report import refresh_sections

NAME = "imports"
TITLE = "Import cost"
TARGETS = {"import roots_zh": 1.3}  # ratio vs `import paddle` the package must stay under
NOTES = {"import roots_zh; roots_zh.RootsModel": "pulls in paddle"}


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
    refresh_sections(NAME, quick=args.quick)
    return 0


def _row(row: Dict[str, Any]) -> str:
    case, ratio = row["case"], f"{row['ratio_vs_import_paddle']:.2f}"
    if case in TARGETS:
        ratio = f"**{ratio}** (target ≤ {TARGETS[case]})"
    label = f"`{case}`" + (f" ({NOTES[case]})" if case in NOTES else "")
    return f"| {label} | {row['median_s']:.2f} | {ratio} |"


def markdown(result: Dict[str, Any]) -> str:
    """The import-cost table for BENCHMARKS.md."""
    quick = " --quick" if result.get("quick") else ""
    lines = [f"## {TITLE} — `python tools/benchmark.py imports{quick}` ({run_context(result)}; "
             f"median of {result.get('rounds')} fresh interpreters per case)", "",
             "| case | median s | vs `import paddle` |", "|---|---:|---:|"]
    lines += [_row(r) for r in result.get("rows", [])]
    if result.get("note"):
        lines += ["", str(result["note"])]
    return "\n".join(lines)
