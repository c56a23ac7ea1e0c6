"""The ``finetune`` section of BENCHMARKS.md: roots-base vs random initialisation (and PaddleNLP's
same-size ERNIE where measured), per task, from ``benchmarks/results/finetune_<task>_<init>.json``.

``pretrained`` / ``random`` files come from ``tools/finetune.py --save-result``; ``paddlenlp`` files
from the ``paddlenlp_same_size`` baseline of ``python tools/benchmark.py accuracy`` (full mode).
Files ending in ``_quick`` (runs on a training subset) are never read.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from .common import RESULTS_DIR, missing_section, run_context

TITLE = "Fine-tuning: roots-base vs random initialisation"
INITS = ("pretrained", "random", "paddlenlp")
METRICS = ("accuracy", "f1", "rougeL", "bleu")  # the first one a split reports is shown
PERCENT_METRICS = {"accuracy"}  # stored as fractions, shown in points
RECIPE_FIELDS = (("epochs", "epochs"), ("max_length", "max tokens"), ("learning_rate", "LR"),
                 ("batch_size", "batch"), ("warmup_ratio", "warm-up"), ("pooling", "pooling"), ("seed", "seed"))
Results = Dict[str, Dict[str, dict]]  # task -> init -> result


def result_path(task: str, init: str, results_dir: Path = RESULTS_DIR) -> Path:
    if init not in INITS:
        raise ValueError(f"`init`={init!r} is not one of {INITS}")
    return results_dir / f"finetune_{task}_{init}.json"


def command_for(task: str, init: str) -> str:
    """The command that writes ``finetune_<task>_<init>.json``."""
    if init == "paddlenlp":
        return f"python tools/benchmark.py accuracy --tasks {task}"
    return f"python tools/finetune.py --task {task} --init {init} --out work_dirs/ft/{task}_{init} --save-result"


def load_results(results_dir: Path = RESULTS_DIR) -> Results:
    """``{task: {init: result}}`` from the full-run files in ``results_dir``."""
    out: Results = {}
    for path in sorted(results_dir.glob("finetune_*.json")):
        task, _, init = path.stem[len("finetune_"):].rpartition("_")
        if task and init in INITS:  # *_quick.json ends in "quick": skipped
            out.setdefault(task, {})[init] = json.loads(path.read_text(encoding="utf-8"))
    return out


def split_score(result: Optional[dict], split: str) -> Optional[Tuple[str, float, Optional[int]]]:
    """``(metric, score in points, n)`` of one split of a result, or None when absent."""
    scores = (result or {}).get(split)
    if not isinstance(scores, dict):
        return None
    for metric in METRICS:
        if isinstance(scores.get(metric), (int, float)):
            value = float(scores[metric]) * (100.0 if metric in PERCENT_METRICS else 1.0)
            return metric, value, scores.get("n")
    return None


def _cell(score: Optional[Tuple[str, float, Optional[int]]], bold: bool = False) -> str:
    if score is None:
        return "—"
    return f"**{score[1]:.2f}**" if bold else f"{score[1]:.2f}"


def _rows(task: str, runs: Dict[str, dict], with_paddlenlp: bool) -> List[str]:
    lines = []
    for split in ("dev", "test"):
        scores = {init: split_score(runs.get(init), split) for init in INITS}
        ref = scores["pretrained"] or scores["random"] or scores["paddlenlp"]
        if ref is None:
            continue
        metric, _, n = ref
        pre, rnd = scores["pretrained"], scores["random"]
        gain = f"{pre[1] - rnd[1]:+.2f}" if pre and rnd else "—"
        row = (f"| {task} | {split}{f' ({n:,})' if n else ''} | {metric} | {_cell(rnd)} | "
               f"{_cell(pre, bold=True)} | {gain} |")
        lines.append(row + (f" {_cell(scores['paddlenlp'])} |" if with_paddlenlp else ""))
    return lines


def _recipe_line(task: str, runs: Dict[str, dict]) -> str:
    first = runs.get("pretrained") or next(iter(runs.values()))
    recipe = first.get("recipe", {})
    parts = [f"{label} {recipe[key]}" for key, label in RECIPE_FIELDS if recipe.get(key) is not None]
    seconds = ", ".join(f"{init} {runs[init]['train_seconds']:,.0f} s" for init in INITS
                        if runs.get(init, {}).get("train_seconds") is not None)
    models = sorted({str(r.get("model")) for r in runs.values() if r.get("model")})
    when = sorted({run_context(r) for r in runs.values() if r.get("environment")})
    return (f"- {task}: {', '.join(parts) or 'recipe not recorded'}; train time {seconds or 'not recorded'}; "
            f"architecture/tokenizer from {', '.join(models) or '?'}; "
            f"run {'; '.join(when) if when else 'date/machine not recorded in the JSON'}.")


def _missing_lines(results: Results, with_paddlenlp: bool) -> List[str]:
    lines = []
    for task, runs in results.items():
        for init in ("pretrained", "random") + (("paddlenlp",) if with_paddlenlp else ()):
            if init not in runs:
                lines.append(f"- no `{result_path(task, init).name}`: `{command_for(task, init)}` writes it.")
    return lines


def markdown(results: Results) -> str:
    """The fine-tuning table: one row per task and split (dev, test), gain in points."""
    with_paddlenlp = any("paddlenlp" in runs for runs in results.values())
    header = "| task | split (n) | metric | random init | roots-base | gain |"
    rule = "|---|---|---|---:|---:|---:|"
    if with_paddlenlp:
        header += " PaddleNLP ERNIE, same size, random init |"
        rule += "---:|"
    lines = [f"## {TITLE} — `python tools/finetune.py --task T --init pretrained|random --save-result`", "",
             "Same recipe (`tasks/<task>/recipe.json`) and seed in every column; best dev checkpoint, then test. "
             "Gain = roots-base − random init, in points. Random-init columns take the architecture and "
             "tokenizer of the model named under \"Recipes and runs\".", "", header, rule]
    for task, runs in results.items():
        lines += _rows(task, runs, with_paddlenlp)
    lines += ["", "Recipes and runs:", ""] + [_recipe_line(task, runs) for task, runs in results.items()]
    missing = _missing_lines(results, with_paddlenlp)
    if not with_paddlenlp:
        missing.append("- PaddleNLP same-size column: no `finetune_<task>_paddlenlp.json` yet; "
                       "`python tools/benchmark.py accuracy` (full mode, baseline `paddlenlp_same_size`) writes them.")
    if missing:
        lines += ["", "Missing results:", ""] + missing
    return "\n".join(lines)


def markdown_from_results(results_dir: Path = RESULTS_DIR) -> str:
    """The section body from the files in ``results_dir`` (a note naming the commands when none)."""
    results = load_results(results_dir)
    if not results:
        return missing_section(TITLE, "finetune_<task>_{pretrained,random}.json",
                               "python tools/finetune.py --task <task> --init pretrained|random --save-result")
    return markdown(results)
