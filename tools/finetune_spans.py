"""NER and extractive-QA recipes for ``tools/finetune.py`` (recipes with ``"kind": "ner"`` or ``"qa"``).

    python tools/finetune.py --task cluener --model roots-base --out work_dirs/ft/cluener
    python tools/finetune.py --task cmrc2018 --model roots-base --out work_dirs/ft/cmrc --limit 3000
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

TRAIN_KEYS = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "eval_every",
              "early_stopping_patience", "seed", "max_steps")


def _random_init(pipe, seed: int) -> None:
    from roots_zh.training.trainer import seed_everything

    seed_everything(seed)
    pipe.model = type(pipe.model)(pipe.model.config)


def run_spans(task: str, model: str, init: str, out: Path, data_root: Path, recipe: dict,
              limit: Optional[int] = None) -> dict:
    """Fine-tune, evaluate on the recipe's eval split, save ``result.json`` and ``final/`` under ``out``."""
    from roots_zh.utils.files import atomic_write_text

    out = Path(out)
    limit = limit or recipe.get("train_limit")
    args = {k: recipe[k] for k in TRAIN_KEYS if k in recipe}
    if recipe.get("adapter"):
        args["adapter"] = recipe["adapter"]  # ship a small adapter over the base model
    start = time.time()
    if recipe["kind"] == "ner":
        from roots_zh.data.ner_qa import load_ner_set
        from roots_zh.pipelines.token_classification import TokenClassifier

        pipe = TokenClassifier.from_pretrained(model, labels=recipe["labels"], scheme=recipe.get("scheme", "BIO"),
                                               max_length=recipe["max_length"], stride=recipe.get("stride", 32))
        if init == "random":
            _random_init(pipe, recipe["seed"])
        train, _ = load_ner_set(data_root, recipe["dataset"], recipe["train_split"])
        dev, _ = load_ner_set(data_root, recipe["dataset"], recipe["eval_split"])
        train = train[:limit] if limit else train
        dev_x, dev_y = [e.text for e in dev], [e.entities for e in dev]
        alignment = pipe.alignment_report(dev_x, dev_y)
        summary = pipe.fit([e.text for e in train], [e.entities for e in train], dev_x, dev_y,
                           output_dir=str(out), **args)
        extra = {"dev_alignment": alignment}
    else:
        from roots_zh.data.ner_qa import load_qa_set
        from roots_zh.pipelines.question_answering import QuestionAnswerer

        pipe = QuestionAnswerer.from_pretrained(model, max_length=recipe["max_length"],
                                                doc_stride=recipe["doc_stride"],
                                                max_query_length=recipe["max_query_length"],
                                                max_answer_length=recipe["max_answer_length"])
        if init == "random":
            _random_init(pipe, recipe["seed"])
        train, _ = load_qa_set(data_root, recipe["dataset"], recipe["train_split"])
        dev, _ = load_qa_set(data_root, recipe["dataset"], recipe["eval_split"])
        train = train[:limit] if limit else train
        dev = dev[:recipe["eval_limit"]] if recipe.get("eval_limit") else dev
        dev_cols = ([e.question for e in dev], [e.context for e in dev], [e.answers for e in dev])
        summary = pipe.fit([e.question for e in train], [e.context for e in train], [e.answers[0] for e in train],
                           [e.answer_starts[0] for e in train], *dev_cols, output_dir=str(out), **args)
        extra = {}
    result = {"task": task, "model": model, "init": init, "n_train": len(train), "n_dev": len(dev),
              "dev": summary["best"],  # the kept (best) weights; training ends on them
              "train_seconds": round(time.time() - start, 1), "recipe": recipe, **extra}
    atomic_write_text(out / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    pipe.save_pretrained(out / "final")
    return result
