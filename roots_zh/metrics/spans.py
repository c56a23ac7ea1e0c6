"""Span P/R/F1: entity mentions as ``(type, start, end)`` (NER, word segmentation; the CLUENER /
conlleval convention) and mention strings (entity linking). Tags become spans with
``roots_zh.data.ner_qa.tags_to_spans``."""
from __future__ import annotations

from collections import Counter
from typing import Dict, Iterable, List, Sequence, Set, Tuple

Span = Tuple[str, int, int]  # (type, start, end) with end exclusive


def prf(tp: int, n_gold: int, n_pred: int) -> Dict[str, float]:
    """Precision, recall and F1 from counts (0.0 where a denominator is 0)."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "n_gold": n_gold, "n_pred": n_pred}


def entity_prf(gold: Sequence[Iterable[Span]], pred: Sequence[Iterable[Span]]) -> Dict[str, float]:
    """Micro precision/recall/F1 over entity mentions: a prediction counts only when its type,
    start and end all equal a gold span of the same sentence (the CLUENER / conlleval convention).
    Also returns per-type F1 under ``f1_<type>``."""
    if len(gold) != len(pred):
        raise ValueError(f"`gold` has {len(gold)} sentences but `pred` has {len(pred)}")
    tp = n_gold = n_pred = 0
    per_type: Dict[str, List[int]] = {}
    for g_spans, p_spans in zip(gold, pred):
        g: Set[Span] = {tuple(s) for s in g_spans}  # type: ignore[misc]
        p: Set[Span] = {tuple(s) for s in p_spans}  # type: ignore[misc]
        tp += len(g & p)
        n_gold += len(g)
        n_pred += len(p)
        for kind, spans in ((1, g), (2, p)):
            for span in spans:
                per_type.setdefault(span[0], [0, 0, 0])[kind] += 1
        for span in g & p:
            per_type[span[0]][0] += 1
    out = prf(tp, n_gold, n_pred)
    for name in sorted(per_type):
        out[f"f1_{name}"] = prf(*per_type[name])["f1"]
    return out


def mention_prf(predicted: List[List[str]], gold: List[List[str]]) -> Dict[str, float]:
    """Micro P/R/F1 of mention strings per text (lower-cased multisets: the set gives strings,
    not offsets)."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold rows")
    tp = n_pred = n_gold = 0
    for p, g in zip(predicted, gold):
        pc, gc = Counter(m.lower() for m in p), Counter(m.lower() for m in g if m)
        tp += sum((pc & gc).values())
        n_pred += sum(pc.values())
        n_gold += sum(gc.values())
    out = prf(tp, n_gold, n_pred)
    return {"precision": out["precision"], "recall": out["recall"], "f1": out["f1"], "predicted": n_pred,
            "gold": n_gold, "correct": tp}
