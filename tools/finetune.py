#!/usr/bin/env python
"""Fine-tune a pipeline from a task recipe (``tasks/<task>/recipe.json``) and report its metrics; the
runner is ``roots_zh.recipes.run_recipe``, this is its command line.

    python tools/finetune.py --task chnsenticorp --model roots-base --out work_dirs/ft/csc
    python tools/finetune.py --task tnews --model roots-base --init random   # same recipe, no pretraining
    python tools/finetune.py --task cluener --model roots-base --out work_dirs/ft/cluener    # NER ("kind": "ner")
    python tools/finetune.py --task cmrc2018 --model roots-base --out work_dirs/ft/cmrc     # QA ("kind": "qa")

``--init random`` keeps the architecture and tokenizer of ``--model`` but starts from random weights:
the baseline that shows what pretraining buys. ``--init paddlenlp`` (classification recipes) trains
PaddleNLP's ``ErnieForSequenceClassification`` of the same size from random weights instead, with the
same tokenizer, recipe and training loop. ``--save-result`` also writes
``benchmarks/results/finetune_<task>_<init>.json`` (the BENCHMARKS.md ``finetune`` section).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "tools") not in sys.path:  # tools/bench when imported from elsewhere
    sys.path.insert(0, str(ROOT / "tools"))
DATA = ROOT.parent / "shared" / "data"

from roots_zh.recipes import INITS, load_recipe, run_recipe  # noqa: E402,F401 - the runner lives in the library
from roots_zh.utils.logs import log_to_stderr  # noqa: E402


def paddlenlp_classifier(config):
    """PaddleNLP's ERNIE sized like ``config`` (forward and outputs match ROOTS, so
    ``TextClassifier.fit`` trains it as is): the ``--init paddlenlp`` baseline."""
    from bench.paddlenlp_same_size import build_classifier

    return build_classifier(config)


def save_result(result: dict, quick: bool = False, results_dir: Path | None = None) -> Path:
    """``benchmarks/results/finetune_<task>_<init>.json`` (``_quick`` for runs on a training subset)."""
    from bench.common import RESULTS_DIR, write_result

    return write_result(f"finetune_{result['task']}_{result['init']}", {**result, "quick": quick},
                        results_dir or RESULTS_DIR)


def run(task: str, model: str, init: str, out: Path, data_root: Path = DATA, overrides: dict | None = None,
        limit: int | None = None, eval_limit: int | None = None) -> dict:
    """``roots_zh.recipes.run_recipe`` with this checkout's data and the PaddleNLP baseline."""
    return run_recipe(task, model, init, Path(out), Path(data_root), overrides, limit, eval_limit,
                      baseline_model=paddlenlp_classifier)


def main(argv=None) -> None:
    log_to_stderr()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True)
    p.add_argument("--model", default="roots-base")
    p.add_argument("--init", choices=list(INITS), default="pretrained",
                   help="random: same architecture from random weights; paddlenlp: PaddleNLP ERNIE of the same size")
    p.add_argument("--out", required=True)
    p.add_argument("--data-root", default=str(DATA))
    p.add_argument("--limit", type=int, help="use only the first N training examples")
    p.add_argument("--eval-limit", type=int,
                   help="classification smoke runs: N evenly spaced eval/test examples (not for reported figures)")
    p.add_argument("--set", nargs="*", default=[], help="recipe overrides key=json_value")
    p.add_argument("--save-result", action="store_true",
                   help="also write benchmarks/results/finetune_<task>_<init>.json and refresh BENCHMARKS.md")
    ns = p.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in ns.set)}
    result = run(ns.task, ns.model, ns.init, Path(ns.out), Path(ns.data_root), overrides, ns.limit,
                 ns.eval_limit)
    if ns.save_result:
        print("wrote", save_result(result, quick=bool(ns.limit or ns.eval_limit)))
        if not (ns.limit or ns.eval_limit):
            from bench.report import refresh_sections

            refresh_sections("finetune")
    print(json.dumps({k: result[k] for k in ("task", "init", "dev", "test", "train_seconds") if k in result},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
