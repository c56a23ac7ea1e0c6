"""Classification metrics."""
from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np


def accuracy(gold: Sequence[int], predicted: Sequence[int]) -> float:
    """Share of ``predicted`` labels equal to ``gold`` (0.0 on an empty set)."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    if gold.shape != predicted.shape:
        raise ValueError(f"`gold` has shape {gold.shape} but `predicted` has {predicted.shape}")
    return float((gold == predicted).mean()) if gold.size else 0.0


def recall_per_class(gold: Sequence[int], predicted: Sequence[int], num_classes: int) -> List[Optional[float]]:
    """Recall of each class id ``0..num_classes-1`` (``None`` for a class absent from ``gold``): a model
    that answers one class shows it as 1.0 for that class and 0.0 for the others."""
    gold, predicted = np.asarray(gold), np.asarray(predicted)
    return [float((predicted[gold == i] == i).mean()) if (gold == i).any() else None for i in range(num_classes)]


def roc_auc(gold: Sequence[int], scores: Sequence[float]) -> float:
    """Area under the ROC curve of ``scores`` for 0/1 ``gold``: the chance that a random positive scores
    above a random negative (ties count one half; Mann-Whitney U over average ranks)."""
    y, s = np.asarray(gold, dtype=np.int64), np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"`gold` {y.shape} and `scores` {s.shape} must be 1-D and of the same length")
    positives = int(y.sum())
    negatives = len(y) - positives
    if positives == 0 or negatives == 0:
        raise ValueError("roc_auc needs both classes in `gold`")
    values, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    ranks = (first + (counts + 1) / 2.0)[inverse]  # 1-based average ranks
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))
