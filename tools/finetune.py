#!/usr/bin/env python
"""Fine-tune a classifier from a task recipe (``tasks/<task>/recipe.json``) and report its metrics.

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
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if str(ROOT / "tools") not in sys.path:  # tools/finetune_*.py and tools/bench when imported from elsewhere
    sys.path.insert(0, str(ROOT / "tools"))
DATA = ROOT.parent / "shared" / "data"
INITS = ("pretrained", "random", "paddlenlp")


def load_recipe(task: str) -> dict:
    path = ROOT / "tasks" / task / "recipe.json"
    if not path.is_file():
        raise SystemExit(f"no recipe {path}; tasks: {sorted(p.name for p in (ROOT / 'tasks').iterdir())}")
    return json.loads(path.read_text(encoding="utf-8"))


def recipe_labels(recipe: dict, data_root: Path) -> list:
    if "labels" in recipe:
        return recipe["labels"]
    rows = [json.loads(line) for line in open(data_root / recipe["dataset"] / recipe["labels_file"], encoding="utf-8")]
    return [row["label_desc"] for row in rows]


def random_classifier(config, init: str, seed: int):
    """A randomly initialised classifier sized like ``config``: ROOTS (``random``) or PaddleNLP's
    ERNIE (``paddlenlp``; forward and outputs match ROOTS, so ``TextClassifier.fit`` trains it as is)."""
    from roots_zh.modeling import RootsForSequenceClassification
    from roots_zh.training.trainer import seed_everything

    seed_everything(seed)
    if init == "random":
        return RootsForSequenceClassification(config)
    from bench.paddlenlp_same_size import build_classifier

    return build_classifier(config)


def save_result(result: dict, quick: bool = False, results_dir: Path | None = None) -> Path:
    """``benchmarks/results/finetune_<task>_<init>.json`` (``_quick`` for runs on a training subset)."""
    from bench.common import RESULTS_DIR, write_result

    return write_result(f"finetune_{result['task']}_{result['init']}", {**result, "quick": quick},
                        results_dir or RESULTS_DIR)


def run(task: str, model: str, init: str, out: Path, data_root: Path = DATA, overrides: dict | None = None,
        limit: int | None = None) -> dict:
    from roots_zh.data.readers import load_classification_set
    from roots_zh.pipelines.text_classification import TextClassifier

    from finetune_seq2seq import is_seq2seq_task, run_seq2seq  # tools/finetune_seq2seq.py: generation

    if init not in INITS:
        raise ValueError(f"`init`={init!r} is not one of {INITS}")
    if init == "paddlenlp" and (is_seq2seq_task(task) or load_recipe(task).get("kind") in ("ner", "qa")):
        raise ValueError(f"--init paddlenlp applies to classification recipes only, not {task!r}")
    if is_seq2seq_task(task):  # lcsts, csl, tatoeba_zh_en, tatoeba_en_zh
        return run_seq2seq(task, model, init, out, data_root, overrides, limit)
    recipe = {**load_recipe(task), **(overrides or {})}
    if recipe.get("kind") in ("ner", "qa"):
        from finetune_spans import run_spans  # tools/finetune_spans.py: NER and extractive QA recipes

        return run_spans(task, model, init, out, data_root, recipe, limit)
    names = recipe.get("label_names") or {}  # dataset label -> shipped label name (e.g. "1" -> "正面")
    labels = [names.get(label, label) for label in recipe_labels(recipe, data_root)]
    clf = TextClassifier.from_pretrained(model, labels=labels, max_length=recipe["max_length"],
                                         pooling=recipe.get("pooling"))
    if init != "pretrained":
        clf.model = random_classifier(clf.model.config, init, recipe["seed"])
    data = {}
    for split in ("train", "eval", "test"):
        name = recipe.get(f"{split}_split")
        if name:
            examples, _ = load_classification_set(data_root, recipe["dataset"], name)
            data[split] = examples[:limit] if limit and split == "train" else examples
    cols = lambda ex: ([e.text for e in ex], [names.get(e.label, e.label) for e in ex],  # noqa: E731
                       [e.text_pair for e in ex] if ex and ex[0].text_pair is not None else None)
    tr_x, tr_y, tr_p = cols(data["train"])
    ev_x, ev_y, ev_p = cols(data["eval"])
    keys = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "eval_every",
            "early_stopping_patience", "seed")
    start = time.time()
    summary = clf.fit(tr_x, tr_y, tr_p, ev_x, ev_y, ev_p, output_dir=str(out), adapter=recipe.get("adapter"),
                      **{k: recipe[k] for k in keys if k in recipe})
    result = {"task": task, "model": model, "init": init, "dev": summary["best"],
              "train_seconds": round(time.time() - start, 1), "recipe": recipe}
    if "test" in data:
        te_x, te_y, te_p = cols(data["test"])
        result["test"] = clf.evaluate(te_x, te_y, te_p)
    out.mkdir(parents=True, exist_ok=True)
    (out / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=2))
    clf.save_pretrained(out / "final")
    return result


def main(argv=None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True)
    p.add_argument("--model", default="roots-base")
    p.add_argument("--init", choices=list(INITS), default="pretrained",
                   help="random: same architecture from random weights; paddlenlp: PaddleNLP ERNIE of the same size")
    p.add_argument("--out", required=True)
    p.add_argument("--data-root", default=str(DATA))
    p.add_argument("--limit", type=int, help="use only the first N training examples")
    p.add_argument("--set", nargs="*", default=[], help="recipe overrides key=json_value")
    p.add_argument("--save-result", action="store_true",
                   help="also write benchmarks/results/finetune_<task>_<init>.json and refresh BENCHMARKS.md")
    ns = p.parse_args(argv)
    overrides = {k: json.loads(v) for k, v in (kv.split("=", 1) for kv in ns.set)}
    result = run(ns.task, ns.model, ns.init, Path(ns.out), Path(ns.data_root), overrides, ns.limit)
    if ns.save_result:
        print("wrote", save_result(result, quick=bool(ns.limit)))
        if not ns.limit:
            from bench.report import refresh_sections

            refresh_sections("finetune")
    print(json.dumps({k: result[k] for k in ("task", "init", "dev", "test", "train_seconds") if k in result},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
