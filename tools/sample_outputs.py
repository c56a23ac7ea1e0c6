#!/usr/bin/env python
"""Ten random (seeded) outputs of a shipped generation model on a test set, as a Markdown table for the
task README: the examples are drawn by ``random.Random(seed)``, not picked.

    python tools/sample_outputs.py --model roots-translate --dataset tatoeba --split test
    python tools/sample_outputs.py --model roots-translate --dataset tatoeba --split test --direction en-zh
    python tools/sample_outputs.py --model roots-summarize --dataset lcsts --split test
"""
from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def cell(text: str, limit: int = 120) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


def main(argv=None) -> int:
    import json

    from roots_zh.data.seq2seq import load_seq2seq_set
    from roots_zh.hub import resolve_model_dir
    from roots_zh.pipelines.summarization import Summarizer
    from roots_zh.pipelines.translation import Translator

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--dataset", required=True)
    p.add_argument("--split", required=True)
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--direction", help="translation: zh-en or en-zh (default: the model's)")
    p.add_argument("--data-root", default=str(DATA))
    ns = p.parse_args(argv)
    settings = json.loads((resolve_model_dir(ns.model) / "seq2seq_config.json").read_text(encoding="utf-8"))
    cls = Translator if settings.get("pipeline") == "Translator" else Summarizer
    pipe = cls.from_pretrained(ns.model, **({"direction": ns.direction} if ns.direction else {}))
    kwargs = {"direction": pipe.direction} if cls is Translator else {}
    pairs, _ = load_seq2seq_set(Path(ns.data_root), ns.dataset, ns.split, **kwargs)
    picked = random.Random(ns.seed).sample(pairs, min(ns.n, len(pairs)))
    outputs = pipe.predict([q.source for q in picked])
    print(f"{len(picked)} examples of `{ns.dataset}/{ns.split}` drawn with `random.Random({ns.seed})` "
          f"(`python tools/sample_outputs.py --model {ns.model} --dataset {ns.dataset} --split {ns.split}"
          f"{' --direction ' + ns.direction if ns.direction else ''}`):\n")
    print("| source | reference | " + ns.model + " |\n|---|---|---|")
    for pair, out in zip(picked, outputs):
        print(f"| {cell(pair.source)} | {cell(pair.target)} | {cell(out[pipe.output_field])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
