#!/usr/bin/env python
"""Average the weights of fine-tuned runs of one recipe (a model soup) and score the average on dev.

    python tools/average_models.py --from work_dirs/ft/cluener_6ep work_dirs/ft/cluener_6ep_s43 \\
        --out work_dirs/ft/cluener_soup

Each ``--from`` is a ``tools/finetune.py --out`` directory (``final/`` + ``result.json``) of the same
recipe and base. ``--out`` gets ``final/`` (the averaged weights, config and tokenizer of the first run)
and ``result.json`` (the recipe's dev score of the average next to each source's), ready for
``tools/ship_model.py``. Span recipes (NER) only.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    from roots_zh.data.ner_qa import load_ner_set
    from roots_zh.modeling.checkpoint import WEIGHTS_NAME, average_weights, find_weights, save_weights
    from roots_zh.pipelines.token_classification import TokenClassifier
    from roots_zh.recipes import recipe_kind
    from roots_zh.utils.env import shared_data_root
    from roots_zh.utils.files import atomic_write_text

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--from", dest="sources", nargs="+", required=True, help="tools/finetune.py --out directories")
    p.add_argument("--out", required=True)
    p.add_argument("--data-root", default=None)
    ns = p.parse_args(argv)
    sources = [Path(s) for s in ns.sources]
    results = [json.loads((s / "result.json").read_text(encoding="utf-8")) for s in sources]
    recipe = results[0]["recipe"]
    if recipe_kind(recipe) != "ner":
        raise ValueError(f"--from {sources[0]}: a {recipe_kind(recipe)!r} recipe; only NER runs are averaged here")
    if any(r["recipe"].get("dataset") != recipe["dataset"] for r in results):
        raise ValueError("--from: the runs were trained on different datasets")
    start = time.time()
    final = Path(ns.out) / "final"
    if final.exists():
        shutil.rmtree(final)
    shutil.copytree(sources[0] / "final", final, ignore=shutil.ignore_patterns("model.safetensors", "checksums.json"))
    save_weights(average_weights([find_weights(s / "final") for s in sources]), final / WEIGHTS_NAME)
    data_root = Path(ns.data_root) if ns.data_root else shared_data_root()
    dev, _ = load_ner_set(data_root, recipe["dataset"], recipe["eval_split"])
    pipe = TokenClassifier.from_pretrained(final, max_length=recipe["max_length"], stride=recipe.get("stride", 32))
    scores = pipe.evaluate([e.text for e in dev], [e.entities for e in dev])
    result = {"task": results[0]["task"], "model": results[0]["model"], "init": results[0].get("init"),
              "averaged_from": {str(s): r["dev"] for s, r in zip(sources, results)},
              "n_dev": len(dev), "dev": scores, "train_seconds": sum(r.get("train_seconds", 0) for r in results),
              "average_seconds": round(time.time() - start, 1), "recipe": recipe}
    atomic_write_text(Path(ns.out) / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps({"dev": scores, "sources": {str(s): r["dev"].get("f1") for s, r in zip(sources, results)}},
                     ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
