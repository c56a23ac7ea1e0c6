"""`roots-zh` command line: one-line Chinese NLP tasks on the shipped models.

    roots-zh fill_mask "今天天气很[MASK]。"
    roots-zh word_segmentation "结巴分词很好用" --mode search
    roots-zh fill_mask --input file.txt
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, List, Optional


def _read_inputs(ns) -> List[str]:
    if ns.input:
        with open(ns.input, encoding="utf-8") as fh:
            return [line.rstrip("\n") for line in fh if line.strip()]
    if ns.text is None:
        raise SystemExit("give a text or --input FILE")
    return [ns.text]


def fill_mask(texts: Iterable[str], model: str = "roots-base", top_k: int = 5) -> List[dict]:
    """Top-k predictions for every ``[MASK]`` in each text, with the roots-base MLM head."""
    import numpy as np
    import paddle

    from .modeling import RootsForMaskedLM
    from .hub import resolve_model_dir
    from .tokenization.auto import AutoTokenizer

    directory = resolve_model_dir(model)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    mlm = RootsForMaskedLM.from_pretrained(directory)
    results = []
    for text in texts:
        pieces = text.split("[MASK]")
        ids = [tokenizer.cls_token_id]
        for i, piece in enumerate(pieces):
            ids += tokenizer.encode(piece, add_special_tokens=False) if piece else []
            if i < len(pieces) - 1:
                ids.append(tokenizer.mask_token_id)
        ids.append(tokenizer.sep_token_id)
        ids = ids[: mlm.config.max_position_embeddings]
        with paddle.no_grad():
            logits = mlm(paddle.to_tensor([ids])).logits.numpy()[0]
        masks = [i for i, t in enumerate(ids) if t == tokenizer.mask_token_id]
        preds = []
        for pos in masks:
            row = logits[pos]
            row[tokenizer.all_special_ids] = -np.inf
            best = np.argsort(-row)[:top_k]
            probs = np.exp(row[best] - row.max()) / np.exp(row - row.max()).sum()
            preds.append([{"token": tokenizer.decode([int(b)]), "score": round(float(p), 4)}
                          for b, p in zip(best, probs)])
        results.append({"text": text, "predictions": preds})
    return results


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="roots-zh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=["fill_mask", "word_segmentation"])
    parser.add_argument("text", nargs="?")
    parser.add_argument("--input", help="a UTF-8 file, one text per line")
    parser.add_argument("--model", default="roots-base")
    parser.add_argument("--mode", default="precise", help="word_segmentation: precise, search or all")
    parser.add_argument("--top-k", type=int, default=5)
    ns = parser.parse_args(argv)
    texts = _read_inputs(ns)
    if ns.task == "fill_mask":
        out = fill_mask(texts, ns.model, ns.top_k)
    else:
        from .tokenization.segment import segment

        out = [{"text": t, "words": segment(t, mode=ns.mode)} for t in texts]
    for row in out:
        print(json.dumps(row, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
