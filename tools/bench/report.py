"""`report`: regenerate the generated sections of BENCHMARKS.md (and charts) from benchmarks/results.

A sub-command module that defines ``markdown(result) -> str`` owns the section between
``<!-- BEGIN <name> -->`` and ``<!-- END <name> -->``, rendered from ``<name>.json`` (full runs
only: ``<name>_quick.json`` never feeds a section); a missing file renders a note naming the command
that writes it. ``finetune`` is rendered from ``finetune_<task>_<init>.json`` files
(:mod:`bench.finetune_results`). Missing sections are appended. Sub-commands call
:func:`refresh_sections` after writing their results.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional

from .common import REPO_ROOT, RESULTS_DIR, missing_section

NAME = "report"
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
Renderer = Callable[[Path], Optional[str]]


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


def _json_renderer(module, name: str) -> Renderer:
    """Render ``<results_dir>/<name>.json`` with ``module.markdown``, or the missing-results note."""

    def render(results_dir: Path) -> Optional[str]:
        path = results_dir / f"{name}.json"  # full runs only: quick runs are CI gates, not README figures
        if not path.is_file():
            title = getattr(module, "TITLE", name)
            return missing_section(title, path.name, f"python tools/benchmark.py {name}")
        return module.markdown(json.loads(path.read_text(encoding="utf-8")))

    return render


def section_renderers() -> Dict[str, Renderer]:
    """Section name -> renderer taking the results directory."""
    from . import command_modules
    from .finetune_results import markdown_from_results

    renderers: Dict[str, Renderer] = {}
    for module in command_modules():
        name = getattr(module, "NAME", module.__name__.rsplit(".", 1)[-1])
        if callable(getattr(module, "markdown", None)):
            renderers[name] = _json_renderer(module, name)
    renderers["finetune"] = markdown_from_results
    return renderers


def regenerate(names: Optional[Iterable[str]] = None, results_dir: Path = RESULTS_DIR,
               target: Path = BENCHMARKS_MD) -> List[str]:
    """Rewrite the sections ``names`` (default: all) of ``target``; returns the sections written."""
    from roots_zh.utils.files import atomic_write_text

    renderers = section_renderers()
    wanted = list(renderers) if names is None else list(names)
    unknown = [n for n in wanted if n not in renderers]
    if unknown:
        raise ValueError(f"unknown BENCHMARKS.md sections {unknown}; known: {sorted(renderers)}")
    text = target.read_text(encoding="utf-8") if target.is_file() else "# Benchmarks\n"
    written = []
    for name in wanted:
        body = renderers[name](results_dir)
        if body:
            text = update_section(text, name, body)
            written.append(name)
    atomic_write_text(target, text)
    return written


def refresh_sections(*names: str, quick: bool = False) -> List[str]:
    """What a sub-command calls after writing its results: regenerate its own section(s).
    Quick runs leave BENCHMARKS.md alone (their results never feed a section)."""
    if quick:
        return []
    written = regenerate(names)
    print(f"BENCHMARKS.md sections regenerated: {written}")
    return written


def run(args: argparse.Namespace | None = None) -> int:
    print(f"BENCHMARKS.md sections regenerated: {regenerate()}")
    return 0
