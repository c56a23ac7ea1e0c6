#!/usr/bin/env python
"""Choose a two-class model's decision threshold on its recipe's eval split and save the model with it.

    python tools/tune_threshold.py --task afqmc --model work_dirs/ft/afqmc_lora --metric macro_f1 \\
        --out work_dirs/ft/afqmc_lora_f1

``--model`` is a ``tools/finetune.py --out`` directory (or a model directory). ``macro_f1`` picks the cut
with the best mean F1 of both classes, so a weak model still answers both; ``accuracy`` is what
``"threshold": "auto"`` in a recipe does during training. The scores (accuracy, per-class recall) are
written to ``--out/result.json`` next to the model in ``--out/final``; they are measured on the same
split the threshold was chosen on, so they are optimistic.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def save_with_threshold(clf, model_dir: Path, target: Path) -> None:
    """An adapter stays an adapter: its files are copied and only ``config.json`` gains the threshold;
    a full model is saved by the pipeline."""
    import shutil

    from roots_zh.hub.registry import CHECKSUMS_NAME, write_checksums
    from roots_zh.utils.files import atomic_write_text

    if not (model_dir / "adapter_config.json").is_file():
        clf.save_pretrained(target)
        return
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(model_dir, target)
    config = json.loads((target / "config.json").read_text(encoding="utf-8"))
    config.setdefault("extra", {}).update(clf.config.extra)
    atomic_write_text(target / "config.json", json.dumps(config, ensure_ascii=False, indent=2))
    write_checksums(target, sorted(p.name for p in target.iterdir() if p.is_file() and p.name != CHECKSUMS_NAME))


def main(argv=None) -> int:
    from roots_zh.data.readers import load_classification_set
    from roots_zh.pipelines.class_balance import THRESHOLD_METRICS
    from roots_zh.pipelines.text_classification import TextClassifier
    from roots_zh.recipes import load_recipe
    from roots_zh.utils.files import atomic_write_text

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--metric", choices=THRESHOLD_METRICS, default="macro_f1")
    p.add_argument("--out", required=True)
    p.add_argument("--data-root", default=str(DATA))
    ns = p.parse_args(argv)
    source, out = Path(ns.model), Path(ns.out)
    model_dir = source / "final" if (source / "final").is_dir() else source
    recipe = load_recipe(ns.task)
    examples, _ = load_classification_set(Path(ns.data_root), recipe["dataset"], recipe["eval_split"])
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    pairs = [e.text_pair for e in examples] if examples and examples[0].text_pair is not None else None
    clf = TextClassifier.from_pretrained(model_dir)
    before = clf.evaluate(texts, labels, pairs)
    tuned = clf.tune_threshold(texts, labels, pairs, metric=ns.metric)
    after = clf.evaluate(texts, labels, pairs)
    result = json.loads((source / "result.json").read_text(encoding="utf-8")) if (source / "result.json").is_file() else {}
    result.update({"dev": after, "dev_before_threshold_tuning": before,
                   "threshold_tuning": {"metric": ns.metric, **tuned, "split": recipe["eval_split"]}})
    save_with_threshold(clf, model_dir, out / "final")
    atomic_write_text(out / "result.json", json.dumps(result, ensure_ascii=False, indent=2))
    print(json.dumps({"before": before, "after": after, **tuned}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
