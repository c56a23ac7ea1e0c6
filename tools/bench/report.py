"""`report`: regenerate the generated sections of BENCHMARKS.md (and charts) from benchmarks/results.

A sub-command module that defines ``markdown(result) -> str`` owns the section between
``<!-- BEGIN <name> -->`` and ``<!-- END <name> -->``; missing sections are appended.
"""
from __future__ import annotations

import argparse
import json
import re

from .common import REPO_ROOT, RESULTS_DIR

NAME = "report"
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"


def register(subparsers) -> None:
    p = subparsers.add_parser(NAME, help="rewrite the generated sections of BENCHMARKS.md from results JSON")
    p.set_defaults(func=run)


def update_section(text: str, name: str, body: str) -> str:
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    return text.rstrip() + "\n\n" + block + "\n"


def run(args: argparse.Namespace | None = None) -> int:
    from bench import command_modules
    from roots_zh.utils.files import atomic_write_text

    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.is_file() else "# Benchmarks\n"
    written = []
    for module in command_modules():
        render = getattr(module, "markdown", None)
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1])
        if render is None:
            continue
        path = RESULTS_DIR / f"{name}.json"  # full runs only: quick runs are CI gates, not README figures
        if path.is_file():
            body = render(json.loads(path.read_text(encoding="utf-8")))
            if body:
                text = update_section(text, name, body)
                written.append(name)
    atomic_write_text(BENCHMARKS_MD, text)
    print(f"BENCHMARKS.md sections regenerated: {written}")
    return 0
