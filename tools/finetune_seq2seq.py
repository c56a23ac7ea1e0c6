#!/usr/bin/env python
"""Generation tasks of ``tools/finetune.py`` (summarisation and translation recipes).

    python tools/finetune.py --task lcsts --model roots-base --out work_dirs/ft/lcsts
    python tools/finetune.py --task tatoeba_zh_en --model roots-base --out work_dirs/ft/tatoeba_zh_en

Each run measures a trivial baseline on the same test sets next to the model (lead-N characters for
summaries, N = mean training-summary length; copy-the-source for translation).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Dict, Optional

ROOT = Path(__file__).resolve().parents[1]
# task name -> recipe file
SEQ2SEQ_TASKS = {
    "lcsts": ROOT / "tasks" / "lcsts" / "recipe.json",
    "csl": ROOT / "tasks" / "csl" / "recipe.json",
    "tatoeba_zh_en": ROOT / "tasks" / "translation" / "tatoeba_zh_en.json",
    "tatoeba_en_zh": ROOT / "tasks" / "translation" / "tatoeba_en_zh.json",
}
TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "warmup_ratio", "weight_decay", "eval_every",
                 "early_stopping_patience", "seed", "max_steps")
GENERATION_KEYS = ("num_beams", "length_penalty", "no_repeat_ngram_size", "min_length")


def is_seq2seq_task(task: str) -> bool:
    return task in SEQ2SEQ_TASKS


def _baseline(pipeline, recipe: dict, train, pairs) -> Dict[str, float]:
    from roots_zh.pipelines.metrics_gen import char_rouge

    refs = [p.target for p in pairs]
    if recipe["pipeline"] == "summarizer":
        n = round(sum(len(p.target) for p in train) / len(train))
        return {"name": f"lead-{n} chars", **char_rouge([p.source[:n] for p in pairs], refs)}
    return {"name": "copy source", **pipeline._score([p.source for p in pairs], refs)}


def run_seq2seq(task: str, model: str, init: str, out: Path, data_root: Path, overrides: Optional[dict] = None,
                limit: Optional[int] = None) -> dict:
    from roots_zh.data.seq2seq import load_seq2seq_set
    from roots_zh.pipelines.summarization import Summarizer
    from roots_zh.pipelines.translation import Translator
    from roots_zh.utils.files import atomic_write_text

    recipe = {**json.loads(SEQ2SEQ_TASKS[task].read_text(encoding="utf-8")), **(overrides or {})}
    direction = recipe.get("direction", "zh-en")
    cls = Summarizer if recipe["pipeline"] == "summarizer" else Translator
    kwargs = {"max_source_length": recipe["max_source_length"], "max_target_length": recipe["max_target_length"]}
    if cls is Translator:
        kwargs["direction"] = direction
    pipe = cls.from_pretrained(model, **kwargs)
    if init == "random":
        from roots_zh.modeling import RootsForPrefixLM
        from roots_zh.training.trainer import seed_everything

        seed_everything(recipe["seed"])
        pipe.model = RootsForPrefixLM(pipe.model.config)

    def load(dataset: str, split: str):
        pairs, report = load_seq2seq_set(data_root, dataset, split, direction=direction)
        return pairs, {"read": report.read, "skipped": report.skipped}

    train, train_report = load(recipe["dataset"], recipe["train_split"])
    train = train[:limit] if limit else train
    evals, _ = load(recipe["dataset"], recipe["eval_split"])
    evals = evals[:recipe.get("eval_limit") or len(evals)]
    start = time.time()
    summary = pipe.fit([p.source for p in train], [p.target for p in train], [p.source for p in evals],
                       [p.target for p in evals], output_dir=str(out),
                       **{k: recipe[k] for k in TRAINING_KEYS if k in recipe},
                       **({"adapter": recipe["adapter"]} if recipe.get("adapter") else {}))
    result = {"task": task, "model": model, "init": init, "train_pairs": len(train), "train_report": train_report,
              "dev": summary["best"], "train_seconds": round(time.time() - start, 1), "recipe": recipe, "test": {}}
    generation = {k: recipe[k] for k in GENERATION_KEYS if k in recipe}
    for dataset, split in recipe["test_sets"]:
        pairs, report = load(dataset, split)
        pairs = pairs[:recipe.get("test_limit") or len(pairs)]
        t0 = time.time()
        scores = pipe.evaluate([p.source for p in pairs], [p.target for p in pairs], batch_size=64, **generation)
        result["test"][f"{dataset}/{split}"] = {
            "model": scores, "baseline": _baseline(pipe, recipe, train, pairs), "read": report,
            "generation": generation, "seconds": round(time.time() - t0, 1),
            "examples": pipe.predict([p.source for p in pairs[:3]], **generation)}
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    import dataclasses

    pipe.generation = dataclasses.replace(pipe.generation, **generation)  # ship the decoding that was measured
    pipe.save_pretrained(out / "final")
    return result
